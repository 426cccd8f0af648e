//! User data packets: sending on the publisher's channels, receiving from the subscriber's.

use bytes::BytesMut;
use livekit_protocol as proto;
use prost::Message as _;

use super::{RoomTask, DC_OPEN_TIMEOUT, MAX_DATA_PACKET};
use crate::error::{bounded, EngineError, Result};
use crate::events::RoomEvent;
use crate::types::{DataKind, DataOptions};

impl RoomTask {
    pub(super) async fn publish_data(&mut self, payload: Vec<u8>, options: DataOptions) -> Result<()> {
        let kind = if options.reliable { DataKind::Reliable } else { DataKind::Lossy };
        let identity = self.shared.local.identity();
        if options.reliable {
            self.sequence += 1;
        }
        #[allow(deprecated)]
        let packet = proto::DataPacket {
            kind: if options.reliable { 0 } else { 1 },
            participant_identity: identity.clone(),
            destination_identities: options.destination_identities.clone(),
            sequence: if options.reliable { self.sequence } else { 0 },
            value: Some(proto::data_packet::Value::User(proto::UserPacket {
                payload,
                topic: options.topic,
                participant_identity: identity,
                destination_identities: options.destination_identities,
                ..Default::default()
            })),
            ..Default::default()
        };
        let bytes = packet.encode_to_vec();
        if bytes.len() > MAX_DATA_PACKET {
            return Err(EngineError::InvalidArgument(format!(
                "data packet of {} bytes exceeds the {MAX_DATA_PACKET}-byte limit; split it or use a byte stream",
                bytes.len()
            )));
        }
        let (dc, open) = match kind {
            DataKind::Reliable => (self.reliable.clone(), self.pub_dcs[0].clone()),
            DataKind::Lossy => (self.lossy.clone(), self.pub_dcs[1].clone()),
        };
        let mut open = open;
        match bounded("the data channel to open", DC_OPEN_TIMEOUT, open.wait_for(|o| *o)).await {
            Ok(Ok(_)) => {}
            Ok(Err(_)) => return Err(EngineError::Disconnected),
            Err(e) => return Err(e),
        }
        dc.send(BytesMut::from(&bytes[..])).await.map_err(|_| EngineError::Disconnected)
    }

    pub(super) fn on_data(&mut self, kind: DataKind, bytes: &[u8]) {
        let packet = match proto::DataPacket::decode(bytes) {
            Ok(p) => p,
            Err(e) => {
                tracing::debug!(error = %e, "malformed data packet dropped");
                return;
            }
        };
        #[allow(deprecated)]
        if let Some(proto::data_packet::Value::User(user)) = packet.value {
            let identity = if packet.participant_identity.is_empty() {
                user.participant_identity.clone()
            } else {
                packet.participant_identity.clone()
            };
            let participant = {
                let remotes = self.shared.remotes.lock().unwrap();
                remotes
                    .iter()
                    .find(|p| (!identity.is_empty() && p.identity() == identity) || p.sid() == packet.participant_sid)
                    .cloned()
            };
            self.emit(RoomEvent::DataReceived { payload: user.payload, participant, kind, topic: user.topic });
        }
    }
}
