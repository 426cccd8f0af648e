use super::*;
use crate::audio::frame::SUPPORTED_RATES;

fn sine(rate: u32, freq: f32, n: usize) -> Vec<i16> {
    (0..n).map(|i| ((i as f32 * freq * std::f32::consts::TAU / rate as f32).sin() * 10_000.0) as i16).collect()
}

/// Zero crossings per second ≈ 2 × frequency.
fn freq_of(samples: &[i16], rate: u32) -> f32 {
    let crossings = samples.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
    crossings as f32 * rate as f32 / samples.len() as f32 / 2.0
}

fn rms_db(samples: &[i16]) -> f64 {
    let ms = samples.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / samples.len().max(1) as f64;
    10.0 * (ms / 32768f64.powi(2)).max(1e-12).log10()
}

/// Pushes `input` in odd-sized pieces, then flushes.
fn run(r: &mut AudioResampler, input: &[i16], piece: usize) -> Vec<i16> {
    let mut out = Vec::new();
    for chunk in input.chunks(piece) {
        out.extend(r.push(chunk));
    }
    out.extend(r.flush());
    out
}

#[test]
fn every_rate_pair_keeps_pitch_level_and_exact_length_with_the_tail() {
    let reference = rms_db(&sine(48_000, 440.0, 48_000));
    for a in SUPPORTED_RATES {
        for b in SUPPORTED_RATES {
            let mut r = AudioResampler::new(a, 1, b, 1).unwrap();
            // 1.005 s: the last 5 ms are less than one internal block.
            let n = a as usize + a as usize / 200;
            let out = run(&mut r, &sine(a, 440.0, n), 337);
            let expected = (n as u64 * b as u64 + a as u64 / 2) / a as u64;
            assert_eq!(out.len() as u64, expected, "{a}->{b}: length");
            let f = freq_of(&out[out.len() / 4..], b);
            assert!((f - 440.0).abs() < 8.0, "{a}->{b}: {f} Hz");
            let level = rms_db(&out[b as usize / 10..]);
            assert!((level - reference).abs() < 0.5, "{a}->{b}: {level:.2} dB vs {reference:.2} dB");
            // The delay is removed: the tone starts at once and runs to the very end.
            let first = out.iter().position(|s| s.abs() > 2_000).unwrap();
            assert!(first < b as usize / 500, "{a}->{b}: tone starts after {first} samples");
            let tail = &out[out.len() - b as usize / 400..];
            assert!(tail.iter().any(|s| s.abs() > 5_000), "{a}->{b}: the tail is missing");
        }
    }
}

#[test]
fn flush_restarts_and_passthrough_has_no_tail() {
    let mut r = AudioResampler::new(44_100, 1, 48_000, 1).unwrap();
    let first = run(&mut r, &sine(44_100, 300.0, 441), 441);
    assert_eq!(first.len(), 480);
    let second = run(&mut r, &sine(44_100, 300.0, 441), 100);
    assert_eq!(first, second, "after flush the resampler starts afresh");
    let mut same = AudioResampler::new(16_000, 2, 16_000, 1).unwrap();
    assert_eq!(same.push(&[4, 6, 8, 10]), vec![5, 9]);
    assert!(same.flush().is_empty());
}

#[test]
fn converts_any_channel_count() {
    let mut r = AudioResampler::new(48_000, 2, 16_000, 1).unwrap();
    let stereo: Vec<i16> = sine(48_000, 300.0, 4_800).iter().flat_map(|&s| [s, s]).collect();
    assert_eq!(run(&mut r, &stereo, 960).len(), 1_600);
    let mut up = AudioResampler::new(16_000, 1, 16_000, 2).unwrap();
    assert_eq!(up.push(&[5, 6]), vec![5, 5, 6, 6]);
    // 4 channels at 22.05 kHz to 48 kHz: each channel keeps its own tone.
    let tones = [200.0, 300.0, 500.0, 700.0];
    let chans: Vec<Vec<i16>> = tones.iter().map(|&f| sine(22_050, f, 22_050)).collect();
    let quad: Vec<i16> = (0..22_050).flat_map(|i| chans.iter().map(move |c| c[i])).collect();
    let mut r4 = AudioResampler::new(22_050, 4, 48_000, 4).unwrap();
    let out = run(&mut r4, &quad, 1_000);
    assert_eq!(out.len(), 48_000 * 4);
    for (c, &f) in tones.iter().enumerate() {
        let ch: Vec<i16> = out.iter().skip(c).step_by(4).copied().collect();
        assert!((freq_of(&ch[12_000..], 48_000) - f).abs() < 8.0, "channel {c}");
    }
    assert!(AudioResampler::new(7_000, 1, 48_000, 1).is_err());
    assert!(AudioResampler::new(48_000, 9, 48_000, 1).is_err());
}

/// Gain (dB) of a `freq` tone taken from 48 kHz down to 16 kHz: near 0 below 8 kHz where
/// the filter passes, as low as possible above it (what is left there is aliasing).
fn gain_db(q: ResamplerQuality, freq: f32) -> f64 {
    let mut r = AudioResampler::with_quality(48_000, 1, 16_000, 1, q).unwrap();
    let out = run(&mut r, &sine(48_000, freq, 48_000), 480);
    rms_db(&out[1_600..14_400]) - rms_db(&sine(48_000, freq, 48_000))
}

#[test]
fn quality_setting_changes_the_filter() {
    use ResamplerQuality::*;
    let all = [Quick, Low, Medium, High, VeryHigh];
    for (i, q) in all.into_iter().enumerate() {
        assert_eq!(ResamplerQuality::from_index(i as u32).unwrap(), q);
        let gain = gain_db(q, 1_000.0);
        assert!(gain.abs() < 0.5, "{q:?}: a 1 kHz tone changes by {gain:.2} dB");
    }
    assert!(ResamplerQuality::from_index(5).is_err());
    // QUICK has no anti-aliasing filter: 10 kHz folds to 6 kHz at full level.
    assert!(gain_db(Quick, 10_000.0) > -3.0);
    // Longer sinc filters keep more of the top of the band and let less alias through.
    let kept: Vec<f64> = [Low, High, VeryHigh].into_iter().map(|q| gain_db(q, 7_000.0)).collect();
    let alias: Vec<f64> = [Low, High, VeryHigh].into_iter().map(|q| gain_db(q, 8_500.0)).collect();
    assert!(kept[0] + 2.0 < kept[1] && kept[1] + 1.0 < kept[2], "7 kHz kept: {kept:?}");
    assert!(alias[0] > alias[1] + 5.0 && alias[1] > alias[2] + 5.0, "8.5 kHz aliasing: {alias:?}");
    assert!(alias[0] < -20.0 && gain_db(Medium, 8_500.0) < -50.0, "{alias:?}");
}
