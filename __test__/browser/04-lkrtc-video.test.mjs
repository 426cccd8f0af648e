// lkrtc video with the official browser SDK through lkrtc-server (issue 11): an lkrtc
// VideoSource (I420 frames whose brightness flips every second) published as VP8 and as
// H.264 renders in livekit-client in headless Chromium: the browser decodes it with that
// codec (`framesDecoded` rising in the receiver's stats) and the picture drawn on a canvas
// flips dark/bright with the source. The other way, Chromium's synthetic camera reaches an
// lkrtc VideoStream at the size it was published.
import { describe, expect, it } from 'vitest';
import { joinFromBrowser, useBrowser, watchCamera } from '../helpers/browser.mjs';
import { Scope, uniqueRoomName, withTimeout } from '../helpers/rtc.mjs';
import { feed } from '../helpers/video.mjs';
import { connectLk, expectHandles, lk } from '../client/lk.mjs';

const W = 320;
const H = 240;

/** A uniform I420 picture of luma `level`. */
function picture(level) {
  const data = new Uint8Array((W * H * 3) / 2).fill(128);
  data.fill(level, 0, W * H);
  return new lk.VideoFrame(data, W, H, lk.VideoBufferType.I420);
}

describe('lkrtc video with livekit-client in Chromium', () => {
  const env = useBrowser();

  it.each([
    ['VP8', 'video/VP8'],
    ['H264', 'video/H264'],
  ])('an lkrtc %s camera renders in the browser and its brightness flips', async (codec, mime) => {
    const { server, browser } = env;
    const scope = new Scope();
    try {
      const roomName = uniqueRoomName(`browser-lk-${codec}`);
      const room = await connectLk(scope, server, 'node', roomName);
      const tab = await browser.open();
      expect(await joinFromBrowser(tab, server, 'browser', roomName)).toEqual(['node']);

      const source = new lk.VideoSource(W, H);
      scope.defer(async () => source.close());
      scope.defer(feed(source, W, H, undefined, picture));
      const track = lk.LocalVideoTrack.createVideoTrack('lk-cam', source);
      const options = new lk.TrackPublishOptions({
        source: lk.TrackSource.SOURCE_CAMERA,
        simulcast: false,
        videoCodec: lk.VideoCodec[codec],
        videoEncoding: { maxBitrate: 600_000n, maxFramerate: 30 },
      });
      await withTimeout(room.localParticipant.publishTrack(track, options), 20_000, 'publishTrack(lk-cam)');

      const seen = await withTimeout(watchCamera(tab, 'node'), 30_000, "the browser to decode lkrtc's camera");
      console.log(`lkrtc ${codec} camera in the browser: ${JSON.stringify(seen)}`);
      expect(seen.codec?.toLowerCase(), 'codec the browser decodes').toBe(mime.toLowerCase());
      expect(seen.last - seen.first, 'frames decoded in 4 s').toBeGreaterThan(40);
      expect(`${seen.width}x${seen.height}`).toBe(`${W}x${H}`);
      expect(seen.levels.filter((l) => l < 90).length, 'dark pictures').toBeGreaterThan(2);
      expect(seen.levels.filter((l) => l > 150).length, 'bright pictures').toBeGreaterThan(2);

      await tab.page.evaluate(() => globalThis.room.disconnect());
      await tab.page.close();
    } finally {
      await scope.close();
    }
    expectHandles({});
  });

  it("the browser's camera reaches an lkrtc VideoStream", async () => {
    const { server, browser } = env;
    const scope = new Scope();
    try {
      const roomName = uniqueRoomName('browser-cam-lk');
      const room = await connectLk(scope, server, 'node', roomName);
      const tab = await browser.open();
      expect(await joinFromBrowser(tab, server, 'browser', roomName)).toEqual(['node']);
      const subscribed = new Promise((res) =>
        room.on(lk.RoomEvent.TrackSubscribed, (t) => t.kind === lk.TrackKind.KIND_VIDEO && res(t)),
      );
      // One layer at a size the browser's encoder sends from the start (a larger camera
      // starts smaller and scales up as the bandwidth estimate grows).
      const published = await withTimeout(
        tab.page.evaluate(
          async ({ width, height }) => {
            const pub = await globalThis.room.localParticipant.setCameraEnabled(
              true,
              { resolution: { width, height, frameRate: 30 } },
              { simulcast: false },
            );
            const settings = pub.track.mediaStreamTrack.getSettings();
            return `${settings.width}x${settings.height}`;
          },
          { width: W, height: H },
        ),
        20_000,
        'the browser to publish its camera',
      );
      expect(published).toBe(`${W}x${H}`);
      const camera = await withTimeout(subscribed, 20_000, "lkrtc to subscribe to the browser's camera");
      const stream = new lk.VideoStream(camera);
      const sizes = new Map();
      let frames = 0;
      const until = Date.now() + 4_000;
      const reading = (async () => {
        for await (const { frame } of stream) {
          frames++;
          const size = `${frame.width}x${frame.height}`;
          sizes.set(size, (sizes.get(size) ?? 0) + 1);
          if (Date.now() > until) break;
        }
      })();
      await withTimeout(reading, 15_000, "frames of the browser's camera");
      stream.close?.();
      console.log(`browser camera at lkrtc: ${frames} frames in 4 s, sizes ${JSON.stringify([...sizes])}`);
      expect(frames, 'camera frames in 4 s').toBeGreaterThan(40);
      expect((sizes.get(`${W}x${H}`) ?? 0) / frames, 'share of frames at the published size').toBeGreaterThan(0.8);

      await tab.page.evaluate(() => globalThis.room.disconnect());
      await tab.page.close();
    } finally {
      await scope.close();
    }
    expectHandles({});
  });
});
