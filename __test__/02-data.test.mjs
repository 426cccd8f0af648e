// Scenario 2: data packets.
// - 1,000 reliable packets arrive exactly once and in order;
// - lossy packets arrive;
// - destination_identities is respected;
// - another room (even one with participants of the same identities) receives nothing.
import { DataPacketKind, RoomEvent } from '@livekit/rtc-node';
import { describe, expect, it } from 'vitest';
import { delay, uniqueRoomName, waitUntil } from './helpers/rtc.mjs';
import { useServer } from './helpers/server.mjs';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Records every data packet a room receives. */
function recordData(room) {
  const got = [];
  room.on(RoomEvent.DataReceived, (payload, participant, kind, topic) => {
    got.push({ text: dec.decode(payload), from: participant?.identity, kind, topic });
  });
  return got;
}

async function connectAll(scope, server, roomName, identities) {
  const rooms = [];
  for (const id of identities) rooms.push(await scope.connect(server, id, roomName));
  await waitUntil(() => rooms.every((r) => r.remoteParticipants.size === identities.length - 1), {
    timeoutMs: 10_000,
    what: `everyone in ${roomName} to see ${identities.length - 1} others`,
  });
  return rooms;
}

describe('data packets', () => {
  const env = useServer('data');

  it('delivers 1,000 reliable packets exactly once, in order, and never to another room', async () => {
    const room1 = uniqueRoomName('data1');
    const room2 = uniqueRoomName('data2');
    const [a, b, c] = await connectAll(env.scope, env.server, room1, ['alice', 'bob', 'carol']);
    // Same identities in another room: routing must be by room, not by identity.
    const [b2, d2] = await connectAll(env.scope, env.server, room2, ['bob', 'dave']);
    const gotB = recordData(b);
    const gotC = recordData(c);
    const gotB2 = recordData(b2);
    const gotD2 = recordData(d2);

    const N = 1_000;
    for (let i = 0; i < N; i++) {
      await a.localParticipant.publishData(enc.encode(`r${i}`), { reliable: true, topic: 'seq' });
    }
    for (const [name, got] of [
      ['bob', gotB],
      ['carol', gotC],
    ]) {
      await waitUntil(() => got.length >= N, {
        timeoutMs: 30_000,
        what: () => `${name} to receive ${N} reliable packets (has ${got.length})`,
      });
    }
    // Give duplicates a chance to show up before counting.
    await delay(500);
    for (const got of [gotB, gotC]) {
      expect(got.length).toBe(N);
      const texts = got.map((p) => p.text);
      const expected = Array.from({ length: N }, (_, i) => `r${i}`);
      expect(texts).toEqual(expected);
      for (const p of got) {
        expect(p.from).toBe('alice');
        expect(p.kind).toBe(DataPacketKind.KIND_RELIABLE);
        expect(p.topic).toBe('seq');
      }
    }

    // The other room saw nothing of room1's traffic; its own traffic still flows.
    await d2.localParticipant.publishData(enc.encode('fence2'), { reliable: true, topic: 'fence' });
    await waitUntil(() => gotB2.some((p) => p.text === 'fence2'), {
      timeoutMs: 10_000,
      what: "room2 bob to receive dave's fence packet",
    });
    await delay(300);
    expect(gotB2.map((p) => p.text)).toEqual(['fence2']);
    expect(gotD2).toEqual([]);
    expect(gotB.some((p) => p.text === 'fence2')).toBe(false);
  });

  it('delivers lossy packets', async () => {
    const [a, b] = await connectAll(env.scope, env.server, uniqueRoomName('lossy'), ['alice', 'bob']);
    const gotB = recordData(b);
    const N = 50;
    for (let i = 0; i < N; i++) {
      await a.localParticipant.publishData(enc.encode(`l${i}`), { reliable: false, topic: 'lossy' });
      await delay(5);
    }
    // Lossy is best effort, but on loopback nearly everything should arrive.
    await waitUntil(() => gotB.length >= N / 2, {
      timeoutMs: 10_000,
      what: () => `bob to receive at least ${N / 2} of ${N} lossy packets (has ${gotB.length})`,
    });
    await delay(500);
    const texts = gotB.map((p) => p.text);
    expect(new Set(texts).size, 'no duplicates').toBe(texts.length);
    for (const p of gotB) {
      expect(p.from).toBe('alice');
      expect(p.kind).toBe(DataPacketKind.KIND_LOSSY);
      expect(p.topic).toBe('lossy');
      expect(p.text).toMatch(/^l\d+$/);
    }
  });

  it('respects destination_identities', async () => {
    const [a, b, c] = await connectAll(env.scope, env.server, uniqueRoomName('dest'), ['alice', 'bob', 'carol']);
    const gotA = recordData(a);
    const gotB = recordData(b);
    const gotC = recordData(c);

    for (let i = 0; i < 20; i++) {
      await a.localParticipant.publishData(enc.encode(`to-bob-${i}`), {
        reliable: true,
        destination_identities: ['bob'],
        topic: 'dm',
      });
    }
    // Then lossy, addressed to carol only.
    for (let i = 0; i < 5; i++) {
      await a.localParticipant.publishData(enc.encode(`lossy-to-carol-${i}`), {
        reliable: false,
        destination_identities: ['carol'],
        topic: 'dm',
      });
    }
    // A broadcast fence on the same reliable channel: once it is seen, any
    // earlier reliable packet from alice has already been delivered.
    await a.localParticipant.publishData(enc.encode('fence'), { reliable: true, topic: 'fence' });
    // bob -> carol only.
    await b.localParticipant.publishData(enc.encode('bob-to-carol'), {
      reliable: true,
      destination_identities: ['carol'],
    });
    await b.localParticipant.publishData(enc.encode('bob-fence'), { reliable: true, topic: 'fence' });

    for (const [name, got] of [
      ['bob', gotB],
      ['carol', gotC],
    ]) {
      await waitUntil(() => got.some((p) => p.text === 'fence'), {
        timeoutMs: 10_000,
        what: `${name} to receive alice's fence`,
      });
    }
    await waitUntil(() => gotC.some((p) => p.text === 'bob-fence') && gotA.some((p) => p.text === 'bob-fence'), {
      timeoutMs: 10_000,
      what: "carol and alice to receive bob's fence",
    });
    await delay(500);

    const fromAliceToBob = gotB.filter((p) => p.from === 'alice' && p.topic === 'dm').map((p) => p.text);
    expect(fromAliceToBob).toEqual(Array.from({ length: 20 }, (_, i) => `to-bob-${i}`));
    expect(gotB.some((p) => p.text.startsWith('lossy-to-carol'))).toBe(false);
    expect(gotB.some((p) => p.text === 'bob-to-carol')).toBe(false);

    expect(gotC.some((p) => p.text.startsWith('to-bob-'))).toBe(false);
    expect(gotC.filter((p) => p.text.startsWith('lossy-to-carol')).length).toBeGreaterThan(0);
    expect(gotC.filter((p) => p.text === 'bob-to-carol').map((p) => p.from)).toEqual(['bob']);

    // Nobody receives their own packets; alice got only bob's broadcast.
    expect(gotA.map((p) => p.text)).toEqual(['bob-fence']);
  });
});
