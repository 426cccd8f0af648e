//! The engine against an in-process lkrtc-server on 127.0.0.1: joining, seeing each
//! other, data both ways, metadata, leaving in order, disconnect paths, bad input.

use std::collections::HashMap;
use std::time::Duration;

use livekit_api::access_token::{AccessToken, VideoGrants};
use lkrtc_engine::{proto, ConnectOptions, ConnectionState, DataKind, DataOptions, Participant, Room, RoomEvent};
mod common;

use common::{join, join_with, server, token, wait_for};

#[tokio::test]
async fn two_rooms_see_each_other_and_exchange_data() {
    let server = server().await;
    let (a, mut a_ev) = join(&server, "alice", "r").await;
    let (b, mut b_ev) = join(&server, "bob", "r").await;
    assert!(a.sid().starts_with("RM_"));
    assert_eq!(a.sid(), b.sid());
    assert_eq!(a.connection_state(), ConnectionState::Connected);
    // bob saw alice in the join response; alice gets an event for bob.
    assert_eq!(b.remote_participants().iter().map(|p| p.identity()).collect::<Vec<_>>(), ["alice"]);
    let bob = wait_for(&mut a_ev, "bob to connect", |e| match e {
        RoomEvent::ParticipantConnected { participant } => Some(participant),
        _ => None,
    })
    .await;
    assert_eq!(bob.identity(), "bob");

    for reliable in [true, false] {
        let opts = DataOptions { reliable, topic: Some("t".into()), ..Default::default() };
        a.local_participant().publish_data(b"hello".to_vec(), opts).await.unwrap();
        let (payload, from, kind, topic) = wait_for(&mut b_ev, "data", |e| match e {
            RoomEvent::DataReceived { payload, participant, kind, topic } => Some((payload, participant, kind, topic)),
            _ => None,
        })
        .await;
        assert_eq!(payload, b"hello");
        assert_eq!(from.unwrap().identity(), "alice");
        assert_eq!(kind, if reliable { DataKind::Reliable } else { DataKind::Lossy });
        assert_eq!(topic.as_deref(), Some("t"));
    }
    b.local_participant()
        .publish_data(vec![1, 2, 3], DataOptions { reliable: true, ..Default::default() })
        .await
        .unwrap();
    let payload = wait_for(&mut a_ev, "data from bob", |e| match e {
        RoomEvent::DataReceived { payload, .. } => Some(payload),
        _ => None,
    })
    .await;
    assert_eq!(payload, [1, 2, 3]);
    a.disconnect().await;
    b.disconnect().await;
    server.shutdown().await;
}

#[tokio::test]
async fn reliable_data_arrives_in_order_exactly_once() {
    let server = server().await;
    let (a, _a_ev) = join(&server, "alice", "r").await;
    let (b, mut b_ev) = join(&server, "bob", "r").await;
    let n = 500u32;
    for i in 0..n {
        a.local_participant()
            .publish_data(i.to_be_bytes().to_vec(), DataOptions { reliable: true, ..Default::default() })
            .await
            .unwrap();
    }
    let mut got = Vec::new();
    while got.len() < n as usize {
        let p = wait_for(&mut b_ev, "packets", |e| match e {
            RoomEvent::DataReceived { payload, .. } => Some(payload),
            _ => None,
        })
        .await;
        got.push(u32::from_be_bytes(p.try_into().unwrap()));
    }
    assert_eq!(got, (0..n).collect::<Vec<_>>());
    a.disconnect().await;
    b.disconnect().await;
    server.shutdown().await;
}

#[tokio::test]
async fn metadata_name_attributes_reach_peers() {
    let server = server().await;
    let g = VideoGrants { can_update_own_metadata: Some(true), ..Default::default() };
    let (a, mut a_ev) = join_with(&server, "alice", "r", g).await;
    let (b, mut b_ev) = join(&server, "bob", "r").await;
    let lp = a.local_participant();
    lp.set_metadata("meta".into()).await.unwrap();
    lp.set_name("Alice".into()).await.unwrap();
    lp.set_attributes(HashMap::from([("k".to_string(), "v".to_string())])).await.unwrap();
    let (old, new) = wait_for(&mut b_ev, "metadata", |e| match e {
        RoomEvent::ParticipantMetadataChanged { participant: Participant::Remote(_), old, new } => Some((old, new)),
        _ => None,
    })
    .await;
    assert_eq!((old.as_str(), new.as_str()), ("", "meta"));
    wait_for(&mut b_ev, "name", |e| matches!(e, RoomEvent::ParticipantNameChanged { .. }).then_some(())).await;
    let changed = wait_for(&mut b_ev, "attributes", |e| match e {
        RoomEvent::ParticipantAttributesChanged { changed, .. } => Some(changed),
        _ => None,
    })
    .await;
    assert_eq!(changed.get("k").map(String::as_str), Some("v"));
    assert_eq!(b.remote_participants()[0].name(), "Alice");
    // Own changes come back as local events too.
    wait_for(&mut a_ev, "own metadata", |e| match e {
        RoomEvent::ParticipantMetadataChanged { participant: Participant::Local(_), .. } => Some(()),
        _ => None,
    })
    .await;
    assert_eq!(lp.metadata(), "meta");
    // Without the grant the server refuses, and the error says so.
    let err = b.local_participant().set_metadata("x".into()).await.unwrap_err();
    assert_eq!(err.code(), "ERR_REJECTED");
    a.disconnect().await;
    b.disconnect().await;
    server.shutdown().await;
}

#[tokio::test]
async fn leave_and_disconnect_paths() {
    let server = server().await;
    let (a, mut a_ev) = join(&server, "alice", "r").await;
    let (b, _b_ev) = join(&server, "bob", "r").await;
    wait_for(&mut a_ev, "bob", |e| matches!(e, RoomEvent::ParticipantConnected { .. }).then_some(())).await;
    b.disconnect().await;
    b.disconnect().await; // idempotent
    assert_eq!(b.connection_state(), ConnectionState::Disconnected);
    let left = wait_for(&mut a_ev, "bob to leave", |e| match e {
        RoomEvent::ParticipantDisconnected { participant } => Some(participant),
        _ => None,
    })
    .await;
    assert_eq!(left.identity(), "bob");
    assert!(a.remote_participants().is_empty());

    // A server that goes away: the room ends with Disconnected and the stream ends.
    server.shutdown().await;
    let reason = wait_for(&mut a_ev, "disconnected", |e| match e {
        RoomEvent::Disconnected { reason } => Some(reason),
        _ => None,
    })
    .await;
    assert_eq!(reason, proto::DisconnectReason::ServerShutdown);
    assert!(tokio::time::timeout(Duration::from_secs(5), a_ev.recv()).await.unwrap().is_none());
    assert_eq!(a.connection_state(), ConnectionState::Disconnected);
    let err = a.local_participant().publish_data(vec![1], DataOptions::default()).await.unwrap_err();
    assert_eq!(err.code(), "ERR_DISCONNECTED");
}

#[tokio::test]
async fn duplicate_identity_disconnects_the_first() {
    let server = server().await;
    let (_a, mut a_ev) = join(&server, "alice", "r").await;
    let (_a2, _a2_ev) = join(&server, "alice", "r").await;
    let reason = wait_for(&mut a_ev, "eviction", |e| match e {
        RoomEvent::Disconnected { reason } => Some(reason),
        _ => None,
    })
    .await;
    assert_eq!(reason, proto::DisconnectReason::DuplicateIdentity);
    server.shutdown().await;
}

#[tokio::test]
async fn bad_input_is_a_typed_error() {
    let server = server().await;
    let ok = token("alice", "r", VideoGrants::default());
    let opts = || ConnectOptions { connect_timeout: Duration::from_secs(3), ..Default::default() };
    let code = |r: Result<_, lkrtc_engine::EngineError>| r.err().map(|e| e.code());
    assert_eq!(code(Room::connect("nope", &ok, opts()).await.map(|_| ())), Some("ERR_INVALID_URL"));
    assert_eq!(code(Room::connect("ftp://127.0.0.1", &ok, opts()).await.map(|_| ())), Some("ERR_INVALID_URL"));
    assert_eq!(code(Room::connect(&server.url(), "", opts()).await.map(|_| ())), Some("ERR_INVALID_ARG"));
    assert_eq!(code(Room::connect(&server.url(), "garbage", opts()).await.map(|_| ())), Some("ERR_UNAUTHORIZED"));
    let wrong = AccessToken::with_api_key("devkey", "wrong")
        .with_identity("x")
        .with_grants(VideoGrants { room_join: true, room: "r".into(), ..Default::default() })
        .to_jwt()
        .unwrap();
    let err = Room::connect(&server.url(), &wrong, opts()).await.err().unwrap();
    assert_eq!(err.code(), "ERR_UNAUTHORIZED");
    assert!(err.to_string().contains("invalid access token"), "{err}");
    // Nothing listens on port 9 of loopback.
    assert_eq!(code(Room::connect("ws://127.0.0.1:9", &ok, opts()).await.map(|_| ())), Some("ERR_CONNECT"));
    server.shutdown().await;
}

#[tokio::test]
async fn server_removal_and_room_metadata() {
    let server = server().await;
    let (a, mut a_ev) = join(&server, "alice", "r").await;
    assert!(server.update_room_metadata("r", "topic: tests"));
    let (old, new) = wait_for(&mut a_ev, "room metadata", |e| match e {
        RoomEvent::RoomMetadataChanged { old, new } => Some((old, new)),
        _ => None,
    })
    .await;
    assert_eq!((old.as_str(), new.as_str()), ("", "topic: tests"));
    assert_eq!(a.metadata(), "topic: tests");
    assert!(server.remove_participant("r", "alice"));
    let reason = wait_for(&mut a_ev, "removal", |e| match e {
        RoomEvent::Disconnected { reason } => Some(reason),
        _ => None,
    })
    .await;
    assert_eq!(reason, proto::DisconnectReason::ParticipantRemoved);
    assert!(!server.remove_participant("r", "nobody"));
    server.shutdown().await;
}
