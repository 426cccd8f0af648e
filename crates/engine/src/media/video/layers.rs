//! The layers a video track is sent as, computed as the official SDKs compute them (LiveKit's
//! presets): with simulcast, a source whose long side is at least 960 px gets three layers
//! (the 180p and 360p presets under the source size), one of at least 480 px two, a smaller
//! one a single layer. Layers are listed from the lowest; their RIDs are `q`, `h`, `f` in that
//! order. Pure functions: no I/O.

use livekit_protocol as proto;

/// At most this many layers.
pub const MAX_LAYERS: usize = 3;
/// RIDs by layer index, from the lowest.
const RIDS: [&str; MAX_LAYERS] = ["q", "h", "f"];

/// One layer as published: its size at the announced source size, its caps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerSpec {
    /// RTP stream id (`None`: a single layer, no simulcast).
    pub rid: Option<&'static str>,
    /// Width at the announced source size.
    pub width: u32,
    /// Height at the announced source size.
    pub height: u32,
    /// Bitrate ceiling (bits per second).
    pub max_bitrate: u32,
    /// Frame rate ceiling.
    pub max_framerate: u32,
}

impl LayerSpec {
    /// The layer's size for a frame of `width` x `height` (the announced source's ratio
    /// applied; even, at least 2x2). A single layer keeps the frame's size.
    pub fn size_for(&self, announced: (u32, u32), width: u32, height: u32) -> (u32, u32) {
        let (aw, ah) = announced;
        if self.rid.is_none() || (self.width, self.height) == (aw, ah) {
            return (width, height);
        }
        let scale = |v: u32, num: u32, den: u32| {
            let v = (u64::from(v) * u64::from(num) / u64::from(den.max(1))) as u32;
            (v & !1).max(2)
        };
        (scale(width, self.width, aw), scale(height, self.height, ah))
    }

    /// The quality LiveKit files the layer under.
    pub fn quality(&self) -> proto::VideoQuality {
        match self.rid {
            Some("q") => proto::VideoQuality::Low,
            Some("h") => proto::VideoQuality::Medium,
            _ => proto::VideoQuality::High,
        }
    }
}

/// A preset: size (landscape) and caps.
struct Preset(u32, u32, u32, u32);

/// 16:9 presets for the two lower simulcast layers (180p, 360p).
const SIMULCAST_169: [Preset; 2] = [Preset(320, 180, 160_000, 15), Preset(640, 360, 450_000, 20)];
/// 4:3 presets for the two lower simulcast layers (180p, 360p).
const SIMULCAST_43: [Preset; 2] = [Preset(240, 180, 100_000, 15), Preset(480, 360, 225_000, 20)];

/// The layers of a `width` x `height` source whose top layer is capped at `max_bitrate` and
/// `max_framerate`, with or without `simulcast`.
pub fn layer_plan(width: u32, height: u32, max_bitrate: u32, max_framerate: u32, simulcast: bool) -> Vec<LayerSpec> {
    let top = LayerSpec { rid: None, width, height, max_bitrate, max_framerate };
    let long = width.max(height);
    let count = match long {
        _ if !simulcast => 1,
        960.. => 3,
        480.. => 2,
        _ => 1,
    };
    if count == 1 {
        return vec![top];
    }
    let ratio = f64::from(long) / f64::from(width.min(height).max(1));
    let presets = if (ratio - 16.0 / 9.0).abs() < (ratio - 4.0 / 3.0).abs() { &SIMULCAST_169 } else { &SIMULCAST_43 };
    let short = width.min(height);
    let mut layers: Vec<LayerSpec> = presets[2 - (count - 1)..]
        .iter()
        .map(|&Preset(pw, ph, bitrate, fps)| {
            // Scaled down by the source's short side over the preset's, never up.
            let scale = (f64::from(short) / f64::from(pw.min(ph))).max(1.0);
            LayerSpec {
                rid: None,
                width: (f64::from(width) / scale) as u32,
                height: (f64::from(height) / scale) as u32,
                max_bitrate: bitrate,
                max_framerate: fps.min(max_framerate),
            }
        })
        .collect();
    layers.push(top);
    for (layer, rid) in layers.iter_mut().zip(RIDS) {
        layer.rid = Some(rid);
    }
    layers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(layers: &[LayerSpec]) -> Vec<(Option<&str>, u32, u32, u32, u32)> {
        layers.iter().map(|l| (l.rid, l.width, l.height, l.max_bitrate, l.max_framerate)).collect()
    }

    #[test]
    fn a_720p_source_gets_the_official_three_layers() {
        let plan = layer_plan(1280, 720, 1_700_000, 30, true);
        assert_eq!(
            sizes(&plan),
            vec![
                (Some("q"), 320, 180, 160_000, 15),
                (Some("h"), 640, 360, 450_000, 20),
                (Some("f"), 1280, 720, 1_700_000, 30),
            ]
        );
        let q: Vec<_> = plan.iter().map(LayerSpec::quality).collect();
        assert_eq!(q, [proto::VideoQuality::Low, proto::VideoQuality::Medium, proto::VideoQuality::High]);
    }

    #[test]
    fn smaller_sources_get_fewer_layers_and_no_simulcast_one() {
        assert_eq!(
            sizes(&layer_plan(640, 480, 800_000, 30, true)),
            vec![(Some("q"), 480, 360, 225_000, 20), (Some("h"), 640, 480, 800_000, 30)],
            "4:3 presets, two layers under 960 px"
        );
        assert_eq!(sizes(&layer_plan(320, 240, 450_000, 30, true)), vec![(None, 320, 240, 450_000, 30)]);
        assert_eq!(sizes(&layer_plan(1280, 720, 1_700_000, 30, false)), vec![(None, 1280, 720, 1_700_000, 30)]);
        // Portrait: the short side decides the scale.
        let portrait = layer_plan(720, 1280, 1_700_000, 24, true);
        assert_eq!(sizes(&portrait)[0], (Some("q"), 180, 320, 160_000, 15));
        assert_eq!(portrait[1].max_framerate, 20);
        assert_eq!(portrait[2].max_framerate, 24);
    }

    #[test]
    fn layer_sizes_follow_the_frames() {
        let plan = layer_plan(1280, 720, 1_700_000, 30, true);
        assert_eq!(plan[0].size_for((1280, 720), 1280, 720), (320, 180));
        assert_eq!(plan[0].size_for((1280, 720), 1920, 1080), (480, 270 & !1));
        assert_eq!(plan[2].size_for((1280, 720), 640, 360), (640, 360));
        assert_eq!(plan[0].size_for((1280, 720), 2, 2), (2, 2));
    }
}
