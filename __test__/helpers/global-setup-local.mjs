// Runs once before the `local` project's suites (lkrtc-only, any user, no namespace):
// refuses to run without the server binary the suites spawn.
import { existsSync } from 'node:fs';
import { SERVER_BIN } from './paths.mjs';

export function requireServerBinary() {
  if (!existsSync(SERVER_BIN)) {
    throw new Error(
      `lkrtc-server binary not found at ${SERVER_BIN}: run \`cargo build -p lkrtc-server\` first (npm test does).`,
    );
  }
}

export default function setup() {
  requireServerBinary();
}
