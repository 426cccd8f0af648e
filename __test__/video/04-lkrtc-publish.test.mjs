// lkrtc publishes video (issue 11): an lkrtc VideoSource (RGBA frames: a red top-left
// quadrant, the rest grey whose brightness flips every second) goes through lkrtc-server,
// as VP8 (the default), H.264 and VP9, to an official subscriber (@livekit/rtc-node) reading a
// VideoStream. Most frames arrive at the published size, the flips are seen, the red
// quadrant stays top-left; lkrtc's handle counts are back to zero afterwards.
import * as official from '@livekit/rtc-node';
import { describe, expect, it } from 'vitest';
import { uniqueRoomName, waitForEvent, withTimeout } from '../helpers/rtc.mjs';
import { BRIGHT, DARK, feed, look, quadrantPicture } from '../helpers/video.mjs';
import { connectLk, expectHandles, expectLkError, lk, useLkEnv } from '../client/lk.mjs';

const W = 320;
const H = 240;

const picture = (level) => quadrantPicture(lk.VideoFrame, W, H, level);

async function readFor(track, ms) {
  const reader = new official.VideoStream(track).getReader();
  const seen = [];
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const { value, done } = await withTimeout(reader.read(), 10_000, 'a video frame');
    if (done) break;
    seen.push(look(value.frame));
  }
  reader.releaseLock();
  return seen;
}

describe('lkrtc publishes video to the official SDK', () => {
  const env = useLkEnv(undefined, { settleMs: 5_000 });

  // VP8's frames carry capture timestamps (`timestampUs`), H.264's are stamped on capture.
  it.each([
    ['VP8', 'video/vp8', true],
    ['H264', 'video/h264', false],
    ['VP9', 'video/vp9', true],
  ])('%s: frames at the published size, brightness flips, the quadrant stays', async (codec, mime, stamped) => {
    const roomName = uniqueRoomName(`lk-video-${codec}`);
    const pubRoom = await connectLk(env.scope, env.dev, 'lk-cam', roomName);
    const subRoom = await env.scope.connect(env.dev, 'official-viewer', roomName);
    const source = new lk.VideoSource(W, H);
    const track = lk.LocalVideoTrack.createVideoTrack('cam', source);
    const stamp = () => BigInt(Math.round(performance.now() * 1000));
    const capture = stamped ? { captureFrame: (f) => source.captureFrame(f, stamp()) } : source;
    const stop = feed(capture, W, H, undefined, picture);
    const subscribed = waitForEvent(subRoom, official.RoomEvent.TrackSubscribed, {
      timeoutMs: 20_000,
      what: 'the official viewer to subscribe',
    });
    const options = new lk.TrackPublishOptions({
      source: lk.TrackSource.SOURCE_CAMERA,
      videoCodec: lk.VideoCodec[codec],
      videoEncoding: { maxBitrate: 600_000n, maxFramerate: 30 },
    });
    const publication = await withTimeout(pubRoom.localParticipant.publishTrack(track, options), 20_000, 'publish');
    expect(publication.kind).toBe(lk.TrackKind.KIND_VIDEO);
    const [remoteTrack, remotePub] = await subscribed;
    expect(remotePub.mimeType.toLowerCase()).toBe(mime);
    expect(remotePub.width).toBe(W);
    expect(remotePub.height).toBe(H);
    expect(remotePub.source).toBe(official.TrackSource.SOURCE_CAMERA);

    const seen = await readFor(remoteTrack, 5_000);
    const atSize = seen.filter((f) => f.size === `${W}x${H}`).length;
    const dark = seen.filter((f) => Math.abs(f.level - DARK) < 25).length;
    const bright = seen.filter((f) => Math.abs(f.level - BRIGHT) < 25).length;
    const red = seen.filter((f) => f.red).length;
    console.log(`${codec}: ${seen.length} frames in 5 s, ${atSize} at ${W}x${H}, ${dark} dark, ${bright} bright`);
    expect(seen.length, 'frames in 5 s at 30 fps').toBeGreaterThan(60);
    expect(atSize / seen.length, 'share of frames at the published size').toBeGreaterThan(0.9);
    expect(dark, 'dark frames seen').toBeGreaterThan(20);
    expect(bright, 'bright frames seen').toBeGreaterThan(20);
    expect(red / seen.length, 'share of frames with the red quadrant top-left').toBeGreaterThan(0.9);

    // Mute and unmute reach the subscriber; unpublish frees the publication and the track.
    const muted = waitForEvent(subRoom, official.RoomEvent.TrackMuted, { timeoutMs: 10_000, what: 'trackMuted' });
    await track.mute();
    await muted;
    expect(track.muted).toBe(true);
    const unmuted = waitForEvent(subRoom, official.RoomEvent.TrackUnmuted, { timeoutMs: 10_000, what: 'trackUnmuted' });
    await track.unmute();
    await unmuted;
    const gone = waitForEvent(subRoom, official.RoomEvent.TrackUnpublished, { timeoutMs: 20_000, what: 'unpublish' });
    await pubRoom.localParticipant.unpublishTrack(publication.sid);
    await gone;
    await stop();
    await source.close();
    expectHandles({ room: 1, participant: 2 });
    await pubRoom.disconnect();
    expectHandles({});
  });

  it('refuses codecs without an encoder, bad timestamps and a closed source', async () => {
    const room = await connectLk(env.scope, env.dev, 'lk-cam', uniqueRoomName('lk-video-refuse'));
    const source = new lk.VideoSource(W, H);
    expectHandles({ room: 1, participant: 1, videoSource: 1 });
    const track = lk.LocalVideoTrack.createVideoTrack('cam', source);
    const publish = (o) => room.localParticipant.publishTrack(track, new lk.TrackPublishOptions(o));
    expectLkError(
      await publish({ simulcast: false, videoCodec: lk.VideoCodec.AV1 }).catch((e) => e),
      'ERR_INVALID_ARG',
    );
    expect(() => source.captureFrame(new lk.VideoFrame(new Uint8Array(3), W, H, lk.VideoBufferType.RGBA))).toThrow(
      /bytes/,
    );
    for (const stamp of [-1n, -5, NaN, Infinity, 'soon']) {
      expectLkError(
        (() => {
          try {
            source.captureFrame(picture(DARK), stamp);
          } catch (e) {
            return e;
          }
        })(),
        'ERR_INVALID_ARG',
      );
    }
    source.captureFrame(picture(DARK), 123_456n);
    await source.close();
    expect(() => source.captureFrame(picture(DARK))).toThrow(/VideoSource/);
    track.dispose();
    await room.disconnect();
    expectHandles({});
  });
});
