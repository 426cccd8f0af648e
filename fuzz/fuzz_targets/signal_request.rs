#![no_main]
//! Server: a WebSocket signal frame (SignalRequest) and the parsers its dispatch runs.

libfuzzer_sys::fuzz_target!(|data: &[u8]| lkrtc_server::fuzz::signal_frame(data));
