// Shared by the packaging tests: pack the packages with `scripts/pack-all.mjs` and install the
// tarballs into a fresh app, as a user installs them from npm.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';
import { REPO_ROOT } from '../helpers/paths.mjs';

/** Runs a command; returns spawnSync's result (throws if it could not start). */
export function run(cmd, args, { cwd, timeoutMs = 120_000, env } = {}) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: timeoutMs, env: env ?? process.env });
  if (r.error) throw r.error;
  return r;
}

/**
 * `pack-all.mjs --out out [...args]`; returns its JSON summary
 * ({ profile, tarballs: [{ package, file, size, unpackedSize }], skipped }).
 */
export function packAll(out, args, timeoutMs = 600_000) {
  const r = run(process.execPath, [resolve(REPO_ROOT, 'scripts', 'pack-all.mjs'), '--out', out, ...args], {
    cwd: REPO_ROOT,
    timeoutMs,
  });
  expect(r.status, `pack-all failed:\n${r.stdout}\n${r.stderr}`).toBe(0);
  const lines = r.stdout.trim().split('\n');
  const summary = JSON.parse(lines[lines.length - 1]);
  expect(summary.tarballs.map((t) => t.package)).toEqual(['lkrtc', expect.stringMatching(/^lkrtc-[a-z0-9]+-/)]);
  return summary;
}

/**
 * Makes `<dir>/<name>` (a package.json of `type`) and installs the tarballs into it offline
 * (lkrtc has no dependencies; its optionalDependencies on other platforms are skipped).
 * Returns { app, ms } (how long `npm install` took).
 */
export function installApp(dir, name, tarballs, { env, type = 'commonjs' } = {}) {
  const app = join(dir, name);
  mkdirSync(app, { recursive: true });
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true, type }));
  const started = Date.now();
  const r = run(
    'npm',
    ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', ...tarballs.map((t) => t.file)],
    { cwd: app, timeoutMs: 300_000, env },
  );
  expect(r.status, `npm install failed:\n${r.stdout}\n${r.stderr}`).toBe(0);
  return { app, ms: Date.now() - started };
}
