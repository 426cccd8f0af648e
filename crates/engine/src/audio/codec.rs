//! Opus at 48 kHz, 20 ms frames, with `ropus` (pure Rust, no C toolchain or system
//! package). Chosen by measurement (docs/ARCHITECTURE.md): interoperable both ways with
//! libopus, on-target bitrate, DTX and in-band FEC, speed on par with libopus; the
//! transpiled libopus (`unsafe-libopus`) fills lost speech packets with clipped noise.

use ropus::{Application, Bitrate, Channels, DecodeMode, Decoder, Encoder, InbandFec};

use crate::error::{EngineError, Result};
use crate::media::{Decoder as FrameDecoder, EncodedFrame, Encoder as FrameEncoder};

/// Samples per channel in one 20 ms frame.
pub const FRAME: usize = 960;
/// Largest frame a packet can carry (120 ms), per channel.
pub const MAX_FRAME: usize = 5_760;
/// Longest gap (in 20 ms packets) filled with concealment; longer gaps are skipped.
pub const MAX_CONCEALED: u16 = 5;
/// Room for the largest Opus packet the encoder makes.
const MAX_PACKET: usize = 4_000;

fn channels(n: u32) -> Result<Channels> {
    match n {
        1 => Ok(Channels::Mono),
        2 => Ok(Channels::Stereo),
        _ => Err(EngineError::InvalidArgument(format!("Opus supports 1 or 2 channels, not {n}"))),
    }
}

fn codec_err(what: &str, e: impl std::fmt::Debug) -> EngineError {
    EngineError::rtc(format!("Opus {what} failed: {e:?}"))
}

/// An Opus encoder for 20 ms frames of interleaved 48 kHz PCM.
pub struct OpusEncoder {
    enc: Encoder,
    channels: usize,
    /// Packet buffer of [`FrameEncoder::encode_frame`] (allocated on first use).
    packet: Vec<u8>,
}

impl OpusEncoder {
    /// A VoIP encoder with in-band FEC; 32 kbit/s mono, 64 kbit/s stereo. Complexity 10
    /// runs the signal analysis (speech/music detection, bandwidth) that the fixed-point
    /// encoder skips below 10 and libwebrtc's float libopus runs from 7. Codec DTX stays
    /// off: ropus's SILK DTX mistakes steady tones for silence and damages speech after
    /// DTX periods, so silence is dropped by the pacer instead (`pacer.rs`).
    pub fn new(n: u32) -> Result<Self> {
        let enc = Encoder::builder(48_000, channels(n)?, Application::Voip)
            .bitrate(Bitrate::Bits(32_000 * n))
            .complexity(10)
            .inband_fec(InbandFec::Enabled)
            .packet_loss_perc(5)
            .dtx(false)
            .build()
            .map_err(|e| codec_err("encoder creation", e))?;
        Ok(Self { enc, channels: n as usize, packet: Vec::new() })
    }

    /// Encodes one 20 ms frame (960 samples per channel) into `out`; returns its length.
    pub fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize> {
        if pcm.len() != FRAME * self.channels {
            return Err(EngineError::InvalidArgument(format!(
                "Opus encodes {FRAME} samples per channel, got {}",
                pcm.len() / self.channels
            )));
        }
        self.enc.encode(pcm, out).map_err(|e| codec_err("encode", e))
    }
}

/// An Opus decoder producing interleaved 48 kHz PCM.
pub struct OpusDecoder {
    dec: Decoder,
    channels: usize,
    /// PCM buffer of [`FrameDecoder::decode_frame`] (allocated on first use).
    pcm: Vec<i16>,
}

impl OpusDecoder {
    /// A decoder producing `n` channels (a stream of the other count is mixed to it).
    pub fn new(n: u32) -> Result<Self> {
        let dec = Decoder::new(48_000, channels(n)?).map_err(|e| codec_err("decoder creation", e))?;
        Ok(Self { dec, channels: n as usize, pcm: Vec::new() })
    }

    /// Decodes `packet` into `out` (interleaved); returns samples per channel.
    pub fn decode(&mut self, packet: &[u8], out: &mut [i16]) -> Result<usize> {
        let n = (out.len() / self.channels).min(MAX_FRAME) * self.channels;
        self.dec.decode(packet, &mut out[..n], DecodeMode::Normal).map_err(|e| codec_err("decode", e))
    }

    /// Conceals one lost 20 ms packet.
    pub fn conceal(&mut self, out: &mut [i16]) -> Result<usize> {
        let n = FRAME * self.channels;
        self.dec.decode(&[], &mut out[..n], DecodeMode::Normal).map_err(|e| codec_err("concealment", e))
    }

    /// Rebuilds the packet lost just before `next` from `next`'s in-band FEC.
    pub fn recover(&mut self, next: &[u8], out: &mut [i16]) -> Result<usize> {
        let n = FRAME * self.channels;
        self.dec.decode(next, &mut out[..n], DecodeMode::Fec).map_err(|e| codec_err("FEC decode", e))
    }
}

/// Opus behind the pipeline: 20 ms of interleaved 48 kHz PCM in, one packet out.
impl FrameEncoder for OpusEncoder {
    type Input = [i16];
    fn encode_frame(&mut self, pcm: &[i16], timestamp: u32) -> Result<EncodedFrame> {
        let mut packet = std::mem::take(&mut self.packet);
        packet.resize(MAX_PACKET, 0);
        let len = self.encode(pcm, &mut packet);
        self.packet = packet;
        Ok(EncodedFrame { data: bytes::Bytes::copy_from_slice(&self.packet[..len?]), timestamp })
    }
}

/// Opus behind the pipeline: loss before a packet is concealed (PLC) when short, the last
/// lost packet rebuilt from this one's in-band FEC; longer gaps are skipped.
impl FrameDecoder for OpusDecoder {
    type Output = [i16];
    fn decode_frame(&mut self, frame: &EncodedFrame, lost: u16, out: &mut dyn FnMut(&[i16])) -> Result<()> {
        let mut pcm = std::mem::take(&mut self.pcm);
        pcm.resize(MAX_FRAME * self.channels, 0);
        if lost > 0 && lost <= MAX_CONCEALED {
            for i in 0..lost {
                let got = if i == lost - 1 { self.recover(&frame.data, &mut pcm) } else { self.conceal(&mut pcm) };
                if let Ok(n) = got {
                    out(&pcm[..n * self.channels]);
                }
            }
        }
        let decoded = self.decode(&frame.data, &mut pcm);
        if let Ok(n) = decoded {
            out(&pcm[..n * self.channels]);
        }
        self.pcm = pcm;
        decoded.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_the_tone_and_handles_loss() {
        for ch in [1u32, 2] {
            let mut enc = OpusEncoder::new(ch).unwrap();
            let mut dec = OpusDecoder::new(ch).unwrap();
            let mut packet = [0u8; 1500];
            let mut out = vec![0i16; MAX_FRAME * 2];
            let mut energy = 0f64;
            for f in 0..50 {
                let pcm: Vec<i16> = (0..FRAME)
                    .flat_map(|i| {
                        let t = (f * FRAME + i) as f32 / 48_000.0;
                        let v = ((t * 440.0 * std::f32::consts::TAU).sin() * 12_000.0) as i16;
                        std::iter::repeat_n(v, ch as usize)
                    })
                    .collect();
                let n = enc.encode(&pcm, &mut packet).unwrap();
                assert!(n > 2 && n < 400, "packet of {n} bytes");
                let got = dec.decode(&packet[..n], &mut out).unwrap();
                assert_eq!(got, FRAME);
                if f > 10 {
                    energy += out[..FRAME * ch as usize].iter().map(|&s| (s as f64).powi(2)).sum::<f64>();
                }
            }
            let rms = (energy / (39.0 * FRAME as f64 * ch as f64)).sqrt();
            assert!(rms > 5_000.0, "decoded tone too quiet: rms {rms}");
            assert_eq!(dec.conceal(&mut out).unwrap(), FRAME);
            let n = enc.encode(&vec![0; FRAME * ch as usize], &mut packet).unwrap();
            assert_eq!(dec.recover(&packet[..n], &mut out).unwrap(), FRAME);
            assert!(enc.encode(&[0; 10], &mut packet).is_err());
        }
        assert!(OpusEncoder::new(3).is_err());
        assert!(OpusDecoder::new(0).is_err());
    }
}
