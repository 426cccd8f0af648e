// Helpers for the lkrtc client tests (issue 3). The official client helpers live in
// ../helpers/rtc.mjs (Scope, publishSine, waitForEvent, waitUntil, withTimeout).
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { REPO_ROOT } from '../helpers/paths.mjs';
import { Scope, waitUntil, withTimeout } from '../helpers/rtc.mjs';

const require = createRequire(import.meta.url);
/** The public lkrtc API (index.js). */
export const lk = require(resolve(REPO_ROOT, 'index.js'));
export const INDEX_JS = resolve(REPO_ROOT, 'index.js');

// Every kind liveHandles() reports (audioSource, audioStream... included), all 0.
export const ZERO = Object.freeze(Object.fromEntries(Object.keys(lk.liveHandles()).map((k) => [k, 0])));

/** Asserts the live handle counts (all four kinds). */
export function expectHandles(expected, message) {
  expect(lk.liveHandles(), message).toEqual({ ...ZERO, ...expected });
}

/**
 * Starts an in-process DevServer and returns it with a `token()` adapter so that the
 * official client's Scope helper (../helpers/rtc.mjs) can use it too.
 */
export async function startDevServer(options) {
  const dev = await lk.DevServer.start(options);
  dev.token = async (identity, room, grants = {}, tokenOpts = {}) =>
    dev.createToken({ identity, room, grants, name: tokenOpts.name ?? identity, metadata: tokenOpts.metadata });
  return dev;
}

/**
 * Connects an lkrtc Room; it is registered in `scope` so that scope.close()
 * disconnects it whatever happens.
 */
export async function connectLk(scope, server, identity, roomName, { grants, options, timeoutMs = 20_000 } = {}) {
  const room = new lk.Room();
  scope.rooms.push(room);
  const token = await server.token(identity, roomName, grants);
  await withTimeout(room.connect(server.url, token, options), timeoutMs, `lkrtc ${identity} to connect to ${roomName}`);
  return room;
}

/** Records, in order, the lifecycle events `room` emits about remote participant `identity`. */
export function recordLifecycle(room, identity) {
  const log = [];
  const on = (event, pick) =>
    room.on(event, (...args) => {
      const entry = pick(...args);
      if (entry) log.push(entry);
    });
  const { RoomEvent } = lk;
  on(RoomEvent.TrackPublished, (pub, p) => p.identity === identity && `trackPublished ${pub.sid}`);
  on(RoomEvent.TrackSubscribed, (_t, pub, p) => p.identity === identity && `trackSubscribed ${pub.sid}`);
  on(RoomEvent.TrackUnsubscribed, (_t, pub, p) => p.identity === identity && `trackUnsubscribed ${pub.sid}`);
  on(RoomEvent.TrackUnpublished, (pub, p) => p.identity === identity && `trackUnpublished ${pub.sid}`);
  on(RoomEvent.ParticipantDisconnected, (p) => p.identity === identity && 'participantDisconnected');
  return log;
}

/** Resolves with the LkError `promise` rejects with; fails if it resolves. */
export async function rejection(promise, timeoutMs = 20_000) {
  try {
    await withTimeout(promise, timeoutMs, 'the call to fail');
  } catch (e) {
    return e;
  }
  throw new Error('expected the call to reject, but it resolved');
}

/** Asserts `e` is an LkError with `code`. */
export function expectLkError(e, code) {
  expect(e, `expected an LkError ${code}, got ${e?.stack ?? e}`).toBeInstanceOf(lk.LkError);
  expect(e.code, e.message).toBe(code);
}

/** The sum of all counts (for polling). */
export function totalHandles() {
  const h = lk.liveHandles();
  return Object.values(h).reduce((a, b) => a + b, 0);
}

/**
 * Registers the hooks most lkrtc test files share: an in-process DevServer for the file
 * (`options` as DevServer.start's), a fresh Scope per test, and after each test the scope
 * closed and every handle count back to zero (after up to `settleMs` for counts that drop
 * asynchronously; 0 asserts at once). Returns `{ dev, scope }`, valid inside tests.
 */
export function useLkEnv(options, { settleMs = 0 } = {}) {
  const env = { dev: undefined, scope: undefined };
  beforeAll(async () => {
    env.dev = await startDevServer(options);
  });
  afterAll(async () => {
    await env.dev?.close();
  });
  beforeEach(() => {
    env.scope = new Scope();
  });
  afterEach(async () => {
    await env.scope.close();
    if (settleMs > 0) {
      await waitUntil(() => totalHandles() === 0, { timeoutMs: settleMs, what: 'handles to drop to 0' }).catch(
        () => {},
      );
    }
    expectHandles(ZERO);
  });
  return env;
}
