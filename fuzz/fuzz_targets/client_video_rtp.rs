#![no_main]
//! Client: RTP packets of a remote video track (VP8, H.264 or VP9) depacketised and decoded.

libfuzzer_sys::fuzz_target!(|data: &[u8]| lkrtc_engine::fuzz::video_rtp(data));
