//! Data packets: sending on the publisher's channels, and dispatching what arrives on the
//! subscriber's (user data, chat, DTMF, transcriptions, RPC, stream header/chunk/trailer).

use livekit_protocol as proto;
use prost::Message as _;
use proto::data_packet::Value;

use super::{Output, Sent, Session};
use crate::error::{EngineError, Result, SendError};
use crate::events::{ChatMessage, RoomEvent, TranscriptionSegment};
use crate::objects::RemoteParticipant;
use crate::room::MAX_DATA_PACKET;
use crate::rpc::{RpcError, RpcErrorCode, RpcInvocation, MAX_PAYLOAD_BYTES, VERSION};
use crate::streams::{Incoming, StreamInfo, StreamReader};
use crate::types::{DataKind, DataOptions};

impl Session {
    /// Queues a packet for the publisher channel of `kind`, stamped with our identity (and
    /// a sequence number when reliable); `sent` hears how sending went. A packet over the
    /// size limit is refused here (and `sent` is returned with the error).
    pub(super) fn send_packet(
        &mut self,
        value: Value,
        destinations: Vec<String>,
        kind: DataKind,
        sent: Sent,
    ) -> std::result::Result<(), (EngineError, Sent)> {
        let value = match self.seal_value(value) {
            Ok(value) => value,
            Err(e) => return Err((SendError::Encryption(e).into(), sent)),
        };
        let identity = self.shared.local.identity();
        let sequence = if kind == DataKind::Reliable {
            self.sequence += 1;
            self.sequence
        } else {
            0
        };
        #[allow(deprecated)]
        let packet = proto::DataPacket {
            kind: if kind == DataKind::Reliable { 0 } else { 1 },
            participant_identity: identity,
            participant_sid: self.shared.local.sid(),
            destination_identities: destinations,
            sequence,
            value: Some(value),
        };
        let bytes = packet.encode_to_vec();
        if bytes.len() > MAX_DATA_PACKET {
            let e = SendError::TooLarge { size: bytes.len(), limit: MAX_DATA_PACKET }.into();
            return Err((e, sent));
        }
        match kind {
            // Reliable data waits for the reconnect (bounded), then goes out in order.
            DataKind::Reliable if self.reconnecting() => return self.hold(sequence, bytes, sent),
            // Lossy data would be stale by then: the caller learns it was not sent.
            DataKind::Lossy if self.reconnecting() => return Err((SendError::Reconnecting.into(), sent)),
            DataKind::Reliable => self.sent.push(sequence, bytes.clone()),
            DataKind::Lossy => {}
        }
        self.out.push_back(Output::Data { kind, bytes, sent });
        Ok(())
    }

    /// Queues a packet whose outcome goes to `done` (refusals included).
    pub(super) fn send_packet_for(
        &mut self,
        value: Value,
        destinations: Vec<String>,
        kind: DataKind,
        done: tokio::sync::oneshot::Sender<Result<()>>,
    ) {
        if let Err((e, Sent::Reply(done))) = self.send_packet(value, destinations, kind, Sent::Reply(done)) {
            let _ = done.send(Err(e));
        }
    }

    /// Queues a packet nobody waits for (acks, responses); a refusal is only logged.
    fn send_packet_quietly(&mut self, value: Value, destinations: Vec<String>) {
        if let Err((e, _)) = self.send_packet(value, destinations, DataKind::Reliable, Sent::Nobody) {
            tracing::debug!(error = %e, "data packet not sent");
        }
    }

    pub(super) fn publish_data(
        &mut self,
        payload: Vec<u8>,
        options: DataOptions,
        done: tokio::sync::oneshot::Sender<Result<()>>,
    ) {
        let kind = if options.reliable { DataKind::Reliable } else { DataKind::Lossy };
        #[allow(deprecated)]
        let user = proto::UserPacket {
            payload,
            topic: options.topic,
            participant_identity: self.shared.local.identity(),
            destination_identities: options.destination_identities.clone(),
            ..Default::default()
        };
        self.send_packet_for(Value::User(user), options.destination_identities, kind, done);
    }

    fn remote_by_identity(&self, identity: &str) -> Option<RemoteParticipant> {
        if identity.is_empty() {
            return None;
        }
        self.shared.remotes.lock().iter().find(|p| p.identity() == identity).cloned()
    }

    pub(super) fn on_data(&mut self, kind: DataKind, bytes: &[u8]) {
        let packet = match proto::DataPacket::decode(bytes) {
            Ok(p) => p,
            Err(e) => {
                tracing::debug!(error = %e, "malformed data packet dropped");
                return;
            }
        };
        let Some(mut value) = packet.value else { return };
        if let Value::EncryptedPacket(encrypted) = &value {
            match self.open_value(&packet.participant_identity, encrypted) {
                Some(clear) => value = clear,
                None => return,
            }
        }
        if kind == DataKind::Reliable && !self.dedupe.fresh(&packet.participant_sid, packet.sequence) {
            tracing::debug!(sequence = packet.sequence, "reliable packet received twice; dropped");
            return;
        }
        #[allow(deprecated)]
        let identity = match &value {
            Value::User(u) if packet.participant_identity.is_empty() => u.participant_identity.clone(),
            _ => packet.participant_identity.clone(),
        };
        let sender = self.remote_by_identity(&identity).or_else(|| {
            let remotes = self.shared.remotes.lock();
            remotes.iter().find(|p| !packet.participant_sid.is_empty() && p.sid() == packet.participant_sid).cloned()
        });
        match value {
            Value::User(user) => {
                self.emit(RoomEvent::DataReceived {
                    payload: user.payload,
                    participant: sender,
                    kind,
                    topic: user.topic,
                });
            }
            Value::ChatMessage(m) => self.on_chat(m, sender),
            Value::SipDtmf(d) => {
                if sender.is_none() && !identity.is_empty() {
                    return; // from someone no longer here
                }
                self.emit(RoomEvent::DtmfReceived { code: d.code, digit: d.digit, participant: sender });
            }
            Value::Transcription(t) => self.on_transcription(t, sender),
            Value::RpcRequest(r) => self.on_rpc_request(identity, r),
            Value::RpcAck(a) => {
                if let Some(call) = self.rpc_calls.get_mut(&a.request_id) {
                    if let Some(ack) = call.ack.take() {
                        let _ = ack.send(());
                    }
                }
            }
            Value::RpcResponse(r) => self.on_rpc_response(r),
            Value::StreamHeader(h) => self.on_stream_header(identity, h),
            Value::StreamChunk(c) => self.on_stream_chunk(c),
            Value::StreamTrailer(t) => self.on_stream_trailer(t),
            // Metrics, encrypted packets and legacy speaker updates are not for apps.
            _ => {}
        }
    }

    fn on_chat(&mut self, m: proto::ChatMessage, sender: Option<RemoteParticipant>) {
        // As the official clients do: chat from an unknown sender is dropped.
        let Some(participant) = sender else { return };
        let message = ChatMessage {
            id: m.id,
            timestamp: m.timestamp,
            edit_timestamp: m.edit_timestamp,
            message: m.message,
            deleted: m.deleted,
            generated: m.generated,
        };
        self.emit(RoomEvent::ChatMessage { message, participant });
    }

    fn on_transcription(&mut self, t: proto::Transcription, sender: Option<RemoteParticipant>) {
        let segments = t
            .segments
            .into_iter()
            .map(|s| TranscriptionSegment {
                id: s.id,
                text: s.text,
                start_time: s.start_time,
                end_time: s.end_time,
                is_final: s.r#final,
                language: s.language,
            })
            .collect();
        self.emit(RoomEvent::TranscriptionReceived {
            participant_identity: t.transcribed_participant_identity,
            track_sid: t.track_id,
            segments,
            participant: sender,
        });
    }

    fn on_rpc_response(&mut self, r: proto::RpcResponse) {
        let Some(mut call) = self.rpc_calls.remove(&r.request_id) else { return };
        if let Some(ack) = call.ack.take() {
            let _ = ack.send(()); // a response implies the request arrived
        }
        let result = match r.value {
            Some(proto::rpc_response::Value::Payload(p)) => Ok(p),
            Some(proto::rpc_response::Value::Error(e)) => Err(RpcError::from_proto(e)),
            _ => Ok(String::new()),
        };
        let _ = call.response.send(result);
    }

    fn on_rpc_request(&mut self, caller: String, r: proto::RpcRequest) {
        if caller.is_empty() {
            return; // nobody to answer
        }
        // Acknowledge first, whatever happens next: callers time out without it.
        let ack = Value::RpcAck(proto::RpcAck { request_id: r.id.clone() });
        self.send_packet_quietly(ack, vec![caller.clone()]);
        let refusal = if r.version != VERSION {
            Some(RpcError::built_in(RpcErrorCode::UnsupportedVersion, None))
        } else if !self.shared.local.0.rpc_methods.lock().contains(&r.method) {
            Some(RpcError::built_in(RpcErrorCode::UnsupportedMethod, None))
        } else {
            None
        };
        if let Some(err) = refusal {
            self.send_rpc_response(&caller, r.id, Err(err));
            return;
        }
        self.rpc_invocations.insert(r.id.clone(), caller.clone());
        let invocation = RpcInvocation {
            request_id: r.id,
            caller_identity: caller,
            method: r.method,
            payload: r.payload,
            response_timeout: std::time::Duration::from_millis(r.response_timeout_ms as u64),
        };
        self.emit(RoomEvent::RpcInvocation { invocation });
    }

    /// Answers an invocation we emitted earlier; unknown ids are ignored.
    pub(super) fn respond_rpc(&mut self, request_id: String, result: std::result::Result<String, RpcError>) {
        let Some(caller) = self.rpc_invocations.remove(&request_id) else { return };
        let result = match result {
            Ok(p) if p.len() > MAX_PAYLOAD_BYTES => {
                Err(RpcError::built_in(RpcErrorCode::ResponsePayloadTooLarge, None))
            }
            other => other,
        };
        self.send_rpc_response(&caller, request_id, result);
    }

    fn send_rpc_response(&mut self, caller: &str, request_id: String, result: std::result::Result<String, RpcError>) {
        let value = match result {
            Ok(p) => proto::rpc_response::Value::Payload(p),
            Err(e) => proto::rpc_response::Value::Error(e.to_proto()),
        };
        let response = Value::RpcResponse(proto::RpcResponse { request_id, value: Some(value) });
        self.send_packet_quietly(response, vec![caller.to_string()]);
    }

    fn on_stream_header(&mut self, sender: String, h: proto::data_stream::Header) {
        let Some(info) = StreamInfo::from_header(&h) else { return };
        if self.incoming.contains_key(&info.stream_id) {
            return; // duplicate stream id: the first one wins
        }
        let wanted = self.shared.stream_topics.lock().contains(&(info.kind, info.topic.clone()));
        if !wanted {
            return; // no handler for the topic: dropped, as the official clients do
        }
        let reader = StreamReader::new(info);
        let announced = reader.info().total_size.unwrap_or(0);
        let inline_len = h.inline_content.as_ref().map_or(0, |c| c.len() as u64);
        if let Some(why) = self.over_cap(announced.max(inline_len)) {
            // Refused before any data is kept: the handler's read fails with the reason.
            reader.reject(why);
        } else if let Some(inline) = h.inline_content {
            reader.push(inline);
            reader.finish(Ok(()));
        } else {
            self.incoming.insert(
                reader.info().stream_id.clone(),
                Incoming { reader: std::sync::Arc::downgrade(&reader.0), sender: sender.clone(), next_index: 0 },
            );
        }
        self.emit(RoomEvent::StreamOpened { reader, participant_identity: sender });
    }

    fn on_stream_chunk(&mut self, c: proto::data_stream::Chunk) {
        // Chunks of streams we do not follow (not ours, no handler) are normal: ignore.
        let Some(entry) = self.incoming.get_mut(&c.stream_id) else { return };
        let Some(reader) = entry.reader.upgrade().map(StreamReader) else {
            self.incoming.remove(&c.stream_id);
            return;
        };
        let fail = |reader: &StreamReader, why: String| reader.finish(Err(why));
        if c.chunk_index != entry.next_index {
            fail(&reader, format!("chunk {} arrived where {} was expected", c.chunk_index, entry.next_index));
            self.incoming.remove(&c.stream_id);
            return;
        }
        entry.next_index += 1;
        if reader.info().kind == crate::streams::StreamKind::Text && std::str::from_utf8(&c.content).is_err() {
            fail(&reader, "a text chunk is not valid UTF-8".into());
            self.incoming.remove(&c.stream_id);
            return;
        }
        if let Some(why) = self.over_cap(reader.received() + c.content.len() as u64) {
            reader.reject(why);
            self.incoming.remove(&c.stream_id);
            return;
        }
        if let Some(total) = reader.info().total_size {
            if reader.received() + c.content.len() as u64 > total {
                fail(&reader, format!("more data than the announced {total} bytes"));
                self.incoming.remove(&c.stream_id);
                return;
            }
        }
        if !reader.push(c.content) {
            self.incoming.remove(&c.stream_id);
        }
    }

    /// Why a stream of `bytes` is refused, if it exceeds `max_stream_payload_bytes`.
    fn over_cap(&self, bytes: u64) -> Option<String> {
        let cap = self.config.max_stream_bytes?;
        (bytes > cap)
            .then(|| format!("the stream's payload ({bytes} bytes so far) exceeds maxPayloadByteLength ({cap} bytes)"))
    }

    fn on_stream_trailer(&mut self, t: proto::data_stream::Trailer) {
        let Some(entry) = self.incoming.remove(&t.stream_id) else { return };
        let Some(reader) = entry.reader.upgrade().map(StreamReader) else { return };
        let result = match reader.info().total_size {
            Some(total) if reader.received() < total => {
                Err(format!("stream ended after {} of {total} bytes", reader.received()))
            }
            _ if !t.reason.is_empty() => Err(t.reason),
            _ => Ok(()),
        };
        reader.finish(result);
    }

    /// A participant left: its streams end abnormally, calls to it fail.
    pub(super) fn forget_participant(&mut self, identity: &str) {
        self.incoming.retain(|_, entry| {
            if entry.sender != identity {
                return true;
            }
            if let Some(r) = entry.reader.upgrade() {
                StreamReader(r)
                    .finish(Err(format!("participant {identity} disconnected in the middle of sending data")));
            }
            false
        });
        let gone: Vec<String> =
            self.rpc_calls.iter().filter(|(_, c)| c.destination == identity).map(|(id, _)| id.clone()).collect();
        for id in gone {
            if let Some(call) = self.rpc_calls.remove(&id) {
                let _ = call.response.send(Err(RpcError::built_in(RpcErrorCode::RecipientDisconnected, None)));
            }
        }
        self.rpc_invocations.retain(|_, caller| caller != identity);
    }
}
