import { ErrorCode, LkError, invalidArg, nativeAwait } from '../errors.js';
import type { NativeStreamWriter } from '../native.js';
import { publicInfo } from './stream_reader.js';
import type { BaseStreamInfo, ByteStreamInfo, TextStreamInfo } from './types.js';

/** @internal */
export let releaseWriter: (w: BaseStreamWriter<unknown, BaseStreamInfo>) => void;

/** An outgoing stream (`liveHandles().streamWriter` until closed or the room disconnects). */
export abstract class BaseStreamWriter<T, InfoType extends BaseStreamInfo> {
  readonly #native: NativeStreamWriter;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  readonly #untrack: () => void;
  /** The stream's header. */
  readonly info: InfoType;

  /** @internal */
  constructor(nat: NativeStreamWriter, untrack: () => void) {
    this.#native = nat;
    this.#untrack = untrack;
    this.info = publicInfo(nat.info) as InfoType;
  }

  static {
    releaseWriter = (w) => {
      w.#closed = true;
      w.#native.dispose();
    };
  }

  /** @internal Queues `bytes` behind earlier writes (writes go out in call order). */
  protected writeBytes(bytes: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(new LkError(ErrorCode.ERR_INVALID_STATE, 'the stream writer is closed'));
    const nat = this.#native;
    const p = this.#queue.then(() => nativeAwait(nat.write(bytes)));
    this.#queue = p.catch(() => {});
    return p;
  }

  /** Sends `chunk` (split into ≤ 15000-byte chunks; text never inside a character). */
  abstract write(chunk: T): Promise<void>;

  /** Ends the stream (sends the trailer) and releases the writer; a `reason` makes receivers fail with it. Idempotent. */
  async close(reason?: string): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#untrack();
    await this.#queue;
    await nativeAwait(this.#native.close(reason === undefined ? undefined : String(reason)));
  }
}

const textEncoder = new TextEncoder();

/** An outgoing text stream (streamText): `write(text)`, then `close()`. */
export class TextStreamWriter extends BaseStreamWriter<string, TextStreamInfo> {
  async write(text: string): Promise<void> {
    if (typeof text !== 'string') throw invalidArg('TextStreamWriter.write: text must be a string');
    await this.writeBytes(textEncoder.encode(text));
  }
}

/** An outgoing byte stream (streamBytes): `write(bytes)`, then `close()`. */
export class ByteStreamWriter extends BaseStreamWriter<Uint8Array, ByteStreamInfo> {
  async write(chunk: Uint8Array): Promise<void> {
    if (!ArrayBuffer.isView(chunk)) throw invalidArg('ByteStreamWriter.write: chunk must be a Uint8Array');
    // Copied now: the native write runs later (writes are queued), and the caller may
    // reuse its buffer as soon as this call returns.
    await this.writeBytes(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength).slice());
  }
}
