//! Peer-connection callbacks as one event enum, tagged with the peer connection.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use livekit_protocol as proto;
use tokio::sync::mpsc;
use webrtc::data_channel::DataChannel;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    PeerConnectionEventHandler, RTCIceCandidateInit, RTCIceGatheringState, RTCPeerConnectionIceEvent,
    RTCPeerConnectionState,
};

/// Which of a participant's two peer connections (the protocol's `SignalTarget`).
pub type Target = proto::SignalTarget;

/// Decides whether a gathered local candidate (its `candidate:` line) is reported.
pub type CandidateFilter = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// Something a peer connection reported, tagged with the one it came from.
pub enum PcEvent {
    /// A local candidate to trickle (one the options' filter lets through).
    Candidate(Target, RTCIceCandidateInit),
    /// Candidate gathering finished; `relay` counts the relay candidates gathered
    /// (filtered or not).
    Gathered {
        /// The peer connection.
        target: Target,
        /// Relay candidates gathered.
        relay: u32,
    },
    /// The connection state changed.
    State(Target, RTCPeerConnectionState),
    /// The remote side opened a data channel.
    DataChannel(Target, Arc<dyn DataChannel>),
    /// Remote media arrived.
    Track(Target, Arc<dyn TrackRemote>),
}

/// Forwards the stack's callbacks to a channel as [`PcEvent`]s.
pub(crate) struct Handler {
    pub(crate) target: Target,
    pub(crate) filter: Option<CandidateFilter>,
    pub(crate) relay: AtomicU32,
    pub(crate) tx: mpsc::UnboundedSender<PcEvent>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        let Ok(init) = event.candidate.to_json() else { return };
        if crate::candidate::candidate_type(&init.candidate) == Some("relay") {
            self.relay.fetch_add(1, Ordering::Relaxed);
        }
        if self.filter.as_ref().is_none_or(|allow| allow(&init.candidate)) {
            let _ = self.tx.send(PcEvent::Candidate(self.target, init));
        }
    }

    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let relay = self.relay.load(Ordering::Relaxed);
            let _ = self.tx.send(PcEvent::Gathered { target: self.target, relay });
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let _ = self.tx.send(PcEvent::State(self.target, state));
    }

    async fn on_data_channel(&self, dc: Arc<dyn DataChannel>) {
        let _ = self.tx.send(PcEvent::DataChannel(self.target, dc));
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let _ = self.tx.send(PcEvent::Track(self.target, track));
    }
}
