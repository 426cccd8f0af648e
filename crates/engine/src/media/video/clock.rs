//! RTP time of captured frames, without I/O: from the app's capture timestamps (µs) when it
//! gives them, else from the source's wall clock. Both count 90 kHz ticks on one line: the
//! first stamped frame is anchored at the wall-clock tick it arrived at, later ones follow
//! their stamps from there. RTP time never goes back, and two frames never share it: a
//! stamped frame that would is dropped (libwebrtc drops such frames too), an unstamped one is
//! moved one tick on.

use crate::error::{EngineError, Result};

/// Video's RTP clock: 90 kHz, so 9 ticks per 100 µs.
fn ticks_of_us(us: u64) -> u64 {
    us.saturating_mul(9) / 100
}

/// Where a source's frames sit in RTP time.
#[derive(Debug, Default)]
pub struct CaptureClock {
    /// The first stamped frame: its stamp (µs) and its tick.
    anchor: Option<(u64, u64)>,
    /// The tick of the last frame sent on.
    last: Option<u64>,
}

impl CaptureClock {
    /// The tick of a frame captured `elapsed_us` after the source was made, stamped
    /// `stamp_us` by the app (if it did): `Ok(None)` drops the frame (its stamp is not after
    /// the last one), a negative stamp is `ERR_INVALID_ARG`.
    pub fn tick(&mut self, elapsed_us: u64, stamp_us: Option<i64>) -> Result<Option<u64>> {
        let wall = ticks_of_us(elapsed_us);
        let tick = match stamp_us {
            None => self.last.map_or(wall, |last| wall.max(last + 1)),
            Some(us) => {
                let us = u64::try_from(us)
                    .map_err(|_| EngineError::InvalidArgument(format!("timestampUs {us} is negative")))?;
                let (anchor_us, anchor_tick) =
                    *self.anchor.get_or_insert((us, self.last.map_or(wall, |last| wall.max(last + 1))));
                let Some(since) = us.checked_sub(anchor_us) else { return Ok(None) };
                let tick = anchor_tick.saturating_add(ticks_of_us(since));
                if self.last.is_some_and(|last| tick <= last) {
                    return Ok(None);
                }
                tick
            }
        };
        self.last = Some(tick);
        Ok(Some(tick))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_set_the_spacing_and_the_wall_clock_the_start() {
        let mut clock = CaptureClock::default();
        // The app's clock starts at some arbitrary value; frames arrive bunched up.
        let base = 7_000_000_000_i64;
        assert_eq!(clock.tick(1_000_000, Some(base)).unwrap(), Some(90_000));
        assert_eq!(clock.tick(1_000_100, Some(base + 33_333)).unwrap(), Some(90_000 + 2_999));
        assert_eq!(clock.tick(1_000_200, Some(base + 66_667)).unwrap(), Some(90_000 + 6_000));
    }

    #[test]
    fn without_stamps_the_wall_clock_and_never_twice_the_same_tick() {
        let mut clock = CaptureClock::default();
        assert_eq!(clock.tick(0, None).unwrap(), Some(0));
        assert_eq!(clock.tick(0, None).unwrap(), Some(1));
        assert_eq!(clock.tick(1_000_000, None).unwrap(), Some(90_000));
    }

    #[test]
    fn stamps_going_back_drop_the_frame_and_negative_ones_are_refused() {
        let mut clock = CaptureClock::default();
        assert_eq!(clock.tick(0, Some(500_000)).unwrap(), Some(0));
        assert_eq!(clock.tick(10, Some(400_000)).unwrap(), None, "before the anchor");
        assert_eq!(clock.tick(20, Some(533_333)).unwrap(), Some(2_999));
        assert_eq!(clock.tick(30, Some(533_333)).unwrap(), None, "the same stamp again");
        assert_eq!(clock.tick(40, Some(520_000)).unwrap(), None, "back in time");
        assert_eq!(clock.tick(50, Some(-1)).unwrap_err().code(), "ERR_INVALID_ARG");
        assert_eq!(
            clock.tick(60, Some(i64::MAX)).unwrap().map(|t| t > 2_999),
            Some(true),
            "garbage far ahead saturates"
        );
    }
}
