//! Video RTP → whole encoded frames: packets of one frame share a timestamp and the last
//! carries the marker bit; `rtc`'s codec depacketisers (VP8 descriptors, H.264 FU-A and
//! STAP-A) strip each payload. A frame with a packet missing, or not starting at a
//! partition head, is dropped and counted as lost (its decoder then waits for a keyframe).

use bytes::{Bytes, BytesMut};
use rtc::rtp::packetizer::Depacketizer as RtcDepacketizer;

use crate::media::{Depacketized, Depacketizer, EncodedFrame};

/// Largest frame reassembled (bytes); a longer run of packets is dropped as lost.
pub const MAX_FRAME: usize = 4 << 20;

/// The frame being reassembled.
struct Partial {
    timestamp: u32,
    data: BytesMut,
    /// A packet of it is missing or did not depacketise.
    broken: bool,
}

/// A depacketiser of multi-packet video frames over one of `rtc`'s depacketisers.
pub struct VideoDepacketizer<D> {
    inner: D,
    last_seq: Option<u16>,
    partial: Option<Partial>,
    /// Frames lost since the last one handed out.
    lost: u16,
}

impl<D: RtcDepacketizer> VideoDepacketizer<D> {
    /// Depacketises with `inner`.
    pub fn new(inner: D) -> Self {
        Self { inner, last_seq: None, partial: None, lost: 0 }
    }

    fn lose_partial(&mut self) {
        if self.partial.take().is_some() {
            self.lost = self.lost.saturating_add(1);
        }
    }
}

impl VideoDepacketizer<rtc::rtp::codec::vp8::Vp8Packet> {
    /// VP8 (RFC 7741).
    pub fn vp8() -> Self {
        Self::new(rtc::rtp::codec::vp8::Vp8Packet::default())
    }
}

impl VideoDepacketizer<FreshVp9> {
    /// VP9 (RFC 9628); spatial layers of one picture come out back to back in one frame.
    pub fn vp9() -> Self {
        Self::new(FreshVp9::default())
    }
}

/// `rtc`'s VP9 depacketiser, fresh for every packet: `rtc` 0.21 keeps appending each
/// packet's reference indices (flexible mode, P set) to one list and fails every packet once
/// three have accumulated, so a libwebrtc VP9 stream stopped decoding after its third
/// inter frame. Nothing a VP9 payload descriptor says carries over to the next packet.
#[derive(Default)]
pub struct FreshVp9(rtc::rtp::codec::vp9::Vp9Packet);

impl RtcDepacketizer for FreshVp9 {
    fn depacketize(&mut self, payload: &Bytes) -> rtc::shared::error::Result<Bytes> {
        self.0 = rtc::rtp::codec::vp9::Vp9Packet::default();
        self.0.depacketize(payload)
    }

    fn is_partition_head(&self, payload: &Bytes) -> bool {
        self.0.is_partition_head(payload)
    }

    fn is_partition_tail(&self, marker: bool, payload: &Bytes) -> bool {
        self.0.is_partition_tail(marker, payload)
    }
}

impl VideoDepacketizer<CheckedH264> {
    /// H.264 (RFC 6184), frames out as Annex B.
    pub fn h264() -> Self {
        Self::new(CheckedH264::default())
    }
}

/// `rtc`'s H.264 depacketiser behind a check of aggregation packets: `rtc` 0.21 indexes past
/// the end of a STAP-A whose last NAL unit size is cut after its first byte (a panic any
/// remote publisher could cause; found by the `client_video_rtp` fuzz target).
#[derive(Default)]
pub struct CheckedH264(rtc::rtp::codec::h264::H264Packet);

/// STAP-A (RFC 6184 section 5.7.1): a one-byte header, then NAL units each led by a 16-bit
/// size. True when every size and unit lies inside the payload.
fn stap_a_is_whole(payload: &[u8]) -> bool {
    let mut at = 1;
    while at < payload.len() {
        let Some(size) = payload.get(at..at + 2) else { return false };
        at += 2 + usize::from(u16::from_be_bytes([size[0], size[1]]));
    }
    at == payload.len()
}

impl RtcDepacketizer for CheckedH264 {
    fn depacketize(&mut self, payload: &Bytes) -> rtc::shared::error::Result<Bytes> {
        const STAP_A: u8 = 24;
        if payload.first().is_some_and(|b| b & 0x1f == STAP_A) && !stap_a_is_whole(payload) {
            return Err(rtc::shared::error::Error::ErrShortPacket);
        }
        self.0.depacketize(payload)
    }

    fn is_partition_head(&self, payload: &Bytes) -> bool {
        self.0.is_partition_head(payload)
    }

    fn is_partition_tail(&self, marker: bool, payload: &Bytes) -> bool {
        self.0.is_partition_tail(marker, payload)
    }
}

impl<D: RtcDepacketizer + Send> Depacketizer for VideoDepacketizer<D> {
    fn push(&mut self, packet: &rtc::rtp::Packet) -> Option<Depacketized> {
        let seq = packet.header.sequence_number;
        if let Some(prev) = self.last_seq {
            let gap = seq.wrapping_sub(prev);
            if gap == 0 || gap > 0x8000 {
                return None; // duplicate or late
            }
            if gap > 1 {
                // Packets went missing: the frame in progress (or the next one) is incomplete.
                match self.partial.as_mut() {
                    Some(p) => p.broken = true,
                    None => self.lost = self.lost.saturating_add(1),
                }
            }
        }
        self.last_seq = Some(seq);
        if packet.payload.is_empty() {
            return None; // padding
        }
        let ts = packet.header.timestamp;
        if self.partial.as_ref().is_some_and(|p| p.timestamp != ts) {
            self.lose_partial(); // its last packet never came
        }
        let partial = match self.partial.as_mut() {
            Some(p) => p,
            None => {
                let broken = !self.inner.is_partition_head(&packet.payload);
                self.partial.insert(Partial { timestamp: ts, data: BytesMut::new(), broken })
            }
        };
        match self.inner.depacketize(&packet.payload) {
            Ok(bytes) if partial.data.len() + bytes.len() <= MAX_FRAME => partial.data.extend_from_slice(&bytes),
            _ => partial.broken = true,
        }
        if !self.inner.is_partition_tail(packet.header.marker, &packet.payload) {
            return None;
        }
        let done = self.partial.take()?;
        if done.broken || done.data.is_empty() {
            self.lost = self.lost.saturating_add(1);
            return None;
        }
        let lost = std::mem::take(&mut self.lost);
        let data: Bytes = done.data.freeze();
        Some(Depacketized { frame: EncodedFrame { data, timestamp: done.timestamp }, lost })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::video::codec_tests::{picture, H, W};
    use crate::media::video::h264::{EncoderSettings, H264VideoDecoder, H264VideoEncoder};
    use crate::media::video::vp8::{VpxVideoDecoder, VpxVideoEncoder};
    use crate::media::{Decoder, Encoder, Packetizer, RtpPacketizer};
    use lkrtc_vpx::VpxCodec;

    /// RTP packets of `frames`, sequence numbers from 65530 (to cross the wrap).
    fn packets(packetizer: &mut RtpPacketizer, frames: &[EncodedFrame]) -> Vec<Vec<rtc::rtp::Packet>> {
        let mut seq = 65_530u16;
        frames
            .iter()
            .map(|f| {
                packetizer
                    .packetize(f)
                    .unwrap()
                    .into_iter()
                    .map(|p| {
                        seq = seq.wrapping_add(1);
                        rtc::rtp::Packet {
                            header: rtc::rtp::header::Header {
                                version: 2,
                                marker: p.marker,
                                sequence_number: seq,
                                timestamp: f.timestamp,
                                ..Default::default()
                            },
                            payload: p.data,
                        }
                    })
                    .collect()
            })
            .collect()
    }

    /// Encodes 8 frames (the 6th a requested keyframe), sends them through packetiser and
    /// depacketiser dropping one packet of frame 3, and decodes what comes out.
    fn round_trip<E, D>(
        mut enc: E,
        request_keyframe: impl Fn(&mut E),
        mut packetizer: RtpPacketizer,
        mut dep: impl Depacketizer,
        mut dec: D,
    ) where
        E: Encoder<Input = crate::media::video::VideoFrame>,
        D: Decoder<Output = crate::media::video::VideoFrame>,
    {
        let frames: Vec<EncodedFrame> = (0..8u32)
            .map(|i| {
                if i == 5 {
                    request_keyframe(&mut enc);
                }
                enc.encode_frame(&picture(100, i), i * 3000).unwrap()
            })
            .collect();
        let mut per_frame = packets(&mut packetizer, &frames);
        assert!(per_frame[0].len() > 1, "the keyframe spans several packets");
        let dropped = per_frame[3].len() / 2;
        per_frame[3].remove(dropped);
        let mut decoded = Vec::new();
        for (i, pkts) in per_frame.iter().enumerate() {
            for p in pkts {
                if let Some(d) = dep.push(p) {
                    assert_eq!(d.frame, frames[i], "frame {i} reassembled as sent");
                    let mut n = 0;
                    dec.decode_frame(&d.frame, d.lost, &mut |f| {
                        assert_eq!((f.width, f.height), (W, H));
                        n += 1;
                    })
                    .unwrap();
                    decoded.push((i, d.lost, n));
                }
            }
        }
        // Frame 3 is lost; 4 arrives with lost = 1 and is skipped (a delta frame); 5 is the
        // keyframe and decodes, as do 6 and 7.
        assert_eq!(decoded, [(0, 0, 1), (1, 0, 1), (2, 0, 1), (4, 1, 0), (5, 0, 1), (6, 0, 1), (7, 0, 1)]);
    }

    #[test]
    fn vp8_frames_survive_packetisation_and_loss() {
        let mut vp8 = rtc::rtp::codec::vp8::Vp8Payloader::default();
        vp8.enable_picture_id = true;
        round_trip(
            VpxVideoEncoder::new(
                VpxCodec::Vp8,
                EncoderSettings { width: W, height: H, max_bitrate: 2_000_000, max_framerate: 30 },
            )
            .unwrap(),
            |e: &mut VpxVideoEncoder| e.request_keyframe(),
            RtpPacketizer::new(Box::new(vp8), true),
            VideoDepacketizer::vp8(),
            VpxVideoDecoder::new(VpxCodec::Vp8).unwrap(),
        );
    }

    #[test]
    fn vp9_frames_survive_packetisation_and_loss() {
        let settings = EncoderSettings { width: W, height: H, max_bitrate: 2_000_000, max_framerate: 30 };
        round_trip(
            VpxVideoEncoder::new(VpxCodec::Vp9, settings).unwrap(),
            |e: &mut VpxVideoEncoder| e.request_keyframe(),
            RtpPacketizer::new(Box::new(rtc::rtp::codec::vp9::Vp9Payloader::default()), true),
            VideoDepacketizer::vp9(),
            VpxVideoDecoder::new(VpxCodec::Vp9).unwrap(),
        );
    }

    #[test]
    fn h264_frames_survive_packetisation_and_loss() {
        let enc =
            H264VideoEncoder::new(EncoderSettings { width: W, height: H, max_bitrate: 2_000_000, max_framerate: 30 })
                .unwrap();
        round_trip(
            enc,
            |e: &mut H264VideoEncoder| e.request_keyframe(),
            RtpPacketizer::new(Box::new(rtc::rtp::codec::h264::H264Payloader::default()), true),
            VideoDepacketizer::h264(),
            H264VideoDecoder::new().unwrap(),
        );
    }

    /// Writes the checked-in seeds of the `client_video_rtp` fuzz target (a codec byte, then
    /// length-prefixed RTP packets of four frames, the first a keyframe). Run after changing
    /// the format: `cargo test -p lkrtc-engine --lib write_video_fuzz_seeds -- --ignored`.
    #[test]
    #[ignore]
    fn write_video_fuzz_seeds() {
        use rtc::shared::marshal::Marshal;
        let settings = EncoderSettings { width: W, height: H, max_bitrate: 150_000, max_framerate: 30 };
        let mut vp8 = rtc::rtp::codec::vp8::Vp8Payloader::default();
        vp8.enable_picture_id = true;
        let mut vp8_enc = VpxVideoEncoder::new(VpxCodec::Vp8, settings).unwrap();
        let mut h264_enc = H264VideoEncoder::new(settings).unwrap();
        let mut vp9_enc = VpxVideoEncoder::new(VpxCodec::Vp9, settings).unwrap();
        let seeds = [
            (0u8, (0..4u32).map(|i| vp8_enc.encode_frame(&picture(60, i), i * 3000).unwrap()).collect::<Vec<_>>()),
            (1u8, (0..4u32).map(|i| h264_enc.encode_frame(&picture(60, i), i * 3000).unwrap()).collect()),
            (2u8, (0..4u32).map(|i| vp9_enc.encode_frame(&picture(60, i), i * 3000).unwrap()).collect()),
        ];
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/client_video_rtp");
        std::fs::create_dir_all(&dir).unwrap();
        for (i, (codec, frames)) in seeds.into_iter().enumerate() {
            let mut packetizer = match codec {
                0 => RtpPacketizer::new(Box::new(vp8), true),
                1 => RtpPacketizer::new(Box::new(rtc::rtp::codec::h264::H264Payloader::default()), true),
                _ => RtpPacketizer::new(Box::new(rtc::rtp::codec::vp9::Vp9Payloader::default()), true),
            };
            let mut seed = vec![codec];
            for p in packets(&mut packetizer, &frames).into_iter().flatten() {
                let raw = p.marshal().unwrap();
                seed.extend((raw.len() as u16).to_le_bytes());
                seed.extend_from_slice(&raw);
            }
            assert!(seed.len() < 65_536, "seed {i} fits the fuzzer's max_len");
            std::fs::write(dir.join(format!("seed-{i:02}")), seed).unwrap();
        }
    }

    #[test]
    fn vp9_inter_frames_with_reference_indices_keep_depacketising() {
        // I, P, F, B, E set; a 15-bit picture id; one reference index (P_DIFF 1, N clear).
        let mut dep = VideoDepacketizer::vp9();
        for i in 0..10u16 {
            let payload = Bytes::from(vec![0xdd, 0x80 | (i >> 8) as u8, i as u8, 0x02, 0x86, 0x00, 0x40]);
            let packet = rtc::rtp::Packet {
                header: rtc::rtp::header::Header {
                    version: 2,
                    marker: true,
                    sequence_number: i,
                    timestamp: u32::from(i) * 3000,
                    ..Default::default()
                },
                payload,
            };
            let out = dep.push(&packet).unwrap_or_else(|| panic!("inter frame {i} depacketised"));
            assert_eq!((&out.frame.data[..], out.lost), (&[0x86, 0x00, 0x40][..], 0));
        }
    }

    #[test]
    fn a_cut_stap_a_is_refused_not_a_panic() {
        assert!(stap_a_is_whole(&[24, 0, 2, 0x67, 0x42, 0, 1, 0x68]));
        for cut in [&[24, 0, 2, 0x67, 0x42, 0][..], &[24, 0, 3, 0x67, 0x42], &[24, 0]] {
            assert!(!stap_a_is_whole(cut), "{cut:?}");
            assert!(CheckedH264::default().depacketize(&Bytes::copy_from_slice(cut)).is_err());
        }
        // The fuzzer's input is in the seed corpus (`fuzz/corpus/client_video_rtp/cut-stap-a`).
    }

    #[test]
    fn duplicates_padding_and_junk_never_panic() {
        let mut dep = VideoDepacketizer::vp8();
        let pkt = |seq: u16, marker: bool, payload: &'static [u8]| rtc::rtp::Packet {
            header: rtc::rtp::header::Header {
                version: 2,
                marker,
                sequence_number: seq,
                timestamp: 9,
                ..Default::default()
            },
            payload: Bytes::from_static(payload),
        };
        assert!(dep.push(&pkt(1, true, &[0x10, 0, 0, 0, 1])).is_some());
        assert!(dep.push(&pkt(1, true, &[0x10, 0, 0, 0, 1])).is_none(), "duplicate");
        assert!(dep.push(&pkt(2, false, &[])).is_none(), "padding");
        assert!(dep.push(&pkt(3, true, &[0xff])).is_none(), "junk");
    }
}
