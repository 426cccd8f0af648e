#![no_main]
//! Server: SDP text from offers and answers (first mid, audio-level id, sending tracks).

libfuzzer_sys::fuzz_target!(|data: &[u8]| lkrtc_server::fuzz::sdp(data));
