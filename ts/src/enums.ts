// Numeric enums with @livekit/rtc-node's names and values (its protobuf enums). A
// TypeScript numeric enum has both name -> value and value -> name entries, as theirs.

export enum TrackKind {
  KIND_UNKNOWN = 0,
  KIND_AUDIO = 1,
  KIND_VIDEO = 2,
}

export enum TrackSource {
  SOURCE_UNKNOWN = 0,
  SOURCE_CAMERA = 1,
  SOURCE_MICROPHONE = 2,
  SOURCE_SCREENSHARE = 3,
  SOURCE_SCREENSHARE_AUDIO = 4,
}

export enum StreamState {
  STATE_UNKNOWN = 0,
  STATE_ACTIVE = 1,
  STATE_PAUSED = 2,
}

export enum ConnectionState {
  CONN_DISCONNECTED = 0,
  CONN_CONNECTED = 1,
  CONN_RECONNECTING = 2,
}

export enum ConnectionQuality {
  QUALITY_POOR = 0,
  QUALITY_GOOD = 1,
  QUALITY_EXCELLENT = 2,
  QUALITY_LOST = 3,
}

export enum DataPacketKind {
  KIND_LOSSY = 0,
  KIND_RELIABLE = 1,
}

export enum ParticipantKind {
  STANDARD = 0,
  INGRESS = 1,
  EGRESS = 2,
  SIP = 3,
  AGENT = 4,
  CONNECTOR = 5,
  BRIDGE = 6,
}

export enum ParticipantKindDetail {
  CLOUD_AGENT = 0,
  FORWARDED = 1,
  CONNECTOR_WHATSAPP = 2,
  CONNECTOR_TWILIO = 3,
  BRIDGE_RTSP = 4,
  SIMULATION = 5,
}

export enum DisconnectReason {
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

/** Which ICE candidates may be used. */
export enum IceTransportType {
  /** TURN relay candidates only: all media and data flow through a TURN server. */
  TRANSPORT_RELAY = 0,
  /** No host candidates: local addresses are never sent to the server. */
  TRANSPORT_NOHOST = 1,
  TRANSPORT_ALL = 2,
}

/** Candidate gathering. lkrtc implements GATHER_ONCE; GATHER_CONTINUALLY is refused (`ERR_ICE_CONFIG`). */
export enum ContinualGatheringPolicy {
  GATHER_ONCE = 0,
  GATHER_CONTINUALLY = 1,
}

/** End-to-end encryption of a track or packet. */
export enum EncryptionType {
  NONE = 0,
  GCM = 1,
  CUSTOM = 2,
}

/** State of a frame cryptor (end-to-end encryption), the official values. */
export enum EncryptionState {
  NEW = 0,
  OK = 1,
  ENCRYPTION_FAILED = 2,
  DECRYPTION_FAILED = 3,
  MISSING_KEY = 4,
  KEY_RATCHETED = 5,
  INTERNAL_ERROR = 6,
}

/** Scenarios of `Room.simulateScenario` (test hooks of the official SDK). */
export enum SimulateScenarioKind {
  SIMULATE_SIGNAL_RECONNECT = 0,
  SIMULATE_SPEAKER = 1,
  SIMULATE_NODE_FAILURE = 2,
  SIMULATE_SERVER_LEAVE = 3,
  SIMULATE_MIGRATION = 4,
  SIMULATE_FORCE_TCP = 5,
  SIMULATE_FORCE_TLS = 6,
  SIMULATE_FULL_RECONNECT = 7,
  SIMULATE_DISCONNECT_SIGNAL_ON_RESUME = 8,
}

/** Pixel formats of video frames (video is not supported by lkrtc yet). */
export enum VideoBufferType {
  RGBA = 0,
  ABGR = 1,
  ARGB = 2,
  BGRA = 3,
  RGB24 = 4,
  I420 = 5,
  I420A = 6,
  I422 = 7,
  I444 = 8,
  I010 = 9,
  NV12 = 10,
}

/** Video codecs (lkrtc encodes and decodes VP8 and H264). */
export enum VideoCodec {
  VP8 = 0,
  H264 = 1,
  AV1 = 2,
  VP9 = 3,
  H265 = 4,
}

/** Rotation of a video frame. */
export enum VideoRotation {
  VIDEO_ROTATION_0 = 0,
  VIDEO_ROTATION_90 = 1,
  VIDEO_ROTATION_180 = 2,
  VIDEO_ROTATION_270 = 3,
}

/** A simulcast layer a subscriber can ask for (the protocol's values; an lkrtc addition). */
export enum VideoQuality {
  LOW = 0,
  MEDIUM = 1,
  HIGH = 2,
}
