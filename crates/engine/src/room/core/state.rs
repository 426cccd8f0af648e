//! Room state updates from `ParticipantInfo` snapshots: who joined or left, which tracks
//! appeared or vanished, what changed. Pure functions over the shared state; they return
//! the events to emit, in order.

use parking_lot::Mutex;
use std::collections::HashMap;

use livekit_protocol as proto;
use proto::participant_info::State;

use crate::events::RoomEvent;
use crate::objects::{Participant, ParticipantFields, RemoteParticipant, RemoteTrackPublication};
use crate::room::Shared;

/// What changed in a participant's fields.
pub(crate) struct FieldChanges {
    name: Option<(String, String)>,
    metadata: Option<(String, String)>,
    attributes: HashMap<String, String>,
}

/// Applies `info`'s name/metadata/attributes to `fields`, returning what changed.
pub(crate) fn apply_fields(fields: &Mutex<ParticipantFields>, info: &proto::ParticipantInfo) -> FieldChanges {
    let mut f = fields.lock();
    let mut changes = FieldChanges { name: None, metadata: None, attributes: HashMap::new() };
    if f.name != info.name {
        changes.name = Some((std::mem::replace(&mut f.name, info.name.clone()), info.name.clone()));
    }
    if f.metadata != info.metadata {
        changes.metadata = Some((std::mem::replace(&mut f.metadata, info.metadata.clone()), info.metadata.clone()));
    }
    for (k, v) in &info.attributes {
        if f.attributes.get(k) != Some(v) {
            changes.attributes.insert(k.clone(), v.clone());
        }
    }
    for k in f.attributes.keys() {
        if !info.attributes.contains_key(k) {
            changes.attributes.insert(k.clone(), String::new());
        }
    }
    f.attributes = info.attributes.clone();
    f.version = f.version.max(info.version);
    f.kind = info.kind;
    f.kind_details = info.kind_details.clone();
    changes
}

/// The events for a set of field changes.
pub(crate) fn field_events(participant: Participant, c: FieldChanges) -> Vec<RoomEvent> {
    let mut out = Vec::new();
    if let Some((old, new)) = c.metadata {
        out.push(RoomEvent::ParticipantMetadataChanged { participant: participant.clone(), old, new });
    }
    if let Some((old, new)) = c.name {
        out.push(RoomEvent::ParticipantNameChanged { participant: participant.clone(), old, new });
    }
    if !c.attributes.is_empty() {
        out.push(RoomEvent::ParticipantAttributesChanged { participant, changed: c.attributes });
    }
    out
}

fn unpublish(p: &RemoteParticipant, publication: RemoteTrackPublication, out: &mut Vec<RoomEvent>) {
    let track = publication.0.state.lock().track.take();
    if let Some(track) = track {
        track.end();
        out.push(RoomEvent::TrackUnsubscribed { participant: p.clone(), publication: publication.clone(), track });
    }
    out.push(RoomEvent::TrackUnpublished { participant: p.clone(), publication });
}

/// Removes `p`: per track unsubscribed → unpublished, then disconnected.
pub(crate) fn disconnect(shared: &Shared, p: &RemoteParticipant) -> Vec<RoomEvent> {
    let mut out = Vec::new();
    let publications = std::mem::take(&mut *p.0.publications.lock());
    for publication in publications {
        unpublish(p, publication, &mut out);
    }
    shared.remotes.lock().retain(|o| o.id() != p.id());
    out.push(RoomEvent::ParticipantDisconnected { participant: p.clone() });
    out
}

/// Applies a remote participant's snapshot; returns the events, in order.
pub(crate) fn apply_remote_info(shared: &Shared, info: proto::ParticipantInfo, auto: bool) -> Vec<RoomEvent> {
    let existing = shared.remotes.lock().iter().find(|p| p.sid() == info.sid).cloned();
    let Some(p) = existing else {
        if info.state == State::Disconnected as i32 {
            return Vec::new();
        }
        let mut out = Vec::new();
        // Same identity under a new sid: the old session is gone.
        let stale = shared.remotes.lock().iter().find(|p| p.identity() == info.identity).cloned();
        if let Some(old) = stale {
            old.0.fields.lock().disconnect_reason = proto::DisconnectReason::DuplicateIdentity as i32;
            out.extend(disconnect(shared, &old));
        }
        let p = RemoteParticipant::new(&info);
        shared.remotes.lock().push(p.clone());
        out.push(RoomEvent::ParticipantConnected { participant: p.clone() });
        for t in info.tracks {
            let publication = RemoteTrackPublication::new(&info.sid, t, auto, shared.cmd.clone());
            p.0.publications.lock().push(publication.clone());
            out.push(RoomEvent::TrackPublished { participant: p.clone(), publication });
        }
        return out;
    };
    let current = p.0.fields.lock().version;
    if info.version != 0 && info.version <= current && info.state != State::Disconnected as i32 {
        return Vec::new(); // stale snapshot
    }
    if info.state == State::Disconnected as i32 {
        p.0.fields.lock().disconnect_reason = info.disconnect_reason;
        return disconnect(shared, &p);
    }
    let mut out = field_events(Participant::Remote(p.clone()), apply_fields(&p.0.fields, &info));
    // Tracks: mute changes, new ones, vanished ones.
    let mut keep = Vec::new();
    for t in info.tracks {
        match p.publication(&t.sid) {
            Some(publication) => {
                let was_muted = {
                    let mut st = publication.0.state.lock();
                    let was = st.info.muted;
                    st.info = t.clone();
                    if let Some(track) = &st.track {
                        track.set_muted(t.muted);
                    }
                    was
                };
                if was_muted != t.muted {
                    let participant = Participant::Remote(p.clone());
                    out.push(if t.muted {
                        RoomEvent::TrackMuted { participant, publication_sid: t.sid.clone() }
                    } else {
                        RoomEvent::TrackUnmuted { participant, publication_sid: t.sid.clone() }
                    });
                }
                keep.push(t.sid);
            }
            None => {
                let publication = RemoteTrackPublication::new(&p.sid(), t.clone(), auto, shared.cmd.clone());
                p.0.publications.lock().push(publication.clone());
                out.push(RoomEvent::TrackPublished { participant: p.clone(), publication });
                keep.push(t.sid);
            }
        }
    }
    let gone: Vec<_> = {
        let mut pubs = p.0.publications.lock();
        let (stay, gone): (Vec<_>, Vec<_>) = pubs.drain(..).partition(|x| keep.contains(&x.sid()));
        *pubs = stay;
        gone
    };
    for publication in gone {
        unpublish(&p, publication, &mut out);
    }
    out
}

/// The participant updates a `RoomMoved` amounts to: everyone of the old room who is not
/// in the new one leaves (a DISCONNECTED snapshot, so the usual leave sequence runs), then
/// the new room's participants as the server sent them.
pub(crate) fn moved_updates(
    current: &[RemoteParticipant],
    others: Vec<proto::ParticipantInfo>,
) -> Vec<proto::ParticipantInfo> {
    let staying: std::collections::HashSet<&str> = others.iter().map(|p| p.identity.as_str()).collect();
    let leaving: Vec<proto::ParticipantInfo> = current
        .iter()
        .filter(|p| !staying.contains(p.identity().as_str()))
        .map(|p| proto::ParticipantInfo {
            sid: p.sid(),
            identity: p.identity(),
            state: State::Disconnected as i32,
            ..Default::default()
        })
        .collect();
    leaving.into_iter().chain(others).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(sid: &str, identity: &str, version: u32, tracks: &[&str]) -> proto::ParticipantInfo {
        proto::ParticipantInfo {
            sid: sid.into(),
            identity: identity.into(),
            version,
            state: State::Active as i32,
            tracks: tracks.iter().map(|t| proto::TrackInfo { sid: t.to_string(), ..Default::default() }).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn a_move_lets_the_old_room_leave_and_keeps_who_is_in_both() {
        let old = [
            RemoteParticipant::new(&info("PA_a", "alice", 1, &[])),
            RemoteParticipant::new(&info("PA_b", "bob", 1, &[])),
        ];
        let updates = moved_updates(&old, vec![info("PA_b", "bob", 2, &[]), info("PA_c", "carol", 1, &["TR_c"])]);
        let summary: Vec<(&str, i32)> = updates.iter().map(|u| (u.identity.as_str(), u.state)).collect();
        assert_eq!(
            summary,
            vec![("alice", State::Disconnected as i32), ("bob", State::Active as i32), ("carol", State::Active as i32)]
        );
        assert_eq!(updates[0].sid, "PA_a");
        assert_eq!(updates[2].tracks[0].sid, "TR_c");
    }
}
