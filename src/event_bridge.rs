//! The event bridge: engine `RoomEvent`s to one JavaScript callback per room.
//!
//! - One `ThreadsafeFunction` per room, created **weak**: it never keeps Node alive by
//!   itself (`index.js` holds the loop open only while the room is connected).
//! - A tokio task drains the engine's receiver and queues each event, in order.
//! - The event is converted to a JavaScript object on the JavaScript thread, right before
//!   the call, so that engine objects become native instances only when JavaScript does
//!   not already hold one (see `refs.rs`). One exhaustive `match` below.
//! - Queue policy: at most [`MAX_IN_FLIGHT`] events are queued towards JavaScript; beyond
//!   that the drain task waits (asynchronously) and the engine's channel holds the rest.
//!   Events are never dropped: disposal depends on every one of them.
//! - `Disconnected` is the last event; after it the task ends and the threadsafe function
//!   is released. If the engine stream ends without one, the bridge sends one itself
//!   (reason `UNKNOWN_REASON`) so that JavaScript always cleans up.

use std::collections::HashMap;
use std::sync::Arc;

use lkrtc_engine::{
    proto, ChatMessage, Participant, RemoteParticipant, RemoteTrack, RemoteTrackPublication, RoomEvent,
    TranscriptionSegment,
};
use napi::bindgen_prelude::{Buffer, Function};
use napi::threadsafe_function::{ThreadsafeCallContext, ThreadsafeFunctionCallMode};
use napi::Status;
use napi_derive::napi;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::convert::{connection_state, data_kind, disconnect_reason};
use crate::error::guarded_sync;
use crate::participant::NativeRemoteParticipant;
use crate::publication::NativeRemoteTrackPublication;
use crate::refs::{JsRef, Registry};
use crate::rpc::{JsChatMessage, JsTranscriptionSegment};
use crate::track::NativeRemoteTrack;

/// Most events queued towards JavaScript at once.
pub(crate) const MAX_IN_FLIGHT: usize = 1024;

/// One room event as JavaScript receives it. `type` is the `RoomEvent` string of the
/// official SDK; the other fields are set as the event needs them.
#[napi(object, object_from_js = false)]
pub struct JsRoomEvent {
    #[napi(js_name = "type")]
    pub kind: String,
    /// The remote participant concerned (id if JavaScript holds it, else a new instance).
    #[napi(ts_type = "number | NativeRemoteParticipant")]
    pub participant: Option<JsRef<NativeRemoteParticipant>>,
    /// True when the participant concerned is the local participant.
    pub local: Option<bool>,
    #[napi(ts_type = "number | NativeRemoteTrackPublication")]
    pub publication: Option<JsRef<NativeRemoteTrackPublication>>,
    #[napi(ts_type = "number | NativeRemoteTrack")]
    pub track: Option<JsRef<NativeRemoteTrack>>,
    pub publication_sid: Option<String>,
    pub payload: Option<Buffer>,
    /// `DataPacketKind` value.
    pub data_kind: Option<u32>,
    pub topic: Option<String>,
    /// `ConnectionState` value.
    pub state: Option<u32>,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub changed: Option<HashMap<String, String>>,
    /// `DisconnectReason` value.
    pub reason: Option<u32>,
    /// `activeSpeakersChanged`: loudest first.
    pub speakers: Option<Vec<JsSpeaker>>,
    /// `chatMessage`.
    pub message: Option<JsChatMessage>,
    /// `dtmfReceived`: the DTMF code.
    pub code: Option<u32>,
    /// `dtmfReceived`: the DTMF digit.
    pub digit: Option<String>,
    /// `transcriptionReceived`.
    pub segments: Option<Vec<JsTranscriptionSegment>>,
    /// `transcriptionReceived`: whose speech.
    pub participant_identity: Option<String>,
    /// `transcriptionReceived`: which track.
    pub track_sid: Option<String>,
    /// `rpcInvocation` (answered by `js/data.js`).
    pub rpc: Option<crate::rpc::JsRpcInvocation>,
    /// `streamOpened`: the incoming stream (sender in `participantIdentity`).
    pub reader: Option<crate::streams::NativeStreamReader>,
    /// `participantEncryptionStatusChanged`.
    pub is_encrypted: Option<bool>,
    /// `encryptionStateChanged`: the `EncryptionState` value.
    pub encryption_state: Option<u32>,
}

/// One active speaker: the local participant, or a remote one.
#[napi(object, object_from_js = false)]
pub struct JsSpeaker {
    pub local: Option<bool>,
    #[napi(ts_type = "number | NativeRemoteParticipant")]
    pub participant: Option<JsRef<NativeRemoteParticipant>>,
}

impl JsRoomEvent {
    fn new(kind: &str) -> Self {
        Self {
            kind: kind.to_string(),
            participant: None,
            local: None,
            publication: None,
            track: None,
            publication_sid: None,
            payload: None,
            data_kind: None,
            topic: None,
            state: None,
            old_value: None,
            new_value: None,
            changed: None,
            reason: None,
            speakers: None,
            message: None,
            code: None,
            digit: None,
            segments: None,
            participant_identity: None,
            track_sid: None,
            rpc: None,
            reader: None,
            is_encrypted: None,
            encryption_state: None,
        }
    }

    /// Sets the remote participant concerned, if any.
    fn with_remote(mut self, reg: &Arc<Registry>, p: Option<RemoteParticipant>) -> Self {
        self.participant = p.map(|p| NativeRemoteParticipant::js_ref(reg, p));
        self
    }

    fn with_participant(mut self, reg: &Arc<Registry>, p: Participant) -> Self {
        match p {
            Participant::Local(_) => self.local = Some(true),
            Participant::Remote(p) => self.participant = Some(NativeRemoteParticipant::js_ref(reg, p)),
        }
        self
    }
}

/// An event on its way to the JavaScript thread, with its queue slot.
struct Queued {
    event: RoomEvent,
    _slot: OwnedSemaphorePermit,
}

/// Converts on the JavaScript thread. Argument order matters: objects are introduced in
/// the order JavaScript resolves them (participant, publication, track).
fn speaker(reg: &Arc<Registry>, p: Participant) -> JsSpeaker {
    match p {
        Participant::Local(_) => JsSpeaker { local: Some(true), participant: None },
        Participant::Remote(p) => JsSpeaker { local: None, participant: Some(NativeRemoteParticipant::js_ref(reg, p)) },
    }
}

/// An event about a remote participant's publication (and its track, when subscribed).
fn remote_track_event(
    kind: &str,
    reg: &Arc<Registry>,
    participant: RemoteParticipant,
    publication: RemoteTrackPublication,
    track: Option<RemoteTrack>,
) -> JsRoomEvent {
    JsRoomEvent {
        participant: Some(NativeRemoteParticipant::js_ref(reg, participant)),
        publication: Some(NativeRemoteTrackPublication::js_ref(reg, publication)),
        track: track.map(|t| NativeRemoteTrack::js_ref(reg, t)),
        ..JsRoomEvent::new(kind)
    }
}

fn chat_event(reg: &Arc<Registry>, message: ChatMessage, participant: RemoteParticipant) -> JsRoomEvent {
    JsRoomEvent {
        participant: Some(NativeRemoteParticipant::js_ref(reg, participant)),
        message: Some(crate::rpc::js_chat(message)),
        ..JsRoomEvent::new("chatMessage")
    }
}

fn dtmf_event(reg: &Arc<Registry>, code: u32, digit: String, participant: Option<RemoteParticipant>) -> JsRoomEvent {
    JsRoomEvent {
        code: Some(code),
        digit: Some(digit),
        ..JsRoomEvent::new("dtmfReceived").with_remote(reg, participant)
    }
}

fn transcription_event(
    reg: &Arc<Registry>,
    participant_identity: String,
    track_sid: String,
    segments: Vec<TranscriptionSegment>,
    participant: Option<RemoteParticipant>,
) -> JsRoomEvent {
    JsRoomEvent {
        participant_identity: Some(participant_identity),
        track_sid: Some(track_sid),
        segments: Some(segments.into_iter().map(crate::rpc::js_segment).collect()),
        ..JsRoomEvent::new("transcriptionReceived").with_remote(reg, participant)
    }
}

/// An event about the publication `sid`.
fn sid_event(kind: &str, sid: String) -> JsRoomEvent {
    JsRoomEvent { publication_sid: Some(sid), ..JsRoomEvent::new(kind) }
}

/// An event that carries a value's old and new text.
fn change_event(kind: &str, old: String, new: String) -> JsRoomEvent {
    JsRoomEvent { old_value: Some(old), new_value: Some(new), ..JsRoomEvent::new(kind) }
}

/// Returns `None` for events JavaScript cannot receive yet (see the arms).
fn convert(reg: &Arc<Registry>, event: RoomEvent) -> Option<JsRoomEvent> {
    use RoomEvent as E;
    let remote = |p| Some(NativeRemoteParticipant::js_ref(reg, p));
    Some(match event {
        E::ParticipantConnected { participant } => {
            JsRoomEvent { participant: remote(participant), ..JsRoomEvent::new("participantConnected") }
        }
        E::ParticipantDisconnected { participant } => JsRoomEvent {
            reason: u32::try_from(participant.disconnect_reason()).ok().filter(|r| *r != 0),
            participant: remote(participant),
            ..JsRoomEvent::new("participantDisconnected")
        },
        E::TrackPublished { participant, publication } => {
            remote_track_event("trackPublished", reg, participant, publication, None)
        }
        E::TrackUnpublished { participant, publication } => {
            remote_track_event("trackUnpublished", reg, participant, publication, None)
        }
        E::TrackSubscribed { participant, publication, track } => {
            remote_track_event("trackSubscribed", reg, participant, publication, Some(track))
        }
        E::TrackUnsubscribed { participant, publication, track } => {
            remote_track_event("trackUnsubscribed", reg, participant, publication, Some(track))
        }
        // Local publishing is not bound yet (issue 3 covers the remote side); JavaScript
        // receives the sid so that it can say so.
        E::LocalTrackPublished { publication } => sid_event("localTrackPublished", publication.sid()),
        E::LocalTrackUnpublished { publication } => sid_event("localTrackUnpublished", publication.sid()),
        E::LocalTrackSubscribed { publication } => sid_event("localTrackSubscribed", publication.sid()),
        E::LocalTrackRepublished { publication, previous_sid } => {
            JsRoomEvent { old_value: Some(previous_sid), ..sid_event("localTrackRepublished", publication.sid()) }
        }
        E::Reconnecting => JsRoomEvent::new("reconnecting"),
        E::Reconnected => JsRoomEvent::new("reconnected"),
        E::TrackMuted { participant, publication_sid } => {
            sid_event("trackMuted", publication_sid).with_participant(reg, participant)
        }
        E::TrackUnmuted { participant, publication_sid } => {
            sid_event("trackUnmuted", publication_sid).with_participant(reg, participant)
        }
        E::DataReceived { payload, participant, kind, topic } => JsRoomEvent {
            payload: Some(Buffer::from(payload)),
            data_kind: Some(data_kind(kind)),
            topic,
            ..JsRoomEvent::new("dataReceived").with_remote(reg, participant)
        },
        E::ConnectionStateChanged { state } => {
            JsRoomEvent { state: Some(connection_state(state)), ..JsRoomEvent::new("connectionStateChanged") }
        }
        E::RoomUpdated { .. } => JsRoomEvent::new("roomUpdated"),
        E::RoomMetadataChanged { old, new } => change_event("roomMetadataChanged", old, new),
        E::TokenRefreshed { token } => JsRoomEvent { new_value: Some(token), ..JsRoomEvent::new("tokenRefreshed") },
        E::Moved { name, sid } => change_event("moved", sid, name),
        E::ParticipantMetadataChanged { participant, old, new } => {
            change_event("participantMetadataChanged", old, new).with_participant(reg, participant)
        }
        E::ParticipantNameChanged { participant, old, new } => {
            change_event("participantNameChanged", old, new).with_participant(reg, participant)
        }
        E::ParticipantAttributesChanged { participant, changed } => JsRoomEvent {
            changed: Some(changed),
            ..JsRoomEvent::new("participantAttributesChanged").with_participant(reg, participant)
        },
        E::ActiveSpeakersChanged { speakers } => JsRoomEvent {
            speakers: Some(speakers.into_iter().map(|p| speaker(reg, p)).collect()),
            ..JsRoomEvent::new("activeSpeakersChanged")
        },
        E::ChatMessage { message, participant } => chat_event(reg, message, participant),
        E::DtmfReceived { code, digit, participant } => dtmf_event(reg, code, digit, participant),
        E::TranscriptionReceived { participant_identity, track_sid, segments, participant } => {
            transcription_event(reg, participant_identity, track_sid, segments, participant)
        }
        // Only for methods and topics JavaScript registered (src/rpc.rs, src/streams.rs).
        E::RpcInvocation { invocation } => {
            JsRoomEvent { rpc: Some(crate::rpc::js_invocation(invocation)), ..JsRoomEvent::new("rpcInvocation") }
        }
        E::StreamOpened { reader, participant_identity } => JsRoomEvent {
            reader: Some(crate::streams::NativeStreamReader::new(reader)),
            participant_identity: Some(participant_identity),
            ..JsRoomEvent::new("streamOpened")
        },
        E::ParticipantEncryptionStatusChanged { participant, is_encrypted } => JsRoomEvent {
            is_encrypted: Some(is_encrypted),
            ..JsRoomEvent::new("participantEncryptionStatusChanged").with_participant(reg, participant)
        },
        E::EncryptionStateChanged { participant_identity, track_sid, state } => JsRoomEvent {
            participant_identity: Some(participant_identity),
            track_sid: Some(track_sid),
            encryption_state: Some(state as u32),
            ..JsRoomEvent::new("encryptionStateChanged")
        },
        E::Disconnected { reason } => {
            JsRoomEvent { reason: Some(disconnect_reason(reason)), ..JsRoomEvent::new("disconnected") }
        }
    })
}

/// Starts the bridge for one room.
pub(crate) fn start(
    callback: &Function<'_, Option<JsRoomEvent>, ()>,
    mut events: UnboundedReceiver<RoomEvent>,
    reg: Arc<Registry>,
) -> napi::Result<()> {
    let tsfn = callback.build_threadsafe_function::<Queued>().weak::<true>().callee_handled::<false>().build_callback(
        move |ctx: ThreadsafeCallContext<Queued>| {
            let Queued { event, _slot } = ctx.value;
            guarded_sync(|| Ok(convert(&reg, event)))
        },
    )?;
    let slots = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    napi::bindgen_prelude::spawn(async move {
        let mut delivered_last = false;
        while let Some(event) = events.recv().await {
            let last = matches!(event, RoomEvent::Disconnected { .. });
            let Ok(slot) = slots.clone().acquire_owned().await else { break };
            if tsfn.call(Queued { event, _slot: slot }, ThreadsafeFunctionCallMode::NonBlocking) != Status::Ok {
                // The JavaScript environment is going away; nobody is listening.
                return;
            }
            if last {
                delivered_last = true;
                break;
            }
        }
        if !delivered_last {
            let event = RoomEvent::Disconnected { reason: proto::DisconnectReason::UnknownReason };
            if let Ok(slot) = slots.acquire_owned().await {
                let _ = tsfn.call(Queued { event, _slot: slot }, ThreadsafeFunctionCallMode::NonBlocking);
            }
        }
        // Dropping `tsfn` here releases the threadsafe function.
    });
    Ok(())
}
