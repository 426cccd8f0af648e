//! Receiving: `RTP in → Depacketizer → [FrameTransform] → Decoder → out`, sans IO. The
//! caller reads packets from the network and hands each to [`RecvPipeline::push`].

use std::sync::Arc;

use super::codec::{Decoder, EncodedFrame};
use super::transform::TrackMeta;
use crate::error::Result;

/// A frame reassembled from RTP, and how many frames were lost just before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Depacketized {
    /// The encoded frame.
    pub frame: EncodedFrame,
    /// Frames missing between the previous one and this one.
    pub lost: u16,
}

/// RTP packets → encoded frames, detecting loss.
pub trait Depacketizer: Send {
    /// Takes one packet; returns a frame when one is complete.
    fn push(&mut self, packet: &rtc::rtp::Packet) -> Option<Depacketized>;
}

/// Makes a decoder when someone starts listening.
pub type MakeDecoder<D> = Box<dyn Fn() -> Result<D> + Send>;

/// The receive pipeline of one remote track. The decoder exists only while someone
/// listens: without listeners packets are depacketised (so loss is counted right when
/// listening starts) but neither transformed nor decoded.
pub struct RecvPipeline<D: Decoder> {
    depacketizer: Box<dyn Depacketizer>,
    meta: Arc<TrackMeta>,
    make_decoder: MakeDecoder<D>,
    decoder: Option<D>,
}

impl<D: Decoder> RecvPipeline<D> {
    /// A pipeline decoding with decoders made by `make_decoder`.
    pub fn new(depacketizer: Box<dyn Depacketizer>, meta: Arc<TrackMeta>, make_decoder: MakeDecoder<D>) -> Self {
        Self { depacketizer, meta, make_decoder, decoder: None }
    }

    /// Runs `packet` through the pipeline, handing decoded output to `out` when
    /// `listening`. Errors only when no decoder can be made (the track cannot be decoded).
    pub fn push(&mut self, packet: &rtc::rtp::Packet, listening: bool, out: &mut dyn FnMut(&D::Output)) -> Result<()> {
        let Some(Depacketized { frame, lost }) = self.depacketizer.push(packet) else { return Ok(()) };
        if !listening {
            self.decoder = None;
            return Ok(());
        }
        let Some(frame) = self.meta.apply(frame, packet.header.ssrc) else { return Ok(()) };
        let decoder = match self.decoder.as_mut() {
            Some(d) => d,
            None => self.decoder.insert((self.make_decoder)()?),
        };
        if let Err(e) = decoder.decode_frame(&frame, lost, out) {
            tracing::debug!(error = %e, "undecodable frame dropped");
        }
        Ok(())
    }

    /// Whether its decoder waits for a keyframe (false while nobody listens).
    pub fn needs_keyframe(&self) -> bool {
        self.decoder.as_ref().is_some_and(|d| d.needs_keyframe())
    }
}
