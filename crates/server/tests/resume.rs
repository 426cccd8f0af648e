//! Resuming a session on a new signal socket, and the simulated scenarios clients test
//! reconnection with, over raw WebSockets (no WebRTC client).

use std::time::{Duration, Instant};

use livekit_api::access_token::{AccessToken, VideoGrants};
use lkrtc_server::proto::{self, signal_request::Message as Req, signal_response::Message as Resp};
use lkrtc_server::{KeyStore, Server, ServerConfig, Timing};
use proto::leave_request::Action;
use proto::simulate_scenario::Scenario;

mod common;

use common::{send, Ws};

const ROOM: &str = "resume";

async fn server(window: Duration) -> Server {
    let timing = Timing { resume_window: window, ..Timing::default() };
    let config =
        ServerConfig { port: 0, keys: KeyStore::parse("devkey:secret").unwrap(), timing, ..ServerConfig::dev() };
    Server::start(config).await.unwrap()
}

fn token(identity: &str) -> String {
    AccessToken::with_api_key("devkey", "secret")
        .with_identity(identity)
        .with_grants(VideoGrants { room_join: true, room: ROOM.into(), ..Default::default() })
        .to_jwt()
        .unwrap()
}

/// The next response that is not WebRTC negotiation, a room update or a speaker update.
async fn next(ws: &mut Ws) -> Resp {
    common::next_where(
        ws,
        Duration::from_secs(5),
        |m| matches!(m, Resp::RoomUpdate(_) | Resp::SpeakersChanged(_)),
        None,
    )
    .await
}

async fn join(server: &Server, identity: &str) -> (Ws, proto::ParticipantInfo) {
    let mut ws = common::connect_with(server, &token(identity), "&auto_subscribe=1", None).await.unwrap();
    match next(&mut ws).await {
        Resp::Join(j) => (ws, j.participant.unwrap()),
        other => panic!("first frame is not a join: {other:?}"),
    }
}

async fn reconnect(server: &Server, identity: &str, sid: &str) -> Ws {
    common::connect_with(server, &token(identity), &format!("&reconnect=1&sid={sid}&reconnect_reason=1"), None)
        .await
        .unwrap()
}

/// Waits for `identity` to be announced as disconnected to `ws`; returns when.
async fn wait_gone(ws: &mut Ws, identity: &str, within: Duration) -> Instant {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let msg = common::next_where(ws, left, |_| false, None).await;
        if let Resp::Update(u) = msg {
            let gone = u
                .participants
                .iter()
                .any(|p| p.identity == identity && p.state == proto::participant_info::State::Disconnected as i32);
            if gone {
                return Instant::now();
            }
        }
    }
}

/// The next offer, whatever comes before it.
async fn next_offer(ws: &mut Ws) -> proto::SessionDescription {
    use futures_util::StreamExt;
    use prost::Message as _;
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("no offer").unwrap().unwrap();
        if let tokio_tungstenite::tungstenite::Message::Binary(b) = frame {
            if let Some(Resp::Offer(o)) = proto::SignalResponse::decode(b).unwrap().message {
                return o;
            }
        }
    }
}

/// Whether `identity` is announced as disconnected to `ws` within `wait`.
async fn gone_within(ws: &mut Ws, identity: &str, wait: Duration) -> bool {
    tokio::time::timeout(wait, wait_gone(ws, identity, wait + Duration::from_secs(1))).await.is_ok()
}

fn is_leave(msg: &Resp, action: Action) -> bool {
    matches!(msg, Resp::Leave(l) if l.action == action as i32 && l.can_reconnect == (action != Action::Disconnect))
}

#[tokio::test]
async fn a_lost_socket_is_resumed_with_the_same_participant() {
    let server = server(Duration::from_secs(5)).await;
    let (mut a, _) = join(&server, "alice").await;
    let (mut b, bob) = join(&server, "bob").await;
    let first = next_offer(&mut b).await;
    assert!(matches!(next(&mut a).await, Resp::Update(_))); // bob joined
    drop(b); // no leave: the network went
    assert!(!gone_within(&mut a, "bob", Duration::from_millis(1500)).await, "bob must be kept for a resume");

    let mut b = reconnect(&server, "bob", &bob.sid).await;
    let Resp::Reconnect(r) = next(&mut b).await else { panic!("a resume is answered with ReconnectResponse") };
    assert!(r.server_info.is_some() && r.client_configuration.is_some());
    assert_eq!(r.last_message_seq, 0, "bob sent no reliable data");
    // Then the room as it is: bob himself (same sid) and alice.
    let Resp::Update(u) = next(&mut b).await else { panic!("a resume is followed by the participants") };
    let sids: Vec<_> = u.participants.iter().map(|p| p.sid.as_str()).collect();
    assert!(sids.contains(&bob.sid.as_str()) && u.participants.iter().any(|p| p.identity == "alice"));
    // The subscriber PC is offered again, under new ICE credentials.
    let offer = next_offer(&mut b).await;
    assert!(offer.id > first.id);
    let ufrag = |sdp: &str| sdp.lines().find(|l| l.starts_with("a=ice-ufrag:")).map(str::to_owned);
    assert!(
        ufrag(&offer.sdp).is_some() && ufrag(&offer.sdp) != ufrag(&first.sdp),
        "an ICE restart has new credentials"
    );
    // The session goes on: pings answered, nobody was told bob left.
    send(&mut b, Req::PingReq(proto::Ping { timestamp: 7, rtt: 0 })).await;
    assert!(matches!(next(&mut b).await, Resp::PongResp(p) if p.last_ping_timestamp == 7));
    assert!(!gone_within(&mut a, "bob", Duration::from_millis(300)).await);
    assert_eq!(server.rooms()[0].num_participants, 2);
    server.shutdown().await;
}

#[tokio::test]
async fn a_participant_not_resumed_in_time_leaves() {
    let window = Duration::from_secs(2);
    let server = server(window).await;
    let (mut a, _) = join(&server, "alice").await;
    let (b, _) = join(&server, "bob").await;
    assert!(matches!(next(&mut a).await, Resp::Update(_)));
    let lost = Instant::now();
    drop(b);
    let gone = wait_gone(&mut a, "bob", Duration::from_secs(6)).await;
    let after = gone - lost;
    assert!(after >= window && after < window + Duration::from_millis(1500), "left {after:?} after the loss");
    server.shutdown().await;
}

#[tokio::test]
async fn with_no_window_a_lost_socket_leaves_at_once() {
    let server = server(Duration::ZERO).await;
    let (mut a, _) = join(&server, "alice").await;
    let (b, _) = join(&server, "bob").await;
    assert!(matches!(next(&mut a).await, Resp::Update(_)));
    drop(b);
    wait_gone(&mut a, "bob", Duration::from_secs(1)).await;
    server.shutdown().await;
}

#[tokio::test]
async fn resumes_the_server_cannot_honour_ask_for_a_rejoin() {
    let server = server(Duration::from_secs(5)).await;
    let (_a, alice) = join(&server, "alice").await;
    // An unknown sid, no sid, another identity's sid: a leave asking to rejoin.
    for (identity, sid) in [("alice", "PA_nobody"), ("alice", ""), ("mallory", alice.sid.as_str())] {
        let mut ws = reconnect(&server, identity, sid).await;
        let msg = next(&mut ws).await;
        assert!(is_leave(&msg, Action::Reconnect), "{identity}/{sid}: {msg:?}");
    }
    // Alice's own session was not touched by mallory's attempt.
    assert_eq!(server.rooms()[0].num_participants, 1);
    server.shutdown().await;
}

#[tokio::test]
async fn a_resume_replaces_a_socket_the_server_still_thought_alive() {
    let server = server(Duration::from_secs(5)).await;
    let (mut old, alice) = join(&server, "alice").await;
    let mut new = reconnect(&server, "alice", &alice.sid).await;
    assert!(matches!(next(&mut new).await, Resp::Reconnect(_)));
    // The old socket is closed by the server.
    let ended = tokio::time::timeout(Duration::from_secs(3), async {
        use futures_util::StreamExt;
        while let Some(Ok(_)) = old.next().await {}
    })
    .await;
    assert!(ended.is_ok(), "the replaced socket must be closed");
    server.shutdown().await;
}

#[tokio::test]
async fn reliable_data_sequence_is_reported_on_resume() {
    // Data needs a publisher PC, which this raw client has not: the sequence a client
    // sent is covered by the SDK's reconnect tests. Here: a fresh participant reports 0
    // and a second resume reports the same participant again.
    let server = server(Duration::from_secs(5)).await;
    let (a, alice) = join(&server, "alice").await;
    drop(a);
    for _ in 0..2 {
        let mut ws = reconnect(&server, "alice", &alice.sid).await;
        let Resp::Reconnect(r) = next(&mut ws).await else { panic!("expected a ReconnectResponse") };
        assert_eq!(r.last_message_seq, 0);
        drop(ws);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.shutdown().await;
}

#[tokio::test]
async fn v1_sessions_resume_through_the_join_request() {
    let server = server(Duration::from_secs(5)).await;
    let settings = proto::JoinRequest {
        client_info: Some(proto::ClientInfo { protocol: 16, ..Default::default() }),
        ..Default::default()
    };
    let mut ws = common::open_v1(&server, &token("vera"), &common::join_request(&settings, true)).await;
    let Resp::Join(join) = next(&mut ws).await else { panic!("first frame is not a join") };
    let sid = join.participant.unwrap().sid;
    drop(ws);
    // Over v0 a v1 session is not resumed; over v1 with its sid it is.
    let mut v0 = reconnect(&server, "vera", &sid).await;
    assert!(is_leave(&next(&mut v0).await, Action::Reconnect));
    let resume = proto::JoinRequest { reconnect: true, participant_sid: sid.clone(), ..settings };
    let mut ws = common::open_v1(&server, &token("vera"), &common::join_request(&resume, true)).await;
    let Resp::Reconnect(_) = next(&mut ws).await else { panic!("a v1 resume is answered with ReconnectResponse") };
    let Resp::Update(u) = next(&mut ws).await else { panic!("then the participants") };
    assert!(u.participants.iter().any(|p| p.sid == sid));
    server.shutdown().await;
}

async fn simulate(ws: &mut Ws, scenario: Scenario) {
    send(ws, Req::Simulate(proto::SimulateScenario { scenario: Some(scenario) })).await;
}

#[tokio::test]
async fn simulated_scenarios_act_as_livekit_server() {
    let server = server(Duration::from_secs(5)).await;
    let (mut watcher, _) = join(&server, "watcher").await;

    // Full reconnect: a leave with RECONNECT, and the participant is gone.
    let (mut p, _) = join(&server, "p1").await;
    simulate(&mut p, Scenario::LeaveRequestFullReconnect(true)).await;
    assert!(is_leave(&next(&mut p).await, Action::Reconnect));
    wait_gone(&mut watcher, "p1", Duration::from_secs(2)).await;

    // Server leave: a leave with DISCONNECT.
    let (mut p, _) = join(&server, "p2").await;
    simulate(&mut p, Scenario::ServerLeave(true)).await;
    assert!(is_leave(&next(&mut p).await, Action::Disconnect));
    wait_gone(&mut watcher, "p2", Duration::from_secs(2)).await;

    // Node failure: no leave, and nothing to resume.
    let (mut p, info) = join(&server, "p3").await;
    simulate(&mut p, Scenario::NodeFailure(true)).await;
    wait_gone(&mut watcher, "p3", Duration::from_secs(2)).await;
    let mut again = reconnect(&server, "p3", &info.sid).await;
    assert!(is_leave(&next(&mut again).await, Action::Reconnect));

    // Migration: a leave with RESUME, and the resume works.
    let (mut p, info) = join(&server, "p4").await;
    simulate(&mut p, Scenario::Migration(true)).await;
    assert!(is_leave(&next(&mut p).await, Action::Resume));
    let mut back = reconnect(&server, "p4", &info.sid).await;
    assert!(matches!(next(&mut back).await, Resp::Reconnect(_)));

    // Disconnect on resume: the first resume is dropped unanswered, the next one works.
    simulate(&mut back, Scenario::DisconnectSignalOnResume(true)).await;
    send(&mut back, Req::PingReq(proto::Ping { timestamp: 1, rtt: 0 })).await; // ordered after it
    let pong = common::next_where(&mut back, Duration::from_secs(5), |m| !matches!(m, Resp::PongResp(_)), None).await;
    assert!(matches!(pong, Resp::PongResp(_)));
    drop(back);
    let mut dropped = reconnect(&server, "p4", &info.sid).await;
    let unanswered = tokio::time::timeout(Duration::from_secs(3), async {
        use futures_util::StreamExt;
        while let Some(Ok(m)) = dropped.next().await {
            if let tokio_tungstenite::tungstenite::Message::Binary(_) = m {
                return false;
            }
        }
        true
    })
    .await;
    assert_eq!(unanswered, Ok(true), "the socket must close without an answer");
    let mut third = reconnect(&server, "p4", &info.sid).await;
    assert!(matches!(next(&mut third).await, Resp::Reconnect(_)));
    assert!(!gone_within(&mut watcher, "p4", Duration::from_millis(300)).await);
    server.shutdown().await;
}
