// Issue 5: participant state and small data messages between lkrtc and the official
// @livekit/rtc-node client: metadata / name / attributes updates seen by every peer (and by
// the local participant), room metadata, chat, DTMF, transcriptions, mute events and active
// speakers. Handle counts are back at zero after each scenario.
import * as official from '@livekit/rtc-node';
import { describe, expect, it } from 'vitest';
import { RoomServiceClient } from 'livekit-server-sdk';
import { publishSine, uniqueRoomName, waitForEvent, waitUntil } from '../helpers/rtc.mjs';
import { connectLk, lk, rejection, useLkEnv } from '../client/lk.mjs';

const { RoomEvent } = lk;

describe('participant state and messages', () => {
  const env = useLkEnv();

  async function trio(prefix) {
    const roomName = uniqueRoomName(prefix);
    const a = await connectLk(env.scope, env.dev, 'a', roomName);
    const b = await connectLk(env.scope, env.dev, 'b', roomName);
    const o = await env.scope.connect(env.dev, 'o', roomName);
    await waitUntil(
      () => a.remoteParticipants.size === 2 && b.remoteParticipants.size === 2 && o.remoteParticipants.size === 2,
      { what: 'everyone to see everyone' },
    );
    return { roomName, a, b, o };
  }

  /** Waits for `event` about `identity` on each of `rooms`; resolves with their first arguments. */
  function seenBy(rooms, event, identity) {
    return Promise.all(
      rooms.map((r) =>
        waitForEvent(r, event, {
          filter: (...args) => args.at(-1)?.identity === identity,
          what: `${event} of ${identity}`,
        }),
      ),
    );
  }

  it('metadata, name and attributes updates are seen by every peer, both SDKs', async () => {
    const { a, b, o } = await trio('state');

    // lkrtc 'a' updates: b (lkrtc), o (official) and a itself see it.
    let seen = seenBy([a, b, o], RoomEvent.ParticipantMetadataChanged, 'a');
    await a.localParticipant.updateMetadata('meta-a');
    for (const [m, p] of await seen) {
      expect(m).toBe('meta-a');
      expect(p.metadata).toBe('meta-a');
    }
    expect((await seen)[0][1]).toBe(a.localParticipant);
    expect((await seen)[1][1]).toBe(b.remoteParticipants.get('a'));

    seen = seenBy([a, b, o], RoomEvent.ParticipantNameChanged, 'a');
    await a.localParticipant.updateName('Alice Ä');
    for (const [n, p] of await seen) {
      expect(n).toBe('Alice Ä');
      expect(p.name).toBe('Alice Ä');
    }

    seen = seenBy([a, b, o], RoomEvent.ParticipantAttributesChanged, 'a');
    await a.localParticipant.setAttributes({ k1: 'v1', k2: 'v2' });
    for (const [changed, p] of await seen) {
      expect(changed).toEqual({ k1: 'v1', k2: 'v2' });
      expect(p.attributes).toEqual({ k1: 'v1', k2: 'v2' });
    }
    seen = seenBy([a, b, o], RoomEvent.ParticipantAttributesChanged, 'a');
    await a.localParticipant.setAttributes({ k1: '' }); // deletes k1
    for (const [changed, p] of await seen) {
      expect(changed).toEqual({ k1: '' });
      expect(p.attributes).toEqual({ k2: 'v2' });
    }

    // official 'o' updates: a and b see it.
    seen = seenBy([a, b], RoomEvent.ParticipantMetadataChanged, 'o');
    await o.localParticipant.updateMetadata('meta-o');
    for (const [m, p] of await seen) expect([m, p.metadata]).toEqual(['meta-o', 'meta-o']);
    seen = seenBy([a, b], RoomEvent.ParticipantNameChanged, 'o');
    await o.localParticipant.updateName('Oscar');
    for (const [n, p] of await seen) expect([n, p.name]).toEqual(['Oscar', 'Oscar']);
    seen = seenBy([a, b], RoomEvent.ParticipantAttributesChanged, 'o');
    await o.localParticipant.setAttributes({ role: 'agent' });
    for (const [changed, p] of await seen) {
      expect(changed).toEqual({ role: 'agent' });
      expect(p.attributes).toEqual({ role: 'agent' });
    }

    // Bad input: typed errors, nothing sent.
    expect((await rejection(a.localParticipant.updateMetadata(42))).code).toBe('ERR_INVALID_ARG');
    expect((await rejection(a.localParticipant.setAttributes({ x: 1 }))).code).toBe('ERR_INVALID_ARG');
  });

  it('room metadata set through the server API reaches both SDKs', async () => {
    const { roomName, a, o } = await trio('room-meta');
    const svc = new RoomServiceClient(env.dev.url.replace(/^ws/, 'http'), env.dev.apiKey, env.dev.apiSecret);
    const atA = waitForEvent(a, RoomEvent.RoomMetadataChanged, { what: 'roomMetadataChanged at lkrtc' });
    const atO = waitForEvent(o, official.RoomEvent.RoomMetadataChanged, { what: 'roomMetadataChanged at official' });
    await svc.updateRoomMetadata(roomName, 'room-meta-1');
    expect((await atA)[0]).toBe('room-meta-1');
    expect((await atO)[0]).toBe('room-meta-1');
    expect(a.metadata).toBe('room-meta-1');
  });

  it('chat, DTMF and transcriptions, both ways', async () => {
    const { a, b, o } = await trio('messages');

    // chat lkrtc -> all
    const chatAtO = waitForEvent(o, official.RoomEvent.ChatMessage, { what: 'chat at official' });
    const chatAtB = waitForEvent(b, RoomEvent.ChatMessage, { what: 'chat at b' });
    const sent = await a.localParticipant.sendChatMessage('hi 👋');
    expect(sent).toMatchObject({ message: 'hi 👋' });
    expect(typeof sent.id).toBe('string');
    const [mo, po] = await chatAtO;
    expect([mo.message, mo.id, mo.timestamp, po.identity]).toEqual(['hi 👋', sent.id, sent.timestamp, 'a']);
    const [mb, pb] = await chatAtB;
    expect([mb.message, mb.id, pb]).toEqual(['hi 👋', sent.id, b.remoteParticipants.get('a')]);

    // chat official -> lkrtc, to one destination
    const chatAtA = waitForEvent(a, RoomEvent.ChatMessage, { what: 'chat at a' });
    await o.localParticipant.sendChatMessage('only for a', ['a']);
    const [ma, pa] = await chatAtA;
    expect([ma.message, pa.identity]).toEqual(['only for a', 'o']);

    // DTMF both ways
    const dtmfAtO = waitForEvent(o, official.RoomEvent.DtmfReceived, { what: 'dtmf at official' });
    await a.localParticipant.publishDtmf(3, '3');
    const [code, digit, who] = await dtmfAtO;
    expect([code, digit, who.identity]).toEqual([3, '3', 'a']);
    const dtmfAtA = waitForEvent(a, RoomEvent.DtmfReceived, { what: 'dtmf at lkrtc' });
    await o.localParticipant.publishDtmf(11, '#');
    const [code2, digit2, who2] = await dtmfAtA;
    expect([code2, digit2, who2]).toEqual([11, '#', a.remoteParticipants.get('o')]);

    // Transcriptions: official -> lkrtc and lkrtc -> lkrtc (the official client has no event).
    const segment = { id: 'seg1', text: 'hello world', startTime: 10n, endTime: 20n, language: 'en', final: true };
    const trAtA = waitForEvent(a, RoomEvent.TranscriptionReceived, { what: 'transcription at lkrtc' });
    await o.localParticipant.publishTranscription({
      participantIdentity: 'o',
      trackSid: 'TR_fake1',
      segments: [segment],
    });
    const [segs, from] = await trAtA;
    expect(segs).toEqual([
      { id: 'seg1', text: 'hello world', startTime: 10, endTime: 20, language: 'en', final: true },
    ]);
    expect(from.identity).toBe('o');
    const trAtB = waitForEvent(b, RoomEvent.TranscriptionReceived, { what: 'transcription at b' });
    await a.localParticipant.publishTranscription({
      participantIdentity: 'a',
      trackSid: 'TR_fake2',
      segments: [segment],
    });
    expect((await trAtB)[0][0].text).toBe('hello world');
    // A non-TR_ sid would crash official receivers: refused.
    const bad = await rejection(
      a.localParticipant.publishTranscription({ participantIdentity: 'a', trackSid: 'x', segments: [] }),
    );
    expect(bad.code).toBe('ERR_INVALID_ARG');
  });

  it('trackMuted / trackUnmuted when the official client mutes its track; activeSpeakersChanged', async () => {
    const roomName = uniqueRoomName('mute');
    const a = await connectLk(env.scope, env.dev, 'a', roomName);
    const o = await env.scope.connect(env.dev, 'o', roomName);
    await waitUntil(() => a.remoteParticipants.get('o'), { what: 'a to see o' });
    const speakers = [];
    a.on(RoomEvent.ActiveSpeakersChanged, (s) => speakers.push(s.map((p) => p.identity)));
    const published = waitForEvent(a, RoomEvent.TrackPublished, { what: 'the official track at lkrtc' });
    const sine = await publishSine(o, { scope: env.scope, amplitude: 0.8 });
    const [pub, who] = await published;
    expect(who.identity).toBe('o');
    expect(pub.muted).toBe(false);

    // rtc-node 1.1.0 has no mute() on tracks; its FFI has LocalTrackMute.
    const ffi = globalThis._ffiClientInstance;
    const mute = (m) =>
      ffi.request({
        message: { case: 'localTrackMute', value: { trackHandle: sine.track.ffi_handle.handle, mute: m } },
      });
    const muted = waitForEvent(a, RoomEvent.TrackMuted, { what: 'trackMuted at lkrtc' });
    mute(true);
    const [mpub, mwho] = await muted;
    expect(mpub).toBe(pub);
    expect(mwho).toBe(a.remoteParticipants.get('o'));
    expect(pub.muted).toBe(true);
    const unmuted = waitForEvent(a, RoomEvent.TrackUnmuted, { what: 'trackUnmuted at lkrtc' });
    mute(false);
    expect((await unmuted)[0]).toBe(pub);
    expect(pub.muted).toBe(false);

    await waitUntil(() => speakers.some((s) => s.includes('o')), {
      what: 'o among the active speakers',
      timeoutMs: 15_000,
    });
    await sine.stop();
    await waitUntil(() => speakers.length > 0 && !speakers.at(-1).includes('o'), {
      what: 'o to stop being an active speaker',
      timeoutMs: 15_000,
    });
  });
});
