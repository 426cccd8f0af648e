// Data benchmarks, lkrtc and the official @livekit/rtc-node side by side, each between two
// processes on one lkrtc-server:
//   1. reliable data throughput (MB/s): `publishData(reliable)` of 15000-byte packets from
//      one process to the other, timed from the first packet received to the last;
//   2. byte-stream throughput (MB/s): `streamBytes` in 1 MiB writes, read with `for await`;
//   3. RPC round trip: sequential `performRpc` calls of a small payload, median and p99.
// Run inside the test namespace (the official client must not touch real interfaces):
//   sh scripts/netns.sh node bench/data/run.mjs [--mb 20] [--calls 300]
// Default run ≤ 60 s. The lkrtc figures depend on the addon build (`npm run build` for
// release; the dev build leaves lkrtc's own crates unoptimized).
import { fork } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../../__test__/helpers/server.mjs';
import { uniqueRoomName, withTimeout } from '../../__test__/helpers/rtc.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const MB = arg('mb', 20);
const CALLS = arg('calls', 300);
const PACKET = 15_000;
const PEER = resolve(fileURLToPath(import.meta.url), '../peer.mjs');
const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

function spawnPeer(sdk) {
  const child = fork(PEER, [sdk], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting = [];
  child.on('message', (m) => {
    if (m.type === 'error') {
      console.error(`${sdk} peer error: ${m.message}`);
      process.exitCode = 1;
    }
    const i = waiting.findIndex((w) => w.type === m.type || m.type === 'error');
    if (i >= 0) waiting.splice(i, 1)[0].resolve(m);
  });
  const next = (type, ms = 60_000) =>
    withTimeout(new Promise((res) => waiting.push({ type, resolve: res })), ms, `${sdk} peer: ${type}`);
  return { child, next, send: (m) => child.send(m) };
}

async function scenario(server, sdk) {
  const room = uniqueRoomName(`bench-${sdk}`);
  const a = spawnPeer(sdk);
  const b = spawnPeer(sdk);
  try {
    await Promise.all([a.next('ready'), b.next('ready')]);
    a.send({ type: 'join', url: server.url, token: await server.token('a', room) });
    await a.next('joined');
    b.send({ type: 'join', url: server.url, token: await server.token('b', room) });
    await b.next('joined');
    await new Promise((r) => setTimeout(r, 1000)); // both see each other

    // Throughput (a warm-up of 1 MB first).
    const bytes = Math.ceil((MB * 1e6) / PACKET) * PACKET;
    for (const [n, label] of [
      [Math.ceil(1e6 / PACKET) * PACKET, 'warm-up'],
      [bytes, 'run'],
    ]) {
      b.send({ type: 'receive', bytes: n });
      await b.next('receiving');
      const received = b.next('received', 120_000);
      a.send({ type: 'send', bytes: n, packet: PACKET, to: 'b' });
      const [{ ms: sentMs }, { ms }] = await Promise.all([a.next('sent', 120_000), received]);
      if (label === 'run') {
        var throughput = { mbps: n / 1e6 / (ms / 1000), sentMs, ms };
      }
    }

    // Byte stream (streamBytes of 1 MiB writes -> registerByteStreamHandler, for await).
    const streamBytes = MB * 1e6;
    const streamed = b.next('streamed', 120_000);
    a.send({ type: 'stream', bytes: streamBytes, to: 'b' });
    const [, { ms: streamMs }] = await Promise.all([a.next('sentStream', 120_000), streamed]);
    const stream = { mbps: streamBytes / 1e6 / (streamMs / 1000) };

    // RPC round trips (a 20-call warm-up first).
    b.send({ type: 'serve' });
    await b.next('serving');
    a.send({ type: 'call', to: 'b', calls: 20, payload: 'ping' });
    await a.next('called');
    a.send({ type: 'call', to: 'b', calls: CALLS, payload: 'ping' });
    const { rtts } = await a.next('called', 120_000);
    return { throughput, stream, rpc: { median: quantile(rtts, 0.5), p99: quantile(rtts, 0.99), n: rtts.length } };
  } finally {
    for (const p of [a, b]) {
      p.send({ type: 'exit' });
      await withTimeout(new Promise((r) => p.child.once('exit', r)), 10_000, 'peer exit').catch(() =>
        p.child.kill('SIGKILL'),
      );
    }
  }
}

const server = await startServer({ name: 'bench-data' });
try {
  const t0 = Date.now();
  const lk = await scenario(server, 'lkrtc');
  const off = await scenario(server, 'official');
  const row = (name, r) =>
    `${name.padEnd(22)} packets ${r.throughput.mbps.toFixed(1).padStart(6)} MB/s  byte stream ${r.stream.mbps.toFixed(1).padStart(6)} MB/s ` +
    `  RPC median ${r.rpc.median.toFixed(2).padStart(6)} ms  p99 ${r.rpc.p99.toFixed(2).padStart(6)} ms (n=${r.rpc.n})`;
  console.log(
    `reliable data: ${MB} MB in ${PACKET}-byte packets and as one byte stream; RPC: ${CALLS} sequential calls ("ping")`,
  );
  console.log(row('lkrtc -> lkrtc', lk));
  console.log(row('official -> official', off));
  console.log(
    `ratio lkrtc/official: packets ${(lk.throughput.mbps / off.throughput.mbps).toFixed(2)}x, ` +
      `byte stream ${(lk.stream.mbps / off.stream.mbps).toFixed(2)}x, ` +
      `RPC median ${(lk.rpc.median / off.rpc.median).toFixed(2)}x, p99 ${(lk.rpc.p99 / off.rpc.p99).toFixed(2)}x ` +
      `(throughput: higher is better; RPC: lower is better)`,
  );
  console.log(`total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
} finally {
  await server.kill();
}
