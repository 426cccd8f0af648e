import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Cargo's target directory (honours CARGO_TARGET_DIR, like cargo itself). */
export const TARGET_DIR = resolve(REPO_ROOT, process.env.CARGO_TARGET_DIR ?? 'target');
/** The dev build of the server that the tests spawn (override with LKRTC_SERVER_BIN). */
export const SERVER_BIN = process.env.LKRTC_SERVER_BIN ?? resolve(TARGET_DIR, 'debug', 'lkrtc-server');
export const TEST_LOG_DIR = resolve(TARGET_DIR, 'test-logs');
