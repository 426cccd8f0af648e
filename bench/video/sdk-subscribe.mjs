// Subscribing to video: lkrtc against @livekit/rtc-node on the same lkrtc-server, same run.
//   sh scripts/netns.sh node bench/video/sdk-subscribe.mjs [--seconds 10] [--tracks 1]
//     [--pairs lkrtc>lkrtc,official>official,official>lkrtc,lkrtc>official] [--codec VP8|H264]
//     [--max-bitrate 2500000] [--fps 30] [--ramp-timeout 30]
// Each pair is publisher>subscriber, each side in its own process (bench/video/
// sdk-child.mjs): the publisher sends N single-layer 1280x720 camera tracks at 30 fps (a
// moving RGBA pattern numbered frame by frame with 16 black/white blocks along the top), the
// subscriber reads every track through a VideoStream (rtc-node's API: async iterator of
// { frame, timestampUs, rotation }). The window starts once every track arrives at 1280x720
// (libwebrtc starts a 720p camera small and scales it up) or after --ramp-timeout seconds.
// Figures: subscriber CPU time per second of media per track (utime + stime from /proc),
// frames/s received per track, RSS added per subscribed track (RSS at the end of the window
// minus RSS after connecting), and glass-to-glass latency: the publisher's captureFrame of
// frame k to the subscriber's VideoStream yielding frame k (median, p99; both processes read
// the same clock).
// Use release builds for fair figures (see bench/audio/bench.mjs: LKRTC_ADDON, LKRTC_SERVER_BIN).
import { createRequire } from 'node:module';
import { startServer } from '../../__test__/helpers/server.mjs';
import { delay, uniqueRoomName } from '../../__test__/helpers/rtc.mjs';
import { cpuSeconds, quantile, reap, rssBytes } from '../child-process.mjs';
import { arg, fmt, framesOf, sizesOf, spawnSide, statusOf, waitForSize } from './sdk-bench.mjs';
import { COUNTER_BITS, H, W } from './sdk-pattern.mjs';

const SECONDS = Number(arg('seconds', 10));
const TRACKS = Number(arg('tracks', 1));
const PAIRS = String(arg('pairs', 'lkrtc>lkrtc,official>official,official>lkrtc,lkrtc>official'))
  .split(',')
  .map((p) => p.split('>'));
const CODEC = String(arg('codec', 'VP8')).toUpperCase();
const MAX_BITRATE = Number(arg('max-bitrate', 2_500_000));
const FPS = Number(arg('fps', 30));
const RAMP_TIMEOUT_S = Number(arg('ramp-timeout', 30));
const FULL = `${W}x${H}`;
const MB = 1024 * 1024;
const now = () => performance.timeOrigin + performance.now();
const lk = createRequire(import.meta.url)('../../index.js');

const spawn = (server, sdk, role, room) =>
  spawnSide(server, sdk, role, room, {
    tracks: TRACKS,
    codec: CODEC,
    fps: FPS,
    simulcast: false,
    counter: true,
    maxBitrate: MAX_BITRATE,
  });

/**
 * Capture -> VideoStream delays (ms) of the frames that arrived between `from` and `to`, and
 * how many of those frames had an unreadable number.
 */
function latencies(captured, arrivals, from, to) {
  const out = [];
  let unreadable = 0;
  for (const [, k, at] of arrivals) {
    if (at < from || at > to) continue;
    if (k < 0) unreadable++;
    const sent = captured[k];
    if (sent == null) continue;
    const ms = at - sent;
    // A misread counter (a frame caught mid-change) or one from a previous lap of the
    // 16-bit counter would give a nonsense delay: keep what a live picture can take.
    if (ms >= 0 && ms < 5_000) out.push(ms);
  }
  return { ms: out, unreadable };
}

async function run(server, pubSdk, subSdk) {
  const room = uniqueRoomName(`vsub-${pubSdk}-${subSdk}`);
  const sub = await spawn(server, subSdk, 'sub', room);
  let pub = null;
  try {
    const { rss: rssBase } = await sub.wait((m) => m.ready, 'ready');
    pub = await spawn(server, pubSdk, 'pub', room);
    const published = await pub.wait((m) => m.published || m.refused, 'published', 30_000);
    if (published.refused) return { na: `publisher refused: ${published.message}` };
    const ramped = await waitForSize(sub, TRACKS, FULL, RAMP_TIMEOUT_S);
    const st0 = await statusOf(sub);
    const c0 = [cpuSeconds(sub.proc.pid), cpuSeconds(pub.proc.pid)];
    const from = now();
    const t0 = performance.now();
    await delay(SECONDS * 1000);
    const secs = (performance.now() - t0) / 1000;
    const c1 = [cpuSeconds(sub.proc.pid), cpuSeconds(pub.proc.pid)];
    const to = now();
    const rssEnd = rssBytes(sub.proc.pid);
    const st1 = await statusOf(sub);
    sub.send({ stop: true });
    pub.send({ stop: true });
    const { arrivals } = await sub.wait((m) => m.done, 'done');
    const { captured } = await pub.wait((m) => m.done, 'done');
    const { ms: lat, unreadable } = latencies(captured, arrivals, from, to);
    return {
      subCpuMsPerS: ((c1[0] - c0[0]) / secs / TRACKS) * 1000,
      pubCpuMsPerS: ((c1[1] - c0[1]) / secs / TRACKS) * 1000,
      fps: (framesOf(st1) - framesOf(st0)) / secs / TRACKS,
      sizes: sizesOf(st1),
      rssPerTrackMb: (rssEnd - rssBase) / TRACKS / MB,
      latMedian: quantile(lat, 0.5),
      latP99: quantile(lat, 0.99),
      latN: lat.length,
      unreadable,
      ramp: ramped.ramp,
    };
  } finally {
    for (const c of [sub, pub].filter(Boolean)) {
      c.send({ stop: true });
      await reap(c);
    }
  }
}

const server = await startServer({ name: 'bench-video-subscribe' });
const results = [];
console.log(
  `${TRACKS} x ${FULL} at ${FPS} fps, ${CODEC} one layer, max ${MAX_BITRATE / 1e6} Mb/s, ${SECONDS} s windows, ` +
    `frame counter ${COUNTER_BITS} blocks`,
);
try {
  for (const [pubSdk, subSdk] of PAIRS) {
    let r;
    try {
      r = await run(server, pubSdk, subSdk);
    } catch (e) {
      r = { na: `failed: ${e?.message ?? e}` };
    }
    results.push({ pubSdk, subSdk, ...r });
    const head = `${pubSdk.padEnd(8)} -> ${subSdk.padEnd(8)}`;
    if (r.na) {
      console.log(`${head} n/a (${r.na})`);
      continue;
    }
    console.log(
      `${head} subscriber CPU ${fmt(r.subCpuMsPerS)} ms/s per track (${fmt(r.subCpuMsPerS / 10)} % of a core), ` +
        `${fmt(r.fps)} fps at ${r.sizes}, RSS +${fmt(r.rssPerTrackMb)} MB per track, ` +
        `latency median ${fmt(r.latMedian)} ms p99 ${fmt(r.latP99)} ms (n=${r.latN}, ${r.unreadable} unreadable); ` +
        `publisher CPU ${fmt(r.pubCpuMsPerS)} ms/s per track (ramp: ${r.ramp})`,
    );
  }
} finally {
  await server.kill();
}
console.table(
  results.map((r) => {
    const pair = `${r.pubSdk} -> ${r.subSdk}`;
    if (r.na) return { pair, 'subscriber CPU ms/s per track': `n/a (${r.na.split(':')[0]})` };
    return {
      pair,
      'subscriber CPU ms/s per track': fmt(r.subCpuMsPerS),
      fps: fmt(r.fps),
      'RSS MB per track': fmt(r.rssPerTrackMb),
      'latency median ms': fmt(r.latMedian),
      'latency p99 ms': fmt(r.latP99),
    };
  }),
);
console.log('\nratios lkrtc / official subscriber, same-SDK publisher (below 1: lkrtc uses less / is faster):');
const row = (p, s) => results.find((r) => r.pubSdk === p && r.subSdk === s);
const a = row('lkrtc', 'lkrtc');
const b = row('official', 'official');
if (!a || !b || a.na || b.na) {
  console.log(`n/a (${a?.na ? `lkrtc ${a.na}` : b?.na ? `official ${b.na}` : 'pair not run'})`);
} else {
  console.log(
    `subscriber CPU per track ${fmt(a.subCpuMsPerS / b.subCpuMsPerS, 2)}  RSS per track ` +
      `${fmt(a.rssPerTrackMb / b.rssPerTrackMb, 2)}  median latency ${fmt(a.latMedian / b.latMedian, 2)}  ` +
      `p99 latency ${fmt(a.latP99 / b.latP99, 2)}`,
  );
}
process.exit(0);
