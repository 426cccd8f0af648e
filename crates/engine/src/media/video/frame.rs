//! Raw video frames: the buffer types of `@livekit/rtc-node` and their memory layout.
//!
//! A frame is one contiguous buffer, planes back to back with no padding, exactly as the
//! official SDK lays them out (`getPlane(n)` slices it): packed formats are one plane of
//! `width * bytes_per_pixel` per row; planar YUV formats have a luma plane of `width`
//! (I010: `2 * width` bytes) per row and chroma planes of `ceil(width / 2)` per row
//! (I444: `width`). Byte order is literal: `Rgba` is R, G, B, A in memory.

use crate::EngineError;

/// The pixel formats of a [`VideoFrame`], with the official SDK's numeric values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VideoBufferType {
    /// 8-bit R, G, B, A.
    Rgba = 0,
    /// 8-bit A, B, G, R.
    Abgr = 1,
    /// 8-bit A, R, G, B.
    Argb = 2,
    /// 8-bit B, G, R, A.
    Bgra = 3,
    /// 8-bit R, G, B.
    Rgb24 = 4,
    /// Planar Y, U, V; chroma halved both ways.
    I420 = 5,
    /// I420 followed by a full-size alpha plane.
    I420a = 6,
    /// Planar Y, U, V; chroma halved horizontally.
    I422 = 7,
    /// Planar Y, U, V at full size.
    I444 = 8,
    /// I420 with 10-bit samples in 16-bit little-endian words.
    I010 = 9,
    /// Y plane then one interleaved U/V plane, chroma halved both ways.
    Nv12 = 10,
}

impl VideoBufferType {
    /// Every type, in value order.
    pub const ALL: [VideoBufferType; 11] = [
        Self::Rgba,
        Self::Abgr,
        Self::Argb,
        Self::Bgra,
        Self::Rgb24,
        Self::I420,
        Self::I420a,
        Self::I422,
        Self::I444,
        Self::I010,
        Self::Nv12,
    ];

    /// Whether the type is planar YUV (not packed RGB).
    pub fn is_yuv(self) -> bool {
        !matches!(self, Self::Rgba | Self::Abgr | Self::Argb | Self::Bgra | Self::Rgb24)
    }

    /// The type with the official SDK's numeric value `v`.
    pub fn from_value(v: u32) -> Result<Self, EngineError> {
        Self::ALL
            .get(v as usize)
            .copied()
            .ok_or_else(|| EngineError::InvalidArgument(format!("unknown VideoBufferType {v}")))
    }
}

/// Where one plane sits in a frame's buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlaneInfo {
    /// Byte offset from the start of the buffer.
    pub offset: usize,
    /// Bytes per row.
    pub stride: usize,
    /// Rows.
    pub rows: usize,
}

impl PlaneInfo {
    /// Bytes in the plane.
    pub fn size(&self) -> usize {
        self.stride * self.rows
    }

    /// The plane's bytes within `data`.
    pub fn slice<'a>(&self, data: &'a [u8]) -> &'a [u8] {
        &data[self.offset..self.offset + self.size()]
    }

    /// The plane's bytes within `data`, mutable.
    pub fn slice_mut<'a>(&self, data: &'a mut [u8]) -> &'a mut [u8] {
        &mut data[self.offset..self.offset + self.size()]
    }
}

/// The planes of a `width` x `height` frame of type `ty`, in order.
pub fn plane_layout(ty: VideoBufferType, width: u32, height: u32) -> Vec<PlaneInfo> {
    use VideoBufferType as T;
    let (w, h) = (width as usize, height as usize);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    // (stride, rows) of each plane.
    let dims: &[(usize, usize)] = match ty {
        T::Rgba | T::Abgr | T::Argb | T::Bgra => &[(w * 4, h)],
        T::Rgb24 => &[(w * 3, h)],
        T::I420 => &[(w, h), (cw, ch), (cw, ch)],
        T::I420a => &[(w, h), (cw, ch), (cw, ch), (w, h)],
        T::I422 => &[(w, h), (cw, h), (cw, h)],
        T::I444 => &[(w, h), (w, h), (w, h)],
        T::I010 => &[(w * 2, h), (cw * 2, ch), (cw * 2, ch)],
        T::Nv12 => &[(w, h), (cw * 2, ch)],
    };
    let mut offset = 0;
    dims.iter()
        .map(|&(stride, rows)| {
            let p = PlaneInfo { offset, stride, rows };
            offset += p.size();
            p
        })
        .collect()
}

/// Bytes in a `width` x `height` frame of type `ty`.
pub fn buffer_len(ty: VideoBufferType, width: u32, height: u32) -> usize {
    plane_layout(ty, width, height).last().map_or(0, |p| p.offset + p.size())
}

/// Largest accepted side, in pixels (16384, as libwebrtc's limit); bigger is refused rather
/// than risking overflow in size arithmetic.
pub const MAX_SIDE: u32 = 16_384;

/// A raw video frame that owns its pixels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VideoFrame {
    /// Pixel format.
    pub ty: VideoBufferType,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The planes back to back ([`plane_layout`]).
    pub data: Vec<u8>,
}

/// Checks that a `width` x `height` frame of type `ty` could hold `len` bytes.
pub fn check_frame(ty: VideoBufferType, width: u32, height: u32, len: usize) -> Result<(), EngineError> {
    if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
        return Err(EngineError::InvalidArgument(format!(
            "video frame size {width}x{height}: each side must be 1..={MAX_SIDE}"
        )));
    }
    let want = buffer_len(ty, width, height);
    if len != want {
        return Err(EngineError::InvalidArgument(format!(
            "a {width}x{height} {ty:?} frame has {want} bytes, not {len}"
        )));
    }
    Ok(())
}

impl VideoFrame {
    /// A frame over `data`, checked against the layout of `ty` at `width` x `height`.
    pub fn new(ty: VideoBufferType, width: u32, height: u32, data: Vec<u8>) -> Result<Self, EngineError> {
        check_frame(ty, width, height, data.len())?;
        Ok(Self { ty, width, height, data })
    }

    /// The frame's planes.
    pub fn planes(&self) -> Vec<PlaneInfo> {
        plane_layout(self.ty, self.width, self.height)
    }
}
