// Issue 5: text and byte streams between lkrtc and the official @livekit/rtc-node client,
// both directions and lkrtc to lkrtc: small and large texts (multi-byte, chunked), random and
// patterned bytes, files, progress, aborted streams, readers that are never read, abandoned,
// closed early or cut by a disconnect. Handle counts are back at zero after each scenario.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { delay, Scope, uniqueRoomName, waitUntil, withTimeout } from '../helpers/rtc.mjs';
import { connectLk, expectHandles, lk, rejection, startDevServer, ZERO } from '../client/lk.mjs';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');

const BIG_TEXT = 'aé€😀 lkrtc '.repeat(12_000); // ~216 KB, 1-4 byte characters, many chunks
const enc = new TextEncoder();

function patterned(n) {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >> 8)) & 0xff;
  return b;
}

function concat(chunks) {
  const total = chunks.reduce((a, c) => a + c.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/** A promise for the next stream on `topic` at `room` (handler registered now), read fully. */
function nextStream(room, kind, topic, { read = true } = {}) {
  return new Promise((resolve, reject) => {
    const handler = async (reader, who) => {
      try {
        const info = reader.info;
        if (!read) return resolve({ reader, info, who });
        const data = await reader.readAll();
        resolve({ info, who, data, reader });
      } catch (e) {
        reject(e);
      }
    };
    if (kind === 'text') room.registerTextStreamHandler(topic, handler);
    else room.registerByteStreamHandler(topic, handler);
  });
}

const allZero = () => Object.values(lk.liveHandles()).every((v) => v === 0);

describe('data streams', () => {
  let dev;
  let scope;
  let dir;
  beforeAll(async () => {
    dev = await startDevServer();
    dir = mkdtempSync(join(tmpdir(), 'lkrtc-streams-'));
  });
  afterAll(async () => {
    await dev?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    scope = new Scope();
  });
  afterEach(async () => {
    await scope.close();
    await waitUntil(allZero, { what: 'handle counts at zero', timeoutMs: 3000 }).catch(() => {});
    expectHandles(ZERO);
  });

  async function pair(prefix) {
    const roomName = uniqueRoomName(prefix);
    const mine = await connectLk(scope, dev, 'lk', roomName);
    const theirs = await scope.connect(dev, 'official', roomName);
    await waitUntil(() => mine.remoteParticipants.get('official') && theirs.remoteParticipants.get('lk'), {
      what: 'both sides to see each other',
    });
    return { mine, theirs };
  }

  it('text streams lkrtc -> official: sendText small and large, streamText chunk by chunk', async () => {
    const { mine, theirs } = await pair('txt-lk2o');
    const small = nextStream(theirs, 'text', 'small');
    const info = await mine.localParticipant.sendText('héllo 😀', { topic: 'small', attributes: { k: 'v' } });
    expect(info.topic).toBe('small');
    expect(info.totalSize).toBe(enc.encode('héllo 😀').length);
    const got = await withTimeout(small, 10_000, 'the official client to read the small text');
    expect(got.data).toBe('héllo 😀');
    expect(got.who.identity).toBe('lk');
    expect(got.info).toMatchObject({
      streamId: info.streamId,
      topic: 'small',
      mimeType: 'text/plain',
      attributes: { k: 'v' },
    });

    const large = nextStream(theirs, 'text', 'large');
    await mine.localParticipant.sendText(BIG_TEXT, { topic: 'large' });
    expect((await withTimeout(large, 20_000, 'the large text')).data).toBe(BIG_TEXT);

    const parts = nextStream(theirs, 'text', 'parts');
    const writer = await mine.localParticipant.streamText({ topic: 'parts' });
    expect(lk.liveHandles().streamWriter).toBe(1);
    const pieces = ['one ', 'twö ', '😀'.repeat(5000), ' end'];
    for (const p of pieces) await writer.write(p);
    await writer.close();
    expect(lk.liveHandles().streamWriter).toBe(0);
    expect((await withTimeout(parts, 20_000, 'the streamed text')).data).toBe(pieces.join(''));
    await expect(writer.write('late')).rejects.toThrow(lk.LkError);
  });

  it('text streams official -> lkrtc: small, large, iterated chunk by chunk with progress', async () => {
    const { mine, theirs } = await pair('txt-o2lk');
    const small = nextStream(mine, 'text', 'small');
    await theirs.localParticipant.sendText('ünïcödé ✓', { topic: 'small', attributes: { a: '1' } });
    const got = await withTimeout(small, 10_000, 'lkrtc to read the small text');
    expect(got.data).toBe('ünïcödé ✓');
    expect(got.who).toEqual({ identity: 'official' });
    expect(got.info).toMatchObject({ topic: 'small', mimeType: 'text/plain', attributes: { a: '1' } });
    expect(typeof got.info.timestamp).toBe('number');
    expect(got.info.totalSize).toBe(enc.encode('ünïcödé ✓').length);

    const chunks = [];
    const progress = [];
    const iterated = new Promise((resolve, reject) => {
      mine.registerTextStreamHandler('large', async (reader) => {
        reader.onProgress = (p) => progress.push(p);
        try {
          for await (const c of reader) chunks.push(c);
          resolve();
        } catch (e) {
          reject(e);
        }
      });
    });
    await theirs.localParticipant.sendText(BIG_TEXT, { topic: 'large' });
    await withTimeout(iterated, 20_000, 'lkrtc to iterate the large text');
    expect(chunks.join('')).toBe(BIG_TEXT);
    expect(chunks.length).toBeGreaterThan(10);
    expect(progress.at(-1)).toBe(1);
    expect(lk.liveHandles().streamReader).toBe(0); // released at the end
  });

  it('byte streams both ways: random and patterned, small and large', async () => {
    const { mine, theirs } = await pair('bytes');
    const small = randomBytes(100);
    const large = patterned(3 * 1024 * 1024 + 7);
    const rnd = new Uint8Array(randomBytes(1024 * 1024 + 1));

    // lkrtc -> official
    let at = nextStream(theirs, 'bytes', 'b-small');
    let w = await mine.localParticipant.streamBytes({
      topic: 'b-small',
      name: 'small.bin',
      mimeType: 'application/x-test',
    });
    await w.write(small);
    await w.close();
    let got = await withTimeout(at, 10_000, 'official to read small bytes');
    expect(Buffer.from(concat(got.data)).equals(small)).toBe(true);
    expect(got.info).toMatchObject({ name: 'small.bin', mimeType: 'application/x-test', topic: 'b-small' });

    at = nextStream(theirs, 'bytes', 'b-large');
    w = await mine.localParticipant.streamBytes({ topic: 'b-large', totalSize: large.length });
    for (let o = 0; o < large.length; o += 100_000) await w.write(large.subarray(o, o + 100_000));
    await w.close();
    got = await withTimeout(at, 30_000, 'official to read large bytes');
    expect(Buffer.from(concat(got.data)).equals(Buffer.from(large))).toBe(true);
    expect(got.info.name).toBe('unknown');
    expect(got.info.totalSize).toBe(large.length);

    // official -> lkrtc
    at = nextStream(mine, 'bytes', 'o-random');
    const ow = await theirs.localParticipant.streamBytes({ topic: 'o-random', name: 'r.bin', totalSize: rnd.length });
    for (let o = 0; o < rnd.length; o += 50_000) await ow.write(rnd.subarray(o, o + 50_000));
    await ow.close();
    got = await withTimeout(at, 30_000, 'lkrtc to read random bytes');
    expect(got.data.every((c) => c instanceof Uint8Array)).toBe(true);
    expect(Buffer.from(concat(got.data)).equals(Buffer.from(rnd))).toBe(true);
    expect(got.info).toMatchObject({ name: 'r.bin', totalSize: rnd.length, mimeType: 'application/octet-stream' });
    expect(lk.liveHandles().streamReader).toBe(0);
  });

  it('sendFile both ways (name "unknown" unless given)', async () => {
    const { mine, theirs } = await pair('files');
    const content = patterned(700_001);
    const path = join(dir, 'file.bin');
    writeFileSync(path, content);

    let at = nextStream(theirs, 'bytes', 'files');
    await mine.localParticipant.sendFile(path, { topic: 'files' });
    let got = await withTimeout(at, 20_000, 'official to receive the file');
    expect(Buffer.from(concat(got.data)).equals(Buffer.from(content))).toBe(true);
    expect(got.info).toMatchObject({
      name: 'unknown',
      totalSize: content.length,
      mimeType: 'application/octet-stream',
    });

    at = nextStream(mine, 'bytes', 'files');
    await theirs.localParticipant.sendFile(path, { topic: 'files', name: 'named.bin' });
    got = await withTimeout(at, 20_000, 'lkrtc to receive the file');
    expect(Buffer.from(concat(got.data)).equals(Buffer.from(content))).toBe(true);
    expect(got.info).toMatchObject({ name: 'named.bin', totalSize: content.length });

    await expect(mine.localParticipant.sendFile(join(dir, 'missing.bin'), { topic: 'files' })).rejects.toThrow();
    expect(lk.liveHandles().streamWriter).toBe(0);
  });

  it('handlers: registering twice throws, registration before connect works, unregistered topics are dropped', async () => {
    const room = new lk.Room();
    scope.rooms.push(room);
    const early = nextStream(room, 'text', 'early');
    expect(() => room.registerTextStreamHandler('early', () => {})).toThrow(
      'A text stream handler for topic "early" has already been set.',
    );
    expect(() => room.registerByteStreamHandler('early', () => {})).not.toThrow(); // other kind: fine
    room.unregisterByteStreamHandler('early');
    await room.connect(dev.url, await dev.token('lk', uniqueRoomName('handlers')));
    const peer = await connectLk(scope, dev, 'peer', room.name);
    await waitUntil(() => peer.remoteParticipants.get('lk'), { what: 'peer to see lk' });
    await peer.localParticipant.sendText('registered before connect', { topic: 'early' });
    expect((await withTimeout(early, 10_000, 'early handler')).data).toBe('registered before connect');

    room.unregisterTextStreamHandler('early');
    await peer.localParticipant.sendText('nobody listens', { topic: 'early' });
    await peer.localParticipant.sendText('nobody listens either', { topic: 'never-registered' });
    await delay(300);
    expect(lk.liveHandles().streamReader).toBe(0);
  });

  it('readers: aborted, closed early, never read, abandoned, cut by disconnect, and handlers that throw', async () => {
    const roomName = uniqueRoomName('readers');
    const a = await connectLk(scope, dev, 'a', roomName);
    const b = await connectLk(scope, dev, 'b', roomName);
    await waitUntil(() => a.remoteParticipants.get('b') && b.remoteParticipants.get('a'), { what: 'a and b' });

    // Aborted by the sender: the reader throws ERR_STREAM with the reason.
    // (Awaited through `rejection` from the start: the reader may fail before `close` resolves.)
    const aborted = rejection(nextStream(b, 'text', 'abort'));
    const w = await a.localParticipant.streamText({ topic: 'abort' });
    await w.write('partial');
    await w.close('sender gave up');
    const e = await aborted;
    expect(e.code).toBe('ERR_STREAM');
    expect(e.message).toContain('sender gave up');

    // Closed early by the reader (break out of for-await): released at once.
    const closed = new Promise((resolve) => {
      b.registerByteStreamHandler('close-early', async (reader) => {
        for await (const _c of reader) break;
        resolve(lk.liveHandles().streamReader);
      });
    });
    const bw = await a.localParticipant.streamBytes({ topic: 'close-early' });
    await bw.write(patterned(200_000));
    await bw.close();
    expect(await withTimeout(closed, 10_000, 'early close')).toBe(0);

    // A handler that throws: its reader is released, nothing crashes.
    const warnings = [];
    const onWarning = (w) => warnings.push(String(w.message));
    process.on('warning', onWarning);
    let thrown = 0;
    b.registerTextStreamHandler('throws', () => {
      thrown++;
      throw new Error('handler bug');
    });
    try {
      await a.localParticipant.sendText('x'.repeat(50_000), { topic: 'throws' });
      await waitUntil(() => thrown === 1, { what: 'the throwing handler to be called' });
      await waitUntil(() => warnings.some((m) => m.includes('handler bug')), { what: 'the handler-bug warning' });
    } finally {
      process.off('warning', onWarning);
    }
    await waitUntil(() => lk.liveHandles().streamReader === 0, { what: 'the thrown-on reader to be released' });

    // Abandoned (the handler keeps nothing): released by the GC finalizer.
    let opened = 0;
    b.registerByteStreamHandler('abandoned', () => {
      opened++;
    });
    await a.localParticipant.sendFile(join(dir, 'file.bin'), { topic: 'abandoned' });
    await waitUntil(() => opened === 1, { what: 'the abandoned stream to open' });
    await waitUntil(
      () => {
        gc();
        return lk.liveHandles().streamReader === 0;
      },
      { what: 'the abandoned reader to be collected' },
    );

    // Never read but kept: still counted while the room is connected...
    const kept = nextStream(b, 'text', 'kept', { read: false });
    await a.localParticipant.sendText('kept for later 😀', { topic: 'kept' });
    const { reader: keptReader } = await withTimeout(kept, 10_000, 'the kept stream');
    // ...and one cut in the middle by a's disconnect.
    const cut = nextStream(b, 'bytes', 'cut', { read: false });
    const cw = await a.localParticipant.streamBytes({ topic: 'cut' });
    await cw.write(patterned(30_000));
    const { reader: cutReader } = await withTimeout(cut, 10_000, 'the cut stream');
    await delay(200);
    expect(lk.liveHandles().streamReader).toBe(2);
    expect(lk.liveHandles().streamWriter).toBe(1);
    await a.disconnect(); // the open writer is released with its room
    await waitUntil(() => lk.liveHandles().streamWriter === 0, { what: 'the writer to be released' });
    await expect(cw.write(new Uint8Array(1))).rejects.toThrow(lk.LkError);
    await rejection(cutReader.readAll()).then((err) => expect(err.code).toBe('ERR_STREAM'));
    // b's disconnect releases the kept reader; what it had received stays readable.
    await b.disconnect();
    expect(lk.liveHandles().streamReader).toBe(0);
    expect(await keptReader.readAll()).toBe('kept for later 😀');
  });

  it('bad input: duplicate stream ids, bad options, writes after close', async () => {
    const roomName = uniqueRoomName('bad-streams');
    const a = await connectLk(scope, dev, 'a', roomName);
    const b = await connectLk(scope, dev, 'b', roomName);
    await waitUntil(() => a.remoteParticipants.get('b'), { what: 'a to see b' });
    const results = [];
    b.registerTextStreamHandler('dup', async (reader) => {
      results.push(
        await reader.readAll().then(
          (t) => `ok:${t.length}`,
          (err) => `err:${err.code}`,
        ),
      );
    });
    const w1 = await a.localParticipant.streamText({ topic: 'dup', streamId: 'same-id' });
    const w2 = await a.localParticipant.streamText({ topic: 'dup', streamId: 'same-id' });
    await w1.write('first');
    await w2.write('second');
    await w1.close();
    await w2.close();
    await waitUntil(() => results.length === 1, { what: 'the duplicate stream to settle' });
    await delay(200);
    expect(results).toHaveLength(1); // the second header is ignored
    expect(results[0]).toBe('err:ERR_STREAM'); // its chunks break the first one's sequence

    expect((await rejection(a.localParticipant.streamBytes({ totalSize: -1 }))).code).toBe('ERR_INVALID_ARG');
    expect((await rejection(a.localParticipant.sendText(42))).code).toBe('ERR_INVALID_ARG');
    const w = await a.localParticipant.streamText({ topic: 'x' });
    await expect(w.write(new Uint8Array(1))).rejects.toThrow(lk.LkError);
    await w.close();
    await w.close(); // idempotent
    expect(lk.liveHandles().streamWriter).toBe(0);
  });
});
