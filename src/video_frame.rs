//! `VideoFrame` support: the plane layout of a buffer type and `convert`. The public class is
//! `ts/src/video_frame.ts`; the layout and the colour conversion live in the engine
//! (`lkrtc_engine::media::video`).

use lkrtc_engine::media::video::{self, VideoBufferType};
use napi::bindgen_prelude::Uint8Array;
use napi_derive::napi;

use crate::error;

/// One plane of a frame's buffer: its byte offset, bytes per row and byte size.
#[napi(object)]
pub struct NativePlaneInfo {
    pub offset: u32,
    pub stride: u32,
    pub size: u32,
}

fn buffer_type(v: u32) -> error::Result<VideoBufferType> {
    VideoBufferType::from_value(v).map_err(error::engine)
}

/// The planes of a `width` x `height` frame of `VideoBufferType` `ty`, in order, and
/// checks that `len` bytes are that frame (`ERR_INVALID_ARG` otherwise).
#[napi(catch_unwind)]
pub fn video_frame_planes(ty: u32, width: u32, height: u32, len: u32) -> error::Result<Vec<NativePlaneInfo>> {
    let ty = buffer_type(ty)?;
    video::check_frame(ty, width, height, len as usize).map_err(error::engine)?;
    let planes = video::plane_layout(ty, width, height);
    // Frames are checked to at most MAX_SIDE² * 4 bytes, so every figure fits in a u32.
    Ok(planes
        .iter()
        .map(|p| NativePlaneInfo { offset: p.offset as u32, stride: p.stride as u32, size: p.size() as u32 })
        .collect())
}

/// Converts a frame to `dst_ty`, flipped vertically when `flip_y`; returns the new buffer.
#[napi(catch_unwind)]
pub fn video_frame_convert(
    data: Uint8Array,
    ty: u32,
    width: u32,
    height: u32,
    dst_ty: u32,
    flip_y: bool,
) -> error::Result<Uint8Array> {
    let (ty, dst) = (buffer_type(ty)?, buffer_type(dst_ty)?);
    let out = video::convert(ty, width, height, &data, dst, flip_y).map_err(error::engine)?;
    Ok(Uint8Array::new(out.data))
}
