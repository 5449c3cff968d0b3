//! A device without a clock (now = 0): the dates are judged at the latest time known, the
//! floor or the bundle's map head time, and the maximum age against the floor only
//! (src/lib.rs, "Without a clock").

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use certlog_verifier::bundle::{Expected, Options, Policy, Standing, Verified, verify_bundle};
use certlog_verifier_c::{CertlogStanding, CertlogStatus, CertlogTrustedState};
use common::{Inputs, call};

/// The case verified natively at `now`.
fn native(inputs: &Inputs, now: i64) -> Verified {
    let log_key = inputs.log_vkey.to_str().unwrap().parse().unwrap();
    let policy = Policy {
        log_key: &log_key,
        witnesses: &[],
        quorum: 0,
    };
    let expected = Expected::new(
        inputs.scheme.to_str().unwrap(),
        inputs.certificate_id.to_str().unwrap(),
    );
    let options = Options {
        now,
        ..Options::default()
    };
    verify_bundle(&inputs.bundle, &policy, &expected, &options).unwrap()
}

/// The case, without a clock, and with `floor` as its trusted map head time if any.
fn without_clock(name: &str, floor: Option<i64>) -> (Inputs, Verified) {
    let mut inputs = Inputs::of_case(name);
    let verified = native(&inputs, inputs.now);
    inputs.now = 0;
    if let Some(floor) = floor {
        let trusted = inputs.trusted.as_mut().expect("a case with a trusted tree");
        trusted.map_head_time = floor;
    }
    (inputs, verified)
}

#[test]
fn without_time_the_dates_are_judged_at_the_map_head() {
    for name in ["active", "expired", "not-yet-valid", "revoked", "absent"] {
        let (inputs, verified) = without_clock(name, None);
        let head_time = verified.map_head.timestamp;
        let answer = call(&inputs);
        assert_eq!(
            answer.status,
            CertlogStatus::Ok,
            "{name}: {}",
            answer.reason
        );
        let at_head = native(&inputs, head_time).standing;
        assert_eq!(answer.standing, at_head.into(), "{name}");
        assert_eq!(answer.reason, at_head.name());
        assert_eq!(answer.trusted.map_head_time, head_time, "{name}");
    }
}

#[test]
fn a_maximum_age_needs_a_time() {
    let (mut inputs, _) = without_clock("active", None);
    inputs.max_age = 3600;
    let answer = call(&inputs);
    assert_eq!(answer.status, CertlogStatus::BadInput);
    assert_eq!(answer.standing, CertlogStanding::Unknown);
    assert!(
        answer.reason.starts_with("max_age needs a time"),
        "{}",
        answer.reason
    );
}

#[test]
fn the_floor_judges_the_maximum_age() {
    let (mut inputs, verified) = without_clock("active-since-a-trusted-tree", None);
    let head_time = verified.map_head.timestamp;
    let floor = head_time + 100;
    inputs.trusted.as_mut().unwrap().map_head_time = floor;
    inputs.max_age = 60;
    let answer = call(&inputs);
    assert_eq!(answer.status, CertlogStatus::DoesNotVerify);
    assert!(answer.reason.starts_with("stale"), "{}", answer.reason);
    inputs.max_age = 100;
    let answer = call(&inputs);
    assert_eq!(answer.status, CertlogStatus::Ok, "{}", answer.reason);
    // The floor does not go back to the older map head.
    assert_eq!(answer.trusted.map_head_time, floor);
    assert_eq!(answer.trusted.size, verified.checkpoint.checkpoint.size);
}

#[test]
fn the_later_of_the_floor_and_the_map_head_judges_the_dates() {
    let (_, verified) = without_clock("active-since-a-trusted-tree", None);
    let head_time = verified.map_head.timestamp;
    let not_after = verified.certificate.as_ref().unwrap().not_after;
    assert_eq!(verified.standing, Standing::Active);
    // A floor before the map head: the map head's time counts.
    let (inputs, _) = without_clock("active-since-a-trusted-tree", Some(1));
    let answer = call(&inputs);
    assert_eq!(
        answer.standing,
        CertlogStanding::Active,
        "{}",
        answer.reason
    );
    assert_eq!(answer.trusted.map_head_time, head_time);
    // A floor at the certificate's end: it expired, whatever the map head's time.
    let (inputs, _) = without_clock("active-since-a-trusted-tree", Some(not_after));
    let answer = call(&inputs);
    assert_eq!(answer.status, CertlogStatus::Ok, "{}", answer.reason);
    assert_eq!(answer.standing, CertlogStanding::Expired);
    assert_eq!(
        answer.trusted,
        CertlogTrustedState {
            map_head_time: not_after,
            ..answer.trusted
        }
    );
}
