#!/usr/bin/env node
// `npm test`: the whole test suite, with one closing line `N passed, M failed`.
//
//   1. cargo build -p lkrtc-server          (dev build; the binary the JS tests spawn)
//   2. napi build (dev)                       (the addon: native.js / native.d.ts / .node)
//   3. build:ts (tsc -> dist/esm, dist/cjs)   (the public API, so index.js loads)
//   4. lint (eslint + typescript-eslint), structure (scripts/check-structure.mjs: module
//      cycles, files over 800 lines) and format (prettier --check); each failing check
//      counts as one failure
//   5. cargo test --workspace                 (Rust unit + integration tests)
//   6. vitest, two projects (vitest.config.mjs, __test__/helpers/suites.mjs):
//        --project local                      lkrtc-only suites (packaging, shipping,
//                                              examples, jest and type tests...) as the
//                                              current user, any user
//        --project namespace, inside          suites that drive the official client; without
//          scripts/netns.sh                   root each of them counts as not run, is listed
//                                              by name, and the run fails
//   7. scripts/fuzz.sh                         (every fuzz target for LKRTC_FUZZ_SECONDS,
//                                              default 60 s each; a passing target counts as
//                                              one pass, a crashing one as one failure)
//
// Counts come from cargo's `test result:` lines and vitest's JSON report. A step
// that errors without producing counts (build failure, crash, missing report)
// counts as one failure, so the closing line never reports success by omission.
// Exit status: 0 only if every step ran and nothing failed.
//
// Extra arguments are passed to vitest (e.g. `npm test -- __test__/01-join.test.mjs`).
// LKRTC_SKIP_CARGO_TEST=1 skips step 5, LKRTC_FUZZ_SECONDS=0 skips step 7 (for quick
// local iterations only).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Where the vitest JSON reports (vitest-<project>.json) and server logs go. */
const RESULTS_DIR = resolve(ROOT, process.env.CARGO_TARGET_DIR ?? 'target');
const vitestArgs = process.argv.slice(2);
/** What prettier formats (`npm run format` writes, `npm test` checks). */
const FORMATTED = ['ts', '__test__', 'scripts', 'bench', 'examples', '*.mjs', '*.js'];

let passed = 0;
let failed = 0;
const problems = [];

function banner(text) {
  console.log(`\n==> ${text}`);
}

/** Runs a command with live output; resolves { code, signal, output } (output only if capture). */
function run(cmd, args, { capture = false, quiet = false, env } = {}) {
  return new Promise((res) => {
    const child = spawn(cmd, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: capture ? ['ignore', 'pipe', 'pipe'] : 'inherit',
    });
    let output = '';
    if (capture) {
      child.stdout.on('data', (d) => {
        output += d;
        if (!quiet) process.stdout.write(d);
      });
      child.stderr.on('data', (d) => {
        output += d;
        if (!quiet) process.stderr.write(d);
      });
    }
    child.on('error', (err) => res({ code: null, signal: null, output, error: err }));
    child.on('close', (code, signal) => res({ code, signal, output }));
  });
}

function stepError(step, detail) {
  problems.push(`${step}: ${detail}`);
  failed += 1;
}

function describeExit(r) {
  if (r.error) return `could not start (${r.error.message})`;
  return r.signal ? `killed by ${r.signal}` : `exit code ${r.code}`;
}

async function cargoBuildServer() {
  banner('cargo build -p lkrtc-server');
  const r = await run('cargo', ['build', '-p', 'lkrtc-server']);
  if (r.code !== 0) {
    stepError('cargo build -p lkrtc-server', describeExit(r));
    return false;
  }
  return true;
}

async function napiBuild() {
  banner('napi build --platform (debug addon)');
  const r = await run(process.execPath, [
    resolve(ROOT, 'node_modules', '@napi-rs', 'cli', 'dist', 'cli.js'),
    'build',
    '--platform',
    '--js',
    'native.js',
    '--dts',
    'native.d.ts',
  ]);
  if (r.code !== 0) stepError('napi build', describeExit(r));
}

async function buildTs() {
  banner('build:ts (tsc: dist/esm + dist/cjs)');
  const r = await run(process.execPath, [resolve(ROOT, 'scripts', 'build-ts.mjs')]);
  if (r.code !== 0) {
    stepError('build:ts', describeExit(r));
    return false;
  }
  return true;
}

async function lint() {
  banner('lint (eslint)');
  const r = await run(process.execPath, [resolve(ROOT, 'node_modules', 'eslint', 'bin', 'eslint.js'), '.']);
  if (r.code !== 0) stepError('lint', describeExit(r));
  else passed += 1;
  banner('structure (module cycles, file sizes)');
  const c = await run(process.execPath, [resolve(ROOT, 'scripts', 'check-structure.mjs')]);
  if (c.code !== 0) stepError('structure', describeExit(c));
  else passed += 1;
  banner('format (prettier --check)');
  const f = await run(process.execPath, [
    resolve(ROOT, 'node_modules', 'prettier', 'bin', 'prettier.cjs'),
    '--check',
    ...FORMATTED,
  ]);
  if (f.code !== 0) stepError('format', `${describeExit(f)} (run \`npm run format\`)`);
  else passed += 1;
}

async function cargoTest() {
  if (process.env.LKRTC_SKIP_CARGO_TEST === '1') {
    banner('cargo test --workspace: SKIPPED (LKRTC_SKIP_CARGO_TEST=1)');
    problems.push('cargo test skipped by LKRTC_SKIP_CARGO_TEST=1');
    return;
  }
  banner('cargo test --workspace');
  const r = await run('cargo', ['test', '--workspace'], { capture: true });
  const re = /^test result: (ok|FAILED)\. (\d+) passed; (\d+) failed;/gm;
  let m;
  let p = 0;
  let f = 0;
  let lines = 0;
  while ((m = re.exec(r.output))) {
    p += Number(m[2]);
    f += Number(m[3]);
    lines++;
  }
  passed += p;
  failed += f;
  console.log(`\ncargo test: ${p} passed, ${f} failed (${lines} test binaries)`);
  if (r.code !== 0 && f === 0) stepError('cargo test --workspace', `${describeExit(r)} with no failed test counted`);
  else if (r.code === 0 && lines === 0) problems.push('cargo test printed no `test result:` line');
}

/**
 * Runs one vitest project; returns { report, result }. report is null when none was written
 * or it is unreadable (then `error` says why).
 */
async function vitestProject(project, { netns }) {
  const results = resolve(RESULTS_DIR, `vitest-${project}.json`);
  rmSync(results, { force: true });
  const vitestCmd = [
    process.execPath,
    resolve(ROOT, 'node_modules', 'vitest', 'vitest.mjs'),
    'run',
    '--project',
    project,
    '--passWithNoTests',
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${results}`,
    ...vitestArgs,
  ];
  const r = netns
    ? await run('sh', [resolve(ROOT, 'scripts', 'netns.sh'), ...vitestCmd])
    : await run(vitestCmd[0], vitestCmd.slice(1));
  if (!existsSync(results))
    return { report: null, result: r, error: `${describeExit(r)} and no JSON report was written` };
  try {
    return { report: JSON.parse(readFileSync(results, 'utf8')), result: r };
  } catch (e) {
    return { report: null, result: r, error: `unreadable JSON report (${e.message})` };
  }
}

/** The suites of a vitest project (with the extra arguments' filters), relative to the root. */
async function projectSuites(project) {
  const r = await run(
    process.execPath,
    [resolve(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'list', '--project', project, '--filesOnly', ...vitestArgs],
    { capture: true, quiet: true },
  );
  return r.output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.endsWith('.test.mjs'))
    .map((l) => l.replace(/^\[[^\]]*\]\s*/, '').replace(`${ROOT}/`, ''));
}

/** Adds one project's report to the totals; returns the number of tests it ran. */
function countReport(project, report, r) {
  const p = report.numPassedTests ?? 0;
  let f = report.numFailedTests ?? 0;
  const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  // A file that failed to load or whose hooks failed has no failed test in it.
  const brokenFiles = (report.testResults ?? []).filter(
    (file) => file.status === 'failed' && !(file.assertionResults ?? []).some((t) => t.status === 'failed'),
  );
  for (const file of brokenFiles) {
    problems.push(`vitest: ${file.name} failed outside any test: ${(file.message ?? '').split('\n')[0]}`);
  }
  f += brokenFiles.length;
  passed += p;
  failed += f;
  console.log(`\nvitest --project ${project}: ${p} passed, ${f} failed${skipped ? `, ${skipped} skipped` : ''}`);
  if (skipped) problems.push(`vitest --project ${project} skipped ${skipped} test(s)`);
  if (r.code !== 0 && f === 0)
    stepError(`vitest --project ${project}`, `${describeExit(r)} with no failed test counted`);
  return p + f;
}

async function vitest() {
  mkdirSync(RESULTS_DIR, { recursive: true });
  // Server logs of this run only (written by __test__/helpers/server.mjs).
  rmSync(resolve(RESULTS_DIR, 'test-logs'), { recursive: true, force: true });
  let ran = 0;

  banner('vitest --project local (lkrtc-only suites, no namespace)');
  const local = await vitestProject('local', { netns: false });
  if (local.report) ran += countReport('local', local.report, local.result);
  else stepError('vitest --project local', local.error);

  banner('vitest --project namespace (official-client suites, inside scripts/netns.sh)');
  const ns = await vitestProject('namespace', { netns: true });
  const notRun = !ns.report && ns.result.code === 97;
  if (ns.report) ran += countReport('namespace', ns.report, ns.result);
  else if (notRun) {
    // netns.sh printed why (not root, no unshare/ip...): every suite of the project is unrun.
    const suites = await projectSuites('namespace');
    failed += suites.length;
    if (suites.length > 0) {
      problems.push(
        `vitest --project namespace NOT RUN (no network namespace: see the netns.sh message above); ` +
          `${suites.length} suite(s) could not run, each counted as a failure:\n` +
          suites.map((s) => `        ${s}`).join('\n'),
      );
    }
  } else stepError('vitest --project namespace', ns.error);
  if (ran === 0 && !notRun) stepError('vitest', 'ran no test');
}

async function fuzz() {
  const secs = process.env.LKRTC_FUZZ_SECONDS ?? '60';
  if (secs === '0') {
    banner('scripts/fuzz.sh: SKIPPED (LKRTC_FUZZ_SECONDS=0)');
    problems.push('fuzzing skipped by LKRTC_FUZZ_SECONDS=0');
    return;
  }
  banner(`scripts/fuzz.sh ${secs}`);
  const r = await run('bash', [resolve(ROOT, 'scripts', 'fuzz.sh'), secs], { capture: true });
  const re = /^fuzz (\S+): (ok|CRASH)/gm;
  let m;
  let p = 0;
  let f = 0;
  while ((m = re.exec(r.output))) {
    if (m[2] === 'ok') p++;
    else {
      f++;
      problems.push(`fuzz target ${m[1]} crashed (input in fuzz/artifacts/${m[1]}/)`);
    }
  }
  passed += p;
  failed += f;
  console.log(`\nfuzz: ${p} targets clean, ${f} crashed`);
  if (r.code !== 0 && f === 0) stepError('scripts/fuzz.sh', `${describeExit(r)} with no crashing target counted`);
  if (p + f === 0 && r.code === 0) stepError('scripts/fuzz.sh', 'ran no target');
}

async function main() {
  const built = await cargoBuildServer();
  await napiBuild();
  const tsBuilt = await buildTs();
  await lint();
  await cargoTest();
  if (built && tsBuilt) await vitest();
  else problems.push('vitest not run: the server or the TypeScript API did not build');
  await fuzz();

  console.log('');
  for (const p of problems) console.log(`note: ${p}`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed > 0 ? 1 : 0;
}

main().catch((e) => {
  console.error(e);
  console.log(`${passed} passed, ${failed + 1} failed`);
  process.exitCode = 1;
});
