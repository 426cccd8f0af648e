'use strict';
/**
 * Audio API of lkrtc, following @livekit/rtc-node: AudioFrame, combineAudioFrames,
 * AudioSource, LocalAudioTrack, LocalTrackPublication, TrackPublishOptions, AudioStream,
 * AudioResampler, and LocalParticipant.publishTrack / unpublishTrack.
 *
 * `index.js` calls `install(ctx)` once with its internals (native module, error helpers,
 * accessors of private native handles) and re-exports what it returns. The room forwards
 * local-track events to `onLocalEvent` and calls `sweepLocal` on disconnect.
 *
 * Lifecycle (shared/DESIGN.md): an AudioSource is a handle until `close()`; an AudioStream
 * until it ends (track unsubscribed/unpublished, room disconnected) or is cancelled; a
 * LocalTrackPublication and its LocalAudioTrack until `unpublishTrack()` resolves or the
 * room disconnects. Disposed objects keep a tombstone; methods then throw ERR_DISPOSED.
 */

module.exports = function install(ctx) {
  const {
    native,
    nativeCall,
    retireNative,
    readLive,
    nativeAwait,
    LkError,
    ErrorCode,
    invalidArg,
    disposedError,
    quiet,
    symbolDispose,
    TrackKind,
    TrackSource,
    RoomEvent,
    LocalParticipant,
    localNative,
    trackNative,
  } = ctx;

  // -------------------------------------------------------------------------------------
  // AudioFrame

  /** Interleaved 16-bit PCM. */
  class AudioFrame {
    /**
     * @param {Int16Array} data interleaved samples (`samplesPerChannel * channels` of them)
     */
    constructor(data, sampleRate, channels, samplesPerChannel, userdata = {}) {
      this.data = data;
      this.sampleRate = sampleRate;
      this.channels = channels;
      this.samplesPerChannel = samplesPerChannel;
      this._userdata = userdata;
    }

    /** A silent frame. */
    static create(sampleRate, channels, samplesPerChannel, userdata = {}) {
      return new AudioFrame(new Int16Array(channels * samplesPerChannel), sampleRate, channels, samplesPerChannel, userdata);
    }

    get userdata() {
      return this._userdata;
    }
  }

  /** Concatenates frames of one format (copies the Int16Arrays; no per-sample work). */
  function combineAudioFrames(buffer) {
    const frames = Array.isArray(buffer) ? buffer : [buffer];
    if (frames.length === 0) throw invalidArg('combineAudioFrames: no frames to combine');
    const { sampleRate, channels } = frames[0];
    let total = 0;
    let spc = 0;
    for (const f of frames) {
      if (!(f?.data instanceof Int16Array)) throw invalidArg('combineAudioFrames: every frame needs an Int16Array data');
      if (f.sampleRate !== sampleRate || f.channels !== channels) {
        throw invalidArg(
          `combineAudioFrames: cannot combine ${f.sampleRate} Hz/${f.channels} ch with ${sampleRate} Hz/${channels} ch`,
        );
      }
      total += f.data.length;
      spc += f.samplesPerChannel;
    }
    const data = new Int16Array(total);
    let at = 0;
    for (const f of frames) {
      data.set(f.data, at);
      at += f.data.length;
    }
    return new AudioFrame(data, sampleRate, channels, spc);
  }

  function checkFrame(frame, what) {
    if (frame === null || typeof frame !== 'object' || !(frame.data instanceof Int16Array)) {
      throw invalidArg(`${what}: frame must be an AudioFrame with Int16Array data`);
    }
  }

  // -------------------------------------------------------------------------------------
  // AudioSource

  /** A source of PCM for local audio tracks, with a bounded real-time queue. */
  class AudioSource {
    #native;

    /**
     * @param {number} sampleRate 8000 to 192000 Hz (8, 16, 22.05, 24, 32, 44.1, 48 kHz...)
     * @param {number} numChannels 1 to 8 (more than two are down-mixed to stereo when sent)
     * @param {number} [queueSize] queue length in milliseconds (default 1000); a finite number >= 0
     */
    constructor(sampleRate, numChannels, queueSize = 1000) {
      if (typeof queueSize !== 'number' || !Number.isFinite(queueSize) || queueSize < 0) {
        throw invalidArg(`AudioSource: queueSize must be a finite number of milliseconds >= 0, not ${queueSize}`);
      }
      this.sampleRate = sampleRate;
      this.numChannels = numChannels;
      this.queueSize = queueSize;
      this.closed = false;
      this.#native = nativeCall(() => new native.NativeAudioSource(sampleRate, numChannels, queueSize));
    }

    static {
      ctx.audioSourceNative = (s) => {
        if (s.#native === null) throw disposedError('AudioSource');
        return s.#native;
      };
    }

    /** Milliseconds queued and not yet sent. */
    get queuedDuration() {
      if (this.#native === null) return 0;
      try {
        return this.#native.queuedDuration;
      } catch {
        return 0;
      }
    }

    /** Drops everything queued. */
    clearQueue() {
      if (this.#native === null) return;
      nativeCall(() => this.#native.clearQueue());
    }

    /** Resolves once the queue has been sent (or the source closed). */
    async waitForPlayout() {
      if (this.#native === null) return;
      await nativeAwait(nativeCall(() => this.#native.waitForPlayout()));
    }

    /**
     * Queues a frame of this source's rate and channel count. Resolves when it is queued:
     * while the queue is full it waits (backpressure). Errors: ERR_INVALID_ARG (wrong
     * format or size), ERR_DISPOSED (closed).
     */
    async captureFrame(frame) {
      if (this.#native === null) throw disposedError('AudioSource');
      checkFrame(frame, 'captureFrame');
      const nat = this.#native;
      await nativeAwait(
        nativeCall(() => nat.captureFrame(frame.data, frame.sampleRate, frame.channels, frame.samplesPerChannel)),
      );
    }

    /** Closes the source (pending captures fail, tracks go silent) and frees it. Idempotent. */
    async close() {
      this.closed = true;
      const nat = this.#native;
      if (nat === null) return;
      this.#native = null;
      nat.close();
    }

    [symbolDispose]() {
      void this.close();
    }
  }

  // -------------------------------------------------------------------------------------
  // Local tracks and publications

  /** A local audio track fed by an AudioSource. */
  class LocalAudioTrack {
    #native;
    #info;
    #source;
    #muted = false;
    #participant = undefined;

    /** @internal use LocalAudioTrack.createAudioTrack */
    constructor(nat, source) {
      this.#native = nat;
      this.#source = source;
      this.#info = { sid: undefined, name: nat.name, kind: TrackKind.KIND_AUDIO };
    }

    /** A track named `name` carrying `source`'s audio. */
    static createAudioTrack(name, source) {
      if (typeof name !== 'string') throw invalidArg('createAudioTrack: name must be a string');
      if (!(source instanceof AudioSource)) throw invalidArg('createAudioTrack: source must be an AudioSource');
      const sn = ctx.audioSourceNative(source);
      return new LocalAudioTrack(
        nativeCall(() => new native.NativeLocalAudioTrack(name, sn)),
        source,
      );
    }

    static {
      ctx.localTrackNative = (t) => {
        if (t.#native === null) throw disposedError('LocalAudioTrack');
        return t.#native;
      };
      ctx.localTrackPublished = (t, participant, sid) => {
        t.#participant = participant;
        t.#info.sid = sid;
      };
      ctx.disposeLocalTrack = (t) => {
        const nat = t.#native;
        if (nat === null) return;
        t.#native = null;
        t.#participant = undefined;
        nat.dispose();
      };
    }

    /** Track sid once published. */
    get sid() {
      return this.#info.sid;
    }
    get name() {
      return this.#info.name;
    }
    /** `TrackKind.KIND_AUDIO`. */
    get kind() {
      return this.#info.kind;
    }
    get muted() {
      return this.#muted;
    }
    /** The AudioSource feeding it. */
    get source() {
      return this.#source;
    }
    /** True once disposed (unpublished, room gone, or closed). */
    get isDisposed() {
      return this.#native === null;
    }

    #setMuted(muted) {
      if (this.#native === null) throw disposedError('LocalAudioTrack');
      this.#muted = muted;
      const p = this.#participant;
      if (p !== undefined && this.#info.sid !== undefined) {
        return quiet(nativeAwait(native.setLocalTrackMuted(localNative(p), this.#info.sid, muted)));
      }
      return Promise.resolve();
    }

    /** Mutes the track (peers get `trackMuted`). Returns a promise that may be ignored. */
    mute() {
      return this.#setMuted(true);
    }
    /** Unmutes the track. Returns a promise that may be ignored. */
    unmute() {
      return this.#setMuted(false);
    }

    /** Frees the track (a published track is freed by unpublishTrack). `closeSource` also closes its source. */
    async close(closeSource = false) {
      ctx.disposeLocalTrack(this);
      if (closeSource) await this.#source.close();
    }

    dispose() {
      ctx.disposeLocalTrack(this);
    }

    [symbolDispose]() {
      ctx.disposeLocalTrack(this);
    }
  }

  /** Options of `publishTrack` (the fields audio uses; others are accepted and ignored). */
  class TrackPublishOptions {
    constructor(init = {}) {
      Object.assign(this, init);
    }
  }

  /** A track this client published. */
  class LocalTrackPublication {
    #native;
    #info;
    #track;

    /** @internal */
    constructor(nat, track) {
      this.#native = nat;
      this.#track = track;
      this.#info = nativeCall(() => nat.info());
    }

    static {
      ctx.disposeLocalPublication = (p) => {
        if (p.#track !== undefined) ctx.disposeLocalTrack(p.#track);
        const nat = p.#native;
        if (nat === null) return;
        p.#native = null;
        p.#info = retireNative(nat, p.#info);
      };
    }

    get sid() {
      return this.#info.sid;
    }
    get name() {
      return this.#info.name;
    }
    /** `TrackKind` value. */
    get kind() {
      return this.#info.kind;
    }
    /** `TrackSource` value. */
    get source() {
      return this.#info.source;
    }
    get mimeType() {
      return this.#read('mimeType');
    }
    get muted() {
      return this.#read('muted');
    }
    get simulcasted() {
      return false;
    }
    /** The published LocalAudioTrack (a tombstone once unpublished). */
    get track() {
      return this.#track;
    }
    get isDisposed() {
      return this.#native === null;
    }

    #read(field) {
      return readLive(this.#native, this.#info, field);
    }

    /**
     * Resolves once a first participant subscribed. Rejects with ERR_DISPOSED if the
     * publication goes away first. Waits in bounded slices, so nothing native outlives it.
     */
    async waitForSubscription() {
      for (;;) {
        const nat = this.#native;
        if (nat === null) throw disposedError('LocalTrackPublication');
        try {
          await nativeAwait(nativeCall(() => nat.waitForSubscription(1000)));
          return;
        } catch (e) {
          if (e instanceof LkError && e.code === ErrorCode.ERR_TIMEOUT) continue;
          throw e;
        }
      }
    }

    /** Frees it now (idempotent); unpublishTrack and disconnect do it anyway. */
    dispose() {
      ctx.disposeLocalPublication(this);
    }

    [symbolDispose]() {
      this.dispose();
    }
  }

  // Per-LocalParticipant bookkeeping of the local-track events.
  const localState = new WeakMap();
  function stateOf(local) {
    let st = localState.get(local);
    if (st === undefined) {
      st = { emit: undefined, early: new Set(), announced: new Set(), unpublishing: new Map(), gone: new Map() };
      localState.set(local, st);
    }
    return st;
  }

  function announce(st, local, pub) {
    if (st.announced.has(pub.sid)) return;
    st.announced.add(pub.sid);
    st.emit?.(RoomEvent.LocalTrackPublished, pub, local);
  }

  /** Publishes a LocalAudioTrack; resolves with its LocalTrackPublication. */
  LocalParticipant.prototype.publishTrack = async function publishTrack(track, options = {}) {
    if (!(track instanceof LocalAudioTrack)) throw invalidArg('publishTrack: track must be a LocalAudioTrack');
    const opts = options ?? {};
    const source = opts.source;
    if (source !== undefined && !(Number.isInteger(source) && source >= 0)) {
      throw invalidArg('publishTrack: options.source must be a TrackSource value');
    }
    const pn = localNative(this);
    const tn = ctx.localTrackNative(track);
    const natPub = await nativeAwait(
      nativeCall(() =>
        native.publishLocalTrack(pn, tn, {
          source,
          dtx: opts.dtx === undefined ? undefined : Boolean(opts.dtx),
          red: opts.red === undefined ? undefined : Boolean(opts.red),
          stream: typeof opts.stream === 'string' ? opts.stream : undefined,
        }),
      ),
    );
    const pub = new LocalTrackPublication(natPub, track);
    if (this.isDisposed) {
      // The room went away while publishing: nothing to keep.
      ctx.disposeLocalPublication(pub);
      return pub;
    }
    this.trackPublications.set(pub.sid, pub);
    ctx.localTrackPublished(track, this, pub.sid);
    const st = stateOf(this);
    if (st.early.delete(pub.sid)) announce(st, this, pub);
    return pub;
  };

  /** Unpublishes a track; its publication and track are disposed when this resolves. */
  LocalParticipant.prototype.unpublishTrack = async function unpublishTrack(sid, _stopOnUnpublish) {
    const trackSid = typeof sid === 'string' ? sid : sid?.sid;
    if (typeof trackSid !== 'string') throw invalidArg('unpublishTrack: sid must be a string');
    const pn = localNative(this);
    const st = stateOf(this);
    const pub = this.trackPublications.get(trackSid);
    if (pub !== undefined) st.unpublishing.set(trackSid, pub);
    try {
      await nativeAwait(nativeCall(() => native.unpublishLocalTrack(pn, trackSid)));
    } finally {
      st.unpublishing.delete(trackSid);
    }
    if (pub !== undefined) {
      if (this.trackPublications.get(trackSid) === pub) this.trackPublications.delete(trackSid);
      // The event may not have crossed yet: keep the tombstone for it.
      if (st.announced.has(trackSid)) st.gone.set(trackSid, pub);
      ctx.disposeLocalPublication(pub);
    }
  };

  /** Room hook: a local-track event (`ev.publicationSid`). */
  function onLocalEvent(local, ev, emit) {
    if (local === undefined) return;
    const st = stateOf(local);
    st.emit = emit;
    const sid = ev.publicationSid;
    switch (ev.type) {
      case 'localTrackPublished': {
        const pub = local.trackPublications.get(sid);
        if (pub === undefined) st.early.add(sid);
        else announce(st, local, pub);
        break;
      }
      case 'localTrackUnpublished': {
        const pub = local.trackPublications.get(sid) ?? st.gone.get(sid) ?? st.unpublishing.get(sid);
        st.gone.delete(sid);
        st.early.delete(sid);
        if (pub === undefined) return;
        st.announced.delete(sid);
        try {
          emit(RoomEvent.LocalTrackUnpublished, pub, local);
        } finally {
          if (!st.unpublishing.has(sid)) {
            // Not through unpublishTrack (or it already resolved): dispose now.
            if (local.trackPublications.get(sid) === pub) local.trackPublications.delete(sid);
            ctx.disposeLocalPublication(pub);
          }
        }
        break;
      }
      case 'localTrackSubscribed': {
        const pub = local.trackPublications.get(sid);
        if (pub !== undefined) emit(RoomEvent.LocalTrackSubscribed, pub.track);
        break;
      }
      default:
    }
  }

  /** Room hook: the room disconnected; free every local publication and track. */
  function sweepLocal(local) {
    if (local === undefined) return;
    for (const pub of local.trackPublications.values()) ctx.disposeLocalPublication(pub);
    local.trackPublications.clear();
    localState.delete(local);
  }

  // -------------------------------------------------------------------------------------
  // AudioStream

  /**
   * The audio of a remote track as a `ReadableStream<AudioFrame>` (async iterable). Ends
   * when the track is unsubscribed or unpublished or the room disconnects; cancelling it
   * (or breaking out of `for await`) frees it.
   */
  class AudioStream extends ReadableStream {
    constructor(track, sampleRateOrOptions, numChannels) {
      const o =
        sampleRateOrOptions !== null && typeof sampleRateOrOptions === 'object'
          ? sampleRateOrOptions
          : { sampleRate: sampleRateOrOptions, numChannels };
      const sampleRate = o.sampleRate ?? 48000;
      const channels = o.numChannels ?? 1;
      const frameSizeMs = o.frameSizeMs ?? 10;
      if (typeof trackNative !== 'function') throw invalidArg('AudioStream: unsupported track');
      const tn = trackNative(track);
      const nat = nativeCall(() => new native.NativeAudioStream(tn, sampleRate, channels, frameSizeMs));
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        nat.close();
      };
      super(
        {
          async pull(controller) {
            let f = null;
            try {
              f = done ? null : await nat.next();
            } catch {
              f = null; // disposed underneath: the stream simply ends
            }
            if (f === null) {
              finish();
              try {
                controller.close();
              } catch {
                // already cancelled
              }
              return;
            }
            controller.enqueue(new AudioFrame(f.data, f.sampleRate, f.channels, f.samplesPerChannel));
          },
          cancel() {
            finish();
          },
        },
        { highWaterMark: 0 },
      );
      this.sampleRate = sampleRate;
      this.numChannels = channels;
      this.frameSizeMs = frameSizeMs;
    }
  }

  // -------------------------------------------------------------------------------------
  // AudioResampler

  const AudioResamplerQuality = Object.freeze({ QUICK: 0, LOW: 1, MEDIUM: 2, HIGH: 3, VERY_HIGH: 4 });

  /**
   * Converts 16-bit PCM between rates (8 to 192 kHz), 1 to 8 channels. `quality` picks the
   * filter: QUICK (cubic, no anti-aliasing), LOW/HIGH/VERY_HIGH (windowed sinc of growing
   * length), MEDIUM (FFT resampler, the default).
   */
  class AudioResampler {
    #native;
    #in;
    #out;
    #channels;

    constructor(inputRate, outputRate, channels = 1, quality = AudioResamplerQuality.MEDIUM) {
      if (!Number.isInteger(quality) || quality < 0 || quality > 4) {
        throw invalidArg(`AudioResampler: quality must be an AudioResamplerQuality value, not ${quality}`);
      }
      this.#in = inputRate;
      this.#out = outputRate;
      this.#channels = channels;
      this.#native = nativeCall(() => new native.NativeAudioResampler(inputRate, outputRate, channels, quality));
    }

    get inputRate() {
      return this.#in;
    }
    get outputRate() {
      return this.#out;
    }
    get channels() {
      return this.#channels;
    }

    /** Feeds a frame; returns the frames ready (zero or one). */
    push(frame) {
      if (this.#native === null) throw disposedError('AudioResampler');
      checkFrame(frame, 'AudioResampler.push');
      if (frame.sampleRate !== this.#in || frame.channels !== this.#channels) {
        throw invalidArg(
          `AudioResampler.push: frame is ${frame.sampleRate} Hz/${frame.channels} ch, expected ${this.#in} Hz/${this.#channels} ch`,
        );
      }
      const out = nativeCall(() => this.#native.push(frame.data));
      if (out.length === 0) return [];
      return [new AudioFrame(out, this.#out, this.#channels, out.length / this.#channels)];
    }

    /**
     * Returns what is still buffered (zero or one frame), so that everything pushed comes
     * out at the output rate; the resampler then starts afresh.
     */
    flush() {
      if (this.#native === null) throw disposedError('AudioResampler');
      const out = nativeCall(() => this.#native.flush());
      if (out.length === 0) return [];
      return [new AudioFrame(out, this.#out, this.#channels, out.length / this.#channels)];
    }

    close() {
      this.#native = null;
    }
  }

  return {
    exports: {
      AudioFrame,
      combineAudioFrames,
      AudioSource,
      LocalAudioTrack,
      LocalTrackPublication,
      TrackPublishOptions,
      AudioStream,
      AudioResampler,
      AudioResamplerQuality,
    },
    onLocalEvent,
    sweepLocal,
    TrackSource,
  };
};
