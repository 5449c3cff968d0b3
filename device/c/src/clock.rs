//! The time a bundle is judged at, with a clock or without one (the crate documentation's
//! "Without a clock" says what is and is not checked then).

use certlog_verifier::bundle::{Standing, Verified};

use crate::error::Error;
use crate::types::CertlogTrustedState;

/// What the caller knows of the time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Time {
    /// A trusted clock: seconds since the Unix epoch.
    Clock(i64),
    /// No clock, but the time of the last map head trusted: the time is at least this.
    Floor(i64),
    /// No clock and no floor: nothing is known of the time but what the bundle proves.
    Unknown,
}

impl Time {
    /// `now` as the C caller passes it (0 for no clock), with the trusted state's floor (0 for
    /// none).
    pub(crate) fn new(now: i64, trusted: Option<&CertlogTrustedState>) -> Time {
        match (now, trusted.map(|t| t.map_head_time)) {
            (0, None | Some(0)) => Time::Unknown,
            (0, Some(floor)) => Time::Floor(floor),
            (now, _) => Time::Clock(now),
        }
    }

    /// The `now` given to `verify_bundle`, which judges the map head's age and the validity
    /// dates at it. With no time at all, a maximum age cannot be judged: refused.
    pub(crate) fn now(self, max_age: Option<u64>) -> Result<i64, Error> {
        match self {
            Time::Clock(now) | Time::Floor(now) => Ok(now),
            Time::Unknown if max_age.is_some() => Err(Error::NoTime),
            // The dates are judged again at the map head's time (`standing`).
            Time::Unknown => Ok(0),
        }
    }

    /// The standing, its validity dates judged at the latest time known: the clock, or
    /// without one the later of the floor and the map head's time (the log signed that the map
    /// head was made then, so the time is at least that).
    pub(crate) fn standing(self, verified: &Verified) -> Standing {
        let at = match self {
            Time::Clock(_) => return verified.standing,
            Time::Floor(floor) => floor.max(verified.map_head.timestamp),
            Time::Unknown => verified.map_head.timestamp,
        };
        // verify_bundle answers one of these three exactly when the status record says active
        // and the certifier was not compromised; only the dates tell them apart.
        match (verified.standing, &verified.certificate) {
            (Standing::Active | Standing::Expired | Standing::NotYetValid, Some(c)) => {
                if at >= c.not_after {
                    Standing::Expired
                } else if at < c.not_before {
                    Standing::NotYetValid
                } else {
                    Standing::Active
                }
            }
            (standing, _) => standing,
        }
    }
}

/// The floor to keep from now on: the later of the one trusted and the map head's time, so that
/// it never goes back.
pub(crate) fn next_floor(previous: Option<&CertlogTrustedState>, verified: &Verified) -> i64 {
    let floor = previous.map_or(0, |t| t.map_head_time);
    floor.max(verified.map_head.timestamp)
}
