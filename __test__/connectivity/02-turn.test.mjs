// Issue 16: relay-only ICE through a real TURN server (Debian's coturn on 127.0.0.1 with
// long-term credentials). Each client has its own TURN username, so coturn's log says
// who allocated. lkrtc takes the TURN server from rtcConfig.iceServers or, separately,
// from the server's join response; the official SDK relays through the same coturn in
// the same room.
import * as official from '@livekit/rtc-node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { publishSineWith, readToneWith, Scope, uniqueRoomName, waitForEvent, waitUntil } from '../helpers/rtc.mjs';
import { connectLk, expectHandles, expectLkError, lk, rejection, startDevServer, ZERO } from '../client/lk.mjs';
import { makeCertificates, startTurn } from './net-helpers.mjs';

const { IceTransportType, ContinualGatheringPolicy } = lk;
const USERS = { 'lk-a': 'pa', 'lk-b': 'pb', 'lk-c': 'pc', official: 'po', 'server-sent': 'ps' };

function relayConfig(turn, user, mod = lk) {
  return {
    iceTransportType: mod.IceTransportType.TRANSPORT_RELAY,
    continualGatheringPolicy: mod.ContinualGatheringPolicy.GATHER_ONCE,
    iceServers: [{ urls: [turn.url], username: user, password: USERS[user] }],
  };
}

/** `from` sends data and a tone to `to` (both lkrtc or official rooms, `mod*` their SDKs). */
async function exchange(scope, { from, fromMod, to, toMod, fromIdentity }) {
  const got = waitForEvent(to, toMod.RoomEvent.DataReceived, {
    filter: (_p, who) => who?.identity === fromIdentity,
    what: `data from ${fromIdentity}`,
  });
  await from.localParticipant.publishData(new TextEncoder().encode(`via turn from ${fromIdentity}`), {
    reliable: true,
  });
  const [payload] = await got;
  expect(new TextDecoder().decode(payload)).toBe(`via turn from ${fromIdentity}`);
  const subscribed = waitForEvent(to, toMod.RoomEvent.TrackSubscribed, {
    timeoutMs: 20_000,
    filter: (_t, _pub, who) => who.identity === fromIdentity,
    what: `the tone of ${fromIdentity}`,
  });
  await publishSineWith(fromMod, from, { scope, name: `tone-${fromIdentity}` });
  const [track] = await subscribed;
  const tone = await readToneWith(toMod, track, { frames: 50 });
  expect(tone.silentFrames, `silent frames of ${fromIdentity}'s tone`).toBeLessThanOrEqual(3);
}

describe('TURN relay (coturn)', () => {
  let turn;
  let dev;
  let devServerSent;
  let scope;
  beforeAll(async () => {
    turn = await startTurn(USERS);
    dev = await startDevServer();
    devServerSent = await startDevServer({
      iceServers: [{ urls: [turn.url], username: 'server-sent', password: USERS['server-sent'] }],
    });
  });
  afterAll(async () => {
    await dev?.close();
    await devServerSent?.close();
    await turn?.stop();
  });
  beforeEach(() => {
    scope = new Scope();
  });
  afterEach(async (ctx) => {
    await scope.close();
    if (ctx.task.result?.state === 'fail') console.log(turn.log().split('\n').slice(-60).join('\n'));
    expectHandles(ZERO);
  });

  it('lkrtc rooms relay everything through the TURN server given in rtcConfig, with the official SDK in the same room', async () => {
    const roomName = uniqueRoomName('turn');
    const a = await connectLk(scope, dev, 'lk-a', roomName, { options: { rtcConfig: relayConfig(turn, 'lk-a') } });
    const b = await connectLk(scope, dev, 'lk-b', roomName, { options: { rtcConfig: relayConfig(turn, 'lk-b') } });
    const o = await scope.connect(dev, 'official', roomName, {
      roomOptions: { rtcConfig: relayConfig(turn, 'official', official) },
    });
    await waitUntil(() => a.remoteParticipants.size === 2 && o.remoteParticipants.size === 2, {
      what: 'everyone to see everyone',
    });
    // Each client allocated on coturn (publisher and subscriber transports).
    for (const user of ['lk-a', 'lk-b', 'official']) {
      expect(turn.allocations(user), `allocations of ${user}`).toBeGreaterThanOrEqual(1);
    }
    await exchange(scope, { from: a, fromMod: lk, to: b, toMod: lk, fromIdentity: 'lk-a' });
    await exchange(scope, { from: a, fromMod: lk, to: o, toMod: official, fromIdentity: 'lk-a' });
    await exchange(scope, { from: o, fromMod: official, to: b, toMod: lk, fromIdentity: 'official' });
  });

  it('with no iceServers of its own, a relay-only lkrtc room uses the ones the server sends', async () => {
    const roomName = uniqueRoomName('turn-server-sent');
    const before = turn.allocations('server-sent');
    const options = {
      rtcConfig: {
        iceTransportType: IceTransportType.TRANSPORT_RELAY,
        continualGatheringPolicy: ContinualGatheringPolicy.GATHER_ONCE,
        iceServers: [],
      },
    };
    const a = await connectLk(scope, devServerSent, 'lk-c', roomName, { options });
    const b = await connectLk(scope, devServerSent, 'lk-d', roomName, { options });
    expect(turn.allocations('server-sent') - before).toBeGreaterThanOrEqual(2);
    await waitUntil(() => b.remoteParticipants.get('lk-c'), { what: 'lk-d to see lk-c' });
    await exchange(scope, { from: a, fromMod: lk, to: b, toMod: lk, fromIdentity: 'lk-c' });
  });

  it('wrong TURN credentials fail the connect with ERR_ICE_CONFIG, not a hang', async () => {
    const room = new lk.Room();
    scope.rooms.push(room);
    const rtcConfig = {
      ...relayConfig(turn, 'lk-a'),
      iceServers: [{ urls: [turn.url], username: 'lk-a', password: 'wrong' }],
    };
    const started = Date.now();
    const e = await rejection(
      room.connect(dev.url, dev.createToken({ identity: 'bad-creds', room: 'turn-bad' }), { rtcConfig }),
      20_000,
    );
    expectLkError(e, 'ERR_ICE_CONFIG');
    expect(e.message).toMatch(/relay/);
    console.log(`wrong credentials refused after ${Date.now() - started} ms: ${e.message}`);
  });

  it('an unreachable TURN server fails the connect within connectTimeout', async () => {
    const room = new lk.Room();
    scope.rooms.push(room);
    const rtcConfig = {
      ...relayConfig(turn, 'lk-a'),
      iceServers: [{ urls: ['turn:127.0.0.1:9?transport=udp'], username: 'u', password: 'p' }],
    };
    const started = Date.now();
    const e = await rejection(
      room.connect(dev.url, dev.createToken({ identity: 'unreachable', room: 'turn-unreachable' }), {
        rtcConfig,
        connectTimeout: 4_000,
      }),
      15_000,
    );
    expectLkError(e, 'ERR_ICE_CONFIG');
    expect(e.message).toMatch(/turn:127\.0\.0\.1:9/);
    expect(Date.now() - started).toBeLessThan(8_000);
  });
});

// The WebRTC stack speaks TURN over UDP only; lkrtc tunnels TURN over TCP and TLS itself.
describe('TURN over TCP and TLS (coturn)', () => {
  let certs;
  let turn;
  let dev;
  let scope;
  let savedCa;
  beforeAll(async () => {
    certs = makeCertificates({ names: ['localhost'] });
    turn = await startTurn(USERS, { tls: certs });
    dev = await startDevServer();
  });
  afterAll(async () => {
    await dev?.close();
    await turn?.stop();
    certs?.cleanup();
  });
  beforeEach(() => {
    scope = new Scope();
    savedCa = process.env.NODE_EXTRA_CA_CERTS;
    process.env.NODE_EXTRA_CA_CERTS = certs.caPath;
  });
  afterEach(async (ctx) => {
    await scope.close();
    if (savedCa === undefined) delete process.env.NODE_EXTRA_CA_CERTS;
    else process.env.NODE_EXTRA_CA_CERTS = savedCa;
    if (ctx.task.result?.state === 'fail') console.log(turn.log().split('\n').slice(-60).join('\n'));
    expectHandles(ZERO);
  });

  for (const [name, pick] of [
    ['TCP (turn:…?transport=tcp)', (t) => t.tcpUrl],
    ['TLS (turns:…?transport=tcp)', (t) => t.tlsUrl],
  ]) {
    it(`relay-only lkrtc rooms exchange data and audio through TURN over ${name}`, async () => {
      const roomName = uniqueRoomName('turn-stream');
      const config = (user) => ({
        ...relayConfig(turn, user),
        iceServers: [{ urls: [pick(turn)], username: user, password: USERS[user] }],
      });
      const before = { a: turn.allocations('lk-a'), b: turn.allocations('lk-b'), streams: turn.streamConnections() };
      const a = await connectLk(scope, dev, 'lk-a', roomName, { options: { rtcConfig: config('lk-a') } });
      const b = await connectLk(scope, dev, 'lk-b', roomName, { options: { rtcConfig: config('lk-b') } });
      expect(turn.allocations('lk-a') - before.a).toBeGreaterThanOrEqual(1);
      expect(turn.allocations('lk-b') - before.b).toBeGreaterThanOrEqual(1);
      // Both clients' two transports reached coturn over TCP (or TLS on its TLS port).
      expect(turn.streamConnections() - before.streams).toBeGreaterThanOrEqual(4);
      await waitUntil(() => b.remoteParticipants.get('lk-a'), { what: 'lk-b to see lk-a' });
      await exchange(scope, { from: a, fromMod: lk, to: b, toMod: lk, fromIdentity: 'lk-a' });
    });
  }

  it('the official SDK relays over TURN/TCP in the same room as lkrtc over TURN/TLS', async () => {
    const roomName = uniqueRoomName('turn-mixed');
    const a = await connectLk(scope, dev, 'lk-a', roomName, {
      options: {
        rtcConfig: {
          ...relayConfig(turn, 'lk-a'),
          iceServers: [{ urls: [turn.tlsUrl], username: 'lk-a', password: USERS['lk-a'] }],
        },
      },
    });
    const o = await scope.connect(dev, 'official', roomName, {
      roomOptions: {
        rtcConfig: {
          ...relayConfig(turn, 'official', official),
          iceServers: [{ urls: [turn.tcpUrl], username: 'official', password: USERS.official }],
        },
      },
    });
    await waitUntil(() => a.remoteParticipants.get('official') && o.remoteParticipants.get('lk-a'), {
      what: 'both to see each other',
    });
    await exchange(scope, { from: a, fromMod: lk, to: o, toMod: official, fromIdentity: 'lk-a' });
    await exchange(scope, { from: o, fromMod: official, to: a, toMod: lk, fromIdentity: 'official' });
  });
});
