//! libvpx (through `lkrtc-vpx`, the workspace's one crate with unsafe code, over Debian's
//! static libvpx): a VP8 [`Encoder`] in real-time mode with constant-bitrate rate control
//! at the track's max bitrate and keyframes on request, and a VP8/VP9 [`Decoder`] that
//! reports a frame it cannot decode as an error, keeps going, and after loss waits for a
//! keyframe.

use bytes::Bytes;
use lkrtc_vpx::{EncoderConfig, VpxCodec, VpxError};

use super::frame::{VideoBufferType, VideoFrame};
use super::h264::EncoderSettings;
use super::KeyframeGate;
use crate::error::Result;
use crate::media::{Decoder, EncodedFrame, Encoder};
use crate::EngineError;

/// RTP clock rate of video.
const CLOCK_RATE: u32 = 90_000;

fn codec_err(e: VpxError) -> EngineError {
    match e {
        VpxError::InvalidArgument(what) => EngineError::InvalidArgument(what),
        e @ VpxError::Codec { .. } => EngineError::Rtc(e.into()),
    }
}

/// Encoder threads for a picture of `pixels` on a machine of `cpus` cores (libwebrtc's
/// rule): extra threads only where cores are to spare, since libvpx's threads wait for each
/// other by spinning, which on a busy machine burns the CPU the encoding needs.
fn threads_for(pixels: u32, cpus: usize) -> u32 {
    match (pixels, cpus) {
        (p, c) if p >= 1920 * 1080 && c > 8 => 8,
        (p, c) if p >= 1280 * 960 && c > 6 => 3,
        (p, c) if p >= 640 * 480 && c > 3 => 2,
        _ => 1,
    }
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// A VP8 or VP9 encoder of I420 frames.
pub struct VpxVideoEncoder {
    inner: lkrtc_vpx::VpxEncoder,
    settings: EncoderSettings,
    keyframe_requested: bool,
    /// RTP timestamp of the previous frame and the rising 64-bit time derived from it
    /// (libvpx wants presentation times that never go back; RTP time wraps).
    last: Option<(u32, i64)>,
}

impl VpxVideoEncoder {
    /// A real-time `codec` encoder at `max_bitrate` (CBR), error resilient. Rate control may
    /// drop a picture to stay under the bitrate: the frame then comes out with no data.
    pub fn new(codec: VpxCodec, settings: EncoderSettings) -> Result<Self> {
        let EncoderSettings { width, height, max_bitrate, max_framerate } = settings;
        if max_framerate == 0 {
            return Err(EngineError::InvalidArgument(format!("{codec:?} encoder settings {settings:?}")));
        }
        let config = EncoderConfig {
            width,
            height,
            bitrate_bps: max_bitrate,
            threads: threads_for(width.saturating_mul(height), cpus()),
        };
        let inner = lkrtc_vpx::VpxEncoder::new(codec, config).map_err(codec_err)?;
        Ok(Self { inner, settings, keyframe_requested: true, last: None })
    }

    /// The next frame is a keyframe.
    pub fn request_keyframe(&mut self) {
        self.keyframe_requested = true;
    }

    /// Changes the target bitrate (for the server's bandwidth estimate), from the next frame.
    pub fn set_bitrate(&mut self, bitrate: u32) -> Result<()> {
        self.inner.set_bitrate(bitrate).map_err(codec_err)
    }
}

impl Encoder for VpxVideoEncoder {
    type Input = VideoFrame;

    /// Encodes an I420 frame of the encoder's size; empty `data` when rate control dropped it.
    fn encode_frame(&mut self, input: &VideoFrame, timestamp: u32) -> Result<EncodedFrame> {
        let s = self.settings;
        if input.ty != VideoBufferType::I420 || input.width != s.width || input.height != s.height {
            return Err(EngineError::InvalidArgument(format!(
                "encoder of {}x{} I420 given a {}x{} {:?} frame",
                s.width, s.height, input.width, input.height, input.ty
            )));
        }
        let pts = match self.last {
            None => 0,
            Some((prev, pts)) => pts + i64::from(timestamp.wrapping_sub(prev).max(1)),
        };
        self.last = Some((timestamp, pts));
        let keyframe = std::mem::take(&mut self.keyframe_requested);
        let duration = u64::from(CLOCK_RATE / s.max_framerate.max(1));
        let frame = self.inner.encode(&input.data, pts, duration, keyframe).map_err(codec_err)?;
        Ok(EncodedFrame { data: Bytes::from(frame.data), timestamp })
    }
}

pub use lkrtc_vpx::is_keyframe;

/// A VP8 or VP9 decoder producing I420 frames.
pub struct VpxVideoDecoder {
    inner: lkrtc_vpx::VpxDecoder,
    gate: KeyframeGate,
}

impl VpxVideoDecoder {
    /// A `codec` decoder (the size comes from the stream).
    pub fn new(codec: VpxCodec) -> Result<Self> {
        Ok(Self { inner: lkrtc_vpx::VpxDecoder::new(codec).map_err(codec_err)?, gate: KeyframeGate::new() })
    }
}

impl Decoder for VpxVideoDecoder {
    type Output = VideoFrame;

    fn needs_keyframe(&self) -> bool {
        self.gate.waiting()
    }

    /// Decodes a frame; after loss or a frame that failed, skips frames until a keyframe
    /// (an `Ok` with no output). A frame libvpx refuses is an error and leaves the decoder
    /// usable.
    fn decode_frame(&mut self, frame: &EncodedFrame, lost: u16, out: &mut dyn FnMut(&VideoFrame)) -> Result<()> {
        let inner = &mut self.inner;
        let keyframe = inner.codec().is_keyframe(&frame.data);
        let decoded = self.gate.pass(lost, keyframe, || inner.decode(&frame.data).map_err(codec_err))?;
        for p in decoded.into_iter().flatten() {
            out(&VideoFrame { ty: VideoBufferType::I420, width: p.width, height: p.height, data: p.data });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::video::codec_tests::{self as checks, decode_all, picture, Codec, H, W};
    use crate::media::video::convert;

    struct Vp8;

    impl Codec for Vp8 {
        type Enc = VpxVideoEncoder;
        type Dec = VpxVideoDecoder;
        fn encoder(max_bitrate: u32) -> VpxVideoEncoder {
            VpxVideoEncoder::new(VpxCodec::Vp8, EncoderSettings { width: W, height: H, max_bitrate, max_framerate: 30 })
                .unwrap()
        }
        fn request_keyframe(enc: &mut VpxVideoEncoder) {
            enc.request_keyframe();
        }
        fn decoder() -> VpxVideoDecoder {
            VpxVideoDecoder::new(VpxCodec::Vp8).unwrap()
        }
        fn needs_keyframe(dec: &VpxVideoDecoder) -> bool {
            dec.needs_keyframe()
        }
        fn is_keyframe(frame: &[u8]) -> bool {
            is_keyframe(frame)
        }
    }

    #[test]
    fn threads_only_where_cores_are_to_spare() {
        assert_eq!(threads_for(1280 * 720, 2), 1);
        assert_eq!(threads_for(1280 * 720, 4), 2);
        assert_eq!(threads_for(1920 * 1080, 16), 8);
        assert_eq!(threads_for(320 * 240, 64), 1);
    }

    #[test]
    fn round_trip_keeps_the_picture() {
        checks::round_trip_keeps_the_picture::<Vp8>();
    }

    #[test]
    fn keyframe_on_request() {
        checks::keyframe_on_request::<Vp8>();
    }

    #[test]
    fn rate_control_honours_the_max_bitrate() {
        checks::rate_control_honours_the_max_bitrate::<Vp8>();
    }

    #[test]
    fn decoder_survives_corrupt_and_missing_frames() {
        checks::decoder_survives_corrupt_and_missing_frames::<Vp8>();
    }

    #[test]
    fn a_corrupt_keyframe_is_an_error_and_the_next_keyframe_decodes() {
        let mut enc = Vp8::encoder(500_000);
        let mut dec = Vp8::decoder();
        let key = enc.encode_frame(&picture(100, 0), 0).unwrap();
        let mut junk = key.data.to_vec();
        junk.truncate(10);
        junk[3..].iter_mut().for_each(|b| *b ^= 0xa5);
        let corrupt = EncodedFrame { data: Bytes::from(junk), timestamp: 0 };
        let err = dec.decode_frame(&corrupt, 0, &mut |_| panic!("no picture from junk")).unwrap_err();
        assert_eq!(err.code(), "ERR_RTC", "{err}");
        assert!(dec.needs_keyframe());
        let empty = EncodedFrame { data: Bytes::new(), timestamp: 0 };
        assert!(dec.decode_frame(&empty, 0, &mut |_| ()).is_ok(), "an empty delta waits for a keyframe");
        enc.request_keyframe();
        let key = enc.encode_frame(&picture(100, 1), 3000).unwrap();
        assert_eq!(decode_all(&mut dec, &key).len(), 1);
    }

    #[test]
    fn wrong_frames_are_invalid_arguments_and_rtp_time_may_wrap() {
        let mut enc = Vp8::encoder(500_000);
        let rgba = convert(VideoBufferType::I420, W, H, &picture(100, 0).data, VideoBufferType::Rgba, false).unwrap();
        assert_eq!(enc.encode_frame(&rgba, 0).unwrap_err().code(), "ERR_INVALID_ARG");
        let bad = VpxVideoEncoder::new(
            VpxCodec::Vp8,
            EncoderSettings { width: 0, height: H, max_bitrate: 100_000, max_framerate: 30 },
        );
        assert_eq!(bad.err().map(|e| e.code()), Some("ERR_INVALID_ARG"));
        // Odd sizes are fine for VP8.
        assert!(VpxVideoEncoder::new(
            VpxCodec::Vp8,
            EncoderSettings { width: 321, height: 241, max_bitrate: 100_000, max_framerate: 30 }
        )
        .is_ok());
        let mut dec = Vp8::decoder();
        for (i, ts) in [u32::MAX - 6000, u32::MAX - 3000, 1704, 4704].into_iter().enumerate() {
            let f = enc.encode_frame(&picture(100, i as u32), ts).unwrap();
            assert_eq!(f.timestamp, ts);
            assert_eq!(decode_all(&mut dec, &f).len(), 1, "frame {i} across the RTP wrap");
        }
    }

    /// Encode cost of 720p30 at 2.5 Mb/s (run with `--ignored --nocapture`; a figure, not a check).
    #[test]
    #[ignore = "a measurement"]
    fn encode_cost_720p() {
        checks::encode_cost_720p("VP8", |settings| VpxVideoEncoder::new(VpxCodec::Vp8, settings).unwrap());
    }
}
