// Public types of lkrtc (hand-written; the generated native.d.ts is private).
// Names follow @livekit/rtc-node so that an app switches by changing its import.

import { EventEmitter } from 'node:events';

// ---------------------------------------------------------------------------------------
// Enums (numeric, the same values as @livekit/rtc-node)

export declare enum TrackKind {
  KIND_UNKNOWN = 0,
  KIND_AUDIO = 1,
  KIND_VIDEO = 2,
}

export declare enum TrackSource {
  SOURCE_UNKNOWN = 0,
  SOURCE_CAMERA = 1,
  SOURCE_MICROPHONE = 2,
  SOURCE_SCREENSHARE = 3,
  SOURCE_SCREENSHARE_AUDIO = 4,
}

export declare enum ConnectionState {
  CONN_DISCONNECTED = 0,
  CONN_CONNECTED = 1,
  CONN_RECONNECTING = 2,
}

export declare enum DataPacketKind {
  KIND_LOSSY = 0,
  KIND_RELIABLE = 1,
}

export declare enum ParticipantKind {
  STANDARD = 0,
  INGRESS = 1,
  EGRESS = 2,
  SIP = 3,
  AGENT = 4,
  CONNECTOR = 5,
  BRIDGE = 6,
}

/** Which ICE candidates may be used (same values as @livekit/rtc-node). */
export declare enum IceTransportType {
  /** TURN relay candidates only: all media and data flow through a TURN server. */
  TRANSPORT_RELAY = 0,
  /** No host candidates: local addresses are never sent to the server. */
  TRANSPORT_NOHOST = 1,
  TRANSPORT_ALL = 2,
}

/** Candidate gathering. lkrtc implements GATHER_ONCE; GATHER_CONTINUALLY is refused (`ERR_ICE_CONFIG`). */
export declare enum ContinualGatheringPolicy {
  GATHER_ONCE = 0,
  GATHER_CONTINUALLY = 1,
}

/** A STUN or TURN server (the official `IceServer`; `credential` is accepted as an alias of `password`). */
export interface IceServer {
  /** `stun:host:port`, `turn:host:port?transport=udp`... (`turns:` and TURN over TCP are not supported yet). */
  urls: string[];
  username?: string;
  password?: string;
}

/** ICE configuration (the official `RtcConfiguration`). */
export interface RtcConfiguration {
  iceTransportType: IceTransportType;
  continualGatheringPolicy: ContinualGatheringPolicy;
  /** Servers to use; empty: the ones the LiveKit server sends. */
  iceServers: IceServer[];
}

/** `rtcConfig` defaults: all candidates, gather once, the server's ICE servers. */
export declare const defaultRtcConfiguration: Readonly<RtcConfiguration>;

export declare enum DisconnectReason {
  UNKNOWN_REASON = 0,
  CLIENT_INITIATED = 1,
  DUPLICATE_IDENTITY = 2,
  SERVER_SHUTDOWN = 3,
  PARTICIPANT_REMOVED = 4,
  ROOM_DELETED = 5,
  STATE_MISMATCH = 6,
  JOIN_FAILURE = 7,
  MIGRATION = 8,
  SIGNAL_CLOSE = 9,
  ROOM_CLOSED = 10,
  USER_UNAVAILABLE = 11,
  USER_REJECTED = 12,
  SIP_TRUNK_FAILURE = 13,
  CONNECTION_TIMEOUT = 14,
  MEDIA_FAILURE = 15,
  AGENT_ERROR = 16,
}

/** Event names, identical to @livekit/rtc-node's `RoomEvent`. */
export declare enum RoomEvent {
  ParticipantConnected = 'participantConnected',
  ParticipantDisconnected = 'participantDisconnected',
  LocalTrackPublished = 'localTrackPublished',
  LocalTrackUnpublished = 'localTrackUnpublished',
  LocalTrackRepublished = 'localTrackRepublished',
  LocalTrackSubscribed = 'localTrackSubscribed',
  TrackPublished = 'trackPublished',
  TrackUnpublished = 'trackUnpublished',
  TrackSubscribed = 'trackSubscribed',
  TrackUnsubscribed = 'trackUnsubscribed',
  TrackSubscriptionFailed = 'trackSubscriptionFailed',
  TrackMuted = 'trackMuted',
  TrackUnmuted = 'trackUnmuted',
  ActiveSpeakersChanged = 'activeSpeakersChanged',
  RoomMetadataChanged = 'roomMetadataChanged',
  RoomSidChanged = 'roomSidChanged',
  ParticipantMetadataChanged = 'participantMetadataChanged',
  ParticipantNameChanged = 'participantNameChanged',
  ParticipantAttributesChanged = 'participantAttributesChanged',
  ParticipantEncryptionStatusChanged = 'participantEncryptionStatusChanged',
  ConnectionQualityChanged = 'connectionQualityChanged',
  DataReceived = 'dataReceived',
  ChatMessage = 'chatMessage',
  DtmfReceived = 'dtmfReceived',
  EncryptionError = 'encryptionError',
  ConnectionStateChanged = 'connectionStateChanged',
  Connected = 'connected',
  Disconnected = 'disconnected',
  Reconnecting = 'reconnecting',
  Reconnected = 'reconnected',
  RoomUpdated = 'roomUpdated',
  Moved = 'moved',
  TokenRefreshed = 'tokenRefreshed',
  /** lkrtc addition (older @livekit/rtc-node versions had it). */
  TranscriptionReceived = 'transcriptionReceived',
}

// ---------------------------------------------------------------------------------------
// Errors

/** Every `LkError.code`. */
export declare const ErrorCode: {
  /** The server could not be reached or the signal connection failed. */
  readonly ERR_CONNECT: 'ERR_CONNECT';
  /** The server's TLS certificate was refused (unknown authority, wrong host name, expired). */
  readonly ERR_TLS_CERTIFICATE: 'ERR_TLS_CERTIFICATE';
  /** The ICE configuration (`rtcConfig.iceServers`, transport policy) is unusable. */
  readonly ERR_ICE_CONFIG: 'ERR_ICE_CONFIG';
  /** The server refused the token. */
  readonly ERR_UNAUTHORIZED: 'ERR_UNAUTHORIZED';
  /** A bounded wait expired. */
  readonly ERR_TIMEOUT: 'ERR_TIMEOUT';
  /** The URL is not a ws://, wss://, http:// or https:// URL. */
  readonly ERR_INVALID_URL: 'ERR_INVALID_URL';
  /** The room is disconnected (or disconnected during the call). */
  readonly ERR_DISCONNECTED: 'ERR_DISCONNECTED';
  /** An argument is malformed or out of range. */
  readonly ERR_INVALID_ARG: 'ERR_INVALID_ARG';
  /** The server answered a request with an error. */
  readonly ERR_REJECTED: 'ERR_REJECTED';
  /** A WebRTC operation failed. */
  readonly ERR_RTC: 'ERR_RTC';
  /** The server broke the protocol. */
  readonly ERR_PROTOCOL: 'ERR_PROTOCOL';
  /** The object was disposed; only its getters still answer. */
  readonly ERR_DISPOSED: 'ERR_DISPOSED';
  /** The call is not valid in the current state (connect twice...). */
  readonly ERR_INVALID_STATE: 'ERR_INVALID_STATE';
  /** A bug: a Rust panic was caught at the boundary. */
  readonly ERR_PANIC: 'ERR_PANIC';
  /** The dev server could not start. */
  readonly ERR_SERVER: 'ERR_SERVER';
  /** An access token could not be created. */
  readonly ERR_TOKEN: 'ERR_TOKEN';
  /** A bug: an error without a code. */
  readonly ERR_INTERNAL: 'ERR_INTERNAL';
  /** A data stream ended abnormally (sender aborted, missed chunk, disconnect...). */
  readonly ERR_STREAM: 'ERR_STREAM';
};
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** An lkrtc error. */
export declare class LkError extends Error {
  constructor(code: ErrorCode, message: string, options?: ErrorOptions);
  readonly code: ErrorCode;
}

/** What `Room.connect()` rejects with (the official SDK's name); an `LkError`. */
export declare class ConnectError extends LkError {}

/** Type guard: `e` is an `LkError` (with `code`, if given). */
export declare function isLkError<C extends ErrorCode>(e: unknown, code?: C): e is LkError & { readonly code: C };

// ---------------------------------------------------------------------------------------
// Participants, publications, tracks

/**
 * Common participant fields. After disposal (the participant left, the room
 * disconnected, or `dispose()`), the getters keep answering with the last values.
 */
export declare abstract class Participant {
  /** Participant sid (`PA_...`). */
  get sid(): string;
  /** Identity from the access token. */
  get identity(): string;
  get name(): string;
  get metadata(): string;
  get attributes(): Record<string, string>;
  get kind(): ParticipantKind;
  /** True once the native side is freed (a tombstone). */
  get isDisposed(): boolean;
}

/** Options of `LocalParticipant.publishData` (the official names). */
export interface DataPublishOptions {
  /** Reliable (ordered, retransmitted) or lossy; default false (lossy), as the official SDK. */
  reliable?: boolean;
  /** Deliver only to these identities (default: everyone). */
  destination_identities?: string[];
  /** Alias of `destination_identities`. */
  destinationIdentities?: string[];
  /** Application topic. */
  topic?: string;
}

/** This client, as a participant of the room. */
export declare class LocalParticipant extends Participant {
  private constructor();
  /** Local publications by sid. */
  trackPublications: Map<string, LocalTrackPublication>;
  /** Rejects with `ERR_DISPOSED` after the room disconnected. */
  publishData(data: Uint8Array, options?: DataPublishOptions): Promise<void>;
  /** Needs the `canUpdateOwnMetadata` grant. */
  updateMetadata(metadata: string): Promise<void>;
  /** Needs the `canUpdateOwnMetadata` grant. */
  updateName(name: string): Promise<void>;
  /** Merges attributes; an empty value deletes a key. Needs `canUpdateOwnMetadata`. */
  setAttributes(attributes: Record<string, string>): Promise<void>;
  /** Frees the native side now (idempotent); the room does it on disconnect. */
  dispose(): void;
  [Symbol.dispose](): void;
}

/** Another participant. */
export declare class RemoteParticipant extends Participant {
  private constructor();
  /** Its publications by track sid; the same objects as in every event. */
  trackPublications: Map<string, RemoteTrackPublication>;
  /** Frees the native side now (idempotent); the room does it after `participantDisconnected`. */
  dispose(): void;
  [Symbol.dispose](): void;
}

/** A track another participant published. */
export declare class RemoteTrackPublication {
  private constructor();
  get sid(): string;
  get name(): string;
  get kind(): TrackKind;
  get source(): TrackSource;
  get mimeType(): string;
  get muted(): boolean;
  /** True between `trackSubscribed` and `trackUnsubscribed`. */
  get subscribed(): boolean;
  /** The track while subscribed. */
  get track(): RemoteTrack | undefined;
  /** Not reported yet. */
  get simulcasted(): undefined;
  /** True once the native side is freed (a tombstone). */
  get isDisposed(): boolean;
  /**
   * Subscribes or unsubscribes; `trackSubscribed` / `trackUnsubscribed` follow. The
   * official SDK returns nothing; ignoring the promise is safe (it never causes an
   * unhandled rejection). Rejects with `ERR_DISPOSED` once disposed.
   */
  setSubscribed(subscribed: boolean): Promise<void>;
  /** Frees the native side now (idempotent); the room does it after `trackUnpublished`. */
  dispose(): void;
  [Symbol.dispose](): void;
}

/** A remote track. */
export declare abstract class RemoteTrack {
  get sid(): string;
  get name(): string;
  get kind(): TrackKind;
  get muted(): boolean;
  /** True once the native side is freed (a tombstone). */
  get isDisposed(): boolean;
  /** Frees the native side now (idempotent); the room does it after `trackUnsubscribed`. */
  dispose(): void;
  /** Same as `dispose()`. */
  close(): Promise<void>;
  [Symbol.dispose](): void;
}

export declare class RemoteAudioTrack extends RemoteTrack {
  private constructor();
}
export declare class RemoteVideoTrack extends RemoteTrack {
  private constructor();
}

// ---------------------------------------------------------------------------------------
// Room

/** Options of `Room.connect` (a superset of the official `RoomOptions`). */
export interface RoomOptions {
  /** Subscribe to every published track (default true). */
  autoSubscribe?: boolean;
  /** Accepted for compatibility; ignored. */
  dynacast?: boolean;
  /** Bound on the whole connect in milliseconds (default 15000). */
  connectTimeout?: number;
  /**
   * ICE servers and policy. Bad URLs or missing TURN credentials reject with
   * `ERR_ICE_CONFIG`; so does relay-only ICE that no usable TURN server can serve.
   */
  rtcConfig?: RtcConfiguration;
}

/** A chat message (the official `ChatMessage`). */
export interface ChatMessage {
  id: string;
  message: string;
  /** Milliseconds since the epoch. */
  timestamp: number;
  editTimestamp?: number;
  deleted?: boolean;
  generated?: boolean;
}

/** One transcription segment. */
export interface TranscriptionSegment {
  id: string;
  text: string;
  startTime: number;
  endTime: number;
  final: boolean;
  language: string;
}

/** Listener signatures per event (the official `RoomCallbacks`, for what lkrtc emits). */
export type RoomCallbacks = {
  participantConnected: (participant: RemoteParticipant) => void;
  participantDisconnected: (participant: RemoteParticipant) => void;
  trackPublished: (publication: RemoteTrackPublication, participant: RemoteParticipant) => void;
  trackUnpublished: (publication: RemoteTrackPublication, participant: RemoteParticipant) => void;
  trackSubscribed: (track: RemoteTrack, publication: RemoteTrackPublication, participant: RemoteParticipant) => void;
  trackUnsubscribed: (track: RemoteTrack, publication: RemoteTrackPublication, participant: RemoteParticipant) => void;
  trackMuted: (publication: RemoteTrackPublication, participant: Participant) => void;
  trackUnmuted: (publication: RemoteTrackPublication, participant: Participant) => void;
  roomMetadataChanged: (metadata: string) => void;
  participantMetadataChanged: (metadata: string, participant: Participant) => void;
  participantNameChanged: (name: string, participant: Participant) => void;
  participantAttributesChanged: (changedAttributes: Record<string, string>, participant: Participant) => void;
  dataReceived: (payload: Uint8Array, participant?: RemoteParticipant, kind?: DataPacketKind, topic?: string) => void;
  activeSpeakersChanged: (speakers: Participant[]) => void;
  chatMessage: (message: ChatMessage, participant?: RemoteParticipant) => void;
  dtmfReceived: (code: number, digit: string, participant?: RemoteParticipant) => void;
  transcriptionReceived: (
    segments: TranscriptionSegment[],
    participant?: RemoteParticipant,
    publication?: RemoteTrackPublication,
  ) => void;
  connectionStateChanged: (state: ConnectionState) => void;
  disconnected: (reason: DisconnectReason) => void;
  localTrackPublished: (publication: LocalTrackPublication, participant: LocalParticipant) => void;
  localTrackUnpublished: (publication: LocalTrackPublication, participant: LocalParticipant) => void;
  localTrackSubscribed: (track: LocalAudioTrack) => void;
  /** The server sent a fresh access token; `room.token` returns it. */
  tokenRefreshed: () => void;
  /** The server moved this participant to another room (`room.name` is the new one). */
  moved: () => void;
};

/**
 * A LiveKit room. Events are typed per name (`RoomCallbacks`). While connected the room
 * keeps the process alive, like a socket; once the connection ends (disconnect, server
 * leave, connection loss) everything it held is disposed and `liveHandles()` drops back.
 */
export declare class Room extends EventEmitter {
  constructor();
  /** Remote participants by identity. */
  remoteParticipants: Map<string, RemoteParticipant>;
  /** This client once connected (a tombstone after disconnect). */
  localParticipant?: LocalParticipant;
  get connectionState(): ConnectionState;
  get name(): string | undefined;
  get metadata(): string | undefined;
  get isConnected(): boolean;
  /** Remote participants plus this client while connected. */
  get numParticipants(): number;
  /** The room sid; '' before the first connection. */
  getSid(): Promise<string>;
  /** The newest access token: the one connected with, or one the server refreshed. */
  get token(): string | undefined;
  /**
   * Rejects with `ConnectError` (an `LkError`: `ERR_INVALID_URL`, `ERR_UNAUTHORIZED`, `ERR_CONNECT`,
   * `ERR_TLS_CERTIFICATE`, `ERR_ICE_CONFIG`, `ERR_TIMEOUT`...). `wss://` trusts the platform's
   * roots plus `NODE_EXTRA_CA_CERTS` (and `SSL_CERT_FILE` / `SSL_CERT_DIR`).
   */
  connect(url: string, token: string, opts?: RoomOptions): Promise<void>;
  /** Resolves after `disconnected` was emitted and everything the room held is disposed. Idempotent. */
  disconnect(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;

  on<E extends keyof RoomCallbacks>(event: E, listener: RoomCallbacks[E]): this;
  once<E extends keyof RoomCallbacks>(event: E, listener: RoomCallbacks[E]): this;
  off<E extends keyof RoomCallbacks>(event: E, listener: RoomCallbacks[E]): this;
  addListener<E extends keyof RoomCallbacks>(event: E, listener: RoomCallbacks[E]): this;
  prependListener<E extends keyof RoomCallbacks>(event: E, listener: RoomCallbacks[E]): this;
  prependOnceListener<E extends keyof RoomCallbacks>(event: E, listener: RoomCallbacks[E]): this;
  removeListener<E extends keyof RoomCallbacks>(event: E, listener: RoomCallbacks[E]): this;
  emit<E extends keyof RoomCallbacks>(event: E, ...args: Parameters<RoomCallbacks[E]>): boolean;
}

// ---------------------------------------------------------------------------------------
// Data: RPC, text/byte streams, chat, DTMF, transcriptions (js/data.js). Declared as
// interfaces that merge into LocalParticipant / Room / LiveHandles.

/** Parameters of `performRpc` (the official `PerformRpcParams`). */
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

/** What a method handler receives (the official `RpcInvocationData`). */
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

/**
 * An RPC failure: what `performRpc` rejects with, and what a handler throws to send `code`,
 * `message` (≤ 256 bytes) and `data` (≤ 15360 bytes) back. Any other error a handler throws
 * reaches the caller as APPLICATION_ERROR (1500).
 */
export declare class RpcError extends Error {
  code: number;
  data?: string;
  constructor(code: number, message: string, data?: string);
  static fromProto(proto: { code: number; message: string; data?: string }): RpcError;
  toProto(): { code: number; message: string; data?: string };
  static ErrorCode: {
    readonly APPLICATION_ERROR: 1500;
    readonly CONNECTION_TIMEOUT: 1501;
    readonly RESPONSE_TIMEOUT: 1502;
    readonly RECIPIENT_DISCONNECTED: 1503;
    readonly RESPONSE_PAYLOAD_TOO_LARGE: 1504;
    readonly SEND_FAILED: 1505;
    readonly UNSUPPORTED_METHOD: 1400;
    readonly RECIPIENT_NOT_FOUND: 1401;
    readonly REQUEST_PAYLOAD_TOO_LARGE: 1402;
    readonly UNSUPPORTED_SERVER: 1403;
  };
  static ErrorMessage: Record<keyof typeof RpcError.ErrorCode, string>;
  static builtIn(key: keyof typeof RpcError.ErrorCode, data?: string): RpcError;
}

/** A stream's header (the official `BaseStreamInfo` / `TextStreamInfo`). */
export interface BaseStreamInfo {
  streamId: string;
  mimeType: string;
  topic: string;
  /** Sender's clock, milliseconds since the epoch. */
  timestamp: number;
  /** Total size in bytes, when the sender announced it. */
  totalSize?: number;
  attributes?: Record<string, string>;
}
export type TextStreamInfo = BaseStreamInfo;
export type ByteStreamInfo = BaseStreamInfo & { name: string };

export interface DataStreamOptions {
  topic?: string;
  destinationIdentities?: Array<string>;
  attributes?: Record<string, string>;
  mimeType?: string;
}
export interface TextStreamOptions extends DataStreamOptions {
  attachments?: [];
}
export interface ByteStreamOptions extends DataStreamOptions {
  /** Default 'unknown' (as the official client: not the file's basename). */
  name?: string;
  /** sendFile: called with the fraction sent so far. */
  onProgress?: (progress: number) => void;
  /** Accepted for compatibility; lkrtc sends uncompressed streams. */
  compress?: boolean;
}

/**
 * An incoming stream. Native handle (`liveHandles().streamReader`), released when read to
 * its end, on `close()` / `break` out of `for await`, when its handler throws, right after
 * the room's `disconnected` (what had arrived stays readable; an unfinished stream then
 * ends with `ERR_STREAM`), or by garbage collection if abandoned.
 */
declare abstract class BaseStreamReader<T extends BaseStreamInfo> {
  get info(): T;
  /** Called per chunk with bytesReceived / totalSize (undefined if the total is unknown). */
  onProgress?: (progress: number | undefined) => void;
  /** Stops reading and releases the reader (idempotent). */
  close(): Promise<void>;
  abstract readAll(): Promise<string | Array<Uint8Array>>;
}
/** Iterates strings (each chunk is whole characters); an abnormal end throws `LkError` `ERR_STREAM`. */
export declare class TextStreamReader extends BaseStreamReader<TextStreamInfo> {
  private constructor();
  [Symbol.asyncIterator](): AsyncIterator<string>;
  readAll(): Promise<string>;
}
/** Iterates chunks of bytes; an abnormal end throws `LkError` `ERR_STREAM`. */
export declare class ByteStreamReader extends BaseStreamReader<ByteStreamInfo> {
  private constructor();
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array>;
  readAll(): Promise<Array<Uint8Array>>;
}

/** An outgoing stream (`liveHandles().streamWriter` until closed or disconnected). */
declare class BaseStreamWriter<T, InfoType extends BaseStreamInfo> {
  protected constructor();
  readonly info: InfoType;
  /** Sends `chunk` (split into ≤ 15000-byte chunks; text never inside a character). */
  write(chunk: T): Promise<void>;
  /** Sends the trailer and releases the writer; a `reason` makes receivers fail with it. Idempotent. */
  close(reason?: string): Promise<void>;
}
export declare class TextStreamWriter extends BaseStreamWriter<string, TextStreamInfo> {}
export declare class ByteStreamWriter extends BaseStreamWriter<Uint8Array, ByteStreamInfo> {}

export type TextStreamHandler = (reader: TextStreamReader, participantInfo: { identity: string }) => void;
export type ByteStreamHandler = (reader: ByteStreamReader, participantInfo: { identity: string }) => void;

/** The official `Transcription` (times may be bigint or number, in ms). */
export interface Transcription {
  participantIdentity: string;
  /** A real track sid (`TR_...`): official receivers crash on anything else, so lkrtc refuses it. */
  trackSid: string;
  segments: Array<{ id: string; text: string; startTime: bigint | number; endTime: bigint | number; language: string; final: boolean }>;
}

export interface LocalParticipant {
  /** Calls `method` on another participant; rejects with an `RpcError`. */
  performRpc(params: PerformRpcParams): Promise<string>;
  /** Handles calls to `method` (replaces an earlier handler). */
  registerRpcMethod(method: string, handler: (data: RpcInvocationData) => Promise<string>): void;
  unregisterRpcMethod(method: string): void;
  addRpcInterceptor(interceptor: RpcInterceptor): void;
  removeRpcInterceptor(interceptor: RpcInterceptor): void;
  streamText(options?: {
    topic?: string;
    attributes?: Record<string, string>;
    destinationIdentities?: Array<string>;
    streamId?: string;
    senderIdentity?: string;
  }): Promise<TextStreamWriter>;
  sendText(
    text: string,
    options?: {
      topic?: string;
      attributes?: Record<string, string>;
      destinationIdentities?: Array<string>;
      streamId?: string;
      compress?: boolean;
    },
  ): Promise<TextStreamInfo>;
  streamBytes(options?: {
    name?: string;
    topic?: string;
    attributes?: Record<string, string>;
    destinationIdentities?: Array<string>;
    streamId?: string;
    mimeType?: string;
    totalSize?: number;
  }): Promise<ByteStreamWriter>;
  /** Sends a file as a byte stream (name 'unknown' unless `options.name`). */
  sendFile(path: import('node:fs').PathLike, options?: ByteStreamOptions): Promise<void>;
  sendChatMessage(text: string, destinationIdentities?: Array<string>, senderIdentity?: string): Promise<ChatMessage>;
  publishDtmf(code: number, digit: string): Promise<void>;
  publishTranscription(transcription: Transcription): Promise<void>;
}

export interface Room {
  /** Throws (`ERR_INVALID_STATE`) if `topic` already has a text handler. May be called before connect. */
  registerTextStreamHandler(topic: string, callback: TextStreamHandler): void;
  unregisterTextStreamHandler(topic: string): void;
  /** Throws (`ERR_INVALID_STATE`) if `topic` already has a byte handler. May be called before connect. */
  registerByteStreamHandler(topic: string, callback: ByteStreamHandler): void;
  unregisterByteStreamHandler(topic: string): void;
}

export interface LiveHandles {
  /** Incoming data streams not yet released. */
  streamReader: number;
  /** Outgoing data streams not yet closed. */
  streamWriter: number;
}

// ---------------------------------------------------------------------------------------
// Dev server

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
  /**
   * Overrides the defaults: join `room`, publish, subscribe, publish data, update own
   * metadata.
   */
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
}

/**
 * lkrtc-server running in this process. Like a `net.Server`, it keeps the process alive
 * until `close()` (or `unref()`).
 */
export declare class DevServer {
  private constructor();
  /** Rejects with `ERR_SERVER` (address in use...) or `ERR_INVALID_ARG`. */
  static start(options?: DevServerOptions): Promise<DevServer>;
  /** `ws://host:port` (`wss://` with `tls`). */
  get url(): string;
  get port(): number;
  /** The first API key. */
  get apiKey(): string;
  /** The first API key's secret. */
  get apiSecret(): string;
  /** Names of the rooms currently open. */
  roomNames(): string[];
  /** Signs an access token for this server. */
  createToken(options: CreateTokenOptions): string;
  unref(): this;
  ref(): this;
  /** Tells every participant the server is leaving, then stops. Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

// ---------------------------------------------------------------------------------------
// Globals

/** Live native handles by kind. */
export interface LiveHandles {
  room: number;
  participant: number;
  publication: number;
  track: number;
}

/** Live native handles by kind; all 0 once every room has disconnected. */
export declare function liveHandles(): LiveHandles;

/** Compatibility with @livekit/rtc-node: disconnects every connected room. Never needed to exit. */
export declare function dispose(): Promise<void>;

/** The native addon's version. */
export declare function version(): string;

// ---------------------------------------------------------------------------------------
// Audio (js/audio.js): frames, sources, local tracks and publications, streams, resampling.

/** Interleaved 16-bit PCM (`data.length === samplesPerChannel * channels`). */
export declare class AudioFrame {
  data: Int16Array;
  sampleRate: number;
  channels: number;
  samplesPerChannel: number;
  constructor(
    data: Int16Array,
    sampleRate: number,
    channels: number,
    samplesPerChannel: number,
    userdata?: Record<string, unknown>,
  );
  /** A silent frame. */
  static create(sampleRate: number, channels: number, samplesPerChannel: number, userdata?: Record<string, unknown>): AudioFrame;
  get userdata(): Record<string, unknown>;
}

/** Concatenates frames of one format into a new frame (copies; `ERR_INVALID_ARG` on mixed formats). */
export declare const combineAudioFrames: (buffer: AudioFrame | AudioFrame[]) => AudioFrame;

/**
 * PCM for local audio tracks, with a bounded real-time queue. A handle (`audioSource` in
 * `liveHandles()`) until `close()`. Rates 8000 to 192000 Hz, 1 to 8 channels (more than two
 * are down-mixed to stereo when sent). Once a track it feeds is published, silence is sent
 * while nothing is queued, so subscribers see the track before its first frame.
 */
export declare class AudioSource {
  readonly sampleRate: number;
  readonly numChannels: number;
  /** Queue length in ms (default 1000); a finite number >= 0, else `ERR_INVALID_ARG`. */
  readonly queueSize: number;
  closed: boolean;
  constructor(sampleRate: number, numChannels: number, queueSize?: number);
  /** Milliseconds queued and not yet sent. */
  get queuedDuration(): number;
  clearQueue(): void;
  /** Resolves once everything queued was sent (or the source closed). */
  waitForPlayout(): Promise<void>;
  /**
   * Resolves when the frame is queued; waits while the queue is full (backpressure).
   * Rejects with `ERR_INVALID_ARG` (wrong rate, channels or size) or `ERR_DISPOSED` (closed).
   */
  captureFrame(frame: AudioFrame): Promise<void>;
  /** Closes and frees the source (idempotent); pending captures fail. */
  close(): Promise<void>;
  [Symbol.dispose](): void;
}

/** A local audio track. Disposed (a tombstone) once unpublished, the room disconnects, or `close()`. */
export declare class LocalAudioTrack {
  private constructor();
  static createAudioTrack(name: string, source: AudioSource): LocalAudioTrack;
  /** Track sid once published. */
  get sid(): string | undefined;
  get name(): string;
  get kind(): TrackKind;
  get muted(): boolean;
  get source(): AudioSource;
  get isDisposed(): boolean;
  /** Mutes (peers get `trackMuted`); the promise may be ignored. */
  mute(): Promise<void>;
  unmute(): Promise<void>;
  /** Frees the track; `closeSource` also closes its AudioSource. */
  close(closeSource?: boolean): Promise<void>;
  dispose(): void;
  [Symbol.dispose](): void;
}

/** Options of `publishTrack` (lkrtc uses `source`, `dtx`, `red`, `stream`; others are ignored). */
export declare class TrackPublishOptions {
  source?: TrackSource;
  /** Default true; sent to the server. The encoder never drops frames (tones keep their level). */
  dtx?: boolean;
  /** Default true, but RED is not negotiated: tracks go out as plain Opus (`disable_red`). */
  red?: boolean;
  stream?: string;
  constructor(init?: Partial<TrackPublishOptions>);
}

/** A track this client published. Disposed when `unpublishTrack()` resolves or on disconnect. */
export declare class LocalTrackPublication {
  private constructor();
  get sid(): string;
  get name(): string;
  get kind(): TrackKind;
  get source(): TrackSource;
  get mimeType(): string;
  get muted(): boolean;
  get simulcasted(): boolean;
  get track(): LocalAudioTrack;
  get isDisposed(): boolean;
  /** Resolves once a first participant subscribed; `ERR_DISPOSED` if the publication goes first. */
  waitForSubscription(): Promise<void>;
  dispose(): void;
  [Symbol.dispose](): void;
}

export interface LocalParticipant {
  /** Publishes an audio track; resolves once the server accepted it. */
  publishTrack(track: LocalAudioTrack, options?: TrackPublishOptions | Partial<TrackPublishOptions>): Promise<LocalTrackPublication>;
  /** Unpublishes; the publication and its track are disposed when this resolves. */
  unpublishTrack(trackSid: string, stopOnUnpublish?: boolean): Promise<void>;
}

export interface AudioStreamOptions {
  /** Default 48000. */
  sampleRate?: number;
  /** Default 1. */
  numChannels?: number;
  /** Frame length: a multiple of 10 in 10..100 (default 10). */
  frameSizeMs?: number;
}

/**
 * The audio of a remote track as a stream of frames (async iterable). Ends when the track
 * is unsubscribed or unpublished or the room disconnects; a handle (`audioStream`) until it
 * ends or is cancelled. A slow reader loses the oldest audio (bounded buffering).
 */
export declare class AudioStream extends ReadableStream<AudioFrame> {
  constructor(track: RemoteAudioTrack);
  constructor(track: RemoteAudioTrack, sampleRate: number, numChannels?: number);
  constructor(track: RemoteAudioTrack, options: AudioStreamOptions);
  readonly sampleRate: number;
  readonly numChannels: number;
  readonly frameSizeMs: number;
}

export declare enum AudioResamplerQuality {
  QUICK = 0,
  LOW = 1,
  MEDIUM = 2,
  HIGH = 3,
  VERY_HIGH = 4,
}

/**
 * Converts 16-bit PCM between rates of 8 to 192 kHz, 1 to 8 channels. `quality`: QUICK (cubic,
 * no anti-aliasing), LOW/HIGH/VERY_HIGH (windowed sinc of growing length), MEDIUM (FFT, default).
 */
export declare class AudioResampler {
  constructor(inputRate: number, outputRate: number, channels?: number, quality?: AudioResamplerQuality);
  get inputRate(): number;
  get outputRate(): number;
  get channels(): number;
  /** Frames ready so far (zero or one); `ERR_INVALID_ARG` if the frame's format differs. */
  push(frame: AudioFrame): AudioFrame[];
  /** Returns the buffered tail (zero or one frame); the resampler then starts afresh. */
  flush(): AudioFrame[];
  close(): void;
}

export interface LiveHandles {
  /** AudioSources not yet closed. */
  audioSource: number;
  /** AudioStreams not yet ended or cancelled. */
  audioStream: number;
}
