// Smoke test of the packaging: the addon built by `napi build` loads through
// the public entry point and reports the package version.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/paths.mjs';

const require = createRequire(import.meta.url);

describe('addon', () => {
  it('loads through index.js and reports the package version', () => {
    const lkrtc = require(resolve(REPO_ROOT, 'index.js'));
    const pkg = JSON.parse(readFileSync(resolve(REPO_ROOT, 'package.json'), 'utf8'));
    expect(lkrtc.version()).toBe(pkg.version);
  });
});
