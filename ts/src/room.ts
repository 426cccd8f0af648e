// Room: connects, turns the native event channel into typed RoomEvents, and disposes what
// each event ends (DESIGN.md, "The handle lifecycle contract"): a remote publication after
// `trackUnpublished`, a remote track after `trackUnsubscribed`, a remote participant after
// `participantDisconnected` (anything still attached first), and everything the room holds
// after `disconnected`. Emit is synchronous, so every listener has run by then.
import { EventEmitter } from 'node:events';
import { StreamReceiver } from './data_streams/incoming.js';
import type { ByteStreamHandler, TextStreamHandler } from './data_streams/types.js';
import { E2EEManager, type E2EEOptions, mergeE2EEOptions, nativeE2EEOptions } from './e2ee.js';
import {
  type ConnectionQuality,
  ConnectionState,
  DisconnectReason,
  type DataPacketKind,
  EncryptionState,
  type EncryptionType,
  SimulateScenarioKind,
  TrackKind,
} from './enums.js';
import { ConnectError, ErrorCode, LkError, invalidArg, nativeAwait, nativeCall, toLkError } from './errors.js';
import {
  native,
  type JsRoomEvent,
  type NativeRemoteParticipant,
  type NativeRemoteTrack,
  type NativeRemoteTrackPublication,
  type NativeRoom,
  type NativeRoomDetails,
  type NativeRtcStats,
} from './native.js';
import {
  LocalParticipant,
  type Participant,
  RemoteParticipant,
  localParticipantInternal,
  remoteParticipantInternal,
} from './participant.js';
import { RoomEvent } from './room_event.js';
import {
  type LocalTrack,
  RemoteAudioTrack,
  type RemoteTrack,
  RemoteVideoTrack,
  disposeRemoteTrack,
  remoteTrackInternal,
  trackContext,
} from './track.js';
import {
  type LocalTrackPublication,
  RemoteTrackPublication,
  type TrackPublication,
  remotePublicationInternal,
} from './track_publication.js';
import { type ChatMessage, type RtcConfiguration, type TranscriptionSegment, nativeRtcConfig } from './types.js';

export { RoomEvent };

/** Options of `RoomOptions.dataStream`. */
export interface RoomDataStreamOptions {
  /**
   * Largest payload in bytes accepted for one incoming data stream; a stream that exceeds
   * it (or announces a larger size) ends with an `ERR_STREAM` error at the reader.
   */
  maxPayloadByteLength?: number;
}

/** Options of `Room.connect` (the official `RoomOptions`, all optional here). */
export interface RoomOptions {
  /** Subscribe to every published track (default true). */
  autoSubscribe?: boolean;
  /** Accepted for compatibility; lkrtc sends audio only, so there is nothing to pause. */
  dynacast?: boolean;
  /** @deprecated use `encryption` (same meaning; `encryption` wins when both are given). */
  e2ee?: E2EEOptions;
  /**
   * End-to-end encryption of tracks and data (GCM, the official format). rtc-node's
   * defaults apply to absent fields; `EncryptionType.CUSTOM` is refused (`ERR_UNSUPPORTED`).
   */
  encryption?: E2EEOptions;
  /**
   * ICE servers and policy. Bad URLs or missing TURN credentials reject with
   * `ERR_ICE_CONFIG`; so does relay-only ICE that no usable TURN server can serve.
   */
  rtcConfig?: RtcConfiguration;
  /** Data stream limits. */
  dataStream?: RoomDataStreamOptions;
  /** lkrtc: bound on the whole connect in milliseconds (default 15000). */
  connectTimeout?: number;
}

/** Listener signatures per event (the official `RoomCallbacks`, plus lkrtc's transcriptionReceived). */
export type RoomCallbacks = {
  participantConnected: (participant: RemoteParticipant) => void;
  participantDisconnected: (participant: RemoteParticipant) => void;
  localTrackPublished: (publication: LocalTrackPublication, participant: LocalParticipant) => void;
  localTrackUnpublished: (publication: LocalTrackPublication, participant: LocalParticipant) => void;
  /** A local track was published again after a full reconnect (`previousSid` was its sid). */
  localTrackRepublished: (
    publication: LocalTrackPublication,
    previousSid: string,
    participant: LocalParticipant,
  ) => void;
  localTrackSubscribed: (track: LocalTrack) => void;
  trackPublished: (publication: RemoteTrackPublication, participant: RemoteParticipant) => void;
  trackUnpublished: (publication: RemoteTrackPublication, participant: RemoteParticipant) => void;
  trackSubscribed: (track: RemoteTrack, publication: RemoteTrackPublication, participant: RemoteParticipant) => void;
  trackUnsubscribed: (track: RemoteTrack, publication: RemoteTrackPublication, participant: RemoteParticipant) => void;
  trackSubscriptionFailed: (trackSid: string, participant: RemoteParticipant, reason?: string) => void;
  trackMuted: (publication: TrackPublication, participant: Participant) => void;
  trackUnmuted: (publication: TrackPublication, participant: Participant) => void;
  activeSpeakersChanged: (speakers: Participant[]) => void;
  roomMetadataChanged: (metadata: string) => void;
  participantMetadataChanged: (metadata: string | undefined, participant: Participant) => void;
  participantNameChanged: (name: string, participant: Participant) => void;
  participantAttributesChanged: (changedAttributes: Record<string, string>, participant: Participant) => void;
  participantEncryptionStatusChanged: (isEncrypted: boolean, participant: Participant) => void;
  connectionQualityChanged: (quality: ConnectionQuality, participant: Participant) => void;
  dataReceived: (
    payload: Uint8Array,
    participant?: RemoteParticipant,
    kind?: DataPacketKind,
    topic?: string,
    encryptionType?: EncryptionType,
  ) => void;
  chatMessage: (message: ChatMessage, participant?: Participant) => void;
  dtmfReceived: (code: number, digit: string, participant: RemoteParticipant) => void;
  encryptionError: (error: Error) => void;
  /** lkrtc: a frame cryptor's new state (`trackSid` empty: a data packet that did not decrypt). */
  encryptionStateChanged: (state: EncryptionState, participantIdentity: string, trackSid: string) => void;
  connectionStateChanged: (state: ConnectionState) => void;
  connected: () => void;
  disconnected: (reason: DisconnectReason) => void;
  reconnecting: () => void;
  reconnected: () => void;
  roomSidChanged: (sid: string) => void;
  roomUpdated: () => void;
  /** The server moved this participant to another room (`room.name` is the new one). */
  moved: () => void;
  /** The server sent a fresh access token; `room.token` returns it. */
  tokenRefreshed: () => void;
  /** lkrtc addition: transcription segments of a track. */
  transcriptionReceived: (
    segments: TranscriptionSegment[],
    participant?: RemoteParticipant,
    publication?: RemoteTrackPublication,
  ) => void;
};

/** Rooms that are connected (for the global `dispose()`); connected rooms are pinned anyway. */
const connectedRooms = new Set<Room>();

/** How long `disconnect()` waits for the engine's `disconnected` event before cleaning up alone. */
const DISCONNECT_EVENT_TIMEOUT_MS = 5_000;
/** Longest timer interval Node accepts; the keep-alive timer never fires in practice. */
export const KEEP_ALIVE_MS = 2 ** 31 - 1;

function noop(): void {}

type Wrapper = RemoteParticipant | RemoteTrackPublication | RemoteTrack;
type RefKind = 'participant' | 'publication' | 'track';
type Ref = number | NativeRemoteParticipant | NativeRemoteTrackPublication | NativeRemoteTrack | null | undefined;

function wrapperId(w: Wrapper): number {
  if (w instanceof RemoteParticipant) return remoteParticipantInternal.id(w);
  if (w instanceof RemoteTrackPublication) return remotePublicationInternal.id(w);
  return remoteTrackInternal.id(w);
}

interface Closed {
  promise: Promise<void>;
  resolve: () => void;
}

/** Typed `on`/`once`/`off`/`emit` per `RoomCallbacks`. */
type EmitterMethods =
  | 'on'
  | 'once'
  | 'off'
  | 'addListener'
  | 'prependListener'
  | 'prependOnceListener'
  | 'removeListener'
  | 'removeAllListeners'
  | 'emit'
  | 'listenerCount';
type TypedEmitter = new () => Omit<EventEmitter, EmitterMethods> & {
  on<E extends keyof RoomCallbacks>(event: E, listener: RoomCallbacks[E]): Room;
  once<E extends keyof RoomCallbacks>(event: E, listener: RoomCallbacks[E]): Room;
  off<E extends keyof RoomCallbacks>(event: E, listener: RoomCallbacks[E]): Room;
  addListener<E extends keyof RoomCallbacks>(event: E, listener: RoomCallbacks[E]): Room;
  prependListener<E extends keyof RoomCallbacks>(event: E, listener: RoomCallbacks[E]): Room;
  prependOnceListener<E extends keyof RoomCallbacks>(event: E, listener: RoomCallbacks[E]): Room;
  removeListener<E extends keyof RoomCallbacks>(event: E, listener: RoomCallbacks[E]): Room;
  removeAllListeners<E extends keyof RoomCallbacks>(event?: E): Room;
  emit<E extends keyof RoomCallbacks>(event: E, ...args: Parameters<RoomCallbacks[E]>): boolean;
  listenerCount<E extends keyof RoomCallbacks>(event: E): number;
};
const RoomBase = EventEmitter as unknown as TypedEmitter;

/**
 * A LiveKit room. Create one, `connect()`, listen to `RoomEvent`s, `disconnect()`.
 * While connected the room keeps the Node process alive (like a socket); after the
 * connection ends (disconnect, server leave, connection loss) it releases everything.
 */
export class Room extends RoomBase {
  /** Remote participants by identity. */
  remoteParticipants: Map<string, RemoteParticipant> = new Map();
  /** This client, once connected (a tombstone after disconnect). */
  localParticipant?: LocalParticipant = undefined;
  /** The room's end-to-end encryption, once connected with `encryption` (or `e2ee`). */
  e2eeManager?: E2EEManager = undefined;

  #native: NativeRoom;
  #phase: 'idle' | 'connecting' | 'connected' | 'disconnected' = 'idle';
  #state: ConnectionState = ConnectionState.CONN_DISCONNECTED;
  #info: { sid?: string; name?: string; metadata?: string } = {};
  /** Engine object id -> wrapper (remote participants, publications, tracks). */
  #objects = new Map<number, Wrapper>();
  #keepAlive: NodeJS.Timeout | undefined = undefined;
  #closed: Closed | undefined = undefined;
  #connecting: Promise<void> | undefined = undefined;
  #token: string | undefined = undefined;
  #lastDetails: NativeRoomDetails | undefined = undefined;
  #url: string | undefined = undefined;
  readonly #streams = new StreamReceiver();

  constructor() {
    super();
    this.#native = nativeCall(() => new native.NativeRoom());
  }

  /** `ConnectionState` value. */
  get connectionState(): ConnectionState {
    return this.#state;
  }
  /** Room name (once connected). */
  get name(): string | undefined {
    return this.#live('name');
  }
  /** Room metadata (once connected). */
  get metadata(): string | undefined {
    return this.#live('metadata');
  }
  /** True while connected. */
  get isConnected(): boolean {
    return this.#phase === 'connected' && this.#state !== ConnectionState.CONN_DISCONNECTED;
  }
  /** The newest access token: the one connected with, or a refreshed one from the server. */
  get token(): string | undefined {
    return this.#token;
  }
  /** The URL connected to. */
  get serverUrl(): string | undefined {
    return this.#url;
  }
  /** Participants in the room as the server last counted them (join response, room updates). */
  get numParticipants(): number {
    return this.#details()?.numParticipants ?? 0;
  }
  /** Participants publishing at least one track, as the server last counted them. */
  get numPublishers(): number {
    return this.#details()?.numPublishers ?? 0;
  }
  /** When the server created the room (the epoch before connecting). */
  get creationTime(): Date {
    return new Date(this.#details()?.creationTimeMs ?? 0);
  }
  /** Whether the room is being recorded. */
  get isRecording(): boolean {
    return this.#details()?.activeRecording === true;
  }
  /** Seconds the room stays open after the last participant left. */
  get departureTimeout(): number {
    return this.#details()?.departureTimeout ?? 0;
  }
  /** Seconds an empty room stays open. */
  get emptyTimeout(): number {
    return this.#details()?.emptyTimeout ?? 0;
  }
  /** The room sid; '' before the first connection. */
  async getSid(): Promise<string> {
    return this.#info.sid ?? '';
  }

  /**
   * W3C statistics of the publisher and subscriber connections (`{ publisherStats,
   * subscriberStats }`, arrays of stats dictionaries). Rejects with `ERR_INVALID_STATE`
   * before connecting and `ERR_DISCONNECTED` after.
   */
  async getRtcStats(): Promise<NativeRtcStats> {
    return nativeAwait(nativeCall(() => this.#native.getRtcStats()));
  }

  /**
   * Test hook of the official SDK: `SIMULATE_SIGNAL_RECONNECT` drops the signal connection
   * (the room resumes), `SIMULATE_FULL_RECONNECT` rejoins; the others ask the server.
   * Rejects with `ERR_INVALID_ARG` for a value that is not a `SimulateScenarioKind`.
   */
  async simulateScenario(scenario: SimulateScenarioKind): Promise<void> {
    if (!Number.isInteger(scenario) || scenario < 0 || SimulateScenarioKind[scenario] === undefined)
      throw invalidArg(`simulateScenario: ${String(scenario)} is not a SimulateScenarioKind value`);
    await nativeAwait(nativeCall(() => this.#native.simulateScenario(scenario)));
  }

  /** The server's room details while connected (the last ones seen afterwards). */
  #details(): NativeRoomDetails | undefined {
    if (this.#phase === 'connected') {
      try {
        this.#lastDetails = this.#native.details ?? this.#lastDetails;
      } catch {
        // disposed underneath: answer from the cache
      }
    }
    return this.#lastDetails;
  }

  #live(field: 'name' | 'metadata'): string | undefined {
    if (this.#phase === 'connected') {
      try {
        const v = this.#native[field];
        if (v !== null && v !== undefined) this.#info[field] = v;
      } catch {
        // disposed underneath: answer from the cache
      }
    }
    return this.#info[field];
  }

  /** Throws `err` after freeing the native room of a room that never connected. */
  #refuse(err: ConnectError): never {
    if (this.#phase === 'idle' || this.#phase === 'disconnected') this.#native.dispose();
    throw err;
  }

  /**
   * Joins a room. Options: `autoSubscribe` (default true), `connectTimeout` (ms, default
   * 15000), `rtcConfig`, `dataStream`; `dynacast` is accepted and ignored, `encryption`
   * refused. Rejects with a `ConnectError` (an `LkError`: `ERR_INVALID_URL`,
   * `ERR_UNAUTHORIZED`, `ERR_CONNECT`, `ERR_TLS_CERTIFICATE`, `ERR_ICE_CONFIG`,
   * `ERR_TIMEOUT`, `ERR_UNSUPPORTED`...). A failed argument check frees the native room at
   * once. `wss://` trusts the platform's roots plus `NODE_EXTRA_CA_CERTS`.
   */
  async connect(url: string, token: string, opts: RoomOptions = {}): Promise<void> {
    if (this.#phase === 'connecting' || this.#phase === 'connected') {
      throw new ConnectError(ErrorCode.ERR_INVALID_STATE, `connect: the room is already ${this.#phase}`);
    }
    if (typeof url !== 'string')
      this.#refuse(new ConnectError(ErrorCode.ERR_INVALID_URL, 'connect: url must be a string'));
    if (typeof token !== 'string')
      this.#refuse(new ConnectError(ErrorCode.ERR_INVALID_ARG, 'connect: token must be a string'));
    const options: RoomOptions = opts ?? {};
    const userE2EE = options.encryption ?? options.e2ee;
    const e2ee = userE2EE ? mergeE2EEOptions(userE2EE) : undefined;
    const timeout = options.connectTimeout;
    if (timeout !== undefined && !(Number.isInteger(timeout) && timeout > 0 && timeout < 2 ** 32)) {
      this.#refuse(
        new ConnectError(ErrorCode.ERR_INVALID_ARG, 'connect: connectTimeout must be a positive integer (ms)'),
      );
    }
    const maxBytes = options.dataStream?.maxPayloadByteLength;
    if (maxBytes !== undefined && !(Number.isSafeInteger(maxBytes) && maxBytes > 0)) {
      this.#refuse(
        new ConnectError(
          ErrorCode.ERR_INVALID_ARG,
          'connect: dataStream.maxPayloadByteLength must be a positive integer',
        ),
      );
    }
    let rtcConfig;
    try {
      rtcConfig = nativeRtcConfig(options.rtcConfig);
    } catch (e) {
      this.#refuse(e as ConnectError);
    }
    // A Room can connect again after a failed connect or a disconnect: with a new handle.
    if (this.#phase === 'disconnected' || !this.#native.live) this.#native = nativeCall(() => new native.NativeRoom());
    const nat = this.#native;
    this.#phase = 'connecting';
    const attempt = (async () => {
      try {
        await nat.connect(url, token, {
          autoSubscribe: options.autoSubscribe === undefined ? true : Boolean(options.autoSubscribe),
          connectTimeoutMs: timeout,
          maxStreamPayloadBytes: maxBytes,
          encryption: e2ee && nativeE2EEOptions(e2ee),
          ...rtcConfig,
        });
      } catch (e) {
        this.#phase = 'idle';
        // A failed connect leaves nothing behind; the next connect() makes a new handle.
        nat.dispose();
        throw toLkError(e, ConnectError);
      }
      this.#url = url;
      this.#streams.maxPayloadBytes = maxBytes;
      this.e2eeManager = e2ee && new E2EEManager(nat, e2ee);
      this.#connected(nat);
    })();
    this.#connecting = attempt.catch(noop);
    try {
      await attempt;
    } finally {
      this.#connecting = undefined;
    }
  }

  #connected(nat: NativeRoom): void {
    this.#phase = 'connected';
    this.#objects = new Map();
    this.remoteParticipants = new Map();
    this.#info = { sid: nat.sid ?? undefined, name: nat.name ?? undefined, metadata: nat.metadata ?? undefined };
    this.#token = nat.token ?? undefined;
    this.localParticipant = new LocalParticipant(nativeCall(() => nat.localParticipant()));
    this.#intake(...nativeCall(() => nat.remoteParticipants()).map((ref): [Ref, RefKind] => [ref, 'participant']));
    let resolveClosed = noop;
    const promise = new Promise<void>((res) => {
      resolveClosed = res;
    });
    this.#closed = { promise, resolve: resolveClosed };
    this.#keepAlive = setInterval(noop, KEEP_ALIVE_MS);
    connectedRooms.add(this);
    this.#streams.connected(nat);
    nativeCall(() => nat.startEvents((ev) => this.#onEvent(ev)));
    this.#setState(ConnectionState.CONN_CONNECTED);
    this.#emit(RoomEvent.Connected);
  }

  /**
   * Leaves the room. Resolves after `disconnected` has been emitted, everything the room
   * held is disposed, and every listener removed (as the official SDK does). Idempotent;
   * on a room that never connected it only releases the native room.
   */
  async disconnect(): Promise<void> {
    if (this.#phase === 'connecting') await this.#connecting;
    if (this.#phase === 'idle') {
      this.#native.dispose();
      return;
    }
    if (this.#phase === 'disconnected') return;
    const nat = this.#native;
    const closed = this.#closed!;
    try {
      await nat.disconnect();
    } catch {
      // The engine's disconnect does not fail; cleanup below happens regardless.
    }
    // The bridge always delivers `disconnected` last (src/event_bridge.rs); bounded wait.
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'timeout'>((res) => {
      timer = setTimeout(res, DISCONNECT_EVENT_TIMEOUT_MS, 'timeout');
    });
    const outcome = await Promise.race([closed.promise, expired]);
    clearTimeout(timer);
    if (outcome === 'timeout' && this.#native === nat && this.#phase === 'connected') {
      this.#disconnected(DisconnectReason.CLIENT_INITIATED);
    }
    if ((this.#phase as string) === 'disconnected') this.removeAllListeners();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.disconnect();
  }

  // --- data streams -----------------------------------------------------------------------

  #nativeIfConnected(): NativeRoom | null {
    return this.isConnected && this.#native.live ? this.#native : null;
  }

  /** Handles incoming text streams on `topic`; throws (`ERR_INVALID_STATE`) if the topic already has one. May be called before connect. */
  registerTextStreamHandler(topic: string, callback: TextStreamHandler): void {
    this.#streams.register(this.#nativeIfConnected(), 'text', topic, callback);
  }
  unregisterTextStreamHandler(topic: string): void {
    this.#streams.unregister(this.#phase === 'connected' ? this.#native : null, 'text', topic);
  }
  /** Handles incoming byte streams on `topic`; throws (`ERR_INVALID_STATE`) if the topic already has one. May be called before connect. */
  registerByteStreamHandler(topic: string, callback: ByteStreamHandler): void {
    this.#streams.register(this.#nativeIfConnected(), 'bytes', topic, callback);
  }
  unregisterByteStreamHandler(topic: string): void {
    this.#streams.unregister(this.#phase === 'connected' ? this.#native : null, 'bytes', topic);
  }

  // --- events -----------------------------------------------------------------------------

  #setState(state: ConnectionState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#emit(RoomEvent.ConnectionStateChanged, state);
  }

  /** Emits, keeping our bookkeeping going if a listener throws (rethrown asynchronously). */
  #emit(name: RoomEvent, ...args: unknown[]): void {
    try {
      (this as EventEmitter).emit(name, ...args);
    } catch (err) {
      process.nextTick(() => {
        throw err;
      });
    }
  }

  // The native side sends an engine object either as its id (we already hold a live
  // native instance for it) or as a new native instance (first sight, or the previous one
  // was disposed). `#intake` first registers every reference of an event, then adopts the
  // children of what is new (a new participant's publications, a new publication's
  // track), so that ids sent for objects introduced by the same event resolve.

  #take(ref: Ref, kind: RefKind, fresh: Wrapper[]): Wrapper | undefined {
    if (ref === null || ref === undefined) return undefined;
    if (typeof ref === 'number') return this.#objects.get(ref);
    const existing = this.#objects.get(ref.id);
    if (existing !== undefined) {
      if (existing instanceof RemoteParticipant)
        remoteParticipantInternal.attach(existing, ref as NativeRemoteParticipant);
      else if (existing instanceof RemoteTrackPublication)
        remotePublicationInternal.attach(existing, ref as NativeRemoteTrackPublication);
      else remoteTrackInternal.attach(existing, ref as NativeRemoteTrack);
      return existing;
    }
    let w: Wrapper;
    if (kind === 'participant') w = new RemoteParticipant(ref as NativeRemoteParticipant);
    else if (kind === 'publication') w = new RemoteTrackPublication(ref as NativeRemoteTrackPublication);
    else {
      const t = ref as NativeRemoteTrack;
      w = t.info().kind === TrackKind.KIND_VIDEO ? new RemoteVideoTrack(t) : new RemoteAudioTrack(t);
    }
    this.#objects.set(ref.id, w);
    fresh.push(w);
    return w;
  }

  #adopt(w: Wrapper, fresh: Wrapper[]): void {
    if (w instanceof RemoteParticipant) {
      this.remoteParticipants.set(w.identity, w);
      const nat = remoteParticipantInternal.native(w);
      if (nat === null) return;
      for (const ref of nativeCall(() => nat.trackPublications())) {
        const pub = this.#take(ref, 'publication', fresh);
        if (pub instanceof RemoteTrackPublication) w.trackPublications.set(pub.sid!, pub);
      }
    } else if (w instanceof RemoteTrackPublication) {
      const nat = remotePublicationInternal.native(w);
      if (nat === null) return;
      const track = this.#take(
        nativeCall(() => nat.track()),
        'track',
        fresh,
      );
      if (track !== undefined) remotePublicationInternal.setTrack(w, track as RemoteTrack);
    }
  }

  /** Resolves `[ref, kind]` pairs to wrappers (see above). */
  #intake(...pairs: Array<[Ref, RefKind]>): Array<Wrapper | undefined> {
    const fresh: Wrapper[] = [];
    const out = pairs.map(([ref, kind]) => this.#take(ref, kind, fresh));
    for (let i = 0; i < fresh.length; i++) this.#adopt(fresh[i]!, fresh);
    return out;
  }

  #forget(w: Wrapper): void {
    this.#objects.delete(wrapperId(w));
  }

  #disposePublication(pub: RemoteTrackPublication): void {
    if (pub.track !== undefined) this.#forget(pub.track);
    remotePublicationInternal.dispose(pub);
    this.#forget(pub);
  }

  #disposeTrack(track: RemoteTrack): void {
    disposeRemoteTrack(track);
    this.#forget(track);
  }

  #disposeParticipant(p: RemoteParticipant): void {
    for (const pub of p.trackPublications.values()) this.#disposePublication(pub);
    remoteParticipantInternal.dispose(p);
    this.#forget(p);
  }

  #onEvent(ev: JsRoomEvent | null | undefined): void {
    if (ev === null || ev === undefined) return; // an engine event not bound yet (src/event_bridge.rs)
    if (this.#phase !== 'connected') {
      // Late event after a forced cleanup: free what it carries, deliver nothing.
      for (const ref of [ev.participant, ev.publication, ev.track, ev.reader]) {
        if (ref !== null && typeof ref === 'object') ref.dispose();
      }
      return;
    }
    const [pw, pubw, trackw] = this.#intake(
      [ev.participant, 'participant'],
      [ev.publication, 'publication'],
      [ev.track, 'track'],
    );
    const p = pw as RemoteParticipant | undefined;
    const pub = pubw as RemoteTrackPublication | undefined;
    const track = trackw as RemoteTrack | undefined;
    const who: Participant | undefined = ev.local ? this.localParticipant : p;
    const extra = ev as JsRoomEvent & { quality?: number; message2?: string; isEncrypted?: boolean; error?: string };
    const missing = (what: string): void => process.emitWarning(`lkrtc: ${ev.type} event for an unknown ${what}`);
    switch (ev.type) {
      case 'participantConnected':
        if (p === undefined) return missing('participant');
        this.#emit(RoomEvent.ParticipantConnected, p);
        break;
      case 'participantDisconnected':
        if (p === undefined) return missing('participant');
        if (this.remoteParticipants.get(p.identity) === p) this.remoteParticipants.delete(p.identity);
        try {
          this.#emit(RoomEvent.ParticipantDisconnected, p);
        } finally {
          this.#disposeParticipant(p);
        }
        break;
      case 'trackPublished':
        if (p === undefined || pub === undefined) return missing('participant or publication');
        p.trackPublications.set(pub.sid!, pub);
        this.#emit(RoomEvent.TrackPublished, pub, p);
        break;
      case 'trackUnpublished':
        if (p === undefined || pub === undefined) return missing('participant or publication');
        if (p.trackPublications.get(pub.sid!) === pub) p.trackPublications.delete(pub.sid!);
        try {
          this.#emit(RoomEvent.TrackUnpublished, pub, p);
        } finally {
          this.#disposePublication(pub);
        }
        break;
      case 'trackSubscribed':
        if (p === undefined || pub === undefined || track === undefined)
          return missing('participant, publication or track');
        p.trackPublications.set(pub.sid!, pub);
        remotePublicationInternal.setTrack(pub, track);
        trackContext.set(track, {
          roomName: () => this.name ?? '',
          participantIdentity: p.identity,
          publicationSid: pub.sid!,
          credentials: () => ({ url: this.#url, token: this.#token }),
        });
        this.#emit(RoomEvent.TrackSubscribed, track, pub, p);
        break;
      case 'trackUnsubscribed':
        if (p === undefined || pub === undefined || track === undefined)
          return missing('participant, publication or track');
        if (pub.track === track) remotePublicationInternal.setTrack(pub, undefined);
        try {
          this.#emit(RoomEvent.TrackUnsubscribed, track, pub, p);
        } finally {
          this.#disposeTrack(track);
        }
        break;
      case 'trackSubscriptionFailed':
        if (p === undefined) return missing('participant');
        this.#emit(
          RoomEvent.TrackSubscriptionFailed,
          ev.trackSid ?? ev.publicationSid ?? '',
          p,
          extra.error ?? undefined,
        );
        break;
      case 'trackMuted':
      case 'trackUnmuted': {
        const mutedPub = who?.trackPublications.get(ev.publicationSid ?? '');
        if (mutedPub === undefined) return missing(`publication ${ev.publicationSid}`);
        this.#emit(ev.type === 'trackMuted' ? RoomEvent.TrackMuted : RoomEvent.TrackUnmuted, mutedPub, who);
        break;
      }
      case 'dataReceived':
        this.#emit(RoomEvent.DataReceived, ev.payload, p, ev.dataKind, ev.topic ?? undefined);
        break;
      case 'activeSpeakersChanged': {
        const speakers = (ev.speakers ?? []).map((sp) =>
          sp.local ? this.localParticipant : this.#intake([sp.participant, 'participant'])[0],
        );
        this.#emit(
          RoomEvent.ActiveSpeakersChanged,
          speakers.filter((x) => x !== undefined),
        );
        break;
      }
      case 'chatMessage': {
        const m = ev.message;
        if (m === undefined) return missing('message');
        const message: ChatMessage = { id: m.id, message: m.message, timestamp: m.timestamp, generated: m.generated };
        if (m.editTimestamp !== null && m.editTimestamp !== undefined) message.editTimestamp = m.editTimestamp;
        if (m.deleted) message.deleted = true;
        this.#emit(RoomEvent.ChatMessage, message, p);
        break;
      }
      case 'dtmfReceived':
        this.#emit(RoomEvent.DtmfReceived, ev.code, ev.digit, p);
        break;
      case 'transcriptionReceived':
        this.#emit(
          RoomEvent.TranscriptionReceived,
          (ev.segments ?? []).map((sg) => ({ ...sg })),
          p,
          p?.trackPublications.get(ev.trackSid ?? ''),
        );
        break;
      case 'connectionQualityChanged':
        if (who === undefined) return missing('participant');
        this.#emit(RoomEvent.ConnectionQualityChanged, extra.quality, who);
        break;
      case 'participantEncryptionStatusChanged':
        if (who === undefined) return missing('participant');
        this.#emit(RoomEvent.ParticipantEncryptionStatusChanged, extra.isEncrypted === true, who);
        break;
      case 'encryptionStateChanged':
        this.#encryptionState(ev);
        break;
      case 'connectionStateChanged':
        this.#setState(ev.state as ConnectionState);
        break;
      case 'reconnecting':
        this.#emit(RoomEvent.Reconnecting);
        break;
      case 'reconnected':
        // A full reconnect gives this participant, and those who stayed, new sids.
        if (this.localParticipant !== undefined) localParticipantInternal.refresh(this.localParticipant);
        for (const p of this.remoteParticipants.values()) remoteParticipantInternal.refresh(p);
        this.#emit(RoomEvent.Reconnected);
        break;
      case 'roomSidChanged':
        this.#info.sid = ev.newValue ?? this.#info.sid;
        this.#emit(RoomEvent.RoomSidChanged, this.#info.sid ?? '');
        break;
      case 'roomUpdated':
        this.#emit(RoomEvent.RoomUpdated);
        break;
      case 'tokenRefreshed':
        this.#token = ev.newValue;
        this.#emit(RoomEvent.TokenRefreshed);
        break;
      case 'moved':
        this.#info.sid = ev.oldValue;
        this.#info.name = ev.newValue;
        this.#emit(RoomEvent.Moved);
        break;
      case 'roomMetadataChanged':
        this.#info.metadata = ev.newValue;
        this.#emit(RoomEvent.RoomMetadataChanged, ev.newValue);
        break;
      case 'participantMetadataChanged':
        if (who === undefined) return missing('participant');
        this.#emit(RoomEvent.ParticipantMetadataChanged, ev.newValue, who);
        break;
      case 'participantNameChanged':
        if (who === undefined) return missing('participant');
        this.#emit(RoomEvent.ParticipantNameChanged, ev.newValue, who);
        break;
      case 'participantAttributesChanged':
        if (who === undefined) return missing('participant');
        this.#emit(RoomEvent.ParticipantAttributesChanged, { ...ev.changed }, who);
        break;
      case 'localTrackPublished':
      case 'localTrackUnpublished':
      case 'localTrackSubscribed':
      case 'localTrackRepublished':
        if (this.localParticipant !== undefined) {
          localParticipantInternal.trackEvent(this.localParticipant, ev, (name, ...args) => this.#emit(name, ...args));
        }
        break;
      case 'rpcInvocation':
        if (this.localParticipant !== undefined && ev.rpc != null)
          localParticipantInternal.rpcInvocation(this.localParticipant, ev.rpc);
        break;
      case 'streamOpened':
        this.#streams.opened(ev);
        break;
      case 'disconnected':
        this.#disconnected(ev.reason ?? DisconnectReason.UNKNOWN_REASON);
        break;
      default:
        process.emitWarning(`lkrtc: unknown room event ${JSON.stringify(ev.type)} (native/JS version mismatch?)`);
    }
  }

  /**
   * The end of a connection: emit, then dispose everything the room held. What belongs to
   * this connection is captured first, so that a listener may call connect() again.
   */
  /** `encryptionStateChanged`, and `encryptionError` for the failure states. */
  #encryptionState(ev: JsRoomEvent): void {
    const state = (ev.encryptionState ?? EncryptionState.NEW) as EncryptionState;
    const identity = ev.participantIdentity ?? '';
    const trackSid = ev.trackSid ?? '';
    this.#emit(RoomEvent.EncryptionStateChanged, state, identity, trackSid);
    const failed = [
      EncryptionState.ENCRYPTION_FAILED,
      EncryptionState.DECRYPTION_FAILED,
      EncryptionState.MISSING_KEY,
      EncryptionState.INTERNAL_ERROR,
    ];
    if (!failed.includes(state)) return;
    const what = trackSid ? `track ${trackSid}` : 'a data packet';
    const error = new LkError(
      ErrorCode.ERR_ENCRYPTION,
      `end-to-end encryption: ${EncryptionState[state]} for ${what} of participant ${JSON.stringify(identity)}`,
    );
    this.#emit(RoomEvent.EncryptionError, Object.assign(error, { state, participantIdentity: identity, trackSid }));
  }

  #disconnected(reason: DisconnectReason): void {
    if (this.#phase !== 'connected') return;
    this.#phase = 'disconnected';
    const nat = this.#native;
    const closed = this.#closed;
    const keepAlive = this.#keepAlive;
    const local = this.localParticipant;
    const remotes = [...this.remoteParticipants.values()];
    const objects = this.#objects;
    try {
      this.#setState(ConnectionState.CONN_DISCONNECTED);
      this.#emit(RoomEvent.Disconnected, reason);
    } finally {
      for (const p of remotes) p.dispose();
      // Anything the maps no longer reach (should be nothing) is swept too.
      for (const w of objects.values()) {
        if (w instanceof RemoteParticipant) remoteParticipantInternal.dispose(w);
        else if (w instanceof RemoteTrackPublication) remotePublicationInternal.dispose(w);
        else disposeRemoteTrack(w);
      }
      objects.clear();
      if (this.#objects === objects) this.remoteParticipants.clear();
      this.#streams.disconnected();
      if (local !== undefined) localParticipantInternal.disconnected(local);
      nat.dispose();
      clearInterval(keepAlive);
      if (this.#keepAlive === keepAlive) this.#keepAlive = undefined;
      // A listener may have connected again meanwhile.
      if ((this.#phase as string) === 'disconnected') connectedRooms.delete(this);
      closed?.resolve();
    }
  }
}

/**
 * For compatibility with @livekit/rtc-node: disconnects every room still connected.
 * Never needed for the process to exit.
 */
export async function dispose(): Promise<void> {
  await Promise.allSettled([...connectedRooms].map((r) => r.disconnect()));
}
