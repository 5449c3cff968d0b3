//! The only unsafe code of the crate: the caller's raw pointers turned into slices and strings.
//! Every pointer is checked for NULL and every string for UTF-8 here; what the pointers point
//! to is the caller's promise, written in the header (certlog_verifier.h).

use core::ffi::{CStr, c_char};

use crate::error::Error;

/// `len` bytes at `ptr`; NULL is refused (even with a length of 0).
pub(crate) fn bytes<'a>(what: &'static str, ptr: *const u8, len: usize) -> Result<&'a [u8], Error> {
    if ptr.is_null() {
        return Err(Error::Null(what));
    }
    if len > isize::MAX as usize {
        return Err(Error::TooLong(what));
    }
    #[allow(unsafe_code)]
    // SAFETY: `ptr` is not NULL, and the caller promises `len` readable bytes at it that stay
    // unchanged during the call (certlog_verifier.h); `len` fits in an isize, as
    // `from_raw_parts` requires.
    let slice = unsafe { core::slice::from_raw_parts(ptr, len) };
    Ok(slice)
}

/// Exactly 32 bytes at `ptr`, or `None` for NULL.
pub(crate) fn digest(ptr: *const u8) -> Option<[u8; 32]> {
    if ptr.is_null() {
        return None;
    }
    #[allow(unsafe_code)]
    // SAFETY: `ptr` is not NULL, and the caller promises 32 readable bytes at it
    // (certlog_verifier.h); `[u8; 32]` has alignment 1, so any address is aligned.
    let digest = unsafe { *ptr.cast::<[u8; 32]>() };
    Some(digest)
}

/// The NUL-terminated UTF-8 string at `ptr`; NULL and invalid UTF-8 are refused.
pub(crate) fn text<'a>(what: &'static str, ptr: *const c_char) -> Result<&'a str, Error> {
    optional_text(what, ptr)?.ok_or(Error::Null(what))
}

/// The same, with NULL meaning none.
pub(crate) fn optional_text<'a>(
    what: &'static str,
    ptr: *const c_char,
) -> Result<Option<&'a str>, Error> {
    if ptr.is_null() {
        return Ok(None);
    }
    #[allow(unsafe_code)]
    // SAFETY: `ptr` is not NULL, and the caller promises a NUL-terminated string at it that
    // stays unchanged during the call (certlog_verifier.h).
    let c = unsafe { CStr::from_ptr(ptr) };
    c.to_str().map(Some).map_err(|_| Error::NotUtf8(what))
}

/// The `count` C strings of the array at `ptr` (NULL allowed for a count of 0), each checked
/// as [`text`] does.
pub(crate) fn texts<'a>(
    what: &'static str,
    ptr: *const *const c_char,
    count: usize,
) -> Result<impl Iterator<Item = Result<&'a str, Error>>, Error> {
    let pointers: &[*const c_char] = if count == 0 {
        &[]
    } else if ptr.is_null() {
        return Err(Error::Null(what));
    } else if count > isize::MAX as usize / core::mem::size_of::<*const c_char>() {
        return Err(Error::TooLong(what));
    } else {
        #[allow(unsafe_code)]
        // SAFETY: `ptr` is not NULL, and the caller promises an array of `count` pointers at
        // it, aligned as C aligns them, unchanged during the call (certlog_verifier.h); its
        // size in bytes fits in an isize (checked above).
        unsafe {
            core::slice::from_raw_parts(ptr, count)
        }
    };
    Ok(pointers.iter().map(move |&p| text(what, p)))
}

/// The caller's object at `ptr`, or `None` for NULL.
pub(crate) fn optional_ref<'a, T>(ptr: *const T) -> Option<&'a T> {
    #[allow(unsafe_code)]
    // SAFETY: the caller promises that a non-NULL `ptr` points to a valid, aligned `T`, unchanged
    // during the call (certlog_verifier.h); `as_ref` returns `None` for NULL.
    unsafe {
        ptr.as_ref()
    }
}

/// The caller's object at `ptr` to write the answer into, or `None` for NULL.
pub(crate) fn optional_mut<'a, T>(ptr: *mut T) -> Option<&'a mut T> {
    #[allow(unsafe_code)]
    // SAFETY: the caller promises that a non-NULL `ptr` points to a writable, aligned `T` that
    // nothing else accesses during the call (certlog_verifier.h); `as_mut` returns `None` for
    // NULL.
    unsafe {
        ptr.as_mut()
    }
}

/// The caller's buffer of `len` bytes for the reason; NULL is allowed for a length of 0.
pub(crate) fn buffer<'a>(ptr: *mut c_char, len: usize) -> Result<&'a mut [u8], Error> {
    if len == 0 {
        return Ok(&mut []);
    }
    if ptr.is_null() {
        return Err(Error::Null("reason"));
    }
    if len > isize::MAX as usize {
        return Err(Error::TooLong("reason"));
    }
    #[allow(unsafe_code)]
    // SAFETY: `ptr` is not NULL, and the caller promises `len` writable bytes at it that
    // nothing else accesses during the call (certlog_verifier.h); `len` fits in an isize.
    let slice = unsafe { core::slice::from_raw_parts_mut(ptr.cast::<u8>(), len) };
    Ok(slice)
}
