//! Reconnection decisions: when the connection is lost, resume first (same participant,
//! ICE restart, unacknowledged reliable data sent again), then rejoin from scratch; retry
//! with backoff and jitter, bounded in time; hold reliable data sent meanwhile.
//!
//! The driver carries out each attempt (`Output::Reconnect`) and reports how it went
//! (`Input::Reconnected` / `Input::ReconnectFailed`); the small helpers here
//! ([`Backoff`], [`SentBuffer`], [`Dedupe`]) are plain values, unit-tested with a seeded RNG.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use livekit_protocol as proto;
use proto::signal_request::Message as Req;
use rand::RngCore;

use super::{Action, Output, Sent, Session, SessionState, Stop};
use crate::error::{EngineError, SendError};
use crate::events::RoomEvent;
use crate::types::{ConnectionState, DataKind};

/// Delay before each attempt (the official clients' schedule): the first at once.
const DELAYS: [Duration; 10] = [
    Duration::from_millis(0),
    Duration::from_millis(300),
    Duration::from_millis(1200),
    Duration::from_millis(2700),
    Duration::from_millis(4800),
    Duration::from_millis(7000),
    Duration::from_millis(7000),
    Duration::from_millis(7000),
    Duration::from_millis(7000),
    Duration::from_millis(7000),
];
/// Largest random addition to a delay (attempts after the second).
const MAX_JITTER: Duration = Duration::from_millis(1000);
/// No attempt starts later than this after the connection was lost (the schedule above
/// would run ~45 s; past 20 s a server is not coming back soon, and the app hears so).
const MAX_RECONNECT_TIME: Duration = Duration::from_secs(20);
/// How long one attempt may take once its signal connection is up (ICE restart or the new
/// peer connections connecting).
pub(super) const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);
/// Reliable packets kept for a resume, in bytes (oldest dropped first).
const SENT_BUFFER_BYTES: usize = 16 << 20;
/// Reliable packets held while reconnecting.
pub(super) const MAX_HELD_PACKETS: usize = 16_384;
/// ... and their bytes.
const MAX_HELD_BYTES: usize = 32 << 20;

/// One reconnect attempt for the driver.
pub(crate) struct Attempt {
    /// Rejoin from scratch (new participant, new peer connections) instead of resuming.
    pub full: bool,
    /// Wait this long before starting.
    pub delay: Duration,
    /// Why (sent to the server as `reconnect_reason` on a resume).
    pub reason: proto::ReconnectReason,
}

/// What an attempt brought back.
pub(crate) enum Rejoined {
    /// The server resumed our participant.
    Resumed(proto::ReconnectResponse),
    /// A fresh join on new peer connections (with the ICE plan for them).
    Joined(Box<proto::JoinResponse>, crate::ice::IcePlan),
}

/// The retry schedule: delays with jitter, bounded in count and in total time.
pub(crate) struct Backoff {
    started: Instant,
    attempt: usize,
}

impl Backoff {
    pub(crate) fn new(started: Instant) -> Self {
        Backoff { started, attempt: 0 }
    }

    /// The delay before the next attempt, or `None` once retries are exhausted.
    pub(crate) fn next(&mut self, now: Instant, rng: &mut dyn RngCore) -> Option<Duration> {
        let base = *DELAYS.get(self.attempt)?;
        let jitter = if self.attempt > 1 {
            Duration::from_millis(rng.next_u64() % (MAX_JITTER.as_millis() as u64 + 1))
        } else {
            Duration::ZERO
        };
        let delay = base + jitter;
        if now.saturating_duration_since(self.started) + delay > MAX_RECONNECT_TIME {
            return None;
        }
        self.attempt += 1;
        Some(delay)
    }

    /// Attempts made so far.
    pub(crate) fn attempts(&self) -> usize {
        self.attempt
    }
}

/// Reliable packets handed to the data channel, kept until the server acknowledges them
/// (`ReconnectResponse.last_message_seq`), so a resume can send the rest again.
#[derive(Default)]
pub(crate) struct SentBuffer {
    packets: VecDeque<(u32, Vec<u8>)>,
    bytes: usize,
}

impl SentBuffer {
    pub(crate) fn push(&mut self, sequence: u32, packet: Vec<u8>) {
        self.bytes += packet.len();
        self.packets.push_back((sequence, packet));
        while self.bytes > SENT_BUFFER_BYTES {
            match self.packets.pop_front() {
                Some((_, p)) => self.bytes -= p.len(),
                None => break,
            }
        }
    }

    /// Drops what the server received (sequence ≤ `acked`); returns the rest, in order.
    pub(crate) fn unacknowledged(&mut self, acked: u32) -> Vec<Vec<u8>> {
        self.bytes = 0;
        std::mem::take(&mut self.packets).into_iter().filter(|(seq, _)| *seq > acked).map(|(_, p)| p).collect()
    }

    pub(crate) fn clear(&mut self) {
        self.packets.clear();
        self.bytes = 0;
    }
}

/// The receive side of reliable data: a packet whose sequence number its sender already
/// used is a resend (after a resume) and is dropped.
#[derive(Default)]
pub(crate) struct Dedupe {
    last: HashMap<String, u32>,
}

impl Dedupe {
    /// Whether a reliable packet from participant `sid` with `sequence` is new.
    pub(crate) fn fresh(&mut self, sid: &str, sequence: u32) -> bool {
        if sequence == 0 || sid.is_empty() {
            return true; // not numbered
        }
        let last = self.last.entry(sid.to_string()).or_insert(0);
        if sequence <= *last {
            return false;
        }
        *last = sequence;
        true
    }

    pub(crate) fn forget(&mut self, sid: &str) {
        self.last.remove(sid);
    }
}

/// Data sent while reconnecting, delivered once the connection is back.
#[derive(Default)]
pub(crate) struct Held {
    packets: VecDeque<(u32, Vec<u8>, Sent)>,
    bytes: usize,
}

impl Session {
    /// Whether a reconnect is under way.
    pub(super) fn reconnecting(&self) -> bool {
        matches!(self.state, SessionState::Resuming | SessionState::Reconnecting)
    }

    /// The connection was lost: start reconnecting (or, before the first connect
    /// completed, fail it as before). `full` skips the resume.
    pub(super) fn connection_lost(&mut self, now: Instant, full: bool, reason: proto::DisconnectReason) {
        match self.state {
            SessionState::Joining => {
                self.fail_ready(EngineError::rtc(format!("the connection was lost while joining ({reason:?})")));
                self.stop(Stop::Remote(reason));
            }
            SessionState::Connected => {
                tracing::info!(?reason, full, "connection lost; reconnecting");
                let full = full || std::mem::take(&mut self.force_full);
                self.lost_reason = reason;
                self.state = if full { SessionState::Reconnecting } else { SessionState::Resuming };
                *self.shared.state.lock() = ConnectionState::Reconnecting;
                self.emit(RoomEvent::ConnectionStateChanged { state: ConnectionState::Reconnecting });
                self.emit(RoomEvent::Reconnecting);
                self.backoff = Backoff::new(now);
                self.next_attempt(now, full);
            }
            SessionState::Resuming | SessionState::Reconnecting => {
                // The attempt's own connection failed after it was set up: try again.
                if !self.attempting {
                    self.attempt_failed(now, true);
                }
            }
            SessionState::Disconnected => {}
        }
    }

    fn next_attempt(&mut self, now: Instant, full: bool) {
        let delay = self.backoff.next(now, &mut *self.rng);
        self.schedule(full, delay);
    }

    /// Asks the driver for an attempt after `delay`, or gives up when there is none.
    fn schedule(&mut self, full: bool, delay: Option<Duration>) {
        let Some(delay) = delay else {
            tracing::warn!(attempts = self.backoff.attempts(), "reconnecting failed; giving up");
            self.stop(Stop::Remote(self.lost_reason));
            return;
        };
        if full {
            self.state = SessionState::Reconnecting;
        }
        self.attempting = true;
        self.attempt_deadline = None;
        let reason = match self.lost_reason {
            proto::DisconnectReason::SignalClose => proto::ReconnectReason::RrSignalDisconnected,
            _ => proto::ReconnectReason::RrUnknown,
        };
        self.out.push_back(Output::Reconnect(Attempt { full, delay, reason }));
    }

    /// The attempt did not work. The next one rejoins from scratch if `full`, or if this
    /// one already did; otherwise it tries to resume again.
    fn attempt_failed(&mut self, now: Instant, full: bool) {
        self.attempting = false;
        self.attempt_deadline = None;
        let full = full || self.state == SessionState::Reconnecting;
        self.next_attempt(now, full);
    }

    /// The driver could not set up the attempt (`refused`: the server declined a resume).
    pub(super) fn on_reconnect_failed(&mut self, now: Instant, error: EngineError, refused: bool) {
        if !self.reconnecting() {
            return;
        }
        tracing::info!(%error, refused, "reconnect attempt failed");
        if refused {
            // The server is there but cannot resume us: rejoin at once (this happens once
            // per reconnect, since every later attempt is a rejoin).
            self.attempting = false;
            self.schedule(true, Some(Duration::ZERO));
            return;
        }
        // A server that could not be reached may still hold our session.
        self.attempt_failed(now, false);
    }

    /// The driver set up the attempt's connections.
    pub(super) fn on_rejoined(&mut self, now: Instant, rejoined: Rejoined) {
        if !self.reconnecting() {
            return;
        }
        self.attempting = false;
        self.attempt_deadline = Some(now + ATTEMPT_TIMEOUT);
        self.keepalive.last_recv = now;
        self.keepalive.next_ping = now;
        match rejoined {
            Rejoined::Resumed(r) => {
                self.resend = self.sent.unacknowledged(r.last_message_seq);
                // An ICE restart of the publisher; the server restarts the subscriber.
                self.publisher.reset();
                self.held_candidates.clear();
                if self.publisher.want_offer() {
                    self.restart_pending = true;
                    self.act(Action::CreateOffer { ice_restart: true });
                }
                self.send(Req::SyncState(self.sync_state()));
            }
            Rejoined::Joined(join, ice) => {
                self.state = SessionState::Reconnecting;
                self.config.ice = ice;
                self.config.ping_interval = Duration::from_secs(join.ping_interval.max(1) as u64);
                self.config.ping_timeout = Duration::from_secs(join.ping_timeout.max(2) as u64);
                self.keepalive.interval = self.config.ping_interval;
                self.keepalive.timeout = self.config.ping_timeout;
                self.sent.clear();
                self.resend.clear();
                self.publisher = lkrtc_transport::Negotiation::new(super::MAX_PENDING_CANDIDATES);
                self.subscriber = lkrtc_transport::Negotiation::new(super::MAX_PENDING_CANDIDATES);
                self.held_candidates.clear();
                self.pub_connected = false;
                self.sub_connected = false;
                self.restart_pending = false;
                self.unmatched_tracks.clear();
                self.apply_rejoin(now, *join);
                self.negotiate_publisher();
            }
        }
    }

    /// What the server should know we hold after a resume.
    fn sync_state(&self) -> proto::SyncState {
        let tracks: Vec<_> =
            self.shared.local.track_publications().iter().map(|p| (p.track().cid(), p.info())).collect();
        let subscribed: Vec<String> = self
            .shared
            .remotes
            .lock()
            .iter()
            .flat_map(|p| p.track_publications())
            .filter(|p| p.0.state.lock().desired)
            .map(|p| p.sid())
            .collect();
        proto::SyncState {
            subscription: Some(proto::UpdateSubscription {
                track_sids: subscribed,
                subscribe: !self.config.auto_subscribe,
                ..Default::default()
            }),
            publish_tracks: tracks
                .into_iter()
                .map(|(cid, track)| proto::TrackPublishedResponse { cid, track: Some(track) })
                .collect(),
            ..Default::default()
        }
    }

    /// Reconnected once the peer connections are up (and, on a resume, the publisher's
    /// ICE restart answered): data held or unacknowledged goes out, in order.
    pub(super) fn check_reconnected(&mut self) {
        if !self.reconnecting() || self.attempting || self.restart_pending {
            return;
        }
        if !(self.pub_connected && self.sub_connected) {
            return;
        }
        tracing::info!("reconnected");
        self.state = SessionState::Connected;
        self.attempt_deadline = None;
        *self.shared.state.lock() = ConnectionState::Connected;
        for bytes in std::mem::take(&mut self.resend) {
            self.out.push_back(Output::Data { kind: DataKind::Reliable, bytes, sent: Sent::Nobody });
        }
        let held = std::mem::take(&mut self.held);
        for (sequence, bytes, sent) in held.packets {
            self.sent.push(sequence, bytes.clone());
            self.out.push_back(Output::Data { kind: DataKind::Reliable, bytes, sent });
        }
        self.emit(RoomEvent::ConnectionStateChanged { state: ConnectionState::Connected });
        self.emit(RoomEvent::Reconnected);
    }

    /// The attempt's deadline passed before it completed.
    pub(super) fn check_attempt_deadline(&mut self, now: Instant) {
        if self.attempt_deadline.is_some_and(|d| now >= d) {
            tracing::info!("reconnect attempt timed out");
            self.attempt_failed(now, true);
        }
    }

    /// A reliable packet while reconnecting: held (bounded) for when the connection is back.
    pub(super) fn hold(
        &mut self,
        sequence: u32,
        bytes: Vec<u8>,
        sent: Sent,
    ) -> std::result::Result<(), (EngineError, Sent)> {
        let h = &mut self.held;
        if h.packets.len() >= MAX_HELD_PACKETS || h.bytes + bytes.len() > MAX_HELD_BYTES {
            return Err((SendError::QueueFull { packets: MAX_HELD_PACKETS, bytes: MAX_HELD_BYTES }.into(), sent));
        }
        h.bytes += bytes.len();
        h.packets.push_back((sequence, bytes, sent));
        Ok(())
    }

    /// Callers of held data learn that it will not be sent.
    pub(super) fn fail_held(&mut self) {
        for (_, _, sent) in std::mem::take(&mut self.held).packets {
            self.fail_sent(sent, EngineError::Disconnected);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn backoff_follows_the_schedule_with_bounded_jitter_then_gives_up() {
        let t0 = Instant::now();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut b = Backoff::new(t0);
        let mut now = t0;
        let mut delays = Vec::new();
        while let Some(d) = b.next(now, &mut rng) {
            delays.push(d);
            now += d;
        }
        assert!((6..=DELAYS.len()).contains(&delays.len()), "{} attempts", delays.len());
        assert!(delays.iter().sum::<Duration>() <= MAX_RECONNECT_TIME);
        assert_eq!(delays[0], Duration::ZERO);
        assert_eq!(delays[1], Duration::from_millis(300));
        for (d, base) in delays.iter().zip(DELAYS).skip(2) {
            assert!(*d >= base && *d <= base + MAX_JITTER, "{d:?} vs {base:?}");
        }
        // Jitter differs between seeds; the same seed gives the same schedule.
        let again: Vec<_> = {
            let mut rng = rand::rngs::StdRng::seed_from_u64(7);
            let mut b = Backoff::new(t0);
            let mut now = t0;
            std::iter::from_fn(|| {
                let d = b.next(now, &mut rng)?;
                now += d;
                Some(d)
            })
            .collect()
        };
        assert_eq!(again, delays);
    }

    #[test]
    fn backoff_is_bounded_in_time() {
        let t0 = Instant::now();
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let mut b = Backoff::new(t0);
        assert!(b.next(t0, &mut rng).is_some());
        assert!(b.next(t0 + MAX_RECONNECT_TIME, &mut rng).is_none());
    }

    #[test]
    fn the_resend_buffer_keeps_only_what_the_server_did_not_acknowledge() {
        let mut s = SentBuffer::default();
        for seq in 1..=5u32 {
            s.push(seq, vec![seq as u8]);
        }
        assert_eq!(s.unacknowledged(3), vec![vec![4u8], vec![5u8]]);
        assert!(s.unacknowledged(0).is_empty(), "taken once");
    }

    #[test]
    fn the_resend_buffer_is_bounded() {
        let mut s = SentBuffer::default();
        let big = vec![0u8; 60_000];
        for seq in 1..=400u32 {
            s.push(seq, big.clone());
        }
        let kept = s.unacknowledged(0);
        assert!(kept.len() * big.len() <= SENT_BUFFER_BYTES);
        assert!(kept.len() > 200);
    }

    #[test]
    fn dedupe_drops_resent_packets_per_sender() {
        let mut d = Dedupe::default();
        assert!(d.fresh("PA_a", 1));
        assert!(d.fresh("PA_a", 2));
        assert!(!d.fresh("PA_a", 2));
        assert!(!d.fresh("PA_a", 1));
        assert!(d.fresh("PA_b", 1), "per sender");
        assert!(d.fresh("PA_a", 0) && d.fresh("PA_a", 0), "unnumbered packets always pass");
        d.forget("PA_a");
        assert!(d.fresh("PA_a", 1));
    }
}
