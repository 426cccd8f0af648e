//! lkrtc: the napi-rs binding layer.
//!
//! One file per exposed class (`room.rs`, `participant.rs`, `publication.rs`, `track.rs`,
//! `dev_server.rs`), plus the handle registry (`handles.rs`), the per-room object
//! references (`refs.rs`), the event bridge (`event_bridge.rs`), value conversions
//! (`convert.rs`) and errors (`error.rs`). The classes here are private (`native.js`); the
//! public API is the hand-written TypeScript in `ts/src`. Binding code only converts types
//! and maps errors; protocol behaviour lives in `lkrtc-engine`.
//!
//! Modules depend on each other in one direction (a module uses only those on lines above
//! it; no cycles):
//!
//! 1. `error`, `convert`, `token`; then `runtime` (the tokio runtime)
//! 2. `handles` (counted handles), `refs` (the per-room registry of live ids)
//! 3. the classes, bottom up: `track` → `publication` → `participant`; `audio`, `rpc`
//!    and `streams` add methods to them
//! 4. `event_bridge` (engine events to JavaScript objects)
//! 5. `room` (owns the event bridge), then `dev_server`

// napi-derive expands every `#[napi]` item into registration code that uses `unsafe`
// (the N-API C calls); the hand-written code here has none.
#![allow(unsafe_code)]
// In the lib test target napi-derive emits no load-time registration, so the exported
// functions look unused there.
#![cfg_attr(test, allow(dead_code))]

mod audio;
mod convert;
mod dev_server;
mod e2ee;
mod e2ee_options;
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
mod video;
mod video_frame;
mod video_stream;

use napi_derive::napi;

/// The version of the lkrtc native addon (the crate version).
#[napi(catch_unwind)]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
