// livekit-client's own reconnection against lkrtc-server, in headless Chromium: a
// simulated signal loss is resumed (same participant, same sid: the others never see it
// leave, its microphone keeps reaching an lkrtc subscriber, data still crosses), a
// migration (`leave{RESUME}`) is resumed too, and a leave asking for a full reconnect
// makes the browser rejoin as a new participant that sees the room again.
import { describe, expect, it } from 'vitest';
import { exchangeData, joinFromBrowser, loudestOf, useBrowser } from '../helpers/browser.mjs';
import { Scope, uniqueRoomName, waitForEvent, waitUntil, withTimeout } from '../helpers/rtc.mjs';
import { connectLk, lk } from '../client/lk.mjs';

/** Makes the page record its room's reconnection events in `globalThis.reconnects`. */
function recordReconnects(tab) {
  return tab.page.evaluate(() => {
    const { RoomEvent } = globalThis.LivekitClient;
    const seen = [];
    globalThis.reconnects = seen;
    for (const ev of [RoomEvent.Reconnecting, RoomEvent.SignalReconnecting, RoomEvent.Reconnected]) {
      globalThis.room.on(ev, () => seen.push(ev));
    }
    globalThis.room.on(RoomEvent.Disconnected, (reason) => seen.push(`disconnected ${reason}`));
  });
}

/** Runs `scenario` in the page and waits for `reconnected`; resolves the events seen. */
async function simulate(tab, scenario) {
  await tab.page.evaluate(async (s) => {
    globalThis.reconnects.length = 0;
    await globalThis.room.simulateScenario(s);
  }, scenario);
  await waitUntil(async () => (await tab.page.evaluate(() => globalThis.reconnects)).includes('reconnected'), {
    timeoutMs: 20_000,
    what: `the browser to reconnect after ${scenario}`,
  }).catch(async (e) => {
    throw new Error(
      `${e.message}\nevents: ${await tab.page.evaluate(() => globalThis.reconnects)}\n${tab.messages.join('\n')}`,
    );
  });
  return tab.page.evaluate(() => [...globalThis.reconnects]);
}

/** Reliable data crosses both ways between the page and the lkrtc room `node`. */
async function dataCrosses(tab, node, label) {
  expect(await exchangeData(tab, node, lk, label)).toEqual({ text: 'from chromium', from: 'browser' });
}

describe('livekit-client reconnects to lkrtc-server', () => {
  const env = useBrowser();

  it('a signal loss and a migration are resumed: same participant, media and data go on', async () => {
    const scope = new Scope();
    try {
      const tab = await env.browser.open();
      const roomName = uniqueRoomName('resume');
      const node = await connectLk(scope, env.server, 'node', roomName);
      let left = 0;
      node.on(lk.RoomEvent.ParticipantDisconnected, () => left++);
      const audio = waitForEvent(node, lk.RoomEvent.TrackSubscribed, {
        timeoutMs: 20_000,
        what: 'lkrtc to subscribe to the browser microphone',
        filter: (_t, _pub, p) => p.identity === 'browser',
      });
      await joinFromBrowser(tab, env.server, 'browser', roomName);
      await recordReconnects(tab);
      const sid = await tab.page.evaluate(() => globalThis.room.localParticipant.sid);
      await withTimeout(
        tab.page.evaluate(() => globalThis.room.localParticipant.setMicrophoneEnabled(true)),
        20_000,
        'the browser to publish its microphone',
      );
      const [track] = await audio;
      expect(await withTimeout(loudestOf(lk, track, 200), 20_000, 'audio before')).toBeGreaterThan(1_000);

      for (const scenario of ['signal-reconnect', 'migration']) {
        const events = await simulate(tab, scenario);
        expect(events, scenario).not.toContain('reconnecting'); // a resume, not a full reconnect
        expect(await tab.page.evaluate(() => globalThis.room.localParticipant.sid), scenario).toBe(sid);
        expect(left, `${scenario}: nobody saw the browser leave`).toBe(0);
        expect(node.remoteParticipants.get('browser')?.sid).toBe(sid);
        // The same subscription keeps carrying the microphone.
        expect(await withTimeout(loudestOf(lk, track, 200), 20_000, `audio after ${scenario}`)).toBeGreaterThan(1_000);
        await dataCrosses(tab, node, `lkrtc after ${scenario}`);
      }
      await tab.page.evaluate(() => globalThis.room.disconnect());
      await tab.page.close();
    } finally {
      await scope.close();
    }
  });

  it('a leave asking for a full reconnect: the browser rejoins and sees the room again', async () => {
    const scope = new Scope();
    try {
      const tab = await env.browser.open();
      const roomName = uniqueRoomName('rejoin');
      const node = await connectLk(scope, env.server, 'node', roomName);
      await joinFromBrowser(tab, env.server, 'browser', roomName);
      await recordReconnects(tab);
      const sid = await tab.page.evaluate(() => globalThis.room.localParticipant.sid);
      const rejoined = waitForEvent(node, lk.RoomEvent.ParticipantConnected, {
        timeoutMs: 20_000,
        what: 'lkrtc to see the browser join again',
        filter: (p) => p.identity === 'browser' && p.sid !== sid,
      });
      const events = await simulate(tab, 'leave-full-reconnect');
      expect(events).toContain('reconnecting');
      await rejoined;
      const now = await tab.page.evaluate(() => ({
        sid: globalThis.room.localParticipant.sid,
        remotes: [...globalThis.room.remoteParticipants.keys()],
      }));
      expect(now.sid).not.toBe(sid);
      expect(now.remotes).toEqual(['node']);
      await dataCrosses(tab, node, 'lkrtc after the rejoin');
      await tab.page.evaluate(() => globalThis.room.disconnect());
      await tab.page.close();
    } finally {
      await scope.close();
    }
  });
});
