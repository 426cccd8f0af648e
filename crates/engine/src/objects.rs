//! The objects a room hands out: participants, publications, tracks. They are cheap
//! handles (`Arc`) onto state the room task updates; the room drops its references when
//! the object stops existing on the wire, so nothing outlives it but the caller's handle.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use livekit_protocol as proto;
use tokio::sync::mpsc;

use crate::command::Command;
use crate::error::{EngineError, Result};
use crate::reply::Reply;
use crate::types::{DataOptions, ParticipantKind, PublishOptions, TrackKind, TrackSettings, TrackSource};

pub use crate::remote_track::RemoteTrack;
use crate::types::next_id;

/// Mutable participant fields.
#[derive(Clone, Debug, Default)]
pub(crate) struct ParticipantFields {
    pub name: String,
    pub metadata: String,
    pub attributes: HashMap<String, String>,
    pub version: u32,
    pub kind: i32,
    pub kind_details: Vec<i32>,
    /// Why it left (`DisconnectReason`), from its `DISCONNECTED` snapshot.
    pub disconnect_reason: i32,
}

impl ParticipantFields {
    pub(crate) fn from_info(info: &proto::ParticipantInfo) -> Self {
        Self {
            name: info.name.clone(),
            metadata: info.metadata.clone(),
            attributes: info.attributes.clone(),
            version: info.version,
            kind: info.kind,
            kind_details: info.kind_details.clone(),
            disconnect_reason: info.disconnect_reason,
        }
    }

    fn kind(&self) -> ParticipantKind {
        ParticipantKind::from_proto(self.kind)
    }

    fn kind_details(&self) -> Vec<u32> {
        self.kind_details.iter().filter_map(|d| u32::try_from(*d).ok()).collect()
    }
}

/// `TrackInfo.encryption` as an [`EncryptionType`](crate::e2ee::EncryptionType) (unknown values: none).
fn encryption_type(value: i32) -> crate::e2ee::EncryptionType {
    proto::encryption::Type::try_from(value).unwrap_or_default().into()
}

// ---------------------------------------------------------------------------------------
// Remote publication

pub(crate) struct PublicationState {
    pub info: proto::TrackInfo,
    pub track: Option<RemoteTrack>,
    pub desired: bool,
    /// What this subscriber asked the server for (`UpdateTrackSettings`).
    pub settings: TrackSettings,
}

pub(crate) struct RemotePublicationInner {
    id: u64,
    sid: String,
    participant_sid: String,
    pub(crate) state: Mutex<PublicationState>,
    cmd: mpsc::UnboundedSender<Command>,
}

/// A track another participant published.
#[derive(Clone)]
pub struct RemoteTrackPublication(pub(crate) Arc<RemotePublicationInner>);

impl RemoteTrackPublication {
    pub(crate) fn new(
        participant_sid: &str,
        info: proto::TrackInfo,
        auto: bool,
        cmd: mpsc::UnboundedSender<Command>,
    ) -> Self {
        Self(Arc::new(RemotePublicationInner {
            id: next_id(),
            sid: info.sid.clone(),
            participant_sid: participant_sid.into(),
            state: Mutex::new(PublicationState {
                info,
                track: None,
                desired: auto,
                settings: TrackSettings::default(),
            }),
            cmd,
        }))
    }
    /// Unique object id.
    pub fn id(&self) -> u64 {
        self.0.id
    }
    /// Track sid (`TR_`).
    pub fn sid(&self) -> String {
        self.0.sid.clone()
    }
    /// Publisher's sid.
    pub fn participant_sid(&self) -> String {
        self.0.participant_sid.clone()
    }
    /// Track name.
    pub fn name(&self) -> String {
        self.0.state.lock().info.name.clone()
    }
    /// Audio or video.
    pub fn kind(&self) -> TrackKind {
        TrackKind::from_proto(self.0.state.lock().info.r#type)
    }
    /// Source (microphone, camera...).
    pub fn source(&self) -> TrackSource {
        TrackSource::from_proto(self.0.state.lock().info.source)
    }
    /// Codec mime type.
    pub fn mime_type(&self) -> String {
        self.0.state.lock().info.mime_type.clone()
    }
    /// Whether the publisher muted it.
    pub fn muted(&self) -> bool {
        self.0.state.lock().info.muted
    }
    /// Whether media is flowing to us.
    pub fn subscribed(&self) -> bool {
        self.0.state.lock().track.is_some()
    }
    /// The track, while subscribed.
    pub fn track(&self) -> Option<RemoteTrack> {
        self.0.state.lock().track.clone()
    }
    /// Snapshot of the wire info.
    pub fn info(&self) -> proto::TrackInfo {
        self.0.state.lock().info.clone()
    }
    /// How the publisher encrypts the track end to end (`TrackInfo.encryption`).
    pub fn encryption_type(&self) -> crate::e2ee::EncryptionType {
        encryption_type(self.0.state.lock().info.encryption)
    }
    /// Subscribes or unsubscribes (sent to the server; events follow).
    pub async fn set_subscribed(&self, subscribe: bool) -> Result<()> {
        let (participant_sid, track_sid) = (self.0.participant_sid.clone(), self.0.sid.clone());
        self.call(|done| Command::SetSubscribed { participant_sid, track_sid, subscribe, done }).await
    }
    /// Queues a command on the room task and waits for its outcome.
    async fn call(&self, make: impl FnOnce(tokio::sync::oneshot::Sender<Result<()>>) -> Command) -> Result<()> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.0.cmd.send(make(tx)).map_err(|_| EngineError::Disconnected)?;
        rx.await.map_err(|_| EngineError::Disconnected)?
    }
    /// What this subscriber asked the server for so far.
    pub fn settings(&self) -> TrackSettings {
        self.0.state.lock().settings
    }
    /// Changes what this subscriber asks for (`change` edits the current settings) and tells
    /// the server, which applies it from the next keyframe. Quality and dimensions are for
    /// video tracks only; dimensions must not be zero.
    pub async fn update_settings(&self, change: impl FnOnce(&mut TrackSettings)) -> Result<()> {
        let settings = {
            let mut st = self.0.state.lock();
            let mut next = st.settings;
            change(&mut next);
            let video = TrackKind::from_proto(st.info.r#type) == TrackKind::Video;
            if !video && (next.quality != st.settings.quality || next.dimensions != st.settings.dimensions) {
                return Err(EngineError::InvalidArgument("video quality and dimensions apply to video tracks".into()));
            }
            if next.dimensions.is_some_and(|(w, h)| w == 0 || h == 0) {
                return Err(EngineError::InvalidArgument(format!("video dimensions {:?}", next.dimensions)));
            }
            st.settings = next;
            let (width, height) = next.dimensions.unwrap_or((0, 0));
            proto::UpdateTrackSettings {
                track_sids: vec![self.0.sid.clone()],
                disabled: !next.enabled,
                quality: next.quality as i32,
                width,
                height,
                ..Default::default()
            }
        };
        self.call(|done| Command::TrackSettings { settings, done }).await
    }
}

// ---------------------------------------------------------------------------------------
// Remote participant

pub(crate) struct RemoteParticipantInner {
    id: u64,
    sid: Mutex<String>,
    identity: String,
    pub(crate) fields: Mutex<ParticipantFields>,
    pub(crate) publications: Mutex<Vec<RemoteTrackPublication>>,
}

/// Another participant in the room.
#[derive(Clone)]
pub struct RemoteParticipant(pub(crate) Arc<RemoteParticipantInner>);

impl RemoteParticipant {
    pub(crate) fn new(info: &proto::ParticipantInfo) -> Self {
        Self(Arc::new(RemoteParticipantInner {
            id: next_id(),
            sid: Mutex::new(info.sid.clone()),
            identity: info.identity.clone(),
            fields: Mutex::new(ParticipantFields::from_info(info)),
            publications: Mutex::new(Vec::new()),
        }))
    }
    /// Unique object id.
    pub fn id(&self) -> u64 {
        self.0.id
    }
    /// Participant sid (`PA_`).
    pub fn sid(&self) -> String {
        self.0.sid.lock().clone()
    }
    /// After our rejoin: the sid the participant has in the new session.
    pub(crate) fn set_sid(&self, sid: &str) {
        *self.0.sid.lock() = sid.to_string();
    }
    /// Identity from its token.
    pub fn identity(&self) -> String {
        self.0.identity.clone()
    }
    /// Display name.
    pub fn name(&self) -> String {
        self.0.fields.lock().name.clone()
    }
    /// Metadata.
    pub fn metadata(&self) -> String {
        self.0.fields.lock().metadata.clone()
    }
    /// Attributes.
    pub fn attributes(&self) -> HashMap<String, String> {
        self.0.fields.lock().attributes.clone()
    }
    /// Kind (standard, agent, connector...).
    pub fn kind(&self) -> ParticipantKind {
        self.0.fields.lock().kind()
    }
    /// Details of the kind (`ParticipantKindDetail` values: 0 cloud agent, 1 forwarded...).
    pub fn kind_details(&self) -> Vec<u32> {
        self.0.fields.lock().kind_details()
    }
    /// Why it left (`DisconnectReason` value; 0 unknown), once it has.
    pub fn disconnect_reason(&self) -> i32 {
        self.0.fields.lock().disconnect_reason
    }
    /// Its publications, in publish order.
    pub fn track_publications(&self) -> Vec<RemoteTrackPublication> {
        self.0.publications.lock().clone()
    }
    pub(crate) fn publication(&self, sid: &str) -> Option<RemoteTrackPublication> {
        self.0.publications.lock().iter().find(|p| p.0.sid == sid).cloned()
    }
}

// ---------------------------------------------------------------------------------------
// Local participant

pub(crate) struct LocalParticipantInner {
    sid: Mutex<String>,
    identity: String,
    pub(crate) fields: Mutex<ParticipantFields>,
    pub(crate) publications: Mutex<Vec<LocalTrackPublication>>,
    pub(crate) rpc_methods: Mutex<std::collections::HashSet<String>>,
    cmd: mpsc::UnboundedSender<Command>,
}

/// This client, as a participant of the room.
#[derive(Clone)]
pub struct LocalParticipant(pub(crate) Arc<LocalParticipantInner>);

impl LocalParticipant {
    pub(crate) fn new(info: &proto::ParticipantInfo, cmd: mpsc::UnboundedSender<Command>) -> Self {
        Self(Arc::new(LocalParticipantInner {
            sid: Mutex::new(info.sid.clone()),
            identity: info.identity.clone(),
            fields: Mutex::new(ParticipantFields::from_info(info)),
            publications: Mutex::new(Vec::new()),
            rpc_methods: Mutex::default(),
            cmd,
        }))
    }
    /// Participant sid (`PA_`).
    pub fn sid(&self) -> String {
        self.0.sid.lock().clone()
    }
    /// After a rejoin: the sid the server gave this time.
    pub(crate) fn set_sid(&self, sid: &str) {
        *self.0.sid.lock() = sid.to_string();
    }
    /// Identity from the token.
    pub fn identity(&self) -> String {
        self.0.identity.clone()
    }
    /// Display name.
    pub fn name(&self) -> String {
        self.0.fields.lock().name.clone()
    }
    /// Metadata.
    pub fn metadata(&self) -> String {
        self.0.fields.lock().metadata.clone()
    }
    /// Attributes.
    pub fn attributes(&self) -> HashMap<String, String> {
        self.0.fields.lock().attributes.clone()
    }
    /// Kind, as the server assigned it in the join response (agent, SIP...).
    pub fn kind(&self) -> ParticipantKind {
        self.0.fields.lock().kind()
    }
    /// Details of the kind (`ParticipantKindDetail` values).
    pub fn kind_details(&self) -> Vec<u32> {
        self.0.fields.lock().kind_details()
    }

    /// Queues a command on the room task now; the reply resolves with its outcome.
    fn request<T>(&self, make: impl FnOnce(tokio::sync::oneshot::Sender<Result<T>>) -> Command) -> Reply<T> {
        Reply::send(&self.0.cmd, make)
    }

    /// Sends a user data packet to the room (or to `destination_identities`). The packet is
    /// queued when this is called: packets go out in call order (see [`Reply`]).
    pub fn publish_data(&self, payload: Vec<u8>, options: DataOptions) -> Reply<()> {
        self.request(|done| Command::PublishData { payload, options, done })
    }

    /// Sets this participant's metadata (needs `canUpdateOwnMetadata`); resolves when the
    /// server confirmed it.
    pub fn set_metadata(&self, metadata: String) -> Reply<()> {
        let update = proto::UpdateParticipantMetadata { metadata, ..Default::default() };
        self.request(|done| Command::UpdateMetadata { update, done })
    }

    /// Sets this participant's name (needs `canUpdateOwnMetadata`).
    pub fn set_name(&self, name: String) -> Reply<()> {
        let update = proto::UpdateParticipantMetadata { name, ..Default::default() };
        self.request(|done| Command::UpdateMetadata { update, done })
    }

    /// Sets (merges) attributes; an empty value deletes a key.
    pub fn set_attributes(&self, attributes: HashMap<String, String>) -> Reply<()> {
        let update = proto::UpdateParticipantMetadata { attributes, ..Default::default() };
        self.request(|done| Command::UpdateMetadata { update, done })
    }
}

/// Either kind of participant (events about metadata, mute...).
#[derive(Clone)]
pub enum Participant {
    /// This client.
    Local(LocalParticipant),
    /// Someone else.
    Remote(RemoteParticipant),
}

// ---------------------------------------------------------------------------------------
// Local publication

pub(crate) struct LocalPublicationInner {
    id: u64,
    sid: Mutex<String>,
    pub(crate) track: crate::media::LocalTrack,
    pub(crate) info: Mutex<proto::TrackInfo>,
    pub(crate) subscribed: tokio::sync::watch::Sender<bool>,
    pub(crate) sender: Mutex<Option<Arc<dyn webrtc::rtp_transceiver::RtpSender>>>,
}

/// A track this client published.
#[derive(Clone)]
pub struct LocalTrackPublication(pub(crate) Arc<LocalPublicationInner>);

impl LocalTrackPublication {
    pub(crate) fn new(
        info: proto::TrackInfo,
        track: crate::media::LocalTrack,
        sender: Arc<dyn webrtc::rtp_transceiver::RtpSender>,
    ) -> Self {
        Self(Arc::new(LocalPublicationInner {
            id: next_id(),
            sid: Mutex::new(info.sid.clone()),
            track,
            info: Mutex::new(info),
            subscribed: tokio::sync::watch::channel(false).0,
            sender: Mutex::new(Some(sender)),
        }))
    }
    /// Unique object id.
    pub fn id(&self) -> u64 {
        self.0.id
    }
    /// Track sid (`TR_`).
    pub fn sid(&self) -> String {
        self.0.sid.lock().clone()
    }
    /// After a rejoin: the sid the server gave this time.
    pub(crate) fn set_sid(&self, sid: &str) {
        *self.0.sid.lock() = sid.to_string();
    }
    /// Track name.
    pub fn name(&self) -> String {
        self.0.info.lock().name.clone()
    }
    /// Audio or video.
    pub fn kind(&self) -> TrackKind {
        TrackKind::from_proto(self.0.info.lock().r#type)
    }
    /// Source (microphone...).
    pub fn source(&self) -> TrackSource {
        TrackSource::from_proto(self.0.info.lock().source)
    }
    /// Codec mime type.
    pub fn mime_type(&self) -> String {
        self.0.info.lock().mime_type.clone()
    }
    /// Whether it is muted.
    pub fn muted(&self) -> bool {
        self.0.info.lock().muted
    }
    /// Snapshot of the wire info (as the server accepted it).
    pub fn info(&self) -> proto::TrackInfo {
        self.0.info.lock().clone()
    }
    /// How the track is encrypted end to end (as announced to the server).
    pub fn encryption_type(&self) -> crate::e2ee::EncryptionType {
        encryption_type(self.0.info.lock().encryption)
    }
    /// The published track.
    pub fn track(&self) -> crate::media::LocalTrack {
        self.0.track.clone()
    }
    /// Resolves when a first participant subscribed (or fails after `timeout`).
    pub async fn wait_for_subscription(&self, timeout: std::time::Duration) -> Result<()> {
        let mut rx = self.0.subscribed.subscribe();
        let subscribed =
            crate::error::bounded("a subscriber", timeout, async { rx.wait_for(|s| *s).await.is_ok() }).await?;
        if subscribed {
            Ok(())
        } else {
            Err(EngineError::Disconnected)
        }
    }
}

impl LocalParticipant {
    /// Publishes a local track of any kind; resolves when the server accepted it. The
    /// request is queued when this is called.
    pub fn publish_track(
        &self,
        track: &crate::media::LocalTrack,
        options: PublishOptions,
    ) -> impl std::future::Future<Output = Result<LocalTrackPublication>> + Send + 'static {
        let track = track.clone();
        track.set_publisher(&self.identity());
        let published = self.request(|done| Command::PublishTrack { track, options, done });
        let me = self.clone();
        async move {
            let sid = published.await?;
            // The room lists the publication before it answers; only a disconnect since
            // then can have taken it away.
            me.track_publications().into_iter().find(|p| p.sid() == sid).ok_or(EngineError::Disconnected)
        }
    }

    /// Unpublishes a track by sid; the publication is gone when this resolves.
    pub fn unpublish_track(&self, sid: &str) -> Reply<()> {
        let sid = sid.to_string();
        self.request(|done| Command::UnpublishTrack { sid, done })
    }

    /// Mutes or unmutes a published track (tells the server; peers get mute events).
    pub fn set_track_muted(&self, sid: &str, muted: bool) -> Reply<()> {
        let sid = sid.to_string();
        self.request(|done| Command::MuteTrack { sid, muted, done })
    }

    /// Published tracks.
    pub fn track_publications(&self) -> Vec<LocalTrackPublication> {
        self.0.publications.lock().clone()
    }
}

impl TrackSource {
    pub(crate) fn to_proto(self) -> i32 {
        (match self {
            TrackSource::Unknown => proto::TrackSource::Unknown,
            TrackSource::Camera => proto::TrackSource::Camera,
            TrackSource::Microphone => proto::TrackSource::Microphone,
            TrackSource::ScreenShare => proto::TrackSource::ScreenShare,
            TrackSource::ScreenShareAudio => proto::TrackSource::ScreenShareAudio,
        }) as i32
    }
}

// ---------------------------------------------------------------------------------------
// Data features of the local participant: RPC, chat, DTMF, transcription, streams.

impl LocalParticipant {
    /// Calls `method` on another participant; resolves with its response payload. The
    /// request is queued when this is called, in order with data packets and streams.
    pub fn perform_rpc(
        &self,
        call: crate::rpc::RpcCall,
    ) -> impl std::future::Future<Output = std::result::Result<String, crate::rpc::RpcError>> + Send + 'static {
        use crate::rpc::{RpcError, RpcErrorCode, MAX_PAYLOAD_BYTES};
        let too_large = call.payload.len() > MAX_PAYLOAD_BYTES;
        let (ack_tx, ack_rx) = tokio::sync::oneshot::channel();
        let (resp_tx, resp_rx) = tokio::sync::oneshot::channel();
        let (sent_tx, sent_rx) = tokio::sync::oneshot::channel();
        let response_timeout = call.response_timeout;
        let queued = !too_large
            && self.0.cmd.send(Command::PerformRpc { call, ack: ack_tx, response: resp_tx, sent: sent_tx }).is_ok();
        async move {
            if too_large {
                return Err(RpcError::built_in(RpcErrorCode::RequestPayloadTooLarge, None));
            }
            if !queued {
                return Err(RpcError::built_in(RpcErrorCode::SendFailed, Some("the room is disconnected")));
            }
            crate::rpc::await_rpc(sent_rx, ack_rx, resp_rx, response_timeout).await
        }
    }

    /// Accepts calls to `method` (they arrive as `RoomEvent::RpcInvocation`).
    pub fn register_rpc_method(&self, method: &str) {
        self.0.rpc_methods.lock().insert(method.to_string());
    }

    /// Stops accepting calls to `method` (callers then get "unsupported method").
    pub fn unregister_rpc_method(&self, method: &str) {
        self.0.rpc_methods.lock().remove(method);
    }

    /// Answers an invocation.
    pub fn respond_rpc(&self, request_id: &str, result: std::result::Result<String, crate::rpc::RpcError>) {
        let _ = self.0.cmd.send(Command::RespondRpc { request_id: request_id.to_string(), result });
    }

    /// Sends a chat message; resolves with the message as sent.
    pub fn send_chat_message(
        &self,
        text: &str,
        destinations: Vec<String>,
    ) -> impl std::future::Future<Output = Result<crate::types::ChatMessage>> + Send + 'static {
        let message = crate::types::ChatMessage {
            id: crate::rpc::uuid_v4(),
            timestamp: now_ms(),
            edit_timestamp: None,
            message: text.to_string(),
            deleted: false,
            generated: false,
        };
        self.send_chat(message, destinations)
    }

    /// Sends an edit of `original` (same id and timestamp, the new text, `edit_timestamp`
    /// now), as the official SDKs do; resolves with the edited message as sent.
    pub fn edit_chat_message(
        &self,
        edit_text: &str,
        original: &crate::types::ChatMessage,
        destinations: Vec<String>,
    ) -> impl std::future::Future<Output = Result<crate::types::ChatMessage>> + Send + 'static {
        let message = crate::types::ChatMessage {
            message: edit_text.to_string(),
            edit_timestamp: Some(now_ms()),
            ..original.clone()
        };
        self.send_chat(message, destinations)
    }

    fn send_chat(
        &self,
        message: crate::types::ChatMessage,
        destinations: Vec<String>,
    ) -> impl std::future::Future<Output = Result<crate::types::ChatMessage>> + Send + 'static {
        let value = proto::data_packet::Value::ChatMessage(proto::ChatMessage {
            id: message.id.clone(),
            timestamp: message.timestamp,
            edit_timestamp: message.edit_timestamp,
            message: message.message.clone(),
            deleted: message.deleted,
            generated: message.generated,
        });
        let sent = crate::streams::send_packet(&self.0.cmd, value, destinations);
        async move {
            sent.await?;
            Ok(message)
        }
    }

    /// Sends a DTMF tone.
    pub fn publish_dtmf(&self, code: u32, digit: &str) -> Reply<()> {
        let value = proto::data_packet::Value::SipDtmf(proto::SipDtmf { code, digit: digit.to_string() });
        crate::streams::send_packet(&self.0.cmd, value, Vec::new())
    }

    /// Publishes a transcription of `track_sid` (a `TR_` sid: official clients reject others).
    pub fn publish_transcription(
        &self,
        participant_identity: &str,
        track_sid: &str,
        segments: Vec<crate::types::TranscriptionSegment>,
    ) -> Reply<()> {
        if !track_sid.starts_with("TR_") {
            return Reply::ready(Err(EngineError::InvalidArgument(format!(
                "trackSid {track_sid:?} is not a track sid (TR_...); other clients would reject the transcription"
            ))));
        }
        let value = proto::data_packet::Value::Transcription(proto::Transcription {
            transcribed_participant_identity: participant_identity.to_string(),
            track_id: track_sid.to_string(),
            segments: segments
                .into_iter()
                .map(|s| proto::TranscriptionSegment {
                    id: s.id,
                    text: s.text,
                    start_time: s.start_time,
                    end_time: s.end_time,
                    r#final: s.is_final,
                    language: s.language,
                })
                .collect(),
        });
        crate::streams::send_packet(&self.0.cmd, value, Vec::new())
    }

    /// Creates a writer and queues its header now; the reply resolves once it is sent.
    fn open_stream(
        &self,
        kind: crate::streams::StreamKind,
        options: crate::streams::StreamOptions,
    ) -> (crate::streams::StreamWriter, Reply<()>) {
        use crate::streams::{StreamInfo, StreamKind, BYTES_MIME, TEXT_MIME};
        let info = StreamInfo {
            stream_id: options.stream_id.unwrap_or_else(crate::rpc::uuid_v4),
            topic: options.topic,
            mime_type: match kind {
                StreamKind::Text => TEXT_MIME.into(),
                StreamKind::Bytes => options.mime_type.unwrap_or_else(|| BYTES_MIME.into()),
            },
            timestamp: now_ms(),
            total_size: options.total_size,
            attributes: options.attributes,
            name: match kind {
                StreamKind::Text => None,
                StreamKind::Bytes => Some(options.name.unwrap_or_else(|| "unknown".into())),
            },
            kind,
        };
        let writer = crate::streams::StreamWriter::new(info, options.destination_identities, self.0.cmd.clone());
        let header = writer.send(proto::data_packet::Value::StreamHeader(writer.info().to_header()));
        (writer, header)
    }

    /// Opens a stream of `kind`: the header is queued now (in order with data packets and
    /// RPC); the future resolves with the writer once the header is sent.
    pub fn open_stream_of(
        &self,
        kind: crate::streams::StreamKind,
        options: crate::streams::StreamOptions,
    ) -> impl std::future::Future<Output = Result<crate::streams::StreamWriter>> + Send + 'static {
        let (writer, header) = self.open_stream(kind, options);
        async move {
            header.await?;
            Ok(writer)
        }
    }

    /// Opens a text stream; write text, then close.
    pub async fn stream_text(&self, options: crate::streams::StreamOptions) -> Result<crate::streams::StreamWriter> {
        self.open_stream_of(crate::streams::StreamKind::Text, options).await
    }

    /// Opens a byte stream; write bytes, then close.
    pub async fn stream_bytes(&self, options: crate::streams::StreamOptions) -> Result<crate::streams::StreamWriter> {
        self.open_stream_of(crate::streams::StreamKind::Bytes, options).await
    }

    /// Sends `data` as one whole stream of `kind`: header, chunks and trailer are all queued
    /// now; the future resolves with the stream's header once everything is sent.
    pub fn send_whole(
        &self,
        kind: crate::streams::StreamKind,
        data: &[u8],
        mut options: crate::streams::StreamOptions,
    ) -> impl std::future::Future<Output = Result<crate::streams::StreamInfo>> + Send + 'static {
        options.total_size = Some(data.len() as u64);
        let (writer, header) = self.open_stream(kind, options);
        let chunks = writer.write(data);
        let trailer = writer.close(None);
        async move {
            header.await?;
            chunks.await?;
            trailer.await?;
            Ok(writer.info().clone())
        }
    }

    /// Sends a whole text as one stream.
    pub async fn send_text(
        &self,
        text: &str,
        options: crate::streams::StreamOptions,
    ) -> Result<crate::streams::StreamInfo> {
        self.send_whole(crate::streams::StreamKind::Text, text.as_bytes(), options).await
    }

    /// Sends bytes (a file's content) as one stream.
    pub async fn send_bytes(
        &self,
        data: &[u8],
        options: crate::streams::StreamOptions,
    ) -> Result<crate::streams::StreamInfo> {
        self.send_whole(crate::streams::StreamKind::Bytes, data, options).await
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
