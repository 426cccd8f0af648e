//! Room events, in the order the room task emits them.

use std::collections::HashMap;

use livekit_protocol as proto;

use crate::objects::{LocalTrackPublication, Participant, RemoteParticipant, RemoteTrack, RemoteTrackPublication};
use crate::rpc::RpcInvocation;
use crate::streams::StreamReader;
pub use crate::types::{ChatMessage, TranscriptionSegment};
use crate::types::{ConnectionState, DataKind};

/// Something that happened in a room. When a participant leaves, the room emits for
/// each of its tracks `TrackUnsubscribed` (if subscribed) then `TrackUnpublished`, and
/// then `ParticipantDisconnected`. `Disconnected` is always the last event.
#[derive(Clone)]
pub enum RoomEvent {
    /// A participant joined after us.
    ParticipantConnected {
        /// Who.
        participant: RemoteParticipant,
    },
    /// A participant left; its publications were unpublished just before.
    ParticipantDisconnected {
        /// Who.
        participant: RemoteParticipant,
    },
    /// A remote participant published a track.
    TrackPublished {
        /// Publisher.
        participant: RemoteParticipant,
        /// The new publication.
        publication: RemoteTrackPublication,
    },
    /// A remote participant unpublished a track (or left).
    TrackUnpublished {
        /// Publisher.
        participant: RemoteParticipant,
        /// The publication, now gone.
        publication: RemoteTrackPublication,
    },
    /// Media of a remote track started flowing to us.
    TrackSubscribed {
        /// Publisher.
        participant: RemoteParticipant,
        /// Its publication.
        publication: RemoteTrackPublication,
        /// The track.
        track: RemoteTrack,
    },
    /// We stopped receiving a remote track.
    TrackUnsubscribed {
        /// Publisher.
        participant: RemoteParticipant,
        /// Its publication.
        publication: RemoteTrackPublication,
        /// The track, now ended.
        track: RemoteTrack,
    },
    /// This client published a track.
    LocalTrackPublished {
        /// The publication.
        publication: LocalTrackPublication,
    },
    /// This client unpublished a track.
    LocalTrackUnpublished {
        /// The publication, now gone.
        publication: LocalTrackPublication,
    },
    /// A first participant subscribed to one of our tracks.
    LocalTrackSubscribed {
        /// The publication.
        publication: LocalTrackPublication,
    },
    /// A track was muted.
    TrackMuted {
        /// Owner.
        participant: Participant,
        /// Publication sid.
        publication_sid: String,
    },
    /// A track was unmuted.
    TrackUnmuted {
        /// Owner.
        participant: Participant,
        /// Publication sid.
        publication_sid: String,
    },
    /// A user data packet arrived.
    DataReceived {
        /// Payload bytes.
        payload: Vec<u8>,
        /// Sender, if known (the server may send on its own behalf).
        participant: Option<RemoteParticipant>,
        /// Channel it came on.
        kind: DataKind,
        /// Application topic.
        topic: Option<String>,
    },
    /// The set of active speakers changed (loudest first).
    ActiveSpeakersChanged {
        /// Who is speaking now.
        speakers: Vec<Participant>,
    },
    /// A chat message arrived.
    ChatMessage {
        /// The message.
        message: ChatMessage,
        /// Sender.
        participant: RemoteParticipant,
    },
    /// A DTMF tone arrived (usually from a SIP participant).
    DtmfReceived {
        /// DTMF code.
        code: u32,
        /// Digit.
        digit: String,
        /// Sender, if known.
        participant: Option<RemoteParticipant>,
    },
    /// A transcription arrived.
    TranscriptionReceived {
        /// Whose speech it transcribes.
        participant_identity: String,
        /// The transcribed track.
        track_sid: String,
        /// Segments.
        segments: Vec<TranscriptionSegment>,
        /// Sender, if known.
        participant: Option<RemoteParticipant>,
    },
    /// A peer called one of our registered RPC methods; answer with
    /// [`LocalParticipant::respond_rpc`](crate::LocalParticipant::respond_rpc).
    RpcInvocation {
        /// The call.
        invocation: RpcInvocation,
    },
    /// A text or byte stream opened on a topic we have a handler for.
    StreamOpened {
        /// Reads the stream.
        reader: StreamReader,
        /// Sender identity.
        participant_identity: String,
    },
    /// The connection was lost; the room is reconnecting (resume first, then rejoin).
    /// Every object stays valid meanwhile.
    Reconnecting,
    /// The room is connected again; data held meanwhile is being sent.
    Reconnected,
    /// After a rejoin, a local track was published again: same publication, new sid.
    LocalTrackRepublished {
        /// The publication (its sid is the new one).
        publication: LocalTrackPublication,
        /// Its sid before.
        previous_sid: String,
    },
    /// Connection state changed.
    ConnectionStateChanged {
        /// New state.
        state: ConnectionState,
    },
    /// Room metadata changed.
    RoomMetadataChanged {
        /// Before.
        old: String,
        /// After.
        new: String,
    },
    /// The server updated the room (`RoomUpdate`): counts, recording state, timeouts or
    /// metadata; [`Room::details`](crate::Room::details) returns the new values.
    RoomUpdated {
        /// The room's details now.
        details: crate::types::RoomDetails,
    },
    /// The server sent a new access token (it does so before the current one expires);
    /// [`Room::token`](crate::Room::token) returns it from now on.
    TokenRefreshed {
        /// The new token.
        token: String,
    },
    /// The server moved this participant to another room (`RoomMoved`); name, sid and
    /// metadata are the new room's, participants of the old room have left.
    Moved {
        /// The new room's name.
        name: String,
        /// The new room's sid.
        sid: String,
    },
    /// A participant's metadata changed.
    ParticipantMetadataChanged {
        /// Who.
        participant: Participant,
        /// Before.
        old: String,
        /// After.
        new: String,
    },
    /// A participant's name changed.
    ParticipantNameChanged {
        /// Who.
        participant: Participant,
        /// Before.
        old: String,
        /// After.
        new: String,
    },
    /// A participant's attributes changed.
    ParticipantAttributesChanged {
        /// Who.
        participant: Participant,
        /// Keys set (value) or removed (empty value).
        changed: HashMap<String, String>,
    },
    /// A participant's publications became all end-to-end encrypted (at least one), or stopped
    /// being so.
    ParticipantEncryptionStatusChanged {
        /// Who.
        participant: Participant,
        /// Whether every publication of the participant is encrypted.
        is_encrypted: bool,
    },
    /// A track's frame cryptor changed state (`track_sid` empty: a data packet from
    /// `participant_identity` did not decrypt).
    EncryptionStateChanged {
        /// Whose keys the cryptor uses (the publisher of the track).
        participant_identity: String,
        /// The track.
        track_sid: String,
        /// The new state.
        state: crate::e2ee::EncryptionState,
    },
    /// The room is disconnected; no event follows.
    Disconnected {
        /// Why.
        reason: proto::DisconnectReason,
    },
}
