//! Instructions counted with SysTick under QEMU's `-icount shift=0`, where every instruction
//! advances the virtual clock by 1 ns: SysTick, on the processor clock (25 MHz on mps2-an386),
//! then ticks once every 40 instructions. QEMU 7.2 does not emulate the DWT cycle counter.
//!
//! [`calibrate`] checks the ratio on a loop of a known number of instructions rather than
//! trusting it, so a run without `-icount` shows nonsense instead of plausible figures.

use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;

/// SysTick counts down from this (its 24 bits) to 0, then interrupts.
const RELOAD: u32 = 0x00FF_FFFF;

/// How many times SysTick went through 0.
static WRAPS: AtomicU32 = AtomicU32::new(0);

#[exception]
fn SysTick() {
    WRAPS.fetch_add(1, Ordering::Relaxed);
}

/// Starts SysTick on the processor clock, interrupting at each wrap.
pub fn start(mut syst: SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(RELOAD);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

/// SysTick's ticks since [`start`].
///
/// The counter goes from RELOAD down to 0, where it interrupts, then reloads: it reads 0 both
/// before its first tick and for the last tick of each period, whose wrap may or may not be
/// counted yet, so 0 is read again (one tick: 40 instructions).
pub fn ticks() -> u64 {
    loop {
        let wraps = WRAPS.load(Ordering::Relaxed);
        let current = SYST::get_current();
        if current != 0 && WRAPS.load(Ordering::Relaxed) == wraps {
            return u64::from(wraps) * u64::from(RELOAD + 1) + u64::from(RELOAD - current);
        }
    }
}

/// The iterations of the calibration loop, two instructions each.
const LOOP: u32 = 2_000_000;

/// Instructions per tick, in thousandths: the ticks of a loop of `2 * LOOP` instructions.
pub fn calibrate() -> u64 {
    let before = ticks();
    count_down(LOOP);
    let elapsed = (ticks() - before).max(1);
    2 * u64::from(LOOP) * 1000 / elapsed
}

/// `subs; bne` from `n` to 0: `2 * n` instructions, in assembly so that the count is known.
#[inline(never)]
fn count_down(n: u32) {
    #[allow(unsafe_code)]
    // SAFETY: the assembly only decrements the register it is given, touching neither memory
    // nor the stack.
    unsafe {
        core::arch::asm!(
            "2:",
            "subs {n}, #1",
            "bne 2b",
            n = inout(reg) n => _,
            options(nomem, nostack),
        );
    }
}
