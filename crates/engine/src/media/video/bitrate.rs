//! The encoder's target bitrate under receivers' bandwidth estimates (REMB), without I/O:
//! the target is the estimate capped at the layer's max bitrate, never below
//! [`MIN_BITRATE`]; without a recent estimate it goes back to the max. Small changes are
//! ignored and changes come at most once a second, so that rate control settles between
//! them (and an H.264 encoder, restarted to change its rate, is not restarted often).

use std::time::{Duration, Instant};

/// The lowest target an estimate can set (bits per second).
pub const MIN_BITRATE: u32 = 30_000;
/// An estimate older than this no longer limits the target (receivers send REMB about once a
/// second while they estimate; the server relays only congested ones).
const ESTIMATE_TTL: Duration = Duration::from_secs(5);
/// At most one change this often.
const MIN_CHANGE_INTERVAL: Duration = Duration::from_secs(1);
/// Changes smaller than this share of the current target are ignored.
const MIN_CHANGE: f64 = 0.1;

/// One layer's target bitrate.
#[derive(Debug)]
pub struct BitrateTarget {
    max: u32,
    target: u32,
    estimate: Option<(Instant, u64)>,
    changed_at: Option<Instant>,
}

impl BitrateTarget {
    /// A target at `max` (bits per second) until an estimate says less.
    pub fn new(max: u32) -> Self {
        Self { max, target: max, estimate: None, changed_at: None }
    }

    /// The current target.
    pub fn target(&self) -> u32 {
        self.target
    }

    /// A receiver estimated `bitrate` bits per second at `now`.
    pub fn on_estimate(&mut self, now: Instant, bitrate: u64) {
        self.estimate = Some((now, bitrate));
    }

    /// The new target if it should change at `now`.
    pub fn poll(&mut self, now: Instant) -> Option<u32> {
        let wanted = match self.estimate {
            Some((at, bitrate)) if now.saturating_duration_since(at) < ESTIMATE_TTL => {
                bitrate.clamp(u64::from(MIN_BITRATE.min(self.max)), u64::from(self.max)) as u32
            }
            _ => self.max,
        };
        if wanted == self.target {
            return None;
        }
        if self.changed_at.is_some_and(|t| now.saturating_duration_since(t) < MIN_CHANGE_INTERVAL) {
            return None;
        }
        let share = f64::from(wanted.abs_diff(self.target)) / f64::from(self.target.max(1));
        if share < MIN_CHANGE && wanted != self.max {
            return None;
        }
        self.target = wanted;
        self.changed_at = Some(now);
        Some(wanted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: u32 = 1_700_000;

    /// A target at [`MAX`] that took a first estimate of `bitrate` at the returned instant.
    fn estimated(bitrate: u32) -> (Instant, BitrateTarget) {
        let t0 = Instant::now();
        let mut b = BitrateTarget::new(MAX);
        b.on_estimate(t0, u64::from(bitrate));
        assert_eq!(b.poll(t0), Some(bitrate));
        (t0, b)
    }

    #[test]
    fn follows_the_estimate_under_the_max_and_above_the_floor() {
        let t0 = Instant::now();
        let mut b = BitrateTarget::new(MAX);
        assert_eq!(b.poll(t0), None, "no estimate: stays at the max");
        b.on_estimate(t0, 600_000);
        assert_eq!(b.poll(t0), Some(600_000));
        b.on_estimate(t0 + Duration::from_secs(1), 5_000);
        assert_eq!(b.poll(t0 + Duration::from_secs(1)), Some(MIN_BITRATE), "never below the floor");
        b.on_estimate(t0 + Duration::from_secs(2), 9_000_000);
        assert_eq!(b.poll(t0 + Duration::from_secs(2)), Some(MAX), "never above the max");
        assert_eq!(b.target(), MAX);
    }

    #[test]
    fn rises_back_as_estimates_rise_and_without_estimates() {
        let (mut now, mut b) = estimated(300_000);
        for rate in [500_000u32, 900_000, 1_400_000] {
            now += Duration::from_secs(1);
            b.on_estimate(now, u64::from(rate));
            assert_eq!(b.poll(now), Some(rate));
        }
        // The estimates stop (the congested subscriber left): back to the max.
        assert_eq!(b.poll(now + Duration::from_secs(3)), None);
        assert_eq!(b.poll(now + ESTIMATE_TTL), Some(MAX));
    }

    #[test]
    fn small_and_frequent_changes_wait() {
        let (t0, mut b) = estimated(1_000_000);
        let soon = t0 + Duration::from_millis(200);
        b.on_estimate(soon, 500_000);
        assert_eq!(b.poll(soon), None, "less than a second after the last change");
        let later = t0 + Duration::from_secs(1);
        assert_eq!(b.poll(later), Some(500_000), "then it applies");
        let next = later + Duration::from_secs(2);
        b.on_estimate(next, 520_000);
        assert_eq!(b.poll(next), None, "a 4 % change is noise");
    }

    #[test]
    fn a_max_under_the_floor_is_kept() {
        let t0 = Instant::now();
        let mut b = BitrateTarget::new(20_000);
        b.on_estimate(t0, 1_000);
        assert_eq!(b.poll(t0), None, "the floor never lifts the target over the max");
        assert_eq!(b.target(), 20_000);
    }
}
