// Scenario 3: audio is forwarded. One participant publishes a 440 Hz sine from
// an AudioSource (48 kHz, mono then stereo); the other subscribes, reads an
// AudioStream, and the frequency detected by autocorrelation matches.
import { RoomEvent, TrackKind } from '@livekit/rtc-node';
import { describe, expect, it } from 'vitest';
import { detectFrequency, publishSine, readTone, uniqueRoomName, waitForEvent, waitUntil } from './helpers/rtc.mjs';
import { useServer } from './helpers/server.mjs';

const FREQ = 440;
const FRAMES = 150; // 1.5 s of 10 ms frames, after the leading silence
const MAX_SILENT_FRACTION = 0.1;

describe('audio forwarding', () => {
  const env = useServer('audio');

  for (const channels of [1, 2]) {
    it(`forwards a ${FREQ} Hz sine, 48 kHz ${channels === 1 ? 'mono' : 'stereo'}`, async () => {
      const roomName = uniqueRoomName(`audio${channels}`);
      const sub = await env.scope.connect(env.server, 'listener', roomName);
      const pub = await env.scope.connect(env.server, 'speaker', roomName);
      await waitUntil(() => sub.remoteParticipants.get('speaker'), {
        timeoutMs: 10_000,
        what: 'listener to see speaker',
      });

      const subscribed = waitForEvent(sub, RoomEvent.TrackSubscribed, {
        timeoutMs: 20_000,
        filter: (_track, _pub, participant) => participant.identity === 'speaker',
        what: "listener to get trackSubscribed for speaker's track",
      });
      const published = waitForEvent(sub, RoomEvent.TrackPublished, {
        timeoutMs: 20_000,
        filter: (_pub, participant) => participant.identity === 'speaker',
        what: "listener to get trackPublished for speaker's track",
      });
      const sine = await publishSine(pub, {
        freq: FREQ,
        sampleRate: 48_000,
        channels,
        name: `sine-${channels}ch`,
        scope: env.scope,
      });
      expect(sine.publication.sid).toMatch(/^TR_/);

      const [remotePub] = await published;
      expect(remotePub.sid).toBe(sine.publication.sid);
      expect(remotePub.name).toBe(`sine-${channels}ch`);
      const [track, subPub] = await subscribed;
      expect(subPub.sid).toBe(sine.publication.sid);
      expect(track.kind).toBe(TrackKind.KIND_AUDIO);

      const tone = await readTone(track, {
        sampleRate: 48_000,
        numChannels: channels,
        frames: FRAMES,
        timeoutMs: 30_000,
      });
      expect(sine.error).toBeNull();
      expect(tone.formats).toEqual([`48000/${channels}`]);
      for (let ch = 0; ch < channels; ch++) {
        const samples = tone.channels[ch];
        expect(samples.length).toBe(FRAMES * 480);
        const hz = detectFrequency(samples, 48_000);
        expect(
          Math.abs(hz - FREQ) / FREQ,
          `channel ${ch}: detected ${hz.toFixed(1)} Hz, expected ${FREQ} Hz ` +
            `(${tone.silentFrames}/${FRAMES} silent frames, ${tone.skippedFrames} skipped)`,
        ).toBeLessThan(0.03);
      }
      expect(
        tone.silentFrames / FRAMES,
        `${tone.silentFrames} of ${FRAMES} frames after the tone started were silent`,
      ).toBeLessThanOrEqual(MAX_SILENT_FRACTION);
    });
  }
});
