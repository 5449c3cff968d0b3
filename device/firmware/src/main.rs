//! A Cortex-M4 firmware for QEMU's mps2-an386 that verifies every bundle of the shared vectors
//! with `certlog_verifier::bundle::verify_bundle` and measures what each verification costs
//! (issue 19, "Firmware for a Cortex-M4" and "Budgets").
//!
//! It prints, per case, its name, the standing or "does not verify: <reason>", whether that is
//! the answer due, and the heap, stack and instructions of the call; then the peaks, and exits
//! through semihosting with success only if every case gave its answer. The `baseline` feature
//! builds the same firmware without the verifier, to measure the verifier's share of flash.

#![no_std]
#![no_main]
// The baseline keeps the vectors in flash but reads only their names and bundles.
#![cfg_attr(feature = "baseline", allow(dead_code))]

extern crate alloc;

#[cfg(not(feature = "baseline"))]
mod check;
mod cycles;
mod heap;
mod measure;
mod stack;
mod vectors;

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};

use crate::heap::{CountingHeap, HEAP_SIZE};
use crate::measure::{Measures, measure};
use crate::vectors::CASES;

#[global_allocator]
static HEAP: CountingHeap = CountingHeap::empty();

#[entry]
fn main() -> ! {
    HEAP.init();
    let Some(peripherals) = cortex_m::Peripherals::take() else {
        exit(false)
    };
    cycles::start(peripherals.SYST);
    let per_tick = cycles::calibrate();
    hprintln!(
        "certlog firmware: {} cases; SysTick: {}.{:03} instructions a tick",
        CASES.len(),
        per_tick / 1000,
        per_tick % 1000
    );
    let (matched, peak) = run_cases(per_tick);
    hprintln!(
        "peak during verify_bundle: {} (heap of {} B)",
        peak,
        HEAP_SIZE
    );
    hprintln!("{} passed, {} failed", matched, CASES.len() - matched);
    exit(matched == CASES.len())
}

/// Verifies every case: how many gave the answer due, and the peak costs.
#[cfg(not(feature = "baseline"))]
fn run_cases(per_tick: u64) -> (usize, Measures) {
    use crate::check::{Keys, Outcome, Request};

    let keys = match Keys::parse() {
        Ok(keys) => keys,
        Err(error) => {
            hprintln!("the manifest's keys do not parse: {}", error);
            return (0, Measures::default());
        }
    };
    hprintln!(
        "verify_bundle's answer, a Result<Verified, BundleError>, takes {} B of its caller's stack",
        core::mem::size_of::<
            Result<certlog_verifier::bundle::Verified, certlog_verifier::bundle::BundleError>,
        >()
    );
    let mut peak = Measures::default();
    let mut matched = 0;
    for case in CASES {
        let Some(request) = Request::new(case, &keys) else {
            hprintln!("{}: {} [MISMATCH]", case.name, Outcome::BadCase);
            continue;
        };
        let (outcome, measures) = measure(per_tick, || request.verify());
        let ok = outcome.matches(case.expect);
        matched += usize::from(ok);
        let mark = if ok { "ok" } else { "MISMATCH" };
        hprintln!("{}: {} [{}]", case.name, outcome, mark);
        if !ok {
            hprintln!("  expected: {}", case.expect);
        }
        hprintln!("  {}", measures);
        peak = peak.max(measures);
    }
    (matched, peak)
}

/// The baseline: the same loop, measures and output, without the verifier.
#[cfg(feature = "baseline")]
fn run_cases(per_tick: u64) -> (usize, Measures) {
    let mut peak = Measures::default();
    for case in CASES {
        let (_, measures) = measure(per_tick, || core::hint::black_box(case).bundle.len());
        hprintln!("{}: not verified (baseline build)", case.name);
        hprintln!("  {}", measures);
        peak = peak.max(measures);
    }
    (CASES.len(), peak)
}

/// Ends QEMU through semihosting, with success or failure.
fn exit(success: bool) -> ! {
    debug::exit(if success {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    #[allow(clippy::empty_loop)]
    loop {}
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    hprintln!("panic: {}", info);
    exit(false)
}
