// lkrtc-server running inside this process (on the addon's runtime).
import { invalidArg, nativeAwait, nativeCall } from './errors.js';
import { native, type NativeDevServer } from './native.js';
import { KEEP_ALIVE_MS } from './room.js';
import { type IceServer, nativeRtcConfig } from './types.js';

/** Video grants with livekit-server-sdk's names. */
export interface VideoGrant {
  roomJoin?: boolean;
  room?: string;
  roomCreate?: boolean;
  roomList?: boolean;
  roomRecord?: boolean;
  roomAdmin?: boolean;
  canPublish?: boolean;
  canSubscribe?: boolean;
  canPublishData?: boolean;
  canPublishSources?: string[];
  canUpdateOwnMetadata?: boolean;
  hidden?: boolean;
  recorder?: boolean;
  agent?: boolean;
}

export interface CreateTokenOptions {
  identity: string;
  /** The room to join (sets `roomJoin` and `room`). */
  room?: string;
  name?: string;
  metadata?: string;
  attributes?: Record<string, string>;
  /** Seconds, or `'10m'`, `'6h'`, `'1d'`... Default 6 hours. */
  ttl?: number | string;
  /** Overrides the defaults: join `room`, publish, subscribe, publish data, update own metadata. */
  grants?: VideoGrant;
}

export interface DevServerOptions {
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  /** Address to bind (default 127.0.0.1). */
  bind?: string;
  /** API keys: `'key:secret,...'`, `[[key, secret]]` or `{ key: secret }`; default devkey/secret. */
  keys?: string | Array<[string, string]> | Record<string, string>;
  /** Serve `wss://` / `https://` with this PEM certificate chain and key. */
  tls?: { cert: string; key: string };
  /** STUN/TURN servers sent to clients in the join response. */
  iceServers?: IceServer[];
  /** Tell clients to use TURN relay candidates only. */
  forceRelay?: boolean;
  /** Run ICE-lite, as livekit-server does. */
  iceLite?: boolean;
  /** Also offer ICE-TCP candidates (for clients whose UDP is blocked). */
  iceTcp?: boolean;
  /** Offer UDP candidates (default true; false needs `iceTcp`). */
  iceUdp?: boolean;
  /** Send participants a fresh token this often (ms, at least 1000). */
  tokenRefreshMs?: number;
  /** Seconds between the pings clients are asked to send (default 5). */
  pingInterval?: number;
  /** Seconds of client silence after which its signal counts as lost (default 15; more than `pingInterval`). */
  pingTimeout?: number;
  /** How long a participant whose signal was lost without a leave is kept for a resume (ms, default 10000; 0: it leaves at once). */
  resumeWindowMs?: number;
}

const TTL_RE = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)?$/;
const TTL_UNIT = { s: 1, m: 60, h: 3600, d: 86400 } as const;

function ttlSeconds(ttl: number | string | undefined): number | undefined {
  if (ttl === undefined) return undefined;
  if (typeof ttl === 'number') return ttl;
  const m = typeof ttl === 'string' ? TTL_RE.exec(ttl.trim()) : null;
  if (!m) throw invalidArg(`createToken: ttl ${JSON.stringify(ttl)} is not a number of seconds or "10m"/"6h"`);
  return Number(m[1]) * TTL_UNIT[(m[2] ?? 's') as keyof typeof TTL_UNIT];
}

function normalizeKeys(keys: DevServerOptions['keys'] | null): Array<[string, string]> {
  if (keys === undefined || keys === null) return [['devkey', 'secret']];
  let pairs: Array<[unknown, unknown]>;
  if (typeof keys === 'string') {
    pairs = keys
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((item) => {
        const i = item.indexOf(':');
        if (i <= 0) throw invalidArg(`DevServer: key entry ${JSON.stringify(item)} is not key:secret`);
        return [item.slice(0, i), item.slice(i + 1)];
      });
  } else if (Array.isArray(keys)) {
    pairs = keys.map((p: unknown) => {
      if (Array.isArray(p)) return [p[0], p[1]];
      const o = p as { key?: unknown; secret?: unknown } | null;
      return [o?.key, o?.secret];
    });
  } else if (typeof keys === 'object') {
    pairs = Object.entries(keys);
  } else {
    throw invalidArg('DevServer: keys must be "key:secret,...", [[key, secret]] or { key: secret }');
  }
  for (const [k, s] of pairs) {
    if (typeof k !== 'string' || typeof s !== 'string' || !k || !s) {
      throw invalidArg('DevServer: every key and secret must be a non-empty string');
    }
  }
  if (pairs.length === 0) throw invalidArg('DevServer: no keys');
  return pairs as Array<[string, string]>;
}

const kCreate = Symbol('DevServer.create');

/**
 * lkrtc-server running inside this process (on the addon's runtime). Like a
 * `net.Server`, a running DevServer keeps the process alive until `close()` (or `unref()`).
 */
export class DevServer {
  readonly #native: NativeDevServer;
  readonly #keys: Array<[string, string]>;
  #keepAlive: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined = undefined;

  /** @internal use DevServer.start() */
  constructor(token: symbol, nat: NativeDevServer, keys: Array<[string, string]>) {
    if (token !== kCreate) throw new TypeError('use DevServer.start()');
    this.#native = nat;
    this.#keys = keys;
    this.#keepAlive = setInterval(() => this, KEEP_ALIVE_MS);
  }

  /**
   * Starts a server: `port` 0 (default) picks a free one; `bind` defaults to 127.0.0.1.
   * `tls: { cert, key }` (PEM text) serves `wss://`; `iceServers`, `forceRelay`, `iceLite`,
   * `iceTcp`, `iceUdp`, `tokenRefreshMs`, `pingInterval`, `pingTimeout` and `resumeWindowMs` as
   * the lkrtc-server flags of the same names.
   * Rejects with `ERR_SERVER` (address in use...) or `ERR_INVALID_ARG`.
   */
  static async start(options: DevServerOptions = {}): Promise<DevServer> {
    const o: DevServerOptions = options ?? {};
    const { port = 0, bind = '127.0.0.1', keys, tls, iceServers, tokenRefreshMs } = o;
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw invalidArg(`DevServer.start: port ${port} must be an integer in 0..65535`);
    }
    if (typeof bind !== 'string') throw invalidArg('DevServer.start: bind must be a string');
    if (tls !== undefined && (typeof tls?.cert !== 'string' || typeof tls?.key !== 'string')) {
      throw invalidArg('DevServer.start: tls must be { cert, key } with PEM strings');
    }
    if (
      tokenRefreshMs !== undefined &&
      !(Number.isInteger(tokenRefreshMs) && tokenRefreshMs >= 1000 && tokenRefreshMs < 2 ** 32)
    ) {
      throw invalidArg('DevServer.start: tokenRefreshMs must be an integer ≥ 1000');
    }
    const timing: Record<string, number | undefined> = {};
    for (const name of ['pingInterval', 'pingTimeout', 'resumeWindowMs'] as const) {
      const value = o[name];
      if (value !== undefined && !(Number.isInteger(value) && value >= 0 && value < 2 ** 32))
        throw invalidArg(`DevServer.start: ${name} must be a non-negative integer`);
      timing[name] = value;
    }
    const flags: Record<string, boolean | undefined> = {};
    for (const name of ['forceRelay', 'iceLite', 'iceTcp', 'iceUdp'] as const) {
      const value = o[name];
      if (value !== undefined && typeof value !== 'boolean')
        throw invalidArg(`DevServer.start: ${name} must be a boolean`);
      flags[name] = value;
    }
    let ice;
    try {
      ice = nativeRtcConfig({ iceServers }).iceServers;
    } catch (e) {
      throw invalidArg(`DevServer.start: ${(e as Error).message.replace('connect: rtcConfig.', '')}`);
    }
    const pairs = normalizeKeys(keys);
    const nat = await nativeAwait(
      native.startDevServer({
        port,
        bind,
        keys: pairs.map(([key, secret]) => ({ key, secret })),
        tlsCert: tls?.cert,
        tlsKey: tls?.key,
        iceServers: ice,
        tokenRefreshMs,
        ...timing,
        ...flags,
      }),
    );
    return new DevServer(kCreate, nat, pairs);
  }

  /** `ws://host:port` (`wss://` with `tls`), for `Room.connect()` and the official clients. */
  get url(): string {
    return this.#native.url;
  }
  /** The bound port. */
  get port(): number {
    return this.#native.port;
  }
  /** The first API key. */
  get apiKey(): string {
    return this.#keys[0]![0];
  }
  /** The first API key's secret. */
  get apiSecret(): string {
    return this.#keys[0]![1];
  }
  /** Names of the rooms currently open. */
  roomNames(): string[] {
    return nativeCall(() => this.#native.roomNames());
  }

  /**
   * Signs an access token for this server. Grants default to joining `room` with every
   * permission a participant can have (publish, subscribe, data, own metadata); `grants`
   * overrides them, with livekit-server-sdk's names (`canPublish`...).
   */
  createToken(options: CreateTokenOptions): string {
    const { identity, room, name, metadata, attributes, ttl, grants } = options ?? ({} as CreateTokenOptions);
    if (typeof identity !== 'string' || identity === '')
      throw invalidArg('createToken: identity must be a non-empty string');
    if (room !== undefined && typeof room !== 'string') throw invalidArg('createToken: room must be a string');
    const g = {
      roomJoin: room !== undefined,
      room,
      canPublish: true,
      canSubscribe: true,
      canPublishData: true,
      canUpdateOwnMetadata: true,
      ...grants,
    };
    const ttlS = ttlSeconds(ttl);
    return nativeCall(() =>
      native.createToken({
        apiKey: this.apiKey,
        apiSecret: this.apiSecret,
        identity,
        name,
        metadata,
        attributes,
        ttlSeconds: ttlS,
        grants: g,
      }),
    );
  }

  /**
   * Lets the process exit while the server runs. An unref'd DevServer that becomes
   * unreachable is stopped by its garbage-collection finalizer.
   */
  unref(): this {
    clearInterval(this.#keepAlive);
    this.#keepAlive = undefined;
    return this;
  }
  /** Undoes unref(): the running server keeps the process alive again. */
  ref(): this {
    if (this.#keepAlive === undefined && this.#closing === undefined) {
      this.#keepAlive = setInterval(() => this, KEEP_ALIVE_MS);
    }
    return this;
  }

  /** Tells every participant the server is leaving, then stops. Idempotent. */
  close(): Promise<void> {
    if (this.#closing === undefined) {
      clearInterval(this.#keepAlive);
      this.#keepAlive = undefined;
      this.#closing = nativeAwait(this.#native.close());
    }
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
