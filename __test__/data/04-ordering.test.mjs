// Issue 8, item 9: reliable means in call order. 10,000 publishData(..., { reliable: true })
// calls issued without awaiting each (500 in flight) arrive in call order, none lost or
// duplicated; so do RPC requests issued at once. Handle counts are back at zero after.
import { describe, expect, it } from 'vitest';
import { uniqueRoomName, withTimeout } from '../helpers/rtc.mjs';
import { connectLk, lk, useLkEnv } from '../client/lk.mjs';

const { RoomEvent } = lk;
const PACKETS = 10_000;
const IN_FLIGHT = 500;

/** How many items arrived after one with a larger index (0 when in order). */
function outOfOrder(seen) {
  let n = 0;
  for (let i = 1; i < seen.length; i++) if (seen[i] < seen[i - 1]) n++;
  return n;
}

describe('reliable ordering', () => {
  const env = useLkEnv(undefined);

  it('10,000 pipelined reliable publishData calls arrive in call order', async () => {
    const name = uniqueRoomName('order');
    const sender = await connectLk(env.scope, env.dev, 'sender', name);
    const receiver = await connectLk(env.scope, env.dev, 'receiver', name);
    const seen = [];
    const all = new Promise((resolve) => {
      receiver.on(RoomEvent.DataReceived, (payload) => {
        seen.push(new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(0));
        if (seen.length === PACKETS) resolve();
      });
    });
    const inFlight = new Set();
    for (let i = 0; i < PACKETS; i++) {
      const bytes = new Uint8Array(4);
      new DataView(bytes.buffer).setUint32(0, i);
      const p = sender.localParticipant.publishData(bytes, { reliable: true, topic: 'seq' });
      inFlight.add(p);
      p.finally(() => inFlight.delete(p));
      if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    await withTimeout(all, 60_000, () => `all ${PACKETS} packets (got ${seen.length})`);
    const disorder = outOfOrder(seen);
    console.log(`${PACKETS} pipelined reliable packets: ${disorder} out of order`);
    expect(disorder).toBe(0);
    expect(new Set(seen).size).toBe(PACKETS);
    expect(seen).toEqual(Array.from({ length: PACKETS }, (_, i) => i));
  });

  it('RPC requests issued at once reach the callee in call order', async () => {
    const name = uniqueRoomName('order-rpc');
    const caller = await connectLk(env.scope, env.dev, 'caller', name);
    const callee = await connectLk(env.scope, env.dev, 'callee', name);
    const order = [];
    callee.localParticipant.registerRpcMethod('seq', async (d) => {
      order.push(Number(d.payload));
      return '';
    });
    const calls = [];
    for (let i = 0; i < 200; i++) {
      calls.push(
        caller.localParticipant.performRpc({ destinationIdentity: 'callee', method: 'seq', payload: String(i) }),
      );
    }
    await withTimeout(Promise.all(calls), 60_000, 'the RPC calls');
    expect(order.length).toBe(200);
    expect(outOfOrder(order)).toBe(0);
  });
});
