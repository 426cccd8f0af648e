// Issue 3, tests 1 and 3: eager disposal when a remote participant unpublishes and leaves.
// lkrtc watches; the official @livekit/rtc-node client is the remote peer that publishes.
import v8 from 'node:v8';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { publishSine, Scope, uniqueRoomName, waitForEvent, waitUntil } from '../helpers/rtc.mjs';
import {
  connectLk,
  expectHandles,
  expectLkError,
  lk,
  recordLifecycle,
  rejection,
  startDevServer,
  ZERO,
} from './lk.mjs';

const { RoomEvent, TrackKind, TrackSource } = lk;

/** Counts live heap objects by constructor name (takes a snapshot, which collects garbage first). */
async function heapCounts(names) {
  const chunks = [];
  for await (const chunk of v8.getHeapSnapshot()) chunks.push(chunk);
  const snap = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const counts = Object.fromEntries(names.map((n) => [n, 0]));
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    if (types[snap.nodes[i + typeAt]] !== 'object') continue;
    const name = snap.strings[snap.nodes[i + nameAt]];
    if (name in counts) counts[name] += 1;
  }
  return counts;
}

describe('remote participant leaves (lkrtc watcher, official publisher)', () => {
  let dev;
  let scope;
  beforeAll(async () => {
    dev = await startDevServer();
  });
  afterAll(async () => {
    await dev?.close();
  });
  beforeEach(() => {
    scope = new Scope();
  });
  afterEach(async () => {
    await scope.close();
    expectHandles(ZERO, 'every handle is released once the test rooms are disconnected');
  });

  it('disposes publications after trackUnpublished and the participant after participantDisconnected', async () => {
    const roomName = uniqueRoomName('leave');
    const watcher = await connectLk(scope, dev, 'watcher', roomName);
    expectHandles({ room: 1, participant: 1 }, 'connected watcher: room + local participant');

    const peer = await scope.connect(dev, 'peer', roomName);
    await waitUntil(() => watcher.remoteParticipants.get('peer'), { what: 'watcher to see peer' });
    const remote = watcher.remoteParticipants.get('peer');
    expectHandles({ room: 1, participant: 2 });

    // Every object the events carry, to check "one JS object per native object".
    const fromEvents = { published: new Map(), subscribed: new Map(), tracks: new Map() };
    watcher.on(RoomEvent.TrackPublished, (pub, p) => {
      expect(p).toBe(remote);
      fromEvents.published.set(pub.sid, pub);
    });
    watcher.on(RoomEvent.TrackSubscribed, (track, pub, p) => {
      expect(p).toBe(remote);
      fromEvents.subscribed.set(pub.sid, pub);
      fromEvents.tracks.set(pub.sid, track);
    });
    const log = recordLifecycle(watcher, 'peer');

    const sines = [];
    for (const [name, freq] of [
      ['one', 300],
      ['two', 400],
    ])
      sines.push(await publishSine(peer, { name, freq, scope }));
    const sids = sines.map((s) => s.publication.sid);
    await waitUntil(() => sids.every((sid) => log.includes(`trackSubscribed ${sid}`)), {
      timeoutMs: 20_000,
      what: () => `watcher to subscribe to both tracks (log: ${JSON.stringify(log)})`,
    });
    expectHandles({ room: 1, participant: 2, publication: 2, track: 2 }, 'two subscribed publications');

    for (const sid of sids) {
      const pub = remote.trackPublications.get(sid);
      expect(pub).toBe(fromEvents.published.get(sid) ?? pub);
      expect(pub).toBe(fromEvents.subscribed.get(sid));
      expect(pub.track).toBe(fromEvents.tracks.get(sid));
      expect(pub.subscribed).toBe(true);
      expect(pub.kind).toBe(TrackKind.KIND_AUDIO);
      expect(pub.source).toBe(TrackSource.SOURCE_MICROPHONE);
      expect(pub.mimeType).toMatch(/opus/i);
      expect(pub.track.kind).toBe(TrackKind.KIND_AUDIO);
      expect(pub.track).toBeInstanceOf(lk.RemoteAudioTrack);
    }

    // --- 1. The peer unpublishes one track. ---
    const [goneSid, keptSid] = sids;
    const gonePub = remote.trackPublications.get(goneSid);
    const goneTrack = gonePub.track;
    const during = {};
    watcher.on(RoomEvent.TrackUnpublished, (pub) => {
      if (pub.sid !== goneSid) return;
      during.unpublished = { same: pub === gonePub, disposed: pub.isDisposed, handles: lk.liveHandles() };
      queueMicrotask(() => {
        during.afterUnpublished = { disposed: pub.isDisposed, handles: lk.liveHandles() };
      });
    });
    watcher.on(RoomEvent.TrackUnsubscribed, (track, pub) => {
      if (pub.sid !== goneSid) return;
      during.unsubscribed = { same: track === goneTrack, disposed: track.isDisposed, handles: lk.liveHandles() };
    });
    const unpublished = waitForEvent(watcher, RoomEvent.TrackUnpublished, {
      filter: (pub) => pub.sid === goneSid,
      what: `trackUnpublished(${goneSid})`,
    });
    await peer.localParticipant.unpublishTrack(goneSid);
    await unpublished;

    const goneEvents = log.filter(
      (e) => e.endsWith(goneSid) && !e.startsWith('trackPublished') && !e.startsWith('trackSubscribed'),
    );
    expect(goneEvents).toEqual([`trackUnsubscribed ${goneSid}`, `trackUnpublished ${goneSid}`]);
    // In the listeners the objects were live and counted...
    expect(during.unsubscribed).toEqual({
      same: true,
      disposed: false,
      handles: { ...ZERO, room: 1, participant: 2, publication: 2, track: 2 },
    });
    expect(during.unpublished).toEqual({
      same: true,
      disposed: false,
      handles: { ...ZERO, room: 1, participant: 2, publication: 2, track: 1 },
    });
    // ...and disposed right after the listeners ran.
    expect(during.afterUnpublished).toEqual({
      disposed: true,
      handles: { ...ZERO, room: 1, participant: 2, publication: 1, track: 1 },
    });
    expectHandles({ room: 1, participant: 2, publication: 1, track: 1 });
    expect(remote.trackPublications.has(goneSid)).toBe(false);
    expect(remote.trackPublications.get(keptSid).isDisposed).toBe(false);

    // Tombstones: getters answer, methods throw ERR_DISPOSED.
    expect(gonePub.isDisposed).toBe(true);
    expect(gonePub.sid).toBe(goneSid);
    expect(gonePub.name).toBe('one');
    expect(gonePub.kind).toBe(TrackKind.KIND_AUDIO);
    expect(gonePub.source).toBe(TrackSource.SOURCE_MICROPHONE);
    expect(gonePub.mimeType).toMatch(/opus/i);
    expect(typeof gonePub.muted).toBe('boolean');
    expect(gonePub.subscribed).toBe(false);
    expect(gonePub.track).toBeUndefined();
    expectLkError(await rejection(gonePub.setSubscribed(true)), 'ERR_DISPOSED');
    expect(goneTrack.isDisposed).toBe(true);
    expect(goneTrack.sid).toBe(goneSid);
    expect(goneTrack.kind).toBe(TrackKind.KIND_AUDIO);
    gonePub.dispose(); // idempotent
    goneTrack.dispose();
    expectHandles({ room: 1, participant: 2, publication: 1, track: 1 }, 'disposing twice changes nothing');

    // --- 2. The peer leaves with one track still published. ---
    const keptPub = remote.trackPublications.get(keptSid);
    watcher.on(RoomEvent.ParticipantDisconnected, (p) => {
      if (p.identity !== 'peer') return;
      during.left = {
        same: p === remote,
        disposed: p.isDisposed,
        keptDisposed: keptPub.isDisposed,
        handles: lk.liveHandles(),
        stillListed: watcher.remoteParticipants.has('peer'),
      };
      queueMicrotask(() => {
        during.afterLeft = { disposed: p.isDisposed, handles: lk.liveHandles() };
      });
    });
    const left = waitForEvent(watcher, RoomEvent.ParticipantDisconnected, {
      filter: (p) => p.identity === 'peer',
      what: 'participantDisconnected(peer)',
    });
    for (const s of sines) await s.stop();
    await peer.disconnect();
    await left;

    expect(log.slice(-3)).toEqual([
      `trackUnsubscribed ${keptSid}`,
      `trackUnpublished ${keptSid}`,
      'participantDisconnected',
    ]);
    expect(during.left).toEqual({
      same: true,
      disposed: false,
      keptDisposed: true,
      handles: { ...ZERO, room: 1, participant: 2, publication: 0, track: 0 },
      stillListed: false,
    });
    expect(during.afterLeft).toEqual({
      disposed: true,
      handles: { ...ZERO, room: 1, participant: 1, publication: 0, track: 0 },
    });
    expect(remote.identity).toBe('peer');
    expect(remote.sid).toMatch(/^PA_/);
    expect(remote.name).toBe('peer');
    expect(keptPub.sid).toBe(keptSid);
    expectHandles({ room: 1, participant: 1 });

    await watcher.disconnect();
    expectHandles(ZERO, 'after disconnect, with no garbage collection');
  });

  it('a publication kept in an array after unpublish retains no native state', async () => {
    const names = ['NativeRemoteTrackPublication', 'NativeRemoteTrack'];
    // Baseline: prototype objects carry the class name too.
    const base = await heapCounts(names);
    const roomName = uniqueRoomName('retain');
    const watcher = await connectLk(scope, dev, 'watcher', roomName);
    const kept = [];
    watcher.on(RoomEvent.TrackPublished, (pub) => kept.push(pub));
    const subscribed = new Set();
    watcher.on(RoomEvent.TrackSubscribed, (_t, pub) => subscribed.add(pub.sid));

    const peer = await scope.connect(dev, 'peer', roomName);
    const sines = [];
    for (const [i, name] of ['a', 'b', 'c'].entries())
      sines.push(await publishSine(peer, { name, freq: 300 + 100 * i, scope }));
    await waitUntil(() => subscribed.size === 3, { timeoutMs: 20_000, what: 'watcher to subscribe to 3 tracks' });
    expect(kept.length).toBe(3);
    expectHandles({ room: 1, participant: 2, publication: 3, track: 3 });

    const before = await heapCounts(names);
    // Sanity: the snapshot sees the native objects while they are live.
    expect(before.NativeRemoteTrackPublication - base.NativeRemoteTrackPublication).toBe(3);
    expect(before.NativeRemoteTrack - base.NativeRemoteTrack).toBe(3);

    let unpublished = 0;
    watcher.on(RoomEvent.TrackUnpublished, () => unpublished++);
    for (const s of sines) {
      await s.stop();
      await peer.localParticipant.unpublishTrack(s.publication.sid);
    }
    await waitUntil(() => unpublished === 3, { timeoutMs: 15_000, what: '3 trackUnpublished events' });
    expectHandles({ room: 1, participant: 2 }, 'publications and tracks released while still referenced from JS');

    const after = await heapCounts(names);
    expect(after.NativeRemoteTrackPublication, 'native publication objects left in the heap').toBe(
      base.NativeRemoteTrackPublication,
    );
    expect(after.NativeRemoteTrack, 'native track objects left in the heap').toBe(base.NativeRemoteTrack);
    // The tombstones we keep still answer.
    expect(kept.length).toBe(3);
    for (const pub of kept) {
      expect(pub.isDisposed).toBe(true);
      expect(pub.sid).toMatch(/^TR_/);
      expect(['a', 'b', 'c']).toContain(pub.name);
    }
    await watcher.disconnect();
    expectHandles(ZERO);
  });
});
