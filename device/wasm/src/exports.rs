//! The functions the WebAssembly module exports, which `certlog-verifier.mjs` calls; the
//! buffers' protocol:
//!
//! 1. the caller gets a buffer for the bundle and one for the request's JSON with
//!    `alloc(len) -> ptr` and copies them in;
//! 2. `verify(bundle_ptr, bundle_len, request_ptr, request_len) -> answer_ptr` answers (see
//!    [`crate::verify`]) in a new buffer: the answer's length (4 bytes, little-endian), then
//!    the answer's JSON; it returns null only when the heap is exhausted;
//! 3. the caller frees each buffer with `dealloc(ptr, len)` (the answer's `len` counts its 4
//!    bytes of length).
//!
//! Nothing here panics; on wasm32 a panic elsewhere would trap (`runtime.rs`), never
//! unwind into JavaScript.
#![allow(unsafe_code)]

use alloc::alloc::{Layout, alloc as allocate, dealloc as deallocate};
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::ptr::{NonNull, null_mut};

/// Allocates a buffer of `len` bytes for the caller: null when the heap is exhausted.
#[unsafe(no_mangle)]
pub extern "C" fn alloc(len: usize) -> *mut u8 {
    match Layout::array::<u8>(len) {
        Ok(_) if len == 0 => NonNull::dangling().as_ptr(),
        // SAFETY: the layout's size is not zero.
        Ok(layout) => unsafe { allocate(layout) },
        Err(_) => null_mut(),
    }
}

/// Frees a buffer that [`alloc()`] or [`verify`] returned, of `len` bytes.
///
/// # Safety
///
/// `ptr` comes from [`alloc()`] with `len`, or from [`verify`] with `len` the answer's length plus
/// 4, and is not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dealloc(ptr: *mut u8, len: usize) {
    if ptr.is_null() || len == 0 {
        return;
    }
    if let Ok(layout) = Layout::array::<u8>(len) {
        // SAFETY: by the contract above, `ptr` was allocated with this layout.
        unsafe { deallocate(ptr, layout) }
    }
}

/// Verifies the bundle in `bundle_ptr[..bundle_len]` as the request in
/// `request_ptr[..request_len]` asks; returns the answer's buffer (see the module
/// documentation).
///
/// # Safety
///
/// Each pointer is valid for reads of its length (any pointer when the length is 0).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn verify(
    bundle_ptr: *const u8,
    bundle_len: usize,
    request_ptr: *const u8,
    request_len: usize,
) -> *mut u8 {
    // SAFETY: by the contract above.
    let (bundle, request) = unsafe {
        (
            bytes(bundle_ptr, bundle_len),
            bytes(request_ptr, request_len),
        )
    };
    let json = crate::verify(bundle, request);
    let Ok(len) = u32::try_from(json.len()) else {
        return null_mut();
    };
    let mut answer = Vec::new();
    if answer.try_reserve_exact(4 + json.len()).is_err() {
        return null_mut();
    }
    answer.extend_from_slice(&len.to_le_bytes());
    answer.extend_from_slice(&json);
    // A boxed slice's layout is `Layout::array::<u8>(its length)`, the one `dealloc` frees.
    Box::into_raw(answer.into_boxed_slice()).cast()
}

/// The caller's bytes.
///
/// # Safety
///
/// `ptr` is valid for reads of `len` bytes for as long as the slice is used, or `len` is 0.
unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if len == 0 || ptr.is_null() {
        return &[];
    }
    // SAFETY: by the contract above; u8 needs no alignment.
    unsafe { core::slice::from_raw_parts(ptr, len) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What certlog-verifier.mjs does: buffers in, the answer read and freed.
    #[test]
    fn the_buffers_protocol() {
        let request = br#"{"log_vkey": "none"}"#;
        let in_buffer = alloc(request.len());
        assert!(!in_buffer.is_null());
        // SAFETY: in_buffer holds request.len() bytes; every buffer is freed with its length.
        let answer = unsafe {
            core::ptr::copy_nonoverlapping(request.as_ptr(), in_buffer, request.len());
            let out = verify(null_mut(), 0, in_buffer, request.len());
            dealloc(in_buffer, request.len());
            let mut len = [0; 4];
            core::ptr::copy_nonoverlapping(out, len.as_mut_ptr(), 4);
            let len = u32::from_le_bytes(len) as usize;
            let answer = core::slice::from_raw_parts(out.add(4), len).to_vec();
            dealloc(out, 4 + len);
            answer
        };
        let answer = core::str::from_utf8(&answer).unwrap();
        assert!(
            answer.starts_with(r#"{"ok":false,"kind":"request""#),
            "{answer}"
        );
        assert!(!alloc(0).is_null());
    }
}
