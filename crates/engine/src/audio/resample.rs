//! Sample-rate and channel conversion for interleaved 16-bit PCM, on top of rubato. The
//! quality setting picks the algorithm: a cubic polynomial (QUICK, no anti-aliasing filter),
//! windowed-sinc interpolation of growing length (LOW, HIGH, VERY_HIGH), or the synchronous
//! FFT resampler (MEDIUM, the default and what sources and streams use).

use audioadapter_buffers::direct::InterleavedSlice;
use rubato::{
    Async, Fft, FixedAsync, FixedSync, PolynomialDegree, Resampler, SincInterpolationParameters, SincInterpolationType,
    WindowFunction,
};

use super::frame::{check_format, remix};
use crate::error::{EngineError, Result};

/// Resampling quality, as `AudioResamplerQuality` of the official SDK (same order).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ResamplerQuality {
    /// Cubic polynomial interpolation: cheapest, no anti-aliasing filter.
    Quick,
    /// Short (32-tap) windowed sinc.
    Low,
    /// FFT resampler (good anti-aliasing, cheap).
    #[default]
    Medium,
    /// 128-tap windowed sinc.
    High,
    /// 256-tap windowed sinc, finest interpolation table.
    VeryHigh,
}

impl ResamplerQuality {
    /// From the official enum's value (0 QUICK … 4 VERY_HIGH).
    pub fn from_index(value: u32) -> Result<Self> {
        Ok(match value {
            0 => Self::Quick,
            1 => Self::Low,
            2 => Self::Medium,
            3 => Self::High,
            4 => Self::VeryHigh,
            _ => return Err(EngineError::InvalidArgument(format!("resampler quality {value} is not 0 to 4"))),
        })
    }
}

type Inner = Box<dyn Resampler<f32>>;

fn sinc(taps: usize, oversampling: usize, interpolation: SincInterpolationType) -> SincInterpolationParameters {
    SincInterpolationParameters::new(taps, WindowFunction::BlackmanHarris2)
        .oversampling_factor(oversampling)
        .interpolation(interpolation)
}

fn build(quality: ResamplerQuality, in_rate: u32, out_rate: u32, channels: usize) -> Result<Inner> {
    let chunk = (in_rate / 100).max(1) as usize;
    let ratio = out_rate as f64 / in_rate as f64;
    let fixed = FixedAsync::Input;
    let built: std::result::Result<Inner, _> = match quality {
        ResamplerQuality::Quick => {
            Async::new_poly(ratio, 1.0, PolynomialDegree::Cubic, chunk, channels, fixed).map(|r| Box::new(r) as Inner)
        }
        ResamplerQuality::Low => {
            let p = sinc(64, 64, SincInterpolationType::Linear);
            Async::new_sinc(ratio, 1.0, &p, chunk, channels, fixed).map(|r| Box::new(r) as Inner)
        }
        ResamplerQuality::Medium => Fft::new(in_rate as usize, out_rate as usize, chunk, channels, FixedSync::Input)
            .map(|r| Box::new(r) as Inner),
        ResamplerQuality::High => {
            let p = sinc(160, 128, SincInterpolationType::Cubic);
            Async::new_sinc(ratio, 1.0, &p, chunk, channels, fixed).map(|r| Box::new(r) as Inner)
        }
        ResamplerQuality::VeryHigh => {
            let p = sinc(256, 256, SincInterpolationType::Cubic);
            Async::new_sinc(ratio, 1.0, &p, chunk, channels, fixed).map(|r| Box::new(r) as Inner)
        }
    };
    built.map_err(|e| EngineError::InvalidArgument(format!("resampler: {e}")))
}

fn to_i16(v: f32) -> i16 {
    (v * 32768.0).round().clamp(-32768.0, 32767.0) as i16
}

/// Converts a stream of PCM from one rate/channel count to another. Input may come in any
/// sizes; output comes out as it becomes available (about 10 ms blocks internally), with
/// the resampler's delay removed, and [`flush`](Self::flush) returns the tail so that the
/// total output is the input's duration at the output rate.
pub struct AudioResampler {
    in_rate: u32,
    out_rate: u32,
    in_channels: u32,
    out_channels: u32,
    inner: Option<Inner>,
    pending: Vec<f32>,
    out_buf: Vec<f32>,
    /// Output frames still to drop: the resampler's delay.
    skip: usize,
    frames_in: u64,
    frames_out: u64,
}

impl AudioResampler {
    /// A resampler from `in_rate`/`in_channels` to `out_rate`/`out_channels` (MEDIUM quality).
    pub fn new(in_rate: u32, in_channels: u32, out_rate: u32, out_channels: u32) -> Result<Self> {
        Self::with_quality(in_rate, in_channels, out_rate, out_channels, ResamplerQuality::Medium)
    }

    /// A resampler of the given quality.
    pub fn with_quality(
        in_rate: u32,
        in_channels: u32,
        out_rate: u32,
        out_channels: u32,
        quality: ResamplerQuality,
    ) -> Result<Self> {
        check_format(in_rate, in_channels)?;
        check_format(out_rate, out_channels)?;
        let inner =
            if in_rate == out_rate { None } else { Some(build(quality, in_rate, out_rate, out_channels as usize)?) };
        let skip = inner.as_ref().map_or(0, |r| r.output_delay());
        let out_cap = inner.as_ref().map_or(0, |r| r.output_frames_max() * out_channels as usize);
        Ok(Self {
            in_rate,
            out_rate,
            in_channels,
            out_channels,
            inner,
            pending: Vec::new(),
            out_buf: vec![0.0; out_cap],
            skip,
            frames_in: 0,
            frames_out: 0,
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
        if self.inner.is_none() {
            return mixed;
        }
        let ch = self.out_channels as usize;
        self.frames_in += (mixed.len() / ch) as u64;
        self.pending.extend(mixed.iter().map(|&s| s as f32 / 32768.0));
        let mut out = Vec::new();
        while self.pending.len() >= self.chunk_len() {
            self.process_chunk(&mut out);
        }
        out
    }

    /// Returns the rest: buffered input and the resampler's delay line, padded with
    /// silence and cut so that everything pushed since creation (or the last flush) came
    /// out at the output rate. The resampler then starts afresh.
    pub fn flush(&mut self) -> Vec<i16> {
        if self.inner.is_none() {
            return Vec::new();
        }
        let ch = self.out_channels as usize;
        let target = (self.frames_in as u128 * self.out_rate as u128 + self.in_rate as u128 / 2) / self.in_rate as u128;
        let target = target as u64;
        let mut out = Vec::new();
        // Each round moves at least one 10 ms block out; the delay is a few blocks.
        for _ in 0..64 {
            if self.frames_out >= target {
                break;
            }
            let need = self.chunk_len();
            self.pending.resize(need, 0.0);
            self.process_chunk(&mut out);
        }
        let excess = self.frames_out.saturating_sub(target) as usize;
        out.truncate(out.len().saturating_sub(excess * ch));
        self.reset();
        out
    }

    /// Drops buffered input and restarts (after a discontinuity).
    pub fn reset(&mut self) {
        self.pending.clear();
        self.frames_in = 0;
        self.frames_out = 0;
        if let Some(r) = self.inner.as_mut() {
            r.reset();
            self.skip = r.output_delay();
        }
    }

    fn chunk_len(&self) -> usize {
        self.inner.as_ref().map_or(usize::MAX, |r| r.input_frames_next() * self.out_channels as usize)
    }

    /// Resamples the first block of `pending` into `out`, dropping the delay's frames.
    fn process_chunk(&mut self, out: &mut Vec<i16>) {
        let ch = self.out_channels as usize;
        let Some(r) = self.inner.as_mut() else { return };
        let (frames_in, frames_out) = (r.input_frames_next(), r.output_frames_next());
        if self.out_buf.len() < frames_out * ch {
            self.out_buf.resize(frames_out * ch, 0.0);
        }
        let result = {
            let input = InterleavedSlice::new(&self.pending[..frames_in * ch], ch, frames_in);
            let output = InterleavedSlice::new_mut(&mut self.out_buf[..frames_out * ch], ch, frames_out);
            match (input, output) {
                (Ok(i), Ok(mut o)) => r.process_into_buffer(&i, &mut o, None).ok(),
                _ => None,
            }
        };
        self.pending.drain(..frames_in * ch);
        let Some((_, written)) = result else { return };
        let dropped = self.skip.min(written);
        self.skip -= dropped;
        out.extend(self.out_buf[dropped * ch..written * ch].iter().map(|&v| to_i16(v)));
        self.frames_out += (written - dropped) as u64;
    }
}

#[cfg(test)]
#[path = "resample_tests.rs"]
mod tests;
