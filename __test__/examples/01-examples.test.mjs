// The runnable examples (examples/<name>/index.mjs), each run as its own process against an
// in-process DevServer of this test, exactly as a user runs them (LIVEKIT_URL and
// LIVEKIT_TOKEN), and checked from a second participant: the echo bot plays a tone back, the
// recorder writes one valid WAV file per participant, the RPC service answers and refuses
// bad input, a file crosses intact from the sender to the receiver. lkrtc-only.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/paths.mjs';
import {
  detectFrequency,
  publishSineWith,
  readToneWith,
  uniqueRoomName,
  waitForEvent,
  withTimeout,
} from '../helpers/rtc.mjs';
import { connectLk, lk, useLkEnv } from '../client/lk.mjs';

const env = useLkEnv();
const children = new Set();
const tmp = mkdtempSync(join(tmpdir(), 'lkrtc-examples-'));

afterEach(async () => {
  await Promise.all([...children].map((c) => c.stop()));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * Starts `examples/<name>/index.mjs args` as `identity` in `roomName`; resolves once it
 * printed a line matching `ready`. Returns { lines, waitFor(re), stop() }; stop() sends
 * SIGTERM and resolves with the exit status (it must exit by itself, 0).
 */
async function startExample(name, args, { identity, roomName, ready = / ready /, extraEnv = {} }) {
  const token = env.dev.createToken({ identity, room: roomName });
  const proc = spawn(process.execPath, [resolve(REPO_ROOT, 'examples', name, 'index.mjs'), ...args], {
    cwd: tmp,
    env: { ...process.env, LIVEKIT_URL: env.dev.url, LIVEKIT_TOKEN: token, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines = [];
  const waiters = new Set();
  const exited = new Promise((res) => proc.once('exit', (code, signal) => res({ code, signal })));
  const onLine = (line) => {
    lines.push(line);
    for (const w of waiters) if (w.re.test(line)) w.resolve(line);
  };
  createInterface({ input: proc.stdout }).on('line', onLine);
  createInterface({ input: proc.stderr }).on('line', (l) => onLine(`[stderr] ${l}`));
  const waitFor = (re, ms = 20_000) => {
    const seen = lines.find((l) => re.test(l));
    if (seen) return Promise.resolve(seen);
    const w = { re };
    const p = new Promise((res, rej) => {
      w.resolve = res;
      exited.then(({ code }) => rej(new Error(`${name} exited (${code}) before ${re}:\n${lines.join('\n')}`)));
    });
    waiters.add(w);
    return withTimeout(p, ms, () => `${name} to print ${re}; it printed:\n${lines.join('\n')}`).finally(() =>
      waiters.delete(w),
    );
  };
  const child = {
    lines,
    waitFor,
    exited,
    async stop() {
      children.delete(child);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      const status = await exited;
      clearTimeout(t);
      return status;
    },
  };
  children.add(child);
  await waitFor(ready);
  return child;
}

function expectCleanExit(status, child) {
  expect(status, child.lines.join('\n')).toEqual({ code: 0, signal: null });
  expect(child.lines.filter((l) => l.startsWith('[stderr]'))).toEqual([]);
}

describe('examples', () => {
  it('echo-bot plays back what it hears on its own track', async () => {
    const roomName = uniqueRoomName('echo');
    const bot = await startExample('echo-bot', [], { identity: 'echo-bot', roomName });
    const alice = await connectLk(env.scope, env.dev, 'alice', roomName);
    const echoed = waitForEvent(alice, lk.RoomEvent.TrackSubscribed, {
      timeoutMs: 20_000,
      filter: (_track, _pub, participant) => participant.identity === 'echo-bot',
      what: "alice subscribing to the bot's echo track",
    });
    await publishSineWith(lk, alice, { scope: env.scope, freq: 440, name: 'mic' });
    const [track] = await echoed;
    await bot.waitFor(/echoing alice/);
    const tone = await readToneWith(lk, track, { frames: 50 });
    expect(detectFrequency(tone.channels[0], 48_000)).toBeCloseTo(440, -1);
    await alice.disconnect();
    expectCleanExit(await bot.stop(), bot);
  });

  it('wav-recorder writes one valid WAV file per participant', async () => {
    const roomName = uniqueRoomName('rec');
    const dir = join(tmp, 'recordings');
    const recorder = await startExample('wav-recorder', [dir], { identity: 'wav-recorder', roomName });
    const tones = { alice: 440, bob: 660 };
    for (const [identity, freq] of Object.entries(tones)) {
      const room = await connectLk(env.scope, env.dev, identity, roomName);
      await publishSineWith(lk, room, { scope: env.scope, freq, name: 'mic' });
      await recorder.waitFor(new RegExp(`recording ${identity} `));
    }
    await new Promise((r) => setTimeout(r, 1_500));
    await env.scope.close();
    for (const identity of Object.keys(tones)) await recorder.waitFor(new RegExp(`recorded .*${identity}-TR_`));
    expectCleanExit(await recorder.stop(), recorder);

    const files = readdirSync(dir).sort();
    expect(files).toHaveLength(2);
    for (const [i, identity] of Object.keys(tones).entries()) {
      expect(files[i]).toMatch(new RegExp(`^${identity}-TR_\\w+\\.wav$`));
      const wav = readFileSync(join(dir, files[i]));
      expect(wav.toString('ascii', 0, 4)).toBe('RIFF');
      expect(wav.readUInt32LE(4)).toBe(wav.length - 8);
      expect(wav.toString('ascii', 8, 16)).toBe('WAVEfmt ');
      expect([wav.readUInt16LE(20), wav.readUInt16LE(22), wav.readUInt32LE(24), wav.readUInt16LE(34)]).toEqual([
        1, 1, 48_000, 16,
      ]);
      const dataBytes = wav.readUInt32LE(40);
      expect(dataBytes).toBe(wav.length - 44);
      expect(dataBytes / 2 / 48_000, 'seconds recorded').toBeGreaterThan(0.5);
      const samples = new Int16Array(wav.buffer, wav.byteOffset + 44, dataBytes / 2);
      const last = samples.subarray(samples.length - 12_000);
      expect(detectFrequency(last, 48_000)).toBeCloseTo(tones[identity], -1);
    }
  });

  it('rpc-service answers its methods and refuses bad input with an RpcError', async () => {
    const roomName = uniqueRoomName('rpc');
    const service = await startExample('rpc-service', [], { identity: 'rpc-service', roomName });
    const alice = await connectLk(env.scope, env.dev, 'alice', roomName);
    const call = (method, payload = '') =>
      alice.localParticipant.performRpc({ destinationIdentity: 'rpc-service', method, payload });
    expect(JSON.parse(await call('add', JSON.stringify({ a: 2, b: 40 })))).toEqual({ sum: 42 });
    expect(await call('uppercase', 'hello')).toBe('HELLO');
    expect(await call('whoami')).toBe('alice');
    const bad = await call('add', '{"a": "two"}').catch((e) => e);
    expect(bad).toBeInstanceOf(lk.RpcError);
    expect([bad.code, bad.message, bad.data]).toEqual([400, 'bad payload', 'a and b must be numbers']);
    const unknown = await call('divide', '1').catch((e) => e);
    expect(unknown).toBeInstanceOf(lk.RpcError);
    expect(unknown.code).toBe(lk.RpcError.ErrorCode.UNSUPPORTED_METHOD);
    expectCleanExit(await service.stop(), service);
  });

  it('file-transfer sends a file over a byte stream, received intact', async () => {
    const roomName = uniqueRoomName('files');
    const dir = join(tmp, 'received');
    const receiver = await startExample('file-transfer', ['receive', dir], { identity: 'receiver', roomName });
    const file = join(tmp, 'payload.bin');
    const content = randomBytes(256 * 1024 + 123);
    writeFileSync(file, content);
    const sender = await startExample('file-transfer', ['send', file, 'receiver'], {
      identity: 'sender',
      roomName,
      ready: /sent .* who received 262267 bytes/,
    });
    expectCleanExit(await withTimeout(sender.exited, 20_000, 'the sender to exit by itself'), sender);
    await receiver.waitFor(/received payload\.bin \(262267 bytes\) from sender/);
    const sha = (b) => createHash('sha256').update(b).digest('hex');
    expect(sha(readFileSync(join(dir, 'payload.bin')))).toBe(sha(content));
    expectCleanExit(await receiver.stop(), receiver);
  });
});
