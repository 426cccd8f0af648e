// Issue 11: 300 publish/unpublish cycles of one lkrtc audio track in one session, watched
// by an lkrtc subscriber, through the in-process DevServer. Each cycle used to add an
// m-section to the publisher's and to the subscriber's peer connections (the `webrtc`
// crate never drops a transceiver), and the process grew by ~120 KB a cycle; the freed
// transceivers are now reused (lkrtc-transport `slots`), which left ~54 KB a cycle: the
// crate's per-remote-track event channel (256 preallocated slots), kept until the peer
// connection closed, on the server's publisher side and on the subscriber's. The patched
// crate (vendor/webrtc/LKRTC-PATCH.md) drops it when the track's m-section stops sending:
// ~5 KB a cycle.
import { describe, expect, it } from 'vitest';
import { uniqueRoomName, waitForEvent, withTimeout } from '../helpers/rtc.mjs';
import { connectLk, expectHandles, lk, useLkEnv } from './lk.mjs';

const CYCLES = 300;
const WARMUP = 50;
/** Growth allowed per cycle after the warm-up (RSS of this process: both clients and the server). */
const BOUND_KB = 20;
const kb = (n) => (n / 1024).toFixed(1);

describe('publish churn growth', () => {
  const env = useLkEnv();

  it(
    `${CYCLES} publish/unpublish cycles grow RSS by less than ${BOUND_KB} KB a cycle`,
    { timeout: 180_000 },
    async () => {
      const roomName = uniqueRoomName('lk-churn-growth');
      const room = await connectLk(env.scope, env.dev, 'lk-mic', roomName);
      const viewer = await connectLk(env.scope, env.dev, 'lk-listener', roomName);
      const source = new lk.AudioSource(48_000, 1);
      env.scope.defer(() => source.close());
      let feeding = true;
      const feed = (async () => {
        while (feeding) await source.captureFrame(lk.AudioFrame.create(48_000, 1, 480));
      })();
      env.scope.defer(async () => {
        feeding = false;
        await feed;
      });
      const started = Date.now();
      let rssAfterWarmup = 0;
      for (let i = 0; i < CYCLES; i++) {
        const track = lk.LocalAudioTrack.createAudioTrack(`mic-${i}`, source);
        const options = new lk.TrackPublishOptions({ source: lk.TrackSource.SOURCE_MICROPHONE });
        const subscribed = waitForEvent(viewer, lk.RoomEvent.TrackSubscribed, {
          timeoutMs: 10_000,
          what: `subscribed ${i}`,
        });
        const publication = await withTimeout(room.localParticipant.publishTrack(track, options), 10_000, 'publish');
        await subscribed;
        const gone = waitForEvent(viewer, lk.RoomEvent.TrackUnpublished, {
          timeoutMs: 10_000,
          what: `unpublished ${i}`,
        });
        await room.localParticipant.unpublishTrack(publication.sid);
        await gone;
        if (i === WARMUP - 1) {
          global.gc?.();
          rssAfterWarmup = process.memoryUsage.rss();
        }
      }
      global.gc?.();
      const growth = (process.memoryUsage.rss() - rssAfterWarmup) / (CYCLES - WARMUP);
      console.log(
        `publish churn: ${CYCLES} cycles in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
          `${kb(growth)} KB a cycle after ${WARMUP} warm-up cycles`,
      );
      expect(growth / 1024, 'RSS growth per cycle (KB)').toBeLessThan(BOUND_KB);
      feeding = false;
      await feed;
      await room.disconnect();
      await viewer.disconnect();
      await source.close();
      expectHandles({});
    },
  );
});
