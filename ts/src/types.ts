// Plain types and option classes shared by several modules.
import { ContinualGatheringPolicy, IceTransportType, type TrackSource, type VideoCodec } from './enums.js';
import { ConnectError, ErrorCode } from './errors.js';
import type { NativeConnectOptions } from './native.js';

/** A chat message (the official `ChatMessage`). */
export interface ChatMessage {
  id: string;
  /** Milliseconds since the epoch. */
  timestamp: number;
  message: string;
  editTimestamp?: number;
  deleted?: boolean;
  generated?: boolean;
}

/** One transcription segment (times in ms; received segments carry numbers). */
export interface TranscriptionSegment {
  id: string;
  text: string;
  startTime: bigint | number;
  endTime: bigint | number;
  language: string;
  final: boolean;
}

/** The official `Transcription`. */
export interface Transcription {
  participantIdentity: string;
  /** A real track sid (`TR_...`): official receivers crash on anything else, so lkrtc refuses it. */
  trackSid: string;
  segments: TranscriptionSegment[];
}

/**
 * A STUN or TURN server (the official `IceServer` class; `credential` is accepted as an
 * alias of `password`). `new IceServer({ urls, username, password })` or a plain object.
 */
export class IceServer {
  /** `stun:host:port`, `turn:host:port?transport=udp`... (`turns:` and TURN over TCP are not supported yet). */
  urls: string[] = [];
  username?: string;
  password?: string;

  constructor(data?: { urls?: string[]; username?: string; password?: string }) {
    if (data?.urls !== undefined) this.urls = [...data.urls];
    if (data?.username !== undefined) this.username = data.username;
    if (data?.password !== undefined) this.password = data.password;
  }
}

/** ICE configuration (the official `RtcConfiguration`). */
export interface RtcConfiguration {
  iceTransportType: IceTransportType;
  continualGatheringPolicy: ContinualGatheringPolicy;
  /** Servers to use; empty: the ones the LiveKit server sends. */
  iceServers: IceServer[];
}

/**
 * `RoomOptions.rtcConfig` defaults: all candidates, the server's ICE servers. Unlike
 * @livekit/rtc-node's, `continualGatheringPolicy` is GATHER_ONCE, the only policy lkrtc
 * implements, so `{ ...defaultRtcConfiguration, ... }` works.
 */
export const defaultRtcConfiguration: RtcConfiguration = Object.freeze({
  iceTransportType: IceTransportType.TRANSPORT_ALL,
  continualGatheringPolicy: ContinualGatheringPolicy.GATHER_ONCE,
  iceServers: Object.freeze([]) as unknown as IceServer[],
});

type RtcNative = Pick<NativeConnectOptions, 'iceServers' | 'iceTransportType' | 'continualGatheringPolicy'>;

/**
 * @internal Checks `RoomOptions.rtcConfig` and turns it into the native options (URLs are
 * checked in Rust, which rejects bad ones with `ERR_ICE_CONFIG`).
 */
export function nativeRtcConfig(rtc: unknown): RtcNative {
  if (rtc === undefined || rtc === null) return {};
  const bad = (what: string): ConnectError => new ConnectError(ErrorCode.ERR_INVALID_ARG, `connect: rtcConfig.${what}`);
  if (typeof rtc !== 'object') throw bad('must be an object');
  const { iceTransportType, continualGatheringPolicy, iceServers = [] } = rtc as Record<string, unknown>;
  if (!Array.isArray(iceServers)) throw bad('iceServers must be an array');
  const servers = iceServers.map((server: unknown, i) => {
    if (server === null || typeof server !== 'object') throw bad(`iceServers[${i}] must be an object`);
    const s = server as Record<string, unknown>;
    const urls = typeof s.urls === 'string' ? [s.urls] : s.urls;
    if (!Array.isArray(urls) || urls.some((u) => typeof u !== 'string')) {
      throw bad(`iceServers[${i}].urls must be an array of strings`);
    }
    // rtc-node names the credential `password`; browsers' RTCIceServer names it `credential`.
    const password = s.password ?? s.credential;
    for (const [name, value] of [
      ['username', s.username],
      ['password', password],
    ] as const) {
      if (value !== undefined && typeof value !== 'string') throw bad(`iceServers[${i}].${name} must be a string`);
    }
    return {
      urls: urls as string[],
      username: s.username as string | undefined,
      password: password as string | undefined,
    };
  });
  for (const [name, value] of [
    ['iceTransportType', iceTransportType],
    ['continualGatheringPolicy', continualGatheringPolicy],
  ] as const) {
    if (value !== undefined && !Number.isInteger(value)) throw bad(`${name} must be an enum value`);
  }
  return {
    iceServers: servers,
    iceTransportType: iceTransportType as number | undefined,
    continualGatheringPolicy: continualGatheringPolicy as number | undefined,
  };
}

/**
 * Options of `publishTrack` (the official class). lkrtc uses `source`, `dtx`, `red` and
 * `stream`; the video fields are accepted and ignored.
 */
export class TrackPublishOptions {
  /** `TrackSource` value (default microphone). */
  source?: TrackSource;
  /** Opus discontinuous transmission (default true, as the official). */
  dtx?: boolean;
  /** Redundant audio (default true, as the official). */
  red?: boolean;
  simulcast?: boolean;
  stream?: string;
  videoCodec?: VideoCodec;
  preconnectBuffer?: boolean;
  videoEncoding?: { maxBitrate?: bigint; maxFramerate?: number };
  audioEncoding?: { maxBitrate?: bigint };
  frameMetadataFeatures: number[] = [];

  constructor(init: Partial<TrackPublishOptions> = {}) {
    Object.assign(this, init);
  }
}
