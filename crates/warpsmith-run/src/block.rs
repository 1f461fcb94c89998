//! Blocks: computing one (synthesise, Warp oracle, standalone CUDA, in rounds until every slot has a record),
//! and committing them in order against the index of committed records.
//!
//! Determinism: inside a block, candidates are generated and deduplicated sequentially in slot order, round by
//! round; only the oracle and the compilers run in parallel, and their results are stored by slot. A block
//! depends on (master seed, block index, configuration) alone; commit then regenerates, in slot order, the
//! slots whose record collides with a committed one. So the dataset does not depend on workers, timing,
//! pipelining or interruptions.

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::RecvTimeoutError;
use warpsmith_dataset::{CheckStatus, Record};
use warpsmith_gen::vectors::launch_spec;
use warpsmith_gen::{Category, record_seed};
use warpsmith_oracle::{CheckRequest, Job, Outcome, Pool};

use crate::index::{AgainstIndex, Dedup, Entry, Index, Local};
use crate::journal::{BlockEntry, Counters, Journal};
use crate::outdir::OutDir;
use crate::verdict::{Candidate, Verdict, judge, write_failure, write_finding};
use crate::{Reporter, RunError, Settings, Stage, Verify, fault};

/// Rounds of regeneration for slots whose kernel failed, was rejected or became a finding.
const MAX_ROUNDS: u64 = 16;
/// The same under `--reject-dead-constants`, where a slot's candidate passes with a probability of a few
/// percent in some categories (16 rounds left `nested_loop`, `combined` and `geometry` at 6-7 of 14 records in
/// docs/measurements.md, 2026-11-30): 4x as many rounds.
const MAX_ROUNDS_DEAD_CONSTANTS: u64 = 64;
/// Regenerations of one slot when its candidates keep colliding with earlier kernels.
const MAX_DUPLICATE_ATTEMPTS: u64 = 1000;
/// Blocks computed at once: while one is in its standalone stage, the next keeps the Warp workers busy.
const IN_FLIGHT: usize = 2;

/// What a block computation needs.
pub(crate) struct Ctx<'a> {
    pub s: &'a Settings,
    pub pool: &'a Pool,
    pub clock: &'a crate::Clock,
    pub schedule: &'a [Category],
    pub out: &'a OutDir,
    pub stage: &'a Stage,
    /// Set by Ctrl-C / SIGTERM, and by a failed block so the others stop too.
    pub interrupted: &'a AtomicBool,
    pub reporter: &'a dyn Reporter,
}

/// Why the block loop stopped early.
pub(crate) enum Stop {
    Interrupted,
    Failed(RunError),
}

impl From<RunError> for Stop {
    fn from(e: RunError) -> Stop {
        Stop::Failed(e)
    }
}

/// A block's records before commit.
pub(crate) struct Work {
    pub block: u64,
    pub records: BTreeMap<u64, Record>,
    pub attempts: BTreeMap<u64, u64>,
    pub counters: Counters,
}

/// Computes the blocks `todo` (in order, [`IN_FLIGHT`] at once) and hands each to `sink` in that order: a
/// one-machine run commits it, a part (`--blocks K/N`) stores it for `merge`.
pub(crate) fn run_blocks(ctx: &Ctx, todo: &[u64], mut sink: impl FnMut(Work) -> Result<(), Stop>) -> Result<(), Stop> {
    std::thread::scope(|scope| {
        let mut inflight = VecDeque::new();
        let mut next = todo.iter().copied();
        let result = loop {
            while inflight.len() < IN_FLIGHT {
                let Some(b) = next.next() else { break };
                inflight.push_back(scope.spawn(move || compute(ctx, b)));
            }
            let Some(handle) = inflight.pop_front() else { break Ok(()) };
            let work = match handle.join() {
                Ok(Ok(w)) => w,
                Ok(Err(stop)) => break Err(stop),
                Err(_) => break Err(Stop::Failed(RunError::Corrupt("a block thread panicked".into()))),
            };
            fault::point("block-computed");
            if crate::is_interrupted(ctx.interrupted) {
                break Err(Stop::Interrupted);
            }
            if let Err(e) = sink(work) {
                break Err(e);
            }
            if crate::is_interrupted(ctx.interrupted) {
                break Err(Stop::Interrupted);
            }
        };
        if result.is_err() {
            // the blocks still in flight stop at their next look at the flag
            ctx.interrupted.store(true, Ordering::Relaxed);
        }
        result
    })
}

/// Computes and commits every block the journal does not list, in order.
pub(crate) fn compute_and_commit(ctx: &Ctx, journal: &mut Journal, index: &mut Index) -> Result<(), Stop> {
    let todo: Vec<u64> = (journal.blocks.len() as u64..ctx.s.blocks()).collect();
    let started = std::time::Instant::now();
    let (wall_before, supervisor_before) = (journal.wall_seconds, journal.supervisor);
    run_blocks(ctx, &todo, |work| {
        let now = ctx.pool.counters();
        journal.wall_seconds = wall_before + started.elapsed().as_secs_f64();
        journal.supervisor = warpsmith_oracle::PoolCounters {
            restarts: supervisor_before.restarts + now.restarts,
            timeouts: supervisor_before.timeouts + now.timeouts,
            crashes: supervisor_before.crashes + now.crashes,
            retries: supervisor_before.retries + now.retries,
        };
        commit(ctx, work, journal, index)
    })
}

/// The slots of block `b`.
fn slots(s: &Settings, b: u64) -> Vec<u64> {
    let start = b * s.block_size;
    (start..(start + s.block_size).min(s.count)).collect()
}

fn compute(ctx: &Ctx, b: u64) -> Result<Work, Stop> {
    let dir = ctx.out.block_dir(b);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| io(&dir, e))?;
    }
    std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
    let mut work =
        Work { block: b, records: BTreeMap::new(), attempts: BTreeMap::new(), counters: Counters::default() };
    let mut dedup = Local::new(&ctx.s.near_dup);
    fill(ctx, &dir, slots(ctx.s, b), &mut work, &mut dedup)?;
    Ok(work)
}

fn io(path: &Path, e: std::io::Error) -> RunError {
    RunError::Dataset(warpsmith_dataset::DatasetError::Io { action: "write", path: path.to_path_buf(), source: e })
}

/// Records the oracle accepted, with their candidates, before the standalone stage.
type Accepted = Vec<(usize, Candidate, Box<Record>)>;
/// The standalone stage's answer for a round: its records and each one's verdict.
type StandaloneRound = Result<(Accepted, Vec<Option<(warpsmith_oracle::Failure, String)>>), RunError>;

/// Fills `slots` of `work` with records: rounds of generation (admitted by `dedup`), the oracle and the
/// standalone stage, regenerating what fails, until every slot has a record or the rounds run out.
///
/// A round's standalone stage runs beside the next round's oracle work and is joined when that round's
/// oracle answers are in; its failures are regenerated in the round after. The schedule is fixed (never
/// "whichever finishes first"), so the records do not depend on timing.
fn fill(ctx: &Ctx, dir: &Path, slots: Vec<u64>, work: &mut Work, dedup: &mut dyn Dedup) -> Result<(), Stop> {
    std::thread::scope(|scope| {
        let mut standalone: Option<std::thread::ScopedJoinHandle<'_, StandaloneRound>> = None;
        let mut pending = slots;
        let rounds = if ctx.s.reject_dead_constants { MAX_ROUNDS_DEAD_CONSTANTS } else { MAX_ROUNDS };
        for round in 0..rounds {
            if pending.is_empty() && standalone.is_none() {
                break;
            }
            let (accepted, mut retry) = oracle_round(ctx, dir, &pending, work, dedup)?;
            if let Some(h) = standalone.take() {
                retry.extend(absorb_standalone(dir, work, h.join())?);
            }
            if !accepted.is_empty() {
                let tag = format!("b{}-r{round}-{}", work.block, accepted[0].0);
                standalone = Some(scope.spawn(move || {
                    let mut accepted = accepted;
                    let verdicts = crate::standalone::run(ctx.stage, &mut accepted, &tag, ctx.clock)?;
                    Ok((accepted, verdicts))
                }));
            }
            retry.sort_unstable();
            pending = retry;
        }
        if let Some(h) = standalone.take() {
            // the rounds ran out: failures here stay without a record, as those of the oracle do
            absorb_standalone(dir, work, h.join())?;
        }
        Ok(())
    })
}

/// Stores a round's records that passed the standalone stage; returns the slots of those that failed it.
fn absorb_standalone(
    dir: &Path,
    work: &mut Work,
    joined: std::thread::Result<StandaloneRound>,
) -> Result<Vec<u64>, Stop> {
    let (accepted, verdicts) = match joined {
        Ok(r) => r?,
        Err(_) => return Err(Stop::Failed(RunError::Corrupt("a standalone stage thread panicked".into()))),
    };
    let mut retry = Vec::new();
    for ((slot, c, r), verdict) in accepted.into_iter().zip(verdicts) {
        match verdict {
            None => {
                work.counters.standalone_checked += u64::from(r.checks.standalone_equivalence == CheckStatus::Passed);
                work.records.insert(slot as u64, *r);
            }
            Some((f, cuda)) => {
                *work.counters.failures.entry(f.reason.name().to_string()).or_insert(0) += 1;
                write_failure(dir, &c, &f, &cuda)?;
                retry.push(slot as u64);
            }
        }
    }
    Ok(retry)
}

/// One round's synthesis and oracle work for `pending` slots: the records the oracle accepted (in slot order)
/// and the slots to regenerate.
fn oracle_round(
    ctx: &Ctx,
    dir: &Path,
    pending: &[u64],
    work: &mut Work,
    dedup: &mut dyn Dedup,
) -> Result<(Accepted, Vec<u64>), Stop> {
    let s = ctx.s;
    let (tx, rx) = crossbeam_channel::unbounded();
    let mut candidates: BTreeMap<u64, Candidate> = BTreeMap::new();
    for &slot in pending {
        let category = ctx.schedule[slot as usize];
        let t0 = std::time::Instant::now();
        let cand = loop {
            let attempt = work.attempts.entry(slot).or_insert(0);
            let seed = record_seed(s.seed, slot, *attempt);
            *attempt += 1;
            let attempts = *attempt;
            let kernel = warpsmith_gen::generate(category, seed, &s.config);
            // a parameter outside every output's data-flow slice is dead whatever its values: the worker's
            // redraw check would reject the kernel, so it is regenerated before Warp sees it
            let dead = warpsmith_ast::liveness::dead_params(&kernel);
            let id = warpsmith_ast::canonical_id(&kernel);
            if !dead.is_empty() {
                let why = if dead.inputs.is_empty() { "dead_output_static" } else { "dead_input_static" };
                *work.counters.rejected.entry(why.to_string()).or_insert(0) += 1;
            } else if !dedup.duplicate(&id) {
                let python = warpsmith_ast::python_module(&kernel);
                let sig = dedup.signature(&python);
                if !dedup.near(&sig) {
                    let spec = Some(launch_spec(&kernel, seed));
                    break Some(Candidate { category, seed, kernel, id, python, spec });
                }
                work.counters.near_duplicates += 1;
            } else {
                work.counters.duplicates += 1;
            }
            if attempts >= MAX_DUPLICATE_ATTEMPTS {
                break None;
            }
        };
        ctx.clock.add("generate", t0.elapsed().as_secs_f64());
        let Some(cand) = cand else { continue };
        let check = (s.verify != Verify::Codegen).then(|| CheckRequest {
            spec: cand.spec.clone().unwrap_or_else(|| launch_spec(&cand.kernel, cand.seed)),
            fd_seed: cand.seed,
            fd_samples: s.fd_samples,
            // kernels whose adjoint is known to be inexact are checked too: a pass shows that this one's is
            // right, a failure labels it `inexact` (verdict.rs)
            gradient: s.verify == Verify::Full,
            full_ptx: s.pool.store_ptx || warpsmith_dataset::full_ptx_sampled(cand.seed),
            constants: s.reject_dead_constants,
        });
        let job = Job { name: cand.kernel.name.clone(), source: cand.python.clone(), check };
        ctx.pool.submit_to(slot as usize, job, &tx);
        candidates.insert(slot, cand);
    }
    let mut retry = Vec::new();
    let mut accepted: Accepted = Vec::new();
    let mut remaining = candidates.len();
    while remaining > 0 {
        let (slot, outcome) = match rx.recv_timeout(crate::POLL) {
            Ok(r) => r,
            Err(RecvTimeoutError::Timeout) if crate::is_interrupted(ctx.interrupted) => {
                return Err(Stop::Interrupted);
            }
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => {
                return Err(Stop::Failed(RunError::Oracle("the worker pool stopped unexpectedly".into())));
            }
        };
        remaining -= 1;
        let Some(c) = candidates.remove(&(slot as u64)) else { continue };
        let verdict = match outcome {
            Outcome::Ok(mods) => judge(&c, *mods, s.verify),
            Outcome::Failed(f) => Verdict::Fail(f),
        };
        let counters = &mut work.counters;
        match verdict {
            Verdict::Accept(r) => {
                if matches!(r.checks.gradient, CheckStatus::Passed | CheckStatus::Failed) {
                    counters.gradient_checked += 1;
                }
                ctx.reporter.candidate_accepted();
                accepted.push((slot, c, r));
            }
            Verdict::Reject(why) => {
                *counters.rejected.entry(why).or_insert(0) += 1;
                retry.push(slot as u64);
            }
            Verdict::Fail(f) => {
                *counters.failures.entry(f.reason.name().to_string()).or_insert(0) += 1;
                write_failure(dir, &c, &f, "")?;
                retry.push(slot as u64);
            }
            Verdict::Finding(v, run) => {
                counters.gradient_checked += 1;
                let class = serde_json::to_value(v.class).ok().and_then(|x| x.as_str().map(String::from));
                *counters.findings.entry(class.unwrap_or_default()).or_insert(0) += 1;
                write_finding(dir, &c, &v, &run)?;
                retry.push(slot as u64);
            }
        }
    }
    if crate::is_interrupted(ctx.interrupted) {
        return Err(Stop::Interrupted);
    }
    // sorted, so the translation units (and any failure files) do not depend on completion order
    accepted.sort_by_key(|(slot, _, _)| *slot);
    Ok((accepted, retry))
}

/// Commits a computed block: drops and regenerates its records that collide with committed ones, then writes
/// its shard and index and lists it in the journal.
pub(crate) fn commit(ctx: &Ctx, mut work: Work, journal: &mut Journal, index: &mut Index) -> Result<(), Stop> {
    let dir = ctx.out.block_dir(work.block);
    let mut colliding = Vec::new();
    let mut signatures: BTreeMap<u64, warpsmith_dataset::near_dup::Signature> = BTreeMap::new();
    for (&slot, r) in &work.records {
        let sig = index.signature(&r.python);
        if index.contains(&r.id) {
            work.counters.duplicates += 1;
            colliding.push(slot);
        } else if index.near(&sig) {
            work.counters.near_duplicates += 1;
            colliding.push(slot);
        } else {
            index.insert(&r.id, sig.clone());
            signatures.insert(slot, sig);
        }
    }
    if !colliding.is_empty() {
        for slot in &colliding {
            work.records.remove(slot);
        }
        let mut against = AgainstIndex { index, local: Local::new(&ctx.s.near_dup) };
        fill(ctx, &dir, colliding.clone(), &mut work, &mut against)?;
        for slot in &colliding {
            if let Some(r) = work.records.get(slot) {
                let sig = index.signature(&r.python);
                index.insert(&r.id, sig.clone());
                signatures.insert(*slot, sig);
            }
        }
    }
    // the shard: records in slot order, written to a temporary name and renamed
    let shard = dir.join("records.parquet");
    let tmp = dir.join(".records.parquet.tmp");
    let rows: Vec<&Record> = work.records.values().collect();
    let mut w = warpsmith_dataset::ShardWriter::create(&tmp).map_err(RunError::from)?;
    let half = rows.len() / 2;
    w.write(&rows[..half]).map_err(RunError::from)?;
    fault::point("shard-write");
    w.write(&rows[half..]).map_err(RunError::from)?;
    w.close().map_err(RunError::from)?;
    std::fs::rename(&tmp, &shard).map_err(|e| io(&shard, e))?;
    let entries: Vec<Entry> = work
        .records
        .iter()
        .filter_map(|(slot, r)| signatures.remove(slot).map(|signature| Entry { id: r.id.clone(), signature }))
        .collect();
    let bytes = serde_json::to_vec(&entries).map_err(|e| RunError::Corrupt(e.to_string()))?;
    warpsmith_dataset::atomic_write(&dir.join("index.json"), &bytes).map_err(RunError::from)?;
    let hash = std::fs::File::open(&shard)
        .and_then(|f| blake3::Hasher::new().update_reader(f).map(|h| h.finalize().to_hex().to_string()))
        .map_err(|e| io(&shard, e))?;
    let size = std::fs::metadata(&shard).map_err(|e| io(&shard, e))?.len();
    fault::point("journal-write");
    journal.blocks.push(BlockEntry {
        index: work.block,
        records: rows.len() as u64,
        bytes: size,
        blake3: hash,
        counters: work.counters,
    });
    ctx.out.write_journal(journal)?;
    ctx.reporter.block_committed(work.block, rows.len() as u64, journal.records());
    drop(rows);
    drop(work.records);
    // without this, resident size climbed with the number of blocks (see the function)
    warpsmith_dataset::release_free_memory();
    Ok(())
}
