//! HTTP surface: `/rtc` (WebSocket signalling v0), `/rtc/validate`, 404 for the v1
//! endpoints so clients fall back to v0, and the Twirp room service. Every response
//! carries livekit-server's CORS headers (see [`cors`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::Request;
use axum::extract::{Query, State, WebSocketUpgrade};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use livekit_protocol as proto;
use prost::Message;
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer, ExposeHeaders};

use crate::auth::{AuthError, ServiceGrant};
use crate::participant::{Cmd, JoinParams};
use crate::{session, ServerShared};

use crate::limits::{self, MAX_SIGNAL_MESSAGE};

type Params = Query<HashMap<String, String>>;

/// The server's routes.
pub fn router(shared: Arc<ServerShared>) -> Router {
    Router::new()
        .route("/rtc", get(rtc))
        .route("/rtc/validate", get(validate))
        .route("/rtc/v1", any(not_found))
        .route("/rtc/v1/validate", any(not_found))
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
    })
}

async fn rtc(
    State(shared): State<Arc<ServerShared>>,
    headers: HeaderMap,
    Query(q): Params,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Ok(upgrade) = upgrade else { return not_found().await };
    let params = match join_params(&shared, &headers, &q) {
        Ok(p) => p,
        Err(e) => return refuse(&e),
    };
    if let Err(e) = limits::check_join(&params.grant) {
        tracing::info!(%e, "join refused");
        return (StatusCode::BAD_REQUEST, e).into_response();
    }
    if q.get("reconnect").map(String::as_str) == Some("1") {
        // Resuming is not supported: tell the client to do a full reconnect.
        return upgrade.on_upgrade(session::refuse_resume);
    }
    upgrade
        .max_message_size(MAX_SIGNAL_MESSAGE)
        .max_frame_size(MAX_SIGNAL_MESSAGE)
        .on_upgrade(move |ws| session::run(shared, ws, params))
}

/// Server counters as JSON (lkrtc extension, used by the benchmarks).
async fn stats(State(shared): State<Arc<ServerShared>>) -> Response {
    axum::Json(crate::stats(&shared)).into_response()
}

async fn validate(State(shared): State<Arc<ServerShared>>, headers: HeaderMap, Query(q): Params) -> Response {
    match join_params(&shared, &headers, &q) {
        Ok(p) => match limits::check_join(&p.grant) {
            Ok(()) => (StatusCode::OK, "success").into_response(),
            Err(e) => (StatusCode::BAD_REQUEST, e).into_response(),
        },
        Err(e) => (StatusCode::from_u16(e.status()).unwrap_or(StatusCode::UNAUTHORIZED), e.to_string()).into_response(),
    }
}

fn twirp_error(status: StatusCode, code: &str, msg: &str) -> Response {
    let body = serde_json::json!({ "code": code, "msg": msg }).to_string();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// A value over one of the participant-info limits, as livekit-server answers it.
fn over_limit(limit: limits::InfoLimit) -> Response {
    twirp_error(StatusCode::BAD_REQUEST, "invalid_argument", &limit.to_string())
}

/// A Twirp method body, decoded from JSON or protobuf per the content type.
fn decode<T: Message + Default + serde::de::DeserializeOwned>(json: bool, body: &[u8]) -> Result<T, String> {
    if json {
        let body = if body.is_empty() { b"{}".as_slice() } else { body };
        serde_json::from_slice(body).map_err(|e| e.to_string())
    } else {
        T::decode(body).map_err(|e| e.to_string())
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
        return twirp_error(StatusCode::UNAUTHORIZED, "unauthenticated", "no Authorization bearer token");
    };
    let claims = match shared.keys.verify(&token) {
        Ok(c) => c,
        Err(e) => return twirp_error(StatusCode::UNAUTHORIZED, "unauthenticated", &e.to_string()),
    };
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.starts_with("application/json"))
        .unwrap_or(true);
    room_service(&shared, &claims, &method, json, &body)
}

/// One room-service call. As in livekit-server, the body is decoded first, then the
/// token's grant for the method is checked (see [`ServiceGrant`]); a missing grant is
/// Twirp `unauthenticated` (HTTP 401) "permissions denied", what livekit-server answers.
fn room_service(
    shared: &ServerShared,
    claims: &livekit_api::access_token::Claims,
    method: &str,
    json: bool,
    body: &[u8],
) -> Response {
    use ServiceGrant::{Admin, Create, List};
    macro_rules! req {
        ($t:ty) => {
            match decode::<$t>(json, body) {
                Ok(r) => r,
                Err(e) => return twirp_error(StatusCode::BAD_REQUEST, "malformed", &e),
            }
        };
    }
    macro_rules! ensure {
        ($grant:expr) => {
            if !$grant.allows(claims) {
                tracing::info!(method, grant = ?$grant, "room service call refused");
                return twirp_error(StatusCode::UNAUTHORIZED, "unauthenticated", "permissions denied");
            }
        };
    }
    let no_room =
        |room: &str| twirp_error(StatusCode::NOT_FOUND, "not_found", &format!("room {room:?} does not exist"));
    let no_participant =
        |who: &str| twirp_error(StatusCode::NOT_FOUND, "not_found", &format!("participant {who:?} is not in the room"));
    let unimplemented = || {
        twirp_error(StatusCode::NOT_IMPLEMENTED, "unimplemented", &format!("lkrtc-server does not implement {method}"))
    };
    match method {
        "CreateRoom" => {
            req!(proto::CreateRoomRequest);
            ensure!(Create);
            unimplemented()
        }
        "ListRooms" => {
            let req = req!(proto::ListRoomsRequest);
            ensure!(List);
            let rooms = shared
                .rooms
                .list()
                .into_iter()
                .filter(|r| req.names.is_empty() || req.names.contains(&r.name))
                .collect();
            encode(json, &proto::ListRoomsResponse { rooms })
        }
        "DeleteRoom" => {
            let r = req!(proto::DeleteRoomRequest);
            ensure!(Create);
            let Some(room) = shared.rooms.get(&r.room) else { return no_room(&r.room) };
            for p in room.participants() {
                p.command(Cmd::Kick(proto::DisconnectReason::RoomDeleted));
            }
            encode(json, &proto::DeleteRoomResponse {})
        }
        "ListParticipants" => {
            let r = req!(proto::ListParticipantsRequest);
            ensure!(Admin(&r.room));
            let participants = shared.rooms.get(&r.room).map(|r| r.participants()).unwrap_or_default();
            let participants = participants.iter().map(|p| p.info()).collect();
            encode(json, &proto::ListParticipantsResponse { participants })
        }
        "GetParticipant" => {
            let r = req!(proto::RoomParticipantIdentity);
            ensure!(Admin(&r.room));
            let Some(room) = shared.rooms.get(&r.room) else { return no_room(&r.room) };
            let Some(p) = room.by_identity(&r.identity) else { return no_participant(&r.identity) };
            encode(json, &p.info())
        }
        "RemoveParticipant" => {
            let r = req!(proto::RoomParticipantIdentity);
            ensure!(Admin(&r.room));
            let Some(room) = shared.rooms.get(&r.room) else { return no_room(&r.room) };
            let Some(p) = room.by_identity(&r.identity) else { return no_participant(&r.identity) };
            p.command(Cmd::Kick(proto::DisconnectReason::ParticipantRemoved));
            encode(json, &proto::RemoveParticipantResponse {})
        }
        "UpdateRoomMetadata" => {
            let r = req!(proto::UpdateRoomMetadataRequest);
            ensure!(Admin(&r.room));
            if r.metadata.len() > limits::MAX_METADATA_SIZE {
                return over_limit(limits::InfoLimit::Metadata);
            }
            let Some(room) = shared.rooms.get(&r.room) else { return no_room(&r.room) };
            encode(json, &room.set_metadata(r.metadata))
        }
        "UpdateParticipant" => {
            let r = req!(proto::UpdateParticipantRequest);
            ensure!(Admin(&r.room));
            let Some(room) = shared.rooms.get(&r.room) else { return no_room(&r.room) };
            let Some(p) = room.by_identity(&r.identity) else { return no_participant(&r.identity) };
            let checked = limits::check_info(&r.name, &r.metadata, &r.attributes)
                .and_then(|()| limits::merge_attributes(&p.info().attributes, &r.attributes));
            let attributes = match checked {
                Ok(a) => a,
                Err(limit) => return over_limit(limit),
            };
            let info = p.update_info(|i| {
                if !r.metadata.is_empty() {
                    i.metadata = r.metadata.clone();
                }
                if !r.name.is_empty() {
                    i.name = r.name.clone();
                }
                i.attributes = attributes;
            });
            p.send(proto::signal_response::Message::Update(proto::ParticipantUpdate {
                participants: vec![info.clone()],
            }));
            room.broadcast_info(&p, info.clone());
            encode(json, &info)
        }
        "MutePublishedTrack" => {
            let r = req!(proto::MuteRoomTrackRequest);
            ensure!(Admin(&r.room));
            unimplemented()
        }
        "UpdateSubscriptions" => {
            let r = req!(proto::UpdateSubscriptionsRequest);
            ensure!(Admin(&r.room));
            unimplemented()
        }
        "SendData" => {
            let r = req!(proto::SendDataRequest);
            ensure!(Admin(&r.room));
            unimplemented()
        }
        "PerformRpc" => {
            let r = req!(proto::PerformRpcRequest);
            ensure!(Admin(&r.room));
            unimplemented()
        }
        "ForwardParticipant" | "MoveParticipant" => {
            // Both carry (room, identity, destination_room) at the same tags.
            let r = req!(proto::MoveParticipantRequest);
            ensure!(Admin(&r.room));
            // livekit's EnsureDestRoomPermission: the destination must be the token's too.
            if claims.video.destination_room != r.destination_room {
                return twirp_error(StatusCode::UNAUTHORIZED, "unauthenticated", "permissions denied");
            }
            unimplemented()
        }
        _ => twirp_error(
            StatusCode::NOT_FOUND,
            "bad_route",
            &format!("method {method} is not implemented by lkrtc-server"),
        ),
    }
}
