//! RPC, chat, DTMF and transcriptions on `NativeLocalParticipant` (a second `#[napi] impl`
//! block, so that `participant.rs` stays about the participant itself).
//!
//! RPC handlers live in JavaScript (`js/data.js`): the engine is told which methods exist
//! (so that unknown methods are refused at once, as the official client does), each call
//! arrives as an `rpcInvocation` room event, and JavaScript answers with `respondRpc`.

use std::time::Duration;

use lkrtc_engine::rpc::RpcInvocation;
use lkrtc_engine::rpc::{RpcCall, RpcError, DEFAULT_RESPONSE_TIMEOUT};
use lkrtc_engine::{ChatMessage, TranscriptionSegment};
use napi::bindgen_prelude::PromiseRaw;
use napi::Env;
use napi_derive::napi;

use crate::error::{self, ERR_INVALID_ARG};
use crate::participant::NativeLocalParticipant;

/// An RPC error as it crosses (code, message, data).
#[napi(object)]
pub struct JsRpcError {
    pub code: u32,
    pub message: String,
    pub data: Option<String>,
}

/// The outcome of `performRpc`: `payload` or `error`.
#[napi(object, object_from_js = false)]
pub struct JsRpcResult {
    pub payload: Option<String>,
    pub error: Option<JsRpcError>,
}

/// An incoming call (the `rpcInvocation` room event).
#[napi(object, object_from_js = false)]
pub struct JsRpcInvocation {
    pub request_id: String,
    pub caller_identity: String,
    pub method: String,
    pub payload: String,
    /// Milliseconds the caller waits for the answer.
    pub response_timeout: f64,
}

pub(crate) fn js_invocation(i: RpcInvocation) -> JsRpcInvocation {
    JsRpcInvocation {
        request_id: i.request_id,
        caller_identity: i.caller_identity,
        method: i.method,
        payload: i.payload,
        response_timeout: i.response_timeout.as_millis() as f64,
    }
}

/// A chat message given back by JavaScript (`editChatMessage`'s original).
#[napi(object)]
pub struct NativeChatMessageInput {
    pub id: String,
    pub message: String,
    /// Milliseconds since the epoch.
    pub timestamp: f64,
    pub edit_timestamp: Option<f64>,
    pub deleted: Option<bool>,
    pub generated: Option<bool>,
}

fn response_timeout(ms: Option<f64>) -> crate::error::Result<Duration> {
    match ms {
        None => Ok(DEFAULT_RESPONSE_TIMEOUT),
        Some(ms) if ms.is_finite() && ms > 0.0 && ms < 1e10 => Ok(Duration::from_millis(ms as u64)),
        Some(ms) => Err(error::coded(ERR_INVALID_ARG, format!("responseTimeout {ms} must be a positive number of ms"))),
    }
}

/// A chat message, with the official SDK's field names.
#[napi(object)]
pub struct JsChatMessage {
    pub id: String,
    pub message: String,
    /// Milliseconds since the epoch.
    pub timestamp: f64,
    pub edit_timestamp: Option<f64>,
    pub deleted: bool,
    pub generated: bool,
}

/// One transcription segment.
#[napi(object)]
pub struct JsTranscriptionSegment {
    pub id: String,
    pub text: String,
    pub start_time: f64,
    pub end_time: f64,
    #[napi(js_name = "final")]
    pub is_final: bool,
    pub language: String,
}

/// A transcription segment for JavaScript.
pub(crate) fn js_segment(s: TranscriptionSegment) -> JsTranscriptionSegment {
    JsTranscriptionSegment {
        id: s.id,
        text: s.text,
        start_time: s.start_time as f64,
        end_time: s.end_time as f64,
        is_final: s.is_final,
        language: s.language,
    }
}

pub(crate) fn js_chat(m: ChatMessage) -> JsChatMessage {
    JsChatMessage {
        id: m.id,
        message: m.message,
        timestamp: m.timestamp as f64,
        edit_timestamp: m.edit_timestamp.map(|t| t as f64),
        deleted: m.deleted,
        generated: m.generated,
    }
}

#[napi]
impl NativeLocalParticipant {
    /// Calls `method` on `destination`; resolves with `{ payload }` or `{ error }` (never
    /// rejects for RPC failures, so that JavaScript can build an `RpcError`). The request
    /// is queued on the call, in order with data packets and streams.
    #[napi(catch_unwind, ts_return_type = "Promise<JsRpcResult>")]
    pub fn perform_rpc<'env>(
        &self,
        env: &'env Env,
        destination: String,
        method: String,
        payload: String,
        response_timeout_ms: Option<f64>,
    ) -> crate::error::Result<PromiseRaw<'env, JsRpcResult>> {
        let outcome = response_timeout(response_timeout_ms).and_then(|response_timeout| {
            let call = RpcCall { destination_identity: destination, method, payload, response_timeout };
            Ok(self.engine()?.perform_rpc(call))
        });
        let outcome = outcome.map(|outcome| async move {
            Ok(match outcome.await {
                Ok(payload) => JsRpcResult { payload: Some(payload), error: None },
                Err(e) => JsRpcResult {
                    payload: None,
                    error: Some(JsRpcError { code: e.code, message: e.message, data: Some(e.data) }),
                },
            })
        });
        error::promise(env, outcome)
    }

    /// Accepts calls to `method` (they arrive as `rpcInvocation` events).
    #[napi(catch_unwind)]
    pub fn register_rpc_method(&self, method: String) -> crate::error::Result<()> {
        self.engine()?.register_rpc_method(&method);
        Ok(())
    }

    /// Refuses further calls to `method` (callers get UNSUPPORTED_METHOD).
    #[napi(catch_unwind)]
    pub fn unregister_rpc_method(&self, method: String) -> crate::error::Result<()> {
        self.engine()?.unregister_rpc_method(&method);
        Ok(())
    }

    /// Answers the invocation `request_id` with `payload`, or with `error` if given.
    /// Unknown or already answered ids are ignored.
    #[napi(catch_unwind)]
    pub fn respond_rpc(
        &self,
        request_id: String,
        payload: Option<String>,
        error: Option<JsRpcError>,
    ) -> crate::error::Result<()> {
        let result = match error {
            Some(e) => Err(RpcError::new(e.code, &e.message, e.data.as_deref().unwrap_or(""))),
            None => Ok(payload.unwrap_or_default()),
        };
        self.engine()?.respond_rpc(&request_id, result);
        Ok(())
    }

    /// Sends a chat message; resolves with the message as sent.
    #[napi(catch_unwind, ts_return_type = "Promise<JsChatMessage>")]
    pub fn send_chat_message<'env>(
        &self,
        env: &'env Env,
        text: String,
        destinations: Option<Vec<String>>,
    ) -> crate::error::Result<PromiseRaw<'env, JsChatMessage>> {
        let sent = self.engine().map(|p| p.send_chat_message(&text, destinations.unwrap_or_default()));
        error::promise(env, error::replied(sent).map(|sent| async move { sent.await.map(js_chat) }))
    }

    /// Sends an edit of the chat message `original` (as `sendChatMessage` returned it, or as
    /// received): same id and timestamp, the new text, `editTimestamp` now. Resolves with the
    /// edited message as sent.
    #[napi(catch_unwind, ts_return_type = "Promise<JsChatMessage>")]
    pub fn edit_chat_message<'env>(
        &self,
        env: &'env Env,
        edit_text: String,
        original: NativeChatMessageInput,
        destinations: Option<Vec<String>>,
    ) -> crate::error::Result<PromiseRaw<'env, JsChatMessage>> {
        let original = ChatMessage {
            id: original.id,
            timestamp: original.timestamp as i64,
            edit_timestamp: original.edit_timestamp.map(|t| t as i64),
            message: original.message,
            deleted: original.deleted.unwrap_or(false),
            generated: original.generated.unwrap_or(false),
        };
        let sent = self.engine().map(|p| p.edit_chat_message(&edit_text, &original, destinations.unwrap_or_default()));
        error::promise(env, error::replied(sent).map(|sent| async move { sent.await.map(js_chat) }))
    }

    /// Sends a DTMF tone to the room.
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn publish_dtmf<'env>(
        &self,
        env: &'env Env,
        code: u32,
        digit: String,
    ) -> crate::error::Result<PromiseRaw<'env, ()>> {
        error::promise(env, error::replied(self.engine().map(|p| p.publish_dtmf(code, &digit))))
    }

    /// Publishes transcription segments of `track_sid` (a `TR_` sid).
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn publish_transcription<'env>(
        &self,
        env: &'env Env,
        participant_identity: String,
        track_sid: String,
        segments: Vec<JsTranscriptionSegment>,
    ) -> crate::error::Result<PromiseRaw<'env, ()>> {
        let segments = segments
            .into_iter()
            .map(|s| TranscriptionSegment {
                id: s.id,
                text: s.text,
                start_time: s.start_time.max(0.0) as u64,
                end_time: s.end_time.max(0.0) as u64,
                is_final: s.is_final,
                language: s.language,
            })
            .collect();
        let sent = self.engine().map(|p| p.publish_transcription(&participant_identity, &track_sid, segments));
        error::promise(env, error::replied(sent))
    }
}
