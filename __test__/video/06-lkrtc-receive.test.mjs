// lkrtc receives video (issue 11): a VideoSource (RGBA frames: a red top-left quadrant,
// the rest grey whose brightness flips every second) published by the official SDK
// (@livekit/rtc-node; VP8, H.264 and VP9) or by lkrtc (VP8, H.264, VP9), through lkrtc-server, read with an
// lkrtc VideoStream. Most frames arrive at the published size, the flips are seen, the
// quadrant stays top-left, timestamps follow the capture clock; a stream opened while
// the video runs gets its first frame promptly (it asks the sender for a keyframe);
// `format` converts; streams end on unpublish and every handle is freed.
import * as official from '@livekit/rtc-node';
import { describe, expect, it } from 'vitest';
import { uniqueRoomName, waitForEvent, withTimeout } from '../helpers/rtc.mjs';
import { BRIGHT, DARK, feed, look, quadrantPicture } from '../helpers/video.mjs';
import { connectLk, expectHandles, expectLkError, lk, useLkEnv } from '../client/lk.mjs';

const W = 320;
const H = 240;

/** Reads `stream` for `ms`; returns what the frames show and when the first came. */
async function readStream(stream, ms) {
  const reader = stream.getReader();
  const seen = [];
  const t0 = Date.now();
  let firstMs;
  while (Date.now() - t0 < ms) {
    const { value, done } = await withTimeout(reader.read(), 10_000, 'a video frame');
    if (done) break;
    firstMs ??= Date.now() - t0;
    seen.push({
      ...look(value.frame),
      type: value.frame.type,
      ts: value.timestampUs,
      rotation: value.rotation,
      at: Date.now(),
    });
  }
  await reader.cancel();
  return { seen, firstMs };
}

function expectPicture(seen, label) {
  const atSize = seen.filter((f) => f.size === `${W}x${H}`).length;
  const dark = seen.filter((f) => Math.abs(f.level - DARK) < 25).length;
  const bright = seen.filter((f) => Math.abs(f.level - BRIGHT) < 25).length;
  const red = seen.filter((f) => f.red).length;
  console.log(`${label}: ${seen.length} frames in 5 s, ${atSize} at ${W}x${H}, ${dark} dark, ${bright} bright`);
  expect(seen.length, 'frames in 5 s at 30 fps').toBeGreaterThan(60);
  expect(atSize / seen.length, 'share of frames at the published size').toBeGreaterThan(0.9);
  expect(dark, 'dark frames seen').toBeGreaterThan(20);
  expect(bright, 'bright frames seen').toBeGreaterThan(20);
  expect(red / seen.length, 'share of frames with the red quadrant top-left').toBeGreaterThan(0.9);
  // Timestamps rise and span the time the frames took to arrive.
  const ts = seen.map((f) => Number(f.ts));
  expect(ts.every((t, i) => i === 0 || t > ts[i - 1])).toBe(true);
  const spanMs = (ts[ts.length - 1] - ts[0]) / 1000;
  const arrivalMs = seen[seen.length - 1].at - seen[0].at;
  expect(Math.abs(spanMs - arrivalMs), `timestamps span ${spanMs} ms, arrivals ${arrivalMs} ms`).toBeLessThan(400);
  expect(seen.every((f) => f.rotation === lk.VideoRotation.VIDEO_ROTATION_0)).toBe(true);
}

/** The official SDK publishes the test picture in `roomName`; returns { unpublish }. */
async function officialPublisher(scope, dev, roomName, codec) {
  const room = await scope.connect(dev, 'cam', roomName);
  const source = new official.VideoSource(W, H);
  const stop = feed(source, W, H, undefined, (level) => quadrantPicture(official.VideoFrame, W, H, level));
  scope.defer(stop);
  const track = official.LocalVideoTrack.createVideoTrack('cam', source);
  const options = new official.TrackPublishOptions();
  options.source = official.TrackSource.SOURCE_CAMERA;
  options.simulcast = false;
  options.videoCodec = official.VideoCodec[codec];
  const publication = await withTimeout(room.localParticipant.publishTrack(track, options), 20_000, 'publish');
  return { unpublish: () => room.localParticipant.unpublishTrack(publication.sid) };
}

/** lkrtc publishes the test picture in `roomName`; returns { unpublish }. */
async function lkrtcPublisher(scope, dev, roomName, codec) {
  const room = await connectLk(scope, dev, 'cam', roomName);
  const source = new lk.VideoSource(W, H);
  const stop = feed(source, W, H, undefined, (level) => quadrantPicture(lk.VideoFrame, W, H, level));
  scope.defer(async () => {
    await stop();
    await source.close();
  });
  const track = lk.LocalVideoTrack.createVideoTrack('cam', source);
  const options = new lk.TrackPublishOptions({
    source: lk.TrackSource.SOURCE_CAMERA,
    videoCodec: lk.VideoCodec[codec],
    videoEncoding: { maxBitrate: 600_000n, maxFramerate: 30 },
  });
  const publication = await withTimeout(room.localParticipant.publishTrack(track, options), 20_000, 'publish');
  return { unpublish: () => room.localParticipant.unpublishTrack(publication.sid) };
}

const PUBLISHERS = { official: officialPublisher, lkrtc: lkrtcPublisher };

describe('lkrtc receives video', () => {
  const env = useLkEnv(undefined, { settleMs: 5_000 });

  it.each([
    ['official', 'VP8'],
    ['official', 'H264'],
    ['official', 'VP9'],
    ['lkrtc', 'VP8'],
    ['lkrtc', 'H264'],
    ['lkrtc', 'VP9'],
  ])(
    '%s publisher, %s: frames with their content; late streams start promptly; unpublish ends them',
    async (who, codec) => {
      const roomName = uniqueRoomName(`lk-recv-${who}-${codec}`);
      const viewer = await connectLk(env.scope, env.dev, 'lk-viewer', roomName);
      const subscribed = waitForEvent(viewer, lk.RoomEvent.TrackSubscribed, {
        timeoutMs: 20_000,
        what: 'the lkrtc viewer to subscribe',
      });
      const publisher = await PUBLISHERS[who](env.scope, env.dev, roomName, codec);
      const [track, publication] = await subscribed;
      expect(track).toBeInstanceOf(lk.RemoteVideoTrack);
      expect(publication.kind).toBe(lk.TrackKind.KIND_VIDEO);
      expect(publication.mimeType.toLowerCase()).toBe(`video/${codec.toLowerCase()}`);
      expect([publication.width, publication.height]).toEqual([W, H]);

      const { seen } = await readStream(new lk.VideoStream(track), 5_000);
      expectPicture(seen, `${who} ${codec}`);
      expect(seen.every((f) => f.type === lk.VideoBufferType.I420)).toBe(true);

      // A stream opened while the video runs, after a pause with no stream (the decoder is
      // dropped then): its new decoder asks for a keyframe at once (the official publisher
      // sends none unless asked). Frames come converted to `format`.
      await new Promise((r) => setTimeout(r, 500));
      const late = await readStream(new lk.VideoStream(track, { format: lk.VideoBufferType.RGBA }), 1_500);
      console.log(`${who} ${codec}: late stream's first frame after ${late.firstMs} ms`);
      expect(late.firstMs, 'first frame of a late stream (ms)').toBeLessThan(who === 'official' ? 1_000 : 2_500);
      expect(late.seen.every((f) => f.type === lk.VideoBufferType.RGBA && f.red)).toBe(true);
      // The viewer's room, participants, publication and track (and the lkrtc publisher's).
      expectHandles(
        who === 'lkrtc'
          ? { room: 2, participant: 4, publication: 2, track: 2, videoSource: 1 }
          : { room: 1, participant: 2, publication: 1, track: 1 },
      );

      // A stream ends when the track is unpublished, and frees its handle.
      const reader = new lk.VideoStream(track).getReader();
      await withTimeout(reader.read(), 10_000, 'a frame before unpublish');
      expect(lk.liveHandles().videoStream).toBe(1);
      const unpublished = waitForEvent(viewer, lk.RoomEvent.TrackUnpublished, { timeoutMs: 20_000, what: 'unpublish' });
      await publisher.unpublish();
      await unpublished;
      for (;;) {
        const { done } = await withTimeout(reader.read(), 10_000, 'the stream to end');
        if (done) break;
      }
      expect(lk.liveHandles().videoStream).toBe(0);
    },
  );

  it('refuses bad formats; disconnect ends a stream', async () => {
    const roomName = uniqueRoomName('lk-recv-bad');
    const viewer = await connectLk(env.scope, env.dev, 'lk-viewer', roomName);
    const subscribed = waitForEvent(viewer, lk.RoomEvent.TrackSubscribed, { timeoutMs: 20_000, what: 'subscribe' });
    await officialPublisher(env.scope, env.dev, roomName, 'VP8');
    const [track] = await subscribed;
    for (const format of [99, -1, 1.5]) {
      expectLkError(
        (() => {
          try {
            new lk.VideoStream(track, { format });
          } catch (e) {
            return e;
          }
        })(),
        'ERR_INVALID_ARG',
      );
    }
    const reader = new lk.VideoStream(track).getReader();
    await withTimeout(reader.read(), 10_000, 'a frame');
    await viewer.disconnect();
    for (;;) {
      const { done } = await withTimeout(reader.read(), 10_000, 'the stream to end on disconnect');
      if (done) break;
    }
    expect(lk.liveHandles().videoStream).toBe(0);
  });
});
