//! The server logs which signalling each participant joined with (a test binary of its
//! own: it installs the global log subscriber).

use std::time::Duration;

use futures_util::StreamExt;
use livekit_api::access_token::VideoGrants;
use lkrtc_server::proto;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

mod common;

use common::{join_request, server, token, Capture};

#[tokio::test]
async fn joins_are_logged_with_their_signalling() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("lkrtc_server=info"))
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
    let server = server().await;
    let join = join_request(&proto::JoinRequest::default(), true);
    let url =
        format!("{}/rtc/v1?access_token={}&join_request={join}", server.url(), token("one", VideoGrants::default()));
    let (mut v1, _) = tokio_tungstenite::connect_async(url.into_client_request().unwrap()).await.unwrap();
    let mut v0 = common::connect_with(&server, &token("zero", VideoGrants::default()), "", None).await.unwrap();
    for ws in [&mut v1, &mut v0] {
        // The join response is sent right after the join is logged.
        let _ = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("a join response");
    }
    server.shutdown().await;
    let logs = capture.text();
    let joined = |who: &str| logs.lines().find(|l| l.contains("participant joined") && l.contains(who)).unwrap_or("");
    assert!(joined("identity=one").contains("signalling=\"v1\""), "{logs}");
    assert!(joined("identity=zero").contains("signalling=\"v0\""), "{logs}");
}
