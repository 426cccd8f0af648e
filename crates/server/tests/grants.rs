//! Grants, checked as livekit-server checks them (`pkg/service/auth.go`, `roomservice.go`,
//! `rtcservice.go`), over real HTTP requests to an in-process server with tokens signed by
//! livekit-api's `AccessToken`. One test per rule.

use std::time::Duration;

use futures_util::SinkExt;
use livekit_api::access_token::{AccessToken, VideoGrants};
use lkrtc_server::proto::{self, signal_request::Message as Req, signal_response::Message as Resp};
use lkrtc_server::Server;
use prost::Message as _;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

mod common;

use common::{server, Ws};

fn jwt(identity: &str, grants: VideoGrants) -> String {
    AccessToken::with_api_key("devkey", "secret").with_identity(identity).with_grants(grants).to_jwt().unwrap()
}

/// A token with roomJoin and no room, which livekit-server-sdk (JS) makes and livekit-api
/// (Rust) refuses to, so it is signed here by hand.
fn roomless_join_token(identity: &str) -> String {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let b64 = |s: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let exp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 600;
    let claims = json!({ "iss": "devkey", "sub": identity, "exp": exp, "video": { "roomJoin": true } });
    let input = format!("{}.{}", b64(br#"{"alg":"HS256","typ":"JWT"}"#), b64(claims.to_string().as_bytes()));
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"secret").unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", b64(&mac.finalize().into_bytes()))
}

fn admin(room: &str) -> String {
    jwt("admin", VideoGrants { room_admin: true, room: room.into(), ..Default::default() })
}

fn joiner(room: &str, grants: VideoGrants) -> VideoGrants {
    VideoGrants { room_join: true, room: room.into(), ..grants }
}

/// A plain HTTP/1.1 request; returns (status, body).
async fn http(server: &Server, request: String) -> (u16, String) {
    let reply = common::raw_http(server, &request).await;
    assert!(reply.status != 0, "an HTTP status line");
    (reply.status, reply.body)
}

/// A Twirp JSON call to `livekit.RoomService/{method}`; returns (status, JSON body).
async fn twirp(server: &Server, method: &str, token: &str, body: Value) -> (u16, Value) {
    let body = body.to_string();
    let req = format!(
        "POST /twirp/livekit.RoomService/{method} HTTP/1.1\r\nHost: lkrtc\r\nContent-Type: application/json\r\n\
         Authorization: Bearer {token}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let (status, body) = http(server, req).await;
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

/// What livekit-server answers for a missing grant: Twirp `unauthenticated`, HTTP 401.
fn assert_denied((status, body): (u16, Value), what: &str) {
    assert_eq!(status, 401, "{what}: {body}");
    assert_eq!(body["code"], "unauthenticated", "{what}: {body}");
    assert_eq!(body["msg"], "permissions denied", "{what}: {body}");
}

async fn connect(server: &Server, token: &str, query: &str) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    common::connect_with(server, token, query, None).await
}

/// The next signal response that is not WebRTC negotiation or a room update.
async fn next(ws: &mut Ws) -> Resp {
    common::next_where(ws, Duration::from_secs(5), |m| matches!(m, Resp::RoomUpdate(_)), None).await
}

async fn join(server: &Server, identity: &str, grants: VideoGrants, query: &str) -> (Ws, proto::JoinResponse) {
    let mut ws = connect(server, &jwt(identity, grants), query).await.unwrap();
    match next(&mut ws).await {
        Resp::Join(j) => (ws, j),
        other => panic!("first frame is not join: {other:?}"),
    }
}

fn identities(server: &Server, room: &str) -> usize {
    server.rooms().iter().find(|r| r.name == room).map_or(0, |r| r.num_participants as usize)
}

async fn wait_rooms_empty(server: &Server) {
    for _ in 0..100 {
        if server.rooms().is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("rooms left over: {:?}", server.rooms());
}

#[tokio::test]
async fn list_rooms_needs_room_list() {
    let server = server().await;
    let (ws, _) = join(&server, "alice", joiner("r1", VideoGrants::default()), "").await;
    for (what, token) in [
        ("roomAdmin for r1", admin("r1")),
        ("roomCreate only", jwt("ops", VideoGrants { room_create: true, ..Default::default() })),
        ("roomAdmin without a room", jwt("ops", VideoGrants { room_admin: true, ..Default::default() })),
        ("roomJoin", jwt("ops", joiner("r1", VideoGrants::default()))),
    ] {
        assert_denied(twirp(&server, "ListRooms", &token, json!({})).await, what);
    }
    let list = jwt("ops", VideoGrants { room_list: true, ..Default::default() });
    let (status, body) = twirp(&server, "ListRooms", &list, json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["rooms"][0]["name"], "r1", "{body}");
    drop(ws);
    wait_rooms_empty(&server).await;
    server.shutdown().await;
}

#[tokio::test]
async fn room_admin_without_a_room_reaches_no_room() {
    let server = server().await;
    let (ws, _) = join(&server, "alice", joiner("r1", VideoGrants::default()), "").await;
    let unscoped = jwt("ops", VideoGrants { room_admin: true, ..Default::default() });
    let who = json!({ "room": "r1", "identity": "alice" });
    assert_denied(twirp(&server, "ListParticipants", &unscoped, json!({ "room": "r1" })).await, "ListParticipants");
    assert_denied(twirp(&server, "GetParticipant", &unscoped, who.clone()).await, "GetParticipant");
    let update = json!({ "room": "r1", "identity": "alice", "metadata": "pwned" });
    assert_denied(twirp(&server, "UpdateParticipant", &unscoped, update).await, "UpdateParticipant");
    assert_denied(twirp(&server, "RemoveParticipant", &unscoped, who).await, "RemoveParticipant");
    let meta = json!({ "room": "r1", "metadata": "pwned" });
    assert_denied(twirp(&server, "UpdateRoomMetadata", &unscoped, meta).await, "UpdateRoomMetadata");
    assert_eq!(identities(&server, "r1"), 1, "alice must still be in the room");
    assert_eq!(server.rooms()[0].metadata, "", "room metadata must be untouched");
    drop(ws);
    wait_rooms_empty(&server).await;
    server.shutdown().await;
}

#[tokio::test]
async fn room_admin_is_scoped_to_the_token_room() {
    let server = server().await;
    let (_a, _) = join(&server, "alice", joiner("r1", VideoGrants::default()), "").await;
    let (_b, _) = join(&server, "bob", joiner("r2", VideoGrants::default()), "").await;
    let r1 = admin("r1");
    let bob = json!({ "room": "r2", "identity": "bob" });
    assert_denied(twirp(&server, "ListParticipants", &r1, json!({ "room": "r2" })).await, "ListParticipants r2");
    assert_denied(twirp(&server, "GetParticipant", &r1, bob.clone()).await, "GetParticipant r2");
    let update = json!({ "room": "r2", "identity": "bob", "name": "x" });
    assert_denied(twirp(&server, "UpdateParticipant", &r1, update).await, "UpdateParticipant r2");
    assert_denied(twirp(&server, "RemoveParticipant", &r1, bob).await, "RemoveParticipant r2");
    let meta = json!({ "room": "r2", "metadata": "x" });
    assert_denied(twirp(&server, "UpdateRoomMetadata", &r1, meta).await, "UpdateRoomMetadata r2");
    let mute = json!({ "room": "r2", "identity": "bob", "track_sid": "TR_x", "muted": true });
    assert_denied(twirp(&server, "MutePublishedTrack", &r1, mute).await, "MutePublishedTrack r2");
    assert_denied(twirp(&server, "UpdateSubscriptions", &r1, json!({ "room": "r2" })).await, "UpdateSubscriptions r2");
    assert_denied(twirp(&server, "SendData", &r1, json!({ "room": "r2" })).await, "SendData r2");
    // The same calls on the token's own room are allowed.
    let (status, body) = twirp(&server, "ListParticipants", &r1, json!({ "room": "r1" })).await;
    assert_eq!((status, body["participants"][0]["identity"].as_str()), (200, Some("alice")), "{body}");
    let (status, body) = twirp(&server, "GetParticipant", &r1, json!({ "room": "r1", "identity": "alice" })).await;
    assert_eq!((status, body["identity"].as_str()), (200, Some("alice")), "{body}");
    let (status, body) = twirp(&server, "UpdateRoomMetadata", &r1, json!({ "room": "r1", "metadata": "m" })).await;
    assert_eq!((status, body["metadata"].as_str()), (200, Some("m")), "{body}");
    assert_eq!(identities(&server, "r2"), 1, "bob must still be in r2");
    server.shutdown().await;
}

#[tokio::test]
async fn move_and_forward_need_the_destination_room_too() {
    let server = server().await;
    let call = json!({ "room": "r1", "identity": "alice", "destination_room": "r2" });
    for method in ["MoveParticipant", "ForwardParticipant"] {
        assert_denied(twirp(&server, method, &admin("r1"), call.clone()).await, method);
        let both =
            VideoGrants { room_admin: true, room: "r1".into(), destination_room: "r2".into(), ..Default::default() };
        let (status, body) = twirp(&server, method, &jwt("ops", both), call.clone()).await;
        assert_ne!(status, 401, "{method} with both rooms in the token: {body}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn create_and_delete_room_need_room_create() {
    let server = server().await;
    let (mut ws, _) = join(&server, "alice", joiner("r1", VideoGrants::default()), "").await;
    // roomAdmin on the very room is not enough: livekit's DeleteRoom asks for roomCreate.
    assert_denied(twirp(&server, "DeleteRoom", &admin("r1"), json!({ "room": "r1" })).await, "DeleteRoom (roomAdmin)");
    assert_denied(twirp(&server, "CreateRoom", &admin("r1"), json!({ "name": "r1" })).await, "CreateRoom (roomAdmin)");
    assert_eq!(identities(&server, "r1"), 1);
    let create = jwt("ops", VideoGrants { room_create: true, ..Default::default() });
    let (status, body) = twirp(&server, "CreateRoom", &create, json!({ "name": "r9" })).await;
    assert_ne!(status, 401, "CreateRoom with roomCreate: {body}");
    let (status, body) = twirp(&server, "DeleteRoom", &create, json!({ "room": "nope" })).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")), "{body}");
    let (status, body) = twirp(&server, "DeleteRoom", &create, json!({ "room": "r1" })).await;
    assert_eq!(status, 200, "{body}");
    loop {
        if let Resp::Leave(l) = next(&mut ws).await {
            assert_eq!(l.reason, proto::DisconnectReason::RoomDeleted as i32);
            break;
        }
    }
    wait_rooms_empty(&server).await;
    server.shutdown().await;
}

#[tokio::test]
async fn room_service_without_a_token_is_unauthenticated() {
    let server = server().await;
    let req = "POST /twirp/livekit.RoomService/ListRooms HTTP/1.1\r\nHost: lkrtc\r\nContent-Type: application/json\r\n\
               Content-Length: 2\r\nConnection: close\r\n\r\n{}";
    let (status, body) = http(&server, req.to_string()).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("unauthenticated"), "{body}");
    server.shutdown().await;
}

#[tokio::test]
async fn join_without_room_join_is_401() {
    let server = server().await;
    let token = jwt("eve", VideoGrants { room: "r1".into(), room_admin: true, ..Default::default() });
    let err = connect(&server, &token, "").await.unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
    let validate =
        format!("GET /rtc/validate?access_token={token} HTTP/1.1\r\nHost: lkrtc\r\nConnection: close\r\n\r\n");
    assert_eq!(http(&server, validate).await.0, 401);
    assert!(server.rooms().is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn join_takes_the_room_parameter_when_the_token_names_none() {
    let server = server().await;
    let mut ws = connect(&server, &roomless_join_token("alice"), "&room=from-query").await.unwrap();
    let Resp::Join(j) = next(&mut ws).await else { panic!("expected join") };
    assert_eq!(j.room.unwrap().name, "from-query");
    // The token's room wins over the parameter.
    let (ws2, j) = join(&server, "bob", joiner("r1", VideoGrants::default()), "&room=elsewhere").await;
    assert_eq!(j.room.unwrap().name, "r1");
    // Neither: 400, as livekit-server's ErrNoRoomName.
    let err = connect(&server, &roomless_join_token("carol"), "").await.unwrap_err();
    assert!(err.to_string().contains("400"), "{err}");
    drop((ws, ws2));
    wait_rooms_empty(&server).await;
    server.shutdown().await;
}

#[tokio::test]
async fn publish_data_follows_publish_when_unset() {
    let server = server().await;
    let (_ws, j) =
        join(&server, "viewer", joiner("r1", VideoGrants { can_publish: Some(false), ..Default::default() }), "").await;
    let perm = j.participant.unwrap().permission.unwrap();
    assert!(!perm.can_publish && !perm.can_publish_data, "{perm:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn publish_sources_are_enforced_on_add_track() {
    let server = server().await;
    let grants = VideoGrants { can_publish_sources: vec!["camera".into()], ..Default::default() };
    let (mut ws, j) = join(&server, "cam", joiner("r1", grants), "").await;
    let perm = j.participant.unwrap().permission.unwrap();
    assert_eq!(perm.can_publish_sources, vec![proto::TrackSource::Camera as i32]);
    let add = proto::AddTrackRequest {
        cid: "mic-1".into(),
        name: "mic".into(),
        r#type: proto::TrackType::Audio as i32,
        source: proto::TrackSource::Microphone as i32,
        ..Default::default()
    };
    let bytes = proto::SignalRequest { message: Some(Req::AddTrack(add)) }.encode_to_vec();
    ws.send(Message::Binary(bytes.into())).await.unwrap();
    let Resp::RequestResponse(r) = next(&mut ws).await else { panic!("expected a refusal") };
    assert_eq!(r.reason, proto::request_response::Reason::NotAllowed as i32, "{r:?}");
    server.shutdown().await;
}
