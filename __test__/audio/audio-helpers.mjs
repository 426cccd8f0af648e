// Helpers for the audio tests (issue 4). The same code drives lkrtc and the official
// @livekit/rtc-node: both export AudioSource, LocalAudioTrack, AudioFrame, AudioStream,
// TrackPublishOptions and TrackSource with the same API, so `mod` picks the SDK.
import { expect } from 'vitest';
import { channelSamples, detectFrequency, peak, withTimeout } from '../helpers/rtc.mjs';

/**
 * Publishes a sine tone from `room` (an lkrtc or official Room, `mod` its SDK) and keeps
 * feeding it in real time (captureFrame backpressure) until stop(). Returns
 * { publication, track, source, stop, pause, resume, error }.
 */
export async function publishSineWith(
  mod,
  room,
  { freq = 440, sampleRate = 48_000, channels = 1, amplitude = 0.5, name = 'sine', scope, frameMs = 10 } = {},
) {
  const source = new mod.AudioSource(sampleRate, channels);
  const track = mod.LocalAudioTrack.createAudioTrack(name, source);
  const options = new mod.TrackPublishOptions();
  options.source = mod.TrackSource.SOURCE_MICROPHONE;
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
  const publication = await withTimeout(room.localParticipant.publishTrack(track, options), 20_000, `publishTrack(${name})`);
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

/** Asserts a received tone: format, frequency of every channel within 2 %, at most `maxSilent` silent frames. */
export function expectTone(tone, { freq = 440, sampleRate, numChannels, frames = 100, maxSilent = 0.05 }) {
  expect(tone.formats).toEqual([`${sampleRate}/${numChannels}`]);
  expect(tone.silentFrames / frames, `silent fraction (${tone.silentFrames}/${frames}, at ${tone.silentAt})`).toBeLessThanOrEqual(maxSilent);
  for (let c = 0; c < numChannels; c++) {
    const f = detectFrequency(tone.channels[c], sampleRate);
    expect(Math.abs(f - freq) / freq, `channel ${c}: detected ${f.toFixed(1)} Hz, want ${freq}`).toBeLessThan(0.02);
  }
}
