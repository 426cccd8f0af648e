// End-to-end encryption is another issue: these classes exist so that apps importing them
// load; constructing any of them throws `LkError` `ERR_UNSUPPORTED`, and `Room.connect()`
// refuses `encryption` / `e2ee` options rather than connecting unencrypted.
import { EncryptionType } from './enums.js';
import { unsupported } from './errors.js';

const NO_E2EE = 'end-to-end encryption is not implemented (frames would go out unencrypted)';

/** Key derivation of `KeyProviderOptions` (the official values). */
export enum KeyDerivationFunction {
  PBKDF2 = 0,
  HKDF = 1,
}

/** Options of the official key provider. */
export interface KeyProviderOptions {
  sharedKey?: Uint8Array;
  ratchetSalt?: Uint8Array;
  ratchetWindowSize?: number;
  failureTolerance?: number;
  keyRingSize?: number;
  keyDerivationFunction?: KeyDerivationFunction;
}

/** `RoomOptions.encryption` (refused by lkrtc with `ERR_UNSUPPORTED` until E2EE exists). */
export interface E2EEOptions {
  keyProviderOptions: KeyProviderOptions;
  encryptionType?: EncryptionType;
}

/** Not supported by lkrtc yet: constructing throws `ERR_UNSUPPORTED`. */
export class KeyProvider {
  options: KeyProviderOptions = {};
  /** Throws `LkError` `ERR_UNSUPPORTED`. */
  constructor(_roomHandle: bigint, _opts: KeyProviderOptions) {
    throw unsupported('KeyProvider', NO_E2EE);
  }
  setSharedKey(_sharedKey: Uint8Array, _keyIndex: number): void {
    throw unsupported('KeyProvider', NO_E2EE);
  }
  exportSharedKey(_keyIndex: number): Uint8Array {
    throw unsupported('KeyProvider', NO_E2EE);
  }
  ratchetSharedKey(_keyIndex: number): Uint8Array {
    throw unsupported('KeyProvider', NO_E2EE);
  }
  setKey(_participantIdentity: string, _keyIndex: number): void {
    throw unsupported('KeyProvider', NO_E2EE);
  }
  exportKey(_participantIdentity: string, _keyIndex: number): Uint8Array {
    throw unsupported('KeyProvider', NO_E2EE);
  }
  ratchetKey(_participantIdentity: string, _keyIndex: number): Uint8Array {
    throw unsupported('KeyProvider', NO_E2EE);
  }
}

/** Not supported by lkrtc yet: constructing throws `ERR_UNSUPPORTED`. */
export class FrameCryptor {
  participantIdentity = '';
  keyIndex = 0;
  enabled = false;
  /** Throws `LkError` `ERR_UNSUPPORTED`. */
  constructor(_roomHandle: bigint, _participantIdentity: string, _keyIndex: number, _enabled: boolean) {
    throw unsupported('FrameCryptor', NO_E2EE);
  }
  setEnabled(_enabled: boolean): void {
    throw unsupported('FrameCryptor', NO_E2EE);
  }
  setKeyIndex(_keyIndex: number): void {
    throw unsupported('FrameCryptor', NO_E2EE);
  }
}

/** Not supported by lkrtc yet: constructing throws `ERR_UNSUPPORTED`. */
export class E2EEManager {
  enabled = false;
  /** Throws `LkError` `ERR_UNSUPPORTED`. */
  constructor(_roomHandle: bigint, _opts?: E2EEOptions) {
    throw unsupported('E2EEManager', NO_E2EE);
  }
  setEnabled(_enabled: boolean): void {
    throw unsupported('E2EEManager', NO_E2EE);
  }
  frameCryptors(): FrameCryptor[] {
    throw unsupported('E2EEManager', NO_E2EE);
  }
}
