//! C2SP tlog-tiles entry bundles: each entry as a big-endian u16 length and its bytes, up to 256
//! entries, in log order. An entry is therefore at most 65,535 bytes.

use alloc::vec::Vec;

use crate::tiles::TILE_WIDTH;

/// The largest entry a log accepts (an entry bundle writes its length in two bytes).
pub use certlog_verifier::entry::MAX_ENTRY_SIZE;

/// Why an entry bundle could not be written or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryBundleError {
    /// An entry is over 65,535 bytes.
    #[error("entry of {0} bytes is over the 65,535-byte limit")]
    EntryTooLarge(usize),
    /// The bundle ends inside a length prefix or an entry.
    #[error("entry bundle truncated at byte {offset}: entry of {want} bytes, {have} left")]
    Truncated {
        /// Where the cut entry starts.
        offset: usize,
        /// Bytes the entry needs.
        want: usize,
        /// Bytes left.
        have: usize,
    },
    /// More than 256 entries.
    #[error("entry bundle holds more than 256 entries")]
    TooManyEntries,
}

/// Appends one entry, with its length prefix, to a bundle.
pub fn append_entry(bundle: &mut Vec<u8>, entry: &[u8]) -> Result<(), EntryBundleError> {
    let len =
        u16::try_from(entry.len()).map_err(|_| EntryBundleError::EntryTooLarge(entry.len()))?;
    bundle.extend_from_slice(&len.to_be_bytes());
    bundle.extend_from_slice(entry);
    Ok(())
}

/// Encodes entries into a bundle.
pub fn encode_entry_bundle<'a>(
    entries: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<u8>, EntryBundleError> {
    let mut bundle = Vec::new();
    for (n, entry) in entries.into_iter().enumerate() {
        if n == usize::from(TILE_WIDTH) {
            return Err(EntryBundleError::TooManyEntries);
        }
        append_entry(&mut bundle, entry)?;
    }
    Ok(bundle)
}

/// Decodes a bundle into its entries, borrowed from `bytes`.
pub fn parse_entry_bundle(bytes: &[u8]) -> Result<Vec<&[u8]>, EntryBundleError> {
    let mut entries = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        if entries.len() == usize::from(TILE_WIDTH) {
            return Err(EntryBundleError::TooManyEntries);
        }
        let offset = bytes.len() - rest.len();
        let [hi, lo, tail @ ..] = rest else {
            return Err(EntryBundleError::Truncated {
                offset,
                want: 2,
                have: rest.len(),
            });
        };
        let len = usize::from(u16::from_be_bytes([*hi, *lo]));
        if tail.len() < len {
            return Err(EntryBundleError::Truncated {
                offset,
                want: len,
                have: tail.len(),
            });
        }
        let (entry, next) = tail.split_at(len);
        entries.push(entry);
        rest = next;
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn round_trip() {
        let entries: [&[u8]; 4] = [b"one", b"", b"three", &[0u8; MAX_ENTRY_SIZE]];
        let bundle = encode_entry_bundle(entries).unwrap();
        assert_eq!(&bundle[..5], b"\x00\x03one");
        assert_eq!(parse_entry_bundle(&bundle).unwrap(), entries);
        assert_eq!(parse_entry_bundle(&[]).unwrap(), Vec::<&[u8]>::new());
    }

    #[test]
    fn oversized_and_truncated_are_refused() {
        let big = vec![0u8; MAX_ENTRY_SIZE + 1];
        assert_eq!(
            encode_entry_bundle([&big[..]]),
            Err(EntryBundleError::EntryTooLarge(65_536))
        );
        assert_eq!(
            parse_entry_bundle(b"\x00\x03on"),
            Err(EntryBundleError::Truncated {
                offset: 0,
                want: 3,
                have: 2
            })
        );
        assert_eq!(
            parse_entry_bundle(b"\x00\x03one\x00"),
            Err(EntryBundleError::Truncated {
                offset: 5,
                want: 2,
                have: 1
            })
        );
        let many = vec![0u8; 2 * 257];
        assert_eq!(
            parse_entry_bundle(&many),
            Err(EntryBundleError::TooManyEntries)
        );
        let entries = vec![&b"x"[..]; 257];
        assert_eq!(
            encode_entry_bundle(entries),
            Err(EntryBundleError::TooManyEntries)
        );
    }
}
