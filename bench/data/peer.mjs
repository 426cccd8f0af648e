// One side of a data benchmark (forked by bench/data/run.mjs with an IPC channel), so that
// the two participants are separate processes, as in production.
//
//   node bench/data/peer.mjs <lkrtc|official>
//
// Messages in:
//   { type: 'join', url, token }                      -> { type: 'joined' }
//   { type: 'receive', bytes }                        -> { type: 'received', ms } once `bytes`
//                                                        of reliable data arrived (ms since the
//                                                        first packet) — sent by the receiver
//   { type: 'send', bytes, packet, to }               -> { type: 'sent', ms }
//   { type: 'stream', bytes, to }                     -> { type: 'sentStream' }; the receiver
//                                                        answers { type: 'streamed', ms }
//   { type: 'serve' }                                 -> { type: 'serving' } (RPC method "echo")
//   { type: 'call', to, calls, payload }              -> { type: 'called', rtts: [ms...] }
//   { type: 'exit' }
import { performance } from 'node:perf_hooks';
import { loadSdk } from '../child-process.mjs';

const sdk = process.argv[2];
const api = await loadSdk(sdk);
const send = (m) => process.send(m);
let room;
let expected = Infinity;
let received = 0;
let first;

process.on('message', async (m) => {
  try {
    if (m.type === 'join') {
      room = new api.Room();
      room.on('dataReceived', (payload) => {
        if (first === undefined) first = performance.now();
        received += payload.byteLength;
        if (received >= expected) {
          send({ type: 'received', ms: performance.now() - first, bytes: received });
          expected = Infinity;
        }
      });
      room.registerByteStreamHandler('bench', async (reader) => {
        const t0 = performance.now();
        let n = 0;
        for await (const chunk of reader) n += chunk.byteLength;
        send({ type: 'streamed', ms: performance.now() - t0, bytes: n });
      });
      await room.connect(m.url, m.token, { autoSubscribe: false, dynacast: false });
      send({ type: 'joined' });
    } else if (m.type === 'receive') {
      received = 0;
      first = undefined;
      expected = m.bytes;
      send({ type: 'receiving' });
    } else if (m.type === 'send') {
      const payload = new Uint8Array(m.packet);
      for (let i = 0; i < payload.length; i++) payload[i] = i & 0xff;
      const t0 = performance.now();
      // A bounded number of sends in flight (both SDKs resolve once the packet is queued).
      const inflight = new Set();
      for (let sent = 0; sent < m.bytes; sent += m.packet) {
        const p = room.localParticipant.publishData(payload, { reliable: true, destination_identities: [m.to] });
        inflight.add(p);
        p.finally(() => inflight.delete(p));
        if (inflight.size >= 16) await Promise.race(inflight);
      }
      await Promise.all(inflight);
      send({ type: 'sent', ms: performance.now() - t0 });
    } else if (m.type === 'stream') {
      const block = new Uint8Array(1 << 20);
      for (let i = 0; i < block.length; i++) block[i] = (i * 7) & 0xff;
      const t0 = performance.now();
      const writer = await room.localParticipant.streamBytes({
        topic: 'bench',
        destinationIdentities: [m.to],
        totalSize: m.bytes,
      });
      for (let sent = 0; sent < m.bytes; sent += block.length)
        await writer.write(block.subarray(0, Math.min(block.length, m.bytes - sent)));
      await writer.close();
      send({ type: 'sentStream', ms: performance.now() - t0 });
    } else if (m.type === 'serve') {
      room.localParticipant.registerRpcMethod('echo', async (d) => d.payload);
      send({ type: 'serving' });
    } else if (m.type === 'call') {
      const rtts = [];
      for (let i = 0; i < m.calls; i++) {
        const t0 = performance.now();
        await room.localParticipant.performRpc({ destinationIdentity: m.to, method: 'echo', payload: m.payload });
        rtts.push(performance.now() - t0);
      }
      send({ type: 'called', rtts });
    } else if (m.type === 'exit') {
      await room?.disconnect();
      if (sdk === 'official') await api.dispose();
      process.exit(0);
    }
  } catch (e) {
    send({ type: 'error', message: e?.stack ?? String(e) });
  }
});
send({ type: 'ready' });
