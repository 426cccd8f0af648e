// Audio benchmark: lkrtc against @livekit/rtc-node on the same lkrtc-server, same run.
//   sh scripts/netns.sh node bench/audio/bench.mjs [--tracks 1,10,50] [--seconds 3]
// For each SDK and each track count N: one publisher process publishes N 48 kHz mono
// tracks (paced in real time), one subscriber process reads them all through AudioStream.
// Figures: CPU seconds per second of audio per track (utime+stime from /proc/<pid>/stat
// over the measurement window, divided by window x N) for each process, and end-to-end
// latency capture -> receive (median, p99) of a tone burst on track 0 (10 ms resolution:
// the receiver sees whole 10 ms frames). Use release builds for fair figures:
//   cargo build --release -p lkrtc -p lkrtc-server
//   cp target/release/liblkrtc.so target/bench-addon/lkrtc.linux-x64-gnu.node
//   LKRTC_ADDON=$PWD/target/bench-addon/lkrtc.linux-x64-gnu.node \
//   LKRTC_SERVER_BIN=$PWD/target/release/lkrtc-server sh scripts/netns.sh node bench/audio/bench.mjs
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../../__test__/helpers/server.mjs';
import { delay, uniqueRoomName } from '../../__test__/helpers/rtc.mjs';
import { cpuSeconds as cpu, forkChild, quantile as q, reap } from '../child-process.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const TRACKS = String(arg('tracks', '1,10,50')).split(',').map(Number);
const SECONDS = Number(arg('seconds', 2));
const WARMUP_MS = Number(arg('warmup-ms', 1000));
const SDKS = String(arg('sdks', 'lkrtc,official')).split(',');
const SUB_TIMEOUT_MS = Number(arg('sub-timeout-ms', 20_000));

const child = (sdk, role, url, token, n) =>
  forkChild(resolve(HERE, 'child.mjs'), [sdk, role, url, token, String(n)], sdk, `${sdk} ${role}`);

async function run(server, sdk, n) {
  const room = uniqueRoomName(`bench-${sdk}-${n}`);
  const sub = child(sdk, 'sub', server.url, await server.token('sub', room), n);
  await sub.wait((m) => m.ready, 'ready');
  const pub = child(sdk, 'pub', server.url, await server.token('pub', room), n);
  try {
    const published = await pub.wait((m) => m.published, 'published');
    await sub.wait((m) => m.subscribed && m.n >= n, `${n} subscriptions`, SUB_TIMEOUT_MS);
    await delay(WARMUP_MS);
    const c0 = [cpu(pub.proc.pid), cpu(sub.proc.pid)];
    const t0 = performance.now();
    await delay(SECONDS * 1000);
    const secs = (performance.now() - t0) / 1000;
    const c1 = [cpu(pub.proc.pid), cpu(sub.proc.pid)];
    pub.proc.send({ stop: true });
    sub.proc.send({ stop: true });
    const { onsets } = await sub.wait((m) => m.done, 'done');
    await pub.wait((m) => m.done, 'done');
    const lat = [];
    for (const o of onsets) {
      const k = Math.floor((o - published.t0) / published.burstEveryMs);
      const l = o - (published.t0 + k * published.burstEveryMs);
      if (k >= 0 && l >= 0 && l < published.burstEveryMs * 0.9) lat.push(l);
    }
    return {
      sdk,
      n,
      pubCpu: (c1[0] - c0[0]) / secs / n,
      subCpu: (c1[1] - c0[1]) / secs / n,
      latMedian: q(lat, 0.5),
      latP99: q(lat, 0.99),
      bursts: lat.length,
    };
  } finally {
    for (const c of [pub, sub]) await reap(c);
  }
}

const server = await startServer({ name: 'bench-audio' });
const results = [];
try {
  for (const n of TRACKS) {
    for (const sdk of SDKS) {
      let r;
      try {
        r = await run(server, sdk, n);
      } catch (e) {
        console.log(`${sdk.padEnd(8)} N=${String(n).padStart(2)}  FAILED: ${e?.message ?? e}`);
        continue;
      }
      results.push(r);
      console.log(
        `${sdk.padEnd(8)} N=${String(n).padStart(2)}  publisher ${(r.pubCpu * 1000).toFixed(2)} ms CPU/s/track  ` +
          `subscriber ${(r.subCpu * 1000).toFixed(2)} ms CPU/s/track  latency median ${r.latMedian?.toFixed(1)} ms ` +
          `p99 ${r.latP99?.toFixed(1)} ms (${r.bursts} bursts)`,
      );
    }
  }
} finally {
  await server.kill();
}
console.log('\nratios lkrtc / official (lower is better for lkrtc):');
for (const n of TRACKS) {
  const a = results.find((r) => r.sdk === 'lkrtc' && r.n === n);
  const b = results.find((r) => r.sdk === 'official' && r.n === n);
  if (!a || !b) continue;
  console.log(
    `N=${String(n).padStart(2)}  publisher CPU ${(a.pubCpu / b.pubCpu).toFixed(2)}  subscriber CPU ${(a.subCpu / b.subCpu).toFixed(2)}  ` +
      `median latency ${(a.latMedian / b.latMedian).toFixed(2)}`,
  );
}
process.exit(0);
