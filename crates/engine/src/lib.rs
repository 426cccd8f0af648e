//! lkrtc-engine: the pure-Rust LiveKit client behind the lkrtc addon.
//!
//! This crate is a placeholder until the client issue lands; it only re-exports the
//! protocol types so that the workspace layout is in place.
#![deny(missing_docs)]

/// The LiveKit wire protocol types (prost), shared with the dev server.
pub use livekit_protocol as proto;
