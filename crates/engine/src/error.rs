//! Engine errors. Each variant has a stable code (`code()`) that the binding exposes to
//! JavaScript as `LkError.code`.

/// "cannot connect to URL: " or, when the URL is not known (the signal connection was
/// already up and then failed), "the signal connection failed: ".
fn connect_prefix(url: &str) -> String {
    if url.is_empty() {
        "the signal connection failed: ".to_string()
    } else {
        format!("cannot connect to {url}: ")
    }
}

/// What went wrong in an engine call.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EngineError {
    /// The URL is not a ws://, wss://, http:// or https:// URL.
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An argument is out of range or malformed.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The server refused the token (HTTP 401/403); the message is the server's.
    #[error("the server refused the token ({status}): {message}")]
    Unauthorized {
        /// HTTP status.
        status: u16,
        /// Server's explanation.
        message: String,
    },
    /// The server could not be reached or the signal connection failed.
    #[error("{}{reason}", connect_prefix(url))]
    Connect {
        /// Where we tried to connect (empty when an established signal connection failed).
        url: String,
        /// Why it failed.
        reason: String,
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
    Rtc(String),
    /// The object was closed or disposed.
    #[error("{0}")]
    Disposed(String),
    /// The server broke the protocol.
    #[error("protocol error: {0}")]
    Protocol(String),
}

impl EngineError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::InvalidUrl { .. } => "ERR_INVALID_URL",
            EngineError::InvalidArgument(_) => "ERR_INVALID_ARG",
            EngineError::Unauthorized { .. } => "ERR_UNAUTHORIZED",
            EngineError::Connect { .. } => "ERR_CONNECT",
            EngineError::Certificate { .. } => "ERR_TLS_CERTIFICATE",
            EngineError::IceConfig(_) => "ERR_ICE_CONFIG",
            EngineError::Timeout { .. } => "ERR_TIMEOUT",
            EngineError::Disconnected => "ERR_DISCONNECTED",
            EngineError::Rejected(_) => "ERR_REJECTED",
            EngineError::Rtc(_) => "ERR_RTC",
            EngineError::Protocol(_) => "ERR_PROTOCOL",
            EngineError::Disposed(_) => "ERR_DISPOSED",
        }
    }

    pub(crate) fn rtc(e: impl std::fmt::Display) -> Self {
        EngineError::Rtc(e.to_string())
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

#[cfg(test)]
mod tests {
    use super::EngineError;

    #[test]
    fn connect_error_never_shows_an_empty_url() {
        let lost =
            EngineError::Connect { url: String::new(), reason: "Connection reset without closing handshake".into() };
        assert_eq!(lost.to_string(), "the signal connection failed: Connection reset without closing handshake");
        let refused = EngineError::Connect { url: "ws://127.0.0.1:1".into(), reason: "refused".into() };
        assert_eq!(refused.to_string(), "cannot connect to ws://127.0.0.1:1: refused");
    }
}
