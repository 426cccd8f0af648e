// VideoSource and VideoStream are not implemented yet: these classes exist so that apps
// importing them load; using them throws `LkError` `ERR_UNSUPPORTED`. `VideoFrame` works.
import { VideoRotation } from './enums.js';
import { unsupported } from './errors.js';
import type { Track } from './track.js';
import type { VideoFrame } from './video_frame.js';

export { VideoFrame } from './video_frame.js';

const NO_VIDEO = 'video (capture, encoding, decoding) is not implemented';

/** Not supported by lkrtc yet: constructing throws `ERR_UNSUPPORTED`. */
export class VideoSource {
  width!: number;
  height!: number;
  /** Throws `LkError` `ERR_UNSUPPORTED`. */
  constructor(_width: number, _height: number, _isScreencast?: boolean) {
    throw unsupported('VideoSource', NO_VIDEO);
  }
  /** Throws `LkError` `ERR_UNSUPPORTED`. */
  captureFrame(
    _frame: VideoFrame,
    _timestampUs?: bigint,
    _rotation: VideoRotation = VideoRotation.VIDEO_ROTATION_0,
  ): void {
    throw unsupported('VideoSource.captureFrame', NO_VIDEO);
  }
  async close(): Promise<void> {}
}

/** A decoded video frame of a `VideoStream`. */
export type VideoFrameEvent = {
  frame: VideoFrame;
  timestampUs: bigint;
  rotation: VideoRotation;
};

/** Not supported by lkrtc yet: constructing throws `ERR_UNSUPPORTED`. */
export class VideoStream extends ReadableStream<VideoFrameEvent> {
  /** Throws `LkError` `ERR_UNSUPPORTED`. */
  constructor(_track: Track) {
    super();
    throw unsupported('VideoStream', NO_VIDEO);
  }
}
