//! Shared by the engine's integration tests: an in-process lkrtc-server, tokens, joins
//! and bounded waits for events.
#![allow(dead_code)] // each test file uses a different subset

use std::time::Duration;

use livekit_api::access_token::{AccessToken, VideoGrants};
use lkrtc_engine::{ConnectOptions, Room, RoomEvent};
use lkrtc_server::{KeyStore, Server, ServerConfig};
use tokio::sync::mpsc::UnboundedReceiver;

/// A server on a free loopback port with the key devkey:secret.
pub async fn server() -> Server {
    let config = ServerConfig { port: 0, keys: KeyStore::parse("devkey:secret").unwrap(), ..ServerConfig::dev() };
    Server::start(config).await.unwrap()
}

/// A join token for `identity` in `room`, with `grants` on top.
pub fn token(identity: &str, room: &str, grants: VideoGrants) -> String {
    AccessToken::with_api_key("devkey", "secret")
        .with_identity(identity)
        .with_grants(VideoGrants { room_join: true, room: room.into(), ..grants })
        .to_jwt()
        .unwrap()
}

/// Joins `room` as `identity` with default grants.
pub async fn join(server: &Server, identity: &str, room: &str) -> (Room, UnboundedReceiver<RoomEvent>) {
    join_with(server, identity, room, VideoGrants::default()).await
}

/// Joins with extra grants.
pub async fn join_with(
    server: &Server,
    identity: &str,
    room: &str,
    g: VideoGrants,
) -> (Room, UnboundedReceiver<RoomEvent>) {
    Room::connect(&server.url(), &token(identity, room, g), ConnectOptions::default()).await.unwrap()
}

/// Waits for the first event `pick` accepts, skipping others.
pub async fn wait_for<T>(
    rx: &mut UnboundedReceiver<RoomEvent>,
    what: &str,
    mut pick: impl FnMut(RoomEvent) -> Option<T>,
) -> T {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let ev = rx.recv().await.unwrap_or_else(|| panic!("event stream ended waiting for {what}"));
            if let Some(t) = pick(ev) {
                return t;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// The next event, whatever it is (bounded).
pub async fn next_event(rx: &mut UnboundedReceiver<RoomEvent>) -> RoomEvent {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("timed out waiting for an event")
        .expect("events ended")
}
