//! Shared by the server's integration tests: an in-process server with the dev key, raw
//! signalling WebSockets, and reading signal responses with a bound.
#![allow(dead_code)] // each test file uses a different subset

pub mod peer;

use std::collections::HashMap;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use lkrtc_server::proto::{self, signal_request::Message as Req, signal_response::Message as Resp};
use lkrtc_server::{KeyStore, Server, ServerConfig};
use prost::Message as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A raw signalling socket.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A server on a free loopback port with the key devkey:secret. A participant whose
/// socket drops leaves at once (no resume window: `tests/resume.rs` covers resuming), so
/// that tests can end sessions by dropping sockets.
pub async fn server() -> Server {
    let timing = lkrtc_server::Timing { resume_window: Duration::ZERO, ..Default::default() };
    let config =
        ServerConfig { port: 0, keys: KeyStore::parse("devkey:secret").unwrap(), timing, ..ServerConfig::dev() };
    Server::start(config).await.unwrap()
}

/// Opens `/rtc` with `jwt` as a Bearer token; `query` is appended to the v0 parameters.
pub async fn connect_with(
    server: &Server,
    jwt: &str,
    query: &str,
    config: Option<WebSocketConfig>,
) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    let url = format!("{}/rtc?protocol=17&sdk=rust{query}", server.url());
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert("Authorization", format!("Bearer {jwt}").parse().unwrap());
    Ok(tokio_tungstenite::connect_async_with_config(req, config, false).await?.0)
}

/// Opens `/rtc/v1` with `jwt` and an encoded `join_request`.
pub async fn open_v1(server: &Server, jwt: &str, join: &str) -> Ws {
    let url = format!("{}/rtc/v1?access_token={jwt}&join_request={join}", server.url());
    tokio_tungstenite::connect_async(url.into_client_request().unwrap()).await.unwrap().0
}

/// Sends one signal request.
pub async fn send(ws: &mut Ws, msg: Req) {
    let bytes = proto::SignalRequest { message: Some(msg) }.encode_to_vec();
    ws.send(Message::Binary(bytes.into())).await.unwrap();
}

/// The next signal response within `wait`, skipping WebRTC negotiation (offers, trickles)
/// and whatever `skip` matches. `max_frame` (if set) is asserted of every binary frame.
pub async fn next_where(ws: &mut Ws, wait: Duration, skip: impl Fn(&Resp) -> bool, max_frame: Option<usize>) -> Resp {
    loop {
        let frame = tokio::time::timeout(wait, ws.next())
            .await
            .expect("timed out waiting for a signal response")
            .expect("socket ended")
            .expect("socket error");
        if let Message::Binary(b) = frame {
            if let Some(max) = max_frame {
                assert!(b.len() <= max, "a {} byte frame exceeds the response cap", b.len());
            }
            let msg = proto::SignalResponse::decode(b).expect("server sent a bad frame").message.unwrap();
            if !matches!(msg, Resp::Offer(_) | Resp::Trickle(_)) && !skip(&msg) {
                return msg;
            }
        }
    }
}

/// An HTTP response read off a raw connection.
pub struct Reply {
    pub status: u16,
    /// Header names lowercased.
    pub headers: HashMap<String, String>,
    pub body: String,
}

/// Sends `request` (a whole HTTP/1.1 request, ending with `Connection: close`) on a new
/// connection and reads the response until the server closes it.
pub async fn raw_http(server: &Server, request: &str) -> Reply {
    let mut tcp = TcpStream::connect(server.local_addr()).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut out)).await.expect("HTTP timed out").unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.split("\r\n");
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Reply { status, headers, body: body.to_string() }
}

/// Log output written by a `tracing_subscriber` (`with_writer(move || capture.clone())`).
#[derive(Clone, Default)]
pub struct Capture(pub std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Capture {
    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A join token for room `r1` (`grants` on top of `roomJoin`).
pub fn token(identity: &str, grants: livekit_api::access_token::VideoGrants) -> String {
    livekit_api::access_token::AccessToken::with_api_key("devkey", "secret")
        .with_identity(identity)
        .with_grants(livekit_api::access_token::VideoGrants { room_join: true, room: "r1".into(), ..grants })
        .to_jwt()
        .unwrap()
}

/// A `/rtc/v1` `join_request` parameter as livekit-client builds it (URL-safe base64 of a
/// `WrappedJoinRequest`, the request gzipped or not).
pub fn join_request(req: &proto::JoinRequest, gzip: bool) -> String {
    use base64::Engine;
    use std::io::Write;
    let raw = req.encode_to_vec();
    let wrapped = if gzip {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&raw).unwrap();
        proto::WrappedJoinRequest { compression: 1, join_request: enc.finish().unwrap() }
    } else {
        proto::WrappedJoinRequest { compression: 0, join_request: raw }
    };
    base64::engine::general_purpose::URL_SAFE.encode(wrapped.encode_to_vec())
}
