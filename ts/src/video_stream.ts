// `VideoStream`: the decoded pictures of a remote video track as a `ReadableStream`.
import { VideoBufferType, type VideoRotation } from './enums.js';
import { disposedError, invalidArg, nativeCall } from './errors.js';
import { native } from './native.js';
import { RemoteTrack, remoteTrackInternal, type Track } from './track.js';
import { VideoFrame } from './video_frame.js';

/** A decoded video frame of a `VideoStream`. */
export type VideoFrameEvent = {
  frame: VideoFrame;
  /** Capture time in microseconds (sender's clock spacing, anchored on this host's wall clock). */
  timestampUs: bigint;
  rotation: VideoRotation;
};

/** Options of `new VideoStream(track, options)` (an lkrtc addition). */
export interface VideoStreamOptions {
  /** Buffer type of the frames (default I420, what the decoder produces: no conversion). */
  format?: VideoBufferType;
}

/**
 * The pictures of a remote video track as a `ReadableStream<VideoFrameEvent>` (async
 * iterable), decoded from VP8 or H.264. Ends when the track is unsubscribed or
 * unpublished or the room disconnects; cancelling it (or breaking out of `for await`)
 * frees it. A handle (`videoStream`) until then. A keyframe is requested from the sender
 * when the stream starts and after loss. A slow reader loses the oldest frames (a few are
 * buffered). A track in a codec lkrtc cannot decode (VP9, AV1) is refused with
 * ERR_INVALID_ARG.
 */
export class VideoStream extends ReadableStream<VideoFrameEvent> {
  /** The buffer type of the frames. */
  readonly format: VideoBufferType;
  readonly #dropped: () => number;

  constructor(track: Track, options: VideoStreamOptions = {}) {
    if (!(track instanceof RemoteTrack)) throw invalidArg('VideoStream: track must be a RemoteVideoTrack');
    const format = options?.format ?? VideoBufferType.I420;
    if (!Number.isInteger(format) || format < 0) throw invalidArg(`VideoStream: unknown VideoBufferType ${format}`);
    const tn = remoteTrackInternal.native(track);
    if (tn === null) throw disposedError('RemoteTrack');
    const nat = nativeCall(() => new native.NativeVideoStream(tn, format));
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      nat.close();
    };
    super(
      {
        async pull(controller) {
          let e = null;
          try {
            e = done ? null : await nat.next();
          } catch {
            e = null; // disposed underneath: the stream simply ends
          }
          if (e === null) {
            finish();
            try {
              controller.close();
            } catch {
              // already cancelled
            }
            return;
          }
          controller.enqueue({
            frame: new VideoFrame(e.data, e.width, e.height, e.type as VideoBufferType),
            timestampUs: e.timestampUs,
            rotation: e.rotation as VideoRotation,
          });
        },
        cancel() {
          finish();
        },
      },
      { highWaterMark: 0 },
    );
    this.format = format;
    this.#dropped = () => (nat.live ? nat.droppedFrames : 0);
  }

  /** Frames dropped so far because the reader was slower than the track. */
  get droppedFrames(): number {
    return this.#dropped();
  }
}
