#![no_main]
//! Server and client: trickle candidateInit JSON.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lkrtc_server::fuzz::trickle_json(data);
    lkrtc_engine::fuzz::trickle_json(data);
});
