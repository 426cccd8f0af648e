#![no_main]
//! Client: a sequence of data packets, with stream headers/chunks/trailers assembled.

libfuzzer_sys::fuzz_target!(|data: &[u8]| lkrtc_engine::fuzz::data_packets(data));
