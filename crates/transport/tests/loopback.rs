//! Two peer connections built by `lkrtc-transport` connect on loopback, driven only by
//! `Negotiation` and LiveKit's candidate JSON: the mechanism both lkrtc sides share.

use std::net::IpAddr;
use std::time::Duration;

use lkrtc_transport::{candidate, data, AnswerCheck, Negotiation, PcEvent, PcOptions, Target};
use tokio::sync::mpsc;
use webrtc::peer_connection::{RTCIceCandidateInit, RTCPeerConnectionState, RTCSessionDescription};

const LOOPBACK: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

fn options(target: Target) -> PcOptions {
    PcOptions {
        include_loopback: true,
        tcp: false,
        audio_level: target == Target::Publisher,
        ..PcOptions::new(target, LOOPBACK)
    }
}

/// Sends a local candidate through LiveKit's JSON to the other side's negotiation and PC.
async fn trickle(
    init: &RTCIceCandidateInit,
    mid: &str,
    to: &mut Negotiation<RTCIceCandidateInit>,
    pc: &dyn webrtc::peer_connection::PeerConnection,
) {
    let c = candidate::from_json(&candidate::to_json(init, mid)).unwrap().unwrap();
    if let Some(c) = to.remote_candidate(c).unwrap() {
        pc.add_ice_candidate(c).await.unwrap();
    }
}

#[tokio::test]
async fn two_peer_connections_connect_and_open_data_channels() {
    let (offer_tx, mut offer_rx) = mpsc::unbounded_channel();
    let (answer_tx, mut answer_rx) = mpsc::unbounded_channel();
    let offerer = lkrtc_transport::build(options(Target::Publisher), offer_tx).await.unwrap();
    let answerer = lkrtc_transport::build(options(Target::Subscriber), answer_tx).await.unwrap();
    let (reliable, _lossy) = data::open(offerer.as_ref()).await.unwrap();
    let open = data::watch_open(reliable);

    let mut offering: Negotiation<RTCIceCandidateInit> = Negotiation::new(16);
    let mut answering: Negotiation<RTCIceCandidateInit> = Negotiation::new(16);
    assert!(offering.want_offer());
    let offer = offerer.create_offer(None).await.unwrap();
    offerer.set_local_description(offer).await.unwrap();
    let sdp = offerer.local_description().await.unwrap().sdp;
    let id = offering.offer_created(&sdp);
    assert_eq!(id, 1);

    answerer.set_remote_description(RTCSessionDescription::offer(sdp).unwrap()).await.unwrap();
    let answer = answerer.create_answer(None).await.unwrap();
    answerer.set_local_description(answer).await.unwrap();
    let answer_sdp = answerer.local_description().await.unwrap().sdp;
    assert!(answering.answer_created(&answer_sdp).is_empty());

    assert_eq!(offering.check_answer(id), AnswerCheck::Apply);
    offerer.set_remote_description(RTCSessionDescription::answer(answer_sdp).unwrap()).await.unwrap();
    assert!(offering.answer_applied().candidates.is_empty());

    // Trickle each side's candidates to the other as LiveKit JSON until both connect.
    let (mut offerer_up, mut answerer_up, mut labels) = (false, false, Vec::new());
    let run = async {
        while !(offerer_up && answerer_up && labels.len() == 2) {
            tokio::select! {
                Some(ev) = offer_rx.recv() => match ev {
                    PcEvent::Candidate(Target::Publisher, init) => {
                        trickle(&init, offering.first_mid(), &mut answering, answerer.as_ref()).await;
                    }
                    PcEvent::State(Target::Publisher, RTCPeerConnectionState::Connected) => offerer_up = true,
                    _ => {}
                },
                Some(ev) = answer_rx.recv() => match ev {
                    PcEvent::Candidate(Target::Subscriber, init) => {
                        trickle(&init, answering.first_mid(), &mut offering, offerer.as_ref()).await;
                    }
                    PcEvent::State(Target::Subscriber, RTCPeerConnectionState::Connected) => answerer_up = true,
                    PcEvent::DataChannel(Target::Subscriber, dc) => labels.push(dc.label().await.unwrap()),
                    _ => {}
                },
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), run).await.expect("the peer connections did not connect");
    labels.sort();
    assert_eq!(labels, [data::LOSSY, data::RELIABLE]);
    let mut open = open;
    tokio::time::timeout(Duration::from_secs(5), open.wait_for(|o| *o)).await.unwrap().unwrap();
    offerer.close().await.unwrap();
    answerer.close().await.unwrap();
}
