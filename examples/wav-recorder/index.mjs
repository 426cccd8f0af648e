// Per-participant WAV recorder: writes every remote microphone of the room to its own file,
// `<dir>/<identity>-<track sid>.wav` (16-bit PCM, 48 kHz mono), and closes the file (header
// sizes filled in) when the track ends: unpublished, the participant left, or this recorder
// stopped.
//
//   node examples/wav-recorder/index.mjs [dir]    (default ./recordings)
//   LIVEKIT_URL=wss://... LIVEKIT_TOKEN=... node examples/wav-recorder/index.mjs [dir]
import { mkdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join as joinPath, resolve } from 'node:path';
import { AudioStream, RoomEvent, TrackKind } from 'lkrtc';
import { join } from '../lib/join.mjs';

const SAMPLE_RATE = 48_000;
const CHANNELS = 1;
const HEADER_BYTES = 44;

/** The 44-byte header of a 16-bit PCM WAV file holding `dataBytes` of samples. */
function wavHeader(dataBytes) {
  const h = Buffer.alloc(HEADER_BYTES);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + dataBytes, 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16); // fmt chunk size
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(CHANNELS, 22);
  h.writeUInt32LE(SAMPLE_RATE, 24);
  h.writeUInt32LE(SAMPLE_RATE * CHANNELS * 2, 28); // bytes per second
  h.writeUInt16LE(CHANNELS * 2, 32); // block align
  h.writeUInt16LE(16, 34); // bits per sample
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(dataBytes, 40);
  return h;
}

const dir = resolve(process.argv[2] ?? 'recordings');
mkdirSync(dir, { recursive: true });
const recordings = new Set();

/** Records one remote audio track until its stream ends. */
async function record(remoteTrack, identity) {
  const path = joinPath(dir, `${identity}-${remoteTrack.sid}.wav`);
  const file = await open(path, 'w');
  let bytes = 0;
  try {
    await file.write(wavHeader(0));
    const stream = new AudioStream(remoteTrack, { sampleRate: SAMPLE_RATE, numChannels: CHANNELS });
    for await (const frame of stream) {
      const pcm = Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength);
      await file.write(pcm, 0, pcm.length, HEADER_BYTES + bytes);
      bytes += pcm.length;
    }
    await file.write(wavHeader(bytes), 0, HEADER_BYTES, 0);
  } finally {
    await file.close();
  }
  console.log(`recorded ${path} (${(bytes / 2 / CHANNELS / SAMPLE_RATE).toFixed(1)} s)`);
}

const { room, stopped } = await join(process.env.RECORDER_IDENTITY ?? 'wav-recorder');
room.on(RoomEvent.TrackSubscribed, (remoteTrack, publication, participant) => {
  if (remoteTrack.kind !== TrackKind.KIND_AUDIO) return;
  console.log(`recording ${participant.identity} (${remoteTrack.sid})`);
  const done = record(remoteTrack, participant.identity).catch((e) =>
    console.error(`recording of ${participant.identity}:`, e),
  );
  recordings.add(done);
  done.finally(() => recordings.delete(done));
});

console.log(`wav-recorder ready in ${room.name}, writing to ${dir}`);
await stopped;
// Disconnecting ended every stream: wait for the files to be closed.
await Promise.all(recordings);
