//! The session core without sockets, clocks or peer connections: inputs in, outputs out.

use std::time::{Duration, Instant};

use livekit_protocol as proto;
use proto::signal_request::Message as Req;
use proto::signal_response::Message as Resp;
use tokio::sync::{mpsc, oneshot};
use webrtc::peer_connection::{RTCIceCandidateInit, RTCPeerConnectionState};

use super::*;
use crate::pc::Target;
use crate::types::DataOptions;

const OFFER_SDP: &str = "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:0\r\n";

struct Harness {
    session: Session,
    now: Instant,
    ready: oneshot::Receiver<Result<()>>,
    _commands: mpsc::UnboundedReceiver<Command>,
}

fn participant(sid: &str, identity: &str) -> proto::ParticipantInfo {
    proto::ParticipantInfo {
        sid: sid.into(),
        identity: identity.into(),
        state: proto::participant_info::State::Active as i32,
        version: 1,
        ..Default::default()
    }
}

fn harness() -> Harness {
    let now = Instant::now();
    let (session, ready, commands) = Session::detached(now, 7);
    Harness { session, now, ready, _commands: commands }
}

impl Harness {
    fn input(&mut self, input: Input) -> Vec<Output> {
        self.session.handle_input(self.now, input);
        self.drain()
    }
    fn transport(&mut self, ev: TransportEvent) -> Vec<Output> {
        self.input(Input::Transport(ev))
    }
    fn signal(&mut self, msg: Resp) -> Vec<Output> {
        self.input(Input::Signal(Box::new(msg)))
    }
    fn advance(&mut self, by: Duration) -> Vec<Output> {
        self.now += by;
        self.session.handle_timeout(self.now);
        self.drain()
    }
    fn drain(&mut self) -> Vec<Output> {
        std::iter::from_fn(|| self.session.poll_output()).collect()
    }
    /// Start, offer, answer: the publisher is negotiated.
    fn negotiated(&mut self) {
        self.session.start();
        self.drain();
        self.transport(TransportEvent::OfferReady(Ok(OFFER_SDP.into())));
        self.signal(Resp::Answer(answer(1)));
        self.transport(TransportEvent::AnswerApplied(Ok(())));
    }
}

fn answer(id: u32) -> proto::SessionDescription {
    proto::SessionDescription { r#type: "answer".into(), sdp: "v=0\r\n".into(), id, ..Default::default() }
}

fn candidate(n: u16) -> RTCIceCandidateInit {
    RTCIceCandidateInit { candidate: format!("candidate:{n} 1 udp 1 127.0.0.1 {n} typ host"), ..Default::default() }
}

fn trickle_json(n: u16, target: Target) -> Resp {
    let json = crate::pc::candidate_to_json(&candidate(n), "0");
    Resp::Trickle(proto::TrickleRequest { candidate_init: json, target: target as i32, r#final: false })
}

/// The signal messages among `outputs`.
fn signals(outputs: &[Output]) -> Vec<&Req> {
    outputs.iter().filter_map(|o| if let Output::Signal(m) = o { Some(&**m) } else { None }).collect()
}

fn events(outputs: Vec<Output>) -> Vec<RoomEvent> {
    outputs.into_iter().filter_map(|o| if let Output::Event(e) = o { Some(e) } else { None }).collect()
}

fn is_create_offer(o: &Output) -> bool {
    matches!(o, Output::Transport(Action::CreateOffer { .. }))
}

#[test]
fn join_offers_holds_candidates_until_the_answer_then_becomes_ready() {
    let mut h = harness();
    h.session.start();
    let out = h.drain();
    assert!(is_create_offer(&out[0]), "the first output is the publisher offer");
    assert!(matches!(&out[1], Output::Event(RoomEvent::ConnectionStateChanged { .. })));
    assert_eq!(h.session.state(), SessionState::Joining);

    // A publisher candidate before the answer is held back.
    assert!(h.transport(TransportEvent::Candidate(Target::Publisher, candidate(1))).is_empty());
    let out = h.transport(TransportEvent::OfferReady(Ok(OFFER_SDP.into())));
    match signals(&out)[..] {
        [Req::Offer(sd)] => assert_eq!((sd.id, sd.r#type.as_str()), (1, "offer")),
        _ => panic!("expected one offer"),
    }
    // Server candidates before the answer wait too.
    assert!(h.signal(trickle_json(9, Target::Publisher)).is_empty());
    let out = h.signal(Resp::Answer(answer(1)));
    assert!(matches!(&out[..], [Output::Transport(Action::ApplyAnswer(_))]));
    let out = h.transport(TransportEvent::AnswerApplied(Ok(())));
    assert!(matches!(signals(&out)[..], [Req::Trickle(t)] if t.candidate_init.contains("candidate:1 ")));
    assert!(out.iter().any(|o| matches!(o, Output::Transport(Action::AddCandidate(Target::Publisher, c)) if c.candidate.starts_with("candidate:9 "))));
    // Candidates after the answer go out at once.
    let out = h.transport(TransportEvent::Candidate(Target::Publisher, candidate(2)));
    assert_eq!(signals(&out).len(), 1);

    h.transport(TransportEvent::State(Target::Publisher, RTCPeerConnectionState::Connected));
    assert!(h.ready.try_recv().is_err(), "not ready with one transport up");
    h.transport(TransportEvent::State(Target::Subscriber, RTCPeerConnectionState::Connected));
    assert!(matches!(h.ready.try_recv(), Ok(Ok(()))));
    assert_eq!(h.session.state(), SessionState::Connected);
}

#[test]
fn one_offer_in_flight_changes_meanwhile_reoffer_after_the_answer_and_stale_answers_are_ignored() {
    let mut h = harness();
    h.session.start();
    h.drain();
    h.transport(TransportEvent::OfferReady(Ok(OFFER_SDP.into())));
    // An unpublish while offer 1 is outstanding: no second offer yet.
    h.session.negotiate_publisher();
    assert!(h.drain().is_empty());
    assert!(h.signal(Resp::Answer(answer(7))).is_empty(), "answer to an unknown offer ignored");
    assert_eq!(h.signal(Resp::Answer(answer(1))).len(), 1);
    let out = h.transport(TransportEvent::AnswerApplied(Ok(())));
    assert!(out.iter().any(is_create_offer), "the remembered change is offered now");
    let out = h.transport(TransportEvent::OfferReady(Ok(OFFER_SDP.into())));
    assert!(matches!(signals(&out)[..], [Req::Offer(sd)] if sd.id == 2));
}

#[test]
fn subscriber_offers_are_answered_with_their_id_and_queued_candidates_follow() {
    let mut h = harness();
    h.negotiated();
    assert!(h.signal(trickle_json(5, Target::Subscriber)).is_empty());
    let offer =
        proto::SessionDescription { r#type: "offer".into(), sdp: OFFER_SDP.into(), id: 4, ..Default::default() };
    let out = h.signal(Resp::Offer(offer));
    assert!(matches!(&out[..], [Output::Transport(Action::AnswerOffer { id: 4, .. })]));
    let out = h.transport(TransportEvent::SubscriberAnswer { id: 4, sdp: Ok(OFFER_SDP.into()) });
    assert!(matches!(&out[0], Output::Transport(Action::AddCandidate(Target::Subscriber, _))));
    assert!(matches!(signals(&out)[..], [Req::Answer(sd)] if sd.id == 4));
    // Our subscriber candidates carry the answer's first mid.
    let out = h.transport(TransportEvent::Candidate(Target::Subscriber, candidate(3)));
    assert!(
        matches!(signals(&out)[..], [Req::Trickle(t)] if t.target == Target::Subscriber as i32 && t.candidate_init.contains("\"sdpMid\":\"0\""))
    );
}

#[test]
fn a_failed_answer_or_transport_stops_the_session_and_fails_the_connect() {
    let mut h = harness();
    h.session.start();
    h.drain();
    let out = h.transport(TransportEvent::State(Target::Subscriber, RTCPeerConnectionState::Failed));
    assert!(matches!(&out[..], [Output::Stop(Stop::Remote(proto::DisconnectReason::ConnectionTimeout))]));
    assert!(matches!(h.ready.try_recv(), Ok(Err(EngineError::Rtc(_)))));
    assert_eq!(h.session.state(), SessionState::Disconnected);
    assert!(h.signal(Resp::Answer(answer(1))).is_empty(), "nothing is handled after the stop");
}

#[test]
fn pings_go_out_on_time_and_silence_past_the_timeout_ends_the_session() {
    let mut h = harness();
    h.negotiated();
    let out = h.advance(Duration::ZERO);
    assert!(matches!(signals(&out)[..], [Req::PingReq(_)]), "a ping right away");
    assert_eq!(h.session.poll_timeout(), Some(h.now + Duration::from_secs(5)));
    assert!(h.advance(Duration::from_secs(4)).is_empty());
    assert!(matches!(signals(&h.advance(Duration::from_secs(1)))[..], [Req::PingReq(_)]));
    // The server answers: the timeout restarts from there.
    h.signal(Resp::Pong(0));
    let out = h.advance(Duration::from_secs(14));
    assert!(!out.iter().any(|o| matches!(o, Output::Stop(_))));
    // 15 s of silence since the last message (not only at a ping tick) ends it.
    let later = h.advance(Duration::from_millis(1_001));
    assert!(later.iter().any(|o| matches!(o, Output::Stop(Stop::Remote(proto::DisconnectReason::SignalClose)))));
}

#[test]
fn metadata_updates_resolve_on_the_matching_response_or_time_out() {
    let mut h = harness();
    h.negotiated();
    let (tx1, mut rx1) = oneshot::channel();
    let (tx2, mut rx2) = oneshot::channel();
    let update = proto::UpdateParticipantMetadata { metadata: "m".into(), ..Default::default() };
    let out = h.input(Input::Command(Command::UpdateMetadata { update: update.clone(), done: tx1 }));
    let id = match signals(&out)[..] {
        [Req::UpdateMetadata(u)] => u.request_id,
        _ => panic!("expected the update"),
    };
    h.input(Input::Command(Command::UpdateMetadata { update, done: tx2 }));
    h.signal(Resp::RequestResponse(proto::RequestResponse {
        request_id: id,
        reason: proto::request_response::Reason::Ok as i32,
        ..Default::default()
    }));
    assert!(matches!(rx1.try_recv(), Ok(Ok(()))));
    assert!(rx2.try_recv().is_err(), "the second is still waiting");
    h.advance(Duration::from_secs(5));
    assert!(matches!(rx2.try_recv(), Ok(Err(EngineError::Timeout { ms: 5000, .. }))));
}

#[test]
fn a_participant_leaving_unpublishes_its_tracks_before_it_disconnects() {
    let mut h = harness();
    h.negotiated();
    let mut alice = participant("PA_a", "alice");
    alice.tracks = vec![proto::TrackInfo { sid: "TR_1".into(), name: "mic".into(), ..Default::default() }];
    let evs = events(h.signal(Resp::Update(proto::ParticipantUpdate { participants: vec![alice.clone()] })));
    assert!(matches!(&evs[..], [RoomEvent::ParticipantConnected { .. }, RoomEvent::TrackPublished { .. }]));
    alice.state = proto::participant_info::State::Disconnected as i32;
    alice.version = 2;
    let evs = events(h.signal(Resp::Update(proto::ParticipantUpdate { participants: vec![alice] })));
    assert!(matches!(&evs[..], [RoomEvent::TrackUnpublished { .. }, RoomEvent::ParticipantDisconnected { .. }]));
    assert!(h.session.shared.remotes.lock().is_empty());
}

#[test]
fn rpc_ids_come_from_the_injected_generator_and_a_send_failure_forgets_the_call() {
    let run = || {
        let mut h = harness();
        h.negotiated();
        let (ack, _ack_rx) = oneshot::channel();
        let (response, _resp_rx) = oneshot::channel();
        let (sent, _sent_rx) = oneshot::channel();
        let call = crate::rpc::RpcCall {
            destination_identity: "alice".into(),
            method: "m".into(),
            payload: "p".into(),
            response_timeout: Duration::from_secs(10),
        };
        let out = h.input(Input::Command(Command::PerformRpc { call, ack, response, sent }));
        let id = match &out[..] {
            [Output::Data { sent: Sent::Rpc { id, .. }, kind: DataKind::Reliable, .. }] => id.clone(),
            _ => panic!("expected the request on the reliable channel"),
        };
        assert_eq!(h.session.rpc_calls.len(), 1);
        h.input(Input::RpcNotSent(id.clone()));
        assert!(h.session.rpc_calls.is_empty());
        id
    };
    assert_eq!(run(), run(), "same seed, same id");
}

#[test]
fn oversized_data_is_refused_before_it_is_queued() {
    let mut h = harness();
    h.negotiated();
    let (done, mut rx) = oneshot::channel();
    let options = DataOptions { reliable: true, ..Default::default() };
    let out = h.input(Input::Command(Command::PublishData { payload: vec![0; 70_000], options, done }));
    assert!(out.is_empty());
    assert!(matches!(rx.try_recv(), Ok(Err(EngineError::Send(crate::error::SendError::TooLarge { .. })))));
}

#[test]
fn a_server_leave_stops_with_its_reason_and_finish_emits_the_last_events() {
    let mut h = harness();
    h.negotiated();
    let leave = proto::LeaveRequest { reason: proto::DisconnectReason::RoomDeleted as i32, ..Default::default() };
    let out = h.signal(Resp::Leave(leave));
    assert!(matches!(&out[..], [Output::Stop(Stop::Remote(proto::DisconnectReason::RoomDeleted))]));
    h.session.finish(proto::DisconnectReason::RoomDeleted);
    let evs = events(h.drain());
    assert!(matches!(
        &evs[..],
        [
            RoomEvent::ConnectionStateChanged { state: ConnectionState::Disconnected },
            RoomEvent::Disconnected { reason: proto::DisconnectReason::RoomDeleted }
        ]
    ));
    assert_eq!(h.session.poll_timeout(), None);
}

fn publish(h: &mut Harness) -> (crate::media::LocalTrack, oneshot::Receiver<Result<String>>, String) {
    let source = crate::audio::AudioSource::new(48_000, 1, 1_000).unwrap();
    let track = crate::audio::LocalAudioTrack::new("mic", &source).unwrap();
    let (done, rx) = oneshot::channel();
    let options = crate::types::PublishOptions::default();
    let track = crate::media::LocalTrack::clone(&track);
    let out = h.input(Input::Command(Command::PublishTrack { track: track.clone(), options, done }));
    let cid = match signals(&out)[..] {
        [Req::AddTrack(req)] => {
            assert_eq!((req.name.as_str(), req.r#type), ("mic", proto::TrackType::Audio as i32));
            req.cid.clone()
        }
        _ => panic!("expected AddTrack"),
    };
    (track, rx, cid)
}

#[test]
fn publishing_waits_for_the_server_then_adds_a_transceiver_and_times_out_otherwise() {
    let mut h = harness();
    h.negotiated();
    let (track, mut rx, cid) = publish(&mut h);
    // The same track again while pending is refused.
    let (again, mut again_rx) = oneshot::channel();
    let options = crate::types::PublishOptions::default();
    h.input(Input::Command(Command::PublishTrack { track, options, done: again }));
    assert!(matches!(again_rx.try_recv(), Ok(Err(EngineError::Publish(crate::error::PublishError::AlreadyPublished)))));
    let info = proto::TrackInfo { sid: "TR_x".into(), name: "mic".into(), ..Default::default() };
    let published = proto::TrackPublishedResponse { cid: cid.clone(), track: Some(info) };
    let out = h.signal(Resp::TrackPublished(published.clone()));
    assert!(matches!(&out[..], [Output::Transport(Action::AddTransceiver { cid: c, .. })] if *c == cid));
    assert!(h.signal(Resp::TrackPublished(published)).is_empty(), "a repeated answer adds nothing");
    let out = h.transport(TransportEvent::TransceiverAdded { cid, sender: Err(EngineError::rtc("no")) });
    assert!(out.is_empty());
    assert!(matches!(rx.try_recv(), Ok(Err(EngineError::Rtc(_)))));

    // A server that never answers: the publish fails after PUBLISH_TIMEOUT.
    let (_track, mut rx, _cid) = publish(&mut h);
    h.advance(Duration::from_secs(9));
    assert!(rx.try_recv().is_err());
    h.advance(Duration::from_secs(1));
    assert!(matches!(rx.try_recv(), Ok(Err(EngineError::Timeout { ms: 10_000, .. }))));
    // A refusal by the server reaches the caller as `Rejected`.
    let (_track, mut rx, cid) = publish(&mut h);
    let refusal = proto::RequestResponse {
        message: "no".into(),
        request: Some(proto::request_response::Request::AddTrack(proto::AddTrackRequest { cid, ..Default::default() })),
        ..Default::default()
    };
    h.signal(Resp::RequestResponse(refusal));
    assert!(matches!(rx.try_recv(), Ok(Err(EngineError::Publish(crate::error::PublishError::Rejected(_))))));
    assert!(h
        .input(Input::Command(Command::UnpublishTrack { sid: "TR_none".into(), done: oneshot::channel().0 }))
        .is_empty());
}

// ---------------------------------------------------------------------------------------
// Reconnection

impl Harness {
    /// Negotiated and both peer connections up: connected.
    fn connected(&mut self) {
        self.negotiated();
        self.transport(TransportEvent::State(Target::Publisher, RTCPeerConnectionState::Connected));
        self.transport(TransportEvent::State(Target::Subscriber, RTCPeerConnectionState::Connected));
        assert_eq!(self.session.state(), SessionState::Connected);
    }
    fn publish(&mut self, payload: &[u8], reliable: bool) -> (Vec<Output>, oneshot::Receiver<Result<()>>) {
        let (done, rx) = oneshot::channel();
        let options = DataOptions { reliable, ..Default::default() };
        (self.input(Input::Command(Command::PublishData { payload: payload.to_vec(), options, done })), rx)
    }
}

fn attempt(out: &[Output]) -> Option<(bool, Duration)> {
    out.iter().find_map(|o| if let Output::Reconnect(a) = o { Some((a.full, a.delay)) } else { None })
}

fn data_payloads(out: &[Output]) -> Vec<(u32, Vec<u8>)> {
    use prost::Message as _;
    out.iter()
        .filter_map(|o| match o {
            Output::Data { bytes, .. } => {
                let p = proto::DataPacket::decode(&bytes[..]).unwrap();
                match p.value {
                    Some(proto::data_packet::Value::User(u)) => Some((p.sequence, u.payload)),
                    _ => None,
                }
            }
            _ => None,
        })
        .collect()
}

#[test]
fn a_lost_signal_starts_a_resume_at_once_and_reports_reconnecting() {
    let mut h = harness();
    h.connected();
    let out = h.input(Input::SignalLost);
    assert_eq!(attempt(&out), Some((false, Duration::ZERO)));
    let evs = events(out);
    assert!(matches!(
        &evs[..],
        [RoomEvent::ConnectionStateChanged { state: ConnectionState::Reconnecting }, RoomEvent::Reconnecting]
    ));
    assert_eq!(h.session.state(), SessionState::Resuming);
    assert_eq!(*h.session.shared.state.lock(), ConnectionState::Reconnecting);
    // A second loss while the attempt runs starts nothing (never two reconnects at once).
    assert!(h.input(Input::SignalLost).is_empty());
    assert!(h.advance(Duration::from_secs(60)).iter().all(|o| !matches!(o, Output::Reconnect(_))));
}

#[test]
fn an_unreachable_server_is_resumed_again_and_a_refused_resume_falls_back_to_a_full_reconnect() {
    let mut h = harness();
    h.connected();
    h.input(Input::SignalLost);
    let unreachable = Input::ReconnectFailed { error: EngineError::Disconnected, refused: false };
    assert_eq!(attempt(&h.input(unreachable)), Some((false, Duration::from_millis(300))));
    assert_eq!(h.session.state(), SessionState::Resuming);
    let refused = Input::ReconnectFailed { error: EngineError::Rejected("leave".into()), refused: true };
    let (full, delay) = attempt(&h.input(refused)).unwrap();
    assert!(full && delay == Duration::ZERO, "a refused resume rejoins at once");
    assert_eq!(h.session.state(), SessionState::Reconnecting);
    let mut attempts = 2;
    loop {
        h.now += Duration::from_secs(8);
        let out = h.input(Input::ReconnectFailed { error: EngineError::Disconnected, refused: false });
        if let Some((full, _)) = attempt(&out) {
            assert!(full);
            attempts += 1;
            continue;
        }
        assert!(matches!(&out[..], [Output::Stop(Stop::Remote(proto::DisconnectReason::SignalClose))]));
        break;
    }
    assert!((2..=10).contains(&attempts), "{attempts} attempts");
}

#[test]
fn server_leave_actions_resume_rejoin_or_end() {
    use proto::leave_request::Action as A;
    for (action, want) in [(A::Resume, Some(false)), (A::Reconnect, Some(true)), (A::Disconnect, None)] {
        let mut h = harness();
        h.connected();
        let leave = proto::LeaveRequest { action: action as i32, ..Default::default() };
        let out = h.signal(Resp::Leave(leave));
        assert_eq!(attempt(&out).map(|a| a.0), want, "{action:?}");
        assert_eq!(out.iter().any(|o| matches!(o, Output::Stop(_))), want.is_none());
    }
}

#[test]
fn a_peer_connection_disconnected_past_the_grace_or_failed_reconnects() {
    let mut h = harness();
    h.connected();
    h.transport(TransportEvent::State(Target::Subscriber, RTCPeerConnectionState::Disconnected));
    assert!(attempt(&h.advance(Duration::from_secs(2))).is_none(), "within the grace");
    assert_eq!(attempt(&h.advance(Duration::from_secs(1))), Some((false, Duration::ZERO)));

    let mut h = harness();
    h.connected();
    let out = h.transport(TransportEvent::State(Target::Publisher, RTCPeerConnectionState::Failed));
    assert_eq!(attempt(&out), Some((false, Duration::ZERO)));
}

#[test]
fn a_frozen_server_is_noticed_at_its_ping_timeout() {
    let mut h = harness();
    h.connected();
    h.signal(Resp::Pong(0));
    assert!(attempt(&h.advance(Duration::from_millis(14_999))).is_none());
    assert_eq!(h.session.poll_timeout().map(|t| t <= h.now + Duration::from_millis(1)), Some(true));
    assert!(attempt(&h.advance(Duration::from_millis(1))).is_some());
}

#[test]
fn a_resume_resends_what_the_server_missed_then_what_was_held_in_order() {
    let mut h = harness();
    h.connected();
    for n in 1..=3u8 {
        let (out, _) = h.publish(&[n], true);
        assert_eq!(data_payloads(&out), vec![(n as u32, vec![n])]);
    }
    h.input(Input::SignalLost);
    let (out, mut held) = h.publish(&[4], true);
    assert!(out.is_empty(), "held while reconnecting");
    let (out, mut lossy) = h.publish(&[9], false);
    assert!(out.is_empty());
    let err = lossy.try_recv().unwrap().unwrap_err();
    assert_eq!(err.code(), "ERR_INVALID_STATE", "lossy is refused, not reported as sent");
    // The server had received up to 2: the ICE restart, then 3 again, then 4.
    let resp = proto::ReconnectResponse { last_message_seq: 2, ..Default::default() };
    let out = h.input(Input::Reconnected(Rejoined::Resumed(resp)));
    assert!(matches!(&out[0], Output::Transport(Action::CreateOffer { ice_restart: true })));
    assert!(signals(&out).iter().any(|m| matches!(m, Req::SyncState(_))));
    h.transport(TransportEvent::OfferReady(Ok(OFFER_SDP.into())));
    h.signal(Resp::Answer(answer(2)));
    let out = h.transport(TransportEvent::AnswerApplied(Ok(())));
    assert_eq!(data_payloads(&out), vec![(3, vec![3]), (4, vec![4])]);
    let evs = events(out);
    assert!(matches!(
        &evs[..],
        [RoomEvent::ConnectionStateChanged { state: ConnectionState::Connected }, RoomEvent::Reconnected]
    ));
    assert_eq!(h.session.state(), SessionState::Connected);
    assert!(held.try_recv().is_err(), "the held packet's caller hears when it is sent");
}

#[test]
fn the_held_queue_is_bounded_and_a_disconnect_answers_everyone() {
    let mut h = harness();
    h.connected();
    h.input(Input::SignalLost);
    let mut waiting = Vec::new();
    for _ in 0..reconnect::MAX_HELD_PACKETS {
        waiting.push(h.publish(b"x", true).1);
    }
    let (_, mut full) = h.publish(b"x", true);
    let err = full.try_recv().unwrap().unwrap_err();
    assert!(err.to_string().contains("queue"), "{err}");
    let (done, _) = oneshot::channel();
    let out = h.input(Input::Command(Command::Disconnect { done }));
    assert!(matches!(&out[..], [Output::Stop(Stop::Local(_))]));
    h.session.finish(proto::DisconnectReason::ClientInitiated);
    for mut w in waiting {
        assert!(matches!(w.try_recv(), Ok(Err(EngineError::Disconnected))));
    }
}

#[test]
fn a_rejoin_keeps_who_stayed_by_identity_and_lets_the_others_leave() {
    let mut h = harness();
    h.connected();
    h.signal(Resp::Update(proto::ParticipantUpdate {
        participants: vec![participant("PA_a", "alice"), participant("PA_b", "bob")],
    }));
    let alice = h.session.shared.remotes.lock()[0].clone();
    h.input(Input::Command(Command::Simulate { scenario: 7, done: oneshot::channel().0 }));
    assert_eq!(h.session.state(), SessionState::Reconnecting);
    let join = proto::JoinResponse {
        participant: Some(participant("PA_me2", "me")),
        room: Some(proto::Room { sid: "RM_2".into(), name: "r".into(), ..Default::default() }),
        other_participants: vec![participant("PA_a2", "alice")],
        ping_interval: 5,
        ping_timeout: 15,
        ..Default::default()
    };
    let ice = h.session.config.ice.clone();
    let out = h.input(Input::Reconnected(Rejoined::Joined(Box::new(join), ice)));
    let evs = events(out);
    assert!(evs
        .iter()
        .any(|e| matches!(e, RoomEvent::ParticipantDisconnected { participant } if participant.identity() == "bob")));
    assert!(!evs.iter().any(|e| matches!(e, RoomEvent::ParticipantConnected { .. })), "alice stayed");
    assert_eq!(h.session.shared.local.sid(), "PA_me2");
    assert!(h.session.shared.remotes.lock()[0].id() == alice.id(), "the same object");
    assert_eq!(alice.sid(), "PA_a2", "under the sid of the new session");
    // Not reconnected before the new peer connections are up.
    assert_eq!(h.session.state(), SessionState::Reconnecting);
    h.transport(TransportEvent::State(Target::Publisher, RTCPeerConnectionState::Connected));
    let out = h.transport(TransportEvent::State(Target::Subscriber, RTCPeerConnectionState::Connected));
    assert!(events(out).iter().any(|e| matches!(e, RoomEvent::Reconnected)));
}

#[test]
fn simulate_rejects_unknown_scenarios_and_forwards_server_ones() {
    let mut h = harness();
    h.connected();
    let (done, mut rx) = oneshot::channel();
    h.input(Input::Command(Command::Simulate { scenario: 42, done }));
    assert_eq!(rx.try_recv().unwrap().unwrap_err().code(), "ERR_INVALID_ARG");
    let (done, mut rx) = oneshot::channel();
    let out = h.input(Input::Command(Command::Simulate { scenario: 3, done }));
    assert!(rx.try_recv().unwrap().is_ok());
    assert!(matches!(signals(&out)[..], [Req::Simulate(_)]));
}

#[test]
fn reliable_packets_seen_twice_from_a_sender_are_delivered_once() {
    use prost::Message as _;
    let mut h = harness();
    h.connected();
    h.signal(Resp::Update(proto::ParticipantUpdate { participants: vec![participant("PA_a", "alice")] }));
    let packet = |seq: u32| {
        proto::DataPacket {
            participant_identity: "alice".into(),
            participant_sid: "PA_a".into(),
            sequence: seq,
            value: Some(proto::data_packet::Value::User(proto::UserPacket {
                payload: vec![seq as u8],
                ..Default::default()
            })),
            ..Default::default()
        }
        .encode_to_vec()
    };
    let mut got = Vec::new();
    for seq in [1, 2, 2, 1, 3] {
        for e in events(h.input(Input::Data(DataKind::Reliable, packet(seq).as_slice().into()))) {
            if let RoomEvent::DataReceived { payload, .. } = e {
                got.push(payload[0]);
            }
        }
    }
    assert_eq!(got, vec![1, 2, 3]);
}
