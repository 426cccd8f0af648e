// Issue 8, audio items 3 and 5: a track published before its first frame reaches
// subscribers (the source sends silence while idle), every rate/channel count the official
// SDK accepts, AudioResampler flush() and quality, queueSize checks. Handles end at zero.
import { describe, expect, it } from 'vitest';
import { uniqueRoomName, waitForEvent } from '../helpers/rtc.mjs';
import { connectLk, expectLkError, lk, useLkEnv } from '../client/lk.mjs';
import { expectTone } from './audio-helpers.mjs';
import { readToneWith } from '../helpers/rtc.mjs';

const { RoomEvent, AudioFrame, AudioSource, LocalAudioTrack, AudioResampler, AudioResamplerQuality } = lk;

function thrown(fn) {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

function sine(rate, ch, freq, n, t0 = 0) {
  const f = AudioFrame.create(rate, ch, n);
  for (let i = 0; i < n; i++) {
    const v = Math.round(10_000 * Math.sin((2 * Math.PI * freq * (t0 + i)) / rate));
    for (let c = 0; c < ch; c++) f.data[i * ch + c] = v;
  }
  return f;
}

describe('idle sources and audio formats', () => {
  const env = useLkEnv(undefined, { settleMs: 5_000 });

  it('a track published before its first frame is subscribed, then its audio arrives', async () => {
    const roomName = uniqueRoomName('idle');
    const a = await connectLk(env.scope, env.dev, 'a', roomName);
    const b = await connectLk(env.scope, env.dev, 'b', roomName);
    const source = new AudioSource(48_000, 1);
    const track = LocalAudioTrack.createAudioTrack('idle', source);
    env.scope.defer(() => source.close());
    const subscribed = waitForEvent(b, RoomEvent.TrackSubscribed, {
      timeoutMs: 15_000,
      what: 'trackSubscribed before any frame',
    });
    const options = new lk.TrackPublishOptions({ source: lk.TrackSource.SOURCE_MICROPHONE, dtx: true, red: true });
    const pub = await a.localParticipant.publishTrack(track, options);
    const [remoteTrack] = await subscribed;
    expect(remoteTrack.sid).toBe(pub.sid);
    // Only now does the app start feeding a tone.
    let running = true;
    const feeding = (async () => {
      for (let t = 0; running; t += 480) await source.captureFrame(sine(48_000, 1, 440, 480, t));
    })().catch(() => {});
    const tone = await readToneWith(lk, remoteTrack, { sampleRate: 48_000, numChannels: 1, frames: 100 });
    running = false;
    source.clearQueue();
    await feeding;
    expectTone(tone, { sampleRate: 48_000, numChannels: 1, frames: 100 });
    await a.localParticipant.unpublishTrack(pub.sid);
    expect(track.isDisposed).toBe(true);
  });

  it('AudioSource takes every rate and channel count the official SDK takes, refuses bad queue sizes', async () => {
    for (const rate of [8_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000]) {
      for (const ch of [1, 2, 4]) {
        const s = new AudioSource(rate, ch, 100);
        await s.captureFrame(AudioFrame.create(rate, ch, Math.floor(rate / 100)));
        await s.close();
      }
    }
    for (const bad of [NaN, -1, Infinity, -Infinity]) {
      expectLkError(
        thrown(() => new AudioSource(48_000, 1, bad)),
        'ERR_INVALID_ARG',
      );
    }
    expectLkError(
      thrown(() => new AudioSource(48_000, 9)),
      'ERR_INVALID_ARG',
    );
  });

  it('AudioResampler: flush() returns the tail, 4 channels and 22.05/32 kHz work', () => {
    for (const [from, to, ch] of [
      [22_050, 48_000, 1],
      [48_000, 32_000, 4],
      [44_100, 16_000, 2],
    ]) {
      const r = new AudioResampler(from, to, ch);
      const n = from + from / 50; // 1.02 s in 10 ms pieces plus a short tail
      const out = [];
      let t = 0;
      while (t < n) {
        const len = Math.min(Math.floor(from / 100), n - t);
        out.push(...r.push(sine(from, ch, 440, len, t)));
        t += len;
      }
      const tail = r.flush();
      expect(tail.length).toBe(1);
      out.push(...tail);
      const all = lk.combineAudioFrames(out);
      expect(all.samplesPerChannel).toBe(Math.round((n * to) / from));
      const last = tail[0].data.subarray(-ch * 10);
      expect(Math.max(...last.map(Math.abs))).toBeGreaterThan(1_000);
    }
  });

  it('AudioResampler honours quality: QUICK aliases, VERY_HIGH filters', () => {
    const level = (q) => {
      const r = new AudioResampler(48_000, 16_000, 1, q);
      const out = [];
      for (let k = 0; k < 50; k++) out.push(...r.push(sine(48_000, 1, 10_000, 480, k * 480)));
      out.push(...r.flush());
      const all = lk.combineAudioFrames(out).data.subarray(1_600);
      return Math.sqrt(all.reduce((s, v) => s + v * v, 0) / all.length);
    };
    const quick = level(AudioResamplerQuality.QUICK);
    const best = level(AudioResamplerQuality.VERY_HIGH);
    expect(quick).toBeGreaterThan(5_000);
    expect(best).toBeLessThan(50);
    expectLkError(
      thrown(() => new AudioResampler(48_000, 16_000, 1, 7)),
      'ERR_INVALID_ARG',
    );
  });
});
