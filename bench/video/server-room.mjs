// lkrtc-server with video (issue 10), official clients (@livekit/rtc-node) as peers:
//   1. a room of N participants that all publish a 1280x720 camera (simulcast by default)
//      and subscribe to everyone: server CPU (share of one core) and memory (RSS), packets
//      forwarded, keyframe requests, the delay forwarding adds per packet (server-side);
//   2. time to first frame for a new subscriber (setSubscribed(true) -> first VideoStream
//      frame), repeated;
//   3. capture-to-frame latency through the server (publisher captureFrame -> subscriber
//      VideoStream frame; encoder, network, server, jitter buffer and decoder), from a
//      frame counter drawn as 16 black/white blocks across the top of each picture.
// Run inside the test namespace (the official client must not touch real interfaces):
//   sh scripts/netns.sh node bench/video/server-room.mjs [--participants 10] [--seconds 10]
//     [--fps 30] [--no-simulcast] [--first-frames 10]
// LKRTC_SERVER_BIN picks the server binary (e.g. target/release/lkrtc-server).
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import * as official from '@livekit/rtc-node';
import { VideoEncoding } from '@livekit/rtc-ffi-bindings';
import { startServer } from '../../__test__/helpers/server.mjs';
import { delay, uniqueRoomName, withTimeout } from '../../__test__/helpers/rtc.mjs';
import { COUNTER_BITS as BITS, readCounter } from './sdk-pattern.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const PARTICIPANTS = arg('participants', 10);
const SECONDS = arg('seconds', 10);
const FPS = arg('fps', 30);
const FIRST_FRAMES = arg('first-frames', 10);
const SIMULCAST = !process.argv.includes('--no-simulcast');
const W = 1280;
const H = 720;
const BLOCK = W / BITS;

const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];
const ms = (x) => `${x.toFixed(1)} ms`;
const proc = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const rss = Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]) / 1024;
  return { cpu: (Number(f[11]) + Number(f[12])) / 100, rssMb: rss };
};
const stats = async (server) => (await fetch(`${server.httpUrl}/lkrtc/stats`)).json();

/** An I420 720p picture showing `counter` as 16 blocks (bit set = white) on mid grey. */
function picture(counter) {
  const data = new Uint8Array((W * H * 3) / 2).fill(128);
  for (let b = 0; b < BITS; b++) {
    const v = (counter >> b) & 1 ? 235 : 16;
    for (let y = 0; y < BLOCK; y++) data.fill(v, y * W + b * BLOCK, y * W + (b + 1) * BLOCK);
  }
  return new official.VideoFrame(data, W, H, official.VideoBufferType.I420);
}

/** Publishes a counter-drawing 720p camera from `room`; returns { stop, captured }. */
async function publishCounter(room, name) {
  const source = new official.VideoSource(W, H);
  const track = official.LocalVideoTrack.createVideoTrack(name, source);
  const options = new official.TrackPublishOptions();
  options.source = official.TrackSource.SOURCE_CAMERA;
  options.simulcast = SIMULCAST;
  options.videoEncoding = new VideoEncoding({ maxBitrate: 1_700_000n, maxFramerate: FPS });
  const captured = new Map();
  let counter = 0;
  let running = true;
  const loop = (async () => {
    const start = performance.now();
    while (running) {
      counter = (counter + 1) & 0xffff;
      captured.set(counter, performance.now());
      if (captured.size > 1024) captured.delete(captured.keys().next().value);
      source.captureFrame(picture(counter));
      const next = start + (counter * 1000) / FPS;
      await delay(Math.max(0, next - performance.now()));
    }
  })();
  await withTimeout(room.localParticipant.publishTrack(track, options), 20_000, `publishTrack(${name})`);
  return {
    captured,
    stop: async () => {
      running = false;
      await loop;
      await source.close();
    },
  };
}

const server = await startServer({ name: 'bench-video' });
const rooms = [];
const cameras = [];
try {
  const name = uniqueRoomName('video-room');
  for (let i = 0; i < PARTICIPANTS; i++) {
    const room = new official.Room();
    await room.connect(server.url, await server.token(`p${i}`, name), { autoSubscribe: true, dynacast: false });
    rooms.push(room);
    cameras.push(await publishCounter(room, `cam-${i}`));
  }
  await delay(4_000); // every subscription up and its first keyframe through
  const subscribed = rooms.map(
    (r) =>
      [...r.remoteParticipants.values()].flatMap((p) => [...p.trackPublications.values()]).filter((p) => p.track)
        .length,
  );
  console.log(`subscribed tracks per participant: ${subscribed.join(' ')} (of ${PARTICIPANTS - 1} each)`);
  const s0 = await stats(server);
  const p0 = proc(server.proc.pid);
  const t0 = performance.now();
  await delay(SECONDS * 1_000);
  const s1 = await stats(server);
  const p1 = proc(server.proc.pid);
  const wall = (performance.now() - t0) / 1000;
  const v0 = s0.video ?? {};
  const v1 = s1.video ?? {};
  const rate = (k) => ((v1[k] ?? 0) - (v0[k] ?? 0)) / wall;
  console.log(
    `${PARTICIPANTS}-participant room, 1280x720 at ${FPS} fps, simulcast ${SIMULCAST ? 'on' : 'off'}: ` +
      `server CPU ${(((p1.cpu - p0.cpu) / wall) * 100).toFixed(1)}% of one core, RSS ${p1.rssMb.toFixed(1)} MB; ` +
      `video packets ${rate('packets_in').toFixed(0)}/s in, ${rate('packets_out').toFixed(0)}/s out; ` +
      `keyframe requests ${rate('keyframe_requests_received').toFixed(2)}/s from subscribers, ` +
      `${rate('keyframe_requests_sent').toFixed(2)}/s to publishers; forwarding delay in the server ` +
      `${(rate('forward_micros') / Math.max(1, rate('packets_in'))).toFixed(1)} µs per packet on average ` +
      `(longest since start ${v1.forward_max_micros ?? '-'} µs)`,
  );

  // Latency: p1 watches p0's camera for a few seconds.
  const watcher = rooms[1];
  const pub0 = watcher.remoteParticipants.get('p0');
  const track0 = [...pub0.trackPublications.values()].find((p) => p.track)?.track;
  const reader = new official.VideoStream(track0).getReader();
  const latencies = [];
  const sizes = new Set();
  const until = performance.now() + 5_000;
  while (performance.now() < until) {
    const { value, done } = await withTimeout(reader.read(), 10_000, 'a frame');
    if (done) break;
    const at = performance.now();
    sizes.add(`${value.frame.width}x${value.frame.height}`);
    const sent = cameras[0].captured.get(readCounter(official, value.frame));
    if (sent !== undefined) latencies.push(at - sent);
  }
  reader.releaseLock();
  console.log(
    `capture-to-frame latency (p0 -> p1 through the server, layer ${[...sizes].join(', ')}): ` +
      `median ${ms(quantile(latencies, 0.5))}, p99 ${ms(quantile(latencies, 0.99))} (n=${latencies.length})`,
  );

  // Time to first frame for a new subscriber.
  const firsts = [];
  for (let i = 0; i < FIRST_FRAMES; i++) {
    const late = new official.Room();
    await late.connect(server.url, await server.token(`late-${i}`, name), { autoSubscribe: false, dynacast: false });
    const publication = [...late.remoteParticipants.get('p0').trackPublications.values()][0];
    const subscribed = new Promise((res) =>
      late.on(
        official.RoomEvent.TrackSubscribed,
        (track) => track.kind === official.TrackKind.KIND_VIDEO && res(track),
      ),
    );
    const t = performance.now();
    publication.setSubscribed(true);
    const track = await withTimeout(subscribed, 10_000, 'the late subscription');
    const r = new official.VideoStream(track).getReader();
    await withTimeout(r.read(), 10_000, "the late subscriber's first frame");
    firsts.push(performance.now() - t);
    r.releaseLock();
    await late.disconnect();
  }
  console.log(
    `new subscriber's first frame: median ${ms(quantile(firsts, 0.5))}, worst ${ms(Math.max(...firsts))} ` +
      `(n=${firsts.length})`,
  );
} finally {
  for (const c of cameras) await c.stop().catch(() => {});
  for (const r of rooms) await r.disconnect().catch(() => {});
  await server.kill();
  await official.dispose();
}
