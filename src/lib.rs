//! lkrtc: napi-rs binding layer (skeleton until the client lands).

use napi_derive::napi;

/// The version of the lkrtc native addon (the crate version).
#[napi]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
