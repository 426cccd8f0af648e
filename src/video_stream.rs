//! `NativeVideoStream`: the native side of `VideoStream` (`ts/src/video_stream.ts`).
//!
//! Handles: a stream is counted as `videoStream` until it ends (read to the end), is
//! closed, or is collected.

use std::sync::Arc;

use lkrtc_engine::media::video::{VideoBufferType, VideoFrameEvent, VideoStream};
use napi::bindgen_prelude::{BigInt, PromiseRaw, Uint8Array};
use napi::Env;
use napi_derive::napi;

use crate::audio::rt;
use crate::error;
use crate::handles::{Handle, HandleKind};
use crate::track::NativeRemoteTrack;

/// One decoded frame.
#[napi(object)]
pub struct NativeVideoFrameEvent {
    /// `VideoBufferType` value.
    pub r#type: u32,
    pub width: u32,
    pub height: u32,
    pub data: Uint8Array,
    pub timestamp_us: BigInt,
    /// `VideoRotation` value.
    pub rotation: u32,
}

fn to_js(e: VideoFrameEvent) -> NativeVideoFrameEvent {
    NativeVideoFrameEvent {
        r#type: e.frame.ty as u32,
        width: e.frame.width,
        height: e.frame.height,
        data: Uint8Array::new(e.frame.data),
        timestamp_us: BigInt::from(e.timestamp_us),
        rotation: e.rotation,
    }
}

/// Native side of `VideoStream`.
#[napi]
pub struct NativeVideoStream {
    handle: Handle<Arc<VideoStream>>,
}

#[napi]
impl NativeVideoStream {
    /// Frames of `track` as `VideoBufferType` `format`.
    #[napi(constructor, catch_unwind)]
    pub fn new(track: &NativeRemoteTrack, format: u32) -> error::Result<Self> {
        let format = VideoBufferType::from_value(format).map_err(error::engine)?;
        let t = track.engine()?;
        let s = rt(|| t.video_stream(format))?.map_err(error::engine)?;
        Ok(Self { handle: Handle::new(HandleKind::VideoStream, "VideoStream", Arc::new(s)) })
    }

    #[napi(getter, catch_unwind)]
    pub fn live(&self) -> bool {
        self.handle.is_live()
    }

    /// Frames dropped because the reader was slower than the track.
    #[napi(getter, catch_unwind)]
    pub fn dropped_frames(&self) -> error::Result<f64> {
        self.handle.with(|s| s.dropped_frames() as f64)
    }

    /// The next frame, or null once the stream ended.
    #[napi(catch_unwind, ts_return_type = "Promise<NativeVideoFrameEvent | null>")]
    pub fn next<'env>(&self, env: &'env Env) -> error::Result<PromiseRaw<'env, Option<NativeVideoFrameEvent>>> {
        let s = self.handle.get()?;
        env.spawn_future_with_callback(async move { Ok(s.next().await) }, |_env, f| Ok(f.map(to_js)))
            .map_err(error::internal)
    }

    /// Ends the stream and frees it; false if already disposed.
    #[napi(catch_unwind)]
    pub fn close(&self) -> bool {
        let _ = self.handle.with(|s| rt(|| s.close()));
        self.handle.dispose()
    }
}
