// `VideoFrame`: raw pixels of one of the `VideoBufferType`s, laid out as @livekit/rtc-node
// lays them out (planes back to back, no padding), and `convert` between any two types.
// The layout and the colour conversion (BT.601 limited range, SIMD) are native.
import type { VideoBufferType } from './enums.js';
import { invalidArg, nativeCall } from './errors.js';
import { native } from './native.js';

const isDim = (n: unknown): n is number => Number.isInteger(n) && (n as number) > 0;

/** A raw video frame: `data` holds the planes of `type` at `width` x `height`. */
export class VideoFrame {
  data: Uint8Array;
  width: number;
  height: number;
  type: VideoBufferType;

  constructor(data: Uint8Array, width: number, height: number, type: VideoBufferType) {
    this.data = data;
    this.width = width;
    this.height = height;
    this.type = type;
  }

  /** The planes of this frame (`ERR_INVALID_ARG` when `data` is not such a frame). */
  #planes(what: string) {
    if (!(this.data instanceof Uint8Array)) throw invalidArg(`${what}: data must be a Uint8Array`);
    if (!isDim(this.width) || !isDim(this.height)) {
      throw invalidArg(`${what}: width and height must be positive integers, not ${this.width}x${this.height}`);
    }
    if (!Number.isInteger(this.type) || this.type < 0)
      throw invalidArg(`${what}: unknown VideoBufferType ${this.type}`);
    return nativeCall(() => native.videoFramePlanes(this.type, this.width, this.height, this.data.length));
  }

  /**
   * A copy of plane `planeNth` (Y, U, V[, A] for planar types; Y, UV for NV12); `undefined`
   * past the last plane and for the packed RGB types, as in @livekit/rtc-node.
   */
  getPlane(planeNth: number): Uint8Array | void {
    const planes = this.#planes('VideoFrame.getPlane');
    const packed = planes.length === 1;
    const plane = packed ? undefined : planes[planeNth];
    if (plane === undefined) return undefined;
    return this.data.slice(plane.offset, plane.offset + plane.size);
  }

  /** A new frame of `dstType` (flipped vertically when `flipY`); every pair of types converts. */
  convert(dstType: VideoBufferType, flipY = false): VideoFrame {
    this.#planes('VideoFrame.convert');
    if (!Number.isInteger(dstType) || dstType < 0)
      throw invalidArg(`VideoFrame.convert: unknown VideoBufferType ${dstType}`);
    const data = nativeCall(() =>
      native.videoFrameConvert(this.data, this.type, this.width, this.height, dstType, Boolean(flipY)),
    );
    return new VideoFrame(data, this.width, this.height, dstType);
  }
}
