//! The frame-transform hook between encoder and packetiser (send) and between depacketiser
//! and decoder (receive): where end-to-end encryption sits. A track has no transform by
//! default (frames pass untouched, at the cost of one uncontended lock per frame).

use std::sync::Arc;

use parking_lot::Mutex;

use super::codec::EncodedFrame;
use super::MediaKind;

/// Which way a frame goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Encoded here, about to be packetised and sent (encrypt).
    Send,
    /// Received and reassembled, about to be decoded (decrypt).
    Receive,
}

/// What a transform knows about the frame it sees.
#[derive(Clone, Copy, Debug)]
pub struct FrameInfo<'a> {
    /// Send or receive.
    pub direction: Direction,
    /// Audio or video.
    pub kind: MediaKind,
    /// Codec mime type (`audio/opus`).
    pub codec: &'a str,
    /// Track sid (`TR_…`); empty for a local track not yet published.
    pub track_sid: &'a str,
    /// Identity of the participant who publishes the track.
    pub participant_identity: &'a str,
    /// SSRC of the RTP stream.
    pub ssrc: u32,
    /// RTP timestamp of the frame.
    pub rtp_timestamp: u32,
}

/// Encoded frame in, encoded frame out. Installed per track with `set_frame_transform`.
pub trait FrameTransform: Send + Sync {
    /// Transforms `frame`; `None` drops it (a frame that cannot be decrypted is not
    /// decoded; the transform reports why through its own events).
    fn transform(&self, frame: EncodedFrame, info: &FrameInfo<'_>) -> Option<EncodedFrame>;
}

/// A track's identity as a transform sees it, and the transform installed on it.
pub struct TrackMeta {
    direction: Direction,
    kind: MediaKind,
    codec: Mutex<String>,
    /// Track sid once known (shared with the local track, which sets it on publish).
    pub(crate) sid: Arc<Mutex<Option<String>>>,
    identity: Mutex<String>,
    transform: Mutex<Option<Arc<dyn FrameTransform>>>,
}

impl TrackMeta {
    /// Metadata of a track of `kind` coded as `codec`.
    pub fn new(direction: Direction, kind: MediaKind, codec: &str, sid: Option<String>, identity: &str) -> Self {
        Self {
            direction,
            kind,
            codec: Mutex::new(codec.into()),
            sid: Arc::new(Mutex::new(sid)),
            identity: Mutex::new(identity.into()),
            transform: Mutex::new(None),
        }
    }

    /// Installs (or with `None` removes) the transform applied to every frame of the track.
    pub fn set_transform(&self, transform: Option<Arc<dyn FrameTransform>>) {
        *self.transform.lock() = transform;
    }

    /// Whether a transform is installed.
    pub fn has_transform(&self) -> bool {
        self.transform.lock().is_some()
    }

    /// The codec frames are coded with from now on (a video track republished with another).
    pub(crate) fn set_codec(&self, codec: &str) {
        codec.clone_into(&mut self.codec.lock());
    }

    pub(crate) fn set_identity(&self, identity: &str) {
        identity.clone_into(&mut self.identity.lock());
    }

    /// `frame` through the installed transform (unchanged without one).
    pub fn apply(&self, frame: EncodedFrame, ssrc: u32) -> Option<EncodedFrame> {
        let Some(transform) = self.transform.lock().clone() else { return Some(frame) };
        let sid = self.sid.lock().clone().unwrap_or_default();
        let identity = self.identity.lock().clone();
        let codec = self.codec.lock().clone();
        let info = FrameInfo {
            direction: self.direction,
            kind: self.kind,
            codec: &codec,
            track_sid: &sid,
            participant_identity: &identity,
            ssrc,
            rtp_timestamp: frame.timestamp,
        };
        transform.transform(frame, &info)
    }
}

/// End-to-end encryption is a frame transform: encrypt on send, decrypt on receive.
impl FrameTransform for crate::e2ee::FrameCryptor {
    fn transform(&self, frame: EncodedFrame, info: &FrameInfo<'_>) -> Option<EncodedFrame> {
        use crate::e2ee::{FrameCodec, Outcome};
        let codec = FrameCodec::of(info.kind == MediaKind::Audio, info.codec);
        let send = info.direction == Direction::Send;
        match self.outcome(send, codec, info.ssrc, info.rtp_timestamp, &frame.data) {
            Outcome::Pass => Some(frame),
            Outcome::Replace(data) => Some(EncodedFrame { data: data.into(), timestamp: frame.timestamp }),
            Outcome::Drop => None,
        }
    }
}
