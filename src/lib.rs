//! lkrtc: the napi-rs binding layer.
//!
//! One file per exposed class (`room.rs`, `participant.rs`, `publication.rs`, `track.rs`,
//! `dev_server.rs`), plus the handle registry (`handles.rs`), the per-room object
//! references (`refs.rs`), the event bridge (`event_bridge.rs`), value conversions
//! (`convert.rs`) and errors (`error.rs`). The classes here are private (`native.js`); the
//! public API is the hand-written `index.js`. Binding code only converts types and maps
//! errors; protocol behaviour lives in `lkrtc-engine`.

mod audio;
mod convert;
mod dev_server;
mod error;
mod event_bridge;
mod handles;
mod participant;
mod publication;
mod refs;
mod room;
mod rpc;
mod runtime;
mod streams;
mod token;
mod track;

use napi_derive::napi;

/// The version of the lkrtc native addon (the crate version).
#[napi(catch_unwind)]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
