//! Small public value types.

use std::net::IpAddr;
use std::time::Duration;

use livekit_protocol as proto;

static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// A process-wide unique id for an engine object (stable for the object's life).
pub(crate) fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Options for [`Room::connect`](crate::Room::connect).
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    /// Subscribe to every published track automatically (default true).
    pub auto_subscribe: bool,
    /// Bound on the whole connect (signal + both peer connections). Default 15 s.
    pub connect_timeout: Duration,
    /// Address WebRTC sockets bind to. Default: 127.0.0.1 when the server is on
    /// loopback, else every interface.
    pub bind_ip: Option<IpAddr>,
    /// ICE servers to use. Empty (the default): the ones the server sends in its join
    /// response.
    pub ice_servers: Vec<IceServer>,
    /// Which candidates ICE may use. The server can force relay-only through its client
    /// configuration.
    pub ice_transport_policy: IceTransportPolicy,
    /// Largest incoming data stream accepted, in bytes (`RoomOptions.dataStream.
    /// maxPayloadByteLength`). A stream announcing more, or carrying more, is failed and
    /// its memory released. `None` (the default): no cap beyond the unread-buffer limit.
    pub max_stream_payload_bytes: Option<u64>,
    /// End-to-end encryption of tracks and data (`RoomOptions.encryption`). `None` (the
    /// default): none.
    pub encryption: Option<crate::e2ee::E2eeOptions>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            auto_subscribe: true,
            connect_timeout: Duration::from_secs(15),
            bind_ip: None,
            ice_servers: Vec::new(),
            ice_transport_policy: IceTransportPolicy::All,
            max_stream_payload_bytes: None,
            encryption: None,
        }
    }
}

/// A STUN or TURN server.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IceServer {
    /// `stun:` / `turn:` URLs (RFC 7064/7065).
    pub urls: Vec<String>,
    /// TURN username.
    pub username: String,
    /// TURN credential.
    pub credential: String,
}

/// Which ICE candidates may be used (`RTCIceTransportPolicy`, plus libwebrtc's no-host).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IceTransportPolicy {
    /// Every candidate: host, server-reflexive, relay, TCP.
    #[default]
    All,
    /// Everything but host candidates: local addresses are never sent to the server.
    NoHost,
    /// TURN relay candidates only: all media and data flow through a TURN server.
    Relay,
}

/// Room connection state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionState {
    /// Not connected (before connect or after disconnect).
    Disconnected,
    /// Connected.
    Connected,
    /// Connection interrupted, trying to recover.
    Reconnecting,
}

/// The data channel a packet travels on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataKind {
    /// Ordered, retransmitted.
    Reliable,
    /// Unordered, best effort.
    Lossy,
}

/// Options for [`LocalParticipant::publish_data`](crate::LocalParticipant::publish_data).
#[derive(Clone, Debug, Default)]
pub struct DataOptions {
    /// Send on the reliable channel.
    pub reliable: bool,
    /// Limit delivery to these identities (empty: everyone).
    pub destination_identities: Vec<String>,
    /// Application topic.
    pub topic: Option<String>,
}

/// Kind of media.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrackKind {
    /// Audio.
    Audio,
    /// Video.
    Video,
}

impl TrackKind {
    /// The kind of a wire `TrackType` value (unknown values: audio).
    pub fn from_proto(t: i32) -> Self {
        if t == proto::TrackType::Video as i32 {
            TrackKind::Video
        } else {
            TrackKind::Audio
        }
    }
}

/// Where a track comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrackSource {
    /// Not said.
    Unknown,
    /// A camera.
    Camera,
    /// A microphone.
    Microphone,
    /// A screen share.
    ScreenShare,
    /// Audio of a screen share.
    ScreenShareAudio,
}

impl TrackSource {
    /// The source of a wire `TrackSource` value.
    pub fn from_proto(s: i32) -> Self {
        match proto::TrackSource::try_from(s).unwrap_or(proto::TrackSource::Unknown) {
            proto::TrackSource::Camera => TrackSource::Camera,
            proto::TrackSource::Microphone => TrackSource::Microphone,
            proto::TrackSource::ScreenShare => TrackSource::ScreenShare,
            proto::TrackSource::ScreenShareAudio => TrackSource::ScreenShareAudio,
            _ => TrackSource::Unknown,
        }
    }
}

/// What the server says about the room besides its name, sid and metadata (the proto
/// `Room`), kept up to date from `RoomUpdate`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoomDetails {
    /// When the room was created, in milliseconds since the epoch (0 if the server did
    /// not say).
    pub creation_time_ms: i64,
    /// Participants in the room, this client included (as the server counts them).
    pub num_participants: u32,
    /// Participants publishing at least one track.
    pub num_publishers: u32,
    /// Whether the room is being recorded.
    pub active_recording: bool,
    /// Seconds the room stays open after the last participant left.
    pub departure_timeout: u32,
    /// Seconds an empty room stays open.
    pub empty_timeout: u32,
    /// Participant limit (0: none).
    pub max_participants: u32,
}

impl RoomDetails {
    /// From the protocol's `Room`; `creation_time_ms` falls back to `creation_time` (seconds).
    pub fn from_proto(room: &proto::Room) -> Self {
        let creation_time_ms =
            if room.creation_time_ms > 0 { room.creation_time_ms } else { room.creation_time * 1000 };
        Self {
            creation_time_ms,
            num_participants: room.num_participants,
            num_publishers: room.num_publishers,
            active_recording: room.active_recording,
            departure_timeout: room.departure_timeout,
            empty_timeout: room.empty_timeout,
            max_participants: room.max_participants,
        }
    }
}

/// What a participant is, numbered as the official SDKs number `ParticipantKind` (the
/// wire numbers connector and bridge 7 and 8; the SDKs 5 and 6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParticipantKind {
    /// A regular client.
    Standard = 0,
    /// An ingress (stream ingestion).
    Ingress = 1,
    /// An egress (recording, streaming out).
    Egress = 2,
    /// A SIP call.
    Sip = 3,
    /// An agent.
    Agent = 4,
    /// A connector (WhatsApp, Twilio...).
    Connector = 5,
    /// A bridge (RTSP...).
    Bridge = 6,
}

impl ParticipantKind {
    /// From the wire value (`ParticipantInfo.Kind`); unknown values are `Standard`.
    pub fn from_proto(kind: i32) -> Self {
        use proto::participant_info::Kind;
        match Kind::try_from(kind) {
            Ok(Kind::Ingress) => Self::Ingress,
            Ok(Kind::Egress) => Self::Egress,
            Ok(Kind::Sip) => Self::Sip,
            Ok(Kind::Agent) => Self::Agent,
            Ok(Kind::Connector) => Self::Connector,
            Ok(Kind::Bridge) => Self::Bridge,
            _ => Self::Standard,
        }
    }
}

/// A subscriber's wishes for a remote track: whether it is forwarded at all and, for video,
/// the largest layer wanted (by quality, or by the size it is shown at).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrackSettings {
    /// False: the server stops forwarding it (the subscription stays).
    pub enabled: bool,
    /// The best layer wanted (when `dimensions` is not given).
    pub quality: VideoQuality,
    /// The size the video is shown at: the server picks the smallest layer covering it.
    pub dimensions: Option<(u32, u32)>,
}

impl Default for TrackSettings {
    fn default() -> Self {
        Self { enabled: true, quality: VideoQuality::High, dimensions: None }
    }
}

/// A simulcast layer, with the protocol's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VideoQuality {
    /// The lowest layer.
    Low = 0,
    /// The middle layer.
    Medium = 1,
    /// The top layer.
    High = 2,
}

impl VideoQuality {
    /// The quality of a `VideoQuality` value (0 low, 1 medium, 2 high).
    pub fn from_value(v: u32) -> Option<Self> {
        [Self::Low, Self::Medium, Self::High].get(v as usize).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_use_the_sdk_numbering() {
        use proto::participant_info::Kind;
        let sdk = |k: Kind| ParticipantKind::from_proto(k as i32) as i32;
        assert_eq!((sdk(Kind::Standard), sdk(Kind::Agent), sdk(Kind::Sip)), (0, 4, 3));
        assert_eq!((sdk(Kind::Connector), sdk(Kind::Bridge)), (5, 6), "wire 7 and 8");
        assert_eq!(ParticipantKind::from_proto(99), ParticipantKind::Standard);
    }

    #[test]
    fn creation_time_falls_back_to_seconds() {
        let seconds = proto::Room { creation_time: 1_700_000_000, ..Default::default() };
        assert_eq!(RoomDetails::from_proto(&seconds).creation_time_ms, 1_700_000_000_000);
        let both =
            proto::Room { creation_time: 1_700_000_000, creation_time_ms: 1_700_000_000_123, ..Default::default() };
        assert_eq!(RoomDetails::from_proto(&both).creation_time_ms, 1_700_000_000_123);
        let d =
            RoomDetails::from_proto(&proto::Room { num_participants: 3, active_recording: true, ..Default::default() });
        assert_eq!((d.num_participants, d.active_recording), (3, true));
    }
}

/// Options for [`crate::LocalParticipant::publish_track`].
#[derive(Clone, Debug)]
pub struct PublishOptions {
    /// What the track is (default microphone).
    pub source: TrackSource,
    /// Discontinuous transmission (default true): after 200 ms of true silence only a
    /// packet every 400 ms is sent. Tones, music and speech are always sent in full.
    pub dtx: bool,
    /// Redundant audio (default true, as the official SDK). lkrtc does not negotiate RED:
    /// the track is always published with `disable_red`, whatever this asks.
    pub red: bool,
    /// Stream name grouping tracks (optional).
    pub stream: String,
    /// Video: the codec (default VP8, as the official SDK).
    pub video_codec: VideoCodec,
    /// Video: the bitrate ceiling in bits per second (`None`: from the resolution, as the
    /// official SDK's presets).
    pub max_bitrate: Option<u32>,
    /// Video: frames per second (`None`: 30).
    pub max_framerate: Option<f64>,
    /// Video: send three layers. Not supported by lkrtc yet: publishing with it is refused.
    pub simulcast: bool,
}

impl Default for PublishOptions {
    fn default() -> Self {
        Self {
            source: TrackSource::Microphone,
            dtx: true,
            red: true,
            stream: String::new(),
            video_codec: VideoCodec::Vp8,
            max_bitrate: None,
            max_framerate: None,
            simulcast: false,
        }
    }
}

/// A video codec a track can be published with (the official `VideoCodec` values).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum VideoCodec {
    /// VP8 (libvpx), the default.
    #[default]
    Vp8,
    /// H.264 constrained baseline (OpenH264).
    H264,
    /// VP9 (profile 0).
    Vp9,
    /// AV1 (no encoder in lkrtc yet).
    Av1,
}

/// A chat message (the `ChatMessage` data packet).
#[derive(Clone, Debug, PartialEq)]
pub struct ChatMessage {
    /// Message id (a UUID).
    pub id: String,
    /// Sent at (ms since the epoch).
    pub timestamp: i64,
    /// Edited at, for edits.
    pub edit_timestamp: Option<i64>,
    /// Text.
    pub message: String,
    /// Whether it was deleted.
    pub deleted: bool,
    /// Whether a machine generated it.
    pub generated: bool,
}

/// One segment of a transcription.
#[derive(Clone, Debug, PartialEq)]
pub struct TranscriptionSegment {
    /// Segment id.
    pub id: String,
    /// Text.
    pub text: String,
    /// Start (ms).
    pub start_time: u64,
    /// End (ms).
    pub end_time: u64,
    /// Whether the text is final.
    pub is_final: bool,
    /// Language code.
    pub language: String,
}
