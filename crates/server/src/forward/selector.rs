//! Which publisher layer one subscriber receives. Layers are numbered from 0 (the lowest
//! quality); the subscriber asks for a maximum (`UpdateTrackSettings`), the publisher's
//! live layers bound what it can get, and a switch only happens on a keyframe of the new
//! layer, as in livekit-server's simulcast forwarder: it starts on the first keyframe of
//! any layer up to the target (the first frame comes sooner), steps up as keyframes of
//! higher layers come, and steps down on a keyframe of the target.

use std::time::Instant;

use super::munger::Munger;
use super::vp8::{Descriptor, Ids, Vp8Munger};

/// The set of publisher layers that sent media recently (bit `i`: layer `i`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Live(pub u8);

impl Live {
    /// Whether layer `layer` is live.
    pub fn has(self, layer: usize) -> bool {
        layer < 8 && self.0 & (1 << layer) != 0
    }

    /// The layer to forward to a subscriber that wants at most `max`: the highest live
    /// layer up to `max`, else the lowest live one; `max` itself while nothing is live.
    pub fn best_up_to(self, max: usize) -> usize {
        if self.0 == 0 {
            return max;
        }
        (0..=max.min(7)).rev().find(|&l| self.has(l)).unwrap_or_else(|| self.0.trailing_zeros() as usize)
    }
}

/// One incoming packet as the selector sees it.
#[derive(Clone, Copy, Debug)]
pub struct Incoming {
    /// Publisher layer the packet belongs to.
    pub layer: usize,
    /// Whether it starts a keyframe.
    pub keyframe: bool,
    /// Its sequence number.
    pub seq: u16,
    /// Its RTP timestamp.
    pub ts: u32,
    /// Its VP8 payload descriptor (VP8 only).
    pub vp8: Option<Descriptor>,
}

/// How a forwarded packet is rewritten for the subscriber.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outgoing {
    /// Sequence number.
    pub seq: u16,
    /// RTP timestamp.
    pub ts: u32,
    /// VP8 descriptor ids (VP8 only).
    pub vp8: Option<Ids>,
}

/// Layer selection and rewriting state of one subscriber.
#[derive(Debug)]
pub struct Selector {
    /// Highest layer wanted; `None`: disabled, nothing is forwarded.
    max: Option<usize>,
    /// The layer being forwarded; `None` until the first keyframe.
    current: Option<usize>,
    munger: Munger,
    vp8: Vp8Munger,
    clock_rate: u32,
}

impl Selector {
    /// A selector forwarding at most layer `max` (`None`: nothing), for media timed at
    /// `clock_rate` Hz.
    pub fn new(max: Option<usize>, clock_rate: u32) -> Self {
        Self { max, current: None, munger: Munger::default(), vp8: Vp8Munger::default(), clock_rate }
    }

    /// Changes the highest layer wanted. Disabling forgets the current layer: media
    /// resumes on a keyframe.
    pub fn set_max(&mut self, max: Option<usize>) {
        self.max = max;
        if max.is_none() {
            self.current = None;
        }
    }

    /// The layer being forwarded.
    #[cfg(test)]
    pub fn current(&self) -> Option<usize> {
        self.current
    }

    /// The layer this subscriber should get given the live layers (`None`: disabled).
    pub fn target(&self, live: Live) -> Option<usize> {
        self.max.map(|max| live.best_up_to(max))
    }

    /// The layer a keyframe is needed from, while a switch to it is pending.
    pub fn keyframe_wanted(&self, live: Live) -> Option<usize> {
        let target = self.target(live)?;
        (self.current != Some(target)).then_some(target)
    }

    /// The layer whose keyframe would help this subscriber now: the one it is switching
    /// to, else the one it receives.
    pub fn keyframe_layer(&self, live: Live) -> Option<usize> {
        self.keyframe_wanted(live).or(self.current)
    }

    /// Decides on `packet` (`live` includes its layer): how it is rewritten for the
    /// subscriber when it is forwarded, `None` when it is dropped.
    pub fn on_packet(&mut self, packet: Incoming, live: Live, now: Instant) -> Option<Outgoing> {
        let target = self.target(live)?;
        if self.current != Some(packet.layer) {
            if !packet.keyframe || !self.may_switch_to(packet.layer, target, live) {
                return None;
            }
            tracing::debug!(from = ?self.current, to = packet.layer, target, "layer switch");
            self.munger.switch(packet.seq, packet.ts, now, self.clock_rate);
            if let Some(d) = &packet.vp8 {
                self.vp8.switch(d);
            }
            self.current = Some(packet.layer);
        }
        let (seq, ts) = self.munger.rewrite(packet.seq, packet.ts, now)?;
        Some(Outgoing { seq, ts, vp8: packet.vp8.map(|d| self.vp8.rewrite(&d)) })
    }

    /// Whether a keyframe of `layer` is a good place to switch to it.
    fn may_switch_to(&self, layer: usize, target: usize, live: Live) -> bool {
        if layer == target {
            return true;
        }
        // Below the target: better than nothing (no layer yet, or the current one
        // stopped), or a step up towards the target.
        layer < target && self.current.is_none_or(|c| c < layer || !live.has(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const ALL: Live = Live(0b111);

    fn pkt(layer: usize, keyframe: bool, seq: u16, ts: u32) -> Incoming {
        Incoming { layer, keyframe, seq, ts, vp8: None }
    }

    /// What `on_packet` decided, as `(seq, ts)`.
    fn fwd(s: &mut Selector, p: Incoming, live: Live, now: Instant) -> Option<(u16, u32)> {
        s.on_packet(p, live, now).map(|o| (o.seq, o.ts))
    }

    #[test]
    fn best_layer() {
        assert_eq!(ALL.best_up_to(2), 2);
        assert_eq!(ALL.best_up_to(0), 0);
        assert_eq!(Live(0b011).best_up_to(2), 1);
        assert_eq!(Live(0b100).best_up_to(1), 2);
        assert_eq!(Live(0).best_up_to(1), 1);
        assert_eq!(Live(0b101).best_up_to(1), 0);
    }

    #[test]
    fn waits_for_a_keyframe() {
        let t = Instant::now();
        let mut s = Selector::new(Some(2), 90_000);
        assert_eq!(s.keyframe_wanted(ALL), Some(2));
        assert_eq!(fwd(&mut s, pkt(2, false, 10, 100), ALL, t), None);
        assert_eq!(fwd(&mut s, pkt(2, true, 11, 200), ALL, t), Some((11, 200)));
        assert_eq!(fwd(&mut s, pkt(2, false, 12, 300), ALL, t), Some((12, 300)));
        assert_eq!(s.keyframe_wanted(ALL), None);
        assert_eq!(s.keyframe_layer(ALL), Some(2));
        // Other layers are not forwarded, keyframes or not.
        assert_eq!(fwd(&mut s, pkt(0, true, 5000, 9), ALL, t), None);
        assert_eq!(fwd(&mut s, pkt(1, false, 7000, 9), ALL, t), None);
    }

    #[test]
    fn starts_low_then_steps_up() {
        let t = Instant::now();
        let mut s = Selector::new(Some(2), 90_000);
        assert_eq!(fwd(&mut s, pkt(0, true, 100, 1000), ALL, t), Some((100, 1000)));
        assert_eq!(s.current(), Some(0));
        assert_eq!(s.keyframe_wanted(ALL), Some(2));
        // A keyframe of the middle layer is a step up.
        let t1 = t + Duration::from_millis(50);
        assert_eq!(fwd(&mut s, pkt(1, true, 900, 50_000), ALL, t1), Some((101, 1000 + 4500)));
        assert_eq!(s.current(), Some(1));
        // Then the target.
        let t2 = t1 + Duration::from_millis(20);
        assert_eq!(fwd(&mut s, pkt(2, true, 3, 7), ALL, t2), Some((102, 5500 + 1800)));
        assert_eq!(s.current(), Some(2));
        // Lower keyframes no longer move it.
        assert_eq!(fwd(&mut s, pkt(0, true, 101, 2000), ALL, t2), None);
    }

    #[test]
    fn steps_down_on_a_keyframe_of_the_target() {
        let t = Instant::now();
        let mut s = Selector::new(Some(2), 90_000);
        assert!(fwd(&mut s, pkt(2, true, 1, 1), ALL, t).is_some());
        s.set_max(Some(0));
        assert_eq!(s.keyframe_wanted(ALL), Some(0));
        // Still on the top layer until the low layer's keyframe.
        assert_eq!(fwd(&mut s, pkt(2, false, 2, 1), ALL, t), Some((2, 1)));
        assert_eq!(fwd(&mut s, pkt(1, true, 50, 1), ALL, t), None);
        assert_eq!(fwd(&mut s, pkt(0, true, 60, 1), ALL, t), Some((3, 2)));
        assert_eq!(s.current(), Some(0));
        assert_eq!(fwd(&mut s, pkt(2, false, 3, 1), ALL, t), None);
    }

    #[test]
    fn falls_back_when_the_layer_stops() {
        let t = Instant::now();
        let mut s = Selector::new(Some(2), 90_000);
        assert!(fwd(&mut s, pkt(2, true, 1, 1), ALL, t).is_some());
        // The publisher paused the top layer.
        let live = Live(0b011);
        assert_eq!(s.keyframe_wanted(live), Some(1));
        assert_eq!(fwd(&mut s, pkt(1, true, 10, 1), live, t), Some((2, 2)));
        // It comes back: up again on its keyframe.
        assert_eq!(s.keyframe_wanted(ALL), Some(2));
        assert_eq!(fwd(&mut s, pkt(2, true, 5, 1), ALL, t), Some((3, 3)));
    }

    #[test]
    fn vp8_ids_follow_on() {
        let t = Instant::now();
        let mut s = Selector::new(Some(2), 90_000);
        let vp8 = |picture_id, tl0| Descriptor { picture_id: Some((picture_id, true)), tl0: Some(tl0), keyidx: None };
        let first = Incoming { vp8: Some(vp8(500, 9)), ..pkt(0, true, 1, 1) };
        assert_eq!(s.on_packet(first, ALL, t).unwrap().vp8, Some(Ids { picture_id: 500, tl0: 9, keyidx: 0 }));
        let up = Incoming { vp8: Some(vp8(20_000, 200)), ..pkt(2, true, 9, 9) };
        assert_eq!(s.on_packet(up, ALL, t).unwrap().vp8, Some(Ids { picture_id: 501, tl0: 10, keyidx: 0 }));
        let next = Incoming { vp8: Some(vp8(20_001, 201)), ..pkt(2, false, 10, 9) };
        assert_eq!(s.on_packet(next, ALL, t).unwrap().vp8, Some(Ids { picture_id: 502, tl0: 11, keyidx: 0 }));
    }

    #[test]
    fn disabled_forwards_nothing() {
        let t = Instant::now();
        let mut s = Selector::new(None, 90_000);
        assert_eq!(fwd(&mut s, pkt(0, true, 1, 1), ALL, t), None);
        assert_eq!(s.keyframe_wanted(ALL), None);
        s.set_max(Some(0));
        assert_eq!(fwd(&mut s, pkt(0, true, 2, 1), ALL, t), Some((2, 1)));
        s.set_max(None);
        assert_eq!(fwd(&mut s, pkt(0, false, 3, 1), ALL, t), None);
        // Enabled again: resumes on a keyframe, numbering continuous.
        s.set_max(Some(0));
        assert_eq!(fwd(&mut s, pkt(0, false, 4, 1), ALL, t), None);
        assert_eq!(fwd(&mut s, pkt(0, true, 5, 1), ALL, t), Some((3, 2)));
    }
}
