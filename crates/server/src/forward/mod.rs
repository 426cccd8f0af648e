//! The forwarding path's pure parts: which layer each subscriber gets ([`selector`]), how
//! its packets are renumbered ([`munger`]), and where keyframes start ([`keyframe`]).
//! The published track (`track.rs`) drives them from the publisher's packets.

pub mod keyframe;
pub mod munger;
pub mod selector;
pub mod vp8;

use std::time::{Duration, Instant};

use livekit_protocol as proto;

use selector::Live;

/// Simulcast layers a publisher may send (`q`, `h`, `f`).
pub const MAX_LAYERS: usize = 3;

/// A layer that sent nothing for this long counts as stopped (the publisher paused it):
/// its subscribers fall back to a lower one.
const LAYER_TIMEOUT: Duration = Duration::from_millis(1_000);

/// The layer index (0: lowest) of simulcast RID `rid` for a track with `count` layers,
/// as livekit clients name them (`q`, `h`, `f` from the lowest). `None`: a RID the
/// publisher did not announce.
pub fn rid_layer(rid: &str, count: usize) -> Option<usize> {
    let index = match rid {
        "q" => 0,
        "h" => 1,
        "f" => 2,
        _ => return None,
    };
    (index < count).then_some(index)
}

/// What the server knows of a publisher's layers: their SSRCs, when each last sent, and
/// the newest sequence number of each.
#[derive(Debug, Default)]
pub struct Layers {
    ssrc: [Option<u32>; MAX_LAYERS],
    seen: [Option<Instant>; MAX_LAYERS],
    newest: [Option<u16>; MAX_LAYERS],
}

impl Layers {
    /// Records packet `seq` of `layer` on `ssrc` at `now`. Returns whether it came late
    /// (after a newer one of its layer: reordered, or retransmitted after a loss). A
    /// keyframe whose first packet came late cannot start a subscriber's stream: the
    /// packets after it were not forwarded.
    pub fn mark(&mut self, layer: usize, ssrc: u32, seq: u16, now: Instant) -> bool {
        if layer >= MAX_LAYERS {
            return false;
        }
        if self.ssrc[layer] != Some(ssrc) {
            self.newest[layer] = None;
        }
        self.ssrc[layer] = Some(ssrc);
        self.seen[layer] = Some(now);
        let late = self.newest[layer].is_some_and(|newest| !munger::seq_after(seq, newest));
        if !late {
            self.newest[layer] = Some(seq);
        }
        late
    }

    /// The layers that sent media recently.
    pub fn live(&self, now: Instant) -> Live {
        let mut mask = 0u8;
        for (i, seen) in self.seen.iter().enumerate() {
            if seen.is_some_and(|t| now.saturating_duration_since(t) < LAYER_TIMEOUT) {
                mask |= 1 << i;
            }
        }
        Live(mask)
    }

    /// The SSRC `layer` arrives on, once seen.
    pub fn ssrc(&self, layer: usize) -> Option<u32> {
        self.ssrc.get(layer).copied().flatten()
    }
}

/// Bounds keyframe requests: at most one per layer per interval, however many
/// subscribers wait and however long the publisher sends no keyframe.
#[derive(Debug, Default)]
pub struct KeyframeLimiter {
    last: [Option<Instant>; MAX_LAYERS],
}

impl KeyframeLimiter {
    /// Whether a request for `layer` may go at `now` (recorded if so): none went in the
    /// last `every`.
    pub fn allow(&mut self, layer: usize, now: Instant, every: Duration) -> bool {
        let Some(last) = self.last.get_mut(layer) else { return false };
        if last.is_some_and(|t| now.saturating_duration_since(t) < every) {
            return false;
        }
        *last = Some(now);
        true
    }
}

/// The layers of a video track as its `AddTrackRequest` announces them (`layers`, else the
/// first `simulcast_codecs` entry's), sorted from the lowest quality, at most
/// [`MAX_LAYERS`]; one layer of the request's size when it announces none.
pub fn announced_layers(req: &proto::AddTrackRequest) -> Vec<proto::VideoLayer> {
    let mut layers = if req.layers.is_empty() {
        req.simulcast_codecs.iter().find(|c| !c.layers.is_empty()).map(|c| c.layers.clone()).unwrap_or_default()
    } else {
        req.layers.clone()
    };
    layers.sort_by_key(|l| l.quality);
    layers.dedup_by_key(|l| l.quality);
    layers.truncate(MAX_LAYERS);
    if layers.is_empty() {
        layers.push(proto::VideoLayer {
            quality: proto::VideoQuality::High as i32,
            width: req.width,
            height: req.height,
            ..Default::default()
        });
    }
    layers
}

/// The highest layer index a subscriber's `UpdateTrackSettings` asks for, among the
/// track's `layers` (sorted from the lowest quality; empty: one layer). `None`: nothing
/// (disabled, or quality `OFF`). Dimensions win over quality when given, as in
/// livekit-server: the smallest layer covering them (the top one if none does).
pub fn wanted_layer(layers: &[proto::VideoLayer], settings: &proto::UpdateTrackSettings) -> Option<usize> {
    if settings.disabled {
        return None;
    }
    let top = layers.len().clamp(1, MAX_LAYERS) - 1;
    if settings.width > 0 || settings.height > 0 {
        let covers = |l: &proto::VideoLayer| l.width >= settings.width && l.height >= settings.height;
        return Some(layers.iter().take(MAX_LAYERS).position(covers).unwrap_or(top));
    }
    let quality = proto::VideoQuality::try_from(settings.quality).unwrap_or(proto::VideoQuality::High);
    if quality == proto::VideoQuality::Off {
        return None;
    }
    let at_most = layers.iter().take(MAX_LAYERS).rposition(|l| l.quality <= quality as i32);
    Some(at_most.unwrap_or(0).min(top))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(quality: proto::VideoQuality, width: u32, height: u32) -> proto::VideoLayer {
        proto::VideoLayer { quality: quality as i32, width, height, ..Default::default() }
    }

    fn three() -> Vec<proto::VideoLayer> {
        vec![
            layer(proto::VideoQuality::Low, 320, 180),
            layer(proto::VideoQuality::Medium, 640, 360),
            layer(proto::VideoQuality::High, 1280, 720),
        ]
    }

    fn settings(f: impl FnOnce(&mut proto::UpdateTrackSettings)) -> proto::UpdateTrackSettings {
        let mut s = proto::UpdateTrackSettings { quality: proto::VideoQuality::High as i32, ..Default::default() };
        f(&mut s);
        s
    }

    #[test]
    fn announced() {
        let mut req = proto::AddTrackRequest { width: 1280, height: 720, ..Default::default() };
        let one = announced_layers(&req);
        assert_eq!((one.len(), one[0].width, one[0].quality), (1, 1280, proto::VideoQuality::High as i32));
        let mut shuffled = three();
        shuffled.reverse();
        shuffled.push(layer(proto::VideoQuality::High, 1, 1));
        req.simulcast_codecs = vec![proto::SimulcastCodec { layers: shuffled.clone(), ..Default::default() }];
        assert_eq!(announced_layers(&req), three());
        req.layers = vec![layer(proto::VideoQuality::Medium, 640, 360), layer(proto::VideoQuality::Low, 320, 180)];
        assert_eq!(announced_layers(&req), three()[..2].to_vec());
    }

    #[test]
    fn rids() {
        assert_eq!(rid_layer("q", 3), Some(0));
        assert_eq!(rid_layer("h", 3), Some(1));
        assert_eq!(rid_layer("f", 3), Some(2));
        assert_eq!(rid_layer("f", 2), None);
        assert_eq!(rid_layer("x", 3), None);
        assert_eq!(rid_layer("", 3), None);
    }

    #[test]
    fn quality_picks_the_highest_layer_not_above_it() {
        let l = three();
        assert_eq!(wanted_layer(&l, &settings(|_| {})), Some(2));
        assert_eq!(wanted_layer(&l, &settings(|s| s.quality = proto::VideoQuality::Medium as i32)), Some(1));
        assert_eq!(wanted_layer(&l, &settings(|s| s.quality = proto::VideoQuality::Low as i32)), Some(0));
        assert_eq!(wanted_layer(&l, &settings(|s| s.quality = proto::VideoQuality::Off as i32)), None);
        assert_eq!(wanted_layer(&l, &settings(|s| s.disabled = true)), None);
        // A single-layer track has layer 0 whatever is asked.
        assert_eq!(wanted_layer(&[], &settings(|s| s.quality = proto::VideoQuality::Low as i32)), Some(0));
        assert_eq!(wanted_layer(&l[..1], &settings(|_| {})), Some(0));
        // An unknown quality value counts as high.
        assert_eq!(wanted_layer(&l, &settings(|s| s.quality = 99)), Some(2));
    }

    #[test]
    fn dimensions_pick_the_smallest_covering_layer() {
        let l = three();
        assert_eq!(wanted_layer(&l, &settings(|s| (s.width, s.height) = (320, 180))), Some(0));
        assert_eq!(wanted_layer(&l, &settings(|s| (s.width, s.height) = (321, 100))), Some(1));
        assert_eq!(wanted_layer(&l, &settings(|s| (s.width, s.height) = (0, 500))), Some(2));
        assert_eq!(wanted_layer(&l, &settings(|s| (s.width, s.height) = (4000, 4000))), Some(2));
    }

    #[test]
    fn liveness() {
        let t0 = Instant::now();
        let mut layers = Layers::default();
        assert_eq!(layers.live(t0), Live(0));
        assert!(!layers.mark(0, 11, 100, t0));
        assert!(!layers.mark(2, 33, 5, t0 + Duration::from_millis(600)));
        assert!(!layers.mark(7, 99, 1, t0));
        assert_eq!(layers.live(t0 + Duration::from_millis(700)), Live(0b101));
        assert_eq!(layers.live(t0 + Duration::from_millis(1_200)), Live(0b100));
        assert_eq!(layers.ssrc(2), Some(33));
        assert_eq!(layers.ssrc(1), None);
        assert_eq!(layers.ssrc(9), None);
    }

    #[test]
    fn keyframe_requests_are_bounded() {
        let t0 = Instant::now();
        let every = Duration::from_millis(500);
        let mut limiter = KeyframeLimiter::default();
        // A publisher that never answers with a keyframe, asked every 100 ms for 10 s by
        // the forwarding task and by subscribers: 20 requests per layer, no more.
        let mut sent = [0; MAX_LAYERS];
        for tick in 0..100u32 {
            let now = t0 + Duration::from_millis(u64::from(tick) * 100);
            for (layer, count) in sent.iter_mut().enumerate() {
                for _ in 0..5 {
                    *count += usize::from(limiter.allow(layer, now, every));
                }
            }
        }
        assert_eq!(sent, [20, 20, 20]);
        assert!(!limiter.allow(MAX_LAYERS, t0, every));
    }

    #[test]
    fn late_packets() {
        let t0 = Instant::now();
        let mut layers = Layers::default();
        assert!(!layers.mark(1, 7, 65_535, t0));
        assert!(!layers.mark(1, 7, 1, t0));
        // 0 was overtaken by 1 (across the wrap), and 1 is a duplicate.
        assert!(layers.mark(1, 7, 0, t0));
        assert!(layers.mark(1, 7, 1, t0));
        assert!(!layers.mark(1, 7, 2, t0));
        // Other layers, and a new SSRC for the layer, start afresh.
        assert!(!layers.mark(0, 5, 0, t0));
        assert!(!layers.mark(1, 8, 0, t0));
    }
}
