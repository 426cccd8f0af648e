// Subscriber-side layer choice in lkrtc (issue 11): an official publisher
// (@livekit/rtc-node) sends a 1280x720 simulcast camera through lkrtc-server; an lkrtc
// viewer reads it with a VideoStream and steers what it receives with
// `setVideoQuality`, `setVideoDimensions` and `setEnabled` on its RemoteTrackPublication
// (UpdateTrackSettings): frames come at the chosen layer's size, stop while disabled and
// come back when enabled again.
import * as official from '@livekit/rtc-node';
import { describe, expect, it } from 'vitest';
import { uniqueRoomName, waitForEvent, withTimeout } from '../helpers/rtc.mjs';
import { feed, readFor, untilSize } from '../helpers/video.mjs';
import { connectLk, expectLkError, lk, useLkEnv } from '../client/lk.mjs';

const W = 1280;
const H = 720;

describe('lkrtc chooses the simulcast layer it receives', () => {
  const env = useLkEnv(undefined, { settleMs: 5_000 });

  it('setVideoQuality, setVideoDimensions and setEnabled steer the frames', async () => {
    const roomName = uniqueRoomName('lk-layers');
    const viewer = await connectLk(env.scope, env.dev, 'lk-viewer', roomName);
    const subscribed = waitForEvent(viewer, lk.RoomEvent.TrackSubscribed, { timeoutMs: 20_000, what: 'subscribe' });
    const cam = await env.scope.connect(env.dev, 'cam', roomName);
    const source = new official.VideoSource(W, H);
    env.scope.defer(feed(source, W, H));
    const options = new official.TrackPublishOptions();
    options.source = official.TrackSource.SOURCE_CAMERA;
    options.simulcast = true;
    options.videoCodec = official.VideoCodec.VP8;
    const track = official.LocalVideoTrack.createVideoTrack('cam', source);
    await withTimeout(cam.localParticipant.publishTrack(track, options), 20_000, 'publish');
    const [remote, publication] = await subscribed;
    expect(publication.simulcasted).toBe(true);
    expect([publication.width, publication.height]).toEqual([W, H]);

    const reader = new lk.VideoStream(remote).getReader();
    await publication.setVideoQuality(lk.VideoQuality.LOW);
    const lowMs = await untilSize(reader, '320x180', 15_000);
    // The middle layer comes up as the publisher's bandwidth estimate grows.
    await publication.setVideoDimensions({ width: 600, height: 300 });
    const midMs = await untilSize(reader, '640x360', 30_000);
    console.log(`layer switches: low after ${lowMs} ms, 640x360 after ${midMs} ms`);
    // It stays there while the top layer comes up (the default would be 1280x720).
    const held = await readFor(reader, 4_000);
    expect(new Set(held.map((f) => f.size))).toEqual(new Set(['640x360']));
    await publication.setVideoQuality(lk.VideoQuality.HIGH);
    const highMs = await untilSize(reader, `${W}x${H}`, 30_000);
    console.log(`back to the top layer after ${highMs} ms`);
    await publication.setVideoQuality(lk.VideoQuality.MEDIUM);
    await untilSize(reader, '640x360', 10_000);

    // Disabled: the server stops forwarding (a few frames may be in flight or buffered).
    await publication.setEnabled(false);
    await new Promise((r) => setTimeout(r, 500));
    for (;;) {
      const next = await Promise.race([reader.read(), new Promise((r) => setTimeout(() => r('quiet'), 1_500))]);
      if (next === 'quiet') break;
      expect(next.done).toBe(false);
    }
    const t0 = Date.now();
    await publication.setEnabled(true);
    const { value } = await withTimeout(reader.read(), 5_000, 'a frame once enabled again');
    console.log(`re-enabled: first frame after ${Date.now() - t0} ms (${value.frame.width}x${value.frame.height})`);
    expect(value.frame.width).toBe(640);

    // Bad settings are refused; a dimension pair is needed.
    expectLkError(await publication.setVideoQuality(7).catch((e) => e), 'ERR_INVALID_ARG');
    expectLkError(await publication.setVideoDimensions({ width: 0, height: 10 }).catch((e) => e), 'ERR_INVALID_ARG');
    await reader.cancel();
  });
});
