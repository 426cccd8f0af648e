// Issue 9, item 5: the error code crosses napi as a field. Every native failure is an
// Error whose `code` property is the stable ERR_* code and whose message is the text
// alone (no "ERR_X: " prefix for anything to parse); the TypeScript layer builds its
// LkError from that field. One case per operation family: connect, publish, send, data
// streams, synchronous constructors, disposed handles, the dev server and tokens.
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueRoomName } from '../helpers/rtc.mjs';
import { REPO_ROOT } from '../helpers/paths.mjs';
import { expectHandles, lk, startDevServer, ZERO } from './lk.mjs';

const require = createRequire(import.meta.url);
const native = require(resolve(REPO_ROOT, 'native.js'));

/** What `fn` throws (synchronously) or its promise rejects with. */
async function failure(fn) {
  try {
    await fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a failure');
}

/** An event callback that releases the remote participants events carry (no GC needed). */
function releasing(onEvent = () => {}) {
  return (ev) => {
    if (ev && typeof ev.participant === 'object') ev.participant?.dispose();
    if (ev) onEvent(ev);
  };
}

/** Asserts a native error: `code` is the field, the message carries no code prefix. */
function expectCoded(e, code, message) {
  expect(e).toBeInstanceOf(Error);
  expect(e.code).toBe(code);
  expect(e.message).not.toMatch(/^ERR_[A-Z_]+: /);
  if (message) expect(e.message).toMatch(message);
}

describe('native errors carry their code as a field', () => {
  let dev;
  beforeAll(async () => {
    dev = await startDevServer();
  });
  afterAll(async () => {
    await dev?.close();
  });

  async function connected(identity, room) {
    const nat = new native.NativeRoom();
    await nat.connect(dev.url, dev.createToken({ identity, room }));
    nat.startEvents(releasing());
    return nat;
  }

  it('connect: bad URL, refused token, unreachable server, invalid option, twice', async () => {
    const token = dev.createToken({ identity: 'c', room: uniqueRoomName('codes') });
    const bad = new native.NativeRoom();
    expectCoded(await failure(() => bad.connect('ftp://x', token)), 'ERR_INVALID_URL', /ftp/);
    expectCoded(await failure(() => bad.connect(dev.url, 'not-a-jwt')), 'ERR_UNAUTHORIZED');
    expectCoded(await failure(() => bad.connect('ws://127.0.0.1:1', token)), 'ERR_CONNECT', /127\.0\.0\.1:1/);
    expectCoded(
      await failure(() => bad.connect(dev.url, token, { connectTimeoutMs: 0 })),
      'ERR_INVALID_ARG',
      /connectTimeout/,
    );
    bad.dispose();
    const twice = await connected('twice', uniqueRoomName('codes'));
    expectCoded(await failure(() => twice.connect(dev.url, token)), 'ERR_INVALID_STATE');
    await twice.disconnect();
    twice.dispose();
  });

  it('publish and send: disconnected, too large; streams: too large for the receiver', async () => {
    const room = uniqueRoomName('codes');
    const a = await connected('a', room);
    const b = new native.NativeRoom();
    await b.connect(dev.url, dev.createToken({ identity: 'b', room }), { maxStreamPayloadBytes: 16 });
    const opened = new Promise((res) => b.startEvents(releasing((ev) => ev.type === 'streamOpened' && res(ev.reader))));
    b.registerStreamTopic('text', 't');
    const lp = a.localParticipant();
    expectCoded(
      await failure(() => lp.publishData(new Uint8Array(1024 * 1024), { reliable: true })),
      'ERR_INVALID_ARG',
    );
    await lp.sendText('x'.repeat(64), { topic: 't' });
    const reader = await opened;
    expectCoded(await failure(() => reader.read()), 'ERR_STREAM', /maxPayloadByteLength/);

    const source = new native.NativeAudioSource(48_000, 1, 100);
    const track = new native.NativeLocalAudioTrack('mic', source);
    await a.disconnect();
    expectCoded(await failure(() => lp.publishData(new Uint8Array(4))), 'ERR_DISCONNECTED');
    expectCoded(await failure(() => native.publishLocalTrack(lp, track)), 'ERR_DISCONNECTED');
    expectCoded(await failure(() => a.getRtcStats()), 'ERR_DISCONNECTED');
    await b.disconnect();
    for (const o of [track, a, b]) o.dispose();
    source.close();
    lp.dispose();
  });

  it('synchronous throws, disposed handles, dev server and tokens', async () => {
    expectCoded(await failure(() => new native.NativeAudioSource(0, 1, 100)), 'ERR_INVALID_ARG');
    const source = new native.NativeAudioSource(48_000, 1, 100);
    source.close();
    expectCoded(await failure(() => source.queuedDuration()), 'ERR_DISPOSED', /disposed/);
    expectCoded(await failure(() => source.waitForPlayout()), 'ERR_DISPOSED', /disposed/);
    expectCoded(await failure(() => native.startDevServer({ bind: 'not an address' })), 'ERR_INVALID_ARG', /bind/);
    expectCoded(
      await failure(() => native.createToken({ apiKey: 'k', apiSecret: 's', identity: 'i', ttlSeconds: -1 })),
      'ERR_INVALID_ARG',
    );
    // napi's own argument conversion keeps napi's status as its code.
    expect((await failure(() => new native.NativeAudioSource('x', 1, 100))).code).toMatch(/Expected|InvalidArg/);
    expectHandles(ZERO);
  });

  it('the TypeScript layer builds LkError from the code field, never from the message', async () => {
    const e = await failure(() => lk.DevServer.start({ bind: 'not an address' }));
    expect(lk.isLkError(e, lk.ErrorCode.ERR_INVALID_ARG)).toBe(true);
    expect(e.cause?.code).toBe('ERR_INVALID_ARG');
    // Thrown synchronously by a native constructor, through the public class.
    const sync = await failure(() => new lk.AudioSource(0, 1));
    expect(lk.isLkError(sync, lk.ErrorCode.ERR_INVALID_ARG)).toBe(true);
    expect(sync.message).not.toMatch(/^ERR_/);
  });
});
