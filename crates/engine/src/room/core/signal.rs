//! Signal messages from the server, and peer-connection events: negotiation of both
//! transports, candidates, connection state, remote media.

use std::sync::Arc;
use std::time::Instant;

use livekit_protocol as proto;
use proto::signal_request::Message as Req;
use proto::signal_response::Message as Resp;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{RTCIceCandidateInit, RTCPeerConnectionState};

use super::{Action, Session, Stop, TransportEvent};
use crate::error::{ConnectError, EngineError, PublishError};
use crate::events::RoomEvent;
use crate::objects::{RemoteParticipant, RemoteTrack, RemoteTrackPublication};
use crate::pc::{self, Target};
use crate::types::IceTransportPolicy;
use lkrtc_transport::negotiation::AnswerCheck;

impl Session {
    pub(super) fn on_signal(&mut self, now: Instant, msg: Resp) {
        match msg {
            Resp::Offer(sd) => self.act(Action::AnswerOffer { sdp: sd.sdp, id: sd.id }),
            Resp::Answer(sd) => match self.publisher.check_answer(sd.id) {
                AnswerCheck::Apply => self.act(Action::ApplyAnswer(sd.sdp)),
                AnswerCheck::Stale => tracing::debug!(id = sd.id, "answer to an older offer ignored"),
            },
            Resp::Trickle(t) => self.on_trickle(t),
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
                use proto::leave_request::Action as LeaveAction;
                let action = LeaveAction::try_from(l.action).unwrap_or(LeaveAction::Disconnect);
                tracing::info!(?reason, ?action, "server asked us to leave");
                match action {
                    LeaveAction::Resume if self.ready.is_none() => self.connection_lost(now, false, reason),
                    LeaveAction::Reconnect if self.ready.is_none() => self.connection_lost(now, true, reason),
                    _ => {
                        self.fail_ready(EngineError::Rejected(format!("server sent leave ({reason:?})")));
                        self.stop(Stop::Remote(reason));
                    }
                }
            }
            Resp::TrackPublished(t) => self.on_track_published(t),
            Resp::SpeakersChanged(s) => self.on_speakers(s.speakers),
            Resp::TrackSubscribed(t) => self.on_track_subscribed(&t.track_sid),
            Resp::RequestResponse(r) => self.on_request_response(r),
            // Keep-alives and hints this client has no use for.
            _ => {}
        }
    }

    fn on_trickle(&mut self, t: proto::TrickleRequest) {
        let Some(c) = pc::candidate_from_json(&t.candidate_init) else { return };
        let target = if t.target == Target::Subscriber as i32 { Target::Subscriber } else { Target::Publisher };
        let negotiation = match target {
            Target::Subscriber => &mut self.subscriber,
            Target::Publisher => &mut self.publisher,
        };
        match negotiation.remote_candidate(c) {
            Ok(Some(c)) => self.act(Action::AddCandidate(target, c)),
            Ok(None) => {}
            Err(_) => tracing::warn!(?target, "too many ICE candidates before the remote description; dropped"),
        }
    }

    fn on_track_subscribed(&mut self, track_sid: &str) {
        let publication = self.shared.local.track_publications().into_iter().find(|p| p.sid() == track_sid);
        if let Some(publication) = publication {
            if !*publication.0.subscribed.borrow() {
                publication.0.subscribed.send_replace(true);
                self.emit(RoomEvent::LocalTrackSubscribed { publication });
            }
        }
    }

    fn on_request_response(&mut self, r: proto::RequestResponse) {
        if let Some(proto::request_response::Request::AddTrack(req)) = &r.request {
            if let Some(p) = self.pending_publishes.remove(&req.cid) {
                let _ = p.done.send(Err(PublishError::Rejected(r.message.clone()).into()));
            }
            return;
        }
        if let Some(pending) = self.requests.remove(&r.request_id) {
            let ok = r.reason == proto::request_response::Reason::Ok as i32;
            let _ = pending.done.send(if ok { Ok(()) } else { Err(EngineError::Rejected(r.message)) });
        }
    }

    /// Offers the publisher PC; one offer in flight, a change meanwhile re-offers after.
    pub(super) fn negotiate_publisher(&mut self) {
        if self.publisher.want_offer() {
            self.act(Action::CreateOffer { ice_restart: false });
        }
    }

    fn trickle(&mut self, target: Target, init: &RTCIceCandidateInit) {
        let mid = match target {
            Target::Subscriber => self.subscriber.first_mid(),
            Target::Publisher => self.publisher.first_mid(),
        };
        let trickle = proto::TrickleRequest {
            candidate_init: pc::candidate_to_json(init, mid),
            target: target as i32,
            r#final: false,
        };
        self.send(Req::Trickle(trickle));
    }

    pub(super) fn on_transport(&mut self, now: Instant, ev: TransportEvent) {
        match ev {
            TransportEvent::Candidate(target, init) => {
                if target == Target::Publisher && !self.publisher.remote_set() {
                    self.held_candidates.push(init);
                } else {
                    self.trickle(target, &init);
                }
            }
            TransportEvent::Gathered { target, relay } => self.on_gathered(target, relay),
            TransportEvent::State(target, state) => self.on_pc_state(now, target, state),
            TransportEvent::Track { stream_id, rtp } => self.on_remote_track(&stream_id, rtp),
            TransportEvent::OfferReady(Ok(sdp)) => {
                let sdp = crate::ice::filter_sdp(self.config.ice.policy, &sdp);
                let id = self.publisher.offer_created(&sdp);
                self.send(Req::Offer(proto::SessionDescription {
                    r#type: "offer".into(),
                    sdp,
                    id,
                    ..Default::default()
                }));
            }
            TransportEvent::OfferReady(Err(e)) => {
                tracing::warn!(error = %e, "publisher offer failed");
                self.fail_ready(e);
            }
            TransportEvent::AnswerApplied(Ok(())) => {
                let applied = self.publisher.answer_applied();
                for c in std::mem::take(&mut self.held_candidates) {
                    self.trickle(Target::Publisher, &c);
                }
                for c in applied.candidates {
                    self.act(Action::AddCandidate(Target::Publisher, c));
                }
                if applied.reoffer {
                    self.negotiate_publisher();
                }
                if std::mem::take(&mut self.restart_pending) {
                    self.check_reconnected();
                }
            }
            TransportEvent::AnswerApplied(Err(e)) => {
                tracing::warn!(error = %e, "publisher answer rejected");
                self.negotiation_failed(now, e);
            }
            TransportEvent::SubscriberAnswer { id, sdp: Ok(sdp) } => {
                let sdp = crate::ice::filter_sdp(self.config.ice.policy, &sdp);
                for c in self.subscriber.answer_created(&sdp) {
                    self.act(Action::AddCandidate(Target::Subscriber, c));
                }
                let answer = proto::SessionDescription { r#type: "answer".into(), sdp, id, ..Default::default() };
                self.send(Req::Answer(answer));
            }
            TransportEvent::SubscriberAnswer { sdp: Err(e), .. } => {
                tracing::warn!(error = %e, "cannot answer subscriber offer");
                self.negotiation_failed(now, e);
            }
            TransportEvent::TransceiverAdded { cid, sender } => self.on_transceiver_added(cid, sender),
        }
    }

    fn on_gathered(&mut self, target: Target, relay: u32) {
        if self.config.ice.policy != IceTransportPolicy::Relay || relay > 0 {
            return;
        }
        let e: EngineError = ConnectError::IceConfig(format!(
            "no relay candidate could be gathered from {} (wrong credentials, or the TURN server is unreachable)",
            self.config.ice.usable_turn_urls().join(", ")
        ))
        .into();
        tracing::warn!(?target, "{e}");
        if self.ready.is_some() {
            self.fail_ready(e);
            self.stop(Stop::Remote(proto::DisconnectReason::ConnectionTimeout));
        }
    }

    /// A negotiation step failed: a reconnect if connected (or reconnecting), the end
    /// while joining.
    fn negotiation_failed(&mut self, now: Instant, e: EngineError) {
        if self.ready.is_some() {
            self.fail_ready(e);
            self.stop(Stop::Remote(proto::DisconnectReason::StateMismatch));
        } else {
            self.connection_lost(now, true, proto::DisconnectReason::StateMismatch);
        }
    }

    fn on_pc_state(&mut self, now: Instant, target: Target, state: RTCPeerConnectionState) {
        tracing::debug!(?target, %state, "peer connection state");
        let up = state == RTCPeerConnectionState::Connected;
        match target {
            Target::Publisher => self.pub_connected = up,
            Target::Subscriber => self.sub_connected = up,
        }
        match state {
            RTCPeerConnectionState::Connected => {
                if self.pub_connected && self.sub_connected {
                    self.pc_down_since = None;
                }
                self.check_ready();
            }
            RTCPeerConnectionState::Failed if self.ready.is_some() => {
                self.fail_ready(EngineError::rtc(format!("{target:?} peer connection failed")));
                self.stop(Stop::Remote(proto::DisconnectReason::ConnectionTimeout));
            }
            RTCPeerConnectionState::Failed if !self.attempting => {
                self.connection_lost(now, false, proto::DisconnectReason::ConnectionTimeout);
            }
            RTCPeerConnectionState::Disconnected => {
                self.pc_down_since.get_or_insert(now);
            }
            _ => {}
        }
    }

    fn on_remote_track(&mut self, stream_id: &str, rtp: Arc<dyn TrackRemote>) {
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

    pub(super) fn attach_track(
        &mut self,
        participant: RemoteParticipant,
        publication: RemoteTrackPublication,
        rtp: Arc<dyn TrackRemote>,
    ) {
        let info = publication.info();
        let decryptor = self.decryptor(&participant.identity(), &info);
        let track = RemoteTrack::new(&participant.identity(), &info, rtp, decryptor);
        publication.0.state.lock().track = Some(track.clone());
        self.emit(RoomEvent::TrackSubscribed { participant, publication, track });
    }
}
