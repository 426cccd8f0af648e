// Simulcast forwarding (issue 10): an official publisher (@livekit/rtc-node) sends a
// VideoSource (I420 or RGBA frames, 320x240 or 1280x720, with or without simulcast)
// through lkrtc-server; official subscribers read VideoStreams. Each subscriber gets one
// layer: the top one by default, a lower one when it asks (UpdateTrackSettings, sent by
// rtc-node's FFI `SetRemoteTrackPublicationQuality`, which its TypeScript API does not
// wrap). Frames arrive at the chosen layer's size, brightness flips survive layer
// switches, and a new subscriber's first frame comes within a second.
import {
  FfiRequest,
  livekitFfiRequest,
  SetRemoteTrackPublicationQualityRequest,
  VideoQuality,
} from '@livekit/rtc-ffi-bindings';
import * as official from '@livekit/rtc-node';
import { describe, expect, it } from 'vitest';
import { uniqueRoomName, waitForEvent, withTimeout } from '../helpers/rtc.mjs';
import { useServer } from '../helpers/server.mjs';
import { brightness, feed, lateSubscriber, longestGap, readFor, untilSize } from '../helpers/video.mjs';

/** Asks the server for `quality` of `publication` (rtc-node sends UpdateTrackSettings). */
function setQuality(publication, quality) {
  const value = new SetRemoteTrackPublicationQualityRequest({
    trackPublicationHandle: publication.ffiHandle.handle,
    quality,
  });
  livekitFfiRequest(new FfiRequest({ message: { case: 'setRemoteTrackPublicationQuality', value } }).toBinary());
}

/** Publishes a camera from a new `cam` participant; the `viewer` subscribes to it. */
async function publishCamera(env, { width, height, type, simulcast }) {
  const { server, scope } = env;
  const roomName = uniqueRoomName('simulcast');
  const pub = await scope.connect(server, 'cam', roomName);
  const sub = await scope.connect(server, 'viewer', roomName);
  const source = new official.VideoSource(width, height);
  const track = official.LocalVideoTrack.createVideoTrack('cam', source);
  scope.defer(feed(source, width, height, type));
  const options = new official.TrackPublishOptions();
  options.source = official.TrackSource.SOURCE_CAMERA;
  options.simulcast = simulcast;
  options.videoCodec = official.VideoCodec.VP8;
  const subscribed = waitForEvent(sub, official.RoomEvent.TrackSubscribed, {
    timeoutMs: 20_000,
    what: 'the viewer to subscribe to the camera',
  });
  await withTimeout(pub.localParticipant.publishTrack(track, options), 20_000, 'publishTrack(video)');
  const [remoteTrack, publication] = await subscribed;
  return { roomName, remoteTrack, publication };
}

/** Frames from the `ms` before the last one. */
function tail(frames, ms) {
  const end = frames.at(-1).at;
  return frames.filter((f) => f.at > end - ms);
}

describe('simulcast forwarding (rtc-node to rtc-node)', () => {
  const env = useServer('simulcast');

  it.each([
    ['I420', 320, 240, false],
    ['I420', 320, 240, true],
    ['I420', 1280, 720, false],
    ['I420', 1280, 720, true],
    ['RGBA', 320, 240, false],
    ['RGBA', 320, 240, true],
    ['RGBA', 1280, 720, false],
    ['RGBA', 1280, 720, true],
  ])(
    '%s %ix%i (simulcast: %s): frames at the published size, content intact',
    async (format, width, height, simulcast) => {
      const type = official.VideoBufferType[format];
      const { remoteTrack, publication } = await publishCamera(env, { width, height, type, simulcast });
      expect(publication.width).toBe(width);
      expect(publication.height).toBe(height);
      const reader = new official.VideoStream(remoteTrack).getReader();
      const size = `${width}x${height}`;
      // Without simulcast the encoder starts 720p small and scales up (about 16 s).
      const rampMs = await untilSize(reader, size, 30_000);
      const frames = await readFor(reader, 3_000);
      reader.releaseLock();
      const sizes = [...new Set(frames.map((f) => f.size))];
      const span = (frames.at(-1).at - frames[0].at) / 1000;
      console.log(
        `${format} ${size} simulcast=${simulcast} (announced ${publication.simulcasted}): ${size} after ${rampMs} ms, ` +
          `then ${frames.length} frames in ${span.toFixed(1)} s, sizes ${sizes.join(', ')}, longest gap ${longestGap(frames)} ms`,
      );
      // Most frames arrive (30 fps published), all of them at the published size.
      expect(frames.length / span, 'frames per second').toBeGreaterThan(20);
      expect(sizes).toEqual([size]);
      const { dark, bright } = brightness(frames.map((f) => f.level));
      expect(dark, 'dark frames seen').toBeGreaterThan(10);
      expect(bright, 'bright frames seen').toBeGreaterThan(10);
    },
  );

  it('a subscriber asking for a lower layer gets the smaller size; a new one gets its first frame within 1 s', async () => {
    const { server, scope } = env;
    const { roomName, remoteTrack, publication } = await publishCamera(env, {
      width: 1280,
      height: 720,
      type: official.VideoBufferType.I420,
      simulcast: true,
    });
    expect(publication.simulcasted).toBe(true);
    const reader = new official.VideoStream(remoteTrack).getReader();
    /** Switches to `quality`, returns the frames of the next 3 s and when `size` first came. */
    const switchTo = async (quality, size) => {
      const t0 = Date.now();
      setQuality(publication, quality);
      const frames = await readFor(reader, 3_000);
      const first = frames.find((f) => f.size === size);
      const sizes = [...new Set(frames.map((f) => f.size))];
      console.log(
        `quality ${VideoQuality[quality]}: ${size} after ${first ? first.at - t0 : '-'} ms ` +
          `(sizes ${sizes}; ${frames.length} frames in 3 s, longest gap ${longestGap(frames)} ms)`,
      );
      return frames;
    };
    await untilSize(reader, '1280x720', 10_000);
    for (const [quality, size] of [
      [VideoQuality.LOW, '320x180'],
      [VideoQuality.MEDIUM, '640x360'],
      [VideoQuality.HIGH, '1280x720'],
      [VideoQuality.LOW, '320x180'],
    ]) {
      const frames = await switchTo(quality, size);
      expect(new Set(tail(frames, 1_000).map((f) => f.size))).toEqual(new Set([size]));
      // The stream stays continuous across the switch: frames keep coming (the low layer
      // runs at 15 fps), and the picture content with them.
      expect(frames.length, `frames in 3 s around the switch to ${size}`).toBeGreaterThan(35);
      expect(longestGap(frames), `longest gap between frames around the switch to ${size}`).toBeLessThan(750);
      const { dark, bright } = brightness(frames.map((f) => f.level));
      expect(Math.min(dark, bright), 'both brightness levels seen').toBeGreaterThan(5);
    }
    reader.releaseLock();

    // A subscriber joining while the video runs: the server asks for a keyframe of its
    // layer at once.
    const { reader: lateReader, first, firstFrameMs } = await lateSubscriber(scope, server, roomName, publication);
    const after = await readFor(lateReader, 1_500);
    lateReader.releaseLock();
    console.log(`late subscriber: first frame (${first.size}) after ${firstFrameMs} ms; then ${after.at(-1).size}`);
    expect(firstFrameMs, 'time to the first frame for a new subscriber').toBeLessThan(1_000);
    expect(after.at(-1).size).toBe('1280x720');
  });
});
