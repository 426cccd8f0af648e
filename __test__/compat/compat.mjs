// The dual-SDK conformance suite (issue 8): every scenario is written once against the
// API both SDKs share (Room, RoomEvent, AudioSource, LocalAudioTrack, AudioStream,
// AudioFrame, TrackPublishOptions, TrackSource, data streams) and runs twice, with
// @livekit/rtc-node and with lkrtc as the SDK, against lkrtc-server (in-process DevServer;
// the official client connects to it like to any LiveKit server).
//
//   describe.each(SDKS)('%s', (name, sdk) => {
//     const env = useCompat(name, sdk);
//     it('...', async () => { const room = await env.scope.connect('alice', roomName); });
//   });
//
// A scenario passes only if it passes with both SDKs: that proves it encodes the official
// behaviour. With lkrtc, every scenario ends with liveHandles() all zero (checked in
// afterEach); the official SDK has no such counter, so the check is lkrtc-only.
import * as official from '@livekit/rtc-node';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { Scope, channelSamples, delay, uniqueRoomName, waitForEvent, waitUntil, withTimeout } from '../helpers/rtc.mjs';
import { lk, startDevServer, totalHandles, ZERO } from '../client/lk.mjs';

export { delay, uniqueRoomName, waitForEvent, waitUntil, withTimeout };

/** [name, SDK module] for describe.each: the official SDK first (it defines the behaviour). */
export const SDKS = [
  ['rtc-node', official],
  ['lkrtc', lk],
];

/** A Scope whose rooms are made with `sdk` (either SDK), connected to `server`. */
export class CompatScope extends Scope {
  constructor(sdk, server) {
    super();
    this.sdk = sdk;
    this.server = server;
  }

  /** Connects a new `sdk.Room` as `identity`; disconnected by close() whatever happens. */
  async connect(identity, roomName, { grants, roomOptions, timeoutMs = 20_000 } = {}) {
    const room = new this.sdk.Room();
    this.rooms.push(room);
    const jwt = await this.server.token(identity, roomName, grants);
    await withTimeout(
      room.connect(this.server.url, jwt, { autoSubscribe: true, dynacast: false, ...roomOptions }),
      timeoutMs,
      `${identity} to connect to ${roomName}`,
    );
    return room;
  }
}

/**
 * Hooks for one SDK's describe block: one in-process lkrtc-server for the block, a fresh
 * CompatScope per test (closed after it), and for lkrtc the liveHandles() check after
 * every scenario. Returns { server, scope, isLk }, current inside each test.
 */
export function useCompat(name, sdk) {
  const env = { server: null, scope: null, isLk: sdk === lk, name };
  beforeAll(async () => {
    env.server = await startDevServer();
  });
  afterAll(async () => {
    await env.server?.close();
  });
  beforeEach(() => {
    env.scope = new CompatScope(sdk, env.server);
  });
  afterEach(async () => {
    await env.scope.close();
    if (env.isLk) {
      await waitUntil(() => totalHandles() === 0, {
        timeoutMs: 10_000,
        what: () => `lkrtc liveHandles() to drop to zero after the scenario (now ${JSON.stringify(lk.liveHandles())})`,
      }).catch(() => {});
      expect(lk.liveHandles(), 'lkrtc: every native handle is released at the end of the scenario').toEqual(ZERO);
    }
  });
  return env;
}

// ---------------------------------------------------------------------------------------
// Signals

/** A sine of `freq` Hz and peak `amplitude` (0..1). */
export function sine(freq = 440, amplitude = 0.3) {
  return (t) => amplitude * Math.sin(2 * Math.PI * freq * t);
}

/**
 * A speech-like signal: a 140 Hz voice with six harmonics (1/k amplitudes), amplitude
 * modulated at 4 Hz (syllables), with a 200 ms pause (10 ms ramps) in every second.
 * Every component has a period that divides 1 s, so any 1-second window holds the same
 * energy: per-second RMS at the receiver does not depend on where the window starts.
 */
export function speechLike(amplitude = 0.35) {
  const f0 = 140;
  const harmonics = [1, 2, 3, 4, 5, 6];
  const norm = harmonics.reduce((s, k) => s + 1 / k, 0);
  return (t) => {
    const phase = t - Math.floor(t); // position in the current second
    let gate;
    if (phase >= 0.8) gate = 0;
    else if (phase < 0.01) gate = phase / 0.01;
    else if (phase > 0.79) gate = (0.8 - phase) / 0.01;
    else gate = 1;
    if (gate === 0) return 0;
    const env = 0.55 + 0.45 * Math.sin(2 * Math.PI * 4 * t);
    let v = 0;
    for (const k of harmonics) v += Math.sin(2 * Math.PI * f0 * k * t + k * 0.7) / k;
    return (amplitude * gate * env * v) / norm;
  };
}

/** RMS of `signal` over one second, in dBFS (full scale = 1.0). */
export function signalDbfs(signal, rate = 48_000) {
  let s = 0;
  for (let i = 0; i < rate; i++) {
    const v = signal(i / rate);
    s += v * v;
  }
  return 10 * Math.log10(s / rate);
}

/** RMS of int16 `samples` in dBFS (−∞ for silence). */
export function dbfs(samples) {
  let s = 0;
  for (const v of samples) s += v * v;
  return 10 * Math.log10(s / samples.length / (32768 * 32768));
}

// ---------------------------------------------------------------------------------------
// Audio

/**
 * Creates an AudioSource and LocalAudioTrack with `sdk`, publishes the track from `room`
 * (microphone source, plus `publishOptions`) and, once start() is called (at once unless `start: false`), feeds
 * `signal` in real time (captureFrame backpressure) until stop(). Returns
 * { publication, track, source, start, stop, framesSent, error }.
 */
export async function publishSignal(
  sdk,
  room,
  {
    signal = sine(),
    sampleRate = 48_000,
    channels = 1,
    name = 'signal',
    scope,
    frameMs = 10,
    start = true,
    publishOptions = {},
  } = {},
) {
  const source = new sdk.AudioSource(sampleRate, channels);
  const track = sdk.LocalAudioTrack.createAudioTrack(name, source);
  const options = new sdk.TrackPublishOptions();
  options.source = sdk.TrackSource.SOURCE_MICROPHONE;
  Object.assign(options, publishOptions);
  const spc = (sampleRate * frameMs) / 1000;
  const out = { error: null, framesSent: 0, track, source };
  let running = false;
  let loop = null;
  let stopped = false;
  out.start = () => {
    if (loop || stopped) return;
    running = true;
    loop = (async () => {
      let n = 0;
      while (running) {
        const frame = sdk.AudioFrame.create(sampleRate, channels, spc);
        for (let i = 0; i < spc; i++, n++) {
          const v = Math.max(-32768, Math.min(32767, Math.round(32767 * signal(n / sampleRate))));
          for (let c = 0; c < channels; c++) frame.data[i * channels + c] = v;
        }
        await source.captureFrame(frame);
        out.framesSent++;
      }
    })().catch((e) => {
      if (running) {
        out.error = e;
        console.error(`signal loop (${name}) failed:`, e);
      }
    });
  };
  out.stop = async () => {
    if (stopped) return;
    stopped = true;
    running = false;
    try {
      source.clearQueue();
    } catch {}
    if (loop) await withTimeout(loop, 5_000, `the signal loop (${name}) to stop`).catch(() => {});
    await Promise.resolve()
      .then(() => track.close())
      .catch(() => {});
    await Promise.resolve()
      .then(() => source.close())
      .catch(() => {});
  };
  scope?.defer(out.stop);
  out.publication = await withTimeout(
    room.localParticipant.publishTrack(track, options),
    20_000,
    `publishTrack(${name})`,
  );
  if (start) out.start();
  return out;
}

/**
 * Reads `seconds` of audio from a remote track through `sdk.AudioStream` (at `sampleRate`,
 * `numChannels`), starting at the first frame whose peak reaches `startFloor` (the
 * subscription goes live before the first packet). Returns { channels: Int16Array[],
 * skippedFrames, formats }.
 */
export async function readSeconds(
  sdk,
  track,
  { seconds, sampleRate = 48_000, numChannels = 1, startFloor = 300, timeoutMs, what = 'audio' },
) {
  const stream = new sdk.AudioStream(track, { sampleRate, numChannels });
  const reader = stream.getReader();
  const want = seconds * sampleRate;
  const chunks = Array.from({ length: numChannels }, () => []);
  let got = 0;
  let skippedFrames = 0;
  let started = false;
  const formats = new Set();
  const work = (async () => {
    while (got < want) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`${what}: the AudioStream ended after ${got}/${want} samples`);
      formats.add(`${value.sampleRate}/${value.channels}`);
      if (!started) {
        let p = 0;
        for (const v of value.data) p = Math.max(p, Math.abs(v));
        if (p < startFloor) {
          skippedFrames++;
          continue;
        }
        started = true;
      }
      for (let c = 0; c < numChannels; c++) chunks[c].push(channelSamples(value, c));
      got += value.samplesPerChannel;
    }
  })();
  try {
    await withTimeout(
      work,
      timeoutMs ?? seconds * 1000 + 15_000,
      () =>
        `${what}: ${seconds} s of audio at the receiver (got ${(got / sampleRate).toFixed(2)} s after ${skippedFrames} silent frames)`,
    );
  } finally {
    await Promise.resolve()
      .then(() => reader.cancel())
      .catch(() => {});
  }
  const channels = chunks.map((list) => {
    const all = new Int16Array(list.reduce((n, a) => n + a.length, 0));
    let o = 0;
    for (const a of list) {
      all.set(a, o);
      o += a.length;
    }
    return all.subarray(0, want);
  });
  return { channels, skippedFrames, formats: [...formats] };
}

/** Per-second RMS levels (dBFS) of `samples` at `rate`. */
export function perSecondDbfs(samples, rate) {
  const out = [];
  for (let o = 0; o + rate <= samples.length; o += rate) out.push(dbfs(samples.subarray(o, o + rate)));
  return out;
}

// ---------------------------------------------------------------------------------------
// Events

/**
 * Records, in order, the lifecycle events `room` emits about remote participant `identity`
 * (either SDK: the event names are the same strings).
 */
export function recordLifecycle(room, identity, log = []) {
  const on = (event, pick) =>
    room.on(event, (...args) => {
      const entry = pick(...args);
      if (entry) log.push(entry);
    });
  on('trackSubscribed', (_t, pub, p) => p?.identity === identity && `trackSubscribed ${pub.sid}`);
  on('trackUnsubscribed', (_t, pub, p) => p?.identity === identity && `trackUnsubscribed ${pub.sid}`);
  on('trackUnpublished', (pub, p) => p?.identity === identity && `trackUnpublished ${pub.sid}`);
  on('participantDisconnected', (p) => p?.identity === identity && 'participantDisconnected');
  return log;
}

/**
 * Resolves with what `promise` rejects with. Throws (with `what` in the message) if it
 * resolves, or if it neither resolves nor rejects within `timeoutMs`.
 */
export async function rejectionOf(promise, timeoutMs, what) {
  const TIMEOUT = Symbol('timeout');
  let timer;
  const outcome = await Promise.race([
    Promise.resolve(promise).then(
      (value) => ({ value }),
      (error) => ({ error }),
    ),
    new Promise((res) => {
      timer = setTimeout(() => res(TIMEOUT), timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  if (outcome === TIMEOUT)
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} to reject (it neither resolved nor rejected)`);
  if (!('error' in outcome)) {
    const v = outcome.value;
    const shown =
      typeof v === 'string'
        ? `a string of ${v.length} chars`
        : Array.isArray(v)
          ? `${v.length} chunk(s) of ${v.reduce((n, c) => n + (c?.byteLength ?? 0), 0)} bytes`
          : String(v).slice(0, 100);
    throw new Error(`expected ${what} to reject, but it resolved with ${shown}`);
  }
  return outcome.error;
}
