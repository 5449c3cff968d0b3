//! C2SP tlog-proof: the text form of an offline inclusion proof, `c2sp.org/tlog-proof@v1`, an
//! optional `extra` line, `index N`, the proof hashes one per line, an empty line, and the
//! signed checkpoint verbatim.

use alloc::string::String;
use alloc::vec::Vec;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use certlog_verifier::checkpoint::parse_tree_size;
use certlog_verifier::merkle::Hash;

const HEADER: &str = "c2sp.org/tlog-proof@v1";

/// An inclusion proof with its checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlogProof {
    /// Opaque, unauthenticated application data.
    pub extra: Option<Vec<u8>>,
    /// The entry's index.
    pub index: u64,
    /// The inclusion proof, from the leaf's sibling up.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note, verbatim.
    pub checkpoint: String,
}

/// Why a tlog-proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed tlog-proof: {0}")]
pub struct TlogProofError(pub &'static str);

impl TlogProof {
    /// The text form.
    pub fn to_text(&self) -> String {
        let mut s = String::from(HEADER);
        s.push('\n');
        if let Some(extra) = &self.extra {
            s.push_str("extra ");
            s.push_str(&BASE64.encode(extra));
            s.push('\n');
        }
        s.push_str(&alloc::format!("index {}\n", self.index));
        for h in &self.proof {
            s.push_str(&h.to_base64());
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&self.checkpoint);
        s
    }

    /// Parses the text form (the checkpoint is kept verbatim, to be verified by the caller).
    pub fn parse(text: &str) -> Result<TlogProof, TlogProofError> {
        let (head, checkpoint) = text
            .split_once("\n\n")
            .ok_or(TlogProofError("no empty line before the checkpoint"))?;
        let mut lines = head.split('\n');
        if lines.next() != Some(HEADER) {
            return Err(TlogProofError(
                "the first line is not c2sp.org/tlog-proof@v1",
            ));
        }
        let mut line = lines.next().ok_or(TlogProofError("no index line"))?;
        let extra = match line.strip_prefix("extra ") {
            Some(b64) => {
                let bytes = BASE64
                    .decode(b64)
                    .map_err(|_| TlogProofError("extra is not base64"))?;
                line = lines.next().ok_or(TlogProofError("no index line"))?;
                Some(bytes)
            }
            None => None,
        };
        let index = line
            .strip_prefix("index ")
            .and_then(parse_tree_size)
            .ok_or(TlogProofError("bad index line"))?;
        let proof = lines
            .map(|l| Hash::from_base64(l).map_err(|_| TlogProofError("a proof line is not a hash")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TlogProof {
            extra,
            index,
            proof,
            checkpoint: checkpoint.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use certlog_verifier::merkle::leaf_hash;

    #[test]
    fn round_trip() {
        let p = TlogProof {
            extra: Some(b"age-v1.2.1".to_vec()),
            index: 73894,
            proof: alloc::vec![leaf_hash(b"a"), leaf_hash(b"b")],
            checkpoint: "example.com/log\n5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n\u{2014} example.com/log AAAA\n".into(),
        };
        let text = p.to_text();
        assert!(text.starts_with("c2sp.org/tlog-proof@v1\nextra YWdlLXYxLjIuMQ==\nindex 73894\n"));
        assert_eq!(TlogProof::parse(&text), Ok(p.clone()));
        let no_extra = TlogProof {
            extra: None,
            proof: alloc::vec![],
            ..p
        };
        assert_eq!(TlogProof::parse(&no_extra.to_text()), Ok(no_extra));
        assert!(TlogProof::parse("c2sp.org/tlog-proof@v1\nindex 01\n\nx").is_err());
        assert!(TlogProof::parse("tlog-proof\nindex 1\n\nx").is_err());
    }
}
