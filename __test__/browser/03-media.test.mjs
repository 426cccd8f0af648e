// Media between the official browser SDK and the official Node SDK through lkrtc-server
// (issue 10): livekit-client in headless Chromium joins with default options and publishes
// Chromium's synthetic camera and microphone (`setCameraEnabled`, `setMicrophoneEnabled`);
// an official Node participant (@livekit/rtc-node) receives the camera's frames and the
// microphone's sound. The other way, the Node participant publishes a camera whose
// brightness flips every second: the browser decodes it (`framesDecoded` rising in the
// receiver's stats) and sees the picture flip (the <video> drawn on a canvas). Data and
// RPC cross both ways.
import * as official from '@livekit/rtc-node';
import { describe, expect, it } from 'vitest';
import { exchangeData, joinFromBrowser, useBrowser, watchCamera } from '../helpers/browser.mjs';
import { Scope, peak, uniqueRoomName, waitUntil, withTimeout } from '../helpers/rtc.mjs';

const W = 320;
const H = 240;
const DARK = 40;
const BRIGHT = 200;

/** Feeds `source` I420 frames at 30 fps, brightness flipping every second, until stop(). */
function feed(source) {
  let running = true;
  const started = Date.now();
  const loop = (async () => {
    while (running) {
      const bright = Math.floor((Date.now() - started) / 1000) % 2 === 1;
      const data = new Uint8Array((W * H * 3) / 2).fill(128);
      data.fill(bright ? BRIGHT : DARK, 0, W * H);
      source.captureFrame(new official.VideoFrame(data, W, H, official.VideoBufferType.I420));
      await new Promise((r) => setTimeout(r, 33));
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}

/** Resolves the first remote track of `kind` the official `room` has from `identity`. */
async function remoteTrack(room, identity, kind) {
  let track = null;
  await waitUntil(
    () => {
      const pubs = [...(room.remoteParticipants.get(identity)?.trackPublications.values() ?? [])];
      track = pubs.find((p) => p.kind === kind && p.track)?.track ?? null;
      return track !== null;
    },
    { timeoutMs: 20_000, what: `the Node participant to subscribe to the browser's ${official.TrackKind[kind]}` },
  );
  return track;
}

describe('livekit-client media with the official Node SDK', () => {
  const env = useBrowser();

  it('camera and microphone reach Node, Node video renders in the browser, data and RPC cross', async () => {
    const { server, browser } = env;
    const scope = new Scope();
    try {
      const roomName = uniqueRoomName('browser-media');
      const node = await scope.connect(server, 'node', roomName);
      node.localParticipant.registerRpcMethod('echo', async (data) => `node echoes ${data.payload}`);
      const tab = await browser.open();
      expect(await joinFromBrowser(tab, server, 'browser', roomName)).toEqual(['node']);

      // Browser camera + microphone -> Node.
      await withTimeout(
        tab.page.evaluate(async () => {
          await globalThis.room.localParticipant.setCameraEnabled(true);
          await globalThis.room.localParticipant.setMicrophoneEnabled(true);
        }),
        20_000,
        'the browser to publish its camera and microphone',
      );
      const camera = await remoteTrack(node, 'browser', official.TrackKind.KIND_VIDEO);
      const reader = new official.VideoStream(camera).getReader();
      const sizes = new Set();
      let frames = 0;
      const videoUntil = Date.now() + 3_000;
      while (Date.now() < videoUntil) {
        const { value, done } = await withTimeout(reader.read(), 10_000, "a frame of the browser's camera");
        if (done) break;
        frames++;
        sizes.add(`${value.frame.width}x${value.frame.height}`);
      }
      reader.releaseLock();
      console.log(`browser camera at Node: ${frames} frames in 3 s, sizes ${[...sizes].join(', ')}`);
      expect(frames, 'camera frames in 3 s').toBeGreaterThan(30);
      for (const size of sizes) expect(size).toMatch(/^[1-9]\d*x[1-9]\d*$/);

      const mic = await remoteTrack(node, 'browser', official.TrackKind.KIND_AUDIO);
      const audio = new official.AudioStream(mic, { sampleRate: 48_000, numChannels: 1 }).getReader();
      let loudest = 0;
      let audioFrames = 0;
      const audioUntil = Date.now() + 3_000;
      while (Date.now() < audioUntil) {
        const { value, done } = await withTimeout(audio.read(), 10_000, "audio of the browser's microphone");
        if (done) break;
        audioFrames++;
        loudest = Math.max(loudest, peak(value));
      }
      audio.releaseLock();
      console.log(`browser microphone at Node: ${audioFrames} frames, peak ${loudest}`);
      expect(audioFrames, 'microphone frames in 3 s (10 ms each)').toBeGreaterThan(150);
      expect(loudest, "the fake microphone's beep is heard").toBeGreaterThan(1_000);

      // Node camera -> browser: decoded, and the picture flips.
      const source = new official.VideoSource(W, H);
      scope.defer(feed(source));
      const track = official.LocalVideoTrack.createVideoTrack('node-cam', source);
      const options = new official.TrackPublishOptions();
      options.source = official.TrackSource.SOURCE_CAMERA;
      options.simulcast = false;
      await withTimeout(node.localParticipant.publishTrack(track, options), 20_000, 'publishTrack(node-cam)');
      const seen = await withTimeout(watchCamera(tab, 'node'), 30_000, "the browser to decode Node's camera");
      console.log(`Node camera in the browser: ${JSON.stringify(seen)}`);
      expect(seen.last - seen.first, 'frames decoded in 4 s').toBeGreaterThan(40);
      expect(`${seen.width}x${seen.height}`).toBe(`${W}x${H}`);
      expect(seen.levels.filter((l) => l < 90).length, 'dark pictures').toBeGreaterThan(2);
      expect(seen.levels.filter((l) => l > 150).length, 'bright pictures').toBeGreaterThan(2);

      // Data and RPC, both ways.
      expect(await exchangeData(tab, node, official, 'node')).toEqual({ text: 'from chromium', from: 'browser' });

      const echoed = await tab.page.evaluate(() =>
        globalThis.room.localParticipant.performRpc({ destinationIdentity: 'node', method: 'echo', payload: 'ping' }),
      );
      expect(echoed).toBe('node echoes ping');
      await tab.page.evaluate(() =>
        globalThis.room.registerRpcMethod('shout', async (data) => data.payload.toUpperCase()),
      );
      const shouted = await node.localParticipant.performRpc({
        destinationIdentity: 'browser',
        method: 'shout',
        payload: 'hello browser',
      });
      expect(shouted).toBe('HELLO BROWSER');

      await tab.page.evaluate(() => globalThis.room.disconnect());
      await tab.page.close();
    } finally {
      await scope.close();
    }
  });
});
