//! Access tokens (HS256 JWTs with LiveKit video grants), for the dev server and tests.

use std::collections::HashMap;
use std::time::Duration;

use livekit_api::access_token::{AccessToken, VideoGrants};
use napi_derive::napi;

use crate::error::{self, ERR_INVALID_ARG, ERR_TOKEN};

/// Video grants, named as in `livekit-server-sdk`. Unset permissions keep LiveKit's
/// defaults (publish/subscribe/data allowed, own-metadata updates refused).
#[napi(object)]
pub struct TokenGrants {
    pub room_join: Option<bool>,
    pub room: Option<String>,
    pub room_create: Option<bool>,
    pub room_list: Option<bool>,
    pub room_record: Option<bool>,
    pub room_admin: Option<bool>,
    pub can_publish: Option<bool>,
    pub can_subscribe: Option<bool>,
    pub can_publish_data: Option<bool>,
    pub can_publish_sources: Option<Vec<String>>,
    pub can_update_own_metadata: Option<bool>,
    pub hidden: Option<bool>,
    pub recorder: Option<bool>,
    pub agent: Option<bool>,
}

/// What `createToken` signs.
#[napi(object)]
pub struct NativeTokenOptions {
    pub api_key: String,
    pub api_secret: String,
    pub identity: String,
    pub name: Option<String>,
    pub metadata: Option<String>,
    pub attributes: Option<HashMap<String, String>>,
    /// Lifetime in seconds (default 6 hours).
    pub ttl_seconds: Option<f64>,
    pub grants: Option<TokenGrants>,
}

/// Signs an access token.
#[napi(catch_unwind)]
pub fn create_token(options: NativeTokenOptions) -> crate::error::Result<String> {
    let g = options.grants.unwrap_or(TokenGrants {
        room_join: None,
        room: None,
        room_create: None,
        room_list: None,
        room_record: None,
        room_admin: None,
        can_publish: None,
        can_subscribe: None,
        can_publish_data: None,
        can_publish_sources: None,
        can_update_own_metadata: None,
        hidden: None,
        recorder: None,
        agent: None,
    });
    let grants = VideoGrants {
        room_create: g.room_create.unwrap_or(false),
        room_list: g.room_list.unwrap_or(false),
        room_record: g.room_record.unwrap_or(false),
        room_admin: g.room_admin.unwrap_or(false),
        room_join: g.room_join.unwrap_or(false),
        room: g.room.unwrap_or_default(),
        can_publish: g.can_publish,
        can_subscribe: g.can_subscribe,
        can_publish_data: g.can_publish_data,
        can_publish_sources: g.can_publish_sources.unwrap_or_default(),
        can_update_own_metadata: g.can_update_own_metadata,
        hidden: g.hidden.unwrap_or(false),
        recorder: g.recorder.unwrap_or(false),
        agent: g.agent.unwrap_or(false),
        ..Default::default()
    };
    let ttl = options.ttl_seconds.unwrap_or(6.0 * 3600.0);
    if !(ttl.is_finite() && ttl > 0.0) {
        return Err(error::coded(ERR_INVALID_ARG, format!("ttl {ttl} must be a positive number of seconds")));
    }
    let mut token = AccessToken::with_api_key(&options.api_key, &options.api_secret)
        .with_identity(&options.identity)
        .with_ttl(Duration::from_secs_f64(ttl))
        .with_grants(grants);
    if let Some(name) = &options.name {
        token = token.with_name(name);
    }
    if let Some(metadata) = &options.metadata {
        token = token.with_metadata(metadata);
    }
    if let Some(attributes) = options.attributes {
        token = token.with_attributes(attributes);
    }
    token.to_jwt().map_err(|e| error::coded(ERR_TOKEN, e))
}
