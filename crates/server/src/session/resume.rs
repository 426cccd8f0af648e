//! Resuming. A participant whose signal connection is lost without a `leave` (socket
//! closed or failed, or silent past the ping timeout) stays in the room — tracks,
//! subscriptions, peer connections — for `Timing::resume_window`. A client that comes back
//! in that time with its sid (v0 `reconnect=1&sid=…`, v1 a join request with `reconnect`
//! and `participant_sid`) gets its session on the new socket: a
//! `ReconnectResponse` (with the last reliable data sequence received, so that it resends
//! only what was lost), the room as it is now, and (v0) an ICE restart of the subscriber
//! PC; its own offer with new ICE credentials is answered as any offer. Frames
//! queued for the lost socket are dropped: the fresh state replaces them.
//!
//! Also the server side of `SimulateScenario`, which clients use to test all this.

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use livekit_protocol as proto;
use proto::leave_request::Action;
use proto::signal_response::Message as Resp;
use proto::simulate_scenario::Scenario;
use tokio::sync::mpsc;

use super::link::{self, Link};
use super::{client_configuration, server_info, Reason, Session};
use crate::participant::{Outbound, Resumed};

/// How long a participant that lost its signal connection is kept for a resume (default).
pub const RESUME_WINDOW: Duration = Duration::from_secs(10);

/// A session's resume state.
pub(super) struct Resume {
    /// Bytes queued for the socket (shared with the participant's sender).
    queued: Arc<AtomicUsize>,
    /// The outbound queue while no socket serves it.
    parked: Option<mpsc::UnboundedReceiver<Outbound>>,
    /// When the socket was lost (`None` while one is attached).
    since: Option<Instant>,
    /// `SimulateScenario.disconnect_signal_on_resume`: close the next resuming socket
    /// without an answer.
    drop_next: bool,
}

impl Resume {
    pub(super) fn new(queued: Arc<AtomicUsize>) -> Self {
        Self { queued, parked: None, since: None, drop_next: false }
    }
}

impl Session {
    /// The socket is gone: keep the participant for a resume, or end with `reason` when
    /// the window is zero.
    pub(super) async fn signal_lost(&mut self, why: &'static str, reason: Reason) -> Option<Reason> {
        let link = self.link.take()?;
        self.park(link.detach().await, why, reason)
    }

    fn park(&mut self, out: Option<mpsc::UnboundedReceiver<Outbound>>, why: &str, reason: Reason) -> Option<Reason> {
        let window = self.shared.timing.resume_window;
        let Some(out) = out.filter(|_| !window.is_zero()) else { return Some(reason) };
        self.resume.parked = Some(out);
        self.resume.since = Some(Instant::now());
        tracing::info!(identity = %self.p.identity(), why, window_ms = window.as_millis() as u64, "signal connection lost; kept for a resume");
        None
    }

    /// Once a second: the ping timeout while a socket is attached, the resume window
    /// while none is.
    pub(super) async fn check_signal(&mut self) -> Option<Reason> {
        match self.resume.since {
            Some(since) if since.elapsed() >= self.shared.timing.resume_window => {
                tracing::info!(identity = %self.p.identity(), "not resumed in time");
                Some(Reason::SignalClose)
            }
            Some(_) => None,
            None if self.last_seen.elapsed() > Duration::from_secs(self.shared.timing.ping_timeout.into()) => {
                tracing::info!(identity = %self.p.identity(), "ping timeout");
                self.signal_lost("ping timeout", Reason::ConnectionTimeout).await
            }
            None => None,
        }
    }

    /// The client is back on a new socket.
    pub(super) async fn resume(&mut self, resumed: Resumed) -> Option<Reason> {
        let Resumed { ws, v1, offer } = resumed;
        if v1 != self.single() {
            // A session is resumed with the signalling it joined with.
            tokio::spawn(link::refuse_resume(ws));
            return None;
        }
        if self.link.is_some() {
            // The client saw the loss before we did: its old socket is dead to it.
            if let Some(reason) = self.signal_lost("replaced by a resume", Reason::SignalClose).await {
                tokio::spawn(link::refuse_resume(ws));
                return Some(reason);
            }
        }
        let Some(mut out) = self.resume.parked.take() else {
            tokio::spawn(link::refuse_resume(ws));
            return None;
        };
        if std::mem::take(&mut self.resume.drop_next) {
            tracing::info!(identity = %self.p.identity(), "resume dropped (simulated)");
            self.resume.parked = Some(out);
            drop(ws);
            return None;
        }
        let dropped = link::discard(&mut out, &self.resume.queued);
        self.link = Some(Link::open(ws, out, self.resume.queued.clone()));
        self.resume.since = None;
        self.last_seen = Instant::now();
        tracing::info!(identity = %self.p.identity(), sid = %self.p.sid, dropped, "participant resumed");
        self.p.send(Resp::Reconnect(proto::ReconnectResponse {
            ice_servers: self.shared.ice.servers.clone(),
            client_configuration: Some(client_configuration(&self.shared)),
            server_info: Some(server_info(&self.shared)),
            last_message_seq: self.p.last_reliable_seq(),
        }));
        // What the lost socket may have missed: the room and everyone in it, as they are.
        self.p.send(Resp::RoomUpdate(proto::RoomUpdate { room: Some(self.room.to_proto()) }));
        let mut participants = vec![self.p.info()];
        participants.extend(self.room.others(&self.p.sid).iter().filter(|o| !o.grant.hidden).map(|o| o.info()));
        self.p.send(Resp::Update(proto::ParticipantUpdate { participants }));
        self.pub_neg.reset();
        self.sub_neg.reset();
        if self.single() {
            // v1: the client offers (ICE restart included), with the join request or after.
            return match offer {
                Some(offer) => self.on_publisher_offer(offer).await,
                None => None,
            };
        }
        self.offer_subscriber(true).await;
        None
    }

    /// `SimulateScenario`, as livekit-server acts on it.
    pub(super) async fn simulate(&mut self, s: proto::SimulateScenario) -> Option<Reason> {
        let scenario = s.scenario?;
        tracing::info!(identity = %self.p.identity(), ?scenario, "simulating");
        match scenario {
            // The node is gone: the socket closes with no word and nothing can be resumed.
            Scenario::NodeFailure(_) => return Some(Reason::SignalClose),
            // The session moves: the client is told to resume, and may.
            Scenario::Migration(_) => {
                self.p.send(Resp::Leave(leave(Reason::Migration, Action::Resume)));
                self.p.close_socket();
                let link = self.link.take()?;
                return self.park(link.flush().await, "migration", Reason::Migration);
            }
            Scenario::ServerLeave(_) => {
                self.p.send(Resp::Leave(leave(Reason::ServerShutdown, Action::Disconnect)));
                self.p.close_socket();
                return Some(Reason::ServerShutdown);
            }
            Scenario::LeaveRequestFullReconnect(_) => {
                self.p.send(Resp::Leave(leave(Reason::StateMismatch, Action::Reconnect)));
                self.p.close_socket();
                return Some(Reason::StateMismatch);
            }
            Scenario::DisconnectSignalOnResume(_) | Scenario::DisconnectSignalOnResumeNoMessages(_) => {
                self.resume.drop_next = true;
            }
            Scenario::SpeakerUpdate(_) | Scenario::SwitchCandidateProtocol(_) | Scenario::SubscriberBandwidth(_) => {
                tracing::warn!(identity = %self.p.identity(), ?scenario, "scenario not simulated by lkrtc-server");
            }
        }
        None
    }
}

fn leave(reason: Reason, action: Action) -> proto::LeaveRequest {
    proto::LeaveRequest {
        can_reconnect: action != Action::Disconnect,
        reason: reason as i32,
        action: action as i32,
        regions: None,
    }
}
