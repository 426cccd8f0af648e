//! Publishing local tracks: `AddTrack`, the server's `TrackPublished`, the transceiver,
//! unpublishing and muting.

use std::sync::Arc;
use std::time::Instant;

use livekit_protocol as proto;
use proto::signal_request::Message as Req;
use tokio::sync::oneshot;
use webrtc::rtp_transceiver::RtpSender;

use super::{Action, PendingPublish, Session, PUBLISH_TIMEOUT};
use crate::error::{EngineError, PublishError, Result};
use crate::events::RoomEvent;
use crate::media::LocalTrack;
use crate::objects::LocalTrackPublication;
use crate::types::PublishOptions;

/// What `AddTrack` says about a track besides its kind.
struct Announce {
    source: i32,
    dtx: bool,
    stream: String,
    muted: bool,
}

impl Session {
    pub(super) fn publish_track(
        &mut self,
        now: Instant,
        track: LocalTrack,
        options: PublishOptions,
        done: oneshot::Sender<Result<String>>,
    ) {
        if track.source().is_closed() {
            let _ = done.send(Err(PublishError::SourceClosed.into()));
            return;
        }
        let pending = self.pending_publishes.values().any(|p| Arc::ptr_eq(&p.track.0, &track.0));
        if track.sid().is_some() || pending {
            let _ = done.send(Err(PublishError::AlreadyPublished.into()));
            return;
        }
        if let Err(e) = track.source().configure(&options) {
            let _ = done.send(Err(e));
            return;
        }
        if options.red {
            tracing::debug!("RED is not negotiated by lkrtc; the track is published without it");
        }
        track.set_dtx(options.dtx);
        let announce =
            Announce { source: options.source.to_proto(), dtx: options.dtx, stream: options.stream, muted: false };
        self.add_track(now, track, announce, done, None);
    }

    /// Announces `track` to the server (`AddTrack`) and waits for its acceptance; a
    /// `republish` of an existing publication keeps that publication (new sid and sender).
    fn add_track(
        &mut self,
        now: Instant,
        track: LocalTrack,
        a: Announce,
        done: oneshot::Sender<Result<String>>,
        republish: Option<LocalTrackPublication>,
    ) {
        track.prepare_publish();
        let cid = track.cid();
        #[allow(deprecated)]
        let mut req = proto::AddTrackRequest {
            cid: cid.clone(),
            name: track.name(),
            source: a.source,
            disable_dtx: !a.dtx,
            // lkrtc sends plain Opus whatever `red` asks (RED is not negotiated).
            disable_red: true,
            stream: a.stream,
            muted: a.muted,
            ..Default::default()
        };
        track.describe(&mut req); // type, and what the kind adds (stereo...)
        self.describe_encryption(&mut req);
        self.send(Req::AddTrack(req));
        let deadline = now + PUBLISH_TIMEOUT;
        self.pending_publishes.insert(cid, PendingPublish { track, done, deadline, accepted: None, republish });
    }

    /// After a rejoin: every local publication is announced again on the new connection.
    pub(super) fn republish_all(&mut self, now: Instant) {
        for publication in self.shared.local.track_publications() {
            *publication.0.sender.lock() = None; // it belonged to the old peer connection
            publication.0.subscribed.send_replace(false);
            let info = publication.info();
            #[allow(deprecated)] // the field the server echoes from `AddTrack`
            let a = Announce { source: info.source, dtx: !info.disable_dtx, stream: info.stream, muted: info.muted };
            let (done, _) = oneshot::channel();
            self.add_track(now, publication.track(), a, done, Some(publication));
        }
    }

    /// The server accepted a track: add its transceiver (the driver reports back).
    pub(super) fn on_track_published(&mut self, t: proto::TrackPublishedResponse) {
        let Some(pending) = self.pending_publishes.get_mut(&t.cid) else { return };
        if pending.accepted.is_some() {
            return; // a repeated answer
        }
        let Some(info) = t.track else {
            if let Some(p) = self.pending_publishes.remove(&t.cid) {
                let _ = p.done.send(Err(EngineError::Protocol("track_published without track info".into())));
            }
            return;
        };
        pending.accepted = Some(info);
        let track = pending.track.clone();
        self.act(Action::AddTransceiver { cid: t.cid, track });
    }

    pub(super) fn on_transceiver_added(&mut self, cid: String, sender: Result<Arc<dyn RtpSender>>) {
        let Some(p) = self.pending_publishes.remove(&cid) else {
            // The caller's wait expired meanwhile: nothing uses the transceiver.
            if let Ok(sender) = sender {
                self.act(Action::RemoveSender(sender));
            }
            return;
        };
        let (sender, info) = match (sender, p.accepted) {
            (Ok(sender), Some(info)) => (sender, info),
            (Err(e), _) => {
                let _ = p.done.send(Err(e));
                return;
            }
            (Ok(_), None) => return, // cannot happen: the transceiver follows acceptance
        };
        self.encrypt_track(&p.track, &info.sid);
        p.track.set_published(info.sid.clone());
        if let Some(publication) = p.republish {
            let previous_sid = publication.sid();
            publication.set_sid(&info.sid);
            *publication.0.info.lock() = info;
            *publication.0.sender.lock() = Some(sender);
            self.negotiate_publisher();
            self.emit(RoomEvent::LocalTrackRepublished { publication, previous_sid });
            return;
        }
        let publication = LocalTrackPublication::new(info, p.track, sender);
        self.shared.local.0.publications.lock().push(publication.clone());
        self.negotiate_publisher();
        let sid = publication.sid();
        self.emit(RoomEvent::LocalTrackPublished { publication });
        let _ = p.done.send(Ok(sid));
    }

    pub(super) fn unpublish_track(&mut self, sid: &str) -> Result<()> {
        let publication = {
            let mut pubs = self.shared.local.0.publications.lock();
            let pos = pubs.iter().position(|p| p.sid() == sid);
            pos.map(|i| pubs.remove(i))
        };
        let Some(publication) = publication else {
            return Err(EngineError::InvalidArgument(format!("no published track with sid {sid}")));
        };
        let sender = publication.0.sender.lock().take();
        if let Some(sender) = sender {
            self.act(Action::RemoveSender(sender));
        }
        *publication.0.track.0.sid.lock() = None;
        self.negotiate_publisher();
        self.emit(RoomEvent::LocalTrackUnpublished { publication });
        Ok(())
    }

    pub(super) fn mute_track(&mut self, sid: String, muted: bool) -> Result<()> {
        let publication = self.shared.local.track_publications().into_iter().find(|p| p.sid() == sid);
        let Some(p) = publication else {
            return Err(EngineError::InvalidArgument(format!("no published track {sid}")));
        };
        p.0.track.set_muted_flag(muted);
        p.0.info.lock().muted = muted;
        self.send(Req::Mute(proto::MuteTrackRequest { sid, muted }));
        Ok(())
    }
}
