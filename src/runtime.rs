//! Access to the addon's tokio runtime that is safe at environment teardown.
//!
//! napi-rs shuts its runtime down from an env cleanup hook when the last Node environment
//! that loaded the addon ends. Garbage-collection finalizers of native objects still open
//! then (an `AudioSource`, a `Room` never connected...) run *after* the cleanup hooks, and
//! napi's `within_runtime_if_available` panics on the emptied runtime slot: users saw a
//! Rust panic with a backtrace at every such exit.
//!
//! This module counts the environments that loaded the addon (a cleanup hook registered
//! at load decrements it; hooks run in reverse order of registration, and the napi
//! environment's own finalizers run after every hook). [`enter`] runs a closure in the
//! runtime only while one is known to exist, and [`release`] drops a value there, or, once
//! the runtime is gone (the process or worker is exiting), leaks it instead of touching a
//! dead runtime: the operating system reclaims it with the process.

use std::sync::atomic::{AtomicUsize, Ordering};

use napi::bindgen_prelude::Object;
use napi::Env;
use napi_derive::napi;

/// Environments that loaded the addon and have not been torn down.
static LIVE_ENVS: AtomicUsize = AtomicUsize::new(0);

/// Runs at every load of the addon: counts the environment until its teardown.
#[napi(module_exports)]
pub fn track_environment(_exports: Object<'_>, env: Env) -> napi::Result<()> {
    LIVE_ENVS.fetch_add(1, Ordering::AcqRel);
    env.add_env_cleanup_hook((), |()| {
        LIVE_ENVS.fetch_sub(1, Ordering::AcqRel);
    })?;
    Ok(())
}

/// Runs `f` inside the addon's runtime; `None` (without running it) if the runtime is gone.
pub(crate) fn enter<T>(f: impl FnOnce() -> T) -> Option<T> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Some(f()); // already on a runtime thread (a spawned future)
    }
    if LIVE_ENVS.load(Ordering::Acquire) == 0 {
        return None;
    }
    Some(napi::bindgen_prelude::within_runtime_if_available(f))
}

/// Drops `value` inside the runtime (engine objects own WebRTC state whose destructors
/// expect one); at teardown, when no runtime exists any more, leaks it instead.
pub(crate) fn release<T>(value: T) {
    let mut slot = Some(value);
    if enter(|| drop(slot.take())).is_none() {
        std::mem::forget(slot.take());
    }
}

/// The error of a call made after the runtime shut down.
pub(crate) fn gone() -> crate::error::Error {
    crate::error::coded(crate::error::ERR_INVALID_STATE, "the lkrtc runtime has shut down (the process is exiting)")
}
