//! certlog_verify_bundle refuses what a C caller can get wrong, says why, and never writes
//! past the reason's buffer.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::ptr;

use certlog_verifier_c::{CertlogStanding, CertlogStatus};
use common::{Inputs, call, call_with};

/// A change of a call's raw arguments.
type Change = fn(&mut common::Raw);

fn active() -> Inputs {
    Inputs::of_case("active")
}

#[test]
fn the_vector_verifies() {
    let answer = call(&active());
    assert_eq!(answer.status, CertlogStatus::Ok, "{}", answer.reason);
    assert_eq!(answer.standing, CertlogStanding::Active);
    assert_eq!(answer.reason, "active");
    assert_ne!(answer.trusted.size, 0);
}

#[test]
fn null_pointers_are_refused_by_name() {
    let inputs = active();
    let cases: [(&str, Change); 6] = [
        ("bundle is NULL", |r| r.bundle = ptr::null()),
        ("log_vkey is NULL", |r| r.log_vkey = ptr::null()),
        ("witness_vkeys is NULL", |r| r.witness_vkeys = ptr::null()),
        ("scheme is NULL", |r| r.scheme = ptr::null()),
        ("certificate_id is NULL", |r| r.certificate_id = ptr::null()),
        ("standing is NULL", |r| r.standing = ptr::null_mut()),
    ];
    for (reason, change) in cases {
        let answer = call_with(&inputs, change);
        assert_eq!(answer.status, CertlogStatus::BadInput, "{reason}");
        assert_eq!(answer.reason, reason);
        if reason != "standing is NULL" {
            assert_eq!(answer.standing, CertlogStanding::Unknown, "{reason}");
        }
    }
    // NULL for a witness key inside the array.
    let witnesses = [ptr::null()];
    let answer = call_with(&inputs, |r| {
        r.witness_vkeys = witnesses.as_ptr();
        r.witness_count = 1;
    });
    assert_eq!(answer.status, CertlogStatus::BadInput);
    assert_eq!(answer.reason, "witness_vkeys is NULL");
}

#[test]
fn optional_pointers_may_be_null() {
    let inputs = active();
    let answer = call_with(&inputs, |r| {
        r.new_trusted = ptr::null_mut();
        r.witness_vkeys = ptr::null();
        r.witness_count = 0;
    });
    assert_eq!(answer.status, CertlogStatus::Ok, "{}", answer.reason);
    assert_eq!(answer.trusted.size, 0, "not written");
    // No reason wanted at all.
    let answer = call_with(&inputs, |r| {
        r.reason = ptr::null_mut();
        r.reason_len = 0;
    });
    assert_eq!(answer.status, CertlogStatus::Ok);
    assert_eq!(answer.standing, CertlogStanding::Active);
    assert_eq!(answer.reason, "(not written)");
}

#[test]
fn a_null_reason_with_a_length_is_refused_without_writing() {
    let inputs = active();
    let witnesses: Vec<_> = inputs.witnesses.iter().map(|w| w.as_ptr()).collect();
    let mut outputs = common::Outputs::default();
    let mut raw = common::Raw::new(&inputs, &witnesses, &mut outputs);
    raw.reason = ptr::null_mut();
    // SAFETY: the pointers of Raw::new, alive here, and a NULL reason.
    #[allow(unsafe_code)]
    let status = unsafe { raw.call() };
    assert_eq!(status, CertlogStatus::BadInput);
    assert_eq!(outputs.reason, [0xff; 256], "nothing written");
}

#[test]
fn text_must_be_utf8() {
    let mut inputs = active();
    inputs.scheme = c"EU\xffCC".into();
    let answer = call(&inputs);
    assert_eq!(answer.status, CertlogStatus::BadInput);
    assert_eq!(answer.reason, "scheme is not UTF-8");
    let mut inputs = active();
    inputs.certifier = Some(c"cb.\xc3".into());
    assert_eq!(call(&inputs).reason, "certifier is not UTF-8");
}

#[test]
fn keys_must_parse() {
    let mut inputs = active();
    inputs.log_vkey = c"vectors.example/log+00000000+AAAA".into();
    let answer = call(&inputs);
    assert_eq!(answer.status, CertlogStatus::BadInput);
    assert!(answer.reason.starts_with("log_vkey: "), "{}", answer.reason);
    // A witness key where the log's is expected: it parses, but cannot verify checkpoints.
    let mut inputs = active();
    inputs.log_vkey = inputs.witnesses[0].clone();
    let answer = call(&inputs);
    assert_eq!(answer.status, CertlogStatus::BadInput, "{}", answer.reason);
}

#[test]
fn bytes_that_are_no_bundle_do_not_verify() {
    let mut inputs = active();
    inputs.bundle.clear();
    let answer = call(&inputs);
    assert_eq!(answer.status, CertlogStatus::DoesNotVerify);
    assert_eq!(answer.standing, CertlogStanding::Unknown);
    assert!(answer.reason.starts_with("not a proof bundle"));
}

#[test]
fn a_small_reason_buffer_gets_a_cut_reason() {
    let inputs = active();
    for (len, reason) in [(1, &b"\0"[..]), (4, b"act\0"), (7, b"active\0")] {
        let witnesses: Vec<_> = inputs.witnesses.iter().map(|w| w.as_ptr()).collect();
        let mut outputs = common::Outputs::default();
        let mut raw = common::Raw::new(&inputs, &witnesses, &mut outputs);
        raw.reason_len = len;
        // SAFETY: the pointers of Raw::new, alive here; the reason's length is below its
        // buffer's.
        #[allow(unsafe_code)]
        let status = unsafe { raw.call() };
        assert_eq!(status, CertlogStatus::Ok);
        assert_eq!(&outputs.reason[..len], reason);
        assert!(outputs.reason[len..].iter().all(|&b| b == 0xff), "{len}");
    }
    // A long reason, cut.
    let mut inputs = active();
    inputs.certificate_id = c"VEC-OTHER".into();
    let answer = call_with(&inputs, |r| r.reason_len = 20);
    assert_eq!(answer.status, CertlogStatus::DoesNotVerify);
    assert_eq!(answer.reason.len(), 19);
    assert!(answer.reason.starts_with("the bundle is for"));
}
