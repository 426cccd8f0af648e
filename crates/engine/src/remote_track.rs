//! `RemoteTrack`: a subscribed track of another participant and its receive side (audio's
//! `Receiver` or video's `VideoReceiver`), which its streams read from.

use std::sync::Arc;

use livekit_protocol as proto;
use parking_lot::Mutex;
use webrtc::media_stream::track_remote::TrackRemote;

use crate::error::{EngineError, Result};
use crate::types::{next_id, TrackKind};

pub(crate) struct RemoteTrackInner {
    id: u64,
    sid: String,
    name: String,
    kind: TrackKind,
    pub(crate) rtp: Arc<dyn TrackRemote>,
    muted: Mutex<bool>,
    /// Publisher identity and frame transform of the receive pipeline.
    meta: Arc<crate::media::TrackMeta>,
    receiver: Receiver,
}

/// The receive side of a remote track, by kind.
enum Receiver {
    Audio(Arc<crate::audio::stream::Receiver>),
    Video(Arc<crate::media::video::VideoReceiver>),
}

/// A subscribed remote track (media arrives on it).
#[derive(Clone)]
pub struct RemoteTrack(pub(crate) Arc<RemoteTrackInner>);

impl RemoteTrack {
    /// The track `info` of `publisher`, received on `rtp`; its receive pipeline starts, with
    /// `transform` (decryption) installed before the first frame.
    pub(crate) fn new(
        publisher: &str,
        info: &proto::TrackInfo,
        rtp: Arc<dyn TrackRemote>,
        transform: Option<Arc<dyn crate::media::FrameTransform>>,
    ) -> Self {
        let kind = TrackKind::from_proto(info.r#type);
        let codec = if info.mime_type.is_empty() && kind == TrackKind::Audio { "audio/opus" } else { &info.mime_type };
        let meta = Arc::new(crate::media::TrackMeta::new(
            crate::media::Direction::Receive,
            kind,
            codec,
            Some(info.sid.clone()),
            publisher,
        ));
        meta.set_transform(transform);
        Self(Arc::new(RemoteTrackInner {
            id: next_id(),
            sid: info.sid.clone(),
            name: info.name.clone(),
            kind,
            receiver: match kind {
                TrackKind::Audio => Receiver::Audio(crate::audio::stream::Receiver::start(rtp.clone(), meta.clone())),
                TrackKind::Video => {
                    Receiver::Video(crate::media::video::VideoReceiver::start(rtp.clone(), meta.clone(), codec))
                }
            },
            meta,
            rtp,
            muted: Mutex::new(info.muted),
        }))
    }
    /// Installs (or with `None` removes) the transform every received frame goes through
    /// before it is decoded (end-to-end decryption).
    pub fn set_frame_transform(&self, transform: Option<Arc<dyn crate::media::FrameTransform>>) {
        self.0.meta.set_transform(transform);
    }
    /// A stream of this track's audio as `sample_rate`/`channels` in `frame_ms` frames.
    pub fn audio_stream(&self, sample_rate: u32, channels: u32, frame_ms: u32) -> Result<crate::audio::AudioStream> {
        let Receiver::Audio(receiver) = &self.0.receiver else {
            return Err(EngineError::InvalidArgument("not an audio track".into()));
        };
        crate::audio::AudioStream::attach(receiver, sample_rate, channels, frame_ms)
    }
    /// A stream of this track's decoded pictures as `format` frames.
    pub fn video_stream(
        &self,
        format: crate::media::video::VideoBufferType,
    ) -> Result<crate::media::video::VideoStream> {
        let Receiver::Video(receiver) = &self.0.receiver else {
            return Err(EngineError::InvalidArgument("not a video track".into()));
        };
        crate::media::video::VideoStream::attach(receiver, format)
    }
    /// Frames decoded and keyframes requested so far (video; `None` for audio).
    pub fn video_stats(&self) -> Option<crate::media::video::VideoReceiveStats> {
        match &self.0.receiver {
            Receiver::Video(r) => Some(r.stats()),
            Receiver::Audio(_) => None,
        }
    }
    /// The track stopped existing for us: streams on it end.
    pub(crate) fn end(&self) {
        match &self.0.receiver {
            Receiver::Audio(r) => r.end(),
            Receiver::Video(r) => r.end(),
        }
    }
    /// Unique object id (stable for the object's life).
    pub fn id(&self) -> u64 {
        self.0.id
    }
    /// Track sid (`TR_`).
    pub fn sid(&self) -> String {
        self.0.sid.clone()
    }
    /// Track name.
    pub fn name(&self) -> String {
        self.0.name.clone()
    }
    /// Audio or video.
    pub fn kind(&self) -> TrackKind {
        self.0.kind
    }
    /// Whether the publisher muted it.
    pub fn muted(&self) -> bool {
        *self.0.muted.lock()
    }
    pub(crate) fn set_muted(&self, m: bool) {
        *self.0.muted.lock() = m;
    }
    /// The underlying RTP receiver (for decoders).
    pub fn rtp(&self) -> Arc<dyn TrackRemote> {
        self.0.rtp.clone()
    }
}
