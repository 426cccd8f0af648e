// Issue 8, item 11: a process that exits while native objects are still open (an
// AudioSource, a Room never connected, a connected Room with a published track and open
// data streams, an in-process DevServer) prints no Rust panic, whichever way it exits:
// the event loop emptying, process.exit(), process.exit(code), an uncaught exception.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueRoomName, withTimeout } from '../helpers/rtc.mjs';
import { REPO_ROOT } from '../helpers/paths.mjs';
import { startDevServer } from './lk.mjs';

const CHILD = resolve(REPO_ROOT, '__test__', 'client', 'fixtures', 'open-at-exit-child.mjs');

/** Runs the child to its end; returns its exit code and everything it printed. */
async function run(args) {
  const proc = spawn(process.execPath, [CHILD, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUST_BACKTRACE: '1' },
  });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const code = await withTimeout(
    new Promise((res) => proc.once('exit', (c, signal) => res(c ?? signal))),
    30_000,
    () => `child ${args.join(' ')} to exit (output so far: ${out})`,
  ).catch((e) => {
    proc.kill('SIGKILL');
    throw e;
  });
  return { code, out };
}

const EXPECTED_CODE = { natural: 0, exit: 0, 'exit-code': 7, throw: 1 };

describe('no panic text at exit', () => {
  let dev;
  beforeAll(async () => {
    dev = await startDevServer();
  });
  afterAll(async () => {
    await dev?.close();
  });

  for (const what of ['source', 'room', 'all']) {
    for (const how of ['natural', 'exit', 'exit-code', 'throw']) {
      it(`${what}, ${how}`, async () => {
        const { code, out } = await run([what, how]);
        expect(out).toContain('open ');
        expect(out.toLowerCase(), out).not.toContain('panic');
        expect(code, out).toBe(EXPECTED_CODE[how]);
      });
    }
  }

  for (const what of ['connected', 'devserver']) {
    for (const how of ['exit', 'exit-code', 'throw']) {
      it(`${what}, ${how}`, async () => {
        const room = uniqueRoomName('exit');
        const tokens = ['a', 'b'].map((identity) => dev.createToken({ identity, room }));
        const { code, out } = await run([what, how, dev.url, ...tokens]);
        expect(out).toContain('open ');
        expect(out.toLowerCase(), out).not.toContain('panic');
        expect(code, out).toBe(EXPECTED_CODE[how]);
      });
    }
  }
});
