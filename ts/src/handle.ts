// The one wrapper/tombstone helper of the JS layer (DESIGN.md, "The handle lifecycle
// contract", rule 3). Every public object that wraps a native handle keeps a `NativeSlot`:
// the handle while it lives, plus a snapshot of its fields. Disposing frees the handle
// after a last snapshot; from then on getters answer from the snapshot (a tombstone) and
// methods that need the native side throw `ERR_DISPOSED`.
import { disposedError, nativeCall } from './errors.js';

/** What every native handle class has. */
export interface NativeHandle<I extends object> {
  info(): I;
  dispose(): boolean;
}

/** @internal A native handle and its tombstone. */
export class NativeSlot<N extends NativeHandle<I>, I extends object> {
  #native: N | null;
  #info: I;
  readonly #what: string;

  constructor(nat: N, what: string) {
    this.#native = nat;
    this.#what = what;
    this.#info = nativeCall(() => nat.info());
  }

  /** The live handle, or null once disposed. */
  get native(): N | null {
    return this.#native;
  }

  /** The live handle; throws `ERR_DISPOSED` once disposed. */
  require(): N {
    if (this.#native === null) throw disposedError(this.#what);
    return this.#native;
  }

  /** True once disposed. */
  get disposed(): boolean {
    return this.#native === null;
  }

  /** The last snapshot. */
  get info(): I {
    return this.#info;
  }

  /** Replaces the handle (a new native instance of the same engine object) and re-reads. */
  attach(nat: N): void {
    this.#native = nat;
    this.#info = nativeCall(() => nat.info());
  }

  /** A fresh snapshot while the native object lives, else the tombstone. */
  refresh(): I {
    const nat = this.#native;
    if (nat !== null) {
      try {
        this.#info = nat.info();
      } catch {
        // Disposed underneath us: keep the tombstone.
      }
    }
    return this.#info;
  }

  /** Reads `field` from the native object while it lives, else from the tombstone. */
  read<K extends keyof I & keyof N>(field: K): I[K] {
    const nat = this.#native;
    if (nat !== null) {
      try {
        const v = nat[field] as unknown as I[K];
        this.#info[field] = v;
        return v;
      } catch {
        // Disposed underneath us: fall back to the tombstone.
      }
    }
    return this.#info[field];
  }

  /** Frees the handle after a last snapshot (idempotent). */
  dispose(): void {
    const nat = this.#native;
    if (nat === null) return;
    this.#native = null;
    try {
      this.#info = nat.info();
    } catch {
      // keep the last snapshot
    }
    nat.dispose();
  }
}
