//! `NativeRemoteTrackPublication`: the native side of `RemoteTrackPublication`.

use std::sync::Arc;

use lkrtc_engine::{EngineError, RemoteTrackPublication, VideoQuality};
use napi::bindgen_prelude::PromiseRaw;
use napi::Env;
use napi_derive::napi;

use crate::convert::{js_id, track_kind, track_source};
use crate::error;
use crate::handles::{Handle, HandleKind};
use crate::refs::{self, JsRef, Registry};
use crate::track::NativeRemoteTrack;

/// A publication's fields, read in one call (for tombstones).
#[napi(object)]
pub struct PublicationInfo {
    pub sid: String,
    pub name: String,
    /// `TrackKind` value (1 audio, 2 video).
    pub kind: u32,
    /// `TrackSource` value.
    pub source: u32,
    pub mime_type: String,
    pub muted: bool,
    /// Video size (0 for audio).
    pub width: u32,
    pub height: u32,
    /// Whether the publisher sends simulcast layers.
    pub simulcasted: bool,
    /// `EncryptionType` value (end-to-end encryption the publisher announced).
    pub encryption_type: u32,
}

impl PublicationInfo {
    /// The fields of `info`; `muted` as the engine tracks it.
    #[allow(deprecated)] // `simulcast`: what servers set and the official SDKs report
    pub(crate) fn of(info: &lkrtc_engine::proto::TrackInfo, muted: bool) -> Self {
        Self {
            sid: info.sid.clone(),
            name: info.name.clone(),
            kind: track_kind(lkrtc_engine::TrackKind::from_proto(info.r#type)),
            source: track_source(lkrtc_engine::TrackSource::from_proto(info.source)),
            mime_type: info.mime_type.clone(),
            muted,
            width: info.width,
            height: info.height,
            simulcasted: info.simulcast,
            encryption_type: u32::try_from(info.encryption).unwrap_or(0),
        }
    }
}

/// Native side of a `RemoteTrackPublication`.
#[napi]
pub struct NativeRemoteTrackPublication {
    id: u64,
    reg: Arc<Registry>,
    handle: Handle<RemoteTrackPublication>,
}

impl NativeRemoteTrackPublication {
    /// A reference to `p` for JavaScript (see `refs`).
    pub(crate) fn js_ref(reg: &Arc<Registry>, p: RemoteTrackPublication) -> JsRef<Self> {
        refs::js_ref(reg, p.id(), || Self::new(reg.clone(), p))
    }

    fn new(reg: Arc<Registry>, p: RemoteTrackPublication) -> Self {
        Self { id: p.id(), reg, handle: Handle::new(HandleKind::Publication, "RemoteTrackPublication", p) }
    }
}

#[napi]
impl NativeRemoteTrackPublication {
    /// Engine object id.
    #[napi(getter, catch_unwind)]
    pub fn id(&self) -> f64 {
        js_id(self.id)
    }

    #[napi(getter, catch_unwind)]
    pub fn live(&self) -> bool {
        self.handle.is_live()
    }

    #[napi(catch_unwind)]
    pub fn info(&self) -> crate::error::Result<PublicationInfo> {
        self.handle.with(|p| PublicationInfo::of(&p.info(), p.muted()))
    }

    #[napi(getter, catch_unwind)]
    pub fn muted(&self) -> crate::error::Result<bool> {
        self.handle.with(|p| p.muted())
    }

    #[napi(getter, catch_unwind)]
    pub fn mime_type(&self) -> crate::error::Result<String> {
        self.handle.with(|p| p.mime_type())
    }

    /// The subscribed track, if any.
    #[napi(catch_unwind, ts_return_type = "number | NativeRemoteTrack | null")]
    pub fn track(&self) -> crate::error::Result<Option<JsRef<NativeRemoteTrack>>> {
        let t = self.handle.with(|p| p.track())?;
        Ok(t.map(|t| NativeRemoteTrack::js_ref(&self.reg, t)))
    }

    /// Asks the server to (un)subscribe; events follow.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn set_subscribed<'env>(&self, env: &'env Env, subscribed: bool) -> crate::error::Result<PromiseRaw<'env, ()>> {
        let p = self.handle.get();
        error::promise(env, p.map(|p| async move { p.set_subscribed(subscribed).await.map_err(error::engine) }))
    }

    /// Changes what this subscriber asks the server for: `enabled`, a `quality`
    /// (`VideoQuality`, clears the dimensions) or `width` and `height` (the size the video
    /// is shown at). Resolves once the server has been told.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn update_track_settings<'env>(
        &self,
        env: &'env Env,
        settings: NativeTrackSettings,
    ) -> crate::error::Result<PromiseRaw<'env, ()>> {
        let NativeTrackSettings { enabled, quality, width, height } = settings;
        let quality = quality
            .map(|q| {
                VideoQuality::from_value(q)
                    .ok_or_else(|| error::engine(EngineError::InvalidArgument(format!("unknown VideoQuality {q}"))))
            })
            .transpose()?;
        let dimensions = match (width, height) {
            (Some(w), Some(h)) => Some((w, h)),
            (None, None) => None,
            _ => return Err(error::engine(EngineError::InvalidArgument("give both width and height".into()))),
        };
        let p = self.handle.get();
        error::promise(
            env,
            p.map(|p| async move {
                p.update_settings(|s| {
                    if let Some(e) = enabled {
                        s.enabled = e;
                    }
                    if let Some(q) = quality {
                        (s.quality, s.dimensions) = (q, None);
                    }
                    if dimensions.is_some() {
                        s.dimensions = dimensions;
                    }
                })
                .await
                .map_err(error::engine)
            }),
        )
    }

    /// Drops the engine object; false if already disposed.
    #[napi(catch_unwind)]
    pub fn dispose(&self) -> bool {
        let disposed = self.handle.dispose();
        if disposed {
            self.reg.forget(self.id);
        }
        disposed
    }
}

/// Fields of `updateTrackSettings` (each optional).
#[napi(object)]
pub struct NativeTrackSettings {
    pub enabled: Option<bool>,
    /// `VideoQuality` value (0 low, 1 medium, 2 high).
    pub quality: Option<u32>,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

impl Drop for NativeRemoteTrackPublication {
    fn drop(&mut self) {
        self.dispose();
    }
}
