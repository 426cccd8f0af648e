// Receiver feedback through lkrtc-server (issue 10, RTCP): official @livekit/rtc-node
// publisher and subscribers. What libwebrtc subscribers send about the video they receive
// (keyframe requests, NACKs, bandwidth estimates) is counted in /lkrtc/stats, and the video
// counters rise with the frames. The picture flips between red and blue every second; both
// are seen, by a subscriber from the start and by one that joins while the video runs (its
// keyframe comes from a request the server makes for it).
import * as official from '@livekit/rtc-node';
import { describe, expect, it } from 'vitest';
import { uniqueRoomName, waitForEvent, withTimeout } from '../helpers/rtc.mjs';
import { useServer } from '../helpers/server.mjs';
import { publishCamera } from '../helpers/video.mjs';

const W = 320;
const H = 240;

/** An RGBA frame, all red or all blue. */
function frame(red) {
  const data = new Uint8Array(W * H * 4);
  for (let i = 0; i < data.length; i += 4) {
    data[i] = red ? 220 : 20;
    data[i + 2] = red ? 20 : 220;
    data[i + 3] = 255;
  }
  return new official.VideoFrame(data, W, H, official.VideoBufferType.RGBA);
}

/** Captures a frame every 40 ms, red and blue by turns each second; returns stop(). */
function play(source) {
  const red = frame(true);
  const blue = frame(false);
  const t0 = Date.now();
  const timer = setInterval(() => {
    source.captureFrame(Math.floor((Date.now() - t0) / 1000) % 2 ? red : blue);
  }, 40);
  return () => clearInterval(timer);
}

/** Colours ('red' | 'blue' | 'other') of the frames `track` delivers within `ms`. */
async function colours(track, ms) {
  const reader = new official.VideoStream(track).getReader();
  const seen = [];
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const { value, done } = await withTimeout(reader.read(), 10_000, 'a video frame');
    if (done) break;
    const rgba = value.frame.convert(official.VideoBufferType.RGBA);
    const mid = ((rgba.height >> 1) * rgba.width + (rgba.width >> 1)) * 4;
    const [r, , b] = rgba.data.subarray(mid, mid + 3);
    seen.push(r > 150 && b < 100 ? 'red' : b > 150 && r < 100 ? 'blue' : 'other');
  }
  reader.releaseLock();
  return seen;
}

async function videoStats(server) {
  const res = await fetch(`${server.httpUrl}/lkrtc/stats`);
  return (await res.json()).video;
}

const delta = (a, b) => Object.fromEntries(Object.keys(b).map((k) => [k, b[k] - a[k]]));

describe('receiver feedback (rtc-node to rtc-node)', () => {
  const env = useServer('video-feedback');

  it('counts video and passes keyframe requests on; frames keep their content', async () => {
    const { server, scope } = env;
    const roomName = uniqueRoomName('feedback');
    const before = await videoStats(server);
    const pub = await scope.connect(server, 'cam', roomName);
    const sub = await scope.connect(server, 'viewer', roomName);
    const source = new official.VideoSource(W, H);
    scope.defer(play(source));
    const { remote, publication } = await publishCamera(pub, sub, source);
    const first = await colours(remote, 4_000);
    expect(first.length, 'frames in 4 s at 25 fps').toBeGreaterThan(50);
    expect(first.filter((c) => c === 'red').length, 'red frames').toBeGreaterThan(10);
    expect(first.filter((c) => c === 'blue').length, 'blue frames').toBeGreaterThan(10);

    // A viewer joining mid-stream: the encoder sends keyframes only when asked.
    const late = await scope.connect(server, 'late', roomName, { roomOptions: { autoSubscribe: false } });
    const lateSubscribed = waitForEvent(late, official.RoomEvent.TrackSubscribed, {
      timeoutMs: 20_000,
      what: 'the late viewer to subscribe',
    });
    late.remoteParticipants.get('cam').trackPublications.get(publication.sid).setSubscribed(true);
    const [lateTrack] = await lateSubscribed;
    const second = await colours(lateTrack, 2_500);
    expect(second.filter((c) => c !== 'other').length, 'late viewer frames').toBeGreaterThan(20);
    expect(new Set(second.filter((c) => c !== 'other')).size, 'both colours seen late').toBe(2);

    const d = delta(before, await videoStats(server));
    console.log(`video feedback over the run: ${JSON.stringify(d)}`);
    expect(d.packets_in, 'video packets in').toBeGreaterThan(100);
    expect(d.packets_out, 'video packets out (two viewers)').toBeGreaterThan(d.packets_in);
    expect(d.keyframe_requests_sent, 'PLIs to the publisher').toBeGreaterThan(0);
    // With goog-remb negotiated and no transport-wide sequence numbers sent, libwebrtc viewers
    // estimate bandwidth themselves and send REMB. On loopback nobody is congested, so no
    // estimate is passed on (crates/server/tests/feedback.rs covers that, and the relay of a
    // subscriber's own PLI/FIR, which libwebrtc viewers send only when the server's own
    // keyframe requests came too late).
    expect(d.rembs_received, 'REMBs from the viewers').toBeGreaterThan(0);
  });
});
