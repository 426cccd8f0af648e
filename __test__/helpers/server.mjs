// Starts a real lkrtc-server child process for a test file.
//
//   const server = await startServer();            // devkey:secret
//   const jwt = await server.token('alice', 'room-1', { canPublish: false });
//   await room.connect(server.url, jwt);
//   await server.listRooms();                      // Twirp RoomService
//   await server.kill();
//
// The full server output is kept in target/test-logs/<name>.log and the last
// lines are available from server.logTail() for failure messages.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { AccessToken, RoomServiceClient } from 'livekit-server-sdk';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { SERVER_BIN, TEST_LOG_DIR } from './paths.mjs';
import { Scope } from './rtc.mjs';

const LISTENING_RE = /listening on (ws:\/\/\S+)/;
const running = new Set();
let counter = 0;

function parseKeys(keys) {
  if (keys == null) return [['devkey', 'secret']];
  if (typeof keys === 'string') {
    return keys.split(',').map((pair) => {
      const i = pair.indexOf(':');
      if (i <= 0) throw new Error(`bad key pair ${JSON.stringify(pair)}`);
      return [pair.slice(0, i), pair.slice(i + 1)];
    });
  }
  if (Array.isArray(keys)) return keys;
  return Object.entries(keys);
}

/**
 * @param {object} [opts]
 * @param {string|Record<string,string>|Array<[string,string]>} [opts.keys] API key pairs, default devkey:secret
 * @param {string} [opts.bind] bind address, default 127.0.0.1
 * @param {string[]} [opts.args] extra CLI arguments
 * @param {Record<string,string>} [opts.env] extra environment
 * @param {number} [opts.timeoutMs] how long to wait for the listening line
 * @param {string} [opts.name] log file name
 */
export async function startServer(opts = {}) {
  const pairs = parseKeys(opts.keys);
  const [apiKey, apiSecret] = pairs[0];
  const bind = opts.bind ?? '127.0.0.1';
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const args = [
    '--port',
    '0',
    '--bind',
    bind,
    '--keys',
    pairs.map(([k, s]) => `${k}:${s}`).join(','),
    ...(opts.args ?? []),
  ];
  const env = { ...process.env, LKRTC_LOG: process.env.LKRTC_LOG ?? 'info', NO_COLOR: '1', ...(opts.env ?? {}) };
  delete env.LIVEKIT_KEYS;

  mkdirSync(TEST_LOG_DIR, { recursive: true });
  const name = `${opts.name ?? 'server'}-${process.pid}-${++counter}`;
  const logPath = resolve(TEST_LOG_DIR, `${name}.log`);
  const logFile = createWriteStream(logPath);
  const tail = [];
  const remember = (stream, line) => {
    logFile.write(`[${stream}] ${line}\n`);
    tail.push(`[${stream}] ${line}`);
    if (tail.length > 200) tail.shift();
  };

  const proc = spawn(SERVER_BIN, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((res) => proc.once('exit', (code, signal) => res({ code, signal })));
  let exitInfo = null;
  exited.then((info) => {
    exitInfo = info;
    running.delete(server);
  });

  const url = await new Promise((res, rej) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      rej(
        new Error(
          `lkrtc-server did not print "listening on ws://..." within ${timeoutMs} ms\n` + tail.slice(-40).join('\n'),
        ),
      );
    }, timeoutMs);
    proc.once('error', (err) => {
      clearTimeout(timer);
      rej(new Error(`cannot spawn ${SERVER_BIN}: ${err.message}`));
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      rej(
        new Error(
          `lkrtc-server exited before listening (code ${code}, signal ${signal})\n` + tail.slice(-40).join('\n'),
        ),
      );
    });
    const onLine = (stream) => (line) => {
      remember(stream, line);
      const m = LISTENING_RE.exec(line);
      if (m) {
        clearTimeout(timer);
        res(m[1]);
      }
    };
    createInterface({ input: proc.stdout }).on('line', onLine('out'));
    createInterface({ input: proc.stderr }).on('line', onLine('err'));
  });

  const httpUrl = url.replace(/^ws/, 'http');
  const roomService = new RoomServiceClient(httpUrl, apiKey, apiSecret);

  const server = {
    url,
    httpUrl,
    apiKey,
    apiSecret,
    proc,
    logPath,
    /** Last lines the server printed (stdout and stderr). */
    logTail: (n = 60) => tail.slice(-n).join('\n'),
    /** Exit status once the server has exited, else null. */
    exitInfo: () => exitInfo,
    /**
     * A signed access token. `grants` are merged over
     * { roomJoin: true, room, canPublish: true, canSubscribe: true, canPublishData: true };
     * a grant set to `undefined` is removed from the token.
     */
    async token(identity, room, grants = {}, tokenOpts = {}) {
      const at = new AccessToken(tokenOpts.apiKey ?? apiKey, tokenOpts.apiSecret ?? apiSecret, {
        identity,
        name: tokenOpts.name ?? identity,
        ttl: tokenOpts.ttl ?? '10m',
        metadata: tokenOpts.metadata,
      });
      const video = {
        roomJoin: true,
        room,
        canPublish: true,
        canSubscribe: true,
        canPublishData: true,
        ...grants,
      };
      for (const k of Object.keys(video)) if (video[k] === undefined) delete video[k];
      at.addGrant(video);
      return await at.toJwt();
    },
    roomService,
    /** Rooms as reported by the server's Twirp RoomService.ListRooms. */
    async listRooms(names) {
      return await roomService.listRooms(names);
    },
    /** Sends `signal` and waits for the process to exit (SIGKILL after 5 s). */
    async kill(signal = 'SIGTERM') {
      if (exitInfo) return exitInfo;
      proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), 5_000);
      const info = await exited;
      clearTimeout(t);
      logFile.end();
      return info;
    },
  };
  running.add(server);
  return server;
}

/** A TCP port free right now on 127.0.0.1 (coturn, which also listens on UDP, takes it too). */
export function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

/** Starts lkrtc-server on `port`, retrying while a killed predecessor's socket lingers. */
export async function startServerOn(port, name) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await startServer({ name, args: ['--port', String(port)] });
    } catch (e) {
      if (attempt >= 20) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** Kills every server this process started (used by the per-file teardown). */
export async function killAllServers() {
  await Promise.all([...running].map((s) => s.kill('SIGTERM')));
}

process.once('exit', () => {
  for (const s of running) s.proc.kill('SIGKILL');
});

/**
 * In an afterEach hook: when the test failed, print where the server log is
 * and its last lines, so a failure report carries the server's side of it.
 */
export function dumpLogOnFailure(ctx, server) {
  if (!server || ctx?.task?.result?.state !== 'fail') return;
  console.log(`--- lkrtc-server log (${server.logPath}), last lines ---\n${server.logTail(40)}\n---`);
}

/**
 * Registers the hooks every server scenario file uses: one lkrtc-server for the file
 * (killed after it), a fresh Scope per test (closed after it), and the server's log
 * printed when a test fails. Returns `{ server, scope }`, current inside each test.
 */
export function useServer(name, opts = {}) {
  const env = { server: null, scope: null };
  beforeAll(async () => {
    env.server = await startServer({ name, ...opts });
  });
  afterAll(async () => {
    await env.server?.kill();
  });
  beforeEach(() => {
    env.scope = new Scope();
  });
  afterEach(async (ctx) => {
    await env.scope.close();
    dumpLogOnFailure(ctx, env.server);
  });
  return env;
}
