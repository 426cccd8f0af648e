// File transfer over byte streams, in two roles:
//
//   node examples/file-transfer/index.mjs receive [dir]         saves every file sent to it
//                                                               on topic "files" into dir
//                                                               (default ./received)
//   node examples/file-transfer/index.mjs send <file> <to>      sends <file> to participant
//                                                               <to>, waits for its receipt,
//                                                               then leaves
//
// The receipt is an RPC call from the receiver back to the sender ("file-received"): the
// sender knows the whole file arrived before it disconnects (leaving while the last chunks
// are still in flight would cut the stream short on the receiving side).
//
// Each role joins as its own identity (FILE_IDENTITY, default "receiver" / "sender") with
// LIVEKIT_URL and LIVEKIT_TOKEN, or starts an in-process dev server (useful for `receive`
// only: it prints a token for the sender).
import { createWriteStream, mkdirSync } from 'node:fs';
import { basename, join as joinPath, resolve } from 'node:path';
import { once } from 'node:events';
import { join } from '../lib/join.mjs';

const TOPIC = 'files';
const RECEIPT = 'file-received';
const RECEIPT_TIMEOUT_MS = 30_000;
const [mode, ...args] = process.argv.slice(2);

async function receive(dir) {
  mkdirSync(dir, { recursive: true });
  const { room, stopped } = await join(process.env.FILE_IDENTITY ?? 'receiver');
  const receipt = (identity, name, bytes) =>
    room.localParticipant.performRpc({
      destinationIdentity: identity,
      method: RECEIPT,
      payload: JSON.stringify({ name, bytes }),
    });
  room.registerByteStreamHandler(TOPIC, (reader, { identity }) => {
    // Never trust a sender's file name with a path in it.
    const name = basename(reader.info.name || `${reader.info.id}.bin`);
    const path = joinPath(dir, name);
    (async () => {
      const out = createWriteStream(path);
      let bytes = 0;
      for await (const chunk of reader) {
        bytes += chunk.length;
        if (!out.write(chunk)) await once(out, 'drain');
      }
      out.end();
      await once(out, 'close');
      console.log(`received ${name} (${bytes} bytes) from ${identity} into ${path}`);
      await receipt(identity, name, bytes);
    })().catch((e) => console.error(`receiving ${name} from ${identity}:`, e));
  });
  console.log(`file-transfer receiver ready in ${room.name}, saving to ${dir}`);
  await stopped;
}

async function send(file, to) {
  const { room, leave } = await join(process.env.FILE_IDENTITY ?? 'sender');
  try {
    let timer;
    const received = new Promise((resolve, reject) => {
      room.localParticipant.registerRpcMethod(RECEIPT, async ({ callerIdentity, payload }) => {
        if (callerIdentity === to) resolve(JSON.parse(payload));
        return 'ok';
      });
      timer = setTimeout(
        () => reject(new Error(`no receipt from ${to} within ${RECEIPT_TIMEOUT_MS} ms`)),
        RECEIPT_TIMEOUT_MS,
      );
    });
    await room.localParticipant.sendFile(file, { topic: TOPIC, destinationIdentities: [to], name: basename(file) });
    const { bytes } = await received.finally(() => clearTimeout(timer));
    console.log(`sent ${file} to ${to}, who received ${bytes} bytes`);
  } finally {
    await leave();
  }
}

if (mode === 'receive') await receive(resolve(args[0] ?? 'received'));
else if (mode === 'send' && args.length === 2) await send(resolve(args[0]), args[1]);
else {
  console.error('usage: index.mjs receive [dir] | send <file> <to>');
  process.exitCode = 2;
}
