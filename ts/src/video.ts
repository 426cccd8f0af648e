// Video is another issue: these classes exist so that apps importing them load; using any
// of them throws `LkError` `ERR_UNSUPPORTED`.
import { type VideoBufferType, VideoRotation } from './enums.js';
import { unsupported } from './errors.js';
import type { Track } from './track.js';

const NO_VIDEO = 'video (capture, encoding, decoding) is not implemented';

/** Not supported by lkrtc yet: constructing throws `ERR_UNSUPPORTED`. */
export class VideoFrame {
  data!: Uint8Array;
  width!: number;
  height!: number;
  type!: VideoBufferType;
  /** Throws `LkError` `ERR_UNSUPPORTED`. */
  constructor(_data: Uint8Array, _width: number, _height: number, _type: VideoBufferType) {
    throw unsupported('VideoFrame', NO_VIDEO);
  }
  /** Throws `LkError` `ERR_UNSUPPORTED`. */
  convert(_dstType: VideoBufferType, _flipY?: boolean): VideoFrame {
    throw unsupported('VideoFrame.convert', NO_VIDEO);
  }
}

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
