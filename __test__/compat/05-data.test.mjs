// Conformance (issue 8): data.
//  5. 10,000 reliable publishData calls issued without awaiting each (500 in flight)
//     arrive complete, without duplicates, in call order.
//  6. RoomOptions.dataStream.maxPayloadByteLength caps incoming streams: a 5 KB stream to
//     a receiver whose cap is 1 KB is rejected at the receiver (its read rejects); a small
//     one passes.
//  7. A stream reader whose onProgress callback throws: the read rejects with that very
//     error, and the next stream on the topic is read normally.
// Written once, run with @livekit/rtc-node and with lkrtc (see compat.mjs).
import { describe, expect, it } from 'vitest';
import { SDKS, rejectionOf, uniqueRoomName, useCompat, waitForEvent, waitUntil, withTimeout } from './compat.mjs';

const encoder = new TextEncoder();

/** A text of `n` ASCII characters that compresses poorly (compression must not matter). */
function noisyText(n, seed = 1) {
  let x = seed;
  let s = '';
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    s += String.fromCharCode(33 + (x % 94));
  }
  return s;
}

function noisyBytes(n, seed = 7) {
  return encoder.encode(noisyText(n, seed));
}

describe.each(SDKS)('data (%s)', (name, sdk) => {
  const env = useCompat(name, sdk);
  const { RoomEvent } = sdk;

  /** A sender and a receiver in a fresh room; the receiver connects with `receiverOptions`. */
  async function pair(prefix, receiverOptions) {
    const roomName = uniqueRoomName(prefix);
    const receiver = await env.scope.connect('receiver', roomName, { roomOptions: receiverOptions });
    const sender = await env.scope.connect('sender', roomName);
    await waitUntil(() => sender.remoteParticipants.has('receiver') && receiver.remoteParticipants.has('sender'), {
      timeoutMs: 10_000,
      what: 'sender and receiver to see each other',
    });
    return { sender, receiver };
  }

  /**
   * Registers a handler on `topic` (text or byte) that hands each incoming reader to
   * `onReader`; returns a function waiting for the next reader.
   */
  function readers(room, kind, topic) {
    const queue = [];
    const waiters = [];
    const register = kind === 'text' ? room.registerTextStreamHandler : room.registerByteStreamHandler;
    register.call(room, topic, (reader, info) => {
      const w = waiters.shift();
      if (w) w({ reader, info });
      else queue.push({ reader, info });
    });
    return (what) =>
      withTimeout(
        queue.length ? Promise.resolve(queue.shift()) : new Promise((res) => waiters.push(res)),
        10_000,
        `the receiver's ${kind} stream handler to be called for ${what}`,
      );
  }

  /** Sends `payload` (string for text, Uint8Array for bytes) as one stream on `topic`. */
  async function sendStream(room, kind, topic, payload) {
    if (kind === 'text') {
      await withTimeout(
        room.localParticipant.sendText(payload, { topic }),
        10_000,
        `sendText of ${payload.length} chars`,
      );
      return;
    }
    const writer = await withTimeout(
      room.localParticipant.streamBytes({ topic, totalSize: payload.byteLength }),
      10_000,
      'streamBytes()',
    );
    await withTimeout(writer.write(payload), 10_000, `writing ${payload.byteLength} bytes`);
    await withTimeout(writer.close(), 10_000, 'closing the byte stream');
  }

  /** What readAll() yields, as the string or bytes that were sent. */
  function joined(kind, value) {
    if (kind === 'text') return value;
    return Buffer.concat(value.map((c) => Buffer.from(c)));
  }

  it('10,000 reliable publishData calls, 500 in flight, arrive complete and in call order', async () => {
    const { sender, receiver } = await pair('c-order');
    const N = 10_000;
    const WINDOW = 500;
    const got = [];
    receiver.on(RoomEvent.DataReceived, (payload, participant, _kind, topic) => {
      if (topic === 'order' && participant?.identity === 'sender')
        got.push(new DataView(payload.buffer, payload.byteOffset).getUint32(0));
    });
    // One packet first: the data path is up before the burst.
    const ready = waitForEvent(receiver, RoomEvent.DataReceived, {
      timeoutMs: 10_000,
      filter: (_p, _from, _k, topic) => topic === 'ready',
      what: 'the first reliable packet',
    });
    await withTimeout(
      sender.localParticipant.publishData(encoder.encode('ready'), { reliable: true, topic: 'ready' }),
      10_000,
      'publishData(ready)',
    );
    await ready;

    const inFlight = new Set();
    let failed = null;
    const sending = (async () => {
      for (let i = 0; i < N; i++) {
        const payload = new Uint8Array(64);
        new DataView(payload.buffer).setUint32(0, i);
        const p = sender.localParticipant.publishData(payload, { reliable: true, topic: 'order' }).then(
          () => inFlight.delete(p),
          (e) => {
            inFlight.delete(p);
            failed ??= e;
          },
        );
        inFlight.add(p);
        if (inFlight.size >= WINDOW) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
    })();
    await withTimeout(sending, 90_000, () => `the ${N} publishData calls to resolve (${inFlight.size} in flight)`);
    expect(failed, 'a publishData call failed').toBeNull();
    await waitUntil(() => got.length >= N, {
      timeoutMs: 30_000,
      what: () => `${N} packets at the receiver (got ${got.length})`,
    });
    const seen = new Set(got);
    let firstDisorder = -1;
    let disorder = 0;
    for (let k = 0; k < got.length; k++) {
      if (got[k] !== k) {
        disorder++;
        if (firstDisorder < 0) firstDisorder = k;
      }
    }
    expect(
      { received: got.length, distinct: seen.size, outOfPlace: disorder },
      firstDisorder >= 0
        ? `first out of place at position ${firstDisorder}: ${got.slice(Math.max(0, firstDisorder - 2), firstDisorder + 3)}`
        : 'order',
    ).toEqual({ received: N, distinct: N, outOfPlace: 0 });
  });

  it.each(['text', 'byte'])(
    'dataStream.maxPayloadByteLength 1 KB: a small %s stream passes, a 5 KB one is rejected at the receiver',
    async (kind) => {
      const { sender, receiver } = await pair('c-cap', { dataStream: { maxPayloadByteLength: 1024 } });
      const next = readers(receiver, kind, 'capped');

      const small = kind === 'text' ? noisyText(500) : noisyBytes(500);
      const smallReader = next('the small stream');
      await sendStream(sender, kind, 'capped', small);
      const { reader: r1 } = await smallReader;
      const v1 = await withTimeout(r1.readAll(), 10_000, 'readAll() of the small stream');
      expect(joined(kind, v1), 'the small stream arrives whole').toEqual(kind === 'text' ? small : Buffer.from(small));

      const big = kind === 'text' ? noisyText(5_000, 3) : noisyBytes(5_000, 5);
      const bigReader = next('the 5 KB stream');
      await sendStream(sender, kind, 'capped', big);
      const { reader: r2 } = await bigReader;
      const err = await rejectionOf(r2.readAll(), 10_000, 'readAll() of a 5 KB stream over a 1 KB cap');
      expect(err, `the read rejects with an Error (got ${err})`).toBeInstanceOf(Error);
    },
  );

  it.each(['text', 'byte'])(
    'a %s stream reader whose onProgress throws: the read rejects with that error; the next stream reads normally',
    async (kind) => {
      const { sender, receiver } = await pair('c-progress');
      const next = readers(receiver, kind, 'progress');
      const payload = kind === 'text' ? noisyText(2_000) : noisyBytes(2_000);

      const first = next('the first stream');
      await sendStream(sender, kind, 'progress', payload);
      const { reader } = await first;
      const boom = new Error('onProgress failed on purpose');
      let calls = 0;
      reader.onProgress = () => {
        calls++;
        throw boom;
      };
      const err = await rejectionOf(reader.readAll(), 10_000, 'readAll() of a reader whose onProgress throws');
      expect(err, `the read rejects with the error onProgress threw (got ${err?.stack ?? err})`).toBe(boom);
      expect(calls, 'onProgress was called once, then the reader stopped').toBe(1);

      const second = next('the second stream');
      await sendStream(sender, kind, 'progress', payload);
      const { reader: r2 } = await second;
      const v2 = await withTimeout(r2.readAll(), 10_000, 'readAll() of the next stream');
      expect(joined(kind, v2)).toEqual(kind === 'text' ? payload : Buffer.from(payload));
    },
  );
});
