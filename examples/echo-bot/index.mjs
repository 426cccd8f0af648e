// Voice echo bot: joins a room, listens to every microphone in it and plays what it hears
// back, half a second later, on its own track "echo".
//
//   node examples/echo-bot/index.mjs            (in-process dev server; prints a token)
//   LIVEKIT_URL=wss://... LIVEKIT_TOKEN=... node examples/echo-bot/index.mjs
import {
  AudioFrame,
  AudioSource,
  AudioStream,
  LocalAudioTrack,
  RoomEvent,
  TrackKind,
  TrackPublishOptions,
  TrackSource,
} from 'lkrtc';
import { join } from '../lib/join.mjs';

const SAMPLE_RATE = 48_000;
const CHANNELS = 1;
const DELAY_MS = 500;

const { room, stopped } = await join(process.env.ECHO_IDENTITY ?? 'echo-bot');
const source = new AudioSource(SAMPLE_RATE, CHANNELS, DELAY_MS * 4);
const track = LocalAudioTrack.createAudioTrack('echo', source);
const options = new TrackPublishOptions();
options.source = TrackSource.SOURCE_MICROPHONE;
await room.localParticipant.publishTrack(track, options);

/** Plays one remote audio track back into `source`, DELAY_MS late. */
async function echo(remoteTrack, identity) {
  console.log(`echoing ${identity}`);
  const stream = new AudioStream(remoteTrack, { sampleRate: SAMPLE_RATE, numChannels: CHANNELS });
  const silence = AudioFrame.create(SAMPLE_RATE, CHANNELS, (SAMPLE_RATE * DELAY_MS) / 1000);
  await source.captureFrame(silence);
  // The stream ends when the track is unpublished or the room disconnects.
  for await (const frame of stream) await source.captureFrame(frame);
  console.log(`stopped echoing ${identity}`);
}

room.on(RoomEvent.TrackSubscribed, (remoteTrack, publication, participant) => {
  if (remoteTrack.kind !== TrackKind.KIND_AUDIO) return;
  echo(remoteTrack, participant.identity).catch((e) => console.error(`echo of ${participant.identity}:`, e));
});

console.log(`echo-bot ready in ${room.name}`);
await stopped;
await source.close();
