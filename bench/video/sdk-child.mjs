// One side of the SDK video benchmarks (bench/video/sdk-publish.mjs, sdk-subscribe.mjs drive
// it), in its own process so that its CPU time and RSS belong to one SDK and one role.
//   node sdk-child.mjs '<json: { sdk, role, url, token, tracks, codec, simulcast, counter, fps }>'
// pub: publishes `tracks` 1280x720 camera tracks fed with a moving RGBA pattern (a few
//      frames precomputed, cycled) at `fps`; with `counter`, every picture also carries its
//      frame number as 16 black/white blocks along the top (the latency marker).
// sub: reads every subscribed video track through a VideoStream; counts frames, keeps the
//      latest size per track and, with `counter`, when each frame number arrived.
// Messages to the parent (IPC): {ready, rss} (connected, nothing published or subscribed),
// {published, rss} / {refused, message}, {status: {...}, id} on
// {status: id} requests, {done, captured | arrivals} after {stop}.
import { createRequire } from 'node:module';
import { delay } from '../../__test__/helpers/rtc.mjs';
import { COUNTER_BITS, H, W, paintCounter, patternFrames, readCounter } from './sdk-pattern.mjs';

const require = createRequire(import.meta.url);
const opts = JSON.parse(process.argv[2]);
const { sdk, role, url, token, tracks: N, codec, simulcast, counter, fps } = opts;
const lkrtc = sdk === 'lkrtc';
const mod = lkrtc ? require('../../index.js') : await import('@livekit/rtc-node');
const now = () => performance.timeOrigin + performance.now();
const rss = () => process.memoryUsage().rss;

const room = new mod.Room();
await room.connect(url, token, { autoSubscribe: role === 'sub', dynacast: false });
let finish = async () => {};
let stopped = false;
process.on('message', async (m) => {
  if (m?.stop && !stopped) {
    stopped = true;
    await finish();
  } else if (m?.status) process.send({ status: status(), id: m.status });
});
let status = () => ({});

/** Disconnects, frees the SDK and sends `last` before exiting. */
let leaving = false;
async function leave(last) {
  if (leaving) return;
  leaving = true;
  await room.disconnect().catch(() => {});
  if (!lkrtc) await mod.dispose();
  process.send(last, () => process.exit(0));
}

/** Publish options for a 720p camera: the same for both SDKs. */
async function publishOptions() {
  const videoCodec = mod.VideoCodec[codec];
  const maxBitrate = BigInt(opts.maxBitrate);
  if (lkrtc) {
    return new mod.TrackPublishOptions({
      source: mod.TrackSource.SOURCE_CAMERA,
      simulcast,
      videoCodec,
      videoEncoding: { maxBitrate, maxFramerate: fps },
    });
  }
  const { VideoEncoding } = await import('@livekit/rtc-ffi-bindings');
  const o = new mod.TrackPublishOptions();
  o.source = mod.TrackSource.SOURCE_CAMERA;
  o.simulcast = simulcast;
  o.videoCodec = videoCodec;
  o.videoEncoding = new VideoEncoding({ maxBitrate, maxFramerate: fps });
  return o;
}

/** Publishes the cameras and feeds them until {stop}. */
async function publisher() {
  const bases = patternFrames();
  process.send({ ready: true, rss: rss() });
  // Without a counter the precomputed pictures are captured as they are; with one, each is
  // copied into a work buffer and numbered (both SDKs copy the pixels during captureFrame).
  const work = counter ? new Uint8Array(W * H * 4) : null;
  const frames = bases.map((b) => new mod.VideoFrame(counter ? work : b, W, H, mod.VideoBufferType.RGBA));
  const sources = [];
  const options = await publishOptions();
  try {
    for (let i = 0; i < N; i++) {
      const source = new mod.VideoSource(W, H);
      sources.push(source);
      const track = mod.LocalVideoTrack.createVideoTrack(`cam-${i}`, source);
      await room.localParticipant.publishTrack(track, options);
    }
  } catch (e) {
    for (const s of sources) await s.close();
    await leave({ refused: true, message: e?.message ?? String(e) });
    return;
  }
  const captured = [];
  let running = true;
  let k = 0;
  const t0 = now();
  const loop = (async () => {
    while (running) {
      const index = k % bases.length;
      if (counter) {
        work.set(bases[index]);
        paintCounter(work, k % (1 << COUNTER_BITS));
        captured[k % (1 << COUNTER_BITS)] = now();
      }
      for (const s of sources) s.captureFrame(frames[index]);
      k++;
      // Paced on the wall clock; a tick more than a frame late skips ahead instead of bursting.
      const wait = t0 + (k * 1000) / fps - now();
      if (wait < -1000 / fps) k = Math.floor(((now() - t0) * fps) / 1000);
      await delay(Math.max(0, wait));
    }
  })();
  status = () => ({ frames: k, rss: rss() });
  finish = async () => {
    running = false;
    await loop;
    for (const s of sources) await s.close();
    await leave({ done: true, captured: counter ? captured : [] });
  };
  process.send({ published: true, rss: rss() });
}

/** Reads every subscribed video track until {stop}. */
function subscriber() {
  const perTrack = [];
  const arrivals = [];
  let stopping = false;
  const read = async (track, index) => {
    const stream = new mod.VideoStream(track);
    const t = { frames: 0, size: '' };
    perTrack[index] = t;
    for await (const { frame } of stream) {
      if (stopping) break;
      const at = now();
      t.frames++;
      t.size = `${frame.width}x${frame.height}`;
      if (counter) arrivals.push([index, readCounter(mod, frame), at]);
    }
  };
  let n = 0;
  room.on(mod.RoomEvent.TrackSubscribed, (track) => {
    if (track.kind !== mod.TrackKind.KIND_VIDEO) return;
    const index = n++;
    read(track, index).catch((e) => process.send({ error: e?.message ?? String(e) }));
  });
  status = () => ({ tracks: perTrack.filter(Boolean), rss: rss() });
  finish = async () => {
    stopping = true;
    await leave({ done: true, arrivals });
  };
  process.send({ ready: true, rss: rss() });
}

if (role === 'pub') await publisher();
else subscriber();
