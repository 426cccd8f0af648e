// Issue 3, tests 6 and 7, in child Node processes:
// 6. a process that connects and disconnects exits by itself within 2 s (no global dispose());
// 7. under --expose-gc, objects never attached to a room (and disposed ones) are freed by
//    their finalizers, with no uncaught exception and no count below zero.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueRoomName, withTimeout } from '../helpers/rtc.mjs';
import { REPO_ROOT } from '../helpers/paths.mjs';
import { connectLk, expectHandles, lk, startDevServer, ZERO } from './lk.mjs';

const FIXTURES = resolve(REPO_ROOT, '__test__', 'client', 'fixtures');
const EXIT_BUDGET_MS = 2_000;

/**
 * Spawns a fixture; collects its `<event> <json>` lines with the time each arrived.
 * Returns { lines, waitFor(event), exited, kill() }.
 */
function runChild(script, args, { nodeArgs = [] } = {}) {
  const proc = spawn(process.execPath, [...nodeArgs, resolve(FIXTURES, script), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env },
  });
  const lines = [];
  const stderr = [];
  const waiters = [];
  createInterface({ input: proc.stdout }).on('line', (line) => {
    const i = line.indexOf(' ');
    const event = i < 0 ? line : line.slice(0, i);
    let data = {};
    try {
      data = i < 0 ? {} : JSON.parse(line.slice(i + 1));
    } catch {
      data = { raw: line };
    }
    const entry = { event, data, at: Date.now() };
    lines.push(entry);
    for (const w of waiters) if (w.event === event) w.resolve(entry);
  });
  createInterface({ input: proc.stderr }).on('line', (line) => stderr.push(line));
  const exited = new Promise((res) => proc.once('exit', (code, signal) => res({ code, signal, at: Date.now() })));
  const describe = () => `stdout: ${JSON.stringify(lines)}\nstderr: ${stderr.slice(-20).join('\n')}`;
  return {
    lines,
    stderr,
    describe,
    exited,
    waitFor(event, ms = 20_000) {
      const seen = lines.find((l) => l.event === event);
      if (seen) return Promise.resolve(seen);
      return withTimeout(
        new Promise((res) => waiters.push({ event, resolve: res })),
        ms,
        () => `child line "${event}" (${describe()})`,
      );
    },
    kill() {
      proc.kill('SIGKILL');
    },
  };
}

describe('child processes', () => {
  let dev;
  beforeAll(async () => {
    dev = await startDevServer();
  });
  afterAll(async () => {
    await dev?.close();
  });

  it('connect + disconnect, nothing else: the process exits by itself within 2 s', async () => {
    const child = runChild('exit-child.mjs', [
      'connect-disconnect',
      dev.url,
      dev.createToken({ identity: 'exiter', room: uniqueRoomName('exit') }),
    ]);
    try {
      const done = await child.waitFor('disconnected');
      expect(done.data.handles).toEqual(ZERO);
      const exit = await withTimeout(child.exited, 10_000, () => `the child to exit (${child.describe()})`);
      expect(exit.code, child.describe()).toBe(0);
      const ms = exit.at - done.at;
      console.log(`child exited ${ms} ms after disconnect() resolved`);
      expect(ms).toBeLessThan(EXIT_BUDGET_MS);
      expect(child.lines.some((l) => l.event === 'uncaught')).toBe(false);
    } finally {
      child.kill();
    }
  });

  it('a Room that never connected does not keep the process alive', async () => {
    const child = runChild('exit-child.mjs', ['never-connected']);
    try {
      const created = await child.waitFor('created');
      expect(created.data.handles.room).toBe(1);
      const exit = await withTimeout(child.exited, 10_000, () => `the child to exit (${child.describe()})`);
      expect(exit.code, child.describe()).toBe(0);
      expect(exit.at - created.at).toBeLessThan(EXIT_BUDGET_MS);
    } finally {
      child.kill();
    }
  });

  it('evicted by the server (no disconnect() call): exits by itself within 2 s of `disconnected`', async () => {
    const roomName = uniqueRoomName('evict');
    const child = runChild('exit-child.mjs', [
      'wait-for-leave',
      dev.url,
      dev.createToken({ identity: 'twin', room: roomName }),
    ]);
    const scope = { rooms: [] };
    try {
      await child.waitFor('connected');
      // Same identity from this process: the server evicts the child.
      const usurper = await connectLk(scope, dev, 'twin', roomName);
      const done = await child.waitFor('disconnected');
      expect(done.data.reason).toBe(lk.DisconnectReason.DUPLICATE_IDENTITY);
      expect(done.data.handles).toEqual(ZERO);
      const exit = await withTimeout(child.exited, 10_000, () => `the child to exit (${child.describe()})`);
      expect(exit.code, child.describe()).toBe(0);
      expect(exit.at - done.at).toBeLessThan(EXIT_BUDGET_MS);
      await usurper.disconnect();
    } finally {
      child.kill();
      for (const r of scope.rooms) await r.disconnect();
    }
    expectHandles(ZERO);
  });

  it('a connected room keeps the process alive (like a socket) until it disconnects', async () => {
    const child = runChild('exit-child.mjs', [
      'stay-connected',
      dev.url,
      dev.createToken({ identity: 'stayer', room: uniqueRoomName('stay') }),
    ]);
    try {
      await child.waitFor('connected');
      const early = await Promise.race([child.exited, new Promise((r) => setTimeout(r, 1_500, 'alive'))]);
      expect(early, child.describe()).toBe('alive');
    } finally {
      child.kill();
    }
  });

  it('an in-process DevServer: start, connect, disconnect, close, then the process exits', async () => {
    const child = runChild('exit-child.mjs', ['dev-server']);
    try {
      const done = await child.waitFor('disconnected', 30_000);
      expect(done.data.handles).toEqual(ZERO);
      const exit = await withTimeout(child.exited, 10_000, () => `the child to exit (${child.describe()})`);
      expect(exit.code, child.describe()).toBe(0);
      expect(exit.at - done.at).toBeLessThan(EXIT_BUDGET_MS);
    } finally {
      child.kill();
    }
  });

  it('a VideoSource left open (after publishing video) does not keep the process alive', async () => {
    const child = runChild('exit-child.mjs', ['video-source-open']);
    try {
      const done = await child.waitFor('disconnected', 30_000);
      expect(done.data.handles).toEqual({ ...ZERO, videoSource: 1 });
      const exit = await withTimeout(child.exited, 10_000, () => `the child to exit (${child.describe()})`);
      expect(exit.code, child.describe()).toBe(0);
      expect(exit.at - done.at).toBeLessThan(EXIT_BUDGET_MS);
      expect(child.describe()).not.toMatch(/panic/);
    } finally {
      child.kill();
    }
  });

  it('--expose-gc: finalizers free unattached and disposed objects, quietly', async () => {
    const child = runChild('gc-child.mjs', [dev.url, dev.createToken({ identity: 'gc', room: uniqueRoomName('gc') })], {
      nodeArgs: ['--expose-gc'],
    });
    try {
      const done = await child.waitFor('done', 60_000);
      const exit = await withTimeout(child.exited, 10_000, () => `the child to exit (${child.describe()})`);
      const failed = child.lines.filter((l) => l.event !== 'ok' && l.event !== 'done');
      expect(failed, child.describe()).toEqual([]);
      expect(child.lines.filter((l) => l.event === 'ok').length).toBeGreaterThanOrEqual(8);
      expect(done.data.failures).toBe(0);
      expect(done.data.handles).toEqual(ZERO);
      expect(exit.code, child.describe()).toBe(0);
    } finally {
      child.kill();
    }
  });
});
