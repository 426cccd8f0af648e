// lkrtc-server killed (SIGKILL) and started again on the same port while two participants
// are in a room, one publishing a tone to the other: both clients reconnect on their own
// (`reconnected`), see each other again with exactly one publication of the tone, and the
// tone flows again. Then a simulated signal loss is resumed: same sids, the tone goes on.
// The server process is a child (lkrtc-server binary): a DevServer cannot be killed. Both
// SDKs, and lkrtc's handle counts are back at zero after each.
import { afterEach, describe, expect, it } from 'vitest';
import { CompatScope, SDKS, uniqueRoomName, waitForEvent, waitUntil, withTimeout } from './compat.mjs';
import { publishSineWith, readToneWith } from '../helpers/rtc.mjs';
import { dumpLogOnFailure, freePort, startServerOn } from '../helpers/server.mjs';
import { lk, totalHandles, ZERO } from '../client/lk.mjs';

/** Counts `reconnecting`/`reconnected` events of `room`. */
function counting(sdk, room) {
  const seen = { reconnecting: 0, reconnected: 0 };
  room.on(sdk.RoomEvent.Reconnecting, () => seen.reconnecting++);
  room.on(sdk.RoomEvent.Reconnected, () => seen.reconnected++);
  return seen;
}

/** The tone from `publisher` (identity 'b') as `listener` hears it: ≥ 50 frames at ~440 Hz. */
async function hearsTone(sdk, listener, what) {
  await waitUntil(() => listener.remoteParticipants.get('b')?.trackPublications.size === 1, {
    timeoutMs: 30_000,
    what: `${what}: exactly one publication of b`,
  });
  const pub = [...listener.remoteParticipants.get('b').trackPublications.values()][0];
  await waitUntil(() => pub.track, { timeoutMs: 20_000, what: `${what}: the tone subscribed` });
  const tone = await readToneWith(sdk, pub.track, { frames: 50 });
  expect(tone.silentFrames, what).toBeLessThan(5);
}

describe.each(SDKS)('%s', (name, sdk) => {
  let server = null;
  let scope = null;
  afterEach(async (ctx) => {
    await scope?.close();
    dumpLogOnFailure(ctx, server);
    await server?.kill('SIGKILL');
    if (sdk === lk) {
      await waitUntil(() => totalHandles() === 0, { timeoutMs: 10_000, what: 'lkrtc handles to drop to zero' }).catch(
        () => {},
      );
      expect(lk.liveHandles()).toEqual(ZERO);
    }
  });

  it('the server is killed and restarted on its port: clients come back, see each other, audio flows', async () => {
    const port = await freePort();
    server = await startServerOn(port, `restart-${name}`);
    scope = new CompatScope(sdk, server);
    const roomName = uniqueRoomName('restart');
    const a = await scope.connect('a', roomName);
    const b = await scope.connect('b', roomName);
    const seenA = counting(sdk, a);
    const seenB = counting(sdk, b);
    await publishSineWith(sdk, b, { scope, name: 'tone' });
    await hearsTone(sdk, a, 'before the restart');

    const killedAt = Date.now();
    await server.kill('SIGKILL');
    server = await startServerOn(port, `restart-${name}-2`);
    scope.server = server;
    await waitUntil(() => seenA.reconnected > 0 && seenB.reconnected > 0, {
      timeoutMs: 60_000,
      what: 'both clients to reconnect to the restarted server',
    });
    console.log(`${name}: both reconnected ${Date.now() - killedAt} ms after the kill`);
    expect(seenA.reconnecting).toBeGreaterThan(0);
    await hearsTone(sdk, a, 'after the restart');
    expect(a.remoteParticipants.size).toBe(1);
    expect(b.remoteParticipants.get('a')).toBeDefined();
  });

  it('a simulated signal loss is resumed: same participants, the tone goes on', async () => {
    server = await startServerOn(await freePort(), `resume-${name}`);
    scope = new CompatScope(sdk, server);
    const roomName = uniqueRoomName('resume');
    const a = await scope.connect('a', roomName);
    const b = await scope.connect('b', roomName);
    await publishSineWith(sdk, b, { scope, name: 'tone' });
    await hearsTone(sdk, a, 'before');
    const sids = [a.localParticipant.sid, b.localParticipant.sid];
    let left = 0;
    a.on(sdk.RoomEvent.ParticipantDisconnected, () => left++);
    for (const room of [a, b]) {
      const back = waitForEvent(room, sdk.RoomEvent.Reconnected, { timeoutMs: 20_000, what: 'reconnected' });
      await withTimeout(room.simulateScenario(sdk.SimulateScenarioKind.SIMULATE_SIGNAL_RECONNECT), 5_000, 'simulate');
      await back;
    }
    expect([a.localParticipant.sid, b.localParticipant.sid]).toEqual(sids);
    expect(left).toBe(0);
    await hearsTone(sdk, a, 'after the resume');
  });
});
