// Issue 3, test 9: bad input gives typed errors (LkError with a code) and leaves nothing
// behind: no handle, no pending timer.
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { publishSine, uniqueRoomName, waitForEvent } from '../helpers/rtc.mjs';
import { connectLk, expectHandles, expectLkError, lk, rejection, ZERO, useLkEnv } from './lk.mjs';

const { Room, RoomEvent, ConnectError } = lk;

/** Active timers/handles of this process, by type (to check nothing is left pending). */
function activeResources() {
  const counts = {};
  for (const r of process.getActiveResourcesInfo()) counts[r] = (counts[r] ?? 0) + 1;
  return counts;
}

describe('bad input', () => {
  const env = useLkEnv();

  /** Connects a fresh Room expecting a ConnectError with `code`; checks nothing is left. */
  async function failingConnect(url, token, code, opts, { ignore = [] } = {}) {
    const before = activeResources();
    const room = new Room();
    env.scope.rooms.push(room); // disconnected by env.scope.close() should it connect after all
    expectHandles({ room: 1 });
    const t0 = Date.now();
    const e = await rejection(room.connect(url, token, opts));
    const ms = Date.now() - t0;
    expectLkError(e, code);
    expect(e).toBeInstanceOf(ConnectError);
    expect(room.isConnected).toBe(false);
    expect(room.localParticipant).toBeUndefined();
    expectHandles(ZERO, 'a failed connect leaves no handle');
    // Let the runtime settle, then no new timer or handle may remain on the loop.
    await new Promise((r) => setTimeout(r, 50));
    const after = activeResources();
    for (const [type, n] of Object.entries(after)) {
      if (ignore.includes(type)) continue;
      expect(
        n,
        `${type} left pending after a failed connect (${JSON.stringify(before)} -> ${JSON.stringify(after)})`,
      ).toBeLessThanOrEqual(before[type] ?? 0);
    }
    await room.disconnect(); // harmless on a room that never connected
    return { e, ms };
  }

  it('malformed URLs: ERR_INVALID_URL', async () => {
    const token = env.dev.createToken({ identity: 'x', room: 'r' });
    for (const url of ['not a url', 'ftp://127.0.0.1:7880', '', 'ws://']) {
      await failingConnect(url, token, 'ERR_INVALID_URL');
    }
    const room = new Room();
    expectLkError(await rejection(room.connect(42, token)), 'ERR_INVALID_URL');
    expectLkError(await rejection(room.connect(env.dev.url, undefined)), 'ERR_INVALID_ARG');
    expectLkError(await rejection(room.connect(env.dev.url, token, { connectTimeout: -1 })), 'ERR_INVALID_ARG');
    await room.disconnect();
  });

  it('unreachable server: ERR_CONNECT, quickly', async () => {
    // A port nobody listens on: bind one, note it, close it.
    const port = await new Promise((res) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = s.address().port;
        s.close(() => res(p));
      });
    });
    const { ms } = await failingConnect(
      `ws://127.0.0.1:${port}`,
      env.dev.createToken({ identity: 'x', room: 'r' }),
      'ERR_CONNECT',
    );
    expect(ms).toBeLessThan(5_000);
  });

  it('a server that accepts and never answers: ERR_TIMEOUT within connectTimeout', async () => {
    const sockets = new Set();
    const silent = net.createServer((s) => sockets.add(s));
    await new Promise((res) => silent.listen(0, '127.0.0.1', res));
    try {
      const url = `ws://127.0.0.1:${silent.address().port}`;
      const { ms } = await failingConnect(
        url,
        env.dev.createToken({ identity: 'x', room: 'r' }),
        'ERR_TIMEOUT',
        { connectTimeout: 1_000 },
        { ignore: ['TCPSocketWrap'] }, // the silent server's own accepted socket
      );
      expect(ms).toBeGreaterThanOrEqual(900);
      expect(ms).toBeLessThan(5_000);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((res) => silent.close(res));
    }
  });

  it('bad tokens: ERR_UNAUTHORIZED', async () => {
    const other = await lk.DevServer.start({ keys: { otherkey: 'othersecret' } });
    try {
      const wrongKey = other.createToken({ identity: 'x', room: 'r' });
      await failingConnect(env.dev.url, wrongKey, 'ERR_UNAUTHORIZED');
    } finally {
      await other.close();
    }
    await failingConnect(env.dev.url, 'garbage.not.jwt', 'ERR_UNAUTHORIZED');
    const noJoin = env.dev.createToken({ identity: 'x', room: 'r', grants: { roomJoin: false } });
    await failingConnect(env.dev.url, noJoin, 'ERR_UNAUTHORIZED');
    const e = await rejection(new Room().connect(env.dev.url, ''));
    expectLkError(e, 'ERR_INVALID_ARG');
    expectHandles(ZERO);
  });

  it('connect twice: ERR_INVALID_STATE; a Room connects again after disconnect', async () => {
    const roomName = uniqueRoomName('twice');
    const room = new Room();
    env.scope.rooms.push(room);
    const token = env.dev.createToken({ identity: 'twice', room: roomName });
    const first = room.connect(env.dev.url, token);
    expectLkError(await rejection(room.connect(env.dev.url, token)), 'ERR_INVALID_STATE');
    await first;
    expectLkError(await rejection(room.connect(env.dev.url, token)), 'ERR_INVALID_STATE');
    await room.disconnect();
    expectHandles(ZERO);
    await room.connect(env.dev.url, token);
    expect(room.isConnected).toBe(true);
    expectHandles({ room: 1, participant: 1 });
    await room.disconnect();
    expectHandles(ZERO);
  });

  it('methods after disconnect: ERR_DISPOSED, getters still answer', async () => {
    const roomName = uniqueRoomName('after');
    const room = await connectLk(env.scope, env.dev, 'after', roomName);
    const peer = await env.scope.connect(env.dev, 'peer', roomName);
    const sub = waitForEvent(room, RoomEvent.TrackSubscribed, { timeoutMs: 20_000, what: 'subscription' });
    await publishSine(peer, { scope: env.scope });
    const [track, pub, remote] = await sub;
    const local = room.localParticipant;
    await room.disconnect();
    expectHandles(ZERO);

    expectLkError(await rejection(local.publishData(new Uint8Array([1]))), 'ERR_DISPOSED');
    expectLkError(await rejection(local.updateMetadata('m')), 'ERR_DISPOSED');
    expectLkError(await rejection(local.updateName('n')), 'ERR_DISPOSED');
    expectLkError(await rejection(local.setAttributes({ a: 'b' })), 'ERR_DISPOSED');
    expectLkError(await rejection(pub.setSubscribed(false)), 'ERR_DISPOSED');
    pub.setSubscribed(true); // ignored promise: must not become an unhandled rejection

    expect(local.identity).toBe('after');
    expect(local.sid).toMatch(/^PA_/);
    expect(remote.identity).toBe('peer');
    expect(pub.sid).toMatch(/^TR_/);
    expect(track.sid).toBe(pub.sid);
    for (const o of [local, remote, pub, track]) expect(o.isDisposed).toBe(true);
    // Disposing again is a no-op.
    for (const o of [local, remote, pub, track]) o.dispose();
    expectHandles(ZERO);
  });

  it('bad arguments while connected: ERR_INVALID_ARG, the room stays usable', async () => {
    const room = await connectLk(env.scope, env.dev, 'args', uniqueRoomName('args'));
    const lp = room.localParticipant;
    expectLkError(await rejection(lp.publishData('not bytes')), 'ERR_INVALID_ARG');
    expectLkError(await rejection(lp.updateMetadata(42)), 'ERR_INVALID_ARG');
    expectLkError(await rejection(lp.setAttributes({ a: 1 })), 'ERR_INVALID_ARG');
    expectLkError(await rejection(lp.setAttributes(null)), 'ERR_INVALID_ARG');
    const big = new Uint8Array(70_000);
    expectLkError(await rejection(lp.publishData(big, { reliable: true })), 'ERR_INVALID_ARG');
    await lp.publishData(new Uint8Array([1, 2, 3]), { reliable: true });
    // Own metadata refused by the server without the grant.
    const denied = await connectLk(env.scope, env.dev, 'denied', uniqueRoomName('denied'), {
      grants: { canUpdateOwnMetadata: false },
    });
    const e = await rejection(denied.localParticipant.updateMetadata('nope'));
    expect(['ERR_REJECTED', 'ERR_UNAUTHORIZED']).toContain(e.code);
    expect(room.isConnected).toBe(true);
  });

  it('DevServer and token misuse: typed errors', async () => {
    expectLkError(await rejection(lk.DevServer.start({ port: env.dev.port })), 'ERR_SERVER');
    expectLkError(await rejection(lk.DevServer.start({ bind: 'nonsense' })), 'ERR_INVALID_ARG');
    expectLkError(await rejection(lk.DevServer.start({ port: 70_000 })), 'ERR_INVALID_ARG');
    expectLkError(await rejection(lk.DevServer.start({ keys: 'nocolon' })), 'ERR_INVALID_ARG');
    let thrown;
    try {
      env.dev.createToken({ room: 'r' });
    } catch (err) {
      thrown = err;
    }
    expectLkError(thrown, 'ERR_INVALID_ARG');
    try {
      env.dev.createToken({ identity: 'x', ttl: 'soon' });
    } catch (err) {
      thrown = err;
    }
    expectLkError(thrown, 'ERR_INVALID_ARG');
  });
});
