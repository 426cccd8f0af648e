// Issue 3, test 2: four participants, each with a published track, disconnect at once;
// every count returns to zero.
import { describe, expect, it } from 'vitest';
import { publishSine, uniqueRoomName, waitUntil, withTimeout } from '../helpers/rtc.mjs';
import { connectLk, expectHandles, lk, recordLifecycle, ZERO, useLkEnv } from './lk.mjs';

const { RoomEvent, DisconnectReason } = lk;
const IDS = ['p0', 'p1', 'p2', 'p3'];

describe('mass disconnect', () => {
  const env = useLkEnv();

  it('four remote publishers leave at once: the lkrtc watcher releases everything they held', async () => {
    const roomName = uniqueRoomName('mass');
    const watcher = await connectLk(env.scope, env.dev, 'watcher', roomName);
    const logs = new Map(IDS.map((id) => [id, recordLifecycle(watcher, id)]));
    const peers = [];
    for (const [i, id] of IDS.entries()) {
      const peer = await env.scope.connect(env.dev, id, roomName);
      await publishSine(peer, { name: `mic-${id}`, freq: 300 + 50 * i, scope: env.scope });
      peers.push(peer);
    }
    await waitUntil(() => IDS.every((id) => logs.get(id).some((e) => e.startsWith('trackSubscribed'))), {
      timeoutMs: 30_000,
      what: () =>
        `watcher to subscribe to the 4 tracks (${IDS.map((id) => `${id}: ${logs.get(id).join(',')}`).join('; ')})`,
    });
    expectHandles({ room: 1, participant: 5, publication: 4, track: 4 });
    const remotes = IDS.map((id) => watcher.remoteParticipants.get(id));
    const pubs = remotes.map((p) => [...p.trackPublications.values()][0]);

    await withTimeout(Promise.all(peers.map((p) => p.disconnect())), 20_000, 'the four peers to disconnect');
    await waitUntil(() => watcher.remoteParticipants.size === 0 && lk.liveHandles().participant === 1, {
      timeoutMs: 20_000,
      what: () => `watcher to see all four leave (handles ${JSON.stringify(lk.liveHandles())})`,
    });
    expectHandles({ room: 1, participant: 1 });
    for (const id of IDS) {
      const log = logs.get(id);
      expect(
        log.slice(-3).map((e) => e.split(' ')[0]),
        `${id}: ${log.join(', ')}`,
      ).toEqual(['trackUnsubscribed', 'trackUnpublished', 'participantDisconnected']);
    }
    for (const p of remotes) expect(p.isDisposed).toBe(true);
    for (const pub of pubs) expect(pub.isDisposed).toBe(true);

    await watcher.disconnect();
    expectHandles(ZERO);
  });

  it('four lkrtc rooms, each holding a remote publication, disconnect at once', async () => {
    const roomName = uniqueRoomName('mass-lk');
    const peer = await env.scope.connect(env.dev, 'publisher', roomName);
    await publishSine(peer, { name: 'mic', scope: env.scope });
    const rooms = [];
    for (const id of IDS) rooms.push(await connectLk(env.scope, env.dev, id, roomName));
    await waitUntil(
      () =>
        rooms.every((r) => r.remoteParticipants.size === 4) &&
        rooms.every((r) =>
          [...(r.remoteParticipants.get('publisher')?.trackPublications.values() ?? [])].some((p) => p.subscribed),
        ),
      { timeoutMs: 30_000, what: () => `every lkrtc room to subscribe (handles ${JSON.stringify(lk.liveHandles())})` },
    );
    // Each room: itself, its local participant, 3 other lkrtc rooms + the publisher, one publication, one track.
    expectHandles({ room: 4, participant: 4 * 5, publication: 4, track: 4 });

    const reasons = [];
    for (const r of rooms) r.on(RoomEvent.Disconnected, (reason) => reasons.push(reason));
    await withTimeout(Promise.all(rooms.map((r) => r.disconnect())), 20_000, 'the four lkrtc rooms to disconnect');
    expectHandles(ZERO, 'right after the four disconnect() calls resolve, with no GC');
    expect(reasons).toEqual(IDS.map(() => DisconnectReason.CLIENT_INITIATED));
    for (const r of rooms) {
      expect(r.isConnected).toBe(false);
      expect(r.remoteParticipants.size).toBe(0);
      expect(r.localParticipant.isDisposed).toBe(true);
    }
  });
});
