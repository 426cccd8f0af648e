//! The feedback task of each down track: reads what the subscriber's stack hands it about
//! the track (PLI, FIR, NACK, REMB; `PcOptions::rtcp_feedback`) and acts on it with the
//! published track and the feedback state (`feedback.rs`: the policy and its numbers).
//! Also where every forwarded packet is written ([`DownTrack::write`]).

use std::sync::{Arc, Weak};
use std::time::Instant;

use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtcp::payload_feedbacks::receiver_estimated_maximum_bitrate::ReceiverEstimatedMaximumBitrate;
use rtc::rtcp::transport_feedbacks::transport_layer_nack::TransportLayerNack;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};

use crate::track::{DownTrack, PublishedTrack};

impl DownTrack {
    /// Writes `packet` (already rewritten for this subscriber) and keeps it for
    /// retransmission; `upstream_seq` is the publisher's sequence number for it.
    pub async fn write(&self, packet: rtc::rtp::Packet, upstream_seq: u16) {
        self.feedback.on_sent(&packet, upstream_seq);
        // A subscriber whose transport is not up yet just misses packets.
        let _ = self.local.write_rtp(packet).await;
    }
}

/// Reads the feedback about `down` until it is unbound (unsubscribed, or its peer connection
/// closed), and acts on it.
pub async fn serve(track: Weak<PublishedTrack>, down: Arc<DownTrack>) {
    while let Some(event) = down.local.poll().await {
        let TrackLocalEvent::OnRtcpPacket(packets) = event else { continue };
        let Some(track) = track.upgrade() else { break };
        for packet in packets {
            on_packet(&track, &down, packet.as_ref()).await;
        }
    }
}

async fn on_packet(track: &PublishedTrack, down: &DownTrack, packet: &dyn rtc::rtcp::Packet) {
    let media_ssrc = packet.destination_ssrc().first().copied();
    if media_ssrc != Some(down.ssrc) {
        tracing::debug!(track = %track.sid, ?media_ssrc, "feedback for an SSRC this subscriber is not sent: ignored");
        return;
    }
    if !down.feedback.is_video() {
        tracing::debug!(track = %track.sid, "video feedback about an audio track: ignored");
        return;
    }
    let any = packet.as_any();
    if any.is::<PictureLossIndication>() || any.is::<FullIntraRequest>() {
        crate::feedback::count_keyframe_request_received();
        track.request_keyframe(&down.subscriber_sid).await;
    } else if let Some(nack) = any.downcast_ref::<TransportLayerNack>() {
        let seqs = nack.nacks.iter().flat_map(|pair| pair.packet_list());
        let Some(reply) = down.feedback.on_nack(seqs) else { return };
        for packet in reply.resend {
            let _ = down.local.write_rtp(packet).await;
        }
        if !reply.relay.is_empty() {
            track.relay_nack(&down.subscriber_sid, &reply.relay).await;
        }
    } else if let Some(remb) = any.downcast_ref::<ReceiverEstimatedMaximumBitrate>() {
        let now = Instant::now();
        down.feedback.on_remb(now, remb.bitrate.max(0.0) as u64);
        // Only a single-layer track's publisher is asked to slow down, and only for
        // subscribers that cannot take what they get: an estimate merely tracking a
        // subscriber's incoming rate would hold the publisher at that rate for good (the
        // estimate never rises far above what arrives), and a simulcast subscriber adapts
        // by its layer, not by starving the others.
        if track.is_simulcast() {
            return;
        }
        if let Some(min) = track.downtracks().iter().filter_map(|d| d.feedback.congested_remb(now)).min() {
            track.feedback.send_remb(min).await;
        }
    }
}
