//! Tests every video codec passes, written once: a codec's tests module implements
//! [`Codec`] and calls each check.

use bytes::Bytes;

use super::h264::EncoderSettings;
use super::{buffer_len, convert, VideoBufferType, VideoFrame};
use crate::media::{Decoder, EncodedFrame, Encoder};

pub(super) const W: u32 = 320;
pub(super) const H: u32 = 240;

/// A codec under test.
pub(super) trait Codec {
    type Enc: Encoder<Input = VideoFrame>;
    type Dec: Decoder<Output = VideoFrame>;
    /// A 320x240 encoder at 30 fps.
    fn encoder(max_bitrate: u32) -> Self::Enc;
    fn request_keyframe(enc: &mut Self::Enc);
    fn decoder() -> Self::Dec;
    fn needs_keyframe(dec: &Self::Dec) -> bool;
    fn is_keyframe(frame: &[u8]) -> bool;
}

/// An I420 frame: grey at `luma`, with a red top-left quadrant, plus moving noise so
/// that the encoder has work to do.
pub(super) fn picture(luma: u8, seed: u32) -> VideoFrame {
    let mut rgba = vec![0u8; (W * H * 4) as usize];
    for (i, px) in rgba.chunks_exact_mut(4).enumerate() {
        let (x, y) = (i as u32 % W, i as u32 / W);
        let noise = ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed.wrapping_mul(97)) >> 28) as u8;
        let v = luma.saturating_add(noise);
        px.copy_from_slice(&if x < W / 2 && y < H / 2 { [230, 20, 20, 255] } else { [v, v, v, 255] });
    }
    convert(VideoBufferType::Rgba, W, H, &rgba, VideoBufferType::I420, false).unwrap()
}

pub(super) fn decode_all<D: Decoder<Output = VideoFrame>>(dec: &mut D, frame: &EncodedFrame) -> Vec<VideoFrame> {
    let mut got = Vec::new();
    dec.decode_frame(frame, 0, &mut |f| got.push(f.clone())).unwrap();
    got
}

/// Mean of the Y plane over a rectangle.
fn mean_luma(f: &VideoFrame, x0: u32, y0: u32, x1: u32, y1: u32) -> f64 {
    let mut sum = 0u64;
    for y in y0..y1 {
        for x in x0..x1 {
            sum += u64::from(f.data[(y * f.width + x) as usize]);
        }
    }
    sum as f64 / f64::from((x1 - x0) * (y1 - y0))
}

/// Encoded then decoded, the red quadrant stays top-left and a brightness flip is followed.
pub(super) fn round_trip_keeps_the_picture<C: Codec>() {
    let mut enc = C::encoder(1_000_000);
    let mut dec = C::decoder();
    for i in 0..30u32 {
        let luma = if i < 15 { 40 } else { 200 };
        let frame = enc.encode_frame(&picture(luma, i), i * 3000).unwrap();
        assert_eq!(C::is_keyframe(&frame.data), i == 0, "frame {i}");
        let got = decode_all(&mut dec, &frame);
        assert_eq!(got.len(), 1, "frame {i} decodes to one picture");
        let f = &got[0];
        assert_eq!((f.width, f.height, f.ty), (W, H, VideoBufferType::I420));
        // The red quadrant stays top-left (red's luma is about 70); the rest follows luma.
        let rgba = convert(VideoBufferType::I420, W, H, &f.data, VideoBufferType::Rgba, false).unwrap();
        let px = |x: u32, y: u32| &rgba.data[((y * W + x) * 4) as usize..][..3];
        let red = px(W / 4, H / 4);
        assert!(red[0] > 180 && red[1] < 70 && red[2] < 70, "frame {i}: top-left is {red:?}");
        let other = px(3 * W / 4, 3 * H / 4);
        assert!(other[0] < 120 || other[1] > 120, "frame {i}: bottom-right is {other:?}");
        let bright = mean_luma(f, W / 2, H / 2, W, H);
        if i >= 20 {
            assert!(bright > 160.0, "frame {i}: luma {bright}");
        } else if (3..15).contains(&i) {
            assert!(bright < 90.0, "frame {i}: luma {bright}");
        }
    }
}

/// Only the first frame and the one after a request are keyframes.
pub(super) fn keyframe_on_request<C: Codec>() {
    let mut enc = C::encoder(500_000);
    let kinds: Vec<bool> = (0..6u32)
        .map(|i| {
            if i == 4 {
                C::request_keyframe(&mut enc);
            }
            C::is_keyframe(&enc.encode_frame(&picture(100, i), i * 3000).unwrap().data)
        })
        .collect();
    assert_eq!(kinds, [true, false, false, false, true, false]);
}

/// An I420 frame of noise that changes every frame (as hard to compress as it gets).
fn noise(seed: u32) -> VideoFrame {
    let mut x = seed.wrapping_mul(2_654_435_761) | 1;
    let mut data = vec![128u8; buffer_len(VideoBufferType::I420, W, H)];
    for b in &mut data[..(W * H) as usize] {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = (x >> 24) as u8;
    }
    VideoFrame { ty: VideoBufferType::I420, width: W, height: H, data }
}

/// Over 3 s of noise after the first second, the bitrate stays under 1.3x the cap and
/// uses at least a quarter of it.
pub(super) fn rate_control_honours_the_max_bitrate<C: Codec>() {
    let max = 300_000;
    let mut enc = C::encoder(max);
    let (mut bits, mut sent) = (0u64, 0);
    for i in 0..120u32 {
        let f = enc.encode_frame(&noise(i + 1), i * 3000).unwrap();
        if i >= 30 {
            bits += 8 * f.data.len() as u64;
            sent += usize::from(!f.data.is_empty());
        }
    }
    let bps = bits / 3;
    assert!(bps < u64::from(max) * 13 / 10, "{bps} b/s against a {max} b/s cap");
    assert!(bps > u64::from(max) / 4, "{bps} b/s: the encoder should use its budget");
    assert!(sent > 0, "some frames are sent");
}

/// Garbage gives an error or nothing (never a panic); after a loss, delta frames are
/// skipped until a keyframe, which decodes.
pub(super) fn decoder_survives_corrupt_and_missing_frames<C: Codec>() {
    let mut enc = C::encoder(500_000);
    let mut dec = C::decoder();
    let frames: Vec<EncodedFrame> = (0..6u32).map(|i| enc.encode_frame(&picture(100, i), i * 3000).unwrap()).collect();
    assert_eq!(decode_all(&mut dec, &frames[0]).len(), 1);
    let mut junk = frames[1].data.to_vec();
    junk.truncate(junk.len() / 3);
    junk.iter_mut().skip(3).for_each(|b| *b ^= 0x5a);
    let corrupt = EncodedFrame { data: Bytes::from(junk), timestamp: 3000 };
    let mut n = 0;
    let _ = dec.decode_frame(&corrupt, 0, &mut |_| n += 1);
    let empty = EncodedFrame { data: Bytes::new(), timestamp: 3000 };
    let _ = dec.decode_frame(&empty, 0, &mut |_| n += 1);
    let mut after_loss = 0;
    dec.decode_frame(&frames[3], 1, &mut |_| after_loss += 1).unwrap();
    assert_eq!(after_loss, 0);
    assert!(C::needs_keyframe(&dec));
    C::request_keyframe(&mut enc);
    let key = enc.encode_frame(&picture(100, 9), 30_000).unwrap();
    assert_eq!(decode_all(&mut dec, &key).len(), 1);
    assert!(!C::needs_keyframe(&dec));
    let next = enc.encode_frame(&picture(100, 10), 33_000).unwrap();
    assert_eq!(decode_all(&mut dec, &next).len(), 1);
}

/// Prints the encode cost of 720p30 at 2.5 Mb/s on a synthetic moving pattern.
pub(super) fn encode_cost_720p<E: Encoder<Input = VideoFrame>>(name: &str, make: impl FnOnce(EncoderSettings) -> E) {
    let (w, h) = (1280u32, 720u32);
    let mut enc = make(EncoderSettings { width: w, height: h, max_bitrate: 2_500_000, max_framerate: 30 });
    let frames: Vec<VideoFrame> = (0..10u32)
        .map(|k| {
            let rgba: Vec<u8> =
                (0..w * h * 4).map(|i| ((i / 4 % w + k * 8) ^ (i / 4 / w)).wrapping_mul(3) as u8).collect();
            convert(VideoBufferType::Rgba, w, h, &rgba, VideoBufferType::I420, false).unwrap()
        })
        .collect();
    let start = std::time::Instant::now();
    let mut bytes = 0;
    for i in 0..90u32 {
        bytes += enc.encode_frame(&frames[(i % 10) as usize], i * 3000).unwrap().data.len();
    }
    let ms = start.elapsed().as_secs_f64() * 1000.0 / 90.0;
    println!(
        "{name} 720p: {ms:.2} ms/frame ({:.0}% of one core at 30 fps), {} kb/s",
        ms * 3.0,
        bytes * 8 * 30 / 90 / 1000
    );
}
