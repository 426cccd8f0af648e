//! Signal connection: WebSocket + protobuf, join handshake.

use futures_util::{SinkExt, StreamExt};
use livekit_protocol as proto;
use prost::Message as _;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::error::{cause, Cause, ConnectError, Deadline, EngineError, Result};

/// The signalling socket.
pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Largest signal message accepted from a server (a full room update of a big room fits
/// comfortably; anything larger is a broken or hostile server).
pub const MAX_SIGNAL_MESSAGE: usize = 16 << 20;

/// Protocol version spoken.
pub const PROTOCOL_VERSION: i32 = 17;

/// Builds the `/rtc` URL for `url` (ws, wss, http or https; any path prefix kept).
pub fn rtc_url(url: &str, auto_subscribe: bool) -> Result<url::Url> {
    let invalid = |reason: Cause| ConnectError::InvalidUrl { url: url.into(), reason };
    let mut u = url::Url::parse(url.trim()).map_err(|e| invalid(cause(e)))?;
    let scheme = match u.scheme() {
        "ws" | "http" => "ws",
        "wss" | "https" => "wss",
        other => return Err(invalid(cause(format!("scheme {other:?} is not ws, wss, http or https"))).into()),
    };
    u.set_scheme(scheme).map_err(|()| invalid(cause("cannot use a WebSocket scheme")))?;
    if u.host_str().is_none_or(str::is_empty) {
        return Err(invalid(cause("no host")).into());
    }
    let path = u.path().trim_end_matches('/').to_string();
    u.set_path(&format!("{path}/rtc"));
    u.query_pairs_mut()
        .append_pair("sdk", "node")
        .append_pair("version", env!("CARGO_PKG_VERSION"))
        .append_pair("protocol", &PROTOCOL_VERSION.to_string())
        .append_pair("client_protocol", "0")
        .append_pair("os", std::env::consts::OS)
        .append_pair("auto_subscribe", if auto_subscribe { "1" } else { "0" })
        .append_pair("adaptive_stream", "0");
    Ok(u)
}

/// Opens the socket and waits for the join response.
/// Both steps share `deadline` (the caller's whole connect bound).
pub(crate) async fn connect(url: &url::Url, token: &str, deadline: Deadline) -> Result<(Ws, proto::JoinResponse)> {
    let (ws, join) = handshake(url, token, deadline, "the join response", |m| match m {
        proto::signal_response::Message::Join(j) => Some(Ok(j)),
        proto::signal_response::Message::Leave(l) => {
            Some(Err(ConnectError::Rejected(format!("server sent leave (reason {}) instead of join", l.reason)).into()))
        }
        _ => None,
    })
    .await?;
    validate_join(&join)?;
    Ok((ws, join))
}

/// Resumes participant `sid`'s session: reopens the socket with `reconnect=1` and waits
/// for the server's `ReconnectResponse`. A `leave` instead (the server cannot resume)
/// is `ConnectError::Rejected`.
pub(crate) async fn resume(
    url: &url::Url,
    token: &str,
    sid: &str,
    reason: proto::ReconnectReason,
    deadline: Deadline,
) -> Result<(Ws, proto::ReconnectResponse)> {
    let mut url = url.clone();
    url.query_pairs_mut()
        .append_pair("reconnect", "1")
        .append_pair("sid", sid)
        .append_pair("reconnect_reason", &(reason as i32).to_string());
    handshake(&url, token, deadline, "the reconnect response", |m| match m {
        proto::signal_response::Message::Reconnect(r) => Some(Ok(r)),
        proto::signal_response::Message::Leave(l) => Some(Err(ConnectError::Rejected(format!(
            "server sent leave (reason {}, action {}) instead of resuming",
            l.reason, l.action
        ))
        .into())),
        _ => None,
    })
    .await
}

/// Opens the socket with the token as bearer and waits for the first message `first`
/// accepts (or refuses); other messages before it are skipped.
async fn handshake<T>(
    url: &url::Url,
    token: &str,
    deadline: Deadline,
    what: &'static str,
    first: impl Fn(proto::signal_response::Message) -> Option<Result<T>>,
) -> Result<(Ws, T)> {
    let display = {
        let mut u = url.clone();
        u.set_query(None);
        u.to_string()
    };
    let mut req = url
        .as_str()
        .into_client_request()
        .map_err(|e| ConnectError::InvalidUrl { url: display.clone(), reason: cause(e) })?;
    let bearer = format!("Bearer {token}")
        .parse()
        .map_err(|_| EngineError::InvalidArgument("the token contains characters not allowed in a header".into()))?;
    req.headers_mut().insert("Authorization", bearer);
    let (mut ws, _) = open(req, url, &display, deadline).await?;
    let got = deadline
        .bound(what, async {
            loop {
                match recv(&mut ws).await? {
                    Some(m) => {
                        if let Some(got) = first(m) {
                            return got;
                        }
                    }
                    None => {
                        return Err(EngineError::Protocol("the server closed the connection before joining".into()))
                    }
                }
            }
        })
        .await??;
    Ok((ws, got))
}

/// Opens the WebSocket (TLS for `wss://`), mapping failures to typed errors.
async fn open(
    req: tungstenite::handshake::client::Request,
    url: &url::Url,
    display: &str,
    deadline: Deadline,
) -> Result<(Ws, tungstenite::handshake::client::Response)> {
    let trust = if url.scheme() == "wss" {
        let t = crate::tls::trust()
            .map_err(|reason| ConnectError::Unreachable { url: display.into(), source: cause(reason) })?;
        Some(t)
    } else {
        None
    };
    let connector = trust.as_ref().map(|t| tokio_tungstenite::Connector::Rustls(t.config.clone()));
    let config = tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(MAX_SIGNAL_MESSAGE))
        .max_frame_size(Some(MAX_SIGNAL_MESSAGE));
    let connecting = tokio_tungstenite::connect_async_tls_with_config(req, Some(config), true, connector);
    match deadline.bound("the signal connection", connecting).await? {
        Ok(ok) => Ok(ok),
        Err(tungstenite::Error::Http(resp)) => {
            let status = resp.status().as_u16();
            let body = resp.body().as_ref().map(|b| String::from_utf8_lossy(b).to_string()).unwrap_or_default();
            Err(match status {
                401 | 403 => ConnectError::Unauthorized { status, message: body },
                _ => ConnectError::Unreachable { url: display.into(), source: cause(format!("HTTP {status} {body}")) },
            }
            .into())
        }
        Err(tungstenite::Error::Io(io)) => {
            let host = url.host_str().unwrap_or_default();
            let explained = trust.as_ref().and_then(|t| crate::tls::explain(&io, host, t));
            Err(match explained {
                Some(reason) if crate::tls::is_certificate_error(&io) => {
                    ConnectError::Certificate { url: display.into(), reason }
                }
                Some(reason) => ConnectError::Unreachable { url: display.into(), source: cause(reason) },
                None => ConnectError::Unreachable { url: display.into(), source: cause(io) },
            }
            .into())
        }
        Err(e) => Err(ConnectError::Unreachable { url: display.into(), source: cause(e) }.into()),
    }
}

fn validate_join(j: &proto::JoinResponse) -> Result<()> {
    let me = j.participant.as_ref().ok_or_else(|| EngineError::Protocol("join response without participant".into()))?;
    if !me.sid.starts_with("PA_") {
        return Err(EngineError::Protocol(format!("participant sid {:?} lacks the PA_ prefix", me.sid)));
    }
    if j.room.is_none() {
        return Err(EngineError::Protocol("join response without room".into()));
    }
    Ok(())
}

/// Reads the next signal response from the socket (or its read half); `None` when the
/// socket ended.
pub(crate) async fn recv<S>(ws: &mut S) -> Result<Option<proto::signal_response::Message>>
where
    S: futures_util::Stream<Item = std::result::Result<Message, tungstenite::Error>> + Unpin,
{
    loop {
        match ws.next().await {
            None | Some(Ok(Message::Close(_))) => return Ok(None),
            Some(Ok(Message::Binary(b))) => {
                let resp = proto::SignalResponse::decode(b)?;
                match resp.message {
                    Some(m) => return Ok(Some(m)),
                    None => continue, // a message type newer than this client
                }
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(EngineError::SignalLost(cause(e))),
        }
    }
}

/// Encodes a request as a binary frame.
pub(crate) fn frame(msg: proto::signal_request::Message) -> Message {
    Message::Binary(proto::SignalRequest { message: Some(msg) }.encode_to_vec().into())
}

/// Sends a request.
pub(crate) async fn send<S>(sink: &mut S, msg: proto::signal_request::Message) -> Result<()>
where
    S: futures_util::Sink<Message, Error = tungstenite::Error> + Unpin,
{
    sink.send(frame(msg)).await.map_err(|_| EngineError::Disconnected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_rtc_urls() {
        let u = rtc_url("http://127.0.0.1:7880", true).unwrap();
        assert_eq!(u.scheme(), "ws");
        assert_eq!(u.path(), "/rtc");
        assert!(u.query().unwrap().contains("protocol=17"));
        assert!(u.query().unwrap().contains("auto_subscribe=1"));
        let u = rtc_url("wss://example.com/prefix/", false).unwrap();
        assert_eq!(u.path(), "/prefix/rtc");
        assert!(u.query().unwrap().contains("auto_subscribe=0"));
    }

    #[test]
    fn rejects_bad_urls() {
        for bad in ["", "not a url", "ftp://x", "ws://"] {
            let err = rtc_url(bad, true).unwrap_err();
            assert_eq!(err.code(), "ERR_INVALID_URL", "{bad}: {err}");
        }
    }
}
