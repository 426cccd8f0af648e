import { AudioFrame } from './audio_frame.js';
import { disposedError, invalidArg, nativeCall } from './errors.js';
import { type FrameProcessor, isFrameProcessor } from './frame_processor.js';
import { native } from './native.js';
import { RemoteTrack, remoteTrackInternal, type Track, trackContext } from './track.js';

/** The official SDK's options for its FFI noise-cancellation plugins (not supported by lkrtc). */
export interface NoiseCancellationOptions {
  moduleId: string;
  options: Record<string, unknown>;
}

/** Options of `new AudioStream(track, options)`. */
export interface AudioStreamOptions {
  /**
   * A `FrameProcessor` every frame goes through while it is enabled (a processor that
   * throws lets the original frame through). The official FFI plugin options
   * (`{ moduleId, options }`) cannot be honoured: they are ignored with a warning.
   */
  noiseCancellation?: NoiseCancellationOptions | FrameProcessor<AudioFrame>;
  /** Close the processor when the stream ends (default true); false to reuse it. */
  autoCloseNoiseCancellation?: boolean;
  /** Default 48000. */
  sampleRate?: number;
  /** Default 1. */
  numChannels?: number;
  /** Frame length: a multiple of 10 in 10..100 (default 10). */
  frameSizeMs?: number;
}

/**
 * The audio of a remote track as a `ReadableStream<AudioFrame>` (async iterable). Ends
 * when the track is unsubscribed or unpublished or the room disconnects; cancelling it
 * (or breaking out of `for await`) frees it. A handle (`audioStream`) until then. A slow
 * reader loses the oldest audio (bounded buffering).
 */
export class AudioStream extends ReadableStream<AudioFrame> {
  readonly sampleRate: number;
  readonly numChannels: number;
  readonly frameSizeMs: number;

  constructor(track: Track);
  constructor(track: Track, sampleRate: number);
  constructor(track: Track, sampleRate: number, numChannels: number);
  constructor(track: Track, options: AudioStreamOptions);
  constructor(track: Track, sampleRateOrOptions?: number | AudioStreamOptions, numChannels?: number) {
    const o: AudioStreamOptions =
      sampleRateOrOptions !== null && typeof sampleRateOrOptions === 'object'
        ? sampleRateOrOptions
        : { sampleRate: sampleRateOrOptions, numChannels };
    const sampleRate = o.sampleRate ?? 48000;
    const channels = o.numChannels ?? 1;
    const frameSizeMs = o.frameSizeMs ?? 10;
    if (!(track instanceof RemoteTrack)) throw invalidArg('AudioStream: track must be a RemoteAudioTrack');
    const tn = remoteTrackInternal.native(track);
    if (tn === null) throw disposedError('RemoteTrack');
    let processor: FrameProcessor<AudioFrame> | null = null;
    if (isFrameProcessor<FrameProcessor<AudioFrame>>(o.noiseCancellation)) {
      processor = o.noiseCancellation;
    } else if (o.noiseCancellation !== undefined) {
      process.emitWarning(
        'lkrtc: AudioStream noiseCancellation plugin options are not supported (pass a FrameProcessor); ignored',
      );
    }
    const autoClose = o.autoCloseNoiseCancellation ?? true;
    const nat = nativeCall(() => new native.NativeAudioStream(tn, sampleRate, channels, frameSizeMs));
    let done = false;
    let warned = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      nat.close();
      if (processor !== null) {
        try {
          processor.onStreamInfoCleared();
          processor.onCredentialsCleared();
          if (autoClose) processor.close();
        } catch (err) {
          process.emitWarning(`lkrtc: closing the AudioStream's frame processor failed: ${String(err)}`);
        }
      }
    };
    const run = (frame: AudioFrame): AudioFrame => {
      if (processor === null || !processor.isEnabled()) return frame;
      try {
        return processor.process(frame);
      } catch (err) {
        if (!warned) {
          warned = true;
          process.emitWarning(`lkrtc: frame processing failed, passing the original frames through: ${String(err)}`);
        }
        return frame;
      }
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
          controller.enqueue(run(new AudioFrame(f.data, f.sampleRate, f.channels, f.samplesPerChannel)));
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
    const ctx = trackContext.get(track);
    if (processor !== null && ctx !== undefined) {
      processor.onStreamInfoUpdated({
        roomName: ctx.roomName(),
        participantIdentity: ctx.participantIdentity,
        publicationSid: ctx.publicationSid,
      });
      const { url, token } = ctx.credentials();
      if (url !== undefined && token !== undefined) processor.onCredentialsUpdated({ url, token });
    }
  }
}
