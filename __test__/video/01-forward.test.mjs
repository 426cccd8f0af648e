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
import { brightness, feed, lateSubscriber, readFrames } from '../helpers/video.mjs';

const W = 320;
const H = 240;

describe('video forwarding (rtc-node to rtc-node)', () => {
  const env = useServer('video');

  it('delivers frames at the published size with their content', async () => {
    const { server, scope } = env;
    const roomName = uniqueRoomName('video');
    const pub = await scope.connect(server, 'cam', roomName);
    const sub = await scope.connect(server, 'viewer', roomName);
    const source = new official.VideoSource(W, H);
    const track = official.LocalVideoTrack.createVideoTrack('cam', source);
    const stop = feed(source, W, H);
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
    const { dark, bright } = brightness(levels);
    expect(dark, 'dark frames seen').toBeGreaterThan(20);
    expect(bright, 'bright frames seen').toBeGreaterThan(20);

    // A late subscriber: the publisher's encoder only sends keyframes when asked.
    const { reader, first, firstFrameMs } = await lateSubscriber(scope, server, roomName, publication);
    reader.releaseLock();
    console.log(`video: ${levels.length} frames in 5 s; late subscriber's first frame after ${firstFrameMs} ms`);
    expect(first.size).toBe(`${W}x${H}`);
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
    scope.defer(feed(source, W, H));
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
