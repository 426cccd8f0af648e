// Issue 4: a sine tone crosses the lkrtc-server intact, lkrtc -> lkrtc, lkrtc -> official
// and official -> lkrtc, at (48000, 1), (48000, 2), (24000, 1) and (16000, 1): the
// receiver's frames have the asked format, the frequency found by autocorrelation is the
// one sent, and almost no frame of the tone is silent. Handle counts end at zero.
import * as official from '@livekit/rtc-node';
import { describe, it } from 'vitest';
import { uniqueRoomName, waitForEvent } from '../helpers/rtc.mjs';
import { connectLk, lk, useLkEnv } from '../client/lk.mjs';
import { expectTone, publishSineWith, readToneWith } from './audio-helpers.mjs';

const FORMATS = [
  [48_000, 1],
  [48_000, 2],
  [24_000, 1],
  [16_000, 1],
];
const FREQ = 440;

describe('sine transfer through lkrtc-server', () => {
  const env = useLkEnv(undefined, { settleMs: 5_000 });

  /** Publisher `pubMod` in `pubRoom` sends; subscriber `subMod` in `subRoom` checks the tone. */
  async function transfer(pubMod, pubRoom, subMod, subRoom, sampleRate, numChannels) {
    const subscribed = waitForEvent(subRoom, 'trackSubscribed', { timeoutMs: 20_000, what: 'trackSubscribed' });
    await publishSineWith(pubMod, pubRoom, { freq: FREQ, sampleRate, channels: numChannels, scope: env.scope });
    const [track] = await subscribed;
    const tone = await readToneWith(subMod, track, { sampleRate, numChannels, frames: 100 });
    // At most 5 % silent frames in every direction. (official -> lkrtc caught libwebrtc's
    // padding-only audio packets being decoded as losses; probe-official-decode.mjs.)
    expectTone(tone, { freq: FREQ, sampleRate, numChannels, frames: 100, maxSilent: 0.05 });
  }

  for (const [rate, ch] of FORMATS) {
    it(`lkrtc -> lkrtc at ${rate} Hz, ${ch} ch`, async () => {
      const roomName = uniqueRoomName('sine-ll');
      const a = await connectLk(env.scope, env.dev, 'lk-pub', roomName);
      const b = await connectLk(env.scope, env.dev, 'lk-sub', roomName);
      await transfer(lk, a, lk, b, rate, ch);
    });

    it(`lkrtc -> official at ${rate} Hz, ${ch} ch`, async () => {
      const roomName = uniqueRoomName('sine-lo');
      const a = await connectLk(env.scope, env.dev, 'lk-pub', roomName);
      const b = await env.scope.connect(env.dev, 'official-sub', roomName);
      await transfer(lk, a, official, b, rate, ch);
    });

    it(`official -> lkrtc at ${rate} Hz, ${ch} ch`, async () => {
      const roomName = uniqueRoomName('sine-ol');
      const a = await env.scope.connect(env.dev, 'official-pub', roomName);
      const b = await connectLk(env.scope, env.dev, 'lk-sub', roomName);
      await transfer(official, a, lk, b, rate, ch);
    });
  }
});
