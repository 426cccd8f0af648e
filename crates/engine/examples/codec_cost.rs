//! Opus encode+decode cost: lkrtc's codec (ropus) against libopus, same signal, same
//! settings (VoIP, 20 ms frames, 32 kbit/s mono / 64 kbit/s stereo, FEC on).
//!
//! libopus is loaded at run time from `libopus.so.0` (Debian: `apt-get install libopus0`),
//! so lkrtc itself never links it. Run: `bench/audio/codec.sh`.

// The one place that calls C: libopus, loaded at run time to compare against.
#![allow(unsafe_code)]

use std::time::Instant;

use lkrtc_engine::audio::{OpusDecoder, OpusEncoder};

const FRAMES: usize = 2_500; // 50 s of audio

/// Speech-like test signal: a few harmonics with a syllable-rate envelope and some noise.
fn signal(channels: usize) -> Vec<i16> {
    let mut seed = 0x2545_f491_u32;
    (0..FRAMES * 960)
        .flat_map(|i| {
            let t = i as f32 / 48_000.0;
            let env = 0.5 + 0.5 * (t * 4.0 * std::f32::consts::TAU).sin();
            let tone: f32 =
                [180.0f32, 360.0, 540.0, 1_100.0].iter().map(|f| (t * f * std::f32::consts::TAU).sin()).sum();
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let noise = (seed as f32 / u32::MAX as f32 - 0.5) * 0.05;
            let v = ((tone / 4.0 * env + noise) * 12_000.0) as i16;
            std::iter::repeat_n(v, channels)
        })
        .collect()
}

struct Cost {
    enc_us: f64,
    dec_us: f64,
    bytes: f64,
}

fn bench_ropus(pcm: &[i16], ch: usize) -> Cost {
    let mut enc = OpusEncoder::new(ch as u32).unwrap();
    let mut dec = OpusDecoder::new(ch as u32).unwrap();
    let mut pkt = vec![0u8; 1500];
    let mut out = vec![0i16; 960 * ch];
    let mut packets = Vec::with_capacity(FRAMES);
    let t = Instant::now();
    for f in pcm.chunks(960 * ch) {
        let n = enc.encode(f, &mut pkt).unwrap();
        packets.push(pkt[..n].to_vec());
    }
    let enc_us = t.elapsed().as_secs_f64() * 1e6 / FRAMES as f64;
    let t = Instant::now();
    for p in &packets {
        dec.decode(p, &mut out).unwrap();
    }
    let dec_us = t.elapsed().as_secs_f64() * 1e6 / FRAMES as f64;
    Cost { enc_us, dec_us, bytes: packets.iter().map(Vec::len).sum::<usize>() as f64 / FRAMES as f64 }
}

type Create = unsafe extern "C" fn(i32, i32, i32, *mut i32) -> *mut std::ffi::c_void;
type Ctl = unsafe extern "C" fn(*mut std::ffi::c_void, i32, ...) -> i32;
type Encode = unsafe extern "C" fn(*mut std::ffi::c_void, *const i16, i32, *mut u8, i32) -> i32;
type DecCreate = unsafe extern "C" fn(i32, i32, *mut i32) -> *mut std::ffi::c_void;
type Decode = unsafe extern "C" fn(*mut std::ffi::c_void, *const u8, i32, *mut i16, i32, i32) -> i32;

fn bench_libopus(lib: &libloading::Library, pcm: &[i16], ch: usize) -> Cost {
    // SAFETY: symbols and signatures are libopus's public C API (opus.h); buffers are sized
    // for 960-sample frames and 1500-byte packets.
    unsafe {
        let create: libloading::Symbol<'_, Create> = lib.get(b"opus_encoder_create").unwrap();
        let ctl: libloading::Symbol<'_, Ctl> = lib.get(b"opus_encoder_ctl").unwrap();
        let encode: libloading::Symbol<'_, Encode> = lib.get(b"opus_encode").unwrap();
        let dcreate: libloading::Symbol<'_, DecCreate> = lib.get(b"opus_decoder_create").unwrap();
        let decode: libloading::Symbol<'_, Decode> = lib.get(b"opus_decode").unwrap();
        let mut err = 0;
        let enc = create(48_000, ch as i32, 2048 /* VOIP */, &mut err);
        ctl(enc, 4002 /* SET_BITRATE */, 32_000 * ch as i32);
        ctl(enc, 4012 /* SET_INBAND_FEC */, 1);
        ctl(enc, 4014 /* SET_PACKET_LOSS_PERC */, 5);
        ctl(enc, 4016 /* SET_DTX */, 1);
        ctl(enc, 4024 /* SET_SIGNAL */, 3001 /* VOICE */);
        let dec = dcreate(48_000, ch as i32, &mut err);
        let mut pkt = vec![0u8; 1500];
        let mut out = vec![0i16; 960 * ch];
        let mut packets = Vec::with_capacity(FRAMES);
        let t = Instant::now();
        for f in pcm.chunks(960 * ch) {
            let n = encode(enc, f.as_ptr(), 960, pkt.as_mut_ptr(), 1500);
            packets.push(pkt[..n as usize].to_vec());
        }
        let enc_us = t.elapsed().as_secs_f64() * 1e6 / FRAMES as f64;
        let t = Instant::now();
        for p in &packets {
            decode(dec, p.as_ptr(), p.len() as i32, out.as_mut_ptr(), 960, 0);
        }
        let dec_us = t.elapsed().as_secs_f64() * 1e6 / FRAMES as f64;
        Cost { enc_us, dec_us, bytes: packets.iter().map(Vec::len).sum::<usize>() as f64 / FRAMES as f64 }
    }
}

fn main() {
    // SAFETY: loading a shared library runs its initialisers; libopus has none of note.
    let lib = unsafe { libloading::Library::new("libopus.so.0") }.ok();
    if lib.is_none() {
        eprintln!("libopus.so.0 not found: showing ropus only (apt-get install libopus0 to compare)");
    }
    println!("| codec | ch | encode µs/frame | decode µs/frame | bytes/packet | ratio vs libopus (enc+dec) |");
    println!("|---|---|---|---|---|---|");
    for ch in [1usize, 2] {
        let pcm = signal(ch);
        let best = |f: &dyn Fn() -> Cost| {
            (0..3).map(|_| f()).min_by(|a, b| (a.enc_us + a.dec_us).total_cmp(&(b.enc_us + b.dec_us))).unwrap()
        };
        let r = best(&|| bench_ropus(&pcm, ch));
        let l = lib.as_ref().map(|lib| best(&|| bench_libopus(lib, &pcm, ch)));
        let ratio =
            l.as_ref().map(|l| format!("{:.2}x", (r.enc_us + r.dec_us) / (l.enc_us + l.dec_us))).unwrap_or("-".into());
        println!("| ropus (lkrtc) | {ch} | {:.1} | {:.1} | {:.0} | {ratio} |", r.enc_us, r.dec_us, r.bytes);
        if let Some(l) = l {
            println!("| libopus | {ch} | {:.1} | {:.1} | {:.0} | 1.00x |", l.enc_us, l.dec_us, l.bytes);
        }
    }
}
