// The official browser SDK (livekit-client, bundled from node_modules) in headless
// Chromium (Debian's `chromium`, driven by playwright-core; no browser download) joins
// lkrtc-server with default RoomOptions and ConnectOptions, from a page on another origin,
// and exchanges data with an lkrtc participant. Chromium runs inside the test network
// namespace like every official client (NETWORK.md).
//
// livekit-client first tries single-peer-connection signalling (`/rtc/v1`), which
// lkrtc-server answers with 404; the page can read that 404 only thanks to CORS, and then
// falls back to `/rtc`. The test checks both attempts happened.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/paths.mjs';
import { Scope, uniqueRoomName, waitForEvent, withTimeout } from '../helpers/rtc.mjs';
import { connectLk, lk, startDevServer } from '../client/lk.mjs';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const SDK_JS = resolve(REPO_ROOT, 'node_modules/livekit-client/dist/livekit-client.umd.js');
const PAGE = '<!doctype html><meta charset="utf-8"><title>lkrtc browser test</title><script src="/sdk.js"></script>';

/** Serves the test page and the livekit-client UMD bundle on 127.0.0.1; resolves { url, close }. */
async function servePage() {
  const sdk = readFileSync(SDK_JS);
  const http = createServer((req, res) => {
    if (req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    } else if (req.url === '/sdk.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(sdk);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise((res) => http.listen(0, '127.0.0.1', res));
  return {
    url: `http://127.0.0.1:${http.address().port}/`,
    close: () => new Promise((res) => http.close(res)),
  };
}

describe('livekit-client in Chromium', () => {
  let server;
  let site;
  let context;
  let profile;
  const console_ = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (.ci/run does)`);
    }
    server = await startDevServer();
    site = await servePage();
    profile = mkdtempSync(join(tmpdir(), 'lkrtc-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
    });
  });

  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await site?.close();
    await server?.close();
  });

  it('joins with default options and exchanges data with lkrtc', async () => {
    const scope = new Scope();
    try {
      const roomName = uniqueRoomName('browser');
      const tab = await context.newPage();
      tab.on('console', (m) => console_.push(`${m.type()}: ${m.text()}`));
      tab.on('pageerror', (e) => console_.push(`pageerror: ${e.message}`));
      const sockets = [];
      tab.on('websocket', (ws) => sockets.push(new URL(ws.url()).pathname));
      const fetches = [];
      tab.on('requestfinished', async (req) => {
        const resp = await req.response();
        if (req.url().startsWith(server.url.replace(/^ws/, 'http'))) {
          fetches.push(`${new URL(req.url()).pathname} ${resp?.status()}`);
        }
      });
      await tab.goto(site.url);

      const node = await connectLk(scope, server, 'node', roomName);
      const jwt = await server.token('browser', roomName);
      const joined = waitForEvent(node, lk.RoomEvent.ParticipantConnected, {
        timeoutMs: 20_000,
        what: 'lkrtc to see the browser join',
        filter: (p) => p.identity === 'browser',
      });
      // Default RoomOptions and ConnectOptions.
      const remotes = await withTimeout(
        tab.evaluate(
          async ({ url, jwt }) => {
            const { Room, RoomEvent } = globalThis.LivekitClient;
            const room = new Room();
            globalThis.room = room;
            globalThis.got = [];
            room.on(RoomEvent.DataReceived, (payload, p, _kind, topic) =>
              globalThis.got.push({ from: p?.identity, topic, text: new TextDecoder().decode(payload) }),
            );
            await room.connect(url, jwt);
            return [...room.remoteParticipants.values()].map((p) => p.identity);
          },
          { url: server.url, jwt },
        ),
        30_000,
        'the browser to connect',
      ).catch((e) => {
        throw new Error(`${e.message}\npage console:\n${console_.join('\n')}`);
      });
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
      await tab.evaluate(() =>
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
      await withTimeout(
        tab.waitForFunction(() => globalThis.got.some((m) => m.topic === 'reply')),
        15_000,
        'the browser to receive the lkrtc data',
      );
      const got = await tab.evaluate(() => globalThis.got);
      expect(got).toContainEqual({ from: 'node', topic: 'reply', text: 'from lkrtc' });

      await tab.evaluate(() => globalThis.room.disconnect());
      await tab.close();
    } finally {
      await scope.close();
    }
  });
});
