//! `Room`: the public handle, and the task that owns the signal socket, both peer
//! connections and the room state. Everything that changes room state happens in that
//! one task, so events come out in the order things happened.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use livekit_protocol as proto;
use proto::signal_request::Message as Req;
use proto::signal_response::Message as Resp;
use tokio::sync::{mpsc, oneshot, watch};
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{PeerConnection, RTCIceCandidateInit, RTCPeerConnectionState, RTCSessionDescription};

use crate::audio::LocalAudioTrack;
use crate::error::{bounded, ConnectError, EngineError, PublishError, Result};
use crate::events::RoomEvent;
use crate::ice;
use crate::objects::{
    LocalParticipant, LocalTrackPublication, PublishOptions, RemoteParticipant, RemoteTrack, RemoteTrackPublication,
};
use crate::pc::{self, PcEvent, Target};
use crate::rpc::{RpcCall, RpcError};
use crate::signal::{self, Ws};
use crate::streams::{Incoming, StreamKind};
use crate::types::{ConnectionState, DataKind, DataOptions, RoomDetails};

mod connect;
mod data;
mod publish;
mod updates;

/// Largest data packet the engine sends (LiveKit clients cap SCTP messages at 64000).
pub const MAX_DATA_PACKET: usize = 64_000;
/// How long a request waits for the server's confirmation.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How long sending data waits for the publisher data channel to open.
const DC_OPEN_TIMEOUT: Duration = Duration::from_secs(10);
/// How long publishing waits for the server to accept a track.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(10);

/// Work for the room task.
pub(crate) enum Command {
    PublishData {
        payload: Vec<u8>,
        options: DataOptions,
        done: oneshot::Sender<Result<()>>,
    },
    UpdateMetadata {
        update: proto::UpdateParticipantMetadata,
        done: oneshot::Sender<Result<()>>,
    },
    SetSubscribed {
        publication: RemoteTrackPublication,
        subscribe: bool,
        done: oneshot::Sender<Result<()>>,
    },
    PublishTrack {
        track: LocalAudioTrack,
        options: PublishOptions,
        done: oneshot::Sender<Result<LocalTrackPublication>>,
    },
    UnpublishTrack {
        sid: String,
        done: oneshot::Sender<Result<()>>,
    },
    MuteTrack {
        sid: String,
        muted: bool,
        done: oneshot::Sender<Result<()>>,
    },
    SendPacket {
        value: proto::data_packet::Value,
        destinations: Vec<String>,
        done: oneshot::Sender<Result<()>>,
    },
    PerformRpc {
        call: RpcCall,
        ack: oneshot::Sender<()>,
        response: oneshot::Sender<std::result::Result<String, RpcError>>,
        sent: oneshot::Sender<std::result::Result<(), RpcError>>,
    },
    RespondRpc {
        request_id: String,
        result: std::result::Result<String, RpcError>,
    },
    Disconnect {
        done: oneshot::Sender<()>,
    },
    GetStats {
        done: oneshot::Sender<crate::stats::RtcStats>,
    },
}

/// A call we made, waiting for its acknowledgement and response.
pub(crate) struct PendingCall {
    pub destination: String,
    pub ack: Option<oneshot::Sender<()>>,
    pub response: oneshot::Sender<std::result::Result<String, RpcError>>,
}

/// State readable from any thread; written by the room task.
pub(crate) struct Shared {
    pub sid: Mutex<String>,
    pub name: Mutex<String>,
    /// The newest access token (the server refreshes it; reconnects use it).
    pub token: Mutex<String>,
    pub metadata: Mutex<String>,
    /// Counts, timeouts, recording, creation time (kept up to date from `RoomUpdate`).
    pub details: Mutex<RoomDetails>,
    pub state: Mutex<ConnectionState>,
    pub local: LocalParticipant,
    pub remotes: Mutex<Vec<RemoteParticipant>>,
    pub cmd: mpsc::UnboundedSender<Command>,
    /// Topics with a stream handler, by kind.
    pub stream_topics: Mutex<std::collections::HashSet<(StreamKind, String)>>,
}

/// A connected room. Cheap to clone; all clones are the same room.
#[derive(Clone)]
pub struct Room {
    shared: Arc<Shared>,
}

impl Room {
    /// Room sid (`RM_`).
    pub fn sid(&self) -> String {
        self.shared.sid.lock().clone()
    }
    /// Room name.
    pub fn name(&self) -> String {
        self.shared.name.lock().clone()
    }
    /// The newest access token: the one connected with, or a newer one the server sent.
    pub fn token(&self) -> String {
        self.shared.token.lock().clone()
    }
    /// Room metadata.
    pub fn metadata(&self) -> String {
        self.shared.metadata.lock().clone()
    }
    /// Creation time, participant and publisher counts, recording state and timeouts, as
    /// the server last reported them (join response, then every `RoomUpdate`).
    pub fn details(&self) -> RoomDetails {
        self.shared.details.lock().clone()
    }
    /// Connection state.
    pub fn connection_state(&self) -> ConnectionState {
        *self.shared.state.lock()
    }
    /// This client's participant.
    pub fn local_participant(&self) -> LocalParticipant {
        self.shared.local.clone()
    }
    /// Everyone else, in join order.
    pub fn remote_participants(&self) -> Vec<RemoteParticipant> {
        self.shared.remotes.lock().clone()
    }
    /// Accepts streams of `kind` on `topic` (they arrive as `StreamOpened`). Errors if the
    /// topic already has a handler.
    pub fn register_stream_topic(&self, kind: StreamKind, topic: &str) -> Result<()> {
        if !self.shared.stream_topics.lock().insert((kind, topic.to_string())) {
            let what = if kind == StreamKind::Text { "text" } else { "byte" };
            return Err(EngineError::InvalidArgument(format!(
                "a {what} stream handler for topic \"{topic}\" has already been set"
            )));
        }
        Ok(())
    }

    /// Stops accepting streams of `kind` on `topic`.
    pub fn unregister_stream_topic(&self, kind: StreamKind, topic: &str) {
        self.shared.stream_topics.lock().remove(&(kind, topic.to_string()));
    }

    /// W3C statistics of both peer connections; `Disconnected` once the room is gone.
    pub async fn rtc_stats(&self) -> Result<crate::stats::RtcStats> {
        let (tx, rx) = oneshot::channel();
        self.shared.cmd.send(Command::GetStats { done: tx }).map_err(|_| EngineError::Disconnected)?;
        rx.await.map_err(|_| EngineError::Disconnected)
    }

    /// Leaves the room (idempotent). When it returns, `Disconnected` has been emitted and
    /// the event stream has ended.
    pub async fn disconnect(&self) {
        let (tx, rx) = oneshot::channel();
        if self.shared.cmd.send(Command::Disconnect { done: tx }).is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(5), rx).await;
        }
    }
}

/// Drains a data channel's events and reports whether it is open.
fn watch_dc(dc: Arc<dyn DataChannel>) -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        while let Some(ev) = dc.poll().await {
            match ev {
                DataChannelEvent::OnOpen => {
                    let _ = tx.send(true);
                }
                DataChannelEvent::OnClose => break,
                _ => {}
            }
        }
        let _ = tx.send(false);
    });
    rx
}

/// Reads a subscriber data channel, forwarding each message to the room task.
async fn read_dc(dc: Arc<dyn DataChannel>, tx: mpsc::Sender<(DataKind, BytesMut)>) {
    let kind = match dc.label().await.as_deref() {
        Ok("_reliable") => Some(DataKind::Reliable),
        Ok("_lossy") => Some(DataKind::Lossy),
        _ => None,
    };
    while let Some(ev) = dc.poll().await {
        match ev {
            DataChannelEvent::OnMessage(m) => {
                if let Some(kind) = kind {
                    if tx.send((kind, m.data)).await.is_err() {
                        break;
                    }
                }
            }
            DataChannelEvent::OnClose => break,
            _ => {}
        }
    }
}

struct RoomTask {
    shared: Arc<Shared>,
    ws: Ws,
    events: mpsc::UnboundedSender<RoomEvent>,
    publisher: Arc<dyn PeerConnection>,
    subscriber: Arc<dyn PeerConnection>,
    reliable: Arc<dyn DataChannel>,
    lossy: Arc<dyn DataChannel>,
    pub_dcs: [watch::Receiver<bool>; 2],
    pub_remote_set: bool,
    sub_remote_set: bool,
    pub_pending: Vec<RTCIceCandidateInit>,
    sub_pending: Vec<RTCIceCandidateInit>,
    /// Our publisher candidates gathered before the server's first answer.
    pub_local_pending: Vec<RTCIceCandidateInit>,
    pub_mid: String,
    sub_mid: String,
    pub_offer_id: u32,
    pub_outstanding: bool,
    pub_dirty: bool,
    pending_publishes: HashMap<String, (LocalAudioTrack, oneshot::Sender<Result<LocalTrackPublication>>)>,
    pub_connected: bool,
    sub_connected: bool,
    ice: ice::IcePlan,
    ready: Option<oneshot::Sender<Result<()>>>,
    requests: HashMap<u32, oneshot::Sender<Result<()>>>,
    next_request: u32,
    sequence: u32,
    /// Media that arrived before its publication was known, by track sid.
    unmatched_tracks: HashMap<String, Arc<dyn TrackRemote>>,
    ping_interval: Duration,
    ping_timeout: Duration,
    last_recv: Instant,
    auto_subscribe: bool,
    /// Largest incoming stream accepted, in bytes (`None`: no cap).
    max_stream_bytes: Option<u64>,
    /// Active speakers by participant sid, with their level.
    speakers: Vec<(String, f32)>,
    /// RPC calls we made, by request id.
    rpc_calls: HashMap<String, PendingCall>,
    /// RPC calls to us awaiting the app's answer: request id → caller identity.
    rpc_invocations: HashMap<String, String>,
    /// Streams being received, by stream id.
    incoming: HashMap<String, Incoming>,
}

/// Why the task stops.
enum Stop {
    Local(oneshot::Sender<()>),
    Remote(proto::DisconnectReason),
}

impl RoomTask {
    async fn run(
        mut self,
        mut cmd_rx: mpsc::UnboundedReceiver<Command>,
        mut pc_rx: mpsc::UnboundedReceiver<PcEvent>,
        data_tx: mpsc::Sender<(DataKind, BytesMut)>,
        mut data_rx: mpsc::Receiver<(DataKind, BytesMut)>,
    ) {
        if let Err(e) = self.negotiate_publisher().await {
            self.fail_ready(e);
        }
        self.emit(RoomEvent::ConnectionStateChanged { state: ConnectionState::Connected });
        let mut ping = tokio::time::interval(self.ping_interval);
        let stop = loop {
            tokio::select! {
                msg = signal::recv(&mut self.ws) => match msg {
                    Ok(Some(m)) => {
                        self.last_recv = Instant::now();
                        if let Some(stop) = self.on_signal(m).await {
                            break stop;
                        }
                    }
                    Ok(None) | Err(_) => break Stop::Remote(proto::DisconnectReason::SignalClose),
                },
                Some(cmd) = cmd_rx.recv() => {
                    if let Some(stop) = self.on_command(cmd).await {
                        break stop;
                    }
                }
                Some(ev) = pc_rx.recv() => {
                    if let Some(stop) = self.on_pc(ev, &data_tx).await {
                        break stop;
                    }
                }
                Some((kind, bytes)) = data_rx.recv() => self.on_data(kind, &bytes).await,
                _ = ping.tick() => {
                    if self.last_recv.elapsed() > self.ping_timeout {
                        tracing::warn!("signal connection lost (ping timeout)");
                        break Stop::Remote(proto::DisconnectReason::SignalClose);
                    }
                    let ping = proto::Ping { timestamp: now_ms(), rtt: 0 };
                    let _ = signal::send(&mut self.ws, Req::PingReq(ping)).await;
                }
            }
        };
        self.finish(stop).await;
    }

    fn emit(&self, ev: RoomEvent) {
        let _ = self.events.send(ev);
    }

    fn fail_ready(&mut self, e: EngineError) {
        if let Some(r) = self.ready.take() {
            let _ = r.send(Err(e));
        }
    }

    /// Connected once both peer connections are; data sent before the data channels
    /// open waits for them (bounded), so they are not part of the wait.
    fn check_ready(&mut self) {
        if self.pub_connected && self.sub_connected {
            if let Some(r) = self.ready.take() {
                let _ = r.send(Ok(()));
            }
        }
    }

    async fn finish(mut self, stop: Stop) {
        let (reason, done) = match stop {
            Stop::Local(done) => {
                let leave = proto::LeaveRequest {
                    reason: proto::DisconnectReason::ClientInitiated as i32,
                    action: proto::leave_request::Action::Disconnect as i32,
                    ..Default::default()
                };
                let _ = bounded("leave", Duration::from_secs(1), signal::send(&mut self.ws, Req::Leave(leave))).await;
                (proto::DisconnectReason::ClientInitiated, Some(done))
            }
            Stop::Remote(r) => (r, None),
        };
        let _ = bounded("socket close", Duration::from_secs(1), self.ws.close(None)).await;
        let _ = self.publisher.close().await;
        let _ = self.subscriber.close().await;
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
        self.rpc_calls.clear(); // callers see the room go (their channels close)
        self.rpc_invocations.clear();
        for (_, entry) in self.incoming.drain() {
            if let Some(r) = entry.reader.upgrade() {
                crate::streams::StreamReader(r).finish(Err("the room disconnected".into()));
            }
        }
        for (_, (_, done)) in self.pending_publishes.drain() {
            let _ = done.send(Err(EngineError::Disconnected));
        }
        self.emit(RoomEvent::ConnectionStateChanged { state: ConnectionState::Disconnected });
        self.emit(RoomEvent::Disconnected { reason });
        drop(self.events);
        if let Some(done) = done {
            let _ = done.send(());
        }
    }

    // ---- signalling -------------------------------------------------------------------

    /// Offers the publisher PC; one offer in flight, a change meanwhile re-offers after.
    async fn negotiate_publisher(&mut self) -> Result<()> {
        if self.pub_outstanding {
            self.pub_dirty = true;
            return Ok(());
        }
        self.pub_dirty = false;
        self.pub_outstanding = true;
        self.offer_publisher().await
    }

    async fn offer_publisher(&mut self) -> Result<()> {
        let offer = self.publisher.create_offer(None).await.map_err(EngineError::rtc)?;
        self.publisher.set_local_description(offer).await.map_err(EngineError::rtc)?;
        let sdp = self.publisher.local_description().await.ok_or_else(|| EngineError::rtc("no local offer"))?.sdp;
        let sdp = ice::filter_sdp(self.ice.policy, &sdp);
        self.pub_mid = pc::first_mid(&sdp);
        self.pub_offer_id += 1;
        let sd = proto::SessionDescription { r#type: "offer".into(), sdp, id: self.pub_offer_id, ..Default::default() };
        signal::send(&mut self.ws, Req::Offer(sd)).await
    }

    async fn on_signal(&mut self, msg: Resp) -> Option<Stop> {
        match msg {
            Resp::Offer(sd) => {
                if let Err(e) = self.answer_subscriber(sd).await {
                    tracing::warn!(error = %e, "cannot answer subscriber offer");
                    self.fail_ready(e);
                    return Some(Stop::Remote(proto::DisconnectReason::StateMismatch));
                }
            }
            Resp::Answer(sd) => {
                let applied = match RTCSessionDescription::answer(sd.sdp) {
                    Ok(answer) => self.publisher.set_remote_description(answer).await.map_err(EngineError::rtc),
                    Err(e) => Err(EngineError::rtc(e)),
                };
                match applied {
                    Ok(()) => {
                        self.pub_remote_set = true;
                        for c in std::mem::take(&mut self.pub_local_pending) {
                            self.trickle(Target::Publisher, &c).await;
                        }
                        self.pub_outstanding = false;
                        for c in std::mem::take(&mut self.pub_pending) {
                            let _ = self.publisher.add_ice_candidate(c).await;
                        }
                        if self.pub_dirty {
                            if let Err(e) = self.negotiate_publisher().await {
                                tracing::warn!(error = %e, "publisher renegotiation failed");
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "publisher answer rejected");
                        self.fail_ready(e);
                        return Some(Stop::Remote(proto::DisconnectReason::StateMismatch));
                    }
                }
            }
            Resp::Trickle(t) => {
                let c = pc::candidate_from_json(&t.candidate_init)?;
                if t.target == Target::Subscriber as i32 {
                    if self.sub_remote_set {
                        let _ = self.subscriber.add_ice_candidate(c).await;
                    } else {
                        self.sub_pending.push(c);
                    }
                } else if self.pub_remote_set {
                    let _ = self.publisher.add_ice_candidate(c).await;
                } else {
                    self.pub_pending.push(c);
                }
            }
            Resp::Update(u) => {
                for info in u.participants {
                    self.on_participant_info(info);
                }
            }
            Resp::RefreshToken(token) => {
                *self.shared.token.lock() = token.clone();
                self.emit(RoomEvent::TokenRefreshed { token });
            }
            Resp::RoomMoved(moved) => self.on_room_moved(moved),
            Resp::RoomUpdate(u) => {
                if let Some(room) = u.room {
                    self.on_room_update(room);
                }
            }
            Resp::Leave(l) => {
                let reason =
                    proto::DisconnectReason::try_from(l.reason).unwrap_or(proto::DisconnectReason::UnknownReason);
                tracing::info!(?reason, "server asked us to leave");
                self.fail_ready(EngineError::Rejected(format!("server sent leave ({reason:?})")));
                return Some(Stop::Remote(reason));
            }
            Resp::TrackPublished(t) => self.on_track_published(t).await,
            Resp::SpeakersChanged(s) => self.on_speakers(s.speakers),
            Resp::TrackSubscribed(t) => {
                let publication = self.shared.local.track_publications().into_iter().find(|p| p.sid() == t.track_sid);
                if let Some(publication) = publication {
                    if !*publication.0.subscribed.borrow() {
                        publication.0.subscribed.send_replace(true);
                        self.emit(RoomEvent::LocalTrackSubscribed { publication });
                    }
                }
            }
            Resp::RequestResponse(r) if matches!(r.request, Some(proto::request_response::Request::AddTrack(_))) => {
                if let Some(proto::request_response::Request::AddTrack(req)) = &r.request {
                    if let Some((_, done)) = self.pending_publishes.remove(&req.cid) {
                        let _ = done.send(Err(PublishError::Rejected(r.message.clone()).into()));
                    }
                }
            }
            Resp::RequestResponse(r) => {
                if let Some(done) = self.requests.remove(&r.request_id) {
                    let ok = r.reason == proto::request_response::Reason::Ok as i32;
                    let _ = done.send(if ok { Ok(()) } else { Err(EngineError::Rejected(r.message)) });
                }
            }
            // Keep-alives and hints this client has no use for.
            _ => {}
        }
        None
    }

    async fn trickle(&mut self, target: Target, init: &RTCIceCandidateInit) {
        let mid = if target == Target::Subscriber { &self.sub_mid } else { &self.pub_mid };
        let trickle = proto::TrickleRequest {
            candidate_init: pc::candidate_to_json(init, mid),
            target: target as i32,
            r#final: false,
        };
        let _ = signal::send(&mut self.ws, Req::Trickle(trickle)).await;
    }

    async fn answer_subscriber(&mut self, sd: proto::SessionDescription) -> Result<()> {
        let offer = RTCSessionDescription::offer(sd.sdp).map_err(EngineError::rtc)?;
        self.subscriber.set_remote_description(offer).await.map_err(EngineError::rtc)?;
        let answer = self.subscriber.create_answer(None).await.map_err(EngineError::rtc)?;
        self.subscriber.set_local_description(answer).await.map_err(EngineError::rtc)?;
        let sdp = self.subscriber.local_description().await.ok_or_else(|| EngineError::rtc("no local answer"))?.sdp;
        let sdp = ice::filter_sdp(self.ice.policy, &sdp);
        self.sub_mid = pc::first_mid(&sdp);
        self.sub_remote_set = true;
        for c in std::mem::take(&mut self.sub_pending) {
            let _ = self.subscriber.add_ice_candidate(c).await;
        }
        let answer = proto::SessionDescription { r#type: "answer".into(), sdp, id: sd.id, ..Default::default() };
        signal::send(&mut self.ws, Req::Answer(answer)).await
    }

    fn attach_track(
        &mut self,
        participant: RemoteParticipant,
        publication: RemoteTrackPublication,
        rtp: Arc<dyn TrackRemote>,
    ) {
        let info = publication.info();
        let track = RemoteTrack::new(&info.sid, &info.name, publication.kind(), info.muted, rtp);
        publication.0.state.lock().track = Some(track.clone());
        self.emit(RoomEvent::TrackSubscribed { participant, publication, track });
    }

    // ---- commands ---------------------------------------------------------------------

    async fn on_command(&mut self, cmd: Command) -> Option<Stop> {
        match cmd {
            Command::Disconnect { done } => return Some(Stop::Local(done)),
            Command::GetStats { done } => {
                let (publisher, subscriber) = (self.publisher.clone(), self.subscriber.clone());
                tokio::spawn(async move {
                    let _ = done.send(crate::stats::gather(publisher, subscriber).await);
                });
            }
            Command::PublishData { payload, options, done } => {
                let result = self.publish_data(payload, options).await;
                let _ = done.send(result);
            }
            Command::UpdateMetadata { mut update, done } => {
                update.request_id = self.next_request;
                self.next_request += 1;
                let id = update.request_id;
                match signal::send(&mut self.ws, Req::UpdateMetadata(update)).await {
                    Ok(()) => {
                        // The reply is matched by request id; bound the wait on the caller's side.
                        let (tx, rx) = oneshot::channel();
                        self.requests.insert(id, tx);
                        tokio::spawn(async move {
                            let result = match bounded("the server to confirm the update", REQUEST_TIMEOUT, rx).await {
                                Ok(Ok(r)) => r,
                                Ok(Err(_)) => Err(EngineError::Disconnected),
                                Err(e) => Err(e),
                            };
                            let _ = done.send(result);
                        });
                    }
                    Err(e) => {
                        let _ = done.send(Err(e));
                    }
                }
            }
            Command::SendPacket { value, destinations, done } => {
                let result = self.send_packet(value, destinations, DataKind::Reliable).await;
                let _ = done.send(result);
            }
            Command::PerformRpc { call, ack, response, sent } => {
                let id = crate::rpc::uuid_v4();
                let timeout_ms =
                    call.response_timeout.saturating_sub(crate::rpc::ACK_TIMEOUT).max(Duration::from_secs(1));
                let request = proto::RpcRequest {
                    id: id.clone(),
                    method: call.method,
                    payload: call.payload,
                    response_timeout_ms: timeout_ms.as_millis() as u32,
                    version: crate::rpc::VERSION,
                    ..Default::default()
                };
                let dest = call.destination_identity;
                self.rpc_calls.insert(id.clone(), PendingCall { destination: dest.clone(), ack: Some(ack), response });
                let result = self
                    .send_packet(proto::data_packet::Value::RpcRequest(request), vec![dest], DataKind::Reliable)
                    .await;
                if let Err(e) = result {
                    self.rpc_calls.remove(&id);
                    let _ =
                        sent.send(Err(RpcError::built_in(crate::rpc::RpcErrorCode::SendFailed, Some(&e.to_string()))));
                } else {
                    let _ = sent.send(Ok(()));
                }
            }
            Command::RespondRpc { request_id, result } => self.respond_rpc(request_id, result).await,
            Command::PublishTrack { track, options, done } => self.publish_track(track, options, done).await,
            Command::UnpublishTrack { sid, done } => {
                let result = self.unpublish_track(&sid).await;
                let _ = done.send(result);
            }
            Command::MuteTrack { sid, muted, done } => {
                let publication = self.shared.local.track_publications().into_iter().find(|p| p.sid() == sid);
                let result = match publication {
                    None => Err(EngineError::InvalidArgument(format!("no published track {sid}"))),
                    Some(p) => {
                        p.0.track.set_muted_flag(muted);
                        p.0.info.lock().muted = muted;
                        signal::send(&mut self.ws, Req::Mute(proto::MuteTrackRequest { sid, muted })).await
                    }
                };
                let _ = done.send(result);
            }
            Command::SetSubscribed { publication, subscribe, done } => {
                let sid = publication.sid();
                let req = proto::UpdateSubscription { track_sids: vec![sid.clone()], subscribe, ..Default::default() };
                let result = signal::send(&mut self.ws, Req::Subscription(req)).await;
                publication.0.state.lock().desired = subscribe;
                if result.is_ok() && !subscribe {
                    let track = publication.0.state.lock().track.take();
                    let owner =
                        self.shared.remotes.lock().iter().find(|p| p.sid() == publication.participant_sid()).cloned();
                    if let (Some(track), Some(participant)) = (track, owner) {
                        track.end();
                        self.emit(RoomEvent::TrackUnsubscribed { participant, publication, track });
                    }
                }
                let _ = done.send(result);
            }
        }
        None
    }

    // ---- peer connections -------------------------------------------------------------

    async fn on_pc(&mut self, ev: PcEvent, data_tx: &mpsc::Sender<(DataKind, BytesMut)>) -> Option<Stop> {
        match ev {
            PcEvent::Candidate(target, init) => {
                // Our publisher candidates wait for the server's answer: until our ICE agent
                // has started as the controlling side, a check from the server would meet
                // an agent that still thinks it is controlled, and the role conflict costs
                // the pair about a second.
                if target == Target::Publisher && !self.pub_remote_set {
                    self.pub_local_pending.push(init);
                } else {
                    self.trickle(target, &init).await;
                }
            }
            PcEvent::Gathered { target, relay } => {
                if self.ice.policy == crate::types::IceTransportPolicy::Relay && relay == 0 {
                    let e: EngineError = ConnectError::IceConfig(format!(
                        "no relay candidate could be gathered from {} (wrong credentials, or the TURN server is \
                         unreachable)",
                        self.ice.usable_turn_urls().join(", ")
                    ))
                    .into();
                    tracing::warn!(?target, "{e}");
                    if self.ready.is_some() {
                        self.fail_ready(e);
                        return Some(Stop::Remote(proto::DisconnectReason::ConnectionTimeout));
                    }
                }
            }
            PcEvent::State(target, state) => {
                tracing::debug!(?target, %state, "peer connection state");
                match state {
                    RTCPeerConnectionState::Connected => {
                        if target == Target::Publisher {
                            self.pub_connected = true;
                        } else {
                            self.sub_connected = true;
                        }
                        self.check_ready();
                    }
                    RTCPeerConnectionState::Failed => {
                        self.fail_ready(EngineError::rtc(format!("{target:?} peer connection failed")));
                        return Some(Stop::Remote(proto::DisconnectReason::ConnectionTimeout));
                    }
                    _ => {}
                }
            }
            PcEvent::DataChannel(dc) => {
                tokio::spawn(read_dc(dc, data_tx.clone()));
            }
            PcEvent::Track(rtp) => self.on_remote_track(rtp).await,
        }
        None
    }

    async fn on_remote_track(&mut self, rtp: Arc<dyn TrackRemote>) {
        let stream_id = rtp.stream_id().await;
        let Some((participant_sid, track_sid)) = stream_id.split_once('|') else {
            tracing::warn!(%stream_id, "remote track without a PA|TR stream id ignored");
            return;
        };
        let owner = self.shared.remotes.lock().iter().find(|p| p.sid() == participant_sid).cloned();
        let publication = owner.as_ref().and_then(|p| p.publication(track_sid));
        match (owner, publication) {
            (Some(p), Some(publication)) => self.attach_track(p, publication, rtp),
            _ => {
                self.unmatched_tracks.insert(track_sid.to_string(), rtp);
            }
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
