// Scenario 7: a client process is killed mid-call (SIGKILL: no leave, no
// close frame). The others get participantDisconnected within the ping
// timeout (15 s) plus a margin.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { RoomEvent } from '@livekit/rtc-node';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/paths.mjs';
import { uniqueRoomName, waitForEvent, waitUntil, withTimeout } from './helpers/rtc.mjs';
import { useServer } from './helpers/server.mjs';

const PING_TIMEOUT_MS = 15_000;
const MARGIN_MS = 5_000;

describe('killed client', () => {
  const env = useServer('killed-client');

  it('SIGKILL of a publishing client: the others get participantDisconnected in time', async () => {
    const roomName = uniqueRoomName('kill');
    const a = await env.scope.connect(env.server, 'stayer-a', roomName);
    const b = await env.scope.connect(env.server, 'stayer-b', roomName);

    const subscribedA = waitForEvent(a, RoomEvent.TrackSubscribed, {
      timeoutMs: 30_000,
      filter: (_t, _p, participant) => participant.identity === 'victim',
      what: "stayer-a to subscribe to the victim's track",
    });
    const subscribedB = waitForEvent(b, RoomEvent.TrackSubscribed, {
      timeoutMs: 30_000,
      filter: (_t, _p, participant) => participant.identity === 'victim',
      what: "stayer-b to subscribe to the victim's track",
    });

    const child = spawn(process.execPath, [resolve(REPO_ROOT, '__test__/fixtures/publisher-child.mjs')], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        NODE_ENV: 'production',
        LKRTC_URL: env.server.url,
        LKRTC_TOKEN: await env.server.token('victim', roomName),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const childExit = new Promise((res) => child.once('exit', (code, signal) => res({ code, signal })));
    env.scope.defer(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await childExit;
    });
    const childOutput = [];
    createInterface({ input: child.stderr }).on('line', (l) => childOutput.push(l));
    const ready = new Promise((res) =>
      createInterface({ input: child.stdout }).on('line', (l) => {
        childOutput.push(l);
        const m = /^READY (\S+) (\S+)/.exec(l);
        if (m) res({ participantSid: m[1], trackSid: m[2] });
      }),
    );
    const { participantSid, trackSid } = await withTimeout(
      Promise.race([
        ready,
        childExit.then(({ code, signal }) => {
          throw new Error(`child exited early (${code ?? signal}):\n${childOutput.join('\n')}`);
        }),
      ]),
      30_000,
      () => `the child to join and publish (output so far:\n${childOutput.join('\n')})`,
    );
    expect(participantSid).toMatch(/^PA_/);
    expect(trackSid).toMatch(/^TR_/);
    const [, pubA] = await subscribedA;
    const [, pubB] = await subscribedB;
    expect(pubA.sid).toBe(trackSid);
    expect(pubB.sid).toBe(trackSid);

    const goneA = waitForEvent(a, RoomEvent.ParticipantDisconnected, {
      timeoutMs: PING_TIMEOUT_MS + MARGIN_MS,
      filter: (p) => p.identity === 'victim',
      what: 'stayer-a to get participantDisconnected(victim)',
    });
    const goneB = waitForEvent(b, RoomEvent.ParticipantDisconnected, {
      timeoutMs: PING_TIMEOUT_MS + MARGIN_MS,
      filter: (p) => p.identity === 'victim',
      what: 'stayer-b to get participantDisconnected(victim)',
    });
    const killedAt = Date.now();
    child.kill('SIGKILL');
    const exit = await withTimeout(childExit, 5_000, 'the child to die');
    expect(exit.signal).toBe('SIGKILL');

    const [[victimA], [victimB]] = await Promise.all([goneA, goneB]);
    const elapsed = Date.now() - killedAt;
    console.log(`participantDisconnected ${elapsed} ms after SIGKILL`);
    expect(victimA.sid).toBe(participantSid);
    expect(victimB.sid).toBe(participantSid);
    expect(a.remoteParticipants.has('victim')).toBe(false);
    expect(b.remoteParticipants.has('victim')).toBe(false);
    // The two survivors still see each other and the room lives on.
    expect(a.remoteParticipants.has('stayer-b')).toBe(true);
    expect(b.remoteParticipants.has('stayer-a')).toBe(true);
    await waitUntil(async () => (await env.server.listRooms()).find((r) => r.name === roomName), {
      timeoutMs: 5_000,
      what: 'the room to be still listed',
    });
  });
});
