// Scenario 5: four participants, each publishing audio, disconnect at once.
// Every room ends disconnected and the server's room is gone (ListRooms).
import { ConnectionState, RoomEvent } from '@livekit/rtc-node';
import { describe, expect, it } from 'vitest';
import { publishSine, uniqueRoomName, waitUntil, withTimeout } from './helpers/rtc.mjs';
import { useServer } from './helpers/server.mjs';

describe('mass disconnect', () => {
  const env = useServer('mass-disconnect');

  it('four publishing participants disconnect at once; the room is removed', async () => {
    const roomName = uniqueRoomName('mass');
    const ids = ['p0', 'p1', 'p2', 'p3'];
    const rooms = [];
    const subscribed = new Map(ids.map((id) => [id, new Set()]));
    for (const id of ids) {
      const room = await env.scope.connect(env.server, id, roomName);
      room.on(RoomEvent.TrackSubscribed, (_t, pub) => subscribed.get(id).add(pub.sid));
      rooms.push(room);
    }
    await waitUntil(() => rooms.every((r) => r.remoteParticipants.size === 3), {
      timeoutMs: 15_000,
      what: 'every participant to see the 3 others',
    });
    for (const [i, room] of rooms.entries()) {
      await publishSine(room, { name: `mic-${ids[i]}`, freq: 300 + 50 * i, scope: env.scope });
    }
    await waitUntil(() => ids.every((id) => subscribed.get(id).size === 3), {
      timeoutMs: 30_000,
      what: () =>
        'every participant to subscribe to the 3 other tracks (' +
        ids.map((id) => `${id}: ${subscribed.get(id).size}`).join(', ') +
        ')',
    });

    const listed = (await env.server.listRooms()).find((r) => r.name === roomName);
    expect(listed, 'room listed while in use').toBeTruthy();

    await withTimeout(Promise.all(rooms.map((r) => r.disconnect())), 20_000, 'all four room.disconnect() calls');
    for (const room of rooms) {
      expect(room.isConnected).toBe(false);
      expect(room.connectionState).toBe(ConnectionState.CONN_DISCONNECTED);
    }

    let last = [];
    await waitUntil(
      async () => {
        last = await env.server.listRooms();
        return !last.some((r) => r.name === roomName);
      },
      {
        timeoutMs: 15_000,
        intervalMs: 250,
        what: () =>
          `room ${roomName} to disappear from ListRooms (still: ${JSON.stringify(last.map((r) => [r.name, r.numParticipants]))})`,
      },
    );
    // The server is still healthy: a new participant can join a new room.
    const again = await env.scope.connect(env.server, 'late', uniqueRoomName('after-mass'));
    expect(again.isConnected).toBe(true);
  });
});
