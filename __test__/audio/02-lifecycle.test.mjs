// Issue 4: the lifecycle of local audio (publish, unpublish, disconnect sweep), AudioStream
// ending, captureFrame errors, a publisher that goes quiet, and the pure helpers
// (AudioFrame, combineAudioFrames, AudioResampler). Handle counts end at zero every time.
import { describe, expect, it } from 'vitest';
import { delay, detectFrequency, uniqueRoomName, waitForEvent, waitUntil, withTimeout } from '../helpers/rtc.mjs';
import { connectLk, expectHandles, expectLkError, lk, rejection, ZERO, useLkEnv } from '../client/lk.mjs';
import { publishSineWith } from './audio-helpers.mjs';

const { RoomEvent, AudioFrame, AudioSource, LocalAudioTrack, AudioStream, TrackKind, TrackSource } = lk;

describe('local audio lifecycle', () => {
  const env = useLkEnv(undefined, { settleMs: 5_000 });

  it('publish: localTrackPublished, peer trackPublished, publication fields, waitForSubscription, localTrackSubscribed', async () => {
    const roomName = uniqueRoomName('pub');
    const a = await connectLk(env.scope, env.dev, 'a', roomName);
    const b = await connectLk(env.scope, env.dev, 'b', roomName);
    const localPublished = waitForEvent(a, RoomEvent.LocalTrackPublished, { what: 'localTrackPublished' });
    const localSubscribed = waitForEvent(a, RoomEvent.LocalTrackSubscribed, {
      timeoutMs: 20_000,
      what: 'localTrackSubscribed',
    });
    const remotePublished = waitForEvent(b, RoomEvent.TrackPublished, { what: 'trackPublished on the peer' });
    const remoteSubscribed = waitForEvent(b, RoomEvent.TrackSubscribed, {
      timeoutMs: 20_000,
      what: 'trackSubscribed on the peer',
    });
    const sine = await publishSineWith(lk, a, { scope: env.scope, name: 'mic' });
    const pub = sine.publication;
    expect(pub).toBeInstanceOf(lk.LocalTrackPublication);
    expect(pub.sid).toMatch(/^TR_/);
    expect(pub.name).toBe('mic');
    expect(pub.kind).toBe(TrackKind.KIND_AUDIO);
    expect(pub.source).toBe(TrackSource.SOURCE_MICROPHONE);
    expect(pub.mimeType.toLowerCase()).toContain('opus');
    expect(pub.muted).toBe(false);
    expect(pub.track).toBe(sine.track);
    expect(sine.track.sid).toBe(pub.sid);
    expect(a.localParticipant.trackPublications.get(pub.sid)).toBe(pub);

    const [lp, lparticipant] = await localPublished;
    expect(lp).toBe(pub);
    expect(lparticipant).toBe(a.localParticipant);
    const [rp, rparticipant] = await remotePublished;
    expect(rp.sid).toBe(pub.sid);
    expect(rparticipant.identity).toBe('a');
    await withTimeout(pub.waitForSubscription(), 20_000, 'waitForSubscription');
    const [subTrack] = await localSubscribed;
    expect(subTrack).toBe(sine.track);

    // mute/unmute reach the peer
    const muted = waitForEvent(b, RoomEvent.TrackMuted, { what: 'trackMuted on the peer' });
    await sine.track.mute();
    const [mpub] = await muted;
    expect(mpub.sid).toBe(pub.sid);
    expect(sine.track.muted).toBe(true);
    const unmuted = waitForEvent(b, RoomEvent.TrackUnmuted, { what: 'trackUnmuted on the peer' });
    await sine.track.unmute();
    await unmuted;

    // The server tells the publisher about the first subscription before the subscriber
    // necessarily has the track: count once the peer has it too.
    await remoteSubscribed;
    const h = lk.liveHandles();
    expect(h.audioSource).toBe(1);
    expect(h.publication).toBe(2); // local + remote
    expect(h.track).toBe(2); // local + remote
  });

  it('unpublish: peer gets trackUnsubscribed then trackUnpublished, its AudioStream completes, counts drop on both sides', async () => {
    const roomName = uniqueRoomName('unpub');
    const a = await connectLk(env.scope, env.dev, 'a', roomName);
    const b = await connectLk(env.scope, env.dev, 'b', roomName);
    const subscribed = waitForEvent(b, RoomEvent.TrackSubscribed, { timeoutMs: 20_000, what: 'trackSubscribed' });
    const sine = await publishSineWith(lk, a, { scope: env.scope });
    const [track] = await subscribed;
    const stream = new AudioStream(track, 48_000);
    expect(lk.liveHandles().audioStream).toBe(1);
    let frames = 0;
    const iteration = (async () => {
      for await (const f of stream) {
        expect(f).toBeInstanceOf(AudioFrame);
        frames++;
      }
    })();
    await waitUntil(() => frames >= 20, { timeoutMs: 10_000, what: '20 frames' });

    const log = [];
    b.on(RoomEvent.TrackUnsubscribed, (t, p) => log.push(`trackUnsubscribed ${p.sid}`));
    b.on(RoomEvent.TrackUnpublished, (p) => log.push(`trackUnpublished ${p.sid}`));
    const localUnpublished = waitForEvent(a, RoomEvent.LocalTrackUnpublished, { what: 'localTrackUnpublished' });
    const remoteUnpublished = waitForEvent(b, RoomEvent.TrackUnpublished, { what: 'trackUnpublished' });
    const sid = sine.publication.sid;
    await a.localParticipant.unpublishTrack(sid);
    // Publisher side: publication and track disposed when unpublishTrack resolves.
    expect(sine.publication.isDisposed).toBe(true);
    expect(sine.track.isDisposed).toBe(true);
    expect(sine.publication.sid).toBe(sid); // tombstone
    expect(a.localParticipant.trackPublications.size).toBe(0);
    const [lp, lpart] = await localUnpublished;
    expect(lp).toBe(sine.publication);
    expect(lpart).toBe(a.localParticipant);

    await remoteUnpublished;
    expect(log).toEqual([`trackUnsubscribed ${sid}`, `trackUnpublished ${sid}`]);
    await withTimeout(iteration, 5_000, 'the AudioStream iteration to complete');
    expect(frames).toBeGreaterThanOrEqual(20);
    await sine.stop();
    // Only the two rooms' own handles remain.
    expectHandles({ room: 2, participant: 4 });
  });

  it('disconnect sweeps local publications, tracks and streams', async () => {
    const roomName = uniqueRoomName('sweep');
    const a = await connectLk(env.scope, env.dev, 'a', roomName);
    const b = await connectLk(env.scope, env.dev, 'b', roomName);
    const subscribed = waitForEvent(b, RoomEvent.TrackSubscribed, { timeoutMs: 20_000, what: 'trackSubscribed' });
    const sine = await publishSineWith(lk, a, { scope: env.scope });
    const [track] = await subscribed;
    const reader = new AudioStream(track, { sampleRate: 16_000, numChannels: 1, frameSizeMs: 20 }).getReader();
    const first = await withTimeout(reader.read(), 10_000, 'a first frame');
    expect(first.value.samplesPerChannel).toBe(320);
    await b.disconnect();
    // The subscriber's stream ends with its room.
    for (;;) {
      const { done } = await withTimeout(reader.read(), 5_000, 'the stream to end on disconnect');
      if (done) break;
    }
    await a.disconnect();
    expect(sine.publication.isDisposed).toBe(true);
    expect(sine.track.isDisposed).toBe(true);
    await sine.stop();
    expectHandles(ZERO);
  });

  it('a publisher that stops sending: the stream waits, never errors, and ends on unpublish', async () => {
    const roomName = uniqueRoomName('quiet');
    const a = await connectLk(env.scope, env.dev, 'a', roomName);
    const b = await connectLk(env.scope, env.dev, 'b', roomName);
    const subscribed = waitForEvent(b, RoomEvent.TrackSubscribed, { timeoutMs: 20_000, what: 'trackSubscribed' });
    const sine = await publishSineWith(lk, a, { scope: env.scope });
    const [track] = await subscribed;
    let frames = 0;
    let error = null;
    const iteration = (async () => {
      for await (const _f of new AudioStream(track)) frames++;
    })().catch((e) => {
      error = e;
    });
    await waitUntil(() => frames >= 20, { timeoutMs: 10_000, what: '20 frames' });
    sine.paused = true;
    await delay(1_500);
    expect(error).toBe(null);
    sine.paused = false;
    const before = frames;
    await waitUntil(() => frames >= before + 20, { timeoutMs: 10_000, what: 'frames after resuming' });
    await a.localParticipant.unpublishTrack(sine.publication.sid);
    await withTimeout(iteration, 5_000, 'the AudioStream iteration to complete');
    expect(error).toBe(null);
    await sine.stop();
  });

  it('captureFrame: wrong size or rate -> ERR_INVALID_ARG; after close() -> ERR_DISPOSED', async () => {
    const source = new AudioSource(48_000, 1);
    expect(lk.liveHandles().audioSource).toBe(1);
    // wrong size: data length disagrees with samplesPerChannel * channels
    expectLkError(
      await rejection(source.captureFrame(new AudioFrame(new Int16Array(100), 48_000, 1, 480))),
      'ERR_INVALID_ARG',
    );
    // wrong rate
    expectLkError(await rejection(source.captureFrame(AudioFrame.create(16_000, 1, 160))), 'ERR_INVALID_ARG');
    // wrong channel count
    expectLkError(await rejection(source.captureFrame(AudioFrame.create(48_000, 2, 480))), 'ERR_INVALID_ARG');
    // not a frame
    expectLkError(await rejection(source.captureFrame({ data: [1, 2] })), 'ERR_INVALID_ARG');
    // a good one is queued
    await source.captureFrame(AudioFrame.create(48_000, 1, 480));
    expect(source.queuedDuration).toBeGreaterThanOrEqual(0);
    source.clearQueue();
    await source.waitForPlayout();
    await source.close();
    expect(lk.liveHandles().audioSource).toBe(0);
    expectLkError(await rejection(source.captureFrame(AudioFrame.create(48_000, 1, 480))), 'ERR_DISPOSED');
    await source.close(); // idempotent
    expect(() => LocalAudioTrack.createAudioTrack('x', source)).toThrow(lk.LkError);
    // bad formats
    expect(() => new AudioSource(7_999, 1)).toThrow(lk.LkError); // 8 to 192 kHz, 1 to 8 channels
    expect(() => new AudioSource(48_000, 9)).toThrow(lk.LkError);
  });

  it('captureFrame applies backpressure: it waits while the queue is full', async () => {
    const source = new AudioSource(48_000, 1, 100);
    const track = LocalAudioTrack.createAudioTrack('bp', source); // a track makes the source drain
    const t0 = Date.now();
    for (let i = 0; i < 50; i++) await source.captureFrame(AudioFrame.create(48_000, 1, 480)); // 500 ms of audio
    const took = Date.now() - t0;
    expect(took, 'capturing 500 ms into a 100 ms queue must wait ~400 ms').toBeGreaterThan(250);
    expect(source.queuedDuration).toBeLessThanOrEqual(100);
    await track.close();
    await source.close();
    expectHandles(ZERO);
  });
});

describe('AudioFrame, combineAudioFrames, AudioResampler', () => {
  it('AudioFrame.create and combineAudioFrames copy Int16Arrays', () => {
    const a = AudioFrame.create(48_000, 2, 480);
    expect(a.data).toBeInstanceOf(Int16Array);
    expect(a.data.length).toBe(960);
    a.data[0] = 7;
    const b = new AudioFrame(
      Int16Array.from({ length: 960 }, (_, i) => i),
      48_000,
      2,
      480,
    );
    const c = lk.combineAudioFrames([a, b]);
    expect(c.samplesPerChannel).toBe(960);
    expect(c.data.length).toBe(1920);
    expect(c.data[0]).toBe(7);
    expect(c.data[961]).toBe(1);
    expect(lk.combineAudioFrames(a).data).not.toBe(a.data);
    expect(() => lk.combineAudioFrames([a, AudioFrame.create(16_000, 2, 160)])).toThrow(lk.LkError);
    expect(() => lk.combineAudioFrames([])).toThrow(lk.LkError);
  });

  for (const [from, to, ch] of [
    [48_000, 16_000, 1],
    [16_000, 48_000, 1],
    [44_100, 48_000, 2],
    [8_000, 24_000, 1],
  ]) {
    it(`AudioResampler ${from} -> ${to} Hz, ${ch} ch keeps a 440 Hz tone and the length`, () => {
      const r = new lk.AudioResampler(from, to, ch);
      expect([r.inputRate, r.outputRate, r.channels]).toEqual([from, to, ch]);
      const out = [];
      let t = 0;
      for (let k = 0; k < 100; k++) {
        const spc = from / 100;
        const f = AudioFrame.create(from, ch, spc);
        for (let i = 0; i < spc; i++, t++) {
          const v = Math.round(10_000 * Math.sin((2 * Math.PI * 440 * t) / from));
          for (let c = 0; c < ch; c++) f.data[i * ch + c] = v;
        }
        out.push(...r.push(f));
      }
      out.push(...r.flush());
      const all = lk.combineAudioFrames(out);
      expect(all.sampleRate).toBe(to);
      expect(all.channels).toBe(ch);
      expect(Math.abs(all.samplesPerChannel - to) / to).toBeLessThan(0.05);
      const mono = Int16Array.from({ length: all.samplesPerChannel }, (_, i) => all.data[i * ch]);
      const hz = detectFrequency(mono.subarray(to / 10), to);
      expect(Math.abs(hz - 440) / 440).toBeLessThan(0.02);
      expect(() => r.push(AudioFrame.create(to === from ? 8_000 : to, ch, 80))).toThrow(lk.LkError);
    });
  }
});
