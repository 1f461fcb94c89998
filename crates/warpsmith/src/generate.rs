//! `warpsmith generate`: flags resolved into [`warpsmith_run::Settings`], progress rendered with indicatif, the
//! summary printed. The run itself (blocks, commit, journal, resume, swap) is `warpsmith-run`.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::ArgMatches;
use clap::parser::ValueSource;
use indicatif::{ProgressBar, ProgressStyle};
use warpsmith_dataset::NearDupInfo;
use warpsmith_gen::Config;
use warpsmith_oracle::{PoolOptions, WARP_VERSION};
use warpsmith_run::{Outcome, Part, PartOutcome, Reporter, RunError, Settings, Stage, Verify};

/// Where execution checks run besides the CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Device {
    /// The CPU only.
    Cpu,
    /// Also a CUDA GPU, compared with the CPU.
    Cuda,
}

/// Where a run's blocks are computed (`--engine`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    /// Worker processes on this machine.
    Local,
    /// Ray tasks, one per block, on the cluster of `--ray-address` or a local Ray instance.
    Ray,
}

/// How much of each kernel to verify (`--verify`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum VerifyArg {
    /// Warp code generation only.
    Codegen,
    /// Also compile for the CPU and launch twice on test inputs (forward, determinism, degenerate outputs).
    Run,
    /// Also the gradient check against finite differences and NVRTC PTX for sm_80.
    Full,
}

impl From<VerifyArg> for Verify {
    fn from(v: VerifyArg) -> Verify {
        match v {
            VerifyArg::Codegen => Verify::Codegen,
            VerifyArg::Run => Verify::Run,
            VerifyArg::Full => Verify::Full,
        }
    }
}

/// Flags that decide how a run uses this machine, never what it writes (shared by `generate` and `merge`).
#[derive(clap::Args, Debug, Clone)]
pub struct RuntimeArgs {
    /// Oracle worker processes (default: one per core).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub workers: Option<u64>,
    /// Python interpreter that has warp-lang 1.19.0 (default: the managed environment).
    #[arg(long, env = "WARPSMITH_PYTHON")]
    pub python: Option<PathBuf>,
    /// Seconds to wait for one kernel before the worker is killed and restarted.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
    /// Kernels a worker serves before it is replaced.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..))]
    pub recycle_after: u32,
    /// Kernels per worker request; executed kernels of a batch share one compiled module.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..))]
    pub batch_size: u64,
    /// nvcc for the standalone CUDA compile check (default: the managed environment's, installed on first
    /// use, else `nvcc` on PATH).
    #[arg(long, env = "WARPSMITH_NVCC")]
    pub nvcc: Option<PathBuf>,
    /// Host C++ compiler for the standalone CUDA equivalence check.
    #[arg(long, default_value = "g++")]
    pub cxx: PathBuf,
}

/// Flags of `generate`.
#[derive(clap::Args, Debug)]
pub struct GenerateArgs {
    /// Records to write (1 to 100,000,000).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=warpsmith_run::MAX_COUNT))]
    count: u64,
    /// Output directory: new, empty, or a warpsmith dataset or unfinished run (resumed when the settings are
    /// the same); a finished dataset there is replaced atomically when the run completes.
    #[arg(long, default_value = "dataset")]
    out: PathBuf,
    /// Slots per block: the unit of memory, of commit and of resume.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    block_size: u64,
    /// Write into a directory that holds other files (warpsmith's own entries there are replaced), or discard
    /// an unfinished run with other settings.
    #[arg(long)]
    force: bool,
    /// Master seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Configuration file (TOML, or JSON by extension); flags given on the command line override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// How much of each kernel to verify.
    #[arg(long, value_enum, default_value_t = VerifyArg::Full)]
    verify: VerifyArg,
    /// Most float input components checked by finite differences per kernel: every component when a kernel
    /// has at most this many, else a sample stratified over its input arrays.
    #[arg(long, default_value_t = 512)]
    fd_samples: u32,
    /// Also launch forward and backward on this device and compare with the CPU (`cuda` needs a GPU;
    /// with `--verify run` or `full`).
    #[arg(long, value_enum, default_value_t = Device::Cpu)]
    device: Device,
    /// Also compile every record's own CUDA module with NVRTC and store the PTX in the `ptx` column.
    #[arg(long)]
    ptx: bool,
    /// Rows per Parquet shard.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    shard_rows: u64,
    /// Jaccard similarity over token 5-grams of `python` at or above which two kernels are near-duplicates.
    #[arg(long, default_value_t = warpsmith_dataset::near_dup::DEFAULT_THRESHOLD, value_parser = parse_threshold)]
    near_dup_threshold: f64,
    /// Keep near-duplicates (grouped by the `cluster` column, one split per cluster) instead of regenerating
    /// them so that each cluster has one record.
    #[arg(long)]
    keep_near_duplicates: bool,
    /// Regenerate every kernel with a float literal that moves no output when changed either way (rejection
    /// reason `dead_constant`): an evaluation split where a completion with one wrong constant fails. Costs
    /// one more forward build and two launches per literal, and rejects many kernels (docs/measurements.md).
    #[arg(long)]
    reject_dead_constants: bool,
    /// Compute only part K of N of the run's blocks (those with block % N == K, K from 0) into `--out`, a
    /// directory of its own, for `warpsmith merge` to commit; the same blocks a one-machine run computes.
    #[arg(long, value_name = "K/N", value_parser = Part::parse)]
    blocks: Option<Part>,
    /// Where the blocks are computed: here, or as Ray tasks (`warpsmith setup --with ray`), then merged here.
    #[arg(long, value_enum, default_value_t = Engine::Local, conflicts_with = "blocks")]
    engine: Engine,
    /// The Ray cluster to use with `--engine ray` (default: start a local instance).
    #[arg(long, value_name = "ADDR")]
    ray_address: Option<String>,
    #[command(flatten)]
    runtime: RuntimeArgs,
    #[command(flatten)]
    generation: Config,
}

fn parse_threshold(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(t) if t > 0.0 && t <= 1.0 => Ok(t),
        _ => Err(format!("{s:?} is not a Jaccard threshold in (0, 1]")),
    }
}

/// Layers the configuration: defaults, then the file, then the flags actually given on the command line.
fn resolve_config(a: &GenerateArgs, m: &ArgMatches) -> Result<Config, String> {
    let Some(path) = &a.config else {
        a.generation.validate().map_err(|e| e.to_string())?;
        return Ok(a.generation.clone());
    };
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
    let from_file =
        if path.extension().is_some_and(|e| e == "json") { Config::from_json(&text) } else { Config::from_toml(&text) }
            .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut merged = serde_json::to_value(&from_file).map_err(|e| e.to_string())?;
    let flags = serde_json::to_value(&a.generation).map_err(|e| e.to_string())?;
    if let (Some(obj), Some(flag_obj)) = (merged.as_object_mut(), flags.as_object()) {
        for (key, value) in flag_obj {
            if m.value_source(key) == Some(ValueSource::CommandLine) {
                obj.insert(key.clone(), value.clone());
            }
        }
    }
    let c: Config = serde_json::from_value(merged).map_err(|e| e.to_string())?;
    c.validate().map_err(|e| e.to_string())?;
    Ok(c)
}

/// Progress: a bar on a terminal (moving with every candidate the oracle accepts, set exactly at every
/// commit), a plain line per committed block otherwise.
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
    total: u64,
    committed: AtomicU64,
    start: Instant,
    kept_at_start: Mutex<u64>,
}

impl Progress {
    pub(crate) fn new(total: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = ProgressBar::new(total);
            b.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} {per_sec} ETA {eta} {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b.enable_steady_tick(Duration::from_millis(200));
            b
        });
        Progress { bar, total, committed: AtomicU64::new(0), start: Instant::now(), kept_at_start: Mutex::new(0) }
    }

    pub(crate) fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl Reporter for Progress {
    fn started(&self, total: u64, kept: u64, blocks: u64, workers: usize) {
        *self.kept_at_start.lock().unwrap_or_else(|e| e.into_inner()) = kept;
        self.committed.store(kept, Ordering::Relaxed);
        if kept > 0 {
            eprintln!("resuming: {kept} of {total} records already committed");
        }
        eprintln!("generating {total} kernels in {blocks} block(s) with {workers} Warp worker(s)");
        if let Some(b) = &self.bar {
            b.set_position(kept);
        }
    }

    fn candidate_accepted(&self) {
        if let Some(b) = &self.bar
            && b.position() < self.total
        {
            b.inc(1);
        }
    }

    fn block_committed(&self, block: u64, _records: u64, committed_total: u64) {
        self.committed.store(committed_total, Ordering::Relaxed);
        match &self.bar {
            Some(b) => b.set_position(committed_total),
            None => {
                let kept = *self.kept_at_start.lock().unwrap_or_else(|e| e.into_inner());
                let secs = self.start.elapsed().as_secs_f64().max(1e-9);
                eprintln!(
                    "  block {block} committed: {committed_total}/{} records, {:.1}/s",
                    self.total,
                    (committed_total - kept) as f64 / secs
                );
            }
        }
    }

    fn message(&self, m: &str) {
        match &self.bar {
            Some(b) => b.set_message(m.to_string()),
            None => eprintln!("{m}"),
        }
    }
}

/// The standalone stage for a run: translate always; with `--verify run`, also the host equivalence check; with
/// `--verify full`, also the nvcc compile check (nvcc found or installed by [`crate::env::nvcc`]).
fn standalone_stage(
    r: &RuntimeArgs,
    verify: Verify,
    gpu: bool,
    python: PathBuf,
    workers: usize,
) -> anyhow::Result<Stage> {
    let equivalence = verify != Verify::Codegen;
    let mut nvcc = None;
    if verify == Verify::Full {
        nvcc = crate::env::nvcc(r.nvcc.as_deref(), &python)?;
        if nvcc.is_none() {
            eprintln!(
                "warning: no nvcc found (pass --nvcc, or `warpsmith setup --cuda` for the managed environment): \
                 the standalone compile check is skipped"
            );
        }
    }
    let compile = nvcc.is_some();
    let toolchain = (equivalence || compile).then(|| warpsmith_cuda::toolchain::Toolchain {
        cxx: r.cxx.clone(),
        nvcc,
        // set by the run, under DIR/.warpsmith/tmp
        workdir: PathBuf::new(),
        gpu,
    });
    if let Some(tc) = &toolchain {
        let probe = std::process::Command::new(&tc.cxx).arg("--version").output();
        if !probe.is_ok_and(|o| o.status.success()) {
            anyhow::bail!("the host C++ compiler {} does not run (install g++ or pass --cxx)", tc.cxx.display());
        }
    }
    Ok(Stage { toolchain, compile, equivalence, workers })
}

/// The first line of `PROGRAM --version` that names a version (nvcc prints a banner first), if it runs.
fn version_of(program: &Path) -> Option<String> {
    let out = std::process::Command::new(program).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let line = text.lines().find(|l| l.contains("release")).or_else(|| text.lines().next())?;
    Some(line.trim().to_string())
}

/// The versions of Warp and the standalone stage's compilers, for the manifest and the card.
fn tool_versions(stage: &Stage) -> BTreeMap<String, String> {
    let mut tools = BTreeMap::from([("warp-lang".to_string(), WARP_VERSION.to_string())]);
    if let Some(tc) = &stage.toolchain {
        if let Some(v) = version_of(&tc.cxx) {
            tools.insert("c++".into(), v);
        }
        if let Some(v) = tc.nvcc.as_deref().and_then(version_of) {
            tools.insert("nvcc".into(), v);
        }
    }
    tools
}

/// What decides a run's records, as `generate`'s flags give it (`merge` reads it from its parts).
pub(crate) struct RunSpec {
    pub out: PathBuf,
    pub count: u64,
    pub seed: u64,
    pub block_size: u64,
    pub shard_rows: u64,
    pub config: Config,
    pub verify: Verify,
    pub fd_samples: u32,
    pub device: String,
    pub ptx: bool,
    pub near_dup: NearDupInfo,
    pub reject_dead_constants: bool,
    pub force: bool,
}

/// The run's [`Settings`]: `spec` plus the workers, compilers and pool this machine runs it with.
pub(crate) fn settings(spec: RunSpec, r: &RuntimeArgs) -> anyhow::Result<Settings> {
    let workers = r
        .workers
        .map(|w| usize::try_from(w).unwrap_or(usize::MAX))
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let python = crate::env::python(r.python.as_deref())?;
    let worker = crate::env::worker_command(python.clone(), &spec.device)?;
    let stage = standalone_stage(r, spec.verify, spec.device == "cuda", python, workers)?;
    let verify = spec.verify;
    Ok(Settings {
        out: spec.out,
        count: spec.count,
        seed: spec.seed,
        block_size: spec.block_size,
        shard_rows: spec.shard_rows,
        config: spec.config,
        verify,
        fd_samples: spec.fd_samples,
        device: spec.device,
        ptx: spec.ptx,
        near_dup: spec.near_dup,
        reject_dead_constants: spec.reject_dead_constants,
        force: spec.force,
        worker,
        pool: PoolOptions {
            workers,
            batch: if verify == Verify::Codegen { 1 } else { usize::try_from(r.batch_size).unwrap_or(16) },
            ptx: verify == Verify::Full,
            store_ptx: spec.ptx,
            timeout: Duration::from_secs(r.timeout),
            recycle_after: r.recycle_after,
            ..PoolOptions::default()
        },
        tools: tool_versions(&stage),
        stage,
    })
}

pub fn run(a: GenerateArgs, m: &ArgMatches) -> anyhow::Result<ExitCode> {
    let cfg = match resolve_config(&a, m) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: invalid configuration: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    if a.reject_dead_constants && a.verify == VerifyArg::Codegen {
        eprintln!("error: --reject-dead-constants needs kernels that run: --verify run or full");
        return Ok(ExitCode::from(2));
    }
    let spec = RunSpec {
        out: a.out.clone(),
        count: a.count,
        seed: a.seed,
        block_size: a.block_size,
        shard_rows: a.shard_rows,
        config: cfg,
        verify: Verify::from(a.verify),
        fd_samples: a.fd_samples,
        device: if a.device == Device::Cuda { "cuda" } else { "cpu" }.into(),
        ptx: a.ptx,
        near_dup: NearDupInfo {
            threshold: a.near_dup_threshold,
            ngram: warpsmith_dataset::near_dup::DEFAULT_NGRAM,
            keep: a.keep_near_duplicates,
        },
        reject_dead_constants: a.reject_dead_constants,
        force: a.force,
    };
    let settings = settings(spec, &a.runtime)?;
    if let Some(part) = a.blocks {
        return run_part(&settings, part);
    }
    if a.engine == Engine::Ray {
        return crate::ray::run(&settings, &a.runtime, a.ray_address.as_deref());
    }
    if a.ray_address.is_some() {
        eprintln!("error: --ray-address needs --engine ray");
        return Ok(ExitCode::from(2));
    }
    let progress = Progress::new(a.count);
    let outcome = warpsmith_run::run(&settings, &progress);
    progress.finish();
    report(&settings, outcome)
}

/// Prints how a run (or a merge) ended; its exit code.
pub(crate) fn report(settings: &Settings, outcome: Result<Outcome, RunError>) -> anyhow::Result<ExitCode> {
    let out = &settings.out;
    match outcome {
        Err(RunError::Refused(m)) => {
            eprintln!("error: {m}");
            Ok(ExitCode::from(2))
        }
        Err(e) => Err(anyhow::Error::new(e).context(format!("generating into {}", out.display()))),
        Ok(Outcome::AlreadyDone { records }) => {
            eprintln!(
                "{} already holds this dataset ({records} records, same seed, count and settings): nothing to do",
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Ok(Outcome::Interrupted { kept, total }) => {
            eprintln!(
                "\ninterrupted: {kept} of {total} records kept in {}; run the same command to resume",
                out.display()
            );
            Ok(ExitCode::from(130))
        }
        Ok(Outcome::Done(summary)) => Ok(print_summary(settings, &summary)),
    }
}

/// `generate --blocks K/N`: computes the part and says how to merge it.
fn run_part(settings: &Settings, part: Part) -> anyhow::Result<ExitCode> {
    let blocks = part.blocks(settings.blocks());
    let total: u64 = blocks.iter().map(|b| settings.block_size.min(settings.count - b * settings.block_size)).sum();
    let progress = Progress::new(total);
    let outcome = warpsmith_run::run_part(settings, part, &progress);
    progress.finish();
    let out = &settings.out;
    match outcome {
        Err(RunError::Refused(m)) => {
            eprintln!("error: {m}");
            Ok(ExitCode::from(2))
        }
        Err(e) => Err(anyhow::Error::new(e).context(format!(
            "computing part {}/{} into {}",
            part.index,
            part.of,
            out.display()
        ))),
        Ok(PartOutcome::Interrupted { done, blocks }) => {
            eprintln!(
                "\ninterrupted: {done} of {blocks} blocks kept in {}; run the same command to resume",
                out.display()
            );
            Ok(ExitCode::from(130))
        }
        Ok(PartOutcome::Done { blocks, records }) => {
            eprintln!(
                "part {}/{}: {blocks} block(s), {records} records before the merge's cross-block checks, in {}\n\
                 merge the parts with `warpsmith merge --out DIR PART...`",
                part.index,
                part.of,
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_summary(s: &Settings, summary: &warpsmith_run::Summary) -> ExitCode {
    let manifest = &summary.manifest;
    let c = &summary.counters;
    eprintln!("\nwrote {} records to {}", manifest.records, s.out.display());
    for (split, n) in &manifest.splits {
        eprintln!("  {split:<10} {n}");
    }
    if summary.resumed_records > 0 {
        eprintln!(
            "resumed {} time(s); {} records came from earlier invocations",
            manifest.run.resumes, summary.resumed_records
        );
    }
    eprintln!(
        "duplicates dropped: {} exact, {} near (Jaccard >= {})",
        c.duplicates, c.near_duplicates, s.near_dup.threshold
    );
    eprintln!("verification: {}", s.verify.name());
    if !c.rejected.is_empty() {
        let r: Vec<String> = c.rejected.iter().map(|(k, v)| format!("{k} {v}")).collect();
        eprintln!("rejected and regenerated: {}", r.join(", "));
    }
    if s.verify == Verify::Full {
        let found: usize = c.findings.values().sum();
        let checked = c.gradient_checked as usize;
        let passed = checked - found.min(checked);
        eprintln!(
            "gradient check: {passed}/{checked} differentiable candidates passed ({:.1}%)",
            100.0 * passed as f64 / checked.max(1) as f64
        );
        if found > 0 {
            let f: Vec<String> = c.findings.iter().map(|(k, v)| format!("{k} {v}")).collect();
            eprintln!("findings: {found} ({}) under {}", f.join(", "), s.out.join("findings").display());
        }
    }
    let standalone_failed: usize =
        c.failures.iter().filter(|(k, _)| k.starts_with("standalone")).map(|(_, n)| *n).sum();
    if s.stage.equivalence {
        eprintln!(
            "standalone CUDA: {}/{} translations reproduced Warp's outputs on the host{}",
            c.standalone_checked,
            c.standalone_checked as usize + standalone_failed,
            if s.stage.compile { ", all accepted ones compiled with nvcc --ptx" } else { "" }
        );
    }
    let sup = &manifest.run.supervisor;
    if sup.values().any(|&v| v > 0) {
        let parts: Vec<String> = sup.iter().map(|(k, v)| format!("{k} {v}")).collect();
        eprintln!("worker supervisor: {}", parts.join(", "));
    }
    if c.failures.is_empty() {
        eprintln!("failures: none");
    } else {
        eprintln!("failures: {} (sources and reasons under {})", c.failed(), s.out.join("failures").display());
        for (reason, n) in &c.failures {
            eprintln!("  {reason:<14} {n}");
        }
    }
    let total = summary.generating_seconds + summary.writing_seconds;
    eprintln!(
        "wall time: {total:.1} s ({:.1} s generating and checking, {:.1} s writing), {:.1} records/s",
        summary.generating_seconds,
        summary.writing_seconds,
        (manifest.records as u64 - summary.resumed_records) as f64 / total.max(1e-9)
    );
    let busy: f64 = summary.stage_seconds.values().sum();
    if busy > 0.0 {
        let mut stages: Vec<(&String, &f64)> = summary.stage_seconds.iter().collect();
        stages.sort_by(|a, b| b.1.total_cmp(a.1));
        let parts: Vec<String> = stages.iter().map(|(k, v)| format!("{k} {:.0}%", 100.0 * **v / busy)).collect();
        eprintln!("time by stage ({busy:.1} s in all): {}", parts.join(", "));
    }
    if (manifest.records as u64) < s.count {
        eprintln!("error: only {} of {} records could be produced", manifest.records, s.count);
        // each slot is regenerated a bounded number of rounds: name the categories whose kernels kept failing
        let short: Vec<String> = s
            .config
            .quotas(usize::try_from(s.count).unwrap_or(usize::MAX))
            .iter()
            .filter_map(|(c, quota)| {
                let got = manifest.categories.get(c.name()).copied().unwrap_or(0);
                (got < *quota).then(|| format!("{c} {got}/{quota}"))
            })
            .collect();
        eprintln!("  short: {}", short.join(", "));
        if s.reject_dead_constants {
            eprintln!(
                "  --reject-dead-constants rejects most kernels of some categories (control_flow and \
                 multi_conditional almost all; docs/measurements.md): the records made are written; weights 0 for \
                 the short categories (`--categories`) keep a run from asking for them"
            );
        }
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
