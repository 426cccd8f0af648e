//! One participant's session: a single task that owns its WebSocket reader, its peer
//! connections (two with v0 signalling, one with v1: see [`v1`]) and its subscriptions,
//! and handles signal requests, room commands and peer-connection events in order.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ::rtc::peer_connection::configuration::RTCOfferOptions;
use axum::extract::ws::{Message, WebSocket};
use futures_util::StreamExt;
use livekit_protocol as proto;
use lkrtc_transport::{AnswerCheck, Negotiation};
use prost::Message as _;
use proto::signal_request::Message as Req;
use proto::signal_response::Message as Resp;
use tokio::sync::{mpsc, watch};
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::media_stream::MediaStreamTrack;
use webrtc::peer_connection::{PeerConnection, RTCIceCandidateInit, RTCPeerConnectionState, RTCSessionDescription};
use webrtc::rtp_transceiver::{RtpSender, RtpTransceiver};

use crate::data;
use crate::limits::{self, clip};
use crate::participant::{Channels, Cmd, JoinParams, Participant};
use crate::room::Room;
use crate::rtc::{self, PcEvent, Target};
use crate::track::PublishedTrack;
use crate::ServerShared;

mod link;
mod resume;
mod subscriptions;
pub mod v1;

pub use link::refuse_resume;
use link::{too_big, Link};
pub use resume::RESUME_WINDOW;

/// Seconds between client pings the server asks for.
pub const PING_INTERVAL: i32 = 5;
/// Seconds of client silence after which the session is dropped.
pub const PING_TIMEOUT: i32 = 15;
/// Protocol version the server speaks.
pub const PROTOCOL: i32 = 17;
/// Version reported to clients (semver ≥ 1.8 so that Rust clients enable RPC).
pub const SERVER_VERSION: &str = "1.9.0";

/// Why a session ended, for logs and the DISCONNECTED update.
type Reason = proto::DisconnectReason;

struct Subscription {
    track: Arc<PublishedTrack>,
    sender: Arc<dyn RtpSender>,
    transceiver: Arc<dyn RtpTransceiver>,
}

/// Which signalling a session speaks.
pub enum Signalling {
    /// `/rtc`: a publisher PC the client offers, a subscriber PC the server offers.
    V0,
    /// `/rtc/v1`: one PC, offered by the client; `offer` is the first offer if the join
    /// request carried it.
    V1 {
        /// The `publisher_offer` of the join request.
        offer: Option<proto::SessionDescription>,
    },
}

/// State of one connected participant.
pub struct Session {
    shared: Arc<ServerShared>,
    room: Arc<Room>,
    p: Arc<Participant>,
    pc_tx: mpsc::UnboundedSender<PcEvent>,
    /// v0 only: created on the client's first offer.
    publisher: Option<Arc<dyn PeerConnection>>,
    /// v0: the subscriber PC; v1: the one PC, publishing and subscribing.
    subscriber: Arc<dyn PeerConnection>,
    /// The PC the client offers (v0 publisher, v1 the one PC): the server answers.
    pub_neg: Negotiation<RTCIceCandidateInit>,
    /// The subscriber PC offers; the client answers.
    sub_neg: Negotiation<RTCIceCandidateInit>,
    pub_level_ext: u8,
    subs: HashMap<String, Subscription>,
    /// Subscriber transceivers free for the next subscription.
    slots: lkrtc_transport::slots::Slots,
    /// Tracks this participant wants (auto-subscribed or asked for) that their publisher
    /// does not allow it; subscribed as soon as the publisher allows it.
    refused: HashMap<String, Arc<PublishedTrack>>,
    /// The permission last told to the client per track (`SubscriptionPermissionUpdate`).
    told: HashMap<String, bool>,
    /// The subscriber PC connected once. Permissions are told from then on: as with
    /// livekit-server, which subscribes a participant once it is active, the client has
    /// handled the join response (and knows the publishers) by then.
    sub_connected: bool,
    /// How many times each track was subscribed in this session.
    sub_rounds: HashMap<String, u32>,
    last_seen: Instant,
    /// When to send the next `refresh_token` (if the server refreshes tokens).
    next_refresh: Option<Instant>,
    /// v1 only.
    single: Option<v1::Single>,
    /// The socket the client is on; `None` while it is gone and a resume may come.
    link: Option<Link>,
    /// Resume state: the outbound queue while detached, when the link went, test faults.
    resume: resume::Resume,
}

/// Runs a session on an upgraded WebSocket until the participant leaves.
pub async fn run(shared: Arc<ServerShared>, ws: WebSocket, params: JoinParams, signalling: Signalling) {
    let room = shared.rooms.get_or_create(&params.grant.room);
    let (p, channels) = Participant::new(params);
    let Channels { out, queued, mut cmd, data } = channels;
    let link = Link::open(ws, out, queued.clone());

    let (pc_tx, pc_rx) = mpsc::unbounded_channel();
    let target = match signalling {
        Signalling::V0 => Target::Subscriber,
        Signalling::V1 { .. } => Target::Publisher,
    };
    let subscriber = match shared.pcs.create(target, pc_tx.clone()).await {
        Ok(pc) => pc,
        Err(e) => {
            tracing::error!(error = %e, ?target, "cannot create peer connection");
            p.send(Resp::Leave(leave(Reason::JoinFailure)));
            p.close_socket();
            link.close().await;
            shared.rooms.remove_if_empty(&room);
            return;
        }
    };
    let (single, data_task) = match signalling {
        // v1: the client opens the data channels (see `v1`).
        Signalling::V1 { .. } => {
            let (single, outlets) = v1::Single::new();
            (Some(single), Some(tokio::spawn(data::deliver_loop(data, outlets.0, outlets.1))))
        }
        // v0: the server opens them on the subscriber PC before its first offer.
        Signalling::V0 => match lkrtc_transport::data::open(subscriber.as_ref()).await {
            Ok((reliable, lossy)) => (
                None,
                Some(tokio::spawn(data::deliver_loop(
                    data,
                    data::Outlet::opening(reliable),
                    data::Outlet::opening(lossy),
                ))),
            ),
            Err(e) => {
                tracing::warn!(error = %e, "cannot open the subscriber data channels");
                (None, None)
            }
        },
    };

    let mut s = Session {
        shared: shared.clone(),
        room: room.clone(),
        p: p.clone(),
        pc_tx,
        publisher: None,
        subscriber,
        pub_neg: Negotiation::new(limits::MAX_PENDING_CANDIDATES),
        sub_neg: Negotiation::new(limits::MAX_PENDING_CANDIDATES),
        pub_level_ext: 0,
        subs: HashMap::new(),
        slots: Default::default(),
        refused: HashMap::new(),
        told: HashMap::new(),
        sub_connected: false,
        sub_rounds: HashMap::new(),
        last_seen: Instant::now(),
        next_refresh: shared.token_refresh.map(|every| Instant::now() + every),
        single,
        link: Some(link),
        resume: resume::Resume::new(queued),
    };
    s.join();
    let ended = match signalling {
        // Offer right away (with the data channels), as subscriber-primary servers do.
        Signalling::V0 => {
            s.negotiate().await;
            None
        }
        Signalling::V1 { offer } => s.v1_start(&mut cmd, offer).await,
    };
    let reason = match ended {
        Some(reason) => reason,
        None => s.run_loop(cmd, pc_rx, shared.shutdown.clone()).await,
    };

    s.room.remove(&s.p, reason);
    for (_, sub) in s.subs.drain() {
        sub.track.remove_downtrack(&s.p.sid);
    }
    if let Some(pc) = s.publisher.take() {
        let _ = pc.close().await;
    }
    let _ = s.subscriber.close().await;
    s.p.close_socket();
    if let Some(link) = s.link.take() {
        link.close().await;
    }
    if let Some(t) = data_task {
        t.abort();
    }
    shared.rooms.remove_if_empty(&s.room);
}

fn server_info(shared: &ServerShared) -> proto::ServerInfo {
    proto::ServerInfo {
        edition: proto::server_info::Edition::Standard as i32,
        version: SERVER_VERSION.into(),
        protocol: PROTOCOL,
        node_id: shared.node_id.clone(),
        ..Default::default()
    }
}

fn client_configuration(shared: &ServerShared) -> proto::ClientConfiguration {
    let force_relay =
        if shared.ice.force_relay { proto::ClientConfigSetting::Enabled } else { proto::ClientConfigSetting::Unset };
    proto::ClientConfiguration { force_relay: force_relay as i32, ..Default::default() }
}

fn leave(reason: Reason) -> proto::LeaveRequest {
    proto::LeaveRequest {
        can_reconnect: false,
        reason: reason as i32,
        action: proto::leave_request::Action::Disconnect as i32,
        regions: None,
    }
}

impl Session {
    /// Sends the join response, enters the room, and offers the subscriber PC.
    fn join(&mut self) {
        let shared = &self.shared;
        let p = self.p.clone();
        // v1: the one PC is the client's publisher PC, which it offers at once.
        let subscriber_primary = !self.single();
        let existing = self.room.join(&p, |room, others| {
            let others: Vec<_> = others.iter().filter(|o| !o.grant.hidden).map(|o| o.info()).collect();
            let mut me = p.info();
            me.state = proto::participant_info::State::Active as i32;
            let join = proto::JoinResponse {
                room: Some(room),
                participant: Some(me),
                other_participants: others,
                server_version: SERVER_VERSION.into(),
                subscriber_primary,
                ping_timeout: shared.timing.ping_timeout as i32,
                ping_interval: shared.timing.ping_interval as i32,
                server_info: Some(server_info(shared)),
                client_configuration: Some(client_configuration(shared)),
                ice_servers: shared.ice.servers.clone(),
                fast_publish: p.grant.can_publish,
                ..Default::default()
            };
            p.send(Resp::Join(join));
        });
        if let Some(old) = existing {
            old.command(Cmd::Kick(Reason::DuplicateIdentity));
        }
        let info = self.p.mark_active();
        self.room.broadcast_info(&self.p, info);
        let signalling = if self.single() { "v1" } else { "v0" };
        tracing::info!(room = %self.room.name, identity = %self.p.identity(), sid = %self.p.sid, signalling, "participant joined");
        if self.p.auto_subscribe && self.p.grant.can_subscribe {
            for other in self.room.others(&self.p.sid) {
                for t in other.tracks() {
                    self.p.command(Cmd::Subscribe(t));
                }
            }
        }
    }

    async fn run_loop(
        &mut self,
        mut cmd: mpsc::UnboundedReceiver<Cmd>,
        mut pc_rx: mpsc::UnboundedReceiver<PcEvent>,
        mut shutdown: watch::Receiver<bool>,
    ) -> Reason {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                frame = next_frame(self.link.as_mut()) => {
                    let frame = match frame {
                        Some(Ok(frame)) => frame,
                        Some(Err(e)) => {
                            if too_big(e) {
                                self.p.close_with(1009, format!("signal message larger than {} bytes", limits::MAX_SIGNAL_MESSAGE));
                                return Reason::SignalClose;
                            }
                            if let Some(reason) = self.signal_lost("socket error", Reason::SignalClose).await {
                                return reason;
                            }
                            continue;
                        }
                        None => {
                            if let Some(reason) = self.signal_lost("socket closed", Reason::SignalClose).await {
                                return reason;
                            }
                            continue;
                        }
                    };
                    self.last_seen = Instant::now();
                    match frame {
                        Message::Binary(bytes) => match proto::SignalRequest::decode(bytes) {
                            Ok(req) => {
                                if let Some(reason) = self.handle_request(req).await {
                                    return reason;
                                }
                            }
                            Err(e) => {
                                tracing::warn!(identity = %self.p.identity(), error = %clip(&e.to_string()), "malformed signal frame");
                                self.p.close_with(1007, format!("malformed SignalRequest: {e}"));
                                return Reason::SignalClose;
                            }
                        },
                        Message::Text(_) => {
                            self.p.close_with(1003, "lkrtc-server speaks binary protobuf frames only".into());
                            return Reason::SignalClose;
                        }
                        Message::Close(_) => {
                            if let Some(reason) = self.signal_lost("close frame", Reason::SignalClose).await {
                                return reason;
                            }
                        }
                        _ => {}
                    }
                }
                Some(c) = cmd.recv() => {
                    if let Some(reason) = self.handle_cmd(c).await {
                        return reason;
                    }
                }
                Some(ev) = pc_rx.recv() => {
                    if let Some(reason) = self.handle_pc(ev).await {
                        return reason;
                    }
                }
                _ = tick.tick() => {
                    if let Some(reason) = self.check_signal().await {
                        return reason;
                    }
                    self.maybe_refresh_token();
                }
                _ = shutdown.changed() => {
                    self.p.send(Resp::Leave(leave(Reason::ServerShutdown)));
                    return Reason::ServerShutdown;
                }
            }
        }
    }

    /// Sends a fresh token when one is due (`--token-refresh`).
    fn maybe_refresh_token(&mut self) {
        let (Some(due), Some(every)) = (self.next_refresh, self.shared.token_refresh) else { return };
        if Instant::now() < due {
            return;
        }
        self.next_refresh = Some(Instant::now() + every);
        // Valid for well past the next refresh, like livekit-server's refreshed tokens.
        let ttl = (every * 2).max(Duration::from_secs(600));
        match self.shared.keys.refresh(&self.p.grant, ttl) {
            Ok(token) => self.p.send(Resp::RefreshToken(token)),
            Err(e) => tracing::warn!(error = %e, "cannot refresh token"),
        }
    }

    async fn handle_request(&mut self, req: proto::SignalRequest) -> Option<Reason> {
        let Some(msg) = req.message else {
            tracing::debug!(identity = %self.p.identity(), "signal request of an unknown type ignored");
            return None;
        };
        match msg {
            Req::Offer(sd) => return self.on_publisher_offer(sd).await,
            Req::Answer(sd) => return self.on_subscriber_answer(sd).await,
            Req::Trickle(t) => return self.on_trickle(t).await,
            Req::AddTrack(t) => self.on_add_track(t),
            Req::Mute(m) => self.on_mute(m),
            Req::Subscription(s) => self.on_subscription(s),
            Req::SubscriptionPermission(sp) => self.on_subscription_permission(sp),
            Req::TrackSetting(s) => self.on_track_settings(s),
            Req::UpdateMetadata(m) => self.on_update_metadata(m),
            Req::Leave(_) => {
                self.p.close_socket();
                return Some(Reason::ClientInitiated);
            }
            Req::Ping(_) => self.p.send(Resp::Pong(crate::ids::now_ms())),
            Req::PingReq(ping) => self.p.send(Resp::PongResp(proto::Pong {
                last_ping_timestamp: ping.timestamp,
                timestamp: crate::ids::now_ms(),
            })),
            Req::Simulate(scenario) => return self.simulate(scenario).await,
            // Accepted and ignored: publisher layer hints, sync, simulation.
            other => {
                tracing::debug!(identity = %self.p.identity(), request = ?std::mem::discriminant(&other), "ignored request")
            }
        }
        None
    }

    async fn on_publisher_offer(&mut self, sd: proto::SessionDescription) -> Option<Reason> {
        let single = self.single();
        if single {
            self.v1_offer_seen(&sd.sdp);
        } else if self.publisher.is_none() {
            match self.shared.pcs.create(Target::Publisher, self.pc_tx.clone()).await {
                Ok(pc) => self.publisher = Some(pc),
                Err(e) => {
                    tracing::error!(error = %e, "cannot create publisher peer connection");
                    return Some(Reason::JoinFailure);
                }
            }
        }
        let pc = if single { self.subscriber.clone() } else { self.publisher.clone()? };
        let result: Result<String, String> = async {
            let offer =
                RTCSessionDescription::offer(sd.sdp.clone()).map_err(|e| format!("offer SDP does not parse: {e}"))?;
            pc.set_remote_description(offer).await.map_err(|e| format!("offer rejected: {e}"))?;
            lkrtc_transport::sdp::settle_directions(pc.as_ref(), &sd.sdp).await;
            // The server sends nothing on a publisher PC: m-lines the client offered as
            // recvonly (clients pre-create them) are answered inactive, not sendonly. On
            // the v1 PC the server's subscribed tracks keep sending.
            rtc::no_sending(pc.as_ref(), single).await;
            let answer = pc.create_answer(None).await.map_err(|e| format!("cannot answer offer: {e}"))?;
            pc.set_local_description(answer).await.map_err(|e| format!("cannot apply answer: {e}"))?;
            let local = pc.local_description().await.ok_or("no local description after answer")?;
            tracing::trace!(offer = %clip(&sd.sdp), answer = %clip(&local.sdp), "publisher negotiated");
            Ok(if single { rtc::answer_within_offer(&sd.sdp, &local.sdp) } else { local.sdp })
        }
        .await;
        match result {
            Ok(sdp) => {
                let queued = self.pub_neg.answer_created(&sdp);
                self.pub_level_ext = rtc::audio_level_id(&sdp).unwrap_or(0);
                let mid_to_track_id = self.v1_answered().await;
                self.p.send(Resp::Answer(proto::SessionDescription {
                    r#type: "answer".into(),
                    sdp,
                    id: sd.id,
                    mid_to_track_id,
                }));
                for c in queued {
                    let _ = pc.add_ice_candidate(c).await;
                }
                // A client unpublishes by renegotiating with the track's m-line no longer sending.
                let sending = rtc::sending_track_ids(&sd.sdp);
                let withdrawn = self.p.withdraw_pending(&sending);
                if withdrawn > 0 {
                    tracing::debug!(identity = %self.p.identity(), withdrawn, "tracks unpublished before their media dropped");
                }
                for t in self.p.tracks() {
                    if !sending.iter().any(|id| *id == t.cid) {
                        self.unpublish(&t.sid);
                    }
                }
                self.v1_request_offer(true).await;
                None
            }
            Err(msg) => {
                tracing::warn!(identity = %self.p.identity(), msg = %clip(&msg), "publisher offer failed");
                self.p.close_with(1007, msg);
                Some(Reason::StateMismatch)
            }
        }
    }

    async fn on_subscriber_answer(&mut self, sd: proto::SessionDescription) -> Option<Reason> {
        if self.sub_neg.check_answer(sd.id) == AnswerCheck::Stale {
            tracing::debug!(identity = %self.p.identity(), id = sd.id, "answer to no outstanding offer ignored");
            return None;
        }
        let applied = match RTCSessionDescription::answer(sd.sdp) {
            Ok(answer) => self.subscriber.set_remote_description(answer).await.map_err(|e| e.to_string()),
            Err(e) => Err(format!("answer SDP does not parse: {e}")),
        };
        if let Err(msg) = applied {
            tracing::warn!(identity = %self.p.identity(), msg = %clip(&msg), "subscriber answer failed");
            self.p.close_with(1007, msg);
            return Some(Reason::StateMismatch);
        }
        let applied = self.sub_neg.answer_applied();
        for c in applied.candidates {
            let _ = self.subscriber.add_ice_candidate(c).await;
        }
        if applied.reoffer {
            self.negotiate().await;
        }
        None
    }

    async fn on_trickle(&mut self, t: proto::TrickleRequest) -> Option<Reason> {
        if t.candidate_init.len() > limits::MAX_CANDIDATE_SIZE {
            tracing::warn!(identity = %self.p.identity(), bytes = t.candidate_init.len(), "oversized ICE candidate");
            self.p.close_with(1009, format!("ICE candidate larger than {} bytes", limits::MAX_CANDIDATE_SIZE));
            return Some(Reason::SignalClose);
        }
        let cand = match lkrtc_transport::candidate::from_json(&t.candidate_init) {
            Ok(Some(c)) => c,
            Ok(None) => return None, // end-of-candidates
            Err(e) => {
                tracing::debug!(identity = %self.p.identity(), error = %clip(&e.to_string()), "bad trickle ignored");
                return None;
            }
        };
        let (neg, pc) = if self.single() {
            // v1: one PC, whatever target the client names.
            (&mut self.pub_neg, Some(&self.subscriber))
        } else if t.target == Target::Subscriber as i32 {
            (&mut self.sub_neg, Some(&self.subscriber))
        } else {
            (&mut self.pub_neg, self.publisher.as_ref())
        };
        match neg.remote_candidate(cand) {
            // A remote description is only set on a PC that exists.
            Ok(Some(c)) => {
                if let Some(pc) = pc {
                    let _ = pc.add_ice_candidate(c).await;
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(identity = %self.p.identity(), "{e}");
                let reason = format!("more than {} ICE candidates before the offer/answer", e.limit);
                self.p.close_with(1008, reason);
                return Some(Reason::SignalClose);
            }
        }
        None
    }

    fn on_add_track(&mut self, req: proto::AddTrackRequest) {
        let refuse = |reason: proto::request_response::Reason, message: &str| {
            self.p.send(Resp::RequestResponse(proto::RequestResponse {
                reason: reason as i32,
                message: message.into(),
                request: Some(proto::request_response::Request::AddTrack(req.clone())),
                ..Default::default()
            }));
        };
        if !self.p.grant.can_publish {
            refuse(proto::request_response::Reason::NotAllowed, "the token does not allow publishing (canPublish)");
            return;
        }
        let source = proto::TrackSource::try_from(req.source).unwrap_or(proto::TrackSource::Unknown);
        if !self.p.grant.can_publish_source(source) {
            refuse(
                proto::request_response::Reason::NotAllowed,
                "the token does not allow this source (canPublishSources)",
            );
            return;
        }
        let video = req.r#type == proto::TrackType::Video as i32;
        if req.r#type != proto::TrackType::Audio as i32 && !video {
            refuse(
                proto::request_response::Reason::UnsupportedType,
                "lkrtc-server forwards audio and video tracks only",
            );
            return;
        }
        // Video: the simulcast layers the publisher announced (one if none), as
        // livekit-server lists them; the top one gives the track's size.
        let layers = if video { crate::forward::announced_layers(&req) } else { vec![] };
        let top = layers.last().cloned();
        let top = top.as_ref();
        let info = proto::TrackInfo {
            sid: crate::ids::track_sid(),
            r#type: req.r#type,
            name: req.name.clone(),
            muted: req.muted,
            disable_dtx: req.disable_dtx,
            source: req.source,
            // Video: the negotiated codec, set once media arrives.
            mime_type: if video { String::new() } else { "audio/opus".into() },
            stereo: req.stereo,
            disable_red: true,
            stream: req.stream.clone(),
            audio_features: req.audio_features.clone(),
            width: if req.width > 0 { req.width } else { top.map_or(0, |l| l.width) },
            height: if req.height > 0 { req.height } else { top.map_or(0, |l| l.height) },
            simulcast: layers.len() > 1,
            layers,
            // End-to-end encryption as the publisher announces it (frames are forwarded as is).
            encryption: req.encryption,
            ..Default::default()
        };
        if self.p.pending_full() {
            let msg = format!("too many pending tracks (at most {})", limits::MAX_PENDING_TRACKS);
            refuse(proto::request_response::Reason::LimitExceeded, &msg);
            return;
        }
        if !self.p.add_pending(&req.cid, info.clone()) {
            refuse(proto::request_response::Reason::Queued, "a track with this cid is already pending");
            return;
        }
        self.p.send(Resp::TrackPublished(proto::TrackPublishedResponse { cid: req.cid, track: Some(info) }));
    }

    fn on_mute(&mut self, m: proto::MuteTrackRequest) {
        let Some(track) = self.p.track(&m.sid) else { return };
        track.update_info(|i| i.muted = m.muted);
        let info = self.p.touch();
        self.room.broadcast_info(&self.p, info);
    }

    fn on_update_metadata(&mut self, m: proto::UpdateParticipantMetadata) {
        let respond = |reason: proto::request_response::Reason, message: &str| {
            self.p.send(Resp::RequestResponse(proto::RequestResponse {
                request_id: m.request_id,
                reason: reason as i32,
                message: message.into(),
                request: Some(proto::request_response::Request::UpdateMetadata(m.clone())),
            }));
        };
        if !self.p.grant.can_update_metadata {
            respond(proto::request_response::Reason::NotAllowed, "the token does not allow canUpdateOwnMetadata");
            return;
        }
        let checked = limits::check_info(&m.name, &m.metadata, &m.attributes)
            .and_then(|()| limits::merge_attributes(&self.p.info().attributes, &m.attributes));
        let attributes = match checked {
            Ok(a) => a,
            Err(limit) => {
                respond(proto::request_response::Reason::LimitExceeded, limit.message());
                return;
            }
        };
        let info = self.p.update_info(|i| {
            if !m.name.is_empty() {
                i.name = m.name.clone();
            }
            if !m.metadata.is_empty() {
                i.metadata = m.metadata.clone();
            }
            i.attributes = attributes;
        });
        self.p.send(Resp::Update(proto::ParticipantUpdate { participants: vec![info.clone()] }));
        self.room.broadcast_info(&self.p, info);
        respond(proto::request_response::Reason::Ok, "");
    }

    fn unpublish(&mut self, sid: &str) {
        if let Some(track) = self.p.remove_track(sid) {
            tracing::info!(identity = %self.p.identity(), track = %sid, "track unpublished");
            self.room.track_gone(&self.p, &track);
        }
    }

    async fn handle_cmd(&mut self, cmd: Cmd) -> Option<Reason> {
        match cmd {
            Cmd::Subscribe(track) => self.subscribe(track).await,
            Cmd::Unsubscribe(sid) => self.unsubscribe(&sid).await,
            Cmd::PermissionsChanged(publisher) => self.recheck_permissions(&publisher).await,
            Cmd::Kick(reason) => {
                self.p.send(Resp::Leave(leave(reason)));
                self.p.close_socket();
                return Some(reason);
            }
            Cmd::Resume(resumed) => return self.resume(*resumed).await,
        }
        None
    }

    /// Whether the publisher of `track` allows this participant to subscribe to it;
    /// tells the client when that changed (livekit-server tells it on the first check too).
    /// Offers the subscriber PC, one offer in flight at a time (v1: asks the client to offer).
    async fn negotiate(&mut self) {
        self.offer_subscriber(false).await
    }

    /// Offers the subscriber PC; with `ice_restart`, under new ICE credentials.
    async fn offer_subscriber(&mut self, ice_restart: bool) {
        if self.single() {
            return self.v1_request_offer(false).await;
        }
        if !self.sub_neg.want_offer() {
            return;
        }
        let pc = self.subscriber.clone();
        let options = ice_restart.then_some(RTCOfferOptions { ice_restart: true });
        let result: Result<String, String> = async {
            let offer = pc.create_offer(options).await.map_err(|e| e.to_string())?;
            pc.set_local_description(offer).await.map_err(|e| e.to_string())?;
            Ok(pc.local_description().await.ok_or("no local description")?.sdp)
        }
        .await;
        match result {
            Ok(sdp) => {
                let id = self.sub_neg.offer_created(&sdp);
                self.slots.announced();
                self.p.send(Resp::Offer(proto::SessionDescription {
                    r#type: "offer".into(),
                    sdp,
                    id,
                    mid_to_track_id: Default::default(),
                }));
            }
            Err(e) => tracing::warn!(identity = %self.p.identity(), error = %e, "subscriber offer failed"),
        }
    }

    async fn handle_pc(&mut self, ev: PcEvent) -> Option<Reason> {
        match ev {
            PcEvent::Candidate(target, init) => {
                let neg = if target == Target::Subscriber { &self.sub_neg } else { &self.pub_neg };
                self.p.send(Resp::Trickle(proto::TrickleRequest {
                    candidate_init: lkrtc_transport::candidate::to_json(&init, neg.first_mid()),
                    target: target as i32,
                    r#final: false,
                }));
            }
            PcEvent::State(target, state) => {
                tracing::debug!(identity = %self.p.identity(), ?target, %state, "peer connection state");
                if state == RTCPeerConnectionState::Failed {
                    return Some(Reason::ConnectionTimeout);
                }
                if (target == Target::Subscriber || self.single()) && state == RTCPeerConnectionState::Connected {
                    self.on_subscriber_connected();
                }
            }
            PcEvent::Gathered { .. } => {}
            PcEvent::DataChannel(_, dc) => {
                let shared = self.shared.clone();
                let room = self.room.clone();
                let p = self.p.clone();
                self.v1_data_channel(&dc).await;
                tokio::spawn(async move { data::read_loop(shared, room, p, dc).await });
            }
            PcEvent::Track(_, remote) => self.on_remote_track(remote).await,
        }
        None
    }

    async fn on_remote_track(&mut self, remote: Arc<dyn TrackRemote>) {
        let kind = match remote.kind().await {
            rtc::Kind::Audio => proto::TrackType::Audio,
            _ => proto::TrackType::Video,
        };
        let track_id = remote.track_id().await;
        let Some((cid, info)) = self.p.take_pending(&track_id, kind) else {
            tracing::debug!(identity = %self.p.identity(), %track_id, "media without a matching add_track ignored");
            return;
        };
        let track = PublishedTrack::new(&self.p.sid, &cid, info);
        // Video subscribers get the publisher's codec (VP8, H.264, VP9, AV1: whichever
        // it negotiated); audio stays the Opus the server always forwarded.
        if kind == proto::TrackType::Video {
            match remote.ssrcs().await.first() {
                Some(ssrc) => match remote.codec(*ssrc).await {
                    Some(codec) => track.set_codec(codec),
                    None => tracing::warn!(track = %track.sid, "video track without a negotiated codec"),
                },
                None => tracing::warn!(track = %track.sid, "video track without an SSRC"),
            }
        }
        track.level_ext.store(self.pub_level_ext, std::sync::atomic::Ordering::Relaxed);
        self.p.add_live(track.clone());
        tracing::info!(identity = %self.p.identity(), track = %track.sid, "track published");
        tokio::spawn(track.clone().forward_from(remote));
        self.room.track_live(&self.p, track);
    }
}

/// The next frame of the link, or never while there is none.
async fn next_frame(link: Option<&mut Link>) -> Option<Result<Message, axum::Error>> {
    match link {
        Some(link) => link.stream.next().await,
        None => std::future::pending().await,
    }
}
