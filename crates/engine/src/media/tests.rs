//! The pipeline without sockets: Opus through transform, packetiser and depacketiser.

use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;

use super::*;
use crate::audio::{OpusDecoder, OpusEncoder};
use crate::error::Result;

const SSRC: u32 = 0x1234_5678;
const FRAME: usize = 960;

/// `frames` 20 ms frames of a 440 Hz mono tone at 48 kHz.
fn tone(frames: usize) -> Vec<Vec<i16>> {
    (0..frames)
        .map(|f| {
            (0..FRAME)
                .map(|i| {
                    let t = (f * FRAME + i) as f32 / 48_000.0;
                    ((t * 440.0 * std::f32::consts::TAU).sin() * 12_000.0) as i16
                })
                .collect()
        })
        .collect()
}

fn rms(pcm: &[i16]) -> f64 {
    (pcm.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / pcm.len().max(1) as f64).sqrt()
}

/// A published audio output with `transform`, as a local track of `alice` has.
fn output(transform: Option<Arc<dyn FrameTransform>>) -> Arc<TrackOutput> {
    let meta = Arc::new(TrackMeta::new(Direction::Send, MediaKind::Audio, "audio/opus", Some("TR_a".into()), "alice"));
    meta.set_transform(transform);
    let source = crate::audio::AudioSource::new(48_000, 1, 0).unwrap();
    TrackOutput::for_source("LK_a", "mic", &source, SSRC, meta, 65_530)
}

/// The RTP packets of `frames` through an Opus send pipeline into `out`.
fn send(frames: &[Vec<i16>], out: &TrackOutput) -> Vec<rtc::rtp::Packet> {
    let mut enc = OpusEncoder::new(1).unwrap();
    let mut packets = Vec::new();
    for (i, pcm) in frames.iter().enumerate() {
        assert!(out.wants());
        packets.extend(out.packets(enc.encode_frame(pcm, 1_000 + (i * FRAME) as u32).unwrap()));
    }
    packets
}

fn recv_meta(transform: Option<Arc<dyn FrameTransform>>) -> Arc<TrackMeta> {
    let meta =
        Arc::new(TrackMeta::new(Direction::Receive, MediaKind::Audio, "audio/opus", Some("TR_a".into()), "alice"));
    meta.set_transform(transform);
    meta
}

/// Decoded PCM of `packets` through an Opus receive pipeline.
fn receive(packets: &[rtc::rtp::Packet], transform: Option<Arc<dyn FrameTransform>>) -> Vec<i16> {
    let mut pipeline =
        RecvPipeline::new(Box::new(FrameDepacketizer::opus()), recv_meta(transform), Box::new(|| OpusDecoder::new(1)));
    let mut pcm = Vec::new();
    for p in packets {
        pipeline.push(p, true, &mut |out: &[i16]| pcm.extend_from_slice(out)).unwrap();
    }
    pcm
}

/// Sender side: XOR every byte and append a trailer byte (what an encryptor does: the
/// frame grows and its bytes change). Receiver side: check and strip, XOR back.
struct Seal {
    open: bool,
    seen: Mutex<Vec<String>>,
}

const TRAILER: u8 = 0xe2;

impl FrameTransform for Seal {
    fn transform(&self, frame: EncodedFrame, info: &FrameInfo<'_>) -> Option<EncodedFrame> {
        self.seen.lock().push(format!(
            "{:?} {:?} {} {} {} {:x} {}",
            info.direction,
            info.kind,
            info.codec,
            info.track_sid,
            info.participant_identity,
            info.ssrc,
            info.rtp_timestamp
        ));
        let mut data = frame.data.to_vec();
        if self.open {
            if data.pop() != Some(TRAILER) {
                return None;
            }
            data.iter_mut().for_each(|b| *b ^= 0x5a);
        } else {
            data.iter_mut().for_each(|b| *b ^= 0x5a);
            data.push(TRAILER);
        }
        Some(EncodedFrame { data: data.into(), timestamp: frame.timestamp })
    }
}

fn seal(open: bool) -> Arc<Seal> {
    Arc::new(Seal { open, seen: Mutex::new(Vec::new()) })
}

/// Records what reaches it instead of decoding.
struct Recorder(Log);

impl Decoder for Recorder {
    type Output = [i16];
    fn decode_frame(&mut self, frame: &EncodedFrame, lost: u16, out: &mut dyn FnMut(&[i16])) -> Result<()> {
        self.0.lock().push((frame.data.clone(), lost));
        out(&[]);
        Ok(())
    }
}

type Log = Arc<Mutex<Vec<(Bytes, u16)>>>;

/// A receive pipeline whose decoder records into the returned log.
fn recording(transform: Option<Arc<dyn FrameTransform>>) -> (RecvPipeline<Recorder>, Log) {
    let log = Log::default();
    let made = log.clone();
    let pipeline = RecvPipeline::new(
        Box::new(FrameDepacketizer::opus()),
        recv_meta(transform),
        Box::new(move || Ok(Recorder(made.clone()))),
    );
    (pipeline, log)
}

fn recorded(packets: &[rtc::rtp::Packet], transform: Option<Arc<dyn FrameTransform>>) -> Vec<(Bytes, u16)> {
    let (mut pipeline, log) = recording(transform);
    for p in packets {
        pipeline.push(p, true, &mut |_| {}).unwrap();
    }
    let got = log.lock().clone();
    got
}

#[test]
fn the_identity_pipeline_sends_the_encoders_packets_unchanged() {
    let frames = tone(20);
    let mut enc = OpusEncoder::new(1).unwrap();
    let mut buf = [0u8; 4000];
    let direct: Vec<Vec<u8>> = frames
        .iter()
        .map(|f| {
            let n = enc.encode(f, &mut buf).unwrap();
            buf[..n].to_vec()
        })
        .collect();

    let packets = send(&frames, &output(None));
    assert_eq!(packets.len(), frames.len());
    for (i, (p, want)) in packets.iter().zip(&direct).enumerate() {
        assert_eq!(&p.payload[..], &want[..], "payload {i}");
        assert_eq!(p.header.payload_type, 111);
        assert_eq!(p.header.ssrc, SSRC);
        assert_eq!(p.header.timestamp, 1_000 + (i * FRAME) as u32);
        assert_eq!(p.header.sequence_number, 65_530u16.wrapping_add(i as u16), "sequence wraps");
        assert_eq!(p.header.marker, i == 0, "marker only at the start of the talkspurt");
    }
    let pcm = receive(&packets, None);
    assert_eq!(pcm.len(), frames.len() * FRAME);
    assert!(rms(&pcm[FRAME * 5..]) > 5_000.0);
}

#[test]
fn a_transform_and_its_inverse_round_trip_audio() {
    let frames = tone(30);
    let sender = seal(false);
    let packets = send(&frames, &output(Some(sender.clone())));
    let plain = send(&frames, &output(None));
    for (sealed, plain) in packets.iter().zip(&plain) {
        assert_eq!(sealed.payload.len(), plain.payload.len() + 1);
        assert_ne!(sealed.payload[..plain.payload.len()], plain.payload[..]);
    }
    assert_eq!(sender.seen.lock()[3], format!("Send Audio audio/opus TR_a alice {SSRC:x} {}", 1_000 + 3 * FRAME));

    let receiver = seal(true);
    let pcm = receive(&packets, Some(receiver.clone()));
    assert_eq!(pcm.len(), frames.len() * FRAME);
    assert!(rms(&pcm[FRAME * 5..]) > 5_000.0, "the tone survives");
    assert_eq!(receiver.seen.lock()[0], format!("Receive Audio audio/opus TR_a alice {SSRC:x} 1000"));

    // Without the inverse the decoder gets the changed bytes.
    let seen = recorded(&packets, None);
    assert_eq!(seen.len(), packets.len());
    assert!(seen.iter().zip(&packets).all(|((data, _), p)| *data == p.payload));
    // And a receive transform that drops a frame keeps it from the decoder.
    assert!(recorded(&plain, Some(seal(true))).is_empty());
}

#[test]
fn loss_reaches_the_decoder_and_padding_and_duplicates_do_not() {
    let frames = tone(12);
    let mut packets = send(&frames, &output(None));
    let mut padding = packets[9].clone();
    padding.payload = Bytes::new();
    let duplicate = packets[4].clone();
    // Lose frame 3 and frames 6-7; a padding-only packet takes frame 9's sequence number
    // (a gap of one, seen as no loss), a duplicate arrives late.
    packets[9] = padding;
    packets.insert(6, duplicate);
    packets.retain(|p| ![3, 6, 7].contains(&(p.header.sequence_number.wrapping_sub(65_530))));
    let lost: Vec<u16> = recorded(&packets, None).iter().map(|(_, lost)| *lost).collect();
    assert_eq!(lost, [0, 0, 0, 1, 0, 2, 0, 0], "frames 0 1 2 4 5 8 10 11 (the duplicate 4 dropped)");

    // Opus conceals the lost frames (the last of each gap from FEC): audio stays continuous.
    let pcm = receive(&packets, None);
    assert_eq!(pcm.len(), (12 - 1) * FRAME, "11 frames: 8 decoded, 3 concealed, the padding carries none");
}

#[test]
fn nothing_is_decoded_without_listeners_but_loss_is_still_counted() {
    let packets = send(&tone(6), &output(None));
    let (mut pipeline, log) = recording(None);
    for (i, p) in packets.iter().enumerate() {
        if i != 3 {
            pipeline.push(p, i >= 4, &mut |_| {}).unwrap();
        }
    }
    let lost: Vec<u16> = log.lock().iter().map(|(_, l)| *l).collect();
    assert_eq!(lost, [1, 0]);
}

#[test]
fn video_payloaders_mark_the_last_packet_of_a_frame() {
    let mut vp8 = RtpPacketizer::new(Box::new(rtc::rtp::codec::vp8::Vp8Payloader::default()), true);
    let frame = EncodedFrame { data: Bytes::from(vec![7u8; 3 * MTU]), timestamp: 90 };
    let payloads = vp8.packetize(&frame).unwrap();
    assert!(payloads.len() >= 3);
    let markers: Vec<bool> = payloads.iter().map(|p| p.marker).collect();
    assert_eq!(markers.iter().filter(|m| **m).count(), 1);
    assert!(markers[markers.len() - 1]);
}
