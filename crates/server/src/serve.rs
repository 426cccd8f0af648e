//! The HTTP accept loop: HTTP/1.1 with WebSocket upgrades, a bounded time to send a
//! request head ([`HEADER_READ_TIMEOUT`]) and a bounded number of connections that have
//! not sent one yet ([`MAX_PENDING_CONNECTIONS`], oldest closed first).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use axum::serve::Listener;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::{watch, Notify};

use crate::limits::{HEADER_READ_TIMEOUT, MAX_PENDING_CONNECTIONS};

/// Connections that have not sent a complete request head yet, oldest first.
#[derive(Default)]
struct Pending {
    next_id: AtomicU64,
    queue: Mutex<VecDeque<(u64, Arc<Notify>)>>,
}

impl Pending {
    /// Registers a new connection; closes the oldest pending one when over the limit.
    fn add(&self) -> (u64, Arc<Notify>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let evict = Arc::new(Notify::new());
        let mut q = self.queue.lock();
        q.push_back((id, evict.clone()));
        while q.len() > MAX_PENDING_CONNECTIONS {
            if let Some((_, oldest)) = q.pop_front() {
                oldest.notify_one();
            }
        }
        (id, evict)
    }

    /// The connection sent a request head (or ended).
    fn remove(&self, id: u64) {
        self.queue.lock().retain(|(i, _)| *i != id);
    }
}

/// Serves `app` on `listener` until `stop` turns true.
pub(crate) async fn serve<L>(mut listener: L, app: Router, mut stop: watch::Receiver<bool>)
where
    L: Listener,
    L::Io: Send + Unpin + 'static,
{
    let pending = Arc::new(Pending::default());
    loop {
        let (io, _) = tokio::select! {
            conn = listener.accept() => conn,
            _ = stop.wait_for(|s| *s) => return,
        };
        let (id, evict) = pending.add();
        let (app, pending, mut stop) = (app.clone(), pending.clone(), stop.clone());
        tokio::spawn(async move {
            let started = pending.clone();
            let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                started.remove(id);
                let mut app = app.clone();
                async move { tower_service::Service::call(&mut app, req).await }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .serve_connection(TokioIo::new(io), service)
                .with_upgrades();
            tokio::pin!(conn);
            let mut stopping = false;
            loop {
                tokio::select! {
                    res = conn.as_mut() => {
                        if let Err(e) = res {
                            tracing::debug!(error = %crate::limits::clip(&e.to_string()), "HTTP connection ended");
                        }
                        break;
                    }
                    _ = evict.notified() => {
                        tracing::debug!("idle connection closed to make room for a new one");
                        break;
                    }
                    _ = stop.wait_for(|s| *s), if !stopping => {
                        stopping = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
            }
            pending.remove(id);
        });
    }
}
