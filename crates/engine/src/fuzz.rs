//! Entry points for the fuzz targets in `fuzz/` (not an API). Each takes bytes as a
//! server or a remote participant could send them and runs the engine's decoders; none
//! may panic.

use livekit_protocol as proto;
use prost::Message;

use crate::streams::{StreamInfo, StreamKind, StreamReader};

/// One signalling frame from the server: `SignalResponse` decode, then the parsers the
/// client runs on what it carries (trickle candidate JSON, the SDP's first mid).
pub fn signal_response(bytes: &[u8]) {
    let Ok(resp) = proto::SignalResponse::decode(bytes) else { return };
    use proto::signal_response::Message as Resp;
    match resp.message {
        Some(Resp::Trickle(t)) => trickle_json(t.candidate_init.as_bytes()),
        Some(Resp::Offer(sd)) | Some(Resp::Answer(sd)) => {
            let _ = crate::pc::first_mid(&sd.sdp);
        }
        _ => {}
    }
}

/// A trickle `candidateInit` JSON string from the server.
pub fn trickle_json(bytes: &[u8]) {
    if let Ok(text) = std::str::from_utf8(bytes) {
        let _ = crate::pc::candidate_from_json(text);
    }
}

/// A sequence of data-channel messages from one sender (each prefixed by a little-endian
/// u16 length): decoded, and stream headers, chunks and trailers assembled with the
/// engine's stream reader the way the room task does (index order, UTF-8 for text,
/// announced length).
pub fn data_packets(mut bytes: &[u8]) {
    let mut open: Vec<(StreamReader, u64)> = Vec::new();
    while bytes.len() >= 2 {
        let len = u16::from_le_bytes([bytes[0], bytes[1]]) as usize;
        let body = &bytes[2..(2 + len).min(bytes.len())];
        bytes = &bytes[(2 + len).min(bytes.len())..];
        let Ok(packet) = proto::DataPacket::decode(body) else { continue };
        use proto::data_packet::Value;
        match packet.value {
            Some(Value::StreamHeader(h)) => {
                let Some(info) = StreamInfo::from_header(&h) else { continue };
                let _ = info.to_header().encode_to_vec();
                let reader = StreamReader::new(info);
                if let Some(inline) = h.inline_content {
                    reader.push(inline);
                    reader.finish(Ok(()));
                } else if open.len() < 16 {
                    open.push((reader, 0));
                }
            }
            Some(Value::StreamChunk(c)) => {
                let Some(i) = open.iter().position(|(r, _)| r.info().stream_id == c.stream_id) else { continue };
                let (reader, next) = &mut open[i];
                let text_ok = reader.info().kind != StreamKind::Text || std::str::from_utf8(&c.content).is_ok();
                let within = reader.info().total_size.is_none_or(|t| reader.received() + c.content.len() as u64 <= t);
                if c.chunk_index != *next || !text_ok || !within || !reader.push(c.content) {
                    reader.finish(Err("bad chunk".into()));
                    open.remove(i);
                    continue;
                }
                *next += 1;
            }
            Some(Value::StreamTrailer(t)) => {
                if let Some(i) = open.iter().position(|(r, _)| r.info().stream_id == t.stream_id) {
                    let (reader, _) = open.remove(i);
                    let _ = reader.progress();
                    reader.finish(if t.reason.is_empty() { Ok(()) } else { Err(t.reason) });
                }
            }
            Some(Value::RpcResponse(r)) => {
                if let Some(proto::rpc_response::Value::Error(e)) = r.value {
                    let _ = crate::rpc::RpcError::from_proto(e);
                }
            }
            _ => {}
        }
    }
}
