'use strict';
// Data features of lkrtc, with @livekit/rtc-node's names: RPC (`performRpc`,
// `registerRpcMethod`, `RpcError`), text and byte streams (`streamText`, `sendText`,
// `streamBytes`, `sendFile`, `registerTextStreamHandler`..., the readers and writers), chat,
// DTMF and transcriptions.
//
// index.js calls this module's factory once with its internals (error helpers, accessors of
// the native handles) and gets back the classes plus:
//   - `localParticipantMethods` / `roomMethods`: installed on the prototypes of
//     `LocalParticipant` / `Room`;
//   - hooks: `onConnected(room, nativeRoom)` (registers the stream topics of handlers set
//     before connecting), `onRpcInvocation(room, ev)`, `onStreamOpened(room, ev)`,
//     `onDisconnected(room, local)` (releases what belonged to that connection).
//
// Lifecycle (DESIGN.md): readers and writers are native handles, counted as `streamReader`
// and `streamWriter` by liveHandles(). A reader is released when read to its end, on
// close() / break out of `for await`, when its handler throws, right after the room's
// `disconnected` (chunks already received stay readable from JavaScript memory; an
// unfinished stream then ends with an ERR_STREAM error), or by its GC finalizer if
// abandoned. The room tracks readers and writers through WeakRefs only, so an abandoned
// reader is never pinned; until it is collected the engine buffers at most 64 MiB of it
// and then fails that stream. RPC handlers live here; each invocation is answered exactly
// once, and a handler that never settles is cut off (RESPONSE_TIMEOUT) once the caller can
// no longer be waiting.

const fsp = require('node:fs/promises');

/** Milliseconds the caller waits for the ACK before it gives up (added to responseTimeout). */
const RPC_ACK_GRACE_MS = 7_000;
/** Bytes read from a file per write in sendFile (a multiple of the 15000-byte chunk). */
const FILE_READ_BYTES = 15_000 * 16;

module.exports = function createData(deps) {
  const { LkError, ErrorCode, toLkError, nativeCall, nativeAwait, invalidArg, localNative, roomNative } = deps;

  // -------------------------------------------------------------------------------------
  // RPC

  const ErrorCodes = Object.freeze({
    APPLICATION_ERROR: 1500,
    CONNECTION_TIMEOUT: 1501,
    RESPONSE_TIMEOUT: 1502,
    RECIPIENT_DISCONNECTED: 1503,
    RESPONSE_PAYLOAD_TOO_LARGE: 1504,
    SEND_FAILED: 1505,
    UNSUPPORTED_METHOD: 1400,
    RECIPIENT_NOT_FOUND: 1401,
    REQUEST_PAYLOAD_TOO_LARGE: 1402,
    UNSUPPORTED_SERVER: 1403,
  });
  const ErrorMessages = Object.freeze({
    APPLICATION_ERROR: 'Application error in method handler',
    CONNECTION_TIMEOUT: 'Connection timeout',
    RESPONSE_TIMEOUT: 'Response timeout',
    RECIPIENT_DISCONNECTED: 'Recipient disconnected',
    RESPONSE_PAYLOAD_TOO_LARGE: 'Response payload too large',
    SEND_FAILED: 'Failed to send',
    UNSUPPORTED_METHOD: 'Method not supported at destination',
    RECIPIENT_NOT_FOUND: 'Recipient not found',
    REQUEST_PAYLOAD_TOO_LARGE: 'Request payload too large',
    UNSUPPORTED_SERVER: 'RPC not supported by server',
  });

  /**
   * An RPC failure, as @livekit/rtc-node's: thrown by `performRpc`, and thrown by a method
   * handler to send `code`, `message` (≤ 256 bytes) and `data` (≤ 15360 bytes) back.
   */
  class RpcError extends Error {
    constructor(code, message, data) {
      super(message);
      this.name = 'RpcError';
      this.code = code;
      this.message = message;
      this.data = data;
    }

    static fromProto(proto) {
      return new RpcError(proto.code, proto.message, proto.data);
    }

    toProto() {
      return { code: this.code, message: this.message, data: this.data };
    }

    /** A built-in error by key (`'APPLICATION_ERROR'`...), with its standard message. */
    static builtIn(key, data) {
      return new RpcError(RpcError.ErrorCode[key], RpcError.ErrorMessage[key], data);
    }
  }
  RpcError.ErrorCode = ErrorCodes;
  RpcError.ErrorMessage = ErrorMessages;

  function chainOutgoing(interceptors, terminal) {
    let callNext = terminal;
    for (let i = interceptors.length - 1; i >= 0; i--) {
      const interceptor = interceptors[i];
      const intercept = interceptor.interceptOutgoing;
      if (!intercept) continue;
      const inner = callNext;
      callNext = (call) => intercept.call(interceptor, call, inner);
    }
    return callNext;
  }

  function chainIncoming(interceptors, terminal) {
    let callNext = terminal;
    for (let i = interceptors.length - 1; i >= 0; i--) {
      const interceptor = interceptors[i];
      const intercept = interceptor.interceptIncoming;
      if (!intercept) continue;
      const inner = callNext;
      callNext = (inv) => intercept.call(interceptor, inv, inner);
    }
    return callNext;
  }

  /** Per LocalParticipant: RPC handlers, interceptors, invocations in progress, open writers. */
  const participantState = new WeakMap();
  function pstate(lp) {
    let s = participantState.get(lp);
    if (s === undefined) {
      s = { handlers: new Map(), interceptors: [], pending: new Map(), writers: new Set() };
      participantState.set(lp, s);
    }
    return s;
  }

  function requireString(value, what) {
    if (typeof value !== 'string') throw invalidArg(`${what} must be a string`);
    return value;
  }

  async function performRpcNative(lp, call) {
    const nat = localNative(lp);
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
      throw new RpcError(code, message, data === null || data === '' ? undefined : data);
    }
    return result.payload ?? '';
  }

  /** Answers `requestId` once (the native side ignores unknown ids; a disposed participant is fine). */
  function respond(lp, requestId, payload, error) {
    try {
      localNative(lp).respondRpc(
        requestId,
        payload,
        error ? { code: error.code, message: String(error.message ?? ''), data: error.data == null ? undefined : String(error.data) } : undefined,
      );
    } catch {
      // Disconnected meanwhile: the caller gets RECIPIENT_DISCONNECTED or a timeout.
    }
  }

  function onRpcInvocation(room, inv) {
    const lp = room.localParticipant;
    if (lp === undefined || inv == null) return;
    const s = pstate(lp);
    const invocation = {
      requestId: inv.requestId,
      callerIdentity: inv.callerIdentity,
      payload: inv.payload,
      responseTimeout: inv.responseTimeout,
      method: inv.method,
    };
    let settled = false;
    const finish = (payload, error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.pending.delete(inv.requestId);
      respond(lp, inv.requestId, payload, error);
    };
    // The caller waits at most its ACK timeout plus the response timeout it asked for
    // (the wire value is that minus the ACK grace): past this, nobody is waiting.
    const timer = setTimeout(
      () => finish(undefined, RpcError.builtIn('RESPONSE_TIMEOUT')),
      Math.max(1000, inv.responseTimeout) + RPC_ACK_GRACE_MS,
    );
    timer.unref?.();
    s.pending.set(inv.requestId, { timer, cancel: () => finish(undefined, RpcError.builtIn('RECIPIENT_DISCONNECTED')) });
    const terminal = async (i) => {
      const handler = s.handlers.get(i.method);
      if (!handler) throw RpcError.builtIn('UNSUPPORTED_METHOD');
      return await handler(i);
    };
    const run = chainIncoming([...s.interceptors], terminal);
    Promise.resolve()
      .then(() => run(invocation))
      .then(
        (payload) => {
          if (payload === undefined || payload === null) payload = '';
          if (typeof payload !== 'string') {
            process.emitWarning(`lkrtc: RPC handler for ${inv.method} returned a ${typeof payload}, not a string; returning APPLICATION_ERROR`);
            finish(undefined, RpcError.builtIn('APPLICATION_ERROR'));
          } else {
            finish(payload);
          }
        },
        (err) => {
          if (err instanceof RpcError) {
            finish(undefined, err);
          } else {
            process.emitWarning(`lkrtc: uncaught error in RPC handler for ${inv.method}, returning APPLICATION_ERROR: ${err?.stack ?? err}`);
            finish(undefined, RpcError.builtIn('APPLICATION_ERROR'));
          }
        },
      );
  }

  // -------------------------------------------------------------------------------------
  // Streams

  function publicInfo(nat) {
    const i = nat.info;
    const info = { streamId: i.streamId, mimeType: i.mimeType, topic: i.topic, timestamp: i.timestamp };
    if (i.totalSize !== null && i.totalSize !== undefined) info.totalSize = i.totalSize;
    info.attributes = { ...i.attributes };
    if (i.kind === 'bytes') info.name = i.name ?? 'unknown';
    return info;
  }

  const textDecoder = new TextDecoder();
  const kDetach = Symbol('detach');

  class BaseStreamReader {
    #native;
    #info;
    #buffer = [];
    #ended = false;
    #error = undefined;
    #reading = false;
    #detachAfterRead = false;
    #bytesReceived = 0;
    /** Called per chunk with bytesReceived / totalSize (undefined if the total is unknown). */
    onProgress = undefined;

    /** @internal */
    constructor(nat) {
      this.#native = nat;
      this.#info = publicInfo(nat);
    }

    /** The stream's header: streamId, mimeType, topic, timestamp, totalSize, attributes (and name). */
    get info() {
      return this.#info;
    }

    /** @internal converts a received chunk */
    _convert(buf) {
      return buf;
    }

    /** Releases the native reader after moving what it buffered into JavaScript. */
    [kDetach](reason = 'the room disconnected') {
      const nat = this.#native;
      if (nat === null) return;
      if (this.#reading) {
        this.#detachAfterRead = true;
        return;
      }
      this.#native = null;
      try {
        const b = nat.takeBuffered();
        for (const c of b.chunks) this.#buffer.push(c);
        if (!this.#ended) {
          this.#ended = true;
          if (b.error) this.#error = new LkError('ERR_STREAM', b.error);
          else if (!b.ended) this.#error = new LkError('ERR_STREAM', `stream ${this.#info.streamId} cut: ${reason}`);
        }
      } catch {
        this.#ended = true;
      }
      nat.dispose();
    }

    async #next() {
      for (;;) {
        if (this.#buffer.length > 0) {
          const buf = this.#buffer.shift();
          this.#bytesReceived += buf.length;
          if (typeof this.onProgress === 'function') {
            const total = this.#info.totalSize;
            try {
              this.onProgress(total ? this.#bytesReceived / total : undefined);
            } catch (err) {
              process.nextTick(() => {
                throw err;
              });
            }
          }
          return this._convert(buf);
        }
        if (this.#ended || this.#native === null) {
          if (this.#error) throw this.#error;
          return null;
        }
        const nat = this.#native;
        this.#reading = true;
        let chunks;
        try {
          chunks = await nat.read();
        } catch (e) {
          this.#ended = true;
          this.#native = null;
          nat.dispose();
          const err = toLkError(e);
          this.#error = err.code === ErrorCode.ERR_DISPOSED ? undefined : err;
          if (this.#error) throw this.#error;
          return null;
        } finally {
          this.#reading = false;
        }
        if (chunks === null) {
          this.#ended = true;
          this.#native = null; // released natively at the end
        } else {
          for (const c of chunks) this.#buffer.push(c);
        }
        if (this.#detachAfterRead) this[kDetach]();
      }
    }

    [Symbol.asyncIterator]() {
      return {
        next: async () => {
          const value = await this.#next();
          return value === null ? { done: true, value: undefined } : { done: false, value };
        },
        return: async () => {
          await this.close();
          return { done: true, value: undefined };
        },
      };
    }

    /** @internal every remaining chunk */
    async _readChunks() {
      const out = [];
      for (;;) {
        const c = await this.#next();
        if (c === null) return out;
        out.push(c);
      }
    }

    /** Stops reading; buffered data is dropped and the native reader released. Idempotent. */
    async close() {
      const nat = this.#native;
      this.#native = null;
      this.#buffer = [];
      this.#ended = true;
      if (nat !== null) nat.close();
    }
  }

  /** An incoming text stream: `for await (const text of reader)` or `await reader.readAll()`. */
  class TextStreamReader extends BaseStreamReader {
    _convert(buf) {
      return textDecoder.decode(buf);
    }
    /** The whole text. */
    async readAll() {
      return (await this._readChunks()).join('');
    }
  }

  /** An incoming byte stream: `for await (const chunk of reader)` or `await reader.readAll()`. */
  class ByteStreamReader extends BaseStreamReader {
    _convert(buf) {
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    /** Every chunk, in order. */
    async readAll() {
      return this._readChunks();
    }
  }

  class BaseStreamWriter {
    #native;
    #queue = Promise.resolve();
    #closed = false;
    #untrack;
    /** The stream's header. */
    info;

    /** @internal */
    constructor(nat, untrack) {
      this.#native = nat;
      this.#untrack = untrack;
      this.info = publicInfo(nat);
    }

    /** @internal */
    _write(bytes) {
      if (this.#closed) return Promise.reject(new LkError(ErrorCode.ERR_INVALID_STATE, 'the stream writer is closed'));
      const nat = this.#native;
      const p = this.#queue.then(() => nativeAwait(nat.write(bytes)));
      this.#queue = p.catch(() => {});
      return p;
    }

    /** Ends the stream (sends the trailer) and releases the writer. Idempotent. */
    async close(reason) {
      if (this.#closed) return;
      this.#closed = true;
      this.#untrack(this);
      const nat = this.#native;
      await this.#queue;
      await nativeAwait(nat.close(reason === undefined ? undefined : String(reason)));
    }

    /** @internal released by the room (disconnect) */
    _release() {
      this.#closed = true;
      this.#native.dispose();
    }
  }

  const textEncoder = new TextEncoder();

  /** An outgoing text stream (streamText): `write(text)`, then `close()`. */
  class TextStreamWriter extends BaseStreamWriter {
    async write(text) {
      if (typeof text !== 'string') throw invalidArg('TextStreamWriter.write: text must be a string');
      await this._write(textEncoder.encode(text));
    }
  }

  /** An outgoing byte stream (streamBytes): `write(bytes)`, then `close()`. */
  class ByteStreamWriter extends BaseStreamWriter {
    async write(chunk) {
      if (!ArrayBuffer.isView(chunk)) throw invalidArg('ByteStreamWriter.write: chunk must be a Uint8Array');
      // Copied now: the native write runs later (writes are queued), and the caller may
      // reuse its buffer as soon as this call returns.
      await this._write(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength).slice());
    }
  }

  function streamOptions(o, kind) {
    const options = o ?? {};
    const out = {
      topic: options.topic === undefined ? undefined : requireString(options.topic, 'topic'),
      attributes: options.attributes,
      destinationIdentities: options.destinationIdentities,
      streamId: options.streamId,
    };
    if (kind === 'bytes') {
      out.name = options.name ?? 'unknown';
      out.mimeType = options.mimeType ?? 'application/octet-stream';
      out.totalSize = options.totalSize;
    }
    return out;
  }

  async function openWriter(lp, kind, options) {
    const s = pstate(lp);
    const nat = await nativeAwait(localNative(lp).openStream(kind, streamOptions(options, kind)));
    let ref;
    const untrack = () => s.writers.delete(ref);
    const w = kind === 'text' ? new TextStreamWriter(nat, untrack) : new ByteStreamWriter(nat, untrack);
    ref = new WeakRef(w);
    s.writers.add(ref);
    return w;
  }

  /** Per Room: stream handlers by topic, and the readers handed out (weakly). */
  const roomState = new WeakMap();
  function rstate(room) {
    let s = roomState.get(room);
    if (s === undefined) {
      s = { text: new Map(), bytes: new Map(), readers: new Set() };
      roomState.set(room, s);
    }
    return s;
  }

  function registerHandler(room, kind, topic, callback) {
    requireString(topic, 'topic');
    if (typeof callback !== 'function') throw invalidArg('the stream handler must be a function');
    const s = rstate(room);
    const map = kind === 'text' ? s.text : s.bytes;
    if (map.has(topic)) {
      throw new LkError(
        ErrorCode.ERR_INVALID_STATE,
        `A ${kind === 'text' ? 'text' : 'byte'} stream handler for topic "${topic}" has already been set.`,
      );
    }
    const nat = roomNative(room);
    if (room.isConnected && nat?.live) nativeCall(() => nat.registerStreamTopic(kind, topic));
    map.set(topic, callback);
  }

  function unregisterHandler(room, kind, topic) {
    const s = rstate(room);
    const map = kind === 'text' ? s.text : s.bytes;
    map.delete(topic);
    const nat = roomNative(room);
    try {
      nat?.unregisterStreamTopic(kind, topic);
    } catch {
      // not connected: nothing registered natively
    }
  }

  function onConnected(room, nat) {
    const s = roomState.get(room);
    if (s === undefined) return;
    for (const topic of s.text.keys()) nativeCall(() => nat.registerStreamTopic('text', topic));
    for (const topic of s.bytes.keys()) nativeCall(() => nat.registerStreamTopic('bytes', topic));
  }

  function onStreamOpened(room, ev) {
    const nat = ev.reader;
    if (nat == null) return;
    const s = rstate(room);
    const kind = nat.info.kind;
    const handler = (kind === 'text' ? s.text : s.bytes).get(nat.info.topic);
    if (handler === undefined) {
      nat.dispose(); // unregistered meanwhile: dropped, as the official client does
      return;
    }
    const reader = kind === 'text' ? new TextStreamReader(nat) : new ByteStreamReader(nat);
    const ref = new WeakRef(reader);
    s.readers.add(ref);
    // Prune dead refs now and then so that the set stays small.
    if (s.readers.size > 64) {
      for (const r of s.readers) if (r.deref() === undefined) s.readers.delete(r);
    }
    const fail = (err) => {
      process.emitWarning(`lkrtc: ${kind} stream handler for topic ${JSON.stringify(nat.info.topic)} threw: ${err?.stack ?? err}`);
      void reader.close();
    };
    try {
      const r = handler(reader, { identity: ev.participantIdentity });
      if (r && typeof r.then === 'function') r.then(undefined, fail);
    } catch (err) {
      fail(err);
    }
  }

  function onDisconnected(room, local) {
    const s = roomState.get(room);
    if (s !== undefined) {
      for (const ref of s.readers) ref.deref()?.[kDetach]();
      s.readers.clear();
    }
    if (local !== undefined) {
      const ps = participantState.get(local);
      if (ps !== undefined) {
        for (const p of [...ps.pending.values()]) p.cancel();
        for (const ref of ps.writers) {
          try {
            ref.deref()?._release();
          } catch {
            // already released
          }
        }
        ps.writers.clear();
      }
    }
  }

  // -------------------------------------------------------------------------------------
  // Methods installed on LocalParticipant and Room

  const localParticipantMethods = {
    /** Calls `method` on `destinationIdentity`; resolves with its response or throws an `RpcError`. */
    async performRpc(params) {
      const { destinationIdentity, method, payload, responseTimeout } = params ?? {};
      const call = { destinationIdentity, method, payload, responseTimeout };
      const perform = chainOutgoing([...pstate(this).interceptors], (c) => performRpcNative(this, c));
      return await perform(call);
    },

    /** Handles calls to `method` (replaces an earlier handler). */
    registerRpcMethod(method, handler) {
      requireString(method, 'registerRpcMethod: method');
      if (typeof handler !== 'function') throw invalidArg('registerRpcMethod: handler must be a function');
      nativeCall(() => localNative(this).registerRpcMethod(method));
      pstate(this).handlers.set(method, handler);
    },

    /** Stops handling `method`; callers then get UNSUPPORTED_METHOD. */
    unregisterRpcMethod(method) {
      pstate(this).handlers.delete(method);
      try {
        localNative(this).unregisterRpcMethod(String(method));
      } catch {
        // disposed: nothing to unregister
      }
    },

    /** Wraps every RPC performed or handled by this participant (first added is outermost). */
    addRpcInterceptor(interceptor) {
      const s = pstate(this);
      if (!s.interceptors.includes(interceptor)) s.interceptors.push(interceptor);
    },

    removeRpcInterceptor(interceptor) {
      const s = pstate(this);
      s.interceptors = s.interceptors.filter((x) => x !== interceptor);
    },

    /** Opens a text stream; `write()` text, then `close()`. */
    async streamText(options) {
      return openWriter(this, 'text', options);
    },

    /** Sends `text` as one text stream; resolves with its info. */
    async sendText(text, options) {
      requireString(text, 'sendText: text');
      const info = await nativeAwait(localNative(this).sendText(text, streamOptions(options, 'text')));
      const out = { streamId: info.streamId, mimeType: info.mimeType, topic: info.topic, timestamp: info.timestamp };
      if (info.totalSize != null) out.totalSize = info.totalSize;
      out.attributes = { ...info.attributes };
      return out;
    },

    /** Opens a byte stream (name 'unknown' unless given); `write()` bytes, then `close()`. */
    async streamBytes(options) {
      return openWriter(this, 'bytes', options);
    },

    /** Sends the file at `path` as a byte stream (name 'unknown' unless `options.name`). */
    async sendFile(path, options = {}) {
      const fh = await fsp.open(path, 'r');
      try {
        const { size } = await fh.stat();
        const writer = await openWriter(this, 'bytes', { ...options, totalSize: size });
        try {
          const buf = Buffer.allocUnsafe(FILE_READ_BYTES);
          let sent = 0;
          for (;;) {
            const { bytesRead } = await fh.read(buf, 0, buf.length, null);
            if (bytesRead === 0) break;
            await writer.write(buf.subarray(0, bytesRead)); // copied by write()
            sent += bytesRead;
            if (typeof options.onProgress === 'function' && size > 0) options.onProgress(sent / size);
          }
          if (sent !== size) throw new LkError(ErrorCode.ERR_INVALID_STATE, `sendFile: ${path} changed size while being sent`);
        } catch (err) {
          await writer.close(err?.message ?? String(err)).catch(() => {});
          throw err;
        }
        await writer.close();
      } finally {
        await fh.close();
      }
    },

    /** Sends a chat message; resolves with it as sent. */
    async sendChatMessage(text, destinationIdentities, _senderIdentity) {
      requireString(text, 'sendChatMessage: text');
      const m = await nativeAwait(localNative(this).sendChatMessage(text, destinationIdentities));
      const msg = { id: m.id, timestamp: m.timestamp, message: m.message, generated: m.generated };
      return msg;
    },

    /** Sends a DTMF tone. */
    async publishDtmf(code, digit) {
      if (!Number.isInteger(code) || code < 0) throw invalidArg('publishDtmf: code must be a non-negative integer');
      await nativeAwait(localNative(this).publishDtmf(code, requireString(digit, 'publishDtmf: digit')));
    },

    /** Publishes transcription segments of `trackSid` (a `TR_` sid) for `participantIdentity`. */
    async publishTranscription(transcription) {
      const { participantIdentity, trackSid, segments } = transcription ?? {};
      if (!Array.isArray(segments)) throw invalidArg('publishTranscription: segments must be an array');
      const segs = segments.map((s) => ({
        id: String(s.id ?? ''),
        text: String(s.text ?? ''),
        startTime: Number(s.startTime ?? 0),
        endTime: Number(s.endTime ?? 0),
        final: Boolean(s.final),
        language: String(s.language ?? ''),
      }));
      await nativeAwait(
        localNative(this).publishTranscription(
          requireString(participantIdentity, 'publishTranscription: participantIdentity'),
          requireString(trackSid, 'publishTranscription: trackSid'),
          segs,
        ),
      );
    },
  };

  const roomMethods = {
    /** Handles incoming text streams on `topic`; throws if the topic already has a handler. */
    registerTextStreamHandler(topic, callback) {
      registerHandler(this, 'text', topic, callback);
    },
    unregisterTextStreamHandler(topic) {
      unregisterHandler(this, 'text', topic);
    },
    /** Handles incoming byte streams on `topic`; throws if the topic already has a handler. */
    registerByteStreamHandler(topic, callback) {
      registerHandler(this, 'bytes', topic, callback);
    },
    unregisterByteStreamHandler(topic) {
      unregisterHandler(this, 'bytes', topic);
    },
  };

  function install(target, methods) {
    for (const [name, fn] of Object.entries(methods)) {
      Object.defineProperty(target.prototype, name, { value: fn, writable: true, configurable: true, enumerable: false });
    }
  }

  return {
    RpcError,
    TextStreamReader,
    ByteStreamReader,
    TextStreamWriter,
    ByteStreamWriter,
    install(LocalParticipant, Room) {
      install(LocalParticipant, localParticipantMethods);
      install(Room, roomMethods);
    },
    onConnected,
    onRpcInvocation,
    onStreamOpened,
    onDisconnected,
  };
};
