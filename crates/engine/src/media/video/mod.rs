//! Video: raw frames and their conversion, capture and encoding (`VideoSource`), and
//! receiving (`VideoStream`).

pub mod bitrate;
mod clock;
mod convert;
mod depacketize;
mod encoder;
mod frame;
mod gate;
pub mod h264;
pub mod layers;
mod scale;
mod source;
mod stream;
pub mod vp8;

pub use convert::convert;
pub use depacketize::{VideoDepacketizer, MAX_FRAME};
pub use frame::{buffer_len, check_frame, plane_layout, PlaneInfo, VideoBufferType, VideoFrame, MAX_SIDE};
pub(crate) use gate::KeyframeGate;
pub use source::{default_max_bitrate, LocalVideoTrack, VideoSource, QUEUE_FRAMES};
pub(crate) use stream::{receive_pipeline, VideoReceiver};
pub use stream::{VideoDecoder, VideoFrameEvent, VideoReceiveStats, VideoStream, PLI_INTERVAL, STREAM_BUFFER_FRAMES};

#[cfg(test)]
mod codec_tests;
#[cfg(test)]
mod tests;
