// Pictures for the SDK video benchmarks: a moving 1280x720 RGBA test pattern (a few frames
// computed once, then cycled) and a frame number drawn as 16 black/white blocks across the
// top, coarse enough to survive VP8 and H.264 at any simulcast layer.
export const W = 1280;
export const H = 720;
export const COUNTER_BITS = 16;
const BLOCK = W / COUNTER_BITS;
const PATTERN_FRAMES = 8;

/** `PATTERN_FRAMES` RGBA pictures: diagonal colour bands and a white square, both moving. */
export function patternFrames() {
  const frames = [];
  for (let f = 0; f < PATTERN_FRAMES; f++) {
    const data = new Uint8Array(W * H * 4);
    const px = new Uint32Array(data.buffer);
    const shift = f * 12;
    const sx = Math.floor((f * (W - 160)) / PATTERN_FRAMES);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const band = ((x + y + shift) >> 5) & 7;
        const inSquare = x >= sx && x < sx + 160 && y >= 280 && y < 440;
        const r = inSquare ? 255 : 40 + band * 25;
        const g = inSquare ? 255 : 200 - band * 20;
        const b = inSquare ? 255 : (x * 255) / W;
        px[y * W + x] = (255 << 24) | (b << 16) | (g << 8) | r; // little-endian RGBA
      }
    }
    frames.push(data);
  }
  return frames;
}

/** Draws `value` into the top band of an RGBA 1280x720 picture (bit set = white). */
export function paintCounter(rgba, value) {
  const px = new Uint32Array(rgba.buffer, rgba.byteOffset, W * H);
  for (let bit = 0; bit < COUNTER_BITS; bit++) {
    const v = (value >> bit) & 1 ? 0xffffffff : 0xff000000;
    for (let y = 0; y < BLOCK; y++) px.fill(v, y * W + bit * BLOCK, y * W + (bit + 1) * BLOCK);
  }
}

/**
 * The number drawn in a received frame of `mod` (either SDK), at any size; -1 when a block
 * is neither clearly dark nor clearly bright (a picture the encoder smeared).
 */
export function readCounter(mod, frame) {
  const i420 = frame.type === mod.VideoBufferType.I420 ? frame : frame.convert(mod.VideoBufferType.I420);
  const block = i420.width / COUNTER_BITS;
  const y = Math.floor(block / 2);
  let value = 0;
  for (let bit = 0; bit < COUNTER_BITS; bit++) {
    const luma = i420.data[y * i420.width + Math.floor(bit * block + block / 2)];
    if (luma > 64 && luma < 192) return -1;
    if (luma >= 192) value |= 1 << bit;
  }
  return value;
}
