// End-to-end encrypted video, lkrtc ↔ rtc-node, VP8 and H.264: a viewer with the key sees the
// picture (red top-left quadrant); a viewer without encryption in the same room gets frames
// whose payload is ciphertext (the SFU still forwards them: the codec headers stay clear) and
// never sees the picture.
import * as official from '@livekit/rtc-node';
import { describe, expect, it } from 'vitest';
import { lk } from '../client/lk.mjs';
import { uniqueRoomName, waitForEvent, withTimeout } from '../helpers/rtc.mjs';
import { feed, look, quadrantPicture } from '../helpers/video.mjs';
import { e2ee, enc, useE2ee } from './e2ee.mjs';

const W = 320;
const H = 240;
const KEY = enc('video key');

/** What `sdk`'s viewer sees of `track` for `ms` (frames that fail to arrive: none). */
async function watch(sdk, track, ms) {
  const reader = new sdk.VideoStream(track).getReader();
  const seen = [];
  const deadline = Date.now() + ms;
  try {
    while (Date.now() < deadline) {
      const next = await Promise.race([reader.read(), new Promise((r) => setTimeout(() => r(null), 500))]);
      if (next === null) continue;
      if (next.done) break;
      seen.push(look(next.value.frame));
    }
  } finally {
    await Promise.resolve()
      .then(() => reader.cancel())
      .catch(() => {});
  }
  return seen;
}

const CASES = [
  ['lkrtc → rtc-node', 'VP8', lk, official],
  ['lkrtc → rtc-node', 'H264', lk, official],
  ['rtc-node → lkrtc', 'VP8', official, lk],
  ['rtc-node → lkrtc', 'H264', official, lk],
];

describe('encrypted video', () => {
  const env = useE2ee();

  it.each(CASES)('%s %s: the viewer with the key sees the picture, one without does not', async (_n, codec, P, V) => {
    const room = uniqueRoomName(`e2ee-video-${codec}`);
    const viewer = await env.connect(V, 'viewer', room, e2ee(V, KEY));
    const outsider = await env.connect(V, 'outsider', room, {});
    const subscribed = waitForEvent(viewer, 'trackSubscribed', { timeoutMs: 20_000 });
    const outsiderSubscribed = waitForEvent(outsider, 'trackSubscribed', { timeoutMs: 20_000 });
    const publisher = await env.connect(P, 'camera', room, e2ee(P, KEY));
    const source = new P.VideoSource(W, H);
    const stop = feed(source, W, H, undefined, (level) => quadrantPicture(P.VideoFrame, W, H, level));
    env.scope.defer(async () => {
      await stop();
      await source.close?.();
    });
    const track = P.LocalVideoTrack.createVideoTrack('cam', source);
    const options = new P.TrackPublishOptions();
    options.source = P.TrackSource.SOURCE_CAMERA;
    options.simulcast = false;
    options.videoCodec = P.VideoCodec[codec];
    await withTimeout(publisher.localParticipant.publishTrack(track, options), 20_000, 'publish');
    const [remote, publication] = await subscribed;
    expect(publication.encryptionType).toBe(V.EncryptionType.GCM);
    expect(publication.mimeType.toLowerCase()).toBe(`video/${codec.toLowerCase()}`);

    const seen = await watch(V, remote, 4_000);
    const red = seen.filter((f) => f.red && f.size === `${W}x${H}`).length;
    console.log(`${_n} ${codec}: ${seen.length} frames with the key, ${red} with the picture`);
    expect(red, 'frames showing the picture with the key').toBeGreaterThan(30);

    const [outsiderTrack] = await outsiderSubscribed;
    const garbled = await watch(V, outsiderTrack, 3_000);
    const leaked = garbled.filter((f) => f.red).length;
    console.log(`${_n} ${codec}: ${garbled.length} frames without the key, ${leaked} with the picture`);
    expect(leaked, 'frames showing the picture without the key').toBe(0);
  });
});
