//! `NativeRemoteTrack`: the native side of `RemoteAudioTrack` / `RemoteVideoTrack`.

use std::sync::Arc;

use lkrtc_engine::RemoteTrack;
use napi_derive::napi;

use crate::convert::{js_id, track_kind};
use crate::handles::{Handle, HandleKind};
use crate::refs::{self, JsRef, Registry};

/// A track's fields, read in one call (for tombstones).
#[napi(object)]
pub struct TrackInfo {
    pub sid: String,
    pub name: String,
    /// `TrackKind` value (1 audio, 2 video).
    pub kind: u32,
    pub muted: bool,
}

/// Native side of a remote track.
#[napi]
pub struct NativeRemoteTrack {
    id: u64,
    reg: Arc<Registry>,
    handle: Handle<RemoteTrack>,
}

impl NativeRemoteTrack {
    /// A reference to `t` for JavaScript (see `refs`).
    pub(crate) fn js_ref(reg: &Arc<Registry>, t: RemoteTrack) -> JsRef<Self> {
        refs::js_ref(reg, t.id(), || Self::new(reg.clone(), t))
    }

    fn new(reg: Arc<Registry>, t: RemoteTrack) -> Self {
        Self { id: t.id(), reg, handle: Handle::new(HandleKind::Track, "RemoteTrack", t) }
    }

    /// The engine track (for `audio.rs`), or `ERR_DISPOSED`.
    pub(crate) fn engine(&self) -> crate::error::Result<RemoteTrack> {
        self.handle.get()
    }
}

#[napi]
impl NativeRemoteTrack {
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
    pub fn info(&self) -> crate::error::Result<TrackInfo> {
        self.handle.with(|t| TrackInfo { sid: t.sid(), name: t.name(), kind: track_kind(t.kind()), muted: t.muted() })
    }

    #[napi(getter, catch_unwind)]
    pub fn muted(&self) -> crate::error::Result<bool> {
        self.handle.with(|t| t.muted())
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

impl Drop for NativeRemoteTrack {
    fn drop(&mut self) {
        self.dispose();
    }
}
