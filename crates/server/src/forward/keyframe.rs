//! Keyframe detection on RTP payloads, per video codec: a subscriber can only start (or
//! switch layers) on a keyframe. VP8 and VP9 payload descriptors are read with the `rtc`
//! crate's depacketizers; H.264 and AV1 need one header byte (or two), read here.

use bytes::Bytes;
use rtc::rtp::codec::vp8::Vp8Packet;
use rtc::rtp::codec::vp9::Vp9Packet;
use rtc::rtp::packetizer::Depacketizer;

/// The video codecs the server forwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VideoCodec {
    /// `video/VP8`.
    Vp8,
    /// `video/VP9`.
    Vp9,
    /// `video/H264`.
    H264,
    /// `video/AV1`.
    Av1,
}

impl VideoCodec {
    /// The codec of a mime type (`video/VP8`...), if it is one the server can inspect.
    pub fn from_mime(mime: &str) -> Option<Self> {
        let name = mime.rsplit('/').next()?;
        match name.to_ascii_lowercase().as_str() {
            "vp8" => Some(Self::Vp8),
            "vp9" => Some(Self::Vp9),
            "h264" => Some(Self::H264),
            "av1" => Some(Self::Av1),
            _ => None,
        }
    }

    /// Whether `payload` (an RTP payload of this codec) starts a keyframe.
    pub fn is_keyframe(self, payload: &Bytes) -> bool {
        match self {
            Self::Vp8 => vp8_keyframe(payload),
            Self::Vp9 => vp9_keyframe(payload),
            Self::H264 => h264_keyframe(payload),
            Self::Av1 => av1_keyframe(payload),
        }
    }
}

/// VP8: the first packet of partition 0 whose frame header has the inter-frame bit clear.
fn vp8_keyframe(payload: &Bytes) -> bool {
    let mut vp8 = Vp8Packet::default();
    let Ok(frame) = vp8.depacketize(payload) else { return false };
    vp8.s == 1 && vp8.pid == 0 && frame.first().is_some_and(|b| b & 0x01 == 0)
}

/// VP9: the beginning of a frame that is not inter-predicted, on the base spatial layer.
fn vp9_keyframe(payload: &Bytes) -> bool {
    let mut vp9 = Vp9Packet::default();
    vp9.depacketize(payload).is_ok() && !vp9.p && vp9.b && vp9.sid == 0
}

/// H.264 NAL unit types that start a keyframe: an IDR slice, or the SPS sent before it.
fn h264_starts_keyframe(nal_type: u8) -> bool {
    matches!(nal_type, 5 | 7)
}

/// H.264 (RFC 6184): a single NAL unit, a STAP-A aggregate holding one, or the first
/// fragment of a FU-A, of an IDR slice or an SPS.
fn h264_keyframe(payload: &Bytes) -> bool {
    let Some(&first) = payload.first() else { return false };
    match first & 0x1f {
        // STAP-A: 16-bit size, then the NAL unit, repeated.
        24 => {
            let mut rest = &payload[1..];
            while rest.len() > 2 {
                let size = u16::from_be_bytes([rest[0], rest[1]]) as usize;
                let Some(nal) = rest.get(2..2 + size) else { return false };
                if nal.first().is_some_and(|h| h264_starts_keyframe(h & 0x1f)) {
                    return true;
                }
                rest = &rest[2 + size..];
            }
            false
        }
        // FU-A: the start bit and the fragmented unit's type in the FU header.
        28 => payload.get(1).is_some_and(|fu| fu & 0x80 != 0 && h264_starts_keyframe(fu & 0x1f)),
        nal => h264_starts_keyframe(nal),
    }
}

/// AV1 (RTP payload format for AV1, section 4.4): the aggregation header's N bit marks the
/// first packet of a coded video sequence, which starts with a keyframe.
fn av1_keyframe(payload: &Bytes) -> bool {
    payload.first().is_some_and(|b| b & 0x08 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(codec: VideoCodec, payload: &[u8]) -> bool {
        codec.is_keyframe(&Bytes::copy_from_slice(payload))
    }

    #[test]
    fn mime_types() {
        assert_eq!(VideoCodec::from_mime("video/VP8"), Some(VideoCodec::Vp8));
        assert_eq!(VideoCodec::from_mime("video/h264"), Some(VideoCodec::H264));
        assert_eq!(VideoCodec::from_mime("video/AV1"), Some(VideoCodec::Av1));
        assert_eq!(VideoCodec::from_mime("video/vp9"), Some(VideoCodec::Vp9));
        assert_eq!(VideoCodec::from_mime("audio/opus"), None);
    }

    #[test]
    fn vp8() {
        // X=1 S=1 PID=0; I=1 with a 15-bit picture id; frame header P=0 (key).
        assert!(check(VideoCodec::Vp8, &[0x90, 0x80, 0x81, 0x23, 0x10, 0x02, 0x00, 0x9d]));
        // Same, P=1 (inter frame).
        assert!(!check(VideoCodec::Vp8, &[0x90, 0x80, 0x81, 0x23, 0x11, 0x02, 0x00, 0x9d]));
        // Not the start of the partition.
        assert!(!check(VideoCodec::Vp8, &[0x80, 0x80, 0x81, 0x23, 0x10, 0x02, 0x00]));
        // Truncated descriptors are not keyframes (and do not panic).
        assert!(!check(VideoCodec::Vp8, &[0x90]));
        assert!(!check(VideoCodec::Vp8, &[]));
        assert!(!check(VideoCodec::Vp8, &[0x90, 0xff, 0xff, 0xff]));
    }

    #[test]
    fn vp9() {
        // I=0 P=0 B=1: starts a keyframe.
        assert!(check(VideoCodec::Vp9, &[0x08, 0x00, 0x00]));
        // P=1: inter-predicted.
        assert!(!check(VideoCodec::Vp9, &[0x48, 0x00]));
        // B=0: not the beginning of the frame.
        assert!(!check(VideoCodec::Vp9, &[0x00, 0x00]));
        // L=1 with spatial layer 1: not the base layer.
        assert!(!check(VideoCodec::Vp9, &[0x28, 0x02, 0x00, 0x00]));
        assert!(!check(VideoCodec::Vp9, &[]));
        assert!(!check(VideoCodec::Vp9, &[0xa8]));
    }

    #[test]
    fn h264() {
        assert!(check(VideoCodec::H264, &[0x65, 0x88])); // IDR
        assert!(check(VideoCodec::H264, &[0x67, 0x42])); // SPS
        assert!(!check(VideoCodec::H264, &[0x41, 0x9a])); // non-IDR slice
                                                          // STAP-A with an SPS then a PPS.
        assert!(check(VideoCodec::H264, &[0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x01, 0x68]));
        // STAP-A with a truncated size.
        assert!(!check(VideoCodec::H264, &[0x78, 0x00, 0x09, 0x41]));
        // FU-A start of an IDR; FU-A continuation of one.
        assert!(check(VideoCodec::H264, &[0x7c, 0x85, 0x00]));
        assert!(!check(VideoCodec::H264, &[0x7c, 0x05, 0x00]));
        assert!(!check(VideoCodec::H264, &[0x7c]));
        assert!(!check(VideoCodec::H264, &[]));
    }

    #[test]
    fn av1() {
        assert!(check(VideoCodec::Av1, &[0x18, 0x00]));
        assert!(!check(VideoCodec::Av1, &[0x10, 0x00]));
        assert!(!check(VideoCodec::Av1, &[]));
    }
}
