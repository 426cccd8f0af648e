//! The codec stages of the pipeline: encoded frames and the traits a codec implements.

use bytes::Bytes;

use crate::error::Result;

/// One encoded frame: what an encoder produces, a frame transform sees, and a packetiser
/// splits (or a depacketiser reassembles and a decoder consumes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedFrame {
    /// The codec's bitstream for this frame.
    pub data: Bytes,
    /// RTP timestamp (in the codec's clock rate) of the frame.
    pub timestamp: u32,
}

/// One RTP payload of a frame and its marker bit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payload {
    /// Payload bytes.
    pub data: Bytes,
    /// RTP marker bit as the payload format wants it (last packet of a video frame).
    pub marker: bool,
}

/// Raw frame → encoded frame.
pub trait Encoder: Send {
    /// What it encodes (PCM samples for audio, a picture for video).
    type Input: ?Sized;
    /// Encodes one frame captured at RTP time `timestamp`.
    fn encode_frame(&mut self, input: &Self::Input, timestamp: u32) -> Result<EncodedFrame>;
}

/// Encoded frame → raw frames. `lost` counts frames missing just before `frame` (the
/// depacketiser saw a gap in sequence numbers): the decoder conceals or recovers them
/// (PLC, FEC, keyframe request) before decoding `frame`.
pub trait Decoder: Send {
    /// What it produces.
    type Output: ?Sized;
    /// Decodes `frame`, handing every raw frame produced (concealed ones first) to `out`.
    fn decode_frame(&mut self, frame: &EncodedFrame, lost: u16, out: &mut dyn FnMut(&Self::Output)) -> Result<()>;
    /// Whether it waits for a keyframe (the receiver should ask the sender for one).
    fn needs_keyframe(&self) -> bool {
        false
    }
}

/// Encoded frame → RTP payloads.
pub trait Packetizer: Send {
    /// The payloads carrying `frame`, in order.
    fn packetize(&mut self, frame: &EncodedFrame) -> Result<Vec<Payload>>;
}
