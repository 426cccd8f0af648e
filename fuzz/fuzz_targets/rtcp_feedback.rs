#![no_main]
//! Server: RTCP from a subscriber (compound parse, feedback split, NACKs answered).

libfuzzer_sys::fuzz_target!(|data: &[u8]| lkrtc_server::fuzz::rtcp_feedback(data));
