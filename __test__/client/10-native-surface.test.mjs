// Issue 8, items 7 and 8, native side (before the TypeScript layer wires them): the native
// room exposes creation time, counts and timeouts kept up to date (`roomUpdated` events),
// `getRtcStats()` as plain W3C stats objects, participant kinds in the SDK's numbering with
// the local participant's real kind, `disconnectReason` on `participantDisconnected`,
// `editChatMessage`, and `maxStreamPayloadBytes` refusing a 5 KB text under a 1 KB cap.
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueRoomName, waitUntil } from '../helpers/rtc.mjs';
import { REPO_ROOT } from '../helpers/paths.mjs';
import { lk, startDevServer } from './lk.mjs';

const require = createRequire(import.meta.url);
const native = require(resolve(REPO_ROOT, 'native.js'));

/** A connected NativeRoom with its events collected in `events`. */
async function connect(dev, identity, room, { grants, options } = {}) {
  const nat = new native.NativeRoom();
  await nat.connect(dev.url, dev.createToken({ identity, room, grants }), options);
  const events = [];
  nat.startEvents((ev) => {
    if (ev) events.push(ev);
  });
  return { nat, events, lp: nat.localParticipant() };
}

describe('native room and participant surface', () => {
  let dev;
  beforeAll(async () => {
    dev = await startDevServer();
  });
  afterAll(async () => {
    await dev?.close();
  });

  it('room details, kinds, disconnect reasons, stats, chat edits', async () => {
    const room = uniqueRoomName('surface');
    const before = Date.now();
    const a = await connect(dev, 'agent', room, { grants: { agent: true } });
    const d = a.nat.details;
    expect(d.creationTimeMs).toBeGreaterThanOrEqual(before - 1000);
    expect(d.creationTimeMs).toBeLessThanOrEqual(Date.now());
    expect(d).toMatchObject({
      numParticipants: 1,
      numPublishers: 0,
      activeRecording: false,
      departureTimeout: 20,
      emptyTimeout: 300,
    });
    expect(a.lp.info().kind).toBe(4); // ParticipantKind.AGENT, from the join response

    const b = await connect(dev, 'bob', room);
    await waitUntil(() => a.events.some((e) => e.type === 'roomUpdated') && a.nat.details.numParticipants === 2, {
      what: 'a roomUpdated with two participants',
    });
    const sent = await b.lp.sendChatMessage('helo');
    const edited = await b.lp.editChatMessage('hello', sent);
    expect(edited).toMatchObject({ id: sent.id, timestamp: sent.timestamp, message: 'hello' });
    expect(edited.editTimestamp).toBeGreaterThanOrEqual(sent.timestamp);
    await waitUntil(() => a.events.filter((e) => e.type === 'chatMessage').length === 2, {
      what: 'both chat messages',
    });
    expect(a.events.filter((e) => e.type === 'chatMessage').map((e) => e.message.message)).toEqual(['helo', 'hello']);

    const stats = await a.nat.getRtcStats();
    for (const list of [stats.publisherStats, stats.subscriberStats]) {
      expect(list.length).toBeGreaterThan(0);
      expect(list.some((s) => s.type === 'peer-connection')).toBe(true);
      for (const s of list) expect(typeof s.id).toBe('string');
    }

    await b.nat.disconnect();
    await waitUntil(() => a.events.some((e) => e.type === 'participantDisconnected'), { what: 'b to leave' });
    expect(a.events.find((e) => e.type === 'participantDisconnected').reason).toBe(1); // CLIENT_INITIATED
    await a.nat.disconnect();
    await expect(a.nat.getRtcStats()).rejects.toMatchObject({ code: 'ERR_DISCONNECTED' });
    for (const r of [a, b]) {
      for (const ev of r.events) if (typeof ev.participant === 'object') ev.participant?.dispose();
      r.lp.dispose();
      r.nat.dispose();
    }
    expect(
      Object.values(lk.liveHandles()).every((n) => n === 0),
      JSON.stringify(lk.liveHandles()),
    ).toBe(true);
  });

  it('maxStreamPayloadBytes refuses a 5 KB text under a 1 KB cap; a small one passes', async () => {
    const room = uniqueRoomName('cap');
    const a = await connect(dev, 'sender', room);
    const b = await connect(dev, 'receiver', room, { options: { maxStreamPayloadBytes: 1024 } });
    b.nat.registerStreamTopic('text', 't');
    await a.lp.sendText('x'.repeat(5 * 1024), { topic: 't' });
    await a.lp.sendText('y'.repeat(100), { topic: 't' });
    await waitUntil(() => b.events.filter((e) => e.type === 'streamOpened').length === 2, { what: 'both streams' });
    const [big, small] = b.events.filter((e) => e.type === 'streamOpened').map((e) => e.reader);
    await expect(big.read()).rejects.toMatchObject({
      code: 'ERR_STREAM',
      message: expect.stringMatching(/maxPayloadByteLength/),
    });
    expect(big.live).toBe(false); // released
    const chunks = await small.read();
    expect(Buffer.concat(chunks).toString()).toBe('y'.repeat(100));
    small.close();
    await expect(b.nat.connect(dev.url, 'x', { maxStreamPayloadBytes: -1 })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG',
    });
    await a.nat.disconnect();
    await b.nat.disconnect();
    for (const r of [a, b]) {
      for (const ev of r.events) if (typeof ev.participant === 'object') ev.participant?.dispose();
      r.lp.dispose();
      r.nat.dispose();
    }
    expect(
      Object.values(lk.liveHandles()).every((n) => n === 0),
      JSON.stringify(lk.liveHandles()),
    ).toBe(true);
  });
});
