// Install with no Rust: the release tarballs (lkrtc + lkrtc-<platform>, stripped) install
// into a fresh app, with cargo and rustc removed from PATH, and run from there:
//   - an ESM app, a CommonJS app and a TypeScript app (compiled by the repository's tsc):
//     an in-process DevServer, two rooms exchanging data and an RPC, liveHandles() all 0;
//   - `npx lkrtc-server` (the prebuilt server through the bin shim): --help, a bad flag's
//     exit code, serving the ESM app, SIGTERM forwarded and a clean exit;
//   - the loader's errors: the platform package missing (named in the message, also by the
//     bin shim) and a native binary of another version than the JS package.
// It packs the release build when one exists (pack-all --no-build) and builds it otherwise
// (minutes); it prints how old the artifacts are, the tarball sizes and how long install took.
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { delimiter, join } from 'node:path';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, TARGET_DIR } from '../helpers/paths.mjs';
import { installApp, packAll, run } from './pack.mjs';

const require = createRequire(import.meta.url);
const { platformName, platformPackage } = require('../../platform.js');

/** Release folders pack-all looks in: `release/` and `<triple>/release/` (napi build's). */
const RELEASE_DIRS = [
  join(TARGET_DIR, 'release'),
  ...(existsSync(TARGET_DIR) ? readdirSync(TARGET_DIR).map((d) => join(TARGET_DIR, d, 'release')) : []),
];
/** The release addon and server files that exist. */
const RELEASE = ['liblkrtc.so', 'liblkrtc.dylib', 'lkrtc-server']
  .flatMap((f) => RELEASE_DIRS.map((d) => join(d, f)))
  .filter((f) => existsSync(f));
/** The platform package this machine installs, e.g. lkrtc-linux-x64-gnu. */
const PLATFORM_PACKAGE = platformPackage();
const ADDON = `lkrtc.${platformName()}.node`;
/** Pack what is built (the release workflow's test job sets it: binaries from the build job). */
const NO_BUILD = process.env.LKRTC_PACK_NO_BUILD === '1';

/** PATH without any folder that holds cargo or rustc (rustup's shims included). */
function pathWithoutRust() {
  return (process.env.PATH ?? '')
    .split(delimiter)
    .filter((d) => d && !['cargo', 'rustc', 'rustup'].some((bin) => existsSync(join(d, bin))))
    .join(delimiter);
}

const { CARGO_TARGET_DIR: _targetDir, RUSTUP_TOOLCHAIN: _toolchain, ...rest } = process.env;
/** The environment of everything the apps run: no Rust toolchain reachable, npm offline. */
const NO_RUST = { ...rest, PATH: pathWithoutRust(), npm_config_offline: 'true' };

let dir;
let app;

/**
 * The app every format runs: in-process DevServer (or SERVER_URL), data, RPC, zero handles.
 * Valid JavaScript and strict TypeScript (`localParticipant` is optional in the types, as in
 * @livekit/rtc-node's).
 */
const SCENARIO = `
const dev = await lk.DevServer.start();
const url = process.env.SERVER_URL ?? dev.url;
const alice = new lk.Room();
const bob = new lk.Room();
await alice.connect(url, dev.createToken({ identity: 'alice', room: 'no-rust' }));
await bob.connect(url, dev.createToken({ identity: 'bob', room: 'no-rust' }));
const got = new Promise((resolve) => bob.once(lk.RoomEvent.DataReceived, (payload) => resolve(new TextDecoder().decode(payload))));
await alice.localParticipant?.publishData(new TextEncoder().encode('hello'), { reliable: true });
const data = await got;
bob.localParticipant?.registerRpcMethod('echo', async ({ payload }) => payload + '!');
const rpc = await alice.localParticipant?.performRpc({ destinationIdentity: 'bob', method: 'echo', payload: 'ping' });
await alice.disconnect();
await bob.disconnect();
await dev.close();
console.log(JSON.stringify({ data, rpc, version: lk.version(), handles: lk.liveHandles() }));
`;

function runInApp(args, { env = NO_RUST, timeoutMs = 60_000 } = {}) {
  return run(process.execPath, args, { cwd: app, env, timeoutMs });
}

function expectScenario(r) {
  expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
  expect(r.stderr).not.toMatch(/panic|Error/);
  const out = JSON.parse(r.stdout.trim().split('\n').pop());
  expect(out.data).toBe('hello');
  expect(out.rpc).toBe('ping!');
  expect(out.version).toBe(JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version);
  expect(
    Object.values(out.handles).every((n) => n === 0),
    JSON.stringify(out.handles),
  ).toBe(true);
}

/** Starts node_modules/.bin/lkrtc-server with `args`; resolves { proc, url, exited }. */
async function startBin(args) {
  const proc = spawn(join(app, 'node_modules', '.bin', 'lkrtc-server'), args, {
    cwd: app,
    env: NO_RUST,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise((res) => proc.once('exit', (code, signal) => res({ code, signal })));
  const url = await new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error('lkrtc-server did not print its URL in 20 s')), 20_000);
    exited.then((s) => rej(new Error(`lkrtc-server exited before listening: ${JSON.stringify(s)}`)));
    createInterface({ input: proc.stdout }).on('line', (line) => {
      const m = /listening on (ws:\/\/\S+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        res(m[1]);
      }
    });
  });
  return { proc, url, exited };
}

describe('install from the release tarballs with no Rust toolchain', () => {
  beforeAll(() => {
    const which = run('sh', ['-c', 'command -v cargo || command -v rustc || echo none'], { env: NO_RUST });
    expect(which.stdout.trim(), 'cargo/rustc still on PATH').toBe('none');
    dir = mkdtempSync(join(tmpdir(), 'lkrtc-no-rust-'));
    const hasServer = RELEASE.some((f) => f.endsWith('lkrtc-server'));
    const reuse = NO_BUILD || (hasServer && RELEASE.length >= 2);
    if (reuse && RELEASE.length > 0) {
      const age = Math.round((Date.now() - Math.min(...RELEASE.map((f) => statSync(f).mtimeMs))) / 60_000);
      console.log(`no-rust: reusing the release build (${RELEASE.join(', ')}; oldest ${age} min old)`);
    } else if (reuse) console.log('no-rust: packing the binaries already built (LKRTC_PACK_NO_BUILD=1)');
    else console.log('no-rust: no release build: building it (several minutes)');
    const { tarballs } = packAll(dir, reuse ? ['--no-build'] : [], 3_600_000);
    for (const t of tarballs) {
      console.log(
        `no-rust: ${t.package}: ${(t.size / 1e6).toFixed(1)} MB packed, ${(t.unpackedSize / 1e6).toFixed(1)} MB unpacked`,
      );
    }
    let ms;
    ({ app, ms } = installApp(dir, 'app', tarballs, { env: NO_RUST }));
    console.log(`no-rust: npm install of the tarballs took ${(ms / 1000).toFixed(1)} s`);
  }, 3_700_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('installs the addon and the server in the platform package, nothing native in lkrtc', () => {
    const platform = join(app, 'node_modules', PLATFORM_PACKAGE);
    expect(existsSync(join(platform, ADDON))).toBe(true);
    expect(statSync(join(platform, 'lkrtc-server')).mode & 0o111, 'lkrtc-server is executable').not.toBe(0);
    const file = run('sh', [
      '-c',
      'command -v file >/dev/null && file "$0" "$1"',
      join(platform, ADDON),
      join(platform, 'lkrtc-server'),
    ]);
    if (file.status === 0) expect(file.stdout).not.toMatch(/not stripped/);
    expect(existsSync(join(app, 'node_modules', 'lkrtc', ADDON))).toBe(false);
  });

  it('an ESM app runs', () => {
    writeFileSync(join(app, 'esm.mjs'), `import * as lk from 'lkrtc';\n${SCENARIO}`);
    expectScenario(runInApp(['esm.mjs']));
  });

  it('a CommonJS app runs', () => {
    writeFileSync(
      join(app, 'cjs.cjs'),
      `const lk = require('lkrtc');\n(async () => {\n${SCENARIO}\n})().catch((e) => { console.error(e); process.exit(1); });`,
    );
    expectScenario(runInApp(['cjs.cjs']));
  });

  it('a TypeScript app compiles against the installed declarations and runs', () => {
    writeFileSync(
      join(app, 'app.mts'),
      `import * as lk from 'lkrtc';\nimport type { LiveHandles, RemoteParticipant } from 'lkrtc';\n` +
        `const typed: (p: RemoteParticipant) => string = (p) => p.identity;\nvoid typed;\n` +
        `const zero: LiveHandles = lk.liveHandles();\nvoid zero;\n${SCENARIO}`,
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'es2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          skipLibCheck: false,
          types: ['node'],
          typeRoots: [join(REPO_ROOT, 'node_modules', '@types')],
        },
        files: ['app.mts'],
      }),
    );
    const tsc = runInApp([join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.', '--pretty', 'false']);
    expect(`${tsc.stdout}${tsc.stderr}`).toBe('');
    expect(tsc.status).toBe(0);
    expectScenario(runInApp(['app.mjs']));
  });

  it('npx lkrtc-server runs the prebuilt server: --help, exit codes, serving, SIGTERM', async () => {
    const help = run('npx', ['lkrtc-server', '--help'], { cwd: app, env: NO_RUST });
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/usage: lkrtc-server .*--port/);
    const bad = run('npx', ['lkrtc-server', '--no-such-flag'], { cwd: app, env: NO_RUST });
    expect(bad.status, 'the server exit code, through the shim').toBe(2);
    expect(bad.stderr).toMatch(/unknown argument "--no-such-flag"/);

    const server = await startBin(['--port', '0', '--dev']);
    try {
      expectScenario(runInApp(['esm.mjs'], { env: { ...NO_RUST, SERVER_URL: server.url } }));
    } finally {
      server.proc.kill('SIGTERM');
    }
    expect(await server.exited, 'SIGTERM forwarded, clean shutdown').toEqual({ code: 0, signal: null });
  });

  it('names the missing platform package, and refuses a binary of another version', () => {
    const platform = join(app, 'node_modules', PLATFORM_PACKAGE);
    const moved = `${platform}.away`;
    renameSync(platform, moved);
    try {
      const load = runInApp([
        '-e',
        "try { require('lkrtc') } catch (e) { console.log(e.code); console.log(e.message) }",
      ]);
      expect(load.stdout).toMatch(/^ERR_LKRTC_BINDING_MISSING\n/);
      expect(load.stdout).toContain(`npm install ${PLATFORM_PACKAGE}@`);
      const bin = run('npx', ['lkrtc-server', '--help'], { cwd: app, env: NO_RUST });
      expect(bin.status).toBe(1);
      expect(bin.stderr).toContain(`the lkrtc-server program was not found: the platform package ${PLATFORM_PACKAGE}@`);
    } finally {
      renameSync(moved, platform);
    }

    const manifest = join(app, 'node_modules', 'lkrtc', 'package.json');
    const original = readFileSync(manifest, 'utf8');
    writeFileSync(manifest, JSON.stringify({ ...JSON.parse(original), version: '99.0.0' }));
    try {
      const load = runInApp([
        '-e',
        "try { require('lkrtc') } catch (e) { console.log(e.code); console.log(e.message) }",
      ]);
      expect(load.stdout).toMatch(/^ERR_LKRTC_BINDING_MISMATCH\n/);
      expect(load.stdout).toContain('the lkrtc package is 99.0.0');
    } finally {
      writeFileSync(manifest, original);
    }
  });
});
