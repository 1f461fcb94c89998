//! A `generate` run as a library: blocks of slots, commit in block order against the index of committed
//! records, a journal to resume from, and a staging area swapped into place at the end. The binary resolves its
//! flags into one [`Settings`] and renders progress through a [`Reporter`]; nothing here prints.
//!
//! ```text
//!  slots 0..N ─► blocks of B slots ─► [per block: synthesise → Warp oracle → standalone CUDA]   (2 in flight)
//!                                     commit in block order: exact + near dedup against the committed index,
//!                                     regenerate colliding slots ─► DIR/.warpsmith/blocks/NNNNN/ + journal
//!              after the last block ─► final shards, card, manifest in DIR/.warpsmith/staging ─► swap into DIR
//! ```
//!
//! Invariants:
//! - A block's candidates depend on (master seed, block index, configuration) alone, so blocks can be computed
//!   in any order or place; commit is sequential, so the dataset is the same for any number of workers, any
//!   interruptions and resumes (`tests/durable.rs` kills runs at every stage and compares bytes).
//! - Memory holds at most two blocks in flight, the block being assembled, and the index (a 32-byte id and a
//!   512-byte MinHash signature per committed record).
//! - Nothing under `DIR` but `DIR/.warpsmith` changes before the swap; the swap is a handful of renames, rolled
//!   forward by the next run if it was interrupted.

mod assemble;
mod block;
pub mod fault;
mod index;
pub mod journal;
pub mod outdir;
pub mod parts;
pub mod standalone;
mod verdict;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use warpsmith_dataset::{NearDupInfo, RunIdentity, RunInfo};
use warpsmith_gen::Config;
use warpsmith_oracle::{Pool, PoolCounters, PoolOptions, StageSeconds, WARP_VERSION, WorkerCommand};

pub use journal::Counters;
pub use parts::{Part, PartOutcome, merge, run_part};
pub use standalone::Stage;
pub use verdict::{RunVerdict, inexact_reasons, judge_run};

/// How much of each kernel to verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verify {
    /// Warp code generation only.
    Codegen,
    /// Also compile for the CPU and launch twice on test inputs (forward, determinism, degenerate outputs).
    Run,
    /// Also the gradient check against finite differences and NVRTC PTX for sm_80.
    Full,
}

impl Verify {
    /// `codegen`, `run` or `full`.
    pub fn name(self) -> &'static str {
        match self {
            Verify::Codegen => "codegen",
            Verify::Run => "run",
            Verify::Full => "full",
        }
    }
}

/// The largest `--count`: the slot schedule takes one byte a slot.
pub const MAX_COUNT: u64 = 100_000_000;

/// A resolved run: what `generate`'s flags and configuration file mean.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The output directory.
    pub out: PathBuf,
    /// Records to write, 1 to [`MAX_COUNT`].
    pub count: u64,
    /// Master seed.
    pub seed: u64,
    /// Slots per block, at least 1.
    pub block_size: u64,
    /// Rows per final Parquet shard, at least 1.
    pub shard_rows: u64,
    /// The generation configuration (validated).
    pub config: Config,
    /// Verification level.
    pub verify: Verify,
    /// Input components checked by finite differences per kernel.
    pub fd_samples: u32,
    /// `cpu`, or `cuda` to compare CUDA launches with the CPU.
    pub device: String,
    /// Store each record's PTX.
    pub ptx: bool,
    /// The near-duplicate rule.
    pub near_dup: NearDupInfo,
    /// Reject kernels with a float literal that moves no output (the worker's constant-sensitivity check,
    /// `dead_constant`), with `verify` `run` or `full`.
    pub reject_dead_constants: bool,
    /// Replace a directory that is not a warpsmith dataset, or an unfinished run of another identity.
    pub force: bool,
    /// The Warp worker to start (its `scratch_root` is set by the run, under `DIR/.warpsmith/tmp`).
    pub worker: WorkerCommand,
    /// Worker pool settings (workers, timeout, recycling, batch size).
    pub pool: PoolOptions,
    /// The standalone CUDA stage (its `workdir` is set by the run, under `DIR/.warpsmith/tmp`).
    pub stage: Stage,
    /// Versions of Warp and the compilers, for the manifest.
    pub tools: std::collections::BTreeMap<String, String>,
}

impl Settings {
    /// What decides the records' bytes.
    pub fn identity(&self) -> RunIdentity {
        RunIdentity {
            seed: self.seed,
            count: self.count,
            block_size: self.block_size,
            shard_rows: self.shard_rows,
            config: serde_json::to_value(&self.config).unwrap_or(serde_json::Value::Null),
            verify: self.verify.name().into(),
            fd_samples: self.fd_samples,
            device: self.device.clone(),
            ptx: self.ptx,
            near_dup: self.near_dup.clone(),
            reject_dead_constants: self.reject_dead_constants,
            warpsmith_version: env!("CARGO_PKG_VERSION").into(),
            warp_version: WARP_VERSION.into(),
        }
    }

    /// Blocks in the run.
    pub fn blocks(&self) -> u64 {
        self.count.div_ceil(self.block_size.max(1))
    }
}

/// Progress and events of a run; every method has a default that ignores it. Called from several threads.
pub trait Reporter: Sync {
    /// The run starts (or resumes with `kept` records already committed).
    fn started(&self, _total: u64, _kept: u64, _blocks: u64, _workers: usize) {}
    /// A candidate passed the Warp oracle's checks (it may still fail the standalone stage or collide at
    /// commit: a progress hint, set exactly by [`Reporter::block_committed`]).
    fn candidate_accepted(&self) {}
    /// A block was committed.
    fn block_committed(&self, _block: u64, _records: u64, _committed_total: u64) {}
    /// A phase message ("writing the dataset", ...).
    fn message(&self, _m: &str) {}
}

/// A reporter that reports nothing.
pub struct Silent;
impl Reporter for Silent {}

/// How a run ended, when it did not fail.
#[derive(Debug)]
pub enum Outcome {
    /// The dataset is in place.
    Done(Box<Summary>),
    /// The directory already held this run's finished dataset; nothing was done.
    AlreadyDone {
        /// Its records.
        records: u64,
    },
    /// Ctrl-C or SIGTERM: committed blocks are kept for a resume.
    Interrupted {
        /// Records in committed blocks.
        kept: u64,
        /// Records asked for.
        total: u64,
    },
}

/// Seconds spent per stage by this process's threads (`generate`: synthesis, static checks and deduplication;
/// `standalone`: the compilers of the standalone CUDA stage, summed over its threads), to be merged with the
/// workers' [`Pool::stage_seconds`]. For `warpsmith bench` and the run summary; never stored in a dataset.
#[derive(Default)]
pub(crate) struct Clock(std::sync::Mutex<StageSeconds>);

impl Clock {
    /// Adds `seconds` to `stage`.
    pub(crate) fn add(&self, stage: &str, seconds: f64) {
        // a poisoned lock means another block thread panicked; the sums stay usable
        *self.0.lock().unwrap_or_else(|e| e.into_inner()).entry(stage.into()).or_insert(0.0) += seconds;
    }

    fn merged(&self, pool: &Pool) -> StageSeconds {
        let mut all = pool.stage_seconds();
        for (k, v) in self.0.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            *all.entry(k.clone()).or_insert(0.0) += v;
        }
        all
    }
}

/// The figures of a finished run, for the summary the binary prints.
#[derive(Debug)]
pub struct Summary {
    /// Seconds per stage in this invocation, summed over the processes or threads that ran it: the workers'
    /// CPU seconds (`codegen`, `cpu_compile_forward`, `cpu_compile`, `batch_import`, `launch`, `liveness`,
    /// `gradient`, `ptx`, `ptx_front_end`, `cuda`) and wall-clock seconds for `worker_start` and this
    /// process's stages (`generate`; `standalone`, the compilers' runs, which may share the cores with
    /// workers).
    pub stage_seconds: StageSeconds,
    /// The manifest written.
    pub manifest: warpsmith_dataset::Manifest,
    /// Counters summed over all blocks.
    pub counters: Counters,
    /// Seconds generating and checking (this invocation), and assembling.
    pub generating_seconds: f64,
    /// Seconds writing the final dataset.
    pub writing_seconds: f64,
    /// Records committed by earlier, interrupted invocations.
    pub resumed_records: u64,
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The output directory or the arguments were refused before any work (exit 2).
    #[error("{0}")]
    Refused(String),
    /// A file could not be read or written.
    #[error(transparent)]
    Dataset(#[from] warpsmith_dataset::DatasetError),
    /// The Warp oracle could not start or stopped.
    #[error("the Warp oracle: {0}")]
    Oracle(String),
    /// The standalone CUDA stage could not run its compilers.
    #[error("the standalone CUDA checks: {0}")]
    Standalone(String),
    /// The journal or an index file is not what this run wrote.
    #[error("{0}")]
    Corrupt(String),
}

/// Runs `settings` to completion, resuming from `DIR/.warpsmith` when it holds this run's journal.
///
/// # Errors
/// [`RunError::Refused`] for a directory or identity that is refused (nothing was changed); other variants for
/// I/O, oracle or compiler failures (committed blocks stay for a resume).
pub fn run(settings: &Settings, reporter: &dyn Reporter) -> Result<Outcome, RunError> {
    let start = Instant::now();
    if settings.count == 0 || settings.count > MAX_COUNT {
        return Err(RunError::Refused(format!("--count must be between 1 and {MAX_COUNT}")));
    }
    let identity = settings.identity();
    let out = outdir::OutDir::open(&settings.out, settings.force)?;
    fault::point("start");
    if let Some(records) = out.finished_with(&identity) {
        out.finish()?;
        return Ok(Outcome::AlreadyDone { records });
    }
    let journal = out.journal(&identity, settings.force)?;
    finish_run(settings, out, journal, reporter, start, block::compute_and_commit)
}

/// What a run holds while it computes: the interrupt flag, the worker pool, the standalone stage (its work
/// directory under `DIR/.warpsmith/tmp`) and the category schedule.
pub(crate) struct Session {
    pub interrupted: Arc<AtomicBool>,
    pub pool: Pool,
    pub clock: Clock,
    pub stage: Stage,
    pub schedule: Vec<warpsmith_gen::Category>,
}

impl Session {
    /// Installs the Ctrl-C/SIGTERM flag, empties the scratch directory and starts the workers.
    pub(crate) fn start(settings: &Settings, out: &outdir::OutDir) -> Result<Session, RunError> {
        let interrupted = Arc::new(AtomicBool::new(false));
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            // a second Ctrl-C ends the process at once
            let _ = signal_hook::flag::register_conditional_shutdown(sig, 130, Arc::clone(&interrupted));
            let _ = signal_hook::flag::register(sig, Arc::clone(&interrupted));
        }
        let scratch = out.scratch()?;
        let mut worker = settings.worker.clone();
        worker.scratch_root = Some(scratch.clone());
        let mut stage = settings.stage.clone();
        if let Some(tc) = stage.toolchain.as_mut() {
            tc.workdir = scratch.join("standalone");
            std::fs::create_dir_all(&tc.workdir)
                .map_err(|e| RunError::Refused(format!("cannot create {}: {e}", tc.workdir.display())))?;
        }
        let pool = Pool::start(worker, settings.pool.clone()).map_err(|e| RunError::Oracle(e.to_string()))?;
        let schedule = settings.config.schedule(usize::try_from(settings.count).unwrap_or(usize::MAX));
        Ok(Session { interrupted, pool, clock: Clock::default(), stage, schedule })
    }

    pub(crate) fn ctx<'a>(
        &'a self,
        settings: &'a Settings,
        out: &'a outdir::OutDir,
        reporter: &'a dyn Reporter,
    ) -> block::Ctx<'a> {
        block::Ctx {
            s: settings,
            pool: &self.pool,
            clock: &self.clock,
            schedule: &self.schedule,
            out,
            stage: &self.stage,
            interrupted: &self.interrupted,
            reporter,
        }
    }
}

/// The rest of a run once its journal is open: `blocks` fills the journal (computing and committing blocks,
/// or committing the blocks of parts), then the final dataset is assembled and swapped into place.
pub(crate) fn finish_run(
    settings: &Settings,
    out: outdir::OutDir,
    mut journal: journal::Journal,
    reporter: &dyn Reporter,
    start: Instant,
    blocks: impl FnOnce(&block::Ctx, &mut journal::Journal, &mut index::Index) -> Result<(), block::Stop>,
) -> Result<Outcome, RunError> {
    let identity = settings.identity();
    let mut index = index::Index::load(&out, &journal, &settings.near_dup)?;
    let kept_before = journal.records();
    reporter.started(settings.count, kept_before, settings.blocks(), settings.pool.workers);
    let session = Session::start(settings, &out)?;
    let ctx = session.ctx(settings, &out, reporter);
    // what earlier invocations spent, before this one's commits add to the journal
    let (wall_before, supervisor_before) = (journal.wall_seconds, journal.supervisor);
    let computed = blocks(&ctx, &mut journal, &mut index);
    let counters_pool = session.pool.counters();
    let stage_seconds = session.clock.merged(&session.pool);
    match computed {
        Ok(()) => {}
        Err(block::Stop::Interrupted) => {
            // the open blocks are abandoned; the workers get SIGTERM when this process exits
            return Ok(Outcome::Interrupted { kept: journal.records(), total: settings.count });
        }
        Err(block::Stop::Failed(e)) => return Err(e),
    }
    session.pool.finish();
    let generating = start.elapsed().as_secs_f64();
    reporter.message("writing the dataset");
    let written = Instant::now();
    let info = RunInfo {
        seed: settings.seed,
        config: identity.config.clone(),
        warpsmith_version: identity.warpsmith_version.clone(),
        warp_version: identity.warp_version.clone(),
        failures: journal.counters().failures.clone(),
        duplicates_dropped: journal.counters().duplicates as usize,
        near_duplicates_dropped: journal.counters().near_duplicates as usize,
        near_dup: settings.near_dup.clone(),
        verify: settings.verify.name().into(),
        rejected: journal.counters().rejected.clone(),
        findings: journal.counters().findings.clone(),
        gradient_checked: journal.counters().gradient_checked as usize,
        wall_seconds: wall_before + generating,
        tools: settings.tools.clone(),
        identity: Some(identity),
        supervisor: supervisor_counts(supervisor_before, counters_pool),
        resumes: journal.resumes,
    };
    let manifest = assemble::assemble(&out, &journal, &index, settings, info)?;
    fault::point("swap");
    out.swap()?;
    fault::point("done");
    let counters = journal.counters();
    out.finish()?;
    Ok(Outcome::Done(Box::new(Summary {
        manifest,
        counters,
        stage_seconds,
        generating_seconds: generating,
        writing_seconds: written.elapsed().as_secs_f64(),
        resumed_records: kept_before,
    })))
}

fn supervisor_counts(before: PoolCounters, now: PoolCounters) -> std::collections::BTreeMap<String, u64> {
    std::collections::BTreeMap::from([
        ("restarts".to_string(), before.restarts + now.restarts),
        ("timeouts".to_string(), before.timeouts + now.timeouts),
        ("crashes".to_string(), before.crashes + now.crashes),
        ("retries".to_string(), before.retries + now.retries),
    ])
}

/// How often compute threads look at the interrupt flag while waiting for the oracle.
pub(crate) const POLL: Duration = Duration::from_millis(200);

pub(crate) fn is_interrupted(flag: &AtomicBool) -> bool {
    flag.load(Ordering::Relaxed)
}
