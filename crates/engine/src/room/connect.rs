//! `Room::connect`: signalling, both peer connections, the room task, and the wait for
//! the connections, all under one deadline (`ConnectOptions::connect_timeout`).
//!
//! Every step gets what is left of the bound: opening the socket, the join response,
//! creating the peer connections and data channels, and the peer connections connecting.
//! A failed or timed-out connect returns at once; whatever was already built is torn
//! down in the background, so cleaning up never adds to the bound.

use std::net::IpAddr;
use std::sync::Arc;

use parking_lot::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use webrtc::data_channel::DataChannel;
use webrtc::peer_connection::PeerConnection;

use super::core::{Attempt, Session, SessionConfig};
use super::driver::{Driver, Inbox, Links};
use super::{Command, Room, Shared};
use crate::e2ee::E2eeManager;
use crate::error::{ConnectError, Deadline, EngineError, Result};
use crate::events::RoomEvent;
use crate::ice::{self, IcePlan};
use crate::objects::{LocalParticipant, RemoteParticipant, RemoteTrackPublication};
use crate::pc::{self, PcEvent, Target};
use crate::signal;
use crate::types::{ConnectOptions, ConnectionState, RoomDetails};

/// The publisher and subscriber peer connections with the publisher's data channels.
struct Pcs {
    publisher: Arc<dyn PeerConnection>,
    subscriber: Arc<dyn PeerConnection>,
    reliable: Arc<dyn DataChannel>,
    lossy: Arc<dyn DataChannel>,
}

impl Pcs {
    fn with_socket(self, ws: signal::Ws) -> Links {
        Links { ws, publisher: self.publisher, subscriber: self.subscriber, reliable: self.reliable, lossy: self.lossy }
    }
}

impl Room {
    /// Joins the room at `url` with `token`. Resolves once signalling is up and both peer
    /// connections are connected; returns the room and its event stream. The whole connect
    /// is bounded by `options.connect_timeout`.
    pub async fn connect(
        url: &str,
        token: &str,
        options: ConnectOptions,
    ) -> Result<(Room, mpsc::UnboundedReceiver<RoomEvent>)> {
        if token.trim().is_empty() {
            return Err(EngineError::InvalidArgument("the token is empty".into()));
        }
        if let Some(e2ee) = &options.encryption {
            e2ee.validate().map_err(EngineError::InvalidArgument)?;
        }
        let deadline = Deadline::after(options.connect_timeout);
        let rtc_url = signal::rtc_url(url, options.auto_subscribe)?;
        let (ws, join) = signal::connect(&rtc_url, token, deadline).await?;
        let ice = ice::plan(&options.ice_servers, options.ice_transport_policy, &join)?;
        let ip = options.bind_ip.unwrap_or_else(|| default_ip(&rtc_url));
        let (pc_tx, pc_rx) = mpsc::unbounded_channel();
        let pcs = create_pcs_until(deadline, ip, &ice, pc_tx).await?;
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        let shared = shared_state(&join, token, &options, cmd_tx);
        let (ready_tx, ready_rx) = oneshot::channel();
        let config = SessionConfig {
            ice: ice.clone(),
            ping_interval: Duration::from_secs(join.ping_interval.max(1) as u64),
            ping_timeout: Duration::from_secs(join.ping_timeout.max(2) as u64),
            auto_subscribe: options.auto_subscribe,
            max_stream_bytes: options.max_stream_payload_bytes,
        };
        let rng = Box::new(<rand::rngs::StdRng as rand::SeedableRng>::from_os_rng());
        let session = Session::new(shared.clone(), config, ready_tx, Instant::now(), rng);
        let links = pcs.with_socket(ws);
        let rejoin = Arc::new(Rejoin { url: url.to_string(), options: options.clone(), ip });
        let driver = Driver::new(session, links, ev_tx, rejoin);
        tokio::spawn(driver.run(Inbox { commands: cmd_rx, transport: pc_rx }));
        let room = Room { shared };
        let outcome = match deadline.bound("the peer connections to connect", ready_rx).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => Err(EngineError::Disconnected),
            Err(e) => Err(relay_hint(&ice, e)),
        };
        match outcome {
            Ok(()) => Ok((room, ev_rx)),
            Err(e) => {
                room.leave_in_background();
                Err(e)
            }
        }
    }

    /// Asks the room task to leave without waiting for it (a failed connect returns now).
    fn leave_in_background(&self) {
        let (done, _) = oneshot::channel();
        let _ = self.shared.cmd.send(Command::Disconnect { done });
    }
}

/// What a reconnect attempt needs to open new connections.
pub(super) struct Rejoin {
    url: String,
    options: ConnectOptions,
    ip: IpAddr,
}

/// How a reconnect attempt went.
pub(super) enum Attempted {
    /// The server resumed the session on this socket.
    Resumed(signal::Ws, livekit_protocol::ReconnectResponse),
    /// A fresh join: new socket, new peer connections (their events on the receiver).
    Joined(Links, Box<livekit_protocol::JoinResponse>, mpsc::UnboundedReceiver<PcEvent>, IcePlan),
    /// It did not work (`refused`: the server declined the resume).
    Failed { error: EngineError, refused: bool },
}

/// Longest a reconnect attempt takes to open its socket and peer connections.
const ATTEMPT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Carries out one reconnect attempt, after its delay: a resume of participant `sid`, or
/// a fresh join with `token`.
pub(super) async fn attempt(r: Arc<Rejoin>, token: String, sid: String, a: Attempt) -> Attempted {
    tokio::time::sleep(a.delay).await;
    let deadline = Deadline::after(r.options.connect_timeout.min(ATTEMPT_CONNECT_TIMEOUT));
    let outcome = async {
        let url = signal::rtc_url(&r.url, r.options.auto_subscribe)?;
        if !a.full {
            let (ws, response) = signal::resume(&url, &token, &sid, a.reason, deadline).await?;
            return Ok(Attempted::Resumed(ws, response));
        }
        let (ws, join) = signal::connect(&url, &token, deadline).await?;
        let ice = ice::plan(&r.options.ice_servers, r.options.ice_transport_policy, &join)?;
        let (pc_tx, pc_rx) = mpsc::unbounded_channel();
        let pcs = create_pcs_until(deadline, r.ip, &ice, pc_tx).await?;
        let links = pcs.with_socket(ws);
        Ok(Attempted::Joined(links, Box::new(join), pc_rx, ice))
    };
    outcome.await.unwrap_or_else(|error: EngineError| {
        let refused = !a.full && error.code() == "ERR_REJECTED";
        Attempted::Failed { error, refused }
    })
}

/// Creates the peer connections on a task of their own: if the deadline passes first, the
/// connect fails at once and that task closes whatever it built when it finishes.
async fn create_pcs_until(
    deadline: Deadline,
    ip: IpAddr,
    ice: &IcePlan,
    pc_tx: mpsc::UnboundedSender<PcEvent>,
) -> Result<Pcs> {
    let mut creating = tokio::spawn(create_pcs(ip, ice.clone(), pc_tx));
    match deadline.bound("the peer connections to be created", &mut creating).await {
        Ok(Ok(pcs)) => pcs,
        Ok(Err(e)) => Err(EngineError::rtc_during("creating the peer connections failed", e)),
        Err(timeout) => {
            tokio::spawn(async move {
                if let Ok(Ok(pcs)) = creating.await {
                    let _ = pcs.publisher.close().await;
                    let _ = pcs.subscriber.close().await;
                }
            });
            Err(timeout)
        }
    }
}

async fn create_pcs(ip: IpAddr, ice: IcePlan, pc_tx: mpsc::UnboundedSender<PcEvent>) -> Result<Pcs> {
    let publisher = pc::create(ip, Target::Publisher, &ice, pc_tx.clone()).await?;
    let rest = async {
        let subscriber = pc::create(ip, Target::Subscriber, &ice, pc_tx).await?;
        match lkrtc_transport::data::open(publisher.as_ref()).await.map_err(EngineError::rtc) {
            Ok((reliable, lossy)) => Ok((subscriber, reliable, lossy)),
            Err(e) => {
                let _ = subscriber.close().await;
                Err(e)
            }
        }
    };
    match rest.await {
        Ok((subscriber, reliable, lossy)) => Ok(Pcs { publisher, subscriber, reliable, lossy }),
        Err(e) => {
            let _ = publisher.close().await;
            Err(e)
        }
    }
}

/// The state shared with the public handles, from the join response.
pub(super) fn shared_state(
    join: &livekit_protocol::JoinResponse,
    token: &str,
    options: &ConnectOptions,
    cmd: mpsc::UnboundedSender<Command>,
) -> Arc<Shared> {
    let me = join.participant.clone().unwrap_or_default();
    let room_info = join.room.clone().unwrap_or_default();
    let shared = Arc::new(Shared {
        sid: Mutex::new(room_info.sid.clone()),
        name: Mutex::new(room_info.name.clone()),
        token: Mutex::new(token.to_string()),
        metadata: Mutex::new(room_info.metadata.clone()),
        details: Mutex::new(RoomDetails::from_proto(&room_info)),
        state: Mutex::new(ConnectionState::Connected),
        local: LocalParticipant::new(&me, cmd.clone()),
        remotes: Mutex::new(Vec::new()),
        e2ee: e2ee_manager(join, options, &cmd),
        cmd,
        stream_topics: Mutex::default(),
    });
    for info in &join.other_participants {
        let p = RemoteParticipant::new(info);
        for t in &info.tracks {
            let publication =
                RemoteTrackPublication::new(&info.sid, t.clone(), options.auto_subscribe, shared.cmd.clone());
            p.0.publications.lock().push(publication);
        }
        shared.remotes.lock().push(p);
    }
    shared
}

/// The room's encryption, its cryptors reporting their state changes to the room task.
fn e2ee_manager(
    join: &livekit_protocol::JoinResponse,
    options: &ConnectOptions,
    cmd: &mpsc::UnboundedSender<Command>,
) -> Option<Arc<E2eeManager>> {
    let manager = E2eeManager::new(options.encryption.as_ref()?)?;
    manager.key_provider().set_sif_trailer(&join.sif_trailer);
    let cmd = cmd.clone();
    manager.set_observer(Arc::new(move |identity, track_sid, state| {
        let _ = cmd.send(Command::EncryptionState { identity: identity.into(), track_sid: track_sid.into(), state });
    }));
    Some(manager)
}

/// A connect that timed out under relay-only ICE most often means no TURN allocation
/// succeeded: say so, with the servers tried.
fn relay_hint(ice: &ice::IcePlan, e: EngineError) -> EngineError {
    match (&e, ice.policy) {
        (EngineError::Timeout { ms, .. }, crate::types::IceTransportPolicy::Relay) => ConnectError::IceConfig(format!(
            "relay-only connection not established within {ms} ms through {}: check that the TURN server is \
             reachable over UDP and that its credentials are right",
            ice.usable_turn_urls().join(", ")
        ))
        .into(),
        _ => e,
    }
}

fn default_ip(url: &url::Url) -> IpAddr {
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    if loopback {
        IpAddr::from([127, 0, 0, 1])
    } else {
        IpAddr::from([0, 0, 0, 0])
    }
}
