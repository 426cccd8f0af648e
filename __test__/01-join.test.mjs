// Scenario 1: two participants join one room and see each other.
import { ConnectionState, RoomEvent } from '@livekit/rtc-node';
import { describe, expect, it } from 'vitest';
import { uniqueRoomName, waitForEvent, waitUntil, withTimeout } from './helpers/rtc.mjs';
import { useServer } from './helpers/server.mjs';

describe('join', () => {
  const env = useServer('join');

  it('two participants join one room, see each other, and get an RM_ room sid', async () => {
    const roomName = uniqueRoomName('join');
    const alice = await env.scope.connect(env.server, 'alice', roomName);
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
    const bob = await env.scope.connect(env.server, 'bob', roomName);
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
    const rooms = await env.server.listRooms();
    const listed = rooms.find((r) => r.name === roomName);
    expect(listed, `listRooms() = ${JSON.stringify(rooms.map((r) => r.name))}`).toBeTruthy();
    expect(listed.sid).toBe(sidA);
  });
});
