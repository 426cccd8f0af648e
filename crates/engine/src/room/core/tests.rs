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
    matches!(o, Output::Transport(Action::CreateOffer))
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
