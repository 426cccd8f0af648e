//! PCM audio frames: interleaved signed 16-bit samples.

use crate::error::{EngineError, Result};

/// Common sample rates (every integer rate in [`MIN_RATE`, `MAX_RATE`] is accepted).
pub const SUPPORTED_RATES: [u32; 7] = [8_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000];
/// Lowest sample rate accepted (sources, streams, the resampler).
pub const MIN_RATE: u32 = 8_000;
/// Highest sample rate accepted.
pub const MAX_RATE: u32 = 192_000;
/// Most channels a frame may have (7.1).
pub const MAX_CHANNELS: u32 = 8;

/// A block of interleaved 16-bit PCM.
#[derive(Clone, Debug, PartialEq)]
pub struct AudioFrame {
    /// Interleaved samples (`samples_per_channel * channels`).
    pub data: Vec<i16>,
    /// Samples per second per channel.
    pub sample_rate: u32,
    /// Interleaved channels, 1 to [`MAX_CHANNELS`].
    pub channels: u32,
    /// Samples in each channel.
    pub samples_per_channel: u32,
}

impl AudioFrame {
    /// A silent frame.
    pub fn silence(sample_rate: u32, channels: u32, samples_per_channel: u32) -> Self {
        Self { data: vec![0; (samples_per_channel * channels) as usize], sample_rate, channels, samples_per_channel }
    }

    /// Duration in milliseconds.
    pub fn duration_ms(&self) -> f64 {
        self.samples_per_channel as f64 * 1000.0 / self.sample_rate as f64
    }

    /// Checks that the fields agree and the format is supported.
    pub fn validate(&self) -> Result<()> {
        check_format(self.sample_rate, self.channels)?;
        let expected = self.samples_per_channel as usize * self.channels as usize;
        if self.data.len() != expected {
            return Err(EngineError::InvalidArgument(format!(
                "frame data has {} samples but samplesPerChannel ({}) x channels ({}) = {expected}",
                self.data.len(),
                self.samples_per_channel,
                self.channels
            )));
        }
        Ok(())
    }
}

/// Checks a sample rate / channel count pair.
pub fn check_format(sample_rate: u32, channels: u32) -> Result<()> {
    if !(MIN_RATE..=MAX_RATE).contains(&sample_rate) {
        return Err(EngineError::InvalidArgument(format!(
            "sample rate {sample_rate} Hz is not supported; use {MIN_RATE} to {MAX_RATE} Hz"
        )));
    }
    if !(1..=MAX_CHANNELS).contains(&channels) {
        return Err(EngineError::InvalidArgument(format!(
            "{channels} channels is not supported; use 1 to {MAX_CHANNELS}"
        )));
    }
    Ok(())
}

/// Concatenates frames of one format into one frame (no per-sample work beyond copying).
pub fn combine(frames: &[AudioFrame]) -> Result<AudioFrame> {
    let Some(first) = frames.first() else {
        return Err(EngineError::InvalidArgument("no frames to combine".into()));
    };
    let mut data = Vec::with_capacity(frames.iter().map(|f| f.data.len()).sum());
    let mut samples = 0;
    for f in frames {
        if f.sample_rate != first.sample_rate || f.channels != first.channels {
            return Err(EngineError::InvalidArgument(format!(
                "cannot combine {} Hz/{} ch with {} Hz/{} ch frames",
                f.sample_rate, f.channels, first.sample_rate, first.channels
            )));
        }
        data.extend_from_slice(&f.data);
        samples += f.samples_per_channel;
    }
    Ok(AudioFrame { data, sample_rate: first.sample_rate, channels: first.channels, samples_per_channel: samples })
}

/// Converts interleaved PCM from `from` to `to` channels. Fewer channels: output channel
/// `j` is the average of the input channels `i` with `i % to == j` (so mono is the average
/// of all). More channels: output channel `j` repeats input channel `j % from`.
pub fn remix(data: &[i16], from: u32, to: u32) -> Vec<i16> {
    let (from, to) = (from as usize, to as usize);
    if from == to || from == 0 || to == 0 {
        return data.to_vec();
    }
    let mut out = Vec::with_capacity(data.len() / from * to);
    for frame in data.chunks_exact(from) {
        if to > from {
            out.extend((0..to).map(|j| frame[j % from]));
            continue;
        }
        for j in 0..to {
            let (sum, n) = frame.iter().skip(j).step_by(to).fold((0i32, 0i32), |(s, n), &v| (s + v as i32, n + 1));
            out.push((sum / n) as i16);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_frames() {
        assert!(AudioFrame::silence(48_000, 2, 480).validate().is_ok());
        let mut f = AudioFrame::silence(48_000, 1, 480);
        f.data.pop();
        assert_eq!(f.validate().unwrap_err().code(), "ERR_INVALID_ARG");
        assert!(AudioFrame::silence(200_000, 1, 10).validate().is_err());
        assert!(AudioFrame::silence(7_999, 1, 10).validate().is_err());
        assert!(AudioFrame::silence(48_000, 9, 10).validate().is_err());
        assert!(AudioFrame::silence(48_000, 0, 10).validate().is_err());
        for rate in SUPPORTED_RATES {
            for ch in 1..=MAX_CHANNELS {
                assert!(AudioFrame::silence(rate, ch, rate / 100).validate().is_ok(), "{rate}/{ch}");
            }
        }
    }

    #[test]
    fn combines_and_remixes() {
        let a = AudioFrame { data: vec![1, 2], sample_rate: 16_000, channels: 1, samples_per_channel: 2 };
        let b = AudioFrame { data: vec![3], sample_rate: 16_000, channels: 1, samples_per_channel: 1 };
        let c = combine(&[a.clone(), b]).unwrap();
        assert_eq!((c.data, c.samples_per_channel), (vec![1, 2, 3], 3));
        assert!(combine(&[a, AudioFrame::silence(48_000, 1, 1)]).is_err());
        assert_eq!(remix(&[1, 3], 1, 2), vec![1, 1, 3, 3]);
        assert_eq!(remix(&[2, 4, -2, -4], 2, 1), vec![3, -3]);
        // 4 channels: to stereo averages 0+2 and 1+3, to mono averages all four.
        assert_eq!(remix(&[10, 20, 30, 40], 4, 2), vec![20, 30]);
        assert_eq!(remix(&[10, 20, 30, 40], 4, 1), vec![25]);
        assert_eq!(remix(&[7, 8], 2, 4), vec![7, 8, 7, 8]);
        assert_eq!(remix(&[5], 1, 3), vec![5, 5, 5]);
    }
}
