//! RTP payload formats from the `rtc` crate behind the pipeline's traits.

use bytes::Bytes;
use rtc::rtp::packetizer::{Depacketizer as RtcDepacketizer, Payloader};

use super::codec::{EncodedFrame, Packetizer, Payload};
use super::recv::{Depacketized, Depacketizer};
use crate::error::{EngineError, Result};

/// Largest RTP payload a packetiser produces (leaves room for headers, extensions and SRTP
/// within a 1,280-byte path MTU).
pub const MTU: usize = 1_200;

/// A packetiser over one of `rtc`'s payloaders. Audio payload formats leave the marker bit
/// to the sender (start of a talkspurt); video ones set it on the last packet of a frame.
pub struct RtpPacketizer {
    payloader: Box<dyn Payloader>,
    mark_frame_end: bool,
}

impl RtpPacketizer {
    /// Packetises with `payloader`; `mark_frame_end` sets the marker on each frame's last packet.
    pub fn new(payloader: Box<dyn Payloader>, mark_frame_end: bool) -> Self {
        Self { payloader, mark_frame_end }
    }

    /// Opus (RFC 7587): one frame per packet.
    pub fn opus() -> Self {
        Self::new(Box::new(rtc::rtp::codec::opus::OpusPayloader), false)
    }
}

impl Packetizer for RtpPacketizer {
    fn packetize(&mut self, frame: &EncodedFrame) -> Result<Vec<Payload>> {
        let parts = self.payloader.payload(MTU, &frame.data).map_err(EngineError::rtc)?;
        let last = parts.len().saturating_sub(1);
        Ok(parts
            .into_iter()
            .enumerate()
            .map(|(i, data)| Payload { data, marker: self.mark_frame_end && i == last })
            .collect())
    }
}

/// A depacketiser for payload formats that carry one whole frame per packet (Opus), over
/// one of `rtc`'s depacketisers. It follows sequence numbers: a gap is reported as lost
/// frames, duplicates and late reordered packets are dropped, and padding-only packets
/// (libwebrtc sends them on audio to probe bandwidth) advance the sequence and carry nothing.
pub struct FrameDepacketizer<D> {
    inner: D,
    last_seq: Option<u16>,
}

impl<D: RtcDepacketizer> FrameDepacketizer<D> {
    /// Depacketises with `inner`.
    pub fn new(inner: D) -> Self {
        Self { inner, last_seq: None }
    }
}

impl FrameDepacketizer<rtc::rtp::codec::opus::OpusPacket> {
    /// Opus (RFC 7587).
    pub fn opus() -> Self {
        Self::new(rtc::rtp::codec::opus::OpusPacket)
    }
}

impl<D: RtcDepacketizer + Send> Depacketizer for FrameDepacketizer<D> {
    fn push(&mut self, packet: &rtc::rtp::Packet) -> Option<Depacketized> {
        let seq = packet.header.sequence_number;
        if packet.payload.is_empty() {
            self.last_seq = Some(seq);
            return None;
        }
        let lost = match self.last_seq {
            Some(prev) => {
                let gap = seq.wrapping_sub(prev);
                if gap == 0 || gap > 0x8000 {
                    return None; // duplicate or late
                }
                gap - 1
            }
            None => 0,
        };
        self.last_seq = Some(seq);
        let data: Bytes = self.inner.depacketize(&packet.payload).ok()?;
        Some(Depacketized { frame: EncodedFrame { data, timestamp: packet.header.timestamp }, lost })
    }
}
