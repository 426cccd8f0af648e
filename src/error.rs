//! Errors crossing to JavaScript.
//!
//! Every error the binding returns is a [`napi::Error`] whose status is a stable `ERR_*`
//! [`Code`]: napi-rs creates the JavaScript `Error` with that string as its `code`
//! property (`napi_create_error(env, code, message)`), and the message is the text alone.
//! The TypeScript layer (`ts/src/errors.ts`, `toLkError`) builds its `LkError` from
//! `err.code`; nothing parses the message. Engine errors get their code from
//! `EngineError::code()` ([`engine`]); the binding adds its own codes below.
//!
//! Synchronous methods return [`Result`] and napi-rs throws the error as it is. A
//! promise rejects with a napi status error only, so [`promise`] settles on the
//! JavaScript thread and builds the rejection there ([`rejection`]). Errors napi itself
//! raises while converting arguments keep napi's status as their code (`InvalidArg`,
//! `StringExpected`...) and become `ERR_INVALID_ARG` in TypeScript. A panic becomes
//! `ERR_PANIC`.

use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt as _;
use lkrtc_engine::EngineError;
use napi::bindgen_prelude::JsObjectValue as _;
use napi::bindgen_prelude::{PromiseRaw, ToNapiValue};
use napi::{Env, JsValue as _, Status};

/// A stable error code: the JavaScript `code` of an error the binding throws.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Code(&'static str);

impl AsRef<str> for Code {
    fn as_ref(&self) -> &str {
        self.0
    }
}

/// An error for JavaScript, with its code.
pub type Error = napi::Error<Code>;
/// The result of a binding call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The object was disposed; only its tombstone getters still answer.
pub(crate) const ERR_DISPOSED: Code = Code("ERR_DISPOSED");
/// An argument is malformed or out of range.
pub(crate) const ERR_INVALID_ARG: Code = Code("ERR_INVALID_ARG");
/// The call is not valid in the object's current state (connect twice...).
pub(crate) const ERR_INVALID_STATE: Code = Code("ERR_INVALID_STATE");
/// A Rust panic was caught at the boundary.
pub(crate) const ERR_PANIC: Code = Code("ERR_PANIC");
/// The dev server could not start (address in use, bad bind address...).
pub(crate) const ERR_SERVER: Code = Code("ERR_SERVER");
/// The ICE configuration given to `connect` is unusable.
pub(crate) const ERR_ICE_CONFIG: Code = Code("ERR_ICE_CONFIG");
/// An access token could not be created.
pub(crate) const ERR_TOKEN: Code = Code("ERR_TOKEN");
/// A data stream ended abnormally.
pub(crate) const ERR_STREAM: Code = Code("ERR_STREAM");
/// The option or feature is not supported by lkrtc.
pub(crate) const ERR_UNSUPPORTED: Code = Code("ERR_UNSUPPORTED");
/// A napi call failed (a bug, or the environment is shutting down).
pub(crate) const ERR_INTERNAL: Code = Code("ERR_INTERNAL");

/// An error with a stable code.
pub(crate) fn coded(code: Code, text: impl std::fmt::Display) -> Error {
    napi::Error::new(code, text.to_string())
}

/// An engine error, with its code.
pub(crate) fn engine(e: impl Into<EngineError>) -> Error {
    let e = e.into();
    coded(Code(e.code()), &e)
}

/// A failure of napi itself inside a call (not an argument conversion).
pub(crate) fn internal(e: napi::Error) -> Error {
    coded(ERR_INTERNAL, e.reason)
}

/// The `ERR_DISPOSED` error for an object of kind `what`.
pub(crate) fn disposed(what: &str) -> Error {
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
pub(crate) async fn guarded<T>(fut: impl Future<Output = Result<T>>) -> Result<T> {
    match AssertUnwindSafe(fut).catch_unwind().await {
        Ok(r) => r,
        Err(payload) => Err(coded(ERR_PANIC, format!("panic in lkrtc: {}", panic_text(&*payload)))),
    }
}

/// Runs a synchronous body on the JavaScript thread (event conversion), turning a panic
/// into an error (of the threadsafe-function call, which has no promise to reject).
pub(crate) fn guarded_sync<T>(f: impl FnOnce() -> napi::Result<T>) -> napi::Result<T> {
    match std::panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            Err(napi::Error::new(Status::GenericFailure, format!("panic in lkrtc: {}", panic_text(&*payload))))
        }
    }
}

/// The rejection of a promise: a JavaScript `Error` with `code` set, built on the
/// JavaScript thread (napi-rs rejects promises with status errors only).
fn rejection(env: &Env, e: Error) -> napi::Error {
    let built = env.create_error(napi::Error::new(Status::GenericFailure, e.reason)).and_then(|mut obj| {
        obj.set_named_property("code", e.status.0)?;
        Ok(obj.to_unknown())
    });
    match built {
        Ok(obj) => napi::Error::from(obj),
        Err(failed) => failed,
    }
}

/// The promise of a call: `prepared` is the outcome of its synchronous part (disposed
/// handle, invalid option, work queued in call order), which rejects the promise, as it
/// would in an `async` method, instead of throwing. Panics become `ERR_PANIC`.
///
/// The work is boxed first. Every async layer above it (the guard here, napi-rs's own
/// settle wrapper, tokio's spawn) would otherwise hold the future by value, and rustc
/// lays nested async blocks out without overlap: a 23 KB engine connect grew into a
/// 160 KB task moved through several frames on the JavaScript thread — over 1 MB of its
/// stack. V8 checks its stack limit (about 984 KB by default) whenever JavaScript runs, and
/// the promise created here runs JavaScript when async hooks are on (`AsyncLocalStorage`:
/// tracing agents, frameworks, playwright): `connect()` then threw `undefined`.
pub(crate) fn promise<'env, T, F>(env: &'env Env, prepared: Result<F>) -> Result<PromiseRaw<'env, T>>
where
    T: ToNapiValue + Send + 'static,
    F: Future<Output = Result<T>> + Send + 'static,
{
    let prepared = prepared.map(Box::pin);
    let settled = async move { Ok(guarded(async move { prepared?.await }).await) };
    env.spawn_future_with_callback(settled, |env, outcome| outcome.map_err(|e| rejection(env, e))).map_err(internal)
}

/// The promise of work that cannot fail once started.
pub(crate) fn promise_done<'env>(
    env: &'env Env,
    work: impl Future<Output = ()> + Send + 'static,
) -> Result<PromiseRaw<'env, ()>> {
    promise(env, Ok(work.map(Ok)))
}

/// Maps the engine errors of a queued call's future (see [`promise`]).
pub(crate) fn replied<T, E, F>(prepared: Result<F>) -> Result<impl Future<Output = Result<T>> + Send>
where
    E: Into<EngineError>,
    F: Future<Output = std::result::Result<T, E>> + Send,
{
    prepared.map(|f| async move { f.await.map_err(engine) })
}
