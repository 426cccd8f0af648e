// Screen share with audio (issue 10): an official publisher (@livekit/rtc-node) shares a
// "screen" (a VideoSource published as SOURCE_SCREENSHARE) and its audio (a tone published
// as SOURCE_SCREENSHARE_AUDIO) next to its camera-less microphone; an official subscriber
// sees each publication with its source, the screen's frames at their size and the
// screen-share audio's tone at its frequency, separate from the microphone's.
import * as official from '@livekit/rtc-node';
import { describe, expect, it } from 'vitest';
import { publishSine, readTone, detectFrequency, uniqueRoomName, waitUntil, withTimeout } from '../helpers/rtc.mjs';
import { useServer } from '../helpers/server.mjs';

const W = 640;
const H = 360;

/** Feeds `source` RGBA frames of a mid-grey "screen" at 15 fps until stop(). */
function feedScreen(source) {
  let running = true;
  const loop = (async () => {
    while (running) {
      const data = new Uint8Array(W * H * 4).fill(128);
      source.captureFrame(new official.VideoFrame(data, W, H, official.VideoBufferType.RGBA));
      await new Promise((r) => setTimeout(r, 66));
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}

describe('screen share with audio', () => {
  const env = useServer('screen-share');

  it('forwards SCREEN_SHARE video and SCREEN_SHARE_AUDIO next to the microphone', async () => {
    const { server, scope } = env;
    const roomName = uniqueRoomName('screen');
    const pub = await scope.connect(server, 'presenter', roomName);
    const sub = await scope.connect(server, 'viewer', roomName);

    const screen = new official.VideoSource(W, H);
    const screenTrack = official.LocalVideoTrack.createVideoTrack('screen', screen);
    scope.defer(feedScreen(screen));
    const options = new official.TrackPublishOptions();
    options.source = official.TrackSource.SOURCE_SCREENSHARE;
    options.simulcast = false;
    await withTimeout(pub.localParticipant.publishTrack(screenTrack, options), 20_000, 'publishTrack(screen)');
    await publishSine(pub, {
      scope,
      freq: 880,
      name: 'screen-audio',
      trackSource: official.TrackSource.SOURCE_SCREENSHARE_AUDIO,
    });
    await publishSine(pub, { scope, freq: 330, name: 'mic' });

    await waitUntil(
      () =>
        [...(sub.remoteParticipants.get('presenter')?.trackPublications.values() ?? [])].filter((p) => p.track)
          .length === 3,
      {
        timeoutMs: 20_000,
        what: 'the viewer to subscribe to the screen, its audio and the microphone',
      },
    );
    const pubs = [...sub.remoteParticipants.get('presenter').trackPublications.values()];
    const bySource = new Map(pubs.map((p) => [p.source, p]));
    expect([...bySource.keys()].sort()).toEqual(
      [
        official.TrackSource.SOURCE_MICROPHONE,
        official.TrackSource.SOURCE_SCREENSHARE,
        official.TrackSource.SOURCE_SCREENSHARE_AUDIO,
      ].sort(),
    );
    const screenPub = bySource.get(official.TrackSource.SOURCE_SCREENSHARE);
    expect(screenPub.kind).toBe(official.TrackKind.KIND_VIDEO);
    expect(screenPub.name).toBe('screen');
    expect(screenPub.width).toBe(W);
    expect(screenPub.height).toBe(H);
    expect(bySource.get(official.TrackSource.SOURCE_SCREENSHARE_AUDIO).kind).toBe(official.TrackKind.KIND_AUDIO);

    const reader = new official.VideoStream(screenPub.track).getReader();
    const { value } = await withTimeout(reader.read(), 10_000, 'a screen-share frame');
    expect(`${value.frame.width}x${value.frame.height}`).toBe(`${W}x${H}`);
    reader.releaseLock();

    for (const [source, freq] of [
      [official.TrackSource.SOURCE_SCREENSHARE_AUDIO, 880],
      [official.TrackSource.SOURCE_MICROPHONE, 330],
    ]) {
      const { channels } = await readTone(bySource.get(source).track, { frames: 50 });
      const hz = detectFrequency(channels[0], 48_000);
      expect(Math.abs(hz - freq), `tone of ${official.TrackSource[source]}`).toBeLessThan(15);
    }
  });
});
