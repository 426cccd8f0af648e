// Errors of lkrtc: `LkError` with a stable `code`, and the helpers that turn what the
// native side throws into one. Native errors carry their code in their `code` property
// (`err.code === 'ERR_TIMEOUT'`, see src/error.rs); the message is the text alone.

/** Every `LkError.code`. */
export const ErrorCode = Object.freeze({
  /** The server could not be reached or the signal connection failed. */
  ERR_CONNECT: 'ERR_CONNECT',
  /** The server's TLS certificate was refused (unknown authority, wrong host name, expired). */
  ERR_TLS_CERTIFICATE: 'ERR_TLS_CERTIFICATE',
  /** The ICE configuration (`rtcConfig.iceServers`, transport policy) is unusable. */
  ERR_ICE_CONFIG: 'ERR_ICE_CONFIG',
  /** The server refused the token. */
  ERR_UNAUTHORIZED: 'ERR_UNAUTHORIZED',
  /** A bounded wait expired. */
  ERR_TIMEOUT: 'ERR_TIMEOUT',
  /** The URL is not a ws://, wss://, http:// or https:// URL. */
  ERR_INVALID_URL: 'ERR_INVALID_URL',
  /** The room is disconnected (or disconnected during the call). */
  ERR_DISCONNECTED: 'ERR_DISCONNECTED',
  /** An argument is malformed or out of range. */
  ERR_INVALID_ARG: 'ERR_INVALID_ARG',
  /** The server answered a request with an error. */
  ERR_REJECTED: 'ERR_REJECTED',
  /** A WebRTC operation failed. */
  ERR_RTC: 'ERR_RTC',
  /** The server broke the protocol. */
  ERR_PROTOCOL: 'ERR_PROTOCOL',
  /** The object was disposed; only its getters still answer. */
  ERR_DISPOSED: 'ERR_DISPOSED',
  /** The call is not valid in the current state (connect twice...). */
  ERR_INVALID_STATE: 'ERR_INVALID_STATE',
  /** A bug: a Rust panic was caught at the boundary. */
  ERR_PANIC: 'ERR_PANIC',
  /** The dev server could not start. */
  ERR_SERVER: 'ERR_SERVER',
  /** An access token could not be created. */
  ERR_TOKEN: 'ERR_TOKEN',
  /** A bug: an error without a code. */
  ERR_INTERNAL: 'ERR_INTERNAL',
  /** A data stream ended abnormally (sender aborted, missed chunk, disconnect, too large...). */
  ERR_STREAM: 'ERR_STREAM',
  /**
   * End-to-end encryption failed: a frame or packet did not decrypt or had no key
   * (`encryptionError`), or a packet could not be encrypted (nothing was sent).
   */
  ERR_ENCRYPTION: 'ERR_ENCRYPTION',
  /**
   * The feature exists in @livekit/rtc-node but not (yet) in lkrtc: FFI audio filter
   * plugins, a CUSTOM encryption type. The class can be imported; using it throws.
   */
  ERR_UNSUPPORTED: 'ERR_UNSUPPORTED',
} as const);
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** An lkrtc error: `code` is one of `ErrorCode`. */
export class LkError extends Error {
  /** Why it failed (stable across versions). */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LkError';
    this.code = code;
  }
}

/**
 * What `Room.connect()` rejects with (same name as @livekit/rtc-node's); an `LkError`.
 * `new ConnectError(message)` (the official signature) makes an `ERR_CONNECT` error.
 */
export class ConnectError extends LkError {
  constructor(message: string);
  constructor(code: ErrorCode, message: string, options?: ErrorOptions);
  constructor(codeOrMessage: string, message?: string, options?: ErrorOptions) {
    if (message === undefined) super(ErrorCode.ERR_CONNECT, codeOrMessage);
    else super(codeOrMessage as ErrorCode, message, options);
    this.name = 'ConnectError';
  }
}

/** Type guard: `e` is an `LkError` (with `code` if given). */
export function isLkError<C extends ErrorCode>(e: unknown, code?: C): e is LkError & { readonly code: C } {
  return e instanceof LkError && (code === undefined || e.code === code);
}

// napi's own argument-conversion failures (their `code` is napi's status) are invalid
// arguments.
const NAPI_ARG_STATUSES = new Set([
  'InvalidArg',
  'ObjectExpected',
  'StringExpected',
  'NameExpected',
  'FunctionExpected',
  'NumberExpected',
  'BooleanExpected',
  'ArrayExpected',
  'BigintExpected',
  'DateExpected',
  'ArrayBufferExpected',
  'DetachableArraybufferExpected',
]);
const CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));

type LkErrorClass = new (code: ErrorCode, message: string, options?: ErrorOptions) => LkError;

/** The `LkError` code of what the native side threw, from its `code` property. */
function nativeCode(e: unknown): ErrorCode {
  const code = (e as { code?: unknown } | null | undefined)?.code;
  if (typeof code !== 'string') return ErrorCode.ERR_INTERNAL;
  if (CODES.has(code)) return code as ErrorCode;
  return NAPI_ARG_STATUSES.has(code) ? ErrorCode.ERR_INVALID_ARG : ErrorCode.ERR_INTERNAL;
}

/** @internal Converts anything thrown by the native side into an `LkError` (or `Ctor`). */
export function toLkError(e: unknown, Ctor: LkErrorClass = LkError): LkError {
  if (e instanceof Ctor) return e;
  if (e instanceof LkError) return new Ctor(e.code, e.message, { cause: e });
  const message = e instanceof Error ? e.message : String(e);
  return new Ctor(nativeCode(e), message, { cause: e });
}

/** @internal Calls a native function, converting what it throws. */
export function nativeCall<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw toLkError(e);
  }
}

/** @internal Awaits a native promise, converting its rejection. */
export async function nativeAwait<T>(promise: Promise<T>): Promise<T> {
  try {
    return await promise;
  } catch (e) {
    throw toLkError(e);
  }
}

/** @internal */
export function disposedError(what: string): LkError {
  return new LkError(ErrorCode.ERR_DISPOSED, `this ${what} has been disposed`);
}

/** @internal */
export function invalidArg(message: string): LkError {
  return new LkError(ErrorCode.ERR_INVALID_ARG, message);
}

/** @internal The error of every entry point lkrtc does not implement yet. */
export function unsupported(what: string, missing: string): LkError {
  return new LkError(ErrorCode.ERR_UNSUPPORTED, `${what} is not supported by lkrtc yet: ${missing}`);
}

/** @internal Marks a promise as handled (a caller that ignores it does not crash the process). */
export function quiet<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}
