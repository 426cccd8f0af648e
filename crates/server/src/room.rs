//! Rooms: who is in them, what they publish, and who hears about it.
//!
//! Room state lives under a plain mutex that is never held across an `await`; anything
//! that needs async work (WebRTC) is handed to the participant's session task as a
//! [`Cmd`](crate::participant::Cmd).

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use livekit_protocol as proto;
use proto::participant_info::State as PState;

use crate::ids;
use crate::participant::{Cmd, Participant};
use crate::track::PublishedTrack;

/// All rooms of one server.
#[derive(Default)]
pub struct RoomManager {
    rooms: Mutex<HashMap<String, Arc<Room>>>,
}

impl RoomManager {
    /// The room called `name`, created if it does not exist.
    pub fn get_or_create(&self, name: &str) -> Arc<Room> {
        let mut rooms = self.rooms.lock();
        rooms
            .entry(name.to_string())
            .or_insert_with(|| {
                let room = Arc::new(Room::new(name));
                tokio::spawn(speakers_loop(Arc::downgrade(&room)));
                room
            })
            .clone()
    }

    /// Drops `room` if nobody is left in it.
    pub fn remove_if_empty(&self, room: &Arc<Room>) {
        let mut rooms = self.rooms.lock();
        if room.is_empty() {
            if let Some(current) = rooms.get(&room.name) {
                if Arc::ptr_eq(current, room) {
                    rooms.remove(&room.name);
                    tracing::info!(room = %room.name, sid = %room.sid, "room closed");
                }
            }
        }
    }

    /// Snapshot of every live room, for the room service.
    pub fn list(&self) -> Vec<proto::Room> {
        let rooms: Vec<_> = self.rooms.lock().values().cloned().collect();
        rooms.iter().map(|r| r.to_proto()).collect()
    }

    /// The room called `name`, if it exists.
    pub fn get(&self, name: &str) -> Option<Arc<Room>> {
        self.rooms.lock().get(name).cloned()
    }

    /// Every live room.
    pub fn all(&self) -> Vec<Arc<Room>> {
        self.rooms.lock().values().cloned().collect()
    }
}

/// One room and its participants (in join order).
pub struct Room {
    /// `RM_` sid.
    pub sid: String,
    /// Room name from the tokens.
    pub name: String,
    created_ms: i64,
    state: Mutex<RoomState>,
}

#[derive(Default)]
struct RoomState {
    participants: Vec<Arc<Participant>>,
    metadata: String,
    /// Participant sids currently announced as speaking.
    speaking: Vec<String>,
    /// The participant or publisher count changed since the last `RoomUpdate`.
    counts_dirty: bool,
}

/// How often speaker changes are computed and announced.
const SPEAKER_INTERVAL: std::time::Duration = std::time::Duration::from_millis(300);

/// Announces speaker changes (deltas, as LiveKit servers do) and changed participant and
/// publisher counts (a `RoomUpdate`, batched as livekit-server batches them, here over one
/// speaker interval) until the room is gone.
async fn speakers_loop(room: std::sync::Weak<Room>) {
    let mut tick = tokio::time::interval(SPEAKER_INTERVAL);
    loop {
        tick.tick().await;
        let Some(room) = room.upgrade() else { break };
        room.announce_counts();
        if let Some(changed) = room.speaker_changes(std::time::Instant::now()) {
            let msg = proto::signal_response::Message::SpeakersChanged(proto::SpeakersChanged { speakers: changed });
            for p in room.participants() {
                p.send(msg.clone());
            }
        }
    }
}

impl Room {
    fn new(name: &str) -> Self {
        let sid = ids::room_sid();
        tracing::info!(room = name, %sid, "room created");
        Self { sid, name: name.to_string(), created_ms: ids::now_ms(), state: Mutex::default() }
    }

    /// The room as clients see it.
    pub fn to_proto(&self) -> proto::Room {
        self.proto_locked(&self.state.lock())
    }

    fn proto_locked(&self, st: &RoomState) -> proto::Room {
        let num_publishers = st.participants.iter().filter(|p| p.has_published()).count() as u32;
        proto::Room {
            sid: self.sid.clone(),
            name: self.name.clone(),
            empty_timeout: 300,
            departure_timeout: 20,
            creation_time: self.created_ms / 1000,
            creation_time_ms: self.created_ms,
            metadata: st.metadata.clone(),
            num_participants: st.participants.iter().filter(|p| !p.grant.hidden).count() as u32,
            num_publishers,
            ..Default::default()
        }
    }

    /// Sends a `RoomUpdate` to everyone if the counts changed since the last one.
    fn announce_counts(&self) {
        let room = {
            let mut st = self.state.lock();
            if !std::mem::take(&mut st.counts_dirty) {
                return;
            }
            self.proto_locked(&st)
        };
        self.send_room_update(room);
    }

    fn send_room_update(&self, room: proto::Room) {
        let update = proto::signal_response::Message::RoomUpdate(proto::RoomUpdate { room: Some(room) });
        for p in self.participants() {
            p.send(update.clone());
        }
    }

    fn mark_counts_dirty(&self) {
        self.state.lock().counts_dirty = true;
    }

    /// Speakers that started or stopped speaking since the last call, loudest first.
    fn speaker_changes(&self, now: std::time::Instant) -> Option<Vec<proto::SpeakerInfo>> {
        let mut levels: Vec<(String, f32)> = self
            .participants()
            .iter()
            .filter(|p| !p.grant.hidden)
            .filter_map(|p| {
                let best = p
                    .tracks()
                    .iter()
                    .filter_map(|t| t.speaking_level(now))
                    .fold(None, |a: Option<f32>, l| Some(a.map_or(l, |a| a.max(l))));
                best.map(|l| (p.sid.clone(), l))
            })
            .collect();
        levels.sort_by(|a, b| b.1.total_cmp(&a.1));
        let mut st = self.state.lock();
        let now_speaking: Vec<String> = levels.iter().map(|(s, _)| s.clone()).collect();
        let mut changed: Vec<proto::SpeakerInfo> = levels
            .iter()
            .filter(|(sid, _)| !st.speaking.contains(sid))
            .map(|(sid, level)| proto::SpeakerInfo { sid: sid.clone(), level: *level, active: true })
            .collect();
        changed.extend(st.speaking.iter().filter(|sid| !now_speaking.contains(sid)).map(|sid| proto::SpeakerInfo {
            sid: sid.clone(),
            level: 0.0,
            active: false,
        }));
        st.speaking = now_speaking;
        (!changed.is_empty()).then_some(changed)
    }

    /// Whether nobody is in the room.
    pub fn is_empty(&self) -> bool {
        self.state.lock().participants.is_empty()
    }

    /// Participants other than `except`.
    pub fn others(&self, except: &str) -> Vec<Arc<Participant>> {
        self.state.lock().participants.iter().filter(|p| p.sid != except).cloned().collect()
    }

    /// Every participant.
    pub fn participants(&self) -> Vec<Arc<Participant>> {
        self.state.lock().participants.clone()
    }

    /// Adds `p`. An older session with the same identity is removed first (and returned,
    /// so that its session can be told why). `send_join` runs under the room lock with the
    /// participants already present, so that no update reaches `p` before its join response.
    pub fn join(
        &self,
        p: &Arc<Participant>,
        send_join: impl FnOnce(proto::Room, &[Arc<Participant>]),
    ) -> Option<Arc<Participant>> {
        let old = self.state.lock().participants.iter().find(|o| o.identity() == p.identity()).cloned();
        if let Some(old) = &old {
            self.remove(old, proto::DisconnectReason::DuplicateIdentity);
        }
        let mut st = self.state.lock();
        st.participants.push(p.clone());
        let room = self.proto_locked(&st); // the count includes the joiner, as livekit-server's does
        send_join(room, &st.participants[..st.participants.len() - 1]);
        st.counts_dirty = true;
        old
    }

    /// Takes `p` out of the room. Returns false if it was not in it (already removed).
    fn take(&self, p: &Participant) -> bool {
        let mut st = self.state.lock();
        let before = st.participants.len();
        st.participants.retain(|o| o.sid != p.sid);
        let removed = st.participants.len() != before;
        st.counts_dirty |= removed;
        removed
    }

    /// Sends `info` (a snapshot of `from`) to every other participant that can see it.
    pub fn broadcast_info(&self, from: &Participant, info: proto::ParticipantInfo) {
        if from.grant.hidden {
            return;
        }
        let update = proto::signal_response::Message::Update(proto::ParticipantUpdate { participants: vec![info] });
        for other in self.others(&from.sid) {
            other.send(update.clone());
        }
    }

    /// A track of `publisher` started carrying media: announce it and auto-subscribe others.
    pub fn track_live(&self, publisher: &Arc<Participant>, track: Arc<PublishedTrack>) {
        self.mark_counts_dirty();
        self.broadcast_info(publisher, publisher.info());
        for other in self.others(&publisher.sid) {
            if other.auto_subscribe && other.grant.can_subscribe {
                other.command(Cmd::Subscribe(track.clone()));
            }
        }
    }

    /// `publisher` stopped publishing `track`: unsubscribe everyone and announce it.
    pub fn track_gone(&self, publisher: &Participant, track: &PublishedTrack) {
        for other in self.others(&publisher.sid) {
            other.command(Cmd::Unsubscribe(track.sid.clone()));
        }
        track.close();
        self.mark_counts_dirty();
        self.broadcast_info(publisher, publisher.info());
    }

    /// Removes `p` (leave, lost connection, eviction): its tracks are unsubscribed from
    /// everyone, then the others get its final info with state DISCONNECTED.
    pub fn remove(&self, p: &Arc<Participant>, reason: proto::DisconnectReason) -> bool {
        if !self.take(p) {
            return false;
        }
        for track in p.take_tracks() {
            for other in self.others(&p.sid) {
                other.command(Cmd::Unsubscribe(track.sid.clone()));
            }
            track.close();
        }
        let info = p.mark_disconnected(reason);
        debug_assert_eq!(info.state, PState::Disconnected as i32);
        self.broadcast_info(p, info);
        tracing::info!(room = %self.name, identity = %p.identity(), ?reason, "participant left");
        true
    }

    /// Sets room metadata and tells everyone.
    pub fn set_metadata(&self, metadata: String) -> proto::Room {
        self.state.lock().metadata = metadata;
        let room = self.to_proto();
        self.send_room_update(room.clone());
        room
    }

    /// The participant with `identity`, if present.
    pub fn by_identity(&self, identity: &str) -> Option<Arc<Participant>> {
        self.participants().into_iter().find(|p| p.identity() == identity)
    }
}
