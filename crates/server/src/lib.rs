//! lkrtc-server: a LiveKit-compatible development SFU.
//!
//! It speaks the LiveKit signalling protocol (v0, `/rtc`) over WebSocket with binary
//! protobuf frames, verifies HS256 access tokens and enforces their grants, and forwards
//! Opus audio and data packets between participants over WebRTC. It is meant for apps'
//! development and integration tests: one process, no external services.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let server = lkrtc_server::Server::start(lkrtc_server::ServerConfig::dev()).await?;
//! println!("listening on {}", server.url());
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]
// Clients still read several fields the protocol marks deprecated (stereo, disable_dtx, kind).
#![allow(deprecated)]

pub mod auth;
mod data;
mod feedback;
mod feedback_task;
mod forward;
#[doc(hidden)]
pub mod fuzz;
mod http;
pub mod ids;
pub mod limits;
mod participant;
mod room;
mod rtc;
mod serve;
mod session;
mod tls;
mod track;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

pub use auth::{AuthError, KeyStore};
pub use feedback::VideoStats;
pub use livekit_protocol as proto;
pub use session::{PING_INTERVAL, PING_TIMEOUT, PROTOCOL, RESUME_WINDOW, SERVER_VERSION};
pub use tls::TlsConfig;
use tokio::sync::watch;

/// How a server listens and which keys it accepts.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Address for HTTP/WebSocket and for WebRTC (ICE) sockets.
    pub bind: IpAddr,
    /// TCP port (0 picks a free one).
    pub port: u16,
    /// Accepted API keys and their secrets.
    pub keys: KeyStore,
    /// Serve `wss://` / `https://` with this certificate instead of plain `ws://`.
    pub tls: Option<TlsConfig>,
    /// How the server's own ICE agent works, and what it tells clients.
    pub ice: IceConfig,
    /// Send each participant a fresh token (`refresh_token`) this often; `None`: never.
    pub token_refresh: Option<Duration>,
    /// Keep-alive and resume timing.
    pub timing: Timing,
}

/// How long the server waits on a participant's signal connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// Seconds between the pings clients are asked to send (`JoinResponse.ping_interval`).
    pub ping_interval: u32,
    /// Seconds of client silence after which its signal connection counts as lost
    /// (`JoinResponse.ping_timeout`).
    pub ping_timeout: u32,
    /// How long a participant whose signal connection was lost without a `leave` is kept
    /// (tracks, subscriptions, peer connections) for the client to resume; then it leaves.
    pub resume_window: Duration,
}

impl Default for Timing {
    /// Pings every 5 s, 15 s timeout, 10 s to resume.
    fn default() -> Self {
        Self { ping_interval: PING_INTERVAL as u32, ping_timeout: PING_TIMEOUT as u32, resume_window: RESUME_WINDOW }
    }
}

/// ICE settings of a server.
#[derive(Clone, Debug)]
pub struct IceConfig {
    /// Gather UDP candidates (default true).
    pub udp: bool,
    /// Also offer passive ICE-TCP candidates, for clients whose UDP is blocked (default false).
    pub tcp: bool,
    /// Run ICE-lite, as livekit-server does (default false).
    pub lite: bool,
    /// STUN/TURN servers sent to clients in the join response.
    pub servers: Vec<proto::IceServer>,
    /// Tell clients to use relay candidates only (`ClientConfiguration.force_relay`).
    pub force_relay: bool,
}

impl Default for IceConfig {
    fn default() -> Self {
        Self { udp: true, tcp: false, lite: false, servers: Vec::new(), force_relay: false }
    }
}

impl ServerConfig {
    /// The `livekit-server --dev` defaults: 127.0.0.1:7880, key `devkey`, secret `secret`.
    pub fn dev() -> Self {
        Self {
            bind: IpAddr::from([127, 0, 0, 1]),
            port: 7880,
            keys: KeyStore::new([("devkey".to_string(), "secret".to_string())]),
            tls: None,
            ice: IceConfig::default(),
            token_refresh: None,
            timing: Timing::default(),
        }
    }
}

/// State shared by every connection of one server.
pub(crate) struct ServerShared {
    keys: KeyStore,
    rooms: room::RoomManager,
    pcs: rtc::PcFactory,
    ice: IceConfig,
    token_refresh: Option<Duration>,
    timing: Timing,
    node_id: String,
    shutdown: watch::Receiver<bool>,
}

/// Server counters (RTP counts are process-wide).
#[derive(Clone, Debug, serde::Serialize)]
pub struct Stats {
    /// Live rooms.
    pub rooms: usize,
    /// Participants in all rooms.
    pub participants: usize,
    /// RTP packets received from publishers since start.
    pub rtp_packets_in: u64,
    /// RTP packets forwarded to subscribers since start.
    pub rtp_packets_out: u64,
    /// Video packets and receiver feedback (keyframe requests, NACKs, REMB) since start.
    pub video: VideoStats,
}

pub(crate) fn stats(shared: &ServerShared) -> Stats {
    use std::sync::atomic::Ordering::Relaxed;
    let rooms = shared.rooms.all();
    Stats {
        rooms: rooms.len(),
        participants: rooms.iter().map(|r| r.participants().len()).sum(),
        rtp_packets_in: track::PACKETS_IN.load(Relaxed),
        rtp_packets_out: track::PACKETS_OUT.load(Relaxed),
        video: feedback::video_stats(),
    }
}

/// A running server. Dropping it does not stop it; call [`Server::shutdown`].
pub struct Server {
    addr: SocketAddr,
    tls: bool,
    shared: Arc<ServerShared>,
    shutdown_tx: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Binds and starts serving on the current tokio runtime.
    pub async fn start(config: ServerConfig) -> std::io::Result<Server> {
        if !config.ice.udp && !config.ice.tcp {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "ICE needs UDP or TCP (or both)"));
        }
        let tls = config.tls.as_ref().map(TlsConfig::rustls).transpose()?;
        let listener = tokio::net::TcpListener::bind(SocketAddr::new(config.bind, config.port)).await?;
        let addr = listener.local_addr()?;
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let shared = Arc::new(ServerShared {
            keys: config.keys,
            rooms: room::RoomManager::default(),
            pcs: rtc::PcFactory::new(config.bind, config.ice.clone()),
            ice: config.ice,
            token_refresh: config.token_refresh,
            timing: config.timing,
            node_id: format!("ND_{}", &ids::room_sid()[3..]),
            shutdown: shutdown_rx.clone(),
        });
        let app = http::router(shared.clone());
        let is_tls = tls.is_some();
        let task = match tls {
            None => tokio::spawn(serve::serve(listener, app, shutdown_rx)),
            Some(config) => tokio::spawn(serve::serve(tls::TlsListener::new(listener, config)?, app, shutdown_rx)),
        };
        tracing::info!(%addr, tls = is_tls, "lkrtc-server started");
        Ok(Server { addr, tls: is_tls, shared, shutdown_tx, task })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL clients connect to (`ws://host:port`, or `wss://` with TLS).
    pub fn url(&self) -> String {
        format!("{}://{}", if self.tls { "wss" } else { "ws" }, self.addr)
    }

    /// Live rooms, as the room service lists them.
    pub fn rooms(&self) -> Vec<proto::Room> {
        self.shared.rooms.list()
    }

    /// Removes a participant (it gets `leave{PARTICIPANT_REMOVED}`). False if not present.
    pub fn remove_participant(&self, room: &str, identity: &str) -> bool {
        let p = self.shared.rooms.get(room).and_then(|r| r.by_identity(identity));
        if let Some(p) = &p {
            p.command(participant::Cmd::Kick(proto::DisconnectReason::ParticipantRemoved));
        }
        p.is_some()
    }

    /// Sets a room's metadata (participants get a room update). False if no such room.
    pub fn update_room_metadata(&self, room: &str, metadata: &str) -> bool {
        self.shared.rooms.get(room).map(|r| r.set_metadata(metadata.to_string())).is_some()
    }

    /// Counters for benchmarks and dashboards.
    pub fn stats(&self) -> Stats {
        stats(&self.shared)
    }

    /// Tells every participant the server is leaving, waits (briefly) for them to go,
    /// then stops listening.
    pub async fn shutdown(self) {
        let _ = self.shutdown_tx.send(true);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
        while !self.shared.rooms.all().is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if tokio::time::timeout(Duration::from_secs(2), &mut { self.task }).await.is_err() {
            tracing::warn!("connections still open after shutdown; dropping them");
        }
    }
}
