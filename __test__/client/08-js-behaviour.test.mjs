// Issue 8, JS-side behaviour: disconnect() removes listeners; LocalAudioTrack.close()
// closes its source by default; unpublishTrack(sid, false) keeps the track for republishing;
// a connect() refused by an argument check frees the native room at once; publishData option
// errors are ERR_INVALID_ARG; a throwing onProgress rejects the read with its error and
// releases the stream; maxPayloadByteLength caps incoming streams; AudioStream runs frames
// through a FrameProcessor; AudioMixer mixes; the unsupported classes throw ERR_UNSUPPORTED.
// Every scenario ends with liveHandles() at zero.
import { describe, expect, it } from 'vitest';
import { uniqueRoomName, waitForEvent, waitUntil, withTimeout } from '../helpers/rtc.mjs';
import { publishSineWith } from '../audio/audio-helpers.mjs';
import { connectLk, expectLkError, lk, rejection, useLkEnv } from './lk.mjs';

const { RoomEvent, AudioSource, AudioFrame, AudioStream, AudioMixer, LocalAudioTrack, FrameProcessor, ErrorCode } = lk;

describe('JS behaviour', () => {
  const env = useLkEnv(undefined, { settleMs: 5_000 });

  it('disconnect() removes every listener, after `disconnected` was delivered', async () => {
    const room = await connectLk(env.scope, env.dev, 'a', uniqueRoomName('listeners'));
    const seen = [];
    room.on(RoomEvent.Disconnected, (reason) =>
      seen.push(['disconnected', reason, room.listenerCount(RoomEvent.Disconnected)]),
    );
    room.on(RoomEvent.ParticipantConnected, () => {});
    expect(room.eventNames().length).toBeGreaterThanOrEqual(2);
    await room.disconnect();
    expect(seen).toEqual([['disconnected', lk.DisconnectReason.CLIENT_INITIATED, 1]]);
    expect(room.eventNames()).toEqual([]);
  });

  it('LocalAudioTrack.close() closes its source by default; close(false) keeps it', async () => {
    const s1 = new AudioSource(48000, 1);
    const t1 = LocalAudioTrack.createAudioTrack('t1', s1);
    expect(lk.liveHandles().audioSource).toBe(1);
    await t1.close();
    expect(t1.isDisposed).toBe(true);
    expect(s1.closed).toBe(true);
    expect(lk.liveHandles().audioSource).toBe(0);

    const s2 = new AudioSource(48000, 1);
    const t2 = LocalAudioTrack.createAudioTrack('t2', s2);
    await t2.close(false);
    expect(s2.closed).toBe(false);
    await s2.captureFrame(AudioFrame.create(48000, 1, 480));
    await s2.close();
  });

  // Peer reception of the republished track needs the native side to keep feeding a track
  // unpublished with stopOnUnpublish false (issue 8 report); this checks the JS contract.
  it('unpublishTrack(sid, false) keeps the track usable: it is published again with a new sid', async () => {
    const roomName = uniqueRoomName('republish');
    const a = await connectLk(env.scope, env.dev, 'a', roomName);
    const b = await connectLk(env.scope, env.dev, 'b', roomName);
    const first = waitForEvent(b, RoomEvent.TrackSubscribed, { timeoutMs: 20_000, what: 'the first trackSubscribed' });
    const sine = await publishSineWith(lk, a, { scope: env.scope, name: 'mic' });
    const [, firstPub] = await first;
    const gone = waitForEvent(b, RoomEvent.TrackUnpublished, { what: 'trackUnpublished' });
    await a.localParticipant.unpublishTrack(sine.publication.sid, false);
    await gone;
    expect(sine.publication.isDisposed).toBe(true);
    expect(sine.track.isDisposed).toBe(false);
    const second = waitForEvent(b, RoomEvent.TrackPublished, { timeoutMs: 20_000, what: 'the second trackPublished' });
    const pub2 = await withTimeout(
      a.localParticipant.publishTrack(sine.track, { source: lk.TrackSource.SOURCE_MICROPHONE }),
      20_000,
      'republish',
    );
    expect(pub2.sid).toMatch(/^TR_/);
    expect(pub2.sid).not.toBe(firstPub.sid);
    expect(sine.track.sid).toBe(pub2.sid);
    expect(a.localParticipant.trackPublications.get(pub2.sid)).toBe(pub2);
    const [remotePub2] = await second;
    expect(remotePub2.sid).toBe(pub2.sid);
    // The default (stopOnUnpublish true) disposes the track.
    await a.localParticipant.unpublishTrack(pub2.sid);
    expect(sine.track.isDisposed).toBe(true);
  });

  it('a connect() refused by an argument check frees the native room at once', async () => {
    const before = lk.liveHandles().room;
    const room = new lk.Room();
    expect(lk.liveHandles().room).toBe(before + 1);
    expectLkError(await rejection(room.connect(42, 'token')), ErrorCode.ERR_INVALID_URL);
    expect(lk.liveHandles().room).toBe(before);
    const room2 = new lk.Room();
    const custom = { keyProviderOptions: {}, encryptionType: lk.EncryptionType.CUSTOM };
    const e = await rejection(room2.connect(env.dev.url, 'token', { encryption: custom }));
    expectLkError(e, ErrorCode.ERR_UNSUPPORTED);
    expect(e).toBeInstanceOf(lk.ConnectError);
    expect(lk.liveHandles().room).toBe(before);
    expectLkError(
      await rejection(room2.connect(env.dev.url, 'token', { dataStream: { maxPayloadByteLength: -1 } })),
      ErrorCode.ERR_INVALID_ARG,
    );
    // The room is still usable: a valid connect makes a new native room.
    env.scope.rooms.push(room2);
    await withTimeout(
      room2.connect(env.dev.url, await env.dev.token('r2', uniqueRoomName('reuse'))),
      20_000,
      'connect after refusals',
    );
    expect(room2.isConnected).toBe(true);
  });

  it('publishData option errors are LkErrors with ERR_INVALID_ARG', async () => {
    const room = await connectLk(env.scope, env.dev, 'a', uniqueRoomName('pubdata'));
    const lp = room.localParticipant;
    const data = new Uint8Array([1]);
    for (const options of [
      null,
      { destination_identities: 'bob' },
      { destination_identities: [1, 2] },
      { topic: 5 },
      { destinationIdentities: 'x' },
    ]) {
      const e = await rejection(lp.publishData(data, options));
      expectLkError(e, ErrorCode.ERR_INVALID_ARG);
    }
    await lp.publishData(data, { reliable: true, destination_identities: [], topic: 't' });
  });

  it('an onProgress that throws rejects the read with its error and releases the stream', async () => {
    const roomName = uniqueRoomName('progress');
    const a = await connectLk(env.scope, env.dev, 'a', roomName);
    const b = await connectLk(env.scope, env.dev, 'b', roomName);
    const boom = new Error('boom from onProgress');
    const outcome = new Promise((resolve) => {
      b.registerTextStreamHandler('p', (reader) => {
        reader.onProgress = () => {
          throw boom;
        };
        reader.readAll().then(
          (text) => resolve({ text }),
          (error) => resolve({ error }),
        );
      });
    });
    await a.localParticipant.sendText('x'.repeat(40_000), { topic: 'p' });
    const r = await withTimeout(outcome, 10_000, 'the read to settle');
    expect(r.error).toBe(boom);
    await waitUntil(() => lk.liveHandles().streamReader === 0, { timeoutMs: 5_000, what: 'the reader to be released' });
  });

  it('RoomOptions.dataStream.maxPayloadByteLength caps incoming streams', async () => {
    const roomName = uniqueRoomName('maxpayload');
    const a = await connectLk(env.scope, env.dev, 'a', roomName);
    const b = await connectLk(env.scope, env.dev, 'b', roomName, {
      options: { dataStream: { maxPayloadByteLength: 1024 } },
    });
    const results = [];
    const done = new Promise((resolve) => {
      b.registerTextStreamHandler('cap', (reader) => {
        const announced = reader.info.totalSize;
        reader
          .readAll()
          .then(
            (text) => results.push({ announced, size: text.length }),
            (error) => results.push({ announced, error }),
          )
          .finally(() => results.length === 2 && resolve());
      });
    });
    await a.localParticipant.sendText('s'.repeat(500), { topic: 'cap' });
    await a.localParticipant.sendText('b'.repeat(5_000), { topic: 'cap' });
    await withTimeout(done, 10_000, 'both reads to settle');
    results.sort((x, y) => x.announced - y.announced);
    expect(results[0]).toEqual({ announced: 500, size: 500 });
    expect(results[1].announced).toBe(5_000);
    expectLkError(results[1].error, ErrorCode.ERR_STREAM);
    expect(results[1].error.message).toMatch(/maxPayloadByteLength/);
    await waitUntil(() => lk.liveHandles().streamReader === 0, {
      timeoutMs: 5_000,
      what: 'the readers to be released',
    });
  });

  it("AudioStream's noiseCancellation FrameProcessor processes every frame and is closed at the end", async () => {
    const roomName = uniqueRoomName('processor');
    const a = await connectLk(env.scope, env.dev, 'a', roomName);
    const b = await connectLk(env.scope, env.dev, 'b', roomName);
    const subscribed = waitForEvent(b, RoomEvent.TrackSubscribed, { timeoutMs: 20_000, what: 'trackSubscribed' });
    const sine = await publishSineWith(lk, a, { scope: env.scope, name: 'mic' });
    const [track, pub] = await subscribed;
    class Marker extends FrameProcessor {
      calls = 0;
      closed = 0;
      info = undefined;
      credentials = undefined;
      isEnabled() {
        return true;
      }
      setEnabled() {}
      onStreamInfoUpdated(info) {
        this.info = info;
      }
      onCredentialsUpdated(c) {
        this.credentials = c;
      }
      process(frame) {
        this.calls++;
        return new AudioFrame(
          new Int16Array(frame.data.length).fill(1234),
          frame.sampleRate,
          frame.channels,
          frame.samplesPerChannel,
        );
      }
      close() {
        this.closed++;
      }
    }
    const proc = new Marker();
    expect(lk.isFrameProcessor(proc)).toBe(true);
    const stream = new AudioStream(track, { sampleRate: 48000, numChannels: 1, noiseCancellation: proc });
    expect(proc.info).toEqual({ roomName, participantIdentity: 'a', publicationSid: pub.sid });
    expect(proc.credentials?.url).toBe(env.dev.url);
    let frames = 0;
    for await (const frame of stream) {
      expect(frame.data.every((v) => v === 1234)).toBe(true);
      if (++frames === 20) break;
    }
    expect(proc.calls).toBeGreaterThanOrEqual(20);
    expect(proc.closed).toBe(1);
    await sine.stop();
  });

  it('AudioMixer mixes async streams of frames into fixed-size frames, clipping, and ends', async () => {
    const gen = async function* (value, frames, spc) {
      for (let i = 0; i < frames; i++) yield new AudioFrame(new Int16Array(spc).fill(value), 16000, 1, spc);
    };
    const mixer = new AudioMixer(16000, 1, { blocksize: 320, streamTimeoutMs: 50 });
    mixer.addStream(gen(1000, 10, 160)); // 1600 samples
    mixer.addStream(gen(-300, 4, 400)); // 1600 samples
    mixer.addStream(gen(32500, 2, 320)); // 640 samples, clips with the first
    const out = [];
    for await (const frame of mixer) out.push(frame);
    expect(out.length).toBe(5);
    for (const f of out) expect(f.samplesPerChannel).toBe(320);
    expect(out[0].data[0]).toBe(32767); // 1000 - 300 + 32500, clipped
    expect(out[2].data[0]).toBe(700);
    expect(() => mixer.addStream(gen(1, 1, 1))).toThrow(lk.LkError);
    const m2 = new AudioMixer(16000, 1, { blocksize: 160 });
    m2.addStream(gen(5, 1000, 160));
    const it2 = m2[Symbol.asyncIterator]();
    expect((await it2.next()).value.data[0]).toBe(5);
    await withTimeout(m2.aclose(), 2_000, 'aclose');
    expect((await it2.next()).done).toBe(true);
  });

  it('the FFI-plugin class throws ERR_UNSUPPORTED, E2EE objects made by hand ERR_INVALID_STATE; VideoStream wants a remote track', () => {
    expectLkError(
      (() => {
        try {
          new lk.VideoStream();
        } catch (e) {
          return e;
        }
      })(),
      ErrorCode.ERR_INVALID_ARG,
    );
    const manual = new lk.E2EEManager(0n);
    expectLkError(
      (() => {
        try {
          manual.keyProvider.exportSharedKey(0);
        } catch (e) {
          return e;
        }
      })(),
      ErrorCode.ERR_INVALID_STATE,
    );
    for (const name of ['AudioFilter']) {
      let error;
      try {
        new lk[name]();
      } catch (e) {
        error = e;
      }
      expectLkError(error, ErrorCode.ERR_UNSUPPORTED);
      expect(error.message).toMatch(/not supported by lkrtc/);
    }
  });

  it('video sources and tracks refuse bad arguments with ERR_INVALID_ARG', () => {
    for (const make of [
      () => new lk.VideoSource(),
      () => new lk.VideoSource(0, 10),
      () => new lk.LocalVideoTrack(),
      () => lk.LocalVideoTrack.createVideoTrack('v', undefined),
    ]) {
      let error;
      try {
        make();
      } catch (e) {
        error = e;
      }
      expectLkError(error, ErrorCode.ERR_INVALID_ARG);
    }
  });

  it('a frame captured with a rotation is refused (ERR_UNSUPPORTED), not sent unrotated', async () => {
    const source = new lk.VideoSource(16, 16);
    try {
      const frame = new lk.VideoFrame(new Uint8Array(16 * 16 * 4), 16, 16, lk.VideoBufferType.RGBA);
      let error;
      try {
        source.captureFrame(frame, 0n, lk.VideoRotation.VIDEO_ROTATION_90);
      } catch (e) {
        error = e;
      }
      expectLkError(error, ErrorCode.ERR_UNSUPPORTED);
      source.captureFrame(frame, 0n, lk.VideoRotation.VIDEO_ROTATION_0);
    } finally {
      await source.close();
    }
  });
});
