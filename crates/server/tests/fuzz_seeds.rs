//! Writes the checked-in seed corpus of the fuzz targets (`fuzz/corpus/<target>/`): a few
//! valid encodings of what each decoder reads. Run after changing a format:
//! `cargo test -p lkrtc-server --test fuzz_seeds -- --ignored`.

use std::path::PathBuf;

use lkrtc_server::proto::{self, data_packet::Value, signal_request::Message as Req};
use prost::Message;

const OFFER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\n\
a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\na=msid:stream TR_mic\r\n\
a=rtpmap:111 opus/48000/2\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:1\r\n";
const CANDIDATE: &str = r#"{"candidate":"candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"abcd"}"#;

fn write(target: &str, seeds: Vec<Vec<u8>>) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus").join(target);
    std::fs::create_dir_all(&dir).unwrap();
    for (i, seed) in seeds.into_iter().enumerate() {
        std::fs::write(dir.join(format!("seed-{i:02}")), seed).unwrap();
    }
}

fn req(m: Req) -> Vec<u8> {
    proto::SignalRequest { message: Some(m) }.encode_to_vec()
}

fn packet(v: Value) -> Vec<u8> {
    proto::DataPacket { value: Some(v), ..Default::default() }.encode_to_vec()
}

fn stream_packets() -> Vec<Vec<u8>> {
    use proto::data_stream::{header::ContentHeader, ByteHeader, Chunk, Header, TextHeader, Trailer};
    let text = Header {
        stream_id: "s1".into(),
        topic: "chat".into(),
        mime_type: "text/plain".into(),
        total_length: Some(5),
        content_header: Some(ContentHeader::TextHeader(TextHeader::default())),
        ..Default::default()
    };
    let bytes = Header {
        stream_id: "s2".into(),
        topic: "files".into(),
        content_header: Some(ContentHeader::ByteHeader(ByteHeader { name: "a.bin".into() })),
        inline_content: Some(vec![1, 2, 3]),
        ..Default::default()
    };
    vec![
        packet(Value::StreamHeader(text)),
        packet(Value::StreamChunk(Chunk {
            stream_id: "s1".into(),
            chunk_index: 0,
            content: b"hello".to_vec(),
            ..Default::default()
        })),
        packet(Value::StreamTrailer(Trailer { stream_id: "s1".into(), ..Default::default() })),
        packet(Value::StreamHeader(bytes)),
    ]
}

fn data_packets() -> Vec<Vec<u8>> {
    let user = proto::UserPacket { payload: b"hi".to_vec(), topic: Some("t".into()), ..Default::default() };
    let mut v = vec![
        proto::DataPacket {
            sequence: 3,
            destination_identities: vec!["bob".into()],
            value: Some(Value::User(user)),
            ..Default::default()
        }
        .encode_to_vec(),
        packet(Value::RpcRequest(proto::RpcRequest {
            id: "r1".into(),
            method: "m".into(),
            payload: "{}".into(),
            response_timeout_ms: 1000,
            version: 1,
            ..Default::default()
        })),
        packet(Value::RpcResponse(proto::RpcResponse {
            request_id: "r1".into(),
            value: Some(proto::rpc_response::Value::Error(proto::RpcError {
                code: 1500,
                message: "x".into(),
                data: String::new(),
            })),
        })),
        packet(Value::ChatMessage(proto::ChatMessage { id: "c".into(), message: "m".into(), ..Default::default() })),
    ];
    v.extend(stream_packets());
    v
}

/// Subscriber RTCP: a receiver report with PLI, NACK and REMB after it; a FIR.
fn rtcp() -> Vec<Vec<u8>> {
    use rtc::rtcp::payload_feedbacks::full_intra_request::{FirEntry, FullIntraRequest};
    use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
    use rtc::rtcp::payload_feedbacks::receiver_estimated_maximum_bitrate::ReceiverEstimatedMaximumBitrate;
    use rtc::rtcp::receiver_report::ReceiverReport;
    use rtc::rtcp::transport_feedbacks::transport_layer_nack::{nack_pairs_from_sequence_numbers, TransportLayerNack};
    let compound: Vec<Box<dyn rtc::rtcp::Packet>> = vec![
        Box::new(ReceiverReport { ssrc: 1, ..Default::default() }),
        Box::new(PictureLossIndication { sender_ssrc: 1, media_ssrc: 2 }),
        Box::new(TransportLayerNack {
            sender_ssrc: 1,
            media_ssrc: 2,
            nacks: nack_pairs_from_sequence_numbers(&[10, 12, 40]),
        }),
        Box::new(ReceiverEstimatedMaximumBitrate { sender_ssrc: 1, bitrate: 500_000.0, ssrcs: vec![2, 3] }),
    ];
    let fir = FullIntraRequest { sender_ssrc: 1, media_ssrc: 2, fir: vec![FirEntry { ssrc: 2, sequence_number: 1 }] };
    let fir: Vec<Box<dyn rtc::rtcp::Packet>> = vec![Box::new(fir)];
    [compound, fir].iter().map(|c| rtc::rtcp::packet::marshal(c).unwrap().to_vec()).collect()
}

/// The client target reads length-prefixed (u16 LE) packet sequences.
fn framed(packets: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in packets {
        out.extend_from_slice(&(p.len() as u16).to_le_bytes());
        out.extend_from_slice(p);
    }
    out
}

#[test]
#[ignore = "writes fuzz/corpus; run by hand"]
fn write_fuzz_seeds() {
    let sd = |sdp: &str| proto::SessionDescription { r#type: "offer".into(), sdp: sdp.into(), ..Default::default() };
    write(
        "signal_request",
        vec![
            req(Req::Offer(sd(OFFER))),
            req(Req::Trickle(proto::TrickleRequest {
                candidate_init: CANDIDATE.into(),
                target: proto::SignalTarget::Publisher as i32,
                ..Default::default()
            })),
            req(Req::AddTrack(proto::AddTrackRequest {
                cid: "c1".into(),
                name: "mic".into(),
                r#type: proto::TrackType::Audio as i32,
                source: proto::TrackSource::Microphone as i32,
                ..Default::default()
            })),
            req(Req::Ping(1)),
            req(Req::UpdateMetadata(proto::UpdateParticipantMetadata {
                name: "n".into(),
                attributes: [("k".to_string(), "v".to_string())].into(),
                ..Default::default()
            })),
        ],
    );
    write("sdp", vec![OFFER.into(), OFFER.replace("sendonly", "recvonly").into()]);
    write("trickle_json", vec![CANDIDATE.into(), br#"{"candidate":""}"#.to_vec()]);
    write("data_packet", data_packets());
    write("rtcp_feedback", rtcp());
    let resp = |m: proto::signal_response::Message| proto::SignalResponse { message: Some(m) }.encode_to_vec();
    use proto::signal_response::Message as Resp;
    write(
        "client_signal_response",
        vec![
            resp(Resp::Offer(sd(OFFER))),
            resp(Resp::Trickle(proto::TrickleRequest { candidate_init: CANDIDATE.into(), ..Default::default() })),
            resp(Resp::Join(proto::JoinResponse {
                room: Some(proto::Room { name: "r".into(), sid: "RM_x".into(), ..Default::default() }),
                ..Default::default()
            })),
            resp(Resp::Pong(5)),
        ],
    );
    write("client_data_packets", vec![framed(&stream_packets()), framed(&data_packets())]);
}

/// Every prefix of the RTCP seeds (truncated compounds, lengths past the end) and each
/// with one byte flipped: the server's handling of what the stack parses never panics.
#[test]
fn rtcp_seeds_cut_and_flipped() {
    for seed in rtcp() {
        for end in 0..=seed.len() {
            lkrtc_server::fuzz::rtcp_feedback(&seed[..end]);
        }
        for i in 0..seed.len() {
            let mut bad = seed.clone();
            bad[i] ^= 0xa5;
            lkrtc_server::fuzz::rtcp_feedback(&bad);
        }
    }
}
