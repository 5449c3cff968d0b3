//! A per-submitter rate limit: a token bucket for each key name that signed a submission,
//! checked after the signature, so that nobody can spend a certifier's budget but the
//! certifier itself.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

/// Submissions per second for each signer, with bursts of as many.
#[derive(Debug)]
pub struct RateLimit {
    per_second: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimit {
    /// At most `per_second` submissions a second for each signer, in bursts of as many.
    pub fn new(per_second: u32) -> RateLimit {
        RateLimit {
            per_second: f64::from(per_second.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// The limit.
    pub fn per_second(&self) -> f64 {
        self.per_second
    }

    /// Takes one submission from `signer`'s budget at `now`; false when it is spent.
    pub fn take(&self, signer: &str, now: Instant) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let full = Bucket {
            tokens: self.per_second,
            at: now,
        };
        let bucket = buckets.entry(signer.to_owned()).or_insert(full);
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.per_second);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_then_the_rate_each_signer_apart() {
        let limit = RateLimit::new(3);
        let t0 = Instant::now();
        assert!((0..3).all(|_| limit.take("cb1", t0)));
        assert!(!limit.take("cb1", t0));
        // Another signer has its own budget.
        assert!(limit.take("cb2", t0));
        // A third of a second gives one more.
        let t1 = t0 + Duration::from_millis(334);
        assert!(limit.take("cb1", t1));
        assert!(!limit.take("cb1", t1));
        // A long pause refills the burst, no more.
        let t2 = t1 + Duration::from_secs(60);
        assert_eq!((0..10).filter(|_| limit.take("cb1", t2)).count(), 3);
    }
}
