//! HTTP surface: `/rtc` (WebSocket signalling v0: two peer connections), `/rtc/v1`
//! (single peer connection, see [`session::v1`]), their `/validate` twins, and the Twirp
//! room service. Every response carries livekit-server's CORS headers (see [`cors`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::Request;
use axum::extract::{Query, State, WebSocketUpgrade};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use livekit_protocol as proto;
use prost::Message;
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer, ExposeHeaders};

use crate::auth::{AuthError, ServiceGrant};
use crate::participant::{Cmd, JoinParams, Resumed};
use crate::session::{self, v1, Signalling};
use crate::ServerShared;

use crate::limits::{self, MAX_SIGNAL_MESSAGE};

type Params = Query<HashMap<String, String>>;

/// The server's routes.
pub fn router(shared: Arc<ServerShared>) -> Router {
    Router::new()
        .route("/rtc", get(rtc))
        .route("/rtc/validate", get(validate))
        .route("/rtc/v1", get(rtc))
        .route("/rtc/v1/validate", get(validate_v1))
        .route("/twirp/livekit.RoomService/{method}", post(twirp))
        .route("/lkrtc/stats", get(stats))
        .fallback(not_found)
        .with_state(shared)
        .layer(cors())
        .layer(axum::middleware::from_fn(preflight_status))
}

/// CORS as livekit-server configures it (`rs/cors` in its `pkg/service/server.go`): any
/// origin is allowed and echoed back, any request header is allowed, every response header
/// is exposed, preflights are cached for a day, and credentials are not allowed (tokens
/// travel in the query or the Authorization header, never in cookies). Applies to every
/// response, 404s and errors included, so a page can read the 404 of `/rtc/v1/validate`
/// and fall back to v0.
fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::mirror_request())
        .allow_methods([Method::OPTIONS, Method::HEAD, Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers(ExposeHeaders::any())
        .max_age(Duration::from_secs(86_400))
}

/// A preflight is answered `204 No Content`, as livekit-server (`rs/cors`) does; the CORS
/// layer answers every `OPTIONS` request itself with an empty 200.
async fn preflight_status(req: Request, next: Next) -> Response {
    let preflight = req.method() == Method::OPTIONS;
    let mut resp = next.run(req).await;
    if preflight && resp.status() == StatusCode::OK {
        *resp.status_mut() = StatusCode::NO_CONTENT;
    }
    resp
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "404 page not found").into_response()
}

fn token<'a>(headers: &'a HeaderMap, query: &'a HashMap<String, String>) -> Option<&'a str> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    bearer.or_else(|| query.get("access_token").map(String::as_str)).filter(|t| !t.is_empty())
}

fn refuse(e: &AuthError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::UNAUTHORIZED);
    tracing::info!(e = %limits::clip(&e.to_string()), "join refused");
    (status, e.to_string()).into_response()
}

fn join_params(
    shared: &ServerShared,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
) -> Result<JoinParams, AuthError> {
    let token = token(headers, q).ok_or(AuthError::Missing)?;
    let grant = shared.keys.verify_join(token, q.get("room").map(String::as_str))?;
    let flag = |name: &str, default: bool| match q.get(name).map(String::as_str) {
        Some("1") | Some("true") => true,
        Some("0") | Some("false") => false,
        _ => default,
    };
    Ok(JoinParams {
        grant,
        auto_subscribe: flag("auto_subscribe", true),
        client_protocol: q.get("client_protocol").and_then(|v| v.parse().ok()).unwrap_or(0),
        reuse_transceivers: reuses_transceivers(
            q.get("protocol").and_then(|v| v.parse().ok()).unwrap_or(0),
            q.get("browser").map_or("", String::as_str),
        ),
    })
}

/// Whether a client takes a new track on a reused m-section: livekit-server's
/// `SupportsTransceiverReuse` (protocol > 3, any browser but Safari).
fn reuses_transceivers(protocol: i32, browser: &str) -> bool {
    protocol > 3 && !browser.eq_ignore_ascii_case("safari")
}

/// Why a join (or its validation) was refused; answered as livekit-server answers it.
#[derive(Debug, thiserror::Error)]
enum Refusal {
    /// Token or grant (401; 400 for no identity or room).
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// Identity, room name or participant info over a limit (400).
    #[error(transparent)]
    Limit(#[from] limits::JoinLimit),
    /// A v1 `join_request` that is missing or does not decode (400).
    #[error(transparent)]
    JoinRequest(#[from] v1::JoinRequestError),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        if let Refusal::Auth(e) = &self {
            return refuse(e);
        }
        tracing::info!(e = %limits::clip(&self.to_string()), "join refused");
        (StatusCode::BAD_REQUEST, self.to_string()).into_response()
    }
}

/// Token, grant and limits of a join, checked as livekit-server checks them.
fn admit(shared: &ServerShared, headers: &HeaderMap, q: &HashMap<String, String>) -> Result<JoinParams, Refusal> {
    let params = join_params(shared, headers, q)?;
    limits::check_join(&params.grant)?;
    Ok(params)
}

/// The `join_request` of a v1 join, decoded.
fn join_request(q: &HashMap<String, String>) -> Result<proto::JoinRequest, Refusal> {
    let param = q.get("join_request").ok_or(v1::JoinRequestError::Missing)?;
    Ok(v1::decode_join_request(param)?)
}

/// Upgrades to a new session, or hands a resuming client's socket to its session.
/// `resume` is `Some(sid)` for a resume (`None` inside: the client gave no sid).
fn start(
    shared: Arc<ServerShared>,
    upgrade: WebSocketUpgrade,
    params: JoinParams,
    resume: Option<Option<String>>,
    signalling: Signalling,
) -> Response {
    let upgrade = upgrade.max_message_size(MAX_SIGNAL_MESSAGE).max_frame_size(MAX_SIGNAL_MESSAGE);
    let Some(sid) = resume else {
        return upgrade.on_upgrade(move |ws| session::run(shared, ws, params, signalling));
    };
    // The client gets its session back while the server still keeps it
    // (`session::resume`), with the identity it joined with.
    let kept = sid.and_then(|sid| {
        let room = shared.rooms.get(&params.grant.room)?;
        room.participants().into_iter().find(|p| p.sid == sid && p.identity() == params.grant.identity)
    });
    let (v1, offer) = match signalling {
        Signalling::V0 => (false, None),
        Signalling::V1 { offer } => (true, offer),
    };
    match kept {
        Some(p) => {
            upgrade.on_upgrade(move |ws| async move { p.command(Cmd::Resume(Box::new(Resumed { ws, v1, offer }))) })
        }
        None => upgrade.on_upgrade(session::refuse_resume),
    }
}

/// `/rtc` and `/rtc/v1`. v1 joins carry their parameters in `join_request` (see
/// [`session::v1`]); the token, its checks and their answers are the same on both.
async fn rtc(
    State(shared): State<Arc<ServerShared>>,
    uri: Uri,
    headers: HeaderMap,
    Query(q): Params,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Ok(upgrade) = upgrade else { return not_found().await };
    let mut params = match admit(&shared, &headers, &q) {
        Ok(p) => p,
        Err(refused) => return refused.into_response(),
    };
    if uri.path() != "/rtc/v1" {
        let reconnect = q.get("reconnect").map(String::as_str) == Some("1");
        let resume = reconnect.then(|| q.get("sid").cloned());
        return start(shared, upgrade, params, resume, Signalling::V0);
    }
    let join = match join_request(&q) {
        Ok(j) => j,
        Err(refused) => return refused.into_response(),
    };
    if let Some(settings) = &join.connection_settings {
        params.auto_subscribe = settings.auto_subscribe;
    }
    if let Some(info) = &join.client_info {
        params.client_protocol = info.protocol;
        params.reuse_transceivers = reuses_transceivers(info.protocol, &info.browser);
    }
    let resume = join.reconnect.then(|| Some(join.participant_sid.clone()));
    start(shared, upgrade, params, resume, Signalling::V1 { offer: join.publisher_offer })
}

/// Server counters as JSON (lkrtc extension, used by the benchmarks).
async fn stats(State(shared): State<Arc<ServerShared>>) -> Response {
    axum::Json(crate::stats(&shared)).into_response()
}

async fn validate(State(shared): State<Arc<ServerShared>>, headers: HeaderMap, Query(q): Params) -> Response {
    match admit(&shared, &headers, &q) {
        Ok(_) => (StatusCode::OK, "success").into_response(),
        Err(refused) => refused.into_response(),
    }
}

/// `/rtc/v1/validate`: as `/rtc/validate`, and a `join_request` sent along must decode.
async fn validate_v1(State(shared): State<Arc<ServerShared>>, headers: HeaderMap, Query(q): Params) -> Response {
    let checked = admit(&shared, &headers, &q).and_then(|_| {
        if q.contains_key("join_request") {
            join_request(&q).map(|_| ())
        } else {
            Ok(())
        }
    });
    match checked {
        Ok(()) => (StatusCode::OK, "success").into_response(),
        Err(refused) => refused.into_response(),
    }
}

/// A Twirp error answer: HTTP status, Twirp code and message.
#[derive(Debug)]
struct TwirpError {
    status: StatusCode,
    code: &'static str,
    msg: String,
}

impl TwirpError {
    fn new(status: StatusCode, code: &'static str, msg: impl Into<String>) -> Self {
        Self { status, code, msg: msg.into() }
    }

    /// What livekit-server answers a call whose grant is missing.
    fn denied() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", "permissions denied")
    }

    fn no_room(room: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("room {room:?} does not exist"))
    }

    fn no_participant(who: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("participant {who:?} is not in the room"))
    }

    fn unimplemented(method: &str) -> Self {
        Self::new(StatusCode::NOT_IMPLEMENTED, "unimplemented", format!("lkrtc-server does not implement {method}"))
    }
}

/// A value over one of the participant-info limits, as livekit-server answers it.
impl From<limits::InfoLimit> for TwirpError {
    fn from(limit: limits::InfoLimit) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_argument", limit.to_string())
    }
}

/// A request body that does not decode.
impl From<DecodeError> for TwirpError {
    fn from(e: DecodeError) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed", e.to_string())
    }
}

impl IntoResponse for TwirpError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "code": self.code, "msg": self.msg }).to_string();
        (self.status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
    }
}

/// Why a Twirp method body did not decode.
#[derive(Debug, thiserror::Error)]
enum DecodeError {
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Protobuf(#[from] prost::DecodeError),
}

/// A Twirp method body, decoded from JSON or protobuf per the content type.
fn decode<T: Message + Default + serde::de::DeserializeOwned>(json: bool, body: &[u8]) -> Result<T, DecodeError> {
    if json {
        let body = if body.is_empty() { b"{}".as_slice() } else { body };
        Ok(serde_json::from_slice(body)?)
    } else {
        Ok(T::decode(body)?)
    }
}

fn encode<T: Message + serde::Serialize>(json: bool, value: &T) -> Response {
    if json {
        let body = serde_json::to_vec(value).unwrap_or_default();
        ([(header::CONTENT_TYPE, "application/json")], body).into_response()
    } else {
        ([(header::CONTENT_TYPE, "application/protobuf")], value.encode_to_vec()).into_response()
    }
}

async fn twirp(
    State(shared): State<Arc<ServerShared>>,
    axum::extract::Path(method): axum::extract::Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(token) = token(&headers, &HashMap::new()).map(str::to_string) else {
        return TwirpError::new(StatusCode::UNAUTHORIZED, "unauthenticated", "no Authorization bearer token")
            .into_response();
    };
    let claims = match shared.keys.verify(&token) {
        Ok(c) => c,
        Err(e) => return TwirpError::new(StatusCode::UNAUTHORIZED, "unauthenticated", e.to_string()).into_response(),
    };
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.starts_with("application/json"))
        .unwrap_or(true);
    let call = Call { shared: &shared, claims: &claims, method: &method, json, body: &body };
    room_service(&call).unwrap_or_else(IntoResponse::into_response)
}

/// One room-service call being answered.
struct Call<'a> {
    shared: &'a ServerShared,
    claims: &'a livekit_api::access_token::Claims,
    method: &'a str,
    json: bool,
    body: &'a [u8],
}

impl Call<'_> {
    /// The request body, decoded; then the token's grant for it checked. As in
    /// livekit-server, a body that does not decode is refused before the grant is checked,
    /// and a missing grant is Twirp `unauthenticated` (HTTP 401) "permissions denied".
    fn request<T>(&self, grant: impl FnOnce(&T) -> ServiceGrant<'_>) -> Result<T, TwirpError>
    where
        T: Message + Default + serde::de::DeserializeOwned,
    {
        let req = decode::<T>(self.json, self.body)?;
        let grant = grant(&req);
        if !grant.allows(self.claims) {
            tracing::info!(method = self.method, grant = ?grant, "room service call refused");
            return Err(TwirpError::denied());
        }
        Ok(req)
    }

    fn room(&self, name: &str) -> Result<Arc<crate::room::Room>, TwirpError> {
        self.shared.rooms.get(name).ok_or_else(|| TwirpError::no_room(name))
    }

    fn encode<T: Message + serde::Serialize>(&self, value: &T) -> Result<Response, TwirpError> {
        Ok(encode(self.json, value))
    }
}

/// One room-service call (see [`Call::request`] for the order of the checks).
fn room_service(call: &Call<'_>) -> Result<Response, TwirpError> {
    use ServiceGrant::{Admin, Create, List};
    let unimplemented = || Err(TwirpError::unimplemented(call.method));
    match call.method {
        "CreateRoom" => {
            call.request::<proto::CreateRoomRequest>(|_| Create)?;
            unimplemented()
        }
        "ListRooms" => {
            let req = call.request::<proto::ListRoomsRequest>(|_| List)?;
            let rooms = call.shared.rooms.list();
            let rooms = rooms.into_iter().filter(|r| req.names.is_empty() || req.names.contains(&r.name)).collect();
            call.encode(&proto::ListRoomsResponse { rooms })
        }
        "DeleteRoom" => {
            let r = call.request::<proto::DeleteRoomRequest>(|_| Create)?;
            for p in call.room(&r.room)?.participants() {
                p.command(Cmd::Kick(proto::DisconnectReason::RoomDeleted));
            }
            call.encode(&proto::DeleteRoomResponse {})
        }
        "ListParticipants" => {
            let r = call.request::<proto::ListParticipantsRequest>(|r| Admin(&r.room))?;
            let participants = call.shared.rooms.get(&r.room).map(|r| r.participants()).unwrap_or_default();
            call.encode(&proto::ListParticipantsResponse {
                participants: participants.iter().map(|p| p.info()).collect(),
            })
        }
        "GetParticipant" | "RemoveParticipant" | "UpdateParticipant" => participant_call(call),
        "UpdateRoomMetadata" => {
            let r = call.request::<proto::UpdateRoomMetadataRequest>(|r| Admin(&r.room))?;
            if r.metadata.len() > limits::MAX_METADATA_SIZE {
                return Err(limits::InfoLimit::Metadata.into());
            }
            call.encode(&call.room(&r.room)?.set_metadata(r.metadata))
        }
        "MutePublishedTrack" => {
            call.request::<proto::MuteRoomTrackRequest>(|r| Admin(&r.room))?;
            unimplemented()
        }
        "UpdateSubscriptions" => {
            call.request::<proto::UpdateSubscriptionsRequest>(|r| Admin(&r.room))?;
            unimplemented()
        }
        "SendData" => {
            call.request::<proto::SendDataRequest>(|r| Admin(&r.room))?;
            unimplemented()
        }
        "PerformRpc" => {
            call.request::<proto::PerformRpcRequest>(|r| Admin(&r.room))?;
            unimplemented()
        }
        "ForwardParticipant" | "MoveParticipant" => {
            // Both carry (room, identity, destination_room) at the same tags.
            let r = call.request::<proto::MoveParticipantRequest>(|r| Admin(&r.room))?;
            // livekit's EnsureDestRoomPermission: the destination must be the token's too.
            if call.claims.video.destination_room != r.destination_room {
                return Err(TwirpError::denied());
            }
            unimplemented()
        }
        method => Err(TwirpError::new(
            StatusCode::NOT_FOUND,
            "bad_route",
            format!("method {method} is not implemented by lkrtc-server"),
        )),
    }
}

/// The calls on one participant of a room.
fn participant_call(call: &Call<'_>) -> Result<Response, TwirpError> {
    if call.method == "UpdateParticipant" {
        return update_participant(call);
    }
    let r = call.request::<proto::RoomParticipantIdentity>(|r| ServiceGrant::Admin(&r.room))?;
    let room = call.room(&r.room)?;
    let p = room.by_identity(&r.identity).ok_or_else(|| TwirpError::no_participant(&r.identity))?;
    if call.method == "RemoveParticipant" {
        p.command(Cmd::Kick(proto::DisconnectReason::ParticipantRemoved));
        return call.encode(&proto::RemoveParticipantResponse {});
    }
    call.encode(&p.info())
}

/// `UpdateParticipant`: name, metadata and attributes, within livekit-server's limits.
fn update_participant(call: &Call<'_>) -> Result<Response, TwirpError> {
    let r = call.request::<proto::UpdateParticipantRequest>(|r| ServiceGrant::Admin(&r.room))?;
    let room = call.room(&r.room)?;
    let p = room.by_identity(&r.identity).ok_or_else(|| TwirpError::no_participant(&r.identity))?;
    limits::check_info(&r.name, &r.metadata, &r.attributes)?;
    let attributes = limits::merge_attributes(&p.info().attributes, &r.attributes)?;
    let info = p.update_info(|i| {
        if !r.metadata.is_empty() {
            i.metadata = r.metadata.clone();
        }
        if !r.name.is_empty() {
            i.name = r.name.clone();
        }
        i.attributes = attributes;
    });
    p.send(proto::signal_response::Message::Update(proto::ParticipantUpdate { participants: vec![info.clone()] }));
    room.broadcast_info(&p, info.clone());
    call.encode(&info)
}
