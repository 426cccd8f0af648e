//! Conversion between every pair of [`VideoBufferType`]s, on `yuvutils-rs` (SIMD).
//!
//! YUV is BT.601 limited range, as libyuv (and so the official SDK) does. A conversion
//! between two different types goes through 8-bit RGBA, except the lossless shortcuts
//! (same type: a copy; I420A → I420: drop the alpha plane). `flip_y` mirrors the picture
//! vertically.

use std::borrow::Cow;

use yuvutils_rs::{
    BufferStoreMut, YuvBiPlanarImage, YuvBiPlanarImageMut, YuvConversionMode, YuvError, YuvPlanarImage,
    YuvPlanarImageMut, YuvPlanarImageWithAlpha, YuvRange, YuvStandardMatrix,
};

use super::frame::{buffer_len, check_frame, plane_layout, VideoBufferType, VideoFrame};
use crate::EngineError;

const RANGE: YuvRange = YuvRange::Limited;
const MATRIX: YuvStandardMatrix = YuvStandardMatrix::Bt601;
const MODE: YuvConversionMode = YuvConversionMode::Balanced;

fn yuv_err(e: YuvError) -> EngineError {
    // Sizes are checked before any call, so this means a layout bug; say what failed.
    EngineError::InvalidArgument(format!("video conversion failed: {e}"))
}

/// Converts the `width` x `height` frame of type `ty` in `data` to `dst`, flipped
/// vertically when `flip_y`. `ERR_INVALID_ARG` when the frame is malformed.
pub fn convert(
    ty: VideoBufferType,
    width: u32,
    height: u32,
    data: &[u8],
    dst: VideoBufferType,
    flip_y: bool,
) -> Result<VideoFrame, EngineError> {
    check_frame(ty, width, height, data.len())?;
    // Where the flip happens decides, at an odd height, which rows share a chroma row; this
    // follows libyuv: a YUV → YUV conversion flips the source's planes, any other the RGBA
    // picture in between.
    let yuv_to_yuv = ty.is_yuv() && dst.is_yuv();
    let flipped;
    let data = if flip_y && yuv_to_yuv {
        flipped = {
            let mut copy = data.to_vec();
            flip_planes(&mut copy, ty, width, height);
            copy
        };
        &flipped[..]
    } else {
        data
    };
    let out = if ty == dst || (ty == VideoBufferType::I420a && dst == VideoBufferType::I420) {
        let mut out = data[..buffer_len(dst, width, height)].to_vec();
        if flip_y && !yuv_to_yuv {
            flip_planes(&mut out, dst, width, height);
        }
        out
    } else {
        let mut rgba = to_rgba(ty, width, height, data)?;
        if flip_y && !yuv_to_yuv {
            flip_planes(rgba.to_mut(), VideoBufferType::Rgba, width, height);
        }
        from_rgba(&rgba, dst, width, height)?
    };
    Ok(VideoFrame { ty: dst, width, height, data: out })
}

/// Copies 4-byte pixels from `src` to `dst` reordering each with `f`: a byte swizzle with no
/// colour math, for the orders yuvutils has no shuffle for (A,R,G,B and A,B,G,R).
fn swizzle(src: &[u8], dst: &mut [u8], f: impl FnMut(&mut [u8])) {
    dst.copy_from_slice(src);
    dst.chunks_exact_mut(4).for_each(f);
}

/// Splits a checked frame's buffer into its planes.
fn planes(ty: VideoBufferType, width: u32, height: u32, data: &[u8]) -> Vec<&[u8]> {
    plane_layout(ty, width, height).iter().map(|p| p.slice(data)).collect()
}

/// Splits an output buffer into its planes, mutable.
fn planes_mut(ty: VideoBufferType, width: u32, height: u32, mut data: &mut [u8]) -> Vec<&mut [u8]> {
    let mut out = Vec::new();
    for p in plane_layout(ty, width, height) {
        let (head, rest) = data.split_at_mut(p.size());
        out.push(head);
        data = rest;
    }
    out
}

fn planar<'a>(p: &[&'a [u8]], width: u32, height: u32, ty: VideoBufferType) -> YuvPlanarImage<'a, u8> {
    let l = plane_layout(ty, width, height);
    YuvPlanarImage {
        y_plane: p[0],
        y_stride: l[0].stride as u32,
        u_plane: p[1],
        u_stride: l[1].stride as u32,
        v_plane: p[2],
        v_stride: l[2].stride as u32,
        width,
        height,
    }
}

/// The frame as 8-bit RGBA (R, G, B, A in memory, `4 * width` bytes per row).
fn to_rgba(ty: VideoBufferType, width: u32, height: u32, data: &[u8]) -> Result<Cow<'_, [u8]>, EngineError> {
    use VideoBufferType as T;
    let stride = width * 4;
    if ty == T::Rgba {
        return Ok(Cow::Borrowed(data));
    }
    let mut rgba = vec![0u8; buffer_len(T::Rgba, width, height)];
    let p = planes(ty, width, height, data);
    match ty {
        T::Rgba => unreachable!("returned above"),
        T::Bgra => yuvutils_rs::bgra_to_rgba(data, stride, &mut rgba, stride, width, height).map_err(yuv_err)?,
        T::Rgb24 => yuvutils_rs::rgb_to_rgba(data, width * 3, &mut rgba, stride, width, height).map_err(yuv_err)?,
        T::Argb => swizzle(data, &mut rgba, |px| px.rotate_left(1)),
        T::Abgr => swizzle(data, &mut rgba, <[u8]>::reverse),
        T::I420 => yuvutils_rs::yuv420_to_rgba(&planar(&p, width, height, ty), &mut rgba, stride, RANGE, MATRIX)
            .map_err(yuv_err)?,
        T::I422 => yuvutils_rs::yuv422_to_rgba(&planar(&p, width, height, ty), &mut rgba, stride, RANGE, MATRIX)
            .map_err(yuv_err)?,
        T::I444 => yuvutils_rs::yuv444_to_rgba(&planar(&p, width, height, ty), &mut rgba, stride, RANGE, MATRIX)
            .map_err(yuv_err)?,
        T::I420a => {
            let yuv = planar(&p, width, height, ty);
            let img = YuvPlanarImageWithAlpha {
                y_plane: yuv.y_plane,
                y_stride: yuv.y_stride,
                u_plane: yuv.u_plane,
                u_stride: yuv.u_stride,
                v_plane: yuv.v_plane,
                v_stride: yuv.v_stride,
                a_plane: p[3],
                a_stride: width,
                width,
                height,
            };
            yuvutils_rs::yuv420_alpha_to_rgba(&img, &mut rgba, stride, RANGE, MATRIX, false).map_err(yuv_err)?;
        }
        T::I010 => {
            // Narrowed to 8-bit I420 as libyuv does (v >> 2), then as I420. (yuvutils'
            // i010_to_rgb/rgba get the last column and the alpha wrong at some widths.)
            let i420: Vec<u8> =
                data.chunks_exact(2).map(|b| (u16::from_le_bytes([b[0], b[1]]) >> 2).min(255) as u8).collect();
            let p = planes(T::I420, width, height, &i420);
            yuvutils_rs::yuv420_to_rgba(&planar(&p, width, height, T::I420), &mut rgba, stride, RANGE, MATRIX)
                .map_err(yuv_err)?;
        }
        T::Nv12 => {
            let img = YuvBiPlanarImage {
                y_plane: p[0],
                y_stride: width,
                uv_plane: p[1],
                uv_stride: width.div_ceil(2) * 2,
                width,
                height,
            };
            yuvutils_rs::yuv_nv12_to_rgba(&img, &mut rgba, stride, RANGE, MATRIX, MODE).map_err(yuv_err)?;
        }
    }
    Ok(Cow::Owned(rgba))
}

/// Writes an 8-bit 4:2:0, 4:2:2 or 4:4:4 image from RGBA into the first three planes of `out`.
fn rgba_to_planar(
    rgba: &[u8],
    ty: VideoBufferType,
    width: u32,
    height: u32,
    out: &mut [u8],
) -> Result<(), EngineError> {
    let l = plane_layout(ty, width, height);
    let mut p = planes_mut(ty, width, height, out).into_iter();
    let mut img = YuvPlanarImageMut {
        y_plane: BufferStoreMut::Borrowed(p.next().unwrap_or_default()),
        y_stride: l[0].stride as u32,
        u_plane: BufferStoreMut::Borrowed(p.next().unwrap_or_default()),
        u_stride: l[1].stride as u32,
        v_plane: BufferStoreMut::Borrowed(p.next().unwrap_or_default()),
        v_stride: l[2].stride as u32,
        width,
        height,
    };
    let stride = width * 4;
    let f = match ty {
        VideoBufferType::I422 => yuvutils_rs::rgba_to_yuv422,
        VideoBufferType::I444 => yuvutils_rs::rgba_to_yuv444,
        _ => yuvutils_rs::rgba_to_yuv420,
    };
    f(&mut img, rgba, stride, RANGE, MATRIX, MODE).map_err(yuv_err)
}

/// RGBA (`4 * width` bytes per row) to a new buffer of type `dst`.
fn from_rgba(rgba: &[u8], dst: VideoBufferType, width: u32, height: u32) -> Result<Vec<u8>, EngineError> {
    use VideoBufferType as T;
    let stride = width * 4;
    let mut out = vec![0u8; buffer_len(dst, width, height)];
    match dst {
        T::Rgba => out.copy_from_slice(rgba),
        T::Bgra => yuvutils_rs::rgba_to_bgra(rgba, stride, &mut out, stride, width, height).map_err(yuv_err)?,
        T::Rgb24 => yuvutils_rs::rgba_to_rgb(rgba, stride, &mut out, width * 3, width, height).map_err(yuv_err)?,
        T::Argb => swizzle(rgba, &mut out, |px| px.rotate_right(1)),
        T::Abgr => swizzle(rgba, &mut out, <[u8]>::reverse),
        T::I420 | T::I422 | T::I444 => rgba_to_planar(rgba, dst, width, height, &mut out)?,
        T::I420a => {
            rgba_to_planar(rgba, dst, width, height, &mut out)?;
            let alpha = plane_layout(dst, width, height)[3];
            for (a, px) in alpha.slice_mut(&mut out).iter_mut().zip(rgba.chunks_exact(4)) {
                *a = px[3];
            }
        }
        T::I010 => {
            // 8-bit I420, then each sample widened to 10 bits as libyuv does (v << 2 | v >> 6).
            let mut i420 = vec![0u8; buffer_len(T::I420, width, height)];
            rgba_to_planar(rgba, T::I420, width, height, &mut i420)?;
            for (word, &v) in out.chunks_exact_mut(2).zip(&i420) {
                word.copy_from_slice(&((u16::from(v) << 2) | (u16::from(v) >> 6)).to_le_bytes());
            }
        }
        T::Nv12 => {
            let mut p = planes_mut(dst, width, height, &mut out).into_iter();
            let mut img = YuvBiPlanarImageMut {
                y_plane: BufferStoreMut::Borrowed(p.next().unwrap_or_default()),
                y_stride: width,
                uv_plane: BufferStoreMut::Borrowed(p.next().unwrap_or_default()),
                uv_stride: width.div_ceil(2) * 2,
                width,
                height,
            };
            yuvutils_rs::rgba_to_yuv_nv12(&mut img, rgba, stride, RANGE, MATRIX, MODE).map_err(yuv_err)?;
        }
    }
    Ok(out)
}

/// Mirrors every plane of `data` vertically, in place.
fn flip_planes(data: &mut [u8], ty: VideoBufferType, width: u32, height: u32) {
    for p in plane_layout(ty, width, height) {
        let plane = p.slice_mut(data);
        for top in 0..p.rows / 2 {
            let bottom = p.rows - 1 - top;
            let (upper, lower) = plane.split_at_mut(bottom * p.stride);
            upper[top * p.stride..(top + 1) * p.stride].swap_with_slice(&mut lower[..p.stride]);
        }
    }
}
