//! The journal (`DIR/.warpsmith/journal.json`): the run's identity and its committed blocks, each with the
//! BLAKE3 of its shard and its counters. A block is committed when the journal lists it; the journal is
//! replaced atomically after the block's shard and index are on disk.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use warpsmith_dataset::RunIdentity;
use warpsmith_oracle::PoolCounters;

/// Format version of the journal.
pub const FORMAT: u32 = 1;

/// What happened to the candidates of a block (or a run: the sum over its blocks).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Counters {
    /// Failures (written under `failures/`, slot regenerated) by reason.
    pub failures: BTreeMap<String, usize>,
    /// Candidates rejected and regenerated, by reason (`all_zero`, `constant`, ...).
    pub rejected: BTreeMap<String, usize>,
    /// Gradient findings (written under `findings/`, slot regenerated) by class.
    pub findings: BTreeMap<String, usize>,
    /// Candidates dropped as exact duplicates.
    pub duplicates: u64,
    /// Candidates dropped as near-duplicates.
    pub near_duplicates: u64,
    /// Candidates whose gradient was checked (passed or became a finding).
    pub gradient_checked: u64,
    /// Records whose standalone translation reproduced Warp's outputs on the host.
    pub standalone_checked: u64,
}

impl Counters {
    /// Adds `other` into `self`.
    pub fn add(&mut self, other: &Counters) {
        for (mine, theirs) in [
            (&mut self.failures, &other.failures),
            (&mut self.rejected, &other.rejected),
            (&mut self.findings, &other.findings),
        ] {
            for (k, v) in theirs {
                *mine.entry(k.clone()).or_insert(0) += v;
            }
        }
        self.duplicates += other.duplicates;
        self.near_duplicates += other.near_duplicates;
        self.gradient_checked += other.gradient_checked;
        self.standalone_checked += other.standalone_checked;
    }

    /// Failures of every reason.
    pub fn failed(&self) -> usize {
        self.failures.values().sum()
    }
}

/// One committed block.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BlockEntry {
    /// The block's index (slots `index * block_size ..`).
    pub index: u64,
    /// Records in its shard.
    pub records: u64,
    /// Size of `blocks/NNNNN/records.parquet`, bytes.
    pub bytes: u64,
    /// Hex BLAKE3 of that shard.
    pub blake3: String,
    /// What happened to its candidates.
    pub counters: Counters,
}

/// The journal.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Journal {
    /// [`FORMAT`].
    pub format: u32,
    /// What decides the records.
    pub identity: RunIdentity,
    /// Committed blocks, in block order (0, 1, 2, ... without gaps).
    pub blocks: Vec<BlockEntry>,
    /// Times the run was resumed.
    pub resumes: u64,
    /// Seconds spent by earlier invocations up to their last commit.
    pub wall_seconds: f64,
    /// The supervisor's counters of earlier invocations up to their last commit.
    pub supervisor: PoolCounters,
}

impl Journal {
    /// A journal with no block committed.
    pub fn new(identity: RunIdentity) -> Journal {
        Journal {
            format: FORMAT,
            identity,
            blocks: Vec::new(),
            resumes: 0,
            wall_seconds: 0.0,
            supervisor: PoolCounters::default(),
        }
    }

    /// Records in committed blocks.
    pub fn records(&self) -> u64 {
        self.blocks.iter().map(|b| b.records).sum()
    }

    /// Counters summed over committed blocks.
    pub fn counters(&self) -> Counters {
        let mut c = Counters::default();
        for b in &self.blocks {
            c.add(&b.counters);
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_add_up_per_key() {
        let mut a = Counters { duplicates: 2, ..Counters::default() };
        a.failures.insert("codegen".into(), 1);
        let mut b = Counters { duplicates: 3, gradient_checked: 4, ..Counters::default() };
        b.failures.insert("codegen".into(), 2);
        b.failures.insert("run".into(), 5);
        a.add(&b);
        assert_eq!(a.duplicates, 5);
        assert_eq!(a.gradient_checked, 4);
        assert_eq!(a.failures, BTreeMap::from([("codegen".into(), 3), ("run".into(), 5)]));
        assert_eq!(a.failed(), 8);
    }
}
