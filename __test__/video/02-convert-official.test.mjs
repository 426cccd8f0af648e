// Issue 11: lkrtc's VideoFrame.convert gives what @livekit/rtc-node's gives (libyuv, BT.601
// limited range), within rounding, for every pair of types the official SDK converts (it
// refuses the others, and aborts the process on ABGR and I010 sources), at an odd size, with
// and without flipY. In-process conversion only, no network; it is in the namespace project
// because that is where the official package may be loaded.
import * as official from '@livekit/rtc-node';
import { describe, expect, it } from 'vitest';
import { lk } from '../client/lk.mjs';

/** The pairs @livekit/rtc-node 1.1 converts (found by trying each, one process per pair). */
const OFFICIAL_PAIRS = {
  RGBA: ['BGRA', 'I420'],
  ARGB: ['I420'],
  BGRA: ['RGBA', 'I420'],
  RGB24: ['I420'],
  I420: ['RGBA', 'ABGR', 'ARGB', 'BGRA', 'RGB24', 'I420'],
  I420A: ['I420', 'I420A'],
  I422: ['RGBA', 'ABGR', 'ARGB', 'I420', 'I422'],
  I444: ['RGBA', 'BGRA', 'I420', 'I444'],
  NV12: ['RGBA', 'BGRA', 'I420'],
};

/** Pairs where libyuv subsamples chroma by picking, not averaging. */
const RESAMPLED_CHROMA = new Set(['I422->I420', 'I444->I420']);

const W = 321;
const H = 241;

/** A picture with edges and gradients: red across, green down, a blue square, opaque. */
function picture() {
  const data = new Uint8Array(W * H * 4);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const inSquare = x > 100 && x < 200 && y > 60 && y < 160;
      data.set([(x * 255) / W, (y * 255) / H, inSquare ? 240 : 30, 255], (y * W + x) * 4);
    }
  }
  return data;
}

/** The same frame as each SDK's VideoFrame of type `name`, made by lkrtc from `rgba`. */
function sourceFrames(rgba, name) {
  const lkFrame = new lk.VideoFrame(rgba, W, H, lk.VideoBufferType.RGBA).convert(lk.VideoBufferType[name]);
  const offFrame = new official.VideoFrame(lkFrame.data.slice(), W, H, official.VideoBufferType[name]);
  return [lkFrame, offFrame];
}

function diffStats(a, b) {
  expect(a.length).toBe(b.length);
  let max = 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    max = Math.max(max, d);
    sum += d;
  }
  return { max, mean: sum / a.length };
}

describe('VideoFrame.convert matches @livekit/rtc-node', () => {
  const rgba = picture();
  for (const [from, targets] of Object.entries(OFFICIAL_PAIRS)) {
    for (const to of targets) {
      for (const flipY of [false, true]) {
        it(`${from} -> ${to}${flipY ? ' (flipY)' : ''}`, () => {
          const [lkFrame, offFrame] = sourceFrames(rgba, from);
          const ours = lkFrame.convert(lk.VideoBufferType[to], flipY);
          const theirs = offFrame.convert(official.VideoBufferType[to], flipY);
          expect([ours.width, ours.height, ours.type]).toEqual([theirs.width, theirs.height, theirs.type]);
          // The official SDK sizes an I420A result with ceil(w/2)² chroma bytes instead of
          // ceil(w/2) x ceil(h/2) (its getPlaneLength), so it carries extra bytes at the end.
          const theirData = to === 'I420A' ? theirs.data.subarray(0, ours.data.length) : theirs.data;
          const { max, mean } = diffStats(ours.data, theirData);
          expect(mean, `${from} -> ${to}: mean error`).toBeLessThan(1);
          if (RESAMPLED_CHROMA.has(`${from}->${to}`)) {
            // libyuv point-samples the chroma here while lkrtc averages it, so they differ at
            // sharp colour edges only; luma must still agree.
            const luma = diffStats(ours.data.subarray(0, W * H), theirData.subarray(0, W * H));
            expect(luma.max, `${from} -> ${to}: luma max error`).toBeLessThanOrEqual(2);
          } else {
            // Rounding differs by a step or two. A wrong matrix, range, byte order or flip is
            // off by tens.
            expect(max, `${from} -> ${to}: max error`).toBeLessThanOrEqual(3);
          }
        });
      }
    }
  }
});
