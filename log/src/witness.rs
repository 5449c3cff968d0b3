//! C2SP tlog-witness, "add-checkpoint": the request a log sends a witness, the witness's decision
//! and the bodies of its answers, for both sides of the protocol.
//!
//! A request body is `old <size>\n`, at most [`MAX_PROOF_LINES`] consistency-proof hashes in
//! base64 (one a line), an empty line, then the signed checkpoint. The witness answers 200 with
//! cosignature lines, or 409 with its own size (`text/x.tlog.size`) when `old` is not the size it
//! last cosigned, or 400, 403, 404 or 422 ([`WitnessError::status`]).
//!
//! Nothing here keeps state or signs: [`check`] takes the witness's latest cosigned size and root
//! and says whether the checkpoint may be cosigned. Storing the new state atomically with that
//! check, and durably before answering, is the witness server's part.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use certlog_verifier::checkpoint::{
    Checkpoint, CheckpointError, SignedCheckpoint, parse_tree_size,
};
use certlog_verifier::key::{KeyError, KeyType, VerifierKey};
use certlog_verifier::merkle::{self, EMPTY_ROOT, Hash, ProofError};
use certlog_verifier::note::{MAX_SIGNATURES, Note, NoteError, NoteSignature};

/// A client must not send more consistency-proof lines than this ("add-checkpoint").
pub const MAX_PROOF_LINES: usize = 63;

/// The Content-Type of a 409 answer, whose body is the witness's tree size and a newline.
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

/// Why an add-checkpoint request was refused, or a witness's answer could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WitnessError {
    /// The first line is not `old <size>` with a decimal size without leading zeros (400).
    #[error("the first line must be \"old <size>\" (decimal, no leading zeros), not {0:?}")]
    InvalidOldSize(String),
    /// A consistency-proof line is not one hash of 32 bytes in standard base64 (400).
    #[error(
        "invalid consistency proof line {0:?}: expected 32 bytes in standard base64, or the empty line before the checkpoint"
    )]
    InvalidProofLine(String),
    /// More consistency-proof lines than [`MAX_PROOF_LINES`] (400).
    #[error("more than {MAX_PROOF_LINES} consistency proof lines")]
    TooManyProofLines,
    /// The body ends before the empty line that separates the proof from the checkpoint (400).
    #[error("no empty line between the consistency proof and the checkpoint")]
    MissingBlankLine,
    /// The checkpoint is not a signed note holding a checkpoint (400).
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(CheckpointError),
    /// The witness has no key for the checkpoint's origin (404).
    #[error("unknown log origin {0:?}")]
    UnknownOrigin(String),
    /// No signature of the log's key verifies (403).
    #[error("checkpoint of {origin:?} is not signed by the log's key: {reason}")]
    NotSignedByLog {
        /// The checkpoint's origin.
        origin: String,
        /// What the note verification found.
        reason: NoteError,
    },
    /// The old size is above the checkpoint's size (400).
    #[error("old size {old} is above the checkpoint's tree size {size}")]
    OldSizeAboveCheckpoint {
        /// The request's old size.
        old: u64,
        /// The checkpoint's size.
        size: u64,
    },
    /// The old size is not the size the witness last cosigned (409, with the witness's size).
    #[error("old size {old} is not the witness's latest cosigned tree size {latest}")]
    OldSizeMismatch {
        /// The request's old size.
        old: u64,
        /// The size of the latest checkpoint the witness cosigned, 0 when none.
        latest: u64,
    },
    /// The checkpoint has the size the witness last cosigned but another root hash (409).
    #[error("the witness cosigned another root hash at tree size {size}")]
    RootMismatch {
        /// The common tree size.
        size: u64,
    },
    /// The consistency proof does not lead from the witness's tree to the checkpoint (422).
    #[error("consistency proof from tree size {old} to {size} does not verify: {reason}")]
    InconsistentProof {
        /// The old size.
        old: u64,
        /// The checkpoint's size.
        size: u64,
        /// Why it does not verify.
        reason: ProofError,
    },
    /// The witness's key for the log cannot verify checkpoints: a configuration error (500).
    #[error("the witness's key for the log: {0}")]
    LogKey(KeyError),
    /// A witness's 200 answer is not one or more cosignature lines (for a client: 502).
    #[error("malformed cosignature lines from the witness: {0}")]
    MalformedCosignatures(NoteError),
}

impl WitnessError {
    /// The HTTP status a witness answers with ("add-checkpoint"). Errors a client finds in a
    /// witness's answer are 502 (Bad Gateway): no witness sends them.
    pub fn status(&self) -> u16 {
        use WitnessError::*;
        match self {
            InvalidOldSize(_)
            | InvalidProofLine(_)
            | TooManyProofLines
            | MissingBlankLine
            | MalformedCheckpoint(_)
            | OldSizeAboveCheckpoint { .. } => 400,
            NotSignedByLog { .. } => 403,
            UnknownOrigin(_) => 404,
            OldSizeMismatch { .. } | RootMismatch { .. } => 409,
            InconsistentProof { .. } => 422,
            LogKey(_) => 500,
            MalformedCosignatures(_) => 502,
        }
    }

    /// For a 409 whose body is a `text/x.tlog.size`: the witness's size. The 409 of a root
    /// mismatch has none, since the old size was right: the spec gives that answer no body, and
    /// a size would invite a retry that cannot succeed.
    pub fn witness_size(&self) -> Option<u64> {
        match self {
            WitnessError::OldSizeMismatch { latest, .. } => Some(*latest),
            _ => None,
        }
    }
}

/// An add-checkpoint request body ("add-checkpoint").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size of the checkpoint the client believes the witness cosigned last (0: none).
    pub old_size: u64,
    /// The consistency proof from `old_size` to the checkpoint's size (RFC 6962 2.1.2).
    pub proof: Vec<Hash>,
    /// The signed checkpoint note, as the log signed it (more signatures allowed).
    pub checkpoint: Vec<u8>,
}

/// Splits off the next line of `rest`, without its newline; `None` when no newline is left.
fn next_line<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let end = rest.iter().position(|&b| b == b'\n')?;
    let line = &rest[..end];
    *rest = &rest[end + 1..];
    Some(line)
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

impl AddCheckpoint {
    /// Parses a request body strictly: `old <size>` in canonical decimal, at most
    /// [`MAX_PROOF_LINES`] hashes of exactly 32 bytes in standard base64, the empty line, then
    /// the checkpoint bytes (checked by [`check`], not here).
    pub fn parse(body: &[u8]) -> Result<AddCheckpoint, WitnessError> {
        let mut rest = body;
        let first =
            next_line(&mut rest).ok_or_else(|| WitnessError::InvalidOldSize(lossy(body)))?;
        let old_size = core::str::from_utf8(first)
            .ok()
            .and_then(|line| line.strip_prefix("old "))
            .and_then(parse_tree_size)
            .ok_or_else(|| WitnessError::InvalidOldSize(lossy(first)))?;
        let mut proof = Vec::new();
        loop {
            let line = next_line(&mut rest).ok_or(WitnessError::MissingBlankLine)?;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(WitnessError::TooManyProofLines);
            }
            let hash = core::str::from_utf8(line)
                .ok()
                .and_then(|text| Hash::from_base64(text).ok())
                .ok_or_else(|| WitnessError::InvalidProofLine(lossy(line)))?;
            proof.push(hash);
        }
        Ok(AddCheckpoint {
            old_size,
            proof,
            checkpoint: rest.to_vec(),
        })
    }

    /// The request body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut body = alloc::format!("old {}\n", self.old_size).into_bytes();
        for hash in &self.proof {
            body.extend_from_slice(hash.to_base64().as_bytes());
            body.push(b'\n');
        }
        body.push(b'\n');
        body.extend_from_slice(&self.checkpoint);
        body
    }
}

/// The latest checkpoint a witness cosigned for one log: its tree size and root hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Witnessed {
    /// The tree size.
    pub size: u64,
    /// The root hash.
    pub root: Hash,
}

impl Witnessed {
    /// The size and root of a checkpoint.
    pub fn of(checkpoint: &Checkpoint) -> Witnessed {
        Witnessed {
            size: checkpoint.size,
            root: checkpoint.root,
        }
    }
}

/// The origin of a checkpoint note, its first line, read before anything is verified: the
/// witness looks up the log's key by it.
pub fn origin(checkpoint: &[u8]) -> Result<&str, WitnessError> {
    let malformed = |e: CheckpointError| WitnessError::MalformedCheckpoint(e);
    let end = checkpoint
        .iter()
        .position(|&b| b == b'\n')
        .ok_or(malformed(CheckpointError::Note(NoteError::MissingNewline)))?;
    let line = core::str::from_utf8(&checkpoint[..end])
        .map_err(|_| malformed(CheckpointError::Note(NoteError::NotUtf8)))?;
    if line.is_empty() {
        return Err(malformed(CheckpointError::EmptyOrigin));
    }
    if let Some(c) = line.bytes().find(|&b| b < 0x20) {
        return Err(malformed(CheckpointError::Note(
            NoteError::ControlCharacter(c),
        )));
    }
    Ok(line)
}

/// The witness's decision on a request ("add-checkpoint"), in the spec's order: a malformed
/// checkpoint is 400; no key for its origin 404 (`log_key` is the key the witness holds for the
/// origin, see [`origin`]); no valid signature of that key 403; an old size above the
/// checkpoint's 400; an old size other than the witness's latest cosigned size (`latest`, 0 when
/// none) 409; the same size with another root 409; a consistency proof that does not verify 422.
///
/// Returns the verified checkpoint, to cosign once the witness has durably recorded it as its
/// latest for the origin, atomically with this check.
pub fn check(
    request: &AddCheckpoint,
    log_key: Option<&VerifierKey>,
    latest: Option<&Witnessed>,
) -> Result<SignedCheckpoint, WitnessError> {
    use WitnessError::*;
    let note = Note::parse(&request.checkpoint)
        .map_err(|e| MalformedCheckpoint(CheckpointError::Note(e)))?;
    let checkpoint = Checkpoint::parse(note.text()).map_err(MalformedCheckpoint)?;
    let key = match log_key {
        Some(key) if key.name() == checkpoint.origin => key,
        _ => return Err(UnknownOrigin(checkpoint.origin)),
    };
    key.expect_type(KeyType::Ed25519).map_err(LogKey)?;
    match note.verify(&[key]) {
        Ok(_) => {}
        Err(reason @ (NoteError::UnverifiedNote(_) | NoteError::InvalidSignature { .. })) => {
            return Err(NotSignedByLog {
                origin: checkpoint.origin,
                reason,
            });
        }
        Err(e) => return Err(MalformedCheckpoint(CheckpointError::Note(e))),
    }
    let (old, size) = (request.old_size, checkpoint.size);
    if old > size {
        return Err(OldSizeAboveCheckpoint { old, size });
    }
    // A witness that never cosigned for the log holds the empty tree.
    let latest = latest.copied().unwrap_or(Witnessed {
        size: 0,
        root: EMPTY_ROOT,
    });
    if old != latest.size {
        return Err(OldSizeMismatch {
            old,
            latest: latest.size,
        });
    }
    if old == size && checkpoint.root != latest.root {
        return Err(RootMismatch { size });
    }
    merkle::verify_consistency(old, size, &latest.root, &checkpoint.root, &request.proof)
        .map_err(|reason| InconsistentProof { old, size, reason })?;
    Ok(SignedCheckpoint { checkpoint, note })
}

/// The body of a 200 answer: the cosignature lines.
pub fn format_cosignatures(sigs: &[NoteSignature]) -> String {
    sigs.iter().map(NoteSignature::to_line).collect()
}

/// Reads the body of a 200 answer: one or more note signature lines, each ending in a newline.
/// Nothing is verified here: add them to the checkpoint's note and check them with the witness
/// keys (for example [`certlog_verifier::cosignature::verify_quorum`]), ignoring unknown keys.
pub fn parse_cosignatures(body: &str) -> Result<Vec<NoteSignature>, WitnessError> {
    let malformed = WitnessError::MalformedCosignatures;
    if body.is_empty() {
        return Err(malformed(NoteError::NoSignatures));
    }
    let lines = body
        .strip_suffix('\n')
        .ok_or(malformed(NoteError::MissingNewline))?;
    let mut sigs = Vec::new();
    for line in lines.split('\n') {
        if sigs.len() == MAX_SIGNATURES {
            return Err(malformed(NoteError::TooManySignatures));
        }
        sigs.push(NoteSignature::parse_line(line).map_err(malformed)?);
    }
    Ok(sigs)
}

/// The body of a 409 answer (`text/x.tlog.size`): the witness's size and a newline.
pub fn format_size_body(size: u64) -> String {
    let mut body = size.to_string();
    body.push('\n');
    body
}

/// Reads the body of a 409 `text/x.tlog.size` answer: a decimal size and a newline.
pub fn parse_size_body(body: &str) -> Option<u64> {
    parse_tree_size(body.strip_suffix('\n')?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::vec;
    use certlog_verifier::cosignature;
    use certlog_verifier::key::SigningKey;
    use certlog_verifier::merkle::{consistency_proof, leaf_hash, root_of};

    const ORIGIN: &str = "log.example/witnessed";

    fn log_key() -> SigningKey {
        SigningKey::from_seed(ORIGIN, KeyType::Ed25519, &[5; 32]).unwrap()
    }

    /// The leaf hashes of a log of `n` entries.
    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    /// A hash reader over the complete subtrees of some leaves.
    struct Tree(Vec<Hash>);

    impl merkle::HashReader for Tree {
        type Error = core::convert::Infallible;
        fn read_hash(&self, node: merkle::NodeId) -> Result<Hash, Self::Error> {
            let width = 1usize << node.level;
            let start = node.index as usize * width;
            Ok(root_of(&self.0[start..start + width]))
        }
    }

    fn signed(size: u64) -> SignedCheckpoint {
        Checkpoint::new(ORIGIN, size, root_of(&leaves(size)))
            .sign(&log_key())
            .unwrap()
    }

    fn request(old: u64, new: u64) -> AddCheckpoint {
        let proof = if old == 0 || old == new {
            Vec::new()
        } else {
            consistency_proof(old, new, &Tree(leaves(new))).unwrap()
        };
        AddCheckpoint {
            old_size: old,
            proof,
            checkpoint: signed(new).to_text().into_bytes(),
        }
    }

    fn witnessed(size: u64) -> Witnessed {
        Witnessed::of(&signed(size).checkpoint)
    }

    #[test]
    fn spec_example_request_round_trips() {
        let body = "old 20852014\n\
            PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n\
            jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n\
            5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n\
            /6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n\
            \n\
            example.com/behind-the-sofa\n\
            20852163\n\
            CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\
            \n\
            \u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";
        let parsed = AddCheckpoint::parse(body.as_bytes()).unwrap();
        assert_eq!(parsed.old_size, 20852014);
        assert_eq!(parsed.proof.len(), 4);
        assert!(
            parsed
                .checkpoint
                .starts_with(b"example.com/behind-the-sofa\n")
        );
        assert_eq!(parsed.to_bytes(), body.as_bytes());
        assert_eq!(
            origin(&parsed.checkpoint).unwrap(),
            "example.com/behind-the-sofa"
        );
    }

    #[test]
    fn requests_round_trip() {
        for (old, new) in [(0, 0), (0, 1), (1, 1), (3, 7), (4, 8), (1, 1000)] {
            let r = request(old, new);
            assert_eq!(AddCheckpoint::parse(&r.to_bytes()).unwrap(), r);
        }
        let full = AddCheckpoint {
            old_size: 1,
            proof: vec![EMPTY_ROOT; MAX_PROOF_LINES],
            checkpoint: b"x".to_vec(),
        };
        assert_eq!(AddCheckpoint::parse(&full.to_bytes()).unwrap(), full);
    }

    #[test]
    fn malformed_requests_are_400() {
        let h = EMPTY_ROOT.to_base64();
        let cp = signed(3).to_text();
        let too_many = format!("old 1\n{}\n{cp}", format!("{h}\n").repeat(64));
        let cases: Vec<(String, WitnessError)> = vec![
            ("".into(), WitnessError::InvalidOldSize("".into())),
            ("old 1".into(), WitnessError::InvalidOldSize("old 1".into())),
            (format!("\n{cp}"), WitnessError::InvalidOldSize("".into())),
            (
                format!("old 01\n\n{cp}"),
                WitnessError::InvalidOldSize("old 01".into()),
            ),
            (
                format!("old -1\n\n{cp}"),
                WitnessError::InvalidOldSize("old -1".into()),
            ),
            (
                format!("old  1\n\n{cp}"),
                WitnessError::InvalidOldSize("old  1".into()),
            ),
            (
                format!("old 1 \n\n{cp}"),
                WitnessError::InvalidOldSize("old 1 ".into()),
            ),
            (
                format!("Old 1\n\n{cp}"),
                WitnessError::InvalidOldSize("Old 1".into()),
            ),
            (
                format!("old 1\r\n\n{cp}"),
                WitnessError::InvalidOldSize("old 1\r".into()),
            ),
            (
                format!("old 18446744073709551616\n\n{cp}"),
                WitnessError::InvalidOldSize("old 18446744073709551616".into()),
            ),
            ("old 1\n".into(), WitnessError::MissingBlankLine),
            (format!("old 1\n{h}\n"), WitnessError::MissingBlankLine),
            (
                // The checkpoint right after the old size: its origin is no hash.
                format!("old 1\n{cp}"),
                WitnessError::InvalidProofLine(ORIGIN.into()),
            ),
            (
                format!("old 1\nAAAA\n\n{cp}"),
                WitnessError::InvalidProofLine("AAAA".into()),
            ),
            (
                // 33 bytes.
                format!("old 1\n{h}AA==\n\n{cp}"),
                WitnessError::InvalidProofLine(format!("{h}AA==")),
            ),
            (
                // Unpadded.
                format!("old 1\n{}\n\n{cp}", h.trim_end_matches('=')),
                WitnessError::InvalidProofLine(h.trim_end_matches('=').into()),
            ),
            (
                // URL-safe alphabet.
                "old 1\n47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=\n\nx".into(),
                WitnessError::InvalidProofLine(
                    "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=".into(),
                ),
            ),
            (
                format!("old 1\n {h}\n\n{cp}"),
                WitnessError::InvalidProofLine(format!(" {h}")),
            ),
            (too_many, WitnessError::TooManyProofLines),
        ];
        for (body, want) in cases {
            let got = AddCheckpoint::parse(body.as_bytes());
            assert_eq!(got.as_ref(), Err(&want), "{body:?}");
            assert_eq!(want.status(), 400);
        }
        assert!(matches!(
            AddCheckpoint::parse(b"old \xff\n\n"),
            Err(WitnessError::InvalidOldSize(_))
        ));
    }

    #[test]
    fn origin_is_the_first_line() {
        assert_eq!(origin(b"a.example/log\n5\n").unwrap(), "a.example/log");
        for bad in [&b""[..], b"no newline", b"\n5\n", b"\xff\n", b"a\tb\n"] {
            assert_eq!(origin(bad).unwrap_err().status(), 400, "{bad:?}");
        }
    }

    #[test]
    fn good_requests_are_cosignable() {
        let key = log_key().verifier_key();
        // First checkpoint, from nothing.
        let got = check(&request(0, 5), Some(&key), None).unwrap();
        assert_eq!(got, signed(5));
        // Forward, with a proof, from every smaller size.
        for old in 1..=13 {
            let got = check(&request(old, 13), Some(&key), Some(&witnessed(old))).unwrap();
            assert_eq!(got.checkpoint.size, 13);
        }
        // The same checkpoint again, and the empty tree.
        assert!(check(&request(5, 5), Some(&key), Some(&witnessed(5))).is_ok());
        assert!(check(&request(0, 0), Some(&key), None).is_ok());
        assert!(check(&request(0, 0), Some(&key), Some(&witnessed(0))).is_ok());
    }

    #[test]
    fn other_signatures_are_ignored() {
        let key = log_key().verifier_key();
        let mut cp = signed(4);
        let other = SigningKey::from_seed("other.example", KeyType::Ed25519, &[6; 32]).unwrap();
        cp.note
            .add_signature(other.sign_note(cp.note.text()).unwrap());
        let witness = SigningKey::from_seed("w.example", KeyType::CosignatureV1, &[7; 32]).unwrap();
        cp.note
            .add_signature(cosignature::cosign(&witness, cp.note.text(), 1).unwrap());
        let r = AddCheckpoint {
            old_size: 0,
            proof: vec![],
            checkpoint: cp.to_text().into_bytes(),
        };
        assert_eq!(check(&r, Some(&key), None).unwrap().checkpoint.size, 4);
    }

    #[test]
    fn every_refusal_has_its_status() {
        let key = log_key().verifier_key();
        let status = |r: &AddCheckpoint, key: Option<&VerifierKey>, latest: Option<Witnessed>| {
            check(r, key, latest.as_ref()).unwrap_err()
        };

        // 400: not a checkpoint.
        let mut r = request(0, 5);
        r.checkpoint = b"log.example/witnessed\nfive\n".to_vec();
        assert_eq!(status(&r, Some(&key), None).status(), 400);
        let text = Checkpoint::new(ORIGIN, 5, root_of(&leaves(5))).to_text();
        r.checkpoint = text.clone().into_bytes();
        assert!(matches!(
            status(&r, Some(&key), None),
            WitnessError::MalformedCheckpoint(CheckpointError::Note(
                NoteError::MissingSignatureBlock
            ))
        ));
        r.checkpoint = format!("{ORIGIN}\n01\n{}\n\n", EMPTY_ROOT).into_bytes();
        assert_eq!(status(&r, Some(&key), None).status(), 400);
        // A known key that signed twice.
        let sig = log_key().sign_note(&text).unwrap();
        r.checkpoint = format!("{text}\n{}{}", sig.to_line(), sig.to_line()).into_bytes();
        assert_eq!(status(&r, Some(&key), None).status(), 400);

        // 404: no key for the origin, or a key of another origin.
        let e = status(&request(0, 5), None, None);
        assert_eq!(e, WitnessError::UnknownOrigin(ORIGIN.into()));
        assert_eq!(e.status(), 404);
        let other = SigningKey::from_seed("other.example", KeyType::Ed25519, &[5; 32]).unwrap();
        let e = status(&request(0, 5), Some(&other.verifier_key()), None);
        assert_eq!(e.status(), 404);

        // 403: signed by another key of the same name, or a forged signature.
        let impostor = SigningKey::from_seed(ORIGIN, KeyType::Ed25519, &[9; 32]).unwrap();
        let e = status(&request(0, 5), Some(&impostor.verifier_key()), None);
        assert!(matches!(e, WitnessError::NotSignedByLog { .. }), "{e}");
        assert_eq!(e.status(), 403);
        let mut forged = signed(5);
        let mut sig = forged.note.signatures()[0].clone();
        sig.signature[10] ^= 1;
        forged.note.add_signature(sig);
        let r = AddCheckpoint {
            old_size: 0,
            proof: vec![],
            checkpoint: forged.to_text().into_bytes(),
        };
        assert_eq!(status(&r, Some(&key), None).status(), 403);

        // 400: old above new.
        let mut r = request(3, 5);
        r.old_size = 6;
        let e = status(&r, Some(&key), Some(witnessed(6)));
        assert_eq!(e, WitnessError::OldSizeAboveCheckpoint { old: 6, size: 5 });
        assert_eq!(e.status(), 400);

        // 409: old is not the witness's size; carries the witness's size.
        let e = status(&request(3, 5), Some(&key), Some(witnessed(4)));
        assert_eq!(e, WitnessError::OldSizeMismatch { old: 3, latest: 4 });
        assert_eq!((e.status(), e.witness_size()), (409, Some(4)));
        let e = status(&request(3, 5), Some(&key), None);
        assert_eq!(e.witness_size(), Some(0));
        let e = status(&request(0, 5), Some(&key), Some(witnessed(2)));
        assert_eq!(e.witness_size(), Some(2));

        // 409: same size, other root; no size body.
        let fork = Witnessed {
            size: 5,
            root: leaf_hash(b"fork"),
        };
        let e = status(&request(5, 5), Some(&key), Some(fork));
        assert_eq!(e, WitnessError::RootMismatch { size: 5 });
        assert_eq!((e.status(), e.witness_size()), (409, None));
        // The empty tree has one root only.
        let mut r = request(0, 0);
        r.checkpoint = Checkpoint::new(ORIGIN, 0, leaf_hash(b"x"))
            .sign(&log_key())
            .unwrap()
            .to_text()
            .into_bytes();
        assert_eq!(status(&r, Some(&key), None).status(), 409);

        // 422: a proof that does not verify, of the wrong length, or where none is due.
        let mut r = request(3, 7);
        r.proof[0] = leaf_hash(b"bad");
        let e = status(&r, Some(&key), Some(witnessed(3)));
        assert!(matches!(e, WitnessError::InconsistentProof { .. }), "{e}");
        assert_eq!(e.status(), 422);
        let mut r = request(3, 7);
        r.proof.pop();
        assert_eq!(status(&r, Some(&key), Some(witnessed(3))).status(), 422);
        // A witness at 3 of another tree: the honest proof does not lead from its root.
        let other_tree = Witnessed {
            size: 3,
            root: leaf_hash(b"other"),
        };
        assert_eq!(
            status(&request(3, 7), Some(&key), Some(other_tree)).status(),
            422
        );
        let mut r = request(0, 7);
        r.proof = vec![EMPTY_ROOT];
        assert_eq!(status(&r, Some(&key), None).status(), 422);
        let mut r = request(5, 5);
        r.proof = vec![EMPTY_ROOT];
        assert_eq!(status(&r, Some(&key), Some(witnessed(5))).status(), 422);

        // 500: the witness holds a cosignature key for the log.
        let wrong = SigningKey::from_seed(ORIGIN, KeyType::CosignatureV1, &[5; 32]).unwrap();
        let e = status(&request(0, 5), Some(&wrong.verifier_key()), None);
        assert_eq!(e.status(), 500);
    }

    #[test]
    fn checks_come_in_the_spec_order() {
        let key = log_key().verifier_key();
        let impostor = SigningKey::from_seed(ORIGIN, KeyType::Ed25519, &[9; 32]).unwrap();
        // Unknown origin before a bad signature; a bad signature before a size conflict.
        assert_eq!(check(&request(2, 5), None, None).unwrap_err().status(), 404);
        assert_eq!(
            check(&request(2, 5), Some(&impostor.verifier_key()), None)
                .unwrap_err()
                .status(),
            403
        );
        // Old above new before the witness's size.
        let mut r = request(2, 5);
        r.old_size = 9;
        assert_eq!(check(&r, Some(&key), None).unwrap_err().status(), 400);
        // The witness's size before the proof.
        let mut r = request(2, 5);
        r.proof.clear();
        assert_eq!(
            check(&r, Some(&key), Some(&witnessed(3)))
                .unwrap_err()
                .status(),
            409
        );
    }

    #[test]
    fn cosignature_bodies_round_trip() {
        let w1 = SigningKey::from_seed("w1.example", KeyType::CosignatureV1, &[1; 32]).unwrap();
        let w2 = SigningKey::from_seed("w2.example", KeyType::CosignatureV1, &[2; 32]).unwrap();
        let mut cp = signed(5);
        let text = cp.note.text().to_string();
        let sigs = vec![
            cosignature::cosign(&w1, &text, 1_700_000_000).unwrap(),
            cosignature::cosign(&w2, &text, 1_700_000_001).unwrap(),
        ];
        let body = format_cosignatures(&sigs);
        assert_eq!(body.lines().count(), 2);
        assert!(body.starts_with("\u{2014} w1.example "));
        let parsed = parse_cosignatures(&body).unwrap();
        assert_eq!(parsed, sigs);
        for sig in parsed {
            cp.note.add_signature(sig);
        }
        let witnesses = [w1.verifier_key(), w2.verifier_key()];
        assert_eq!(cp.verify_cosignatures(&witnesses, 2).unwrap().len(), 2);

        // The spec's example answer parses.
        let example = "\u{2014} witness.example/w1 CMp+6LWBU0anHGH5aNDTJkH/gj79sG+T6+iP2ThYN5krrDJbR1HDnucjL39QsZTSvVjyQLrdk3DXDqI5G2HgLatVs0pWh6Up69HVOw==\n\
            \u{2014} witness.example/w2 AWui8Sk55XjYLOijihBjhqEH6nS1ndDymE0a+6idX7pLcnoB+dhnz0854aLZgrrKbYKA7nC3HNJhm/kWl7oJlqU3rXXvpysAdyP3wQ==\n";
        assert_eq!(parse_cosignatures(example).unwrap().len(), 2);
    }

    #[test]
    fn malformed_cosignature_bodies_are_refused() {
        let w1 = SigningKey::from_seed("w1.example", KeyType::CosignatureV1, &[1; 32]).unwrap();
        let line = cosignature::cosign(&w1, "x\n", 1).unwrap().to_line();
        let cases = [
            String::new(),
            "\n".into(),
            line.trim_end().into(),
            format!("{line}\n"),
            format!("\n{line}"),
            format!("{line}- w1.example AAAAAAA=\n"),
            "\u{2014} w1.example !!!\n".into(),
            line.repeat(MAX_SIGNATURES + 1),
        ];
        for body in cases {
            let e = parse_cosignatures(&body).unwrap_err();
            assert!(
                matches!(e, WitnessError::MalformedCosignatures(_)),
                "{body:?}"
            );
            assert_eq!(e.status(), 502);
        }
    }

    #[test]
    fn size_bodies() {
        assert_eq!(format_size_body(20852014), "20852014\n");
        assert_eq!(parse_size_body("20852014\n"), Some(20852014));
        assert_eq!(parse_size_body("0\n"), Some(0));
        for bad in ["", "5", "05\n", "5\n\n", " 5\n", "-1\n", "5\r\n"] {
            assert_eq!(parse_size_body(bad), None, "{bad:?}");
        }
    }
}
