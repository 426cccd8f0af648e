// Helpers for the audio tests (issue 4). The same code drives lkrtc and the official
// @livekit/rtc-node: both export AudioSource, LocalAudioTrack, AudioFrame, AudioStream,
// TrackPublishOptions and TrackSource with the same API, so `mod` picks the SDK.
import { expect } from 'vitest';
import { detectFrequency } from '../helpers/rtc.mjs';

// The SDK-generic tone helpers live with the other audio helpers.
export { publishSineWith, readToneWith } from '../helpers/rtc.mjs';

/** Asserts a received tone: format, frequency of every channel within 2 %, at most `maxSilent` silent frames. */
export function expectTone(tone, { freq = 440, sampleRate, numChannels, frames = 100, maxSilent = 0.05 }) {
  expect(tone.formats).toEqual([`${sampleRate}/${numChannels}`]);
  expect(
    tone.silentFrames / frames,
    `silent fraction (${tone.silentFrames}/${frames}, at ${tone.silentAt})`,
  ).toBeLessThanOrEqual(maxSilent);
  for (let c = 0; c < numChannels; c++) {
    const f = detectFrequency(tone.channels[c], sampleRate);
    expect(Math.abs(f - freq) / freq, `channel ${c}: detected ${f.toFixed(1)} Hz, want ${freq}`).toBeLessThan(0.02);
  }
}
