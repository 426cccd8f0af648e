//! What the kind-generic media pipeline costs on top of the codec: Opus 20 ms frames sent
//! through `SendPipeline`'s stages (encode → frame transform slot → packetiser → RTP
//! header) and received through `RecvPipeline` (depacketiser → transform slot → decoder),
//! against the same codec called directly with the RTP header built by hand (the path
//! before the pipeline existed). Run: `cargo run --release -p lkrtc-engine --example pipeline_cost`
//! (or without `--release`: dev profile, dependencies at opt-level 2).

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use lkrtc_engine::audio::{AudioSource, OpusDecoder, OpusEncoder};
use lkrtc_engine::media::{
    Decoder, Direction, EncodedFrame, Encoder, FrameDepacketizer, MediaKind, RecvPipeline, TrackMeta, TrackOutput,
};
use rtc::rtp;

const FRAMES: usize = 2_500; // 50 s of audio
const SSRC: u32 = 42;

fn signal(ch: usize) -> Vec<Vec<i16>> {
    (0..FRAMES)
        .map(|f| {
            (0..960)
                .flat_map(|i| {
                    let t = (f * 960 + i) as f32 / 48_000.0;
                    let env = 0.5 + 0.5 * (t * 4.0 * std::f32::consts::TAU).sin();
                    let v = ((t * 180.0 * std::f32::consts::TAU).sin() * env * 10_000.0) as i16;
                    std::iter::repeat_n(v, ch)
                })
                .collect()
        })
        .collect()
}

fn output() -> Arc<TrackOutput> {
    let meta = Arc::new(TrackMeta::new(Direction::Send, MediaKind::Audio, "audio/opus", Some("TR_x".into()), "me"));
    let source = AudioSource::new(48_000, 1, 0).unwrap();
    TrackOutput::for_source("LK_x", "t", &source, SSRC, meta, 0)
}

/// µs per frame: (send, receive) the direct way; returns the packets for the receive side.
fn direct(pcm: &[Vec<i16>], ch: usize) -> (f64, f64) {
    let mut enc = OpusEncoder::new(ch as u32).unwrap();
    let mut buf = vec![0u8; 4000];
    let mut packets = Vec::with_capacity(FRAMES);
    let t = Instant::now();
    for (i, f) in pcm.iter().enumerate() {
        let n = enc.encode(f, &mut buf).unwrap();
        let header = rtp::header::Header {
            version: 2,
            marker: i == 0,
            payload_type: 111,
            sequence_number: i as u16,
            timestamp: (i * 960) as u32,
            ssrc: SSRC,
            ..Default::default()
        };
        packets.push(rtp::Packet { header, payload: Bytes::copy_from_slice(&buf[..n]) });
    }
    let send = t.elapsed().as_secs_f64() * 1e6 / FRAMES as f64;
    let mut dec = OpusDecoder::new(2).unwrap();
    let mut out = vec![0i16; 5760 * 2];
    let mut sink = 0usize;
    let t = Instant::now();
    let mut last: Option<u16> = None;
    for p in &packets {
        if let Some(prev) = last {
            let gap = p.header.sequence_number.wrapping_sub(prev);
            if gap == 0 || gap > 0x8000 {
                continue;
            }
        }
        last = Some(p.header.sequence_number);
        sink += dec.decode(&p.payload, &mut out).unwrap();
    }
    assert_eq!(sink, FRAMES * 960);
    (send, t.elapsed().as_secs_f64() * 1e6 / FRAMES as f64)
}

fn pipeline(pcm: &[Vec<i16>], ch: usize) -> (f64, f64) {
    let mut enc = OpusEncoder::new(ch as u32).unwrap();
    let out = output();
    let mut packets = Vec::with_capacity(FRAMES);
    let t = Instant::now();
    for (i, f) in pcm.iter().enumerate() {
        packets.extend(out.packets(enc.encode_frame(f, (i * 960) as u32).unwrap()));
    }
    let send = t.elapsed().as_secs_f64() * 1e6 / FRAMES as f64;
    let meta = Arc::new(TrackMeta::new(Direction::Receive, MediaKind::Audio, "audio/opus", Some("TR_x".into()), "me"));
    let mut recv = RecvPipeline::new(Box::new(FrameDepacketizer::opus()), meta, Box::new(|| OpusDecoder::new(2)));
    let mut sink = 0usize;
    let t = Instant::now();
    for p in &packets {
        recv.push(p, true, &mut |pcm: &[i16]| sink += pcm.len() / 2).unwrap();
    }
    assert_eq!(sink, FRAMES * 960);
    (send, t.elapsed().as_secs_f64() * 1e6 / FRAMES as f64)
}

/// µs per frame of the pipeline's own stages (transform slot, packetiser, header on send;
/// depacketiser, transform slot on receive), codec left out: frames encoded beforehand.
fn stages_only(pcm: &[Vec<i16>]) -> (f64, f64) {
    let mut enc = OpusEncoder::new(1).unwrap();
    let packets: Vec<EncodedFrame> =
        pcm.iter().enumerate().map(|(i, f)| enc.encode_frame(f, (i * 960) as u32).unwrap()).collect();
    let out = output();
    let mut sent = Vec::with_capacity(packets.len());
    let t = Instant::now();
    for p in &packets {
        sent.extend(out.packets(p.clone()));
    }
    let send = t.elapsed().as_secs_f64() * 1e6 / packets.len() as f64;
    let meta = Arc::new(TrackMeta::new(Direction::Receive, MediaKind::Audio, "audio/opus", Some("TR_x".into()), "me"));
    let mut recv = RecvPipeline::new(Box::new(FrameDepacketizer::opus()), meta, Box::new(|| Ok(Discard)));
    let t = Instant::now();
    for p in &sent {
        recv.push(p, true, &mut |_: &[i16]| {}).unwrap();
    }
    (send, t.elapsed().as_secs_f64() * 1e6 / packets.len() as f64)
}

/// A decoder that decodes nothing.
struct Discard;

impl Decoder for Discard {
    type Output = [i16];
    fn decode_frame(&mut self, _: &EncodedFrame, _: u16, out: &mut dyn FnMut(&[i16])) -> lkrtc_engine::Result<()> {
        out(&[]);
        Ok(())
    }
}

fn main() {
    println!("| channels | path | send µs/frame | receive µs/frame | CPU per track (send + receive) |");
    println!("|---|---|---|---|---|");
    for ch in [1usize, 2] {
        let pcm = signal(ch);
        // Best of 5, interleaved so that both paths see the same machine load.
        let (mut d, mut p) = ((f64::MAX, f64::MAX), (f64::MAX, f64::MAX));
        for _ in 0..5 {
            let x = direct(&pcm, ch);
            d = (d.0.min(x.0), d.1.min(x.1));
            let y = pipeline(&pcm, ch);
            p = (p.0.min(y.0), p.1.min(y.1));
        }
        if ch == 1 {
            let (s, r) =
                (0..5).map(|_| stages_only(&pcm)).fold((f64::MAX, f64::MAX), |a, b| (a.0.min(b.0), a.1.min(b.1)));
            println!(
                "| 1 | pipeline stages alone (no codec) | {s:.2} | {r:.2} | {:.4} % of a core |",
                (s + r) * 50.0 / 10_000.0
            );
        }
        for (name, (s, r)) in [("codec called directly", d), ("media pipeline", p)] {
            // 50 frames a second: µs/frame × 50 = µs/s; / 10,000 = % of a core.
            println!("| {ch} | {name} | {s:.1} | {r:.1} | {:.2} % of a core |", (s + r) * 50.0 / 10_000.0);
        }
    }
}
