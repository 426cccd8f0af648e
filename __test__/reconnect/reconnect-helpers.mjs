// Helpers of the reconnection suites: an lkrtc-server child process on a fixed port that
// can be killed (-9), frozen (SIGSTOP) and started again on the same port, and small
// recorders of what a room went through.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { AccessToken } from 'livekit-server-sdk';
import { SERVER_BIN, TEST_LOG_DIR } from '../helpers/paths.mjs';
import { withTimeout } from '../helpers/rtc.mjs';

const LISTENING_RE = /listening on (ws:\/\/\S+)/;
let counter = 0;

/**
 * An lkrtc-server on 127.0.0.1:`port` (devkey:secret; `args` added to its command line).
 * `restart()` starts a new process on the same port once the old one is gone.
 */
export async function fixedPortServer(port, { name = 'reconnect', args: extra = [] } = {}) {
  const server = {
    url: `ws://127.0.0.1:${port}`,
    proc: null,
    exited: null,
    async start() {
      mkdirSync(TEST_LOG_DIR, { recursive: true });
      const log = createWriteStream(resolve(TEST_LOG_DIR, `${name}-${process.pid}-${++counter}.log`));
      const args = ['--port', String(port), '--bind', '127.0.0.1', '--keys', 'devkey:secret', ...extra];
      const env = { ...process.env, LKRTC_LOG: process.env.LKRTC_LOG ?? 'info', NO_COLOR: '1' };
      delete env.LIVEKIT_KEYS;
      const proc = spawn(SERVER_BIN, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
      this.proc = proc;
      this.exited = new Promise((res) => proc.once('exit', (code, signal) => res({ code, signal })));
      this.exited.then(() => log.end());
      await withTimeout(
        new Promise((res, rej) => {
          this.exited.then((e) => rej(new Error(`lkrtc-server exited before listening (${JSON.stringify(e)})`)));
          const onLine = (line) => {
            log.write(`${line}\n`);
            if (LISTENING_RE.test(line)) res();
          };
          createInterface({ input: proc.stdout }).on('line', onLine);
          createInterface({ input: proc.stderr }).on('line', onLine);
        }),
        20_000,
        'lkrtc-server to listen',
      );
    },
    /** kill -9, then wait for the exit. */
    async kill9() {
      if (this.proc === null) return;
      this.proc.kill('SIGKILL');
      await this.exited;
      this.proc = null;
    },
    async restart() {
      await this.kill9();
      // The port may take a moment to be free again.
      for (let i = 0; ; i++) {
        try {
          await this.start();
          return;
        } catch (e) {
          if (i >= 20) throw e;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    },
    freeze() {
      this.proc?.kill('SIGSTOP');
    },
    thaw() {
      this.proc?.kill('SIGCONT');
    },
    async stop() {
      if (this.proc === null) return;
      this.proc.kill('SIGCONT');
      this.proc.kill('SIGTERM');
      const t = setTimeout(() => this.proc?.kill('SIGKILL'), 5_000);
      await this.exited;
      clearTimeout(t);
      this.proc = null;
    },
    async token(identity, room) {
      const at = new AccessToken('devkey', 'secret', { identity, name: identity, ttl: '10m' });
      at.addGrant({ roomJoin: true, room, canPublish: true, canSubscribe: true, canPublishData: true });
      return await at.toJwt();
    },
  };
  await server.start();
  process.once('exit', () => server.proc?.kill('SIGKILL'));
  return server;
}

/** Records the reconnection events of `room` with their time. */
export function recordReconnects(room, RoomEvent) {
  const log = [];
  const t0 = Date.now();
  for (const ev of [RoomEvent.Reconnecting, RoomEvent.Reconnected, RoomEvent.Disconnected]) {
    room.on(ev, () => log.push({ ev, at: Date.now() - t0 }));
  }
  return log;
}

/** Collects numbered reliable packets (`topic`) a room receives, as numbers. */
export function collectNumbers(room, RoomEvent, topic) {
  const got = [];
  room.on(RoomEvent.DataReceived, (payload, _p, _kind, t) => {
    if (t === topic) got.push(Number(new TextDecoder().decode(payload)));
  });
  return got;
}

/** Whether `got` is exactly 0..n-1 in order (and where it first differs). */
export function firstMismatch(got, n) {
  for (let i = 0; i < Math.max(got.length, n); i++) if (got[i] !== i) return i;
  return -1;
}
