// lkrtc demo: start lkrtc-server, join two official clients (@livekit/rtc-node),
// one publishes a 440 Hz tone and sends a few messages, the other prints what
// it receives; then everyone leaves and the process exits.
//
//   npm run demo:official   (builds the server, then runs this inside scripts/netns.sh)
//
// The official client runs inside a private network namespace (see NETWORK.md);
// when started outside one, this script re-runs itself through scripts/netns.sh.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SERVER_BIN = resolve(ROOT, process.env.CARGO_TARGET_DIR ?? 'target', 'debug', 'lkrtc-server');

if (process.env.LKRTC_NETNS !== '1') {
  const r = spawnSync('sh', [resolve(ROOT, 'scripts', 'netns.sh'), process.execPath, fileURLToPath(import.meta.url)], {
    stdio: 'inherit',
  });
  process.exit(r.status ?? 1);
}
if (!existsSync(SERVER_BIN)) {
  console.error(`${SERVER_BIN} not found: run \`cargo build -p lkrtc-server\` (npm run demo does).`);
  process.exit(1);
}

// Quiet the official client's debug logging; must be set before it loads.
process.env.NODE_ENV ??= 'production';
const {
  AudioFrame,
  AudioSource,
  AudioStream,
  DataPacketKind,
  dispose,
  LocalAudioTrack,
  Room,
  RoomEvent,
  TrackPublishOptions,
  TrackSource,
} = await import('@livekit/rtc-node');
const { AccessToken } = await import('livekit-server-sdk');

const API_KEY = 'devkey';
const API_SECRET = 'secret';
const ROOM = 'demo';
const FREQ = 440;
const RATE = 48_000;

function withTimeout(promise, ms, what) {
  let t;
  return Promise.race([
    promise,
    new Promise((_, rej) => {
      t = setTimeout(() => rej(new Error(`timed out waiting for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

async function startServer() {
  const proc = spawn(SERVER_BIN, ['--port', '0', '--bind', '127.0.0.1', '--keys', `${API_KEY}:${API_SECRET}`], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, LKRTC_LOG: process.env.LKRTC_LOG ?? 'lkrtc_server=warn,error' },
  });
  const url = await withTimeout(
    new Promise((res, rej) => {
      proc.once('exit', (code) => rej(new Error(`lkrtc-server exited with ${code}`)));
      createInterface({ input: proc.stdout }).on('line', (line) => {
        const m = /listening on (ws:\/\/\S+)/.exec(line);
        if (m) res(m[1]);
      });
    }),
    20_000,
    'lkrtc-server to listen',
  );
  return { proc, url };
}

async function token(identity) {
  const at = new AccessToken(API_KEY, API_SECRET, { identity, ttl: '10m' });
  at.addGrant({ roomJoin: true, room: ROOM, canPublish: true, canSubscribe: true, canPublishData: true });
  return await at.toJwt();
}

/** Frequency estimate from the number of rising zero crossings. */
function zeroCrossingHz(samples, rate) {
  let n = 0;
  for (let i = 1; i < samples.length; i++) if (samples[i - 1] < 0 && samples[i] >= 0) n++;
  return (n * rate) / samples.length;
}

const server = await startServer();
console.log(`server:  ${server.url}`);

const alice = new Room();
const bob = new Room();
let source;
let track;
let toneOn = true;
try {
  bob.on(RoomEvent.ParticipantConnected, (p) => console.log(`bob:     ${p.identity} joined (${p.sid})`));
  bob.on(RoomEvent.DataReceived, (payload, p, kind, topic) => {
    const how = kind === DataPacketKind.KIND_RELIABLE ? 'reliable' : 'lossy';
    console.log(`bob:     data from ${p?.identity} [${how}, topic ${topic}]: ${new TextDecoder().decode(payload)}`);
  });
  const subscribed = new Promise((res) =>
    bob.on(RoomEvent.TrackSubscribed, (t, pub, p) => {
      console.log(`bob:     subscribed to ${p.identity}'s track "${pub.name}" (${pub.sid})`);
      res(t);
    }),
  );

  await withTimeout(bob.connect(server.url, await token('bob')), 20_000, 'bob to connect');
  console.log(`bob:     connected to room "${bob.name}" (${await bob.getSid()})`);
  await withTimeout(alice.connect(server.url, await token('alice')), 20_000, 'alice to connect');
  console.log(`alice:   connected, sees ${[...alice.remoteParticipants.keys()].join(', ')}`);

  // Alice publishes a tone, fed in real time.
  source = new AudioSource(RATE, 1);
  track = LocalAudioTrack.createAudioTrack('tone', source);
  const opts = new TrackPublishOptions();
  opts.source = TrackSource.SOURCE_MICROPHONE;
  const pub = await withTimeout(alice.localParticipant.publishTrack(track, opts), 20_000, 'publishTrack');
  console.log(`alice:   published "${pub.name}" (${pub.sid})`);
  const tone = (async () => {
    let t = 0;
    while (toneOn) {
      const frame = AudioFrame.create(RATE, 1, RATE / 100);
      for (let i = 0; i < frame.samplesPerChannel; i++, t++) {
        frame.data[i] = Math.round(12_000 * Math.sin((2 * Math.PI * FREQ * t) / RATE));
      }
      await source.captureFrame(frame);
    }
  })().catch(() => {});

  // Bob listens for a second and reports what he hears.
  const remote = await withTimeout(subscribed, 20_000, "bob to subscribe to alice's track");
  const reader = new AudioStream(remote, { sampleRate: RATE, numChannels: 1 }).getReader();
  const heard = [];
  let total = 0;
  await withTimeout(
    (async () => {
      while (total < RATE) {
        const { done, value } = await reader.read();
        if (done) break;
        let peak = 0;
        for (const s of value.data) peak = Math.max(peak, Math.abs(s));
        if (peak < 500 && heard.length === 0) continue; // leading silence
        heard.push(value.data);
        total += value.data.length;
      }
    })(),
    20_000,
    'audio',
  );
  await reader.cancel();
  const all = new Int16Array(total);
  let o = 0;
  for (const d of heard) {
    all.set(d, o);
    o += d.length;
  }
  console.log(
    `bob:     heard ${(total / RATE).toFixed(2)} s of audio at ~${zeroCrossingHz(all, RATE).toFixed(0)} Hz (sent ${FREQ} Hz)`,
  );

  // A few data messages.
  const enc = new TextEncoder();
  for (let i = 1; i <= 3; i++) {
    await alice.localParticipant.publishData(enc.encode(`hello #${i}`), { reliable: true, topic: 'chat' });
  }
  await alice.localParticipant.publishData(enc.encode('a lossy hello'), { reliable: false, topic: 'chat' });
  await new Promise((r) => setTimeout(r, 500));

  toneOn = false;
  await tone;
} finally {
  toneOn = false;
  await Promise.allSettled([alice.disconnect(), bob.disconnect()]);
  await track?.close().catch(() => {});
  await source?.close().catch(() => {});
  server.proc.kill('SIGTERM');
  await new Promise((r) => (server.proc.exitCode !== null ? r() : server.proc.once('exit', r)));
  await dispose();
  console.log('done:    everyone left, server stopped');
}
