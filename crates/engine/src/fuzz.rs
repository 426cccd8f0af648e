//! Entry points for the fuzz targets in `fuzz/` (not an API). Each takes bytes as a
//! server or a remote participant could send them and runs the engine's own code on them
//! — the decoders, and the sans-IO session core that a connected room runs; none may
//! panic.

use livekit_protocol as proto;
use prost::Message;

use crate::events::RoomEvent;
use crate::room::core::{Input, Output, Session};
use crate::types::DataKind;

/// One signalling frame from the server: `SignalResponse` decode, then the session core of
/// a started session handles it (participants, tracks, negotiation, speakers, leave...).
pub fn signal_response(bytes: &[u8]) {
    let Ok(resp) = proto::SignalResponse::decode(bytes) else { return };
    let Some(msg) = resp.message else { return };
    let now = std::time::Instant::now();
    let (mut session, _ready, _commands) = Session::detached(now, 1);
    session.start();
    session.handle_input(now, Input::Signal(Box::new(msg)));
    while session.poll_output().is_some() {}
}

/// A trickle `candidateInit` JSON string from the server.
pub fn trickle_json(bytes: &[u8]) {
    if let Ok(text) = std::str::from_utf8(bytes) {
        let _ = crate::pc::candidate_from_json(text);
    }
}

/// A sequence of data-channel messages (each prefixed by a little-endian u16 length) as
/// they arrive on the subscriber's reliable channel, handled by a session core with text
/// and byte stream handlers on the empty topic: user data, chat, RPC, and streams
/// assembled by the room's own rules (index order, UTF-8 for text, announced length).
pub fn data_packets(mut bytes: &[u8]) {
    let now = std::time::Instant::now();
    let (mut session, _ready, _commands) = Session::detached(now, 1);
    session.accept_streams_for_fuzzing();
    let mut readers = Vec::new();
    while bytes.len() >= 2 {
        let len = u16::from_le_bytes([bytes[0], bytes[1]]) as usize;
        let body = &bytes[2..(2 + len).min(bytes.len())];
        bytes = &bytes[(2 + len).min(bytes.len())..];
        session.handle_input(now, Input::Data(DataKind::Reliable, body.into()));
        while let Some(out) = session.poll_output() {
            // Keep readers alive, as an app would, so their streams keep assembling.
            if let Output::Event(RoomEvent::StreamOpened { reader, .. }) = out {
                let _ = reader.info().to_header().encode_to_vec();
                readers.push(reader);
            }
        }
    }
    for r in readers {
        let _ = r.progress();
    }
}

/// A sequence of RTP packets of a remote video track (each prefixed by a little-endian u16
/// length; the first byte picks the codec: VP8, H.264 or VP9 by its value mod 3) through its receive
/// pipeline as a listened-to track runs it: depacketiser, keyframe gate, decoder.
pub fn video_rtp(bytes: &[u8]) {
    use rtc::shared::marshal::Unmarshal;
    let Some((&codec, mut bytes)) = bytes.split_first() else { return };
    let mime = ["video/VP8", "video/H264", "video/VP9"][usize::from(codec % 3)];
    let meta = std::sync::Arc::new(crate::media::TrackMeta::new(
        crate::media::Direction::Receive,
        crate::types::TrackKind::Video,
        mime,
        None,
        "fuzz",
    ));
    let Some(mut pipeline) = crate::media::video::receive_pipeline(mime, meta) else { return };
    while bytes.len() >= 2 {
        let len = u16::from_le_bytes([bytes[0], bytes[1]]) as usize;
        let mut body = &bytes[2..(2 + len).min(bytes.len())];
        bytes = &bytes[(2 + len).min(bytes.len())..];
        let Ok(packet) = rtc::rtp::Packet::unmarshal(&mut body) else { continue };
        let _ = pipeline.push(&packet, true, &mut |frame| {
            assert_eq!(frame.data.len(), crate::media::video::buffer_len(frame.ty, frame.width, frame.height));
        });
        let _ = pipeline.needs_keyframe();
    }
}

#[cfg(test)]
mod tests {
    /// The fuzz seeds run through the entry points as the fuzzer would (no async runtime).
    #[test]
    fn seeds_run_through_the_session_core() {
        let corpus = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz/corpus");
        for (dir, entry) in [
            ("client_signal_response", super::signal_response as fn(&[u8])),
            ("client_data_packets", super::data_packets),
            ("client_video_rtp", super::video_rtp),
        ] {
            let files = std::fs::read_dir(format!("{corpus}/{dir}")).expect("seed folder");
            let mut n = 0;
            for f in files {
                entry(&std::fs::read(f.expect("seed").path()).expect("seed bytes"));
                n += 1;
            }
            assert!(n > 0, "{dir} has seeds");
        }
    }
}
