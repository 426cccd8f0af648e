// Scenario 1: two participants join one room and see each other.
import { ConnectionState, RoomEvent } from '@livekit/rtc-node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Scope, uniqueRoomName, waitForEvent, waitUntil, withTimeout } from './helpers/rtc.mjs';
import { dumpLogOnFailure, startServer } from './helpers/server.mjs';

describe('join', () => {
  let server;
  let scope;
  beforeAll(async () => {
    server = await startServer({ name: 'join' });
  });
  afterAll(async () => {
    await server?.kill();
  });
  beforeEach(() => {
    scope = new Scope();
  });
  afterEach(async (ctx) => {
    await scope.close();
    dumpLogOnFailure(ctx, server);
  });

  it('two participants join one room, see each other, and get an RM_ room sid', async () => {
    const roomName = uniqueRoomName('join');
    const alice = await scope.connect(server, 'alice', roomName);
    expect(alice.isConnected).toBe(true);
    expect(alice.connectionState).toBe(ConnectionState.CONN_CONNECTED);
    expect(alice.name).toBe(roomName);
    expect(alice.localParticipant.identity).toBe('alice');
    expect(alice.localParticipant.sid).toMatch(/^PA_/);
    expect(alice.remoteParticipants.size).toBe(0);

    const aliceSeesBob = waitForEvent(alice, RoomEvent.ParticipantConnected, {
      timeoutMs: 10_000,
      filter: (p) => p.identity === 'bob',
      what: 'alice to get participantConnected(bob)',
    });
    const bob = await scope.connect(server, 'bob', roomName);
    expect(bob.localParticipant.sid).toMatch(/^PA_/);
    expect(bob.localParticipant.sid).not.toBe(alice.localParticipant.sid);

    const [bobAsSeenByAlice] = await aliceSeesBob;
    expect(bobAsSeenByAlice.sid).toBe(bob.localParticipant.sid);
    expect(alice.remoteParticipants.get('bob')).toBe(bobAsSeenByAlice);

    // Bob learns about alice from the JoinResponse (other_participants).
    const aliceAsSeenByBob = await waitUntil(() => bob.remoteParticipants.get('alice'), {
      timeoutMs: 10_000,
      what: 'bob to see alice',
    });
    expect(aliceAsSeenByBob.sid).toBe(alice.localParticipant.sid);
    expect(bob.remoteParticipants.size).toBe(1);
    expect(alice.remoteParticipants.size).toBe(1);

    const sidA = await withTimeout(alice.getSid(), 10_000, 'alice.getSid()');
    const sidB = await withTimeout(bob.getSid(), 10_000, 'bob.getSid()');
    expect(sidA).toMatch(/^RM_/);
    expect(sidB).toBe(sidA);

    // The server knows the room.
    const rooms = await server.listRooms();
    const listed = rooms.find((r) => r.name === roomName);
    expect(listed, `listRooms() = ${JSON.stringify(rooms.map((r) => r.name))}`).toBeTruthy();
    expect(listed.sid).toBe(sidA);
  });
});
