//! Video publishing: `NativeVideoSource`, `NativeLocalVideoTrack` and
//! `publishLocalVideoTrack`. The public classes are `VideoSource` (`ts/src/video.ts`) and
//! `LocalVideoTrack` (`ts/src/track.ts`).
//!
//! Handles: a `VideoSource` is counted as `videoSource` until `close()`; a local video track
//! under `track` and its publication under `publication`, like audio's.

use lkrtc_engine::media::video::{LocalVideoTrack, VideoBufferType, VideoFrame, VideoSource};
use lkrtc_engine::media::LocalTrack;
use lkrtc_engine::{EngineError, TrackSource};
use napi::bindgen_prelude::{PromiseRaw, Uint8Array};
use napi::Env;
use napi_derive::napi;

use crate::audio::{publish, rt, NativeLocalTrackPublication, NativePublishOptions};
use crate::error;
use crate::handles::{Handle, HandleKind};
use crate::participant::NativeLocalParticipant;

/// Native side of `VideoSource`.
#[napi]
pub struct NativeVideoSource {
    handle: Handle<VideoSource>,
}

#[napi]
impl NativeVideoSource {
    #[napi(constructor, catch_unwind)]
    pub fn new(width: u32, height: u32) -> error::Result<Self> {
        let s = VideoSource::new(width, height).map_err(error::engine)?;
        Ok(Self { handle: Handle::new(HandleKind::VideoSource, "VideoSource", s) })
    }

    #[napi(getter, catch_unwind)]
    pub fn live(&self) -> bool {
        self.handle.is_live()
    }

    /// Queues a frame of `VideoBufferType` `ty` (the oldest queued frame is dropped when the
    /// queue is full), captured at `timestamp_us` (µs, any origin) if given.
    /// `ERR_INVALID_ARG` for a bad frame or timestamp, `ERR_DISPOSED` once closed.
    #[napi(catch_unwind)]
    pub fn capture_frame(
        &self,
        data: Uint8Array,
        ty: u32,
        width: u32,
        height: u32,
        timestamp_us: Option<f64>,
    ) -> error::Result<()> {
        let ty = VideoBufferType::from_value(ty).map_err(error::engine)?;
        let frame = VideoFrame::new(ty, width, height, data.to_vec()).map_err(error::engine)?;
        let stamp = match timestamp_us {
            Some(us) if !us.is_finite() => {
                return Err(error::engine(EngineError::InvalidArgument(format!("timestampUs {us}"))));
            }
            // Saturating: the engine refuses a negative stamp.
            Some(us) => Some(us as i64),
            None => None,
        };
        let source = self.handle.get()?;
        rt(|| source.capture_frame_at(&frame, stamp))?.map_err(error::engine)
    }

    /// Closes the source and frees it; false if it was already closed.
    #[napi(catch_unwind)]
    pub fn close(&self) -> bool {
        let _ = self.handle.with(|s| rt(|| s.close()));
        self.handle.dispose()
    }
}

/// Native side of `LocalVideoTrack`: an engine `LocalTrack` fed by a video source.
#[napi]
pub struct NativeLocalVideoTrack {
    handle: Handle<LocalTrack>,
}

#[napi]
impl NativeLocalVideoTrack {
    #[napi(constructor, catch_unwind)]
    pub fn new(name: String, source: &NativeVideoSource) -> error::Result<Self> {
        let s = source.handle.get()?;
        let t = rt(|| LocalVideoTrack::create(&name, &s))?.map_err(error::engine)?;
        Ok(Self { handle: Handle::new(HandleKind::Track, "LocalVideoTrack", t) })
    }

    #[napi(getter, catch_unwind)]
    pub fn live(&self) -> bool {
        self.handle.is_live()
    }

    #[napi(getter, catch_unwind)]
    pub fn name(&self) -> error::Result<String> {
        self.handle.with(|t| t.name())
    }

    /// The server sid once published.
    #[napi(getter, catch_unwind)]
    pub fn sid(&self) -> error::Result<Option<String>> {
        self.handle.with(|t| t.sid())
    }

    /// Stops feeding the track and frees it; false if already disposed.
    #[napi(catch_unwind)]
    pub fn dispose(&self) -> bool {
        let _ = self.handle.with(|t| rt(|| t.close()));
        self.handle.dispose()
    }
}

/// Publishes the video `track` as `participant`; resolves with the publication once the
/// server accepted it.
#[napi(catch_unwind, ts_return_type = "Promise<NativeLocalTrackPublication>")]
pub fn publish_local_video_track<'env>(
    env: &'env Env,
    participant: &NativeLocalParticipant,
    track: &NativeLocalVideoTrack,
    options: Option<NativePublishOptions>,
) -> error::Result<PromiseRaw<'env, NativeLocalTrackPublication>> {
    publish(env, participant, track.handle.get(), options, TrackSource::Camera)
}
