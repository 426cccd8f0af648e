//! Receiving audio: one task per subscribed remote audio track reads RTP and runs it
//! through the track's `RecvPipeline` (Opus depacketised, transformed, decoded with loss
//! concealment) only while someone listens, and hands 48 kHz PCM to every
//! `AudioStream` on the track. Each stream converts to its own rate/channels/frame size
//! and buffers a bounded amount: a slow reader loses the oldest audio, memory stays flat.

use std::collections::VecDeque;
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use tokio::sync::{watch, Notify};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};

use super::codec::OpusDecoder;
use super::frame::{check_format, AudioFrame};
use super::resample::AudioResampler;
use crate::error::{EngineError, Result};
use crate::media::{FrameDepacketizer, RecvPipeline, TrackMeta};

/// Frames a stream buffers before dropping the oldest (at 10 ms frames, 2 s).
pub const STREAM_BUFFER_FRAMES: usize = 200;

struct StreamShared {
    sample_rate: u32,
    channels: u32,
    frame_samples: usize,
    state: Mutex<StreamState>,
    ready: Notify,
}

struct StreamState {
    resampler: AudioResampler,
    partial: Vec<i16>,
    frames: VecDeque<AudioFrame>,
    ended: bool,
    dropped: u64,
}

impl StreamShared {
    /// Adds decoded 48 kHz stereo PCM.
    fn push(&self, pcm: &[i16]) {
        let mut st = self.state.lock();
        if st.ended {
            return;
        }
        let out = st.resampler.push(pcm);
        st.partial.extend(out);
        let per_frame = self.frame_samples * self.channels as usize;
        while st.partial.len() >= per_frame {
            let data: Vec<i16> = st.partial.drain(..per_frame).collect();
            st.frames.push_back(AudioFrame {
                data,
                sample_rate: self.sample_rate,
                channels: self.channels,
                samples_per_channel: self.frame_samples as u32,
            });
            if st.frames.len() > STREAM_BUFFER_FRAMES {
                st.frames.pop_front();
                st.dropped += 1;
            }
        }
        drop(st);
        self.ready.notify_one();
    }

    fn end(&self) {
        self.state.lock().ended = true;
        self.ready.notify_one();
    }
}

/// Fan-out point of one remote audio track.
pub(crate) struct Receiver {
    streams: Mutex<Vec<Weak<StreamShared>>>,
    ended: watch::Sender<bool>,
}

impl Receiver {
    /// Starts reading `rtp` until `end()` or the connection closes; frames go through
    /// the transform installed in `meta`.
    pub(crate) fn start(rtp: Arc<dyn TrackRemote>, meta: Arc<TrackMeta>) -> Arc<Self> {
        let (ended, ended_rx) = watch::channel(false);
        let r = Arc::new(Self { streams: Mutex::new(Vec::new()), ended });
        let pipeline = RecvPipeline::new(Box::new(FrameDepacketizer::opus()), meta, Box::new(|| OpusDecoder::new(2)));
        tokio::spawn(read_loop(Arc::downgrade(&r), rtp, pipeline, ended_rx));
        r
    }

    /// The track stopped (unsubscribed, unpublished, disconnected): streams end.
    pub(crate) fn end(&self) {
        let _ = self.ended.send(true);
        for s in self.streams.lock().drain(..) {
            if let Some(s) = s.upgrade() {
                s.end();
            }
        }
    }

    fn is_ended(&self) -> bool {
        *self.ended.borrow()
    }

    fn listeners(&self) -> Vec<Arc<StreamShared>> {
        let mut streams = self.streams.lock();
        streams.retain(|s| s.strong_count() > 0);
        streams.iter().filter_map(Weak::upgrade).collect()
    }
}

async fn read_loop(
    receiver: Weak<Receiver>,
    rtp: Arc<dyn TrackRemote>,
    mut pipeline: RecvPipeline<OpusDecoder>,
    mut ended: watch::Receiver<bool>,
) {
    loop {
        let event = tokio::select! {
            ev = rtp.poll() => ev,
            _ = ended.wait_for(|e| *e) => break,
        };
        let packet = match event {
            Some(TrackRemoteEvent::OnRtpPacket(p)) => p,
            Some(_) => continue,
            None => break,
        };
        let Some(r) = receiver.upgrade() else { break };
        let listeners = r.listeners();
        let pushed = pipeline.push(&packet, !listeners.is_empty(), &mut |pcm| {
            for s in &listeners {
                s.push(pcm);
            }
        });
        if let Err(e) = pushed {
            tracing::error!(error = %e, "cannot create Opus decoder");
            break;
        }
    }
    if let Some(r) = receiver.upgrade() {
        r.end();
    }
}

/// PCM frames of a remote audio track, at the rate, channel count and frame size asked
/// for. Ends (returns `None`) when the track is unsubscribed, unpublished or the room
/// disconnects.
pub struct AudioStream {
    shared: Arc<StreamShared>,
}

impl AudioStream {
    pub(crate) fn attach(receiver: &Arc<Receiver>, sample_rate: u32, channels: u32, frame_ms: u32) -> Result<Self> {
        check_format(sample_rate, channels)?;
        if !(10..=100).contains(&frame_ms) || !frame_ms.is_multiple_of(10) {
            return Err(EngineError::InvalidArgument(format!(
                "frameSizeMs {frame_ms} is not supported; use a multiple of 10 between 10 and 100"
            )));
        }
        let shared = Arc::new(StreamShared {
            sample_rate,
            channels,
            frame_samples: (sample_rate * frame_ms / 1000) as usize,
            state: Mutex::new(StreamState {
                resampler: AudioResampler::new(48_000, 2, sample_rate, channels)?,
                partial: Vec::new(),
                frames: VecDeque::new(),
                ended: receiver.is_ended(),
                dropped: 0,
            }),
            ready: Notify::new(),
        });
        receiver.streams.lock().push(Arc::downgrade(&shared));
        Ok(Self { shared })
    }

    /// The next frame, or `None` once the track has ended and everything buffered was read.
    pub async fn next(&self) -> Option<AudioFrame> {
        loop {
            let notified = self.shared.ready.notified();
            {
                let mut st = self.shared.state.lock();
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

    /// Ends the stream now (the reader gets `None`).
    pub fn close(&self) {
        self.shared.end();
    }

    /// Frames dropped because the reader was too slow.
    pub fn dropped_frames(&self) -> u64 {
        self.shared.state.lock().dropped
    }
}
