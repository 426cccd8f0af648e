//! H.264 on OpenH264 (the `openh264` crate, built from its bundled source: no system
//! library): an [`Encoder`] in real-time mode with bitrate rate control capped at the
//! track's max bitrate and keyframes (IDR) on request, and a [`Decoder`] that survives a
//! corrupt frame and, after loss, waits for a keyframe.
//!
//! Frames are Annex B byte streams (start codes before each NAL unit).

use bytes::Bytes;
use openh264::decoder::Decoder as H264Decoder;
use openh264::encoder::{
    BitRate, Complexity, Encoder as H264Encoder, EncoderConfig, FrameRate, RateControlMode, UsageType,
};
use openh264::formats::YUVSource;
use openh264::OpenH264API;

use super::frame::{plane_layout, VideoBufferType, VideoFrame};
use super::KeyframeGate;
use crate::error::Result;
use crate::media::{Decoder, EncodedFrame, Encoder};
use crate::EngineError;

fn codec_err(what: &'static str) -> impl FnOnce(openh264::Error) -> EngineError {
    move |e| EngineError::Rtc(format!("H.264 {what}: {e}").into())
}

/// Settings of a video encoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncoderSettings {
    /// Picture width in pixels (even).
    pub width: u32,
    /// Picture height in pixels (even).
    pub height: u32,
    /// Target (and ceiling) bitrate in bits per second.
    pub max_bitrate: u32,
    /// Frames per second the source delivers (the rate control's per-frame budget).
    pub max_framerate: u32,
}

/// An I420 [`VideoFrame`] as OpenH264 reads it.
struct I420<'a>(&'a VideoFrame);

impl YUVSource for I420<'_> {
    fn dimensions(&self) -> (usize, usize) {
        (self.0.width as usize, self.0.height as usize)
    }

    fn strides(&self) -> (usize, usize, usize) {
        let l = self.0.planes();
        (l[0].stride, l[1].stride, l[2].stride)
    }

    fn y(&self) -> &[u8] {
        self.0.planes()[0].slice(&self.0.data)
    }

    fn u(&self) -> &[u8] {
        self.0.planes()[1].slice(&self.0.data)
    }

    fn v(&self) -> &[u8] {
        self.0.planes()[2].slice(&self.0.data)
    }
}

/// An H.264 encoder of I420 frames.
pub struct H264VideoEncoder {
    inner: H264Encoder,
    settings: EncoderSettings,
}

impl H264VideoEncoder {
    /// A real-time camera encoder with bitrate rate control at `max_bitrate`. Rate control
    /// may skip a frame to stay under it (OpenH264 cannot cap the bitrate otherwise): the
    /// frame then comes out with no data. Low complexity, OpenH264's own default and what
    /// libwebrtc runs it with (the `openh264` crate defaults to medium, which costs more
    /// CPU per frame at the same bitrate).
    pub fn new(settings: EncoderSettings) -> Result<Self> {
        let EncoderSettings { width, height, max_bitrate, max_framerate } = settings;
        if width == 0 || height == 0 || width % 2 == 1 || height % 2 == 1 || max_bitrate == 0 || max_framerate == 0 {
            return Err(EngineError::InvalidArgument(format!(
                "H.264 encoder settings {settings:?}: sizes must be even and every figure positive"
            )));
        }
        let config = EncoderConfig::new()
            .bitrate(BitRate::from_bps(max_bitrate))
            .max_frame_rate(FrameRate::from_hz(max_framerate as f32))
            .usage_type(UsageType::CameraVideoRealTime)
            .complexity(Complexity::Low)
            .rate_control_mode(RateControlMode::Bitrate)
            .skip_frames(true)
            .num_threads(1);
        let inner = H264Encoder::with_api_config(OpenH264API::from_source(), config).map_err(codec_err("init"))?;
        Ok(Self { inner, settings })
    }

    /// The next frame is a keyframe (IDR).
    pub fn request_keyframe(&mut self) {
        self.inner.force_intra_frame();
    }
}

impl Encoder for H264VideoEncoder {
    type Input = VideoFrame;

    /// Encodes an I420 frame of the encoder's size; empty `data` when rate control skipped it.
    fn encode_frame(&mut self, input: &VideoFrame, timestamp: u32) -> Result<EncodedFrame> {
        let s = self.settings;
        if input.ty != VideoBufferType::I420 || input.width != s.width || input.height != s.height {
            return Err(EngineError::InvalidArgument(format!(
                "H.264 encoder of {}x{} I420 given a {}x{} {:?} frame",
                s.width, s.height, input.width, input.height, input.ty
            )));
        }
        let stream = self.inner.encode(&I420(input)).map_err(codec_err("encode"))?;
        Ok(EncodedFrame { data: Bytes::from(stream.to_vec()), timestamp })
    }
}

/// Whether an Annex B H.264 frame holds an IDR slice (NAL unit type 5).
pub fn is_keyframe(frame: &[u8]) -> bool {
    openh264::nal_units(frame).any(|nal| {
        let header = nal.iter().position(|&b| b != 0).map(|i| i + 1);
        header.and_then(|i| nal.get(i)).is_some_and(|b| b & 0x1f == 5)
    })
}

/// An H.264 decoder producing I420 frames.
pub struct H264VideoDecoder {
    inner: H264Decoder,
    gate: KeyframeGate,
}

impl H264VideoDecoder {
    /// A decoder (the size comes from the stream).
    pub fn new() -> Result<Self> {
        Ok(Self { inner: H264Decoder::new().map_err(codec_err("init"))?, gate: KeyframeGate::new() })
    }
}

impl Decoder for H264VideoDecoder {
    type Output = VideoFrame;

    fn needs_keyframe(&self) -> bool {
        self.gate.waiting()
    }

    /// Decodes a frame; after loss or a frame that failed, skips frames until a keyframe
    /// (an `Ok` with no output). A frame OpenH264 refuses is an error and leaves the
    /// decoder usable.
    fn decode_frame(&mut self, frame: &EncodedFrame, lost: u16, out: &mut dyn FnMut(&VideoFrame)) -> Result<()> {
        let inner = &mut self.inner;
        let decoded = self
            .gate
            .pass(lost, is_keyframe(&frame.data), || inner.decode(&frame.data).map_err(codec_err("decode")))?;
        let Some(yuv) = decoded.flatten() else { return Ok(()) };
        let (w, h) = yuv.dimensions();
        let (width, height) = (w as u32, h as u32);
        // OpenH264 pads its rows; copy each plane's visible part into the packed layout.
        let layout = plane_layout(VideoBufferType::I420, width, height);
        let mut data = vec![0u8; layout.iter().map(|p| p.size()).sum()];
        let (ys, us, vs) = yuv.strides();
        for (p, (src, src_stride)) in layout.iter().zip([(yuv.y(), ys), (yuv.u(), us), (yuv.v(), vs)]) {
            let dst = p.slice_mut(&mut data);
            for (row, dst_row) in dst.chunks_exact_mut(p.stride).enumerate() {
                dst_row.copy_from_slice(&src[row * src_stride..][..p.stride]);
            }
        }
        out(&VideoFrame { ty: VideoBufferType::I420, width, height, data });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::video::codec_tests::{self as checks, picture, Codec, H, W};
    use crate::media::video::convert;

    struct H264;

    impl Codec for H264 {
        type Enc = H264VideoEncoder;
        type Dec = H264VideoDecoder;
        fn encoder(max_bitrate: u32) -> H264VideoEncoder {
            H264VideoEncoder::new(EncoderSettings { width: W, height: H, max_bitrate, max_framerate: 30 }).unwrap()
        }
        fn request_keyframe(enc: &mut H264VideoEncoder) {
            enc.request_keyframe();
        }
        fn decoder() -> H264VideoDecoder {
            H264VideoDecoder::new().unwrap()
        }
        fn needs_keyframe(dec: &H264VideoDecoder) -> bool {
            dec.needs_keyframe()
        }
        fn is_keyframe(frame: &[u8]) -> bool {
            is_keyframe(frame)
        }
    }

    fn encoder(max_bitrate: u32) -> H264VideoEncoder {
        H264::encoder(max_bitrate)
    }

    #[test]
    fn round_trip_keeps_the_picture() {
        checks::round_trip_keeps_the_picture::<H264>();
    }

    #[test]
    fn keyframe_on_request() {
        checks::keyframe_on_request::<H264>();
    }

    #[test]
    fn rate_control_honours_the_max_bitrate() {
        checks::rate_control_honours_the_max_bitrate::<H264>();
    }

    #[test]
    fn decoder_survives_corrupt_and_missing_frames() {
        checks::decoder_survives_corrupt_and_missing_frames::<H264>();
    }

    #[test]
    fn odd_sizes_and_wrong_frames_are_invalid_arguments() {
        let odd = H264VideoEncoder::new(EncoderSettings { width: 321, height: 240, max_bitrate: 1, max_framerate: 30 });
        assert_eq!(odd.err().map(|e| e.code()), Some("ERR_INVALID_ARG"));
        let mut enc = encoder(500_000);
        let small = picture(100, 0);
        let rgba = convert(VideoBufferType::I420, W, H, &small.data, VideoBufferType::Rgba, false).unwrap();
        assert_eq!(enc.encode_frame(&rgba, 0).unwrap_err().code(), "ERR_INVALID_ARG");
    }

    /// Encode cost of 720p30 at 2.5 Mb/s (run with `--ignored --nocapture`; a figure, not a check).
    #[test]
    #[ignore = "a measurement"]
    fn encode_cost_720p() {
        checks::encode_cost_720p("H.264", |settings| H264VideoEncoder::new(settings).unwrap());
    }
}
