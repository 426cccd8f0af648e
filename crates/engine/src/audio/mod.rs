//! Audio: PCM frames, resampling, Opus, sources that publish and streams that receive.

pub(crate) mod codec;
pub mod frame;
pub(crate) mod local;
pub(crate) mod pacer;
pub mod resample;
pub(crate) mod source;
pub(crate) mod stream;

pub use codec::{OpusDecoder, OpusEncoder};
pub use frame::{combine, AudioFrame, MAX_CHANNELS, MAX_RATE, MIN_RATE, SUPPORTED_RATES};
pub use local::LocalAudioTrack;
pub use resample::{AudioResampler, ResamplerQuality};
pub use source::AudioSource;
pub use stream::AudioStream;
