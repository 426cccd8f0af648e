//! Data packets: read from a participant's publisher data channels, stamped with the
//! sender, filtered by destination, and delivered on the recipients' subscriber data
//! channels of the same kind.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use livekit_protocol as proto;
use lkrtc_transport::data::{next_message, watch_open};
use prost::Message;
use tokio::sync::{mpsc, watch};
use webrtc::data_channel::DataChannel;

use crate::participant::{DataKind, Participant};
use crate::room::Room;
use crate::ServerShared;

/// How long a packet waits for a recipient's data channel to open before it is dropped.
const OPEN_WAIT: Duration = Duration::from_secs(15);

/// Per-sender state for the reliable channel.
#[derive(Default)]
pub struct SenderState {
    last_sequence: u32,
}

/// A packet ready to deliver: the bytes to send and who gets them.
#[derive(Debug, PartialEq)]
pub struct Routed {
    /// Re-encoded packet.
    pub bytes: Bytes,
    /// Identities it is limited to (empty: everyone else in the room).
    pub destinations: Vec<String>,
}

/// Applies the server's rewrite rules to one packet from `sender`. `None` means drop.
pub fn route(
    sender: &Participant,
    kind: DataKind,
    raw: &[u8],
    state: &mut SenderState,
) -> Result<Option<Routed>, prost::DecodeError> {
    let mut pkt = proto::DataPacket::decode(raw)?;
    if !sender.grant.can_publish_data {
        return Ok(None);
    }
    if kind == DataKind::Reliable && pkt.sequence > 0 {
        // Retransmitted after a resume: already delivered.
        if pkt.sequence <= state.last_sequence {
            return Ok(None);
        }
        state.last_sequence = pkt.sequence;
    }
    let identity = if sender.grant.hidden { String::new() } else { sender.identity().to_string() };
    pkt.participant_sid = sender.sid.clone();
    pkt.participant_identity = identity.clone();
    pkt.kind = match kind {
        DataKind::Reliable => proto::data_packet::Kind::Reliable as i32,
        DataKind::Lossy => proto::data_packet::Kind::Lossy as i32,
    };
    let mut destinations = pkt.destination_identities.clone();
    match pkt.value.as_mut() {
        Some(proto::data_packet::Value::User(user)) => {
            #[allow(deprecated)]
            {
                user.participant_sid = sender.sid.clone();
                user.participant_identity = identity;
                for d in &user.destination_identities {
                    if !destinations.contains(d) {
                        destinations.push(d.clone());
                    }
                }
                user.destination_identities = destinations.clone();
            }
        }
        // Metrics are for the server only.
        Some(proto::data_packet::Value::Metrics(_)) => return Ok(None),
        None => return Ok(None),
        _ => {}
    }
    pkt.destination_identities = destinations.clone();
    Ok(Some(Routed { bytes: Bytes::from(pkt.encode_to_vec()), destinations }))
}

/// Reads one publisher data channel of `p` until it closes, forwarding every packet.
pub async fn read_loop(_shared: Arc<ServerShared>, room: Arc<Room>, p: Arc<Participant>, dc: Arc<dyn DataChannel>) {
    let label = dc.label().await.unwrap_or_default();
    let Some(kind) = DataKind::from_label(&label) else {
        // Channels we do not route (e.g. `_data_track`) are drained so they never back up.
        while next_message(&dc).await.is_some() {}
        return;
    };
    let mut state = SenderState::default();
    while let Some(raw) = next_message(&dc).await {
        let routed = match route(&p, kind, &raw, &mut state) {
            Ok(Some(r)) => {
                if kind == DataKind::Reliable {
                    p.received_reliable(state.last_sequence);
                }
                r
            }
            Ok(None) => continue,
            Err(e) => {
                tracing::debug!(identity = %p.identity(), error = %crate::limits::clip(&e.to_string()), "malformed data packet dropped");
                continue;
            }
        };
        for other in room.others(&p.sid) {
            if routed.destinations.is_empty() || routed.destinations.iter().any(|d| d == other.identity()) {
                other.deliver(kind, routed.bytes.clone()).await;
            }
        }
    }
}

/// A data channel a participant receives data on, once it can be sent on.
pub struct Outlet(watch::Receiver<Option<Arc<dyn DataChannel>>>);

impl Outlet {
    /// A channel the server opened (v0 subscriber PC): usable while it is open. Nothing
    /// else may poll its events.
    pub fn opening(dc: Arc<dyn DataChannel>) -> Self {
        let mut open = watch_open(dc.clone());
        let (tx, rx) = watch::channel(None);
        tokio::spawn(async move {
            loop {
                let usable = (*open.borrow_and_update()).then(|| dc.clone());
                if tx.send(usable).is_err() || open.changed().await.is_err() {
                    break;
                }
            }
        });
        Self(rx)
    }

    /// A channel the client will open (v1): usable once `set` to it.
    pub fn pending() -> (watch::Sender<Option<Arc<dyn DataChannel>>>, Self) {
        let (tx, rx) = watch::channel(None);
        (tx, Self(rx))
    }
}

/// Sends queued packets on a participant's `_reliable` and `_lossy` channels, in order,
/// each once its channel is usable (dropped after [`OPEN_WAIT`] without).
pub async fn deliver_loop(mut rx: mpsc::Receiver<(DataKind, Bytes)>, reliable: Outlet, lossy: Outlet) {
    while let Some((kind, bytes)) = rx.recv().await {
        let outlet = match kind {
            DataKind::Reliable => &reliable,
            DataKind::Lossy => &lossy,
        };
        let mut ready = outlet.0.clone();
        let dc = match tokio::time::timeout(OPEN_WAIT, ready.wait_for(Option::is_some)).await {
            Ok(Ok(dc)) => dc.clone(),
            _ => None,
        };
        if let Some(dc) = dc {
            let _ = dc.send(BytesMut::from(&bytes[..])).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::JoinGrant;
    use crate::participant::JoinParams;

    fn participant(identity: &str, can_publish_data: bool, hidden: bool) -> Arc<Participant> {
        let grant = JoinGrant { can_publish_data, hidden, ..JoinGrant::publisher(identity, "r") };
        Participant::new(JoinParams { grant, auto_subscribe: true, client_protocol: 0, reuse_transceivers: true }).0
    }

    fn user_packet(seq: u32, dest: &[&str]) -> Vec<u8> {
        proto::DataPacket {
            participant_identity: "spoofed".into(),
            destination_identities: dest.iter().map(|s| s.to_string()).collect(),
            sequence: seq,
            value: Some(proto::data_packet::Value::User(proto::UserPacket {
                payload: b"hi".to_vec(),
                ..Default::default()
            })),
            ..Default::default()
        }
        .encode_to_vec()
    }

    #[test]
    fn stamps_sender_and_kind() {
        let p = participant("alice", true, false);
        let r = route(&p, DataKind::Lossy, &user_packet(0, &[]), &mut SenderState::default()).unwrap().unwrap();
        let pkt = proto::DataPacket::decode(r.bytes).unwrap();
        assert_eq!(pkt.participant_identity, "alice");
        assert_eq!(pkt.participant_sid, p.sid);
        assert_eq!(pkt.kind, proto::data_packet::Kind::Lossy as i32);
        assert!(r.destinations.is_empty());
    }

    #[test]
    fn drops_replayed_reliable_sequence_and_unauthorised_senders() {
        let p = participant("alice", true, false);
        let mut st = SenderState::default();
        assert!(route(&p, DataKind::Reliable, &user_packet(1, &[]), &mut st).unwrap().is_some());
        assert!(route(&p, DataKind::Reliable, &user_packet(2, &[]), &mut st).unwrap().is_some());
        assert!(route(&p, DataKind::Reliable, &user_packet(2, &[]), &mut st).unwrap().is_none());
        let muted = participant("bob", false, false);
        assert!(route(&muted, DataKind::Reliable, &user_packet(1, &[]), &mut st).unwrap().is_none());
    }

    #[test]
    fn keeps_destinations_and_hides_hidden_senders() {
        let p = participant("ghost", true, true);
        let r = route(&p, DataKind::Reliable, &user_packet(0, &["bob"]), &mut SenderState::default()).unwrap().unwrap();
        assert_eq!(r.destinations, vec!["bob".to_string()]);
        let pkt = proto::DataPacket::decode(r.bytes).unwrap();
        assert_eq!(pkt.participant_identity, "");
    }

    #[test]
    fn malformed_bytes_are_an_error_not_a_panic() {
        let p = participant("alice", true, false);
        assert!(route(&p, DataKind::Reliable, &[0xff, 0xff, 0xff], &mut SenderState::default()).is_err());
    }
}
