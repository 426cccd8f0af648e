// Helpers for tests that drive the official client (@livekit/rtc-node).
// Every wait has a timeout and fails with a message saying what it waited for.
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * The official SDK, imported on first use: suites that never drive it (the `local` vitest
 * project, which runs without the network namespace) never load libwebrtc. There,
 * `@livekit/rtc-node` resolves to helpers/official-unavailable.mjs, which throws.
 */
let officialSdk;
async function official() {
  officialSdk ??= await import('@livekit/rtc-node');
  return officialSdk;
}

export { delay };

/** A room name no other test uses. */
export function uniqueRoomName(prefix = 'room') {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** Resolves/rejects like `promise`, or rejects after `ms` with `what` in the message. */
export async function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, rej) => {
    timer = setTimeout(() => {
      const desc = typeof what === 'function' ? what() : what;
      rej(new Error(`timed out after ${ms} ms waiting for ${desc}`));
    }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `cond` until it returns a truthy value (returned), or throws after `timeoutMs`. */
export async function waitUntil(cond, { timeoutMs = 10_000, intervalMs = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(intervalMs);
  }
}

/**
 * Waits for the next `event` on `emitter` whose arguments satisfy `filter`;
 * resolves with the argument array. Start waiting *before* triggering the event.
 */
export function waitForEvent(emitter, event, { timeoutMs = 10_000, filter = () => true, what } = {}) {
  let handler;
  const p = new Promise((res) => {
    handler = (...args) => {
      if (!filter(...args)) return;
      emitter.off(event, handler);
      res(args);
    };
    emitter.on(event, handler);
  });
  return withTimeout(p, timeoutMs, what ?? `event ${event}`).finally(() => emitter.off(event, handler));
}

/**
 * Owns everything a test creates (rooms, sources, tracks, loops, processes)
 * and releases it in close(), whatever happened. Use one per test:
 *   let scope; beforeEach(() => { scope = new Scope(); }); afterEach(() => scope.close());
 */
export class Scope {
  constructor() {
    this.rooms = [];
    this.cleanups = [];
  }

  /** Registers a cleanup function (run in reverse order by close()). */
  defer(fn) {
    this.cleanups.push(fn);
  }

  /** Connects a new Room; it is disconnected by close(). */
  async connect(server, identity, roomName, { grants, roomOptions, timeoutMs = 20_000 } = {}) {
    const { Room } = await official();
    const room = new Room();
    this.rooms.push(room);
    const jwt = await server.token(identity, roomName, grants);
    await withTimeout(
      room.connect(server.url, jwt, { autoSubscribe: true, dynacast: false, ...roomOptions }),
      timeoutMs,
      `${identity} to connect to ${roomName}`,
    );
    return room;
  }

  async close() {
    const errors = [];
    for (const fn of this.cleanups.reverse()) {
      try {
        await withTimeout(Promise.resolve().then(fn), 10_000, 'a cleanup step');
      } catch (e) {
        errors.push(e);
      }
    }
    this.cleanups = [];
    await Promise.all(
      this.rooms.map(async (room) => {
        try {
          await withTimeout(room.disconnect(), 10_000, 'room.disconnect()');
        } catch (e) {
          errors.push(e);
        }
      }),
    );
    this.rooms = [];
    if (errors.length) {
      // Cleanup problems are reported but must not hide the test's own failure.
      console.warn('scope cleanup errors:', errors.map((e) => e?.message ?? e).join('; '));
    }
  }
}

/**
 * Publishes a sine tone from an official-client `room` and keeps feeding it in real time
 * until stop() is called. Returns { publication, track, source, stop }.
 */
export async function publishSine(room, options) {
  return publishSineWith(await official(), room, options);
}

/** Samples of one channel of an interleaved AudioFrame. */
export function channelSamples(frame, channel) {
  const n = frame.samplesPerChannel;
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = frame.data[i * frame.channels + channel];
  return out;
}

/** Peak absolute sample value of one channel of a frame. */
export function peak(frame, channel = 0) {
  let p = 0;
  const d = frame.data;
  for (let i = channel; i < d.length; i += frame.channels) p = Math.max(p, Math.abs(d[i]));
  return p;
}

/**
 * Fundamental frequency of `samples` by autocorrelation: the lag in
 * [sampleRate/maxHz, sampleRate/minHz] with the highest normalised
 * correlation, refined by parabolic interpolation.
 */
export function detectFrequency(samples, sampleRate, { minHz = 60, maxHz = 2_000 } = {}) {
  const x = Float64Array.from(samples);
  let mean = 0;
  for (const v of x) mean += v;
  mean /= x.length;
  for (let i = 0; i < x.length; i++) x[i] -= mean;

  const lagMin = Math.floor(sampleRate / maxHz);
  const lagMax = Math.ceil(sampleRate / minHz);
  const corr = new Float64Array(lagMax + 2);
  for (let lag = lagMin - 1; lag <= lagMax + 1; lag++) {
    let s = 0;
    const n = x.length - lag;
    for (let i = 0; i < n; i++) s += x[i] * x[i + lag];
    corr[lag] = s / n;
  }
  // Skip the lobe around lag 0, then take the first local maximum that is
  // close to the highest one: the period, not one of its multiples.
  let start = lagMin;
  while (start < lagMax && corr[start] > 0) start++;
  let max = -Infinity;
  for (let lag = start; lag <= lagMax; lag++) max = Math.max(max, corr[lag]);
  let best = -1;
  let bestVal = -Infinity;
  for (let lag = Math.max(start, lagMin); lag <= lagMax; lag++) {
    if (corr[lag] >= 0.8 * max && corr[lag] >= corr[lag - 1] && corr[lag] >= corr[lag + 1]) {
      best = lag;
      bestVal = corr[lag];
      break;
    }
  }
  if (best <= 0 || bestVal <= 0) return 0;
  const a = corr[best - 1];
  const b = corr[best];
  const c = corr[best + 1];
  const denom = a - 2 * b + c;
  const shift = denom !== 0 ? (0.5 * (a - c)) / denom : 0;
  return sampleRate / (best + shift);
}

/**
 * Reads `frames` AudioFrames of tone from an official-client remote audio track, skipping
 * the leading silence (the subscription goes live before the first packet).
 */
export async function readTone(track, options) {
  return readToneWith(await official(), track, options);
}

/**
 * Publishes a sine tone from `room` (an lkrtc or official Room, `mod` its SDK) and keeps
 * feeding it in real time (captureFrame backpressure) until stop(). Returns
 * { publication, track, source, stop, pause, resume, error }. `trackSource` is the TrackSource
 * (microphone by default).
 */
export async function publishSineWith(
  mod,
  room,
  {
    freq = 440,
    sampleRate = 48_000,
    channels = 1,
    amplitude = 0.5,
    name = 'sine',
    scope,
    frameMs = 10,
    trackSource,
  } = {},
) {
  const source = new mod.AudioSource(sampleRate, channels);
  const track = mod.LocalAudioTrack.createAudioTrack(name, source);
  const options = new mod.TrackPublishOptions();
  options.source = trackSource ?? mod.TrackSource.SOURCE_MICROPHONE;
  const result = { error: null, paused: false };
  let running = true;
  let t = 0;
  const spc = (sampleRate * frameMs) / 1000;
  const amp = amplitude * 32767;
  const loop = (async () => {
    while (running) {
      if (result.paused) {
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      const frame = mod.AudioFrame.create(sampleRate, channels, spc);
      for (let i = 0; i < spc; i++, t++) {
        const v = Math.round(amp * Math.sin((2 * Math.PI * freq * t) / sampleRate));
        for (let c = 0; c < channels; c++) frame.data[i * channels + c] = v;
      }
      await source.captureFrame(frame);
    }
  })().catch((e) => {
    if (running) {
      result.error = e;
      console.error(`sine loop (${name}) failed:`, e);
    }
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    running = false;
    source.clearQueue();
    await withTimeout(loop, 5_000, 'the sine loop to stop').catch(() => {});
    await track.close().catch(() => {});
    await source.close().catch(() => {});
  };
  scope?.defer(stop);
  const publication = await withTimeout(
    room.localParticipant.publishTrack(track, options),
    20_000,
    `publishTrack(${name})`,
  );
  return Object.assign(result, { publication, track, source, stop, loop });
}

/**
 * Reads `frames` frames of tone from a remote audio track through `mod.AudioStream`,
 * skipping the leading silence. Returns { channels, silentFrames, skippedFrames, formats }.
 */
export async function readToneWith(
  mod,
  track,
  { sampleRate = 48_000, numChannels = 1, frames = 100, silenceFloor = 1_000, timeoutMs = 20_000 } = {},
) {
  const stream = new mod.AudioStream(track, { sampleRate, numChannels });
  const reader = stream.getReader();
  const chunks = Array.from({ length: numChannels }, () => []);
  let got = 0;
  let skippedFrames = 0;
  let silentFrames = 0;
  const silentAt = [];
  let started = false;
  const formats = new Set();
  const work = (async () => {
    while (got < frames) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`audio stream ended after ${got}/${frames} tone frames`);
      formats.add(`${value.sampleRate}/${value.channels}`);
      const p = peak(value, 0);
      if (!started) {
        if (p < silenceFloor) {
          skippedFrames++;
          continue;
        }
        started = true;
      }
      if (p < silenceFloor) {
        silentFrames++;
        silentAt.push(got);
      }
      for (let c = 0; c < numChannels; c++) chunks[c].push(channelSamples(value, c));
      got++;
    }
  })();
  try {
    await withTimeout(work, timeoutMs, () => `${frames} frames of tone (got ${got}, skipped ${skippedFrames})`);
  } finally {
    await reader.cancel().catch(() => {});
  }
  const channels = chunks.map((list) => {
    const out = new Int16Array(list.reduce((n, a) => n + a.length, 0));
    let o = 0;
    for (const a of list) {
      out.set(a, o);
      o += a.length;
    }
    return out;
  });
  return { channels, silentFrames, silentAt, skippedFrames, formats: [...formats] };
}
