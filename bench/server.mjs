// lkrtc-server figures with the official client as the peer:
//   1. join time of @livekit/rtc-node against lkrtc-server (median and p90 of 20 joins);
//   2. forwarded audio packets/s and server CPU for a room of N participants that all
//      publish a 48 kHz mono tone and subscribe to everyone else.
// Run inside the test namespace (the official client must not touch real interfaces):
//   sh scripts/netns.sh node bench/server.mjs [--participants 10] [--seconds 10]
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Room, dispose } from '@livekit/rtc-node';
import { startServer } from '../__test__/helpers/server.mjs';
import { delay, publishSine, uniqueRoomName, withTimeout } from '../__test__/helpers/rtc.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const PARTICIPANTS = arg('participants', 10);
const SECONDS = arg('seconds', 10);
const JOINS = arg('joins', 20);

const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];
const cpuSeconds = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks (100 Hz)
};
const stats = async (server) => (await fetch(`${server.httpUrl}/lkrtc/stats`)).json();

const server = await startServer({ name: 'bench-server' });
try {
  // 1. Join time.
  const times = [];
  for (let i = 0; i < JOINS; i++) {
    const room = new Room();
    const token = await server.token(`joiner-${i}`, uniqueRoomName('join'));
    const t0 = performance.now();
    await withTimeout(room.connect(server.url, token, { autoSubscribe: true, dynacast: false }), 20_000, 'connect');
    times.push(performance.now() - t0);
    await room.disconnect();
  }
  console.log(
    `official client join against lkrtc-server: median ${quantile(times, 0.5).toFixed(1)} ms, ` +
      `p90 ${quantile(times, 0.9).toFixed(1)} ms (n=${times.length})`,
  );

  // 2. Forwarding in a room where everyone publishes and subscribes to everyone.
  const name = uniqueRoomName('fwd');
  const rooms = [];
  const sines = [];
  for (let i = 0; i < PARTICIPANTS; i++) {
    const room = new Room();
    await room.connect(server.url, await server.token(`p${i}`, name), { autoSubscribe: true, dynacast: false });
    rooms.push(room);
    sines.push(await publishSine(room, { freq: 300 + 50 * i, name: `tone-${i}` }));
  }
  await delay(3_000); // let every subscription settle
  const s0 = await stats(server);
  const c0 = cpuSeconds(server.proc.pid);
  const t0 = performance.now();
  await delay(SECONDS * 1_000);
  const s1 = await stats(server);
  const c1 = cpuSeconds(server.proc.pid);
  const wall = (performance.now() - t0) / 1000;
  const inPps = (s1.rtp_packets_in - s0.rtp_packets_in) / wall;
  const outPps = (s1.rtp_packets_out - s0.rtp_packets_out) / wall;
  const expected = PARTICIPANTS * (PARTICIPANTS - 1) * 50;
  console.log(
    `${PARTICIPANTS}-participant room: ${inPps.toFixed(0)} RTP packets/s in, ${outPps.toFixed(0)} forwarded/s ` +
      `(expected ~${expected} at 50 packets/s per stream), server CPU ${(((c1 - c0) / wall) * 100).toFixed(1)}% of one core`,
  );
  for (const s of sines) await s.stop();
  for (const r of rooms) await r.disconnect();
} finally {
  await server.kill();
  await dispose();
}
