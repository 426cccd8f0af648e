import { defineConfig } from 'vitest/config';

// Integration tests: real lkrtc-server child processes, real official clients
// (@livekit/rtc-node), real WebRTC. They must run inside the private network
// namespace made by scripts/netns.sh (npm test does that); the global setup
// refuses to run anywhere else.
export default defineConfig({
  test: {
    include: ['__test__/**/*.test.mjs'],
    globalSetup: ['__test__/helpers/global-setup.mjs'],
    setupFiles: ['__test__/helpers/setup.mjs'],
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
  },
});
