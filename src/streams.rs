//! Text and byte streams: `NativeStreamReader` (an incoming stream, counted as
//! `streamReader`), `NativeStreamWriter` (an outgoing one, counted as `streamWriter`), and
//! the room's per-topic registration. `js/data.js` wraps them in the official classes
//! (`TextStreamReader`, `ByteStreamWriter`...).
//!
//! Release rules (DESIGN.md, handle lifecycle): a reader is released when it has been read
//! to its end (normal or abnormal), on `close()`, by `js/data.js` right after its room's
//! `disconnected` (what was already buffered is first moved into JavaScript with
//! `takeBuffered()`), or by its garbage-collection finalizer. The engine holds readers only
//! weakly, so a dropped reader stops receiving at once; while JavaScript holds one unread,
//! the engine buffers at most `MAX_BUFFERED` bytes before failing that stream. A writer is
//! released by `close()` (whatever its outcome), on disconnect, or by its finalizer.

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::FutureExt as _;
use lkrtc_engine::streams::{StreamInfo, StreamKind, StreamOptions, StreamReader, StreamWriter};
use napi::bindgen_prelude::{Buffer, PromiseRaw, Uint8Array};
use napi::Env;
use napi_derive::napi;

use crate::error::{self, ERR_INVALID_ARG, ERR_STREAM};
use crate::handles::{Handle, HandleKind};
use crate::participant::NativeLocalParticipant;

/// A stream's header, with the official SDK's field names.
#[napi(object)]
pub struct JsStreamInfo {
    pub stream_id: String,
    pub mime_type: String,
    pub topic: String,
    /// Milliseconds since the epoch.
    pub timestamp: f64,
    pub total_size: Option<f64>,
    pub attributes: HashMap<String, String>,
    /// Byte streams: the file name.
    pub name: Option<String>,
    /// `"text"` or `"bytes"`.
    pub kind: String,
}

pub(crate) fn js_info(i: &StreamInfo) -> JsStreamInfo {
    JsStreamInfo {
        stream_id: i.stream_id.clone(),
        mime_type: i.mime_type.clone(),
        topic: i.topic.clone(),
        timestamp: i.timestamp as f64,
        total_size: i.total_size.map(|t| t as f64),
        attributes: i.attributes.clone(),
        name: i.name.clone(),
        kind: match i.kind {
            StreamKind::Text => "text".into(),
            StreamKind::Bytes => "bytes".into(),
        },
    }
}

pub(crate) fn kind_of(kind: &str) -> crate::error::Result<StreamKind> {
    match kind {
        "text" => Ok(StreamKind::Text),
        "bytes" => Ok(StreamKind::Bytes),
        other => Err(error::coded(ERR_INVALID_ARG, format!("stream kind {other:?} is not \"text\" or \"bytes\""))),
    }
}

/// What `takeBuffered()` returns: the chunks buffered now and how the stream ended.
#[napi(object)]
pub struct JsBuffered {
    pub chunks: Vec<Buffer>,
    /// True if the stream has ended (normally unless `error` is set).
    pub ended: bool,
    pub error: Option<String>,
}

/// Bytes received so far and the announced total.
#[napi(object)]
pub struct JsStreamProgress {
    pub received: f64,
    pub total: Option<f64>,
}

// ---------------------------------------------------------------------------------------

/// Native side of an incoming text or byte stream.
#[napi]
pub struct NativeStreamReader {
    handle: Arc<Handle<StreamReader>>,
    info: StreamInfo,
}

impl NativeStreamReader {
    pub(crate) fn new(reader: StreamReader) -> Self {
        let info = reader.info().clone();
        Self { handle: Arc::new(Handle::new(HandleKind::StreamReader, "stream reader", reader)), info }
    }
}

#[napi]
impl NativeStreamReader {
    #[napi(getter, catch_unwind)]
    pub fn info(&self) -> JsStreamInfo {
        js_info(&self.info)
    }

    /// Whether the engine reader is still held.
    #[napi(getter, catch_unwind)]
    pub fn live(&self) -> bool {
        self.handle.is_live()
    }

    /// The next chunks (at least one, plus whatever else is already buffered), or `null`
    /// at the normal end. Rejects with `ERR_STREAM` at an abnormal end. The reader is
    /// released when the end (either kind) has been read.
    #[napi(ts_return_type = "Promise<Array<Buffer> | null>")]
    pub fn read<'env>(&self, env: &'env Env) -> crate::error::Result<PromiseRaw<'env, Option<Vec<Buffer>>>> {
        let handle = self.handle.clone();
        let reader = handle.get();
        error::promise(
            env,
            reader.map(|reader| async move {
                let first = reader.next_chunk().await;
                let mut out = Vec::new();
                let mut end: Option<crate::error::Result<()>> = None;
                match first {
                    None => end = Some(Ok(())),
                    Some(Err(e)) => end = Some(Err(error::coded(ERR_STREAM, e))),
                    Some(Ok(c)) => {
                        out.push(Buffer::from(c));
                        while let Some(next) = reader.next_chunk().now_or_never() {
                            match next {
                                Some(Ok(c)) => out.push(Buffer::from(c)),
                                // The end is reported by the next read, after these chunks.
                                _ => break,
                            }
                        }
                    }
                }
                match end {
                    None => Ok(Some(out)),
                    Some(result) => {
                        drop(reader);
                        handle.dispose();
                        result.map(|()| None)
                    }
                }
            }),
        )
    }

    /// Moves what is buffered now into JavaScript without waiting (used on disconnect,
    /// right before the handle is released).
    #[napi(catch_unwind)]
    pub fn take_buffered(&self) -> crate::error::Result<JsBuffered> {
        let reader = self.handle.get()?;
        let mut out = JsBuffered { chunks: Vec::new(), ended: false, error: None };
        loop {
            match reader.next_chunk().now_or_never() {
                Some(Some(Ok(c))) => out.chunks.push(Buffer::from(c)),
                Some(Some(Err(e))) => {
                    out.ended = true;
                    out.error = Some(e.reason);
                    break;
                }
                Some(None) => {
                    out.ended = true;
                    break;
                }
                None => break,
            }
        }
        Ok(out)
    }

    #[napi(catch_unwind)]
    pub fn progress(&self) -> crate::error::Result<JsStreamProgress> {
        let (received, total) = self.handle.with(|r| r.progress())?;
        Ok(JsStreamProgress { received: received as f64, total: total.map(|t| t as f64) })
    }

    /// Stops reading: buffered data is dropped and the reader released.
    #[napi(catch_unwind)]
    pub fn close(&self) {
        let _ = self.handle.with(|r| r.close());
        self.handle.dispose();
    }

    /// Releases the reader without reading further; false if already released.
    #[napi(catch_unwind)]
    pub fn dispose(&self) -> bool {
        let _ = self.handle.with(|r| r.close());
        self.handle.dispose()
    }
}

// ---------------------------------------------------------------------------------------

/// Native side of an outgoing stream.
#[napi]
pub struct NativeStreamWriter {
    handle: Arc<Handle<Arc<StreamWriter>>>,
    info: StreamInfo,
}

#[napi]
impl NativeStreamWriter {
    #[napi(getter, catch_unwind)]
    pub fn info(&self) -> JsStreamInfo {
        js_info(&self.info)
    }

    /// Sends `data` (chunked; text is never cut inside a character). The chunks are queued
    /// on the call, so writes go out in call order; the promise resolves once they are sent.
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn write<'env>(&self, env: &'env Env, data: Uint8Array) -> crate::error::Result<PromiseRaw<'env, ()>> {
        error::promise(env, error::replied(self.handle.get().map(|w| w.write(&data))))
    }

    /// Sends the trailer (`reason` marks an abnormal end; queued after every write made
    /// before) and releases the writer.
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn close<'env>(&self, env: &'env Env, reason: Option<String>) -> crate::error::Result<PromiseRaw<'env, ()>> {
        let handle = self.handle.clone();
        let sent = error::replied(handle.get().map(|w| w.close(reason))).map(|sent| async move {
            let result = sent.await;
            handle.dispose();
            result
        });
        error::promise(env, sent)
    }

    /// Releases the writer without sending a trailer; false if already released.
    #[napi(catch_unwind)]
    pub fn dispose(&self) -> bool {
        self.handle.dispose()
    }
}

/// Options of `streamText` / `streamBytes` / `sendText`.
#[napi(object)]
pub struct NativeStreamOptions {
    pub topic: Option<String>,
    pub attributes: Option<HashMap<String, String>>,
    pub destination_identities: Option<Vec<String>>,
    pub stream_id: Option<String>,
    pub name: Option<String>,
    pub mime_type: Option<String>,
    pub total_size: Option<f64>,
}

fn stream_options(o: Option<NativeStreamOptions>) -> crate::error::Result<StreamOptions> {
    let Some(o) = o else { return Ok(StreamOptions::default()) };
    let total_size = match o.total_size {
        None => None,
        Some(t) if t.is_finite() && t >= 0.0 && t.fract() == 0.0 => Some(t as u64),
        Some(t) => return Err(error::coded(ERR_INVALID_ARG, format!("totalSize {t} is not a non-negative integer"))),
    };
    if o.stream_id.as_deref() == Some("") {
        return Err(error::coded(ERR_INVALID_ARG, "streamId must not be empty"));
    }
    Ok(StreamOptions {
        topic: o.topic.unwrap_or_default(),
        attributes: o.attributes.unwrap_or_default(),
        destination_identities: o.destination_identities.unwrap_or_default(),
        stream_id: o.stream_id,
        name: o.name,
        mime_type: o.mime_type,
        total_size,
    })
}

#[napi]
impl NativeLocalParticipant {
    /// Opens an outgoing stream of `kind` ("text" or "bytes"); the header is queued on the
    /// call (in order with data packets and RPC); resolves when it is sent.
    #[napi(catch_unwind, ts_return_type = "Promise<NativeStreamWriter>")]
    pub fn open_stream<'env>(
        &self,
        env: &'env Env,
        kind: String,
        options: Option<NativeStreamOptions>,
    ) -> crate::error::Result<PromiseRaw<'env, NativeStreamWriter>> {
        let opened = (|| Ok(self.engine()?.open_stream_of(kind_of(&kind)?, stream_options(options)?)))();
        let opened = error::replied(opened).map(|opened| async move {
            let writer = opened.await?;
            let info = writer.info().clone();
            Ok(NativeStreamWriter {
                handle: Arc::new(Handle::new(HandleKind::StreamWriter, "stream writer", Arc::new(writer))),
                info,
            })
        });
        error::promise(env, opened)
    }

    /// Sends a whole text as one stream (header, chunks, trailer, all queued on the call).
    #[napi(catch_unwind, ts_return_type = "Promise<JsStreamInfo>")]
    pub fn send_text<'env>(
        &self,
        env: &'env Env,
        text: String,
        options: Option<NativeStreamOptions>,
    ) -> crate::error::Result<PromiseRaw<'env, JsStreamInfo>> {
        let sent = (|| Ok(self.engine()?.send_whole(StreamKind::Text, text.as_bytes(), stream_options(options)?)))();
        error::promise(env, error::replied(sent).map(|sent| async move { sent.await.map(|i| js_info(&i)) }))
    }
}
