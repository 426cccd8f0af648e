//! A participant as the room sees it: identity, grants, published tracks, and the two
//! channels that reach its session task (signal frames out, commands in).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use bytes::Bytes;
use livekit_protocol as proto;
use proto::participant_info::State as PState;
use tokio::sync::mpsc;

use crate::auth::JoinGrant;
use crate::ids;
use crate::limits::{MAX_PENDING_TRACKS, MAX_SIGNAL_QUEUE_BYTES};
use crate::track::PublishedTrack;

/// Work for a participant's session task, sent by the room or by other sessions.
pub enum Cmd {
    /// Subscribe this participant to a track (add it to the subscriber PC).
    Subscribe(Arc<PublishedTrack>),
    /// Stop forwarding a track to this participant.
    Unsubscribe(String),
    /// The participant with this sid changed who may subscribe to its tracks: revoke the
    /// subscriptions no longer allowed, make the refused ones that now are.
    PermissionsChanged(String),
    /// Leave the room: tell the client why, then close.
    Kick(proto::DisconnectReason),
    /// The client came back on a new socket (`reconnect=1` with this participant's sid).
    Resume(Box<Resumed>),
}

/// A resuming client's new socket.
pub struct Resumed {
    /// The socket.
    pub ws: axum::extract::ws::WebSocket,
    /// Whether it came on `/rtc/v1` (it must match the session's signalling).
    pub v1: bool,
    /// v1: the offer the join request carried (with new ICE credentials), if any.
    pub offer: Option<proto::SessionDescription>,
}

/// A frame for the WebSocket writer.
pub enum Outbound {
    /// A signal response (boxed: join responses are large, the other frames small) and
    /// the bytes it counts against the queue limit.
    Signal(Box<proto::signal_response::Message>, usize),
    /// Close the socket after everything queued before it.
    Close,
    /// Close with a WebSocket close code and a reason the client can show.
    CloseWith(u16, String),
}

/// Data channel kinds (the channel a packet travels on).
pub use lkrtc_transport::data::Channel as DataKind;

/// A participant in a room.
pub struct Participant {
    /// `PA_` sid.
    pub sid: String,
    /// What the token allows.
    pub grant: JoinGrant,
    /// Whether the server subscribes it to everything automatically.
    pub auto_subscribe: bool,
    /// Whether its subscriptions reuse the transceivers of ended ones (`session::slots`).
    pub reuse_transceivers: bool,
    out: mpsc::UnboundedSender<Outbound>,
    /// Bytes of signal responses queued for the WebSocket writer ([`MAX_SIGNAL_QUEUE_BYTES`]).
    queued: Arc<AtomicUsize>,
    /// The queue overflowed: the session was told to end and nothing more is queued.
    overflowed: AtomicBool,
    /// The highest reliable data sequence received from the client (for a resume).
    reliable_seq: AtomicU32,
    cmd: mpsc::UnboundedSender<Cmd>,
    data: mpsc::Sender<(DataKind, Bytes)>,
    state: Mutex<State>,
}

struct State {
    info: proto::ParticipantInfo,
    /// Tracks carrying media, in publish order.
    live: Vec<Arc<PublishedTrack>>,
    /// `add_track` requests waiting for media, by cid.
    pending: HashMap<String, proto::TrackInfo>,
    /// Pending cids a publisher offer has carried as sending (an `add_track` comes before
    /// the offer that carries its track: only one that was offered can be withdrawn).
    offered: std::collections::HashSet<String>,
    /// Who may subscribe to its tracks, by subscriber identity; `None`: everyone (the
    /// default, and `all_participants`).
    permissions: Option<HashMap<String, proto::TrackPermission>>,
}

/// The parts of a join request that shape the participant.
pub struct JoinParams {
    /// Verified grant.
    pub grant: JoinGrant,
    /// `auto_subscribe` query parameter (default true).
    pub auto_subscribe: bool,
    /// `client_protocol` query parameter.
    pub client_protocol: i32,
    /// Whether the client takes a new track on a reused m-section, as livekit-server
    /// decides it: protocol > 3 and not Safari.
    pub reuse_transceivers: bool,
}

/// The receiving ends a session task needs.
pub struct Channels {
    /// Frames for the WebSocket.
    pub out: mpsc::UnboundedReceiver<Outbound>,
    /// Bytes queued in `out`; the writer subtracts what it sent.
    pub queued: Arc<AtomicUsize>,
    /// Commands for the session.
    pub cmd: mpsc::UnboundedReceiver<Cmd>,
    /// Data packets to deliver on this participant's subscriber data channels.
    pub data: mpsc::Receiver<(DataKind, Bytes)>,
}

/// Packets queued per recipient before the sender waits (reliable) or drops (lossy).
pub const DATA_QUEUE: usize = 1024;

impl Participant {
    /// A new participant (state JOINING, version 1).
    pub fn new(params: JoinParams) -> (Arc<Self>, Channels) {
        let (out_tx, out_rx) = mpsc::unbounded_channel();
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (data_tx, data_rx) = mpsc::channel(DATA_QUEUE);
        let queued = Arc::new(AtomicUsize::new(0));
        let g = &params.grant;
        let now = ids::now_ms();
        let info = proto::ParticipantInfo {
            sid: ids::participant_sid(),
            identity: g.identity.clone(),
            state: PState::Joining as i32,
            metadata: g.metadata.clone(),
            joined_at: now / 1000,
            joined_at_ms: now,
            name: g.name.clone(),
            version: 1,
            permission: Some(proto::ParticipantPermission {
                can_subscribe: g.can_subscribe,
                can_publish: g.can_publish,
                can_publish_data: g.can_publish_data,
                can_publish_sources: g.can_publish_sources.iter().map(|s| *s as i32).collect(),
                hidden: g.hidden,
                can_update_metadata: g.can_update_metadata,
                agent: g.agent,
                ..Default::default()
            }),
            kind: kind_of(&g.kind, g.agent) as i32,
            attributes: g.attributes.clone(),
            client_protocol: params.client_protocol,
            ..Default::default()
        };
        let p = Arc::new(Self {
            sid: info.sid.clone(),
            grant: params.grant,
            auto_subscribe: params.auto_subscribe,
            reuse_transceivers: params.reuse_transceivers,
            out: out_tx,
            queued: queued.clone(),
            overflowed: AtomicBool::new(false),
            reliable_seq: AtomicU32::new(0),
            cmd: cmd_tx,
            data: data_tx,
            state: Mutex::new(State {
                info,
                live: Vec::new(),
                pending: HashMap::new(),
                offered: Default::default(),
                permissions: None,
            }),
        });
        (p, Channels { out: out_rx, queued, cmd: cmd_rx, data: data_rx })
    }

    /// Identity from the token.
    pub fn identity(&self) -> &str {
        &self.grant.identity
    }

    /// Queues a signal response for the client (dropped if the session is gone). A client
    /// that does not read fills its queue; past [`MAX_SIGNAL_QUEUE_BYTES`] its session is
    /// ended (the others see it leave) and nothing more is queued.
    pub fn send(&self, msg: proto::signal_response::Message) {
        if self.overflowed.load(Ordering::Relaxed) {
            return;
        }
        let resp = proto::SignalResponse { message: Some(msg) };
        let size = prost::Message::encoded_len(&resp) + 16;
        let queued = self.queued.fetch_add(size, Ordering::AcqRel) + size;
        if queued > MAX_SIGNAL_QUEUE_BYTES {
            self.queued.fetch_sub(size, Ordering::AcqRel);
            if !self.overflowed.swap(true, Ordering::AcqRel) {
                tracing::warn!(identity = %self.identity(), queued, "signal queue full (the client does not read): dropping it");
                self.command(Cmd::Kick(proto::DisconnectReason::SignalClose));
            }
            return;
        }
        if let Some(msg) = resp.message {
            let _ = self.out.send(Outbound::Signal(Box::new(msg), size));
        }
    }

    /// Records a reliable data packet's sequence as received.
    pub fn received_reliable(&self, sequence: u32) {
        self.reliable_seq.fetch_max(sequence, Ordering::AcqRel);
    }

    /// The highest reliable data sequence received from the client.
    pub fn last_reliable_seq(&self) -> u32 {
        self.reliable_seq.load(Ordering::Acquire)
    }

    /// Asks the WebSocket writer to close after what is queued.
    pub fn close_socket(&self) {
        let _ = self.out.send(Outbound::Close);
    }

    /// Closes the socket with a code and a reason (bad input from the client).
    pub fn close_with(&self, code: u16, reason: String) {
        // WebSocket close reasons are limited to 123 bytes.
        let mut reason = reason;
        while reason.len() > 123 {
            reason.pop();
        }
        let _ = self.out.send(Outbound::CloseWith(code, reason));
    }

    /// Queues work for the session task (dropped if the session is gone).
    pub fn command(&self, cmd: Cmd) {
        let _ = self.cmd.send(cmd);
    }

    /// Queues a data packet for delivery to this participant.
    pub async fn deliver(&self, kind: DataKind, bytes: Bytes) {
        match kind {
            // Reliable: wait for room in the queue (backpressure on the sender).
            DataKind::Reliable => {
                let _ = self.data.send((kind, bytes)).await;
            }
            DataKind::Lossy => {
                let _ = self.data.try_send((kind, bytes));
            }
        }
    }

    /// Snapshot of the participant info, with its live tracks.
    pub fn info(&self) -> proto::ParticipantInfo {
        let st = self.state.lock();
        let mut info = st.info.clone();
        info.tracks = st.live.iter().map(|t| t.info()).collect();
        info.is_publisher = !st.live.is_empty();
        info
    }

    /// Applies `f` to the info, bumps its version, and returns the new snapshot.
    pub fn update_info(&self, f: impl FnOnce(&mut proto::ParticipantInfo)) -> proto::ParticipantInfo {
        {
            let mut st = self.state.lock();
            f(&mut st.info);
            st.info.version += 1;
        }
        self.info()
    }

    /// Marks the participant active (after the join response went out).
    pub fn mark_active(&self) -> proto::ParticipantInfo {
        self.update_info(|i| i.state = PState::Active as i32)
    }

    /// Marks it disconnected; returns the final info (no tracks) for the others.
    pub fn mark_disconnected(&self, reason: proto::DisconnectReason) -> proto::ParticipantInfo {
        let mut info = self.update_info(|i| {
            i.state = PState::Disconnected as i32;
            i.disconnect_reason = reason as i32;
        });
        info.tracks.clear();
        info
    }

    /// Whether it publishes anything.
    pub fn has_published(&self) -> bool {
        !self.state.lock().live.is_empty()
    }

    /// Whether [`MAX_PENDING_TRACKS`] `add_track` requests already wait for media.
    pub fn pending_full(&self) -> bool {
        self.state.lock().pending.len() >= MAX_PENDING_TRACKS
    }

    /// Records an `add_track` request awaiting media. Returns false if `cid` is pending.
    pub fn add_pending(&self, cid: &str, info: proto::TrackInfo) -> bool {
        let mut st = self.state.lock();
        if st.pending.contains_key(cid) {
            return false;
        }
        st.pending.insert(cid.to_string(), info);
        true
    }

    /// Finds the pending track that incoming media belongs to: msid track id == cid,
    /// else the first pending track of the same kind.
    pub fn take_pending(&self, track_id: &str, kind: proto::TrackType) -> Option<(String, proto::TrackInfo)> {
        let mut st = self.state.lock();
        if let Some(info) = st.pending.remove(track_id) {
            st.offered.remove(track_id);
            return Some((track_id.to_string(), info));
        }
        let cid = st.pending.iter().find(|(_, t)| t.r#type == kind as i32).map(|(c, _)| c.clone())?;
        st.offered.remove(&cid);
        st.pending.remove(&cid).map(|info| (cid, info))
    }

    /// Reads a publisher offer's sending track ids: pending tracks it carries are marked
    /// offered, and pending tracks an earlier offer carried but this one no longer does
    /// (unpublished before their first media) are dropped. Returns how many were dropped.
    pub fn withdraw_pending(&self, sending: &[String]) -> usize {
        let mut st = self.state.lock();
        let st = &mut *st;
        let before = st.pending.len();
        let offered = &mut st.offered;
        st.pending.retain(|cid, _| {
            if sending.iter().any(|id| id == cid) {
                offered.insert(cid.clone());
                true
            } else {
                !offered.remove(cid)
            }
        });
        offered.retain(|cid| st.pending.contains_key(cid));
        before - st.pending.len()
    }

    /// Makes `track` live (it carries media) and bumps the version.
    pub fn add_live(&self, track: Arc<PublishedTrack>) {
        let mut st = self.state.lock();
        st.live.push(track);
        st.info.version += 1;
    }

    /// Removes a live (or pending) track by sid; bumps the version.
    pub fn remove_track(&self, sid: &str) -> Option<Arc<PublishedTrack>> {
        let mut st = self.state.lock();
        let st = &mut *st;
        st.pending.retain(|_, t| t.sid != sid);
        st.offered.retain(|cid| st.pending.contains_key(cid));
        let pos = st.live.iter().position(|t| t.sid == sid)?;
        st.info.version += 1;
        Some(st.live.remove(pos))
    }

    /// A live track by sid.
    pub fn track(&self, sid: &str) -> Option<Arc<PublishedTrack>> {
        self.state.lock().live.iter().find(|t| t.sid == sid).cloned()
    }

    /// Every live track.
    pub fn tracks(&self) -> Vec<Arc<PublishedTrack>> {
        self.state.lock().live.clone()
    }

    /// Takes every live and pending track (the participant is leaving).
    pub fn take_tracks(&self) -> Vec<Arc<PublishedTrack>> {
        let mut st = self.state.lock();
        st.pending.clear();
        st.offered.clear();
        std::mem::take(&mut st.live)
    }

    /// Replaces who may subscribe to its tracks (`None`: everyone).
    pub fn set_permissions(&self, permissions: Option<HashMap<String, proto::TrackPermission>>) {
        self.state.lock().permissions = permissions;
    }

    /// Whether the participant `subscriber` (an identity) may subscribe to its track
    /// `track_sid`, as livekit-server decides it: everyone when no permissions were set,
    /// else only identities listed with `all_tracks` or with the track in `track_sids`.
    pub fn allows(&self, track_sid: &str, subscriber: &str) -> bool {
        match &self.state.lock().permissions {
            None => true,
            Some(by_identity) => {
                by_identity.get(subscriber).is_some_and(|p| p.all_tracks || p.track_sids.iter().any(|s| s == track_sid))
            }
        }
    }

    /// Bumps the version after a track changed (mute).
    pub fn touch(&self) -> proto::ParticipantInfo {
        self.update_info(|_| {})
    }
}

/// The `kind` claim as livekit-server maps it ("sip" → SIP...); an agent grant makes an
/// agent; anything unknown is a standard participant.
fn kind_of(claim: &str, agent: bool) -> proto::participant_info::Kind {
    use proto::participant_info::Kind;
    match claim {
        "ingress" => Kind::Ingress,
        "egress" => Kind::Egress,
        "sip" => Kind::Sip,
        "agent" => Kind::Agent,
        "connector" => Kind::Connector,
        "bridge" => Kind::Bridge,
        _ if agent => Kind::Agent,
        _ => Kind::Standard,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::JoinGrant;

    fn participant() -> Arc<Participant> {
        let grant = JoinGrant::publisher("alice", "r");
        Participant::new(JoinParams { grant, auto_subscribe: true, client_protocol: 0, reuse_transceivers: true }).0
    }

    fn video(sid: &str) -> proto::TrackInfo {
        proto::TrackInfo { sid: sid.into(), r#type: proto::TrackType::Video as i32, ..Default::default() }
    }

    #[test]
    fn a_track_unpublished_before_its_media_leaves_the_pending_list() {
        let p = participant();
        let ids = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(p.add_pending("A", video("TR_A")));
        // The offer carrying A comes after its add_track: an offer without it (an earlier
        // renegotiation crossing) does not withdraw it.
        assert_eq!(p.withdraw_pending(&ids(&[])), 0);
        assert_eq!(p.withdraw_pending(&ids(&["A"])), 0);
        assert!(p.add_pending("B", video("TR_B")));
        // A's m-section stops sending before any media came: gone; B was never offered.
        assert_eq!(p.withdraw_pending(&ids(&[])), 1);
        assert!(p.take_pending("A", proto::TrackType::Video).is_some_and(|(cid, _)| cid == "B"));
        assert!(p.take_pending("A", proto::TrackType::Video).is_none());
        // Publishing and withdrawing many never fills the pending list.
        for i in 0..(2 * MAX_PENDING_TRACKS) {
            let cid = format!("C{i}");
            assert!(!p.pending_full());
            assert!(p.add_pending(&cid, video(&format!("TR_{i}"))));
            assert_eq!(p.withdraw_pending(&[cid]), 0);
            assert_eq!(p.withdraw_pending(&[]), 1);
        }
    }
}
