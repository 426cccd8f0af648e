// RPC with @livekit/rtc-node's names. Protocol policy (timeouts, ACK wait, payload limits,
// the built-in errors the engine produces) lives in Rust (crates/engine/src/rpc.rs); this
// module runs the application's handlers and interceptors and maps results to `RpcError`.
import { invalidArg, nativeAwait } from './errors.js';
import type { JsRpcInvocation, NativeLocalParticipant } from './native.js';

/** Parameters of `performRpc`. */
export interface PerformRpcParams {
  /** The callee's identity. */
  destinationIdentity: string;
  /** Method name. */
  method: string;
  /** Request payload (at most 15360 UTF-8 bytes, else REQUEST_PAYLOAD_TOO_LARGE). */
  payload: string;
  /** Milliseconds to wait for the response after the callee acknowledged (default 15000). */
  responseTimeout?: number;
}

/** What a method handler receives. */
export interface RpcInvocationData {
  requestId: string;
  callerIdentity: string;
  payload: string;
  /** Milliseconds the caller said it waits (as on the wire). */
  responseTimeout: number;
  method: string;
}

/** An outgoing call as interceptors see it. */
export interface RpcCallInfo {
  destinationIdentity: string;
  method: string;
  payload: string;
  responseTimeout?: number;
}
export type OutgoingRpcNext = (call: RpcCallInfo) => Promise<string>;
export type IncomingRpcNext = (invocation: RpcInvocationData) => Promise<string>;
/** Wraps RPCs performed (`interceptOutgoing`) or handled (`interceptIncoming`). */
export interface RpcInterceptor {
  interceptOutgoing?(call: RpcCallInfo, next: OutgoingRpcNext): Promise<string>;
  interceptIncoming?(invocation: RpcInvocationData, next: IncomingRpcNext): Promise<string>;
}

const BUILT_IN = {
  APPLICATION_ERROR: [1500, 'Application error in method handler'],
  CONNECTION_TIMEOUT: [1501, 'Connection timeout'],
  RESPONSE_TIMEOUT: [1502, 'Response timeout'],
  RECIPIENT_DISCONNECTED: [1503, 'Recipient disconnected'],
  RESPONSE_PAYLOAD_TOO_LARGE: [1504, 'Response payload too large'],
  SEND_FAILED: [1505, 'Failed to send'],
  UNSUPPORTED_METHOD: [1400, 'Method not supported at destination'],
  RECIPIENT_NOT_FOUND: [1401, 'Recipient not found'],
  REQUEST_PAYLOAD_TOO_LARGE: [1402, 'Request payload too large'],
  UNSUPPORTED_SERVER: [1403, 'RPC not supported by server'],
} as const;
type BuiltIn = keyof typeof BUILT_IN;

/**
 * An RPC failure, as @livekit/rtc-node's: thrown by `performRpc`, and thrown by a method
 * handler to send `code`, `message` (≤ 256 bytes) and `data` (≤ 15360 bytes) back. Any other
 * error a handler throws reaches the caller as APPLICATION_ERROR (1500).
 */
export class RpcError extends Error {
  code: number;
  data?: string;

  /** The built-in codes (the public table of the official SDK; the engine produces them). */
  static readonly ErrorCode = Object.freeze(
    Object.fromEntries(Object.entries(BUILT_IN).map(([k, [code]]) => [k, code])) as {
      readonly [K in BuiltIn]: (typeof BUILT_IN)[K][0];
    },
  );
  /** The standard message of each built-in code. */
  static readonly ErrorMessage = Object.freeze(
    Object.fromEntries(Object.entries(BUILT_IN).map(([k, [, message]]) => [k, message])) as {
      readonly [K in BuiltIn]: string;
    },
  );

  constructor(code: number, message: string, data?: string) {
    super(message);
    this.name = 'RpcError';
    this.code = code;
    this.message = message;
    this.data = data;
  }

  static fromProto(proto: { code: number; message: string; data?: string }): RpcError {
    return new RpcError(proto.code, proto.message, proto.data);
  }

  toProto(): { code: number; message: string; data?: string } {
    return { code: this.code, message: this.message, data: this.data };
  }

  /** A built-in error by key (`'APPLICATION_ERROR'`...), with its standard message. */
  static builtIn(key: BuiltIn, data?: string): RpcError {
    return new RpcError(RpcError.ErrorCode[key], RpcError.ErrorMessage[key], data);
  }
}

type Handler = (data: RpcInvocationData) => Promise<string>;

function chain<A>(
  interceptors: RpcInterceptor[],
  pick: (i: RpcInterceptor) => ((a: A, next: (a: A) => Promise<string>) => Promise<string>) | undefined,
  terminal: (a: A) => Promise<string>,
): (a: A) => Promise<string> {
  let callNext = terminal;
  for (let i = interceptors.length - 1; i >= 0; i--) {
    const interceptor = interceptors[i]!;
    const intercept = pick(interceptor);
    if (!intercept) continue;
    const inner = callNext;
    callNext = (a) => intercept.call(interceptor, a, inner);
  }
  return callNext;
}

function requireString(value: unknown, what: string): string {
  if (typeof value !== 'string') throw invalidArg(`${what} must be a string`);
  return value;
}

/** @internal One LocalParticipant's RPC side: handlers, interceptors, calls being handled. */
export class RpcEndpoint {
  readonly handlers = new Map<string, Handler>();
  interceptors: RpcInterceptor[] = [];
  /** Invocations being handled: request id -> answer with RECIPIENT_DISCONNECTED. */
  readonly #pending = new Map<string, () => void>();
  readonly #native: () => NativeLocalParticipant;

  constructor(nativeOf: () => NativeLocalParticipant) {
    this.#native = nativeOf;
  }

  async perform(params: PerformRpcParams): Promise<string> {
    const { destinationIdentity, method, payload, responseTimeout } = params ?? ({} as PerformRpcParams);
    const run = chain<RpcCallInfo>(
      [...this.interceptors],
      (i) => i.interceptOutgoing,
      (c) => this.#performNative(c),
    );
    return await run({ destinationIdentity, method, payload, responseTimeout });
  }

  async #performNative(call: RpcCallInfo): Promise<string> {
    const nat = this.#native();
    const timeout = call.responseTimeout;
    if (timeout !== undefined && !(typeof timeout === 'number' && timeout > 0 && Number.isFinite(timeout))) {
      throw invalidArg('performRpc: responseTimeout must be a positive number of milliseconds');
    }
    const result = await nativeAwait(
      nat.performRpc(
        requireString(call.destinationIdentity, 'performRpc: destinationIdentity'),
        requireString(call.method, 'performRpc: method'),
        requireString(call.payload, 'performRpc: payload'),
        timeout,
      ),
    );
    if (result.error) {
      const { code, message, data } = result.error;
      throw new RpcError(code, message, data === null || data === undefined || data === '' ? undefined : data);
    }
    return result.payload ?? '';
  }

  register(method: string, handler: Handler): void {
    requireString(method, 'registerRpcMethod: method');
    if (typeof handler !== 'function') throw invalidArg('registerRpcMethod: handler must be a function');
    this.#native().registerRpcMethod(method);
    this.handlers.set(method, handler);
  }

  unregister(method: string): void {
    this.handlers.delete(method);
    try {
      this.#native().unregisterRpcMethod(String(method));
    } catch {
      // disposed: nothing to unregister
    }
  }

  /** Answers `requestId` once (the native side ignores unknown ids; a disposed participant is fine). */
  #respond(requestId: string, payload: string | undefined, error: RpcError | undefined): void {
    try {
      this.#native().respondRpc(
        requestId,
        payload,
        error
          ? {
              code: error.code,
              message: String(error.message ?? ''),
              data: error.data == null ? undefined : String(error.data),
            }
          : undefined,
      );
    } catch {
      // Disconnected meanwhile: the caller gets RECIPIENT_DISCONNECTED or a timeout.
    }
  }

  /** Runs the handler of an incoming call (through the interceptors) and answers it once. */
  handle(inv: JsRpcInvocation): void {
    const invocation: RpcInvocationData = {
      requestId: inv.requestId,
      callerIdentity: inv.callerIdentity,
      payload: inv.payload,
      responseTimeout: inv.responseTimeout,
      method: inv.method,
    };
    let settled = false;
    const finish = (payload: string | undefined, error?: RpcError): void => {
      if (settled) return;
      settled = true;
      this.#pending.delete(inv.requestId);
      this.#respond(inv.requestId, payload, error);
    };
    // How long the caller waits is the engine's business: a late answer is dropped there.
    this.#pending.set(inv.requestId, () => finish(undefined, RpcError.builtIn('RECIPIENT_DISCONNECTED')));
    const run = chain<RpcInvocationData>(
      [...this.interceptors],
      (i) => i.interceptIncoming,
      async (i) => {
        const handler = this.handlers.get(i.method);
        if (!handler) throw RpcError.builtIn('UNSUPPORTED_METHOD');
        return await handler(i);
      },
    );
    Promise.resolve()
      .then(() => run(invocation))
      .then(
        (payload: unknown) => {
          if (payload === undefined || payload === null) payload = '';
          if (typeof payload !== 'string') {
            process.emitWarning(
              `lkrtc: RPC handler for ${inv.method} returned a ${typeof payload}, not a string; returning APPLICATION_ERROR`,
            );
            finish(undefined, RpcError.builtIn('APPLICATION_ERROR'));
          } else {
            finish(payload);
          }
        },
        (err: unknown) => {
          if (err instanceof RpcError) {
            finish(undefined, err);
          } else {
            const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
            process.emitWarning(
              `lkrtc: uncaught error in RPC handler for ${inv.method}, returning APPLICATION_ERROR: ${detail}`,
            );
            finish(undefined, RpcError.builtIn('APPLICATION_ERROR'));
          }
        },
      );
  }

  /** The room disconnected: answer every call still being handled. */
  cancelAll(): void {
    for (const cancel of [...this.#pending.values()]) cancel();
  }
}
