//! The WebRTC transport shared by the lkrtc client engine and `lkrtc-server`.
//!
//! Both sides run two peer connections per participant (publisher and subscriber) over
//! the `webrtc` 0.21 stack. This crate holds the mechanism they share; each side passes
//! its own policy (ICE servers, ICE-lite, loopback, relay waits, runtime) in options.
//!
//! - [`negotiation`]: a sans-IO offer/answer state machine, one per peer connection.
//! - [`sdp`]: the SDP facts signalling needs (first mid).

pub mod negotiation;
pub mod sdp;

pub use negotiation::{AnswerCheck, Applied, Negotiation, TooManyCandidates};
