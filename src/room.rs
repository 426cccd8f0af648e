//! `NativeRoom`: the native side of `Room` in `index.js`.
//!
//! A `NativeRoom` is created (and counted) with its JavaScript `Room`; it holds the engine
//! room once `connect()` resolves. `index.js` then takes the initial state
//! (`localParticipant()`, `remoteParticipants()`) and calls `startEvents()`, which starts
//! the event bridge. After the `disconnected` event `index.js` disposes it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use lkrtc_engine::{ConnectOptions, IceServer, IceTransportPolicy, Room, RoomEvent};
use napi::bindgen_prelude::{Function, PromiseRaw};
use napi::Env;
use napi_derive::napi;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::convert::connection_state;
use crate::error::{self, ERR_ICE_CONFIG, ERR_INVALID_ARG, ERR_INVALID_STATE};
use crate::event_bridge::{self, JsRoomEvent};
use crate::handles::{Handle, HandleKind};
use crate::participant::{NativeLocalParticipant, NativeRemoteParticipant};
use crate::refs::{JsRef, Registry};

/// Options of `connect`.
#[napi(object)]
pub struct NativeConnectOptions {
    /// Subscribe to every track automatically (default true).
    pub auto_subscribe: Option<bool>,
    /// Bound on the whole connect, in milliseconds (default 15000).
    pub connect_timeout_ms: Option<u32>,
    /// `rtcConfig.iceServers`; empty or absent: the server's.
    pub ice_servers: Option<Vec<NativeIceServer>>,
    /// `rtcConfig.iceTransportType` (`IceTransportType`: 0 relay, 1 no host, 2 all).
    pub ice_transport_type: Option<u32>,
    /// `rtcConfig.continualGatheringPolicy` (`ContinualGatheringPolicy`: 0 once, 1 continually).
    pub continual_gathering_policy: Option<u32>,
    /// `dataStream.maxPayloadByteLength`: incoming streams announcing or carrying more bytes
    /// are refused (their read fails with `ERR_STREAM`). Absent: no cap.
    pub max_stream_payload_bytes: Option<f64>,
    /// `RoomOptions.encryption` (or the deprecated `e2ee`): end-to-end encryption.
    pub encryption: Option<crate::e2ee_options::NativeE2eeOptions>,
}

/// Room fields besides sid, name and metadata (`Room.creationTime`, `numParticipants`...).
#[napi(object, object_from_js = false)]
pub struct NativeRoomDetails {
    /// Milliseconds since the epoch (0 if the server did not say).
    pub creation_time_ms: f64,
    pub num_participants: u32,
    pub num_publishers: u32,
    /// `isRecording`.
    pub active_recording: bool,
    /// Seconds.
    pub departure_timeout: u32,
    /// Seconds.
    pub empty_timeout: u32,
    /// 0: no limit.
    pub max_participants: u32,
}

/// `getRtcStats()`: W3C stats objects (`type`, `id`, `timestamp`, ...) of each connection.
#[napi(object, object_from_js = false)]
pub struct NativeRtcStats {
    #[napi(ts_type = "Array<Record<string, unknown>>")]
    pub publisher_stats: Vec<serde_json::Value>,
    #[napi(ts_type = "Array<Record<string, unknown>>")]
    pub subscriber_stats: Vec<serde_json::Value>,
}

/// A STUN/TURN server (`IceServer` of @livekit/rtc-node: the credential is `password`).
#[napi(object)]
pub struct NativeIceServer {
    /// `stun:` / `turn:` / `turns:` URLs.
    pub urls: Vec<String>,
    /// TURN username.
    pub username: Option<String>,
    /// TURN credential.
    pub password: Option<String>,
}

/// Applies the JavaScript options onto the engine's.
fn connect_options(o: NativeConnectOptions) -> crate::error::Result<ConnectOptions> {
    let mut opts = ConnectOptions::default();
    if let Some(a) = o.auto_subscribe {
        opts.auto_subscribe = a;
    }
    if let Some(ms) = o.connect_timeout_ms {
        if ms == 0 {
            return Err(error::coded(ERR_INVALID_ARG, "connectTimeout must be positive"));
        }
        opts.connect_timeout = Duration::from_millis(ms.into());
    }
    opts.max_stream_payload_bytes = match o.max_stream_payload_bytes {
        None => None,
        Some(n) if n.is_finite() && n >= 0.0 && n.fract() == 0.0 && n < 2f64.powi(53) => Some(n as u64),
        Some(n) => {
            return Err(error::coded(
                ERR_INVALID_ARG,
                format!("dataStream.maxPayloadByteLength {n} must be a non-negative integer"),
            ))
        }
    };
    opts.ice_servers = o
        .ice_servers
        .unwrap_or_default()
        .into_iter()
        .map(|s| IceServer {
            urls: s.urls,
            username: s.username.unwrap_or_default(),
            credential: s.password.unwrap_or_default(),
        })
        .collect();
    opts.ice_transport_policy = match o.ice_transport_type {
        None | Some(2) => IceTransportPolicy::All,
        Some(1) => IceTransportPolicy::NoHost,
        Some(0) => IceTransportPolicy::Relay,
        Some(other) => {
            return Err(error::coded(
                ERR_ICE_CONFIG,
                format!("rtcConfig.iceTransportType {other} is not an IceTransportType (0 relay, 1 no host, 2 all)"),
            ))
        }
    };
    match o.continual_gathering_policy {
        None | Some(0) => {}
        Some(1) => {
            return Err(error::coded(
                ERR_ICE_CONFIG,
                "rtcConfig.continualGatheringPolicy GATHER_CONTINUALLY is not supported: lkrtc gathers ICE \
                 candidates once per connection; pass ContinualGatheringPolicy.GATHER_ONCE (lkrtc's \
                 defaultRtcConfiguration does)",
            ))
        }
        Some(other) => {
            return Err(error::coded(
                ERR_ICE_CONFIG,
                format!("rtcConfig.continualGatheringPolicy {other} is not a ContinualGatheringPolicy"),
            ))
        }
    }
    opts.encryption = o.encryption.map(crate::e2ee_options::e2ee_options).transpose()?;
    Ok(opts)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What a room handle owns.
#[derive(Default)]
pub(crate) struct RoomCore {
    reg: Arc<Registry>,
    room: Mutex<Option<Room>>,
    events: Mutex<Option<UnboundedReceiver<RoomEvent>>>,
    connecting: AtomicBool,
}

impl RoomCore {
    fn room(&self) -> Option<Room> {
        lock(&self.room).clone()
    }
}

impl Drop for RoomCore {
    fn drop(&mut self) {
        // Safety net: a room dropped while still connected (JavaScript never started its
        // events, or the handle was disposed during connect) leaves the wire too.
        let mut room = lock(&self.room).take();
        let _ = crate::runtime::enter(|| {
            if let Some(room) = room.take() {
                tokio::spawn(async move { room.disconnect().await });
            }
        });
        // At process exit no runtime is left to leave with: the room goes with the process.
        std::mem::forget(room);
    }
}

/// Clears the `connecting` flag when the connect attempt ends, however it ends.
struct Connecting<'a>(&'a AtomicBool);

impl Drop for Connecting<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// Native side of a `Room`.
#[napi]
pub struct NativeRoom {
    handle: Handle<Arc<RoomCore>>,
}

#[napi]
impl NativeRoom {
    #[napi(constructor, catch_unwind)]
    pub fn new() -> Self {
        Self { handle: Handle::new(HandleKind::Room, "Room", Arc::new(RoomCore::default())) }
    }

    /// Joins the room. Rejects with the engine's error code on failure.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn connect<'env>(
        &self,
        env: &'env Env,
        url: String,
        token: String,
        options: Option<NativeConnectOptions>,
    ) -> crate::error::Result<PromiseRaw<'env, ()>> {
        let prepared = self.handle.get().and_then(|core| Ok((core, options.map(connect_options).transpose()?)));
        error::promise(
            env,
            prepared.map(|(core, opts)| async move {
                if core.room().is_some() || core.connecting.swap(true, Ordering::AcqRel) {
                    return Err(error::coded(ERR_INVALID_STATE, "the room is already connected or connecting"));
                }
                let _connecting = Connecting(&core.connecting);
                // Boxed: the engine's connect future is large (see `error::promise`).
                let (room, events) =
                    Box::pin(Room::connect(&url, &token, opts.unwrap_or_default())).await.map_err(error::engine)?;
                *lock(&core.events) = Some(events);
                *lock(&core.room) = Some(room);
                Ok(())
            }),
        )
    }

    /// Room sid, once connected.
    #[napi(getter, catch_unwind)]
    pub fn sid(&self) -> crate::error::Result<Option<String>> {
        Ok(self.handle.with(|c| c.room())?.map(|r| r.sid()))
    }

    /// Room name, once connected.
    #[napi(getter, catch_unwind)]
    pub fn name(&self) -> crate::error::Result<Option<String>> {
        Ok(self.handle.with(|c| c.room())?.map(|r| r.name()))
    }

    /// The newest access token (refreshed by the server), once connected.
    #[napi(getter, catch_unwind)]
    pub fn token(&self) -> crate::error::Result<Option<String>> {
        Ok(self.handle.with(|c| c.room())?.map(|r| r.token()))
    }

    /// Room metadata, once connected.
    #[napi(getter, catch_unwind)]
    pub fn metadata(&self) -> crate::error::Result<Option<String>> {
        Ok(self.handle.with(|c| c.room())?.map(|r| r.metadata()))
    }

    /// Creation time, counts, recording state and timeouts, once connected (kept up to
    /// date from the server's room updates; `roomUpdated` events follow each update).
    #[napi(getter, catch_unwind)]
    pub fn details(&self) -> crate::error::Result<Option<NativeRoomDetails>> {
        Ok(self.handle.with(|c| c.room())?.map(|r| {
            let d = r.details();
            NativeRoomDetails {
                creation_time_ms: d.creation_time_ms as f64,
                num_participants: d.num_participants,
                num_publishers: d.num_publishers,
                active_recording: d.active_recording,
                departure_timeout: d.departure_timeout,
                empty_timeout: d.empty_timeout,
                max_participants: d.max_participants,
            }
        }))
    }

    /// W3C statistics of the publisher and subscriber connections. Rejects with
    /// `ERR_INVALID_STATE` before connect and `ERR_DISCONNECTED` after disconnect.
    #[napi(catch_unwind, ts_return_type = "Promise<NativeRtcStats>")]
    pub fn get_rtc_stats<'env>(&self, env: &'env Env) -> crate::error::Result<PromiseRaw<'env, NativeRtcStats>> {
        let stats = self.connected().map(|room| async move {
            let stats = room.rtc_stats().await.map_err(error::engine)?;
            Ok(NativeRtcStats { publisher_stats: stats.publisher, subscriber_stats: stats.subscriber })
        });
        error::promise(env, stats)
    }

    /// Runs a test scenario (`SimulateScenarioKind` value): 0 signal reconnect (resume),
    /// 7 full reconnect, the others asked of the server. Unknown values: `ERR_INVALID_ARG`.
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn simulate_scenario<'env>(&self, env: &'env Env, scenario: u32) -> crate::error::Result<PromiseRaw<'env, ()>> {
        let simulated =
            self.connected().map(|room| async move { room.simulate_scenario(scenario).await.map_err(error::engine) });
        error::promise(env, simulated)
    }

    /// `ConnectionState` value (0 before connect).
    #[napi(getter, catch_unwind)]
    pub fn connection_state(&self) -> crate::error::Result<u32> {
        Ok(self.handle.with(|c| c.room())?.map(|r| connection_state(r.connection_state())).unwrap_or(0))
    }

    /// A new handle on the local participant (`index.js` takes one per connection).
    #[napi(catch_unwind)]
    pub fn local_participant(&self) -> crate::error::Result<NativeLocalParticipant> {
        let room = self.connected()?;
        Ok(NativeLocalParticipant::new(room.local_participant()))
    }

    /// The remote participants now in the room.
    #[napi(catch_unwind, ts_return_type = "Array<number | NativeRemoteParticipant>")]
    pub fn remote_participants(&self) -> crate::error::Result<Vec<JsRef<NativeRemoteParticipant>>> {
        let core = self.handle.get()?;
        let room = core.room().ok_or_else(not_connected)?;
        Ok(room.remote_participants().into_iter().map(|p| NativeRemoteParticipant::js_ref(&core.reg, p)).collect())
    }

    /// Starts delivering room events to `callback`, in order, through one weak
    /// threadsafe function. Call once per connection.
    #[napi(catch_unwind)]
    pub fn start_events(&self, callback: Function<'_, Option<JsRoomEvent>, ()>) -> crate::error::Result<()> {
        let core = self.handle.get()?;
        let events = lock(&core.events)
            .take()
            .ok_or_else(|| error::coded(ERR_INVALID_STATE, "events already started, or the room is not connected"))?;
        event_bridge::start(&callback, events, core.reg.clone()).map_err(error::internal)
    }

    /// Leaves the room (idempotent). The engine emits `Disconnected` before this resolves;
    /// JavaScript receives it through the event bridge.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn disconnect<'env>(&self, env: &'env Env) -> crate::error::Result<PromiseRaw<'env, ()>> {
        let room = self.handle.with(|c| c.room()).ok().flatten();
        error::promise_done(env, async move {
            if let Some(room) = room {
                room.disconnect().await;
            }
        })
    }

    /// Whether the native room is still held.
    #[napi(getter, catch_unwind)]
    pub fn live(&self) -> bool {
        self.handle.is_live()
    }

    /// Drops the engine room; false if already disposed.
    #[napi(catch_unwind)]
    pub fn dispose(&self) -> bool {
        self.handle.dispose()
    }
}

impl NativeRoom {
    pub(crate) fn connected(&self) -> crate::error::Result<Room> {
        self.handle.with(|c| c.room())?.ok_or_else(not_connected)
    }
}

fn not_connected() -> crate::error::Error {
    error::coded(ERR_INVALID_STATE, "the room is not connected")
}

#[napi]
impl NativeRoom {
    /// Accepts incoming streams of `kind` on `topic` (they arrive as `streamOpened`).
    #[napi(catch_unwind)]
    pub fn register_stream_topic(&self, kind: String, topic: String) -> crate::error::Result<()> {
        let kind = crate::streams::kind_of(&kind)?;
        self.connected()?.register_stream_topic(kind, &topic).map_err(error::engine)
    }

    /// Stops accepting streams of `kind` on `topic`.
    #[napi(catch_unwind)]
    pub fn unregister_stream_topic(&self, kind: String, topic: String) -> crate::error::Result<()> {
        let kind = crate::streams::kind_of(&kind)?;
        if let Ok(room) = self.connected() {
            room.unregister_stream_topic(kind, &topic);
        }
        Ok(())
    }
}
