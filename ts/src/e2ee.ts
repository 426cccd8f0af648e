// End-to-end encryption, with the classes and option names of @livekit/rtc-node. The room
// creates its `E2EEManager` when connected with `RoomOptions.encryption` (or the deprecated
// `e2ee`). As in rtc-node these objects address the room: a `FrameCryptor` is a snapshot
// naming a participant, and its methods act on every cryptor of that participant's tracks.
// The native cryptors live and die with their tracks, so JavaScript holds no native cryptor.
import { EncryptionType } from './enums.js';
import { ErrorCode, LkError, invalidArg, nativeCall } from './errors.js';
import type { NativeE2eeOptions, NativeRoom } from './native.js';

/** Key derivation of `KeyProviderOptions` (the official values). */
export enum KeyDerivationFunction {
  PBKDF2 = 0,
  HKDF = 1,
}

/** Options of the key provider (rtc-node's names and defaults). */
export interface KeyProviderOptions {
  /** Shared-key mode, with this key at index 0. Without it: one key per participant (`setKey`). */
  sharedKey?: Uint8Array;
  /** Salt of key derivation and ratcheting (default the bytes of `LKFrameEncryptionKey`). */
  ratchetSalt?: Uint8Array;
  /** Ratchet steps a receiver tries when a frame does not decrypt (default 16). */
  ratchetWindowSize?: number;
  /** Failed decryptions before the key counts as invalid; -1 (default): never. */
  failureTolerance?: number;
  /** Keys per participant (default 16, at most 256). */
  keyRingSize?: number;
  /** PBKDF2 (default) or HKDF. */
  keyDerivationFunction?: KeyDerivationFunction;
}

/** `RoomOptions.encryption`. */
export interface E2EEOptions {
  keyProviderOptions: KeyProviderOptions;
  /** GCM (default); NONE connects without encryption; CUSTOM is refused (`ERR_UNSUPPORTED`). */
  encryptionType?: EncryptionType;
}

/** rtc-node's defaults. */
export const defaultKeyProviderOptions: KeyProviderOptions = {
  ratchetSalt: new TextEncoder().encode('LKFrameEncryptionKey'),
  ratchetWindowSize: 16,
  failureTolerance: -1,
  keyRingSize: 16,
  keyDerivationFunction: KeyDerivationFunction.PBKDF2,
};

/** rtc-node's defaults. */
export const defaultE2EEOptions: E2EEOptions = {
  keyProviderOptions: defaultKeyProviderOptions,
  encryptionType: EncryptionType.GCM,
};

/** The options rtc-node connects with: the app's over the defaults. */
export function mergeE2EEOptions(user: E2EEOptions): E2EEOptions {
  return {
    ...defaultE2EEOptions,
    ...user,
    keyProviderOptions: { ...defaultKeyProviderOptions, ...user.keyProviderOptions },
  };
}

/** The native form of merged options. */
export function nativeE2EEOptions(o: E2EEOptions): NativeE2eeOptions {
  const k = o.keyProviderOptions;
  return {
    encryptionType: o.encryptionType,
    sharedKey: k.sharedKey,
    ratchetSalt: k.ratchetSalt,
    ratchetWindowSize: k.ratchetWindowSize,
    failureTolerance: k.failureTolerance,
    keyRingSize: k.keyRingSize,
    keyDerivationFunction: k.keyDerivationFunction,
  };
}

/** The native room behind an E2EE object; throws `ERR_INVALID_STATE` for one made by hand. */
function roomOf(handle: unknown): NativeRoom {
  if (typeof handle !== 'object' || handle === null || !('e2eeEnabled' in handle)) {
    throw new LkError(ErrorCode.ERR_INVALID_STATE, 'this E2EE object was not made by a connected Room');
  }
  return handle as NativeRoom;
}

const bytes = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

/** The room's keys (`room.e2eeManager.keyProvider`). */
export class KeyProvider {
  readonly #room: unknown;
  options: KeyProviderOptions;

  /** Internal: made by the room's `E2EEManager`. */
  constructor(roomHandle: bigint | object, opts: KeyProviderOptions) {
    this.#room = roomHandle;
    this.options = opts;
  }

  /** Sets the shared key at `keyIndex` for every participant (shared-key mode). */
  setSharedKey(sharedKey: Uint8Array, keyIndex: number): void {
    const room = roomOf(this.#room);
    nativeCall(() => room.e2eeSetSharedKey(sharedKey, keyIndex));
  }

  /** The shared key material at `keyIndex` (empty when none is set). */
  exportSharedKey(keyIndex: number): Uint8Array {
    const room = roomOf(this.#room);
    return bytes(nativeCall(() => room.e2eeExportSharedKey(keyIndex)));
  }

  /** Ratchets the shared key at `keyIndex`; the new key material (empty when none is set). */
  ratchetSharedKey(keyIndex: number): Uint8Array {
    const room = roomOf(this.#room);
    return bytes(nativeCall(() => room.e2eeRatchetSharedKey(keyIndex)));
  }

  /**
   * Sets `participantIdentity`'s key at `keyIndex` (per-participant mode). rtc-node 1.1's
   * `setKey(identity, keyIndex)` carries no key: lkrtc refuses that form (`ERR_INVALID_ARG`)
   * rather than set an empty key.
   */
  setKey(participantIdentity: string, keyIndex: number): void;
  setKey(participantIdentity: string, key: Uint8Array, keyIndex?: number): void;
  setKey(participantIdentity: string, keyOrIndex: Uint8Array | number, keyIndex = 0): void {
    if (!(keyOrIndex instanceof Uint8Array)) {
      throw invalidArg('setKey: pass the key: setKey(participantIdentity, key, keyIndex)');
    }
    const room = roomOf(this.#room);
    nativeCall(() => room.e2eeSetKey(participantIdentity, keyOrIndex, keyIndex));
  }

  /** `participantIdentity`'s key material at `keyIndex` (empty when none is set). */
  exportKey(participantIdentity: string, keyIndex: number): Uint8Array {
    const room = roomOf(this.#room);
    return bytes(nativeCall(() => room.e2eeExportKey(participantIdentity, keyIndex)));
  }

  /** Ratchets `participantIdentity`'s key at `keyIndex`; the new key material (empty when none). */
  ratchetKey(participantIdentity: string, keyIndex: number): Uint8Array {
    const room = roomOf(this.#room);
    return bytes(nativeCall(() => room.e2eeRatchetKey(participantIdentity, keyIndex)));
  }
}

/**
 * The cryptors of one participant's tracks, as `E2EEManager.frameCryptors()` saw one of them
 * (`trackSid` and `state` are lkrtc additions).
 */
export class FrameCryptor {
  readonly #room: unknown;
  participantIdentity: string;
  keyIndex: number;
  enabled: boolean;
  /** lkrtc: the track the cryptor sits on. */
  trackSid = '';
  /** lkrtc: its `EncryptionState` when listed. */
  state = 0;

  /** Internal: made by `E2EEManager.frameCryptors()`. */
  constructor(roomHandle: bigint | object, participantIdentity: string, keyIndex: number, enabled: boolean) {
    this.#room = roomHandle;
    this.participantIdentity = participantIdentity;
    this.keyIndex = keyIndex;
    this.enabled = enabled;
  }

  /** Turns encryption (own tracks) or decryption (a publisher's tracks) on or off. */
  setEnabled(enabled: boolean): void {
    const room = roomOf(this.#room);
    nativeCall(() => room.e2eeCryptorSetEnabled(this.participantIdentity, enabled));
    this.enabled = enabled;
  }

  /** The key index the participant's tracks are encrypted with (sending side). */
  setKeyIndex(keyIndex: number): void {
    const room = roomOf(this.#room);
    nativeCall(() => room.e2eeCryptorSetKeyIndex(this.participantIdentity, keyIndex));
    this.keyIndex = keyIndex;
  }
}

/** The room's end-to-end encryption (`room.e2eeManager`, set when connected with `encryption`). */
export class E2EEManager {
  readonly #room: unknown;
  /** The room's keys. */
  readonly keyProvider: KeyProvider;
  enabled: boolean;

  /** Internal: made by the room on connect. */
  constructor(roomHandle: bigint | object, opts?: E2EEOptions) {
    this.#room = roomHandle;
    this.enabled = opts !== undefined;
    const options = mergeE2EEOptions(opts ?? defaultE2EEOptions);
    this.keyProvider = new KeyProvider(roomHandle, options.keyProviderOptions);
  }

  /** Turns encryption of every track and data packet on or off. */
  setEnabled(enabled: boolean): void {
    const room = roomOf(this.#room);
    nativeCall(() => room.e2eeSetEnabled(enabled));
    this.enabled = enabled;
  }

  /** The cryptors of the tracks that exist now (published and subscribed). */
  frameCryptors(): FrameCryptor[] {
    const room = roomOf(this.#room);
    return nativeCall(() => room.e2eeFrameCryptors()).map((c) => {
      const cryptor = new FrameCryptor(room, c.participantIdentity, c.keyIndex, c.enabled);
      cryptor.trackSid = c.trackSid;
      cryptor.state = c.state;
      return cryptor;
    });
  }
}
