//! `NativeLocalParticipant` and `NativeRemoteParticipant`: the native sides of
//! `LocalParticipant` and `RemoteParticipant` in `index.js`.

use std::collections::HashMap;
use std::sync::Arc;

use lkrtc_engine::{DataOptions, LocalParticipant, RemoteParticipant};
use napi::bindgen_prelude::{PromiseRaw, Uint8Array};
use napi::Env;
use napi_derive::napi;

use crate::convert::js_id;
use crate::error;
use crate::handles::{Handle, HandleKind};
use crate::publication::NativeRemoteTrackPublication;
use crate::refs::{self, JsRef, Registry};

/// A participant's fields, read in one call (for tombstones).
#[napi(object)]
pub struct ParticipantInfo {
    pub sid: String,
    pub identity: String,
    pub name: String,
    pub metadata: String,
    pub attributes: HashMap<String, String>,
    /// `ParticipantKind` as the official SDK numbers it (0 standard, 4 agent, 5 connector,
    /// 6 bridge).
    pub kind: i32,
    /// `ParticipantKindDetail` values.
    pub kind_details: Vec<u32>,
    /// `DisconnectReason` value once the participant left (null while here or unknown).
    pub disconnect_reason: Option<u32>,
}

/// Options of `publishData`.
#[napi(object)]
pub struct NativeDataOptions {
    pub reliable: Option<bool>,
    pub destination_identities: Option<Vec<String>>,
    pub topic: Option<String>,
}

// ---------------------------------------------------------------------------------------

/// Native side of a `RemoteParticipant`.
#[napi]
pub struct NativeRemoteParticipant {
    id: u64,
    reg: Arc<Registry>,
    handle: Handle<RemoteParticipant>,
}

impl NativeRemoteParticipant {
    /// A reference to `p` for JavaScript (see `refs`).
    pub(crate) fn js_ref(reg: &Arc<Registry>, p: RemoteParticipant) -> JsRef<Self> {
        refs::js_ref(reg, p.id(), || Self::new(reg.clone(), p))
    }

    fn new(reg: Arc<Registry>, p: RemoteParticipant) -> Self {
        Self { id: p.id(), reg, handle: Handle::new(HandleKind::Participant, "RemoteParticipant", p) }
    }
}

#[napi]
impl NativeRemoteParticipant {
    /// Engine object id (the key of the room's wrapper map).
    #[napi(getter, catch_unwind)]
    pub fn id(&self) -> f64 {
        js_id(self.id)
    }

    /// Whether the engine object is still held.
    #[napi(getter, catch_unwind)]
    pub fn live(&self) -> bool {
        self.handle.is_live()
    }

    #[napi(catch_unwind)]
    pub fn info(&self) -> crate::error::Result<ParticipantInfo> {
        self.handle.with(|p| ParticipantInfo {
            sid: p.sid(),
            identity: p.identity(),
            name: p.name(),
            metadata: p.metadata(),
            attributes: p.attributes(),
            kind: p.kind() as i32,
            kind_details: p.kind_details(),
            disconnect_reason: u32::try_from(p.disconnect_reason()).ok().filter(|r| *r != 0),
        })
    }

    #[napi(getter, catch_unwind)]
    pub fn name(&self) -> crate::error::Result<String> {
        self.handle.with(|p| p.name())
    }

    #[napi(getter, catch_unwind)]
    pub fn metadata(&self) -> crate::error::Result<String> {
        self.handle.with(|p| p.metadata())
    }

    #[napi(getter, catch_unwind)]
    pub fn attributes(&self) -> crate::error::Result<HashMap<String, String>> {
        self.handle.with(|p| p.attributes())
    }

    /// Current publications (ids of those JavaScript already holds, new instances else).
    #[napi(catch_unwind, ts_return_type = "Array<number | NativeRemoteTrackPublication>")]
    pub fn track_publications(&self) -> crate::error::Result<Vec<JsRef<NativeRemoteTrackPublication>>> {
        let pubs = self.handle.with(|p| p.track_publications())?;
        Ok(pubs.into_iter().map(|p| NativeRemoteTrackPublication::js_ref(&self.reg, p)).collect())
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

impl Drop for NativeRemoteParticipant {
    fn drop(&mut self) {
        self.dispose();
    }
}

// ---------------------------------------------------------------------------------------

/// Native side of the `LocalParticipant`.
#[napi]
pub struct NativeLocalParticipant {
    handle: Handle<LocalParticipant>,
}

impl NativeLocalParticipant {
    /// The engine participant (for `audio.rs`), or `ERR_DISPOSED`.
    pub(crate) fn engine(&self) -> crate::error::Result<LocalParticipant> {
        self.handle.get()
    }
}

impl NativeLocalParticipant {
    pub(crate) fn new(p: LocalParticipant) -> Self {
        Self { handle: Handle::new(HandleKind::Participant, "LocalParticipant", p) }
    }
}

#[napi]
impl NativeLocalParticipant {
    #[napi(getter, catch_unwind)]
    pub fn live(&self) -> bool {
        self.handle.is_live()
    }

    #[napi(catch_unwind)]
    pub fn info(&self) -> crate::error::Result<ParticipantInfo> {
        self.handle.with(|p| ParticipantInfo {
            sid: p.sid(),
            identity: p.identity(),
            name: p.name(),
            metadata: p.metadata(),
            attributes: p.attributes(),
            kind: p.kind() as i32,
            kind_details: p.kind_details(),
            disconnect_reason: None,
        })
    }

    #[napi(getter, catch_unwind)]
    pub fn name(&self) -> crate::error::Result<String> {
        self.handle.with(|p| p.name())
    }

    #[napi(getter, catch_unwind)]
    pub fn metadata(&self) -> crate::error::Result<String> {
        self.handle.with(|p| p.metadata())
    }

    #[napi(getter, catch_unwind)]
    pub fn attributes(&self) -> crate::error::Result<HashMap<String, String>> {
        self.handle.with(|p| p.attributes())
    }

    /// Sends a user data packet. The packet is queued on the call (packets, stream chunks
    /// and RPC requests go out in call order); the promise resolves once it is sent.
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn publish_data<'env>(
        &self,
        env: &'env Env,
        data: Uint8Array,
        options: Option<NativeDataOptions>,
    ) -> crate::error::Result<PromiseRaw<'env, ()>> {
        let options =
            options.unwrap_or(NativeDataOptions { reliable: None, destination_identities: None, topic: None });
        let options = DataOptions {
            reliable: options.reliable.unwrap_or(false),
            destination_identities: options.destination_identities.unwrap_or_default(),
            topic: options.topic,
        };
        let sent = self.handle.get().map(|p| p.publish_data(data.to_vec(), options));
        error::promise(env, error::replied(sent))
    }

    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn set_metadata<'env>(&self, env: &'env Env, metadata: String) -> crate::error::Result<PromiseRaw<'env, ()>> {
        error::promise(env, error::replied(self.handle.get().map(|p| p.set_metadata(metadata))))
    }

    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn set_name<'env>(&self, env: &'env Env, name: String) -> crate::error::Result<PromiseRaw<'env, ()>> {
        error::promise(env, error::replied(self.handle.get().map(|p| p.set_name(name))))
    }

    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn set_attributes<'env>(
        &self,
        env: &'env Env,
        attributes: HashMap<String, String>,
    ) -> crate::error::Result<PromiseRaw<'env, ()>> {
        error::promise(env, error::replied(self.handle.get().map(|p| p.set_attributes(attributes))))
    }

    /// Drops the engine object; false if already disposed.
    #[napi(catch_unwind)]
    pub fn dispose(&self) -> bool {
        self.handle.dispose()
    }
}
