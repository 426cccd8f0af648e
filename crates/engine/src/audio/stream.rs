//! Receiving audio: one task per subscribed remote audio track reads RTP, decodes Opus
//! (with loss concealment) only while someone listens, and hands 48 kHz PCM to every
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

/// Frames a stream buffers before dropping the oldest (at 10 ms frames, 2 s).
pub const STREAM_BUFFER_FRAMES: usize = 200;
/// Longest gap (in 20 ms packets) filled with concealment; longer gaps are skipped.
const MAX_CONCEALED: u16 = 5;

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
    /// Starts reading `rtp` until `end()` or the connection closes.
    pub(crate) fn start(rtp: Arc<dyn TrackRemote>) -> Arc<Self> {
        let (ended, ended_rx) = watch::channel(false);
        let r = Arc::new(Self { streams: Mutex::new(Vec::new()), ended });
        tokio::spawn(read_loop(Arc::downgrade(&r), rtp, ended_rx));
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

async fn read_loop(receiver: Weak<Receiver>, rtp: Arc<dyn TrackRemote>, mut ended: watch::Receiver<bool>) {
    let mut decoder: Option<OpusDecoder> = None;
    let mut last_seq: Option<u16> = None;
    let mut pcm = vec![0i16; 5760 * 2];
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
        if listeners.is_empty() {
            // Nobody listens: no decoding, but keep the sequence to conceal correctly later.
            last_seq = Some(packet.header.sequence_number);
            decoder = None;
            continue;
        }
        let dec = match decoder.as_mut() {
            Some(d) => d,
            None => match OpusDecoder::new(2) {
                Ok(d) => decoder.insert(d),
                Err(e) => {
                    tracing::error!(error = %e, "cannot create Opus decoder");
                    break;
                }
            },
        };
        let seq = packet.header.sequence_number;
        if packet.payload.is_empty() {
            // Padding-only packet (libwebrtc sends them on audio for bandwidth probing): it
            // takes a sequence number but carries no audio. Decoding an empty Opus packet
            // would run loss concealment, so it only advances the sequence.
            last_seq = Some(seq);
            continue;
        }
        if let Some(prev) = last_seq {
            let gap = seq.wrapping_sub(prev);
            if gap == 0 || gap > 0x8000 {
                continue; // duplicate or reordered late packet
            }
            // Lost packets: conceal a short gap so playback stays continuous; the packet
            // just before this one comes back from this one's in-band FEC.
            if gap > 1 && gap - 1 <= MAX_CONCEALED {
                for i in 0..gap - 1 {
                    let last = i == gap - 2;
                    let got = if last { dec.recover(&packet.payload, &mut pcm) } else { dec.conceal(&mut pcm) };
                    if let Ok(n) = got {
                        for s in &listeners {
                            s.push(&pcm[..n * 2]);
                        }
                    }
                }
            }
        }
        last_seq = Some(seq);
        match dec.decode(&packet.payload, &mut pcm) {
            Ok(n) => {
                for s in &listeners {
                    s.push(&pcm[..n * 2]);
                }
            }
            Err(e) => tracing::debug!(error = %e, "undecodable Opus packet dropped"),
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
