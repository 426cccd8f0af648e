//! Receiver feedback from subscribers, acted on or passed on to publishers.
//!
//! The subscriber peer connections are built with `PcOptions::rtcp_feedback`, so the stack
//! hands each down track the PLI, FIR, NACK and REMB packets about it (one task per down track,
//! `feedback_task.rs`) and leaves NACKs to this module:
//!
//! - **Keyframe requests.** PLI and FIR become a PLI to the publisher (FIR → PLI, as
//!   livekit-server does), through `PublishedTrack::request_keyframe`: for the simulcast
//!   layer that subscriber receives, at most one per 500 ms per layer (livekit-server's
//!   throttle for its lowest layer).
//! - **NACK.** Each video down track keeps the packets it sent ([`SendHistory`]: the last
//!   [`HISTORY_SIZE`] packets, none older than [`HISTORY_AGE`]). A NACKed packet still there is
//!   sent again, at most [`MAX_RESENDS`] times and not twice within [`RESEND_GAP`]. A packet the
//!   server never sent (lost on the way from the publisher) is asked of the publisher, under its
//!   own sequence number, on the layer the subscriber receives; anything else is dropped.
//! - **Bandwidth.** The latest REMB of each subscriber is kept on its down track; the publisher
//!   gets the minimum across the track's subscribers as a REMB, at most once per
//!   [`REMB_EVERY`].
//!
//! Malformed RTCP never gets here (the stack's parser drops it); feedback naming an SSRC the
//! down track does not send is ignored with a debug log.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rtc::rtcp::payload_feedbacks::receiver_estimated_maximum_bitrate::ReceiverEstimatedMaximumBitrate;
use rtc::rtcp::transport_feedbacks::transport_layer_nack::{nack_pairs_from_sequence_numbers, TransportLayerNack};
use webrtc::media_stream::track_remote::TrackRemote;

/// Packets a down track keeps for retransmission (livekit-server buffers 500 video packets).
pub const HISTORY_SIZE: usize = 512;
/// Older packets are not retransmitted: the receiver has given up on them.
pub const HISTORY_AGE: Duration = Duration::from_secs(1);
/// How often one packet is retransmitted at most.
pub const MAX_RESENDS: u8 = 3;
/// A packet is not retransmitted again sooner (a repeated NACK crossed the retransmission).
pub const RESEND_GAP: Duration = Duration::from_millis(100);
/// At most one REMB to a publisher per track this often.
pub const REMB_EVERY: Duration = Duration::from_secs(1);
/// A subscriber's REMB older than this no longer counts.
const REMB_FRESH: Duration = Duration::from_secs(5);
/// Bytes of an RTP header without CSRCs or extensions (the server strips extensions).
const RTP_HEADER_BYTES: usize = 12;
/// The send rate is measured over windows this long.
const RATE_WINDOW: Duration = Duration::from_secs(1);
/// An estimate under this share (in percent) of the rate a subscriber is sent means it is
/// congested.
const CONGESTED_PERCENT: u64 = 90;

/// Process-wide video and feedback counters (`/lkrtc/stats`).
static VIDEO_PACKETS_IN: AtomicU64 = AtomicU64::new(0);
static VIDEO_PACKETS_OUT: AtomicU64 = AtomicU64::new(0);
static KEYFRAME_REQUESTS_RECEIVED: AtomicU64 = AtomicU64::new(0);
static KEYFRAME_REQUESTS_SENT: AtomicU64 = AtomicU64::new(0);
static NACKS_RECEIVED: AtomicU64 = AtomicU64::new(0);
static RETRANSMISSIONS: AtomicU64 = AtomicU64::new(0);
static NACKS_RELAYED: AtomicU64 = AtomicU64::new(0);
static REMBS_RECEIVED: AtomicU64 = AtomicU64::new(0);
static REMBS_SENT: AtomicU64 = AtomicU64::new(0);
static FORWARD_MICROS: AtomicU64 = AtomicU64::new(0);
static FORWARD_MAX_MICROS: AtomicU64 = AtomicU64::new(0);

/// Video counters since the process started.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct VideoStats {
    /// Video RTP packets received from publishers.
    pub packets_in: u64,
    /// Video RTP packets written to subscribers (retransmissions not included).
    pub packets_out: u64,
    /// Keyframe requests (PLI, FIR) received from subscribers.
    pub keyframe_requests_received: u64,
    /// Keyframe requests (PLI) sent to publishers.
    pub keyframe_requests_sent: u64,
    /// NACK packets received from subscribers.
    pub nacks_received: u64,
    /// Packets sent again to subscribers, answering their NACKs.
    pub retransmissions: u64,
    /// Sequence numbers asked of publishers for subscribers (lost before the server).
    pub nacks_relayed: u64,
    /// REMB packets received from subscribers.
    pub rembs_received: u64,
    /// REMB packets sent to publishers.
    pub rembs_sent: u64,
    /// Time spent forwarding video packets, in microseconds: from a packet's arrival at
    /// its track (decrypted) to its last copy handed to a subscriber's transport. Divided by
    /// `packets_in`, the delay the server adds per packet.
    pub forward_micros: u64,
    /// The longest of those, in microseconds.
    pub forward_max_micros: u64,
}

/// The video counters now.
pub fn video_stats() -> VideoStats {
    VideoStats {
        packets_in: VIDEO_PACKETS_IN.load(Relaxed),
        packets_out: VIDEO_PACKETS_OUT.load(Relaxed),
        keyframe_requests_received: KEYFRAME_REQUESTS_RECEIVED.load(Relaxed),
        keyframe_requests_sent: KEYFRAME_REQUESTS_SENT.load(Relaxed),
        nacks_received: NACKS_RECEIVED.load(Relaxed),
        retransmissions: RETRANSMISSIONS.load(Relaxed),
        nacks_relayed: NACKS_RELAYED.load(Relaxed),
        rembs_received: REMBS_RECEIVED.load(Relaxed),
        rembs_sent: REMBS_SENT.load(Relaxed),
        forward_micros: FORWARD_MICROS.load(Relaxed),
        forward_max_micros: FORWARD_MAX_MICROS.load(Relaxed),
    }
}

/// Counts a keyframe request sent to a publisher.
pub fn count_keyframe_request_sent() {
    KEYFRAME_REQUESTS_SENT.fetch_add(1, Relaxed);
}

/// Counts the time one video packet took to forward.
pub fn count_forward_time(took: Duration) {
    let micros = took.as_micros().min(u64::MAX as u128) as u64;
    FORWARD_MICROS.fetch_add(micros, Relaxed);
    FORWARD_MAX_MICROS.fetch_max(micros, Relaxed);
}

/// Counts a video packet received from a publisher.
pub fn count_video_in() {
    VIDEO_PACKETS_IN.fetch_add(1, Relaxed);
}

/// One packet as sent to a subscriber.
struct Sent {
    /// Its sequence number on the subscriber leg.
    seq: u16,
    /// The publisher's sequence number for it.
    upstream_seq: u16,
    /// When it was sent (or, for a gap, first NACKed).
    at: Instant,
    /// The packet as written (`None`: a gap the server never had, asked of the publisher).
    packet: Option<rtc::rtp::Packet>,
    resends: u8,
    last_resend: Option<Instant>,
}

/// What a NACK asks for, sorted out by [`SendHistory::on_nack`].
#[derive(Debug, Default, PartialEq)]
pub struct NackReply {
    /// Packets to send again (as first sent).
    pub resend: Vec<rtc::rtp::Packet>,
    /// The publisher's sequence numbers of packets the server never had.
    pub relay: Vec<u16>,
    /// Sequence numbers not answered (unknown, too old, retransmitted enough or just now).
    pub ignored: usize,
}

/// The packets one down track sent lately, by sequence number (sans-IO: time is passed in).
pub struct SendHistory {
    slots: Vec<Option<Sent>>,
    newest: Option<u16>,
}

impl Default for SendHistory {
    fn default() -> Self {
        Self { slots: (0..HISTORY_SIZE).map(|_| None).collect(), newest: None }
    }
}

/// Whether `a` comes after `b` in sequence-number order (RFC 3550 wraparound).
fn newer(a: u16, b: u16) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000
}

impl SendHistory {
    /// Records `packet` as sent at `now`; `upstream_seq` is the publisher's number for it.
    pub fn push(&mut self, now: Instant, packet: rtc::rtp::Packet, upstream_seq: u16) {
        let seq = packet.header.sequence_number;
        self.slots[seq as usize % HISTORY_SIZE] =
            Some(Sent { seq, upstream_seq, at: now, packet: Some(packet), resends: 0, last_resend: None });
        if self.newest.is_none_or(|n| newer(seq, n)) {
            self.newest = Some(seq);
        }
    }

    /// Sorts out a NACK for `seqs` (subscriber-leg sequence numbers) received at `now`.
    pub fn on_nack(&mut self, now: Instant, seqs: impl IntoIterator<Item = u16>) -> NackReply {
        let mut reply = NackReply::default();
        for seq in seqs {
            let Some(newest) = self.newest else {
                reply.ignored += 1;
                continue;
            };
            let idx = seq as usize % HISTORY_SIZE;
            let behind = newest.wrapping_sub(seq) as usize;
            let same = self.slots[idx].as_ref().filter(|s| s.seq == seq);
            if same.is_some_and(|s| now.duration_since(s.at) > HISTORY_AGE) {
                reply.ignored += 1;
                continue;
            }
            if same.is_none() {
                // Never sent, within the window: lost before the server. Ask the publisher
                // under its number, if a later packet tells the offset.
                match (behind > 0 && behind < HISTORY_SIZE).then(|| self.upstream_of(seq)).flatten() {
                    Some(upstream_seq) => {
                        let gap = Sent { seq, upstream_seq, at: now, packet: None, resends: 0, last_resend: None };
                        self.slots[idx] = Some(gap);
                    }
                    None => {
                        reply.ignored += 1;
                        continue;
                    }
                }
            }
            let Some(sent) = self.slots[idx].as_mut() else { continue };
            let recent = sent.last_resend.is_some_and(|t| now.duration_since(t) < RESEND_GAP);
            if sent.resends >= MAX_RESENDS || recent {
                reply.ignored += 1;
                continue;
            }
            sent.resends += 1;
            sent.last_resend = Some(now);
            match &sent.packet {
                Some(packet) => reply.resend.push(packet.clone()),
                None => reply.relay.push(sent.upstream_seq),
            }
        }
        reply
    }

    /// The publisher's number for `seq`, from the next packets sent after it.
    fn upstream_of(&self, seq: u16) -> Option<u16> {
        (1..=16u16).find_map(|d| {
            let next = seq.wrapping_add(d);
            let sent = self.slots[next as usize % HISTORY_SIZE].as_ref()?;
            (sent.seq == next && sent.packet.is_some()).then(|| sent.upstream_seq.wrapping_sub(d))
        })
    }
}

/// At most one request per interval (sans-IO).
#[derive(Default)]
pub struct Throttle {
    last: Option<Instant>,
}

impl Throttle {
    /// Whether a request may go at `now` (and if so, records it).
    pub fn allow(&mut self, now: Instant, every: Duration) -> bool {
        if self.last.is_some_and(|t| now.duration_since(t) < every) {
            return false;
        }
        self.last = Some(now);
        true
    }
}

/// The bit rate sent to one subscriber, over whole one-second windows.
#[derive(Default)]
pub struct SendRate {
    window_start: Option<Instant>,
    bytes: u64,
    /// Bits per second of the last complete window.
    last: Option<u64>,
}

impl SendRate {
    /// Counts `bytes` sent at `now`.
    pub fn record(&mut self, now: Instant, bytes: usize) {
        let start = *self.window_start.get_or_insert(now);
        let elapsed = now.duration_since(start);
        if elapsed >= RATE_WINDOW {
            // A window with a gap in it (nothing sent for a while) counts as its average.
            self.last = Some(self.bytes * 8 * 1_000 / elapsed.as_millis().max(1) as u64);
            self.window_start = Some(now);
            self.bytes = 0;
        }
        self.bytes += bytes as u64;
    }

    /// Bits per second sent in the last complete window, if one is complete and recent.
    pub fn bps(&self, now: Instant) -> Option<u64> {
        let start = self.window_start?;
        (now.duration_since(start) < 2 * RATE_WINDOW).then_some(self.last).flatten()
    }
}

/// Whether a subscriber's estimate `remb` says it cannot take what it is sent (`sent`):
/// libwebrtc's receive-side estimate stays at or above the incoming rate until it detects
/// overuse, then drops below it.
pub fn congested(remb: u64, sent: Option<u64>) -> bool {
    sent.is_some_and(|sent| remb * 100 < sent * CONGESTED_PERCENT)
}

/// Feedback state of one down track.
#[derive(Default)]
pub struct DownFeedback {
    /// Packets sent (video only).
    history: Option<Mutex<SendHistory>>,
    /// What this subscriber is sent.
    rate: Mutex<SendRate>,
    /// The subscriber's latest bandwidth estimate (bits/s), when it came, and whether it
    /// was below what the subscriber was sent then.
    remb: Mutex<Option<(Instant, u64, bool)>>,
}

impl DownFeedback {
    /// State for a down track; `video` keeps packets for retransmission.
    pub fn new(video: bool) -> Self {
        Self { history: video.then(Mutex::default), ..Default::default() }
    }

    /// Whether this down track carries video (keeps packets, takes video feedback).
    pub fn is_video(&self) -> bool {
        self.history.is_some()
    }

    /// Records `packet` as sent (video: for retransmission and the send rate);
    /// `upstream_seq` is the publisher's sequence number for it.
    pub fn on_sent(&self, packet: &rtc::rtp::Packet, upstream_seq: u16) {
        if let Some(history) = &self.history {
            let now = Instant::now();
            self.rate.lock().record(now, RTP_HEADER_BYTES + packet.payload.len());
            history.lock().push(now, packet.clone(), upstream_seq);
            VIDEO_PACKETS_OUT.fetch_add(1, Relaxed);
        }
    }

    /// A NACK for `seqs`: what to resend and what to ask of the publisher (video only).
    pub fn on_nack(&self, seqs: impl IntoIterator<Item = u16>) -> Option<NackReply> {
        NACKS_RECEIVED.fetch_add(1, Relaxed);
        let reply = self.history.as_ref()?.lock().on_nack(Instant::now(), seqs);
        RETRANSMISSIONS.fetch_add(reply.resend.len() as u64, Relaxed);
        Some(reply)
    }

    /// Keeps the subscriber's estimate `bps`, noting whether it is below what it is sent.
    pub fn on_remb(&self, now: Instant, bps: u64) {
        REMBS_RECEIVED.fetch_add(1, Relaxed);
        let sent = self.rate.lock().bps(now);
        *self.remb.lock() = Some((now, bps, congested(bps, sent)));
    }

    /// The subscriber's estimate if it is recent and says it is congested.
    pub fn congested_remb(&self, now: Instant) -> Option<u64> {
        self.remb
            .lock()
            .filter(|(at, _, congested)| *congested && now.duration_since(*at) < REMB_FRESH)
            .map(|(_, bps, _)| bps)
    }
}

/// Counts a keyframe request (PLI, FIR) received from a subscriber.
pub fn count_keyframe_request_received() {
    KEYFRAME_REQUESTS_RECEIVED.fetch_add(1, Relaxed);
}

/// Feedback state of one published track: the publisher's stream, throttles.
#[derive(Default)]
pub struct TrackFeedback {
    remote: Mutex<Option<Arc<dyn TrackRemote>>>,
    remb: Mutex<Throttle>,
}

impl TrackFeedback {
    /// The publisher's stream feedback goes to (`None` once forwarding ended).
    pub fn set_remote(&self, remote: Option<Arc<dyn TrackRemote>>) {
        *self.remote.lock() = remote;
    }

    /// The publisher's stream, while forwarding runs.
    pub fn remote(&self) -> Option<Arc<dyn TrackRemote>> {
        self.remote.lock().clone()
    }

    /// Asks the publisher to resend `upstream` (its sequence numbers) on `media_ssrc`.
    pub async fn relay_nack(&self, media_ssrc: u32, upstream: &[u16]) {
        let Some(remote) = self.remote() else { return };
        let nack = TransportLayerNack { sender_ssrc: 0, media_ssrc, nacks: nack_pairs_from_sequence_numbers(upstream) };
        match remote.write_rtcp(vec![Box::new(nack)]).await {
            Ok(()) => {
                NACKS_RELAYED.fetch_add(upstream.len() as u64, Relaxed);
            }
            Err(e) => tracing::debug!(error = %e, "NACK to the publisher failed"),
        }
    }

    /// Sends the publisher a REMB of `bitrate`, at most once per [`REMB_EVERY`].
    pub async fn send_remb(&self, bitrate: u64) {
        if !self.remb.lock().allow(Instant::now(), REMB_EVERY) {
            return;
        }
        let Some(remote) = self.remote.lock().clone() else { return };
        let ssrcs = remote.ssrcs().await;
        let remb = ReceiverEstimatedMaximumBitrate { sender_ssrc: 0, bitrate: bitrate as f32, ssrcs };
        match remote.write_rtcp(vec![Box::new(remb)]).await {
            Ok(()) => {
                REMBS_SENT.fetch_add(1, Relaxed);
            }
            Err(e) => tracing::debug!(error = %e, "REMB to the publisher failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(seq: u16) -> rtc::rtp::Packet {
        let mut p = rtc::rtp::Packet::default();
        p.header.sequence_number = seq;
        p.payload = bytes::Bytes::from(vec![seq as u8]);
        p
    }

    fn seqs(reply: &NackReply) -> Vec<u16> {
        reply.resend.iter().map(|p| p.header.sequence_number).collect()
    }

    #[test]
    fn resends_what_it_sent_across_wraparound() {
        let t0 = Instant::now();
        let mut h = SendHistory::default();
        for seq in 65_530..=65_535u16 {
            h.push(t0, packet(seq), seq);
        }
        for seq in 0..5u16 {
            h.push(t0, packet(seq), seq);
        }
        let reply = h.on_nack(t0, [65_534, 65_535, 0, 1]);
        assert_eq!(seqs(&reply), vec![65_534, 65_535, 0, 1]);
        assert_eq!(reply.ignored, 0);
    }

    #[test]
    fn evicts_by_count_and_by_age() {
        let t0 = Instant::now();
        let mut h = SendHistory::default();
        for seq in 0..(HISTORY_SIZE as u16 + 10) {
            h.push(t0, packet(seq), seq);
        }
        // Overwritten by the packets HISTORY_SIZE later.
        let reply = h.on_nack(t0, [5]);
        assert!(reply.resend.is_empty() && reply.relay.is_empty());
        assert_eq!(reply.ignored, 1);
        assert_eq!(seqs(&h.on_nack(t0, [HISTORY_SIZE as u16 + 5])), vec![HISTORY_SIZE as u16 + 5]);
        // Too old.
        let later = t0 + HISTORY_AGE + Duration::from_millis(1);
        assert_eq!(h.on_nack(later, [HISTORY_SIZE as u16 + 6]).ignored, 1);
    }

    #[test]
    fn duplicate_nacks_are_bounded() {
        let t0 = Instant::now();
        let mut h = SendHistory::default();
        for seq in 100..110u16 {
            h.push(t0, packet(seq), seq);
        }
        // Twice in one NACK, and again at once: one retransmission.
        let reply = h.on_nack(t0, [105, 105]);
        assert_eq!(seqs(&reply), vec![105]);
        assert_eq!(reply.ignored, 1);
        assert_eq!(h.on_nack(t0 + Duration::from_millis(10), [105]).ignored, 1);
        // Spaced out: up to MAX_RESENDS in all.
        let mut resent = 1;
        for i in 1..10u64 {
            resent += h.on_nack(t0 + RESEND_GAP * i as u32, [105]).resend.len();
        }
        assert_eq!(resent, MAX_RESENDS as usize);
    }

    #[test]
    fn a_packet_never_sent_is_asked_upstream_under_the_publisher_number() {
        let t0 = Instant::now();
        let mut h = SendHistory::default();
        // The subscriber leg is offset by 1000 from the publisher's numbers; 7 never came.
        for seq in (1_000..1_010u16).filter(|s| *s != 1_007) {
            h.push(t0, packet(seq), seq - 1_000);
        }
        let reply = h.on_nack(t0, [1_007]);
        assert_eq!(reply.relay, vec![7]);
        assert!(reply.resend.is_empty());
        // Asked again at once: not relayed twice.
        assert_eq!(h.on_nack(t0, [1_007]).relay, Vec::<u16>::new());
        // The retransmission from the publisher arrives and is forwarded: now it is resent.
        h.push(t0, packet(1_007), 7);
        assert_eq!(seqs(&h.on_nack(t0, [1_007])), vec![1_007]);
    }

    #[test]
    fn unknown_sequence_numbers_are_dropped() {
        let t0 = Instant::now();
        let mut h = SendHistory::default();
        assert_eq!(h.on_nack(t0, [1]).ignored, 1, "nothing sent yet");
        for seq in 10..20u16 {
            h.push(t0, packet(seq), seq);
        }
        // Ahead of anything sent, or far behind: no mapping.
        let reply = h.on_nack(t0, [25, 40_000]);
        assert_eq!(reply, NackReply { ignored: 2, ..Default::default() });
    }

    #[test]
    fn send_rate_counts_whole_windows() {
        let t0 = Instant::now();
        let mut r = SendRate::default();
        assert_eq!(r.bps(t0), None);
        for i in 0..100u64 {
            r.record(t0 + Duration::from_millis(i * 10), 1_250); // 1 Mbit/s
        }
        assert_eq!(r.bps(t0 + Duration::from_millis(999)), None, "no complete window yet");
        r.record(t0 + Duration::from_millis(1_000), 1_250);
        assert_eq!(r.bps(t0 + Duration::from_millis(1_000)), Some(1_000_000));
        assert_eq!(r.bps(t0 + Duration::from_secs(5)), None, "stale after a silence");
    }

    #[test]
    fn only_an_estimate_below_the_sent_rate_is_congestion() {
        assert!(!congested(1_500_000, Some(1_000_000)), "tracking the incoming rate");
        assert!(!congested(950_000, Some(1_000_000)), "within noise");
        assert!(congested(800_000, Some(1_000_000)));
        assert!(!congested(100_000, None), "nothing measured yet");
    }

    #[test]
    fn throttle_spaces_requests() {
        let t0 = Instant::now();
        let mut t = Throttle::default();
        assert!(t.allow(t0, Duration::from_millis(500)));
        assert!(!t.allow(t0 + Duration::from_millis(100), Duration::from_millis(500)));
        assert!(t.allow(t0 + Duration::from_millis(500), Duration::from_millis(500)));
    }
}
