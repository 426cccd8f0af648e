// Issue 11, VideoFrame: every VideoBufferType of @livekit/rtc-node with its plane layout
// (getPlane), convert() between every pair within a small error at an odd size (321x241),
// flipY, the BT.601 limited-range values libyuv gives, and bad frames (wrong data length,
// zero size, unknown type) rejected with ERR_INVALID_ARG. No network.
import { describe, expect, it } from 'vitest';
import { expectHandles, lk } from '../client/lk.mjs';

const { VideoFrame, VideoBufferType: T, ErrorCode } = lk;
const TYPES = ['RGBA', 'ABGR', 'ARGB', 'BGRA', 'RGB24', 'I420', 'I420A', 'I422', 'I444', 'I010', 'NV12'];

/** A smooth RGBA gradient (red across, green down, blue 128, opaque). */
function gradient(w, h) {
  const data = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) data.set([(x * 255) / w, (y * 255) / h, 128, 255], (y * w + x) * 4);
  }
  return new VideoFrame(data, w, h, T.RGBA);
}

function maxDiff(a, b) {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

function thrown(fn) {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

describe('VideoFrame', () => {
  it('lays planes out as the official SDK does (getPlane)', () => {
    const [w, h] = [321, 241];
    const [cw, ch] = [161, 121];
    const sizes = {
      I420: [w * h, cw * ch, cw * ch],
      I420A: [w * h, cw * ch, cw * ch, w * h],
      I422: [w * h, cw * h, cw * h],
      I444: [w * h, w * h, w * h],
      I010: [2 * w * h, 2 * cw * ch, 2 * cw * ch],
      NV12: [w * h, 2 * cw * ch],
    };
    const rgba = gradient(w, h);
    for (const [name, planes] of Object.entries(sizes)) {
      const f = rgba.convert(T[name]);
      expect(f.data.length, name).toBe(planes.reduce((a, b) => a + b));
      let offset = 0;
      planes.forEach((size, n) => {
        const plane = f.getPlane(n);
        expect(plane.length, `${name} plane ${n}`).toBe(size);
        expect(plane).toEqual(f.data.subarray(offset, offset + size));
        offset += size;
      });
      expect(f.getPlane(planes.length), `${name} past the last plane`).toBeUndefined();
    }
    for (const name of ['RGBA', 'ABGR', 'ARGB', 'BGRA']) expect(rgba.convert(T[name]).data.length).toBe(w * h * 4);
    expect(rgba.convert(T.RGB24).data.length).toBe(w * h * 3);
    // Packed types have no planes to give, as in the official SDK.
    expect(rgba.getPlane(0)).toBeUndefined();
  });

  it('converts between every pair of types within a small error, at 321x241', () => {
    const source = gradient(321, 241);
    for (const from of TYPES) {
      const original = source.convert(T[from]);
      const reference = original.convert(T.RGBA).data;
      for (const to of TYPES) {
        const there = original.convert(T[to]);
        expect(there.type).toBe(T[to]);
        expect([there.width, there.height]).toEqual([321, 241]);
        const back = there.convert(T[from]);
        const d = maxDiff(back.convert(T.RGBA).data, reference);
        expect(d, `${from} -> ${to} -> ${from}`).toBeLessThanOrEqual(8);
      }
    }
    expectHandles({});
  });

  it('uses BT.601 limited range, with literal byte orders', () => {
    // Pure red in each packed order; libyuv gives Y 82, U 90, V 239 (white: 235/128/128).
    const red = {
      RGBA: [255, 0, 0, 255],
      BGRA: [0, 0, 255, 255],
      ARGB: [255, 255, 0, 0],
      ABGR: [255, 0, 0, 255],
      RGB24: [255, 0, 0],
    };
    for (const [name, px] of Object.entries(red)) {
      const f = new VideoFrame(new Uint8Array(Array(4).fill(px).flat()), 2, 2, T[name]).convert(T.I420);
      expect(maxDiff(f.data, [82, 82, 82, 82, 90, 239]), name).toBeLessThanOrEqual(1);
    }
    const white = new VideoFrame(new Uint8Array(16).fill(255), 2, 2, T.RGBA).convert(T.I420);
    expect(Array.from(white.data)).toEqual([235, 235, 235, 235, 128, 128]);
  });

  it('flipY mirrors the picture vertically', () => {
    // Top row red, bottom row blue.
    const data = new Uint8Array([255, 0, 0, 255, 255, 0, 0, 255, 0, 0, 255, 255, 0, 0, 255, 255]);
    const f = new VideoFrame(data, 2, 2, T.RGBA);
    expect(Array.from(f.convert(T.RGBA, true).data)).toEqual([
      0, 0, 255, 255, 0, 0, 255, 255, 255, 0, 0, 255, 255, 0, 0, 255,
    ]);
    const y = f.convert(T.I420, true).data;
    expect(maxDiff(y.subarray(0, 4), [41, 41, 82, 82])).toBeLessThanOrEqual(1);
  });

  it('rejects bad frames with ERR_INVALID_ARG', () => {
    const bad = [
      ['wrong data length', () => new VideoFrame(new Uint8Array(15), 2, 2, T.RGBA).convert(T.I420)],
      ['one byte short (I420)', () => new VideoFrame(new Uint8Array(5), 2, 2, T.I420).convert(T.RGBA)],
      ['zero width', () => new VideoFrame(new Uint8Array(0), 0, 2, T.I420).convert(T.RGBA)],
      ['zero height', () => new VideoFrame(new Uint8Array(0), 2, 0, T.RGBA).getPlane(0)],
      ['fractional size', () => new VideoFrame(new Uint8Array(16), 2.5, 2, T.RGBA).convert(T.I420)],
      ['unknown source type', () => new VideoFrame(new Uint8Array(16), 2, 2, 11).convert(T.I420)],
      ['unknown destination type', () => new VideoFrame(new Uint8Array(16), 2, 2, T.RGBA).convert(42)],
      ['negative type', () => new VideoFrame(new Uint8Array(16), 2, 2, T.RGBA).convert(-1)],
      ['data not bytes', () => new VideoFrame([1, 2, 3], 1, 1, T.RGB24).convert(T.I420)],
      ['huge size', () => new VideoFrame(new Uint8Array(4), 1 << 20, 1 << 20, T.RGBA).convert(T.I420)],
    ];
    for (const [what, fn] of bad) {
      const e = thrown(fn);
      expect(e, what).toBeInstanceOf(lk.LkError);
      expect(e.code, `${what}: ${e.message}`).toBe(ErrorCode.ERR_INVALID_ARG);
    }
  });
});
