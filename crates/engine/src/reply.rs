//! [`Reply`]: the answer to a command that is already queued on the room task.
//!
//! Calls that send something (data, stream chunks, RPC, metadata...) put their command on
//! the room task's ordered queue *when they are called*, not when their future is first
//! polled. Awaiting the returned [`Reply`] only waits for the outcome. So calls made one
//! after the other go out in that order, even when their futures are awaited in another
//! order, concurrently, or on other threads (the napi binding spawns each one).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::{mpsc, oneshot};

use crate::command::Command;
use crate::error::{EngineError, Result};

/// The outcome of a queued command. Dropping it does not cancel the command.
#[must_use = "the command is already queued; await the reply to learn its outcome"]
pub struct Reply<T>(State<T>);

enum State<T> {
    Waiting(oneshot::Receiver<Result<T>>),
    Ready(Option<Result<T>>),
}

impl<T> Reply<T> {
    /// Queues the command `make` builds on `cmd`, now.
    pub(crate) fn send(
        cmd: &mpsc::UnboundedSender<Command>,
        make: impl FnOnce(oneshot::Sender<Result<T>>) -> Command,
    ) -> Self {
        let (tx, rx) = oneshot::channel();
        match cmd.send(make(tx)) {
            Ok(()) => Self(State::Waiting(rx)),
            Err(_) => Self::ready(Err(EngineError::Disconnected)),
        }
    }

    /// A reply known at call time (an argument check failed, the room is gone...).
    pub(crate) fn ready(result: Result<T>) -> Self {
        Self(State::Ready(Some(result)))
    }
}

// The value is only ever moved out, never pinned in place.
impl<T> Unpin for Reply<T> {}

impl<T> Future for Reply<T> {
    type Output = Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        match &mut self.get_mut().0 {
            State::Waiting(rx) => Pin::new(rx).poll(cx).map(|r| r.unwrap_or(Err(EngineError::Disconnected))),
            State::Ready(r) => Poll::Ready(r.take().unwrap_or(Err(EngineError::Disconnected))),
        }
    }
}

/// Waits for every reply, in order; the first error wins.
pub(crate) async fn all(replies: Vec<Reply<()>>) -> Result<()> {
    let mut first = Ok(());
    for r in replies {
        let outcome = r.await;
        if first.is_ok() {
            first = outcome;
        }
    }
    first
}

#[cfg(test)]
mod tests {
    use super::*;
    use livekit_protocol as proto;

    fn dtmf(code: u32) -> proto::data_packet::Value {
        proto::data_packet::Value::SipDtmf(proto::SipDtmf { code, digit: String::new() })
    }

    #[test]
    fn commands_are_queued_at_call_time_in_call_order() {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let (tx, mut rx) = mpsc::unbounded_channel::<Command>();
        let first: Reply<()> =
            Reply::send(&tx, |done| Command::SendPacket { value: dtmf(1), destinations: vec![], done });
        let second: Reply<()> =
            Reply::send(&tx, |done| Command::SendPacket { value: dtmf(2), destinations: vec![], done });
        // Neither reply was polled, yet both commands are queued, in call order.
        for expected in [1, 2] {
            match rx.try_recv() {
                Ok(Command::SendPacket { value: proto::data_packet::Value::SipDtmf(d), done, .. }) => {
                    assert_eq!(d.code, expected);
                    let _ = done.send(Ok(()));
                }
                _ => panic!("command {expected} not queued"),
            }
        }
        rt.block_on(async {
            second.await.unwrap();
            first.await.unwrap();
        });
        drop(rx);
        let gone: Reply<()> =
            Reply::send(&tx, |done| Command::SendPacket { value: dtmf(3), destinations: vec![], done });
        assert!(matches!(rt.block_on(gone), Err(EngineError::Disconnected)));
        assert_eq!(rt.block_on(Reply::ready(Ok(7u8))).unwrap(), 7);
    }
}
