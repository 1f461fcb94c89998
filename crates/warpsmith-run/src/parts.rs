//! Runs split over machines: a *part* (`generate --blocks K/N`) computes the blocks `b` with `b % N == K` and
//! stores each uncommitted (its records, the attempts its slots used, its counters, its failures and
//! findings); `merge` commits the blocks of all parts in block order with the rule of a one-machine run
//! (`block::commit`: cross-block exact and near-duplicate checks, colliding slots regenerated from their next
//! attempt), so the merged dataset is byte-identical to `generate` on one machine with the same identity.
//!
//! ```text
//! PART/.warpsmith/part.json               identity, K/N, computed blocks (with the BLAKE3 of each)
//! PART/.warpsmith/blocks/NNNNN/           computed.parquet, computed.json, failures/, findings/
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use warpsmith_dataset::{Record, RunIdentity};

use crate::block::{self, Stop, Work};
use crate::journal::Counters;
use crate::outdir::{OutDir, STATE};
use crate::{Outcome, Reporter, RunError, Session, Settings, fault};

/// Format version of `part.json`.
pub const FORMAT: u32 = 1;

/// Which blocks a part computes: those with `block % of == index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    /// K, from 0.
    pub index: u64,
    /// N, at least 1.
    pub of: u64,
}

impl Part {
    /// Parses `K/N` with `0 <= K < N`.
    ///
    /// # Errors
    /// A message naming what is wrong.
    pub fn parse(text: &str) -> Result<Part, String> {
        let (k, n) = text.split_once('/').ok_or_else(|| format!("{text:?} is not K/N"))?;
        let index: u64 = k.trim().parse().map_err(|_| format!("{k:?} in {text:?} is not a number"))?;
        let of: u64 = n.trim().parse().map_err(|_| format!("{n:?} in {text:?} is not a number"))?;
        if of == 0 || index >= of {
            return Err(format!("{text:?}: K/N needs 0 <= K < N (K counts from 0, as Slurm's array task ids can)"));
        }
        Ok(Part { index, of })
    }

    /// The blocks of a run of `blocks` blocks that this part computes, in order.
    pub fn blocks(self, blocks: u64) -> Vec<u64> {
        (self.index..blocks).step_by(usize::try_from(self.of).unwrap_or(usize::MAX)).collect()
    }
}

/// A computed block of a part.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PartBlock {
    /// The block's index.
    pub index: u64,
    /// Hex BLAKE3 of its `computed.parquet`.
    pub blake3: String,
}

/// `PART/.warpsmith/part.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PartState {
    /// [`FORMAT`].
    pub format: u32,
    /// The run this part belongs to.
    pub identity: RunIdentity,
    /// Which blocks it computes.
    pub part: Part,
    /// The blocks computed so far, in order.
    pub blocks: Vec<PartBlock>,
}

/// What `computed.json` holds beside the records.
#[derive(Serialize, Deserialize)]
struct Computed {
    block: u64,
    /// The slot of each row of `computed.parquet`, in row order.
    slots: Vec<u64>,
    attempts: BTreeMap<u64, u64>,
    counters: Counters,
}

fn io(action: &'static str, path: &Path, e: std::io::Error) -> RunError {
    RunError::Dataset(warpsmith_dataset::DatasetError::Io { action, path: path.to_path_buf(), source: e })
}

fn state_path(dir: &Path) -> PathBuf {
    dir.join(STATE).join("part.json")
}

fn blake3_of(path: &Path) -> Result<String, RunError> {
    std::fs::File::open(path)
        .and_then(|f| blake3::Hasher::new().update_reader(f).map(|h| h.finalize().to_hex().to_string()))
        .map_err(|e| io("read", path, e))
}

/// Reads the part in `dir`.
///
/// # Errors
/// [`RunError::Refused`] when `dir` holds no part (or an unreadable one).
pub fn read_part(dir: &Path) -> Result<PartState, RunError> {
    let path = state_path(dir);
    let bytes = std::fs::read(&path).map_err(|e| {
        RunError::Refused(format!("{} is not a warpsmith part (no {}: {e})", dir.display(), path.display()))
    })?;
    serde_json::from_slice(&bytes)
        .map_err(|e| RunError::Refused(format!("{} is not a warpsmith part file: {e}", path.display())))
}

/// How a part run ended, when it did not fail.
#[derive(Debug)]
pub enum PartOutcome {
    /// Every block of the part is computed (`blocks` of them, `records` records before commit).
    Done {
        /// Blocks of this part.
        blocks: u64,
        /// Records in them, before the merge's cross-block checks.
        records: u64,
    },
    /// Ctrl-C or SIGTERM: computed blocks are kept; the same command resumes.
    Interrupted {
        /// Blocks computed.
        done: u64,
        /// Blocks of this part.
        blocks: u64,
    },
}

/// Computes the blocks of `part` into `settings.out` (a part directory), resuming from the blocks it lists.
///
/// # Errors
/// [`RunError::Refused`] for a directory holding a dataset, a run, or another part (without `force`); other
/// variants for I/O, oracle or compiler failures (computed blocks stay for a resume).
pub fn run_part(settings: &Settings, part: Part, reporter: &dyn Reporter) -> Result<PartOutcome, RunError> {
    if settings.count == 0 || settings.count > crate::MAX_COUNT {
        return Err(RunError::Refused(format!("--count must be between 1 and {}", crate::MAX_COUNT)));
    }
    let identity = settings.identity();
    let out = OutDir::open(&settings.out, settings.force)?;
    if out.dir().join(STATE).join("journal.json").exists() || warpsmith_dataset::read_manifest(out.dir()).is_ok() {
        return Err(RunError::Refused(format!(
            "{} holds a dataset or a one-machine run; a part (--blocks) needs a directory of its own",
            out.dir().display()
        )));
    }
    let mut state = match read_part(out.dir()) {
        Ok(s) if s.identity == identity && s.part == part => s,
        Ok(s) if !settings.force => {
            let mut diffs = s.identity.differences(&identity);
            if s.part != part {
                diffs.push(format!("blocks: {}/{} vs {}/{}", s.part.index, s.part.of, part.index, part.of));
            }
            return Err(RunError::Refused(format!(
                "{} holds a part with other settings (part vs this command):\n  {}\n\
                 run the earlier command again to resume it, or pass --force to discard it",
                out.dir().display(),
                diffs.join("\n  ")
            )));
        }
        _ => PartState { format: FORMAT, identity: identity.clone(), part, blocks: Vec::new() },
    };
    // block directories the state does not list are an interrupted block's work
    let blocks_dir = out.dir().join(STATE).join("blocks");
    if let Ok(entries) = std::fs::read_dir(&blocks_dir) {
        for e in entries.flatten() {
            let listed =
                e.file_name().to_string_lossy().parse::<u64>().is_ok_and(|b| state.blocks.iter().any(|x| x.index == b));
            if !listed {
                std::fs::remove_dir_all(e.path()).map_err(|err| io("remove", &e.path(), err))?;
            }
        }
    }
    write_state(out.dir(), &state)?;
    let all = part.blocks(settings.blocks());
    let todo: Vec<u64> = all.iter().copied().filter(|b| !state.blocks.iter().any(|x| x.index == *b)).collect();
    let kept: u64 =
        state.blocks.iter().map(|b| settings.block_size.min(settings.count - b.index * settings.block_size)).sum();
    let total: u64 = all.iter().map(|b| settings.block_size.min(settings.count - b * settings.block_size)).sum();
    reporter.started(total, kept, all.len() as u64, settings.pool.workers);
    if todo.is_empty() {
        // a finished part run again (a retried task): nothing to compute, no workers to start
        out.finish_part()?;
        return Ok(PartOutcome::Done { blocks: all.len() as u64, records: kept });
    }
    let session = Session::start(settings, &out)?;
    let ctx = session.ctx(settings, &out, reporter);
    let mut records = kept;
    let result = block::run_blocks(&ctx, &todo, |work| {
        let n = work.records.len() as u64;
        let b = work.block;
        let hash = save(&out.block_dir(b), &work)?;
        fault::point("part-block-saved");
        state.blocks.push(PartBlock { index: b, blake3: hash });
        write_state(out.dir(), &state)?;
        records += n;
        reporter.block_committed(b, n, records);
        Ok(())
    });
    match result {
        Ok(()) => {}
        Err(Stop::Interrupted) => {
            return Ok(PartOutcome::Interrupted { done: state.blocks.len() as u64, blocks: all.len() as u64 });
        }
        Err(Stop::Failed(e)) => return Err(e),
    }
    session.pool.finish();
    out.finish_part()?;
    Ok(PartOutcome::Done { blocks: all.len() as u64, records })
}

fn write_state(dir: &Path, state: &PartState) -> Result<(), RunError> {
    let bytes = serde_json::to_vec_pretty(state).map_err(|e| RunError::Corrupt(e.to_string()))?;
    warpsmith_dataset::atomic_write(&state_path(dir), &bytes)?;
    Ok(())
}

/// Stores a computed block in its directory; returns the BLAKE3 of its `computed.parquet`.
fn save(dir: &Path, work: &Work) -> Result<String, RunError> {
    let shard = dir.join("computed.parquet");
    let tmp = dir.join(".computed.parquet.tmp");
    let rows: Vec<&Record> = work.records.values().collect();
    let mut w = warpsmith_dataset::ShardWriter::create(&tmp)?;
    w.write(&rows)?;
    w.close()?;
    std::fs::rename(&tmp, &shard).map_err(|e| io("rename", &shard, e))?;
    let meta = Computed {
        block: work.block,
        slots: work.records.keys().copied().collect(),
        attempts: work.attempts.clone(),
        counters: work.counters.clone(),
    };
    let bytes = serde_json::to_vec(&meta).map_err(|e| RunError::Corrupt(e.to_string()))?;
    warpsmith_dataset::atomic_write(&dir.join("computed.json"), &bytes)?;
    blake3_of(&shard)
}

/// Reads a stored block back, checking its shard against the hash the part recorded.
fn load(dir: &Path, expected: &PartBlock) -> Result<Work, RunError> {
    let shard = dir.join("computed.parquet");
    let hash = blake3_of(&shard)?;
    if hash != expected.blake3 {
        return Err(RunError::Corrupt(format!(
            "{}: BLAKE3 {hash} is not the {} its part recorded; compute the part again",
            shard.display(),
            expected.blake3
        )));
    }
    let meta_path = dir.join("computed.json");
    let bytes = std::fs::read(&meta_path).map_err(|e| io("read", &meta_path, e))?;
    let meta: Computed =
        serde_json::from_slice(&bytes).map_err(|e| RunError::Corrupt(format!("{}: {e}", meta_path.display())))?;
    let rows = warpsmith_dataset::read_records(&shard)?;
    if rows.len() != meta.slots.len() || meta.block != expected.index {
        return Err(RunError::Corrupt(format!("{}: rows and slots disagree", meta_path.display())));
    }
    Ok(Work {
        block: meta.block,
        records: meta.slots.into_iter().zip(rows).collect(),
        attempts: meta.attempts,
        counters: meta.counters,
    })
}

/// Block ranges as text: `0-3, 7, 9-10`.
fn ranges(blocks: &[u64]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < blocks.len() {
        let mut j = i;
        while j + 1 < blocks.len() && blocks[j + 1] == blocks[j] + 1 {
            j += 1;
        }
        out.push(if i == j { blocks[i].to_string() } else { format!("{}-{}", blocks[i], blocks[j]) });
        i = j + 1;
    }
    out.join(", ")
}

/// Which part directory holds each block of the run, after checking that `parts` belong to `settings`'s run
/// and together hold every block exactly once.
///
/// # Errors
/// [`RunError::Refused`] naming the part of another run (and how it differs), the blocks two parts both
/// hold, or the blocks no part holds.
pub fn plan(settings: &Settings, parts: &[PathBuf]) -> Result<BTreeMap<u64, (PathBuf, PartBlock)>, RunError> {
    let identity = settings.identity();
    let mut owner: BTreeMap<u64, (PathBuf, PartBlock)> = BTreeMap::new();
    let mut overlaps: Vec<String> = Vec::new();
    for dir in parts {
        let state = read_part(dir)?;
        if state.identity != identity {
            return Err(RunError::Refused(format!(
                "{} belongs to another run (this part vs the first):\n  {}",
                dir.display(),
                identity.differences(&state.identity).join("\n  ")
            )));
        }
        for b in state.blocks {
            if let Some((other, _)) = owner.get(&b.index) {
                overlaps.push(format!("block {} in both {} and {}", b.index, other.display(), dir.display()));
                continue;
            }
            owner.insert(b.index, (dir.clone(), b));
        }
    }
    if !overlaps.is_empty() {
        return Err(RunError::Refused(format!("parts overlap: {}", overlaps.join("; "))));
    }
    let missing: Vec<u64> = (0..settings.blocks()).filter(|b| !owner.contains_key(b)).collect();
    if !missing.is_empty() {
        return Err(RunError::Refused(format!(
            "no part holds block(s) {} of {} (unfinished or missing parts: run their `generate --blocks K/N` \
             to the end)",
            ranges(&missing),
            settings.blocks()
        )));
    }
    Ok(owner)
}

/// Commits the blocks of `parts` into `settings.out` in block order, as a one-machine run commits them, and
/// writes the dataset. A merge that is interrupted resumes from its journal, like `generate`.
///
/// # Errors
/// As [`plan`], and as [`crate::run`] for the output directory and the commit.
pub fn merge(settings: &Settings, parts: &[PathBuf], reporter: &dyn Reporter) -> Result<Outcome, RunError> {
    let start = Instant::now();
    let owner = plan(settings, parts)?;
    let identity = settings.identity();
    let out = OutDir::open(&settings.out, settings.force)?;
    if let Some(records) = out.finished_with(&identity) {
        out.finish()?;
        return Ok(Outcome::AlreadyDone { records });
    }
    let journal = out.journal(&identity, settings.force)?;
    crate::finish_run(settings, out, journal, reporter, start, |ctx, journal, index| {
        for b in journal.blocks.len() as u64..settings.blocks() {
            if crate::is_interrupted(ctx.interrupted) {
                return Err(Stop::Interrupted);
            }
            let (part_dir, entry) = &owner[&b];
            let from = part_dir.join(STATE).join("blocks").join(format!("{b:05}"));
            let work = load(&from, entry)?;
            // the block's failures and findings, as a one-machine run leaves them before its commit
            let to = ctx.out.block_dir(b);
            if to.exists() {
                std::fs::remove_dir_all(&to).map_err(|e| io("remove", &to, e))?;
            }
            std::fs::create_dir_all(&to).map_err(|e| io("create", &to, e))?;
            for sub in ["failures", "findings"] {
                crate::assemble::copy_dir(&from.join(sub), &to.join(sub))?;
            }
            block::commit(ctx, work, journal, index)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_split_the_blocks_round_robin_and_cover_them_once() {
        for (n, blocks) in [(1u64, 5u64), (2, 5), (3, 7), (4, 2)] {
            let mut all: Vec<u64> = (0..n).flat_map(|k| Part { index: k, of: n }.blocks(blocks)).collect();
            all.sort_unstable();
            assert_eq!(all, (0..blocks).collect::<Vec<_>>(), "{n} parts of {blocks} blocks");
        }
        assert_eq!(Part { index: 1, of: 3 }.blocks(8), vec![1, 4, 7]);
    }

    #[test]
    fn k_over_n_is_parsed_strictly() {
        assert_eq!(Part::parse("2/4"), Ok(Part { index: 2, of: 4 }));
        for bad in ["4/4", "1/0", "x/2", "3", "-1/2", "1/2/3"] {
            assert!(Part::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn missing_blocks_are_named_as_ranges() {
        assert_eq!(ranges(&[0, 1, 2, 3, 7, 9, 10]), "0-3, 7, 9-10");
        assert_eq!(ranges(&[]), "");
    }
}
