#![no_main]
//! Server: a data-channel packet (any kind, streams included) and the server's rewrite.

libfuzzer_sys::fuzz_target!(|data: &[u8]| lkrtc_server::fuzz::data_packet(data));
