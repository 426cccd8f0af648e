//! The session core: LiveKit's client protocol as a plain state machine, with no IO.
//!
//! It is fed `(now, input)` — a signal message, a transport event, a command from a
//! handle, a data-channel message — and a timer (`handle_timeout(now)` once
//! [`Session::poll_timeout`] is reached). It answers with [`Output`]s, drained with
//! [`Session::poll_output`]: signal messages to send, actions on the peer connections,
//! data packets, room events, and finally `Stop`. The async driver (`room::driver`) owns
//! the socket, the peer connections and the clock; nothing here awaits, sleeps or reads the
//! time, so every path is unit-tested with plain values (`core::tests`). Randomness (RPC
//! request ids) comes from an injected generator.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use livekit_protocol as proto;
use proto::signal_request::Message as Req;
use proto::signal_response::Message as Resp;
use rand::RngCore;
use tokio::sync::oneshot;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{RTCIceCandidateInit, RTCPeerConnectionState};
use webrtc::rtp_transceiver::RtpSender;

use super::{Command, Shared};
use crate::error::{EngineError, Result};
use crate::events::RoomEvent;
use crate::ice::IcePlan;
use crate::media::LocalTrack;
use crate::pc::Target;
use crate::rpc::RpcError;
use crate::streams::Incoming;
use crate::types::{ConnectionState, DataKind};
use lkrtc_transport::Negotiation;

mod commands;
mod data;
mod e2ee;
mod publish;
mod reconnect;
mod signal;
mod state;
#[cfg(test)]
mod tests;
mod updates;

pub(crate) use reconnect::{Attempt, Rejoined};

/// How long a request waits for the server's confirmation.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How long publishing waits for the server to accept a track.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(10);
/// Remote candidates kept per peer connection before its remote description is set.
const MAX_PENDING_CANDIDATES: usize = 256;
/// How long a peer connection may stay `Disconnected` before the session reconnects.
const PC_DISCONNECTED_GRACE: Duration = Duration::from_secs(3);

/// Where the session is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SessionState {
    /// Joined on the signal connection; the peer connections are being established.
    Joining,
    /// Both peer connections are up.
    Connected,
    /// The signal connection is being resumed with the same participant.
    Resuming,
    /// The session is being rebuilt from a fresh join.
    Reconnecting,
    /// Stopped; only `finish` remains.
    Disconnected,
}

/// What the driver feeds in.
pub(crate) enum Input {
    /// A message from the server.
    Signal(Box<Resp>),
    /// The signal connection closed or failed.
    SignalLost,
    /// Something from a peer connection.
    Transport(TransportEvent),
    /// A call from a handle (participant, publication, room).
    Command(Command),
    /// A message on one of the subscriber's data channels.
    Data(DataKind, BytesMut),
    /// An RPC request could not be sent (its call is forgotten).
    RpcNotSent(String),
    /// A reconnect attempt ([`Output::Reconnect`]) set up its connections.
    Reconnected(Rejoined),
    /// A reconnect attempt failed (`refused`: the server declined to resume).
    ReconnectFailed { error: EngineError, refused: bool },
}

/// Peer-connection events, and the results of the actions the core asked for.
pub(crate) enum TransportEvent {
    /// A local candidate the ICE policy lets us signal.
    Candidate(Target, RTCIceCandidateInit),
    /// Gathering finished with this many relay candidates.
    Gathered { target: Target, relay: u32 },
    /// Connection state changed.
    State(Target, RTCPeerConnectionState),
    /// Remote media arrived; `stream_id` is LiveKit's `PA_…|TR_…`.
    Track { stream_id: String, rtp: Arc<dyn TrackRemote> },
    /// [`Action::CreateOffer`] done: the publisher's local offer.
    OfferReady(Result<String>),
    /// [`Action::ApplyAnswer`] done.
    AnswerApplied(Result<()>),
    /// [`Action::AnswerOffer`] done: the subscriber's local answer to offer `id`.
    SubscriberAnswer { id: u32, sdp: Result<String> },
    /// [`Action::AddTransceiver`] done.
    TransceiverAdded { cid: String, sender: Result<Arc<dyn RtpSender>> },
}

/// What a peer connection should do.
pub(crate) enum Action {
    /// Publisher: create an offer (restarting ICE if asked) and set it locally; report
    /// [`TransportEvent::OfferReady`].
    CreateOffer { ice_restart: bool },
    /// Publisher: set the server's answer; report [`TransportEvent::AnswerApplied`].
    ApplyAnswer(String),
    /// Subscriber: set the server's offer, answer it; report [`TransportEvent::SubscriberAnswer`].
    AnswerOffer { sdp: String, id: u32 },
    /// Add a remote candidate.
    AddCandidate(Target, RTCIceCandidateInit),
    /// Publisher: a send-only transceiver for the track; report [`TransportEvent::TransceiverAdded`].
    AddTransceiver { cid: String, track: LocalTrack },
    /// Publisher: stop sending a track.
    RemoveSender(Arc<dyn RtpSender>),
}

/// Who hears about a data packet's fate.
pub(crate) enum Sent {
    Nobody,
    Reply(oneshot::Sender<Result<()>>),
    /// An RPC request: the caller learns it was sent; a failure also reaches the core
    /// ([`Input::RpcNotSent`]).
    Rpc {
        id: String,
        sent: oneshot::Sender<std::result::Result<(), RpcError>>,
    },
}

/// Why the session stops.
pub(crate) enum Stop {
    /// The app left; reply on `done` once everything is torn down.
    Local(oneshot::Sender<()>),
    /// The server, the network or a protocol failure ended it.
    Remote(proto::DisconnectReason),
}

/// What the driver must do, in order.
pub(crate) enum Output {
    /// Send on the signal connection.
    Signal(Box<Req>),
    /// Act on a peer connection.
    Transport(Action),
    /// Send on the publisher's data channel of `kind` (waiting, bounded, for it to open).
    Data { kind: DataKind, bytes: Vec<u8>, sent: Sent },
    /// Emit to the app.
    Event(RoomEvent),
    /// Gather statistics of both peer connections.
    Stats(oneshot::Sender<crate::stats::RtcStats>),
    /// Drop the signal connection (and, if `full`, the peer connections) and carry out the
    /// attempt; report [`Input::Reconnected`] or [`Input::ReconnectFailed`].
    Reconnect(Attempt),
    /// Tear down: leave (if local), close the socket and peer connections, then call
    /// [`Session::finish`].
    Stop(Stop),
}

/// A call we made, waiting for its acknowledgement and response.
pub(crate) struct PendingCall {
    pub destination: String,
    pub ack: Option<oneshot::Sender<()>>,
    pub response: oneshot::Sender<std::result::Result<String, RpcError>>,
}

/// A track announced with `AddTrack`, waiting for the server's `TrackPublished`.
struct PendingPublish {
    track: LocalTrack,
    done: oneshot::Sender<Result<String>>,
    deadline: Instant,
    /// Set once the server accepted: the transceiver is being added.
    accepted: Option<proto::TrackInfo>,
    /// After a rejoin: the publication this publish renews.
    republish: Option<crate::objects::LocalTrackPublication>,
}

/// A request confirmed by `RequestResponse`.
struct PendingRequest {
    done: oneshot::Sender<Result<()>>,
    deadline: Instant,
}

/// Keep-alive: a ping every `interval`; silence longer than `timeout` ends the session.
struct Keepalive {
    interval: Duration,
    timeout: Duration,
    last_recv: Instant,
    next_ping: Instant,
}

/// Settings from the join and the app's options.
pub(crate) struct SessionConfig {
    pub ice: IcePlan,
    pub ping_interval: Duration,
    pub ping_timeout: Duration,
    pub auto_subscribe: bool,
    pub max_stream_bytes: Option<u64>,
}

/// One participant's session in a room.
pub(crate) struct Session {
    shared: Arc<Shared>,
    state: SessionState,
    out: VecDeque<Output>,
    config: SessionConfig,
    publisher: Negotiation<RTCIceCandidateInit>,
    subscriber: Negotiation<RTCIceCandidateInit>,
    /// Our publisher candidates gathered before the server's first answer: until our ICE
    /// agent runs as the controlling side, a check from the server would meet an agent
    /// that still thinks it is controlled, and the role conflict costs the pair ~1 s.
    held_candidates: Vec<RTCIceCandidateInit>,
    pub_connected: bool,
    sub_connected: bool,
    ready: Option<oneshot::Sender<Result<()>>>,
    requests: HashMap<u32, PendingRequest>,
    next_request: u32,
    sequence: u32,
    pending_publishes: HashMap<String, PendingPublish>,
    /// Media that arrived before its publication was known, by track sid.
    unmatched_tracks: HashMap<String, Arc<dyn TrackRemote>>,
    keepalive: Keepalive,
    /// Active speakers by participant sid, with their level.
    speakers: Vec<(String, f32)>,
    /// RPC calls we made, by request id.
    rpc_calls: HashMap<String, PendingCall>,
    /// RPC calls to us awaiting the app's answer: request id → caller identity.
    rpc_invocations: HashMap<String, String>,
    /// Streams being received, by stream id.
    incoming: HashMap<String, Incoming>,
    /// Last reported encryption status by participant sid.
    encryption_status: HashMap<String, bool>,
    rng: Box<dyn RngCore + Send>,
    /// Reconnection: the retry schedule, why the connection was lost, whether the driver is
    /// running an attempt, when the attempt set up must be done by.
    backoff: reconnect::Backoff,
    lost_reason: proto::DisconnectReason,
    attempting: bool,
    attempt_deadline: Option<Instant>,
    /// The next reconnect skips the resume (simulated full reconnect).
    force_full: bool,
    /// A resume's publisher ICE restart waits for its answer.
    restart_pending: bool,
    /// Since when a peer connection has been `Disconnected`.
    pc_down_since: Option<Instant>,
    /// Reliable packets sent, for a resume; those to send again after it; those held while
    /// reconnecting; sequence numbers seen per sender.
    sent: reconnect::SentBuffer,
    resend: Vec<Vec<u8>>,
    held: reconnect::Held,
    dedupe: reconnect::Dedupe,
}

impl Session {
    /// A session that has just joined; `ready` resolves once both peer connections are
    /// up (or with the reason they will not be).
    pub(crate) fn new(
        shared: Arc<Shared>,
        config: SessionConfig,
        ready: oneshot::Sender<Result<()>>,
        now: Instant,
        rng: Box<dyn RngCore + Send>,
    ) -> Self {
        let keepalive =
            Keepalive { interval: config.ping_interval, timeout: config.ping_timeout, last_recv: now, next_ping: now };
        Session {
            shared,
            state: SessionState::Joining,
            out: VecDeque::new(),
            config,
            publisher: Negotiation::new(MAX_PENDING_CANDIDATES),
            subscriber: Negotiation::new(MAX_PENDING_CANDIDATES),
            held_candidates: Vec::new(),
            pub_connected: false,
            sub_connected: false,
            ready: Some(ready),
            requests: HashMap::new(),
            next_request: 1,
            sequence: 0,
            pending_publishes: HashMap::new(),
            unmatched_tracks: HashMap::new(),
            keepalive,
            speakers: Vec::new(),
            rpc_calls: HashMap::new(),
            rpc_invocations: HashMap::new(),
            incoming: HashMap::new(),
            encryption_status: HashMap::new(),
            rng,
            backoff: reconnect::Backoff::new(now),
            lost_reason: proto::DisconnectReason::UnknownReason,
            attempting: false,
            attempt_deadline: None,
            force_full: false,
            restart_pending: false,
            pc_down_since: None,
            sent: Default::default(),
            resend: Vec::new(),
            held: Default::default(),
            dedupe: Default::default(),
        }
    }

    /// A session with no connections behind it, joined as `me` (`PA_me`) to an empty room,
    /// pinging every 5 s with a 15 s timeout, RPC ids from `seed`: for the unit tests and
    /// the fuzz targets, which drive it with inputs alone. Also returns the connect's
    /// `ready` receiver and the queue the handles' commands would go to.
    pub(crate) fn detached(
        now: Instant,
        seed: u64,
    ) -> (Self, oneshot::Receiver<Result<()>>, tokio::sync::mpsc::UnboundedReceiver<Command>) {
        use rand::SeedableRng;
        let me = proto::ParticipantInfo {
            sid: "PA_me".into(),
            identity: "me".into(),
            state: proto::participant_info::State::Active as i32,
            ..Default::default()
        };
        let join = proto::JoinResponse { participant: Some(me), ..Default::default() };
        let (cmd, commands) = tokio::sync::mpsc::unbounded_channel();
        let shared = super::connect::shared_state(&join, "token", &crate::types::ConnectOptions::default(), cmd);
        let config = SessionConfig {
            ice: IcePlan {
                servers: Vec::new(),
                policy: crate::types::IceTransportPolicy::All,
                unusable_turn: Vec::new(),
                stream_turn: Vec::new(),
                turn_urls: Vec::new(),
            },
            ping_interval: Duration::from_secs(5),
            ping_timeout: Duration::from_secs(15),
            auto_subscribe: true,
            max_stream_bytes: None,
        };
        let (ready_tx, ready) = oneshot::channel();
        let rng = Box::new(rand::rngs::StdRng::seed_from_u64(seed));
        (Self::new(shared, config, ready_tx, now, rng), ready, commands)
    }

    /// Starts the session: the first publisher offer (it carries the data channels).
    pub(crate) fn start(&mut self) {
        self.negotiate_publisher();
        self.emit(RoomEvent::ConnectionStateChanged { state: ConnectionState::Connected });
    }

    /// Where the session is.
    #[cfg_attr(not(test), allow(dead_code))] // read by the tests
    pub(crate) fn state(&self) -> SessionState {
        self.state
    }

    /// The newest access token (a reconnect uses it).
    pub(crate) fn token(&self) -> String {
        self.shared.token.lock().clone()
    }

    /// Our participant sid (a resume names it).
    pub(crate) fn local_sid(&self) -> String {
        self.shared.local.sid()
    }

    /// The next output, in order.
    pub(crate) fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When [`Session::handle_timeout`] must next be called.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        if self.state == SessionState::Disconnected {
            return None;
        }
        let k = &self.keepalive;
        // While an attempt runs there is no signal connection to keep alive.
        let keepalive = (!self.attempting).then(|| k.next_ping.min(k.last_recv + k.timeout));
        let down = self.pc_down_since.map(|since| since + PC_DISCONNECTED_GRACE);
        let requests = self.requests.values().map(|r| r.deadline);
        let publishes = self.pending_publishes.values().map(|p| p.deadline);
        keepalive.into_iter().chain(self.attempt_deadline).chain(down).chain(requests).chain(publishes).min()
    }

    /// Feeds one input.
    pub(crate) fn handle_input(&mut self, now: Instant, input: Input) {
        if self.state == SessionState::Disconnected {
            return;
        }
        match input {
            Input::Signal(msg) => {
                self.keepalive.last_recv = now;
                self.on_signal(now, *msg);
            }
            Input::SignalLost => self.connection_lost(now, false, proto::DisconnectReason::SignalClose),
            Input::Transport(ev) => self.on_transport(now, ev),
            Input::Command(cmd) => self.on_command(now, cmd),
            Input::Data(kind, bytes) => self.on_data(kind, &bytes),
            Input::RpcNotSent(id) => {
                self.rpc_calls.remove(&id);
            }
            Input::Reconnected(rejoined) => self.on_rejoined(now, rejoined),
            Input::ReconnectFailed { error, refused } => self.on_reconnect_failed(now, error, refused),
        }
    }

    /// Timers: keep-alive pings, the ping timeout, request and publish deadlines.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        if self.state == SessionState::Disconnected {
            return;
        }
        self.check_attempt_deadline(now);
        if self.pc_down_since.is_some_and(|since| now >= since + PC_DISCONNECTED_GRACE) {
            self.pc_down_since = None;
            if self.state == SessionState::Connected {
                tracing::warn!("a peer connection stayed disconnected");
                self.connection_lost(now, false, proto::DisconnectReason::ConnectionTimeout);
            }
        }
        if !self.attempting && now.saturating_duration_since(self.keepalive.last_recv) >= self.keepalive.timeout {
            tracing::warn!("signal connection lost (ping timeout)");
            self.keepalive.last_recv = now;
            self.connection_lost(now, false, proto::DisconnectReason::SignalClose);
        }
        if self.state == SessionState::Disconnected {
            return;
        }
        if !self.attempting && now >= self.keepalive.next_ping {
            self.keepalive.next_ping = now + self.keepalive.interval;
            self.send(Req::PingReq(proto::Ping { timestamp: unix_ms(), rtt: 0 }));
        }
        let expired: Vec<u32> = self.requests.iter().filter(|(_, r)| r.deadline <= now).map(|(id, _)| *id).collect();
        for id in expired {
            if let Some(r) = self.requests.remove(&id) {
                let _ = r.done.send(Err(timeout("the server to confirm the update", REQUEST_TIMEOUT)));
            }
        }
        let expired: Vec<String> =
            self.pending_publishes.iter().filter(|(_, p)| p.deadline <= now).map(|(cid, _)| cid.clone()).collect();
        for cid in expired {
            if let Some(p) = self.pending_publishes.remove(&cid) {
                let _ = p.done.send(Err(timeout("the server to accept the track", PUBLISH_TIMEOUT)));
            }
        }
    }

    fn emit(&mut self, ev: RoomEvent) {
        let publications_changed = matches!(
            ev,
            RoomEvent::TrackPublished { .. }
                | RoomEvent::TrackUnpublished { .. }
                | RoomEvent::LocalTrackPublished { .. }
                | RoomEvent::LocalTrackUnpublished { .. }
                | RoomEvent::ParticipantDisconnected { .. }
        );
        let status = if publications_changed { self.encryption_status_change(&ev) } else { None };
        self.out.push_back(Output::Event(ev));
        if let Some(status) = status {
            self.out.push_back(Output::Event(status));
        }
    }

    fn send(&mut self, msg: Req) {
        self.out.push_back(Output::Signal(Box::new(msg)));
    }

    fn act(&mut self, action: Action) {
        self.out.push_back(Output::Transport(action));
    }

    fn stop(&mut self, stop: Stop) {
        if self.state != SessionState::Disconnected {
            self.state = SessionState::Disconnected;
            self.out.push_back(Output::Stop(stop));
        }
    }

    fn fail_ready(&mut self, e: EngineError) {
        if let Some(r) = self.ready.take() {
            let _ = r.send(Err(e));
        }
    }

    /// Connected once both peer connections are; data sent before the data channels
    /// open waits for them (bounded), so they are not part of the wait.
    fn check_ready(&mut self) {
        if self.pub_connected && self.sub_connected && self.state == SessionState::Joining {
            self.state = SessionState::Connected;
            if let Some(r) = self.ready.take() {
                let _ = r.send(Ok(()));
            }
        }
        self.check_reconnected();
    }

    /// After the driver tore the connections down: the room lets go of everything it
    /// held, callers' pending operations fail, and the last events are emitted
    /// (`ConnectionStateChanged(Disconnected)`, then `Disconnected`).
    pub(crate) fn finish(&mut self, reason: proto::DisconnectReason) {
        self.state = SessionState::Disconnected;
        *self.shared.state.lock() = ConnectionState::Disconnected;
        self.fail_ready(EngineError::Disconnected);
        self.requests.clear();
        self.unmatched_tracks.clear();
        // The room no longer holds anyone; callers' handles are all that is left.
        let remotes = std::mem::take(&mut *self.shared.remotes.lock());
        for p in &remotes {
            for publication in p.0.publications.lock().drain(..) {
                if let Some(track) = publication.0.state.lock().track.take() {
                    track.end();
                }
            }
        }
        for publication in self.shared.local.0.publications.lock().drain(..) {
            *publication.0.sender.lock() = None;
            *publication.0.track.0.sid.lock() = None;
        }
        self.fail_held();
        self.rpc_calls.clear(); // callers see the room go (their channels close)
        self.rpc_invocations.clear();
        for (_, entry) in self.incoming.drain() {
            if let Some(r) = entry.reader.upgrade() {
                crate::streams::StreamReader(r).finish(Err("the room disconnected".into()));
            }
        }
        for (_, p) in self.pending_publishes.drain() {
            let _ = p.done.send(Err(EngineError::Disconnected));
        }
        self.emit(RoomEvent::ConnectionStateChanged { state: ConnectionState::Disconnected });
        self.emit(RoomEvent::Disconnected { reason });
    }

    /// Accepts text and byte streams on the empty topic (the fuzz targets' handlers).
    pub(crate) fn accept_streams_for_fuzzing(&self) {
        let mut topics = self.shared.stream_topics.lock();
        topics.insert((crate::streams::StreamKind::Text, String::new()));
        topics.insert((crate::streams::StreamKind::Bytes, String::new()));
    }

    /// Tells whoever waits for a packet that it was not sent.
    fn fail_sent(&mut self, sent: Sent, e: EngineError) {
        match sent {
            Sent::Nobody => {}
            Sent::Reply(done) => {
                let _ = done.send(Err(e));
            }
            Sent::Rpc { id, sent } => {
                self.rpc_calls.remove(&id);
                let why = e.to_string();
                let _ = sent.send(Err(RpcError::built_in(crate::rpc::RpcErrorCode::SendFailed, Some(&why))));
            }
        }
    }

    /// A fresh RPC / stream id from the injected generator.
    fn uuid(&mut self) -> String {
        let mut b = [0u8; 16];
        self.rng.fill_bytes(&mut b);
        crate::rpc::uuid_from_bytes(b)
    }
}

fn timeout(what: &'static str, bound: Duration) -> EngineError {
    EngineError::Timeout { what, ms: bound.as_millis() as u64 }
}

/// Wall-clock milliseconds for pings (the server echoes them; only used for RTT).
fn unix_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
