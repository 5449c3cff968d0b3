//! The costs of a call: peak heap (the counting allocator), peak stack (painting) and
//! instructions (SysTick under `-icount`).

use crate::{HEAP, cycles, stack};

/// How deep below the caller's frame the stack is painted.
const PAINTED: usize = 64 * 1024;

/// The costs of one call.
#[derive(Clone, Copy, Default)]
pub struct Measures {
    /// Peak heap, in bytes asked for above what was in use before.
    pub heap: usize,
    /// Peak stack, in bytes below the caller's frame.
    pub stack: usize,
    /// Whether the stack went at least as deep as the painted stretch.
    pub stack_overflowed: bool,
    /// Instructions executed.
    pub instructions: u64,
}

impl Measures {
    /// The larger of each measure.
    pub fn max(self, other: Measures) -> Measures {
        Measures {
            heap: self.heap.max(other.heap),
            stack: self.stack.max(other.stack),
            stack_overflowed: self.stack_overflowed || other.stack_overflowed,
            instructions: self.instructions.max(other.instructions),
        }
    }
}

impl core::fmt::Display for Measures {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let at_least = if self.stack_overflowed { ">=" } else { "" };
        write!(
            f,
            "heap {} B, stack {at_least}{} B, {} instructions",
            self.heap, self.stack, self.instructions
        )
    }
}

/// Runs `call` and measures it; `per_tick` is [`cycles::calibrate`]'s answer.
pub fn measure<T>(per_tick: u64, call: impl FnOnce() -> T) -> (T, Measures) {
    let painted = stack::paint(PAINTED);
    HEAP.reset_peak();
    let heap_before = HEAP.used();
    let start = cycles::ticks();
    let value = call();
    let measures = Measures {
        instructions: (cycles::ticks() - start) * per_tick / 1000,
        heap: HEAP.peak() - heap_before,
        stack: painted.used(),
        stack_overflowed: painted.overflowed(),
    };
    (value, measures)
}
