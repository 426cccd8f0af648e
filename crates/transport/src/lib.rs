//! The WebRTC transport shared by the lkrtc client engine and `lkrtc-server`.
//!
//! Both sides run two peer connections per participant (publisher and subscriber) over
//! the `webrtc` 0.21 stack. This crate holds the mechanism they share; each side passes
//! its own policy (ICE servers, ICE-lite, loopback, relay waits, runtime) in
//! [`PcOptions`].
//!
//! - [`builder`]: a peer connection bound to one address, from [`PcOptions`].
//! - [`events`]: the stack's callbacks as one [`PcEvent`] enum, tagged with the target.
//! - [`negotiation`]: a sans-IO offer/answer state machine, one per peer connection.
//! - [`candidate`]: LiveKit's trickle candidate JSON, both ways.
//! - [`sdp`]: the SDP facts signalling needs (first mid).
//! - [`data`]: the `_reliable` / `_lossy` data channels, reading and watching them.
//! - [`feedback`]: receiver feedback (PLI, FIR, NACK, REMB) handed to the application.
//! - [`codec`]: Opus and encoding parameters as LiveKit negotiates them.

#![deny(missing_docs)]

pub mod builder;
pub mod candidate;
pub mod codec;
pub mod data;
pub mod events;
pub mod feedback;
pub mod negotiation;
pub mod sdp;
pub mod slots;

pub use builder::{build, PcOptions, RtcpFeedback};
pub use events::{CandidateFilter, PcEvent, Target};
pub use negotiation::{AnswerCheck, Applied, Negotiation, TooManyCandidates};
