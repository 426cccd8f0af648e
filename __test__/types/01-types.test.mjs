// Type test: __test__/types/app.ts, a strict app written against @livekit/rtc-node's API
// (rooms, every RoomEvent with its callback signature, participants, publications, audio,
// mixing, data, RPC, streams, enums), must compile with 0 errors against the official
// declarations AND against lkrtc's generated ones (dist/esm/index.d.ts). negative.ts (a
// wrong listener signature) must fail against lkrtc, which proves that the mapping reaches
// lkrtc's declarations and that `room.on` is typed per event.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/paths.mjs';

const TSC = resolve(REPO_ROOT, 'node_modules/typescript/bin/tsc');

function tsc(config) {
  const r = spawnSync(
    process.execPath,
    [TSC, '-p', resolve(REPO_ROOT, '__test__/types', config), '--pretty', 'false'],
    {
      encoding: 'utf8',
      timeout: 120_000,
    },
  );
  if (r.error) throw r.error;
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('types', () => {
  it('the fixture app compiles against @livekit/rtc-node', () => {
    const r = tsc('tsconfig.official.json');
    expect(r.output).toBe('');
    expect(r.status).toBe(0);
  });

  it('the same app compiles against lkrtc', () => {
    const r = tsc('tsconfig.lkrtc.json');
    expect(r.output).toBe('');
    expect(r.status).toBe(0);
  });

  it('a wrong listener signature does not compile against lkrtc', () => {
    const r = tsc('tsconfig.negative.json');
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/negative\.ts\(6,/);
  });
});
