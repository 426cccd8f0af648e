import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';
import { ALL_SUITES, NAMESPACE_SUITES as BASE_NAMESPACE_SUITES } from './__test__/helpers/suites.mjs';

// Reconnection suites drive the official client too (issue 12).
const NAMESPACE_SUITES = [...BASE_NAMESPACE_SUITES, '__test__/reconnect/**/*.test.mjs'];

// Integration tests: real lkrtc-server child processes, real WebRTC, in two projects
// (`vitest run --project namespace|local`; npm test runs both):
//   namespace  suites that drive the official client (@livekit/rtc-node, libwebrtc). They
//              must run inside the private network namespace made by scripts/netns.sh
//              (root on Linux); their global setup refuses to run anywhere else.
//   local      lkrtc-only suites: 127.0.0.1 only, any user, no namespace needed. The
//              official client is unavailable there (see __test__/helpers/suites.mjs).
export default defineConfig({
  test: {
    // One test file at a time (2 cores, timing-sensitive media tests), each in
    // its own process so the official client's native runtime is disposed
    // between files.
    pool: 'forks',
    fileParallelism: false,
    maxWorkers: 1,
    isolate: true,
    // Network tests: generous, but every wait inside the tests has its own,
    // tighter timeout that produces a precise message.
    testTimeout: 120_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    retry: 0,
    projects: [
      {
        extends: true,
        test: {
          name: 'namespace',
          include: NAMESPACE_SUITES,
          globalSetup: ['__test__/helpers/global-setup.mjs'],
          setupFiles: ['__test__/helpers/setup.mjs'],
        },
      },
      {
        extends: true,
        resolve: {
          alias: {
            '@livekit/rtc-node': fileURLToPath(new URL('./__test__/helpers/official-unavailable.mjs', import.meta.url)),
          },
        },
        test: {
          name: 'local',
          include: ALL_SUITES,
          exclude: [...configDefaults.exclude, ...NAMESPACE_SUITES],
          globalSetup: ['__test__/helpers/global-setup-local.mjs'],
          setupFiles: ['__test__/helpers/setup-local.mjs'],
        },
      },
    ],
  },
});
