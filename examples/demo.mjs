// lkrtc demo: an in-process dev server, two lkrtc rooms, audio, data and RPC, and
// proof that nothing native is left behind.
//
//   npm run demo
//
// Everything runs on 127.0.0.1 in this one process; no external server, no root.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const {
  AudioFrame,
  AudioSource,
  AudioStream,
  DevServer,
  LocalAudioTrack,
  Room,
  RoomEvent,
  TrackPublishOptions,
  TrackSource,
  liveHandles,
} = require('../index.js');

const RATE = 48_000;
const FREQ = 440;

function withTimeout(promise, ms, what) {
  let t;
  return Promise.race([
    promise,
    new Promise((_, rej) => {
      t = setTimeout(() => rej(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

/** Frequency of the strongest period by autocorrelation. */
function detectFrequency(samples, rate) {
  let best = 0;
  let bestLag = 0;
  for (let lag = Math.floor(rate / 2000); lag < rate / 60; lag++) {
    let c = 0;
    for (let i = 0; i + lag < samples.length; i++) c += samples[i] * samples[i + lag];
    if (c > best) {
      best = c;
      bestLag = lag;
    }
  }
  return rate / bestLag;
}

const server = await DevServer.start({ port: 0 });
console.log(`dev server on ${server.url}`);
const alice = new Room();
const bob = new Room();
try {
  await alice.connect(server.url, server.createToken({ identity: 'alice', room: 'demo' }));
  await bob.connect(server.url, server.createToken({ identity: 'bob', room: 'demo' }));
  console.log(`alice and bob are in room ${await alice.getSid()}`);

  // Data: bob prints what alice sends.
  const gotData = new Promise((resolve) =>
    bob.once(RoomEvent.DataReceived, (payload, participant) => {
      console.log(`bob got "${new TextDecoder().decode(payload)}" from ${participant?.identity}`);
      resolve();
    }),
  );
  await alice.localParticipant.publishData(new TextEncoder().encode('hello from alice'), { reliable: true });
  await withTimeout(gotData, 5_000, 'data');

  // RPC: bob answers, alice calls.
  bob.localParticipant.registerRpcMethod(
    'greet',
    async (data) => `hi ${data.callerIdentity}, you said ${data.payload}`,
  );
  const answer = await alice.localParticipant.performRpc({
    destinationIdentity: 'bob',
    method: 'greet',
    payload: 'ping',
  });
  console.log(`alice's RPC answer: ${answer}`);

  // Audio: alice publishes a 440 Hz tone, bob listens and measures it.
  const subscribed = new Promise((resolve) => bob.once(RoomEvent.TrackSubscribed, (track) => resolve(track)));
  const source = new AudioSource(RATE, 1);
  const track = LocalAudioTrack.createAudioTrack('tone', source);
  const options = new TrackPublishOptions();
  options.source = TrackSource.SOURCE_MICROPHONE;
  const publication = await alice.localParticipant.publishTrack(track, options);
  let t = 0;
  let feeding = true;
  const feed = (async () => {
    while (feeding) {
      const frame = AudioFrame.create(RATE, 1, RATE / 100);
      for (let i = 0; i < frame.samplesPerChannel; i++, t++) {
        frame.data[i] = Math.round(12_000 * Math.sin((2 * Math.PI * FREQ * t) / RATE));
      }
      await source.captureFrame(frame);
    }
  })();
  const remoteTrack = await withTimeout(subscribed, 10_000, 'bob to subscribe');
  const stream = new AudioStream(remoteTrack, { sampleRate: RATE, numChannels: 1 });
  const samples = [];
  let frames = 0;
  for await (const frame of stream) {
    if (++frames > 50) samples.push(...frame.data);
    if (frames >= 100) break;
  }
  console.log(`bob hears ${detectFrequency(samples.slice(0, RATE / 4), RATE).toFixed(1)} Hz (alice sends ${FREQ} Hz)`);
  feeding = false;
  source.clearQueue();
  await feed;
  await alice.localParticipant.unpublishTrack(publication.sid);
  await source.close();
} finally {
  await alice.disconnect();
  await bob.disconnect();
  await server.close();
}
console.log('live native handles after disconnect:', liveHandles());
