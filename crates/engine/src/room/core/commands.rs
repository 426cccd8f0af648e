//! Calls from the handles (`Command`s), in the order they were made.

use std::time::{Duration, Instant};

use livekit_protocol as proto;
use proto::signal_request::Message as Req;

use super::{Output, PendingCall, PendingRequest, Sent, Session, Stop, REQUEST_TIMEOUT};
use crate::events::RoomEvent;
use crate::objects::{RemoteParticipant, RemoteTrackPublication};
use crate::room::Command;
use crate::rpc::{RpcCall, RpcError, RpcErrorCode};
use crate::types::DataKind;

impl Session {
    pub(super) fn on_command(&mut self, now: Instant, cmd: Command) {
        match cmd {
            Command::Disconnect { done } => self.stop(Stop::Local(done)),
            Command::GetStats { done } => self.out.push_back(Output::Stats(done)),
            Command::Simulate { scenario, done } => {
                let _ = done.send(self.simulate(now, scenario));
            }
            Command::EncryptionState { identity, track_sid, state } => {
                self.emit(RoomEvent::EncryptionStateChanged { participant_identity: identity, track_sid, state })
            }
            Command::PublishData { payload, options, done } => self.publish_data(payload, options, done),
            Command::UpdateMetadata { mut update, done } => {
                update.request_id = self.next_request;
                self.next_request += 1;
                // The reply is matched by request id, within REQUEST_TIMEOUT.
                let deadline = now + REQUEST_TIMEOUT;
                self.requests.insert(update.request_id, PendingRequest { done, deadline });
                self.send(Req::UpdateMetadata(update));
            }
            Command::SendPacket { value, destinations, done } => {
                self.send_packet_for(value, destinations, DataKind::Reliable, done)
            }
            Command::PerformRpc { call, ack, response, sent } => self.perform_rpc(call, ack, response, sent),
            Command::RespondRpc { request_id, result } => self.respond_rpc(request_id, result),
            Command::PublishTrack { track, options, done } => self.publish_track(now, track, options, done),
            Command::UnpublishTrack { sid, done } => {
                let _ = done.send(self.unpublish_track(&sid));
            }
            Command::MuteTrack { sid, muted, done } => {
                let _ = done.send(self.mute_track(sid, muted));
            }
            Command::TrackSettings { settings, done } => {
                self.send(Req::TrackSetting(settings));
                let _ = done.send(Ok(()));
            }
            Command::SetSubscribed { participant_sid, track_sid, subscribe, done } => {
                let owner = self.shared.remotes.lock().iter().find(|p| p.sid() == participant_sid).cloned();
                let publication = owner.as_ref().and_then(|p| p.publication(&track_sid));
                // A publication no longer in the room: nothing to subscribe to.
                if let (Some(owner), Some(publication)) = (owner, publication) {
                    self.set_subscribed(owner, publication, subscribe);
                }
                let _ = done.send(Ok(()));
            }
        }
    }

    fn perform_rpc(
        &mut self,
        call: RpcCall,
        ack: tokio::sync::oneshot::Sender<()>,
        response: tokio::sync::oneshot::Sender<std::result::Result<String, RpcError>>,
        sent: tokio::sync::oneshot::Sender<std::result::Result<(), RpcError>>,
    ) {
        let id = self.uuid();
        let timeout = call.response_timeout.saturating_sub(crate::rpc::ACK_TIMEOUT).max(Duration::from_secs(1));
        let request = proto::RpcRequest {
            id: id.clone(),
            method: call.method,
            payload: call.payload,
            response_timeout_ms: timeout.as_millis() as u32,
            version: crate::rpc::VERSION,
            ..Default::default()
        };
        let dest = call.destination_identity;
        self.rpc_calls.insert(id.clone(), PendingCall { destination: dest.clone(), ack: Some(ack), response });
        let value = proto::data_packet::Value::RpcRequest(request);
        let sent = Sent::Rpc { id: id.clone(), sent };
        if let Err((e, sent)) = self.send_packet(value, vec![dest], DataKind::Reliable, sent) {
            self.rpc_calls.remove(&id);
            if let Sent::Rpc { sent, .. } = sent {
                let _ = sent.send(Err(RpcError::built_in(RpcErrorCode::SendFailed, Some(&e.to_string()))));
            }
        }
    }

    fn set_subscribed(&mut self, owner: RemoteParticipant, publication: RemoteTrackPublication, subscribe: bool) {
        let sid = publication.sid();
        let req = proto::UpdateSubscription { track_sids: vec![sid], subscribe, ..Default::default() };
        self.send(Req::Subscription(req));
        publication.0.state.lock().desired = subscribe;
        if subscribe {
            return;
        }
        let track = publication.0.state.lock().track.take();
        if let Some(track) = track {
            track.end();
            self.emit(RoomEvent::TrackUnsubscribed { participant: owner, publication, track });
        }
    }

    /// `SimulateScenarioKind` (as the official SDKs number it): signal reconnect and full
    /// reconnect happen here; the others ask the server.
    fn simulate(&mut self, now: Instant, scenario: u32) -> crate::error::Result<()> {
        use proto::simulate_scenario::Scenario;
        let ask = match scenario {
            0 => {
                self.connection_lost(now, false, proto::DisconnectReason::SignalClose);
                return Ok(());
            }
            7 => {
                self.force_full = true;
                self.connection_lost(now, true, proto::DisconnectReason::SignalClose);
                return Ok(());
            }
            1 => Scenario::SpeakerUpdate(3),
            2 => Scenario::NodeFailure(true),
            3 => Scenario::ServerLeave(true),
            4 => Scenario::Migration(true),
            5 => Scenario::SwitchCandidateProtocol(proto::CandidateProtocol::Tcp as i32),
            6 => Scenario::SwitchCandidateProtocol(proto::CandidateProtocol::Tls as i32),
            8 => Scenario::DisconnectSignalOnResume(true),
            other => {
                return Err(crate::error::EngineError::InvalidArgument(format!(
                    "simulateScenario: {other} is not a SimulateScenarioKind value (0-8)"
                )))
            }
        };
        self.send(Req::Simulate(proto::SimulateScenario { scenario: Some(ask) }));
        Ok(())
    }
}
