use super::*;
use VideoBufferType as T;

/// A frame of `ty` whose pixels vary smoothly (a gradient), made from RGBA.
fn gradient(ty: VideoBufferType, w: u32, h: u32) -> VideoFrame {
    let mut rgba = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        for x in 0..w {
            rgba.extend_from_slice(&[(x * 255 / w) as u8, (y * 255 / h) as u8, 128, 255]);
        }
    }
    convert(T::Rgba, w, h, &rgba, ty, false).unwrap()
}

fn max_diff(a: &[u8], b: &[u8]) -> u8 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| x.abs_diff(*y)).max().unwrap_or(0)
}

#[test]
fn layout_matches_the_official_sdk() {
    // 321x241: chroma is 161x121.
    assert_eq!(buffer_len(T::I420, 321, 241), 321 * 241 + 2 * 161 * 121);
    assert_eq!(buffer_len(T::I420a, 321, 241), 2 * 321 * 241 + 2 * 161 * 121);
    assert_eq!(buffer_len(T::I422, 321, 241), 321 * 241 + 2 * 161 * 241);
    assert_eq!(buffer_len(T::I444, 321, 241), 3 * 321 * 241);
    assert_eq!(buffer_len(T::I010, 321, 241), 2 * 321 * 241 + 4 * 161 * 121);
    assert_eq!(buffer_len(T::Nv12, 321, 241), 321 * 241 + 2 * 161 * 121);
    assert_eq!(buffer_len(T::Rgb24, 321, 241), 3 * 321 * 241);
    let l = plane_layout(T::I420, 4, 2);
    assert_eq!(l[1], PlaneInfo { offset: 8, stride: 2, rows: 1 });
    assert_eq!(l[2], PlaneInfo { offset: 10, stride: 2, rows: 1 });
}

#[test]
fn red_is_bt601_limited_range() {
    // The official SDK (libyuv) gives Y 82, U 90, V 239 for pure red.
    for (ty, px) in [
        (T::Rgba, &[255u8, 0, 0, 255][..]),
        (T::Bgra, &[0, 0, 255, 255]),
        (T::Argb, &[255, 255, 0, 0]),
        (T::Abgr, &[255, 0, 0, 255]),
        (T::Rgb24, &[255, 0, 0]),
    ] {
        let data = px.repeat(4);
        let f = convert(ty, 2, 2, &data, T::I420, false).unwrap();
        assert!(max_diff(&f.data, &[82, 82, 82, 82, 90, 239]) <= 1, "{ty:?}: {:?}", f.data);
        let back = convert(T::I420, 2, 2, &f.data, ty, false).unwrap();
        assert!(max_diff(&back.data, &data) <= 2, "{ty:?}: {:?}", back.data);
    }
    let white = convert(T::Rgba, 2, 2, &[255; 16], T::I420, false).unwrap();
    assert_eq!(white.data, [235, 235, 235, 235, 128, 128]);
}

#[test]
fn every_pair_round_trips_at_odd_sizes() {
    let (w, h) = (321, 241);
    for src in T::ALL {
        let original = gradient(src, w, h);
        for dst in T::ALL {
            let there = convert(src, w, h, &original.data, dst, false).unwrap();
            assert_eq!(there.data.len(), buffer_len(dst, w, h), "{src:?} -> {dst:?}");
            let back = convert(dst, w, h, &there.data, src, false).unwrap();
            // Compare as RGBA so that every type is judged in the same units.
            let a = convert(src, w, h, &original.data, T::Rgba, false).unwrap();
            let b = convert(src, w, h, &back.data, T::Rgba, false).unwrap();
            let d = max_diff(&a.data, &b.data);
            assert!(d <= 8, "{src:?} -> {dst:?} -> {src:?}: max error {d}");
        }
    }
}

#[test]
fn flip_y_mirrors_rows() {
    // Top row red, bottom row blue.
    let rgba = [[255u8, 0, 0, 255].repeat(2), [0, 0, 255, 255].repeat(2)].concat();
    let f = convert(T::Rgba, 2, 2, &rgba, T::I420, true).unwrap();
    assert!(max_diff(&f.data[..4], &[41, 41, 82, 82]) <= 1, "{:?}", f.data);
    let same = convert(T::Rgba, 2, 2, &rgba, T::Rgba, true).unwrap();
    assert_eq!(same.data, [[0u8, 0, 255, 255].repeat(2), [255, 0, 0, 255].repeat(2)].concat());
}

#[test]
fn bad_frames_are_invalid_arguments() {
    let code = |r: Result<VideoFrame, crate::EngineError>| r.unwrap_err().code();
    assert_eq!(code(convert(T::Rgba, 2, 2, &[0; 15], T::I420, false)), "ERR_INVALID_ARG");
    assert_eq!(code(convert(T::I420, 0, 2, &[], T::Rgba, false)), "ERR_INVALID_ARG");
    assert_eq!(code(convert(T::I420, 2, 0, &[], T::Rgba, false)), "ERR_INVALID_ARG");
    assert_eq!(code(convert(T::I420, MAX_SIDE + 1, 1, &[], T::Rgba, false)), "ERR_INVALID_ARG");
    assert_eq!(VideoBufferType::from_value(11).unwrap_err().code(), "ERR_INVALID_ARG");
    assert_eq!(VideoBufferType::from_value(10).unwrap(), T::Nv12);
}
