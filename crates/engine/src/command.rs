//! [`Command`]: what the handles (participants, publications, streams, the room) ask of
//! the room task. Only plain values and channels cross: the handles sit above this
//! module and the room below the handles, so neither depends on the other's types.

use livekit_protocol as proto;
use tokio::sync::oneshot;

use crate::error::Result;
use crate::media::LocalTrack;
use crate::rpc::{RpcCall, RpcError};
use crate::types::{DataOptions, PublishOptions};

/// Work for the room task, queued by the handles in call order.
pub(crate) enum Command {
    PublishData {
        payload: Vec<u8>,
        options: DataOptions,
        done: oneshot::Sender<Result<()>>,
    },
    UpdateMetadata {
        update: proto::UpdateParticipantMetadata,
        done: oneshot::Sender<Result<()>>,
    },
    SetSubscribed {
        participant_sid: String,
        track_sid: String,
        subscribe: bool,
        done: oneshot::Sender<Result<()>>,
    },
    /// A subscriber's wishes for a remote track (enabled, video layer), sent as is.
    TrackSettings {
        settings: proto::UpdateTrackSettings,
        done: oneshot::Sender<Result<()>>,
    },
    PublishTrack {
        track: LocalTrack,
        options: PublishOptions,
        /// The new publication's sid (it is in the local participant's list by then).
        done: oneshot::Sender<Result<String>>,
    },
    UnpublishTrack {
        sid: String,
        done: oneshot::Sender<Result<()>>,
    },
    MuteTrack {
        sid: String,
        muted: bool,
        done: oneshot::Sender<Result<()>>,
    },
    SendPacket {
        value: proto::data_packet::Value,
        destinations: Vec<String>,
        done: oneshot::Sender<Result<()>>,
    },
    PerformRpc {
        call: RpcCall,
        ack: oneshot::Sender<()>,
        response: oneshot::Sender<std::result::Result<String, RpcError>>,
        sent: oneshot::Sender<std::result::Result<(), RpcError>>,
    },
    RespondRpc {
        request_id: String,
        result: std::result::Result<String, RpcError>,
    },
    Disconnect {
        done: oneshot::Sender<()>,
    },
    GetStats {
        done: oneshot::Sender<crate::stats::RtcStats>,
    },
    /// A test scenario (`SimulateScenarioKind` value of the official SDKs).
    Simulate {
        scenario: u32,
        done: oneshot::Sender<Result<()>>,
    },
    /// A frame cryptor changed state (reported from the media path).
    EncryptionState {
        identity: String,
        track_sid: String,
        state: crate::e2ee::EncryptionState,
    },
}
