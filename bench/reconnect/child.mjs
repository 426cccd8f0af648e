// One participant of the reconnection benchmark (forked by bench/reconnect/run.mjs with an
// IPC channel), with either SDK, so each SDK's runtime lives in its own process.
//
//   node bench/reconnect/child.mjs <lkrtc|official>
//
// Messages in:
//   { type: 'join', url, token }        -> { type: 'joined' }
//   { type: 'simulate', scenario, n }   -> { type: 'simulated', ms: [...] } time from the
//                                          call to `reconnected`, n times (null: none came)
//   { type: 'watch' }                   -> { type: 'watching' }, then { type: 'reconnected', at }
//                                          (Date.now()) at the next `reconnected`
//   { type: 'exit' }
import { performance } from 'node:perf_hooks';
import { loadSdk } from '../child-process.mjs';

const sdk = process.argv[2];
const api = await loadSdk(sdk);
const send = (m) => process.send(m);
let room;

/** Resolves at the next `reconnected` of the room, or null after `ms`. */
function nextReconnected(ms) {
  return new Promise((res) => {
    const done = (v) => {
      clearTimeout(timer);
      room.off(api.RoomEvent.Reconnected, on);
      res(v);
    };
    const on = () => done(performance.now());
    const timer = setTimeout(() => done(null), ms);
    room.on(api.RoomEvent.Reconnected, on);
  });
}

process.on('message', async (m) => {
  try {
    if (m.type === 'join') {
      room = new api.Room();
      await room.connect(m.url, m.token, { autoSubscribe: true, dynacast: false });
      send({ type: 'joined' });
    } else if (m.type === 'simulate') {
      const ms = [];
      for (let i = 0; i < m.n; i++) {
        const back = nextReconnected(20_000);
        const start = performance.now();
        await room.simulateScenario(m.scenario);
        const at = await back;
        ms.push(at === null ? null : at - start);
        await new Promise((r) => setTimeout(r, 300)); // settle before the next one
      }
      send({ type: 'simulated', ms });
    } else if (m.type === 'watch') {
      const back = nextReconnected(60_000);
      send({ type: 'watching' });
      const at = await back;
      send({ type: 'reconnected', at: at === null ? null : performance.timeOrigin + at });
    } else if (m.type === 'exit') {
      await room?.disconnect();
      if (sdk === 'official') await api.dispose?.();
      process.exit(0);
    }
  } catch (e) {
    send({ type: 'error', message: String(e?.stack ?? e) });
  }
});
send({ type: 'ready' });
