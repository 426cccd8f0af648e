//! Server-assigned identifiers (`RM_`, `PA_`, `TR_` prefixes, as clients expect).

use rand::distr::{Alphanumeric, SampleString};

fn make(prefix: &str) -> String {
    format!("{prefix}{}", Alphanumeric.sample_string(&mut rand::rng(), 12))
}

/// A new room sid.
pub fn room_sid() -> String {
    make("RM_")
}

/// A new participant sid.
pub fn participant_sid() -> String {
    make("PA_")
}

/// A new track sid.
pub fn track_sid() -> String {
    make("TR_")
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn prefixes_and_uniqueness() {
        let (a, b) = (super::track_sid(), super::track_sid());
        assert!(a.starts_with("TR_") && a.len() == 15 && a != b);
        assert!(super::room_sid().starts_with("RM_"));
        assert!(super::participant_sid().starts_with("PA_"));
    }
}
