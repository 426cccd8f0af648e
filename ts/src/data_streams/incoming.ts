// Receiving streams for a Room: handlers by topic (registered natively per topic, so the
// engine drops streams nobody handles) and the readers handed out, tracked weakly.
import { ErrorCode, LkError, invalidArg, nativeCall } from '../errors.js';
import type { JsRoomEvent, NativeRoom } from '../native.js';
import { ByteStreamReader, TextStreamReader, detachReader } from './stream_reader.js';
import type { ByteStreamHandler, TextStreamHandler } from './types.js';

type Kind = 'text' | 'bytes';

/** @internal One Room's incoming streams. */
export class StreamReceiver {
  readonly #text = new Map<string, TextStreamHandler>();
  readonly #bytes = new Map<string, ByteStreamHandler>();
  readonly #readers = new Set<WeakRef<TextStreamReader | ByteStreamReader>>();
  /** `RoomOptions.dataStream.maxPayloadByteLength` of the current connection. */
  maxPayloadBytes: number | undefined = undefined;

  register(nat: NativeRoom | null, kind: Kind, topic: string, callback: TextStreamHandler | ByteStreamHandler): void {
    if (typeof topic !== 'string') throw invalidArg('topic must be a string');
    if (typeof callback !== 'function') throw invalidArg('the stream handler must be a function');
    const map = kind === 'text' ? this.#text : this.#bytes;
    if (map.has(topic)) {
      throw new LkError(
        ErrorCode.ERR_INVALID_STATE,
        `A ${kind === 'text' ? 'text' : 'byte'} stream handler for topic "${topic}" has already been set.`,
      );
    }
    if (nat !== null) nativeCall(() => nat.registerStreamTopic(kind, topic));
    (map as Map<string, unknown>).set(topic, callback);
  }

  unregister(nat: NativeRoom | null, kind: Kind, topic: string): void {
    (kind === 'text' ? this.#text : this.#bytes).delete(topic);
    try {
      nat?.unregisterStreamTopic(kind, topic);
    } catch {
      // not connected: nothing registered natively
    }
  }

  /** Registers the topics of handlers set before connecting. */
  connected(nat: NativeRoom): void {
    for (const topic of this.#text.keys()) nativeCall(() => nat.registerStreamTopic('text', topic));
    for (const topic of this.#bytes.keys()) nativeCall(() => nat.registerStreamTopic('bytes', topic));
  }

  opened(ev: JsRoomEvent): void {
    const nat = ev.reader;
    if (nat == null) return;
    const kind = nat.info.kind;
    const topic = nat.info.topic;
    const identity = ev.participantIdentity ?? '';
    const fail = (err: unknown): void => {
      const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
      process.emitWarning(`lkrtc: ${kind} stream handler for topic ${JSON.stringify(topic)} threw: ${detail}`);
      void reader.close();
    };
    let reader: TextStreamReader | ByteStreamReader;
    let run: () => unknown;
    if (kind === 'text') {
      const handler = this.#text.get(topic);
      if (handler === undefined) {
        nat.dispose(); // unregistered meanwhile: dropped, as the official client does
        return;
      }
      const r = new TextStreamReader(nat, this.maxPayloadBytes);
      reader = r;
      run = () => handler(r, { identity });
    } else {
      const handler = this.#bytes.get(topic);
      if (handler === undefined) {
        nat.dispose();
        return;
      }
      const r = new ByteStreamReader(nat, this.maxPayloadBytes);
      reader = r;
      run = () => handler(r, { identity });
    }
    this.#readers.add(new WeakRef(reader));
    // Prune dead refs now and then so that the set stays small.
    if (this.#readers.size > 64) {
      for (const ref of this.#readers) if (ref.deref() === undefined) this.#readers.delete(ref);
    }
    try {
      const result = run() as { then?: unknown } | undefined;
      if (result && typeof result.then === 'function') (result as Promise<unknown>).then(undefined, fail);
    } catch (err) {
      fail(err);
    }
  }

  /** The room disconnected: readers keep what arrived and let go of their native side. */
  disconnected(): void {
    for (const ref of this.#readers) {
      const r = ref.deref();
      if (r !== undefined) detachReader(r);
    }
    this.#readers.clear();
  }
}
