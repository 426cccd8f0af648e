//! What the server logs from the network is truncated at every level (issue 15, item 6).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use livekit_api::access_token::{AccessToken, VideoGrants};
use lkrtc_server::proto::{self, signal_request::Message as Req};
use lkrtc_server::{KeyStore, Server, ServerConfig};
use prost::Message as _;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

mod common;

use common::Capture;

#[tokio::test]
async fn garbage_from_the_network_is_truncated_in_logs() {
    let capture = Capture::default();
    let writer = capture.clone();
    // Every level of the server's own logs (other crates' frame dumps at trace level are
    // theirs: the binary's default filter is `info`).
    let filter = tracing_subscriber::EnvFilter::new("lkrtc_server=trace");
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(move || writer.clone()).init();
    let config = ServerConfig { port: 0, keys: KeyStore::parse("devkey:secret").unwrap(), ..ServerConfig::dev() };
    let server = Server::start(config).await.unwrap();
    let garbage = "g".repeat(900_000);
    let valid_but_huge = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns={garbage}\r\nt=0 0\r\na=group:BUNDLE 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=fingerprint:sha-256 00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00\r\na=setup:actpass\r\na=mid:0\r\na=sctp-port:5000\r\n"
    );
    let requests = [
        Req::Offer(proto::SessionDescription { r#type: "offer".into(), sdp: garbage.clone(), ..Default::default() }),
        Req::Offer(proto::SessionDescription { r#type: "offer".into(), sdp: valid_but_huge, ..Default::default() }),
        Req::Trickle(proto::TrickleRequest { candidate_init: garbage.clone(), ..Default::default() }),
        Req::Answer(proto::SessionDescription { r#type: "answer".into(), sdp: garbage.clone(), ..Default::default() }),
    ];
    for (i, req) in requests.into_iter().enumerate() {
        let jwt = AccessToken::with_api_key("devkey", "secret")
            .with_identity(&format!("p{i}"))
            .with_grants(VideoGrants { room_join: true, room: "r".into(), ..Default::default() })
            .to_jwt()
            .unwrap();
        let mut http = format!("{}/rtc?protocol=17", server.url()).into_client_request().unwrap();
        http.headers_mut().insert("Authorization", format!("Bearer {jwt}").parse().unwrap());
        let (mut ws, _) = tokio_tungstenite::connect_async(http).await.unwrap();
        let bytes = proto::SignalRequest { message: Some(req) }.encode_to_vec();
        ws.send(Message::Binary(bytes.into())).await.unwrap();
        // Let the server handle it (and close the socket, for bad input).
        let _ = tokio::time::timeout(Duration::from_secs(3), async { while ws.next().await.is_some() {} }).await;
    }
    server.shutdown().await;
    let logged = capture.text();
    let longest = logged.lines().max_by_key(|l| l.len()).unwrap_or_default();
    assert!(
        logged.len() < 100_000,
        "{} bytes logged for 3.6 MB of garbage; longest line starts {}",
        logged.len(),
        &longest[..longest.len().min(300)]
    );
}
