//! End-to-end encryption in the session: cryptors for published and subscribed tracks, data
//! packets sealed on the way out and opened on the way in, and the events (cryptor states,
//! participants' encryption status). Nothing happens without `ConnectOptions::encryption`.

use std::sync::Arc;

use livekit_protocol as proto;
use proto::data_packet::Value;

use super::Session;
use crate::e2ee::{E2eeError, EncryptionState};
use crate::events::RoomEvent;
use crate::media::{FrameTransform, LocalTrack};
use crate::objects::Participant;

impl Session {
    /// Announces encryption in the `AddTrack` of a track about to be published.
    pub(super) fn describe_encryption(&self, req: &mut proto::AddTrackRequest) {
        if self.shared.e2ee.is_some() {
            req.encryption = proto::encryption::Type::Gcm as i32;
        }
    }

    /// Installs the local participant's cryptor on a track the server accepted as `sid`
    /// (before its source starts sending).
    pub(super) fn encrypt_track(&self, track: &LocalTrack, sid: &str) {
        let Some(e2ee) = &self.shared.e2ee else { return };
        let cryptor = e2ee.cryptor(&self.shared.local.identity(), sid);
        track.set_frame_transform(Some(cryptor));
    }

    /// The cryptor that decrypts a subscribed track of `publisher`, if the track is
    /// encrypted and the room has encryption. An encrypted track in a room without it gets
    /// none: its frames reach the decoder as they are and do not decode.
    pub(super) fn decryptor(&self, publisher: &str, info: &proto::TrackInfo) -> Option<Arc<dyn FrameTransform>> {
        let e2ee = self.shared.e2ee.as_ref()?;
        if info.encryption == proto::encryption::Type::None as i32 {
            return None;
        }
        Some(e2ee.cryptor(publisher, &info.sid))
    }

    /// The value to send: sealed as an `EncryptedPacket` when the room encrypts.
    pub(super) fn seal_value(&self, value: Value) -> Result<Value, E2eeError> {
        match &self.shared.e2ee {
            Some(e2ee) => e2ee.seal_packet(&self.shared.local.identity(), value, super::unix_ms() as u64),
            None => Ok(value),
        }
    }

    /// The clear value of an encrypted packet from `sender`; `None` (and an
    /// `EncryptionStateChanged` event) when it does not decrypt or the room has no keys.
    pub(super) fn open_value(&mut self, sender: &str, packet: &proto::EncryptedPacket) -> Option<Value> {
        let Some(e2ee) = self.shared.e2ee.clone() else {
            tracing::debug!(%sender, "encrypted data packet dropped: the room has no encryption");
            return None;
        };
        match e2ee.open_packet(sender, packet) {
            Ok(value) => Some(value),
            Err(e) => {
                tracing::debug!(%sender, error = %e, "encrypted data packet dropped");
                let state = match e {
                    E2eeError::MissingKey { .. } => EncryptionState::MissingKey,
                    _ => EncryptionState::DecryptionFailed,
                };
                self.emit(RoomEvent::EncryptionStateChanged {
                    participant_identity: sender.to_owned(),
                    track_sid: String::new(),
                    state,
                });
                None
            }
        }
    }

    /// For an event that adds or removes a publication: the participant's new encryption
    /// status when it changed (encrypted: it has publications, all encrypted).
    pub(super) fn encryption_status_change(&mut self, ev: &RoomEvent) -> Option<RoomEvent> {
        let participant = match ev {
            RoomEvent::TrackPublished { participant, .. } | RoomEvent::TrackUnpublished { participant, .. } => {
                Participant::Remote(participant.clone())
            }
            RoomEvent::LocalTrackPublished { .. } | RoomEvent::LocalTrackUnpublished { .. } => {
                Participant::Local(self.shared.local.clone())
            }
            RoomEvent::ParticipantDisconnected { participant } => {
                self.encryption_status.remove(&participant.sid());
                return None;
            }
            _ => return None,
        };
        let none = proto::encryption::Type::None as i32;
        let (sid, encrypted) = match &participant {
            Participant::Remote(p) => {
                let pubs = p.track_publications();
                (p.sid(), !pubs.is_empty() && pubs.iter().all(|t| t.info().encryption != none))
            }
            Participant::Local(p) => {
                let pubs = p.track_publications();
                (p.sid(), !pubs.is_empty() && pubs.iter().all(|t| t.info().encryption != none))
            }
        };
        let before = self.encryption_status.insert(sid, encrypted).unwrap_or(false);
        (before != encrypted)
            .then_some(RoomEvent::ParticipantEncryptionStatusChanged { participant, is_encrypted: encrypted })
    }
}
