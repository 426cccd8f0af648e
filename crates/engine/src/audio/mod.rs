//! Audio: PCM frames, resampling, Opus, sources that publish and streams that receive.

pub(crate) mod codec;
pub mod frame;
pub(crate) mod local;
pub mod resample;
pub(crate) mod source;
pub(crate) mod stream;

pub use codec::{OpusDecoder, OpusEncoder};
pub use frame::{combine, AudioFrame, SUPPORTED_RATES};
pub use local::LocalAudioTrack;
pub use resample::AudioResampler;
pub use source::AudioSource;
pub use stream::AudioStream;
