import { unsupported } from './errors.js';

/**
 * An FFI audio filter plugin of @livekit/rtc-node. lkrtc cannot load those plugins:
 * constructing one throws `LkError` `ERR_UNSUPPORTED`. Pass a `FrameProcessor` as
 * `AudioStream`'s `noiseCancellation` option instead.
 */
export class AudioFilter {
  /** Throws `LkError` `ERR_UNSUPPORTED`. */
  constructor(moduleId: string, _path: string, _dependencies: string[] = []) {
    throw unsupported(
      `AudioFilter ${JSON.stringify(moduleId)}`,
      'FFI audio filter plugins cannot be loaded; use a FrameProcessor',
    );
  }
}
