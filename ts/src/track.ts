// Tracks: the `Track` base, local audio and video tracks (fed by their sources) and remote tracks.
import type { AudioSource } from './audio_source.js';
import { audioSourceNative } from './audio_source.js';
import { type StreamState, TrackKind } from './enums.js';
import { disposedError, invalidArg, nativeAwait, nativeCall, quiet } from './errors.js';
import { NativeSlot } from './handle.js';
import {
  native,
  type NativeLocalAudioTrack,
  type NativeLocalVideoTrack,
  type NativeRemoteTrack,
  type TrackInfo,
} from './native.js';
import type { LocalParticipant } from './participant.js';
import { localParticipantNative } from './participant.js';
import { type VideoSource, videoSourceNative } from './video.js';

/** What every track has. */
export abstract class Track {
  /** Track sid (`TR_...`; a local track has one once published). */
  abstract get sid(): string | undefined;
  /** Track name. */
  abstract get name(): string | undefined;
  /** `TrackKind` value. */
  abstract get kind(): TrackKind | undefined;
  /** Whether the track is muted. */
  abstract get muted(): boolean | undefined;
  /** True once disposed (a tombstone). */
  abstract get isDisposed(): boolean;
  /** Not reported by lkrtc yet. */
  get stream_state(): StreamState | undefined {
    return undefined;
  }
  /** Frees the track. */
  abstract close(): Promise<void>;
}

type NativeLocalTrack = NativeLocalAudioTrack | NativeLocalVideoTrack;

/** @internal */
export let localTrackInternal: {
  native(t: LocalMediaTrack): NativeLocalTrack;
  published(t: LocalMediaTrack, participant: LocalParticipant, sid: string): void;
  unpublished(t: LocalMediaTrack): void;
};
/** @internal */
export let disposeLocalTrack: (t: LocalMediaTrack) => void;

/** What every local track's source has. */
interface LocalSource {
  close(): Promise<void>;
}

/** A local track of either kind, fed by its source (an lkrtc base class). */
export abstract class LocalMediaTrack<S extends LocalSource = LocalSource> extends Track {
  #native: NativeLocalTrack | null;
  #sid: string | undefined = undefined;
  readonly #name: string;
  readonly #source: S;
  readonly #what: string;
  #muted = false;
  #participant: LocalParticipant | undefined = undefined;

  /** @internal */
  constructor(nat: NativeLocalTrack, source: S, what: string) {
    super();
    if (typeof nat !== 'object' || nat === null) {
      const create = what === 'LocalVideoTrack' ? 'createVideoTrack' : 'createAudioTrack';
      throw invalidArg(`${what}: use ${what}.${create}(name, source)`);
    }
    this.#native = nat;
    this.#source = source;
    this.#name = nat.name;
    this.#what = what;
  }

  static {
    localTrackInternal = {
      native: (t) => {
        if (t.#native === null) throw disposedError(t.#what);
        return t.#native;
      },
      published: (t, participant, sid) => {
        t.#participant = participant;
        t.#sid = sid;
      },
      unpublished: (t) => {
        t.#participant = undefined;
      },
    };
    disposeLocalTrack = (t) => {
      const nat = t.#native;
      if (nat === null) return;
      t.#native = null;
      t.#participant = undefined;
      nat.dispose();
    };
  }

  /** Track sid once published. */
  get sid(): string | undefined {
    return this.#sid;
  }
  get name(): string {
    return this.#name;
  }
  get muted(): boolean {
    return this.#muted;
  }
  /** The source feeding it. */
  get source(): S {
    return this.#source;
  }
  /** True once disposed (unpublished, room gone, or closed). */
  get isDisposed(): boolean {
    return this.#native === null;
  }

  #setMuted(muted: boolean): Promise<void> {
    if (this.#native === null) throw disposedError(this.#what);
    this.#muted = muted;
    const p = this.#participant;
    const sid = this.#sid;
    if (p !== undefined && sid !== undefined) {
      return quiet(nativeAwait(native.setLocalTrackMuted(localParticipantNative(p), sid, muted)));
    }
    return Promise.resolve();
  }

  /** Mutes the track (peers get `trackMuted`). Returns a promise that may be ignored. */
  mute(): Promise<void> {
    return this.#setMuted(true);
  }
  /** Unmutes the track. Returns a promise that may be ignored. */
  unmute(): Promise<void> {
    return this.#setMuted(false);
  }

  /**
   * Frees the track (a published track is freed by unpublishTrack). Closes its source too
   * unless `closeSource` is false (the official default).
   */
  async close(closeSource = true): Promise<void> {
    disposeLocalTrack(this);
    if (closeSource) await this.#source.close();
  }

  /** Frees the track, keeping its source open. */
  dispose(): void {
    disposeLocalTrack(this);
  }

  [Symbol.dispose](): void {
    disposeLocalTrack(this);
  }
}

/** A local audio track fed by an AudioSource. */
export class LocalAudioTrack extends LocalMediaTrack<AudioSource> {
  /** @internal use LocalAudioTrack.createAudioTrack */
  constructor(nat: NativeLocalAudioTrack, source: AudioSource) {
    super(nat, source, 'LocalAudioTrack');
  }

  /** A track named `name` carrying `source`'s audio. */
  static createAudioTrack(name: string, source: AudioSource): LocalAudioTrack {
    if (typeof name !== 'string') throw invalidArg('createAudioTrack: name must be a string');
    const sn = audioSourceNative(source);
    return new LocalAudioTrack(
      nativeCall(() => new native.NativeLocalAudioTrack(name, sn)),
      source,
    );
  }

  /** `TrackKind.KIND_AUDIO`. */
  get kind(): TrackKind {
    return TrackKind.KIND_AUDIO;
  }
}

/** A local video track fed by a VideoSource. */
export class LocalVideoTrack extends LocalMediaTrack<VideoSource> {
  /** @internal use LocalVideoTrack.createVideoTrack */
  constructor(nat: NativeLocalVideoTrack, source: VideoSource) {
    super(nat, source, 'LocalVideoTrack');
  }

  /** A track named `name` carrying `source`'s frames. */
  static createVideoTrack(name: string, source: VideoSource): LocalVideoTrack {
    if (typeof name !== 'string') throw invalidArg('createVideoTrack: name must be a string');
    const sn = videoSourceNative(source);
    return new LocalVideoTrack(
      nativeCall(() => new native.NativeLocalVideoTrack(name, sn)),
      source,
    );
  }

  /** `TrackKind.KIND_VIDEO`. */
  get kind(): TrackKind {
    return TrackKind.KIND_VIDEO;
  }
}

/** @internal */
export let remoteTrackInternal: {
  id(t: RemoteTrack): number;
  native(t: RemoteTrack): NativeRemoteTrack | null;
  attach(t: RemoteTrack, nat: NativeRemoteTrack): void;
};
/** @internal */
export let disposeRemoteTrack: (t: RemoteTrack) => void;

/** A remote track (base of RemoteAudioTrack / RemoteVideoTrack; an lkrtc runtime class). */
export abstract class RemoteTrack extends Track {
  readonly #slot: NativeSlot<NativeRemoteTrack, TrackInfo>;
  readonly #id: number;

  /** @internal */
  constructor(nat: NativeRemoteTrack) {
    super();
    this.#id = nat.id;
    this.#slot = new NativeSlot<NativeRemoteTrack, TrackInfo>(nat, 'RemoteTrack');
  }

  static {
    remoteTrackInternal = {
      id: (t) => t.#id,
      native: (t) => t.#slot.native,
      attach: (t, nat) => t.#slot.attach(nat),
    };
    disposeRemoteTrack = (t) => t.#slot.dispose();
  }

  /** Track sid (`TR_...`). */
  get sid(): string {
    return this.#slot.info.sid;
  }
  /** Track name. */
  get name(): string {
    return this.#slot.info.name;
  }
  /** `TrackKind` value. */
  get kind(): TrackKind {
    return this.#slot.info.kind;
  }
  /** Whether the publisher muted it. */
  get muted(): boolean {
    return this.#slot.read('muted');
  }
  /** True once disposed (a tombstone). */
  get isDisposed(): boolean {
    return this.#slot.disposed;
  }

  /** Frees the native side now (idempotent); the room does it after `trackUnsubscribed`. */
  dispose(): void {
    this.#slot.dispose();
  }

  /** Same as dispose() (the official SDK's name). */
  async close(): Promise<void> {
    this.#slot.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** A remote audio track: read it with `new AudioStream(track)`. */
export class RemoteAudioTrack extends RemoteTrack {}
/** A remote video track (read its pictures with `VideoStream`). */
export class RemoteVideoTrack extends RemoteTrack {}

/** A track this client publishes. */
export type LocalTrack = LocalAudioTrack | LocalVideoTrack;
/** An audio track, local or remote. */
export type AudioTrack = LocalAudioTrack | RemoteAudioTrack;
/** A video track, local or remote. */
export type VideoTrack = LocalVideoTrack | RemoteVideoTrack;

/** @internal Where a remote track lives, for frame processors (set by the room). */
export interface TrackContext {
  roomName(): string;
  participantIdentity: string;
  publicationSid: string;
  credentials(): { url: string | undefined; token: string | undefined };
}
/** @internal */
export const trackContext = new WeakMap<RemoteTrack, TrackContext>();
