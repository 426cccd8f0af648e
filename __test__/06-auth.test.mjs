// Scenario 6: tokens and grants.
// - bad tokens (wrong secret, unknown key, expired, no roomJoin, alg "none")
//   are refused with an error, and create no room;
// - canPublish: false cannot publish;
// - canPublishData: false: its data is not delivered.
import { createHmac } from 'node:crypto';
import { ConnectError, Room, RoomEvent, TrackKind } from '@livekit/rtc-node';
import { AccessToken } from 'livekit-server-sdk';
import { describe, expect, it } from 'vitest';
import { delay, publishSine, uniqueRoomName, waitUntil, withTimeout } from './helpers/rtc.mjs';
import { useServer } from './helpers/server.mjs';

const b64url = (x) => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x)).toString('base64url');

/** A hand-made JWT: header and claims as given; HS256-signed with `secret`, or unsigned. */
function handJwt(header, claims, secret) {
  const head = `${b64url(header)}.${b64url(claims)}`;
  const sig = secret ? createHmac('sha256', secret).update(head).digest('base64url') : '';
  return `${head}.${sig}`;
}

function claimsFor(identity, room, { iss = 'devkey', exp, nbf } = {}) {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss,
    sub: identity,
    name: identity,
    nbf: nbf ?? now - 5,
    exp: exp ?? now + 600,
    video: { roomJoin: true, room, canPublish: true, canSubscribe: true, canPublishData: true },
  };
}

const enc = new TextEncoder();
const dec = new TextDecoder();

describe('tokens and grants', () => {
  const env = useServer('auth');

  const badTokens = {
    'wrong secret': async (room) => {
      const at = new AccessToken('devkey', 'not-the-secret', { identity: 'mallory' });
      at.addGrant({ roomJoin: true, room });
      return await at.toJwt();
    },
    'unknown api key': async (room) => {
      const at = new AccessToken('nosuchkey', 'secret', { identity: 'mallory' });
      at.addGrant({ roomJoin: true, room });
      return await at.toJwt();
    },
    expired: async (room) => {
      const now = Math.floor(Date.now() / 1000);
      return handJwt(
        { alg: 'HS256', typ: 'JWT' },
        claimsFor('mallory', room, { nbf: now - 7200, exp: now - 3600 }),
        'secret',
      );
    },
    'missing roomJoin': async (room) => {
      const at = new AccessToken('devkey', 'secret', { identity: 'mallory' });
      at.addGrant({ room, canPublish: true, canSubscribe: true });
      return await at.toJwt();
    },
    'alg none': async (room) => handJwt({ alg: 'none', typ: 'JWT' }, claimsFor('mallory', room), null),
    'alg none with a valid HS256 signature': async (room) =>
      handJwt({ alg: 'none', typ: 'JWT' }, claimsFor('mallory', room), 'secret'),
    'HS512 signed with the right secret': async (room) => {
      const head = `${b64url({ alg: 'HS512', typ: 'JWT' })}.${b64url(claimsFor('mallory', room))}`;
      return `${head}.${createHmac('sha512', 'secret').update(head).digest('base64url')}`;
    },
  };

  for (const [name, make] of Object.entries(badTokens)) {
    it(`refuses a token: ${name}`, async () => {
      const roomName = uniqueRoomName('bad');
      const jwt = await make(roomName);
      const room = new Room();
      env.scope.rooms.push(room);
      let error;
      try {
        await withTimeout(
          room.connect(env.server.url, jwt, { autoSubscribe: true, dynacast: false }),
          30_000,
          'connect() to fail',
        );
      } catch (e) {
        error = e;
      }
      expect(error, 'connect() must reject').toBeDefined();
      expect(error.message).not.toMatch(/^timed out/);
      expect(error).toBeInstanceOf(ConnectError);
      // A clear error: the official client reports the HTTP refusal.
      expect(error.message, error.message).toMatch(/401|unauthori[sz]ed|invalid|token|permission|denied|forbidden/i);
      expect(room.isConnected).toBe(false);
      const rooms = await env.server.listRooms();
      expect(rooms.map((r) => r.name)).not.toContain(roomName);
    });
  }

  it('a good hand-made HS256 token is accepted (control for the cases above)', async () => {
    const roomName = uniqueRoomName('good');
    const jwt = handJwt({ alg: 'HS256', typ: 'JWT' }, claimsFor('trent', roomName), 'secret');
    const room = new Room();
    env.scope.rooms.push(room);
    await withTimeout(room.connect(env.server.url, jwt, { autoSubscribe: true, dynacast: false }), 20_000, 'connect()');
    expect(room.isConnected).toBe(true);
    expect(room.localParticipant.identity).toBe('trent');
  });

  it('canPublish: false cannot publish', async () => {
    const roomName = uniqueRoomName('nopub');
    const watcher = await env.scope.connect(env.server, 'watcher', roomName);
    const mute = await env.scope.connect(env.server, 'mute', roomName, { grants: { canPublish: false } });
    await waitUntil(() => watcher.remoteParticipants.get('mute'), { timeoutMs: 10_000, what: 'watcher to see mute' });
    const published = [];
    watcher.on(RoomEvent.TrackPublished, (pub, p) => published.push(`${p.identity}:${pub.sid}`));

    let error;
    let publication;
    try {
      publication = (await publishSine(mute, { name: 'forbidden', scope: env.scope })).publication;
    } catch (e) {
      error = e;
    }
    expect(publication, 'publishTrack() must not succeed').toBeUndefined();
    expect(error, 'publishTrack() must reject').toBeDefined();
    expect(error.message).not.toMatch(/^timed out/);
    await delay(500);
    expect(published).toEqual([]);
    expect(watcher.remoteParticipants.get('mute').trackPublications.size).toBe(0);

    // The same room still works for a participant allowed to publish.
    const subscribed = new Promise((res) =>
      watcher.on(RoomEvent.TrackSubscribed, (track, _pub, p) => p.identity === 'talker' && res(track)),
    );
    const talker = await env.scope.connect(env.server, 'talker', roomName);
    await publishSine(talker, { name: 'allowed', scope: env.scope });
    const track = await withTimeout(subscribed, 20_000, "watcher to subscribe to talker's track");
    expect(track.kind).toBe(TrackKind.KIND_AUDIO);
  });

  it('canPublishData: false: data is not delivered', async () => {
    const roomName = uniqueRoomName('nodata');
    const receiver = await env.scope.connect(env.server, 'receiver', roomName);
    const gagged = await env.scope.connect(env.server, 'gagged', roomName, { grants: { canPublishData: false } });
    const allowed = await env.scope.connect(env.server, 'allowed', roomName);
    await waitUntil(() => receiver.remoteParticipants.size === 2, {
      timeoutMs: 10_000,
      what: 'receiver to see gagged and allowed',
    });
    const got = [];
    receiver.on(RoomEvent.DataReceived, (payload, p) => got.push(`${p?.identity}:${dec.decode(payload)}`));

    // The client may refuse locally or the server may drop: either way nothing arrives.
    for (let i = 0; i < 10; i++) {
      await gagged.localParticipant
        .publishData(enc.encode(`secret-${i}`), { reliable: i % 2 === 0, topic: 't' })
        .catch(() => {});
    }
    await gagged.localParticipant
      .publishData(enc.encode('direct'), { reliable: true, destination_identities: ['receiver'] })
      .catch(() => {});
    await delay(1_000);
    await allowed.localParticipant.publishData(enc.encode('fence'), { reliable: true });
    await waitUntil(() => got.includes('allowed:fence'), {
      timeoutMs: 10_000,
      what: "receiver to get allowed's fence packet",
    });
    await delay(500);
    expect(got).toEqual(['allowed:fence']);
  });
});
