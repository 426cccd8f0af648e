#!/usr/bin/env node
// `npm run pack:all -- [--out DIR] [--debug] [--no-build]`: writes the npm tarballs of every
// package that can be built on this machine to DIR (default target/packages):
//
//   lkrtc-<version>.tgz                    the JS package: dist/, the loaders, the bin shim;
//                                          optionalDependencies name every platform package
//   lkrtc-<platform>-<version>.tgz         per platform whose binaries exist: the addon
//                                          (lkrtc.<platform>.node) and the lkrtc-server program
//
// Platform packages follow the napi-rs layout (`napi create-npm-dirs`: name, os, cpu, libc
// from package.json `napi.targets`). A target's binaries are taken from cargo's target dir
// (CARGO_TARGET_DIR, else ./target): `<triple>/<profile>/` (napi build and cross builds, as
// the release workflow makes them) or, for the host, `<profile>/`, whichever is newer.
//
//   --debug      pack the debug build instead of the release build (tests of the layout)
//   --no-build   pack what is built; otherwise first run the release (or debug) build of the
//                addon and the server (napi build, cargo build -p lkrtc-server) and build:ts
//
// Prints one line per tarball (`packed <file> <packed bytes> <unpacked bytes>`) and a JSON
// summary as its last line.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseTriple } from '@napi-rs/cli';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const NAPI = join(ROOT, 'node_modules', '@napi-rs', 'cli', 'dist', 'cli.js');
const TARGET_DIR = resolve(ROOT, process.env.CARGO_TARGET_DIR ?? 'target');

function parseArgs(argv) {
  const opts = { out: join(ROOT, 'target', 'packages'), profile: 'release', build: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--out' && argv[i + 1]) opts.out = resolve(argv[++i]);
    else if (a.startsWith('--out=')) opts.out = resolve(a.slice('--out='.length));
    else if (a === '--debug') opts.profile = 'debug';
    else if (a === '--no-build') opts.build = false;
    else {
      console.error(`pack-all: unknown argument ${a}\nusage: pack-all.mjs [--out DIR] [--debug] [--no-build]`);
      process.exit(2);
    }
  }
  return opts;
}

function step(cmd, args, cwd = ROOT) {
  console.log(`pack-all: ${[cmd, ...args].join(' ')}`);
  const r = spawnSync(cmd, args, { cwd, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`pack-all: ${cmd} ${args[0] ?? ''} failed (${r.error?.message ?? `exit code ${r.status}`})`);
    process.exit(1);
  }
}

function build(profile) {
  const release = profile === 'release' ? ['--release'] : [];
  // napi build writes its outputs into a staging folder, not the checkout: the checkout's
  // `lkrtc.<platform>.node` is the development build everything else runs against (tests
  // running after a pack must not find it swapped for another profile). The generated
  // loader and declarations are the same for every profile and go to the checkout.
  const staging = join(TARGET_DIR, 'napi-staging');
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  step(process.execPath, [
    NAPI,
    'build',
    '--platform',
    ...release,
    '--output-dir',
    staging,
    '--js',
    'native.js',
    '--dts',
    'native.d.ts',
  ]);
  for (const f of ['native.js', 'native.d.ts']) copyFileSync(join(staging, f), join(ROOT, f));
  // The server binary with the addon's target dir and feature set (napi build passes the host
  // triple as --target; selecting both packages keeps dependency features identical), so that
  // only the binary itself is compiled.
  const target = hostTriple() ? ['--target', hostTriple()] : [];
  step('cargo', ['build', ...release, ...target, '-p', 'lkrtc', '-p', 'lkrtc-server', '--bin', 'lkrtc-server']);
  step(process.execPath, [join(ROOT, 'scripts', 'build-ts.mjs')]);
}

function hostTriple() {
  try {
    return execFileSync('rustc', ['-vV'], { encoding: 'utf8' }).match(/^host: (\S+)$/m)?.[1] ?? null;
  } catch {
    return null;
  }
}

/** The addon and server files cargo writes for `triple`, by platform. */
function cargoOutputs(triple) {
  const { platform } = parseTriple(triple);
  if (platform === 'win32') return { addon: 'lkrtc.dll', server: 'lkrtc-server.exe' };
  if (platform === 'darwin') return { addon: 'liblkrtc.dylib', server: 'lkrtc-server' };
  return { addon: 'liblkrtc.so', server: 'lkrtc-server' };
}

/**
 * The newest build of `file` for `triple`: `<triple>/<profile>/` (napi build, cross builds)
 * or, for the host, `<profile>/` (a plain cargo build); null when there is none.
 */
function artifact(triple, profile, host, file) {
  const dirs = [join(TARGET_DIR, triple, profile)];
  if (triple === host) dirs.push(join(TARGET_DIR, profile));
  const found = dirs.map((d) => join(d, file)).filter((f) => existsSync(f));
  found.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  return found[0] ?? null;
}

/** `npm pack` of `dir` into `out`; returns { file, size, unpackedSize }. */
function npmPack(dir, out) {
  const [info] = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--pack-destination', out], { cwd: dir, encoding: 'utf8' }),
  );
  console.log(`packed ${info.filename} ${info.size} ${info.unpackedSize}`);
  return { file: join(out, info.filename), size: info.size, unpackedSize: info.unpackedSize };
}

const opts = parseArgs(process.argv.slice(2));
if (opts.build) build(opts.profile);
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
for (const f of ['native.js', 'native.d.ts', 'dist/esm/index.js', 'dist/cjs/index.js']) {
  if (!existsSync(join(ROOT, f))) {
    console.error(`pack-all: ${f} is missing; run without --no-build (or npm run build && npm run build:ts)`);
    process.exit(1);
  }
}

mkdirSync(opts.out, { recursive: true });
const stage = join(opts.out, '.stage');
rmSync(stage, { recursive: true, force: true });
mkdirSync(stage, { recursive: true });
copyFileSync(join(ROOT, 'package.json'), join(stage, 'package.json'));
step(process.execPath, [NAPI, 'create-npm-dirs', '--cwd', stage, '--npm-dir', 'npm']);

const host = hostTriple();
const tarballs = [];
const skipped = [];
for (const triple of pkg.napi.targets) {
  const { platformArchABI } = parseTriple(triple);
  const { addon, server } = cargoOutputs(triple);
  const addonFile = artifact(triple, opts.profile, host, addon);
  const serverFile = artifact(triple, opts.profile, host, server);
  if (!addonFile || !serverFile) {
    skipped.push(platformArchABI);
    continue;
  }
  const dir = join(stage, 'npm', platformArchABI);
  const nodeFile = `${pkg.napi.binaryName}.${platformArchABI}.node`;
  console.log(`pack-all: ${platformArchABI}: ${addonFile}, ${serverFile}`);
  copyFileSync(addonFile, join(dir, nodeFile));
  copyFileSync(serverFile, join(dir, server));
  chmodSync(join(dir, server), 0o755);
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  manifest.files = [nodeFile, server];
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  tarballs.push({ package: manifest.name, ...npmPack(dir, opts.out) });
}

// The JS package: what `npm pack` of the repository would hold, plus optionalDependencies
// on every platform package (what `napi prepublish` adds when publishing).
const main = join(stage, pkg.name);
const [listing] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json'], { cwd: ROOT, encoding: 'utf8' }));
for (const { path } of listing.files) {
  mkdirSync(dirname(join(main, path)), { recursive: true });
  copyFileSync(join(ROOT, path), join(main, path));
}
const manifest = { ...pkg, optionalDependencies: {} };
for (const triple of pkg.napi.targets) {
  manifest.optionalDependencies[`${pkg.name}-${parseTriple(triple).platformArchABI}`] = pkg.version;
}
writeFileSync(join(main, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
tarballs.unshift({ package: pkg.name, ...npmPack(main, opts.out) });
rmSync(stage, { recursive: true, force: true });

if (skipped.length) console.log(`pack-all: not built on this machine (no binaries): ${skipped.join(', ')}`);
console.log(JSON.stringify({ profile: opts.profile, tarballs, skipped }));
