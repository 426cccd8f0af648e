// Publishing video: lkrtc against @livekit/rtc-node on the same lkrtc-server, same run.
//   sh scripts/netns.sh node bench/video/sdk-publish.mjs [--seconds 10] [--tracks 1]
//     [--modes single,simulcast] [--codec VP8|H264] [--max-bitrate 2500000] [--fps 30]
//     [--sdks lkrtc,official] [--ramp-timeout 30] [--no-viewer | --late-viewer]
// For each mode (one layer, simulcast) and SDK: a publisher process (bench/video/
// sdk-child.mjs) publishes N 1280x720 camera tracks fed with a moving RGBA pattern at 30 fps
// (the same pictures, converted and encoded by the SDK). An official viewer in a third
// process (in the room before the publisher joins; --late-viewer: after it published)
// subscribes to them, so the publisher gets the receiver feedback of a real call, and
// the window starts once the viewer gets 1280x720 frames (libwebrtc starts a 720p camera
// small and scales it up as its bandwidth estimate grows) or after --ramp-timeout seconds.
// Figures: publisher CPU time per second of media per track (utime + stime from /proc over
// the window), RSS added per published track (RSS at the end of the window minus RSS after
// connecting and computing the pattern), video packets/s the server received per track,
// frames/s and size the viewer got, bytes received on the namespace's interfaces (publisher
// -> server and server -> viewer: about twice the track's bitrate), the server's NACK
// counters. lkrtc refusing simulcast prints "n/a (refused: ...)".
// Use release builds for fair figures (see bench/audio/bench.mjs: LKRTC_ADDON,
// LKRTC_SERVER_BIN).
import { startServer } from '../../__test__/helpers/server.mjs';
import { delay, uniqueRoomName } from '../../__test__/helpers/rtc.mjs';
import { cpuSeconds, namespaceRxBytes, reap, rssBytes } from '../child-process.mjs';
import { arg, fmt, framesOf, sizesOf, spawnSide, statusOf, waitForSize } from './sdk-bench.mjs';
import { H, W } from './sdk-pattern.mjs';

const SECONDS = Number(arg('seconds', 10));
const TRACKS = Number(arg('tracks', 1));
const MODES = String(arg('modes', 'single,simulcast')).split(',');
const CODEC = String(arg('codec', 'VP8')).toUpperCase();
const MAX_BITRATE = Number(arg('max-bitrate', 2_500_000));
const FPS = Number(arg('fps', 30));
const SDKS = String(arg('sdks', 'lkrtc,official')).split(',');
const RAMP_TIMEOUT_S = Number(arg('ramp-timeout', 30));
const VIEWER = !process.argv.includes('--no-viewer');
const LATE_VIEWER = process.argv.includes('--late-viewer');
const FULL = `${W}x${H}`;
const MB = 1024 * 1024;

const stats = async (server) => (await fetch(`${server.httpUrl}/lkrtc/stats`)).json();
/** Per-second rate of the server's video counter `key` between stats `s0` and `s1`. */
const rate = (s0, s1, key, secs) => ((s1.video?.[key] ?? 0) - (s0.video?.[key] ?? 0)) / secs;
const spawn = (server, sdk, role, room, extra) =>
  spawnSide(server, sdk, role, room, { tracks: TRACKS, codec: CODEC, fps: FPS, ...extra });

async function run(server, sdk, mode) {
  const room = uniqueRoomName(`vpub-${sdk}-${mode}`);
  const simulcast = mode === 'simulcast';
  // The viewer joins first (as in a call); --late-viewer has it join once the publisher runs.
  let viewer = VIEWER && !LATE_VIEWER ? await spawn(server, 'official', 'sub', room, { counter: false }) : null;
  await viewer?.wait((m) => m.ready, 'ready');
  const pub = await spawn(server, sdk, 'pub', room, { simulcast, counter: false, maxBitrate: MAX_BITRATE });
  try {
    const { rss: rssBase } = await pub.wait((m) => m.ready, 'ready');
    const published = await pub.wait((m) => m.published || m.refused, 'published', 30_000);
    if (published.refused) return { sdk, mode, na: `refused: ${published.message}` };
    let ramp = 'no viewer';
    if (VIEWER) {
      viewer ??= await spawn(server, 'official', 'sub', room, { counter: false });
      ({ ramp } = await waitForSize(viewer, TRACKS, FULL, RAMP_TIMEOUT_S));
    }
    const v0 = viewer ? await statusOf(viewer) : null;
    const s0 = await stats(server);
    const c0 = cpuSeconds(pub.proc.pid);
    const rx0 = namespaceRxBytes();
    const t0 = performance.now();
    await delay(SECONDS * 1000);
    const secs = (performance.now() - t0) / 1000;
    const c1 = cpuSeconds(pub.proc.pid);
    const rx1 = namespaceRxBytes();
    const rssEnd = rssBytes(pub.proc.pid);
    const s1 = await stats(server);
    const v1 = viewer ? await statusOf(viewer) : null;
    const frames = v1 ? framesOf(v1) - framesOf(v0) : NaN;
    return {
      sdk,
      mode,
      cpuMsPerS: ((c1 - c0) / secs / TRACKS) * 1000,
      rssPerTrackMb: (rssEnd - rssBase) / TRACKS / MB,
      rssMb: rssEnd / MB,
      pktsPerS: rate(s0, s1, 'packets_in', secs) / TRACKS,
      netMbps: ((rx1 - rx0) * 8) / secs / 1e6 / TRACKS,
      keyframeReqPerS: rate(s0, s1, 'keyframe_requests_sent', secs),
      nacksPerS: rate(s0, s1, 'nacks_received', secs),
      relayedPerS: rate(s0, s1, 'nacks_relayed', secs),
      resentPerS: rate(s0, s1, 'retransmissions', secs),
      viewerFps: frames / secs / TRACKS,
      viewerSizes: v1 ? sizesOf(v1) : '-',
      ramp,
    };
  } finally {
    for (const c of [pub, viewer].filter(Boolean)) c.send({ stop: true });
    for (const c of [pub, viewer].filter(Boolean)) await reap(c);
  }
}

const server = await startServer({ name: 'bench-video-publish' });
const results = [];
console.log(
  `publishing ${TRACKS} x ${FULL} at ${FPS} fps, ${CODEC}, max ${MAX_BITRATE / 1e6} Mb/s, ${SECONDS} s windows` +
    (VIEWER ? ', one official viewer' : ''),
);
try {
  for (const mode of MODES) {
    for (const sdk of SDKS) {
      let r;
      try {
        r = await run(server, sdk, mode);
      } catch (e) {
        r = { sdk, mode, na: `failed: ${e?.message ?? e}` };
      }
      results.push(r);
      const head = `${sdk.padEnd(8)} ${mode.padEnd(9)}`;
      if (r.na) {
        console.log(`${head} n/a (${r.na})`);
        continue;
      }
      console.log(
        `${head} CPU ${fmt(r.cpuMsPerS)} ms/s per track (${fmt(r.cpuMsPerS / 10)} % of a core), ` +
          `RSS +${fmt(r.rssPerTrackMb)} MB per track (${fmt(r.rssMb)} MB total), ` +
          `server got ${fmt(r.pktsPerS, 0)} video packets/s per track, network ${fmt(r.netMbps, 2)} Mb/s per track, viewer ${fmt(r.viewerFps)} fps at ` +
          `${r.viewerSizes} (ramp: ${r.ramp}); keyframe requests to the publisher ${fmt(r.keyframeReqPerS, 2)}/s, ` +
          `NACKs from the viewer ${fmt(r.nacksPerS, 1)}/s (server resent ${fmt(r.resentPerS, 1)} packets/s from its ` +
          `cache, asked the publisher for ${fmt(r.relayedPerS, 1)}/s)`,
      );
    }
  }
} finally {
  await server.kill();
}
console.table(
  results.map((r) =>
    r.na
      ? { sdk: r.sdk, mode: r.mode, 'CPU ms/s per track': `n/a (${r.na.split(':')[0]})` }
      : {
          sdk: r.sdk,
          mode: r.mode,
          'CPU ms/s per track': fmt(r.cpuMsPerS),
          'RSS MB per track': fmt(r.rssPerTrackMb),
          'viewer fps': fmt(r.viewerFps),
          'viewer size': r.viewerSizes,
        },
  ),
);
console.log('\nratios lkrtc / official (below 1: lkrtc uses less):');
for (const mode of MODES) {
  const a = results.find((r) => r.sdk === 'lkrtc' && r.mode === mode);
  const b = results.find((r) => r.sdk === 'official' && r.mode === mode);
  if (!a || !b) continue;
  if (a.na || b.na) {
    console.log(`${mode.padEnd(9)} n/a (${a.na ? `lkrtc ${a.na}` : `official ${b.na}`})`);
    continue;
  }
  console.log(
    `${mode.padEnd(9)} CPU per track ${fmt(a.cpuMsPerS / b.cpuMsPerS, 2)}  ` +
      `RSS per track ${fmt(a.rssPerTrackMb / b.rssPerTrackMb, 2)}`,
  );
}
process.exit(0);
