//! Evidence that a log misbehaved (DESIGN "Who uses it": auditors), as `certlog audit` writes it
//! and `certlog-verify evidence` checks it: a [`MisbehaviourEvidence`] message
//! (proto/certlog/v1/audit.proto) holding checkpoints the log signed and the data that shows
//! what is wrong with them. [`check`] confirms a misbehaviour only when a third party can check
//! it without trusting the auditor: from what the log signed, the log's key and, for the
//! registry, the operator's key given by the checker.
//!
//! | kind | what it shows | why it holds |
//! |---|---|---|
//! | fork, equal sizes | two signed trees of one size with different roots | the two notes alone |
//! | fork, sizes differ | the larger signed tree does not extend the smaller | a full-form consistency proof (RFC 9162 2.1.4, [`merkle::consistency_roots`]) leading to the larger root gives another root for its first leaves than the smaller checkpoint's: SHA-256 would have to collide otherwise |
//! | rule violation | the signed tree holds an entry the log's rules forbid, or a map head whose root is not the status map of the entries before it | every entry up to it, tied to the signed root by a consistency proof, replayed ([`crate::replay`]) with the operator's key the checker gives |
//! | leaf mismatch | not proven: an [`Observation`] | the log does not sign the bytes it serves, so the file cannot show which bytes the log served: any bytes beside the log's real inclusion proof would "show" it |
//!
//! The operator key written in rule-violation evidence is the auditor's, for people: a checker
//! must give the operator's own, since with a made-up key the real registry breaks the rules.
//! Rule-violation evidence grows with the log, since a violation depends on everything before
//! it.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use prost::Message as _;

use crate::replay::{Replay, ReplayError};
use certlog_verifier::checkpoint::{Checkpoint, CheckpointError, SignedCheckpoint};
use certlog_verifier::key::VerifierKey;
use certlog_verifier::merkle::{self, CompactRange, Hash, ProofError, leaf_hash};
use certlog_verifier::proto::misbehaviour_evidence::Kind;
use certlog_verifier::proto::{Fork, LeafMismatch, MisbehaviourEvidence, RuleViolation};

/// Why evidence does not confirm a misbehaviour.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    /// The bytes are not a `MisbehaviourEvidence` message: unreadable, nothing is shown.
    #[error("not certlog evidence: {0}")]
    Decode(String),
    /// The message names no kind of misbehaviour.
    #[error("the evidence names no kind of misbehaviour")]
    NoKind,
    /// A checkpoint that is not one the log signed.
    #[error("the {which} checkpoint: {error}")]
    Checkpoint {
        /// Which one.
        which: &'static str,
        /// Why it does not verify.
        error: CheckpointError,
    },
    /// A proof that does not verify.
    #[error("proof: {0}")]
    Proof(#[from] ProofError),
    /// Rule-violation evidence checked without the operator's key: the registry can only be
    /// checked with the key the checker trusts, never with one the evidence names.
    #[error(
        "rule-violation evidence needs the operator's verifier key, given by the checker: the \
         registry is checked with it"
    )]
    OperatorKeyRequired,
    /// Evidence of what the auditor saw that the log did not sign: not proof of misbehaviour.
    #[error("{0}")]
    ObservationOnly(Observation),
    /// Well formed, but showing no misbehaviour.
    #[error("{0}")]
    NotShown(String),
}

impl EvidenceError {
    /// Whether the bytes could not be read as evidence at all (rather than evidence that
    /// shows nothing).
    pub fn is_unreadable(&self) -> bool {
        matches!(self, EvidenceError::Decode(_))
    }
}

fn not_shown(reason: &str) -> EvidenceError {
    EvidenceError::NotShown(reason.into())
}

/// A misbehaviour the evidence proves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Misbehaviour {
    /// Two signed checkpoints of one size with different roots.
    SameSizeFork {
        /// The common size.
        size: u64,
        /// The root of the other checkpoint.
        root1: Hash,
        /// The root of the evidence's checkpoint.
        root2: Hash,
    },
    /// The larger signed tree does not extend the smaller one.
    Fork {
        /// The smaller tree's size.
        size1: u64,
        /// Its signed root.
        root1: Hash,
        /// The larger tree's size.
        size2: u64,
        /// Its signed root.
        root2: Hash,
        /// The root of the larger tree's first `size1` leaves.
        computed: Hash,
    },
    /// An entry of the signed tree that breaks the rules, or a wrong map head.
    RuleViolation {
        /// The signed tree's size.
        size: u64,
        /// The first entry the replay refused, and why.
        error: ReplayError,
        /// The operator's vkey the checker gave, which the registry was checked with.
        operator: String,
    },
}

impl Misbehaviour {
    /// A short name of the kind, as in JSON output.
    pub fn kind(&self) -> &'static str {
        match self {
            Misbehaviour::SameSizeFork { .. } | Misbehaviour::Fork { .. } => "fork",
            Misbehaviour::RuleViolation { .. } => "rule_violation",
        }
    }
}

impl fmt::Display for Misbehaviour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Misbehaviour::SameSizeFork { size, root1, root2 } => write!(
                f,
                "the log signed two trees of size {size} with different roots, {root1} and {root2}"
            ),
            Misbehaviour::Fork {
                size1,
                root1,
                size2,
                root2,
                computed,
            } => write!(
                f,
                "the log's tree of size {size2} (root {root2}) does not extend its tree of size \
                 {size1} (root {root1}): its first {size1} leaves hash to {computed}"
            ),
            Misbehaviour::RuleViolation {
                size,
                error,
                operator,
            } => write!(
                f,
                "the log's signed tree of size {size} holds a forbidden entry: {error} \
                 (registry checked with operator key {operator})"
            ),
        }
    }
}

/// What evidence shows that only the auditor vouches for: checked as far as the log signed it,
/// but no proof that the log misbehaved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observation {
    /// Bytes that are not the leaf the signed tree holds at their index. The tree's leaf hash
    /// is proven; that the log served these bytes is the auditor's word.
    LeafMismatch {
        /// The entry's index.
        index: u64,
        /// The signed tree's size.
        size: u64,
        /// The leaf hash of the bytes in the evidence.
        served: Hash,
        /// The leaf hash the signed tree holds.
        signed: Hash,
    },
}

impl Observation {
    /// A short name of the kind, as in JSON output.
    pub fn kind(&self) -> &'static str {
        match self {
            Observation::LeafMismatch { .. } => "leaf_mismatch",
        }
    }
}

impl fmt::Display for Observation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Observation::LeafMismatch {
                index,
                size,
                served,
                signed,
            } => write!(
                f,
                "a leaf mismatch is the auditor's observation, not proof: the log does not sign \
                 the bytes it serves, so the evidence cannot prove which bytes the log served \
                 (entry {index}: the evidence's bytes have leaf hash {served}; the log's signed \
                 tree of size {size} holds {signed} at that index)"
            ),
        }
    }
}

/// What a check of evidence confirmed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Confirmed {
    /// The misbehaviour.
    pub misbehaviour: Misbehaviour,
    /// The evidence's checkpoint (for a fork, the newer tree's).
    pub checkpoint: Checkpoint,
    /// What the auditor wrote, unchecked.
    pub description: String,
    /// Where the auditor got the data, unchecked.
    pub source: String,
    /// When the auditor found it, seconds since the Unix epoch, unchecked.
    pub found_at: i64,
}

/// Checks evidence against the log's key; `Ok` only for a misbehaviour it proves.
/// `operator`, the operator's key as the checker knows it, checks the registry of a rule
/// violation, which is [`EvidenceError::OperatorKeyRequired`] without it. A leaf mismatch that
/// checks out is [`EvidenceError::ObservationOnly`].
pub fn check(
    bytes: &[u8],
    log_key: &VerifierKey,
    operator: Option<&VerifierKey>,
) -> Result<Confirmed, EvidenceError> {
    let evidence =
        MisbehaviourEvidence::decode(bytes).map_err(|e| EvidenceError::Decode(format!("{e}")))?;
    let kind = evidence.kind.as_ref().ok_or(EvidenceError::NoKind)?;
    if let (Kind::RuleViolation(_), None) = (kind, operator) {
        return Err(EvidenceError::OperatorKeyRequired);
    }
    let signed = open(&evidence.checkpoint, "evidence's", log_key)?;
    let c = signed.checkpoint;
    let misbehaviour = match kind {
        Kind::Fork(fork) => check_fork(&c, fork, log_key)?,
        Kind::LeafMismatch(leaf) => {
            return Err(EvidenceError::ObservationOnly(check_leaf(&c, leaf)?));
        }
        Kind::RuleViolation(violation) => {
            let operator = operator.ok_or(EvidenceError::OperatorKeyRequired)?;
            check_violation(&c, violation, operator)?
        }
    };
    Ok(Confirmed {
        misbehaviour,
        checkpoint: c,
        description: evidence.description,
        source: evidence.source,
        found_at: evidence.found_at,
    })
}

fn open(
    text: &str,
    which: &'static str,
    log_key: &VerifierKey,
) -> Result<SignedCheckpoint, EvidenceError> {
    SignedCheckpoint::verify(text.as_bytes(), log_key)
        .map_err(|error| EvidenceError::Checkpoint { which, error })
}

fn hashes(raw: &[Vec<u8>]) -> Result<Vec<Hash>, EvidenceError> {
    raw.iter()
        .map(|h| Hash::from_slice(h).ok_or_else(|| not_shown("a proof hash is not 32 bytes")))
        .collect()
}

fn check_fork(
    newer: &Checkpoint,
    fork: &Fork,
    log_key: &VerifierKey,
) -> Result<Misbehaviour, EvidenceError> {
    let other = open(&fork.other_checkpoint, "other", log_key)?.checkpoint;
    if other.size == newer.size {
        if other.root == newer.root {
            return Err(not_shown("the two checkpoints are of the same tree"));
        }
        return Ok(Misbehaviour::SameSizeFork {
            size: newer.size,
            root1: other.root,
            root2: newer.root,
        });
    }
    let (small, large) = if other.size < newer.size {
        (&other, newer)
    } else {
        (newer, &other)
    };
    if small.size == 0 {
        return Err(not_shown("every tree extends the empty tree"));
    }
    let proof = hashes(&fork.proof)?;
    let (computed, root2) = merkle::consistency_roots(small.size, large.size, &proof)?;
    if root2 != large.root {
        return Err(EvidenceError::Proof(ProofError::RootMismatch {
            computed: root2,
            expected: large.root,
        }));
    }
    if computed == small.root {
        return Err(not_shown(
            "the proof shows that the larger tree extends the smaller one",
        ));
    }
    Ok(Misbehaviour::Fork {
        size1: small.size,
        root1: small.root,
        size2: large.size,
        root2: large.root,
        computed,
    })
}

/// What leaf-mismatch evidence shows, when its proof holds: an observation at most.
fn check_leaf(c: &Checkpoint, leaf: &LeafMismatch) -> Result<Observation, EvidenceError> {
    let signed = Hash::from_slice(&leaf.leaf_hash)
        .ok_or_else(|| not_shown("the signed leaf hash is not 32 bytes"))?;
    let proof = hashes(&leaf.proof)?;
    merkle::verify_inclusion(&signed, leaf.index, c.size, &proof, &c.root)?;
    let served = leaf_hash(&leaf.entry);
    if served == signed {
        return Err(not_shown("the served entry is the leaf the log signed"));
    }
    Ok(Observation::LeafMismatch {
        index: leaf.index,
        size: c.size,
        served,
        signed,
    })
}

fn check_violation(
    c: &Checkpoint,
    violation: &RuleViolation,
    operator: &VerifierKey,
) -> Result<Misbehaviour, EvidenceError> {
    let count = violation.entries.len() as u64;
    if count == 0 {
        return Err(not_shown("the evidence holds no entries"));
    }
    let mut range = CompactRange::new();
    for entry in &violation.entries {
        range.append(leaf_hash(entry), |_, _| {});
    }
    let proof = hashes(&violation.proof)?;
    merkle::verify_consistency(count, c.size, &range.root(), &c.root, &proof)?;
    let mut replay = Replay::new(operator.clone());
    for entry in &violation.entries {
        if let Err(error) = replay.apply(entry) {
            return Ok(Misbehaviour::RuleViolation {
                size: c.size,
                error,
                operator: operator.to_string(),
            });
        }
    }
    Err(not_shown(
        "every entry follows the rules and every map head matches",
    ))
}

/// Evidence of a fork: the newer checkpoint, the other one, and (for different sizes) the
/// full-form consistency proof from the smaller tree to the larger, from the larger's hashes.
pub fn fork(
    newer: &SignedCheckpoint,
    other: &SignedCheckpoint,
    proof: &[Hash],
) -> MisbehaviourEvidence {
    MisbehaviourEvidence {
        checkpoint: newer.to_text(),
        kind: Some(Kind::Fork(Fork {
            other_checkpoint: other.to_text(),
            proof: proof.iter().map(|h| h.0.to_vec()).collect(),
        })),
        ..MisbehaviourEvidence::default()
    }
}

/// Evidence of an entry served that is not the signed tree's leaf: the entry as served, the
/// leaf hash the tree holds and its inclusion proof. It records an [`Observation`], not proof.
pub fn leaf_mismatch(
    checkpoint: &SignedCheckpoint,
    index: u64,
    entry: Vec<u8>,
    signed_leaf: &Hash,
    proof: &[Hash],
) -> MisbehaviourEvidence {
    MisbehaviourEvidence {
        checkpoint: checkpoint.to_text(),
        kind: Some(Kind::LeafMismatch(LeafMismatch {
            index,
            entry,
            leaf_hash: signed_leaf.0.to_vec(),
            proof: proof.iter().map(|h| h.0.to_vec()).collect(),
        })),
        ..MisbehaviourEvidence::default()
    }
}

/// Evidence of a rule violation: the entries up to the offending one (the last), the
/// consistency proof from their tree to the checkpoint's, and the operator key the auditor used
/// (for people: [`check`] takes the checker's).
pub fn rule_violation(
    checkpoint: &SignedCheckpoint,
    entries: Vec<Vec<u8>>,
    proof: &[Hash],
    operator: &VerifierKey,
    reason: &ReplayError,
) -> MisbehaviourEvidence {
    MisbehaviourEvidence {
        checkpoint: checkpoint.to_text(),
        kind: Some(Kind::RuleViolation(RuleViolation {
            entries,
            proof: proof.iter().map(|h| h.0.to_vec()).collect(),
            operator_vkey: operator.to_string(),
            reason: reason.to_string(),
        })),
        ..MisbehaviourEvidence::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;
    use alloc::collections::BTreeMap;
    use alloc::vec;
    use certlog_verifier::entry::{encode_entry, sign_statement};
    use certlog_verifier::key::{KeyType, SigningKey};
    use certlog_verifier::merkle::{HashReader, NodeId};
    use certlog_verifier::proto::{CertifierRegistered, Entry, MapHead, statement};
    use core::convert::Infallible;

    /// Every subtree hash of a tree of entries.
    #[derive(Default)]
    struct Tree {
        entries: Vec<Vec<u8>>,
        nodes: BTreeMap<NodeId, Hash>,
        range: CompactRange,
    }

    impl Tree {
        fn of(entries: &[Vec<u8>]) -> Tree {
            let mut tree = Tree::default();
            for e in entries {
                let nodes = &mut tree.nodes;
                tree.range.append(leaf_hash(e), |id, h| {
                    nodes.insert(id, *h);
                });
                tree.entries.push(e.clone());
            }
            tree
        }

        fn checkpoint(&self, key: &SigningKey) -> SignedCheckpoint {
            Checkpoint::new(key.name(), self.range.size(), self.range.root())
                .sign(key)
                .unwrap()
        }
    }

    impl HashReader for Tree {
        type Error = Infallible;
        fn read_hash(&self, node: NodeId) -> Result<Hash, Infallible> {
            Ok(self.nodes[&node])
        }
    }

    fn log_key() -> SigningKey {
        SigningKey::from_seed("log.example/log", KeyType::Ed25519, &[7; 32]).unwrap()
    }

    fn operator() -> SigningKey {
        SigningKey::from_seed("op.example", KeyType::Ed25519, &[8; 32]).unwrap()
    }

    fn raw(n: u64) -> Vec<u8> {
        alloc::format!("entry {n}").into_bytes()
    }

    fn encode(evidence: &MisbehaviourEvidence) -> Vec<u8> {
        evidence.encode_to_vec()
    }

    /// Checks with the log's key and the operator's.
    fn check_it(evidence: &MisbehaviourEvidence) -> Result<Misbehaviour, EvidenceError> {
        let operator = operator().verifier_key();
        check(
            &encode(evidence),
            &log_key().verifier_key(),
            Some(&operator),
        )
        .map(|c| c.misbehaviour)
    }

    /// Branch A: 0..9; branch B: 0..5, then others up to 14 leaves.
    fn branches() -> (Tree, Tree) {
        let a: Vec<Vec<u8>> = (0..9).map(raw).collect();
        let b: Vec<Vec<u8>> = (0..14)
            .map(|i| raw(if i < 5 { i } else { 100 + i }))
            .collect();
        (Tree::of(&a), Tree::of(&b))
    }

    fn fork_proof(evidence: &mut MisbehaviourEvidence) -> &mut Vec<Vec<u8>> {
        match &mut evidence.kind {
            Some(Kind::Fork(f)) => &mut f.proof,
            _ => unreachable!(),
        }
    }

    #[test]
    fn a_fork_of_different_sizes_is_confirmed() {
        let (a, b) = branches();
        let key = log_key();
        let proof = merkle::full_consistency_proof(9, 14, &b).unwrap();
        let evidence = fork(&b.checkpoint(&key), &a.checkpoint(&key), &proof);
        let found = check_it(&evidence).unwrap();
        assert!(
            matches!(found, Misbehaviour::Fork { size1: 9, size2: 14, computed, root1, .. }
                if computed != root1),
            "{found:?}"
        );
        // The checkpoints may come in either order.
        let swapped = fork(&a.checkpoint(&key), &b.checkpoint(&key), &proof);
        assert_eq!(check_it(&swapped).unwrap().kind(), "fork");

        // One bit changed in a proof hash: the proof no longer leads to the signed root.
        let mut tampered = evidence.clone();
        fork_proof(&mut tampered)[2][31] ^= 1;
        assert!(matches!(
            check_it(&tampered),
            Err(EvidenceError::Proof(ProofError::RootMismatch { .. }))
        ));
        // A proof cut short.
        let mut short = evidence.clone();
        fork_proof(&mut short).pop();
        assert!(matches!(
            check_it(&short),
            Err(EvidenceError::Proof(ProofError::WrongLength { .. }))
        ));
        // A proof from the smaller tree's own data does not reach the larger root.
        let bogus = fork(
            &b.checkpoint(&key),
            &a.checkpoint(&key),
            &merkle::full_consistency_proof(5, 9, &a).unwrap(),
        );
        assert!(check_it(&bogus).is_err());
    }

    #[test]
    fn consistent_trees_are_no_fork() {
        let (a, _) = branches();
        let key = log_key();
        let old = Tree::of(&a.entries[..6]);
        let proof = merkle::full_consistency_proof(6, 9, &a).unwrap();
        let evidence = fork(&a.checkpoint(&key), &old.checkpoint(&key), &proof);
        assert!(matches!(
            check_it(&evidence),
            Err(EvidenceError::NotShown(_))
        ));
        // Also when 6 is replaced with a power of two, whose root the RFC proof leaves out.
        let old = Tree::of(&a.entries[..4]);
        let proof = merkle::full_consistency_proof(4, 9, &a).unwrap();
        let evidence = fork(&a.checkpoint(&key), &old.checkpoint(&key), &proof);
        assert!(matches!(
            check_it(&evidence),
            Err(EvidenceError::NotShown(_))
        ));
        // The empty tree is extended by every tree.
        let empty = Tree::default();
        let evidence = fork(&a.checkpoint(&key), &empty.checkpoint(&key), &[]);
        assert!(matches!(
            check_it(&evidence),
            Err(EvidenceError::NotShown(_))
        ));
    }

    #[test]
    fn a_fork_at_a_power_of_two_is_confirmed() {
        // The RFC proof from 8 leaves omits the subtree of the first 8, where the fork is.
        let a = Tree::of(&(0..8).map(raw).collect::<Vec<_>>());
        let b = Tree::of(
            &(0..12)
                .map(|i| raw(if i == 3 { 99 } else { i }))
                .collect::<Vec<_>>(),
        );
        let key = log_key();
        let proof = merkle::full_consistency_proof(8, 12, &b).unwrap();
        let evidence = fork(&b.checkpoint(&key), &a.checkpoint(&key), &proof);
        assert_eq!(check_it(&evidence).unwrap().kind(), "fork");
    }

    #[test]
    fn equal_sizes_with_different_roots_are_a_fork() {
        let key = log_key();
        let a = Tree::of(&(0..5).map(raw).collect::<Vec<_>>());
        let b = Tree::of(&(1..6).map(raw).collect::<Vec<_>>());
        let evidence = fork(&b.checkpoint(&key), &a.checkpoint(&key), &[]);
        assert!(matches!(
            check_it(&evidence),
            Ok(Misbehaviour::SameSizeFork { size: 5, .. })
        ));
        let same = fork(&a.checkpoint(&key), &a.checkpoint(&key), &[]);
        assert!(matches!(check_it(&same), Err(EvidenceError::NotShown(_))));
    }

    #[test]
    fn checkpoints_must_be_the_logs() {
        let (a, b) = branches();
        let key = log_key();
        let impostor =
            SigningKey::from_seed("log.example/log", KeyType::Ed25519, &[9; 32]).unwrap();
        let proof = merkle::full_consistency_proof(9, 14, &b).unwrap();
        let evidence = fork(&b.checkpoint(&key), &a.checkpoint(&impostor), &proof);
        assert!(matches!(
            check_it(&evidence),
            Err(EvidenceError::Checkpoint { which: "other", .. })
        ));
        // A one-byte change in a signed note: its signature no longer verifies.
        let mut evidence = fork(&b.checkpoint(&key), &a.checkpoint(&key), &proof);
        evidence.checkpoint = evidence.checkpoint.replacen("14", "15", 1);
        assert!(matches!(
            check_it(&evidence),
            Err(EvidenceError::Checkpoint {
                which: "evidence's",
                ..
            })
        ));
        assert!(check_it(&MisbehaviourEvidence::default()).is_err());
        let error = check(b"\xff\xff\xff", &key.verifier_key(), None).unwrap_err();
        assert!(error.is_unreadable(), "{error:?}");
        let no_kind = MisbehaviourEvidence {
            checkpoint: a.checkpoint(&key).to_text(),
            ..Default::default()
        };
        assert_eq!(check_it(&no_kind), Err(EvidenceError::NoKind));
    }

    #[test]
    fn an_entry_that_is_not_the_signed_leaf_is_only_an_observation() {
        let (a, _) = branches();
        let key = log_key();
        let checkpoint = a.checkpoint(&key);
        let proof = merkle::inclusion_proof(3, 9, &a).unwrap();
        let signed = leaf_hash(&a.entries[3]);
        let mut served = a.entries[3].clone();
        served[0] ^= 0x20;
        let evidence = leaf_mismatch(&checkpoint, 3, served, &signed, &proof);
        // Any bytes beside the log's real proof: the log does not sign what it serves.
        match check_it(&evidence) {
            Err(EvidenceError::ObservationOnly(Observation::LeafMismatch {
                index: 3,
                size: 9,
                signed: leaf,
                ..
            })) => assert_eq!(leaf, signed),
            other => panic!("{other:?}"),
        }
        let reason = check_it(&evidence).unwrap_err().to_string();
        assert!(
            reason.contains("does not sign the bytes it serves"),
            "{reason}"
        );
        // The entry as the log holds it: nothing wrong.
        let honest = leaf_mismatch(&checkpoint, 3, a.entries[3].clone(), &signed, &proof);
        assert!(matches!(check_it(&honest), Err(EvidenceError::NotShown(_))));
        // Another index, or a proof changed: the leaf is not shown to be in the tree.
        let mut moved = evidence.clone();
        if let Some(Kind::LeafMismatch(l)) = &mut moved.kind {
            l.index = 4;
        }
        assert!(matches!(check_it(&moved), Err(EvidenceError::Proof(_))));
        let mut tampered = evidence;
        if let Some(Kind::LeafMismatch(l)) = &mut tampered.kind {
            l.proof[0][0] ^= 1;
        }
        assert!(matches!(check_it(&tampered), Err(EvidenceError::Proof(_))));
    }

    fn certifier() -> SigningKey {
        SigningKey::from_seed("cb.example", KeyType::Ed25519, &[10; 32]).unwrap()
    }

    fn issue(id: &str) -> Vec<u8> {
        encode_entry(sign_statement(&certifier(), testing::issue(id)).unwrap())
    }

    fn register() -> Vec<u8> {
        let body = statement::Body::CertifierRegistered(CertifierRegistered {
            vkey: certifier().verifier_key().to_string(),
            schemes: vec!["EUCC".into()],
            registered_at: 1,
        });
        encode_entry(sign_statement(&operator(), body).unwrap())
    }

    fn map_head(root: Hash, tree_size: u64) -> Vec<u8> {
        Entry {
            body: Some(certlog_verifier::proto::entry::Body::MapHead(MapHead {
                root: root.0.to_vec(),
                tree_size,
                timestamp: 1,
            })),
        }
        .encode_to_vec()
    }

    /// A log whose entry 3 issues a certificate already issued at 1; then more entries.
    fn log_with_a_duplicate() -> Tree {
        Tree::of(&[register(), issue("A"), issue("B"), issue("A"), issue("C")])
    }

    fn violation_evidence(tree: &Tree, upto: usize) -> MisbehaviourEvidence {
        let key = log_key();
        let size = tree.range.size();
        let count = upto as u64 + 1;
        let proof = merkle::consistency_proof(count, size, tree).unwrap();
        let error = ReplayError::MapHead {
            index: 0,
            reason: "the auditor's words".into(),
        };
        rule_violation(
            &tree.checkpoint(&key),
            tree.entries[..=upto].to_vec(),
            &proof,
            &operator().verifier_key(),
            &error,
        )
    }

    #[test]
    fn a_rule_violation_is_confirmed_by_replaying_the_entries_before_it() {
        let tree = log_with_a_duplicate();
        let evidence = violation_evidence(&tree, 3);
        match check_it(&evidence).unwrap() {
            Misbehaviour::RuleViolation {
                error: ReplayError::Rule { index: 3, error },
                operator,
                ..
            } => {
                assert!(error.to_string().contains("already issued"), "{error}");
                assert_eq!(operator, self::operator().verifier_key().to_string());
            }
            other => panic!("{other:?}"),
        }
        // Never with the key the evidence names: the checker gives the operator's.
        assert_eq!(
            check(&encode(&evidence), &log_key().verifier_key(), None),
            Err(EvidenceError::OperatorKeyRequired)
        );
        // The entries before the violation show nothing.
        let honest = violation_evidence(&tree, 2);
        assert!(matches!(check_it(&honest), Err(EvidenceError::NotShown(_))));
        // An entry changed: the entries are no longer the signed tree's.
        let mut tampered = evidence.clone();
        if let Some(Kind::RuleViolation(v)) = &mut tampered.kind {
            v.entries[3] = issue("D");
        }
        assert!(matches!(check_it(&tampered), Err(EvidenceError::Proof(_))));
        let mut cut = evidence;
        if let Some(Kind::RuleViolation(v)) = &mut cut.kind {
            v.entries.pop();
        }
        assert!(matches!(check_it(&cut), Err(EvidenceError::Proof(_))));
    }

    #[test]
    fn a_wrong_map_head_is_confirmed() {
        let mut entries = vec![register(), issue("A")];
        entries.push(map_head(Hash([1; 32]), 2));
        entries.push(issue("B"));
        let tree = Tree::of(&entries);
        let evidence = violation_evidence(&tree, 2);
        assert!(matches!(
            check_it(&evidence),
            Ok(Misbehaviour::RuleViolation {
                error: ReplayError::MapRoot { index: 2, .. },
                ..
            })
        ));
        // The whole tree, with no proof: the same.
        let whole = violation_evidence(&tree, 3);
        assert_eq!(check_it(&whole).unwrap().kind(), "rule_violation");
    }
}
