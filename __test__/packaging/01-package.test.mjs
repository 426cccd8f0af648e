// The published packages, as an app sees them: `scripts/pack-all.mjs --debug` (lkrtc and
// lkrtc-<platform> from the debug build), install the tarballs into a fresh app in a temp
// folder (offline: lkrtc has no dependencies), then
//   - ESM: `import { <every name> } from 'lkrtc'` (a static named import fails to link if
//     one name is not detectable), and `import * as lk` lists them;
//   - CJS: `require('lkrtc')`;
//   - jest: a jest suite that requires lkrtc and connects a Room to an in-process DevServer.
// Each compares its runtime names with @livekit/rtc-node's and ends with liveHandles() at 0.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/paths.mjs';
import { installApp, packAll, run } from '../shipping/pack.mjs';

const require = createRequire(import.meta.url);
/** Every runtime export of the official package, by name. */
const OFFICIAL = Object.keys(require('@livekit/rtc-node')).sort();
/** lkrtc additions that must be there too. */
const LKRTC_EXTRAS = ['DevServer', 'LkError', 'ErrorCode', 'isLkError', 'liveHandles', 'version', 'RemoteTrack'];
const UNSUPPORTED = ['AudioFilter'];

let dir;
let app;

/** Runs a script inside the app; returns its last stdout line parsed as JSON. */
function runInApp(file, source) {
  writeFileSync(join(app, file), source);
  const r = run(process.execPath, [file], { cwd: app, timeoutMs: 60_000 });
  expect(r.status, `${file} failed:\n${r.stderr}`).toBe(0);
  expect(r.stderr, 'nothing on stderr (no warning, no panic)').not.toMatch(/panic|Error/);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

// The scenario every format runs: all names, unsupported classes, a connect/disconnect.
const SCENARIO = (names) => `
const official = ${JSON.stringify(names)};
const missing = official.filter((n) => lk[n] === undefined);
const unsupported = {};
for (const name of ${JSON.stringify(UNSUPPORTED)}) {
  try { new lk[name](); unsupported[name] = 'constructed'; } catch (e) { unsupported[name] = e instanceof lk.LkError ? e.code : String(e); }
}
const dev = await lk.DevServer.start();
const room = new lk.Room();
let connected = false;
room.on(lk.RoomEvent.ConnectionStateChanged, (s) => { if (s === lk.ConnectionState.CONN_CONNECTED) connected = true; });
await room.connect(dev.url, dev.createToken({ identity: 'smoke', room: 'smoke' }));
const sid = await room.getSid();
await room.disconnect();
await dev.close();
console.log(JSON.stringify({ names: Object.keys(lk).sort(), missing, unsupported, connected, sid, handles: lk.liveHandles() }));
`;

function expectScenario(out) {
  expect(out.missing, 'official names absent from lkrtc').toEqual([]);
  for (const name of [...OFFICIAL, ...LKRTC_EXTRAS]) expect(out.names, `runtime export ${name}`).toContain(name);
  for (const name of UNSUPPORTED) expect(out.unsupported[name], `new ${name}()`).toBe('ERR_UNSUPPORTED');
  expect(out.connected).toBe(true);
  expect(out.sid).toMatch(/^RM_/);
  expect(
    Object.values(out.handles).every((n) => n === 0),
    JSON.stringify(out.handles),
  ).toBe(true);
}

describe('the packed package', () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'lkrtc-pack-'));
    // The debug build npm test made, in the published layout: lkrtc + lkrtc-<platform>.
    const { tarballs } = packAll(dir, ['--debug', '--no-build']);
    const files = execFileSync('tar', ['-tzf', tarballs[0].file], { encoding: 'utf8' })
      .split('\n')
      .map((f) => f.replace(/^package\//, ''));
    expect(files).toContain('dist/esm/index.js');
    expect(files).toContain('dist/esm/index.d.ts');
    expect(files).toContain('dist/cjs/index.js');
    expect(files).toContain('dist/cjs/index.d.ts');
    expect(files.some((f) => f.startsWith('ts/') || f === 'index.d.ts' || f.endsWith('.node'))).toBe(false);
    app = installApp(dir, 'app', tarballs).app;
  }, 400_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('ESM: every official name imports by name from lkrtc, plus the lkrtc additions', () => {
    const named = OFFICIAL.join(', ');
    const out = runInApp(
      'esm.mjs',
      `import { ${named} } from 'lkrtc';\nimport * as lk from 'lkrtc';\nvoid [${named}];\n${SCENARIO(OFFICIAL)}`,
    );
    expectScenario(out);
    expect(out.names.length).toBeGreaterThanOrEqual(OFFICIAL.length);
  });

  it('CJS: require("lkrtc") has the same names as the ESM build', () => {
    const esm = runInApp(
      'names.mjs',
      `import * as lk from 'lkrtc';\nconsole.log(JSON.stringify(Object.keys(lk).sort()));`,
    );
    const out = runInApp(
      'cjs.cjs',
      `const lk = require('lkrtc');\n(async () => {\n${SCENARIO(OFFICIAL)}\n})().catch((e) => { console.error(e); process.exit(1); });`,
    );
    expectScenario(out);
    expect(out.names).toEqual(esm.filter((n) => n !== 'default'));
  });

  it('jest: a jest suite requires lkrtc and connects a Room to an in-process DevServer', () => {
    writeFileSync(
      join(app, 'connect.test.js'),
      `const lk = require('lkrtc');
test('connects and disconnects', async () => {
  const dev = await lk.DevServer.start();
  const room = new lk.Room();
  await room.connect(dev.url, dev.createToken({ identity: 'jest', room: 'jest' }));
  expect(room.isConnected).toBe(true);
  expect(room.localParticipant.identity).toBe('jest');
  expect(room).toBeInstanceOf(require('node:events').EventEmitter);
  await room.disconnect();
  await dev.close();
  expect(Object.values(lk.liveHandles()).every((n) => n === 0)).toBe(true);
}, 30000);
`,
    );
    const config = {
      rootDir: app,
      testMatch: ['<rootDir>/connect.test.js'],
      testEnvironment: require.resolve('jest-environment-node'),
      transform: {},
    };
    const r = run(
      process.execPath,
      [resolve(REPO_ROOT, 'node_modules/jest/bin/jest.js'), '--config', JSON.stringify(config), '--ci'],
      {
        cwd: app,
        timeoutMs: 120_000,
      },
    );
    expect(r.status, `jest failed:\n${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stderr).toMatch(/Tests:\s+1 passed, 1 total/);
  });
});
