//! Publish/unpublish churn does not grow a subscriber's peer connection (issue 11): the
//! server sends each new subscription on the m-section of an ended one of the same kind
//! (as livekit-server does for clients of protocol > 3), so the subscriber's offers keep
//! the size of what is subscribed at once. Without that, each cycle added an m-section
//! that the `webrtc` crate keeps for the connection's life.
//!
//! Both participants are raw `webrtc` peer connections (tests/common/peer.rs).

mod common;

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use common::peer::{join, Peer};
use livekit_api::access_token::{AccessToken, VideoGrants};
use lkrtc_server::proto::{self, signal_request::Message as Req, signal_response::Message as Resp};
use lkrtc_server::Server;
use rtc::rtp_transceiver::rtp_sender::RTCRtpCodec;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::TrackLocal;

const ROOM: &str = "reuse";
/// Enough cycles for growth to show (one m-section each without reuse).
const CYCLES: u32 = 40;

fn jwt(identity: &str) -> String {
    let grants = VideoGrants { room_join: true, room: ROOM.into(), ..Default::default() };
    AccessToken::with_api_key("devkey", "secret").with_identity(identity).with_grants(grants).to_jwt().unwrap()
}

async fn joined(server: &Server, identity: &str) -> Peer {
    let mut peer = join(server, &jwt(identity)).await;
    peer.wait_for(|r| matches!(r, Resp::Join(_)).then_some(())).await;
    peer
}

/// Writes a one-packet VP8 keyframe every 10 ms until `stop`.
fn send_video(local: Arc<TrackLocalStaticRTP>, ssrc: u32, stop: Arc<AtomicBool>) {
    tokio::spawn(async move {
        for seq in 0u16.. {
            if stop.load(Relaxed) {
                return;
            }
            let _ = local.write_rtp(common::peer::vp8_packet(ssrc, seq, true)).await;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
}

/// Waits until the publisher's last offer was answered (one offer at a time).
async fn stable(cam: &Peer) {
    for _ in 0..500 {
        if cam.publisher.pending_local_description().await.is_none() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the server did not answer the publisher's offer");
}

/// The publisher stops sending `cid` and offers again.
async fn unpublish(cam: &Peer, cid: &str, id: u32) {
    stable(cam).await;
    for sender in cam.publisher.get_senders().await {
        if sender.track().track_id().await == cid {
            cam.publisher.remove_track(&sender).await.unwrap();
        }
    }
    let offer = cam.publisher.create_offer(None).await.unwrap();
    cam.publisher.set_local_description(offer).await.unwrap();
    let sdp = cam.publisher.local_description().await.unwrap().sdp;
    cam.send(Req::Offer(proto::SessionDescription { r#type: "offer".into(), sdp, id, ..Default::default() }));
}

/// Video m-sections in the subscriber's last offer from the server.
async fn video_sections(viewer: &Peer) -> usize {
    viewer.subscriber.remote_description().await.unwrap().sdp.matches("m=video ").count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn churn_reuses_the_subscribers_m_sections() {
    let server = common::server().await;
    let mut cam = joined(&server, "cam").await;
    let mut viewer = joined(&server, "viewer").await;
    let vp8 = RTCRtpCodec { mime_type: "video/VP8".into(), clock_rate: 90_000, ..Default::default() };
    let mut most = 0;
    for i in 0..CYCLES {
        let cid = format!("cam-{i}");
        let ssrc = 1_000 + i;
        stable(&cam).await;
        let local = cam.publish_video(&cid, vp8.clone(), ssrc).await;
        let stop = Arc::new(AtomicBool::new(false));
        send_video(local, ssrc, stop.clone());
        let track = viewer.next_track().await;
        assert_eq!(track.stream_id().await.split('|').count(), 2, "cycle {i}: a LiveKit stream id");
        stop.store(true, Relaxed);
        unpublish(&cam, &cid, 2 * i + 2).await;
        // The viewer learns it from the publisher's next update without the track.
        viewer
            .wait_for(|r| match r {
                Resp::Update(u) => {
                    u.participants.iter().any(|p| p.identity == "cam" && p.tracks.is_empty()).then_some(())
                }
                _ => None,
            })
            .await;
        most = most.max(video_sections(&viewer).await);
    }
    // A new subscription waits for the client's answer that ended the previous one before it
    // takes its m-section, so two may alternate; never one per cycle.
    assert!(most <= 2, "{most} video m-sections after {CYCLES} publish/unpublish cycles");
}
