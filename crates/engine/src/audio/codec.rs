//! Opus at 48 kHz, 20 ms frames, with `ropus` (pure Rust, no C toolchain or system
//! package). Chosen by measurement (docs/ARCHITECTURE.md): interoperable both ways with
//! libopus, on-target bitrate, DTX and in-band FEC, speed on par with libopus; the
//! transpiled libopus (`unsafe-libopus`) fills lost speech packets with clipped noise.

use ropus::{Application, Bitrate, Channels, DecodeMode, Decoder, Encoder, InbandFec};

use crate::error::{EngineError, Result};

/// Samples per channel in one 20 ms frame.
pub const FRAME: usize = 960;
/// Largest frame a packet can carry (120 ms), per channel.
pub const MAX_FRAME: usize = 5_760;

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
        Ok(Self { enc, channels: n as usize })
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
}

impl OpusDecoder {
    /// A decoder producing `n` channels (a stream of the other count is mixed to it).
    pub fn new(n: u32) -> Result<Self> {
        let dec = Decoder::new(48_000, channels(n)?).map_err(|e| codec_err("decoder creation", e))?;
        Ok(Self { dec, channels: n as usize })
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
