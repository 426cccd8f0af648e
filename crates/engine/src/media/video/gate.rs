//! The wait for a keyframe every video decoder shares.

use crate::error::Result;

/// Whether a decoder waits for a keyframe: it does at the start, after loss and after a
/// frame that did not decode, because the frames in between reference a picture it does
/// not have.
#[derive(Debug)]
pub(crate) struct KeyframeGate {
    waiting: bool,
}

impl KeyframeGate {
    /// A gate that waits for the first keyframe.
    pub(crate) fn new() -> Self {
        Self { waiting: true }
    }

    /// Whether it waits for a keyframe (the caller should ask the sender for one).
    pub(crate) fn waiting(&self) -> bool {
        self.waiting
    }

    /// Runs `decode` on a frame (`lost` frames missing before it; `keyframe` whether it is
    /// one) unless the frame must be skipped, which gives `Ok(None)`. An error starts a
    /// wait for a keyframe; a success ends it.
    pub(crate) fn pass<T>(
        &mut self,
        lost: u16,
        keyframe: bool,
        decode: impl FnOnce() -> Result<T>,
    ) -> Result<Option<T>> {
        if lost > 0 {
            self.waiting = true;
        }
        if self.waiting && !keyframe {
            return Ok(None);
        }
        let decoded = decode();
        self.waiting = decoded.is_err();
        decoded.map(Some)
    }
}
