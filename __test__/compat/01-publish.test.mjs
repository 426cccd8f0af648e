// Conformance (issue 8): publishing a LocalAudioTrack. Written once, run with
// @livekit/rtc-node and with lkrtc (see compat.mjs).
//  1. A track published before its first frame reaches subscribers: the remote side's
//     trackSubscribed arrives BEFORE any frame is fed; the tone fed afterwards is heard.
//  9. unpublishTrack(sid, false) keeps the track usable: publishing the same
//     LocalAudioTrack again works and the remote side subscribes to it again.
import { describe, expect, it } from 'vitest';
import { detectFrequency } from '../helpers/rtc.mjs';
import {
  SDKS,
  publishSignal,
  readSeconds,
  sine,
  uniqueRoomName,
  useCompat,
  waitForEvent,
  withTimeout,
} from './compat.mjs';

describe.each(SDKS)('publish (%s)', (name, sdk) => {
  const env = useCompat(name, sdk);
  const { RoomEvent } = sdk;

  it('a track published before its first frame: trackSubscribed arrives before any frame, then the tone is heard', async () => {
    const { scope } = env;
    const roomName = uniqueRoomName('c-prepub');
    const pubRoom = await scope.connect('publisher', roomName);
    const subRoom = await scope.connect('subscriber', roomName);
    const subscribed = waitForEvent(subRoom, RoomEvent.TrackSubscribed, {
      timeoutMs: 10_000,
      filter: (_t, _pub, p) => p.identity === 'publisher',
      what: "the subscriber's trackSubscribed for a track published before its first frame (no audio fed yet)",
    });
    const pub = await publishSignal(sdk, pubRoom, {
      signal: sine(440, 0.3),
      start: false,
      scope,
      name: 'idle-at-publish',
    });
    const [track, rpub] = await subscribed;
    expect(pub.framesSent, 'no frame was fed before trackSubscribed').toBe(0);
    expect(rpub.sid).toBe(pub.publication.sid);

    pub.start();
    const got = await readSeconds(sdk, track, { seconds: 1, what: 'tone fed after trackSubscribed' });
    expect(got.formats).toEqual(['48000/1']);
    const f = detectFrequency(got.channels[0], 48_000);
    expect(Math.abs(f - 440) / 440, `detected ${f.toFixed(1)} Hz, want 440`).toBeLessThan(0.02);
  });

  it('unpublishTrack(sid, false) then publishTrack of the same track: the remote side sees it again', async () => {
    const { scope } = env;
    const roomName = uniqueRoomName('c-republish');
    const pubRoom = await scope.connect('publisher', roomName);
    const subRoom = await scope.connect('subscriber', roomName);
    const isPublisher = (_t, _pub, p) => p.identity === 'publisher';

    const first = waitForEvent(subRoom, RoomEvent.TrackSubscribed, {
      timeoutMs: 15_000,
      filter: isPublisher,
      what: 'the first trackSubscribed',
    });
    const pub = await publishSignal(sdk, pubRoom, { signal: sine(440, 0.3), scope, name: 'republished' });
    const [, rpub1] = await first;
    expect(rpub1.sid).toBe(pub.publication.sid);

    const gone = waitForEvent(subRoom, RoomEvent.TrackUnpublished, {
      timeoutMs: 15_000,
      filter: (p) => p.sid === rpub1.sid,
      what: 'trackUnpublished after unpublishTrack(sid, false)',
    });
    await withTimeout(
      pubRoom.localParticipant.unpublishTrack(pub.publication.sid, false),
      10_000,
      'unpublishTrack(sid, false)',
    );
    await gone;
    expect(
      pubRoom.localParticipant.trackPublications.has(pub.publication.sid),
      'the local publication is removed',
    ).toBe(false);

    const again = waitForEvent(subRoom, RoomEvent.TrackSubscribed, {
      timeoutMs: 15_000,
      filter: isPublisher,
      what: 'trackSubscribed for the republished track',
    });
    const options = new sdk.TrackPublishOptions();
    options.source = sdk.TrackSource.SOURCE_MICROPHONE;
    const pub2 = await withTimeout(
      pubRoom.localParticipant.publishTrack(pub.track, options),
      15_000,
      'publishTrack of the same LocalAudioTrack after unpublishTrack(sid, false)',
    );
    const [track2, rpub2] = await again;
    expect(rpub2.sid).toBe(pub2.sid);
    expect(pub2.sid, 'the republished track gets a new sid').not.toBe(pub.publication.sid);
    expect(pub.error, 'the feeding loop kept working').toBeNull();

    const got = await readSeconds(sdk, track2, { seconds: 1, what: 'tone of the republished track' });
    const f = detectFrequency(got.channels[0], 48_000);
    expect(Math.abs(f - 440) / 440, `detected ${f.toFixed(1)} Hz, want 440`).toBeLessThan(0.02);
  });
});
