// Per test file setup (runs inside each worker process).
import { dispose } from '@livekit/rtc-node';
import { afterAll } from 'vitest';
import { killAllServers } from './server.mjs';

afterAll(async () => {
  await killAllServers();
  // The official client keeps native threads alive until its global dispose();
  // each test file runs in its own process, so dispose once at the very end.
  await dispose();
});
