//! `LocalAudioTrack`: a named track fed by an [`AudioSource`], publishable to a room.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::MediaStreamTrack;

use super::source::{AudioSource, Sink};
use crate::error::{EngineError, Result};

pub(crate) struct LocalTrackInner {
    name: String,
    source: AudioSource,
    /// What the track is on the wire: its client id (msid) and its RTP output. Renewed when
    /// a track is published again, so the server sees a new track (a peer connection does
    /// not announce a track id it has seen before).
    wire: Mutex<Wire>,
    /// Set once published: the next publish renews `wire`.
    used: AtomicBool,
    /// Shared with the sink: the pacer sends to the track while it has a sid.
    pub(crate) sid: Arc<Mutex<Option<String>>>,
}

struct Wire {
    cid: String,
    sink: Arc<Sink>,
}

/// An audio track this client can publish.
#[derive(Clone)]
pub struct LocalAudioTrack(pub(crate) Arc<LocalTrackInner>);

/// A fresh client id and RTP output for `name`, feeding from nothing yet.
fn new_wire(name: &str, source: &AudioSource, sid: Arc<Mutex<Option<String>>>) -> Wire {
    let ssrc = loop {
        let s = rand_u32();
        if s != 0 {
            break s;
        }
    };
    let cid = format!("LK_{:016x}", ((rand_u32() as u64) << 32) | ssrc as u64);
    let codec = crate::pc::opus_codec(source.encoded_channels());
    let track = MediaStreamTrack::new(
        cid.clone(),
        cid.clone(),
        name.to_string(),
        rtc::rtp_transceiver::rtp_sender::RtpCodecKind::Audio,
        vec![crate::pc::encoding(codec, ssrc)],
    );
    let sink = Sink::with_sid(Arc::new(TrackLocalStaticRTP::new(track)), ssrc, sid);
    Wire { cid, sink }
}

impl LocalAudioTrack {
    /// A track named `name` carrying `source`'s audio.
    pub fn new(name: &str, source: &AudioSource) -> Result<Self> {
        if source.is_closed() {
            return Err(EngineError::Disposed("the AudioSource is closed".into()));
        }
        let sid = Arc::new(Mutex::new(None));
        let wire = new_wire(name, source, sid.clone());
        source.add_sink(wire.sink.clone());
        Ok(Self(Arc::new(LocalTrackInner {
            name: name.into(),
            source: source.clone(),
            wire: Mutex::new(wire),
            used: AtomicBool::new(false),
            sid,
        })))
    }

    fn sink(&self) -> Arc<Sink> {
        self.0.wire.lock().sink.clone()
    }

    /// Client id (the msid track id in SDP).
    pub fn cid(&self) -> String {
        self.0.wire.lock().cid.clone()
    }
    /// Track name.
    pub fn name(&self) -> String {
        self.0.name.clone()
    }
    /// Server sid once published.
    pub fn sid(&self) -> Option<String> {
        self.0.sid.lock().clone()
    }
    /// The source feeding it.
    pub fn source(&self) -> AudioSource {
        self.0.source.clone()
    }
    /// Whether it is muted locally (no audio sent).
    pub fn muted(&self) -> bool {
        self.sink().muted.load(Ordering::Relaxed)
    }
    pub(crate) fn set_muted_flag(&self, muted: bool) {
        self.sink().muted.store(muted, Ordering::Relaxed);
    }
    /// Whether silence goes discontinuous once published (set before publishing).
    pub(crate) fn set_dtx(&self, dtx: bool) {
        self.sink().dtx.store(dtx, Ordering::Relaxed);
    }
    /// Before a publish: a track published before gets a new client id and RTP output
    /// (same source, same mute state), so it reaches the server as a new track.
    pub(crate) fn prepare_publish(&self) {
        if !self.0.used.swap(true, Ordering::AcqRel) {
            return;
        }
        let fresh = new_wire(&self.0.name, &self.0.source, self.0.sid.clone());
        let mut wire = self.0.wire.lock();
        fresh.sink.muted.store(wire.sink.muted.load(Ordering::Relaxed), Ordering::Relaxed);
        self.0.source.remove_sink(&wire.sink);
        self.0.source.add_sink(fresh.sink.clone());
        *wire = fresh;
    }
    /// The server accepted the track: record its sid and start sending (silence until the
    /// app feeds audio).
    pub(crate) fn set_published(&self, sid: String) {
        *self.0.sid.lock() = Some(sid);
        self.0.source.ensure_pacer();
    }
    /// Stops feeding this track from its source.
    pub fn close(&self) {
        self.0.source.remove_sink(&self.sink());
    }
    pub(crate) fn rtp(&self) -> Arc<TrackLocalStaticRTP> {
        self.sink().rtp.clone()
    }
}

fn rand_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
    h.finish() as u32
}
