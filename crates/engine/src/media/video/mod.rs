//! Video: raw frames and their conversion.

mod convert;
mod frame;
pub mod h264;

pub use convert::convert;
pub use frame::{buffer_len, check_frame, plane_layout, PlaneInfo, VideoBufferType, VideoFrame, MAX_SIDE};

#[cfg(test)]
mod tests;
