//! The room and participant surface of issue 8 (item 7) and the incoming stream cap (item
//! 8): room details kept up to date from `RoomUpdate`, participant kinds numbered as the
//! official SDKs number them, disconnect reasons, chat edits, RTC stats, and
//! `max_stream_payload_bytes`.

use std::time::Duration;

use livekit_api::access_token::{AccessToken, VideoGrants};
use livekit_protocol as proto;
use lkrtc_engine::streams::{StreamKind, StreamOptions};
use lkrtc_engine::{ConnectOptions, ParticipantKind, Room, RoomDetails, RoomEvent};
use tokio::sync::mpsc::UnboundedReceiver;
mod common;

use common::{server, wait_for};
use lkrtc_server::Server;

async fn join_as(
    server: &Server,
    identity: &str,
    room: &str,
    kind: &str,
    options: ConnectOptions,
) -> (Room, UnboundedReceiver<RoomEvent>) {
    let token = AccessToken::with_api_key("devkey", "secret")
        .with_identity(identity)
        .with_kind(kind)
        .with_grants(VideoGrants { room_join: true, room: room.into(), ..Default::default() })
        .to_jwt()
        .unwrap();
    Room::connect(&server.url(), &token, options).await.unwrap()
}

async fn next_update(rx: &mut UnboundedReceiver<RoomEvent>, what: &str) -> RoomDetails {
    wait_for(rx, what, |e| match e {
        RoomEvent::RoomUpdated { details } => Some(details),
        _ => None,
    })
    .await
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

#[tokio::test]
async fn room_details_kinds_and_disconnect_reasons() {
    let server = server().await;
    let before = now_ms();
    let (a, mut a_ev) = join_as(&server, "agent-a", "surface", "agent", ConnectOptions::default()).await;
    let d = a.details();
    assert!(d.creation_time_ms >= before - 1_000 && d.creation_time_ms <= now_ms(), "{d:?}");
    assert_eq!((d.num_participants, d.num_publishers), (1, 0), "the joiner counts itself");
    assert_eq!((d.departure_timeout, d.empty_timeout), (20, 300), "livekit-server's defaults");
    assert!(!d.active_recording);
    assert_eq!(a.local_participant().kind(), ParticipantKind::Agent, "the local kind comes from the join");

    let (b, _b_ev) = join_as(&server, "bridge-b", "surface", "connector", ConnectOptions::default()).await;
    let remote = wait_for(&mut a_ev, "b to join", |e| match e {
        RoomEvent::ParticipantConnected { participant } => Some(participant),
        _ => None,
    })
    .await;
    assert_eq!(remote.kind(), ParticipantKind::Connector);
    assert_eq!(ParticipantKind::Connector as i32, 5, "the SDK's number, not the wire's 7");
    assert_eq!(next_update(&mut a_ev, "the count to rise").await.num_participants, 2);
    assert_eq!(a.details().num_participants, 2);
    assert_eq!(b.details().creation_time_ms, d.creation_time_ms, "one room, one creation time");

    b.disconnect().await;
    let gone = wait_for(&mut a_ev, "b to leave", |e| match e {
        RoomEvent::ParticipantDisconnected { participant } => Some(participant),
        _ => None,
    })
    .await;
    assert_eq!(gone.disconnect_reason(), proto::DisconnectReason::ClientInitiated as i32);
    assert_eq!(next_update(&mut a_ev, "the count to fall").await.num_participants, 1);

    let stats = a.rtc_stats().await.unwrap();
    let types = |v: &[serde_json::Value]| -> Vec<String> {
        v.iter().filter_map(|s| s.get("type").and_then(|t| t.as_str()).map(str::to_string)).collect()
    };
    assert!(types(&stats.publisher).iter().any(|t| t == "peer-connection"), "{:?}", types(&stats.publisher));
    assert!(types(&stats.subscriber).iter().any(|t| t == "peer-connection"), "{:?}", types(&stats.subscriber));
    a.disconnect().await;
    assert!(a.rtc_stats().await.is_err(), "no stats once disconnected");
    server.shutdown().await;
}

#[tokio::test]
async fn chat_messages_can_be_edited() {
    let server = server().await;
    let (a, _a_ev) = join_as(&server, "alice", "chat-edit", "", ConnectOptions::default()).await;
    let (b, mut b_ev) = join_as(&server, "bob", "chat-edit", "", ConnectOptions::default()).await;
    let lp = a.local_participant();
    let sent = lp.send_chat_message("helo", vec![]).await.unwrap();
    let edited = lp.edit_chat_message("hello", &sent, vec![]).await.unwrap();
    assert_eq!((edited.id.as_str(), edited.timestamp), (sent.id.as_str(), sent.timestamp));
    assert!(edited.edit_timestamp.unwrap() >= sent.timestamp);
    let received: Vec<_> = {
        let mut v = Vec::new();
        while v.len() < 2 {
            v.push(
                wait_for(&mut b_ev, "chat", |e| match e {
                    RoomEvent::ChatMessage { message, .. } => Some(message),
                    _ => None,
                })
                .await,
            );
        }
        v
    };
    assert_eq!(received, vec![sent, edited]);
    a.disconnect().await;
    b.disconnect().await;
    server.shutdown().await;
}

#[tokio::test]
async fn incoming_streams_over_the_cap_are_refused() {
    let server = server().await;
    let (a, _a_ev) = join_as(&server, "sender", "cap", "", ConnectOptions::default()).await;
    let capped = ConnectOptions { max_stream_payload_bytes: Some(1024), ..Default::default() };
    let (b, mut b_ev) = join_as(&server, "receiver", "cap", "", capped).await;
    b.register_stream_topic(StreamKind::Text, "t").unwrap();
    let lp = a.local_participant();
    let five_kb = "x".repeat(5 * 1024);
    let small = "y".repeat(1000);

    // Announced size over the cap (send_text announces it), then no announced size.
    lp.send_text(&five_kb, StreamOptions { topic: "t".into(), ..Default::default() }).await.unwrap();
    let writer = lp.stream_text(StreamOptions { topic: "t".into(), ..Default::default() }).await.unwrap();
    writer.write(small.as_bytes()).await.unwrap();
    writer.write(five_kb.as_bytes()).await.unwrap();
    writer.close(None).await.unwrap();
    lp.send_text(&small, StreamOptions { topic: "t".into(), ..Default::default() }).await.unwrap();

    let mut outcomes = Vec::new();
    for _ in 0..3 {
        let reader = wait_for(&mut b_ev, "stream", |e| match e {
            RoomEvent::StreamOpened { reader, .. } => Some(reader),
            _ => None,
        })
        .await;
        let mut got = Vec::new();
        let outcome = loop {
            match tokio::time::timeout(Duration::from_secs(10), reader.next_chunk()).await.unwrap() {
                Some(Ok(c)) => got.extend(c),
                Some(Err(e)) => break Err(e.to_string()),
                None => break Ok(got.len()),
            }
        };
        outcomes.push(outcome);
    }
    for refused in &outcomes[..2] {
        let why = refused.as_ref().expect_err("a stream over the cap must fail");
        assert!(why.contains("maxPayloadByteLength"), "{why}");
    }
    assert_eq!(outcomes[2], Ok(1000), "a stream under the cap is delivered");
    a.disconnect().await;
    b.disconnect().await;
    server.shutdown().await;
}
