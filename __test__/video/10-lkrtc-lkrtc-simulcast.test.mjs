// lkrtc to lkrtc with simulcast (issue 11): an lkrtc VideoSource (1280x720 RGBA frames: a red
// top-left quadrant, the rest grey whose brightness flips every second) published with
// simulcast (q 320x180, h 640x360, f 1280x720) through lkrtc-server to an lkrtc viewer, which
// picks each layer with `setVideoQuality`: its VideoStream's frames come at that layer's size,
// with the flips and the quadrant. Without simulcast the one layer comes whatever the viewer
// asks for (06-lkrtc-receive covers one-layer lkrtc -> lkrtc at 320x240 in more detail).
// Streams end on unpublish and every handle is freed.
import { describe, expect, it } from 'vitest';
import { uniqueRoomName, waitForEvent, withTimeout } from '../helpers/rtc.mjs';
import { brightness, feed, look, quadrantPicture, untilSize } from '../helpers/video.mjs';
import { connectLk, expectHandles, lk, useLkEnv } from '../client/lk.mjs';

const W = 1280;
const H = 720;
const TOP = `${W}x${H}`;
const LAYERS = [
  [lk.VideoQuality.HIGH, TOP],
  [lk.VideoQuality.LOW, '320x180'],
  [lk.VideoQuality.MEDIUM, '640x360'],
  [lk.VideoQuality.HIGH, TOP],
];

/** Reads `reader` for `ms`; returns what each frame shows ({ size, red, level, at }). */
async function watch(reader, ms) {
  const seen = [];
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const { value, done } = await withTimeout(reader.read(), 10_000, 'a video frame');
    if (done) break;
    seen.push({ ...look(value.frame), at: Date.now() });
  }
  return seen;
}

describe('lkrtc publishes simulcast to lkrtc', () => {
  const env = useLkEnv(undefined, { settleMs: 5_000 });

  it.each([
    ['VP8', true],
    ['H264', true],
    ['VP8', false],
    ['H264', false],
  ])('%s 1280x720, simulcast %s: the viewer gets the layer it asks for', async (codec, simulcast) => {
    const roomName = uniqueRoomName(`lk-lk-simulcast-${codec}`);
    const viewer = await connectLk(env.scope, env.dev, 'lk-viewer', roomName);
    const cam = await connectLk(env.scope, env.dev, 'lk-cam', roomName);
    const options = new lk.TrackPublishOptions({
      source: lk.TrackSource.SOURCE_CAMERA,
      videoCodec: lk.VideoCodec[codec],
    });
    options.simulcast = simulcast;
    const source = new lk.VideoSource(W, H);
    const stopFeed = feed(source, W, H, undefined, (level) => quadrantPicture(lk.VideoFrame, W, H, level));
    const closeSource = async () => (await stopFeed(), await source.close());
    env.scope.defer(closeSource);
    const track = lk.LocalVideoTrack.createVideoTrack('cam', source);
    const [publication, [remote, remotePub]] = await Promise.all([
      withTimeout(cam.localParticipant.publishTrack(track, options), 20_000, 'publish'),
      waitForEvent(viewer, lk.RoomEvent.TrackSubscribed, { timeoutMs: 20_000, what: 'the viewer to subscribe' }),
    ]);
    expect(remote).toBeInstanceOf(lk.RemoteVideoTrack);
    expect(remotePub.simulcasted, 'the viewer sees the track as simulcast').toBe(simulcast);
    expect(publication.simulcasted).toBe(simulcast);
    expect([remotePub.width, remotePub.height]).toEqual([W, H]);
    expect(remotePub.mimeType.toLowerCase()).toBe(`video/${codec.toLowerCase()}`);

    const reader = new lk.VideoStream(remote).getReader();
    for (const [quality, layer] of LAYERS) {
      const size = simulcast ? layer : TOP;
      await remotePub.setVideoQuality(quality);
      const switchMs = await untilSize(reader, size, 15_000);
      const seen = await watch(reader, 3_000);
      const lastSecond = seen.filter((f) => f.at > seen.at(-1).at - 1_000);
      const { dark, bright } = brightness(seen.map((f) => f.level));
      const red = seen.filter((f) => f.red).length;
      console.log(
        `${codec} simulcast ${simulcast}, ${lk.VideoQuality[quality]}: ${size} after ${switchMs} ms; ` +
          `${seen.length} frames in 3 s (sizes ${[...new Set(seen.map((f) => f.size))]}), ` +
          `${dark} dark, ${bright} bright, ${red} with the red quadrant`,
      );
      expect(new Set(lastSecond.map((f) => f.size)), `sizes in the last second at ${size}`).toEqual(new Set([size]));
      // 15 fps on the low layer, 20 on the middle one, 30 on the top (at least 10 fps however
      // busy the machine).
      expect(seen.length, `frames in 3 s at ${size}`).toBeGreaterThan(30);
      expect(Math.min(dark, bright), 'both brightness levels seen').toBeGreaterThan(5);
      expect(red / seen.length, 'share of frames with the red quadrant top-left').toBeGreaterThan(0.9);
    }
    expect(lk.liveHandles().videoStream).toBe(1);

    // Unpublishing ends the stream.
    const unpublished = waitForEvent(viewer, lk.RoomEvent.TrackUnpublished, { timeoutMs: 20_000, what: 'unpublish' });
    await cam.localParticipant.unpublishTrack(publication.sid);
    await unpublished;
    for (;;) {
      const { done } = await withTimeout(reader.read(), 10_000, 'the stream to end');
      if (done) break;
    }
    await closeSource();
    await cam.disconnect();
    await viewer.disconnect();
    expectHandles({});
  });
});
