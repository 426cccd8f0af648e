//! Receiver feedback handed to the application (an SFU relays it to the publisher).
//!
//! The `webrtc` stack ends inbound RTCP at the end of its interceptor chain: only packets an
//! interceptor marks with [`Attribute::DeliverToApplication`] reach the application, as
//! `TrackLocalEvent::OnRtcpPacket` on the sent track the packet is about (or
//! `TrackRemoteEvent::OnRtcpPacket` on a received one). [`FeedbackInterceptor`] marks the
//! feedback a forwarding server acts on: keyframe requests (PLI, FIR), generic NACKs and
//! receiver bandwidth estimates (REMB). Receiver reports, transport-wide feedback and
//! everything else stay with the chain.
//!
//! A publishing client keeps the stack's NACK responder and wants only keyframe requests
//! and estimates ([`FeedbackInterceptor::without_nacks`]); a forwarding server answers
//! NACKs itself and takes them too ([`FeedbackInterceptor::default`]).
//!
//! The stack routes a whole compound packet by the destination SSRC of its *first* packet
//! (usually a receiver report naming some other stream), so each marked packet leaves this
//! interceptor as its own message and is routed by its own media SSRC. A REMB naming several
//! streams is delivered once per stream it names.

use std::collections::VecDeque;
use std::time::Instant;

use rtc::interceptor::{Attribute, AttributedPacket, Interceptor, Packet, StreamInfo, TaggedPacket};
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtcp::payload_feedbacks::receiver_estimated_maximum_bitrate::ReceiverEstimatedMaximumBitrate;
use rtc::rtcp::transport_feedbacks::transport_layer_nack::TransportLayerNack;
use rtc::sansio::Protocol;

/// Marks PLI, FIR, NACK (unless built [`without_nacks`](Self::without_nacks)) and REMB for
/// the application, one packet per message.
pub struct FeedbackInterceptor {
    read_queue: VecDeque<TaggedPacket>,
    write_queue: VecDeque<TaggedPacket>,
    nacks: bool,
}

impl Default for FeedbackInterceptor {
    /// Marks NACKs too (the application answers them).
    fn default() -> Self {
        Self { read_queue: VecDeque::new(), write_queue: VecDeque::new(), nacks: true }
    }
}

impl FeedbackInterceptor {
    /// Marks PLI, FIR and REMB only: NACKs stay with the stack's responder.
    pub fn without_nacks() -> Self {
        Self { nacks: false, ..Self::default() }
    }
}

/// The feedback in `packets` the application acts on, one packet per entry (REMB split per
/// stream it names).
pub fn relayed(packets: &[Box<dyn rtc::rtcp::Packet>]) -> Vec<Box<dyn rtc::rtcp::Packet>> {
    relayed_with(packets, true)
}

/// [`relayed`], leaving NACKs out unless `nacks`.
fn relayed_with(packets: &[Box<dyn rtc::rtcp::Packet>], nacks: bool) -> Vec<Box<dyn rtc::rtcp::Packet>> {
    let mut out: Vec<Box<dyn rtc::rtcp::Packet>> = Vec::new();
    for packet in packets {
        let any = packet.as_any();
        if let Some(remb) = any.downcast_ref::<ReceiverEstimatedMaximumBitrate>() {
            for &ssrc in &remb.ssrcs {
                out.push(Box::new(ReceiverEstimatedMaximumBitrate { ssrcs: vec![ssrc], ..remb.clone() }));
            }
        } else if any.is::<PictureLossIndication>()
            || any.is::<FullIntraRequest>()
            || (nacks && any.is::<TransportLayerNack>())
        {
            out.push(packet.clone());
        }
    }
    out
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for FeedbackInterceptor {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        let Packet::Rtcp(packets) = &msg.message.packet else {
            self.read_queue.push_back(msg);
            return Ok(());
        };
        for packet in relayed_with(packets, self.nacks) {
            let message = AttributedPacket::new(Packet::Rtcp(vec![packet])).with(Attribute::DeliverToApplication);
            self.read_queue.push_back(TaggedPacket { now: msg.now, transport: msg.transport, message });
        }
        // The original goes on unmarked: the chain's terminus ends it (after every interceptor
        // that reads RTCP has seen it).
        self.read_queue.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<Self::Rout> {
        self.read_queue.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.write_queue.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<Self::Wout> {
        self.write_queue.pop_front()
    }
}

impl Interceptor for FeedbackInterceptor {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc::rtcp::payload_feedbacks::full_intra_request::FirEntry;
    use rtc::rtcp::receiver_report::ReceiverReport;
    use rtc::rtcp::transport_feedbacks::transport_layer_nack::NackPair;

    fn tagged(packets: Vec<Box<dyn rtc::rtcp::Packet>>) -> TaggedPacket {
        TaggedPacket {
            now: Instant::now(),
            transport: Default::default(),
            message: AttributedPacket::new(Packet::Rtcp(packets)),
        }
    }

    #[test]
    fn splits_a_compound_and_marks_only_feedback() {
        let mut chain = FeedbackInterceptor::default();
        let compound: Vec<Box<dyn rtc::rtcp::Packet>> = vec![
            Box::new(ReceiverReport { ssrc: 1, reports: vec![], profile_extensions: Default::default() }),
            Box::new(PictureLossIndication { sender_ssrc: 1, media_ssrc: 10 }),
            Box::new(TransportLayerNack {
                sender_ssrc: 1,
                media_ssrc: 20,
                nacks: vec![NackPair { packet_id: 5, lost_packets: 0 }],
            }),
            Box::new(ReceiverEstimatedMaximumBitrate { sender_ssrc: 1, bitrate: 1e6, ssrcs: vec![10, 20] }),
        ];
        chain.handle_read(tagged(compound)).unwrap();
        let mut marked = Vec::new();
        let mut unmarked = 0;
        while let Some(msg) = chain.poll_read() {
            let Packet::Rtcp(packets) = &msg.message.packet else { panic!("not RTCP") };
            if msg.message.has(&Attribute::DeliverToApplication) {
                assert_eq!(packets.len(), 1, "one packet per delivered message");
                marked.push(packets[0].destination_ssrc());
            } else {
                unmarked += 1;
            }
        }
        assert_eq!(marked, vec![vec![10], vec![20], vec![10], vec![20]]);
        assert_eq!(unmarked, 1, "the original compound goes on to the terminus");
    }

    #[test]
    fn without_nacks_leaves_nacks_to_the_stack() {
        let mut chain = FeedbackInterceptor::without_nacks();
        let compound: Vec<Box<dyn rtc::rtcp::Packet>> = vec![
            Box::new(TransportLayerNack {
                sender_ssrc: 1,
                media_ssrc: 20,
                nacks: vec![NackPair { packet_id: 5, lost_packets: 0 }],
            }),
            Box::new(FullIntraRequest {
                sender_ssrc: 1,
                media_ssrc: 0,
                fir: vec![FirEntry { ssrc: 30, sequence_number: 1 }],
            }),
        ];
        chain.handle_read(tagged(compound)).unwrap();
        let mut marked = Vec::new();
        while let Some(msg) = chain.poll_read() {
            let Packet::Rtcp(packets) = &msg.message.packet else { panic!("not RTCP") };
            if msg.message.has(&Attribute::DeliverToApplication) {
                marked.push(packets[0].destination_ssrc());
            }
        }
        assert_eq!(marked, vec![vec![30]], "only the FIR is delivered");
    }

    #[test]
    fn reports_alone_are_not_delivered() {
        let mut chain = FeedbackInterceptor::default();
        let rr = ReceiverReport { ssrc: 1, reports: vec![], profile_extensions: Default::default() };
        chain.handle_read(tagged(vec![Box::new(rr)])).unwrap();
        let msg = chain.poll_read().unwrap();
        assert!(!msg.message.has(&Attribute::DeliverToApplication));
        assert!(chain.poll_read().is_none());
    }
}
