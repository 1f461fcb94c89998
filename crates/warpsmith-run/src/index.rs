//! The index of committed records: their ids (exact duplicates) and MinHash signatures (near-duplicates),
//! loaded from the committed blocks' `index.json` at a resume. About 600 bytes a record.

use std::collections::HashSet;

use warpsmith_dataset::NearDupInfo;
use warpsmith_dataset::near_dup::{Lsh, Signature};

use crate::RunError;
use crate::journal::Journal;
use crate::outdir::OutDir;

/// One record in a block's `index.json`: its id and signature, in slot order.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Entry {
    pub id: String,
    pub signature: Signature,
}

/// What admits a candidate: not an exact duplicate, and (unless near-duplicates are kept) not a
/// near-duplicate, of what it has seen.
pub(crate) trait Dedup {
    /// Whether `id` was seen; remembers it.
    fn duplicate(&mut self, id: &str) -> bool;
    /// Whether `sig` is a near-duplicate of something seen; remembers it if not.
    fn near(&mut self, sig: &Signature) -> bool;
    /// The signature of a text.
    fn signature(&self, text: &str) -> Signature;
}

/// Candidates of one block (or one regeneration) among themselves.
pub(crate) struct Local {
    seen: HashSet<blake3::Hash>,
    lsh: Lsh,
    keep: bool,
}

impl Local {
    pub fn new(rule: &NearDupInfo) -> Local {
        Local { seen: HashSet::new(), lsh: Lsh::new(rule.threshold, rule.ngram), keep: rule.keep }
    }
}

impl Dedup for Local {
    fn duplicate(&mut self, id: &str) -> bool {
        !self.seen.insert(blake3::hash(id.as_bytes()))
    }
    fn near(&mut self, sig: &Signature) -> bool {
        if self.keep {
            return false;
        }
        if !self.lsh.neighbours(sig).is_empty() {
            return true;
        }
        self.lsh.insert(sig.clone());
        false
    }
    fn signature(&self, text: &str) -> Signature {
        self.lsh.signature(text)
    }
}

/// The committed records.
pub(crate) struct Index {
    ids: HashSet<blake3::Hash>,
    lsh: Lsh,
    keep: bool,
}

impl Index {
    /// The index of the blocks `journal` lists, each shard checked against its BLAKE3 in the journal.
    ///
    /// # Errors
    /// [`RunError::Corrupt`] for a block whose shard or index is missing or not what the journal says.
    pub fn load(out: &OutDir, journal: &Journal, rule: &NearDupInfo) -> Result<Index, RunError> {
        let mut index = Index { ids: HashSet::new(), lsh: Lsh::new(rule.threshold, rule.ngram), keep: rule.keep };
        for b in &journal.blocks {
            let dir = out.block_dir(b.index);
            let shard = dir.join("records.parquet");
            let hash = std::fs::File::open(&shard)
                .and_then(|f| blake3::Hasher::new().update_reader(f).map(|h| h.finalize().to_hex().to_string()));
            if hash.as_deref().ok() != Some(b.blake3.as_str()) {
                return Err(RunError::Corrupt(format!(
                    "{} is missing or not the block the journal committed; pass --force to start the run over",
                    shard.display()
                )));
            }
            for e in read_entries(out, b.index)? {
                index.insert(&e.id, e.signature);
            }
        }
        Ok(index)
    }

    pub fn contains(&self, id: &str) -> bool {
        self.ids.contains(&blake3::hash(id.as_bytes()))
    }

    pub fn near(&self, sig: &Signature) -> bool {
        !self.keep && !self.lsh.neighbours(sig).is_empty()
    }

    pub fn insert(&mut self, id: &str, sig: Signature) {
        self.ids.insert(blake3::hash(id.as_bytes()));
        self.lsh.insert(sig);
    }

    pub fn signature(&self, text: &str) -> Signature {
        self.lsh.signature(text)
    }
}

/// A block's `index.json`.
pub(crate) fn read_entries(out: &OutDir, block: u64) -> Result<Vec<Entry>, RunError> {
    let path = out.block_dir(block).join("index.json");
    let bytes = std::fs::read(&path).map_err(|e| RunError::Corrupt(format!("cannot read {}: {e}", path.display())))?;
    serde_json::from_slice(&bytes).map_err(|e| RunError::Corrupt(format!("{}: {e}", path.display())))
}

/// Regenerated candidates: new against the committed index and against each other.
pub(crate) struct AgainstIndex<'a> {
    pub index: &'a Index,
    pub local: Local,
}

impl Dedup for AgainstIndex<'_> {
    fn duplicate(&mut self, id: &str) -> bool {
        // both are consulted so the local set remembers the id either way
        let local = self.local.duplicate(id);
        self.index.contains(id) || local
    }
    fn near(&mut self, sig: &Signature) -> bool {
        self.index.near(sig) || self.local.near(sig)
    }
    fn signature(&self, text: &str) -> Signature {
        self.local.signature(text)
    }
}
