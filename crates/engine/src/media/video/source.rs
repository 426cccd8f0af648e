//! `VideoSource`: the app captures frames; a sender task converts each to I420, encodes it
//! once (VP8 or H.264, as the publish options chose) and writes its RTP packets to every
//! published track the source feeds. The queue holds a few frames and drops the oldest
//! when the app captures faster than the encoder keeps up. A frame of another size than
//! the last one starts a new resolution (the encoder restarts, with a keyframe), as
//! libwebrtc does.

use std::collections::VecDeque;
use std::sync::{Arc, Weak};
use std::time::Instant;

use livekit_protocol as proto;
use parking_lot::Mutex;
use tokio::sync::Notify;

use super::clock::CaptureClock;
use super::encoder::{self, Captured, LayerEncoders, Requests};
use super::layers::{layer_plan, LayerSpec};
use super::{convert, VideoBufferType, VideoFrame};
use crate::error::{EngineError, Result};
use crate::media::{Feedback, MediaKind, MediaSource, Packetizer, RtpPacketizer, TrackOutput};
use crate::types::{PublishOptions, VideoCodec};

/// Frames queued before the oldest is dropped.
pub const QUEUE_FRAMES: usize = 3;
/// Payload types of the video codecs, as the default media engine numbers them.
const VP8_PT: u8 = 96;
const H264_PT: u8 = 102;
const VP9_PT: u8 = 98;

/// Default bitrate ceiling for a picture whose short side is `side` pixels (LiveKit's
/// camera presets: 180p 160 kb/s ... 2160p 8 Mb/s).
pub fn default_max_bitrate(width: u32, height: u32) -> u32 {
    match width.min(height) {
        0..=180 => 160_000,
        181..=216 => 180_000,
        217..=360 => 450_000,
        361..=540 => 800_000,
        541..=720 => 1_700_000,
        721..=1080 => 3_000_000,
        1081..=1440 => 5_000_000,
        _ => 8_000_000,
    }
}

/// How the source encodes (from the last publish options).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Coding {
    codec: VideoCodec,
    max_bitrate: Option<u32>,
    max_framerate: u32,
    simulcast: bool,
}

impl Coding {
    /// The layers a `width` x `height` source is sent as, from the lowest.
    fn plan(&self, width: u32, height: u32) -> Vec<LayerSpec> {
        let max_bitrate = self.max_bitrate.unwrap_or_else(|| default_max_bitrate(width, height));
        layer_plan(width, height, max_bitrate, self.max_framerate, self.simulcast)
    }
}

struct Queued {
    frame: VideoFrame,
    timestamp: u32,
}

struct State {
    queue: VecDeque<Queued>,
    closed: bool,
    sender_started: bool,
    coding: Coding,
    /// The next frame is a keyframe on every layer (a track was published).
    keyframe_requested: bool,
    /// What receivers asked of each layer (keyframes, estimates) since the sender looked.
    requests: Requests,
    /// RTP time of the captured frames.
    clock: CaptureClock,
    dropped: u64,
}

pub(crate) struct SourceInner {
    width: u32,
    height: u32,
    state: Mutex<State>,
    /// Wakes the sender task (a frame, close, or the source dropped).
    changed: Arc<Notify>,
    sinks: Mutex<Vec<Arc<TrackOutput>>>,
    epoch: Instant,
    ts_base: u32,
}

impl Drop for SourceInner {
    /// Wakes the sender task, which then finds the source gone and ends.
    fn drop(&mut self) {
        self.changed.notify_one();
    }
}

/// A source of frames for local video tracks.
#[derive(Clone)]
pub struct VideoSource(pub(crate) Arc<SourceInner>);

impl VideoSource {
    /// A source announcing `width` x `height` (frames of other sizes are sent at their size).
    pub fn new(width: u32, height: u32) -> Result<Self> {
        super::check_frame(
            VideoBufferType::I420,
            width,
            height,
            super::buffer_len(VideoBufferType::I420, width, height),
        )?;
        Ok(Self(Arc::new(SourceInner {
            width,
            height,
            state: Mutex::new(State {
                queue: VecDeque::with_capacity(QUEUE_FRAMES),
                closed: false,
                sender_started: false,
                coding: Coding { codec: VideoCodec::Vp8, max_bitrate: None, max_framerate: 30, simulcast: false },
                keyframe_requested: true,
                requests: Requests::default(),
                clock: CaptureClock::default(),
                dropped: 0,
            }),
            changed: Arc::new(Notify::new()),
            sinks: Mutex::new(Vec::new()),
            epoch: Instant::now(),
            ts_base: crate::media::local::rand_u32(),
        })))
    }

    /// The size it announces.
    pub fn size(&self) -> (u32, u32) {
        (self.0.width, self.0.height)
    }

    /// Queues a frame (any buffer type; converted to I420 here), dropping the oldest queued
    /// one when the queue is full. Errors: closed source (`ERR_DISPOSED`), bad frame
    /// (`ERR_INVALID_ARG`). Its RTP time is the source's wall clock.
    pub fn capture_frame(&self, frame: &VideoFrame) -> Result<()> {
        self.capture_frame_at(frame, None)
    }

    /// [`capture_frame`](Self::capture_frame) with the app's capture timestamp (µs, any
    /// origin): RTP time then follows the stamps (`clock.rs`). A frame stamped no later than
    /// the previous one is dropped (counted in [`dropped_frames`](Self::dropped_frames)); a
    /// negative stamp is `ERR_INVALID_ARG`.
    pub fn capture_frame_at(&self, frame: &VideoFrame, timestamp_us: Option<i64>) -> Result<()> {
        super::check_frame(frame.ty, frame.width, frame.height, frame.data.len())?;
        if self.is_closed() {
            return Err(EngineError::Disposed("the VideoSource is closed".into()));
        }
        let frame = if frame.ty == VideoBufferType::I420 {
            frame.clone()
        } else {
            convert(frame.ty, frame.width, frame.height, &frame.data, VideoBufferType::I420, false)?
        };
        let elapsed_us = u64::try_from(self.0.epoch.elapsed().as_micros()).unwrap_or(u64::MAX);
        let mut st = self.0.state.lock();
        if st.closed {
            return Err(EngineError::Disposed("the VideoSource is closed".into()));
        }
        let Some(tick) = st.clock.tick(elapsed_us, timestamp_us)? else {
            st.dropped += 1;
            return Ok(());
        };
        let timestamp = self.0.ts_base.wrapping_add(tick as u32);
        if st.queue.len() == QUEUE_FRAMES {
            st.queue.pop_front();
            st.dropped += 1;
        }
        st.queue.push_back(Queued { frame, timestamp });
        if !st.sender_started {
            st.sender_started = true;
            tokio::spawn(run_sender(Arc::downgrade(&self.0)));
        }
        drop(st);
        self.0.changed.notify_one();
        Ok(())
    }

    /// Frames dropped because the queue was full.
    pub fn dropped_frames(&self) -> u64 {
        self.0.state.lock().dropped
    }

    /// Closes the source: queued frames are dropped, captures fail, tracks stop.
    pub fn close(&self) {
        let mut st = self.0.state.lock();
        st.closed = true;
        st.queue.clear();
        drop(st);
        self.0.sinks.lock().clear();
        self.0.changed.notify_one();
    }

    /// Whether `close()` was called.
    pub fn is_closed(&self) -> bool {
        self.0.state.lock().closed
    }

    /// The next frame is a keyframe (a track was published).
    pub fn request_keyframe(&self) {
        self.0.state.lock().keyframe_requested = true;
    }
}

/// The sender task: waits for frames, encodes each once per layer and sends it to every
/// track that wants it. Ends when the source is closed or dropped.
async fn run_sender(source: Weak<SourceInner>) {
    let mut encoders = LayerEncoders::default();
    loop {
        let Some(src) = source.upgrade() else { return };
        let changed = src.changed.clone();
        let notified = changed.notified();
        let next = {
            let mut st = src.state.lock();
            if st.closed {
                st.sender_started = false;
                return;
            }
            let requests = std::mem::take(&mut st.requests);
            st.queue.pop_front().map(|q| (q, st.coding, std::mem::take(&mut st.keyframe_requested), requests))
        };
        let Some((queued, coding, publish, requests)) = next else {
            drop(src);
            notified.await;
            continue;
        };
        let mut targets = src.sinks.lock().clone();
        targets.retain(|s| s.wants());
        if targets.is_empty() {
            continue;
        }
        let frame = queued.frame;
        let mut plan = coding.plan(src.width, src.height);
        if let [single] = plan.as_mut_slice() {
            // One layer: sent at the frame's size, capped by its preset unless given.
            single.max_bitrate = coding.max_bitrate.unwrap_or_else(|| default_max_bitrate(frame.width, frame.height));
        }
        let announced = (src.width, src.height);
        // libwebrtc's pacer: one per connection, at 2.5 times what all layers may send
        // together (the layers share an output's queue; paced each at its own cap, the
        // small layers' slow pace held up the top layer's frames: 7.6 fps instead of 30).
        let total: u32 = plan.iter().map(|l| l.max_bitrate).fold(0, u32::saturating_add);
        let pacing = total.saturating_mul(5) / 2;
        drop(src);
        // Encoding (up to three layers) takes milliseconds of CPU: off the async workers,
        // which also drive the peer connections (ICE checks, DTLS, RTCP).
        let work = tokio::task::spawn_blocking(move || {
            let layers = encoder::Coding { codec: coding.codec, plan: &plan, announced };
            let captured = Captured { frame: &frame, timestamp: queued.timestamp, publish };
            let encoded = encoders.encode(&layers, &captured, &requests);
            (encoders, encoded)
        });
        let Ok((back, encoded)) = work.await else { return };
        encoders = back;
        for output in &targets {
            for (layer, frame) in encoded.iter().enumerate() {
                if let Some(frame) = frame {
                    output.send_paced(layer, frame.clone(), pacing).await;
                }
            }
        }
    }
}

impl MediaSource for VideoSource {
    fn kind(&self) -> MediaKind {
        MediaKind::Video
    }
    fn codec(&self) -> rtc::rtp_transceiver::rtp_sender::RTCRtpCodec {
        let codec = self.0.state.lock().coding.codec;
        sdp_codec(codec)
    }
    fn payload_type(&self) -> u8 {
        match self.0.state.lock().coding.codec {
            VideoCodec::H264 => H264_PT,
            VideoCodec::Vp9 => VP9_PT,
            _ => VP8_PT,
        }
    }
    fn packetizer(&self) -> Box<dyn Packetizer> {
        let payloader: Box<dyn rtc::rtp::packetizer::Payloader> = match self.0.state.lock().coding.codec {
            VideoCodec::H264 => Box::new(rtc::rtp::codec::h264::H264Payloader::default()),
            VideoCodec::Vp9 => Box::new(Vp9References::default()),
            _ => Box::new(LongPictureIds::new()),
        };
        Box::new(RtpPacketizer::new(payloader, true))
    }
    fn is_closed(&self) -> bool {
        VideoSource::is_closed(self)
    }
    fn attach(&self, output: Arc<TrackOutput>) {
        self.0.sinks.lock().push(output);
    }
    fn detach(&self, output: &Arc<TrackOutput>) {
        self.0.sinks.lock().retain(|s| !Arc::ptr_eq(s, output));
    }
    /// A track was published: its first frame is a keyframe.
    fn start(&self) {
        self.request_keyframe();
    }
    /// A receiver of one of our streams asked for a keyframe (sent within 300 ms of the
    /// last one at most) or estimated its bandwidth (the encoder's target follows it between
    /// 30 kb/s and the max bitrate: `bitrate.rs`).
    fn on_feedback(&self, ssrc: u32, feedback: Feedback) {
        let Some(layer) = self.0.sinks.lock().iter().find_map(|s| s.stream_of(ssrc)) else { return };
        let mut st = self.0.state.lock();
        let requests = &mut st.requests;
        match feedback {
            Feedback::KeyframeRequest => requests.keyframe.get_mut(layer).map(|k| *k = true),
            Feedback::Estimate(bitrate) => {
                requests.estimate.get_mut(layer).map(|e| *e = Some((Instant::now(), bitrate)))
            }
        };
    }
    fn describe(&self, request: &mut proto::AddTrackRequest) {
        let (width, height) = (self.0.width, self.0.height);
        let coding = self.0.state.lock().coding;
        request.width = width;
        request.height = height;
        let plan = coding.plan(width, height);
        // From the highest, as the official SDKs list them (SSRCs are learnt from the media).
        request.layers = plan
            .iter()
            .rev()
            .map(|layer| proto::VideoLayer {
                quality: layer.quality() as i32,
                width: layer.width,
                height: layer.height,
                bitrate: layer.max_bitrate,
                ..Default::default()
            })
            .collect();
    }
    /// The simulcast layers' RIDs (none for a single layer).
    fn rids(&self) -> Vec<&'static str> {
        let coding = self.0.state.lock().coding;
        let plan = coding.plan(self.0.width, self.0.height);
        if plan.len() == 1 {
            return Vec::new();
        }
        plan.iter().filter_map(|l| l.rid).collect()
    }
    fn configure(&self, options: &PublishOptions) -> Result<()> {
        if !matches!(options.video_codec, VideoCodec::Vp8 | VideoCodec::H264 | VideoCodec::Vp9) {
            return Err(EngineError::InvalidArgument(format!(
                "no {:?} encoder in lkrtc: publish with VP8, VP9 or H.264",
                options.video_codec
            )));
        }
        if options.max_bitrate.is_some_and(|b| b < 1_000) {
            return Err(EngineError::InvalidArgument(format!("maxBitrate {:?} b/s", options.max_bitrate)));
        }
        let fps = options.max_framerate.unwrap_or(30.0);
        if !(fps.is_finite() && (1.0..=240.0).contains(&fps)) {
            return Err(EngineError::InvalidArgument(format!("maxFramerate {fps}")));
        }
        let coding = Coding {
            codec: options.video_codec,
            max_bitrate: options.max_bitrate,
            max_framerate: fps.round() as u32,
            simulcast: options.simulcast,
        };
        self.0.state.lock().coding = coding;
        Ok(())
    }
}

/// `rtc`'s VP8 payloader with picture ids always in their 15-bit form, as libwebrtc sends
/// them: `rtc` numbers pictures from 0 and writes ids under 128 in the 7-bit form, which an
/// SFU cannot rewrite into one continuous 15-bit sequence when it switches simulcast layers
/// (the subscriber then loses frames until a keyframe). So ids start at 128; at the end of
/// the 15-bit space they start at 128 again, which a receiver sees as a gap (it asks for a
/// keyframe, once every 18 minutes at 30 fps).
#[derive(Debug, Clone)]
struct LongPictureIds {
    inner: rtc::rtp::codec::vp8::Vp8Payloader,
    /// Pictures left before the id space ends.
    left: u16,
}

impl LongPictureIds {
    /// Ids under 128 are the short form.
    const FIRST_LONG: u16 = 128;

    fn new() -> Self {
        let mut inner = rtc::rtp::codec::vp8::Vp8Payloader::default();
        inner.enable_picture_id = true;
        // Each payloaded frame takes one id: spend the short ones on a one-byte frame.
        let one = bytes::Bytes::from_static(&[0]);
        for _ in 0..Self::FIRST_LONG {
            let _ = rtc::rtp::packetizer::Payloader::payload(&mut inner, 1_200, &one);
        }
        Self { inner, left: 0x8000 - Self::FIRST_LONG }
    }
}

impl rtc::rtp::packetizer::Payloader for LongPictureIds {
    fn payload(&mut self, mtu: usize, frame: &bytes::Bytes) -> rtc::shared::error::Result<Vec<bytes::Bytes>> {
        if self.left == 0 {
            *self = Self::new();
        }
        self.left -= 1;
        self.inner.payload(mtu, frame)
    }
    fn clone_to(&self) -> Box<dyn rtc::rtp::packetizer::Payloader> {
        Box::new(self.clone())
    }
}

/// `rtc`'s VP9 payloader (flexible mode, 15-bit picture ids) with the references filled
/// in: `rtc` marks every picture as not inter-predicted (P = 0), which tells receivers and
/// SFUs that each frame starts afresh (an SFU would switch layers on any of them). An inter
/// frame gets P = 1 and one reference, the picture before (P_DIFF 1), as libwebrtc sends a
/// single-layer stream.
#[derive(Debug, Clone, Default)]
struct Vp9References {
    inner: rtc::rtp::codec::vp9::Vp9Payloader,
}

impl rtc::rtp::packetizer::Payloader for Vp9References {
    fn payload(&mut self, mtu: usize, frame: &bytes::Bytes) -> rtc::shared::error::Result<Vec<bytes::Bytes>> {
        const P: u8 = 0x40;
        const DESCRIPTOR: usize = 3; // flags, 15-bit picture id
        if lkrtc_vpx::is_vp9_keyframe(frame) {
            return self.inner.payload(mtu, frame);
        }
        // One byte more per packet: the reference.
        let packets = self.inner.payload(mtu.saturating_sub(1), frame)?;
        Ok(packets
            .into_iter()
            .map(|p| {
                let mut out = bytes::BytesMut::with_capacity(p.len() + 1);
                out.extend_from_slice(&[p[0] | P, p[1], p[2], 1 << 1]);
                out.extend_from_slice(&p[DESCRIPTOR..]);
                out.freeze()
            })
            .collect())
    }
    fn clone_to(&self) -> Box<dyn rtc::rtp::packetizer::Payloader> {
        Box::new(self.clone())
    }
}

/// The SDP codec of `codec` as the default media engine offers it.
fn sdp_codec(codec: VideoCodec) -> rtc::rtp_transceiver::rtp_sender::RTCRtpCodec {
    let (mime, fmtp) = match codec {
        VideoCodec::H264 => ("video/H264", "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f"),
        VideoCodec::Vp9 => ("video/VP9", "profile-id=0"),
        _ => ("video/VP8", ""),
    };
    rtc::rtp_transceiver::rtp_sender::RTCRtpCodec {
        mime_type: mime.to_owned(),
        clock_rate: 90_000,
        channels: 0,
        sdp_fmtp_line: fmtp.to_owned(),
        rtcp_feedback: vec![],
    }
}

/// `LocalVideoTrack`: a [`crate::media::LocalTrack`] fed by a [`VideoSource`].
pub struct LocalVideoTrack;

impl LocalVideoTrack {
    /// A track named `name` carrying `source`'s frames.
    pub fn create(name: &str, source: &VideoSource) -> Result<crate::media::LocalTrack> {
        if source.is_closed() {
            return Err(EngineError::Disposed("the VideoSource is closed".into()));
        }
        Ok(crate::media::LocalTrack::new(name, Arc::new(source.clone())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(w: u32, h: u32) -> VideoFrame {
        VideoFrame::new(VideoBufferType::Rgba, w, h, vec![90; (w * h * 4) as usize]).unwrap()
    }

    #[tokio::test]
    async fn the_queue_drops_the_oldest_and_a_closed_source_refuses_frames() {
        let source = VideoSource::new(64, 48).unwrap();
        // Captured in one go (the sender task cannot run in between on this test's
        // single-threaded runtime): only the newest frames stay.
        for _ in 0..50 {
            source.capture_frame(&frame(64, 48)).unwrap();
        }
        assert_eq!(source.0.state.lock().queue.len(), QUEUE_FRAMES);
        assert_eq!(source.dropped_frames(), 50 - QUEUE_FRAMES as u64);
        let bad = VideoFrame { ty: VideoBufferType::Rgba, width: 64, height: 48, data: vec![0; 5] };
        assert_eq!(source.capture_frame(&bad).unwrap_err().code(), "ERR_INVALID_ARG");
        source.close();
        assert_eq!(source.capture_frame(&frame(64, 48)).unwrap_err().code(), "ERR_DISPOSED");
        assert!(LocalVideoTrack::create("cam", &source).is_err());
        assert_eq!(VideoSource::new(0, 10).err().map(|e| e.code()), Some("ERR_INVALID_ARG"));
    }

    #[test]
    fn vp8_picture_ids_are_always_long() {
        use rtc::rtp::packetizer::Payloader;
        let mut p = LongPictureIds::new();
        let frame = bytes::Bytes::from_static(&[1, 2, 3]);
        let id = |pkt: &bytes::Bytes| (pkt[2] & 0x80 != 0, u16::from_be_bytes([pkt[2] & 0x7f, pkt[3]]));
        assert_eq!(id(&p.payload(1_200, &frame).unwrap()[0]), (true, 128));
        assert_eq!(id(&p.payload(1_200, &frame).unwrap()[0]), (true, 129));
        p.left = 1;
        p.payload(1_200, &frame).unwrap();
        assert_eq!(id(&p.payload(1_200, &frame).unwrap()[0]), (true, 128), "the 15-bit space starts over at 128");
    }

    #[tokio::test]
    async fn capture_timestamps_set_the_rtp_time() {
        let source = VideoSource::new(64, 48).unwrap();
        // Captured in one go, stamped 100 ms apart (µs, arbitrary origin): RTP time follows
        // the stamps, not the (nearly equal) capture instants.
        for stamp in [5_000_000, 5_100_000, 5_200_000] {
            source.capture_frame_at(&frame(64, 48), Some(stamp)).unwrap();
        }
        source.capture_frame_at(&frame(64, 48), Some(5_150_000)).unwrap();
        assert_eq!(source.dropped_frames(), 1, "a stamp going back drops the frame");
        let err = source.capture_frame_at(&frame(64, 48), Some(-5)).unwrap_err();
        assert_eq!(err.code(), "ERR_INVALID_ARG");
        let st = source.0.state.lock();
        let ts: Vec<u32> = st.queue.iter().map(|q| q.timestamp).collect();
        assert_eq!([ts[1].wrapping_sub(ts[0]), ts[2].wrapping_sub(ts[1])], [9_000, 9_000]);
    }

    #[test]
    fn vp9_inter_frames_carry_their_reference_and_keyframes_none() {
        use crate::media::video::vp8::VpxVideoEncoder;
        use crate::media::Encoder;
        use rtc::rtp::packetizer::{Depacketizer, Payloader};
        let settings =
            super::super::h264::EncoderSettings { width: 64, height: 48, max_bitrate: 300_000, max_framerate: 30 };
        let mut enc = VpxVideoEncoder::new(lkrtc_vpx::VpxCodec::Vp9, settings).unwrap();
        let mut payloader = Vp9References::default();
        for i in 0..3u32 {
            let rgba = frame(64, 48);
            let i420 = convert(rgba.ty, 64, 48, &rgba.data, VideoBufferType::I420, false).unwrap();
            let f = enc.encode_frame(&i420, i * 3000).unwrap();
            for p in payloader.payload(200, &f.data).unwrap() {
                assert!(p.len() <= 200);
                let mut d = rtc::rtp::codec::vp9::Vp9Packet::default();
                d.depacketize(&p).unwrap();
                assert_eq!((d.p, d.pdiff.clone()), if i == 0 { (false, vec![]) } else { (true, vec![1]) }, "frame {i}");
            }
        }
    }

    #[tokio::test]
    async fn publish_options_choose_the_codec_and_refuse_what_lkrtc_cannot_send() {
        let source = VideoSource::new(1280, 720).unwrap();
        let track = LocalVideoTrack::create("cam", &source).unwrap();
        assert_eq!(track.kind(), MediaKind::Video);
        assert_eq!(source.codec().mime_type, "video/VP8");
        let h264 = PublishOptions { video_codec: VideoCodec::H264, ..Default::default() };
        source.configure(&h264).unwrap();
        assert_eq!((source.codec().mime_type.as_str(), source.payload_type()), ("video/H264", H264_PT));
        let vp9 = PublishOptions { video_codec: VideoCodec::Vp9, ..Default::default() };
        source.configure(&vp9).unwrap();
        assert_eq!(
            (source.codec().mime_type.as_str(), source.codec().sdp_fmtp_line.as_str()),
            ("video/VP9", "profile-id=0")
        );
        assert_eq!(source.payload_type(), VP9_PT);
        for bad in [
            PublishOptions { video_codec: VideoCodec::Av1, ..Default::default() },
            PublishOptions { max_framerate: Some(f64::NAN), ..Default::default() },
            PublishOptions { max_bitrate: Some(10), ..Default::default() },
        ] {
            assert_eq!(source.configure(&bad).unwrap_err().code(), "ERR_INVALID_ARG", "{bad:?}");
        }
        let mut req = proto::AddTrackRequest::default();
        source.describe(&mut req);
        assert_eq!((req.width, req.height, req.layers.len()), (1280, 720, 1));
        assert_eq!(req.layers[0].bitrate, 1_700_000);
        assert!(source.rids().is_empty());

        source.configure(&PublishOptions { simulcast: true, ..Default::default() }).unwrap();
        assert_eq!(source.rids(), ["q", "h", "f"]);
        let mut req = proto::AddTrackRequest::default();
        source.describe(&mut req);
        let layers: Vec<_> = req.layers.iter().map(|l| (l.quality, l.width, l.height, l.bitrate)).collect();
        use proto::VideoQuality as Q;
        assert_eq!(
            layers,
            [
                (Q::High as i32, 1280, 720, 1_700_000),
                (Q::Medium as i32, 640, 360, 450_000),
                (Q::Low as i32, 320, 180, 160_000)
            ]
        );
    }
}
