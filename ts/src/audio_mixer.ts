// AudioMixer: mixes several streams of AudioFrames into one stream of fixed-size frames.
import { AudioFrame } from './audio_frame.js';
import { LkError, ErrorCode, invalidArg } from './errors.js';

/** Options of `new AudioMixer(...)`. */
export interface AudioMixerOptions {
  /** Samples per channel of each mixed frame; default sampleRate / 10 (100 ms). */
  blocksize?: number;
  /** How long each round waits for a stream that has no audio yet (ms, default 100). */
  streamTimeoutMs?: number;
  /** Mixed frames kept for the reader before the mixer waits (default 100). */
  capacity?: number;
}

/** Anything that yields AudioFrames: an `AudioStream`, an async generator... */
type FrameSource = AsyncIterable<AudioFrame>;

interface Input {
  iterator: AsyncIterator<AudioFrame>;
  /** Samples received and not mixed yet (interleaved). */
  pending: Int16Array;
  /** A `next()` still in flight from an earlier round (its result is kept, never lost). */
  inFlight: Promise<IteratorResult<AudioFrame>> | undefined;
  exhausted: boolean;
}

const EMPTY = new Int16Array(0);

function concat(a: Int16Array, b: Int16Array): Int16Array {
  if (a.length === 0) return b;
  const out = new Int16Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * Mixes several async streams of AudioFrames (of the mixer's rate and channel count) into
 * one stream of frames of `blocksize` samples per channel, summed with clipping. Each round
 * takes one block from every stream; a stream with nothing after `streamTimeoutMs`
 * contributes silence for that round, and a short tail is padded with silence. A stream
 * that ends is removed once drained; when the last one ends (or after `endInput()` once
 * every stream is drained) the mixer's iterator completes. `aclose()` stops at once.
 *
 * ```ts
 * const mixer = new AudioMixer(48000, 1);
 * mixer.addStream(new AudioStream(trackA));
 * mixer.addStream(new AudioStream(trackB));
 * for await (const frame of mixer) await source.captureFrame(frame);
 * ```
 */
export class AudioMixer {
  readonly #sampleRate: number;
  readonly #channels: number;
  readonly #blockSamples: number;
  readonly #blocksize: number;
  readonly #timeoutMs: number;
  readonly #capacity: number;
  readonly #inputs = new Map<FrameSource, Input>();
  readonly #output: AudioFrame[] = [];
  #ending = false;
  #closed = false;
  #finished = false;
  /** Wakes the mixing loop (a stream was added, the reader took a frame, close...). */
  #wakeMixer: (() => void) | undefined;
  /** Wakes a waiting reader. */
  #wakeReader: (() => void) | undefined;
  readonly #task: Promise<void>;

  /**
   * @param sampleRate rate of every input and of the output, in Hz
   * @param numChannels channels of every input and of the output
   */
  constructor(sampleRate: number, numChannels: number, options: AudioMixerOptions = {}) {
    if (!Number.isInteger(sampleRate) || sampleRate <= 0)
      throw invalidArg('AudioMixer: sampleRate must be a positive integer');
    if (!Number.isInteger(numChannels) || numChannels <= 0)
      throw invalidArg('AudioMixer: numChannels must be a positive integer');
    const { blocksize, streamTimeoutMs = 100, capacity = 100 } = options ?? {};
    this.#sampleRate = sampleRate;
    this.#channels = numChannels;
    this.#blocksize = blocksize !== undefined && blocksize > 0 ? Math.floor(blocksize) : Math.floor(sampleRate / 10);
    this.#blockSamples = this.#blocksize * numChannels;
    this.#timeoutMs = Math.max(1, streamTimeoutMs);
    this.#capacity = Math.max(1, Math.floor(capacity));
    this.#task = this.#run();
  }

  /** Adds a stream (an `AudioStream` or any async iterable of AudioFrames). */
  addStream(stream: FrameSource): void {
    if (this.#ending)
      throw new LkError(ErrorCode.ERR_INVALID_STATE, 'AudioMixer: cannot add a stream after endInput() or aclose()');
    if (this.#inputs.has(stream)) return;
    this.#inputs.set(stream, {
      iterator: stream[Symbol.asyncIterator](),
      pending: EMPTY,
      inFlight: undefined,
      exhausted: false,
    });
    this.#wake();
  }

  /** Removes a stream and drops what it had buffered (the stream itself is left open). */
  removeStream(stream: FrameSource): void {
    this.#inputs.delete(stream);
    this.#wake();
  }

  /** The mixed frames. */
  [Symbol.asyncIterator](): AsyncIterator<AudioFrame> {
    return {
      next: async (): Promise<IteratorResult<AudioFrame>> => {
        const frame = await this.#nextFrame();
        return frame === null ? { done: true, value: undefined } : { done: false, value: frame };
      },
      return: async (): Promise<IteratorResult<AudioFrame>> => {
        await this.aclose();
        return { done: true, value: undefined };
      },
    };
  }

  /** Stops mixing now; frames not read yet are dropped. Idempotent. */
  async aclose(): Promise<void> {
    this.#closed = true;
    this.#ending = true;
    this.#output.length = 0;
    this.#wake();
    await this.#task;
  }

  /** No more streams will be added: the mixer ends once every stream is drained. */
  endInput(): void {
    this.#ending = true;
    this.#wake();
  }

  #wake(): void {
    const m = this.#wakeMixer;
    this.#wakeMixer = undefined;
    m?.();
    const r = this.#wakeReader;
    this.#wakeReader = undefined;
    r?.();
  }

  async #nextFrame(): Promise<AudioFrame | null> {
    for (;;) {
      const frame = this.#output.shift();
      if (frame !== undefined) {
        this.#wake(); // room in the queue again
        return frame;
      }
      if (this.#finished || this.#closed) return null;
      await new Promise<void>((res) => {
        this.#wakeReader = res;
      });
    }
  }

  #sleepUntilWoken(): Promise<void> {
    return new Promise<void>((res) => {
      this.#wakeMixer = res;
    });
  }

  async #run(): Promise<void> {
    try {
      while (!this.#closed) {
        if (this.#inputs.size === 0) {
          if (this.#ending) break;
          await this.#sleepUntilWoken();
          continue;
        }
        if (this.#output.length >= this.#capacity) {
          await this.#sleepUntilWoken();
          continue;
        }
        const inputs = [...this.#inputs];
        const blocks = await Promise.all(inputs.map(([, input]) => this.#takeBlock(input)));
        if (this.#closed) break;
        let anyAudio = false;
        for (let i = 0; i < inputs.length; i++) {
          const [stream, input] = inputs[i]!;
          if (blocks[i] !== null) anyAudio = true;
          if (input.exhausted && input.pending.length === 0 && this.#inputs.get(stream) === input)
            this.#inputs.delete(stream);
        }
        // Every stream ended on its own: the mix is over.
        if (this.#inputs.size === 0) this.#ending = true;
        if (!anyAudio) continue;
        this.#output.push(this.#mix(blocks));
        this.#wake();
      }
    } finally {
      this.#finished = true;
      this.#wake();
    }
  }

  /**
   * One block of `input` (padded with silence if it ran short), or null if it had no audio
   * at all this round. Waits at most `streamTimeoutMs` for more.
   */
  async #takeBlock(input: Input): Promise<Int16Array | null> {
    const deadline = Date.now() + this.#timeoutMs;
    while (input.pending.length < this.#blockSamples && !input.exhausted && !this.#closed) {
      input.inFlight ??= input.iterator.next();
      const wait = deadline - Date.now();
      if (wait <= 0) break;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((res) => {
        timer = setTimeout(res, wait, 'timeout');
      });
      let result: IteratorResult<AudioFrame> | 'timeout';
      try {
        result = await Promise.race([input.inFlight, timeout]);
      } catch (err) {
        process.emitWarning(`lkrtc: AudioMixer: a stream failed and was removed: ${String(err)}`);
        input.inFlight = undefined;
        input.exhausted = true;
        break;
      } finally {
        clearTimeout(timer);
      }
      if (result === 'timeout') break;
      input.inFlight = undefined;
      if (result.done) {
        input.exhausted = true;
        break;
      }
      const frame = result.value;
      if (frame.sampleRate !== this.#sampleRate || frame.channels !== this.#channels) {
        process.emitWarning(
          `lkrtc: AudioMixer: dropped a ${frame.sampleRate} Hz/${frame.channels} ch frame (the mixer is ${this.#sampleRate} Hz/${this.#channels} ch)`,
        );
        continue;
      }
      input.pending = concat(input.pending, frame.data);
    }
    if (input.pending.length === 0) return null;
    const block = new Int16Array(this.#blockSamples);
    const n = Math.min(this.#blockSamples, input.pending.length);
    block.set(input.pending.subarray(0, n));
    input.pending = input.pending.subarray(n);
    return block;
  }

  #mix(blocks: Array<Int16Array | null>): AudioFrame {
    const out = new Int16Array(this.#blockSamples);
    for (let i = 0; i < out.length; i++) {
      let sum = 0;
      for (const b of blocks) if (b !== null) sum += b[i]!;
      out[i] = sum > 32767 ? 32767 : sum < -32768 ? -32768 : sum;
    }
    return new AudioFrame(out, this.#sampleRate, this.#channels, this.#blocksize);
  }
}
