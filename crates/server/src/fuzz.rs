//! Entry points for the fuzz targets in `fuzz/` (not an API). Each takes bytes as they
//! arrive from the network and runs the server's real decoders on them; none may panic.

use std::sync::{Arc, OnceLock};

use livekit_protocol as proto;
use prost::Message;

use crate::auth::JoinGrant;
use crate::participant::{DataKind, JoinParams, Participant};

/// One WebSocket binary frame: `SignalRequest` decode, then the parsers the request
/// dispatch runs on what it carries (SDP of offers and answers, trickle candidate JSON,
/// add-track sources). The async session itself is not driven.
pub fn signal_frame(bytes: &[u8]) {
    let Ok(req) = proto::SignalRequest::decode(bytes) else { return };
    use proto::signal_request::Message as Req;
    match req.message {
        Some(Req::Offer(sd)) | Some(Req::Answer(sd)) => sdp(sd.sdp.as_bytes()),
        Some(Req::Trickle(t)) => trickle_json(t.candidate_init.as_bytes()),
        Some(Req::AddTrack(t)) => {
            let source = proto::TrackSource::try_from(t.source).unwrap_or(proto::TrackSource::Unknown);
            let _ = participant().grant.can_publish_source(source);
        }
        _ => {}
    }
}

/// SDP text as the server reads it from offers and answers.
pub fn sdp(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let _ = lkrtc_transport::sdp::first_mid(&text);
    let _ = crate::rtc::audio_level_id(&text);
    let _ = crate::rtc::sending_track_ids(&text);
}

/// A trickle `candidateInit` JSON string.
pub fn trickle_json(bytes: &[u8]) {
    if let Ok(text) = std::str::from_utf8(bytes) {
        let _ = lkrtc_transport::candidate::from_json(text);
    }
}

/// A data-channel message from a publisher: decode and the server's rewrite (sender
/// stamping, destinations, sequence check), on both channel kinds. Any packet kind,
/// stream headers, chunks and trailers included.
pub fn data_packet(bytes: &[u8]) {
    let p = participant();
    let mut state = crate::data::SenderState::default();
    for kind in [DataKind::Reliable, DataKind::Lossy] {
        if let Ok(Some(routed)) = crate::data::route(p, kind, bytes, &mut state) {
            // What the server forwards must decode again.
            assert!(proto::DataPacket::decode(routed.bytes).is_ok(), "the server re-encoded an undecodable packet");
        }
    }
}

fn participant() -> &'static Arc<Participant> {
    static P: OnceLock<Arc<Participant>> = OnceLock::new();
    P.get_or_init(|| {
        let grant = JoinGrant {
            can_publish_sources: vec![proto::TrackSource::Microphone],
            ..JoinGrant::publisher("fuzz", "fuzz")
        };
        let (p, channels) =
            Participant::new(JoinParams { grant, auto_subscribe: false, client_protocol: 0, reuse_transceivers: true });
        // The receiving ends are not needed; dropping them makes sends no-ops.
        drop(channels);
        p
    })
}

/// An SRTCP payload from a subscriber, decrypted: the stack's compound parse, then what the
/// server does with it (the feedback split per media SSRC, NACKs against a packet history
/// that holds the sequence numbers around them).
pub fn rtcp_feedback(bytes: &[u8]) {
    use rtc::rtcp::transport_feedbacks::transport_layer_nack::TransportLayerNack;
    let Ok(packets) = rtc::rtcp::packet::unmarshal(&mut bytes::Bytes::copy_from_slice(bytes)) else { return };
    let now = std::time::Instant::now();
    for packet in lkrtc_transport::feedback::relayed(&packets) {
        let Some(nack) = packet.as_any().downcast_ref::<TransportLayerNack>() else { continue };
        let mut history = crate::feedback::SendHistory::default();
        let first = nack.nacks.first().map_or(0, |n| n.packet_id);
        for seq in (0..600u16).map(|d| first.wrapping_sub(300).wrapping_add(d)).filter(|s| s % 7 != 0) {
            let mut p = rtc::rtp::Packet::default();
            p.header.sequence_number = seq;
            history.push(now, p, seq.wrapping_add(nack.media_ssrc as u16));
        }
        let reply = history.on_nack(now, nack.nacks.iter().flat_map(|n| n.packet_list()));
        assert!(reply.resend.len() + reply.relay.len() <= 17 * nack.nacks.len(), "more answers than asked");
    }
}
