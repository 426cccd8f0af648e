//! `Room`: the public handle onto a session. The session itself is a sans-IO state
//! machine (`core`) run by an async driver (`driver`) that owns the signal socket and
//! both peer connections; `connect` builds both. Everything that changes room state
//! happens in the driver's one task, so events come out in the order things happened.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot};

use crate::error::{EngineError, Result};
use crate::objects::{LocalParticipant, RemoteParticipant};
use crate::streams::StreamKind;
use crate::types::{ConnectionState, RoomDetails};

pub(crate) use crate::command::Command;

mod connect;
pub(crate) mod core;
mod driver;

/// Largest data packet the engine sends (LiveKit clients cap SCTP messages at 64000).
pub const MAX_DATA_PACKET: usize = 64_000;

/// State readable from any thread; written by the room task.
pub(crate) struct Shared {
    pub sid: Mutex<String>,
    pub name: Mutex<String>,
    /// The newest access token (the server refreshes it; reconnects use it).
    pub token: Mutex<String>,
    pub metadata: Mutex<String>,
    /// Counts, timeouts, recording, creation time (kept up to date from `RoomUpdate`).
    pub details: Mutex<RoomDetails>,
    pub state: Mutex<ConnectionState>,
    pub local: LocalParticipant,
    pub remotes: Mutex<Vec<RemoteParticipant>>,
    pub cmd: mpsc::UnboundedSender<Command>,
    /// Topics with a stream handler, by kind.
    pub stream_topics: Mutex<std::collections::HashSet<(StreamKind, String)>>,
    /// End-to-end encryption, when the room was connected with it.
    pub e2ee: Option<Arc<crate::e2ee::E2eeManager>>,
}

/// A connected room. Cheap to clone; all clones are the same room.
#[derive(Clone)]
pub struct Room {
    shared: Arc<Shared>,
}

impl Room {
    /// Room sid (`RM_`).
    pub fn sid(&self) -> String {
        self.shared.sid.lock().clone()
    }
    /// Room name.
    pub fn name(&self) -> String {
        self.shared.name.lock().clone()
    }
    /// The newest access token: the one connected with, or a newer one the server sent.
    pub fn token(&self) -> String {
        self.shared.token.lock().clone()
    }
    /// Room metadata.
    pub fn metadata(&self) -> String {
        self.shared.metadata.lock().clone()
    }
    /// Creation time, participant and publisher counts, recording state and timeouts, as
    /// the server last reported them (join response, then every `RoomUpdate`).
    pub fn details(&self) -> RoomDetails {
        self.shared.details.lock().clone()
    }
    /// Connection state.
    pub fn connection_state(&self) -> ConnectionState {
        *self.shared.state.lock()
    }
    /// This client's participant.
    pub fn local_participant(&self) -> LocalParticipant {
        self.shared.local.clone()
    }
    /// The room's end-to-end encryption (keys, cryptors), when connected with it.
    pub fn e2ee_manager(&self) -> Option<Arc<crate::e2ee::E2eeManager>> {
        self.shared.e2ee.clone()
    }
    /// Everyone else, in join order.
    pub fn remote_participants(&self) -> Vec<RemoteParticipant> {
        self.shared.remotes.lock().clone()
    }
    /// Accepts streams of `kind` on `topic` (they arrive as `StreamOpened`). Errors if the
    /// topic already has a handler.
    pub fn register_stream_topic(&self, kind: StreamKind, topic: &str) -> Result<()> {
        if !self.shared.stream_topics.lock().insert((kind, topic.to_string())) {
            let what = if kind == StreamKind::Text { "text" } else { "byte" };
            return Err(EngineError::InvalidArgument(format!(
                "a {what} stream handler for topic \"{topic}\" has already been set"
            )));
        }
        Ok(())
    }

    /// Stops accepting streams of `kind` on `topic`.
    pub fn unregister_stream_topic(&self, kind: StreamKind, topic: &str) {
        self.shared.stream_topics.lock().remove(&(kind, topic.to_string()));
    }

    /// W3C statistics of both peer connections; `Disconnected` once the room is gone.
    pub async fn rtc_stats(&self) -> Result<crate::stats::RtcStats> {
        let (tx, rx) = oneshot::channel();
        self.shared.cmd.send(Command::GetStats { done: tx }).map_err(|_| EngineError::Disconnected)?;
        rx.await.map_err(|_| EngineError::Disconnected)
    }

    /// Runs a test scenario (`SimulateScenarioKind` value of the official SDKs): 0 signal
    /// reconnect (resume), 7 full reconnect, the others asked of the server.
    pub async fn simulate_scenario(&self, scenario: u32) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        let cmd = Command::Simulate { scenario, done: tx };
        self.shared.cmd.send(cmd).map_err(|_| EngineError::Disconnected)?;
        rx.await.map_err(|_| EngineError::Disconnected)?
    }

    /// Leaves the room (idempotent). When it returns, `Disconnected` has been emitted and
    /// the event stream has ended.
    pub async fn disconnect(&self) {
        let (tx, rx) = oneshot::channel();
        if self.shared.cmd.send(Command::Disconnect { done: tx }).is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(5), rx).await;
        }
    }
}
