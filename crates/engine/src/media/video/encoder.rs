//! The encoders of a video source: one per layer (one without simulcast), each fed the
//! captured picture scaled to its size, at its frame rate, bitrate and keyframe policy.
//!
//! - Keyframes: on publish and on a new encoder (new size, codec or cap), and when a receiver
//!   of the layer asks (PLI, FIR), at most one per [`KEYFRAME_REQUEST_INTERVAL`]: a request
//!   that comes sooner waits for it. No keyframe is sent unasked, as with libwebrtc.
//! - Bitrate: the layer's cap, lowered by its receivers' estimates (`bitrate.rs`).
//! - Frame rate: a layer capped below the capture rate skips frames ([`FramePacer`]).

use std::borrow::Cow;
use std::time::{Duration, Instant};

use super::bitrate::BitrateTarget;
use super::h264::{EncoderSettings, H264VideoEncoder};
use super::layers::{LayerSpec, MAX_LAYERS};
use super::scale::I420Scaler;
use super::vp8::VpxVideoEncoder;
use super::VideoFrame;
use crate::error::{EngineError, Result};
use crate::media::{EncodedFrame, Encoder};
use crate::types::VideoCodec;

/// Keyframes asked for by receivers come at most this often per layer.
pub const KEYFRAME_REQUEST_INTERVAL: Duration = Duration::from_millis(300);
/// RTP clock rate of video.
const CLOCK_RATE: u32 = 90_000;

/// What receivers asked of each layer since the sender last looked.
#[derive(Clone, Copy, Debug, Default)]
pub struct Requests {
    /// A keyframe (PLI, FIR), by layer.
    pub keyframe: [bool; MAX_LAYERS],
    /// The last bandwidth estimate (when, bits per second), by layer.
    pub estimate: [Option<(Instant, u64)>; MAX_LAYERS],
}

/// A codec's encoder, of the codec and size it was made for.
enum VideoEncoder {
    /// VP8 or VP9.
    Vpx(VpxVideoEncoder),
    /// Boxed: OpenH264's encoder state is large.
    H264(Box<H264VideoEncoder>),
}

impl VideoEncoder {
    fn new(codec: VideoCodec, settings: EncoderSettings) -> Result<Self> {
        match codec {
            VideoCodec::Vp8 => Ok(Self::Vpx(VpxVideoEncoder::new(lkrtc_vpx::VpxCodec::Vp8, settings)?)),
            VideoCodec::Vp9 => Ok(Self::Vpx(VpxVideoEncoder::new(lkrtc_vpx::VpxCodec::Vp9, settings)?)),
            VideoCodec::H264 => Ok(Self::H264(Box::new(H264VideoEncoder::new(settings)?))),
            other => Err(EngineError::InvalidArgument(format!("no {other:?} encoder in lkrtc"))),
        }
    }

    fn request_keyframe(&mut self) {
        match self {
            Self::Vpx(e) => e.request_keyframe(),
            Self::H264(e) => e.request_keyframe(),
        }
    }

    /// Encodes at `bitrate` from the next frame (`settings` are the encoder's). VP8 changes
    /// and VP9 change their rate control's target; OpenH264 cannot, so an H.264 encoder is restarted at it
    /// (its next frame is a keyframe).
    fn set_bitrate(&mut self, bitrate: u32, settings: EncoderSettings) -> Result<()> {
        match self {
            Self::Vpx(e) => e.set_bitrate(bitrate),
            Self::H264(e) => {
                **e = H264VideoEncoder::new(EncoderSettings { max_bitrate: bitrate, ..settings })?;
                Ok(())
            }
        }
    }

    fn encode(&mut self, frame: &VideoFrame, timestamp: u32) -> Result<EncodedFrame> {
        match self {
            Self::Vpx(e) => e.encode_frame(frame, timestamp),
            Self::H264(e) => e.encode_frame(frame, timestamp),
        }
    }
}

/// Skips frames so that a layer keeps under its frame rate (a tenth of an interval of slack
/// absorbs capture jitter).
#[derive(Debug, Default)]
pub struct FramePacer {
    last: Option<u32>,
    credit: u32,
}

impl FramePacer {
    /// Whether the frame at RTP time `timestamp` is encoded at `fps`.
    pub fn due(&mut self, timestamp: u32, fps: u32) -> bool {
        let interval = CLOCK_RATE / fps.max(1);
        let Some(last) = self.last.replace(timestamp) else { return true };
        self.credit = self.credit.saturating_add(timestamp.wrapping_sub(last)).min(2 * interval);
        if self.credit >= interval - interval / 10 {
            self.credit = self.credit.saturating_sub(interval);
            true
        } else {
            false
        }
    }
}

/// One layer's encoder and its state.
struct Layer {
    codec: VideoCodec,
    settings: EncoderSettings,
    encoder: VideoEncoder,
    scaler: Option<I420Scaler>,
    bitrate: BitrateTarget,
    last_keyframe: Option<Instant>,
    asked: bool,
    pacer: FramePacer,
}

/// The encoders of a source, one per layer.
#[derive(Default)]
pub struct LayerEncoders {
    layers: Vec<Option<Layer>>,
}

/// How a source's frames are coded: the codec and the layers (from the lowest) of the
/// source's `announced` size.
pub struct Coding<'a> {
    /// VP8 or H.264.
    pub codec: VideoCodec,
    /// The layers.
    pub plan: &'a [LayerSpec],
    /// The size the source announced (the plan's sizes are for it).
    pub announced: (u32, u32),
}

/// A captured frame to encode.
#[derive(Clone, Copy)]
pub struct Captured<'a> {
    /// The picture (I420).
    pub frame: &'a VideoFrame,
    /// Its RTP time.
    pub timestamp: u32,
    /// A track was just published: every layer sends a keyframe.
    pub publish: bool,
}

impl LayerEncoders {
    /// Encodes a captured frame for each layer of `coding`; `None` for a layer that skips it
    /// (frame rate, rate control) or failed.
    pub fn encode(
        &mut self,
        coding: &Coding<'_>,
        captured: &Captured<'_>,
        requests: &Requests,
    ) -> Vec<Option<EncodedFrame>> {
        self.layers.resize_with(coding.plan.len(), || None);
        let now = Instant::now();
        let mut out = Vec::with_capacity(coding.plan.len());
        for (i, spec) in coding.plan.iter().enumerate() {
            let request =
                (requests.keyframe.get(i).copied().unwrap_or(false), requests.estimate.get(i).copied().flatten());
            let encoded = encode_layer(&mut self.layers[i], coding, spec, captured, request, now);
            out.push(encoded.unwrap_or_else(|e| {
                tracing::debug!(error = %e, layer = i, "video frame not encoded");
                None
            }));
        }
        out
    }
}

/// Encodes a captured frame for one layer, (re)making its encoder as needed.
fn encode_layer(
    slot: &mut Option<Layer>,
    coding: &Coding<'_>,
    spec: &LayerSpec,
    captured: &Captured<'_>,
    (asked, estimate): (bool, Option<(Instant, u64)>),
    now: Instant,
) -> Result<Option<EncodedFrame>> {
    let (codec, announced) = (coding.codec, coding.announced);
    let Captured { frame, timestamp, publish } = *captured;
    let (width, height) = spec.size_for(announced, frame.width, frame.height);
    let max_bitrate = spec.max_bitrate;
    let settings = EncoderSettings { width, height, max_bitrate, max_framerate: spec.max_framerate };
    let mut keyframe = publish;
    if slot.as_ref().is_none_or(|l| l.codec != codec || l.settings != settings) {
        let pacer = slot.take().map(|l| l.pacer).unwrap_or_default();
        *slot = Some(Layer {
            codec,
            settings,
            encoder: VideoEncoder::new(codec, settings)?,
            scaler: None,
            bitrate: BitrateTarget::new(max_bitrate),
            last_keyframe: None,
            asked: false,
            pacer,
        });
        keyframe = true;
    }
    let Some(layer) = slot.as_mut() else { return Ok(None) };
    layer.asked |= asked;
    if let Some((at, bitrate)) = estimate {
        layer.bitrate.on_estimate(at, bitrate);
    }
    if !layer.pacer.due(timestamp, spec.max_framerate) && !keyframe {
        return Ok(None);
    }
    if let Some(target) = layer.bitrate.poll(now) {
        layer.encoder.set_bitrate(target, settings)?;
    }
    if layer.asked && layer.last_keyframe.is_none_or(|t| now.saturating_duration_since(t) >= KEYFRAME_REQUEST_INTERVAL)
    {
        keyframe = true;
    }
    if keyframe {
        layer.asked = false;
        layer.encoder.request_keyframe();
        layer.last_keyframe = Some(now);
    }
    let picture = if (width, height) == (frame.width, frame.height) {
        Cow::Borrowed(frame)
    } else {
        let from = (frame.width, frame.height);
        if layer.scaler.as_ref().is_none_or(|s| s.sizes() != (from, (width, height))) {
            layer.scaler = Some(I420Scaler::new(from, (width, height))?);
        }
        let Some(scaler) = layer.scaler.as_ref() else { return Ok(None) };
        Cow::Owned(scaler.scale(frame)?)
    };
    let encoded = layer.encoder.encode(&picture, timestamp)?;
    // Empty: rate control dropped it.
    Ok((!encoded.data.is_empty()).then_some(encoded))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Process CPU time so far (user + system, from /proc), in ms.
    fn cpu_ms() -> u64 {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
        let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
        // utime and stime are fields 14 and 15 of the line, in clock ticks (100 Hz).
        (fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()) * 10
    }

    /// A figure, not a check: CPU per second of 720p30 video for one layer and for three
    /// (`cargo test -p lkrtc-engine --lib encode_cpu -- --ignored --nocapture`).
    #[test]
    #[ignore]
    fn encode_cpu_720p30_one_layer_and_three() {
        use super::super::layers::layer_plan;
        use super::super::VideoBufferType;
        // A moving gradient, so that every frame has something to code (made beforehand).
        let frames: Vec<VideoFrame> = (0..90u32)
            .map(|i| {
                let mut data = vec![128u8; 1280 * 720 * 3 / 2];
                for (p, v) in data[..1280 * 720].iter_mut().enumerate() {
                    *v = ((p as u32 % 1280 + i * 8) / 5 % 256) as u8;
                }
                VideoFrame::new(VideoBufferType::I420, 1280, 720, data).unwrap()
            })
            .collect();
        // Each configuration twice, in both orders (the first run of a codec warms it up).
        for codec in [VideoCodec::Vp8, VideoCodec::H264] {
            for simulcast in [true, false, false, true] {
                let plan = layer_plan(1280, 720, 1_700_000, 30, simulcast);
                let coding = Coding { codec, plan: &plan, announced: (1280, 720) };
                let mut encoders = LayerEncoders::default();
                let requests = Requests::default();
                let (t0, c0) = (Instant::now(), cpu_ms());
                for (i, frame) in (0u32..).zip(&frames) {
                    let captured = Captured { frame, timestamp: i * 3_000, publish: i == 0 };
                    encoders.encode(&coding, &captured, &requests);
                }
                let (wall, cpu) = (t0.elapsed().as_millis(), cpu_ms() - c0);
                println!(
                    "{codec:?} {} layer(s): {cpu} ms CPU ({wall} ms wall) for 3 s of 720p30 = {:.0} % of a core",
                    plan.len(),
                    cpu as f64 / 30.0
                );
            }
        }
    }

    #[test]
    fn the_pacer_keeps_a_layer_under_its_frame_rate() {
        let count = |fps: u32| {
            let mut pacer = FramePacer::default();
            // 3 s of 30 fps capture, with some jitter.
            (0..90u32).filter(|i| pacer.due(1_000 + i * 3_000 + (i % 3) * 100, fps)).count()
        };
        assert_eq!(count(30), 90);
        assert_eq!(count(20), 60);
        assert_eq!(count(15), 45);
    }
}
