// Track publications: the `TrackPublication` base holds the getters both kinds share
// (answered from the native object while it lives, from its tombstone after).
import { EncryptionType, TrackKind, type TrackSource, VideoQuality } from './enums.js';
import { ErrorCode, LkError, disposedError, invalidArg, nativeAwait, nativeCall, quiet } from './errors.js';
import { NativeSlot } from './handle.js';
import type {
  NativeLocalTrackPublication,
  NativeRemoteTrackPublication,
  NativeTrackSettings,
  PublicationInfo,
} from './native.js';
import type { LocalMediaTrack, LocalTrack, RemoteTrack, Track } from './track.js';
import { disposeLocalTrack, disposeRemoteTrack } from './track.js';

type PublicationNative = NativeLocalTrackPublication | NativeRemoteTrackPublication;

/** What local and remote publications have in common. */
export abstract class TrackPublication {
  readonly #slot: NativeSlot<PublicationNative, PublicationInfo>;

  /** @internal */
  constructor(nat: PublicationNative, what: string) {
    this.#slot = new NativeSlot<PublicationNative, PublicationInfo>(nat, what);
  }

  /** @internal */
  protected get slot(): NativeSlot<PublicationNative, PublicationInfo> {
    return this.#slot;
  }

  /** The published track (remote: while subscribed). */
  abstract get track(): Track | undefined;

  /** Track sid (`TR_...`). */
  get sid(): string | undefined {
    return this.#slot.info.sid;
  }
  /** Track name. */
  get name(): string | undefined {
    return this.#slot.info.name;
  }
  /** `TrackKind` value. */
  get kind(): TrackKind | undefined {
    return this.#slot.info.kind;
  }
  /** `TrackSource` value. */
  get source(): TrackSource | undefined {
    return this.#slot.info.source;
  }
  /** Codec mime type (`audio/opus`...). */
  get mimeType(): string | undefined {
    return this.#slot.read('mimeType');
  }
  /** Whether the publisher muted it. */
  get muted(): boolean | undefined {
    return this.#slot.read('muted');
  }
  /** Whether the video is sent in simulcast layers (audio: undefined). */
  get simulcasted(): boolean | undefined {
    return this.#video()?.simulcasted;
  }
  /** Video width as published (audio: undefined). */
  get width(): number | undefined {
    return this.#video()?.width;
  }
  /** Video height as published (audio: undefined). */
  get height(): number | undefined {
    return this.#video()?.height;
  }
  #video(): PublicationInfo | undefined {
    const info = this.#slot.refresh();
    return info.kind === TrackKind.KIND_VIDEO ? info : undefined;
  }
  /** End-to-end encryption the publisher announced (`EncryptionType.GCM` or `NONE`). */
  get encryptionType(): EncryptionType | undefined {
    return (this.#slot.info.encryptionType as EncryptionType | undefined) ?? EncryptionType.NONE;
  }
  /** True once disposed (a tombstone). */
  get isDisposed(): boolean {
    return this.#slot.disposed;
  }
}

/** @internal */
export let remotePublicationInternal: {
  id(p: RemoteTrackPublication): number;
  native(p: RemoteTrackPublication): NativeRemoteTrackPublication | null;
  attach(p: RemoteTrackPublication, nat: NativeRemoteTrackPublication): void;
  setTrack(p: RemoteTrackPublication, track: RemoteTrack | undefined): void;
  dispose(p: RemoteTrackPublication): void;
};

/** A track another participant published. */
export class RemoteTrackPublication extends TrackPublication {
  readonly #id: number;
  #track: RemoteTrack | undefined = undefined;

  /** @internal */
  constructor(nat: NativeRemoteTrackPublication) {
    super(nat, 'RemoteTrackPublication');
    this.#id = nat.id;
  }

  static {
    remotePublicationInternal = {
      id: (p) => p.#id,
      native: (p) => p.slot.native as NativeRemoteTrackPublication | null,
      attach: (p, nat) => p.slot.attach(nat),
      setTrack: (p, track) => {
        p.#track = track;
      },
      dispose: (p) => {
        if (p.#track !== undefined) {
          disposeRemoteTrack(p.#track);
          p.#track = undefined;
        }
        p.slot.dispose();
      },
    };
  }

  /** Whether we receive it (a `trackSubscribed` was emitted and no `trackUnsubscribed` since). */
  get subscribed(): boolean {
    return this.#track !== undefined;
  }
  /** The track while subscribed. */
  get track(): RemoteTrack | undefined {
    return this.#track;
  }

  /**
   * Subscribes or unsubscribes; `trackSubscribed` / `trackUnsubscribed` follow. Returns a
   * promise that settles when the server has been asked (the official SDK returns
   * nothing; ignoring the promise is safe). Rejects with `ERR_DISPOSED` once disposed.
   */
  setSubscribed(subscribed: boolean): Promise<void> {
    const nat = this.slot.native as NativeRemoteTrackPublication | null;
    if (nat === null) return quiet(Promise.reject(disposedError('RemoteTrackPublication')));
    return quiet(nativeAwait(nat.setSubscribed(Boolean(subscribed))));
  }

  /**
   * Whether the server forwards this track to us (the subscription stays either way); an
   * lkrtc addition, as the browser SDK's. Resolves once the server has been asked.
   */
  setEnabled(enabled: boolean): Promise<void> {
    return this.#settings({ enabled: Boolean(enabled) });
  }

  /**
   * The best simulcast layer wanted for this video (the server switches on the next
   * keyframe; a publisher without that layer sends its best below it). Replaces dimensions
   * given before. An lkrtc addition, as the browser SDK's.
   */
  setVideoQuality(quality: VideoQuality): Promise<void> {
    if (!Number.isInteger(quality) || quality < VideoQuality.LOW || quality > VideoQuality.HIGH) {
      return quiet(Promise.reject(invalidArg(`setVideoQuality: unknown VideoQuality ${quality}`)));
    }
    return this.#settings({ quality });
  }

  /**
   * The size this video is shown at: the server sends the smallest layer that covers it.
   * An lkrtc addition, as the browser SDK's.
   */
  setVideoDimensions(dimensions: { width: number; height: number }): Promise<void> {
    const { width, height } = dimensions ?? {};
    if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
      return quiet(Promise.reject(invalidArg(`setVideoDimensions: width and height must be positive integers`)));
    }
    return this.#settings({ width, height });
  }

  #settings(settings: NativeTrackSettings): Promise<void> {
    const nat = this.slot.native as NativeRemoteTrackPublication | null;
    if (nat === null) return quiet(Promise.reject(disposedError('RemoteTrackPublication')));
    return quiet(nativeAwait(nativeCall(() => nat.updateTrackSettings(settings))));
  }

  /** Frees the native side now (idempotent); the room does it after `trackUnpublished`. */
  dispose(): void {
    remotePublicationInternal.dispose(this);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/**
 * @internal Disposes a local publication; with `keepTrack` its track stays usable (to be
 * published again), else the track is disposed too.
 */
export let disposeLocalPublication: (p: LocalTrackPublication, keepTrack?: boolean) => void;
/** @internal Re-reads a local publication's info (its sid changes when it is republished). */
export let refreshLocalPublication: (p: LocalTrackPublication) => void;

/** A track this client published. Disposed when `unpublishTrack()` resolves or on disconnect. */
export class LocalTrackPublication extends TrackPublication {
  readonly #track: LocalMediaTrack;

  /** @internal */
  constructor(nat: NativeLocalTrackPublication, track: LocalMediaTrack) {
    super(nat, 'LocalTrackPublication');
    this.#track = track;
  }

  static {
    disposeLocalPublication = (p, keepTrack = false) => {
      if (!keepTrack) disposeLocalTrack(p.#track);
      p.slot.dispose();
    };
    refreshLocalPublication = (p) => {
      p.slot.refresh();
    };
  }

  /** The published track (a tombstone once unpublished, unless kept with `stopOnUnpublish` false). */
  get track(): LocalTrack {
    return this.#track as LocalTrack;
  }

  /**
   * Resolves once a first participant subscribed. Rejects with ERR_DISPOSED if the
   * publication goes away first. Waits in bounded slices, so nothing native outlives it.
   */
  async waitForSubscription(): Promise<void> {
    for (;;) {
      const nat = this.slot.native as NativeLocalTrackPublication | null;
      if (nat === null) throw disposedError('LocalTrackPublication');
      try {
        await nativeAwait(nativeCall(() => nat.waitForSubscription(1000)));
        return;
      } catch (e) {
        if (e instanceof LkError && e.code === ErrorCode.ERR_TIMEOUT) continue;
        throw e;
      }
    }
  }

  /** Frees it now (idempotent); unpublishTrack and disconnect do it anyway. */
  dispose(): void {
    disposeLocalPublication(this);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
