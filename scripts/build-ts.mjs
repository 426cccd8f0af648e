#!/usr/bin/env node
// `npm run build:ts`: compiles the public API (ts/src) twice with tsc, to ESM (dist/esm)
// and CommonJS (dist/cjs), each with declarations generated from the sources. A
// package.json marker in each output folder tells Node which module format it holds.
// The native loader (native.js / native.d.ts) must exist: `npm run build:debug` first.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TSC = resolve(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

if (!existsSync(resolve(ROOT, 'native.d.ts'))) {
  console.error('build:ts: native.d.ts is missing; run `npm run build:debug` (napi build) first');
  process.exit(1);
}
rmSync(resolve(ROOT, 'dist'), { recursive: true, force: true });
for (const [config, format, type] of [
  ['tsconfig.esm.json', 'esm', 'module'],
  ['tsconfig.cjs.json', 'cjs', 'commonjs'],
]) {
  const r = spawnSync(process.execPath, [TSC, '-p', resolve(ROOT, config)], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`build:ts: tsc -p ${config} failed`);
    process.exit(1);
  }
  const out = resolve(ROOT, 'dist', format);
  mkdirSync(out, { recursive: true });
  writeFileSync(resolve(out, 'package.json'), `${JSON.stringify({ type }, null, 2)}\n`);
}
console.log('build:ts: dist/esm and dist/cjs written');
