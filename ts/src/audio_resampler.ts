import { AudioFrame, checkFrame } from './audio_frame.js';
import { disposedError, invalidArg, nativeCall } from './errors.js';
import { native, type NativeAudioResampler } from './native.js';

/** Filter quality of `AudioResampler`. */
export enum AudioResamplerQuality {
  QUICK = 0,
  LOW = 1,
  MEDIUM = 2,
  HIGH = 3,
  VERY_HIGH = 4,
}

/**
 * Converts 16-bit PCM between rates (8 to 192 kHz), 1 to 8 channels. `quality` picks the
 * filter: QUICK (cubic, no anti-aliasing), LOW/HIGH/VERY_HIGH (windowed sinc of growing
 * length), MEDIUM (FFT resampler, the default).
 */
export class AudioResampler {
  #native: NativeAudioResampler | null;
  readonly #in: number;
  readonly #out: number;
  readonly #channels: number;

  constructor(
    inputRate: number,
    outputRate: number,
    channels = 1,
    quality: AudioResamplerQuality = AudioResamplerQuality.MEDIUM,
  ) {
    if (!Number.isInteger(quality) || quality < 0 || quality > 4) {
      throw invalidArg(`AudioResampler: quality must be an AudioResamplerQuality value, not ${quality}`);
    }
    this.#in = inputRate;
    this.#out = outputRate;
    this.#channels = channels;
    this.#native = nativeCall(() => new native.NativeAudioResampler(inputRate, outputRate, channels, quality));
  }

  get inputRate(): number {
    return this.#in;
  }
  get outputRate(): number {
    return this.#out;
  }
  get channels(): number {
    return this.#channels;
  }

  #frames(out: Int16Array): AudioFrame[] {
    if (out.length === 0) return [];
    return [new AudioFrame(out, this.#out, this.#channels, out.length / this.#channels)];
  }

  /** Feeds a frame; returns the frames ready (zero or one). `ERR_INVALID_ARG` if its format differs. */
  push(frame: AudioFrame): AudioFrame[] {
    const nat = this.#native;
    if (nat === null) throw disposedError('AudioResampler');
    checkFrame(frame, 'AudioResampler.push');
    if (frame.sampleRate !== this.#in || frame.channels !== this.#channels) {
      throw invalidArg(
        `AudioResampler.push: frame is ${frame.sampleRate} Hz/${frame.channels} ch, expected ${this.#in} Hz/${this.#channels} ch`,
      );
    }
    return this.#frames(nativeCall(() => nat.push(frame.data)));
  }

  /**
   * Returns what is still buffered (zero or one frame), so that everything pushed comes
   * out at the output rate; the resampler then starts afresh.
   */
  flush(): AudioFrame[] {
    const nat = this.#native;
    if (nat === null) throw disposedError('AudioResampler');
    return this.#frames(nativeCall(() => nat.flush()));
  }

  /** Frees the resampler; push/flush then throw `ERR_DISPOSED`. */
  close(): void {
    this.#native = null;
  }
}
