//! Conversions between engine values and the values JavaScript sees.
//!
//! Enum values are the numeric protobuf values `@livekit/rtc-node` uses (`TrackKind`,
//! `TrackSource`, `ConnectionState`, `DataPacketKind`, `DisconnectReason`), so that code
//! comparing against the official enums keeps working. `index.js` defines the named
//! constants.

use lkrtc_engine::{proto, ConnectionState, DataKind, TrackKind, TrackSource};

/// `TrackKind`: KIND_UNKNOWN 0, KIND_AUDIO 1, KIND_VIDEO 2.
pub(crate) fn track_kind(k: TrackKind) -> u32 {
    match k {
        TrackKind::Audio => 1,
        TrackKind::Video => 2,
    }
}

/// `TrackSource`: SOURCE_UNKNOWN 0, CAMERA 1, MICROPHONE 2, SCREENSHARE 3, SCREENSHARE_AUDIO 4.
pub(crate) fn track_source(s: TrackSource) -> u32 {
    match s {
        TrackSource::Unknown => 0,
        TrackSource::Camera => 1,
        TrackSource::Microphone => 2,
        TrackSource::ScreenShare => 3,
        TrackSource::ScreenShareAudio => 4,
    }
}

/// `ConnectionState`: CONN_DISCONNECTED 0, CONN_CONNECTED 1, CONN_RECONNECTING 2.
pub(crate) fn connection_state(s: ConnectionState) -> u32 {
    match s {
        ConnectionState::Disconnected => 0,
        ConnectionState::Connected => 1,
        ConnectionState::Reconnecting => 2,
    }
}

/// `DataPacketKind`: KIND_LOSSY 0, KIND_RELIABLE 1.
pub(crate) fn data_kind(k: DataKind) -> u32 {
    match k {
        DataKind::Lossy => 0,
        DataKind::Reliable => 1,
    }
}

/// `DisconnectReason`: the protobuf values, which the official enum uses unchanged.
pub(crate) fn disconnect_reason(r: proto::DisconnectReason) -> u32 {
    r as i32 as u32
}

/// An engine object id as a JavaScript number (ids are small counters, far below 2^53).
pub(crate) fn js_id(id: u64) -> f64 {
    id as f64
}
