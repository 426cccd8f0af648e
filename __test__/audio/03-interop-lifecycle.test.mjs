// Issue 4: unpublish across SDKs. An official publisher unpublishes: the lkrtc subscriber
// gets trackUnsubscribed then trackUnpublished and its AudioStream iteration completes.
// An lkrtc publisher unpublishes: the official subscriber sees the track go. Counts end at 0.
import * as official from '@livekit/rtc-node';
import { describe, expect, it } from 'vitest';
import { uniqueRoomName, waitForEvent, waitUntil, withTimeout } from '../helpers/rtc.mjs';
import { connectLk, expectHandles, lk, useLkEnv } from '../client/lk.mjs';
import { publishSineWith } from './audio-helpers.mjs';

const { RoomEvent, AudioStream } = lk;

describe('unpublish across SDKs', () => {
  const env = useLkEnv(undefined, { settleMs: 5_000 });

  it('official publisher unpublishes: lkrtc subscriber events in order, stream completes', async () => {
    const roomName = uniqueRoomName('x-unpub');
    const pubRoom = await env.scope.connect(env.dev, 'official-pub', roomName);
    const subRoom = await connectLk(env.scope, env.dev, 'lk-sub', roomName);
    const subscribed = waitForEvent(subRoom, RoomEvent.TrackSubscribed, { timeoutMs: 20_000, what: 'trackSubscribed' });
    const sine = await publishSineWith(official, pubRoom, { scope: env.scope });
    const [track, rpub] = await subscribed;
    let frames = 0;
    const iteration = (async () => {
      for await (const _f of new AudioStream(track, { sampleRate: 24_000, numChannels: 1 })) frames++;
    })();
    await waitUntil(() => frames >= 20, { timeoutMs: 10_000, what: '20 frames' });
    const log = [];
    subRoom.on(RoomEvent.TrackUnsubscribed, (_t, p) => log.push(`trackUnsubscribed ${p.sid}`));
    subRoom.on(RoomEvent.TrackUnpublished, (p) => log.push(`trackUnpublished ${p.sid}`));
    const gone = waitForEvent(subRoom, RoomEvent.TrackUnpublished, { timeoutMs: 20_000, what: 'trackUnpublished' });
    await pubRoom.localParticipant.unpublishTrack(sine.publication.sid);
    await gone;
    expect(log).toEqual([`trackUnsubscribed ${rpub.sid}`, `trackUnpublished ${rpub.sid}`]);
    await withTimeout(iteration, 5_000, 'the AudioStream iteration to complete');
    expect(rpub.isDisposed).toBe(true);
    expect(track.isDisposed).toBe(true);
    // lkrtc side: only its room and participants remain
    expectHandles({ room: 1, participant: 2 });
  });

  it('lkrtc publisher unpublishes: the official subscriber sees trackUnpublished', async () => {
    const roomName = uniqueRoomName('x-unpub2');
    const pubRoom = await connectLk(env.scope, env.dev, 'lk-pub', roomName);
    const subRoom = await env.scope.connect(env.dev, 'official-sub', roomName);
    const subscribed = waitForEvent(subRoom, official.RoomEvent.TrackSubscribed, {
      timeoutMs: 20_000,
      what: 'trackSubscribed',
    });
    const sine = await publishSineWith(lk, pubRoom, { scope: env.scope });
    await subscribed;
    const gone = waitForEvent(subRoom, official.RoomEvent.TrackUnpublished, {
      timeoutMs: 20_000,
      what: 'trackUnpublished',
    });
    await pubRoom.localParticipant.unpublishTrack(sine.publication.sid);
    const [opub] = await gone;
    expect(opub.sid).toBe(sine.publication.sid);
    await sine.stop();
    expectHandles({ room: 1, participant: 2 });
  });
});
