// VideoFrame.convert throughput: RGBA -> I420 at 1920x1080, lkrtc against @livekit/rtc-node
// (libyuv behind its FFI), same frame, same process, same run. No network.
//   node bench/video/convert.mjs [--frames 200] [--from RGBA] [--to I420]
// Prints frames per second and ms per frame for each SDK and the ratio (lkrtc / official
// time; below 1 means lkrtc is faster). Use a release addon for fair figures (see
// bench/audio/bench.mjs: LKRTC_ADDON / NAPI_RS_NATIVE_LIBRARY_PATH).
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const FRAMES = Number(arg('frames', 200));
const FROM = arg('from', 'RGBA');
const TO = arg('to', 'I420');
const W = 1920;
const H = 1080;

// The official addon reads NAPI_RS_NATIVE_LIBRARY_PATH too: load it without, lkrtc with.
const lkAddon = process.env.LKRTC_ADDON;
delete process.env.NAPI_RS_NATIVE_LIBRARY_PATH;
const official = require('@livekit/rtc-node');
if (lkAddon) process.env.NAPI_RS_NATIVE_LIBRARY_PATH = lkAddon;
const lk = require(resolve(ROOT, 'index.js'));

const rgba = new Uint8Array(W * H * 4);
for (let i = 0; i < rgba.length; i++) rgba[i] = (i * 2654435761) >>> 24;

function run(name, sdk) {
  // The source frame is made by lkrtc (the official SDK refuses RGBA -> RGBA and others).
  const source =
    FROM === 'RGBA'
      ? rgba
      : new lk.VideoFrame(rgba, W, H, lk.VideoBufferType.RGBA).convert(lk.VideoBufferType[FROM]).data;
  const frame = new sdk.VideoFrame(source, W, H, sdk.VideoBufferType[FROM]);
  for (let i = 0; i < 10; i++) frame.convert(sdk.VideoBufferType[TO]);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < FRAMES; i++) frame.convert(sdk.VideoBufferType[TO]);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6 / FRAMES;
  console.log(
    `${name.padEnd(9)} ${FROM} -> ${TO} ${W}x${H}: ${ms.toFixed(2)} ms/frame, ${(1000 / ms).toFixed(0)} frames/s`,
  );
  return ms;
}

const ours = run('lkrtc', lk);
const theirs = run('official', official);
console.log(`ratio lkrtc/official time: ${(ours / theirs).toFixed(2)}`);
await official.dispose?.();
