// Video test helpers for the official client (@livekit/rtc-node): a VideoSource fed with
// frame-wide brightness that flips every second, and a reader that records what a
// VideoStream delivers (sizes, brightness, arrival times).
import * as official from '@livekit/rtc-node';
import { waitForEvent, withTimeout } from './rtc.mjs';

export const DARK = 40;
export const BRIGHT = 200;

/** One frame of uniform brightness `level`, `width`x`height`, as I420 or RGBA. */
function frameOf(width, height, level, type) {
  if (type === official.VideoBufferType.RGBA) {
    const data = new Uint8Array(width * height * 4).fill(level);
    for (let i = 3; i < data.length; i += 4) data[i] = 255;
    return new official.VideoFrame(data, width, height, type);
  }
  const data = new Uint8Array((width * height * 3) / 2).fill(128);
  data.fill(level, 0, width * height);
  return new official.VideoFrame(data, width, height, official.VideoBufferType.I420);
}

/**
 * Feeds `source` frames at 30 fps, brightness toggling every second, until the returned
 * stop function is called (and awaited). `make(level)` makes the frames (default: uniform
 * `level` of `type`).
 */
export function feed(
  source,
  width,
  height,
  type = official.VideoBufferType.I420,
  make = (level) => frameOf(width, height, level, type),
) {
  let running = true;
  const started = Date.now();
  const frames = { dark: make(DARK), bright: make(BRIGHT) };
  const loop = (async () => {
    while (running) {
      const bright = Math.floor((Date.now() - started) / 1000) % 2 === 1;
      source.captureFrame(bright ? frames.bright : frames.dark);
      await new Promise((r) => setTimeout(r, 33));
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}

/**
 * An RGBA frame made with `VideoFrameClass` (either SDK's): red top-left quadrant, grey
 * `level` elsewhere.
 */
export function quadrantPicture(VideoFrameClass, width, height, level) {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const red = x < width / 2 && y < height / 2;
      data.set(red ? [230, 20, 20, 255] : [level, level, level, 255], (y * width + x) * 4);
    }
  }
  return new VideoFrameClass(data, width, height, official.VideoBufferType.RGBA);
}

/** What a received frame shows: its size, whether the top-left is red, the bottom-right luma. */
export function look(frame) {
  const rgba = frame.convert(official.VideoBufferType.RGBA);
  const at = (x, y) => Array.from(rgba.data.subarray((y * rgba.width + x) * 4, (y * rgba.width + x) * 4 + 3));
  const [r, g, b] = at(Math.floor(rgba.width / 4), Math.floor(rgba.height / 4));
  const grey = at(Math.floor((3 * rgba.width) / 4), Math.floor((3 * rgba.height) / 4));
  return {
    size: `${frame.width}x${frame.height}`,
    red: r > 170 && g < 80 && b < 80,
    level: (grey[0] + grey[1] + grey[2]) / 3,
  };
}

/** Mean luma of a frame (sampled). */
export function luma(frame) {
  const i420 = frame.type === official.VideoBufferType.I420 ? frame : frame.convert(official.VideoBufferType.I420);
  let sum = 0;
  const n = i420.width * i420.height;
  for (let i = 0; i < n; i += 7) sum += i420.data[i];
  return sum / Math.ceil(n / 7);
}

/** Reads frames from `reader` for `ms` (at least one); returns [{ size, level, at }]. */
export async function readFor(reader, ms) {
  const frames = [];
  const deadline = Date.now() + ms;
  do {
    const { value, done } = await withTimeout(reader.read(), 10_000, 'a video frame');
    if (done) break;
    frames.push({ size: `${value.frame.width}x${value.frame.height}`, level: luma(value.frame), at: Date.now() });
  } while (Date.now() < deadline);
  return frames;
}

/**
 * Reads frames from `reader` until one is `size` (within `ms`); returns how long that
 * took. A publisher's encoder starts a large picture small and scales it up as its
 * bandwidth estimate grows (about every 4 s for 720p without simulcast).
 */
export async function untilSize(reader, size, ms) {
  const t0 = Date.now();
  for (;;) {
    const [frame] = await readFor(reader, 0);
    if (frame.size === size) return frame.at - t0;
    if (Date.now() - t0 > ms) throw new Error(`no ${size} frame within ${ms} ms (last: ${frame.size})`);
  }
}

/** The longest time between two consecutive frames, in ms. */
export function longestGap(frames) {
  let gap = 0;
  for (let i = 1; i < frames.length; i++) gap = Math.max(gap, frames[i].at - frames[i - 1].at);
  return gap;
}

/** Reads frames from `track` for `ms` (at least one); returns { levels, sizes }. */
export async function readFrames(track, ms) {
  const reader = new official.VideoStream(track).getReader();
  const frames = await readFor(reader, ms);
  reader.releaseLock();
  return { levels: frames.map((f) => f.level), sizes: new Set(frames.map((f) => f.size)) };
}

/** How many of `levels` are near dark and near bright. */
export function brightness(levels) {
  return {
    dark: levels.filter((l) => Math.abs(l - DARK) < 25).length,
    bright: levels.filter((l) => Math.abs(l - BRIGHT) < 25).length,
  };
}

/**
 * Connects a `late` participant (no auto-subscribe) to `roomName`, subscribes it to
 * `publication` of `cam`, and reads its first frame. Returns { reader, first, firstFrameMs }
 * (the time from the subscription to the first frame); the caller releases the reader.
 */
export async function lateSubscriber(scope, server, roomName, publication) {
  const late = await scope.connect(server, 'late', roomName, { roomOptions: { autoSubscribe: false } });
  const latePub = late.remoteParticipants.get('cam').trackPublications.get(publication.sid);
  const subscribed = waitForEvent(late, official.RoomEvent.TrackSubscribed, {
    timeoutMs: 20_000,
    what: 'the late viewer to subscribe',
  });
  latePub.setSubscribed(true);
  const [track] = await subscribed;
  const t0 = Date.now();
  const reader = new official.VideoStream(track).getReader();
  const [first] = await readFor(reader, 0);
  return { reader, first, firstFrameMs: first.at - t0 };
}

/**
 * `pub` publishes `source` as a single-layer camera track and `sub` subscribes (auto).
 * Resolves with the subscriber's { remote, publication } and the publisher's `track`.
 */
export async function publishCamera(pub, sub, source) {
  const track = official.LocalVideoTrack.createVideoTrack('cam', source);
  const options = new official.TrackPublishOptions();
  options.source = official.TrackSource.SOURCE_CAMERA;
  options.simulcast = false;
  const subscribed = waitForEvent(sub, official.RoomEvent.TrackSubscribed, {
    timeoutMs: 20_000,
    what: `${sub.localParticipant?.identity ?? 'the subscriber'} to subscribe to the camera`,
  });
  await withTimeout(pub.localParticipant.publishTrack(track, options), 20_000, 'publishTrack(video)');
  const [remote, publication] = await subscribed;
  return { track, remote, publication };
}
