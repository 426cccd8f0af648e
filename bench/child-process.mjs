// What the benchmarks that run each SDK in child processes share: forking a child with the
// right addon, waiting for its IPC messages, reading its CPU time and RSS from /proc.
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withTimeout } from '../__test__/helpers/rtc.mjs';

const TICKS = 100; // USER_HZ

/** The SDK a benchmark child runs: lkrtc from this checkout, or `@livekit/rtc-node`. */
export async function loadSdk(sdk) {
  if (sdk !== 'lkrtc') return import('@livekit/rtc-node');
  const root = resolve(fileURLToPath(import.meta.url), '../..');
  return createRequire(import.meta.url)(resolve(root, 'index.js'));
}

/** CPU seconds (user + system) process `pid` has used so far. */
export function cpuSeconds(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / TICKS;
}

/** Resident memory of process `pid`, in bytes. */
export function rssBytes(pid) {
  return Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]) * 1024;
}

/** Bytes received on every interface of this network namespace so far (/proc/net/dev). */
export function namespaceRxBytes() {
  return readFileSync('/proc/net/dev', 'utf8')
    .split('\n')
    .slice(2)
    .filter((line) => line.includes(':'))
    .reduce((sum, line) => sum + Number(line.split(':')[1].trim().split(/\s+/)[0]), 0);
}

/** The `p` quantile of `xs` (NaN when empty). */
export const quantile = (xs, p) =>
  xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))] : NaN;

/**
 * Forks `script` with `args` for `sdk` ('lkrtc' or 'official'). NAPI_RS_NATIVE_LIBRARY_PATH
 * is read by every napi-rs addon (the official one too), so the lkrtc addon to use is passed
 * as LKRTC_ADDON and set for lkrtc children only. Returns { proc, wait, seen, send, exited }:
 * wait(pred, what, ms) resolves the first message (past or future) that `pred` accepts,
 * seen(pred) returns it if it came already, send(msg) sends while the child is connected.
 */
export function forkChild(script, args, sdk, label) {
  const env = { ...process.env };
  delete env.NAPI_RS_NATIVE_LIBRARY_PATH;
  if (sdk === 'lkrtc' && process.env.LKRTC_ADDON) env.NAPI_RS_NATIVE_LIBRARY_PATH = process.env.LKRTC_ADDON;
  const proc = fork(script, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env });
  const waiters = [];
  const msgs = [];
  proc.on('message', (m) => {
    msgs.push(m);
    for (const w of [...waiters])
      if (w.pred(m)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.res(m);
      }
  });
  const exited = new Promise((res) => proc.on('exit', res));
  const wait = (pred, what, ms = 60_000) => {
    const hit = msgs.find(pred);
    if (hit) return Promise.resolve(hit);
    return withTimeout(new Promise((res) => waiters.push({ pred, res })), ms, `${label}: ${what}`);
  };
  const seen = (pred) => msgs.find(pred);
  // A child on its way out may have closed its end already: nothing to tell it then.
  const send = (msg) => proc.connected && proc.send(msg, () => {});
  return { proc, wait, seen, send, exited };
}

/** Waits up to 5 s for `child` (a forkChild result) to exit, then kills it. */
export async function reap(child) {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  const t = setTimeout(() => child.proc.kill('SIGKILL'), 5_000);
  await child.exited;
  clearTimeout(t);
}
