// Issue 3, test 5: churn. Each cycle: lkrtc joins, an official peer joins and publishes,
// unpublishes, leaves, lkrtc leaves. Handle counts are back to zero after every cycle;
// RSS growth is reported.
//
// LKRTC_CHURN_CYCLES sets the number of cycles (default 300). LKRTC_CHURN_LANES (default 3)
// runs that many cycles at a time, each in its own room, to fit the default in about two
// minutes; counts are checked exactly at every step with one lane, and at zero after
// every batch with more.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { publishSine, Scope, uniqueRoomName, waitForEvent } from '../helpers/rtc.mjs';
import { connectLk, expectHandles, lk, startDevServer, ZERO } from './lk.mjs';

const { RoomEvent } = lk;
const CYCLES = Number(process.env.LKRTC_CHURN_CYCLES ?? 300);
const LANES = Math.max(1, Number(process.env.LKRTC_CHURN_LANES ?? 3));
const WARMUP = Math.max(1, Math.min(30, Math.floor(CYCLES / 10)));
const mb = (n) => `${(n / 1024 / 1024).toFixed(1)} MB`;

describe('churn', () => {
  let dev;
  let scope;
  beforeAll(async () => {
    dev = await startDevServer();
  });
  afterAll(async () => {
    await dev?.close();
  });
  beforeEach(() => {
    scope = new Scope();
  });
  afterEach(async () => {
    await scope.close();
    expectHandles(ZERO);
  });

  it(
    `${CYCLES} cycles of join, publish, unpublish, leave: zero handles after each`,
    { timeout: 60_000 + CYCLES * 3_000 },
    async () => {
      /** One cycle; `exact` asserts the process-wide counts at each step (only valid with one lane). */
      async function cycle(i, exact) {
        const roomName = uniqueRoomName(`churn${i}`);
        const scope = new Scope();
        const step = (expected, what) => {
          if (exact) expectHandles(expected, `cycle ${i}: ${what}`);
        };
        try {
          const watcher = await connectLk(scope, dev, 'watcher', roomName);
          const subscribed = waitForEvent(watcher, RoomEvent.TrackSubscribed, {
            timeoutMs: 20_000,
            what: `cycle ${i}: trackSubscribed`,
          });
          const peer = await scope.connect(dev, 'peer', roomName);
          const sine = await publishSine(peer, { name: `mic${i}`, scope });
          const [track, pub, remote] = await subscribed;
          step({ room: 1, participant: 2, publication: 1, track: 1 }, 'subscribed');

          const unpublished = waitForEvent(watcher, RoomEvent.TrackUnpublished, {
            timeoutMs: 10_000,
            what: `cycle ${i}: trackUnpublished`,
          });
          await sine.stop();
          await peer.localParticipant.unpublishTrack(sine.publication.sid);
          await unpublished;
          expect(pub.isDisposed && track.isDisposed).toBe(true);
          step({ room: 1, participant: 2 }, 'unpublished');

          const left = waitForEvent(watcher, RoomEvent.ParticipantDisconnected, {
            timeoutMs: 10_000,
            what: `cycle ${i}: participantDisconnected`,
          });
          await peer.disconnect();
          await left;
          expect(remote.isDisposed).toBe(true);
          step({ room: 1, participant: 1 }, 'peer left');

          await watcher.disconnect();
          expect(watcher.localParticipant.isDisposed).toBe(true);
          step(ZERO, 'watcher left');
        } finally {
          await scope.close();
        }
      }

      let rssAfterWarmup = 0;
      const t0 = Date.now();
      for (let i = 0; i < CYCLES; i += LANES) {
        const batch = [];
        for (let lane = 0; lane < LANES && i + lane < CYCLES; lane++) batch.push(cycle(i + lane, LANES === 1));
        await Promise.all(batch);
        expectHandles(ZERO, `after cycles ${i}..${i + batch.length - 1}`);
        if (rssAfterWarmup === 0 && i + batch.length >= WARMUP) rssAfterWarmup = process.memoryUsage().rss;
      }
      const rssEnd = process.memoryUsage().rss;
      const seconds = (Date.now() - t0) / 1000;
      console.log(
        `churn: ${CYCLES} cycles (${LANES} at a time) in ${seconds.toFixed(1)} s; ` +
          `RSS after ${WARMUP} warm-up cycles ${mb(rssAfterWarmup)}, at the end ${mb(rssEnd)}, ` +
          `growth ${mb(rssEnd - rssAfterWarmup)} (${((rssEnd - rssAfterWarmup) / Math.max(1, CYCLES - WARMUP) / 1024).toFixed(1)} KB/cycle; ` +
          'the official client and the DevServer share this process)',
      );
      expectHandles(ZERO);
      // The server drops a room once its last session has ended, which can trail the
      // clients' disconnect by a moment (the official peer leaves asynchronously).
      const deadline = Date.now() + 5_000;
      while (dev.roomNames().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(dev.roomNames()).toEqual([]);
    },
  );
});
