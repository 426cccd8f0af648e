//! What every receive side shares: [`Fanout`], the set of streams one remote track feeds,
//! and [`FrameQueue`], a stream's bounded buffer that drops its oldest frame when the reader
//! falls behind and ends once the track ends.

use std::collections::VecDeque;
use std::sync::{Arc, Weak};

use parking_lot::Mutex;
use tokio::sync::{watch, Notify};

/// A stream fed by a [`Fanout`].
pub(crate) trait Listener: Send + Sync {
    /// The track ended: no more frames.
    fn end(&self);
}

/// The streams listening to one remote track (held weakly: a dropped stream stops counting).
pub(crate) struct Fanout<S: Listener> {
    streams: Mutex<Vec<Weak<S>>>,
    ended: watch::Sender<bool>,
}

impl<S: Listener> Fanout<S> {
    /// A fan-out and the signal its reading task stops on.
    pub(crate) fn new() -> (Self, watch::Receiver<bool>) {
        let (ended, rx) = watch::channel(false);
        (Self { streams: Mutex::new(Vec::new()), ended }, rx)
    }

    /// Adds a stream.
    pub(crate) fn add(&self, stream: &Arc<S>) {
        self.streams.lock().push(Arc::downgrade(stream));
    }

    /// The track stopped (unsubscribed, unpublished, disconnected): every stream ends.
    pub(crate) fn end(&self) {
        let _ = self.ended.send(true);
        for s in self.streams.lock().drain(..) {
            if let Some(s) = s.upgrade() {
                s.end();
            }
        }
    }

    /// Whether the track ended.
    pub(crate) fn is_ended(&self) -> bool {
        *self.ended.borrow()
    }

    /// The streams still alive.
    pub(crate) fn listeners(&self) -> Vec<Arc<S>> {
        let mut streams = self.streams.lock();
        streams.retain(|s| s.strong_count() > 0);
        streams.iter().filter_map(Weak::upgrade).collect()
    }
}

struct QueueState<T> {
    frames: VecDeque<T>,
    ended: bool,
    dropped: u64,
}

/// A stream's frames: at most `capacity`, the oldest dropped first.
pub(crate) struct FrameQueue<T> {
    capacity: usize,
    state: Mutex<QueueState<T>>,
    ready: Notify,
}

impl<T> FrameQueue<T> {
    /// An empty queue (already ended when `ended`).
    pub(crate) fn new(capacity: usize, ended: bool) -> Self {
        Self {
            capacity,
            state: Mutex::new(QueueState { frames: VecDeque::new(), ended, dropped: 0 }),
            ready: Notify::new(),
        }
    }

    /// Whether it ended (frames pushed now are discarded).
    pub(crate) fn is_ended(&self) -> bool {
        self.state.lock().ended
    }

    /// Adds frames, dropping the oldest beyond the capacity (nothing once ended).
    pub(crate) fn push(&self, frames: impl IntoIterator<Item = T>) {
        let mut st = self.state.lock();
        if st.ended {
            return;
        }
        st.frames.extend(frames);
        while st.frames.len() > self.capacity {
            st.frames.pop_front();
            st.dropped += 1;
        }
        drop(st);
        self.ready.notify_one();
    }

    /// Ends it: the reader gets what is buffered, then `None`.
    pub(crate) fn end(&self) {
        self.state.lock().ended = true;
        self.ready.notify_one();
    }

    /// The next frame, or `None` once ended and drained.
    pub(crate) async fn next(&self) -> Option<T> {
        loop {
            let notified = self.ready.notified();
            {
                let mut st = self.state.lock();
                if let Some(f) = st.frames.pop_front() {
                    return Some(f);
                }
                if st.ended {
                    return None;
                }
            }
            notified.await;
        }
    }

    /// Frames dropped because the reader was too slow.
    pub(crate) fn dropped(&self) -> u64 {
        self.state.lock().dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_queue_keeps_the_newest_and_drains_after_the_end() {
        let q = FrameQueue::new(3, false);
        q.push(0..5);
        assert_eq!(q.dropped(), 2);
        q.end();
        q.push([9]);
        let mut got = Vec::new();
        while let Some(f) = q.next().await {
            got.push(f);
        }
        assert_eq!(got, [2, 3, 4]);
    }

    struct S(Mutex<bool>);
    impl Listener for S {
        fn end(&self) {
            *self.0.lock() = true;
        }
    }

    #[test]
    fn a_fanout_forgets_dropped_streams_and_ends_the_rest() {
        let (f, rx) = Fanout::new();
        let (a, b) = (Arc::new(S(Mutex::new(false))), Arc::new(S(Mutex::new(false))));
        f.add(&a);
        f.add(&b);
        drop(b);
        assert_eq!(f.listeners().len(), 1);
        f.end();
        assert!(*a.0.lock() && f.is_ended() && *rx.borrow());
    }
}
