//! PCM audio frames: interleaved signed 16-bit samples.

use crate::error::{EngineError, Result};

/// Sample rates the SDK accepts everywhere (sources, streams, the resampler).
pub const SUPPORTED_RATES: [u32; 5] = [8_000, 16_000, 24_000, 44_100, 48_000];

/// A block of interleaved 16-bit PCM.
#[derive(Clone, Debug, PartialEq)]
pub struct AudioFrame {
    /// Interleaved samples (`samples_per_channel * channels`).
    pub data: Vec<i16>,
    /// Samples per second per channel.
    pub sample_rate: u32,
    /// 1 (mono) or 2 (stereo).
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
    if !SUPPORTED_RATES.contains(&sample_rate) {
        return Err(EngineError::InvalidArgument(format!(
            "sample rate {sample_rate} Hz is not supported; use one of {SUPPORTED_RATES:?}"
        )));
    }
    if !(1..=2).contains(&channels) {
        return Err(EngineError::InvalidArgument(format!("{channels} channels is not supported; use 1 or 2")));
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

/// Converts between mono and stereo (average down, duplicate up).
pub fn remix(data: &[i16], from: u32, to: u32) -> Vec<i16> {
    match (from, to) {
        (1, 2) => data.iter().flat_map(|&s| [s, s]).collect(),
        (2, 1) => data.chunks_exact(2).map(|c| ((c[0] as i32 + c[1] as i32) / 2) as i16).collect(),
        _ => data.to_vec(),
    }
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
        assert!(AudioFrame::silence(12_345, 1, 10).validate().is_err());
        assert!(AudioFrame::silence(48_000, 3, 10).validate().is_err());
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
    }
}
