//! Updates from the server about the room and who is in it: `RoomUpdate` (sid, metadata,
//! counts, recording, timeouts), `RoomMoved`, participant snapshots and active speakers.

use livekit_protocol as proto;

use super::state;
use super::Session;
use crate::error::EngineError;
use crate::events::RoomEvent;
use crate::types::RoomDetails;

impl Session {
    /// Adopts the room's new sid, metadata and details; reports a metadata change, then
    /// `RoomUpdated` (the official SDKs emit it for every `RoomUpdate`).
    pub(super) fn on_room_update(&mut self, room: proto::Room) {
        if !room.sid.is_empty() {
            *self.shared.sid.lock() = room.sid.clone();
        }
        let details = RoomDetails::from_proto(&room);
        *self.shared.details.lock() = details.clone();
        let old = std::mem::replace(&mut *self.shared.metadata.lock(), room.metadata.clone());
        if old != room.metadata {
            self.emit(RoomEvent::RoomMetadataChanged { old, new: room.metadata });
        }
        self.emit(RoomEvent::RoomUpdated { details });
    }

    /// The server moved us to another room: adopt its token and room, let everyone of the
    /// old room leave (the usual leave sequence), then take the new room's participants.
    pub(super) fn on_room_moved(&mut self, moved: proto::RoomMovedResponse) {
        if !moved.token.is_empty() {
            *self.shared.token.lock() = moved.token.clone();
            self.emit(RoomEvent::TokenRefreshed { token: moved.token });
        }
        let room = moved.room.unwrap_or_default();
        *self.shared.sid.lock() = room.sid.clone();
        *self.shared.name.lock() = room.name.clone();
        *self.shared.details.lock() = RoomDetails::from_proto(&room);
        let old_meta = std::mem::replace(&mut *self.shared.metadata.lock(), room.metadata.clone());
        let remotes = self.shared.remotes.lock().clone();
        for info in state::moved_updates(&remotes, moved.other_participants) {
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

    /// Applies speaker deltas and reports the new list, loudest first.
    pub(super) fn on_speakers(&mut self, changes: Vec<proto::SpeakerInfo>) {
        for s in changes {
            self.speakers.retain(|(sid, _)| *sid != s.sid);
            if s.active {
                self.speakers.push((s.sid, s.level));
            }
        }
        self.speakers.sort_by(|a, b| b.1.total_cmp(&a.1));
        let local = self.shared.local.clone();
        let remotes = self.shared.remotes.lock().clone();
        let speakers = self
            .speakers
            .iter()
            .filter_map(|(sid, _)| {
                if *sid == local.sid() {
                    Some(crate::Participant::Local(local.clone()))
                } else {
                    remotes.iter().find(|p| p.sid() == *sid).map(|p| crate::Participant::Remote(p.clone()))
                }
            })
            .collect();
        self.emit(RoomEvent::ActiveSpeakersChanged { speakers });
    }

    pub(super) fn on_participant_info(&mut self, info: proto::ParticipantInfo) {
        if info.sid == self.shared.local.sid() {
            let changes = state::apply_fields(&self.shared.local.0.fields, &info);
            for ev in state::field_events(crate::Participant::Local(self.shared.local.clone()), changes) {
                self.emit(ev);
            }
            return;
        }
        let events = state::apply_remote_info(&self.shared, info, self.config.auto_subscribe);
        for ev in events {
            if let RoomEvent::TrackPublished { participant, publication } = &ev {
                let track = self.unmatched_tracks.remove(&publication.sid());
                self.emit(ev.clone());
                if let Some(rtp) = track {
                    self.attach_track(participant.clone(), publication.clone(), rtp);
                }
            } else {
                if let RoomEvent::ParticipantDisconnected { participant } = &ev {
                    self.forget_participant(&participant.identity());
                    self.dedupe.forget(&participant.sid());
                }
                self.emit(ev);
            }
        }
    }

    /// A fresh join after the connection was lost: adopt the room and our new sid; remote
    /// participants whose identity is in the join keep their objects (under the sid they
    /// have now; their tracks are unsubscribed here and subscribed again on the new
    /// connection, tracks no longer published go), the others leave with the usual
    /// sequence and the join's newcomers arrive; every local track is published again.
    pub(super) fn apply_rejoin(&mut self, now: std::time::Instant, join: proto::JoinResponse) {
        if let Some(room) = join.room {
            *self.shared.name.lock() = room.name.clone();
            self.on_room_update(room);
        }
        if let Some(me) = join.participant {
            self.shared.local.set_sid(&me.sid);
            self.on_participant_info(me);
        }
        let sids: std::collections::HashMap<&str, &str> =
            join.other_participants.iter().map(|i| (i.identity.as_str(), i.sid.as_str())).collect();
        let remotes = self.shared.remotes.lock().clone();
        for p in &remotes {
            for publication in p.track_publications() {
                let track = publication.0.state.lock().track.take();
                if let Some(track) = track {
                    track.end();
                    self.emit(RoomEvent::TrackUnsubscribed { participant: p.clone(), publication, track });
                }
            }
            match sids.get(p.identity().as_str()) {
                Some(sid) => {
                    p.0.fields.lock().version = 0; // the new session numbers versions afresh
                    if p.sid() != *sid {
                        self.dedupe.forget(&p.sid());
                        p.set_sid(sid);
                    }
                }
                None => {
                    let info = proto::ParticipantInfo {
                        sid: p.sid(),
                        identity: p.identity(),
                        state: proto::participant_info::State::Disconnected as i32,
                        ..Default::default()
                    };
                    self.on_participant_info(info);
                }
            }
        }
        for info in join.other_participants {
            self.on_participant_info(info);
        }
        // Publishes that had not completed cannot complete on the old connection.
        for (_, p) in self.pending_publishes.drain() {
            if p.republish.is_none() {
                let e = EngineError::Rejected("the room reconnected while the track was being published".into());
                let _ = p.done.send(Err(e));
            }
        }
        self.republish_all(now);
    }
}
