// Per test file setup of the `local` project (lkrtc-only suites, no official client).
import { afterAll } from 'vitest';
import { killAllServers } from './server.mjs';

afterAll(async () => {
  await killAllServers();
});
