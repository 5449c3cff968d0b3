//! The firmware's heap: embedded-alloc's linked-list allocator over a static array, wrapped to
//! count the bytes in use and their high-water mark (the heap budget of issue 19).

use core::alloc::{GlobalAlloc, Layout};
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicUsize, Ordering};

use embedded_alloc::LlffHeap;

/// The heap's size: the budget of issue 19, over five times the peak measured during
/// verify_bundle on the vectors (2,827 B).
pub const HEAP_SIZE: usize = 16 * 1024;

/// A heap that counts what it lends.
pub struct CountingHeap {
    heap: LlffHeap,
    /// Bytes asked for and not yet given back.
    used: AtomicUsize,
    /// The most `used` has been since the last [`CountingHeap::reset_peak`].
    peak: AtomicUsize,
}

impl CountingHeap {
    /// A heap without memory: [`CountingHeap::init`] gives it its array.
    pub const fn empty() -> CountingHeap {
        CountingHeap {
            heap: LlffHeap::empty(),
            used: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        }
    }

    /// Gives the heap its memory. Call once, before the first allocation.
    pub fn init(&self) {
        static mut MEMORY: [MaybeUninit<u8>; HEAP_SIZE] = [MaybeUninit::uninit(); HEAP_SIZE];
        #[allow(unsafe_code)]
        // SAFETY: MEMORY is used by nothing else (this function is its only user and main
        // calls it once, first), lives for the whole program, and is HEAP_SIZE bytes long.
        unsafe {
            self.heap
                .init(core::ptr::addr_of_mut!(MEMORY) as usize, HEAP_SIZE);
        }
    }

    /// The bytes in use now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// Starts a new high-water mark from the bytes in use now.
    pub fn reset_peak(&self) {
        self.peak.store(self.used(), Ordering::Relaxed);
    }

    /// The most bytes in use since the last [`CountingHeap::reset_peak`].
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }
}

#[allow(unsafe_code)]
// SAFETY: every call is passed on unchanged to embedded-alloc's heap, which upholds
// GlobalAlloc's contract; the counters only observe the sizes.
unsafe impl GlobalAlloc for CountingHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's guarantees for `layout` are the heap's.
        let ptr = unsafe { self.heap.alloc(layout) };
        if !ptr.is_null() {
            let used = self.used.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            self.peak.fetch_max(used, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.used.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from this heap's `alloc` with this `layout` (the caller's promise).
        unsafe { self.heap.dealloc(ptr, layout) }
    }
}
