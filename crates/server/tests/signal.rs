//! Signalling against an in-process server over a real WebSocket (no WebRTC client):
//! join flow, pings, permissions, leave/disconnect announcements, bad input.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use livekit_api::access_token::{AccessToken, VideoGrants};
use lkrtc_server::proto::{self, signal_request::Message as Req, signal_response::Message as Resp};
use lkrtc_server::Server;
use prost::Message as _;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

mod common;

use common::{send, server, Ws};

fn token(identity: &str, room: &str, grants: VideoGrants) -> String {
    AccessToken::with_api_key("devkey", "secret")
        .with_identity(identity)
        .with_grants(VideoGrants { room_join: true, room: room.into(), ..grants })
        .to_jwt()
        .unwrap()
}

async fn connect(server: &Server, jwt: &str) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    common::connect_with(server, jwt, "&auto_subscribe=1", None).await
}

/// Next signal response, skipping WebRTC traffic (offers, trickles) unless asked for.
/// The next signal response, skipping offers, trickles and the batched room updates
/// (those are checked by `next_room_update`).
async fn next(ws: &mut Ws) -> Resp {
    loop {
        let msg = next_any(ws).await;
        if !matches!(msg, Resp::RoomUpdate(_)) {
            return msg;
        }
    }
}

/// The next `RoomUpdate`, skipping everything else.
async fn next_room_update(ws: &mut Ws) -> proto::Room {
    loop {
        if let Resp::RoomUpdate(u) = next_any(ws).await {
            return u.room.expect("a room update carries the room");
        }
    }
}

async fn next_any(ws: &mut Ws) -> Resp {
    common::next_where(ws, Duration::from_secs(5), |_| false, None).await
}

async fn join(server: &Server, identity: &str, room: &str, grants: VideoGrants) -> (Ws, proto::JoinResponse) {
    let mut ws = connect(server, &token(identity, room, grants)).await.unwrap();
    match next(&mut ws).await {
        Resp::Join(j) => (ws, j),
        other => panic!("first frame is not join: {other:?}"),
    }
}

#[tokio::test]
async fn join_response_has_what_clients_require() {
    let server = server().await;
    let (_ws, j) = join(&server, "alice", "r1", VideoGrants::default()).await;
    let room = j.room.unwrap();
    assert!(room.sid.starts_with("RM_") && room.name == "r1");
    let me = j.participant.unwrap();
    assert!(me.sid.starts_with("PA_"));
    assert_eq!(me.identity, "alice");
    assert!(me.permission.unwrap().can_publish);
    assert!(j.ping_interval > 0 && j.ping_timeout > j.ping_interval);
    assert!(j.subscriber_primary);
    let info = j.server_info.unwrap();
    assert_eq!(info.protocol, 17);
    let v: Vec<u32> = info.version.split('.').map(|p| p.parse().unwrap()).collect();
    assert!(v[0] > 1 || (v[0] == 1 && v[1] >= 8), "version {} must be semver >= 1.8", info.version);
    server.shutdown().await;
}

#[tokio::test]
async fn peers_are_announced_and_leave_is_disconnected_update() {
    let server = server().await;
    let (mut a, _) = join(&server, "alice", "r1", VideoGrants::default()).await;
    let (mut b, jb) = join(&server, "bob", "r1", VideoGrants::default()).await;
    assert_eq!(jb.other_participants.len(), 1);
    assert_eq!(jb.other_participants[0].identity, "alice");
    let Resp::Update(u) = next(&mut a).await else { panic!("alice expected an update") };
    assert_eq!(u.participants[0].identity, "bob");
    let v1 = u.participants[0].version;

    send(
        &mut b,
        Req::Leave(proto::LeaveRequest {
            reason: proto::DisconnectReason::ClientInitiated as i32,
            ..Default::default()
        }),
    )
    .await;
    let Resp::Update(u) = next(&mut a).await else { panic!("alice expected bob's disconnect") };
    let bob = &u.participants[0];
    assert_eq!(bob.state, proto::participant_info::State::Disconnected as i32);
    assert!(bob.version > v1, "version must increase on every change");
    assert_eq!(server.rooms().len(), 1);
    drop(a);
    // The room goes away once empty.
    for _ in 0..100 {
        if server.rooms().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(server.rooms().is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn pings_are_answered() {
    let server = server().await;
    let (mut ws, _) = join(&server, "alice", "r1", VideoGrants::default()).await;
    send(&mut ws, Req::PingReq(proto::Ping { timestamp: 1234, rtt: 0 })).await;
    let Resp::PongResp(p) = next(&mut ws).await else { panic!("expected pong_resp") };
    assert_eq!(p.last_ping_timestamp, 1234);
    assert!(p.timestamp > 0);
    send(&mut ws, Req::Ping(1)).await;
    assert!(matches!(next(&mut ws).await, Resp::Pong(ts) if ts > 0));
    server.shutdown().await;
}

#[tokio::test]
async fn metadata_updates_need_the_grant_and_are_confirmed() {
    let server = server().await;
    let (mut denied, _) = join(&server, "alice", "r1", VideoGrants::default()).await;
    let req = proto::UpdateParticipantMetadata { metadata: "m".into(), request_id: 7, ..Default::default() };
    send(&mut denied, Req::UpdateMetadata(req.clone())).await;
    let Resp::RequestResponse(r) = next(&mut denied).await else { panic!("expected request_response") };
    assert_eq!((r.request_id, r.reason), (7, proto::request_response::Reason::NotAllowed as i32));

    let grants = VideoGrants { can_update_own_metadata: Some(true), ..Default::default() };
    let (mut ok, _) = join(&server, "bob", "r1", grants).await;
    send(&mut ok, Req::UpdateMetadata(req)).await;
    let Resp::Update(u) = next(&mut ok).await else { panic!("expected own update") };
    assert_eq!(u.participants[0].metadata, "m");
    let Resp::RequestResponse(r) = next(&mut ok).await else { panic!("expected request_response") };
    assert_eq!(r.reason, proto::request_response::Reason::Ok as i32);
    server.shutdown().await;
}

#[tokio::test]
async fn add_track_respects_can_publish_and_replies_with_track_sid() {
    let server = server().await;
    let (mut ws, _) = join(&server, "alice", "r1", VideoGrants::default()).await;
    let add = proto::AddTrackRequest {
        cid: "mic".into(),
        name: "mic".into(),
        r#type: proto::TrackType::Audio as i32,
        ..Default::default()
    };
    send(&mut ws, Req::AddTrack(add.clone())).await;
    let Resp::TrackPublished(t) = next(&mut ws).await else { panic!("expected track_published") };
    assert_eq!(t.cid, "mic");
    assert!(t.track.unwrap().sid.starts_with("TR_"));

    let (mut no, _) = join(&server, "bob", "r1", VideoGrants { can_publish: Some(false), ..Default::default() }).await;
    send(&mut no, Req::AddTrack(add)).await;
    let Resp::RequestResponse(r) = next(&mut no).await else { panic!("expected a refusal") };
    assert_eq!(r.reason, proto::request_response::Reason::NotAllowed as i32);
    server.shutdown().await;
}

#[tokio::test]
async fn duplicate_identity_evicts_the_older_session() {
    let server = server().await;
    let (mut first, _) = join(&server, "alice", "r1", VideoGrants::default()).await;
    let (_second, j) = join(&server, "alice", "r1", VideoGrants::default()).await;
    assert!(j.other_participants.is_empty(), "the old session must not be listed");
    let Resp::Leave(l) = next(&mut first).await else { panic!("old session expected leave") };
    assert_eq!(l.reason, proto::DisconnectReason::DuplicateIdentity as i32);
    server.shutdown().await;
}

#[tokio::test]
async fn malformed_frames_close_only_the_offending_session() {
    let server = server().await;
    let (mut good, _) = join(&server, "alice", "r1", VideoGrants::default()).await;
    let (mut bad, _) = join(&server, "bob", "r1", VideoGrants::default()).await;
    bad.send(Message::Binary(vec![0xff, 0xff, 0xff, 0xff].into())).await.unwrap();
    let close = loop {
        match tokio::time::timeout(Duration::from_secs(5), bad.next()).await.unwrap() {
            Some(Ok(Message::Close(frame))) => break frame,
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    let close = close.expect("close frame carries a reason");
    assert_eq!(u16::from(close.code), 1007);
    assert!(close.reason.contains("malformed"), "{}", close.reason);
    // Everyone else is still served.
    send(&mut good, Req::PingReq(proto::Ping { timestamp: 1, rtt: 0 })).await;
    loop {
        match next(&mut good).await {
            Resp::PongResp(_) => break,
            Resp::Update(_) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
    server.shutdown().await;
}

/// The next frame as a signal response or the close frame's code, offers included.
async fn next_raw(ws: &mut Ws) -> Result<Resp, u16> {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("timed out") {
            Some(Ok(Message::Binary(b))) => return Ok(proto::SignalResponse::decode(b).unwrap().message.unwrap()),
            Some(Ok(Message::Close(frame))) => return Err(frame.map_or(0, |f| u16::from(f.code))),
            Some(Ok(_)) => continue,
            other => panic!("expected a frame, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_subscriber_answer_to_another_offer_is_ignored() {
    let server = server().await;
    let (mut ws, _) = join(&server, "alice", "r1", VideoGrants::default()).await;
    let offer = loop {
        if let Resp::Offer(o) = next_raw(&mut ws).await.expect("socket closed before the first offer") {
            break o;
        }
    };
    assert_eq!(offer.id, 1, "offers are numbered from 1");
    // An answer naming another offer is not applied: its (unparseable) SDP is never read.
    let answer = |id| {
        Req::Answer(proto::SessionDescription {
            r#type: "answer".into(),
            sdp: "not sdp".into(),
            id,
            ..Default::default()
        })
    };
    send(&mut ws, answer(offer.id + 1)).await;
    send(&mut ws, Req::PingReq(proto::Ping { timestamp: 7, rtt: 0 })).await;
    loop {
        match next_raw(&mut ws).await {
            Ok(Resp::PongResp(p)) if p.last_ping_timestamp == 7 => break,
            Ok(_) => continue,
            Err(code) => panic!("a stale answer closed the session ({code})"),
        }
    }
    // The outstanding offer's answer is applied, and this one does not parse.
    send(&mut ws, answer(offer.id)).await;
    let code = loop {
        if let Err(code) = next_raw(&mut ws).await {
            break code;
        }
    };
    assert_eq!(code, 1007);
    server.shutdown().await;
}

#[tokio::test]
async fn oversized_and_text_frames_are_refused() {
    let server = server().await;
    let (mut ws, _) = join(&server, "alice", "r1", VideoGrants::default()).await;
    ws.send(Message::Text("{\"ping\":1}".into())).await.unwrap();
    let closed = loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await.unwrap() {
            Some(Ok(Message::Close(f))) => break f.map(|f| u16::from(f.code)),
            Some(Ok(_)) => continue,
            _ => break None,
        }
    };
    assert_eq!(closed, Some(1003));

    let (mut big, _) = join(&server, "bob", "r1", VideoGrants::default()).await;
    let huge = vec![0u8; 2 << 20];
    let _ = big.send(Message::Binary(huge.into())).await;
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(m)) = big.next().await {
            if m.is_close() {
                break;
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "an oversized frame must end the session");
    server.shutdown().await;
}

#[tokio::test]
async fn bad_tokens_are_refused_before_upgrade() {
    let server = server().await;
    let wrong = AccessToken::with_api_key("devkey", "not-the-secret")
        .with_identity("eve")
        .with_grants(VideoGrants { room_join: true, room: "r1".into(), ..Default::default() })
        .to_jwt()
        .unwrap();
    let err = connect(&server, &wrong).await.unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
    let no_join = AccessToken::with_api_key("devkey", "secret")
        .with_identity("eve")
        .with_grants(VideoGrants { room: "r1".into(), ..Default::default() })
        .to_jwt()
        .unwrap();
    let err = connect(&server, &no_join).await.unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_tells_every_participant() {
    let server = server().await;
    let (mut a, _) = join(&server, "alice", "r1", VideoGrants::default()).await;
    let (mut b, _) = join(&server, "bob", "r2", VideoGrants::default()).await;
    let stop = tokio::spawn(server.shutdown());
    for ws in [&mut a, &mut b] {
        loop {
            match next(ws).await {
                Resp::Leave(l) => {
                    assert_eq!(l.reason, proto::DisconnectReason::ServerShutdown as i32);
                    break;
                }
                _ => continue,
            }
        }
    }
    stop.await.unwrap();
}

#[tokio::test]
async fn http_endpoints() {
    let server = server().await;
    let addr = server.local_addr();
    let (status, body) = raw_get(addr, "/rtc/v1").await;
    assert_eq!((status, body.as_str()), (404, "404 page not found"));
    let (status, _) = raw_get(addr, "/rtc/v1/validate").await;
    assert_eq!(status, 401);
    let (status, _) = raw_get(addr, "/rtc/validate").await;
    assert_eq!(status, 401);
    let jwt = token("alice", "r1", VideoGrants::default());
    let (status, body) = raw_get(addr, &format!("/rtc/validate?access_token={jwt}")).await;
    assert_eq!((status, body.as_str()), (200, "success"));
    let (status, body) = raw_get(addr, "/lkrtc/stats").await;
    assert_eq!(status, 200);
    assert!(body.contains("\"rooms\":0"), "{body}");
    let (status, _) = raw_get(addr, "/rtc").await;
    assert_eq!(status, 404, "a plain GET on /rtc is not an upgrade");
    server.shutdown().await;
}

async fn raw_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf).to_string();
    let status = text.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

#[tokio::test]
async fn room_counts_are_in_the_join_and_updated_when_they_change() {
    let server = server().await;
    let (mut a, ja) = join(&server, "alice", "counts", VideoGrants::default()).await;
    let room = ja.room.unwrap();
    assert_eq!(room.num_participants, 1, "the joiner is counted");
    assert!(room.creation_time_ms > 0 && room.creation_time == room.creation_time_ms / 1000);
    assert_eq!((room.departure_timeout, room.empty_timeout), (20, 300));
    let (mut b, jb) = join(&server, "bob", "counts", VideoGrants::default()).await;
    assert_eq!(jb.room.unwrap().num_participants, 2);
    // Alice hears of the new count (perhaps after an update still counting only her).
    let mut seen = next_room_update(&mut a).await;
    while seen.num_participants != 2 {
        seen = next_room_update(&mut a).await;
    }
    assert_eq!(seen.num_publishers, 0);
    send(
        &mut b,
        Req::Leave(proto::LeaveRequest {
            reason: proto::DisconnectReason::ClientInitiated as i32,
            ..Default::default()
        }),
    )
    .await;
    while next_room_update(&mut a).await.num_participants != 1 {}
    server.shutdown().await;
}

#[tokio::test]
async fn malformed_subscription_permissions_keep_the_session() {
    // An entry naming no subscriber is refused (the previous permissions stay, as in
    // livekit-server); an unknown sid is skipped; the session goes on either way.
    let server = server().await;
    let (mut ws, _) = join(&server, "alice", "r1", VideoGrants::default()).await;
    let nameless = proto::TrackPermission { all_tracks: true, ..Default::default() };
    let unknown =
        proto::TrackPermission { participant_sid: "PA_nobody".into(), all_tracks: true, ..Default::default() };
    for permissions in [vec![nameless], vec![unknown], vec![]] {
        let sp = proto::SubscriptionPermission { all_participants: false, track_permissions: permissions };
        send(&mut ws, Req::SubscriptionPermission(sp)).await;
    }
    send(&mut ws, Req::PingReq(proto::Ping { timestamp: 7, rtt: 0 })).await;
    let Resp::PongResp(p) = next(&mut ws).await else { panic!("expected pong_resp") };
    assert_eq!(p.last_ping_timestamp, 7);
    server.shutdown().await;
}

#[tokio::test]
async fn video_add_track_is_accepted_with_its_size_and_data_is_not() {
    let server = server().await;
    let (mut ws, _) = join(&server, "cam", "r1", VideoGrants::default()).await;
    let add = |cid: &str, kind: proto::TrackType| proto::AddTrackRequest {
        cid: cid.into(),
        name: cid.into(),
        r#type: kind as i32,
        source: proto::TrackSource::Camera as i32,
        width: 640,
        height: 360,
        ..Default::default()
    };
    send(&mut ws, Req::AddTrack(add("cam-1", proto::TrackType::Video))).await;
    let Resp::TrackPublished(t) = next(&mut ws).await else { panic!("expected track_published") };
    let info = t.track.unwrap();
    assert_eq!((info.r#type, info.width, info.height), (proto::TrackType::Video as i32, 640, 360));
    assert_eq!(info.source, proto::TrackSource::Camera as i32);
    send(&mut ws, Req::AddTrack(add("data-1", proto::TrackType::Data))).await;
    let Resp::RequestResponse(r) = next(&mut ws).await else { panic!("expected a refusal") };
    assert_eq!(r.reason, proto::request_response::Reason::UnsupportedType as i32, "{r:?}");
    server.shutdown().await;
}
