//! `LocalAudioTrack`: a [`LocalTrack`] fed by an [`AudioSource`].

use std::sync::Arc;

use super::source::AudioSource;
use crate::error::{EngineError, Result};
use crate::media::LocalTrack;

/// An audio track this client can publish: a [`LocalTrack`] (it derefs to one) that
/// remembers its [`AudioSource`].
#[derive(Clone)]
pub struct LocalAudioTrack {
    track: LocalTrack,
    source: AudioSource,
}

impl LocalAudioTrack {
    /// A track named `name` carrying `source`'s audio.
    pub fn new(name: &str, source: &AudioSource) -> Result<Self> {
        if source.is_closed() {
            return Err(EngineError::Disposed("the AudioSource is closed".into()));
        }
        Ok(Self { track: LocalTrack::new(name, Arc::new(source.clone())), source: source.clone() })
    }

    /// The source feeding it.
    pub fn source(&self) -> AudioSource {
        self.source.clone()
    }
}

impl std::ops::Deref for LocalAudioTrack {
    type Target = LocalTrack;
    fn deref(&self) -> &LocalTrack {
        &self.track
    }
}

impl From<LocalAudioTrack> for LocalTrack {
    fn from(t: LocalAudioTrack) -> Self {
        t.track
    }
}
