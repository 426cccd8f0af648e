// The official browser SDK (livekit-client, bundled from node_modules) in headless
// Chromium (Debian's `chromium`, driven by playwright-core; no browser download) joins
// lkrtc-server with default RoomOptions and ConnectOptions, from a page on another origin.
// Chromium runs inside the test network namespace like every official client (NETWORK.md).
//
// livekit-client speaks single-peer-connection signalling (`/rtc/v1`) first, and
// lkrtc-server answers it: the page never falls back to `/rtc`. Over that one peer
// connection the browser publishes Chromium's fake microphone and camera, receives a
// track published from Node, and exchanges data with Node both ways.
import { describe, expect, it } from 'vitest';
import { exchangeData, joinFromBrowser, loudestOf, pageEvents, useBrowser } from '../helpers/browser.mjs';
import { Scope, publishSineWith, uniqueRoomName, waitForEvent, waitUntil, withTimeout } from '../helpers/rtc.mjs';
import { connectLk, lk } from '../client/lk.mjs';

/** What livekit-client logs when it falls back from v1 to v0. */
const FALLBACK = /v1 RTC path not found|Initial connection failed|Retrying/;

/** Records the signalling WebSockets the page opens and the server requests it makes. */
function watchRequests(tab, server) {
  const seen = { sockets: [], fetches: [] };
  tab.page.on('websocket', (ws) => seen.sockets.push(new URL(ws.url()).pathname));
  tab.page.on('requestfinished', async (req) => {
    const resp = await req.response();
    if (req.url().startsWith(server.url.replace(/^ws/, 'http'))) {
      seen.fetches.push(`${new URL(req.url()).pathname} ${resp?.status()}`);
    }
  });
  return seen;
}

/**
 * Runs `body` with a new browser tab (its requests watched) and an lkrtc participant
 * `node` already in a new room; the browser leaves and everything is closed afterwards.
 */
async function inRoom(env, prefix, body) {
  const scope = new Scope();
  try {
    const tab = await env.browser.open();
    const seen = watchRequests(tab, env.server);
    const roomName = uniqueRoomName(prefix);
    const node = await connectLk(scope, env.server, 'node', roomName);
    await body({ server: env.server, scope, tab, seen, node, roomName });
    await tab.page.evaluate(() => globalThis.room.disconnect());
    await tab.page.close();
  } finally {
    await scope.close();
  }
}

/** RTP packets the browser received so far for the remote track `sid`. */
function packetsReceived(tab, sid) {
  return tab.page.evaluate(async (sid) => {
    const pub = [...globalThis.room.remoteParticipants.values()][0].trackPublications.get(sid);
    const stats = (await pub?.track?.receiver?.getStats()) ?? new Map();
    return [...stats.values()].find((s) => s.type === 'inbound-rtp')?.packetsReceived ?? 0;
  }, sid);
}

describe('livekit-client in Chromium', () => {
  const env = useBrowser();

  it('joins over /rtc/v1 with default options and exchanges data with lkrtc', () =>
    inRoom(env, 'browser', async ({ server, tab, seen, node, roomName }) => {
      const joined = waitForEvent(node, lk.RoomEvent.ParticipantConnected, {
        timeoutMs: 20_000,
        what: 'lkrtc to see the browser join',
        filter: (p) => p.identity === 'browser',
      });
      const remotes = await joinFromBrowser(tab, server, 'browser', roomName);
      expect(remotes).toEqual(['node']);
      await joined;
      // One signalling socket, v1, and no fallback.
      expect(seen.sockets).toEqual(['/rtc/v1']);
      expect(seen.fetches.filter((f) => f.includes('validate'))).toEqual([]);
      expect(tab.messages.filter((m) => FALLBACK.test(m))).toEqual([]);

      // Reliable data both ways over the browser's one peer connection.
      expect(await exchangeData(tab, node, lk, 'lkrtc')).toEqual({ text: 'from chromium', from: 'browser' });
    }));

  it('publishes camera and microphone over /rtc/v1 and receives a track from Node', () =>
    inRoom(env, 'browser-media', async ({ server, scope, tab, seen, node, roomName }) => {
      // Node publishes first: the browser is subscribed on joining, through its first offer.
      const sine = await publishSineWith(lk, node, { scope, name: 'node-sine' });
      await joinFromBrowser(tab, server, 'browser', roomName);
      expect(seen.sockets).toEqual(['/rtc/v1']);

      const audio = waitForEvent(node, lk.RoomEvent.TrackSubscribed, {
        timeoutMs: 20_000,
        what: 'lkrtc to subscribe to the browser microphone',
        filter: (track, _pub, p) => p.identity === 'browser' && track.kind === lk.TrackKind.KIND_AUDIO,
      });
      const camera = waitForEvent(node, lk.RoomEvent.TrackPublished, {
        timeoutMs: 20_000,
        what: 'lkrtc to see the browser camera published',
        filter: (pub, p) => p.identity === 'browser' && pub.source === lk.TrackSource.SOURCE_CAMERA,
      });
      await withTimeout(
        tab.page.evaluate(async () => {
          await globalThis.room.localParticipant.setMicrophoneEnabled(true);
          await globalThis.room.localParticipant.setCameraEnabled(true);
        }),
        20_000,
        'the browser to publish its microphone and camera',
      ).catch((e) => {
        throw new Error(`${e.message}\npage console:\n${tab.messages.join('\n')}`);
      });
      const [camPub] = await camera;
      expect(camPub.mimeType).toMatch(/^video\//);
      const [track] = await audio;
      // Chromium's fake microphone beeps: some of 3 s of audio is far above silence.
      expect(await withTimeout(loudestOf(lk, track, 300), 20_000, 'audio from the browser')).toBeGreaterThan(1_000);

      // The browser got the Node track on the same peer connection (a server-added track).
      await waitUntil(async () => (await pageEvents(tab)).includes(`subscribed ${sine.publication.sid}`), {
        timeoutMs: 15_000,
        what: 'the browser to subscribe to the Node track',
      });
      expect(await packetsReceived(tab, sine.publication.sid)).toBeGreaterThan(0);

      // Node unpublishes (the server removes the track from the browser's PC and asks for
      // an offer) and publishes again: the new track needs an m-section the browser adds
      // when the server asks for it (MediaSectionsRequirement).
      const first = sine.publication.sid;
      await sine.stop();
      await node.localParticipant.unpublishTrack(first);
      await waitUntil(async () => (await pageEvents(tab)).includes(`unsubscribed ${first}`), {
        timeoutMs: 15_000,
        what: 'the browser to lose the unpublished Node track',
      });
      const again = await publishSineWith(lk, node, { scope, name: 'node-sine-2' });
      await waitUntil(async () => (await pageEvents(tab)).includes(`subscribed ${again.publication.sid}`), {
        timeoutMs: 15_000,
        what: 'the browser to subscribe to the republished Node track',
      });
      await waitUntil(async () => (await packetsReceived(tab, again.publication.sid)) > 0, {
        timeoutMs: 10_000,
        what: 'packets of the republished track at the browser',
      });
      expect(tab.messages.filter((m) => FALLBACK.test(m))).toEqual([]);
    }));
});
