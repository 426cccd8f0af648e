//! Limits against hostile or faulty peers (issue 15): slowloris, oversized participant
//! info, slow consumers, pre-offer trickle floods, oversized frames, pending add_track
//! floods. Traffic stays on 127.0.0.1; every wait is bounded.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use livekit_api::access_token::{AccessToken, VideoGrants};
use lkrtc_server::proto::{self, signal_request::Message as Req, signal_response::Message as Resp};
use lkrtc_server::{limits, Server};
use prost::Message as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

mod common;

use common::{send, server, Ws};

type Reason = proto::request_response::Reason;

fn token_with(identity: &str, room: &str, edit: impl FnOnce(AccessToken) -> AccessToken) -> String {
    let t = AccessToken::with_api_key("devkey", "secret").with_identity(identity).with_grants(VideoGrants {
        room_join: true,
        room: room.into(),
        can_update_own_metadata: Some(true),
        ..Default::default()
    });
    edit(t).to_jwt().unwrap()
}

async fn connect(server: &Server, jwt: &str) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    // The official Rust client's limit; the test checks the server never needs more.
    let config = WebSocketConfig::default().max_message_size(Some(64 << 20)).max_frame_size(Some(64 << 20));
    common::connect_with(server, jwt, "&auto_subscribe=1", Some(config)).await
}

/// The next signal response other than offers, trickles and room updates; also checks
/// that no frame the server sends exceeds its own limit.
async fn next(ws: &mut Ws) -> Resp {
    let room_update = |m: &Resp| matches!(m, Resp::RoomUpdate(_));
    common::next_where(ws, Duration::from_secs(10), room_update, Some(limits::MAX_SIGNAL_RESPONSE)).await
}

/// Waits for the close frame and returns its code.
async fn close_code(ws: &mut Ws) -> u16 {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, ws.next()).await.expect("timed out waiting for the close frame") {
            Some(Ok(Message::Close(Some(f)))) => return f.code.into(),
            Some(Ok(Message::Close(None))) | None => panic!("closed without a close code"),
            Some(Ok(_)) => continue,
            Some(Err(e)) => panic!("socket error instead of a close frame: {e}"),
        }
    }
}

async fn join(server: &Server, identity: &str, room: &str) -> (Ws, proto::JoinResponse) {
    let mut ws = connect(server, &token_with(identity, room, |t| t)).await.unwrap();
    match next(&mut ws).await {
        Resp::Join(j) => (ws, j),
        other => panic!("first frame is not join: {other:?}"),
    }
}

/// Sends an update and returns the server's answer to it.
async fn update(ws: &mut Ws, id: u32, m: proto::UpdateParticipantMetadata) -> proto::RequestResponse {
    send(ws, Req::UpdateMetadata(proto::UpdateParticipantMetadata { request_id: id, ..m })).await;
    loop {
        if let Resp::RequestResponse(r) = next(ws).await {
            if r.request_id == id {
                return r;
            }
        }
    }
}

/// Waits until the server has no room and no participant left.
async fn assert_empty(server: &Server) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let s = server.stats();
        if s.rooms == 0 && s.participants == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("rooms/participants left over: {:?}", server.stats());
}

/// A raw HTTP/1.1 request; returns the status and the body.
async fn http(server: &Server, method: &str, path: &str, auth: Option<&str>, body: &str) -> (u16, String) {
    let auth = auth.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let reply = common::raw_http(server, &req).await;
    (reply.status, reply.body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_is_reaped_and_clients_still_join() {
    let server = server().await;
    let mut slow = Vec::new();
    for _ in 0..500 {
        let mut tcp = TcpStream::connect(server.local_addr()).await.unwrap();
        tcp.write_all(b"GET /rtc HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.unwrap();
        slow.push(tcp);
    }
    // 200 joined participants that stay silent.
    let mut silent = Vec::new();
    for i in 0..200 {
        let ws = connect(&server, &token_with(&format!("silent{i}"), "busy", |t| t)).await.unwrap();
        silent.push(ws);
    }
    let started = Instant::now();
    let (ws, _) = join(&server, "normal", "r1").await;
    assert!(started.elapsed() < Duration::from_secs(1), "join took {:?}", started.elapsed());
    let started = Instant::now();
    let (status, body) = http(&server, "GET", "/lkrtc/stats", None, "").await;
    assert_eq!(status, 200, "{body}");
    assert!(started.elapsed() < Duration::from_secs(1));
    // Every partial header is reaped after the header-read timeout.
    let deadline = Instant::now() + limits::HEADER_READ_TIMEOUT + Duration::from_secs(3);
    for tcp in &mut slow {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut buf = [0u8; 256];
        let read = tokio::time::timeout(left, tcp.read(&mut buf)).await;
        assert!(read.is_ok(), "a slowloris connection is still open after the header-read timeout");
    }
    drop(slow);
    drop(silent);
    drop(ws);
    assert_empty(&server).await;
    server.shutdown().await;
}

#[tokio::test]
async fn participant_info_limits_are_enforced() {
    let server = server().await;
    let (mut a, _) = join(&server, "alice", "r1").await;
    let big = |n: usize| "x".repeat(n);
    let r = update(
        &mut a,
        1,
        proto::UpdateParticipantMetadata { metadata: big(limits::MAX_METADATA_SIZE + 1), ..Default::default() },
    )
    .await;
    assert_eq!(r.reason, Reason::LimitExceeded as i32, "{r:?}");
    assert_eq!(r.message, "exceeds metadata size limit");
    let r = update(
        &mut a,
        2,
        proto::UpdateParticipantMetadata { name: big(limits::MAX_PARTICIPANT_NAME_LENGTH + 1), ..Default::default() },
    )
    .await;
    assert_eq!(r.reason, Reason::LimitExceeded as i32, "{r:?}");
    // Attributes do not accumulate past the limit across updates.
    let half = limits::MAX_ATTRIBUTES_SIZE / 2 + 16;
    let attrs = |k: &str| HashMap::from([(k.to_string(), big(half))]);
    let r = update(&mut a, 3, proto::UpdateParticipantMetadata { attributes: attrs("a"), ..Default::default() }).await;
    assert_eq!(r.reason, Reason::Ok as i32, "{r:?}");
    let r = update(&mut a, 4, proto::UpdateParticipantMetadata { attributes: attrs("b"), ..Default::default() }).await;
    assert_eq!(r.reason, Reason::LimitExceeded as i32, "{r:?}");
    assert_eq!(r.message, "exceeds attributes size limit");
    // Replacing a key within the limit is fine.
    let r = update(&mut a, 5, proto::UpdateParticipantMetadata { attributes: attrs("a"), ..Default::default() }).await;
    assert_eq!(r.reason, Reason::Ok as i32, "{r:?}");

    // Token claims over the limits are refused at join.
    let over = HashMap::from([("k".to_string(), big(limits::MAX_ATTRIBUTES_SIZE))]);
    let jwt = token_with("bob", "r1", |t| t.with_attributes(over.clone()));
    assert!(connect(&server, &jwt).await.is_err(), "a token with oversized attributes joined");
    let jwt = token_with("bob", "r1", |t| t.with_name(&big(limits::MAX_PARTICIPANT_NAME_LENGTH + 1)));
    assert!(connect(&server, &jwt).await.is_err(), "a token with an oversized name joined");
    let jwt = token_with(&big(limits::MAX_PARTICIPANT_IDENTITY_LENGTH + 1), "r1", |t| t);
    assert!(connect(&server, &jwt).await.is_err(), "a token with an oversized identity joined");

    // Twirp: UpdateParticipant and UpdateRoomMetadata.
    let admin = AccessToken::with_api_key("devkey", "secret")
        .with_grants(VideoGrants { room_admin: true, room: "r1".into(), ..Default::default() })
        .to_jwt()
        .unwrap();
    let body = serde_json::json!({ "room": "r1", "identity": "alice", "metadata": big(limits::MAX_METADATA_SIZE + 1) });
    let (status, text) =
        http(&server, "POST", "/twirp/livekit.RoomService/UpdateParticipant", Some(&admin), &body.to_string()).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("invalid_argument"), "{text}");
    let body = serde_json::json!({ "room": "r1", "metadata": big(limits::MAX_METADATA_SIZE + 1) });
    let (status, text) =
        http(&server, "POST", "/twirp/livekit.RoomService/UpdateRoomMetadata", Some(&admin), &body.to_string()).await;
    assert_eq!(status, 400, "{text}");
    drop(a);
    assert_empty(&server).await;
    server.shutdown().await;
}

#[tokio::test]
async fn messages_the_server_builds_stay_under_the_cap() {
    let server = server().await;
    let mut peers = Vec::new();
    for i in 0..3 {
        let (mut ws, _) = join(&server, &format!("p{i}"), "r1").await;
        let m = proto::UpdateParticipantMetadata {
            metadata: "m".repeat(limits::MAX_METADATA_SIZE - 8),
            attributes: HashMap::from([("k".into(), "v".repeat(limits::MAX_ATTRIBUTES_SIZE - 8))]),
            ..Default::default()
        };
        assert_eq!(update(&mut ws, 1, m).await.reason, Reason::Ok as i32);
        peers.push(ws);
    }
    // The join response cannot carry all three (≈1.7 MB): the rest arrive as updates.
    let (mut d, j) = join(&server, "late", "r1").await;
    let mut known: Vec<String> = j.other_participants.iter().map(|p| p.identity.clone()).collect();
    while known.len() < 3 {
        if let Resp::Update(u) = next(&mut d).await {
            known.extend(u.participants.iter().map(|p| p.identity.clone()));
        }
    }
    known.sort();
    known.dedup();
    assert_eq!(known, ["p0", "p1", "p2"]);
    drop((peers, d));
    assert_empty(&server).await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn participant_that_never_reads_is_dropped() {
    let server = server().await;
    let (mut watcher, _) = join(&server, "watcher", "r1").await;
    let (_sleeper, _) = join(&server, "sleeper", "r1").await; // never read again
    let (mut talker, _) = join(&server, "talker", "r1").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut dropped = false;
    let mut id = 0;
    'outer: while Instant::now() < deadline {
        id += 1;
        let m =
            proto::UpdateParticipantMetadata { metadata: format!("{id}{}", "z".repeat(400_000)), ..Default::default() };
        assert_eq!(update(&mut talker, id, m).await.reason, Reason::Ok as i32);
        // Drain what the watcher got; look for the sleeper leaving.
        while let Ok(Some(Ok(frame))) = tokio::time::timeout(Duration::from_millis(1), watcher.next()).await {
            if let Message::Binary(b) = frame {
                if let Some(Resp::Update(u)) = proto::SignalResponse::decode(b).unwrap().message {
                    if u.participants.iter().any(|p| {
                        p.identity == "sleeper" && p.state == proto::participant_info::State::Disconnected as i32
                    }) {
                        dropped = true;
                        break 'outer;
                    }
                }
            }
        }
        assert!(id < 200, "sent {id} updates (80 MB) and the sleeper is still in the room");
    }
    assert!(dropped, "a participant that never reads was not dropped");
    drop((watcher, talker));
    assert_empty(&server).await;
    server.shutdown().await;
}

fn candidate(i: usize) -> Req {
    let init = serde_json::json!({
        "candidate": format!("candidate:{i} 1 udp 2122260223 127.0.0.1 {} typ host", 10000 + i),
        "sdpMid": "0",
        "sdpMLineIndex": 0,
    });
    Req::Trickle(proto::TrickleRequest {
        candidate_init: init.to_string(),
        target: proto::SignalTarget::Publisher as i32,
        r#final: false,
    })
}

#[tokio::test]
async fn pre_offer_trickle_is_bounded() {
    let server = server().await;
    let (mut ws, _) = join(&server, "alice", "r1").await;
    for i in 0..=limits::MAX_PENDING_CANDIDATES {
        send(&mut ws, candidate(i)).await;
    }
    assert_eq!(close_code(&mut ws).await, 1008);

    let (mut ws, _) = join(&server, "bob", "r1").await;
    let huge = Req::Trickle(proto::TrickleRequest {
        candidate_init: format!("{{\"candidate\":\"{}\"}}", "c".repeat(limits::MAX_CANDIDATE_SIZE)),
        target: proto::SignalTarget::Publisher as i32,
        r#final: false,
    });
    send(&mut ws, huge).await;
    assert_eq!(close_code(&mut ws).await, 1009);
    drop(ws);
    assert_empty(&server).await;
    server.shutdown().await;
}

#[tokio::test]
async fn oversized_frame_closes_with_1009() {
    let server = server().await;
    let (mut ws, _) = join(&server, "alice", "r1").await;
    ws.send(Message::Binary(vec![0u8; limits::MAX_SIGNAL_MESSAGE + 1].into())).await.unwrap();
    assert_eq!(close_code(&mut ws).await, 1009);
    drop(ws);
    assert_empty(&server).await;
    server.shutdown().await;
}

#[tokio::test]
async fn pending_add_track_requests_are_limited() {
    let server = server().await;
    let (mut ws, _) = join(&server, "alice", "r1").await;
    for i in 0..=limits::MAX_PENDING_TRACKS {
        let req = proto::AddTrackRequest {
            cid: format!("cid{i}"),
            name: "mic".into(),
            r#type: proto::TrackType::Audio as i32,
            ..Default::default()
        };
        send(&mut ws, Req::AddTrack(req)).await;
    }
    for i in 0..limits::MAX_PENDING_TRACKS {
        let Resp::TrackPublished(t) = next(&mut ws).await else { panic!("add_track {i} was not answered") };
        assert_eq!(t.cid, format!("cid{i}"));
    }
    let Resp::RequestResponse(r) = next(&mut ws).await else { panic!("the extra add_track was not refused") };
    assert_eq!(r.reason, Reason::LimitExceeded as i32);
    drop(ws);
    assert_empty(&server).await;
    server.shutdown().await;
}
