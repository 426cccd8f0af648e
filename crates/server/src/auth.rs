//! Access-token verification: HS256 JWTs as made by `livekit-server-sdk`'s `AccessToken`.

use std::collections::HashMap;

use livekit_api::access_token::{AccessTokenError, Claims, TokenVerifier};
use livekit_protocol as proto;

/// Why a token was refused. Each variant names what the caller has to fix.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No token in the `Authorization` header nor the `access_token` query parameter.
    #[error("no access token: send `Authorization: Bearer <jwt>` or `?access_token=<jwt>`")]
    Missing,
    /// The token could not be decoded at all.
    #[error("malformed access token: {0}")]
    Malformed(#[source] AccessTokenError),
    /// The `iss` claim names an API key this server does not know.
    #[error("unknown API key {0:?} (token `iss`)")]
    UnknownKey(String),
    /// Signature, algorithm, `exp` or `nbf` check failed.
    #[error("invalid access token: {0}")]
    Invalid(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The token is valid but lacks a grant that joining requires (HTTP 401, as
    /// livekit-server answers `permissions denied`).
    #[error("token not allowed to join: {0}")]
    Grant(&'static str),
    /// The join request is incomplete: no identity, or no room in the token nor in the
    /// `room` query parameter (HTTP 400).
    #[error("bad join request: {0}")]
    Request(&'static str),
}

impl AuthError {
    /// HTTP status for this refusal, as livekit-server answers it: 400 for an incomplete
    /// join request, 401 for a bad token or a missing grant.
    pub fn status(&self) -> u16 {
        match self {
            AuthError::Request(_) => 400,
            _ => 401,
        }
    }
}

/// The API keys a server accepts, each with its secret.
#[derive(Clone, Debug, Default)]
pub struct KeyStore {
    keys: HashMap<String, String>,
}

impl KeyStore {
    /// Builds a key store from `(key, secret)` pairs.
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        Self { keys: pairs.into_iter().collect() }
    }

    /// Parses `key:secret,key2:secret2` (the `--keys` / `LIVEKIT_KEYS` format).
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut keys = HashMap::new();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (k, s) =
                item.split_once(':').ok_or_else(|| format!("key entry {item:?} is not of the form key:secret"))?;
            let (k, s) = (k.trim(), s.trim());
            if k.is_empty() || s.is_empty() {
                return Err(format!("key entry {item:?} has an empty key or secret"));
            }
            keys.insert(k.to_string(), s.to_string());
        }
        if keys.is_empty() {
            return Err("no API keys given".into());
        }
        Ok(Self { keys })
    }

    /// The secret for `key`, if known.
    pub fn secret(&self, key: &str) -> Option<&str> {
        self.keys.get(key).map(String::as_str)
    }

    /// Verifies signature (HS256 only), issuer, `exp` and `nbf`; returns the claims.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let unverified = Claims::from_unverified(token).map_err(AuthError::Malformed)?;
        let secret = self.secret(&unverified.iss).ok_or_else(|| AuthError::UnknownKey(unverified.iss.clone()))?;
        let claims = TokenVerifier::with_api_key(&unverified.iss, secret).verify(token).map_err(|e| match e {
            AccessTokenError::Encoding(e) => AuthError::Invalid(Box::new(e)),
            other => AuthError::Invalid(Box::new(other)),
        })?;
        if unverified.exp == 0 {
            return Err(AuthError::Invalid("token has no `exp` claim".into()));
        }
        Ok(claims)
    }

    /// Verifies the token and checks the grants joining a room requires. `room_param` is
    /// the `room` query parameter, used only when the token names no room (as
    /// livekit-server does).
    pub fn verify_join(&self, token: &str, room_param: Option<&str>) -> Result<JoinGrant, AuthError> {
        let claims = self.verify(token)?;
        JoinGrant::from_claims(claims, token, room_param.unwrap_or_default())
    }
}

/// What a verified token allows a joining participant to do.
#[derive(Clone, Debug)]
pub struct JoinGrant {
    /// Participant identity (`sub`, falling back to `jti`).
    pub identity: String,
    /// Display name.
    pub name: String,
    /// Room to join.
    pub room: String,
    /// Initial participant metadata.
    pub metadata: String,
    /// Initial participant attributes.
    pub attributes: HashMap<String, String>,
    /// `kind` claim ("standard", "agent", ...).
    pub kind: String,
    /// May publish tracks.
    pub can_publish: bool,
    /// May subscribe to tracks.
    pub can_subscribe: bool,
    /// May send data packets.
    pub can_publish_data: bool,
    /// Track sources it may publish (`canPublishSources`); empty: every source.
    pub can_publish_sources: Vec<proto::TrackSource>,
    /// May update its own name/metadata/attributes.
    pub can_update_metadata: bool,
    /// Invisible to other participants.
    pub hidden: bool,
    /// Marked as an agent.
    pub agent: bool,
    /// The verified claims, to sign refreshed tokens with.
    pub claims: Claims,
}

impl JoinGrant {
    /// A grant for `identity` in `room` that may publish and subscribe (audio, video, data)
    /// and nothing else: for tests and fuzzing, which make participants without a token.
    #[doc(hidden)]
    pub fn publisher(identity: &str, room: &str) -> Self {
        Self {
            identity: identity.into(),
            name: String::new(),
            room: room.into(),
            metadata: String::new(),
            attributes: Default::default(),
            kind: String::new(),
            can_publish: true,
            can_subscribe: true,
            can_publish_data: true,
            can_publish_sources: Vec::new(),
            can_update_metadata: false,
            hidden: false,
            agent: false,
            claims: Default::default(),
        }
    }

    fn from_claims(claims: Claims, token: &str, room_param: &str) -> Result<Self, AuthError> {
        let v = &claims.video;
        if !v.room_join {
            return Err(AuthError::Grant("the token has no `roomJoin` grant"));
        }
        let identity = if claims.sub.is_empty() { jti(token).unwrap_or_default() } else { claims.sub.clone() };
        if identity.is_empty() {
            return Err(AuthError::Request("the token has no identity (`sub`)"));
        }
        // livekit-server: the token's room wins; the query parameter only fills a gap.
        let room = if v.room.is_empty() { room_param.to_string() } else { v.room.clone() };
        if room.is_empty() {
            return Err(AuthError::Request("no room: the token names none and there is no `room` parameter"));
        }
        let can_publish = v.can_publish.unwrap_or(true);
        Ok(Self {
            identity,
            name: claims.name.clone(),
            room,
            metadata: claims.metadata.clone(),
            attributes: claims.attributes.clone(),
            kind: claims.kind.clone(),
            can_publish,
            can_subscribe: v.can_subscribe.unwrap_or(true),
            // Unset `canPublishData` follows `canPublish` (livekit's `GetCanPublishData`).
            can_publish_data: v.can_publish_data.unwrap_or(can_publish),
            can_publish_sources: v.can_publish_sources.iter().map(|s| source_from_grant(s)).collect(),
            can_update_metadata: v.can_update_own_metadata.unwrap_or(false),
            hidden: v.hidden,
            agent: v.agent || claims.kind == "agent",
            claims,
        })
    }

    /// Whether a track from `source` may be published: `canPublish`, and `source` among
    /// `canPublishSources` when that list is not empty.
    pub fn can_publish_source(&self, source: proto::TrackSource) -> bool {
        self.can_publish && (self.can_publish_sources.is_empty() || self.can_publish_sources.contains(&source))
    }
}

/// A `canPublishSources` entry ("camera", "microphone", "screen_share",
/// "screen_share_audio") as a track source; anything else is `Unknown`.
fn source_from_grant(name: &str) -> proto::TrackSource {
    proto::TrackSource::from_str_name(&name.to_ascii_uppercase()).unwrap_or(proto::TrackSource::Unknown)
}

impl KeyStore {
    /// A fresh token with the same claims as `grant`'s, valid for `ttl` from now (what
    /// `refresh_token` messages carry).
    pub fn refresh(&self, grant: &JoinGrant, ttl: std::time::Duration) -> Result<String, AuthError> {
        let c = &grant.claims;
        let secret = self.secret(&c.iss).ok_or_else(|| AuthError::UnknownKey(c.iss.clone()))?;
        livekit_api::access_token::AccessToken::with_api_key(&c.iss, secret)
            .with_identity(&grant.identity)
            .with_name(&c.name)
            .with_kind(&c.kind)
            .with_metadata(&c.metadata)
            .with_attributes(c.attributes.clone())
            .with_grants(c.video.clone())
            .with_ttl(ttl)
            .to_jwt()
            .map_err(|e| AuthError::Invalid(Box::new(e)))
    }
}

/// Reads the `jti` claim without verification (only called after verification succeeded).
fn jti(token: &str) -> Option<String> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    v.get("jti")?.as_str().map(str::to_string)
}

/// What a room-service (Twirp) method requires of the caller's token. The rules are
/// livekit-server's (`EnsureListPermission`, `EnsureCreatePermission`,
/// `EnsureAdminPermission`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceGrant<'a> {
    /// `roomList` (`ListRooms`).
    List,
    /// `roomCreate` (`CreateRoom`, `DeleteRoom`; any room).
    Create,
    /// `roomAdmin` *and* the token's `room` equal to this one (every participant- or
    /// room-scoped call). A `roomAdmin` token without a room reaches no room.
    Admin(&'a str),
}

impl ServiceGrant<'_> {
    /// Whether `claims` (already verified) carry this grant.
    pub fn allows(self, claims: &Claims) -> bool {
        let v = &claims.video;
        match self {
            ServiceGrant::List => v.room_list,
            ServiceGrant::Create => v.room_create,
            ServiceGrant::Admin(room) => v.room_admin && v.room == room,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use livekit_api::access_token::{AccessToken, VideoGrants};
    use std::time::Duration;

    fn store() -> KeyStore {
        KeyStore::parse("devkey:secret,other:othersecret").unwrap()
    }

    fn token(key: &str, secret: &str, grants: VideoGrants, ttl: Duration) -> String {
        AccessToken::with_api_key(key, secret)
            .with_identity("alice")
            .with_grants(grants)
            .with_ttl(ttl)
            .to_jwt()
            .unwrap()
    }

    fn join_grants() -> VideoGrants {
        VideoGrants { room_join: true, room: "r1".into(), ..Default::default() }
    }

    #[test]
    fn accepts_valid_token_for_each_key() {
        let g = store().verify_join(&token("devkey", "secret", join_grants(), Duration::from_secs(60)), None).unwrap();
        assert_eq!((g.identity.as_str(), g.room.as_str()), ("alice", "r1"));
        assert!(g.can_publish && g.can_subscribe && g.can_publish_data && !g.can_update_metadata);
        store().verify_join(&token("other", "othersecret", join_grants(), Duration::from_secs(60)), None).unwrap();
    }

    #[test]
    fn rejects_wrong_secret_and_unknown_key() {
        let err =
            store().verify_join(&token("devkey", "nope", join_grants(), Duration::from_secs(60)), None).unwrap_err();
        assert!(matches!(err, AuthError::Invalid(_)), "{err}");
        let err =
            store().verify_join(&token("ghost", "secret", join_grants(), Duration::from_secs(60)), None).unwrap_err();
        assert!(matches!(err, AuthError::UnknownKey(ref k) if k == "ghost"), "{err}");
    }

    /// Signs an arbitrary header and payload with HS256.
    fn sign(header: &str, payload: &str, secret: &str) -> String {
        use hmac::{Hmac, Mac};
        let b64 = |s: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(input.as_bytes());
        format!("{input}.{}", b64(&mac.finalize().into_bytes()))
    }

    #[test]
    fn rejects_expired_and_not_yet_valid_tokens() {
        let header = r#"{"alg":"HS256","typ":"JWT"}"#;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let claims = |nbf: u64, exp: u64| {
            format!(r#"{{"iss":"devkey","sub":"a","nbf":{nbf},"exp":{exp},"video":{{"roomJoin":true,"room":"r1"}}}}"#)
        };
        // Sanity: the hand-made token is accepted when its times are right.
        store().verify_join(&sign(header, &claims(now - 10, now + 600), "secret"), None).unwrap();
        let expired = sign(header, &claims(now - 7200, now - 3600), "secret");
        assert!(matches!(store().verify_join(&expired, None).unwrap_err(), AuthError::Invalid(_)));
        let early = sign(header, &claims(now + 3600, now + 7200), "secret");
        assert!(matches!(store().verify_join(&early, None).unwrap_err(), AuthError::Invalid(_)));
        let no_exp = sign(header, r#"{"iss":"devkey","sub":"a","video":{"roomJoin":true,"room":"r1"}}"#, "secret");
        assert!(store().verify_join(&no_exp, None).is_err(), "exp is required");
    }

    #[test]
    fn rejects_missing_grants() {
        let no_join = VideoGrants { room: "r1".into(), ..Default::default() };
        let err = store().verify_join(&token("devkey", "secret", no_join, Duration::from_secs(60)), None).unwrap_err();
        assert!(matches!(err, AuthError::Grant(_)) && err.status() == 401, "{err}");
        let exp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 600;
        let header = r#"{"alg":"HS256","typ":"JWT"}"#;
        let no_room = format!(r#"{{"iss":"devkey","sub":"a","exp":{exp},"video":{{"roomJoin":true}}}}"#);
        let err = store().verify_join(&sign(header, &no_room, "secret"), None).unwrap_err();
        assert!(matches!(err, AuthError::Request(_)) && err.status() == 400, "{err}");
        // livekit-server takes the room from the `room` parameter when the token names none.
        assert_eq!(store().verify_join(&sign(header, &no_room, "secret"), Some("r9")).unwrap().room, "r9");
        let no_identity = format!(r#"{{"iss":"devkey","exp":{exp},"video":{{"roomJoin":true,"room":"r1"}}}}"#);
        let err = store().verify_join(&sign(header, &no_identity, "secret"), None).unwrap_err();
        assert!(matches!(err, AuthError::Request(_)) && err.status() == 400, "{err}");
    }

    #[test]
    fn rejects_alg_none_and_other_algorithms() {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let exp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 600;
        let payload =
            b64(&format!(r#"{{"iss":"devkey","sub":"mallory","exp":{exp},"video":{{"roomJoin":true,"room":"r1"}}}}"#));
        for header in [r#"{"alg":"none","typ":"JWT"}"#, r#"{"alg":"HS512","typ":"JWT"}"#] {
            let jwt = format!("{}.{}.", b64(header), payload);
            assert!(store().verify_join(&jwt, None).is_err(), "{header} accepted");
        }
        let malformed = store().verify_join("not-a-jwt", None).unwrap_err();
        assert!(matches!(malformed, AuthError::Malformed(_)));
        let source = std::error::Error::source(&malformed);
        assert!(source.is_some_and(|s| s.is::<AccessTokenError>()), "the decoder's error is kept: {malformed:?}");
    }

    #[test]
    fn grants_are_carried() {
        let g = VideoGrants {
            can_publish: Some(false),
            can_publish_data: Some(false),
            can_update_own_metadata: Some(true),
            hidden: true,
            ..join_grants()
        };
        let g = store().verify_join(&token("devkey", "secret", g, Duration::from_secs(60)), None).unwrap();
        assert!(!g.can_publish && !g.can_publish_data && g.can_update_metadata && g.hidden && g.can_subscribe);
    }

    #[test]
    fn token_room_wins_over_the_room_parameter() {
        let g = store().verify_join(&token("devkey", "secret", join_grants(), Duration::from_secs(60)), Some("other"));
        assert_eq!(g.unwrap().room, "r1");
    }

    #[test]
    fn publish_data_follows_publish_when_unset() {
        let g = VideoGrants { can_publish: Some(false), ..join_grants() };
        let g = store().verify_join(&token("devkey", "secret", g, Duration::from_secs(60)), None).unwrap();
        assert!(!g.can_publish_data, "unset canPublishData follows canPublish, as livekit's GetCanPublishData");
        let g = VideoGrants { can_publish: Some(false), can_publish_data: Some(true), ..join_grants() };
        assert!(
            store().verify_join(&token("devkey", "secret", g, Duration::from_secs(60)), None).unwrap().can_publish_data
        );
    }

    #[test]
    fn publish_sources_limit_what_may_be_published() {
        use proto::TrackSource as S;
        let g = store().verify_join(&token("devkey", "secret", join_grants(), Duration::from_secs(60)), None).unwrap();
        assert!([S::Camera, S::Microphone, S::ScreenShare, S::Unknown].iter().all(|s| g.can_publish_source(*s)));
        let g = VideoGrants { can_publish_sources: vec!["microphone".into(), "screen_share".into()], ..join_grants() };
        let g = store().verify_join(&token("devkey", "secret", g, Duration::from_secs(60)), None).unwrap();
        assert!(g.can_publish_source(S::Microphone) && g.can_publish_source(S::ScreenShare));
        assert!(!g.can_publish_source(S::Camera) && !g.can_publish_source(S::ScreenShareAudio));
        assert!(!g.can_publish_source(S::Unknown));
        let g = VideoGrants { can_publish: Some(false), ..join_grants() };
        let g = store().verify_join(&token("devkey", "secret", g, Duration::from_secs(60)), None).unwrap();
        assert!(!g.can_publish_source(S::Microphone));
    }

    #[test]
    fn service_grants_are_livekits() {
        let claims = |v: VideoGrants| store().verify(&token("devkey", "secret", v, Duration::from_secs(60))).unwrap();
        let admin_r1 = claims(VideoGrants { room_admin: true, room: "r1".into(), ..Default::default() });
        assert!(ServiceGrant::Admin("r1").allows(&admin_r1));
        assert!(!ServiceGrant::Admin("r2").allows(&admin_r1));
        assert!(!ServiceGrant::List.allows(&admin_r1) && !ServiceGrant::Create.allows(&admin_r1));
        let admin_any = claims(VideoGrants { room_admin: true, ..Default::default() });
        assert!(!ServiceGrant::Admin("r1").allows(&admin_any), "roomAdmin without a room reaches no room");
        let create = claims(VideoGrants { room_create: true, ..Default::default() });
        assert!(ServiceGrant::Create.allows(&create) && !ServiceGrant::List.allows(&create));
        let list = claims(VideoGrants { room_list: true, ..Default::default() });
        assert!(ServiceGrant::List.allows(&list) && !ServiceGrant::Admin("r1").allows(&list));
    }

    #[test]
    fn parses_key_specs() {
        assert!(KeyStore::parse("").is_err());
        assert!(KeyStore::parse("novalue").is_err());
        assert!(KeyStore::parse("k:").is_err());
        assert_eq!(KeyStore::parse(" a:b , c:d ").unwrap().secret("c"), Some("d"));
    }
}
