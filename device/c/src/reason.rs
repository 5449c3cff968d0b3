//! The reason, written into the caller's buffer: NUL-terminated, truncated at a character
//! boundary when the buffer is too small, never written past its end.

use core::fmt;

/// A `fmt::Write` into a C buffer that keeps room for the terminating NUL.
pub(crate) struct Reason<'a> {
    buffer: &'a mut [u8],
    len: usize,
}

impl<'a> Reason<'a> {
    /// An empty reason in `buffer` (which may have no room at all: then nothing is written).
    pub(crate) fn new(buffer: &'a mut [u8]) -> Reason<'a> {
        if let Some(first) = buffer.first_mut() {
            *first = 0;
        }
        Reason { buffer, len: 0 }
    }

    /// Replaces the reason with `message`, truncated to the buffer.
    pub(crate) fn set(&mut self, message: impl fmt::Display) {
        self.len = 0;
        // Writing never fails: what does not fit is left out.
        let _ = fmt::write(self, format_args!("{message}"));
    }
}

impl fmt::Write for Reason<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // The room left, less one byte for the NUL.
        let room = self.buffer.len().saturating_sub(self.len + 1);
        let mut take = s.len().min(room);
        while !s.is_char_boundary(take) {
            take -= 1;
        }
        let end = self.len + take;
        if let Some(target) = self.buffer.get_mut(self.len..end) {
            target.copy_from_slice(&s.as_bytes()[..take]);
            self.len = end;
        }
        if let Some(nul) = self.buffer.get_mut(self.len) {
            *nul = 0;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn written(size: usize, message: &str) -> Vec<u8> {
        let mut buffer = alloc::vec![0xff; size];
        Reason::new(&mut buffer).set(message);
        buffer
    }

    #[test]
    fn fits_or_is_cut_at_a_character() {
        assert_eq!(written(6, "abc"), b"abc\0\xff\xff");
        assert_eq!(written(4, "abcdef"), b"abc\0");
        // "é" is two bytes: it is left out whole rather than cut in half.
        assert_eq!(written(3, "aé"), b"a\0\xff");
        assert_eq!(written(1, "abc"), b"\0");
        assert_eq!(written(0, "abc"), b"");
    }
}
