// Async hooks on (AsyncLocalStorage: tracing agents, frameworks, playwright): every promise
// the addon creates then runs JavaScript (the hooks' init) on the JavaScript thread, where
// V8 checks its stack limit. A native call that had used much of that stack before creating
// its promise threw `undefined` there; the release build's `connect()` did (it moved a
// 160 KB task through several frames), so any app with async hooks could not connect.
//
// The session runs in a child process under a V8 stack limit far below Node's default
// (984 KB): what the addon's calls take from the JavaScript thread's stack must stay small.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/paths.mjs';

const CHILD = resolve(REPO_ROOT, '__test__', 'client', 'fixtures', 'async-hooks-child.mjs');
/** Node's default is 984 KB; the session's own JavaScript needs far less than this. */
const STACK_KB = 250;

describe('async hooks', () => {
  it('a whole session works with async hooks on and a small JavaScript stack', () => {
    const child = spawnSync(process.execPath, [`--stack-size=${STACK_KB}`, CHILD], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    const line = child.stdout.split('\n').find((l) => l.startsWith('done ') || l.startsWith('failed '));
    expect(line, `child output:\n${child.stdout}\n${child.stderr}`).toMatch(/^done /);
    const result = JSON.parse(line.slice('done '.length));
    expect(result).toMatchObject({ data: 'hello', echoed: 'ping', stats: true, store: 'ctx', live: 0 });
    expect(result.hookCalls, 'the init hook ran').toBeGreaterThan(0);
    expect(child.status, child.stderr).toBe(0);
  });
});
