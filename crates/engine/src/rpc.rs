//! RPC between participants, over v1 packets (`RpcRequest`/`RpcAck`/`RpcResponse`), the
//! format every LiveKit client understands from a peer advertising client protocol 0.

use std::time::Duration;

use livekit_protocol as proto;

/// Largest request or response payload, in UTF-8 bytes.
pub const MAX_PAYLOAD_BYTES: usize = 15_360;
/// How long a caller waits for the callee's acknowledgement.
pub const ACK_TIMEOUT: Duration = Duration::from_secs(7);
/// Default time the caller waits for the response after the acknowledgement.
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(15);
/// Protocol version of v1 requests.
pub const VERSION: u32 = 1;

/// An RPC failure, as carried on the wire (`code`, `message`, `data`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcError {
    /// Numeric code: 1400–1505 are built in, others belong to the application.
    pub code: u32,
    /// Human-readable message (at most 256 bytes on the wire).
    pub message: String,
    /// Extra data (at most 15360 bytes on the wire).
    pub data: String,
}

/// The built-in error codes, named as in the official SDKs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RpcErrorCode {
    /// 1500: the handler failed.
    ApplicationError = 1500,
    /// 1501: no acknowledgement in time.
    ConnectionTimeout = 1501,
    /// 1502: no response in time.
    ResponseTimeout = 1502,
    /// 1503: the callee left.
    RecipientDisconnected = 1503,
    /// 1504: the response exceeds the limit.
    ResponsePayloadTooLarge = 1504,
    /// 1505: the request could not be sent.
    SendFailed = 1505,
    /// 1400: no handler for the method.
    UnsupportedMethod = 1400,
    /// 1401: no participant with that identity.
    RecipientNotFound = 1401,
    /// 1402: the request exceeds the limit.
    RequestPayloadTooLarge = 1402,
    /// 1403: the server is too old for RPC.
    UnsupportedServer = 1403,
    /// 1404: unknown request version.
    UnsupportedVersion = 1404,
}

impl RpcErrorCode {
    /// The standard message for the code.
    pub fn message(self) -> &'static str {
        match self {
            RpcErrorCode::ApplicationError => "Application error in method handler",
            RpcErrorCode::ConnectionTimeout => "Connection timeout",
            RpcErrorCode::ResponseTimeout => "Response timeout",
            RpcErrorCode::RecipientDisconnected => "Recipient disconnected",
            RpcErrorCode::ResponsePayloadTooLarge => "Response payload too large",
            RpcErrorCode::SendFailed => "Failed to send",
            RpcErrorCode::UnsupportedMethod => "Method not supported at destination",
            RpcErrorCode::RecipientNotFound => "Recipient not found",
            RpcErrorCode::RequestPayloadTooLarge => "Request payload too large",
            RpcErrorCode::UnsupportedServer => "RPC not supported by server",
            RpcErrorCode::UnsupportedVersion => "Unsupported RPC version",
        }
    }
}

impl RpcError {
    /// An error with code, message and data, cut to the wire limits.
    pub fn new(code: u32, message: &str, data: &str) -> Self {
        Self { code, message: truncate(message, 256), data: truncate(data, MAX_PAYLOAD_BYTES) }
    }

    /// A built-in error with its standard message.
    pub fn built_in(code: RpcErrorCode, data: Option<&str>) -> Self {
        Self::new(code as u32, code.message(), data.unwrap_or(""))
    }

    pub(crate) fn to_proto(&self) -> proto::RpcError {
        proto::RpcError { code: self.code, message: self.message.clone(), data: self.data.clone() }
    }

    pub(crate) fn from_proto(e: proto::RpcError) -> Self {
        Self { code: e.code, message: e.message, data: e.data }
    }
}

impl std::fmt::Display for RpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RPC error {}: {}", self.code, self.message)
    }
}

impl std::error::Error for RpcError {}

/// Cuts `s` to at most `max` bytes on a character boundary.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// A request addressed to one of our registered methods.
#[derive(Clone, Debug)]
pub struct RpcInvocation {
    /// Request id (answer with it).
    pub request_id: String,
    /// Who called.
    pub caller_identity: String,
    /// Method name.
    pub method: String,
    /// Request payload.
    pub payload: String,
    /// How long the caller waits for the answer.
    pub response_timeout: Duration,
}

/// Options for [`LocalParticipant::perform_rpc`](crate::LocalParticipant::perform_rpc).
#[derive(Clone, Debug)]
pub struct RpcCall {
    /// Callee identity.
    pub destination_identity: String,
    /// Method name.
    pub method: String,
    /// Request payload (at most 15360 UTF-8 bytes).
    pub payload: String,
    /// Time allowed for the response (default 15 s).
    pub response_timeout: Duration,
}

/// A random version-4 UUID string (request and stream ids).
pub(crate) fn uuid_v4() -> String {
    uuid_from_bytes(rand::random())
}

/// The version-4 UUID string made of 16 random bytes.
pub(crate) fn uuid_from_bytes(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// The caller's side of a queued call: sent, then acknowledged (bounded by
/// [`ACK_TIMEOUT`]), then answered (bounded by `response_timeout`).
pub(crate) async fn await_rpc(
    sent: tokio::sync::oneshot::Receiver<Result<(), RpcError>>,
    ack: tokio::sync::oneshot::Receiver<()>,
    response: tokio::sync::oneshot::Receiver<Result<String, RpcError>>,
    response_timeout: Duration,
) -> Result<String, RpcError> {
    let disconnected = || RpcError::built_in(RpcErrorCode::RecipientDisconnected, Some("the room is disconnected"));
    sent.await.map_err(|_| disconnected())??;
    match tokio::time::timeout(ACK_TIMEOUT, ack).await {
        Ok(Ok(())) => {}
        Ok(Err(_)) => return Err(disconnected()),
        Err(_) => return Err(RpcError::built_in(RpcErrorCode::ConnectionTimeout, None)),
    }
    match tokio::time::timeout(response_timeout, response).await {
        Ok(Ok(result)) => result,
        Ok(Err(_)) => Err(disconnected()),
        Err(_) => Err(RpcError::built_in(RpcErrorCode::ResponseTimeout, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_v4_and_distinct() {
        let (a, b) = (uuid_v4(), uuid_v4());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"));
    }

    #[test]
    fn errors_are_cut_to_wire_limits_on_char_boundaries() {
        let long = "é".repeat(200); // 400 bytes
        let e = RpcError::new(1, &long, "");
        assert!(e.message.len() <= 256 && e.message.chars().all(|c| c == 'é'));
        assert_eq!(RpcError::built_in(RpcErrorCode::UnsupportedMethod, None).code, 1400);
    }
}
