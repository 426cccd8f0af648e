use super::*;
use crate::audio::codec::{OpusDecoder, MAX_FRAME};
use crate::audio::resample::AudioResampler;

const TAU: f32 = std::f32::consts::TAU;

/// A steady 440 Hz tone at −13.5 dBFS.
fn tone(t: f32) -> f32 {
    (t * 440.0 * TAU).sin() * 0.3
}

/// Speech-like: a gliding harmonic voice, syllable-rate amplitude modulation, and a
/// 0.4 s pause of digital silence every 1.6 s.
fn speech(t: f32) -> f32 {
    let c = t % 1.6;
    if c > 1.2 {
        return 0.0;
    }
    let f0 = 140.0 + 30.0 * (t * 0.7 * TAU).sin();
    let env = 0.5 + 0.5 * (c * 4.0 * TAU).sin().abs();
    (1..8).map(|h| (t * f0 * h as f32 * TAU).sin() / h as f32).sum::<f32>() * env * 0.15
}

fn db(samples: &[i16]) -> f64 {
    let ms = samples.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / samples.len().max(1) as f64;
    10.0 * (ms / 32768f64.powi(2)).max(1e-12).log10()
}

/// What a receiver decodes from `secs` seconds of `signal` fed at `rate`/`ch` through the
/// source's path (resampled to 48 kHz, 20 ms Opus frames); also the packet sizes.
fn through_the_pacer(signal: fn(f32) -> f32, rate: u32, ch: u32, secs: usize) -> (Vec<i16>, Vec<usize>) {
    let input: Vec<i16> = (0..rate as usize * secs)
        .flat_map(|i| {
            let v = (signal(i as f32 / rate as f32) * 32767.0) as i16;
            std::iter::repeat_n(v, ch as usize)
        })
        .collect();
    let mut resampler = AudioResampler::new(rate, ch, 48_000, ch.min(2)).unwrap();
    let mut pcm48 = resampler.push(&input);
    pcm48.extend(resampler.flush());
    let enc_ch = ch.min(2) as usize;
    let mut encoder = OpusEncoder::new(enc_ch as u32).unwrap();
    let mut decoder = OpusDecoder::new(enc_ch as u32).unwrap();
    let (mut packet, mut out) = (vec![0u8; 4000], vec![0i16; MAX_FRAME * 2]);
    let (mut received, mut sizes) = (Vec::new(), Vec::new());
    for frame in pcm48.chunks_exact(FRAME_48K * enc_ch) {
        let n = encoder.encode(frame, &mut packet).unwrap();
        sizes.push(n);
        let got = decoder.decode(&packet[..n], &mut out).unwrap();
        received.extend_from_slice(&out[..got * enc_ch]);
    }
    (received, sizes)
}

fn check_level(name: &str, signal: fn(f32) -> f32) {
    for (rate, ch) in [(48_000, 1), (48_000, 2), (24_000, 1), (24_000, 2), (16_000, 1), (16_000, 2)] {
        let (received, sizes) = through_the_pacer(signal, rate, ch, 10);
        let enc_ch = ch.min(2) as usize;
        let second = 48_000 * enc_ch;
        assert!(received.len() >= second * 10, "{name} {rate}/{ch}: {} samples", received.len());
        let mut levels = Vec::new();
        for s in 0..10 {
            let want: Vec<i16> =
                (s * 48_000..(s + 1) * 48_000).map(|i| (signal(i as f32 / 48_000.0) * 32767.0) as i16).collect();
            let got = db(&received[s * second..(s + 1) * second]);
            levels.push((db(&want), got));
        }
        let worst = levels.iter().map(|(w, g)| (w - g).abs()).fold(0.0, f64::max);
        assert!(worst < 3.0, "{name} {rate}/{ch}: level per second (in, out) {levels:.1?}");
        let late = &sizes[sizes.len() / 2..];
        let median = {
            let mut v = late.to_vec();
            v.sort();
            v[v.len() / 2]
        };
        assert!(median > 30, "{name} {rate}/{ch}: packets collapsed to {median} bytes");
    }
}

#[test]
fn a_steady_tone_keeps_its_level_for_ten_seconds() {
    check_level("tone", tone);
}

#[test]
fn speech_keeps_its_level_for_ten_seconds() {
    check_level("speech", speech);
}

#[test]
fn frame_index_advances_by_one_unless_the_clock_ran_ahead() {
    assert_eq!(next_index(None, Duration::from_millis(1_000)), 50);
    assert_eq!(next_index(Some(50), Duration::from_millis(1_000)), 51);
    assert_eq!(next_index(Some(50), Duration::from_millis(1_039)), 51);
    assert_eq!(next_index(Some(50), Duration::from_millis(1_100)), 55);
}
