//! Sequence number and timestamp rewriting for one subscriber: whichever publisher layer
//! (SSRC) it currently receives, it sees one stream whose sequence numbers follow on
//! without a gap and whose RTP time keeps advancing across layer switches.

use std::time::Instant;

/// How far behind the newest packet a late (reordered) packet of the current layer is
/// still forwarded; older ones, and any packet from before the switch, are dropped.
const REORDER_WINDOW: u16 = 0x1000;

/// Whether sequence number `a` comes after `b` (RFC 3550 wraparound arithmetic).
pub fn seq_after(a: u16, b: u16) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000
}

/// The last packet written to the subscriber.
#[derive(Clone, Copy, Debug)]
struct Sent {
    seq: u16,
    ts: u32,
    at: Instant,
}

/// Rewrites incoming `(sequence number, timestamp)` pairs into the subscriber's stream.
#[derive(Debug, Default)]
pub struct Munger {
    last: Option<Sent>,
    seq_offset: u16,
    ts_offset: u32,
    /// Oldest incoming sequence number of the current layer still forwarded.
    floor: u16,
}

impl Munger {
    /// Makes the packet `(seq, ts)` of a new layer follow the last one written: its
    /// sequence number is the next one, its timestamp is the last one plus the time
    /// elapsed since (at `clock_rate`, at least one tick). The first layer ever is passed
    /// through unchanged.
    pub fn switch(&mut self, seq: u16, ts: u32, now: Instant, clock_rate: u32) {
        match self.last {
            None => {
                self.seq_offset = 0;
                self.ts_offset = 0;
            }
            Some(last) => {
                self.seq_offset = seq.wrapping_sub(last.seq.wrapping_add(1));
                let elapsed = now.saturating_duration_since(last.at).as_micros();
                let ticks = (elapsed * u128::from(clock_rate) / 1_000_000).clamp(1, u128::from(u32::MAX / 2));
                self.ts_offset = ts.wrapping_sub(last.ts.wrapping_add(ticks as u32));
            }
        }
        self.floor = seq;
    }

    /// The subscriber's `(seq, ts)` for a packet of the current layer, or `None` for a
    /// packet from before the switch (or too late to be useful).
    pub fn rewrite(&mut self, seq: u16, ts: u32, now: Instant) -> Option<(u16, u32)> {
        if seq_after(self.floor, seq) {
            return None;
        }
        let out = (seq.wrapping_sub(self.seq_offset), ts.wrapping_sub(self.ts_offset));
        if self.last.is_none_or(|last| seq_after(out.0, last.seq)) {
            self.last = Some(Sent { seq: out.0, ts: out.1, at: now });
            // Keep the floor close behind the newest packet, so that it never wraps ahead.
            if seq.wrapping_sub(self.floor) > REORDER_WINDOW {
                self.floor = seq.wrapping_sub(REORDER_WINDOW);
            }
        }
        Some(out)
    }

    /// The last `(seq, ts)` written, if any.
    #[cfg(test)]
    pub fn last(&self) -> Option<(u16, u32)> {
        self.last.map(|l| (l.seq, l.ts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn first_layer_passes_through() {
        let mut m = Munger::default();
        let t0 = Instant::now();
        m.switch(1000, 5000, t0, 90_000);
        assert_eq!(m.rewrite(1000, 5000, t0), Some((1000, 5000)));
        assert_eq!(m.rewrite(1001, 8000, t0), Some((1001, 8000)));
        // A packet from before the first one forwarded is dropped.
        assert_eq!(m.rewrite(999, 2000, t0), None);
        assert_eq!(m.last(), Some((1001, 8000)));
    }

    #[test]
    fn switch_keeps_sequence_and_time_continuous() {
        let mut m = Munger::default();
        let t0 = Instant::now();
        m.switch(100, 1_000, t0, 90_000);
        for i in 0..10u16 {
            m.rewrite(100 + i, 1_000 + u32::from(i / 2) * 3_000, t0);
        }
        assert_eq!(m.last(), Some((109, 13_000)));
        // 100 ms later, another layer with unrelated numbering.
        let t1 = t0 + Duration::from_millis(100);
        m.switch(40_000, 900_000, t1, 90_000);
        assert_eq!(m.rewrite(40_000, 900_000, t1), Some((110, 13_000 + 9_000)));
        assert_eq!(m.rewrite(40_001, 900_000, t1), Some((111, 22_000)));
        assert_eq!(m.rewrite(40_002, 903_000, t1), Some((112, 25_000)));
        // Packets of the new layer from before the switch are dropped.
        assert_eq!(m.rewrite(39_999, 897_000, t1), None);
    }

    #[test]
    fn time_advances_at_least_one_tick() {
        let mut m = Munger::default();
        let t0 = Instant::now();
        m.switch(1, 10, t0, 90_000);
        m.rewrite(1, 10, t0);
        m.switch(500, 7, t0, 90_000);
        assert_eq!(m.rewrite(500, 7, t0), Some((2, 11)));
    }

    #[test]
    fn wraparound() {
        let mut m = Munger::default();
        let t0 = Instant::now();
        m.switch(65_534, u32::MAX - 1_000, t0, 90_000);
        assert_eq!(m.rewrite(65_534, u32::MAX - 1_000, t0), Some((65_534, u32::MAX - 1_000)));
        assert_eq!(m.rewrite(65_535, u32::MAX - 1_000, t0), Some((65_535, u32::MAX - 1_000)));
        assert_eq!(m.rewrite(0, 2_000, t0), Some((0, 2_000)));
        // Switch across the wrap of both numbers: out continues at 1.
        let t1 = t0 + Duration::from_millis(10);
        m.switch(65_535, u32::MAX, t1, 90_000);
        assert_eq!(m.rewrite(65_535, u32::MAX, t1), Some((1, 2_900)));
        assert_eq!(m.rewrite(0, 2_999, t1), Some((2, 5_900)));
        assert_eq!(m.rewrite(1, 2_999, t1), Some((3, 5_900)));
        assert_eq!(m.rewrite(65_534, 0, t1), None);
    }

    #[test]
    fn long_runs_never_stall() {
        let mut m = Munger::default();
        let t0 = Instant::now();
        m.switch(0, 0, t0, 90_000);
        let mut seq = 0u16;
        for i in 0..200_000u32 {
            assert!(m.rewrite(seq, i * 10, t0).is_some(), "packet {i} dropped");
            seq = seq.wrapping_add(1);
        }
    }

    #[test]
    fn seq_order() {
        assert!(seq_after(1, 0));
        assert!(seq_after(0, 65_535));
        assert!(!seq_after(65_535, 0));
        assert!(!seq_after(7, 7));
    }
}
