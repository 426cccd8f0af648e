// Helpers of the end-to-end encryption suites: rooms of either SDK in one room, E2EE room
// options in the shape both SDKs take, and audio level readings.
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { lk, startDevServer, totalHandles, ZERO } from '../client/lk.mjs';
import { Scope, peak, waitUntil, withTimeout } from '../helpers/rtc.mjs';

export const enc = (text) => new TextEncoder().encode(text);

/** `RoomOptions` with E2EE for `sdk`: a shared key (or per-participant keys with `key` null). */
export function e2ee(sdk, key, keyProviderOptions = {}) {
  return {
    encryption: {
      encryptionType: sdk.EncryptionType.GCM,
      keyProviderOptions: { ...(key ? { sharedKey: key } : {}), ...keyProviderOptions },
    },
  };
}

/**
 * One DevServer per file, a Scope per test, `connect(sdk, identity, room, roomOptions)` for
 * either SDK, and liveHandles() all zero after every test.
 */
export function useE2ee() {
  const env = { server: null, scope: null };
  beforeAll(async () => {
    env.server = await startDevServer();
  });
  afterAll(async () => {
    await env.server?.close();
  });
  beforeEach(() => {
    env.scope = new Scope();
  });
  afterEach(async () => {
    await env.scope.close();
    await waitUntil(() => totalHandles() === 0, { timeoutMs: 10_000 }).catch(() => {});
    expect(lk.liveHandles(), 'lkrtc: every native handle is released').toEqual(ZERO);
  });
  env.connect = async (sdk, identity, roomName, roomOptions = {}) => {
    const room = new sdk.Room();
    env.scope.rooms.push(room);
    const jwt = await env.server.token(identity, roomName);
    await withTimeout(
      room.connect(env.server.url, jwt, { autoSubscribe: true, dynacast: false, ...roomOptions }),
      20_000,
      `${identity} to connect`,
    );
    return room;
  };
  return env;
}

/** The highest sample peak of `track` over `ms` (reading through `sdk.AudioStream`). */
export async function peakOver(sdk, track, ms) {
  const stream = new sdk.AudioStream(track, { sampleRate: 48_000, numChannels: 1 });
  const reader = stream.getReader();
  let max = 0;
  let frames = 0;
  const end = Date.now() + ms;
  try {
    while (Date.now() < end) {
      const next = await Promise.race([reader.read(), new Promise((r) => setTimeout(() => r(null), 200))]);
      if (next === null) continue;
      if (next.done) break;
      frames++;
      max = Math.max(max, peak(next.value));
    }
  } finally {
    await Promise.resolve()
      .then(() => reader.cancel())
      .catch(() => {});
  }
  return { max, frames };
}
