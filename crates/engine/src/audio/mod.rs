//! Audio: PCM frames, resampling, Opus, sources that publish and streams that receive.

pub mod frame;
pub mod resample;

pub use frame::{combine, AudioFrame, SUPPORTED_RATES};
pub use resample::AudioResampler;
