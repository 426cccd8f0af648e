//! Engine errors. Each variant has a stable code (`code()`) that the binding exposes to
//! JavaScript as `LkError.code`.

/// The underlying error of a failure, kept (not flattened to text) so that callers can
/// walk `source()` and downcast it.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// A [`Cause`] from an error value or, for failures lkrtc itself detects, a text.
pub(crate) fn cause(e: impl Into<Cause>) -> Cause {
    e.into()
}

/// Why `Room::connect` failed, where the caller can act on it (fix the URL, the token,
/// the trust store or the ICE servers, or retry later). A bounded wait that expired is
/// [`EngineError::Timeout`].
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The URL is not a ws://, wss://, http:// or https:// URL.
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it (the URL parser's error when it refused it).
        reason: Cause,
    },
    /// The server refused the token (HTTP 401/403); the message is the server's.
    #[error("the server refused the token ({status}): {message}")]
    Unauthorized {
        /// HTTP status.
        status: u16,
        /// Server's explanation.
        message: String,
    },
    /// The server could not be reached, or answered the WebSocket upgrade with an error.
    #[error("cannot connect to {url}: {source}")]
    Unreachable {
        /// Where we tried to connect.
        url: String,
        /// Why it failed (the socket or WebSocket error).
        source: Cause,
    },
    /// The server's TLS certificate was refused (unknown authority, wrong name, expired...);
    /// the reason says which and how to fix it.
    #[error("cannot connect to {url}: {reason}")]
    Certificate {
        /// Where we tried to connect.
        url: String,
        /// What is wrong with the certificate, and the fix.
        reason: String,
    },
    /// The ICE configuration (`rtcConfig`, or the server's ICE servers) is unusable.
    #[error("invalid ICE configuration: {0}")]
    IceConfig(String),
    /// The server refused the join (it sent `leave` instead of `join`).
    #[error("the server refused the request: {0}")]
    Rejected(String),
}

impl ConnectError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ConnectError::InvalidUrl { .. } => "ERR_INVALID_URL",
            ConnectError::Unauthorized { .. } => "ERR_UNAUTHORIZED",
            ConnectError::Unreachable { .. } => "ERR_CONNECT",
            ConnectError::Certificate { .. } => "ERR_TLS_CERTIFICATE",
            ConnectError::IceConfig(_) => "ERR_ICE_CONFIG",
            ConnectError::Rejected(_) => "ERR_REJECTED",
        }
    }
}

/// Why publishing a track failed, where the caller can act on it. A server that never
/// answers is [`EngineError::Timeout`]; a room that went away, [`EngineError::Disconnected`].
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The track is already published (or being published).
    #[error("invalid argument: this track is already published")]
    AlreadyPublished,
    /// The track's audio source was closed: there is nothing to send.
    #[error("the track's AudioSource is closed")]
    SourceClosed,
    /// The server refused the track; the message is the server's.
    #[error("the server refused the request: {0}")]
    Rejected(String),
}

impl PublishError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            PublishError::AlreadyPublished => "ERR_INVALID_ARG",
            PublishError::SourceClosed => "ERR_DISPOSED",
            PublishError::Rejected(_) => "ERR_REJECTED",
        }
    }
}

/// Why sending a data packet failed, where the caller can act on it.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The packet is over the data channel's limit: split it, or use a byte stream.
    #[error(
        "invalid argument: data packet of {size} bytes exceeds the {limit}-byte limit; split it or use a byte stream"
    )]
    TooLarge {
        /// The encoded packet's size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The data channel refused the packet (it closed: the room is disconnecting).
    #[error("the room is disconnected")]
    ChannelClosed(#[source] Cause),
    /// The room is reconnecting and the queue of reliable data waiting for it is full.
    #[error(
        "the room is reconnecting and its queue of reliable data is full ({packets} packets or {bytes} bytes); \
         retry after the reconnected event"
    )]
    QueueFull {
        /// Packets the queue holds at most.
        packets: usize,
        /// Bytes the queue holds at most.
        bytes: usize,
    },
    /// Lossy data is not sent while the room is reconnecting (it would be stale).
    #[error("lossy data was not sent: the room is reconnecting")]
    Reconnecting,
    /// The room encrypts and the packet could not be encrypted (no key yet): nothing was sent.
    #[error("the packet could not be encrypted: {0}")]
    Encryption(#[source] E2eeError),
}

impl SendError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            SendError::TooLarge { .. } => "ERR_INVALID_ARG",
            SendError::ChannelClosed(_) => "ERR_DISCONNECTED",
            SendError::QueueFull { .. } | SendError::Reconnecting => "ERR_INVALID_STATE",
            SendError::Encryption(_) => "ERR_ENCRYPTION",
        }
    }
}

/// What went wrong in an engine call: an operation's own error ([`ConnectError`],
/// [`PublishError`], [`SendError`]) or one any call can meet.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Joining the room failed.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// Publishing a track failed.
    #[error(transparent)]
    Publish(#[from] PublishError),
    /// Sending a data packet failed.
    #[error(transparent)]
    Send(#[from] SendError),
    /// An argument is out of range or malformed.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The established signal connection failed.
    #[error("the signal connection failed: {0}")]
    SignalLost(#[source] Cause),
    /// A bounded wait expired.
    #[error("timed out after {ms} ms waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: &'static str,
        /// The bound, in milliseconds.
        ms: u64,
    },
    /// The room is disconnected (or disconnected during the call).
    #[error("the room is disconnected")]
    Disconnected,
    /// The server answered a request with an error.
    #[error("the server refused the request: {0}")]
    Rejected(String),
    /// A WebRTC operation failed.
    #[error("WebRTC failure: {0}")]
    Rtc(#[source] Cause),
    /// The object was closed or disposed.
    #[error("{0}")]
    Disposed(String),
    /// The server broke the protocol.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// A message from the server did not decode.
    #[error("protocol error: {0}")]
    Decode(#[from] prost::DecodeError),
}

impl EngineError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::Connect(e) => e.code(),
            EngineError::Publish(e) => e.code(),
            EngineError::Send(e) => e.code(),
            EngineError::InvalidArgument(_) => "ERR_INVALID_ARG",
            EngineError::SignalLost(_) => "ERR_CONNECT",
            EngineError::Timeout { .. } => "ERR_TIMEOUT",
            EngineError::Disconnected => "ERR_DISCONNECTED",
            EngineError::Rejected(_) => "ERR_REJECTED",
            EngineError::Rtc(_) => "ERR_RTC",
            EngineError::Protocol(_) | EngineError::Decode(_) => "ERR_PROTOCOL",
            EngineError::Disposed(_) => "ERR_DISPOSED",
        }
    }

    /// A WebRTC failure, keeping its cause (a `webrtc` error, or lkrtc's own text).
    pub(crate) fn rtc(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        EngineError::Rtc(cause(e))
    }

    /// A WebRTC failure with what lkrtc was doing when it happened.
    pub(crate) fn rtc_during(what: &str, e: impl std::fmt::Display) -> Self {
        EngineError::Rtc(cause(format!("{what}: {e}")))
    }
}

/// Result alias for engine calls.
pub type Result<T> = std::result::Result<T, EngineError>;

/// Runs `fut` with a bound; `what` names the wait in the error.
pub(crate) async fn bounded<T>(
    what: &'static str,
    dur: std::time::Duration,
    fut: impl std::future::Future<Output = T>,
) -> Result<T> {
    tokio::time::timeout(dur, fut).await.map_err(|_| EngineError::Timeout { what, ms: dur.as_millis() as u64 })
}

/// One bound shared by every step of an operation (`connect`): each step gets what is left.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline {
    at: tokio::time::Instant,
    total: std::time::Duration,
}

impl Deadline {
    /// The deadline `total` from now.
    pub(crate) fn after(total: std::time::Duration) -> Self {
        Self { at: tokio::time::Instant::now() + total, total }
    }

    /// Runs `fut` until the deadline; the error names the step (`what`) and the whole bound.
    pub(crate) async fn bound<T>(&self, what: &'static str, fut: impl std::future::Future<Output = T>) -> Result<T> {
        tokio::time::timeout_at(self.at, fut)
            .await
            .map_err(|_| EngineError::Timeout { what, ms: self.total.as_millis() as u64 })
    }
}

/// Why an encryption operation failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum E2eeError {
    /// No key for this participant at this index.
    #[error("no key at index {key_index} for participant {identity:?}")]
    MissingKey {
        /// Participant identity (empty for the shared key).
        identity: String,
        /// Key index asked for.
        key_index: u32,
    },
    /// The ciphertext does not authenticate with the key (nor with any ratchet of it within the
    /// ratchet window).
    #[error("decryption failed: invalid key")]
    InvalidKey,
    /// The encrypted frame or packet is malformed.
    #[error("malformed encrypted payload: {0}")]
    Malformed(&'static str),
    /// The codec cannot be encrypted by the GCM cryptor.
    #[error("codec {0:?} is not supported for end-to-end encryption")]
    UnsupportedCodec(String),
    /// The decrypted payload is not a valid `EncryptedPacketPayload`.
    #[error("decrypted payload is not a valid EncryptedPacketPayload")]
    Decode,
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::{cause, ConnectError, EngineError, PublishError, SendError};

    #[test]
    fn connect_errors_say_where_and_keep_their_cause() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let e: EngineError = ConnectError::Unreachable { url: "ws://127.0.0.1:1".into(), source: cause(io) }.into();
        assert_eq!(e.to_string(), "cannot connect to ws://127.0.0.1:1: refused");
        assert_eq!(e.code(), "ERR_CONNECT");
        let io = e.source().and_then(|s| s.downcast_ref::<std::io::Error>());
        assert_eq!(io.map(std::io::Error::kind), Some(std::io::ErrorKind::ConnectionRefused));
        let lost = EngineError::SignalLost(cause("Connection reset without closing handshake"));
        assert_eq!(lost.to_string(), "the signal connection failed: Connection reset without closing handshake");
        assert_eq!(lost.code(), "ERR_CONNECT");
    }

    #[test]
    fn every_operation_variant_keeps_its_code_and_message() {
        let cases: Vec<(EngineError, &str, &str)> = vec![
            (
                ConnectError::InvalidUrl { url: "x".into(), reason: cause("no scheme") }.into(),
                "ERR_INVALID_URL",
                "invalid URL \"x\": no scheme",
            ),
            (
                ConnectError::Unauthorized { status: 401, message: "bad".into() }.into(),
                "ERR_UNAUTHORIZED",
                "the server refused the token (401): bad",
            ),
            (
                ConnectError::Certificate { url: "wss://h".into(), reason: "expired".into() }.into(),
                "ERR_TLS_CERTIFICATE",
                "cannot connect to wss://h: expired",
            ),
            (ConnectError::IceConfig("no".into()).into(), "ERR_ICE_CONFIG", "invalid ICE configuration: no"),
            (ConnectError::Rejected("full".into()).into(), "ERR_REJECTED", "the server refused the request: full"),
            (PublishError::AlreadyPublished.into(), "ERR_INVALID_ARG", "invalid argument: this track is already published"),
            (PublishError::SourceClosed.into(), "ERR_DISPOSED", "the track's AudioSource is closed"),
            (PublishError::Rejected("no".into()).into(), "ERR_REJECTED", "the server refused the request: no"),
            (
                SendError::TooLarge { size: 20_000, limit: 15_000 }.into(),
                "ERR_INVALID_ARG",
                "invalid argument: data packet of 20000 bytes exceeds the 15000-byte limit; split it or use a byte stream",
            ),
            (SendError::ChannelClosed(cause("closed")).into(), "ERR_DISCONNECTED", "the room is disconnected"),
            (EngineError::rtc("no local offer"), "ERR_RTC", "WebRTC failure: no local offer"),
        ];
        for (e, code, message) in cases {
            assert_eq!((e.code(), e.to_string().as_str()), (code, message));
        }
    }

    #[test]
    fn decode_errors_keep_the_decoder_error() {
        use prost::Message as _;
        let e: EngineError = livekit_protocol::SignalResponse::decode(&[0xff_u8][..]).unwrap_err().into();
        assert_eq!(e.code(), "ERR_PROTOCOL");
        assert!(e.source().is_some_and(|s| s.is::<prost::DecodeError>()), "{e:?}");
    }
}
