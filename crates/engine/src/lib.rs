//! lkrtc-engine: a pure-Rust LiveKit client.
//!
//! [`Room::connect`] joins a room over the LiveKit signalling protocol (v0, WebSocket +
//! protobuf) and two WebRTC peer connections (publisher and subscriber). The room task
//! keeps participants and publications up to date from the server's updates and reports
//! every change as a [`RoomEvent`], in order. Objects handed out ([`RemoteParticipant`],
//! [`RemoteTrackPublication`], ...) are cheap handles; the room drops its own references
//! as soon as an object stops existing on the wire.
#![deny(missing_docs)]

pub mod audio;
mod command;
pub mod e2ee;
mod error;
mod events;
#[doc(hidden)]
pub mod fuzz;
mod ice;
pub mod media;
mod objects;
mod pc;
mod remote_track;
mod reply;
mod room;
pub mod rpc;
mod signal;
pub mod stats;
pub mod streams;
mod tls;
mod turn_tunnel;
mod types;

pub use error::{Cause, ConnectError, EngineError, PublishError, Result, SendError};
pub use events::{ChatMessage, RoomEvent, TranscriptionSegment};
pub use livekit_protocol as proto;
pub use objects::{
    LocalParticipant, LocalTrackPublication, Participant, RemoteParticipant, RemoteTrack, RemoteTrackPublication,
};
pub use reply::Reply;
pub use room::{Room, MAX_DATA_PACKET};
pub use signal::{rtc_url, PROTOCOL_VERSION};
pub use types::{
    ConnectOptions, ConnectionState, DataKind, DataOptions, IceServer, IceTransportPolicy, ParticipantKind,
    PublishOptions, RoomDetails, TrackKind, TrackSettings, TrackSource, VideoCodec, VideoQuality,
};
