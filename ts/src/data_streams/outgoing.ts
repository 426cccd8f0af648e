// Sending streams, chat, DTMF and transcriptions for a LocalParticipant (its methods
// delegate here). Writers are tracked weakly so that the room can release the ones still
// open when it disconnects without pinning abandoned ones.
import { open } from 'node:fs/promises';
import type { PathLike } from 'node:fs';
import { ErrorCode, LkError, invalidArg, nativeAwait } from '../errors.js';
import type { NativeLocalParticipant, NativeStreamOptions } from '../native.js';
import { ByteStreamWriter, TextStreamWriter, releaseWriter } from './stream_writer.js';
import type { ByteStreamOptions, TextStreamInfo } from './types.js';

/** Bytes read from a file per write in sendFile (a multiple of the 15000-byte chunk). */
const FILE_READ_BYTES = 15_000 * 16;

/** @internal */
export interface StreamSendOptions {
  topic?: string;
  attributes?: Record<string, string>;
  destinationIdentities?: Array<string>;
  streamId?: string;
  name?: string;
  mimeType?: string;
  totalSize?: number;
}

function requireString(value: unknown, what: string): string {
  if (typeof value !== 'string') throw invalidArg(`${what} must be a string`);
  return value;
}

/** @internal */
export function streamOptions(o: StreamSendOptions | undefined, kind: 'text' | 'bytes'): NativeStreamOptions {
  const options = o ?? {};
  const out: NativeStreamOptions = {
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

/** @internal One LocalParticipant's outgoing streams. */
export class StreamSender {
  readonly #writers = new Set<WeakRef<TextStreamWriter | ByteStreamWriter>>();
  readonly #native: () => NativeLocalParticipant;

  constructor(nativeOf: () => NativeLocalParticipant) {
    this.#native = nativeOf;
  }

  async open(kind: 'text', options?: StreamSendOptions): Promise<TextStreamWriter>;
  async open(kind: 'bytes', options?: StreamSendOptions): Promise<ByteStreamWriter>;
  async open(kind: 'text' | 'bytes', options?: StreamSendOptions): Promise<TextStreamWriter | ByteStreamWriter> {
    const nat = await nativeAwait(this.#native().openStream(kind, streamOptions(options, kind)));
    const slot: { ref?: WeakRef<TextStreamWriter | ByteStreamWriter> } = {};
    const untrack = (): void => {
      if (slot.ref !== undefined) this.#writers.delete(slot.ref);
    };
    const w = kind === 'text' ? new TextStreamWriter(nat, untrack) : new ByteStreamWriter(nat, untrack);
    slot.ref = new WeakRef(w);
    this.#writers.add(slot.ref);
    return w;
  }

  async sendText(text: string, options?: StreamSendOptions): Promise<TextStreamInfo> {
    requireString(text, 'sendText: text');
    const info = await nativeAwait(this.#native().sendText(text, streamOptions(options, 'text')));
    const out: TextStreamInfo = {
      streamId: info.streamId,
      mimeType: info.mimeType,
      topic: info.topic,
      timestamp: info.timestamp,
    };
    if (info.totalSize != null) out.totalSize = info.totalSize;
    out.attributes = { ...info.attributes };
    return out;
  }

  async sendFile(path: PathLike, options: ByteStreamOptions = {}): Promise<void> {
    const fh = await open(path, 'r');
    try {
      const { size } = await fh.stat();
      const writer = await this.open('bytes', { ...options, totalSize: size });
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
        if (sent !== size)
          throw new LkError(ErrorCode.ERR_INVALID_STATE, `sendFile: ${String(path)} changed size while being sent`);
      } catch (err) {
        await writer.close(err instanceof Error ? err.message : String(err)).catch(() => {});
        throw err;
      }
      await writer.close();
    } finally {
      await fh.close();
    }
  }

  /** The room disconnected: release every writer still open. */
  releaseAll(): void {
    for (const ref of this.#writers) {
      const w = ref.deref();
      if (w === undefined) continue;
      try {
        releaseWriter(w);
      } catch {
        // already released
      }
    }
    this.#writers.clear();
  }
}
