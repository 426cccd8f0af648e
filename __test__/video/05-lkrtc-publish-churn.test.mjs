// Publish/unpublish cycles of an lkrtc video track (issue 11; 100 by default, 300 with
// LKRTC_CHURN_CYCLES=300): one VideoSource, a new LocalVideoTrack each cycle, published
// (VP8), fed frames until an lkrtc subscriber in the room is subscribed, unpublished.
// Handle counts are back to the two rooms, their participants and the source after every
// cycle, and RSS grows by less than 48 MB after a warm-up. Measured with an external
// lkrtc-server (300 cycles): the client process grew ~107 KB and the server ~112 KB a cycle
// while every publish added a transceiver to the publisher's and the subscriber's peer
// connections; with freed transceivers reused (lkrtc-transport `slots`) ~61 and ~50 KB,
// most of it the `webrtc` crate's per-remote-track event channel (~30 KB, kept until the
// peer connection closes). __test__/client/13-publish-churn-growth asserts a bound.
import { describe, expect, it } from 'vitest';
import { uniqueRoomName, waitForEvent, waitUntil, withTimeout } from '../helpers/rtc.mjs';
import { connectLk, expectHandles, lk, useLkEnv, ZERO } from '../client/lk.mjs';

// 0.75 to 1.2 s a cycle (publish, subscription, unpublish); LKRTC_CHURN_CYCLES=300 for the full run.
const CYCLES = Number(process.env.LKRTC_CHURN_CYCLES ?? 100);
const WARMUP = Math.min(50, Math.floor(CYCLES / 3));
const W = 160;
const H = 120;
const mb = (n) => `${(n / 1048576).toFixed(1)} MB`;

describe('video publish churn', () => {
  const env = useLkEnv(undefined, { settleMs: 5_000 });

  it(`${CYCLES} cycles of publish and unpublish: no handle or memory growth`, { timeout: 600_000 }, async () => {
    const roomName = uniqueRoomName('lk-video-churn');
    const room = await connectLk(env.scope, env.dev, 'lk-cam', roomName);
    const viewer = await connectLk(env.scope, env.dev, 'lk-viewer', roomName);
    const steady = { ...ZERO, room: 2, participant: 4, videoSource: 1 };
    const source = new lk.VideoSource(W, H);
    env.scope.defer(() => source.close());
    const frame = new lk.VideoFrame(new Uint8Array(W * H * 4).fill(120), W, H, lk.VideoBufferType.RGBA);
    const started = Date.now();
    let rssAfterWarmup = 0;
    for (let i = 0; i < CYCLES; i++) {
      const track = lk.LocalVideoTrack.createVideoTrack(`cam-${i}`, source);
      const options = new lk.TrackPublishOptions({ source: lk.TrackSource.SOURCE_CAMERA, simulcast: false });
      const subscribed = waitForEvent(viewer, lk.RoomEvent.TrackSubscribed, { timeoutMs: 20_000, what: 'subscribed' });
      const feeding = setInterval(() => source.captureFrame(frame), 33);
      try {
        const publication = await withTimeout(room.localParticipant.publishTrack(track, options), 20_000, 'publish');
        await subscribed;
        const gone = waitForEvent(viewer, lk.RoomEvent.TrackUnpublished, { timeoutMs: 20_000, what: 'unpublished' });
        await room.localParticipant.unpublishTrack(publication.sid);
        await gone;
      } finally {
        clearInterval(feeding);
      }
      await waitUntil(() => JSON.stringify(lk.liveHandles()) === JSON.stringify(steady), {
        timeoutMs: 5_000,
        what: `handles back to ${JSON.stringify(steady)} after cycle ${i}: ${JSON.stringify(lk.liveHandles())}`,
      });
      if (i === WARMUP - 1) {
        global.gc?.();
        rssAfterWarmup = process.memoryUsage.rss();
      }
    }
    global.gc?.();
    const rssEnd = process.memoryUsage.rss();
    const seconds = (Date.now() - started) / 1000;
    console.log(
      `video churn: ${CYCLES} cycles in ${seconds.toFixed(1)} s; RSS after ${WARMUP} warm-up cycles ` +
        `${mb(rssAfterWarmup)}, at the end ${mb(rssEnd)}`,
    );
    expect(rssEnd - rssAfterWarmup, 'RSS growth after the warm-up').toBeLessThan(48 * 1048576);
    await source.close();
    await room.disconnect();
    await viewer.disconnect();
    expectHandles({});
  });
});
