//! `AudioSource`: the app pushes PCM in; a pacer task takes 20 ms at a time in real time,
//! encodes it to Opus once, and writes the RTP packet to every local track fed by the
//! source. The queue is bounded by duration, so a fast producer waits instead of growing
//! memory.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use bytes::Bytes;
use rtc::rtp;
use tokio::sync::Notify;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;

use super::codec::OpusEncoder;
use super::frame::{check_format, AudioFrame};
use super::resample::AudioResampler;
use crate::error::{EngineError, Result};

/// Opus frame length.
pub const FRAME_MS: u32 = 20;
/// Samples per channel in one 20 ms frame at 48 kHz.
pub const FRAME_48K: usize = 960;
/// Longest queue a source accepts (and the default when 0 is given: 1 s).
pub const MAX_QUEUE_MS: u32 = 10_000;
/// Opus payload type negotiated with LiveKit servers.
pub const OPUS_PT: u8 = 111;

/// A local track's RTP output, fed by a source.
pub(crate) struct Sink {
    pub rtp: Arc<TrackLocalStaticRTP>,
    pub ssrc: u32,
    pub muted: AtomicBool,
    seq: AtomicU16,
}

impl Sink {
    pub(crate) fn new(rtp: Arc<TrackLocalStaticRTP>, ssrc: u32) -> Arc<Self> {
        Arc::new(Self { rtp, ssrc, muted: AtomicBool::new(false), seq: AtomicU16::new(rand_u16()) })
    }
}

fn rand_u16() -> u16 {
    (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0) & 0xffff)
        as u16
}

struct State {
    /// Queued PCM at 48 kHz, interleaved with the source's channel count.
    queue: VecDeque<i16>,
    resampler: AudioResampler,
    closed: bool,
    pacer_started: bool,
}

pub(crate) struct SourceInner {
    sample_rate: u32,
    channels: u32,
    capacity: usize,
    state: Mutex<State>,
    changed: Notify,
    sinks: Mutex<Vec<Arc<Sink>>>,
    sent_frames: AtomicU64,
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
        let capacity = 48 * queue_ms as usize * channels as usize;
        Ok(Self(Arc::new(SourceInner {
            sample_rate,
            channels,
            capacity,
            state: Mutex::new(State {
                queue: VecDeque::with_capacity(capacity),
                resampler: AudioResampler::new(sample_rate, channels, 48_000, channels)?,
                closed: false,
                pacer_started: false,
            }),
            changed: Notify::new(),
            sinks: Mutex::new(Vec::new()),
            sent_frames: AtomicU64::new(0),
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
            let mut st = self.0.state.lock().unwrap();
            if st.closed {
                return Err(EngineError::Disposed("the AudioSource is closed".into()));
            }
            st.resampler.push(&frame.data)
        };
        if pcm.len() > self.0.capacity {
            return Err(EngineError::InvalidArgument(format!(
                "a {:.0} ms frame does not fit a queue of {} ms",
                frame.duration_ms(),
                self.0.capacity / 48 / self.0.channels as usize
            )));
        }
        self.ensure_pacer();
        loop {
            let notified = self.0.changed.notified();
            {
                let mut st = self.0.state.lock().unwrap();
                if st.closed {
                    return Err(EngineError::Disposed("the AudioSource is closed".into()));
                }
                if st.queue.len() + pcm.len() <= self.0.capacity {
                    st.queue.extend(pcm);
                    return Ok(());
                }
            }
            notified.await;
        }
    }

    /// Audio queued and not yet sent, in milliseconds.
    pub fn queued_duration_ms(&self) -> f64 {
        let st = self.0.state.lock().unwrap();
        st.queue.len() as f64 / (48.0 * self.0.channels as f64)
    }

    /// Drops everything queued.
    pub fn clear_queue(&self) {
        let mut st = self.0.state.lock().unwrap();
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
                let st = self.0.state.lock().unwrap();
                if st.queue.is_empty() || st.closed {
                    return;
                }
            }
            notified.await;
        }
    }

    /// Closes the source: queued audio is dropped, pending captures fail, tracks go silent.
    pub fn close(&self) {
        let mut st = self.0.state.lock().unwrap();
        st.closed = true;
        st.queue.clear();
        drop(st);
        self.0.sinks.lock().unwrap().clear();
        self.0.changed.notify_waiters();
    }

    /// Whether `close()` was called.
    pub fn is_closed(&self) -> bool {
        self.0.state.lock().unwrap().closed
    }

    /// 20 ms frames sent so far (to any track).
    pub fn sent_frames(&self) -> u64 {
        self.0.sent_frames.load(Ordering::Relaxed)
    }

    pub(crate) fn add_sink(&self, sink: Arc<Sink>) {
        self.0.sinks.lock().unwrap().push(sink);
        self.ensure_pacer();
    }

    pub(crate) fn remove_sink(&self, sink: &Arc<Sink>) {
        self.0.sinks.lock().unwrap().retain(|s| !Arc::ptr_eq(s, sink));
    }

    fn ensure_pacer(&self) {
        let mut st = self.0.state.lock().unwrap();
        if st.pacer_started || st.closed {
            return;
        }
        st.pacer_started = true;
        let weak = Arc::downgrade(&self.0);
        let channels = self.0.channels;
        tokio::spawn(pace(weak, channels));
    }
}

/// Takes 20 ms every 20 ms, encodes it once, writes it to every sink. Ends when the
/// source is closed or dropped.
async fn pace(source: Weak<SourceInner>, channels: u32) {
    let mut encoder = match OpusEncoder::new(channels) {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(error = %e, "cannot create Opus encoder");
            return;
        }
    };
    let mut tick = tokio::time::interval(Duration::from_millis(FRAME_MS as u64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut timestamp: u32 = rand_u16() as u32 * 7919;
    let mut talking = false;
    let mut packet = vec![0u8; 4000];
    let n = FRAME_48K * channels as usize;
    loop {
        tick.tick().await;
        let Some(src) = source.upgrade() else { break };
        let pcm: Option<Vec<i16>> = {
            let mut st = src.state.lock().unwrap();
            if st.closed {
                break;
            }
            if st.queue.is_empty() {
                None
            } else {
                let take = n.min(st.queue.len());
                let mut pcm: Vec<i16> = st.queue.drain(..take).collect();
                pcm.resize(n, 0); // a short tail is padded with silence
                Some(pcm)
            }
        };
        src.changed.notify_waiters();
        let sinks = src.sinks.lock().unwrap().clone();
        match pcm {
            Some(pcm) if !sinks.is_empty() => {
                let len = match encoder.encode(&pcm, &mut packet) {
                    Ok(len) => len,
                    Err(e) => {
                        tracing::warn!(error = %e, "Opus encode failed");
                        continue;
                    }
                };
                let payload = Bytes::copy_from_slice(&packet[..len]);
                let level = [rtp::extension::HeaderExtension::AudioLevel(
                    rtp::extension::audio_level_extension::AudioLevelExtension { level: dbov(&pcm), voice: true },
                )];
                for sink in &sinks {
                    if sink.muted.load(Ordering::Relaxed) {
                        continue;
                    }
                    let header = rtp::header::Header {
                        version: 2,
                        marker: !talking,
                        payload_type: OPUS_PT,
                        sequence_number: sink.seq.fetch_add(1, Ordering::Relaxed),
                        timestamp,
                        ssrc: sink.ssrc,
                        ..Default::default()
                    };
                    // Not yet negotiated: the packet is simply not sent.
                    let _ = sink
                        .rtp
                        .write_rtp_with_extensions(rtp::Packet { header, payload: payload.clone() }, &level)
                        .await;
                }
                src.sent_frames.fetch_add(1, Ordering::Relaxed);
                talking = true;
            }
            // Nothing to send: the timestamp keeps running so receivers see the gap.
            _ => talking = false,
        }
        timestamp = timestamp.wrapping_add(FRAME_48K as u32);
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
