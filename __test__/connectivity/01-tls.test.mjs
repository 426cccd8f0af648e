// Issue 16: signalling over TLS. lkrtc-server (in-process, `tls`) serves wss:// with a
// certificate signed by a private CA made here; lkrtc trusts it through
// NODE_EXTRA_CA_CERTS, refuses it without, and refuses a host name it does not name.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { publishSineWith, readToneWith, Scope, uniqueRoomName, waitForEvent, waitUntil } from '../helpers/rtc.mjs';
import { connectLk, expectHandles, expectLkError, lk, rejection, startDevServer, ZERO } from '../client/lk.mjs';
import { makeCertificates } from './net-helpers.mjs';

const { RoomEvent } = lk;

describe('wss:// signalling', () => {
  let certs;
  let dev;
  let scope;
  let savedCa;
  beforeAll(async () => {
    certs = makeCertificates({ names: ['localhost'] });
    dev = await startDevServer({ tls: { cert: certs.certPem, key: certs.keyPem } });
  });
  afterAll(async () => {
    await dev?.close();
    certs?.cleanup();
  });
  beforeEach(() => {
    scope = new Scope();
    savedCa = process.env.NODE_EXTRA_CA_CERTS;
  });
  afterEach(async () => {
    await scope.close();
    if (savedCa === undefined) delete process.env.NODE_EXTRA_CA_CERTS;
    else process.env.NODE_EXTRA_CA_CERTS = savedCa;
    expectHandles(ZERO);
  });

  const localhostUrl = () => `wss://localhost:${dev.port}`;

  it('serves wss:// and says so in its url', () => {
    expect(dev.url).toBe(`wss://127.0.0.1:${dev.port}`);
  });

  it('two rooms join over wss://localhost with the CA in NODE_EXTRA_CA_CERTS and exchange data and audio', async () => {
    process.env.NODE_EXTRA_CA_CERTS = certs.caPath;
    const roomName = uniqueRoomName('tls');
    const server = { ...dev, url: localhostUrl(), token: dev.token };
    const alice = await connectLk(scope, server, 'alice', roomName);
    const bob = await connectLk(scope, server, 'bob', roomName);
    await waitUntil(() => alice.remoteParticipants.get('bob'), { what: 'alice to see bob' });

    const got = waitForEvent(bob, RoomEvent.DataReceived, { what: 'bob to receive data over the TLS-signalled room' });
    await alice.localParticipant.publishData(new TextEncoder().encode('over tls'), { reliable: true, topic: 't' });
    const [payload, from] = await got;
    expect(new TextDecoder().decode(payload)).toBe('over tls');
    expect(from.identity).toBe('alice');

    const subscribed = waitForEvent(bob, RoomEvent.TrackSubscribed, {
      timeoutMs: 20_000,
      what: "bob to subscribe to alice's tone",
    });
    await publishSineWith(lk, alice, { scope, freq: 440 });
    const [track] = await subscribed;
    const tone = await readToneWith(lk, track, { frames: 50 });
    expect(tone.silentFrames).toBeLessThanOrEqual(3);
  });

  it('without the CA, connect is refused with a certificate error that names the fix, in bounded time', async () => {
    delete process.env.NODE_EXTRA_CA_CERTS;
    const room = new lk.Room();
    scope.rooms.push(room);
    const started = Date.now();
    const e = await rejection(
      room.connect(localhostUrl(), dev.createToken({ identity: 'x', room: 'tls-no-ca' })),
      10_000,
    );
    expectLkError(e, 'ERR_TLS_CERTIFICATE');
    expect(e).toBeInstanceOf(lk.ConnectError);
    expect(e.message).toMatch(/unknown authority/);
    expect(e.message).toMatch(/NODE_EXTRA_CA_CERTS/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('a host name the certificate does not name is refused, CA or not', async () => {
    process.env.NODE_EXTRA_CA_CERTS = certs.caPath;
    const room = new lk.Room();
    scope.rooms.push(room);
    const e = await rejection(
      room.connect(dev.url, dev.createToken({ identity: 'x', room: 'tls-wrong-name' })),
      10_000,
    );
    expectLkError(e, 'ERR_TLS_CERTIFICATE');
    expect(e.message).toMatch(/not valid for that name/);
  });

  it('an unreadable NODE_EXTRA_CA_CERTS is reported in the certificate error', async () => {
    process.env.NODE_EXTRA_CA_CERTS = '/nonexistent/lkrtc-ca.pem';
    const room = new lk.Room();
    scope.rooms.push(room);
    const e = await rejection(
      room.connect(localhostUrl(), dev.createToken({ identity: 'x', room: 'tls-bad-ca' })),
      10_000,
    );
    expectLkError(e, 'ERR_TLS_CERTIFICATE');
    expect(e.message).toMatch(/NODE_EXTRA_CA_CERTS=\/nonexistent\/lkrtc-ca.pem could not be read/);
  });

  it('https:// URLs connect over TLS too', async () => {
    process.env.NODE_EXTRA_CA_CERTS = certs.caPath;
    const room = new lk.Room();
    scope.rooms.push(room);
    await room.connect(
      `https://localhost:${dev.port}`,
      dev.createToken({ identity: 'h', room: uniqueRoomName('https') }),
    );
    expect(room.isConnected).toBe(true);
    await room.disconnect();
  });

  it('a plain ws:// client is not served by the TLS port', async () => {
    const room = new lk.Room();
    scope.rooms.push(room);
    const e = await rejection(
      room.connect(`ws://127.0.0.1:${dev.port}`, dev.createToken({ identity: 'p', room: 'plain' }), {
        connectTimeout: 5_000,
      }),
      10_000,
    );
    expect(['ERR_CONNECT', 'ERR_TIMEOUT']).toContain(e.code);
  });
});
