//! `AudioSource`: the app pushes PCM in; a pacer task (`pacer.rs`) takes 20 ms at a time in
//! real time, encodes it to Opus once, and writes the RTP packet to every published track
//! fed by the source, sending silence while the app feeds nothing. The queue is bounded by
//! duration, so a fast producer waits instead of growing memory.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use std::time::Instant;

use livekit_protocol as proto;
use tokio::sync::Notify;

use super::frame::{check_format, AudioFrame};
use super::resample::AudioResampler;
use crate::error::{EngineError, Result};
use crate::media::{MediaKind, MediaSource, Packetizer, RtpPacketizer, TrackOutput};

/// Opus frame length.
pub const FRAME_MS: u32 = 20;
/// Samples per channel in one 20 ms frame at 48 kHz.
pub const FRAME_48K: usize = 960;
/// Longest queue a source accepts (and the default when 0 is given: 1 s).
pub const MAX_QUEUE_MS: u32 = 10_000;
/// Opus payload type negotiated with LiveKit servers.
pub const OPUS_PT: u8 = 111;

fn rand_u16() -> u16 {
    (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0) & 0xffff)
        as u16
}

pub(super) struct State {
    /// Queued PCM at 48 kHz, interleaved with the encoded channel count.
    pub(super) queue: VecDeque<i16>,
    resampler: AudioResampler,
    pub(super) closed: bool,
    pub(super) pacer_started: bool,
}

pub(crate) struct SourceInner {
    sample_rate: u32,
    channels: u32,
    /// Channels Opus encodes: the source's, down-mixed to stereo beyond two.
    pub(super) enc_channels: u32,
    capacity: usize,
    pub(super) state: Mutex<State>,
    pub(super) changed: Notify,
    pub(super) sinks: Mutex<Vec<Arc<TrackOutput>>>,
    pub(super) sent_frames: AtomicU64,
    /// RTP timestamps count 48 kHz samples from here (plus a random base), so a pacer
    /// that stops while the source is idle resumes with the right timestamp.
    pub(super) epoch: Instant,
    pub(super) ts_base: u32,
}

/// A source of PCM for local audio tracks.
#[derive(Clone)]
pub struct AudioSource(pub(crate) Arc<SourceInner>);

impl AudioSource {
    /// A source taking frames of `sample_rate`/`channels`, buffering at most `queue_ms`
    /// (0 means 1000 ms).
    pub fn new(sample_rate: u32, channels: u32, queue_ms: u32) -> Result<Self> {
        check_format(sample_rate, channels)?;
        if queue_ms > MAX_QUEUE_MS {
            return Err(EngineError::InvalidArgument(format!("queueSizeMs {queue_ms} exceeds {MAX_QUEUE_MS}")));
        }
        let queue_ms = if queue_ms == 0 { 1_000 } else { queue_ms.max(FRAME_MS) };
        let enc_channels = channels.min(2);
        let capacity = 48 * queue_ms as usize * enc_channels as usize;
        Ok(Self(Arc::new(SourceInner {
            sample_rate,
            channels,
            enc_channels,
            capacity,
            state: Mutex::new(State {
                queue: VecDeque::with_capacity(capacity),
                resampler: AudioResampler::new(sample_rate, channels, 48_000, enc_channels)?,
                closed: false,
                pacer_started: false,
            }),
            changed: Notify::new(),
            sinks: Mutex::new(Vec::new()),
            sent_frames: AtomicU64::new(0),
            epoch: Instant::now(),
            ts_base: (rand_u16() as u32).wrapping_mul(7919),
        })))
    }

    /// Sample rate frames must have.
    pub fn sample_rate(&self) -> u32 {
        self.0.sample_rate
    }

    /// Channel count frames must have.
    pub fn channels(&self) -> u32 {
        self.0.channels
    }

    /// Channels sent: the source's, down-mixed to stereo beyond two (Opus carries 1 or 2).
    pub fn encoded_channels(&self) -> u32 {
        self.0.enc_channels
    }

    /// Queues a frame; waits while the queue is full. Errors: wrong format (`ERR_INVALID_ARG`),
    /// closed source (`ERR_DISPOSED`).
    pub async fn capture_frame(&self, frame: &AudioFrame) -> Result<()> {
        frame.validate()?;
        if frame.sample_rate != self.0.sample_rate || frame.channels != self.0.channels {
            return Err(EngineError::InvalidArgument(format!(
                "frame is {} Hz/{} ch but the source takes {} Hz/{} ch",
                frame.sample_rate, frame.channels, self.0.sample_rate, self.0.channels
            )));
        }
        let pcm = {
            let mut st = self.0.state.lock();
            if st.closed {
                return Err(EngineError::Disposed("the AudioSource is closed".into()));
            }
            st.resampler.push(&frame.data)
        };
        if pcm.len() > self.0.capacity {
            return Err(EngineError::InvalidArgument(format!(
                "a {:.0} ms frame does not fit a queue of {} ms",
                frame.duration_ms(),
                self.0.capacity / 48 / self.0.enc_channels as usize
            )));
        }
        loop {
            let notified = self.0.changed.notified();
            {
                let mut st = self.0.state.lock();
                if st.closed {
                    return Err(EngineError::Disposed("the AudioSource is closed".into()));
                }
                if st.queue.len() + pcm.len() <= self.0.capacity {
                    st.queue.extend(pcm);
                    self.start_pacer(&mut st);
                    return Ok(());
                }
            }
            notified.await;
        }
    }

    /// Audio queued and not yet sent, in milliseconds.
    pub fn queued_duration_ms(&self) -> f64 {
        let st = self.0.state.lock();
        st.queue.len() as f64 / (48.0 * self.0.enc_channels as f64)
    }

    /// Drops everything queued.
    pub fn clear_queue(&self) {
        let mut st = self.0.state.lock();
        st.queue.clear();
        st.resampler.reset();
        drop(st);
        self.0.changed.notify_waiters();
    }

    /// Resolves once the queue is empty (or the source closed).
    pub async fn wait_for_playout(&self) {
        loop {
            let notified = self.0.changed.notified();
            {
                let st = self.0.state.lock();
                if st.queue.is_empty() || st.closed {
                    return;
                }
            }
            notified.await;
        }
    }

    /// Closes the source: queued audio is dropped, pending captures fail, tracks go silent.
    pub fn close(&self) {
        let mut st = self.0.state.lock();
        st.closed = true;
        st.queue.clear();
        drop(st);
        self.0.sinks.lock().clear();
        self.0.changed.notify_waiters();
    }

    /// Whether `close()` was called.
    pub fn is_closed(&self) -> bool {
        self.0.state.lock().closed
    }

    /// 20 ms frames sent so far (to any track).
    pub fn sent_frames(&self) -> u64 {
        self.0.sent_frames.load(Ordering::Relaxed)
    }

    /// Whether the pacer task runs (it stops when the source is closed, or idle with no
    /// published track).
    pub fn is_pacing(&self) -> bool {
        self.0.state.lock().pacer_started
    }

    fn start_pacer(&self, st: &mut State) {
        if st.pacer_started || st.closed {
            return;
        }
        st.pacer_started = true;
        tokio::spawn(super::pacer::pace(Arc::downgrade(&self.0)));
    }
}

impl MediaSource for AudioSource {
    fn kind(&self) -> MediaKind {
        MediaKind::Audio
    }
    fn codec(&self) -> rtc::rtp_transceiver::rtp_sender::RTCRtpCodec {
        crate::pc::opus_codec(self.0.enc_channels)
    }
    fn payload_type(&self) -> u8 {
        OPUS_PT
    }
    fn packetizer(&self) -> Box<dyn Packetizer> {
        Box::new(RtpPacketizer::opus())
    }
    fn is_closed(&self) -> bool {
        AudioSource::is_closed(self)
    }
    fn attach(&self, output: Arc<TrackOutput>) {
        self.0.sinks.lock().push(output);
    }
    fn detach(&self, output: &Arc<TrackOutput>) {
        self.0.sinks.lock().retain(|s| !Arc::ptr_eq(s, output));
    }
    /// Starts the pacer: silence goes out while the app feeds nothing.
    fn start(&self) {
        let mut st = self.0.state.lock();
        self.start_pacer(&mut st);
    }
    #[allow(deprecated)] // `stereo` is what LiveKit servers read (as the official SDKs send it)
    fn describe(&self, request: &mut proto::AddTrackRequest) {
        request.stereo = self.0.enc_channels == 2;
    }
}

/// Loudness of a frame in −dBov (0 loudest, 127 silent), as the audio-level extension
/// carries it.
pub(crate) fn dbov(pcm: &[i16]) -> u8 {
    if pcm.is_empty() {
        return 127;
    }
    let mean_sq = pcm.iter().map(|&s| (s as f64) * (s as f64)).sum::<f64>() / pcm.len() as f64;
    let rms = mean_sq.sqrt() / 32768.0;
    if rms <= 0.0 {
        return 127;
    }
    (-20.0 * rms.log10()).round().clamp(0.0, 127.0) as u8
}

#[cfg(test)]
mod tests {
    #[test]
    fn loudness_in_dbov() {
        assert_eq!(super::dbov(&[0; 960]), 127);
        assert_eq!(super::dbov(&[32767; 960]), 0);
        let half: Vec<i16> = (0..960).map(|i| if i % 2 == 0 { 16384 } else { -16384 }).collect();
        assert_eq!(super::dbov(&half), 6);
    }
}
