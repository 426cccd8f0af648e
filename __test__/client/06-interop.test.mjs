// Issue 3, test 8: an lkrtc Room and an official @livekit/rtc-node Room in one room see
// each other, exchange data both ways, and see each other's metadata/name/attributes.
import * as official from '@livekit/rtc-node';
import { describe, expect, it } from 'vitest';
import { publishSine, uniqueRoomName, waitForEvent, waitUntil } from '../helpers/rtc.mjs';
import { connectLk, expectHandles, lk, ZERO, useLkEnv } from './lk.mjs';

const { RoomEvent, DataPacketKind, TrackKind, TrackSource } = lk;
const enc = (s) => new TextEncoder().encode(s);
const dec = (b) => new TextDecoder().decode(b);

describe('interop with @livekit/rtc-node', () => {
  const env = useLkEnv();

  it('the enums and event names match the official ones', () => {
    for (const [k, v] of Object.entries(official.RoomEvent)) expect(lk.RoomEvent[k], k).toBe(v);
    for (const name of [
      'TrackKind',
      'TrackSource',
      'ConnectionState',
      'DataPacketKind',
      'DisconnectReason',
      'ParticipantKind',
    ]) {
      for (const [k, v] of Object.entries(official[name])) expect(lk[name][k], `${name}.${k}`).toBe(v);
    }
  });

  it('see each other and exchange data both ways', async () => {
    const roomName = uniqueRoomName('interop');
    const mine = await connectLk(env.scope, env.dev, 'lk', roomName);
    const theirs = await env.scope.connect(env.dev, 'official', roomName);
    await waitUntil(() => mine.remoteParticipants.get('official') && theirs.remoteParticipants.get('lk'), {
      what: 'both sides to see each other',
    });
    const themSeenByMe = mine.remoteParticipants.get('official');
    const meSeenByThem = theirs.remoteParticipants.get('lk');
    expect(themSeenByMe.sid).toBe(theirs.localParticipant.sid);
    expect(meSeenByThem.sid).toBe(mine.localParticipant.sid);
    expect(await mine.getSid()).toBe(await theirs.getSid());
    expect(mine.name).toBe(roomName);
    // The server's count, as its RoomUpdate after the second join says (both SDKs read it).
    await waitUntil(() => mine.numParticipants === 2, { what: 'numParticipants 2 (RoomUpdate)' });
    expect(mine.isConnected).toBe(true);

    // lkrtc -> official, reliable, with a topic.
    const atTheirs = waitForEvent(theirs, official.RoomEvent.DataReceived, {
      filter: (_p, _who, _k, topic) => topic === 'to-official',
      what: 'the official client to receive lkrtc data',
    });
    await mine.localParticipant.publishData(enc('hello official'), { reliable: true, topic: 'to-official' });
    const [payload1, from1, kind1, topic1] = await atTheirs;
    expect(dec(payload1)).toBe('hello official');
    expect(from1.identity).toBe('lk');
    expect(kind1).toBe(official.DataPacketKind.KIND_RELIABLE);
    expect(topic1).toBe('to-official');

    // official -> lkrtc, reliable.
    const atMine = waitForEvent(mine, RoomEvent.DataReceived, {
      filter: (_p, _who, _k, topic) => topic === 'to-lk',
      what: 'lkrtc to receive official data',
    });
    await theirs.localParticipant.publishData(enc('hello lkrtc'), { reliable: true, topic: 'to-lk' });
    const [payload2, from2, kind2, topic2] = await atMine;
    expect(payload2).toBeInstanceOf(Uint8Array);
    expect(dec(payload2)).toBe('hello lkrtc');
    expect(from2).toBe(themSeenByMe);
    expect(kind2).toBe(DataPacketKind.KIND_RELIABLE);
    expect(topic2).toBe('to-lk');

    // Lossy both ways (retried: lossy may drop, though not on loopback in practice).
    const lossyAtTheirs = waitForEvent(theirs, official.RoomEvent.DataReceived, {
      filter: (_p, _w, _k, topic) => topic === 'lossy-official',
      what: 'lossy data at the official client',
    });
    const lossyAtMine = waitForEvent(mine, RoomEvent.DataReceived, {
      filter: (_p, _w, _k, topic) => topic === 'lossy-lk',
      what: 'lossy data at lkrtc',
    });
    let stop = false;
    const spam = (async () => {
      while (!stop) {
        await mine.localParticipant.publishData(enc('l1'), { topic: 'lossy-official' });
        await theirs.localParticipant.publishData(enc('l2'), { reliable: false, topic: 'lossy-lk' });
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    try {
      const [[, , kindA], [, , kindB]] = await Promise.all([lossyAtTheirs, lossyAtMine]);
      expect(kindA).toBe(official.DataPacketKind.KIND_LOSSY);
      expect(kindB).toBe(DataPacketKind.KIND_LOSSY);
    } finally {
      stop = true;
      await spam;
    }

    // Metadata, name and attributes set by lkrtc are seen by the official client...
    const metaAtTheirs = waitForEvent(theirs, official.RoomEvent.ParticipantMetadataChanged, {
      filter: (_m, p) => p.identity === 'lk',
      what: 'official to see lkrtc metadata',
    });
    await mine.localParticipant.updateMetadata('lk-meta');
    expect((await metaAtTheirs)[0]).toBe('lk-meta');
    expect(mine.localParticipant.metadata).toBe('lk-meta');

    const nameAtTheirs = waitForEvent(theirs, official.RoomEvent.ParticipantNameChanged, {
      filter: (_n, p) => p.identity === 'lk',
      what: 'official to see the lkrtc name',
    });
    await mine.localParticipant.updateName('Lk Name');
    expect((await nameAtTheirs)[0]).toBe('Lk Name');

    const attrsAtTheirs = waitForEvent(theirs, official.RoomEvent.ParticipantAttributesChanged, {
      filter: (_a, p) => p.identity === 'lk',
      what: 'official to see lkrtc attributes',
    });
    await mine.localParticipant.setAttributes({ color: 'blue' });
    expect((await attrsAtTheirs)[0]).toEqual({ color: 'blue' });
    expect(mine.localParticipant.attributes).toEqual({ color: 'blue' });

    // ...and the other way round.
    const metaAtMine = waitForEvent(mine, RoomEvent.ParticipantMetadataChanged, {
      filter: (_m, p) => p.identity === 'official',
      what: 'lkrtc to see official metadata',
    });
    await theirs.localParticipant.updateMetadata('official-meta');
    const [meta, who] = await metaAtMine;
    expect(meta).toBe('official-meta');
    expect(who).toBe(themSeenByMe);
    expect(themSeenByMe.metadata).toBe('official-meta');

    const attrsAtMine = waitForEvent(mine, RoomEvent.ParticipantAttributesChanged, {
      filter: (_a, p) => p.identity === 'official',
      what: 'lkrtc to see official attributes',
    });
    await theirs.localParticipant.setAttributes({ mood: 'fine' });
    expect((await attrsAtMine)[0]).toEqual({ mood: 'fine' });
    expect(themSeenByMe.attributes).toEqual({ mood: 'fine' });

    // The official client's track reaches lkrtc with the official enum values.
    const sub = waitForEvent(mine, RoomEvent.TrackSubscribed, { timeoutMs: 20_000, what: 'lkrtc to subscribe' });
    const sine = await publishSine(theirs, { name: 'tone', scope: env.scope });
    const [track, pub, p] = await sub;
    expect(p).toBe(themSeenByMe);
    expect(pub.sid).toBe(sine.publication.sid);
    expect(pub.name).toBe('tone');
    expect(pub.kind).toBe(official.TrackKind.KIND_AUDIO);
    expect(pub.source).toBe(official.TrackSource.SOURCE_MICROPHONE);
    expect(pub.kind).toBe(TrackKind.KIND_AUDIO);
    expect(pub.source).toBe(TrackSource.SOURCE_MICROPHONE);
    expect(track.sid).toBe(pub.sid);
    expect(themSeenByMe.trackPublications.get(pub.sid)).toBe(pub);

    // The official client sees lkrtc leave.
    const gone = waitForEvent(theirs, official.RoomEvent.ParticipantDisconnected, {
      filter: (x) => x.identity === 'lk',
      what: 'official to see lkrtc leave',
    });
    await mine.disconnect();
    await gone;
    expectHandles(ZERO);
  });

  it('chat messages from the official client arrive as chatMessage', async () => {
    const roomName = uniqueRoomName('chat');
    const mine = await connectLk(env.scope, env.dev, 'lk', roomName);
    const theirs = await env.scope.connect(env.dev, 'official', roomName);
    await waitUntil(() => mine.remoteParticipants.get('official') && theirs.remoteParticipants.get('lk'), {
      what: 'both sides to see each other',
    });
    const got = waitForEvent(mine, RoomEvent.ChatMessage, { what: 'chatMessage at lkrtc' });
    const sent = await theirs.localParticipant.sendChatMessage('hi from official');
    const [message, from] = await got;
    expect(message.message).toBe('hi from official');
    expect(message.id).toBe(sent.id);
    expect(typeof message.timestamp).toBe('number');
    expect(from).toBe(mine.remoteParticipants.get('official'));
    await mine.disconnect();
    expectHandles(ZERO);
  });

  it('setSubscribed(false) then setSubscribed(true) from lkrtc', async () => {
    const roomName = uniqueRoomName('resub');
    const mine = await connectLk(env.scope, env.dev, 'lk', roomName);
    const theirs = await env.scope.connect(env.dev, 'official', roomName);
    const sub = waitForEvent(mine, RoomEvent.TrackSubscribed, { timeoutMs: 20_000, what: 'lkrtc to subscribe' });
    await publishSine(theirs, { name: 'tone', scope: env.scope });
    const [track, pub] = await sub;
    expectHandles({ room: 1, participant: 2, publication: 1, track: 1 });

    // Unsubscribe and subscribe again from lkrtc.
    const unsub = waitForEvent(mine, RoomEvent.TrackUnsubscribed, {
      timeoutMs: 10_000,
      what: 'trackUnsubscribed after setSubscribed(false)',
    });
    await pub.setSubscribed(false);
    const [oldTrack] = await unsub;
    expect(oldTrack).toBe(track);
    expect(track.isDisposed).toBe(true);
    expect(pub.subscribed).toBe(false);
    expectHandles({ room: 1, participant: 2, publication: 1, track: 0 });
    const resub = waitForEvent(mine, RoomEvent.TrackSubscribed, {
      timeoutMs: 10_000,
      what: 'trackSubscribed after setSubscribed(true)',
    });
    await pub.setSubscribed(true);
    const [newTrack, samePub] = await resub;
    expect(samePub).toBe(pub);
    expect(newTrack).not.toBe(track);
    expect(pub.track).toBe(newTrack);
    expectHandles({ room: 1, participant: 2, publication: 1, track: 1 });

    await mine.disconnect();
    expectHandles(ZERO);
  });
});
