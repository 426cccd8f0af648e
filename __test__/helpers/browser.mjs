// The official browser SDK (livekit-client, bundled from node_modules) in headless
// Chromium (Debian's `chromium`, driven by playwright-core; never a downloaded browser),
// for tests that run inside the test network namespace like every official client.
//
//   const env = useBrowser();                       // an lkrtc DevServer and Chromium per block
//   const tab = await env.browser.open();           // { page, messages }: window.LivekitClient
//   await joinFromBrowser(tab, env.server, 'web', roomName);
//   await pageEvents(tab);                          // what the page saw
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { startDevServer } from '../client/lk.mjs';
import { REPO_ROOT } from './paths.mjs';
import { peak, waitForEvent, waitUntil, withTimeout } from './rtc.mjs';

export const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // getUserMedia without a prompt, from Chromium's synthetic camera (a moving test pattern)
  // and microphone (a beep); media plays without a user gesture.
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
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

/**
 * Chromium with a fresh profile and the page server (its origin differs from any
 * lkrtc-server's, so every request to the server is cross-origin). Resolves
 * { open, close }: open() resolves { page, messages } (what it logged) for a new tab on the page.
 */
export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (.ci/run does)`);
  }
  const site = await servePage();
  const profile = mkdtempSync(join(tmpdir(), 'lkrtc-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
    });
  } catch (e) {
    await site.close();
    rmSync(profile, { recursive: true, force: true });
    throw e;
  }
  return {
    async open() {
      const page = await context.newPage();
      const messages = [];
      page.on('console', (m) => messages.push(`${m.type()}: ${m.text()}`));
      page.on('pageerror', (e) => messages.push(`pageerror: ${e.message}`));
      await page.goto(site.url);
      return { page, messages };
    },
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
      await site.close();
    },
  };
}

/**
 * Hooks for a describe block: one in-process lkrtc DevServer and one browser for the
 * block. Returns { server, browser }, current inside each test.
 */
export function useBrowser() {
  const env = { server: null, browser: null };
  beforeAll(async () => {
    env.server = await startDevServer();
    env.browser = await launchBrowser();
  });
  afterAll(async () => {
    await env.browser?.close();
    await env.server?.close();
  });
  return env;
}

/**
 * Joins `roomName` as `identity` from `tab` (a browser.open() result) with livekit-client's
 * default RoomOptions and ConnectOptions, as `globalThis.room`. The page records what it
 * sees in `globalThis.events`: `subscribed <track sid>`, `unsubscribed <sid>`,
 * `allowed <sid>` / `not_allowed <sid>` (permission changes) and `data <from> <topic> <text>`.
 * Resolves the identities of the remote participants once connected.
 */
export async function joinFromBrowser(tab, server, identity, roomName) {
  const jwt = await server.token(identity, roomName);
  const join = tab.page.evaluate(
    async ({ url, jwt }) => {
      const { Room, RoomEvent } = globalThis.LivekitClient;
      const room = new Room();
      const events = [];
      globalThis.room = room;
      globalThis.events = events;
      room.on(RoomEvent.TrackSubscribed, (_t, pub) => events.push(`subscribed ${pub.trackSid}`));
      room.on(RoomEvent.TrackUnsubscribed, (_t, pub) => events.push(`unsubscribed ${pub.trackSid}`));
      room.on(RoomEvent.TrackSubscriptionPermissionChanged, (pub, status) => events.push(`${status} ${pub.trackSid}`));
      room.on(RoomEvent.DataReceived, (payload, p, _kind, topic) =>
        events.push(`data ${p?.identity} ${topic} ${new TextDecoder().decode(payload)}`),
      );
      await room.connect(url, jwt);
      return [...room.remoteParticipants.values()].map((p) => p.identity);
    },
    { url: server.url, jwt },
  );
  return withTimeout(join, 30_000, `the browser to join ${roomName} as ${identity}`).catch((e) => {
    throw new Error(`${e.message}\npage console:\n${tab.messages.join('\n')}`);
  });
}

/** Peak sample level of `frames` 10 ms audio frames read from `track`, a remote audio track of `mod`'s SDK. */
export async function loudestOf(mod, track, frames) {
  const reader = new mod.AudioStream(track, { sampleRate: 48_000, numChannels: 1 }).getReader();
  let loudest = 0;
  try {
    for (let i = 0; i < frames; i++) {
      const { done, value } = await reader.read();
      if (done) break;
      loudest = Math.max(loudest, peak(value, 0));
    }
  } finally {
    reader.releaseLock?.();
  }
  return loudest;
}

/** The events the page recorded so far (see joinFromBrowser). */
export function pageEvents(tab) {
  return tab.page.evaluate(() => globalThis.events);
}

/**
 * Reliable data both ways between the page's room and `node` (an lkrtc or official Room,
 * `mod` its SDK, in the page's room as identity "node"): the browser sends "from chromium"
 * on topic "hello", then `node` sends `from ${label}` on topic "reply" and the page must
 * record it. Resolves what `node` received: { text, from } (the sender's identity).
 */
export async function exchangeData(tab, node, mod, label) {
  const atNode = waitForEvent(node, mod.RoomEvent.DataReceived, {
    timeoutMs: 15_000,
    what: `${label} to receive the browser data`,
    filter: (_payload, _p, _kind, topic) => topic === 'hello',
  });
  await tab.page.evaluate(() =>
    globalThis.room.localParticipant.publishData(new TextEncoder().encode('from chromium'), {
      reliable: true,
      topic: 'hello',
    }),
  );
  const [payload, from] = await atNode;
  await node.localParticipant.publishData(new TextEncoder().encode(`from ${label}`), {
    reliable: true,
    topic: 'reply',
  });
  await waitUntil(async () => (await pageEvents(tab)).includes(`data node reply from ${label}`), {
    timeoutMs: 15_000,
    what: `the browser to receive the ${label} data`,
  });
  return { text: new TextDecoder().decode(payload), from: from.identity };
}

/**
 * In `tab` (joined with joinFromBrowser), waits for the camera track of participant
 * `identity`, plays it in a <video>, and for `samples` x `intervalMs` draws it on a 32x24
 * canvas and records the mean green level of each picture. Resolves { first, last }
 * (`framesDecoded` of the receiver's inbound-rtp stats before and after), the picture's
 * `width` and `height`, `levels`, and the `codec` (mimeType) the receiver decodes.
 */
export function watchCamera(tab, identity, { samples = 20, intervalMs = 200 } = {}) {
  return tab.page.evaluate(
    async ({ identity, samples, intervalMs }) => {
      const { RoomEvent, Track } = globalThis.LivekitClient;
      const room = globalThis.room;
      const find = () =>
        room.remoteParticipants.get(identity)?.getTrackPublication(Track.Source.Camera)?.videoTrack ?? null;
      const track =
        find() ??
        (await new Promise((res) =>
          room.on(RoomEvent.TrackSubscribed, (t, _pub, p) => t.kind === 'video' && p.identity === identity && res(t)),
        ));
      const video = globalThis.document.createElement('video');
      video.muted = true;
      globalThis.document.body.append(video);
      track.attach(video);
      await video.play().catch(() => {});
      const canvas = globalThis.document.createElement('canvas');
      canvas.width = 32;
      canvas.height = 24;
      const ctx = canvas.getContext('2d', { willReadFrequently: true });
      const inbound = async () => {
        const stats = await track.receiver.getStats();
        let frames = 0;
        let codecId;
        stats.forEach((s) => {
          if (s.type === 'inbound-rtp' && s.kind === 'video') {
            frames = s.framesDecoded ?? 0;
            codecId = s.codecId;
          }
        });
        return { frames, codec: codecId ? stats.get(codecId)?.mimeType : undefined };
      };
      const levels = [];
      const first = (await inbound()).frames;
      for (let i = 0; i < samples; i++) {
        await new Promise((r) => setTimeout(r, intervalMs));
        if (video.videoWidth === 0) continue;
        ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
        const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
        let sum = 0;
        for (let p = 0; p < px.length; p += 4) sum += px[p + 1];
        levels.push(Math.round(sum / (px.length / 4)));
      }
      const last = await inbound();
      return {
        first,
        last: last.frames,
        codec: last.codec,
        width: video.videoWidth,
        height: video.videoHeight,
        levels,
      };
    },
    { identity, samples, intervalMs },
  );
}
