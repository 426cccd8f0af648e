//! Reuse of the send-only transceivers whose track was removed: the server's for ended
//! subscriptions (as livekit-server reuses them for clients of protocol > 3, Safari
//! excepted: `SupportsTransceiverReuse`), the client's for unpublished tracks.
//!
//! The `webrtc` crate never removes a transceiver from a peer connection: without reuse,
//! every track a connection ever sent keeps its m-section, so offers, answers and the
//! connection's state grow with each publish/unpublish. With it they stay the size of the
//! most that was sent at once.
//!
//! A transceiver whose sender was removed is a free slot once a description with its
//! m-section inactive went to the peer (the next offer, or on a PC the peer offers, the
//! next answer): the peer then ends the old track, and the same m-section sending again
//! with a new msid is a new track to it (a new `track` event). A slot reused before that
//! would only change the msid of a track the peer still receives, which peers do not report.
//!
//! The crate's `add_track` attaches a track to the *first* transceiver of its kind that has
//! no sender, with no way to name one; a slot is only used when that first one is a free
//! slot (always, when the PC holds only our send-only transceivers; on a PC the peer also
//! sends on, its sections may come first, and then a new transceiver is added as before).

use std::sync::Arc;

use rtc::rtp_transceiver::rtp_sender::RtpCodecKind as Kind;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::peer_connection::PeerConnection;
use webrtc::rtp_transceiver::{RTCRtpTransceiverDirection as Dir, RTCRtpTransceiverInit, RtpSender, RtpTransceiver};

/// Free send-only transceivers of one peer connection.
#[derive(Default)]
pub struct Slots {
    /// Transceivers whose subscription ended, with their kind.
    free: Vec<Free>,
}

struct Free {
    transceiver: Arc<dyn RtpTransceiver>,
    kind: Kind,
    /// A description with its m-section inactive went to the client.
    announced: bool,
}

impl Slots {
    /// `transceiver` (of `kind`) no longer sends a track.
    pub fn release(&mut self, transceiver: Arc<dyn RtpTransceiver>, kind: Kind) {
        self.free.push(Free { transceiver, kind, announced: false });
    }

    /// The transceiver of `sender` (just removed from `pc`) no longer sends a track.
    pub async fn release_sender(&mut self, pc: &dyn PeerConnection, sender: &Arc<dyn RtpSender>) {
        let id = usize::from(sender.id());
        let kind = sender.track().track().await.kind();
        if let Some(t) = pc.get_transceivers().await.into_iter().find(|t| t.id() == id) {
            self.release(t, kind);
        }
    }

    /// A description of the PC went to the peer: every slot freed so far is inactive in it.
    pub fn announced(&mut self) {
        for f in &mut self.free {
            f.announced = true;
        }
    }

    /// Sends `local` on `pc`: on a free slot of `kind` when one can be used (see the module
    /// docs), else on a new send-only transceiver.
    pub async fn attach(
        &mut self,
        pc: &dyn PeerConnection,
        local: Arc<TrackLocalStaticRTP>,
        kind: Kind,
        reuse: bool,
    ) -> Result<(Arc<dyn RtpSender>, Arc<dyn RtpTransceiver>), String> {
        if reuse {
            if let Some(slot) = self.usable(pc, kind).await {
                // A slot that turns out not to be (see `reuse_slot`) leaves a new transceiver.
                if let Ok(sender) = reuse_slot(pc, &slot, local.clone()).await {
                    self.free.retain(|f| f.transceiver.id() != slot.id());
                    return Ok((sender, slot));
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
    async fn usable(&self, pc: &dyn PeerConnection, kind: Kind) -> Option<Arc<dyn RtpTransceiver>> {
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
                // A section the peer sends on: its kind is its receiver's.
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
