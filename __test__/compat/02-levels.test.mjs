// Conformance (issue 8): a steady tone and a speech-like signal keep their level at the
// receiver for as long as they are sent (no collapse after ~1 s: lkrtc's encoder once ran
// DTX on every signal and a 440 Hz tone dropped by ~28 dB after the first second).
// Source rates 48/24/16 kHz, mono and stereo; the sender resamples to 48 kHz. The full
// 10 s for 48 kHz mono, 3 s for the other formats (to keep the suite affordable). Each
// signal's first measured second must also be at the level it was sent. The formats run
// one after the other: with five rooms at once on a 2-core machine the official SDK's
// receivers lost whole seconds at the start, which is load, not the behaviour under test.
// Written once, run with @livekit/rtc-node and with lkrtc (see compat.mjs).
import { describe, expect, it } from 'vitest';
import { detectFrequency } from '../helpers/rtc.mjs';
import {
  SDKS,
  perSecondDbfs,
  publishSignal,
  readSeconds,
  signalDbfs,
  sine,
  speechLike,
  uniqueRoomName,
  useCompat,
  waitUntil,
} from './compat.mjs';

const RX_RATE = 48_000;
/**
 * Received audio before this much after the onset is not measured: the receiver's jitter
 * buffer settles and, with several rooms starting at once on a 2-core machine, the first
 * few hundred ms can lose packets with either SDK. The checks are about what follows.
 */
const WARMUP_S = 0.5;
/** Per-second RMS may differ from the first second's by at most this much. */
const MAX_DRIFT_DB = 3;
/** The first second's RMS may differ from what was sent by at most this much. */
const MAX_LEVEL_ERROR_DB = 4;

const SIGNALS = [
  { name: 'tone', make: () => sine(440, 0.3), freq: 440 },
  { name: 'speech', make: () => speechLike(0.35) },
];

describe.each(SDKS)('levels (%s)', (name, sdk) => {
  const env = useCompat(name, sdk);
  const { RoomEvent } = sdk;

  /** Each signal in its own room, read for `seconds` by a subscriber; checks levels. */
  async function levelsScenario(sampleRate, channels, seconds) {
    const { problems, report } = await oneFormat({ sampleRate, channels, seconds });
    expect(problems, `levels at the receiver:\n${report.join('\n')}`).toEqual([]);
  }

  async function oneFormat({ sampleRate, channels, seconds }) {
    const { scope } = env;
    const fmt = `${sampleRate / 1000} kHz ${channels === 1 ? 'mono' : 'stereo'}`;
    // One room per signal (a publisher with one track, a subscriber), both at once. With
    // both tracks in one room, the official subscriber sometimes got no media at all for
    // the second track it subscribed to (lkrtc-server renegotiation?): reported separately,
    // not what this scenario is about.
    const tracks = new Map();
    await Promise.all(
      SIGNALS.map(async (s) => {
        const roomName = uniqueRoomName(`c-levels-${s.name}-${sampleRate}-${channels}`);
        const subRoom = await scope.connect('subscriber', roomName);
        subRoom.on(RoomEvent.TrackSubscribed, (track, pub) => tracks.set(pub.name, track));
        const pubRoom = await scope.connect('publisher', roomName);
        await publishSignal(sdk, pubRoom, { signal: s.make(), sampleRate, channels, name: s.name, scope });
      }),
    );
    await waitUntil(() => SIGNALS.every((s) => tracks.has(s.name)), {
      timeoutMs: 15_000,
      what: () => `trackSubscribed for ${SIGNALS.map((s) => s.name)} (have ${[...tracks.keys()]})`,
    });
    const received = await Promise.all(
      SIGNALS.map((s) =>
        readSeconds(sdk, tracks.get(s.name), {
          seconds: seconds + WARMUP_S,
          sampleRate: RX_RATE,
          numChannels: channels,
          what: `${s.name} (${sampleRate} Hz, ${channels} ch)`,
        }),
      ),
    );
    const problems = [];
    const report = [];
    SIGNALS.forEach((s, i) => {
      const got = { ...received[i], channels: received[i].channels.map((ch) => ch.subarray(WARMUP_S * RX_RATE)) };
      expect(got.formats, `${fmt} ${s.name}: frames come in the requested format`).toEqual([`${RX_RATE}/${channels}`]);
      const sent = signalDbfs(s.make());
      for (let c = 0; c < channels; c++) {
        const levels = perSecondDbfs(got.channels[c], RX_RATE);
        const label = `${fmt} ${s.name} ch${c}`;
        report.push(
          `${label}: sent ${sent.toFixed(1)} dBFS, received per second [${levels.map((l) => l.toFixed(1)).join(', ')}]`,
        );
        if (Math.abs(levels[0] - sent) > MAX_LEVEL_ERROR_DB) {
          problems.push(`${label}: first second at ${levels[0].toFixed(1)} dBFS, sent at ${sent.toFixed(1)} dBFS`);
        }
        levels.forEach((l, sec) => {
          if (!(Math.abs(l - levels[0]) <= MAX_DRIFT_DB)) {
            problems.push(
              `${label}: second ${sec} at ${l.toFixed(1)} dBFS, ${(l - levels[0]).toFixed(1)} dB from the first second`,
            );
          }
        });
        if (s.freq) {
          for (let sec = 0; sec < seconds; sec++) {
            // 100 ms from the middle of each second (away from the onset at second 0).
            const at = sec * RX_RATE + 0.45 * RX_RATE;
            const part = got.channels[c].subarray(at, at + RX_RATE / 10);
            const f = detectFrequency(part, RX_RATE);
            if (!(Math.abs(f - s.freq) / s.freq < 0.02))
              problems.push(`${label}: second ${sec} at ${f.toFixed(1)} Hz, want ${s.freq}`);
          }
        }
      }
    });
    return { problems, report };
  }

  it('48 kHz mono: a 440 Hz tone and a speech-like signal keep their level for 10 s', async () => {
    await levelsScenario(48_000, 1, 10);
  });

  it.each([
    [24_000, 1],
    [16_000, 1],
    [48_000, 2],
    [24_000, 2],
    [16_000, 2],
  ])(
    '%i Hz, %i channel(s), resampled by the sender: tone and speech-like keep their level for 3 s',
    async (sampleRate, channels) => {
      await levelsScenario(sampleRate, channels, 3);
    },
  );
});
