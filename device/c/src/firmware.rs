//! What the no_std static library needs and only a C firmware can give (feature `c-firmware`):
//! Rust's global allocator, over the firmware's own `malloc`, `realloc` and `free` (newlib's, or
//! the firmware's over its heap), and a panic handler. A Rust firmware using the rlib brings its
//! own `#[global_allocator]` and `#[panic_handler]` and leaves the feature off.

use core::alloc::{GlobalAlloc, Layout};
use core::ffi::c_void;

// The firmware's C heap, linked from its C library.
#[allow(unsafe_code)]
unsafe extern "C" {
    fn malloc(size: usize) -> *mut c_void;
    fn realloc(ptr: *mut c_void, size: usize) -> *mut c_void;
    fn free(ptr: *mut c_void);
}

/// The alignment `malloc` guarantees on every target the library is built for (8 on 32-bit
/// Arm, 16 on 64-bit hosts). A larger one is refused: the verifier asks for none.
const MALLOC_ALIGN: usize = 8;

/// Rust's allocations through the firmware's C heap.
struct CHeap;

#[allow(unsafe_code)]
// SAFETY: `malloc` and `realloc` return NULL or memory aligned for any type up to MALLOC_ALIGN,
// of at least the size asked, which stays the caller's until `free`; a larger alignment gets
// NULL, which Rust treats as an allocation failure.
unsafe impl GlobalAlloc for CHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() > MALLOC_ALIGN {
            return core::ptr::null_mut();
        }
        // SAFETY: any size may be asked of malloc.
        unsafe { malloc(layout.size()).cast() }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from `alloc` or `realloc`, so from malloc or realloc.
        unsafe { free(ptr.cast()) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, _layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from `alloc` or `realloc` with `layout`, whose alignment is at
        // most MALLOC_ALIGN, which realloc keeps.
        unsafe { realloc(ptr.cast(), new_size).cast() }
    }
}

#[global_allocator]
static HEAP: CHeap = CHeap;

/// A panic halts, for the firmware's watchdog to reset the device. The code is written not to
/// get here: only an allocation failure (the heap exhausted) does.
#[panic_handler]
fn halt(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {
        core::hint::spin_loop();
    }
}
