//! Peak stack use: the RAM below the stack pointer is painted with a pattern, the code to
//! measure runs, and the lowest word no longer holding the pattern is as deep as it went.

/// What the painted words hold.
const PATTERN: u32 = 0xACE0_BA5E;

#[allow(unsafe_code)]
// SAFETY: the symbol is defined by cortex-m-rt's link.x; only its address is taken.
unsafe extern "C" {
    /// The end of .bss and .data (cortex-m-rt's link.x): the stack must stay above it.
    static __sheap: u32;
}

/// A painted stretch of the stack, from `bottom` up to `top` (exclusive).
pub struct Painted {
    top: usize,
    bottom: usize,
}

/// Paints up to `depth` bytes below the caller's stack pointer.
#[inline(never)]
pub fn paint(depth: usize) -> Painted {
    let top = (cortex_m::register::msp::read() as usize & !3) - 16;
    let floor = (&raw const __sheap) as usize;
    let bottom = top.saturating_sub(depth).max(floor.next_multiple_of(4));
    let mut word = bottom;
    while word < top {
        #[allow(unsafe_code)]
        // SAFETY: `word` is aligned RAM between the end of .bss (which holds the heap) and the
        // stack pointer, below every live frame and owned by no Rust object: only frames made
        // later (which overwrite the pattern) use it.
        unsafe {
            core::ptr::write_volatile(word as *mut u32, PATTERN);
        }
        word += 4;
    }
    Painted { top, bottom }
}

impl Painted {
    /// The bytes of stack used since [`paint`], below the frame that called it (all of them
    /// if the pattern was overwritten down to the bottom).
    pub fn used(&self) -> usize {
        let mut word = self.bottom;
        while word < self.top {
            #[allow(unsafe_code)]
            // SAFETY: the same aligned RAM [`paint`] wrote, below the stack pointer of the
            // caller; reading it races with nothing (one core, no DMA).
            let value = unsafe { core::ptr::read_volatile(word as *const u32) };
            if value != PATTERN {
                break;
            }
            word += 4;
        }
        self.top - word
    }

    /// Whether the whole stretch was used: the peak is at least [`Painted::used`].
    pub fn overflowed(&self) -> bool {
        self.used() == self.top - self.bottom
    }
}
