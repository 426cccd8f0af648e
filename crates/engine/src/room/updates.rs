//! Room-level updates from the server: `RoomUpdate` (sid, metadata, counts, recording,
//! timeouts) and `RoomMoved`.

use livekit_protocol as proto;

use super::RoomTask;
use crate::events::RoomEvent;
use crate::types::RoomDetails;

impl RoomTask {
    /// Adopts the room's new sid, metadata and details; reports a metadata change, then
    /// `RoomUpdated` (the official SDKs emit it for every `RoomUpdate`).
    pub(super) fn on_room_update(&mut self, room: proto::Room) {
        if !room.sid.is_empty() {
            *self.shared.sid.lock().unwrap() = room.sid.clone();
        }
        let details = RoomDetails::from_proto(&room);
        *self.shared.details.lock().unwrap() = details.clone();
        let old = std::mem::replace(&mut *self.shared.metadata.lock().unwrap(), room.metadata.clone());
        if old != room.metadata {
            self.emit(RoomEvent::RoomMetadataChanged { old, new: room.metadata });
        }
        self.emit(RoomEvent::RoomUpdated { details });
    }

    /// The server moved us to another room: adopt its token and room, let everyone of the
    /// old room leave (the usual leave sequence), then take the new room's participants.
    pub(super) fn on_room_moved(&mut self, moved: proto::RoomMovedResponse) {
        if !moved.token.is_empty() {
            *self.shared.token.lock().unwrap() = moved.token.clone();
            self.emit(RoomEvent::TokenRefreshed { token: moved.token });
        }
        let room = moved.room.unwrap_or_default();
        *self.shared.sid.lock().unwrap() = room.sid.clone();
        *self.shared.name.lock().unwrap() = room.name.clone();
        *self.shared.details.lock().unwrap() = RoomDetails::from_proto(&room);
        let old_meta = std::mem::replace(&mut *self.shared.metadata.lock().unwrap(), room.metadata.clone());
        let staying: std::collections::HashSet<String> =
            moved.other_participants.iter().map(|p| p.identity.clone()).collect();
        let leaving: Vec<proto::ParticipantInfo> = self
            .shared
            .remotes
            .lock()
            .unwrap()
            .iter()
            .filter(|p| !staying.contains(&p.identity()))
            .map(|p| proto::ParticipantInfo {
                sid: p.sid(),
                identity: p.identity(),
                state: proto::participant_info::State::Disconnected as i32,
                version: u32::MAX,
                ..Default::default()
            })
            .collect();
        for info in leaving.into_iter().chain(moved.other_participants) {
            self.on_participant_info(info);
        }
        if let Some(me) = moved.participant.filter(|me| me.sid == self.shared.local.sid()) {
            self.on_participant_info(me);
        }
        self.emit(RoomEvent::Moved { name: room.name, sid: room.sid });
        if old_meta != room.metadata {
            self.emit(RoomEvent::RoomMetadataChanged { old: old_meta, new: room.metadata });
        }
    }
}
