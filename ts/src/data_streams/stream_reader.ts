import { ErrorCode, LkError, toLkError } from '../errors.js';
import type { JsStreamInfo, NativeStreamReader } from '../native.js';
import type { BaseStreamInfo, ByteStreamInfo, TextStreamInfo } from './types.js';

/** @internal The header as the public API shows it. */
export function publicInfo(i: JsStreamInfo): BaseStreamInfo & { name?: string } {
  const info: BaseStreamInfo & { name?: string } = {
    streamId: i.streamId,
    mimeType: i.mimeType,
    topic: i.topic,
    timestamp: i.timestamp,
  };
  if (i.totalSize !== null && i.totalSize !== undefined) info.totalSize = i.totalSize;
  info.attributes = { ...i.attributes };
  if (i.kind === 'bytes') info.name = i.name ?? 'unknown';
  return info;
}

const textDecoder = new TextDecoder();

/** @internal */
export let detachReader: (
  r: BaseStreamReader<TextStreamInfo> | BaseStreamReader<ByteStreamInfo>,
  reason?: string,
) => void;

/**
 * An incoming stream. Native handle (`liveHandles().streamReader`), released when read to
 * its end, on `close()` / `break` out of `for await`, when its handler throws, when its
 * `onProgress` callback throws (the read rejects with that error), when it exceeds
 * `RoomOptions.dataStream.maxPayloadByteLength` (`ERR_STREAM`), right after the room's
 * `disconnected` (what had arrived stays readable; an unfinished stream then ends with
 * `ERR_STREAM`), or by garbage collection if abandoned.
 */
export abstract class BaseStreamReader<T extends BaseStreamInfo> {
  #native: NativeStreamReader | null;
  readonly #info: T;
  #buffer: Buffer[] = [];
  #ended = false;
  #error: Error | undefined = undefined;
  #reading = false;
  #detachAfterRead = false;
  #bytesReceived = 0;
  readonly #maxBytes: number | undefined;
  /** Called per chunk with bytesReceived / totalSize (undefined if the total is unknown). */
  onProgress?: (progress: number | undefined) => void = undefined;

  /** @internal */
  constructor(nat: NativeStreamReader, maxBytes?: number) {
    this.#native = nat;
    this.#info = publicInfo(nat.info) as T;
    this.#maxBytes = maxBytes;
  }

  static {
    detachReader = (r, reason = 'the room disconnected') => (r as BaseStreamReader<BaseStreamInfo>).#detach(reason);
  }

  /** The stream's header: streamId, mimeType, topic, timestamp, totalSize, attributes (and name). */
  get info(): T {
    return this.#info;
  }

  /** @internal converts a received chunk */
  protected abstract convert(buf: Buffer): T extends ByteStreamInfo ? Uint8Array : string;

  /** Releases the native reader after moving what it buffered into JavaScript. */
  #detach(reason: string): void {
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
        if (b.error) this.#error = new LkError(ErrorCode.ERR_STREAM, b.error);
        else if (!b.ended)
          this.#error = new LkError(ErrorCode.ERR_STREAM, `stream ${this.#info.streamId} cut: ${reason}`);
      }
    } catch {
      this.#ended = true;
    }
    nat.dispose();
  }

  /** Ends the stream with `err` now: the native reader is released, buffered data dropped. */
  #fail(err: Error): never {
    const nat = this.#native;
    this.#native = null;
    this.#buffer = [];
    this.#ended = true;
    this.#error = err;
    if (nat !== null) nat.close();
    throw err;
  }

  async #next(): Promise<(T extends ByteStreamInfo ? Uint8Array : string) | null> {
    for (;;) {
      const buf = this.#buffer.shift();
      if (buf !== undefined) {
        this.#bytesReceived += buf.length;
        const max = this.#maxBytes;
        if (max !== undefined && this.#bytesReceived > max) {
          this.#fail(
            new LkError(
              ErrorCode.ERR_STREAM,
              `stream ${this.#info.streamId} exceeds maxPayloadByteLength (${max} bytes)`,
            ),
          );
        }
        if (typeof this.onProgress === 'function') {
          const total = this.#info.totalSize;
          try {
            this.onProgress(total ? this.#bytesReceived / total : undefined);
          } catch (err) {
            this.#fail(err instanceof Error ? err : new Error(String(err)));
          }
        }
        return this.convert(buf);
      }
      if (this.#ended || this.#native === null) {
        if (this.#error) throw this.#error;
        return null;
      }
      const nat = this.#native;
      const max = this.#maxBytes;
      const total = this.#info.totalSize;
      if (max !== undefined && total !== undefined && total > max) {
        this.#fail(
          new LkError(
            ErrorCode.ERR_STREAM,
            `stream ${this.#info.streamId} announces ${total} bytes, more than maxPayloadByteLength (${max})`,
          ),
        );
      }
      this.#reading = true;
      let chunks: Buffer[] | null;
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
        if (this.#native === nat) this.#native = null; // released natively at the end
      } else {
        for (const c of chunks) this.#buffer.push(c);
      }
      if (this.#detachAfterRead) this.#detach('the room disconnected');
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<T extends ByteStreamInfo ? Uint8Array : string> {
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
  protected async readChunks(): Promise<Array<T extends ByteStreamInfo ? Uint8Array : string>> {
    const out: Array<T extends ByteStreamInfo ? Uint8Array : string> = [];
    for (;;) {
      const c = await this.#next();
      if (c === null) return out;
      out.push(c);
    }
  }

  /** Stops reading; buffered data is dropped and the native reader released. Idempotent. */
  async close(): Promise<void> {
    const nat = this.#native;
    this.#native = null;
    this.#buffer = [];
    this.#ended = true;
    if (nat !== null) nat.close();
  }

  abstract readAll(): Promise<string | Array<Uint8Array>>;
}

/** An incoming text stream: `for await (const text of reader)` or `await reader.readAll()`. */
export class TextStreamReader extends BaseStreamReader<TextStreamInfo> {
  protected convert(buf: Buffer): string {
    return textDecoder.decode(buf);
  }
  /** The whole text; an abnormal end throws `LkError` `ERR_STREAM`. */
  async readAll(): Promise<string> {
    return (await this.readChunks()).join('');
  }
}

/** An incoming byte stream: `for await (const chunk of reader)` or `await reader.readAll()`. */
export class ByteStreamReader extends BaseStreamReader<ByteStreamInfo> {
  protected convert(buf: Buffer): Uint8Array {
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  /** Every chunk, in order; an abnormal end throws `LkError` `ERR_STREAM`. */
  async readAll(): Promise<Array<Uint8Array>> {
    return this.readChunks();
  }
}
