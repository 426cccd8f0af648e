//! Subscriber feedback through the server (issue 10, RTCP): keyframe requests, NACKs and REMB
//! from a subscriber reach the publisher or are answered; malformed RTCP is ignored and
//! forwarding goes on; video from a participant that may not publish goes nowhere.
//!
//! Both participants are raw `webrtc` peer connections (tests/common/peer.rs) sending and
//! reading RTP packets directly: sequence numbers and RTCP are under the test's control.

mod common;

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::peer::{join, Peer};
use livekit_api::access_token::{AccessToken, VideoGrants};
use lkrtc_server::proto::signal_response::Message as Resp;
use lkrtc_server::Server;
use rtc::rtcp::payload_feedbacks::full_intra_request::{FirEntry, FullIntraRequest};
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtcp::payload_feedbacks::receiver_estimated_maximum_bitrate::ReceiverEstimatedMaximumBitrate;
use rtc::rtcp::raw_packet::RawPacket;
use rtc::rtcp::transport_feedbacks::transport_layer_nack::{nack_pairs_from_sequence_numbers, TransportLayerNack};
use rtc::rtp_transceiver::rtp_sender::RTCRtpCodec;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};

const ROOM: &str = "feedback";
/// Never sent by the publisher: a gap the subscriber NACKs, relayed upstream.
const SKIPPED: u16 = 40;

fn jwt(identity: &str, can_publish: bool) -> String {
    let grants =
        VideoGrants { room_join: true, room: ROOM.into(), can_publish: Some(can_publish), ..Default::default() };
    AccessToken::with_api_key("devkey", "secret").with_identity(identity).with_grants(grants).to_jwt().unwrap()
}

fn vp8() -> RTCRtpCodec {
    RTCRtpCodec { mime_type: "video/VP8".into(), clock_rate: 90_000, ..Default::default() }
}

async fn joined(server: &Server, identity: &str, can_publish: bool) -> Peer {
    let mut peer = join(server, &jwt(identity, can_publish)).await;
    peer.wait_for(|r| matches!(r, Resp::Join(_)).then_some(())).await;
    peer
}

/// Writes a packet every 5 ms (VP8's payload type 96, `ssrc`), skipping [`SKIPPED`]: each a
/// one-packet keyframe, or (`keyframes` false) a delta frame.
fn send_video(local: Arc<TrackLocalStaticRTP>, ssrc: u32, keyframes: bool) {
    tokio::spawn(async move {
        for seq in 0u16.. {
            let sent = seq == SKIPPED || local.write_rtp(common::peer::vp8_packet(ssrc, seq, keyframes)).await.is_ok();
            if !sent && seq > 2_000 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
}

/// Feedback seen by the publisher, by kind.
#[derive(Default)]
struct Seen {
    pli: AtomicU64,
    nack: Mutex<Vec<u16>>,
    remb: Mutex<Vec<f32>>,
}

fn watch_feedback(local: Arc<TrackLocalStaticRTP>) -> Arc<Seen> {
    let seen = Arc::new(Seen::default());
    let out = seen.clone();
    tokio::spawn(async move {
        while let Some(ev) = local.poll().await {
            let TrackLocalEvent::OnRtcpPacket(packets) = ev else { continue };
            for p in packets {
                if p.as_any().is::<PictureLossIndication>() {
                    out.pli.fetch_add(1, Relaxed);
                } else if let Some(nack) = p.as_any().downcast_ref::<TransportLayerNack>() {
                    out.nack.lock().unwrap().extend(nack.nacks.iter().flat_map(|n| n.packet_list()));
                } else if let Some(remb) = p.as_any().downcast_ref::<ReceiverEstimatedMaximumBitrate>() {
                    out.remb.lock().unwrap().push(remb.bitrate);
                }
            }
        }
    });
    seen
}

/// Sequence numbers received on `track`, in arrival order.
fn read_rtp(track: Arc<dyn TrackRemote>) -> Arc<Mutex<Vec<u16>>> {
    let seqs = Arc::new(Mutex::new(Vec::new()));
    let out = seqs.clone();
    tokio::spawn(async move {
        while let Some(ev) = track.poll().await {
            match ev {
                TrackRemoteEvent::OnRtpPacket(p) => out.lock().unwrap().push(p.header.sequence_number),
                TrackRemoteEvent::OnEnded => break,
                _ => {}
            }
        }
    });
    seqs
}

async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A publisher sending video (feedback watched) and a viewer reading it.
struct Flow {
    server: Server,
    before: lkrtc_server::VideoStats,
    seen: Arc<Seen>,
    track: Arc<dyn TrackRemote>,
    down_ssrc: u32,
    seqs: Arc<Mutex<Vec<u16>>>,
    _peers: (Peer, Peer),
}

async fn flow() -> Flow {
    let server = common::server().await;
    let mut cam = joined(&server, "cam", true).await;
    let mut viewer = joined(&server, "viewer", false).await;
    let before = server.stats().video;
    let local = cam.publish_video("cam", vp8(), 1111).await;
    let seen = watch_feedback(local.clone());
    send_video(local, 1111, true);
    let track = viewer.next_track().await;
    let down_ssrc = track.ssrcs().await[0];
    let seqs = read_rtp(track.clone());
    Flow { server, before, seen, track, down_ssrc, seqs, _peers: (cam, viewer) }
}

fn raw(bytes: &[u8]) -> Box<dyn rtc::rtcp::Packet> {
    Box::new(RawPacket(Bytes::copy_from_slice(bytes)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriber_feedback_reaches_the_publisher_and_junk_is_ignored() {
    let Flow { server, before, seen, track, down_ssrc, seqs, _peers } = flow().await;
    until("packets at the viewer", || seqs.lock().unwrap().len() > 60).await;
    assert!(!seqs.lock().unwrap().contains(&SKIPPED));

    // Past the keyframe burst that follows a subscription: what the publisher sees next
    // comes from the viewer.
    tokio::time::sleep(Duration::from_millis(3_200)).await;
    let plis = seen.pli.load(Relaxed);
    track.write_rtcp(vec![Box::new(PictureLossIndication { sender_ssrc: 7, media_ssrc: down_ssrc })]).await.unwrap();
    until("the PLI relayed to the publisher", || seen.pli.load(Relaxed) > plis).await;
    // A FIR within the throttle: counted, relayed as a PLI later at most.
    let fir = FullIntraRequest {
        sender_ssrc: 7,
        media_ssrc: down_ssrc,
        fir: vec![FirEntry { ssrc: down_ssrc, sequence_number: 1 }],
    };
    track.write_rtcp(vec![Box::new(fir)]).await.unwrap();

    // NACK a recent packet: the server sends it again (the viewer's SRTP replay check drops
    // the copy of a packet it already has, so the server's count is what shows it).
    let last = *seqs.lock().unwrap().last().unwrap();
    let nacks = nack_pairs_from_sequence_numbers(&[last]);
    track
        .write_rtcp(vec![Box::new(TransportLayerNack { sender_ssrc: 7, media_ssrc: down_ssrc, nacks })])
        .await
        .unwrap();
    let resent = || server.stats().video.retransmissions > before.retransmissions;
    until("the NACKed packet resent", resent).await;

    // REMB: an estimate above what the subscriber is sent (~26 kbit/s here) asks nothing of
    // the publisher; one below it (congestion) reaches the publisher (the only subscriber's
    // is the minimum). A complete one-second window of sending is measured first.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let remb = ReceiverEstimatedMaximumBitrate { sender_ssrc: 7, bitrate: 5_000_000.0, ssrcs: vec![down_ssrc] };
    track.write_rtcp(vec![Box::new(remb)]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(seen.remb.lock().unwrap().is_empty(), "an estimate above the sent rate is not passed on");
    let remb = ReceiverEstimatedMaximumBitrate { sender_ssrc: 7, bitrate: 10_000.0, ssrcs: vec![down_ssrc] };
    track.write_rtcp(vec![Box::new(remb)]).await.unwrap();
    until("the REMB passed on", || seen.remb.lock().unwrap().contains(&10_000.0)).await;

    // Junk: unknown type, a length past the end, a truncated PLI, a compound cut short,
    // feedback about SSRCs nobody sends.
    let junk = [
        raw(&[0x80, 210, 0, 1, 0, 0, 0, 1]),
        raw(&[0x81, 201, 0, 40, 0, 0, 0, 1]),
        raw(&[0x81, 206, 0, 1, 0, 0, 0, 7]),
        raw(&[0x80, 200, 0, 6, 0, 0, 0, 7, 1, 2, 3, 4]),
    ];
    for packet in junk {
        track.write_rtcp(vec![packet]).await.unwrap();
    }
    let stranger = down_ssrc.wrapping_add(1);
    let nacks = nack_pairs_from_sequence_numbers(&[1, 2, 3]);
    track
        .write_rtcp(vec![
            Box::new(PictureLossIndication { sender_ssrc: 7, media_ssrc: stranger }),
            Box::new(TransportLayerNack { sender_ssrc: 7, media_ssrc: stranger, nacks }),
        ])
        .await
        .unwrap();
    let n = seqs.lock().unwrap().len();
    until("forwarding after the junk", || seqs.lock().unwrap().len() > n + 50).await;

    let after = server.stats().video;
    assert!(after.packets_in - before.packets_in > 100, "{after:?}");
    assert!(after.packets_out - before.packets_out > 100, "{after:?}");
    assert!(after.keyframe_requests_received - before.keyframe_requests_received >= 2, "PLI and FIR: {after:?}");
    assert!(after.keyframe_requests_sent > before.keyframe_requests_sent, "{after:?}");
    assert!(after.nacks_received > before.nacks_received, "{after:?}");
    assert!(after.retransmissions > before.retransmissions, "{after:?}");
    assert!(after.rembs_sent > before.rembs_sent, "{after:?}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_packet_the_server_never_had_is_asked_of_the_publisher() {
    let Flow { server, before, seen, track, down_ssrc, seqs, _peers } = flow().await;
    // The viewer joined before the first packet: it saw the gap at SKIPPED go by.
    until("packets past the gap", || seqs.lock().unwrap().iter().any(|s| *s > SKIPPED + 5)).await;
    let nacks = nack_pairs_from_sequence_numbers(&[SKIPPED]);
    track
        .write_rtcp(vec![Box::new(TransportLayerNack { sender_ssrc: 7, media_ssrc: down_ssrc, nacks })])
        .await
        .unwrap();
    until("the relayed NACK counted", || server.stats().video.nacks_relayed > before.nacks_relayed).await;
    until("the publisher asked for the gap", || seen.nack.lock().unwrap().contains(&SKIPPED)).await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn video_from_a_participant_that_may_not_publish_goes_nowhere() {
    let server = common::server().await;
    let mut viewer = joined(&server, "viewer", false).await;
    let sneak = joined(&server, "sneak", false).await;
    // No AddTrack (it would be refused): an offer with a video m-line, then RTP on it.
    let local = Arc::new(TrackLocalStaticRTP::new(rtc::media_stream::MediaStreamTrack::new(
        "s".into(),
        "v".into(),
        "v".into(),
        rtc::rtp_transceiver::rtp_sender::RtpCodecKind::Video,
        vec![lkrtc_transport::codec::encoding(vp8(), 3333)],
    )));
    sneak.publisher.add_track(local.clone()).await.unwrap();
    let offer = sneak.publisher.create_offer(None).await.unwrap();
    sneak.publisher.set_local_description(offer).await.unwrap();
    let sdp = sneak.publisher.local_description().await.unwrap().sdp;
    sneak.send(lkrtc_server::proto::signal_request::Message::Offer(lkrtc_server::proto::SessionDescription {
        r#type: "offer".into(),
        sdp,
        id: 1,
        ..Default::default()
    }));
    send_video(local, 3333, true);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(viewer.tracks.try_recv().is_err(), "the viewer got a track");
    let published = server.stats();
    assert_eq!(published.participants, 2);
    server.shutdown().await;
}

/// A publisher that never sends a keyframe: its subscriber gets nothing from it (nothing it
/// could decode), the publisher is asked for keyframes at a bounded rate, and another
/// publisher's video keeps reaching the same subscriber.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publisher_without_keyframes_gets_bounded_requests_and_others_keep_flowing() {
    let server = common::server().await;
    let mut stuck = joined(&server, "stuck", true).await;
    let mut viewer = joined(&server, "viewer", false).await;
    let local = stuck.publish_video("stuck", vp8(), 4444).await;
    let seen = watch_feedback(local.clone());
    send_video(local, 4444, false);

    let mut good = joined(&server, "good", true).await;
    let local = good.publish_video("good", vp8(), 5555).await;
    send_video(local, 5555, true);
    // The viewer's stack announces a remote track on its first packet: the only one it sees
    // is the good publisher's.
    let track = viewer.next_track().await;
    let good_seqs = read_rtp(track.clone());
    until("the other publisher's packets at the viewer", || good_seqs.lock().unwrap().len() > 60).await;

    let before = seen.pli.load(Relaxed);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let asked = seen.pli.load(Relaxed) - before;
    // Two publishers, one track at the viewer: delta frames with no keyframe before them
    // are not forwarded.
    assert!(viewer.tracks.try_recv().is_err(), "the stuck publisher's video reached the viewer");
    assert!(asked >= 1, "the publisher is asked for a keyframe");
    // One request per 500 ms per layer: four in 2 s, one more at the edges.
    assert!(asked <= 5, "keyframe requests bounded in rate: {asked} in 2 s");
    assert!(good_seqs.lock().unwrap().len() > 300, "the other publisher kept flowing");
    drop((stuck, good, viewer));
}
