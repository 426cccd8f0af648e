// Issue 3, test 4: local disconnect(), server-initiated leave (duplicate identity, server
// shutdown) and the server process being killed. Each ends with `disconnected` and every
// count of that room at zero, with no garbage collection.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { publishSine, Scope, uniqueRoomName, waitForEvent, waitUntil } from '../helpers/rtc.mjs';
import { dumpLogOnFailure, startServer } from '../helpers/server.mjs';
import { connectLk, expectHandles, lk, startDevServer, ZERO } from './lk.mjs';

const { RoomEvent, ConnectionState, DisconnectReason } = lk;

/** Connects lkrtc `identity` and an official publisher; resolves once lkrtc is subscribed. */
async function watcherWithPublisher(scope, server, roomName, identity = 'watcher') {
  const room = await connectLk(scope, server, identity, roomName);
  const subscribed = waitForEvent(room, RoomEvent.TrackSubscribed, {
    timeoutMs: 20_000,
    what: `${identity} to subscribe`,
  });
  const peer = await scope.connect(server, `peer-of-${identity}`, roomName);
  await publishSine(peer, { name: 'mic', scope });
  await subscribed;
  return { room, peer };
}

/** Records the order of connectionStateChanged/disconnected events. */
function recordEnd(room) {
  const log = [];
  room.on(RoomEvent.ConnectionStateChanged, (s) => log.push(`state ${ConnectionState[s]}`));
  room.on(RoomEvent.Disconnected, (r) => {
    log.push(`disconnected ${DisconnectReason[r]}`);
    // Listeners see the room's objects still live; disposal follows.
    log.live = { local: !room.localParticipant.isDisposed, remotes: room.remoteParticipants.size };
    queueMicrotask(() => {
      log.after = lk.liveHandles();
    });
  });
  return log;
}

/** Asserts what every ended room looks like. */
function expectEnded(room) {
  expect(room.isConnected).toBe(false);
  expect(room.connectionState).toBe(ConnectionState.CONN_DISCONNECTED);
  expect(room.remoteParticipants.size).toBe(0);
  expect(room.numParticipants).toBe(0);
  expect(room.localParticipant.isDisposed).toBe(true);
  expect(room.localParticipant.identity).toBeTruthy(); // tombstone
}

describe('disconnect paths (in-process DevServer)', () => {
  let dev;
  let scope;
  beforeAll(async () => {
    dev = await startDevServer();
  });
  afterAll(async () => {
    await dev?.close();
  });
  beforeEach(() => {
    scope = new Scope();
  });
  afterEach(async () => {
    await scope.close();
    expectHandles(ZERO);
  });

  it('local disconnect(): disconnected(CLIENT_INITIATED), then zero handles with no GC', async () => {
    const { room } = await watcherWithPublisher(scope, dev, uniqueRoomName('local'));
    expectHandles({ room: 1, participant: 2, publication: 1, track: 1 });
    const sid = await room.getSid();
    const remote = room.remoteParticipants.get('peer-of-watcher');
    const log = recordEnd(room);
    await room.disconnect();
    expect(log.slice(-2)).toEqual(['state CONN_DISCONNECTED', 'disconnected CLIENT_INITIATED']);
    expect(log.live).toEqual({ local: true, remotes: 1 });
    expect(log.after).toEqual(ZERO);
    expectHandles(ZERO);
    expectEnded(room);
    expect(remote.isDisposed).toBe(true);
    expect(await room.getSid()).toBe(sid);
    await room.disconnect(); // idempotent
    expect(log.filter((e) => e.startsWith('disconnected')).length).toBe(1);
  });

  it('server-initiated leave (duplicate identity): disconnected(DUPLICATE_IDENTITY), that room at zero', async () => {
    const roomName = uniqueRoomName('dup');
    const { room } = await watcherWithPublisher(scope, dev, roomName, 'dup');
    const log = recordEnd(room);
    const ended = waitForEvent(room, RoomEvent.Disconnected, {
      timeoutMs: 15_000,
      what: 'the evicted room to disconnect',
    });
    const usurper = await connectLk(scope, dev, 'dup', roomName);
    await ended;
    expect(log.at(-1)).toBe('disconnected DUPLICATE_IDENTITY');
    expectEnded(room);
    // What is left is exactly the new room's: itself, its local participant, the peer.
    await waitUntil(
      () =>
        [...(usurper.remoteParticipants.get('peer-of-dup')?.trackPublications.values() ?? [])].some(
          (p) => p.subscribed,
        ),
      {
        timeoutMs: 20_000,
        what: 'the new room to subscribe to the peer',
      },
    );
    expectHandles({ room: 1, participant: 2, publication: 1, track: 1 });
    await usurper.disconnect();
    expectHandles(ZERO);
  });

  it('a disconnected listener may connect the same Room again', async () => {
    const roomName = uniqueRoomName('again');
    const { room } = await watcherWithPublisher(scope, dev, roomName);
    const first = room.localParticipant;
    let again;
    room.once(RoomEvent.Disconnected, () => {
      again = room.connect(dev.url, dev.createToken({ identity: 'watcher', room: roomName }));
    });
    await room.disconnect();
    expect(first.isDisposed).toBe(true);
    await again;
    expect(room.isConnected).toBe(true);
    expect(room.localParticipant).not.toBe(first);
    await waitUntil(
      () =>
        [...(room.remoteParticipants.get('peer-of-watcher')?.trackPublications.values() ?? [])].some(
          (p) => p.subscribed,
        ),
      {
        timeoutMs: 20_000,
        what: 'the reconnected room to subscribe again',
      },
    );
    expectHandles({ room: 1, participant: 2, publication: 1, track: 1 });
    await room.disconnect();
    expectHandles(ZERO);
  });

  it('server shutdown (DevServer.close()): disconnected(SERVER_SHUTDOWN), zero handles', async () => {
    const own = await startDevServer();
    try {
      const { room } = await watcherWithPublisher(scope, own, uniqueRoomName('shutdown'));
      const log = recordEnd(room);
      const ended = waitForEvent(room, RoomEvent.Disconnected, {
        timeoutMs: 15_000,
        what: 'disconnected after server close',
      });
      await own.close();
      await ended;
      expect(log.at(-1)).toBe('disconnected SERVER_SHUTDOWN');
      expect(log.after).toEqual(ZERO);
      expectHandles(ZERO);
      expectEnded(room);
    } finally {
      await own.close();
    }
  });
});

describe('disconnect paths (spawned lkrtc-server)', () => {
  let server;
  let scope;
  beforeAll(async () => {
    server = await startServer({ name: 'client-killed-server' });
  });
  afterAll(async () => {
    await server?.kill('SIGKILL');
  });
  beforeEach(() => {
    scope = new Scope();
  });
  afterEach(async (ctx) => {
    await scope.close();
    dumpLogOnFailure(ctx, server);
    expectHandles(ZERO);
  });

  it('the server process is killed: disconnected, zero handles with no GC', async () => {
    const { room } = await watcherWithPublisher(scope, server, uniqueRoomName('killed'));
    expectHandles({ room: 1, participant: 2, publication: 1, track: 1 });
    const log = recordEnd(room);
    const ended = waitForEvent(room, RoomEvent.Disconnected, { timeoutMs: 30_000, what: 'disconnected after SIGKILL' });
    const t0 = Date.now();
    await server.kill('SIGKILL');
    const [reason] = await ended;
    console.log(`lkrtc noticed the killed server after ${Date.now() - t0} ms (reason ${DisconnectReason[reason]})`);
    expect(log.at(-1)).toMatch(/^disconnected /);
    expect(log.after).toEqual(ZERO);
    expectHandles(ZERO);
    expectEnded(room);
  });
});
