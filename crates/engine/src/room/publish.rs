//! Publishing local tracks: `add_track`, the server's `track_published`, the transceiver,
//! and unpublishing.

use livekit_protocol as proto;
use proto::signal_request::Message as Req;
use tokio::sync::oneshot;

use super::{RoomTask, PUBLISH_TIMEOUT};
use crate::audio::LocalAudioTrack;
use crate::error::{bounded, EngineError, PublishError, Result};
use crate::events::RoomEvent;
use crate::objects::{LocalTrackPublication, PublishOptions};
use crate::signal;

impl RoomTask {
    pub(super) async fn publish_track(
        &mut self,
        track: LocalAudioTrack,
        options: PublishOptions,
        done: oneshot::Sender<Result<LocalTrackPublication>>,
    ) {
        if track.source().is_closed() {
            let _ = done.send(Err(PublishError::SourceClosed.into()));
            return;
        }
        let pending = self.pending_publishes.values().any(|(t, _)| std::sync::Arc::ptr_eq(&t.0, &track.0));
        if track.sid().is_some() || pending {
            let _ = done.send(Err(PublishError::AlreadyPublished.into()));
            return;
        }
        track.prepare_publish();
        let cid = track.cid();
        if options.red {
            tracing::debug!("RED is not negotiated by lkrtc; the track is published without it");
        }
        track.set_dtx(options.dtx);
        #[allow(deprecated)]
        let req = proto::AddTrackRequest {
            cid: cid.clone(),
            name: track.name(),
            r#type: proto::TrackType::Audio as i32,
            source: options.source.to_proto(),
            disable_dtx: !options.dtx,
            // lkrtc sends plain Opus whatever `red` asks (RED is not negotiated).
            disable_red: true,
            stereo: track.source().encoded_channels() == 2,
            stream: options.stream,
            ..Default::default()
        };
        if let Err(e) = signal::send(&mut self.ws, Req::AddTrack(req)).await {
            let _ = done.send(Err(e));
            return;
        }
        let (tx, rx) = oneshot::channel();
        self.pending_publishes.insert(cid, (track, tx));
        tokio::spawn(async move {
            let result = match bounded("the server to accept the track", PUBLISH_TIMEOUT, rx).await {
                Ok(Ok(r)) => r,
                Ok(Err(_)) => Err(EngineError::Disconnected),
                Err(e) => Err(e),
            };
            let _ = done.send(result);
        });
    }

    pub(super) async fn on_track_published(&mut self, t: proto::TrackPublishedResponse) {
        let Some((track, done)) = self.pending_publishes.remove(&t.cid) else { return };
        let Some(info) = t.track else {
            let _ = done.send(Err(EngineError::Protocol("track_published without track info".into())));
            return;
        };
        if done.is_closed() {
            return; // the caller gave up (timeout)
        }
        let init = webrtc::rtp_transceiver::RTCRtpTransceiverInit {
            direction: webrtc::rtp_transceiver::RTCRtpTransceiverDirection::Sendonly,
            streams: vec![],
            send_encodings: vec![],
        };
        let sender = async {
            let tr =
                self.publisher.add_transceiver_from_track(track.rtp(), Some(init)).await.map_err(EngineError::rtc)?;
            tr.sender().await.map_err(EngineError::rtc)?.ok_or_else(|| EngineError::rtc("transceiver without sender"))
        }
        .await;
        let sender = match sender {
            Ok(s) => s,
            Err(e) => {
                let _ = done.send(Err(e));
                return;
            }
        };
        track.set_published(info.sid.clone());
        let publication = LocalTrackPublication::new(info, track, sender);
        self.shared.local.0.publications.lock().push(publication.clone());
        if let Err(e) = self.negotiate_publisher().await {
            tracing::warn!(error = %e, "publisher renegotiation failed");
        }
        self.emit(RoomEvent::LocalTrackPublished { publication: publication.clone() });
        let _ = done.send(Ok(publication));
    }

    pub(super) async fn unpublish_track(&mut self, sid: &str) -> Result<()> {
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
            self.publisher.remove_track(&sender).await.map_err(EngineError::rtc)?;
        }
        *publication.0.track.0.sid.lock() = None;
        self.negotiate_publisher().await?;
        self.emit(RoomEvent::LocalTrackUnpublished { publication });
        Ok(())
    }
}
