// Scenario 4: unpublish and leave.
// - unpublishTrack() on one side => trackUnpublished on the peer;
// - the publisher leaves => for each of its tracks trackUnsubscribed then
//   trackUnpublished, then participantDisconnected, in that order.
import { RoomEvent } from '@livekit/rtc-node';
import { describe, expect, it } from 'vitest';
import { delay, publishSine, uniqueRoomName, waitForEvent, waitUntil } from './helpers/rtc.mjs';
import { useServer } from './helpers/server.mjs';

/** Logs the events of `room` that concern remote participant `identity`, in order. */
function recordEventsOf(room, identity) {
  const log = [];
  const on = (event, pick) =>
    room.on(event, (...args) => {
      const entry = pick(...args);
      if (entry) log.push(entry);
    });
  on(RoomEvent.TrackSubscribed, (_t, pub, p) => p.identity === identity && `trackSubscribed ${pub.sid}`);
  on(RoomEvent.TrackUnsubscribed, (_t, pub, p) => p.identity === identity && `trackUnsubscribed ${pub.sid}`);
  on(RoomEvent.TrackPublished, (pub, p) => p.identity === identity && `trackPublished ${pub.sid}`);
  on(RoomEvent.TrackUnpublished, (pub, p) => p.identity === identity && `trackUnpublished ${pub.sid}`);
  on(RoomEvent.ParticipantDisconnected, (p) => p.identity === identity && 'participantDisconnected');
  return log;
}

describe('unpublish and leave', () => {
  const env = useServer('unpublish-leave');

  it('unpublish gives trackUnpublished; leave gives per-track unsubscribed/unpublished then participantDisconnected', async () => {
    const roomName = uniqueRoomName('leave');
    const watcher = await env.scope.connect(env.server, 'watcher', roomName);
    const leaver = await env.scope.connect(env.server, 'leaver', roomName);
    await waitUntil(() => watcher.remoteParticipants.get('leaver'), {
      timeoutMs: 10_000,
      what: 'watcher to see leaver',
    });
    const log = recordEventsOf(watcher, 'leaver');

    // Three tracks: one is unpublished, two are still there when leaving.
    const sines = [];
    for (const name of ['one', 'two', 'three']) {
      sines.push(await publishSine(leaver, { name, freq: 300 + 100 * sines.length, scope: env.scope }));
    }
    const sids = sines.map((s) => s.publication.sid);
    for (const sid of sids) expect(sid).toMatch(/^TR_/);
    await waitUntil(() => sids.every((sid) => log.includes(`trackSubscribed ${sid}`)), {
      timeoutMs: 20_000,
      what: () => `watcher to subscribe to all 3 tracks (log: ${JSON.stringify(log)})`,
    });
    const remote = watcher.remoteParticipants.get('leaver');
    expect([...remote.trackPublications.keys()].sort()).toEqual([...sids].sort());

    // 1. Unpublish one track.
    const [gone, ...kept] = sids;
    const unpublished = waitForEvent(watcher, RoomEvent.TrackUnpublished, {
      timeoutMs: 10_000,
      filter: (pub) => pub.sid === gone,
      what: `watcher to get trackUnpublished(${gone})`,
    });
    await leaver.localParticipant.unpublishTrack(gone);
    const [pub, participant] = await unpublished;
    expect(participant.identity).toBe('leaver');
    expect(pub.sid).toBe(gone);
    expect(remote.trackPublications.has(gone)).toBe(false);
    expect(watcher.remoteParticipants.get('leaver')).toBe(remote);
    // If the track was subscribed, trackUnsubscribed precedes trackUnpublished.
    const iUnsub = log.indexOf(`trackUnsubscribed ${gone}`);
    const iUnpub = log.indexOf(`trackUnpublished ${gone}`);
    expect(iUnpub).toBeGreaterThanOrEqual(0);
    if (iUnsub >= 0) expect(iUnsub).toBeLessThan(iUnpub);
    // The other tracks are untouched.
    await delay(300);
    for (const sid of kept) {
      expect(remote.trackPublications.has(sid)).toBe(true);
      expect(log).not.toContain(`trackUnpublished ${sid}`);
    }

    // 2. Leave.
    const before = log.length;
    const disconnected = waitForEvent(watcher, RoomEvent.ParticipantDisconnected, {
      timeoutMs: 10_000,
      filter: (p) => p.identity === 'leaver',
      what: 'watcher to get participantDisconnected(leaver)',
    });
    await leaver.disconnect();
    await disconnected;
    await delay(300);

    const tail = log.slice(before);
    // Exactly: for each remaining track (any order of tracks) trackUnsubscribed
    // then trackUnpublished, then participantDisconnected.
    expect(tail.length, JSON.stringify(tail)).toBe(2 * kept.length + 1);
    expect(tail[tail.length - 1]).toBe('participantDisconnected');
    const seen = [];
    for (let i = 0; i < kept.length; i++) {
      const unsub = tail[2 * i];
      const unpub = tail[2 * i + 1];
      const sid = unsub.split(' ')[1];
      expect(unsub, JSON.stringify(tail)).toBe(`trackUnsubscribed ${sid}`);
      expect(unpub, JSON.stringify(tail)).toBe(`trackUnpublished ${sid}`);
      seen.push(sid);
    }
    expect(seen.sort()).toEqual([...kept].sort());
    expect(watcher.remoteParticipants.has('leaver')).toBe(false);
  });
});
