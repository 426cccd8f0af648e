//! CORS as livekit-server sends it (`rs/cors` configured in its `pkg/service/server.go`):
//! every response to a request with an `Origin` — successes, 404s, 401s, Twirp — lets the
//! page read it, and preflights are answered. Raw HTTP requests to an in-process server.

use livekit_api::access_token::{AccessToken, VideoGrants};

mod common;

use common::{raw_http, server, Reply};

const ORIGIN: &str = "http://app.example:5173";

fn jwt(grants: VideoGrants) -> String {
    AccessToken::with_api_key("devkey", "secret").with_identity("web").with_grants(grants).to_jwt().unwrap()
}

fn join_token() -> String {
    jwt(VideoGrants { room_join: true, room: "r1".into(), ..Default::default() })
}

async fn request(server: &lkrtc_server::Server, method: &str, path: &str, extra: &str, body: &str) -> Reply {
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: lkrtc\r\nOrigin: {ORIGIN}\r\n{extra}Content-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    raw_http(server, &req).await
}

/// `reply` has `status` and the headers a page needs to read an actual (non-preflight) response.
fn assert_readable(reply: &Reply, status: u16, what: &str) {
    assert_eq!(reply.status, status, "{what}: {}", reply.body);
    let h = &reply.headers;
    assert_eq!(h.get("access-control-allow-origin").map(String::as_str), Some(ORIGIN), "{what}: {:?}", h);
    assert_eq!(h.get("access-control-expose-headers").map(String::as_str), Some("*"), "{what}");
    assert!(h.get("vary").is_some_and(|v| v.to_ascii_lowercase().contains("origin")), "{what}: Vary: Origin");
    assert!(!h.contains_key("access-control-allow-credentials"), "{what}: credentials are not allowed");
}

#[tokio::test]
async fn preflight_is_answered_for_every_route() {
    let server = server().await;
    for (path, method, headers) in [
        ("/rtc/v1/validate", "GET", "authorization"),
        ("/rtc/validate", "GET", "authorization"),
        ("/rtc", "GET", "authorization"),
        ("/twirp/livekit.RoomService/ListRooms", "POST", "authorization,content-type"),
        ("/nowhere", "DELETE", "x-custom"),
    ] {
        let extra = format!("Access-Control-Request-Method: {method}\r\nAccess-Control-Request-Headers: {headers}\r\n");
        let reply = request(&server, "OPTIONS", path, &extra, "").await;
        let h = &reply.headers;
        assert_eq!(reply.status, 204, "preflight {path}");
        assert!(reply.body.is_empty(), "preflight {path} has no body");
        assert_eq!(h.get("access-control-allow-origin").map(String::as_str), Some(ORIGIN), "{path}");
        let methods = h.get("access-control-allow-methods").cloned().unwrap_or_default();
        for m in ["OPTIONS", "HEAD", "GET", "POST", "PATCH", "DELETE"] {
            assert!(methods.split(',').any(|x| x.trim() == m), "{path}: {m} not in {methods:?}");
        }
        assert_eq!(h.get("access-control-allow-headers").map(String::as_str), Some(headers), "{path}");
        assert_eq!(h.get("access-control-max-age").map(String::as_str), Some("86400"), "{path}");
        assert!(!h.contains_key("access-control-allow-credentials"), "{path}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn not_found_and_validate_carry_cors() {
    let server = server().await;
    let token = join_token();
    let auth = format!("Authorization: Bearer {token}\r\n");
    // Unknown paths, and a GET of /rtc/v1 that is not a WebSocket upgrade: 404, readable.
    for path in ["/rtc/v1?room=r1", "/nowhere"] {
        let reply = request(&server, "GET", path, &auth, "").await;
        assert_readable(&reply, 404, path);
    }
    // livekit-client validates v1 first (and reads its errors), then v0 on fallback.
    let reply = request(&server, "GET", "/rtc/v1/validate?room=r1", &auth, "").await;
    assert_readable(&reply, 200, "/rtc/v1/validate");
    let reply = request(&server, "GET", "/rtc/v1/validate?room=r1", "", "").await;
    assert_readable(&reply, 401, "/rtc/v1/validate without token");
    // A GET of /rtc that is not a WebSocket upgrade is a 404 too.
    let reply = request(&server, "GET", "/rtc?room=r1", &auth, "").await;
    assert_readable(&reply, 404, "/rtc without upgrade");
    // The v0 fallback validates.
    let reply = request(&server, "GET", "/rtc/validate?room=r1", &auth, "").await;
    assert_readable(&reply, 200, "/rtc/validate");
    assert_eq!(reply.body, "success");
    server.shutdown().await;
}

#[tokio::test]
async fn errors_carry_cors() {
    let server = server().await;
    let reply = request(&server, "GET", "/rtc/validate?room=r1", "", "").await;
    assert_readable(&reply, 401, "validate without token");
    let reply = request(&server, "GET", "/rtc/validate?room=r1&access_token=not.a.jwt", "", "").await;
    assert_readable(&reply, 401, "validate with a bad token");
    let upgrade = "Connection: Upgrade, close\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
                   Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    let req =
        format!("GET /rtc?room=r1&access_token=not.a.jwt HTTP/1.1\r\nHost: lkrtc\r\nOrigin: {ORIGIN}\r\n{upgrade}\r\n");
    let reply = raw_http(&server, &req).await;
    assert_readable(&reply, 401, "/rtc with a bad token");
    server.shutdown().await;
}

#[tokio::test]
async fn twirp_carries_cors() {
    let server = server().await;
    let json = "Content-Type: application/json\r\n";
    let path = "/twirp/livekit.RoomService/ListRooms";
    let reply = request(&server, "POST", path, json, "{}").await;
    assert_readable(&reply, 401, "Twirp 401");
    let admin = jwt(VideoGrants { room_list: true, ..Default::default() });
    let reply = request(&server, "POST", path, &format!("{json}Authorization: Bearer {admin}\r\n"), "{}").await;
    assert_readable(&reply, 200, "Twirp 200");
    let reply = request(
        &server,
        "POST",
        "/twirp/livekit.RoomService/Nope",
        &format!("{json}Authorization: Bearer {admin}\r\n"),
        "{}",
    )
    .await;
    assert_readable(&reply, 404, "Twirp bad_route");
    server.shutdown().await;
}

#[tokio::test]
async fn no_origin_no_cors_headers() {
    // As rs/cors: a request without Origin (a server-side SDK) gets no CORS headers.
    let server = server().await;
    let reply = raw_http(&server, "GET /rtc/v1/validate HTTP/1.1\r\nHost: lkrtc\r\nConnection: close\r\n\r\n").await;
    assert_eq!(reply.status, 401);
    assert!(!reply.headers.contains_key("access-control-allow-origin"), "{:?}", reply.headers);
    server.shutdown().await;
}
