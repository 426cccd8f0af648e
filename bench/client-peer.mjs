// Peer process for bench/client.mjs (forked by bench/client-worker.mjs with an IPC
// channel). It lives in its own process so that nothing it loads or allocates is counted
// in the process being measured, and it does the same work whichever SDK is measured.
//
//   node bench/client-peer.mjs sender   lkrtc: joins the 50 event rooms, sends data on demand
//   node bench/client-peer.mjs churn    official @livekit/rtc-node: per cycle joins, publishes
//                                       a track and a data packet, unpublishes, leaves
//
// Messages in: { type: 'join', rooms: [{ url, token }] } | { type: 'send', packets, bytes }
//   (sender); { type: 'join', id, url, token } | { type: 'leave', id } (churn); { type: 'exit' }.
// Messages out: { type: 'ready' } | { type: 'sent', ms } | { id, type: 'published' | 'left' }
//   | { type: 'error', id?, message }.
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { REPO_ROOT } from '../__test__/helpers/paths.mjs';

const role = process.argv[2];
const send = (m) => process.send(m);
const fail = (e, id) => send({ type: 'error', id, message: e?.stack ?? String(e) });

if (role === 'sender') {
  const lk = createRequire(import.meta.url)(resolve(REPO_ROOT, 'index.js'));
  let rooms = [];
  process.on('message', async (m) => {
    try {
      if (m.type === 'join') {
        rooms = await Promise.all(
          m.rooms.map(async ({ url, token }) => {
            const room = new lk.Room();
            await room.connect(url, token, { autoSubscribe: false });
            return room;
          }),
        );
        send({ type: 'ready' });
      } else if (m.type === 'send') {
        const payload = new Uint8Array(m.bytes).fill(7);
        const t0 = performance.now();
        // Round-robin over the rooms so that every room receives at the same rate; a
        // bounded number of sends in flight.
        for (let k = 0; k < m.packets; k++) {
          await Promise.all(
            rooms.map((r) => r.localParticipant.publishData(payload, { reliable: true, topic: 'bench' })),
          );
        }
        send({ type: 'sent', ms: performance.now() - t0 });
      } else if (m.type === 'exit') {
        await Promise.all(rooms.map((r) => r.disconnect()));
        process.exit(0);
      }
    } catch (e) {
      fail(e);
    }
  });
} else if (role === 'churn') {
  const official = await import('@livekit/rtc-node');
  const { publishSine } = await import('../__test__/helpers/rtc.mjs');
  const live = new Map(); // id -> { room, sine }
  process.on('message', async (m) => {
    try {
      if (m.type === 'join') {
        const room = new official.Room();
        await room.connect(m.url, m.token, { autoSubscribe: false, dynacast: false });
        const sine = await publishSine(room, { name: `mic-${m.id}` });
        live.set(m.id, { room, sine });
        await room.localParticipant.publishData(new TextEncoder().encode(`hello ${m.id}`), {
          reliable: true,
          topic: 'churn',
        });
        send({ id: m.id, type: 'published' });
      } else if (m.type === 'leave') {
        const { room, sine } = live.get(m.id);
        live.delete(m.id);
        await sine.stop();
        await room.localParticipant.unpublishTrack(sine.publication.sid);
        await room.disconnect();
        send({ id: m.id, type: 'left' });
      } else if (m.type === 'exit') {
        for (const { room, sine } of live.values()) {
          await sine.stop().catch(() => {});
          await room.disconnect().catch(() => {});
        }
        await official.dispose();
        process.exit(0);
      }
    } catch (e) {
      fail(e, m.id);
    }
  });
} else {
  console.error(`client-peer.mjs: unknown role ${role}`);
  process.exit(2);
}
send({ type: 'started' });
