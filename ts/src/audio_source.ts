import { type AudioFrame, checkFrame } from './audio_frame.js';
import { disposedError, invalidArg, nativeAwait, nativeCall } from './errors.js';
import { native, type NativeAudioSource } from './native.js';

/** @internal */
export let audioSourceNative: (s: AudioSource) => NativeAudioSource;

/**
 * PCM for local audio tracks, with a bounded real-time queue. A handle (`audioSource` in
 * `liveHandles()`) until `close()`. Rates 8000 to 192000 Hz, 1 to 8 channels (more than two
 * are down-mixed to stereo when sent). Once a track it feeds is published, silence is sent
 * while nothing is queued, so subscribers see the track before its first frame.
 */
export class AudioSource {
  #native: NativeAudioSource | null;
  readonly sampleRate: number;
  readonly numChannels: number;
  /** Queue length in ms (default 1000); a finite number >= 0, else `ERR_INVALID_ARG`. */
  readonly queueSize: number;
  /** True once `close()` was called. */
  closed = false;

  /**
   * @param sampleRate 8000 to 192000 Hz (8, 16, 22.05, 24, 32, 44.1, 48 kHz...)
   * @param numChannels 1 to 8 (more than two are down-mixed to stereo when sent)
   * @param queueSize queue length in milliseconds (default 1000); a finite number >= 0
   */
  constructor(sampleRate: number, numChannels: number, queueSize = 1000) {
    if (typeof queueSize !== 'number' || !Number.isFinite(queueSize) || queueSize < 0) {
      throw invalidArg(`AudioSource: queueSize must be a finite number of milliseconds >= 0, not ${queueSize}`);
    }
    this.sampleRate = sampleRate;
    this.numChannels = numChannels;
    this.queueSize = queueSize;
    this.#native = nativeCall(() => new native.NativeAudioSource(sampleRate, numChannels, queueSize));
  }

  static {
    audioSourceNative = (s) => {
      if (!(s instanceof AudioSource)) throw invalidArg('createAudioTrack: source must be an AudioSource');
      if (s.#native === null) throw disposedError('AudioSource');
      return s.#native;
    };
  }

  /** Milliseconds queued and not yet sent. */
  get queuedDuration(): number {
    if (this.#native === null) return 0;
    try {
      return this.#native.queuedDuration;
    } catch {
      return 0;
    }
  }

  /** Drops everything queued. */
  clearQueue(): void {
    const nat = this.#native;
    if (nat === null) return;
    nativeCall(() => nat.clearQueue());
  }

  /** Resolves once the queue has been sent (or the source closed). */
  async waitForPlayout(): Promise<void> {
    const nat = this.#native;
    if (nat === null) return;
    await nativeAwait(nativeCall(() => nat.waitForPlayout()));
  }

  /**
   * Queues a frame of this source's rate and channel count. Resolves when it is queued:
   * while the queue is full it waits (backpressure). Errors: ERR_INVALID_ARG (wrong
   * format or size), ERR_DISPOSED (closed).
   */
  async captureFrame(frame: AudioFrame): Promise<void> {
    const nat = this.#native;
    if (nat === null) throw disposedError('AudioSource');
    checkFrame(frame, 'captureFrame');
    await nativeAwait(
      nativeCall(() => nat.captureFrame(frame.data, frame.sampleRate, frame.channels, frame.samplesPerChannel)),
    );
  }

  /** Closes the source (pending captures fail, tracks go silent) and frees it. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    const nat = this.#native;
    if (nat === null) return;
    this.#native = null;
    nat.close();
  }

  [Symbol.dispose](): void {
    void this.close();
  }
}
