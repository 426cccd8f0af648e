//! Receiving audio: one task per subscribed remote audio track reads RTP and runs it
//! through the track's `RecvPipeline` (Opus depacketised, transformed, decoded with loss
//! concealment) only while someone listens, and hands 48 kHz PCM to every
//! `AudioStream` on the track. Each stream converts to its own rate/channels/frame size
//! and buffers a bounded amount: a slow reader loses the oldest audio, memory stays flat.

use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use tokio::sync::watch;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};

use super::codec::OpusDecoder;
use super::frame::{check_format, AudioFrame};
use super::resample::AudioResampler;
use crate::error::{EngineError, Result};
use crate::media::{Fanout, FrameDepacketizer, FrameQueue, Listener, RecvPipeline, TrackMeta};

/// Frames a stream buffers before dropping the oldest (at 10 ms frames, 2 s).
pub const STREAM_BUFFER_FRAMES: usize = 200;

struct StreamShared {
    sample_rate: u32,
    channels: u32,
    frame_samples: usize,
    /// The resampler and the samples not yet making up a whole frame.
    convert: Mutex<(AudioResampler, Vec<i16>)>,
    frames: FrameQueue<AudioFrame>,
}

impl StreamShared {
    /// Adds decoded 48 kHz stereo PCM.
    fn push(&self, pcm: &[i16]) {
        if self.frames.is_ended() {
            return;
        }
        let mut convert = self.convert.lock();
        let (resampler, partial) = &mut *convert;
        partial.extend(resampler.push(pcm));
        let per_frame = self.frame_samples * self.channels as usize;
        let whole = partial.len() / per_frame;
        let frames: Vec<AudioFrame> = partial
            .drain(..whole * per_frame)
            .as_slice()
            .chunks_exact(per_frame)
            .map(|data| AudioFrame {
                data: data.to_vec(),
                sample_rate: self.sample_rate,
                channels: self.channels,
                samples_per_channel: self.frame_samples as u32,
            })
            .collect();
        drop(convert);
        if !frames.is_empty() {
            self.frames.push(frames);
        }
    }
}

impl Listener for StreamShared {
    fn end(&self) {
        self.frames.end();
    }
}

/// Fan-out point of one remote audio track.
pub(crate) struct Receiver {
    fanout: Fanout<StreamShared>,
}

impl Receiver {
    /// Starts reading `rtp` until `end()` or the connection closes; frames go through
    /// the transform installed in `meta`.
    pub(crate) fn start(rtp: Arc<dyn TrackRemote>, meta: Arc<TrackMeta>) -> Arc<Self> {
        let (fanout, ended_rx) = Fanout::new();
        let r = Arc::new(Self { fanout });
        let pipeline = RecvPipeline::new(Box::new(FrameDepacketizer::opus()), meta, Box::new(|| OpusDecoder::new(2)));
        tokio::spawn(read_loop(Arc::downgrade(&r), rtp, pipeline, ended_rx));
        r
    }

    /// The track stopped (unsubscribed, unpublished, disconnected): streams end.
    pub(crate) fn end(&self) {
        self.fanout.end();
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
        let listeners = r.fanout.listeners();
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
            convert: Mutex::new((AudioResampler::new(48_000, 2, sample_rate, channels)?, Vec::new())),
            frames: FrameQueue::new(STREAM_BUFFER_FRAMES, receiver.fanout.is_ended()),
        });
        receiver.fanout.add(&shared);
        Ok(Self { shared })
    }

    /// The next frame, or `None` once the track has ended and everything buffered was read.
    pub async fn next(&self) -> Option<AudioFrame> {
        self.shared.frames.next().await
    }

    /// Ends the stream now (the reader gets `None`).
    pub fn close(&self) {
        self.shared.frames.end();
    }

    /// Frames dropped because the reader was too slow.
    pub fn dropped_frames(&self) -> u64 {
        self.shared.frames.dropped()
    }
}
