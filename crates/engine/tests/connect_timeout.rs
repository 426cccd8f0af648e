//! `ConnectOptions::connect_timeout` bounds the whole connect, whichever step hangs: the
//! TCP connection (a blackholed address), the WebSocket upgrade (a listener that accepts
//! and stays silent), the join response (an upgrade and then silence), the peer
//! connections (a join response and then silence), and the clean-up after a failure.

use std::time::{Duration, Instant};

use livekit_protocol as proto;
use lkrtc_engine::{ConnectOptions, EngineError, Room};
use prost::Message as _;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

const BOUND: Duration = Duration::from_millis(1500);
/// Scheduling slack allowed past the bound (a loaded 2-core machine).
const SLACK: Duration = Duration::from_millis(400);

/// What the fake server does after accepting.
#[derive(Clone, Copy)]
#[allow(clippy::enum_variant_names)] // each mode is a different silence
enum Fake {
    /// Accepts TCP and never answers the upgrade.
    SilentTcp,
    /// Completes the upgrade slowly (after 60 % of the bound) and never sends anything.
    SilentAfterUpgrade,
    /// Sends a valid join response and then nothing (no offer, no trickle, no pong).
    SilentAfterJoin,
}

fn join_response() -> Vec<u8> {
    let join = proto::JoinResponse {
        room: Some(proto::Room { sid: "RM_fake".into(), name: "fake".into(), ..Default::default() }),
        participant: Some(proto::ParticipantInfo {
            sid: "PA_fake".into(),
            identity: "me".into(),
            ..Default::default()
        }),
        ping_interval: 5,
        ping_timeout: 15,
        server_version: "1.9.0".into(),
        ..Default::default()
    };
    proto::SignalResponse { message: Some(proto::signal_response::Message::Join(join)) }.encode_to_vec()
}

/// A fake server on loopback; returns its ws:// URL. Connections are held open until the
/// test ends.
async fn fake_server(mode: Fake) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((tcp, _)) = listener.accept().await {
            match mode {
                Fake::SilentTcp => held.push(tokio::spawn(async move {
                    let _tcp = tcp;
                    std::future::pending::<()>().await
                })),
                Fake::SilentAfterUpgrade | Fake::SilentAfterJoin => held.push(tokio::spawn(async move {
                    if matches!(mode, Fake::SilentAfterUpgrade) {
                        // A slow upgrade: the socket and the join must share one bound.
                        tokio::time::sleep(BOUND * 3 / 5).await;
                    }
                    let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else { return };
                    if matches!(mode, Fake::SilentAfterJoin) {
                        let _ = futures_util::SinkExt::send(&mut ws, Message::Binary(join_response().into())).await;
                    }
                    // Never read again: the client's leave and close are never answered.
                    std::future::pending::<()>().await;
                    drop(ws);
                })),
            }
        }
    });
    url
}

async fn connect_within_bound(url: &str) -> (EngineError, Duration) {
    let options = ConnectOptions { connect_timeout: BOUND, ..Default::default() };
    let started = Instant::now();
    let outcome = tokio::time::timeout(BOUND * 4, Room::connect(url, "token", options)).await;
    let elapsed = started.elapsed();
    let err = match outcome {
        Ok(Ok(_)) => panic!("connect to {url} succeeded"),
        Ok(Err(e)) => e,
        Err(_) => panic!("connect to {url} still running after {:?}", BOUND * 4),
    };
    (err, elapsed)
}

fn assert_bounded(what: &str, err: &EngineError, elapsed: Duration) {
    println!("{what}: {} after {elapsed:?}", err);
    assert!(elapsed <= BOUND + SLACK, "{what}: connect took {elapsed:?} with a {BOUND:?} connect timeout ({err})");
}

#[tokio::test]
async fn a_silent_listener_times_out_within_the_bound() {
    let url = fake_server(Fake::SilentTcp).await;
    let (err, elapsed) = connect_within_bound(&url).await;
    assert_eq!(err.code(), "ERR_TIMEOUT", "{err}");
    assert_bounded("silent listener", &err, elapsed);
}

#[tokio::test]
async fn silence_after_the_upgrade_times_out_within_the_bound() {
    let url = fake_server(Fake::SilentAfterUpgrade).await;
    let (err, elapsed) = connect_within_bound(&url).await;
    assert_eq!(err.code(), "ERR_TIMEOUT", "{err}");
    assert_bounded("silent after upgrade", &err, elapsed);
}

#[tokio::test]
async fn silence_after_the_join_times_out_within_the_bound() {
    let url = fake_server(Fake::SilentAfterJoin).await;
    let (err, elapsed) = connect_within_bound(&url).await;
    assert_eq!(err.code(), "ERR_TIMEOUT", "{err}");
    assert_bounded("silent after join", &err, elapsed);
}

#[tokio::test]
async fn a_blackholed_address_fails_within_the_bound() {
    // TEST-NET-1 (RFC 5737): never routed; the SYN goes nowhere (or the route is refused).
    let (err, elapsed) = connect_within_bound("ws://192.0.2.1:7880").await;
    assert!(matches!(err.code(), "ERR_TIMEOUT" | "ERR_CONNECT"), "{err}");
    assert_bounded("blackholed address", &err, elapsed);
}
