// RPC service: answers three methods for any participant of the room.
//
//   add        payload {"a": number, "b": number}  ->  {"sum": number}
//   uppercase  payload text                        ->  the text in upper case
//   whoami     (no payload)                        ->  the caller's identity
//
// Bad input is answered with an RpcError the caller can act on (code 400, "bad payload"),
// an unknown method by the SDK itself (RpcError.ErrorCode.UNSUPPORTED_METHOD).
//
//   node examples/rpc-service/index.mjs
//   LIVEKIT_URL=wss://... LIVEKIT_TOKEN=... node examples/rpc-service/index.mjs
import { RpcError } from 'lkrtc';
import { join } from '../lib/join.mjs';

// Application error codes live outside 1001-1999, which the SDKs reserve for built-in errors.
const BAD_PAYLOAD = 400;

const { room, stopped } = await join(process.env.RPC_IDENTITY ?? 'rpc-service');
const rpc = room.localParticipant;

rpc.registerRpcMethod('add', async ({ payload }) => {
  let args;
  try {
    args = JSON.parse(payload);
  } catch {
    throw new RpcError(BAD_PAYLOAD, 'bad payload', 'expected JSON {"a": number, "b": number}');
  }
  if (typeof args?.a !== 'number' || typeof args?.b !== 'number') {
    throw new RpcError(BAD_PAYLOAD, 'bad payload', 'a and b must be numbers');
  }
  return JSON.stringify({ sum: args.a + args.b });
});
rpc.registerRpcMethod('uppercase', async ({ payload }) => payload.toUpperCase());
rpc.registerRpcMethod('whoami', async ({ callerIdentity }) => callerIdentity);

console.log(`rpc-service ready in ${room.name}: add, uppercase, whoami`);
await stopped;
