// Connect time, lkrtc vs the official @livekit/rtc-node, direct and relay-only through a
// real TURN server (Debian's coturn on 127.0.0.1), against one lkrtc-server process.
//
//   sh scripts/netns.sh node bench/connectivity/connect.mjs [--joins 20] [--direct]
//
// Each SDK joins --joins times per path (after one warm-up join), each join to a fresh
// room, and disconnects; printed: median, p90 and slowest per SDK and path, how many
// joins took over 500 ms, and the ratios. `--direct` skips the relay path (no TURN).
// The official client must stay inside the test network namespace (NETWORK.md).
import { createRequire } from 'node:module';
import * as official from '@livekit/rtc-node';
import { startServer } from '../../__test__/helpers/server.mjs';
import { startTurn } from '../../__test__/connectivity/net-helpers.mjs';

if (process.env.LKRTC_NETNS !== '1') {
  console.error('runs the official client: start it as `sh scripts/netns.sh node bench/connectivity/connect.mjs`');
  process.exit(97);
}
const lk = createRequire(import.meta.url)('../../index.js');
const argv = process.argv.slice(2);
const JOINS = Number(argv[argv.indexOf('--joins') + 1] || 20);
const DIRECT_ONLY = argv.includes('--direct');
const SLOW_MS = 500;

const turn = DIRECT_ONLY ? null : await startTurn({ lk: 'p1', official: 'p2' });
const server = await startServer({ name: 'bench-connect' });
const relay = (mod, user) => ({
  rtcConfig: {
    iceTransportType: mod.IceTransportType.TRANSPORT_RELAY,
    continualGatheringPolicy: mod.ContinualGatheringPolicy.GATHER_ONCE,
    iceServers: [{ urls: [turn.url], username: user, password: user === 'lk' ? 'p1' : 'p2' }],
  },
});

async function measure(mod, options) {
  const times = [];
  for (let i = 0; i <= JOINS; i++) {
    const room = new mod.Room();
    const token = await server.token(`bench-${i}`, `connect-${Math.random().toString(36).slice(2)}`);
    const t = performance.now();
    await room.connect(server.url, token, { autoSubscribe: true, dynacast: false, ...options });
    if (i > 0) times.push(performance.now() - t);
    await room.disconnect();
  }
  times.sort((a, b) => a - b);
  return {
    median: times[Math.floor(times.length / 2)],
    p90: times[Math.floor(times.length * 0.9) - 1] ?? times.at(-1),
    slowest: times.at(-1),
    slow: times.filter((t) => t > SLOW_MS).length,
  };
}

const rows = [];
for (const [sdk, mod, user] of [
  ['lkrtc', lk, 'lk'],
  ['rtc-node', official, 'official'],
]) {
  rows.push([sdk, 'direct', await measure(mod, {})]);
  if (turn) rows.push([sdk, 'relay (TURN/UDP)', await measure(mod, relay(mod, user))]);
}
console.log(`connect time over ${JOINS} joins each (median / p90 / slowest, joins over ${SLOW_MS} ms):`);
for (const [sdk, path, r] of rows) {
  const figures = [r.median, r.p90, r.slowest].map((t) => `${t.toFixed(1)} ms`).join(' / ');
  console.log(`  ${sdk.padEnd(8)} ${path.padEnd(17)} ${figures}, ${r.slow} over ${SLOW_MS} ms`);
}
for (const path of turn ? ['direct', 'relay (TURN/UDP)'] : ['direct']) {
  const [a, b] = rows.filter((r) => r[1] === path).map((r) => r[2].median);
  console.log(`  lkrtc/rtc-node median, ${path}: ${(a / b).toFixed(2)}×`);
}
await server.kill('SIGTERM');
await turn?.stop();
await official.dispose();
