//! The handle registry: process-wide live counts by kind, and [`Handle`], the slot every
//! native class keeps its engine object in.
//!
//! A handle is counted once when created and uncounted exactly once, on the first of
//! [`Handle::dispose`] (eager disposal or an explicit `dispose()` from JavaScript) or its
//! `Drop` (the garbage-collection finalizer of the napi class that owns it). After that
//! the slot is empty: the engine object has been dropped and every method that needs it
//! returns an `ERR_DISPOSED` error.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, MutexGuard};

use napi_derive::napi;

use crate::error;

/// The kinds of handles JavaScript can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HandleKind {
    Room = 0,
    Participant = 1,
    Publication = 2,
    Track = 3,
    AudioSource = 4,
    AudioStream = 5,
    StreamReader = 6,
    StreamWriter = 7,
    VideoSource = 8,
    VideoStream = 9,
}

const KINDS: usize = 10;

static LIVE: [AtomicI64; KINDS] = [const { AtomicI64::new(0) }; KINDS];

impl HandleKind {
    fn count(self) -> &'static AtomicI64 {
        &LIVE[self as usize]
    }
}

/// A counted slot holding one engine object until it is disposed.
pub(crate) struct Handle<T> {
    kind: HandleKind,
    /// What `ERR_DISPOSED` messages call the object (`RemoteTrackPublication`...).
    what: &'static str,
    slot: Mutex<Option<T>>,
}

impl<T> Handle<T> {
    /// Wraps `value` and counts it.
    pub(crate) fn new(kind: HandleKind, what: &'static str, value: T) -> Self {
        kind.count().fetch_add(1, Ordering::Relaxed);
        Self { kind, what, slot: Mutex::new(Some(value)) }
    }

    fn lock(&self) -> MutexGuard<'_, Option<T>> {
        // A panic while the lock was held cannot leave the Option half-written.
        self.slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` on the engine object, or fails with `ERR_DISPOSED`.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&T) -> R) -> crate::error::Result<R> {
        match self.lock().as_ref() {
            Some(v) => Ok(f(v)),
            None => Err(error::disposed(self.what)),
        }
    }

    /// Whether the engine object is still held.
    pub(crate) fn is_live(&self) -> bool {
        self.lock().is_some()
    }

    /// Drops the engine object and uncounts the handle; false if it was already disposed.
    pub(crate) fn dispose(&self) -> bool {
        let taken = self.lock().take();
        match taken {
            Some(value) => {
                self.kind.count().fetch_sub(1, Ordering::Relaxed);
                // Engine objects may own WebRTC state whose destructors expect a runtime
                // (none is left at process exit: then the value is leaked, never a panic).
                crate::runtime::release(value);
                true
            }
            None => false,
        }
    }
}

impl<T: Clone> Handle<T> {
    /// A clone of the engine object (engine objects are cheap `Arc` handles).
    pub(crate) fn get(&self) -> crate::error::Result<T> {
        self.with(T::clone)
    }
}

impl<T> Drop for Handle<T> {
    fn drop(&mut self) {
        // The finalizer path: never panics, never double-counts.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.dispose()));
    }
}

/// Live native handles by kind. Every count returns to 0 once the objects are disposed
/// (eagerly by the room, by `dispose()`, or by garbage collection).
#[napi(object)]
pub struct LiveHandles {
    /// Rooms (one per `Room` that holds a native room).
    pub room: i64,
    /// Local and remote participants.
    pub participant: i64,
    /// Track publications.
    pub publication: i64,
    /// Tracks.
    pub track: i64,
    /// Audio sources (until `close()`).
    pub audio_source: i64,
    /// Audio streams (until they end or are cancelled).
    pub audio_stream: i64,
    /// Incoming data streams (until read to the end, closed, disconnected or collected).
    pub stream_reader: i64,
    /// Outgoing data streams (until closed, disconnected or collected).
    pub stream_writer: i64,
    /// Video sources (until `close()`).
    pub video_source: i64,
    /// Video streams (until they end or are cancelled).
    pub video_stream: i64,
}

/// Counts of live native handles by kind.
#[napi(catch_unwind)]
pub fn live_handles() -> LiveHandles {
    let get = |k: HandleKind| k.count().load(Ordering::Relaxed);
    LiveHandles {
        room: get(HandleKind::Room),
        participant: get(HandleKind::Participant),
        publication: get(HandleKind::Publication),
        track: get(HandleKind::Track),
        audio_source: get(HandleKind::AudioSource),
        audio_stream: get(HandleKind::AudioStream),
        stream_reader: get(HandleKind::StreamReader),
        stream_writer: get(HandleKind::StreamWriter),
        video_source: get(HandleKind::VideoSource),
        video_stream: get(HandleKind::VideoStream),
    }
}
