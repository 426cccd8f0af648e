#!/usr/bin/env node
// Structure gate (run by `npm test` with the linters): in every Rust crate, the
// top-level modules must form a DAG (a module may use `crate::x` only if `x` does not,
// directly or through others, use it back), and no source file may pass 800 lines.
// Exit status 1 with one line per problem.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MAX_LINES = 800;
const problems = [];

function rustFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return rustFiles(path);
    return name.endsWith('.rs') ? [path] : [];
  });
}

/** The top-level module a file of `src` belongs to (`lib`/`main` for the roots). */
function topModule(src, file) {
  const rel = relative(src, file).replace(/\.rs$/, '');
  return rel.split('/')[0];
}

function findCycle(graph) {
  const state = new Map(); // 1 visiting, 2 done
  const stack = [];
  const visit = (node) => {
    state.set(node, 1);
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 1) return [...stack.slice(stack.indexOf(next)), next];
      if (!state.has(next)) {
        const found = visit(next);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(node, 2);
    return null;
  };
  for (const node of graph.keys()) {
    if (!state.has(node)) {
      const found = visit(node);
      if (found) return found;
    }
  }
  return null;
}

const crates = [join(ROOT, 'src'), ...readdirSync(join(ROOT, 'crates')).map((c) => join(ROOT, 'crates', c, 'src'))];
for (const src of crates) {
  let files;
  try {
    files = rustFiles(src);
  } catch {
    continue;
  }
  const graph = new Map();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const lines = text.split('\n').length;
    if (lines > MAX_LINES) problems.push(`${relative(ROOT, file)}: ${lines} lines (at most ${MAX_LINES})`);
    const from = topModule(src, file);
    if (from === 'lib' || from === 'main') continue;
    // Test files (`tests.rs`, `*_tests.rs`) may reach anywhere: they are not part of the layering.
    if (/(^|_)tests\.rs$/.test(file.split('/').pop())) continue;
    // Test modules may reach anywhere; they are not part of the layering.
    const code = text.replace(/#\[cfg\(test\)\]\s*mod tests \{[\s\S]*$/m, '');
    const deps = graph.get(from) ?? new Set();
    for (const m of code.matchAll(/crate::([a-z_][a-z0-9_]*)/g)) {
      if (m[1] !== from) deps.add(m[1]);
    }
    graph.set(from, deps);
  }
  for (const [node, deps] of graph)
    graph.set(
      node,
      [...deps].filter((d) => graph.has(d)),
    );
  const cycle = findCycle(graph);
  if (cycle) problems.push(`${relative(ROOT, src)}: module cycle ${cycle.join(' -> ')}`);
}

if (problems.length) {
  for (const p of problems) console.error(p);
  process.exit(1);
}
console.log('structure: module graphs are acyclic, no file over 800 lines');
