#!/usr/bin/env node
// CI check: every change to the shipped code carries a changeset.
//
//   node scripts/check-changeset.mjs [--base REF]
//
// Shipped code is the Rust addon and crates (`src/`, `crates/`), the TypeScript API (`ts/`)
// and the JavaScript files published at the package root (`index.js`, `loader.js`,
// `platform.js`, `bin/`). The change set checked is `merge-base(BASE, HEAD)..HEAD` plus
// the uncommitted changes, where BASE is, first found:
//   1. `--base REF` or the environment variable CHANGESET_BASE (CI sets it to the pull
//      request's target, e.g. `origin/main`);
//   2. `origin/main`, then `main`, when HEAD is not already contained in it (a branch).
// When there is no base, or HEAD is on main itself (a clean clone of main, a push to main),
// only the uncommitted changes are checked (none in CI): changesets are required on the
// branch that brings a change, and main only gets merged branches.
//
// Every `.changeset/*.md` (but README.md) must also name the package `lkrtc` with a bump
// of patch, minor or major and carry a summary, whatever the base.
// Exit status: 0 when the check passes, 1 when it fails (with the reason), 2 on bad usage.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(process.env.LKRTC_CHANGESET_ROOT ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
const SHIPPED = [/^src\//, /^crates\//, /^ts\//, /^bin\//, /^(index|loader|platform)\.js$/];
const CHANGESET = /^\.changeset\/(?!README\.md$)[^/]+\.md$/;
const FRONTMATTER = /^---\r?\n((?:.*\r?\n)*?)---\r?\n([\s\S]*)$/;
const BUMP = /^\s*["']?lkrtc["']?\s*:\s*(patch|minor|major)\s*$/;

function git(...args) {
  return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
}

function tryGit(...args) {
  try {
    return git(...args);
  } catch {
    return null;
  }
}

function parseArgs(argv) {
  let base = process.env.CHANGESET_BASE || null;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--base' && argv[i + 1]) base = argv[++i];
    else if (argv[i].startsWith('--base=')) base = argv[i].slice('--base='.length);
    else {
      console.error(`check-changeset: unknown argument ${argv[i]}\nusage: check-changeset.mjs [--base REF]`);
      process.exit(2);
    }
  }
  return base;
}

/** The base to compare with, or null when HEAD is on main / no main is known. */
function findBase(explicit) {
  if (explicit) {
    if (tryGit('rev-parse', '--verify', '--quiet', `${explicit}^{commit}`) === null) {
      console.error(`check-changeset: base ${explicit} is not a commit in this repository`);
      process.exit(2);
    }
    return explicit;
  }
  for (const ref of ['origin/main', 'main']) {
    if (tryGit('rev-parse', '--verify', '--quiet', `${ref}^{commit}`) === null) continue;
    const contained = tryGit('merge-base', '--is-ancestor', 'HEAD', ref) !== null;
    return contained ? null : ref;
  }
  return null;
}

/** Problems with the changeset files present in the working tree. */
function invalidChangesets() {
  const problems = [];
  let names = [];
  try {
    names = readdirSync(join(ROOT, '.changeset')).filter((n) => n.endsWith('.md') && n !== 'README.md');
  } catch {
    return problems;
  }
  for (const name of names) {
    const text = readFileSync(join(ROOT, '.changeset', name), 'utf8');
    const m = FRONTMATTER.exec(text);
    const bumps = m ? m[1].split(/\r?\n/).filter((l) => l.trim() !== '') : [];
    if (!m || bumps.length === 0 || !bumps.every((l) => BUMP.test(l))) {
      problems.push(`.changeset/${name}: front matter must be \`"lkrtc": patch|minor|major\` between --- lines`);
    } else if (m[2].trim() === '') {
      problems.push(`.changeset/${name}: no summary after the front matter`);
    }
  }
  return problems;
}

function changedFiles(base) {
  const mergeBase = git('merge-base', base, 'HEAD');
  const committed = git('diff', '--name-only', '--diff-filter=ACMRD', `${mergeBase}..HEAD`);
  const uncommitted = git('status', '--porcelain', '--untracked-files=all');
  const files = new Set(committed.split('\n').filter(Boolean));
  for (const line of uncommitted.split('\n').filter(Boolean)) {
    const path = line.slice(3);
    files.add(path.includes(' -> ') ? path.split(' -> ')[1] : path);
  }
  return { mergeBase, files: [...files].sort() };
}

const base = findBase(parseArgs(process.argv.slice(2)));
const problems = invalidChangesets();
const { mergeBase, files } = changedFiles(base ?? 'HEAD');
const shipped = files.filter((f) => SHIPPED.some((re) => re.test(f)));
const added = git('diff', '--name-only', '--diff-filter=A', `${mergeBase}..HEAD`).split('\n');
const untracked = git('ls-files', '--others', '--exclude-standard', '.changeset').split('\n');
const changesets = [...added, ...untracked].filter((f) => CHANGESET.test(f));
const range =
  base === null
    ? 'uncommitted changes (HEAD is on main, or no main branch is known)'
    : `${base} (merge base ${mergeBase.slice(0, 7)})..HEAD`;
if (shipped.length > 0 && changesets.length === 0) {
  problems.push(
    `${range}: shipped code changed but no .changeset/*.md was added:\n` +
      shipped.map((f) => `    ${f}`).join('\n') +
      '\n  run `npx changeset` (or add .changeset/<name>.md with `"lkrtc": patch`) and commit it',
  );
} else {
  console.log(
    `check-changeset: ${range}: ${shipped.length} shipped file(s) changed, ${changesets.length} changeset(s) added`,
  );
}
if (problems.length > 0) {
  for (const p of problems) console.error(`check-changeset: ${p}`);
  process.exit(1);
}
console.log('check-changeset: ok');
