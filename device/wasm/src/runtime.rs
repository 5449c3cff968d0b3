//! What a `no_std` WebAssembly module needs besides its code: a heap (dlmalloc, the allocator
//! Rust's own std uses on wasm32) and a panic handler, which traps.

/// The heap, grown with `memory.grow`.
#[global_allocator]
static HEAP: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

/// A panic stops the module: the call traps, and JavaScript sees a `RuntimeError`.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}
