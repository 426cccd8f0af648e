// Encrypted simulcast: an rtc-node publisher sends three encrypted VP8 layers (1280x720,
// 640x360, 320x180); lkrtc-server picks the layer each subscriber asks for from the clear VP8
// header bytes (the payload is ciphertext), and an lkrtc viewer with the key decodes every
// layer it switches to.
import * as official from '@livekit/rtc-node';
import { describe, expect, it } from 'vitest';
import { lk } from '../client/lk.mjs';
import { uniqueRoomName, waitForEvent, withTimeout } from '../helpers/rtc.mjs';
import { feed, look, quadrantPicture } from '../helpers/video.mjs';
import { e2ee, enc, useE2ee } from './e2ee.mjs';

const W = 1280;
const H = 720;
const KEY = enc('simulcast key');

/** Reads until a frame of `size` showing the picture arrives; the sizes seen otherwise. */
async function until(reader, size, ms) {
  const deadline = Date.now() + ms;
  const sizes = new Set();
  while (Date.now() < deadline) {
    const { value, done } = await withTimeout(reader.read(), 10_000, `a ${size} frame`);
    if (done) break;
    const seen = look(value.frame);
    if (seen.size === size && seen.red) return `${size} with the picture`;
    sizes.add(`${seen.size}${seen.red ? ' with the picture' : ''}`);
  }
  return `not ${size}: ${[...sizes].join(', ')}`;
}

describe('encrypted simulcast', () => {
  const env = useE2ee();

  it('VP8 from rtc-node: the lkrtc viewer switches layers and every layer decodes', async () => {
    const room = uniqueRoomName('e2ee-simulcast');
    const viewer = await env.connect(lk, 'viewer', room, e2ee(lk, KEY));
    const subscribed = waitForEvent(viewer, 'trackSubscribed', { timeoutMs: 20_000 });
    const camera = await env.connect(official, 'camera', room, e2ee(official, KEY));
    const source = new official.VideoSource(W, H);
    env.scope.defer(feed(source, W, H, undefined, (level) => quadrantPicture(official.VideoFrame, W, H, level)));
    const options = new official.TrackPublishOptions();
    options.source = official.TrackSource.SOURCE_CAMERA;
    options.simulcast = true;
    options.videoCodec = official.VideoCodec.VP8;
    const track = official.LocalVideoTrack.createVideoTrack('cam', source);
    await withTimeout(camera.localParticipant.publishTrack(track, options), 20_000, 'publish');
    const [remote, publication] = await subscribed;
    expect(publication.simulcasted).toBe(true);
    expect(publication.encryptionType).toBe(lk.EncryptionType.GCM);
    const reader = new lk.VideoStream(remote).getReader();
    try {
      for (const [quality, size] of [
        [lk.VideoQuality.HIGH, `${W}x${H}`],
        [lk.VideoQuality.LOW, '320x180'],
        [lk.VideoQuality.HIGH, `${W}x${H}`],
      ]) {
        await publication.setVideoQuality(quality);
        expect(await until(reader, size, 20_000)).toBe(`${size} with the picture`);
      }
    } finally {
      await reader.cancel().catch(() => {});
    }
  });
});
