//! Receiving video: one task per subscribed remote video track reads RTP and, while a
//! `VideoStream` listens, runs it through a [`RecvPipeline`] (depacketised, transformed,
//! decoded to I420) chosen by the RTP stream's codec (VP8, VP9, H.264). The decoder waits for a
//! keyframe at the start and after loss; while it waits the task asks the sender for one
//! (PLI, at most every [`PLI_INTERVAL`]). Each stream converts to its own buffer type and
//! buffers at most [`STREAM_BUFFER_FRAMES`] frames, dropping the oldest.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use tokio::sync::watch;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};

use super::h264::H264VideoDecoder;
use super::vp8::VpxVideoDecoder;
use super::{convert, VideoBufferType, VideoDepacketizer, VideoFrame};
use crate::error::{EngineError, Result};
use crate::media::{Decoder, EncodedFrame, Fanout, FrameQueue, Listener, RecvPipeline, TrackMeta};
use lkrtc_vpx::VpxCodec;

/// Frames a stream buffers before dropping the oldest (~270 ms at 30 fps).
pub const STREAM_BUFFER_FRAMES: usize = 8;

/// Least time between two keyframe requests while a decoder waits for a keyframe.
pub const PLI_INTERVAL: Duration = Duration::from_millis(300);

/// RTP clock rate of video.
const CLOCK_RATE: i64 = 90_000;

/// The video codecs lkrtc decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Codec {
    Vp8,
    Vp9,
    H264,
}

impl Codec {
    fn from_mime(mime: &str) -> Option<Self> {
        match mime.to_ascii_lowercase().as_str() {
            "video/vp8" => Some(Self::Vp8),
            "video/vp9" => Some(Self::Vp9),
            "video/h264" => Some(Self::H264),
            _ => None,
        }
    }

    fn pipeline(self, meta: Arc<TrackMeta>) -> RecvPipeline<VideoDecoder> {
        match self {
            Self::Vp8 => RecvPipeline::new(
                Box::new(VideoDepacketizer::vp8()),
                meta,
                Box::new(|| Ok(VideoDecoder::Vpx(VpxVideoDecoder::new(VpxCodec::Vp8)?))),
            ),
            Self::Vp9 => RecvPipeline::new(
                Box::new(VideoDepacketizer::vp9()),
                meta,
                Box::new(|| Ok(VideoDecoder::Vpx(VpxVideoDecoder::new(VpxCodec::Vp9)?))),
            ),
            Self::H264 => RecvPipeline::new(
                Box::new(VideoDepacketizer::h264()),
                meta,
                Box::new(|| Ok(VideoDecoder::H264(H264VideoDecoder::new()?))),
            ),
        }
    }
}

/// The receive pipeline of a remote video track whose codec is `mime` (`None`: a codec
/// lkrtc cannot decode).
pub(crate) fn receive_pipeline(mime: &str, meta: Arc<TrackMeta>) -> Option<RecvPipeline<VideoDecoder>> {
    Codec::from_mime(mime).map(|c| c.pipeline(meta))
}

/// A decoder of whichever codec the track arrives in.
pub enum VideoDecoder {
    /// VP8 or VP9 (libvpx).
    Vpx(VpxVideoDecoder),
    /// H.264 (OpenH264).
    H264(H264VideoDecoder),
}

impl Decoder for VideoDecoder {
    type Output = VideoFrame;

    fn decode_frame(&mut self, frame: &EncodedFrame, lost: u16, out: &mut dyn FnMut(&VideoFrame)) -> Result<()> {
        match self {
            Self::Vpx(d) => d.decode_frame(frame, lost, out),
            Self::H264(d) => d.decode_frame(frame, lost, out),
        }
    }

    fn needs_keyframe(&self) -> bool {
        match self {
            Self::Vpx(d) => d.needs_keyframe(),
            Self::H264(d) => d.needs_keyframe(),
        }
    }
}

/// One decoded frame of a [`VideoStream`].
#[derive(Clone, Debug)]
pub struct VideoFrameEvent {
    /// The picture, in the stream's buffer type.
    pub frame: VideoFrame,
    /// Capture time in microseconds: the RTP timestamp mapped onto this host's wall clock
    /// at the stream's first frame (differences between frames follow the sender's clock).
    pub timestamp_us: i64,
    /// Rotation in degrees (0: lkrtc does not negotiate the rotation extension).
    pub rotation: u32,
}

/// RTP timestamps (32-bit, wrapping) → rising microseconds.
#[derive(Default)]
struct RtpClock {
    /// Last RTP timestamp and its unwrapped value.
    last: Option<(u32, i64)>,
    /// Unwrapped timestamp of the first frame and the wall-clock µs it maps to.
    origin: Option<(i64, i64)>,
}

impl RtpClock {
    fn micros(&mut self, rtp: u32) -> i64 {
        let unwrapped = match self.last {
            // The signed 32-bit difference: frames may come slightly out of order.
            Some((prev, ext)) => ext + i64::from(rtp.wrapping_sub(prev) as i32),
            None => i64::from(rtp),
        };
        self.last = Some((rtp, unwrapped));
        let (t0, wall0) = *self.origin.get_or_insert_with(|| (unwrapped, wall_micros()));
        wall0 + (unwrapped - t0) * 1_000_000 / CLOCK_RATE
    }
}

fn wall_micros() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64)
}

struct StreamShared {
    format: VideoBufferType,
    frames: FrameQueue<VideoFrameEvent>,
}

impl StreamShared {
    fn push(&self, frame: &VideoFrame, timestamp_us: i64) {
        if self.frames.is_ended() {
            return;
        }
        let frame = if frame.ty == self.format {
            frame.clone()
        } else {
            match convert(frame.ty, frame.width, frame.height, &frame.data, self.format, false) {
                Ok(f) => f,
                Err(e) => {
                    tracing::warn!(error = %e, "decoded frame not converted");
                    return;
                }
            }
        };
        self.frames.push([VideoFrameEvent { frame, timestamp_us, rotation: 0 }]);
    }
}

impl Listener for StreamShared {
    fn end(&self) {
        self.frames.end();
    }
}

/// Counters of one remote video track's receiver.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VideoReceiveStats {
    /// Frames decoded.
    pub frames_decoded: u64,
    /// Keyframe requests (PLI) sent.
    pub keyframe_requests: u64,
}

/// Fan-out point of one remote video track.
pub(crate) struct VideoReceiver {
    fanout: Fanout<StreamShared>,
    /// Set when the track arrives in a codec lkrtc cannot decode (its mime type).
    unsupported: Mutex<Option<String>>,
    stats: Mutex<VideoReceiveStats>,
}

impl VideoReceiver {
    /// Starts reading `rtp` until `end()` or the connection closes. `mime` is the codec the
    /// track was announced with (the RTP stream's own codec wins once packets arrive).
    pub(crate) fn start(rtp: Arc<dyn TrackRemote>, meta: Arc<TrackMeta>, mime: &str) -> Arc<Self> {
        let (fanout, ended_rx) = Fanout::new();
        let known = mime.is_empty() || Codec::from_mime(mime).is_some();
        let r = Arc::new(Self {
            fanout,
            unsupported: Mutex::new((!known).then(|| mime.to_owned())),
            stats: Mutex::new(VideoReceiveStats::default()),
        });
        tokio::spawn(read_loop(Arc::downgrade(&r), rtp, meta, ended_rx));
        r
    }

    /// The track stopped (unsubscribed, unpublished, disconnected): streams end.
    pub(crate) fn end(&self) {
        self.fanout.end();
    }

    fn set_unsupported(&self, mime: &str) {
        let mut u = self.unsupported.lock();
        if u.is_none() {
            tracing::warn!(codec = mime, "remote video track in a codec lkrtc cannot decode");
            *u = Some(mime.to_owned());
        }
        drop(u);
        for s in self.fanout.listeners() {
            s.end();
        }
    }

    pub(crate) fn stats(&self) -> VideoReceiveStats {
        *self.stats.lock()
    }
}

/// The pipeline in use and the RTP stream (SSRC, payload type) it was made for.
struct Current {
    ssrc: u32,
    payload_type: u8,
    pipeline: Option<RecvPipeline<VideoDecoder>>,
}

async fn read_loop(
    receiver: Weak<VideoReceiver>,
    rtp: Arc<dyn TrackRemote>,
    meta: Arc<TrackMeta>,
    mut ended: watch::Receiver<bool>,
) {
    let mut current: Option<Current> = None;
    let mut clock = RtpClock::default();
    let mut last_pli: Option<Instant> = None;
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
        let (ssrc, pt) = (packet.header.ssrc, packet.header.payload_type);
        if current.as_ref().is_none_or(|c| (c.ssrc, c.payload_type) != (ssrc, pt)) {
            let mime = rtp.codec(ssrc).await.map(|c| c.mime_type).unwrap_or_default();
            let pipeline = receive_pipeline(&mime, meta.clone());
            if pipeline.is_none() {
                r.set_unsupported(&mime);
            }
            current = Some(Current { ssrc, payload_type: pt, pipeline });
        }
        let Some(pipeline) = current.as_mut().and_then(|c| c.pipeline.as_mut()) else { continue };
        let listeners = r.fanout.listeners();
        let timestamp_us = clock.micros(packet.header.timestamp);
        let mut decoded = 0;
        let pushed = pipeline.push(&packet, !listeners.is_empty(), &mut |frame| {
            decoded += 1;
            for s in &listeners {
                s.push(frame, timestamp_us);
            }
        });
        if let Err(e) = pushed {
            tracing::error!(error = %e, "cannot create a video decoder");
            r.set_unsupported("(decoder failed)");
            continue;
        }
        r.stats.lock().frames_decoded += decoded;
        if !listeners.is_empty() && pipeline.needs_keyframe() && last_pli.is_none_or(|t| t.elapsed() >= PLI_INTERVAL) {
            last_pli = Some(Instant::now());
            r.stats.lock().keyframe_requests += 1;
            let pli = PictureLossIndication { sender_ssrc: 0, media_ssrc: ssrc };
            if let Err(e) = rtp.write_rtcp(vec![Box::new(pli)]).await {
                tracing::debug!(error = %e, "keyframe request not sent");
            }
        }
    }
    if let Some(r) = receiver.upgrade() {
        r.end();
    }
}

/// Decoded frames of a remote video track, in the buffer type asked for. Ends (returns
/// `None`) when the track is unsubscribed, unpublished, the room disconnects, or the track
/// turns out to be in a codec lkrtc cannot decode.
pub struct VideoStream {
    shared: Arc<StreamShared>,
}

impl VideoStream {
    pub(crate) fn attach(receiver: &Arc<VideoReceiver>, format: VideoBufferType) -> Result<Self> {
        if let Some(mime) = receiver.unsupported.lock().clone() {
            return Err(EngineError::InvalidArgument(format!(
                "lkrtc cannot decode this track's codec ({mime}): VP8, VP9 and H.264 are supported"
            )));
        }
        let shared = Arc::new(StreamShared {
            format,
            frames: FrameQueue::new(STREAM_BUFFER_FRAMES, receiver.fanout.is_ended()),
        });
        receiver.fanout.add(&shared);
        Ok(Self { shared })
    }

    /// The next frame, or `None` once the stream ended and everything buffered was read.
    pub async fn next(&self) -> Option<VideoFrameEvent> {
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

    /// The buffer type frames come in.
    pub fn format(&self) -> VideoBufferType {
        self.shared.format
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtp_time_maps_to_rising_microseconds_across_the_wrap() {
        let mut clock = RtpClock::default();
        let a = u32::MAX - 2_999;
        let t0 = clock.micros(a);
        assert_eq!(clock.micros(a.wrapping_add(3_000)), t0 + 33_333);
        // 3000 ticks later, across the wrap.
        assert_eq!(clock.micros(a.wrapping_add(6_000)), t0 + 66_666);
        // A frame slightly out of order maps before the newest.
        assert_eq!(clock.micros(a.wrapping_add(3_000)), t0 + 33_333);
    }

    #[test]
    fn codecs_by_mime_type() {
        assert_eq!(Codec::from_mime("video/VP8"), Some(Codec::Vp8));
        assert_eq!(Codec::from_mime("video/h264"), Some(Codec::H264));
        assert_eq!(Codec::from_mime("video/VP9"), Some(Codec::Vp9));
        assert_eq!(Codec::from_mime("video/AV1"), None);
    }
}
