//! The media path, the same for every kind of track:
//!
//! ```text
//! send:    capture → Encoder → [FrameTransform] → Packetizer → RTP out     (send.rs)
//! receive: RTP in → Depacketizer → [FrameTransform] → Decoder → stream     (recv.rs)
//! ```
//!
//! A kind (audio, video) is a source type that captures and paces raw frames, plus a codec
//! that implements [`Encoder`]/[`Decoder`] and picks an RTP payload format from the `rtc`
//! crate ([`RtpPacketizer`], [`FrameDepacketizer`]). [`LocalTrack`] publishes any
//! [`MediaSource`]; a remote track runs a [`RecvPipeline`] of its kind. The frame transform
//! is where end-to-end encryption sits: identity unless one is installed on the track.

mod codec;
mod fanout;
mod local;
mod recv;
mod rtp;
mod send;
mod transform;
pub mod video;

pub use codec::{Decoder, EncodedFrame, Encoder, Packetizer, Payload};
pub(crate) use fanout::{Fanout, FrameQueue, Listener};
pub use local::{Feedback, LocalTrack, MediaSource};
pub use recv::{Depacketized, Depacketizer, MakeDecoder, RecvPipeline};
pub use rtp::{FrameDepacketizer, RtpPacketizer, MTU};
pub use send::{SendPipeline, StreamWire, TrackOutput};
pub use transform::{Direction, FrameInfo, FrameTransform, TrackMeta};

/// What a track carries; the same enum as [`crate::TrackKind`].
pub type MediaKind = crate::types::TrackKind;

#[cfg(test)]
mod tests;
