//! Downscaling I420 pictures for the lower simulcast layers, on `pic-scale` (SIMD, bilinear,
//! each plane on its own; the plans are made once per pair of sizes).

use std::sync::Arc;

use pic_scale::{ImageSize, ImageStore, ImageStoreMut, PicScaleError, Resampling, ResamplingFunction, Scaler};

use super::frame::{buffer_len, plane_layout, VideoBufferType, VideoFrame};
use crate::error::{EngineError, Result};

fn scale_err(e: PicScaleError) -> EngineError {
    // Sizes are checked before any call, so this means a layout bug; say what failed.
    EngineError::InvalidArgument(format!("video scaling failed: {e}"))
}

/// Scales I420 frames of one size to another.
pub struct I420Scaler {
    from: (u32, u32),
    to: (u32, u32),
    /// The luma plane's plan, then the chroma planes'.
    plans: [Arc<Resampling<u8, 1>>; 2],
}

impl I420Scaler {
    /// A scaler of `from` frames to `to` (width, height).
    pub fn new(from: (u32, u32), to: (u32, u32)) -> Result<Self> {
        let scaler = Scaler::new(ResamplingFunction::Bilinear);
        let [src, dst] = [from, to].map(|size| plane_layout(VideoBufferType::I420, size.0, size.1));
        let plan = |i: usize| {
            let size = |p: &super::PlaneInfo| ImageSize::new(p.stride, p.rows);
            scaler.plan_planar_resampling(size(&src[i]), size(&dst[i])).map_err(scale_err)
        };
        Ok(Self { from, to, plans: [plan(0)?, plan(1)?] })
    }

    /// The sizes it scales from and to.
    pub fn sizes(&self) -> ((u32, u32), (u32, u32)) {
        (self.from, self.to)
    }

    /// `frame` (I420, of the `from` size) at the `to` size.
    pub fn scale(&self, frame: &VideoFrame) -> Result<VideoFrame> {
        if frame.ty != VideoBufferType::I420 || (frame.width, frame.height) != self.from {
            return Err(EngineError::InvalidArgument(format!(
                "scaler of {:?} I420 given a {}x{} {:?} frame",
                self.from, frame.width, frame.height, frame.ty
            )));
        }
        let (w, h) = self.to;
        let mut data = vec![0; buffer_len(VideoBufferType::I420, w, h)];
        let dst_planes = plane_layout(VideoBufferType::I420, w, h);
        for (i, (src, dst)) in frame.planes().iter().zip(&dst_planes).enumerate() {
            let store = ImageStore::<u8, 1>::borrow(src.slice(&frame.data), src.stride, src.rows).map_err(scale_err)?;
            let mut out =
                ImageStoreMut::<u8, 1>::borrow(dst.slice_mut(&mut data), dst.stride, dst.rows).map_err(scale_err)?;
            self.plans[i.min(1)].resample(&store, &mut out).map_err(scale_err)?;
        }
        VideoFrame::new(VideoBufferType::I420, w, h, data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarters_a_720p_picture_and_keeps_its_content() {
        let (w, h) = (1280, 720);
        let mut data = vec![128; buffer_len(VideoBufferType::I420, w, h)];
        // Luma: left half dark, right half bright.
        for row in data[..(w * h) as usize].chunks_mut(w as usize) {
            row[..640].fill(40);
            row[640..].fill(200);
        }
        let frame = VideoFrame::new(VideoBufferType::I420, w, h, data).unwrap();
        let scaler = I420Scaler::new((w, h), (320, 180)).unwrap();
        let small = scaler.scale(&frame).unwrap();
        assert_eq!((small.width, small.height, small.data.len()), (320, 180, 320 * 180 * 3 / 2));
        let y = &small.data[..320 * 180];
        assert!((38..=42).contains(&y[10]) && (198..=202).contains(&y[300]), "{} {}", y[10], y[300]);
        assert!(small.data[320 * 180..].iter().all(|&c| c == 128), "chroma stays neutral");
        let wrong = VideoFrame::new(VideoBufferType::I420, 64, 48, vec![0; 64 * 48 * 3 / 2]).unwrap();
        assert_eq!(scaler.scale(&wrong).unwrap_err().code(), "ERR_INVALID_ARG");
    }
}
