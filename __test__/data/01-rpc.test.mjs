// Issue 5: RPC between lkrtc and the official @livekit/rtc-node client, both directions, and
// between two lkrtc rooms: success, application errors, handler crashes, timeouts, unknown
// methods, oversized payloads. Handle counts are back at zero after each scenario.
import * as official from '@livekit/rtc-node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { delay, Scope, uniqueRoomName, waitUntil } from '../helpers/rtc.mjs';
import { connectLk, expectHandles, lk, rejection, startDevServer, ZERO } from '../client/lk.mjs';

const { RpcError } = lk;

/** Handlers shared by every callee (same behaviour on both SDKs). */
function handlers(RpcErrorClass, log) {
  return {
    echo: async (d) => {
      log?.push(d);
      return `echo:${d.payload}`;
    },
    fail: async () => {
      throw new RpcErrorClass(4001, 'custom failure', 'some data');
    },
    boom: async () => {
      throw new Error('handler crashed');
    },
    never: () => new Promise(() => {}),
    big: async () => 'x'.repeat(15_361),
  };
}

async function expectRpcError(promise, code, message) {
  const e = await rejection(promise, 30_000);
  expect(e?.constructor?.name, String(e?.stack ?? e)).toMatch(/RpcError$/);
  expect(e.code).toBe(code);
  if (message !== undefined) expect(e.message).toBe(message);
  return e;
}

describe('RPC', () => {
  let dev;
  let scope;
  beforeAll(async () => {
    dev = await startDevServer();
  });
  afterAll(async () => {
    await dev?.close();
  });
  beforeEach(() => {
    scope = new Scope();
  });
  afterEach(async () => {
    await scope.close();
    await waitUntil(() => Object.values(lk.liveHandles()).every((v) => v === 0), {
      what: 'handle counts at zero',
    }).catch(() => {});
    expectHandles(ZERO);
  });

  it('RpcError matches the official class: codes, messages, builtIn', () => {
    expect(RpcError.ErrorCode).toEqual(official.RpcError.ErrorCode);
    expect(RpcError.ErrorMessage).toEqual(official.RpcError.ErrorMessage);
    const e = RpcError.builtIn('RESPONSE_TIMEOUT', 'd');
    expect(e).toBeInstanceOf(Error);
    expect([e.code, e.message, e.data]).toEqual([1502, 'Response timeout', 'd']);
  });

  it('lkrtc calls the official client: success, error, crash, unknown method, timeout', async () => {
    const roomName = uniqueRoomName('rpc-lk2o');
    const mine = await connectLk(scope, dev, 'lk', roomName);
    const theirs = await scope.connect(dev, 'official', roomName);
    const log = [];
    for (const [m, h] of Object.entries(handlers(official.RpcError, log)))
      theirs.localParticipant.registerRpcMethod(m, h);
    await waitUntil(() => mine.remoteParticipants.get('official'), { what: 'lkrtc to see the official client' });
    const lp = mine.localParticipant;

    const payload = 'héllo 😀 '.repeat(100);
    expect(await lp.performRpc({ destinationIdentity: 'official', method: 'echo', payload })).toBe(`echo:${payload}`);
    expect(log[0].callerIdentity).toBe('lk');
    expect(log[0].method).toBe('echo');
    expect(typeof log[0].requestId).toBe('string');
    // The official default: 15 s total, 8 s on the wire (15 s minus the 7 s ACK allowance).
    expect(log[0].responseTimeout).toBe(8000);

    const e = await expectRpcError(
      lp.performRpc({ destinationIdentity: 'official', method: 'fail', payload: '' }),
      4001,
      'custom failure',
    );
    expect(e.data).toBe('some data');
    await expectRpcError(lp.performRpc({ destinationIdentity: 'official', method: 'boom', payload: '' }), 1500);
    await expectRpcError(lp.performRpc({ destinationIdentity: 'official', method: 'nope', payload: '' }), 1400);
    const t0 = Date.now();
    await expectRpcError(
      lp.performRpc({ destinationIdentity: 'official', method: 'never', payload: '', responseTimeout: 1500 }),
      1502,
    );
    expect(Date.now() - t0).toBeLessThan(5000);
    // The official callee cuts an oversized response.
    await expectRpcError(lp.performRpc({ destinationIdentity: 'official', method: 'big', payload: '' }), 1504);
    // Oversized request: refused locally, nothing sent.
    await expectRpcError(
      lp.performRpc({ destinationIdentity: 'official', method: 'echo', payload: 'y'.repeat(15_361) }),
      1402,
    );
  });

  it('the official client calls lkrtc: success, error, crash, unknown method, timeout', async () => {
    const roomName = uniqueRoomName('rpc-o2lk');
    const mine = await connectLk(scope, dev, 'lk', roomName);
    const theirs = await scope.connect(dev, 'official', roomName);
    const log = [];
    for (const [m, h] of Object.entries(handlers(RpcError, log))) mine.localParticipant.registerRpcMethod(m, h);
    await waitUntil(() => theirs.remoteParticipants.get('lk'), { what: 'the official client to see lkrtc' });
    const lp = theirs.localParticipant;

    const payload = '{"a":"ü∑😀"}';
    expect(await lp.performRpc({ destinationIdentity: 'lk', method: 'echo', payload })).toBe(`echo:${payload}`);
    expect(log[0]).toMatchObject({ callerIdentity: 'official', method: 'echo', payload, responseTimeout: 8000 });

    const e = await expectRpcError(
      lp.performRpc({ destinationIdentity: 'lk', method: 'fail', payload: '' }),
      4001,
      'custom failure',
    );
    expect(e.data).toBe('some data');
    const warnings = [];
    const onWarning = (w) => warnings.push(String(w.message));
    process.on('warning', onWarning);
    try {
      await expectRpcError(
        lp.performRpc({ destinationIdentity: 'lk', method: 'boom', payload: '' }),
        1500,
        'Application error in method handler',
      );
    } finally {
      process.off('warning', onWarning);
    }
    await expectRpcError(lp.performRpc({ destinationIdentity: 'lk', method: 'nope', payload: '' }), 1400);
    await expectRpcError(lp.performRpc({ destinationIdentity: 'lk', method: 'big', payload: '' }), 1504);
    const t0 = Date.now();
    await expectRpcError(
      lp.performRpc({ destinationIdentity: 'lk', method: 'never', payload: '', responseTimeout: 2000 }),
      1502,
    );
    expect(Date.now() - t0).toBeLessThan(6000);

    // Unregistered: refused natively at once.
    mine.localParticipant.unregisterRpcMethod('echo');
    await expectRpcError(lp.performRpc({ destinationIdentity: 'lk', method: 'echo', payload: '' }), 1400);
  });

  it('between two lkrtc rooms, with interceptors, bad input and a callee that leaves', async () => {
    const roomName = uniqueRoomName('rpc-lk2lk');
    const a = await connectLk(scope, dev, 'a', roomName);
    const b = await connectLk(scope, dev, 'b', roomName);
    for (const [m, h] of Object.entries(handlers(RpcError))) b.localParticipant.registerRpcMethod(m, h);
    await waitUntil(() => a.remoteParticipants.get('b'), { what: 'a to see b' });
    const seen = [];
    a.localParticipant.addRpcInterceptor({
      async interceptOutgoing(call, next) {
        seen.push(`out:${call.method}`);
        return next({ ...call, payload: `${call.payload}+` });
      },
    });
    b.localParticipant.addRpcInterceptor({
      async interceptIncoming(inv, next) {
        seen.push(`in:${inv.method}`);
        return next(inv);
      },
    });
    expect(await a.localParticipant.performRpc({ destinationIdentity: 'b', method: 'echo', payload: 'p' })).toBe(
      'echo:p+',
    );
    expect(seen).toEqual(['out:echo', 'in:echo']);

    // Many concurrent calls.
    const many = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        a.localParticipant.performRpc({ destinationIdentity: 'b', method: 'echo', payload: String(i) }),
      ),
    );
    expect(many).toEqual(Array.from({ length: 50 }, (_, i) => `echo:${i}+`));

    await expectRpcError(
      a.localParticipant.performRpc({ destinationIdentity: 'b', method: 'boom', payload: '' }),
      1500,
    );
    await expectRpcError(a.localParticipant.performRpc({ destinationIdentity: 'b', method: 'big', payload: '' }), 1504);
    const bad = await rejection(
      a.localParticipant.performRpc({ destinationIdentity: 42, method: 'echo', payload: '' }),
    );
    expect(bad.code).toBe('ERR_INVALID_ARG');
    expect(() => a.localParticipant.registerRpcMethod('m', 'not a function')).toThrow(lk.LkError);

    // A pending call whose callee leaves fails with RECIPIENT_DISCONNECTED.
    const pending = a.localParticipant.performRpc({ destinationIdentity: 'b', method: 'never', payload: '' });
    const failed = expectRpcError(pending, 1503);
    await delay(300);
    await b.disconnect();
    await failed;
  });

  it('a call to nobody fails with CONNECTION_TIMEOUT after the 7 s ACK wait', async () => {
    const a = await connectLk(scope, dev, 'a', uniqueRoomName('rpc-nobody'));
    const t0 = Date.now();
    await expectRpcError(
      a.localParticipant.performRpc({ destinationIdentity: 'ghost', method: 'x', payload: '' }),
      1501,
    );
    expect(Date.now() - t0).toBeGreaterThanOrEqual(6500);
  });
});
