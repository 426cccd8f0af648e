//! Reuse of the transceivers that carried ended subscriptions, as livekit-server reuses them
//! (clients of protocol > 3, Safari excepted: `SupportsTransceiverReuse`).
//!
//! The `webrtc` crate never removes a transceiver from a peer connection: without reuse,
//! every subscription a session ever had keeps its m-section, so offers, answers and the
//! connection's state grow with each publish/unpublish in the room. With it they stay the
//! size of the most that was subscribed at once.
//!
//! A transceiver whose sender was removed is a free slot once a description with its
//! m-section inactive went to the client (v0: the server's next offer; v1: its next
//! answer): the client then ends the old track, and the same m-section sending again with
//! a new msid is a new track to it (a new `track` event). A slot reused before that would
//! only change the msid of a track the client still receives, which clients do not report.
//!
//! The crate's `add_track` attaches a track to the *first* transceiver of its kind that has
//! no sender, with no way to name one; a slot is only used when that first one is a free
//! slot (always, on a v0 subscriber PC; on the v1 PC the client's own sections may come
//! first, and then a new transceiver is added as before).

use super::*;
use webrtc::rtp_transceiver::{RTCRtpTransceiverDirection as Dir, RTCRtpTransceiverInit};

/// Free transceivers of one subscriber peer connection.
#[derive(Default)]
pub(super) struct Slots {
    /// Transceivers whose subscription ended, with their kind.
    free: Vec<Free>,
}

struct Free {
    transceiver: Arc<dyn RtpTransceiver>,
    kind: rtc::Kind,
    /// A description with its m-section inactive went to the client.
    announced: bool,
}

impl Slots {
    /// `transceiver` (of `kind`) no longer carries a subscription.
    pub(super) fn release(&mut self, transceiver: Arc<dyn RtpTransceiver>, kind: rtc::Kind) {
        self.free.push(Free { transceiver, kind, announced: false });
    }

    /// A description of the subscriber PC went to the client: every slot freed so far is
    /// inactive in it.
    pub(super) fn announced(&mut self) {
        for f in &mut self.free {
            f.announced = true;
        }
    }

    /// Sends `local` on `pc`: on a free slot of `kind` when one can be used (see the module
    /// docs), else on a new send-only transceiver.
    pub(super) async fn attach(
        &mut self,
        pc: &dyn PeerConnection,
        local: Arc<TrackLocalStaticRTP>,
        kind: rtc::Kind,
        reuse: bool,
    ) -> Result<(Arc<dyn RtpSender>, Arc<dyn RtpTransceiver>), String> {
        if reuse {
            if let Some(slot) = self.usable(pc, kind).await {
                match reuse_slot(pc, &slot, local.clone()).await {
                    Ok(sender) => {
                        tracing::debug!(transceiver = slot.id(), "subscription on a reused transceiver");
                        self.free.retain(|f| f.transceiver.id() != slot.id());
                        return Ok((sender, slot));
                    }
                    Err(e) => tracing::warn!(error = %e, "reusing a transceiver failed: adding one"),
                }
            }
        }
        let init = RTCRtpTransceiverInit { direction: Dir::Sendonly, streams: vec![], send_encodings: vec![] };
        let transceiver = pc.add_transceiver_from_track(local, Some(init)).await.map_err(|e| e.to_string())?;
        match transceiver.sender().await {
            Ok(Some(sender)) => Ok((sender, transceiver)),
            _ => Err("new transceiver has no sender".into()),
        }
    }

    /// The free slot `add_track` would take for a track of `kind`, if it takes one of ours
    /// that the client was told is inactive.
    async fn usable(&self, pc: &dyn PeerConnection, kind: rtc::Kind) -> Option<Arc<dyn RtpTransceiver>> {
        if !self.free.iter().any(|f| f.kind == kind) {
            return None;
        }
        let mut all = pc.get_transceivers().await;
        all.sort_by_key(|t| t.id());
        for t in all {
            if !matches!(t.sender().await, Ok(None)) {
                continue;
            }
            let ours = self.free.iter().find(|f| f.transceiver.id() == t.id());
            let their_kind = match ours {
                Some(f) => f.kind,
                // One of the client's sections (v1): its kind is its receiver's.
                None => match t.receiver().await {
                    Ok(Some(r)) => r.track().kind().await,
                    _ => return None, // cannot tell which one add_track would take
                },
            };
            if their_kind != kind {
                continue;
            }
            return ours.is_some_and(|f| f.announced).then_some(t);
        }
        None
    }
}

/// Attaches `local` to `slot` with `add_track`, the slot's codecs reset so that the new
/// track's codec is negotiated.
async fn reuse_slot(
    pc: &dyn PeerConnection,
    slot: &Arc<dyn RtpTransceiver>,
    local: Arc<TrackLocalStaticRTP>,
) -> Result<Arc<dyn RtpSender>, String> {
    slot.set_codec_preferences(vec![]).await.map_err(|e| e.to_string())?;
    let sender = pc.add_track(local).await.map_err(|e| e.to_string())?;
    if usize::from(sender.id()) == slot.id() {
        return Ok(sender);
    }
    // Not the transceiver expected: undo, so that nothing sends on a section we did not choose.
    let _ = pc.remove_track(&sender).await;
    Err(format!("add_track took transceiver {} instead of {}", usize::from(sender.id()), slot.id()))
}
