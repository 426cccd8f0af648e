//! A safe VP8/VP9 encoder and decoder over libvpx (the `env-libvpx-sys` bindings, libvpx 1.12
//! linked statically from Debian's `libvpx-dev`).
//!
//! - [`VpxEncoder`] (VP8 or VP9 profile 0): real-time (`VPX_DL_REALTIME`), one pass, no look-ahead, constant
//!   bitrate at the configured target (a picture is dropped rather than overshoot), error
//!   resilient, keyframe on request, a bitrate that can change while it runs.
//! - [`VpxDecoder`]: VP8 or VP9 (profile 0) frames to packed I420 pictures; a frame libvpx
//!   refuses is a [`VpxError`] and the decoder stays usable.
//!
//! Pictures are packed I420: the Y plane (`width` bytes a row), then U and V
//! (`width.div_ceil(2)` bytes a row, `height.div_ceil(2)` rows), with no padding.

// libvpx is a C library: calling it needs `unsafe`. This crate is the one place in the
// workspace allowed to do that; every block says why it is sound, and the API it exposes
// is safe (sizes are checked before any pointer crosses, contexts are owned and destroyed
// exactly once).
#![allow(unsafe_code)]
#![deny(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]

use std::ffi::{c_int, c_uint, c_ulong, CStr};
use std::mem::MaybeUninit;
use std::ptr;

use vpx_sys as sys;

/// What went wrong in a libvpx call.
#[derive(Debug, thiserror::Error)]
pub enum VpxError {
    /// The caller passed something libvpx cannot take (size, length, setting).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// libvpx returned an error.
    #[error("libvpx {op} failed: {code:?}{detail}")]
    Codec {
        /// The operation (init, encode, decode, ...).
        op: &'static str,
        /// libvpx's error code.
        code: sys::vpx_codec_err_t,
        /// libvpx's detail text, if it gave one (with a leading ": ").
        detail: String,
    },
}

/// Result of this crate's calls.
pub type Result<T> = std::result::Result<T, VpxError>;

/// Bytes of a packed I420 picture of `width` x `height`.
pub fn i420_len(width: u32, height: u32) -> usize {
    let (w, h) = (width as usize, height as usize);
    w * h + 2 * w.div_ceil(2) * h.div_ceil(2)
}

/// Largest side accepted, in pixels (VP8's frame header holds 14 bits of size).
pub const MAX_SIDE: u32 = 16_383;

fn check_size(width: u32, height: u32) -> Result<()> {
    if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
        return Err(VpxError::InvalidArgument(format!("picture size {width}x{height}")));
    }
    Ok(())
}

/// A libvpx codec context, destroyed on drop.
struct Context(Box<sys::vpx_codec_ctx_t>);

// SAFETY: a libvpx context holds no thread-affine state; it may be used from any thread as
// long as calls are not concurrent, which `&mut self` on every method that touches it ensures.
unsafe impl Send for Context {}

impl Context {
    /// A zeroed context, ready for `vpx_codec_*_init_ver`.
    fn zeroed() -> Self {
        // SAFETY: `vpx_codec_ctx_t` is raw pointers, integers, a union of pointers and an
        // error enum whose 0 is `VPX_CODEC_OK`: all-zero bytes are a valid value (and what
        // libvpx's own examples pass to init).
        Self(Box::new(unsafe { MaybeUninit::<sys::vpx_codec_ctx_t>::zeroed().assume_init() }))
    }

    fn ptr(&mut self) -> *mut sys::vpx_codec_ctx_t {
        &mut *self.0
    }

    /// `Ok` when `code` is `VPX_CODEC_OK`, else the error with libvpx's detail text.
    fn check(&mut self, op: &'static str, code: sys::vpx_codec_err_t) -> Result<()> {
        if code == sys::vpx_codec_err_t::VPX_CODEC_OK {
            return Ok(());
        }
        // SAFETY: the context is initialised (or zeroed, for which libvpx returns null);
        // the detail, when not null, is a NUL-terminated string owned by the context that
        // lives until the next call on it, and is copied out before then.
        let detail = unsafe {
            let p = sys::vpx_codec_error_detail(self.ptr());
            if p.is_null() {
                String::new()
            } else {
                format!(": {}", CStr::from_ptr(p).to_string_lossy())
            }
        };
        Err(VpxError::Codec { op, code, detail })
    }
}

/// A context that init succeeded on; destroyed exactly once, on drop.
struct Codec(Context);

impl Drop for Codec {
    fn drop(&mut self) {
        // SAFETY: the context was initialised by a successful `vpx_codec_*_init_ver` and is
        // destroyed only here.
        unsafe {
            sys::vpx_codec_destroy(self.0.ptr());
        }
    }
}

/// Settings of a [`VpxEncoder`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncoderConfig {
    /// Picture width in pixels.
    pub width: u32,
    /// Picture height in pixels.
    pub height: u32,
    /// Target bitrate in bits per second (constant-bitrate rate control).
    pub bitrate_bps: u32,
    /// Threads libvpx may use (at least 1).
    pub threads: u32,
}

/// One encoded frame.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EncodedFrame {
    /// The frame's bitstream; empty when rate control dropped the picture.
    pub data: Vec<u8>,
    /// Whether it is a keyframe.
    pub keyframe: bool,
}

/// The encoder's time base: the 90 kHz clock of RTP video.
const TIMEBASE_HZ: c_int = 90_000;

/// An encoder configuration as libvpx reads it.
#[derive(Clone, Copy)]
struct EncCfg(sys::vpx_codec_enc_cfg_t);

// SAFETY: the only pointers in it are the two-pass statistics buffers, which stay null (the
// encoder runs one pass); the rest is plain numbers.
unsafe impl Send for EncCfg {}

/// A real-time VP8 or VP9 encoder of packed I420 pictures.
pub struct VpxEncoder {
    codec: Codec,
    which: VpxCodec,
    /// Boxed: libvpx's configuration is over 500 bytes.
    cfg: Box<EncCfg>,
    config: EncoderConfig,
}

impl VpxEncoder {
    /// A `which` encoder for pictures of `config.width` x `config.height`.
    pub fn new(which: VpxCodec, config: EncoderConfig) -> Result<Self> {
        check_size(config.width, config.height)?;
        if config.bitrate_bps < 1000 || config.threads == 0 {
            return Err(VpxError::InvalidArgument(format!("{which:?} encoder settings {config:?}")));
        }
        // SAFETY: both interface functions return a static interface.
        let iface = unsafe {
            match which {
                VpxCodec::Vp8 => sys::vpx_codec_vp8_cx(),
                VpxCodec::Vp9 => sys::vpx_codec_vp9_cx(),
            }
        };
        let mut cfg = MaybeUninit::<sys::vpx_codec_enc_cfg_t>::uninit();
        // SAFETY: `config_default` writes the whole configuration when it returns OK
        // (checked before `assume_init`).
        let code = unsafe { sys::vpx_codec_enc_config_default(iface, cfg.as_mut_ptr(), 0) };
        let mut ctx = Context::zeroed();
        ctx.check("default configuration", code)?;
        // SAFETY: initialised by the successful call above.
        let mut cfg = unsafe { cfg.assume_init() };
        cfg.g_w = config.width;
        cfg.g_h = config.height;
        cfg.g_threads = config.threads;
        cfg.g_timebase = sys::vpx_rational { num: 1, den: TIMEBASE_HZ };
        cfg.g_pass = sys::vpx_enc_pass::VPX_RC_ONE_PASS;
        cfg.g_lag_in_frames = 0;
        cfg.g_error_resilient = sys::VPX_ERROR_RESILIENT_DEFAULT;
        cfg.rc_end_usage = sys::vpx_rc_mode::VPX_CBR;
        cfg.rc_target_bitrate = config.bitrate_bps / 1000;
        // Drop a picture rather than overshoot when the buffer runs low (as libwebrtc does).
        cfg.rc_dropframe_thresh = 30;
        cfg.rc_resize_allowed = 0;
        cfg.rc_min_quantizer = 2;
        cfg.rc_max_quantizer = 56;
        cfg.rc_undershoot_pct = 100;
        cfg.rc_overshoot_pct = 15;
        cfg.rc_buf_initial_sz = 500;
        cfg.rc_buf_optimal_sz = 600;
        cfg.rc_buf_sz = 1000;
        cfg.kf_mode = sys::vpx_kf_mode::VPX_KF_AUTO;
        cfg.kf_max_dist = 3000;
        // SAFETY: `ctx` is a zeroed context, `cfg` a complete configuration that libvpx copies,
        // and the ABI version is the one the bindings were generated for.
        let code =
            unsafe { sys::vpx_codec_enc_init_ver(ctx.ptr(), iface, &cfg, 0, sys::VPX_ENCODER_ABI_VERSION as c_int) };
        ctx.check("encoder init", code)?;
        let mut codec = Codec(ctx);
        // Real-time speed (as libwebrtc sets on desktop) and no noise filtering; VP9 with
        // row multithreading and cyclic-refresh adaptive quantisation (libwebrtc's
        // real-time settings).
        use sys::vp8e_enc_control_id as id;
        let controls: &[(id, c_int)] = match which {
            VpxCodec::Vp8 => &[(id::VP8E_SET_CPUUSED, -6), (id::VP8E_SET_NOISE_SENSITIVITY, 0)],
            VpxCodec::Vp9 => &[(id::VP8E_SET_CPUUSED, 7), (id::VP9E_SET_ROW_MT, 1), (id::VP9E_SET_AQ_MODE, 3)],
        };
        for &(id, value) in controls {
            // SAFETY: every control used takes one `int` argument, which is what is passed.
            let code = unsafe { sys::vpx_codec_control_(codec.0.ptr(), id as c_int, value) };
            codec.0.check("encoder control", code)?;
        }
        Ok(Self { codec, which, cfg: Box::new(EncCfg(cfg)), config })
    }

    /// The settings it runs with (the bitrate as last set).
    pub fn config(&self) -> EncoderConfig {
        self.config
    }

    /// Changes the target bitrate from the next frame on.
    pub fn set_bitrate(&mut self, bitrate_bps: u32) -> Result<()> {
        if bitrate_bps < 1000 {
            return Err(VpxError::InvalidArgument(format!("{:?} bitrate {bitrate_bps} b/s", self.which)));
        }
        let mut cfg = *self.cfg;
        cfg.0.rc_target_bitrate = bitrate_bps / 1000;
        // SAFETY: the context is initialised; libvpx copies the configuration.
        let code = unsafe { sys::vpx_codec_enc_config_set(self.codec.0.ptr(), &cfg.0) };
        self.codec.0.check("bitrate change", code)?;
        *self.cfg = cfg;
        self.config.bitrate_bps = bitrate_bps;
        Ok(())
    }

    /// Encodes a packed I420 picture of the encoder's size, shown at `pts` (90 kHz, rising)
    /// for `duration` ticks; `keyframe` forces a keyframe.
    pub fn encode(&mut self, i420: &[u8], pts: i64, duration: u64, keyframe: bool) -> Result<EncodedFrame> {
        let (w, h) = (self.config.width, self.config.height);
        if i420.len() != i420_len(w, h) {
            return Err(VpxError::InvalidArgument(format!(
                "{} bytes for a {w}x{h} I420 picture of {} bytes",
                i420.len(),
                i420_len(w, h)
            )));
        }
        let (cw, ch) = (w.div_ceil(2) as usize, h.div_ceil(2) as usize);
        let y_len = w as usize * h as usize;
        let base = i420.as_ptr().cast_mut();
        let mut img = MaybeUninit::<sys::vpx_image_t>::uninit();
        // SAFETY: `vpx_img_wrap` fills the whole descriptor (it clears it first) without
        // reading or writing the pixels; the planes and strides are then set to the packed
        // layout, whose length was checked above, so every row libvpx reads is inside
        // `i420`. libvpx only reads an input picture, so the const-to-mut cast is not
        // used to write, and the descriptor does not outlive this call.
        let code = unsafe {
            let p = sys::vpx_img_wrap(img.as_mut_ptr(), sys::vpx_img_fmt::VPX_IMG_FMT_I420, w, h, 1, base);
            if p.is_null() {
                return Err(VpxError::InvalidArgument(format!("libvpx cannot wrap a {w}x{h} picture")));
            }
            let img = img.assume_init_mut();
            img.planes = [base, base.add(y_len), base.add(y_len + cw * ch), ptr::null_mut()];
            img.stride = [w as c_int, cw as c_int, cw as c_int, 0];
            let flags = if keyframe { sys::VPX_EFLAG_FORCE_KF as sys::vpx_enc_frame_flags_t } else { 0 };
            sys::vpx_codec_encode(
                self.codec.0.ptr(),
                img,
                pts,
                duration as c_ulong,
                flags,
                sys::VPX_DL_REALTIME as c_ulong,
            )
        };
        self.codec.0.check("encode", code)?;
        let mut out = EncodedFrame::default();
        let mut iter: sys::vpx_codec_iter_t = ptr::null();
        loop {
            // SAFETY: the context is initialised; the packet and its buffer stay valid until
            // the next call on the context, and are copied out before that.
            let packet = unsafe {
                let p = sys::vpx_codec_get_cx_data(self.codec.0.ptr(), &mut iter);
                if p.is_null() {
                    break;
                }
                &*p
            };
            if packet.kind != sys::vpx_codec_cx_pkt_kind::VPX_CODEC_CX_FRAME_PKT {
                continue;
            }
            // SAFETY: a frame packet's payload is the `frame` member of the union, and its
            // buffer holds `sz` bytes.
            unsafe {
                let frame = packet.data.frame;
                if !frame.buf.is_null() && frame.sz > 0 {
                    out.data.extend_from_slice(std::slice::from_raw_parts(frame.buf.cast::<u8>(), frame.sz as usize));
                }
                out.keyframe |= frame.flags & sys::VPX_FRAME_IS_KEY != 0;
            }
        }
        Ok(out)
    }
}

/// A decoded picture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Picture {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Packed I420 pixels ([`i420_len`] bytes).
    pub data: Vec<u8>,
}

/// The codecs of libvpx.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VpxCodec {
    /// VP8 (RFC 6386).
    Vp8,
    /// VP9 (profile 0 decoded; other profiles are not 8-bit 4:2:0).
    Vp9,
}

impl VpxCodec {
    /// Whether `frame` is a keyframe of this codec.
    pub fn is_keyframe(self, frame: &[u8]) -> bool {
        match self {
            Self::Vp8 => is_keyframe(frame),
            Self::Vp9 => is_vp9_keyframe(frame),
        }
    }
}

/// A VP8 or VP9 decoder producing packed I420 pictures.
pub struct VpxDecoder {
    codec: Codec,
    which: VpxCodec,
}

impl VpxDecoder {
    /// A decoder of `which` (the picture size comes from the stream).
    pub fn new(which: VpxCodec) -> Result<Self> {
        let mut ctx = Context::zeroed();
        let cfg = sys::vpx_codec_dec_cfg_t { threads: 1, w: 0, h: 0 };
        // SAFETY: both interface functions return a static interface; `ctx` is a zeroed
        // context; libvpx copies the configuration; the ABI version is the one the bindings
        // were generated for.
        let code = unsafe {
            let iface = match which {
                VpxCodec::Vp8 => sys::vpx_codec_vp8_dx(),
                VpxCodec::Vp9 => sys::vpx_codec_vp9_dx(),
            };
            sys::vpx_codec_dec_init_ver(ctx.ptr(), iface, &cfg, 0, sys::VPX_DECODER_ABI_VERSION as c_int)
        };
        ctx.check("decoder init", code)?;
        Ok(Self { codec: Codec(ctx), which })
    }

    /// The codec it decodes.
    pub fn codec(&self) -> VpxCodec {
        self.which
    }

    /// Decodes one frame into the pictures it yields (one, or none for a frame that is not
    /// shown; a VP9 superframe, or spatial layers sent back to back, yields the last shown).
    /// A frame libvpx refuses (corrupt, truncated, missing its reference) is an error; the
    /// decoder stays usable and recovers at the next keyframe.
    pub fn decode(&mut self, frame: &[u8]) -> Result<Vec<Picture>> {
        if frame.is_empty() {
            return Err(VpxError::InvalidArgument(format!("an empty {:?} frame", self.which)));
        }
        let len = c_uint::try_from(frame.len())
            .map_err(|_| VpxError::InvalidArgument(format!("a {:?} frame of {} bytes", self.which, frame.len())))?;
        // SAFETY: the context is initialised; libvpx reads `len` bytes of `frame`, which is
        // exactly its length, and keeps no pointer into it after returning.
        let code = unsafe { sys::vpx_codec_decode(self.codec.0.ptr(), frame.as_ptr(), len, ptr::null_mut(), 0) };
        self.codec.0.check("decode", code)?;
        let mut pictures = Vec::new();
        let mut iter: sys::vpx_codec_iter_t = ptr::null();
        loop {
            // SAFETY: the context is initialised; the image stays valid until the next
            // decode call, and is copied out before that.
            let img = unsafe {
                let p = sys::vpx_codec_get_frame(self.codec.0.ptr(), &mut iter);
                if p.is_null() {
                    break;
                }
                &*p
            };
            pictures.push(copy_picture(img)?);
        }
        Ok(pictures)
    }
}

/// Copies the visible part of a decoded I420 image into a packed [`Picture`].
fn copy_picture(img: &sys::vpx_image_t) -> Result<Picture> {
    let (width, height) = (img.d_w, img.d_h);
    if img.fmt != sys::vpx_img_fmt::VPX_IMG_FMT_I420 {
        return Err(VpxError::InvalidArgument(format!("decoded a {:?} image, not 8-bit I420", img.fmt)));
    }
    check_size(width, height)?;
    let (w, h) = (width as usize, height as usize);
    let planes = [(w, h), (w.div_ceil(2), h.div_ceil(2)), (w.div_ceil(2), h.div_ceil(2))];
    let mut data = Vec::with_capacity(i420_len(width, height));
    for (i, &(row_len, rows)) in planes.iter().enumerate() {
        let (src, stride) = (img.planes[i], img.stride[i]);
        let stride = usize::try_from(stride).unwrap_or(0);
        if src.is_null() || stride < row_len {
            return Err(VpxError::InvalidArgument(format!("decoded an image with a bad plane {i}")));
        }
        for row in 0..rows {
            // SAFETY: libvpx's plane `i` holds `rows` rows of `stride` bytes (checked to be at
            // least the visible `row_len`) for an I420 image of this displayed size.
            data.extend_from_slice(unsafe { std::slice::from_raw_parts(src.add(row * stride), row_len) });
        }
    }
    Ok(Picture { width, height, data })
}

/// Whether a VP8 frame is a keyframe (bit 0 of its first byte is 0, RFC 6386 section 9.1).
pub fn is_keyframe(frame: &[u8]) -> bool {
    frame.first().is_some_and(|b| b & 1 == 0)
}

/// Whether a VP9 frame is a keyframe, from its uncompressed header (VP9 bitstream
/// specification 6.2): frame marker `10`, two profile bits (profile 3 adds a reserved
/// bit), `show_existing_frame` 0, then `frame_type` 0.
pub fn is_vp9_keyframe(frame: &[u8]) -> bool {
    let Some(&b) = frame.first() else { return false };
    if b >> 6 != 0b10 {
        return false;
    }
    let profile = ((b >> 5) & 1) | (((b >> 4) & 1) << 1);
    // Bits after the profile, from the most significant: [reserved,] show_existing, type.
    let shift = if profile == 3 { 2 } else { 3 };
    let show_existing = (b >> shift) & 1;
    let frame_type = (b >> (shift - 1)) & 1;
    show_existing == 0 && frame_type == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(w: u32, h: u32, shift: u32) -> Vec<u8> {
        let mut data = vec![128u8; i420_len(w, h)];
        for y in 0..h {
            for x in 0..w {
                data[(y * w + x) as usize] = ((x + y + shift) % 256) as u8;
            }
        }
        data
    }

    #[test]
    fn odd_sizes_round_trip() {
        let (w, h) = (321, 241);
        for codec in [VpxCodec::Vp8, VpxCodec::Vp9] {
            let config = EncoderConfig { width: w, height: h, bitrate_bps: 800_000, threads: 1 };
            let mut enc = VpxEncoder::new(codec, config).unwrap();
            let mut dec = VpxDecoder::new(codec).unwrap();
            for i in 0..5u32 {
                let frame = enc.encode(&gradient(w, h, i), i64::from(i) * 3000, 3000, false).unwrap();
                assert_eq!(frame.keyframe, i == 0, "{codec:?} frame {i}");
                assert_eq!(codec.is_keyframe(&frame.data), i == 0, "{codec:?} frame {i}");
                let pics = dec.decode(&frame.data).unwrap();
                assert_eq!(pics.len(), 1);
                assert_eq!((pics[0].width, pics[0].height, pics[0].data.len()), (w, h, i420_len(w, h)));
                let luma =
                    pics[0].data[..(w * h) as usize].iter().map(|&v| u64::from(v)).sum::<u64>() / u64::from(w * h);
                let sent =
                    gradient(w, h, i)[..(w * h) as usize].iter().map(|&v| u64::from(v)).sum::<u64>() / u64::from(w * h);
                assert!(luma.abs_diff(sent) < 8, "{codec:?} mean luma {luma} vs {sent}");
            }
        }
    }

    #[test]
    fn bad_arguments_are_errors() {
        let bad = |width, height, bitrate_bps, threads| {
            VpxEncoder::new(VpxCodec::Vp8, EncoderConfig { width, height, bitrate_bps, threads }).err()
        };
        assert!(matches!(bad(0, 10, 100_000, 1), Some(VpxError::InvalidArgument(_))));
        assert!(matches!(bad(20_000, 10, 100_000, 1), Some(VpxError::InvalidArgument(_))));
        assert!(matches!(bad(16, 16, 10, 1), Some(VpxError::InvalidArgument(_))));
        assert!(matches!(bad(16, 16, 100_000, 0), Some(VpxError::InvalidArgument(_))));
        let mut enc =
            VpxEncoder::new(VpxCodec::Vp8, EncoderConfig { width: 16, height: 16, bitrate_bps: 100_000, threads: 1 })
                .unwrap();
        assert!(matches!(enc.encode(&[0; 10], 0, 3000, false), Err(VpxError::InvalidArgument(_))));
        assert!(matches!(enc.set_bitrate(0), Err(VpxError::InvalidArgument(_))));
        enc.set_bitrate(50_000).unwrap();
        assert_eq!(enc.config().bitrate_bps, 50_000);
        let mut dec = VpxDecoder::new(VpxCodec::Vp8).unwrap();
        assert!(matches!(dec.decode(&[]), Err(VpxError::InvalidArgument(_))));
    }

    #[test]
    fn garbage_is_an_error_and_the_decoder_recovers() {
        let (w, h) = (64, 48);
        for codec in [VpxCodec::Vp8, VpxCodec::Vp9] {
            let config = EncoderConfig { width: w, height: h, bitrate_bps: 300_000, threads: 1 };
            let mut enc = VpxEncoder::new(codec, config).unwrap();
            let mut dec = VpxDecoder::new(codec).unwrap();
            // A keyframe header with junk after it, and plain junk.
            let mut junk = enc.encode(&gradient(w, h, 0), 0, 3000, true).unwrap().data;
            junk.truncate(12);
            junk[3..].iter_mut().for_each(|b| *b ^= 0xa5);
            assert!(dec.decode(&junk).is_err(), "{codec:?}");
            assert!(dec.decode(&[0xff; 7]).is_err(), "{codec:?}");
            let key = enc.encode(&gradient(w, h, 1), 3000, 3000, true).unwrap();
            assert!(key.keyframe);
            assert_eq!(dec.decode(&key.data).unwrap().len(), 1, "{codec:?}");
        }
    }
}
