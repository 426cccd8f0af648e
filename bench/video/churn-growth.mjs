// RSS growth of publish/unpublish churn (issue 11), client and server measured apart: an
// lkrtc publisher and an lkrtc subscriber in this process, the server (lkrtc's in-process
// DevServer, the same code as lkrtc-server) in a child process, so each side's RSS is its own.
// Every cycle publishes a new track (audio, or 160x120 video fed frames), waits until the
// subscriber is subscribed, unpublishes it and waits until the subscriber saw it go.
//   sh scripts/netns.sh node --expose-gc bench/video/churn-growth.mjs [--kind audio|video]
//     [--simulcast] [--cycles 300] [--warmup 50]
// Prints KB a cycle after the warm-up for the client process and the server process.
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { uniqueRoomName, waitForEvent, withTimeout } from '../../__test__/helpers/rtc.mjs';

const require = createRequire(import.meta.url);
const lk = require('../../index.js');

if (process.argv[2] === '--server') {
  // The child: a DevServer; answers {rss} with its RSS after a GC, {stop} by closing.
  const dev = await lk.DevServer.start();
  process.on('message', async (m) => {
    if (m?.rss) {
      global.gc?.();
      process.send({ rss: process.memoryUsage.rss() });
    } else if (m?.token) {
      process.send({ token: await dev.createToken({ identity: m.token, room: m.room, name: m.token }) });
    } else if (m?.stop) {
      await dev.close();
      process.exit(0);
    }
  });
  process.send({ url: dev.url });
} else {
  const arg = (name, dflt) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : dflt;
  };
  const KIND = arg('kind', 'audio');
  const CYCLES = Number(arg('cycles', 300));
  const WARMUP = Number(arg('warmup', 50));
  const SIMULCAST = process.argv.includes('--simulcast');
  const W = SIMULCAST ? 640 : 160;
  const H = SIMULCAST ? 360 : 120;

  const server = fork(fileURLToPath(import.meta.url), ['--server'], { execArgv: ['--expose-gc'] });
  const ask = (message, key) =>
    new Promise((resolve) => {
      const on = (m) => {
        if (m?.[key] !== undefined) {
          server.off('message', on);
          resolve(m[key]);
        }
      };
      server.on('message', on);
      if (message) server.send(message);
    });
  const url = await ask(null, 'url');
  const roomName = uniqueRoomName('churn-growth');
  const connect = async (identity) => {
    const room = new lk.Room();
    await room.connect(url, await ask({ token: identity, room: roomName }, 'token'));
    return room;
  };
  const room = await connect('pub');
  const viewer = await connect('sub');

  let feed;
  let makeTrack;
  let options;
  if (KIND === 'audio') {
    const source = new lk.AudioSource(48_000, 1);
    let feeding = true;
    const loop = (async () => {
      while (feeding) await source.captureFrame(lk.AudioFrame.create(48_000, 1, 480));
    })();
    feed = { stop: async () => ((feeding = false), await loop, await source.close()) };
    makeTrack = (i) => lk.LocalAudioTrack.createAudioTrack(`mic-${i}`, source);
    options = () => new lk.TrackPublishOptions({ source: lk.TrackSource.SOURCE_MICROPHONE });
  } else {
    const source = new lk.VideoSource(W, H);
    const frame = new lk.VideoFrame(new Uint8Array(W * H * 4).fill(120), W, H, lk.VideoBufferType.RGBA);
    const timer = setInterval(() => source.captureFrame(frame), 33);
    feed = { stop: async () => (clearInterval(timer), await source.close()) };
    makeTrack = (i) => lk.LocalVideoTrack.createVideoTrack(`cam-${i}`, source);
    options = () => new lk.TrackPublishOptions({ source: lk.TrackSource.SOURCE_CAMERA, simulcast: SIMULCAST });
  }

  const rss = async () => {
    global.gc?.();
    return { client: process.memoryUsage.rss(), server: await ask({ rss: true }, 'rss') };
  };
  const started = Date.now();
  let base;
  for (let i = 0; i < CYCLES; i++) {
    const subscribed = waitForEvent(viewer, lk.RoomEvent.TrackSubscribed, { timeoutMs: 20_000, what: `sub ${i}` });
    const publication = await withTimeout(room.localParticipant.publishTrack(makeTrack(i), options()), 20_000, 'pub');
    await subscribed;
    const gone = waitForEvent(viewer, lk.RoomEvent.TrackUnpublished, { timeoutMs: 20_000, what: `unpub ${i}` });
    await room.localParticipant.unpublishTrack(publication.sid);
    await gone;
    if (i === WARMUP - 1) base = await rss();
  }
  const end = await rss();
  const perCycle = (side) => ((end[side] - base[side]) / 1024 / (CYCLES - WARMUP)).toFixed(1);
  console.log(
    `${KIND}${SIMULCAST ? ' simulcast' : ''}: ${CYCLES} cycles in ${((Date.now() - started) / 1000).toFixed(0)} s; ` +
      `after ${WARMUP} warm-up cycles: client ${perCycle('client')} KB a cycle, server ${perCycle('server')} KB a cycle`,
  );
  await feed.stop();
  await room.disconnect();
  await viewer.disconnect();
  server.send({ stop: true });
}
