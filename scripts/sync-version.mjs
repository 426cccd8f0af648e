#!/usr/bin/env node
// `npm run version:packages` (after `changeset version` bumped package.json): gives the addon
// crate (root Cargo.toml) the package's version, so that the native binary's `version()`
// matches the JS package, which loader.js checks at load time.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const cargoToml = join(ROOT, 'Cargo.toml');
const text = readFileSync(cargoToml, 'utf8');
const PACKAGE_VERSION = /(\[package\]\nname = "lkrtc"\nversion = ")[^"]*(")/;
if (!PACKAGE_VERSION.test(text)) {
  console.error('sync-version: no `[package] name = "lkrtc" version = ...` in Cargo.toml');
  process.exit(1);
}
writeFileSync(cargoToml, text.replace(PACKAGE_VERSION, `$1${version}$2`));
console.log(`sync-version: Cargo.toml lkrtc version = ${version}`);
