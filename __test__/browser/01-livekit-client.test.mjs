// The official browser SDK (livekit-client, bundled from node_modules) in headless
// Chromium (Debian's `chromium`, driven by playwright-core; no browser download) joins
// lkrtc-server with default RoomOptions and ConnectOptions, from a page on another origin,
// and exchanges data with an lkrtc participant. Chromium runs inside the test network
// namespace like every official client (NETWORK.md).
//
// livekit-client first tries single-peer-connection signalling (`/rtc/v1`), which
// lkrtc-server answers with 404; the page can read that 404 only thanks to CORS, and then
// falls back to `/rtc`. The test checks both attempts happened.
import { describe, expect, it } from 'vitest';
import { joinFromBrowser, pageEvents, useBrowser } from '../helpers/browser.mjs';
import { Scope, uniqueRoomName, waitForEvent, waitUntil } from '../helpers/rtc.mjs';
import { connectLk, lk } from '../client/lk.mjs';

describe('livekit-client in Chromium', () => {
  const env = useBrowser();

  it('joins with default options and exchanges data with lkrtc', async () => {
    const { server, browser } = env;
    const scope = new Scope();
    try {
      const roomName = uniqueRoomName('browser');
      const tab = await browser.open();
      const sockets = [];
      tab.page.on('websocket', (ws) => sockets.push(new URL(ws.url()).pathname));
      const fetches = [];
      tab.page.on('requestfinished', async (req) => {
        const resp = await req.response();
        if (req.url().startsWith(server.url.replace(/^ws/, 'http'))) {
          fetches.push(`${new URL(req.url()).pathname} ${resp?.status()}`);
        }
      });

      const node = await connectLk(scope, server, 'node', roomName);
      const joined = waitForEvent(node, lk.RoomEvent.ParticipantConnected, {
        timeoutMs: 20_000,
        what: 'lkrtc to see the browser join',
        filter: (p) => p.identity === 'browser',
      });
      const remotes = await joinFromBrowser(tab, server, 'browser', roomName);
      expect(remotes).toEqual(['node']);
      await joined;
      // livekit-client tried v1 first, read its 404 (CORS) and fell back to v0.
      expect(sockets).toContain('/rtc/v1');
      expect(sockets).toContain('/rtc');
      expect(fetches).toContain('/rtc/v1/validate 404');

      // Browser -> lkrtc, reliable data over the browser's publisher data channel.
      const atNode = waitForEvent(node, lk.RoomEvent.DataReceived, {
        timeoutMs: 15_000,
        what: 'lkrtc to receive the browser data',
        filter: (_payload, _p, _kind, topic) => topic === 'hello',
      });
      await tab.page.evaluate(() =>
        globalThis.room.localParticipant.publishData(new TextEncoder().encode('from chromium'), {
          reliable: true,
          topic: 'hello',
        }),
      );
      const [payload, from] = await atNode;
      expect(new TextDecoder().decode(payload)).toBe('from chromium');
      expect(from.identity).toBe('browser');

      // lkrtc -> browser.
      await node.localParticipant.publishData(new TextEncoder().encode('from lkrtc'), {
        reliable: true,
        topic: 'reply',
      });
      await waitUntil(async () => (await pageEvents(tab)).includes('data node reply from lkrtc'), {
        timeoutMs: 15_000,
        what: 'the browser to receive the lkrtc data',
      });

      await tab.page.evaluate(() => globalThis.room.disconnect());
      await tab.page.close();
    } finally {
      await scope.close();
    }
  });
});
