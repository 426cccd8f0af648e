// Video: `VideoSource`, the capture side of local video tracks (`VideoStream`, the receive
// side, is `video_stream.ts`).
import { VideoRotation } from './enums.js';
import { disposedError, invalidArg, nativeCall, unsupported } from './errors.js';
import { native, type NativeVideoSource } from './native.js';
import type { VideoFrame } from './video_frame.js';

export { VideoFrame } from './video_frame.js';

/** @internal */
export let videoSourceNative: (s: VideoSource) => NativeVideoSource;

/**
 * Frames for local video tracks. A handle (`videoSource` in `liveHandles()`) until
 * `close()`. Frames of any `VideoBufferType` are converted to I420 and encoded (VP8 by
 * default, or the publication's `videoCodec`); the queue holds a few frames and drops the
 * oldest when capture outruns the encoder. A frame of another size than announced is sent
 * at its own size (the encoder restarts at that resolution).
 */
export class VideoSource {
  #native: NativeVideoSource | null;
  width: number;
  height: number;
  /** True once `close()` was called. */
  closed = false;

  constructor(width: number, height: number) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
      throw invalidArg(`VideoSource: width and height must be positive integers, not ${width}x${height}`);
    }
    this.width = width;
    this.height = height;
    this.#native = nativeCall(() => new native.NativeVideoSource(width, height));
  }

  static {
    videoSourceNative = (s) => {
      if (!(s instanceof VideoSource)) throw invalidArg('createVideoTrack: source must be a VideoSource');
      if (s.#native === null) throw disposedError('VideoSource');
      return s.#native;
    };
  }

  /**
   * Queues a frame. With `timestampUs` (the capture time in microseconds, any origin; a
   * bigint as in @livekit/rtc-node, or a number) the frames' RTP times follow those stamps,
   * so the receiver plays them with the capture's spacing; a frame stamped no later than the
   * previous one is dropped. Without it the frame is stamped when captured. A rotation other
   * than 0 is refused with ERR_UNSUPPORTED (lkrtc does not send the rotation yet; rotate the
   * frame instead). Errors: ERR_INVALID_ARG (bad frame, negative or non-finite
   * `timestampUs`), ERR_DISPOSED (closed).
   */
  captureFrame(
    frame: VideoFrame,
    timestampUs?: bigint | number,
    rotation: VideoRotation = VideoRotation.VIDEO_ROTATION_0,
  ): void {
    const nat = this.#native;
    if (nat === null) throw disposedError('VideoSource');
    if (rotation !== VideoRotation.VIDEO_ROTATION_0) {
      throw unsupported('captureFrame with a rotation', 'rotate the frame before capturing it');
    }
    if (!(frame?.data instanceof Uint8Array)) throw invalidArg('captureFrame: frame must be a VideoFrame');
    const us = timestampUs === undefined ? undefined : Number(timestampUs);
    if (us !== undefined && (!['bigint', 'number'].includes(typeof timestampUs) || !Number.isFinite(us) || us < 0)) {
      throw invalidArg(`captureFrame: timestampUs must be a non-negative number of microseconds, not ${timestampUs}`);
    }
    nativeCall(() => nat.captureFrame(frame.data, frame.type, frame.width, frame.height, us));
  }

  /** Closes the source (tracks stop sending) and frees it. Idempotent. */
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
