// scripts/check-changeset.mjs in a scratch git repository: a branch that changes shipped code
// (src/, crates/, ts/, the root JS files) needs a .changeset/*.md; other changes do not; main
// itself (a clean clone) has no range to check and passes; a malformed changeset fails.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/paths.mjs';
import { run } from './pack.mjs';

let repo;
const git = (...args) => execFileSync('git', args, { cwd: repo, encoding: 'utf8' }).trim();

function write(path, text) {
  mkdirSync(dirname(join(repo, path)), { recursive: true });
  writeFileSync(join(repo, path), text);
}

function check(...args) {
  const r = run(process.execPath, [resolve(REPO_ROOT, 'scripts/check-changeset.mjs'), ...args], {
    cwd: repo,
    env: { ...process.env, LKRTC_CHANGESET_ROOT: repo, CHANGESET_BASE: '' },
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

function commit(message) {
  git('add', '-A');
  git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', message);
}

beforeAll(() => {
  repo = mkdtempSync(join(tmpdir(), 'lkrtc-changeset-'));
  git('init', '-q', '-b', 'main');
  write('src/lib.rs', '// v1\n');
  write('README.md', 'v1\n');
  commit('initial');
});
afterAll(() => rmSync(repo, { recursive: true, force: true }));

describe('check-changeset', () => {
  it('passes on main itself (a clean clone: nothing to compare)', () => {
    const r = check();
    expect(r.output).toMatch(/HEAD is on main/);
    expect(r.status).toBe(0);
  });

  it('fails a branch that changes shipped code without a changeset, naming the files', () => {
    git('checkout', '-q', '-b', 'feature');
    write('crates/engine/src/x.rs', '// new\n');
    write('ts/src/room.ts', '// changed\n');
    commit('engine change');
    const r = check();
    expect(r.status).toBe(1);
    expect(r.output).toMatch(/main \(merge base \w{7}\)\.\.HEAD: shipped code changed but no \.changeset/);
    expect(r.output).toContain('crates/engine/src/x.rs');
    expect(r.output).toContain('ts/src/room.ts');
  });

  it('passes once the branch adds a changeset, and with an explicit --base', () => {
    write('.changeset/engine.md', '---\n"lkrtc": patch\n---\n\nEngine change.\n');
    commit('changeset');
    expect(check().status).toBe(0);
    expect(check('--base', 'main').status).toBe(0);
  });

  it('ignores changes outside shipped code', () => {
    git('checkout', '-q', 'main');
    git('checkout', '-q', '-b', 'docs');
    write('README.md', 'v2\n');
    commit('docs');
    expect(check().status).toBe(0);
  });

  it('refuses a malformed changeset and an unknown base', () => {
    write('.changeset/bad.md', '---\n"other-package": huge\n---\n');
    const r = check();
    expect(r.status).toBe(1);
    expect(r.output).toMatch(/bad\.md: front matter must be/);
    rmSync(join(repo, '.changeset/bad.md'));
    expect(check('--base', 'no-such-ref').status).toBe(2);
  });
});
