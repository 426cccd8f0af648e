// Video forwarding, single layer (issue 10): an official publisher (@livekit/rtc-node)
// sends a 320x240 I420 VideoSource without simulcast through lkrtc-server; an official
// subscriber reads a VideoStream. Frames arrive at the published size, and the picture
// content survives: the frame-wide brightness, flipped every second, is seen flipping. A
// subscriber joining while the video runs gets a keyframe (the server asks the publisher
// for one) and its first frame promptly.
import * as official from '@livekit/rtc-node';
import { describe, expect, it } from 'vitest';
import { uniqueRoomName, waitForEvent, withTimeout } from '../helpers/rtc.mjs';
import { useServer } from '../helpers/server.mjs';

const W = 320;
const H = 240;
const DARK = 40;
const BRIGHT = 200;

/** Feeds `source` I420 frames at 30 fps, brightness toggling every second, until stop(). */
function feed(source) {
  let running = true;
  const started = Date.now();
  const loop = (async () => {
    while (running) {
      const bright = Math.floor((Date.now() - started) / 1000) % 2 === 1;
      const data = new Uint8Array((W * H * 3) / 2).fill(128);
      data.fill(bright ? BRIGHT : DARK, 0, W * H);
      source.captureFrame(new official.VideoFrame(data, W, H, official.VideoBufferType.I420));
      await new Promise((r) => setTimeout(r, 33));
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}

/** Mean luma of an I420 frame. */
function luma(frame) {
  const i420 = frame.type === official.VideoBufferType.I420 ? frame : frame.convert(official.VideoBufferType.I420);
  let sum = 0;
  const n = i420.width * i420.height;
  for (let i = 0; i < n; i += 7) sum += i420.data[i];
  return sum / Math.ceil(n / 7);
}

/** Reads frames from `track` for `ms` (at least one); returns { levels, sizes }. */
async function readFrames(track, ms) {
  const reader = new official.VideoStream(track).getReader();
  const levels = [];
  const sizes = new Set();
  const deadline = Date.now() + ms;
  do {
    const { value, done } = await withTimeout(reader.read(), 10_000, 'a video frame');
    if (done) break;
    sizes.add(`${value.frame.width}x${value.frame.height}`);
    levels.push(luma(value.frame));
  } while (Date.now() < deadline);
  reader.releaseLock();
  return { levels, sizes };
}

describe('video forwarding (rtc-node to rtc-node)', () => {
  const env = useServer('video');

  it('delivers frames at the published size with their content', async () => {
    const { server, scope } = env;
    const roomName = uniqueRoomName('video');
    const pub = await scope.connect(server, 'cam', roomName);
    const sub = await scope.connect(server, 'viewer', roomName);
    const source = new official.VideoSource(W, H);
    const track = official.LocalVideoTrack.createVideoTrack('cam', source);
    const stop = feed(source);
    scope.defer(stop);
    const options = new official.TrackPublishOptions();
    options.source = official.TrackSource.SOURCE_CAMERA;
    options.simulcast = false;
    const subscribed = waitForEvent(sub, official.RoomEvent.TrackSubscribed, {
      timeoutMs: 20_000,
      what: 'the viewer to subscribe to the camera',
    });
    await withTimeout(pub.localParticipant.publishTrack(track, options), 20_000, 'publishTrack(video)');
    const [remoteTrack, publication] = await subscribed;
    expect(publication.kind).toBe(official.TrackKind.KIND_VIDEO);
    expect(publication.mimeType).toMatch(/^video\//);

    expect(publication.width).toBe(W);
    expect(publication.height).toBe(H);
    const { levels, sizes } = await readFrames(remoteTrack, 5_000);
    expect(levels.length, 'frames in 5 s at 30 fps').toBeGreaterThan(60);
    expect([...sizes]).toEqual([`${W}x${H}`]);
    const dark = levels.filter((l) => Math.abs(l - DARK) < 25).length;
    const bright = levels.filter((l) => Math.abs(l - BRIGHT) < 25).length;
    expect(dark, 'dark frames seen').toBeGreaterThan(20);
    expect(bright, 'bright frames seen').toBeGreaterThan(20);

    // A late subscriber: the publisher's encoder only sends keyframes when asked.
    const late = await scope.connect(server, 'late', roomName, { roomOptions: { autoSubscribe: false } });
    const latePub = late.remoteParticipants.get('cam').trackPublications.get(publication.sid);
    const lateSubscribed = waitForEvent(late, official.RoomEvent.TrackSubscribed, {
      timeoutMs: 20_000,
      what: 'the late viewer to subscribe',
    });
    latePub.setSubscribed(true);
    const [lateTrack] = await lateSubscribed;
    const t0 = Date.now();
    const first = await readFrames(lateTrack, 0);
    const firstFrameMs = Date.now() - t0;
    console.log(`video: ${levels.length} frames in 5 s; late subscriber's first frame after ${firstFrameMs} ms`);
    expect(first.sizes.has(`${W}x${H}`)).toBe(true);
    expect(firstFrameMs, 'time to the first frame for a new subscriber').toBeLessThan(1_500);
  });

  it.each([
    ['VP8', 'video/vp8'],
    ['H264', 'video/h264'],
    ['VP9', 'video/vp9'],
    ['AV1', 'video/av1'],
  ])('forwards %s in the codec the publisher negotiated', async (codec, mime) => {
    const { server, scope } = env;
    const roomName = uniqueRoomName(`video-${codec}`);
    const pub = await scope.connect(server, 'cam', roomName);
    const sub = await scope.connect(server, 'viewer', roomName);
    const source = new official.VideoSource(W, H);
    const track = official.LocalVideoTrack.createVideoTrack('cam', source);
    scope.defer(feed(source));
    const options = new official.TrackPublishOptions();
    options.source = official.TrackSource.SOURCE_CAMERA;
    options.simulcast = false;
    options.videoCodec = official.VideoCodec[codec];
    const subscribed = waitForEvent(sub, official.RoomEvent.TrackSubscribed, {
      timeoutMs: 20_000,
      what: `the viewer to subscribe to the ${codec} camera`,
    });
    await withTimeout(pub.localParticipant.publishTrack(track, options), 20_000, `publishTrack(${codec})`);
    const [remoteTrack, publication] = await subscribed;
    expect(publication.mimeType.toLowerCase()).toBe(mime);
    const { levels, sizes } = await readFrames(remoteTrack, 2_000);
    expect(levels.length, `${codec} frames in 2 s`).toBeGreaterThan(15);
    expect([...sizes]).toEqual([`${W}x${H}`]);
  });
});
