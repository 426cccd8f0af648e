// What sdk-publish.mjs and sdk-subscribe.mjs share: command-line options, forking one side
// (bench/video/sdk-child.mjs) and asking it how far it got.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { delay } from '../../__test__/helpers/rtc.mjs';
import { forkChild } from '../child-process.mjs';

const CHILD = resolve(dirname(fileURLToPath(import.meta.url)), 'sdk-child.mjs');

/** The value of `--name` on the command line, or `dflt`. */
export const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};

/** `x` with `d` decimals, '-' when not a finite number. */
export const fmt = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');

/** Forks one side: `opts` as sdk-child.mjs takes them, joining `room` as `role`. */
export async function spawnSide(server, sdk, role, room, opts) {
  const token = await server.token(role, room);
  return forkChild(CHILD, [JSON.stringify({ sdk, role, url: server.url, token, ...opts })], sdk, `${sdk} ${role}`);
}

let requests = 0;
/** What a side reports on request (sdk-child.mjs `status`). */
export async function statusOf(child) {
  const id = ++requests;
  child.send({ status: id });
  const gone = child.exited.then(() => {
    throw new Error(`${child.proc.pid} exited`);
  });
  return (await Promise.race([child.wait((m) => m.id === id, 'status'), gone])).status;
}

/**
 * Polls subscriber `child` until it gets `size` frames on `tracks` tracks, at most
 * `timeoutS` seconds, or until it reports { unsupported }. Resolves a description of the
 * ramp, or { unsupported: message }.
 */
export async function waitForSize(child, tracks, size, timeoutS) {
  const t = performance.now();
  for (;;) {
    const s = await statusOf(child).catch((e) => ({ error: e }));
    const unsupported = child.seen((m) => m.unsupported);
    if (unsupported) return { unsupported: unsupported.message };
    if (s.error) throw s.error;
    const sizes = s.tracks.map((tr) => tr.size);
    const secs = ((performance.now() - t) / 1000).toFixed(1);
    if (sizes.length === tracks && sizes.every((z) => z === size)) return { ramp: `${size} after ${secs} s` };
    if (performance.now() - t > timeoutS * 1000) {
      return { ramp: `still ${sizes.join(',') || 'no frames'} after ${timeoutS} s` };
    }
    await delay(500);
  }
}

/** Total frames a subscriber's status counts. */
export const framesOf = (status) => status.tracks.reduce((a, tr) => a + tr.frames, 0);

/** The distinct frame sizes a subscriber's status shows. */
export const sizesOf = (status) => [...new Set(status.tracks.map((tr) => tr.size))].join(',');
