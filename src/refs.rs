//! Per-room bookkeeping that keeps "one JS object per native object" true.
//!
//! JavaScript keeps a per-room `Map` from engine object id to its wrapper. Whenever the
//! binding hands an engine object to JavaScript (in an event, or from a getter) it sends
//! a fresh native class instance only the first time; while that instance is live it
//! sends just the id, and JavaScript looks the wrapper up. An id leaves the set when its
//! native instance is disposed (eagerly, explicitly, or by the GC finalizer), so a later
//! mention creates a fresh instance that JavaScript re-attaches to the same wrapper.
//!
//! Everything here runs on the JavaScript thread (getters and event conversion); the
//! mutex only makes the types `Send`.

use std::collections::HashSet;
use std::sync::Mutex;

use napi::bindgen_prelude::Either;

use crate::convert::js_id;

/// Ids of engine objects that have a live native instance in JavaScript.
#[derive(Default)]
pub(crate) struct Registry {
    live: Mutex<HashSet<u64>>,
}

/// What JavaScript receives for an engine object: its id if JavaScript already holds a
/// live instance, else a new instance.
pub(crate) type JsRef<T> = Either<f64, T>;

impl Registry {
    /// Marks `id` as handed out; true if it was not already.
    fn introduce(&self, id: u64) -> bool {
        self.live.lock().unwrap_or_else(|p| p.into_inner()).insert(id)
    }

    /// Forgets `id` (its native instance was disposed).
    pub(crate) fn forget(&self, id: u64) {
        self.live.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
    }
}

/// What JavaScript receives for the engine object `id`: the id if JavaScript already holds
/// a live instance, else the instance `make` builds.
pub(crate) fn js_ref<T>(reg: &Registry, id: u64, make: impl FnOnce() -> T) -> JsRef<T> {
    if reg.introduce(id) {
        Either::B(make())
    } else {
        Either::A(js_id(id))
    }
}
