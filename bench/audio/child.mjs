// One side of the audio benchmark, in its own process (bench/audio/bench.mjs drives it).
//   node child.mjs <lkrtc|official> <pub|sub> <url> <token> <tracks>
// pub: publishes <tracks> 48 kHz mono tracks, paced in real time by the wall clock (10 ms
//      frames from precomputed tables, the same work for both SDKs). Track 0 is a quiet
//      tone with a loud 40 ms burst every 500 ms: the latency marker.
// sub: reads every subscribed track through an AudioStream (48 kHz mono, 10 ms frames)
//      and reports when each burst's onset arrives on track 0.
// Messages to the parent (IPC): {ready}, {published, t0}, {subscribed, n}, {done, onsets}.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const [sdk, role, url, token, tracksArg] = process.argv.slice(2);
const N = Number(tracksArg);
const mod = sdk === 'lkrtc' ? require('../../index.js') : await import('@livekit/rtc-node');
const now = () => performance.timeOrigin + performance.now();
const RATE = 48_000;
const SPC = 480;
const BURST_EVERY = 50; // frames (500 ms)
const BURST_LEN = 4; // frames (40 ms)

const room = new mod.Room();
await room.connect(url, token, { autoSubscribe: role === 'sub', dynacast: false });
let stopping = false;
process.on('message', async (m) => {
  if (m?.stop) {
    stopping = true;
    await finish();
  }
});

const onsets = [];
const streams = [];
let finish = async () => {};

if (role === 'pub') {
  const tables = [];
  const sources = [];
  for (let i = 0; i < N; i++) {
    const freq = 200 + 10 * i; // integer Hz: periodic over one second
    const amp = i === 0 ? 600 : 8_000;
    tables.push(
      Int16Array.from({ length: RATE }, (_, t) => Math.round(amp * Math.sin((2 * Math.PI * freq * t) / RATE))),
    );
    const source = new mod.AudioSource(RATE, 1, 200);
    const track = mod.LocalAudioTrack.createAudioTrack(`t${i}`, source);
    const opts = new mod.TrackPublishOptions();
    opts.source = mod.TrackSource.SOURCE_MICROPHONE;
    opts.dtx = false;
    await room.localParticipant.publishTrack(track, opts);
    sources.push(source);
  }
  const burst = Int16Array.from({ length: SPC * BURST_LEN }, (_, t) =>
    Math.round(26_000 * Math.sin((2 * Math.PI * 1_000 * t) / RATE)),
  );
  const t0 = now();
  let k = 0;
  const tick = async () => {
    const due = Math.floor((now() - t0) / 10);
    // Like a live microphone that overran: audio we are late for is skipped rather than
    // queued in a burst, so a stall does not add queueing delay to every later frame.
    if (due - k > 3) k = due;
    while (k <= due && !stopping) {
      const off = (k % 100) * SPC;
      const jobs = [];
      for (let i = 0; i < N; i++) {
        let data;
        if (i === 0 && k % BURST_EVERY < BURST_LEN) {
          const b = (k % BURST_EVERY) * SPC;
          data = burst.slice(b, b + SPC);
        } else data = tables[i].slice(off, off + SPC);
        jobs.push(sources[i].captureFrame(new mod.AudioFrame(data, RATE, 1, SPC)));
      }
      await Promise.all(jobs);
      k++;
    }
  };
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    tick()
      .catch(() => {}) // captures in flight fail once the sources close at the end
      .finally(() => {
        busy = false;
      });
  }, 5);
  process.send({ published: true, t0, burstEveryMs: BURST_EVERY * 10 });
  finish = async () => {
    clearInterval(timer);
    for (const s of sources) await s.close();
    await room.disconnect();
    if (sdk !== 'lkrtc') await mod.dispose();
    process.send({ done: true }, () => process.exit(0));
  };
} else {
  let n = 0;
  const readTrack = async (track, index) => {
    const stream = new mod.AudioStream(track, RATE, 1);
    streams.push(stream);
    let quiet = 0;
    for await (const f of stream) {
      if (stopping) break;
      if (index !== 0) continue;
      let p = 0;
      const d = f.data;
      for (let i = 0; i < d.length; i++) {
        const v = d[i] < 0 ? -d[i] : d[i];
        if (v > p) p = v;
      }
      if (p > 8_000) {
        if (quiet >= 10) onsets.push(now());
        quiet = 0;
      } else quiet++;
    }
  };
  room.on(mod.RoomEvent.TrackSubscribed, (track, pub) => {
    const index = Number(pub.name.slice(1));
    readTrack(track, index).catch(() => {});
    n++;
    process.send({ subscribed: true, n });
  });
  finish = async () => {
    await room.disconnect();
    if (sdk !== 'lkrtc') await mod.dispose();
    process.send({ done: true, onsets }, () => process.exit(0));
  };
}
process.send({ ready: true });
