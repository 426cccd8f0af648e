//! A participant's signal link: the WebSocket it is reached on now. The session keeps one
//! queue of outbound frames for its whole life; a link's writer task drains it onto one
//! socket and hands it back when the socket goes, so a resumed participant's next socket
//! is served from the same queue.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use bytes::Bytes;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use livekit_protocol as proto;
use prost::Message as _;
use proto::signal_response::Message as Resp;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::limits;
use crate::participant::Outbound;

/// How long the closing handshake of a leaving participant may take.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// The socket a session is reached on, with its writer task.
pub(super) struct Link {
    pub stream: SplitStream<WebSocket>,
    writer: JoinHandle<mpsc::UnboundedReceiver<Outbound>>,
    stop: oneshot::Sender<()>,
}

impl Link {
    /// Serves `out` on `ws` until the socket fails, a close is sent, or the link is detached.
    pub fn open(ws: WebSocket, out: mpsc::UnboundedReceiver<Outbound>, queued: Arc<AtomicUsize>) -> Self {
        let (sink, stream) = ws.split();
        let (stop, stopped) = oneshot::channel();
        Link { stream, writer: tokio::spawn(write_loop(sink, out, queued, stopped)), stop }
    }

    /// Drops the socket and hands back the outbound queue (`None` if the writer panicked).
    pub async fn detach(self) -> Option<mpsc::UnboundedReceiver<Outbound>> {
        drop(self.stop);
        self.writer.await.ok()
    }

    /// Lets the writer send what is queued up to a close (bounded by [`CLOSE_WAIT`]), then
    /// drops the socket and hands back the outbound queue.
    pub async fn flush(self) -> Option<mpsc::UnboundedReceiver<Outbound>> {
        let Link { stream, mut writer, stop } = self;
        if let Ok(done) = tokio::time::timeout(CLOSE_WAIT, &mut writer).await {
            return done.ok();
        }
        drop((stream, stop));
        writer.await.ok()
    }

    /// The closing handshake of a participant that leaves: the writer sends what is queued
    /// (the leave, the close frame) while the reader discards frames until the client's
    /// close, so the socket is never dropped with unread data (the kernel would answer
    /// with a reset and the client could lose the leave in flight). A client that does
    /// not read can block the writer forever: both get [`CLOSE_WAIT`].
    pub async fn close(self) {
        let Link { mut stream, writer, stop } = self;
        let abort = writer.abort_handle();
        let drain = async {
            while let Some(Ok(frame)) = stream.next().await {
                if matches!(frame, Message::Close(_)) {
                    break;
                }
            }
        };
        if tokio::time::timeout(CLOSE_WAIT, async { tokio::join!(writer, drain) }).await.is_err() {
            abort.abort();
        }
        drop(stop);
    }
}

async fn write_loop(
    mut sink: SplitSink<WebSocket, Message>,
    mut out: mpsc::UnboundedReceiver<Outbound>,
    queued: Arc<AtomicUsize>,
    mut stopped: oneshot::Receiver<()>,
) -> mpsc::UnboundedReceiver<Outbound> {
    loop {
        let msg = tokio::select! {
            biased;
            _ = &mut stopped => return out,
            msg = out.recv() => match msg {
                Some(msg) => msg,
                None => break,
            },
        };
        let sent = match msg {
            Outbound::Signal(m, size) => {
                // Messages over the cap (large participant lists) go out in several parts.
                let write = async {
                    for part in limits::split(*m) {
                        let resp = proto::SignalResponse { message: Some(part) };
                        sink.send(Message::Binary(Bytes::from(resp.encode_to_vec()))).await?;
                    }
                    Ok::<_, axum::Error>(())
                };
                let sent = tokio::select! {
                    biased;
                    _ = &mut stopped => None,
                    r = write => Some(r.is_ok()),
                };
                queued.fetch_sub(size, Ordering::AcqRel);
                match sent {
                    None => return out,
                    Some(ok) => ok,
                }
            }
            Outbound::Close => close(&mut sink, 1000, String::new()).await,
            Outbound::CloseWith(code, reason) => close(&mut sink, code, reason).await,
        };
        if !sent {
            break;
        }
    }
    let _ = sink.close().await;
    out
}

/// Sends a close frame; `false`: the link is done either way.
async fn close(sink: &mut SplitSink<WebSocket, Message>, code: u16, reason: String) -> bool {
    let _ = sink.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
    false
}

/// Empties a queue that belonged to a lost socket; returns how many frames were dropped.
pub(super) fn discard(out: &mut mpsc::UnboundedReceiver<Outbound>, queued: &AtomicUsize) -> usize {
    let mut n = 0;
    while let Ok(m) = out.try_recv() {
        if let Outbound::Signal(_, size) = m {
            queued.fetch_sub(size, Ordering::AcqRel);
        }
        n += 1;
    }
    n
}

/// Whether a read error is a message over [`limits::MAX_SIGNAL_MESSAGE`].
pub(super) fn too_big(e: axum::Error) -> bool {
    matches!(e.into_inner().downcast::<tungstenite::Error>().map(|e| *e), Ok(tungstenite::Error::Capacity(_)))
}

/// Answers a resume the server cannot honour (the participant is unknown here, or its
/// window passed): a `leave` telling the client to join again.
pub async fn refuse_resume(ws: WebSocket) {
    let (mut sink, _stream) = ws.split();
    let leave = proto::LeaveRequest {
        can_reconnect: true,
        reason: proto::DisconnectReason::StateMismatch as i32,
        action: proto::leave_request::Action::Reconnect as i32,
        regions: None,
    };
    let resp = proto::SignalResponse { message: Some(Resp::Leave(leave)) };
    let _ = sink.send(Message::Binary(Bytes::from(resp.encode_to_vec()))).await;
    let _ = sink.close().await;
}
