// Participants. `Participant` holds the getters both kinds share (live while the native
// side exists, from the tombstone after); LocalParticipant sends data, publishes tracks and
// answers RPCs; RemoteParticipant is maintained by its Room.
import type { PathLike } from 'node:fs';
import { ByteStreamWriter, TextStreamWriter } from './data_streams/index.js';
import { StreamSender } from './data_streams/outgoing.js';
import type { BaseStreamInfo, ByteStreamOptions } from './data_streams/types.js';
import type { DisconnectReason, ParticipantKind, ParticipantKindDetail } from './enums.js';
import { RoomEvent } from './room_event.js';
import { invalidArg, nativeAwait, nativeCall, unsupported } from './errors.js';
import { NativeSlot } from './handle.js';
import {
  native,
  type JsRoomEvent,
  type JsRpcInvocation,
  type NativeLocalAudioTrack,
  type NativeLocalParticipant,
  type NativeLocalVideoTrack,
  type NativeRemoteParticipant,
  type ParticipantInfo,
} from './native.js';
import { type PerformRpcParams, RpcEndpoint, type RpcInterceptor, type RpcInvocationData } from './rpc.js';
import { LocalMediaTrack, type LocalTrack, localTrackInternal, LocalVideoTrack } from './track.js';
import {
  LocalTrackPublication,
  type RemoteTrackPublication,
  type TrackPublication,
  disposeLocalPublication,
  refreshLocalPublication,
  remotePublicationInternal,
} from './track_publication.js';
import type { ChatMessage, Transcription } from './types.js';
import { TrackPublishOptions } from './types.js';

type ParticipantNative = NativeLocalParticipant | NativeRemoteParticipant;

/**
 * Common participant fields. After disposal (the participant left, the room
 * disconnected, or `dispose()`), the getters keep answering with the last values.
 */
export abstract class Participant {
  readonly #slot: NativeSlot<ParticipantNative, ParticipantInfo>;
  /** Publications by track sid. */
  trackPublications: Map<string, TrackPublication> = new Map();

  /** @internal */
  constructor(nat: ParticipantNative, what: string) {
    this.#slot = new NativeSlot<ParticipantNative, ParticipantInfo>(nat, what);
  }

  /** @internal */
  protected get slot(): NativeSlot<ParticipantNative, ParticipantInfo> {
    return this.#slot;
  }

  /** Participant sid (`PA_...`). */
  get sid(): string | undefined {
    return this.#slot.info.sid;
  }
  /** Identity from the access token. */
  get identity(): string {
    return this.#slot.info.identity;
  }
  /** Display name. */
  get name(): string | undefined {
    return this.#slot.read('name');
  }
  /** Metadata. */
  get metadata(): string {
    return this.#slot.read('metadata');
  }
  /** Attributes. */
  get attributes(): Record<string, string> {
    return { ...this.#slot.read('attributes') };
  }
  /** `ParticipantKind` value. */
  get kind(): ParticipantKind {
    return this.#slot.info.kind as ParticipantKind;
  }
  /** Finer kinds (cloud agent, forwarded...), when the server reports them. */
  get kindDetails(): ParticipantKindDetail[] {
    const details = (this.#slot.info as { kindDetails?: number[] }).kindDetails;
    return Array.isArray(details) ? [...details] : [];
  }
  /** Why the participant left, once it did (when the server says). */
  get disconnectReason(): DisconnectReason | undefined {
    return (this.#slot.info as { disconnectReason?: number }).disconnectReason ?? undefined;
  }
  /** True once disposed (a tombstone). */
  get isDisposed(): boolean {
    return this.#slot.disposed;
  }
}

/** @internal */
export let remoteParticipantInternal: {
  id(p: RemoteParticipant): number;
  native(p: RemoteParticipant): NativeRemoteParticipant | null;
  attach(p: RemoteParticipant, nat: NativeRemoteParticipant): void;
  dispose(p: RemoteParticipant): void;
  /** Re-reads its info (a rejoin of ours or its own gives it a new sid). */
  refresh(p: RemoteParticipant): void;
};

/** Another participant of the room. */
export class RemoteParticipant extends Participant {
  /** Its publications by track sid; the same objects as in every event. */
  declare trackPublications: Map<string, RemoteTrackPublication>;
  readonly #id: number;

  /** @internal */
  constructor(nat: NativeRemoteParticipant) {
    super(nat, 'RemoteParticipant');
    this.#id = nat.id;
  }

  static {
    remoteParticipantInternal = {
      id: (p) => p.#id,
      native: (p) => p.slot.native as NativeRemoteParticipant | null,
      attach: (p, nat) => p.slot.attach(nat),
      dispose: (p) => p.slot.dispose(),
      refresh: (p) => {
        p.slot.refresh();
      },
    };
  }

  /** Frees the native side now (idempotent). The room also does it when the participant leaves. */
  dispose(): void {
    for (const pub of this.trackPublications.values()) remotePublicationInternal.dispose(pub);
    this.slot.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** Options of `LocalParticipant.publishData` (the official names). */
export type DataPublishOptions = {
  /** Reliable (ordered, retransmitted) or lossy; default false (lossy), as the official SDK. */
  reliable?: boolean;
  /** Deliver only to these identities (default: everyone). */
  destination_identities?: string[];
  /** The topic under which the message is published. */
  topic?: string;
};

/** @internal */
export let localParticipantNative: (p: LocalParticipant) => NativeLocalParticipant;
/** @internal */
export let localParticipantInternal: {
  /** A local-track event of the room. */
  trackEvent(p: LocalParticipant, ev: JsRoomEvent, emit: (name: RoomEvent, ...args: unknown[]) => void): void;
  rpcInvocation(p: LocalParticipant, inv: JsRpcInvocation): void;
  /** The room disconnected: free every publication, answer pending RPCs, release writers, dispose. */
  disconnected(p: LocalParticipant): void;
  /** The room reconnected: re-read the participant's info (a rejoin gives it a new sid). */
  refresh(p: LocalParticipant): void;
};

function stringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

/** This client, as a participant of the room. */
export class LocalParticipant extends Participant {
  /** Local publications by track sid. */
  declare trackPublications: Map<string, LocalTrackPublication>;
  readonly #rpc = new RpcEndpoint(() => this.slot.require() as NativeLocalParticipant);
  readonly #streams = new StreamSender(() => this.slot.require() as NativeLocalParticipant);
  // Local-track event bookkeeping: the engine's localTrackPublished may cross before
  // publishTrack() resolves (early), and localTrackUnpublished after unpublishTrack() did.
  readonly #early = new Set<string>();
  readonly #announced = new Set<string>();
  readonly #unpublishing = new Map<string, LocalTrackPublication>();
  readonly #gone = new Map<string, LocalTrackPublication>();
  #emit: ((name: RoomEvent, ...args: unknown[]) => void) | undefined = undefined;

  /** @internal */
  constructor(nat: NativeLocalParticipant) {
    super(nat, 'LocalParticipant');
  }

  static {
    localParticipantNative = (p) => p.slot.require() as NativeLocalParticipant;
    localParticipantInternal = {
      trackEvent: (p, ev, emit) => p.#trackEvent(ev, emit),
      rpcInvocation: (p, inv) => p.#rpc.handle(inv),
      refresh: (p) => {
        p.slot.refresh();
      },
      disconnected: (p) => {
        for (const pub of p.trackPublications.values()) disposeLocalPublication(pub);
        p.trackPublications.clear();
        p.#rpc.cancelAll();
        p.#streams.releaseAll();
        p.slot.dispose();
      },
    };
  }

  #native(): NativeLocalParticipant {
    return this.slot.require() as NativeLocalParticipant;
  }

  /**
   * Sends a user data packet to the room, or to `destination_identities`.
   * `reliable` defaults to false (lossy), as in @livekit/rtc-node. Reliable packets
   * arrive in call order.
   */
  async publishData(data: Uint8Array, options: DataPublishOptions = {}): Promise<void> {
    if (!ArrayBuffer.isView(data)) throw invalidArg('publishData: data must be a Uint8Array');
    if (options === null || typeof options !== 'object') throw invalidArg('publishData: options must be an object');
    const destinations =
      options.destination_identities ?? (options as { destinationIdentities?: unknown }).destinationIdentities;
    if (destinations !== undefined && !stringArray(destinations)) {
      throw invalidArg('publishData: destination_identities must be an array of strings');
    }
    if (options.topic !== undefined && typeof options.topic !== 'string')
      throw invalidArg('publishData: topic must be a string');
    const view: ArrayBufferView = data;
    const bytes = view instanceof Uint8Array ? view : new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    const nat = this.#native();
    await nativeAwait(
      nat.publishData(bytes, {
        reliable: options.reliable === undefined ? undefined : Boolean(options.reliable),
        destinationIdentities: destinations,
        topic: options.topic,
      }),
    );
  }

  /** Sets this participant's metadata (the token needs `canUpdateOwnMetadata`). */
  async updateMetadata(metadata: string): Promise<void> {
    if (typeof metadata !== 'string') throw invalidArg('updateMetadata: metadata must be a string');
    await nativeAwait(this.#native().setMetadata(metadata));
  }

  /** Sets this participant's name (the token needs `canUpdateOwnMetadata`). */
  async updateName(name: string): Promise<void> {
    if (typeof name !== 'string') throw invalidArg('updateName: name must be a string');
    await nativeAwait(this.#native().setName(name));
  }

  /** Merges attributes; an empty value deletes a key. Needs `canUpdateOwnMetadata`. */
  async setAttributes(attributes: Record<string, string>): Promise<void> {
    if (attributes === null || typeof attributes !== 'object') {
      throw invalidArg('setAttributes: attributes must be an object of strings');
    }
    for (const [k, v] of Object.entries(attributes)) {
      if (typeof v !== 'string') throw invalidArg(`setAttributes: attribute ${k} is not a string`);
    }
    await nativeAwait(this.#native().setAttributes({ ...attributes }));
  }

  // --- tracks ---------------------------------------------------------------------------

  /**
   * Publishes a LocalAudioTrack or LocalVideoTrack; resolves with its LocalTrackPublication
   * once the server accepted it. Video: `videoCodec` VP8 (default) or H264,
   * `videoEncoding.maxBitrate`/`maxFramerate`; `simulcast` (default true, as the official
   * SDK): up to three layers (q/h/f, LiveKit's presets; fewer for sources under 960 px,
   * one under 480 px), each encoded from the same capture.
   */
  async publishTrack(
    track: LocalTrack,
    options: TrackPublishOptions | Partial<TrackPublishOptions> = new TrackPublishOptions(),
  ): Promise<LocalTrackPublication> {
    if (!(track instanceof LocalMediaTrack)) {
      throw invalidArg('publishTrack: track must be a LocalAudioTrack or LocalVideoTrack');
    }
    const opts = options ?? {};
    const source = opts.source;
    if (source !== undefined && !(Number.isInteger(source) && source >= 0)) {
      throw invalidArg('publishTrack: options.source must be a TrackSource value');
    }
    const video = track instanceof LocalVideoTrack;
    const pn = this.#native();
    const tn = localTrackInternal.native(track);
    const encoding = opts.videoEncoding;
    const nativeOptions = {
      source,
      dtx: opts.dtx === undefined ? undefined : Boolean(opts.dtx),
      red: opts.red === undefined ? undefined : Boolean(opts.red),
      stream: typeof opts.stream === 'string' ? opts.stream : undefined,
      videoCodec: opts.videoCodec,
      maxBitrate: encoding?.maxBitrate === undefined ? undefined : Number(encoding.maxBitrate),
      maxFramerate: encoding?.maxFramerate,
      simulcast: video && opts.simulcast !== false,
    };
    const natPub = await nativeAwait(
      nativeCall(() =>
        video
          ? native.publishLocalVideoTrack(pn, tn as NativeLocalVideoTrack, nativeOptions)
          : native.publishLocalTrack(pn, tn as NativeLocalAudioTrack, nativeOptions),
      ),
    );
    const pub = new LocalTrackPublication(natPub, track);
    const sid = pub.sid!;
    if (this.isDisposed) {
      // The room went away while publishing: nothing to keep.
      disposeLocalPublication(pub);
      return pub;
    }
    this.trackPublications.set(sid, pub);
    localTrackInternal.published(track, this, sid);
    if (this.#early.delete(sid)) this.#announce(pub);
    return pub;
  }

  /**
   * Unpublishes a track; its publication is disposed when this resolves. The track is
   * disposed too unless `stopOnUnpublish` is false: then it stays usable and can be
   * published again.
   */
  async unpublishTrack(trackSid: string, stopOnUnpublish = true): Promise<void> {
    const sid = typeof trackSid === 'string' ? trackSid : (trackSid as { sid?: unknown } | null)?.sid;
    if (typeof sid !== 'string') throw invalidArg('unpublishTrack: sid must be a string');
    const pn = this.#native();
    const pub = this.trackPublications.get(sid);
    if (pub !== undefined) this.#unpublishing.set(sid, pub);
    try {
      await nativeAwait(nativeCall(() => native.unpublishLocalTrack(pn, sid)));
    } finally {
      this.#unpublishing.delete(sid);
    }
    if (pub !== undefined) {
      if (this.trackPublications.get(sid) === pub) this.trackPublications.delete(sid);
      // The event may not have crossed yet: keep the tombstone for it.
      if (this.#announced.has(sid)) this.#gone.set(sid, pub);
      const keep = stopOnUnpublish === false;
      if (keep && pub.track instanceof LocalMediaTrack) localTrackInternal.unpublished(pub.track);
      disposeLocalPublication(pub, keep);
    }
  }

  #announce(pub: LocalTrackPublication): void {
    const sid = pub.sid!;
    if (this.#announced.has(sid)) return;
    this.#announced.add(sid);
    this.#emit?.(RoomEvent.LocalTrackPublished, pub, this);
  }

  #trackEvent(ev: JsRoomEvent, emit: (name: RoomEvent, ...args: unknown[]) => void): void {
    this.#emit = emit;
    const sid = ev.publicationSid ?? '';
    switch (ev.type) {
      case 'localTrackPublished': {
        const pub = this.trackPublications.get(sid);
        if (pub === undefined) this.#early.add(sid);
        else this.#announce(pub);
        break;
      }
      case 'localTrackUnpublished': {
        // From #gone: unpublishTrack() already resolved and disposed it (keeping the track
        // if asked to); the event only remains to be emitted.
        const gone = this.#gone.get(sid);
        const pub = this.trackPublications.get(sid) ?? gone ?? this.#unpublishing.get(sid);
        this.#gone.delete(sid);
        this.#early.delete(sid);
        if (pub === undefined) return;
        this.#announced.delete(sid);
        try {
          emit(RoomEvent.LocalTrackUnpublished, pub, this);
        } finally {
          if (!this.#unpublishing.has(sid) && gone === undefined) {
            // Not through unpublishTrack(): dispose now.
            if (this.trackPublications.get(sid) === pub) this.trackPublications.delete(sid);
            disposeLocalPublication(pub);
          }
        }
        break;
      }
      case 'localTrackSubscribed': {
        const pub = this.trackPublications.get(sid);
        if (pub !== undefined) emit(RoomEvent.LocalTrackSubscribed, pub.track);
        break;
      }
      case 'localTrackRepublished': {
        // After a full reconnect: the same publication under the sid the server gave now.
        const previousSid = ev.oldValue ?? '';
        const pub = this.trackPublications.get(previousSid);
        if (pub === undefined) return;
        refreshLocalPublication(pub);
        this.trackPublications.delete(previousSid);
        this.trackPublications.set(sid, pub);
        if (this.#announced.delete(previousSid)) this.#announced.add(sid);
        localTrackInternal.published(pub.track as LocalMediaTrack, this, sid);
        emit(RoomEvent.LocalTrackRepublished, pub, previousSid, this);
        break;
      }
      default:
    }
  }

  // --- RPC ------------------------------------------------------------------------------

  /** Calls `method` on `destinationIdentity`; resolves with its response or throws an `RpcError`. */
  async performRpc(params: PerformRpcParams): Promise<string> {
    return this.#rpc.perform(params);
  }

  /**
   * Handles calls to `method` (replaces an earlier handler). A handler may throw an
   * `RpcError` to send it back; any other error reaches the caller as APPLICATION_ERROR.
   */
  registerRpcMethod(method: string, handler: (data: RpcInvocationData) => Promise<string>): void {
    this.#rpc.register(method, handler);
  }

  /** Stops handling `method`; callers then get UNSUPPORTED_METHOD. */
  unregisterRpcMethod(method: string): void {
    this.#rpc.unregister(method);
  }

  /** Wraps every RPC performed or handled by this participant (first added is outermost). */
  addRpcInterceptor(interceptor: RpcInterceptor): void {
    if (!this.#rpc.interceptors.includes(interceptor)) this.#rpc.interceptors.push(interceptor);
  }

  /** Removes an interceptor; calls in flight keep the chain they started with. */
  removeRpcInterceptor(interceptor: RpcInterceptor): void {
    this.#rpc.interceptors = this.#rpc.interceptors.filter((x) => x !== interceptor);
  }

  // --- streams, chat, DTMF, transcriptions ------------------------------------------------

  /** Opens a text stream; `write()` text, then `close()`. */
  async streamText(options?: {
    topic?: string;
    attributes?: Record<string, string>;
    destinationIdentities?: Array<string>;
    streamId?: string;
    senderIdentity?: string;
  }): Promise<TextStreamWriter> {
    return this.#streams.open('text', options);
  }

  /** Sends `text` as one text stream; resolves with its info. */
  async sendText(
    text: string,
    options?: {
      topic?: string;
      attributes?: Record<string, string>;
      destinationIdentities?: Array<string>;
      streamId?: string;
      /** Accepted for compatibility; lkrtc sends uncompressed streams. */
      compress?: boolean;
    },
  ): Promise<BaseStreamInfo> {
    return this.#streams.sendText(text, options);
  }

  /** Opens a byte stream (name 'unknown' unless given); `write()` bytes, then `close()`. */
  async streamBytes(options?: {
    name?: string;
    topic?: string;
    attributes?: Record<string, string>;
    destinationIdentities?: Array<string>;
    streamId?: string;
    mimeType?: string;
    totalSize?: number;
  }): Promise<ByteStreamWriter> {
    return this.#streams.open('bytes', options);
  }

  /** Sends the file at `path` as a byte stream (name 'unknown' unless `options.name`). */
  async sendFile(path: PathLike, options?: ByteStreamOptions): Promise<void> {
    return this.#streams.sendFile(path, options);
  }

  /** Sends a chat message; resolves with it as sent. */
  async sendChatMessage(
    text: string,
    destinationIdentities?: Array<string>,
    _senderIdentity?: string,
  ): Promise<ChatMessage> {
    if (typeof text !== 'string') throw invalidArg('sendChatMessage: text must be a string');
    const m = await nativeAwait(this.#native().sendChatMessage(text, destinationIdentities));
    return { id: m.id, timestamp: m.timestamp, message: m.message, generated: m.generated };
  }

  /**
   * Edits a chat message sent earlier (experimental in the official SDK). Needs native
   * support that lkrtc does not have yet: rejects with `ERR_UNSUPPORTED` until then.
   */
  async editChatMessage(
    editText: string,
    originalMessage: ChatMessage,
    destinationIdentities?: Array<string>,
    _senderIdentity?: string,
  ): Promise<ChatMessage> {
    if (typeof editText !== 'string') throw invalidArg('editChatMessage: editText must be a string');
    const nat = this.#native() as NativeLocalParticipant & {
      editChatMessage?: (text: string, original: ChatMessage, destinations?: string[]) => Promise<ChatMessage>;
    };
    if (typeof nat.editChatMessage !== 'function')
      throw unsupported('editChatMessage', 'the native binding cannot edit chat messages');
    return nativeAwait(nat.editChatMessage(editText, originalMessage, destinationIdentities));
  }

  /** Sends a DTMF tone. */
  async publishDtmf(code: number, digit: string): Promise<void> {
    if (!Number.isInteger(code) || code < 0) throw invalidArg('publishDtmf: code must be a non-negative integer');
    if (typeof digit !== 'string') throw invalidArg('publishDtmf: digit must be a string');
    await nativeAwait(this.#native().publishDtmf(code, digit));
  }

  /** Publishes transcription segments of `trackSid` (a `TR_` sid) for `participantIdentity`. */
  async publishTranscription(transcription: Transcription): Promise<void> {
    const { participantIdentity, trackSid, segments } = transcription ?? ({} as Transcription);
    if (!Array.isArray(segments)) throw invalidArg('publishTranscription: segments must be an array');
    if (typeof participantIdentity !== 'string')
      throw invalidArg('publishTranscription: participantIdentity must be a string');
    if (typeof trackSid !== 'string') throw invalidArg('publishTranscription: trackSid must be a string');
    const segs = segments.map((s) => ({
      id: String(s.id ?? ''),
      text: String(s.text ?? ''),
      startTime: Number(s.startTime ?? 0),
      endTime: Number(s.endTime ?? 0),
      final: Boolean(s.final),
      language: String(s.language ?? ''),
    }));
    await nativeAwait(this.#native().publishTranscription(participantIdentity, trackSid, segs));
  }

  /** Frees the native side now (idempotent). The room does it on disconnect. */
  dispose(): void {
    this.slot.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
