//! Errors crossing to JavaScript.
//!
//! The scheme: every error the binding returns is a `napi::Error` whose message is
//! `"<CODE>: <text>"`, where `<CODE>` is a stable `ERR_*` code. The JavaScript layer
//! (`index.js`, `toLkError`) splits the prefix off into `LkError.code` and keeps the text
//! as the message. Engine errors use `EngineError::code()`; the binding adds its own codes
//! below. Errors napi itself raises while converting arguments (status `InvalidArg`,
//! `StringExpected`...) carry no prefix and become `ERR_INVALID_ARG` in JavaScript; any
//! other unprefixed error becomes `ERR_INTERNAL`. A panic becomes `ERR_PANIC`.

use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt as _;
use lkrtc_engine::EngineError;
use napi::bindgen_prelude::{PromiseRaw, ToNapiValue};
use napi::{Env, Status};

/// The object was disposed; only its tombstone getters still answer.
pub(crate) const ERR_DISPOSED: &str = "ERR_DISPOSED";
/// An argument is malformed or out of range.
pub(crate) const ERR_INVALID_ARG: &str = "ERR_INVALID_ARG";
/// The call is not valid in the object's current state (connect twice...).
pub(crate) const ERR_INVALID_STATE: &str = "ERR_INVALID_STATE";
/// A Rust panic was caught at the boundary.
pub(crate) const ERR_PANIC: &str = "ERR_PANIC";
/// The dev server could not start (address in use, bad bind address...).
pub(crate) const ERR_SERVER: &str = "ERR_SERVER";
/// The ICE configuration given to `connect` is unusable.
pub(crate) const ERR_ICE_CONFIG: &str = "ERR_ICE_CONFIG";
/// An access token could not be created.
pub(crate) const ERR_TOKEN: &str = "ERR_TOKEN";

/// An error with a stable code.
pub(crate) fn coded(code: &str, text: impl std::fmt::Display) -> napi::Error {
    napi::Error::new(Status::GenericFailure, format!("{code}: {text}"))
}

/// An engine error, with its code.
pub(crate) fn engine(e: EngineError) -> napi::Error {
    coded(e.code(), &e)
}

/// The `ERR_DISPOSED` error for an object of kind `what`.
pub(crate) fn disposed(what: &str) -> napi::Error {
    coded(ERR_DISPOSED, format!("this {what} has been disposed"))
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a non-string payload".to_string()
    }
}

/// Runs an async binding body, turning a panic into an `ERR_PANIC` rejection.
pub(crate) async fn guarded<T>(fut: impl Future<Output = napi::Result<T>>) -> napi::Result<T> {
    match AssertUnwindSafe(fut).catch_unwind().await {
        Ok(r) => r,
        Err(payload) => Err(coded(ERR_PANIC, format!("panic in lkrtc: {}", panic_text(&*payload)))),
    }
}

/// Runs a synchronous body on the JavaScript thread (event conversion), turning a panic
/// into an `ERR_PANIC` error.
pub(crate) fn guarded_sync<T>(f: impl FnOnce() -> napi::Result<T>) -> napi::Result<T> {
    match std::panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => Err(coded(ERR_PANIC, format!("panic in lkrtc: {}", panic_text(&*payload)))),
    }
}

/// The promise of a call whose work was queued synchronously (so that calls keep their
/// order): `prepared` is the outcome of that synchronous part. An error found there
/// (disposed handle, invalid option) rejects the promise, as it would in an `async`
/// method, instead of throwing.
pub(crate) fn promise<'env, T, F>(env: &'env Env, prepared: napi::Result<F>) -> napi::Result<PromiseRaw<'env, T>>
where
    T: ToNapiValue + Send + 'static,
    F: Future<Output = napi::Result<T>> + Send + 'static,
{
    env.spawn_future(guarded(async move { prepared?.await }))
}

/// Maps the engine errors of a queued call's future (see [`promise`]).
pub(crate) fn replied<T, F>(prepared: napi::Result<F>) -> napi::Result<impl Future<Output = napi::Result<T>> + Send>
where
    F: Future<Output = lkrtc_engine::Result<T>> + Send,
{
    prepared.map(|f| async move { f.await.map_err(engine) })
}
