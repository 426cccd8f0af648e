// The API reference (`npm run docs:api`: typedoc over ts/src, typedoc.json) builds without a
// single warning: typedoc.json treats warnings as errors, and this test also refuses any
// warning line, so an undocumented or unexported type in the public API fails CI.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/paths.mjs';
import { run } from './pack.mjs';

const out = mkdtempSync(join(tmpdir(), 'lkrtc-api-docs-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

it('typedoc builds the API reference with no warning', () => {
  const r = run(process.execPath, [resolve(REPO_ROOT, 'node_modules/typedoc/bin/typedoc'), '--out', out], {
    cwd: REPO_ROOT,
    timeoutMs: 300_000,
  });
  const output = `${r.stdout}${r.stderr}`;
  expect(output).not.toMatch(/\[warning\]|\[error\]/);
  expect(r.status, output).toBe(0);
  expect(readdirSync(out)).toContain('index.html');
  expect(readdirSync(join(out, 'classes'))).toEqual(
    expect.arrayContaining(['Room.html', 'DevServer.html', 'LkError.html']),
  );
});
