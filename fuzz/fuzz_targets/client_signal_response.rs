#![no_main]
//! Client: a signalling frame from the server (SignalResponse) and what the engine parses in it.

libfuzzer_sys::fuzz_target!(|data: &[u8]| lkrtc_engine::fuzz::signal_response(data));
