//! Sample-rate and channel conversion for interleaved 16-bit PCM, on top of rubato's
//! synchronous FFT resampler (fixed ratio, good quality, cheap).

use audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

use super::frame::{check_format, remix};
use crate::error::{EngineError, Result};

/// Converts a stream of PCM from one rate/channel count to another. Input may come in
/// any sizes; output comes out as it becomes available (10 ms chunks internally).
pub struct AudioResampler {
    in_rate: u32,
    out_rate: u32,
    in_channels: u32,
    out_channels: u32,
    chunk: usize,
    fft: Option<Fft<f32>>,
    pending: Vec<f32>,
    out_buf: Vec<f32>,
}

impl AudioResampler {
    /// A resampler from `in_rate`/`in_channels` to `out_rate`/`out_channels`.
    pub fn new(in_rate: u32, in_channels: u32, out_rate: u32, out_channels: u32) -> Result<Self> {
        check_format(in_rate, in_channels)?;
        check_format(out_rate, out_channels)?;
        let chunk = (in_rate / 100) as usize;
        let fft = if in_rate == out_rate {
            None
        } else {
            let fft =
                Fft::<f32>::new(in_rate as usize, out_rate as usize, chunk, out_channels as usize, FixedSync::Input)
                    .map_err(|e| EngineError::InvalidArgument(format!("resampler: {e}")))?;
            Some(fft)
        };
        let out_cap = (out_rate / 100) as usize * 2 * out_channels as usize + 64;
        Ok(Self {
            in_rate,
            out_rate,
            in_channels,
            out_channels,
            chunk,
            fft,
            pending: Vec::new(),
            out_buf: vec![0.0; out_cap],
        })
    }

    /// Input rate.
    pub fn input_rate(&self) -> u32 {
        self.in_rate
    }

    /// Output rate.
    pub fn output_rate(&self) -> u32 {
        self.out_rate
    }

    /// Feeds interleaved input; returns whatever output is ready (interleaved).
    pub fn push(&mut self, input: &[i16]) -> Vec<i16> {
        let mixed = remix(input, self.in_channels, self.out_channels);
        let Some(fft) = self.fft.as_mut() else { return mixed };
        let ch = self.out_channels as usize;
        self.pending.extend(mixed.iter().map(|&s| s as f32 / 32768.0));
        let mut out = Vec::new();
        while self.pending.len() >= self.chunk * ch {
            let frames_out = fft.output_frames_next();
            if self.out_buf.len() < frames_out * ch {
                self.out_buf.resize(frames_out * ch, 0.0);
            }
            let result = {
                let input = InterleavedSlice::new(&self.pending[..self.chunk * ch], ch, self.chunk);
                let output = InterleavedSlice::new_mut(&mut self.out_buf[..frames_out * ch], ch, frames_out);
                match (input, output) {
                    (Ok(i), Ok(mut o)) => fft.process_into_buffer(&i, &mut o, None).ok(),
                    _ => None,
                }
            };
            self.pending.drain(..self.chunk * ch);
            if let Some((_, written)) = result {
                out.extend(
                    self.out_buf[..written * ch].iter().map(|&v| (v * 32768.0).round().clamp(-32768.0, 32767.0) as i16),
                );
            }
        }
        out
    }

    /// Drops buffered input (after a discontinuity).
    pub fn reset(&mut self) {
        self.pending.clear();
        if let Some(f) = self.fft.as_mut() {
            f.reset();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(rate: u32, freq: f32, n: usize) -> Vec<i16> {
        (0..n).map(|i| ((i as f32 * freq * 2.0 * std::f32::consts::PI / rate as f32).sin() * 10_000.0) as i16).collect()
    }

    /// Zero crossings per second ≈ 2 × frequency.
    fn freq_of(samples: &[i16], rate: u32) -> f32 {
        let crossings = samples.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
        crossings as f32 * rate as f32 / samples.len() as f32 / 2.0
    }

    #[test]
    fn converts_every_supported_pair_keeping_pitch_and_length() {
        for &a in &super::super::frame::SUPPORTED_RATES {
            for &b in &super::super::frame::SUPPORTED_RATES {
                let mut r = AudioResampler::new(a, 1, b, 1).unwrap();
                let input = sine(a, 440.0, a as usize); // one second
                let mut out = Vec::new();
                for chunk in input.chunks(337) {
                    out.extend(r.push(chunk));
                }
                let expected = b as usize;
                assert!(
                    out.len() + (b as usize / 50) >= expected && out.len() <= expected,
                    "{a}->{b}: {} samples",
                    out.len()
                );
                let tail = &out[out.len() / 4..];
                let f = freq_of(tail, b);
                assert!((f - 440.0).abs() < 8.0, "{a}->{b}: {f} Hz");
            }
        }
    }

    #[test]
    fn converts_channels() {
        let mut r = AudioResampler::new(48_000, 2, 16_000, 1).unwrap();
        let stereo: Vec<i16> = sine(48_000, 300.0, 4_800).iter().flat_map(|&s| [s, s]).collect();
        let out = r.push(&stereo);
        assert_eq!(out.len(), 1_600);
        let mut up = AudioResampler::new(16_000, 1, 16_000, 2).unwrap();
        assert_eq!(up.push(&[5, 6]), vec![5, 5, 6, 6]);
        assert!(AudioResampler::new(22_050, 1, 48_000, 1).is_err());
    }
}
