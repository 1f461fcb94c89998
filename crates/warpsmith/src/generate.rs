//! `warpsmith generate`: synthesise, dedup, run the Warp oracle, write the dataset.
//!
//! Determinism: candidates are generated and deduplicated sequentially in slot order, in rounds; only the
//! oracle runs in parallel, and its results are stored by slot. So the records, and the Parquet bytes, do not
//! depend on the number of workers or their timing.

use std::collections::{BTreeMap, HashSet};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::ArgMatches;
use clap::parser::ValueSource;
use indicatif::{ProgressBar, ProgressStyle};
use warpsmith_ast::Kernel;
use warpsmith_dataset::Checks;
use warpsmith_dataset::near_dup::Lsh;
use warpsmith_dataset::{NearDupInfo, Record, RunInfo, split_of};
use warpsmith_gen::vectors::{ArgRole, LaunchSpec, launch_spec};
use warpsmith_gen::{Category, Config, record_seed};
use warpsmith_oracle::{
    CheckRequest, Failure, FailureReason, GradientVerdict, Job, Modules, Outcome, Pool, PoolOptions, RunResult,
    WARP_VERSION, assess_gradient, cut_functions,
};

/// Rounds of regeneration for slots whose kernel failed, was rejected or became a finding.
const MAX_ROUNDS: u64 = 8;

/// Where execution checks run besides the CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Device {
    /// The CPU only.
    Cpu,
    /// Also a CUDA GPU, compared with the CPU.
    Cuda,
}

/// How much of each kernel to verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Verify {
    /// Warp code generation only.
    Codegen,
    /// Also compile for the CPU and launch twice on test inputs (forward, determinism, degenerate outputs).
    Run,
    /// Also the gradient check against finite differences and NVRTC PTX for sm_80.
    Full,
}
/// Regenerations of one slot when its candidates keep colliding with earlier kernels.
const MAX_DUPLICATE_ATTEMPTS: u64 = 1000;

/// Flags of `generate`.
#[derive(clap::Args, Debug)]
pub struct GenerateArgs {
    /// Records to write.
    #[arg(long, default_value_t = 1000)]
    count: usize,
    /// Output directory (created; an existing dataset there is replaced).
    #[arg(long, default_value = "dataset")]
    out: PathBuf,
    /// Master seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Oracle worker processes (default: one per core).
    #[arg(long)]
    workers: Option<usize>,
    /// Configuration file (TOML, or JSON by extension); flags given on the command line override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Python interpreter that has warp-lang 1.19.0 (default: the managed environment).
    #[arg(long, env = "WARPSMITH_PYTHON")]
    python: Option<PathBuf>,
    /// Seconds to wait for one kernel before the worker is killed and restarted.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
    /// Kernels a worker serves before it is replaced.
    #[arg(long, default_value_t = 500)]
    recycle_after: u32,
    /// How much of each kernel to verify.
    #[arg(long, value_enum, default_value_t = Verify::Full)]
    verify: Verify,
    /// Kernels per worker request; executed kernels of a batch share one compiled module.
    #[arg(long, default_value_t = 16)]
    batch_size: usize,
    /// Input components checked by finite differences per kernel.
    #[arg(long, default_value_t = 24)]
    fd_samples: u32,
    /// Also launch forward and backward on this device and compare with the CPU (`cuda` needs a GPU;
    /// with `--verify run` or `full`).
    #[arg(long, value_enum, default_value_t = Device::Cpu)]
    device: Device,
    /// Also compile every record's own CUDA module with NVRTC and store the PTX in the `ptx` column.
    #[arg(long)]
    ptx: bool,
    /// Rows per Parquet shard.
    #[arg(long, default_value_t = 10_000)]
    shard_rows: usize,
    /// nvcc for the standalone CUDA compile check (default: the managed environment's, installed on first
    /// use, else `nvcc` on PATH).
    #[arg(long, env = "WARPSMITH_NVCC")]
    nvcc: Option<PathBuf>,
    /// Host C++ compiler for the standalone CUDA equivalence check.
    #[arg(long, default_value = "g++")]
    cxx: PathBuf,
    /// Jaccard similarity over token 5-grams of `python` at or above which two kernels are near-duplicates.
    #[arg(long, default_value_t = warpsmith_dataset::near_dup::DEFAULT_THRESHOLD, value_parser = parse_threshold)]
    near_dup_threshold: f64,
    /// Keep near-duplicates (grouped by the `cluster` column, one split per cluster) instead of regenerating
    /// them so that each cluster has one record.
    #[arg(long)]
    keep_near_duplicates: bool,
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

/// One generated kernel on its way through the checks.
pub struct Candidate {
    pub category: Category,
    seed: u64,
    pub kernel: Kernel,
    pub id: String,
    pub python: String,
    pub spec: Option<LaunchSpec>,
}

/// What becomes of a candidate after the oracle.
enum Verdict {
    /// Written to the dataset.
    Accept(Box<Record>),
    /// Degenerate or nondeterministic outputs: counted and regenerated.
    Reject(String),
    /// A generator or oracle failure: written under `failures/` and regenerated.
    Fail(Failure),
    /// A gradient mismatch: written under `findings/` and regenerated.
    Finding(GradientVerdict, Box<RunResult>),
}

fn fail(reason: FailureReason, message: String) -> Verdict {
    Verdict::Fail(Failure { reason, message, traceback: String::new(), stderr_tail: String::new(), attempts: 1 })
}

/// The verification part of a record.
struct Verified {
    checks: Checks,
    test_outputs: Vec<warpsmith_dataset::Tensor>,
    grad_outputs: Vec<warpsmith_dataset::Tensor>,
    grad_inputs: Vec<warpsmith_dataset::Tensor>,
}

/// Applies the execution checks to a worker's run; `Err` is the verdict for a candidate that does not pass.
fn verify_run(c: &Candidate, run: Option<RunResult>, verify: Verify) -> Result<Verified, Verdict> {
    let skipped = || "skipped".to_string();
    let mut v = Verified {
        checks: Checks {
            forward: skipped(),
            deterministic: false,
            gradient: skipped(),
            gradient_max_rel_error: 0.0,
            ptx: skipped(),
            cuda_forward: skipped(),
            cuda_backward: skipped(),
            standalone_compile: skipped(),
            standalone_equivalence: skipped(),
        },
        test_outputs: Vec::new(),
        grad_outputs: Vec::new(),
        grad_inputs: Vec::new(),
    };
    if verify == Verify::Codegen {
        return Ok(v);
    }
    let Some(run) = run else { return Err(fail(FailureReason::Internal, "the worker returned no run".into())) };
    if !run.ok {
        return Err(Verdict::Fail(Failure {
            reason: FailureReason::Run,
            message: run.error.unwrap_or_default(),
            traceback: run.traceback.unwrap_or_default(),
            stderr_tail: String::new(),
            attempts: 1,
        }));
    }
    if let Some(p) = &run.problem {
        return Err(Verdict::Reject(p.clone()));
    }
    if run.deterministic != Some(true) {
        return Err(Verdict::Reject("nondeterministic".into()));
    }
    v.checks.forward = "passed".into();
    v.checks.deterministic = true;
    if verify == Verify::Full {
        if run.ptx != Some(true) {
            return Err(fail(FailureReason::Ptx, run.ptx_error.clone().unwrap_or_default()));
        }
        v.checks.ptx = "passed".into();
        match &run.gradient {
            // not requested: the kernel mutates a float in a dynamic loop, which Warp does not differentiate
            None => v.checks.gradient = "not_differentiable".into(),
            Some(g) => {
                let verdict = assess_gradient(g);
                if verdict.status == "failed" {
                    return Err(Verdict::Finding(verdict, Box::new(run)));
                }
                v.checks.gradient = verdict.status.into();
                v.checks.gradient_max_rel_error = verdict.max_rel_error;
                if verdict.status == "passed" {
                    v.grad_inputs = g.grad_inputs.clone();
                    v.grad_outputs = c.spec.as_ref().map(|s| s.grad_outputs.clone()).unwrap_or_default();
                }
            }
        }
    }
    for (what, status, field) in [
        ("forward", &run.cuda_forward, &mut v.checks.cuda_forward),
        ("backward", &run.cuda_backward, &mut v.checks.cuda_backward),
    ] {
        match status.as_deref() {
            Some("passed") => *field = "passed".into(),
            Some(other) => {
                return Err(fail(FailureReason::CudaMismatch, format!("CUDA {what} {other} against the CPU")));
            }
            None => {}
        }
    }
    v.test_outputs = run.outputs;
    Ok(v)
}

/// Judges the oracle's answer for a candidate and builds its record.
fn judge(c: &Candidate, mods: Modules, verify: Verify) -> Verdict {
    let f = match cut_functions(&mods.cpu_module, &mods.cuda_module, &c.kernel.name) {
        Ok(f) => f,
        Err(e) => return fail(FailureReason::Internal, e.to_string()),
    };
    let mut v = match verify_run(c, mods.run, verify) {
        Ok(v) => v,
        Err(verdict) => return verdict,
    };
    if mods.ptx.is_some() {
        // --ptx compiled this record's own cuda_module with NVRTC
        v.checks.ptx = "passed".into();
    }
    let executed = verify != Verify::Codegen;
    let spec = c.spec.as_ref().filter(|_| executed);
    let test_inputs = spec
        .map(|s| {
            s.args
                .iter()
                .filter(|a| matches!(a.role, ArgRole::Input | ArgRole::Value))
                .map(|a| a.tensor.clone())
                .collect()
        })
        .unwrap_or_default();
    Verdict::Accept(Box::new(Record {
        // set with the clusters once every record is known
        split: split_of(&c.id).to_string(),
        cluster: c.id.clone(),
        id: c.id.clone(),
        name: c.kernel.name.clone(),
        category: c.category.name().to_string(),
        seed: c.seed,
        python: c.python.clone(),
        cpu_forward: f.cpu_forward,
        cpu_backward: f.cpu_backward,
        cuda_forward: f.cuda_forward,
        cuda_backward: f.cuda_backward,
        cpu_module: mods.cpu_module,
        cuda_module: mods.cuda_module,
        warp_version: WARP_VERSION.to_string(),
        features: warpsmith_ast::features(&c.kernel).into_iter().collect(),
        launch_dim: spec.map(|s| s.launch_dim.iter().map(|&d| d as i32).collect()).unwrap_or_default(),
        test_inputs,
        test_outputs: v.test_outputs,
        grad_outputs: v.grad_outputs,
        grad_inputs: v.grad_inputs,
        checks: v.checks,
        ptx: mods.ptx.unwrap_or_default(),
        // set by the standalone stage
        cuda_standalone: String::new(),
    }))
}

/// Writes a gradient finding: the module, and a JSON reproducer with the launch, both gradients and the class.
fn write_finding(dir: &Path, c: &Candidate, v: &GradientVerdict, run: &RunResult) -> anyhow::Result<()> {
    let fdir = dir.join("findings");
    std::fs::create_dir_all(&fdir).with_context(|| format!("creating {}", fdir.display()))?;
    let stem = format!("{}-{}", c.category.name(), c.seed);
    std::fs::write(fdir.join(format!("{stem}.py")), &c.python).with_context(|| format!("writing finding {stem}.py"))?;
    let json = serde_json::json!({
        "id": c.id,
        "category": c.category.name(),
        "seed": c.seed,
        "kernel": c.kernel.name,
        "class": v.class,
        "verdict": v,
        "launch": c.spec,
        "gradient": run.gradient,
        "reproduce": format!("warpsmith show --category {} --seed {}", c.category.name(), c.seed),
    });
    let text = serde_json::to_string_pretty(&json).context("serialising a finding")?;
    std::fs::write(fdir.join(format!("{stem}.json")), text).with_context(|| format!("writing finding {stem}.json"))?;
    Ok(())
}

/// Progress: a bar on a terminal, a plain line every 10% otherwise.
struct Progress {
    bar: Option<ProgressBar>,
    total: usize,
    done: usize,
    next_line: usize,
    start: Instant,
}

impl Progress {
    fn new(total: usize) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = ProgressBar::new(total as u64);
            b.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} {per_sec} ETA {eta} {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b.enable_steady_tick(Duration::from_millis(200));
            b
        });
        Progress { bar, total, done: 0, next_line: total.div_ceil(10).max(1), start: Instant::now() }
    }

    fn inc(&mut self, failed: usize) {
        self.done += 1;
        if let Some(b) = &self.bar {
            b.inc(1);
            if failed > 0 {
                b.set_message(format!("{failed} failed"));
            }
        } else if self.done >= self.next_line || self.done == self.total {
            let secs = self.start.elapsed().as_secs_f64();
            eprintln!(
                "  {}/{} kernels, {:.1}/s, {failed} failed",
                self.done,
                self.total,
                self.done as f64 / secs.max(1e-9)
            );
            self.next_line += self.total.div_ceil(10).max(1);
        }
    }

    fn message(&self, m: &str) {
        if let Some(b) = &self.bar {
            b.set_message(m.to_string());
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// Writes a failure: the module, the standalone translation when there is one (`cuda`), and a report.
fn write_failure(dir: &Path, c: &Candidate, f: &Failure, cuda: &str) -> anyhow::Result<()> {
    let fdir = dir.join("failures");
    std::fs::create_dir_all(&fdir).with_context(|| format!("creating {}", fdir.display()))?;
    let stem = format!("{}-{}", c.category.name(), c.seed);
    std::fs::write(fdir.join(format!("{stem}.py")), &c.python).with_context(|| format!("writing failure {stem}.py"))?;
    if !cuda.is_empty() {
        std::fs::write(fdir.join(format!("{stem}.cu")), cuda).with_context(|| format!("writing failure {stem}.cu"))?;
    }
    let report = format!(
        "category: {}\nseed: {}\nid: {}\nreason: {}\nattempts: {}\nmessage: {}\n\n--- traceback ---\n{}\n--- worker stderr (tail) ---\n{}\n\nreproduce: warpsmith show --category {} --seed {}\n",
        c.category.name(),
        c.seed,
        c.id,
        f.reason.name(),
        f.attempts,
        f.message,
        f.traceback,
        f.stderr_tail,
        c.category.name(),
        c.seed
    );
    std::fs::write(fdir.join(format!("{stem}.txt")), report).with_context(|| format!("writing failure {stem}.txt"))?;
    Ok(())
}

/// The standalone stage for these flags: translate always; with `--verify run`, also the host equivalence
/// check; with `--verify full`, also the nvcc compile check (nvcc found or installed by [`crate::env::nvcc`]).
fn standalone_stage(
    a: &GenerateArgs,
    python: PathBuf,
    workers: usize,
    workdir: PathBuf,
) -> anyhow::Result<crate::standalone::Stage> {
    let equivalence = a.verify != Verify::Codegen;
    let mut nvcc = None;
    if a.verify == Verify::Full {
        nvcc = crate::env::nvcc(a.nvcc.as_deref(), &python)?;
        if nvcc.is_none() {
            eprintln!(
                "warning: no nvcc found (pass --nvcc, or `warpsmith setup --cuda` for the managed environment): \
                 the standalone compile check is skipped"
            );
        }
    }
    let compile = nvcc.is_some();
    let toolchain = (equivalence || compile).then(|| warpsmith_cuda::toolchain::Toolchain {
        cxx: a.cxx.clone(),
        nvcc,
        workdir,
        gpu: a.device == Device::Cuda,
    });
    if let Some(tc) = &toolchain {
        let probe = std::process::Command::new(&tc.cxx).arg("--version").output();
        if !probe.is_ok_and(|o| o.status.success()) {
            anyhow::bail!("the host C++ compiler {} does not run (install g++ or pass --cxx)", tc.cxx.display());
        }
    }
    Ok(crate::standalone::Stage { toolchain, compile, equivalence, workers })
}

/// The first line of `PROGRAM --version` that names a version (nvcc prints a banner first), if it runs.
fn version_of(program: &Path) -> Option<String> {
    let out = std::process::Command::new(program).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let line = text.lines().find(|l| l.contains("release")).or_else(|| text.lines().next())?;
    Some(line.trim().to_string())
}

/// The versions of Warp and the standalone stage's compilers, for the manifest and the card.
fn tool_versions(stage: &crate::standalone::Stage) -> BTreeMap<String, String> {
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

pub fn run(a: GenerateArgs, m: &ArgMatches) -> anyhow::Result<ExitCode> {
    let cfg = match resolve_config(&a, m) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: invalid configuration: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    if a.count == 0 {
        eprintln!("error: --count must be at least 1");
        return Ok(ExitCode::from(2));
    }
    let start = Instant::now();
    let workers = a.workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1);
    let python = crate::env::python(a.python.as_deref())?;
    let device = if a.device == Device::Cuda { "cuda" } else { "cpu" };
    let python_for_nvcc = python.clone();
    let cmd = crate::env::worker_command(python, device)?;
    let opts = PoolOptions {
        workers,
        batch: if a.verify == Verify::Codegen { 1 } else { a.batch_size.max(1) },
        ptx: a.verify == Verify::Full,
        store_ptx: a.ptx,
        timeout: Duration::from_secs(a.timeout.max(1)),
        recycle_after: a.recycle_after.max(1),
        ..PoolOptions::default()
    };
    let (_scratch, workdir) = crate::standalone::scratch()?;
    let stage = standalone_stage(&a, python_for_nvcc, workers, workdir)?;
    let pool = Pool::start(cmd, opts).context("starting the Warp oracle")?;
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let failures_dir = a.out.join("failures");

    eprintln!("generating {} kernels with {workers} Warp worker(s), seed {}", a.count, a.seed);
    let schedule = cfg.schedule(a.count);
    let mut attempts = vec![0u64; a.count];
    let mut seen: HashSet<String> = HashSet::new();
    let mut records: Vec<Option<Record>> = vec![None; a.count];
    let mut failures: BTreeMap<String, usize> = BTreeMap::new();
    let mut duplicates = 0usize;
    let mut near_duplicates = 0usize;
    let near_dup = NearDupInfo {
        threshold: a.near_dup_threshold,
        ngram: warpsmith_dataset::near_dup::DEFAULT_NGRAM,
        keep: a.keep_near_duplicates,
    };
    let mut lsh = Lsh::new(near_dup.threshold, near_dup.ngram);
    let mut pending: Vec<usize> = (0..a.count).collect();
    let mut progress = Progress::new(a.count);
    let mut failed_total = 0usize;
    let mut rejected: BTreeMap<String, usize> = BTreeMap::new();
    let mut findings: BTreeMap<String, usize> = BTreeMap::new();
    let mut gradient_checked = 0usize;
    let mut standalone_checked = 0usize;
    for d in ["failures", "findings"] {
        let p = a.out.join(d);
        if p.exists() {
            std::fs::remove_dir_all(&p).with_context(|| format!("clearing {}", p.display()))?;
        }
    }

    for round in 0..MAX_ROUNDS {
        if pending.is_empty() {
            break;
        }
        let mut accepted: Vec<(usize, Candidate, Box<Record>)> = Vec::new();
        let mut candidates: BTreeMap<usize, Candidate> = BTreeMap::new();
        for &slot in &pending {
            let category = schedule[slot];
            let cand = loop {
                let seed = record_seed(a.seed, slot as u64, attempts[slot]);
                let kernel = warpsmith_gen::generate(category, seed, &cfg);
                let id = warpsmith_ast::canonical_id(&kernel);
                attempts[slot] += 1;
                if seen.insert(id.clone()) {
                    let python = warpsmith_ast::python_module(&kernel);
                    let near = (!near_dup.keep).then(|| {
                        let set = lsh.shingle(&python);
                        let near = !lsh.neighbours(&set).is_empty();
                        if !near {
                            lsh.insert(set);
                        }
                        near
                    });
                    if near != Some(true) {
                        let spec = Some(launch_spec(&kernel, seed));
                        break Some(Candidate { category, seed, kernel, id, python, spec });
                    }
                    near_duplicates += 1;
                } else {
                    duplicates += 1;
                }
                if attempts[slot] >= MAX_DUPLICATE_ATTEMPTS {
                    break None;
                }
            };
            let Some(cand) = cand else { continue };
            let check = (a.verify != Verify::Codegen).then(|| CheckRequest {
                spec: cand.spec.clone().unwrap_or_else(|| launch_spec(&cand.kernel, cand.seed)),
                fd_seed: cand.seed,
                fd_samples: a.fd_samples,
                gradient: a.verify == Verify::Full
                    && !warpsmith_ast::mutates_in_dynamic_loop(&cand.kernel)
                    && warpsmith_gen::catalog::gradient_gaps(&warpsmith_ast::features(&cand.kernel)).is_empty(),
            });
            pool.submit(slot, Job { name: cand.kernel.name.clone(), source: cand.python.clone(), check });
            candidates.insert(slot, cand);
        }
        let mut retry = Vec::new();
        for _ in 0..candidates.len() {
            let (slot, outcome) = pool.results().recv().context("the oracle pool stopped unexpectedly")?;
            let Some(c) = candidates.remove(&slot) else {
                continue;
            };
            let verdict = match outcome {
                Outcome::Ok(mods) => judge(&c, *mods, a.verify),
                Outcome::Failed(f) => Verdict::Fail(f),
            };
            match verdict {
                Verdict::Accept(r) => {
                    if r.checks.gradient == "passed" || r.checks.gradient == "failed" {
                        gradient_checked += 1;
                    }
                    accepted.push((slot, c, r));
                    progress.inc(failed_total);
                }
                Verdict::Reject(why) => {
                    *rejected.entry(why).or_insert(0) += 1;
                    retry.push(slot);
                }
                Verdict::Fail(f) => {
                    failed_total += 1;
                    *failures.entry(f.reason.name().to_string()).or_insert(0) += 1;
                    write_failure(&a.out, &c, &f, "")?;
                    retry.push(slot);
                }
                Verdict::Finding(v, run) => {
                    gradient_checked += 1;
                    let class = serde_json::to_value(v.class).ok().and_then(|x| x.as_str().map(String::from));
                    *findings.entry(class.unwrap_or_default()).or_insert(0) += 1;
                    write_finding(&a.out, &c, &v, &run)?;
                    retry.push(slot);
                }
            }
        }
        progress.message("checking the standalone CUDA translations");
        let verdicts = crate::standalone::run(&stage, &mut accepted, round)?;
        for ((slot, c, r), verdict) in accepted.into_iter().zip(verdicts) {
            match verdict {
                None => {
                    standalone_checked += usize::from(r.checks.standalone_equivalence == "passed");
                    records[slot] = Some(*r);
                }
                Some((f, cuda)) => {
                    failed_total += 1;
                    *failures.entry(f.reason.name().to_string()).or_insert(0) += 1;
                    write_failure(&a.out, &c, &f, &cuda)?;
                    retry.push(slot);
                }
            }
        }
        progress.message("");
        retry.sort_unstable();
        pending = retry;
    }
    progress.finish();
    pool.finish();

    let mut records: Vec<Record> = records.into_iter().flatten().collect();
    warpsmith_dataset::assign_clusters(&mut records, &near_dup);
    let wall = start.elapsed().as_secs_f64();
    let info = RunInfo {
        seed: a.seed,
        config: serde_json::to_value(&cfg).context("serialising the configuration")?,
        warpsmith_version: env!("CARGO_PKG_VERSION").to_string(),
        warp_version: WARP_VERSION.to_string(),
        failures: failures.clone(),
        duplicates_dropped: duplicates,
        near_duplicates_dropped: near_duplicates,
        near_dup,
        verify: format!("{:?}", a.verify).to_lowercase(),
        rejected: rejected.clone(),
        findings: findings.clone(),
        gradient_checked,
        wall_seconds: wall,
        tools: tool_versions(&stage),
    };
    let statistics = warpsmith_report::card_section(&warpsmith_report::Stats::compute(&records, Some(&info)));
    let manifest = warpsmith_dataset::write_dataset(&a.out, &records, a.shard_rows, info, &statistics)
        .context("writing the dataset")?;

    eprintln!("\nwrote {} records to {}", manifest.records, a.out.display());
    for (split, n) in &manifest.splits {
        eprintln!("  {split:<10} {n}");
    }
    eprintln!("duplicates dropped: {duplicates} exact, {near_duplicates} near (Jaccard >= {})", a.near_dup_threshold);
    eprintln!("verification: {:?}", a.verify);
    if !rejected.is_empty() {
        let r: Vec<String> = rejected.iter().map(|(k, v)| format!("{k} {v}")).collect();
        eprintln!("rejected and regenerated: {}", r.join(", "));
    }
    if a.verify == Verify::Full {
        let found: usize = findings.values().sum();
        let passed = gradient_checked - found;
        eprintln!(
            "gradient check: {passed}/{gradient_checked} differentiable candidates passed ({:.1}%)",
            100.0 * passed as f64 / gradient_checked.max(1) as f64
        );
        if found > 0 {
            let f: Vec<String> = findings.iter().map(|(k, v)| format!("{k} {v}")).collect();
            eprintln!("findings: {found} ({}) under {}", f.join(", "), a.out.join("findings").display());
        }
    }
    let standalone_failed: usize = failures.iter().filter(|(k, _)| k.starts_with("standalone")).map(|(_, n)| *n).sum();
    if stage.equivalence {
        eprintln!(
            "standalone CUDA: {standalone_checked}/{} translations reproduced Warp's outputs on the host{}",
            standalone_checked + standalone_failed,
            if stage.compile { ", all accepted ones compiled with nvcc --ptx" } else { "" }
        );
    }
    if failures.is_empty() {
        eprintln!("failures: none");
    } else {
        eprintln!("failures: {failed_total} (sources and reasons under {})", failures_dir.display());
        for (reason, n) in &failures {
            eprintln!("  {reason:<14} {n}");
        }
    }
    let total = start.elapsed().as_secs_f64();
    eprintln!(
        "wall time: {total:.1} s ({wall:.1} s generating and checking, {:.1} s writing), {:.1} records/s",
        total - wall,
        manifest.records as f64 / total.max(1e-9)
    );
    if manifest.records < a.count {
        eprintln!("error: only {} of {} records could be produced", manifest.records, a.count);
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use warpsmith_oracle::{FdSample, GradientRun};

    fn candidate() -> Candidate {
        let kernel = warpsmith_gen::generate(Category::Arithmetic, 1, &Config::default());
        let spec = Some(launch_spec(&kernel, 1));
        Candidate {
            category: Category::Arithmetic,
            seed: 1,
            id: warpsmith_ast::canonical_id(&kernel),
            python: warpsmith_ast::python_module(&kernel),
            kernel,
            spec,
        }
    }

    fn run() -> RunResult {
        RunResult {
            ok: true,
            error: None,
            traceback: None,
            deterministic: Some(true),
            problem: None,
            outputs: vec![],
            ptx: Some(true),
            ptx_error: None,
            gradient: Some(GradientRun {
                status: "computed".into(),
                grad_inputs: vec![],
                samples: vec![FdSample { arg: 0, index: 0, ad: 1.0, fd: 1.0, fd_half: 1.0, h: 1e-2 }],
                loss_scale: 1.0,
            }),
            cuda_forward: None,
            cuda_backward: None,
        }
    }

    #[test]
    fn passing_runs_are_accepted_with_their_checks() {
        let v = verify_run(&candidate(), Some(run()), Verify::Full).ok().expect("accepted");
        assert_eq!(
            (v.checks.forward.as_str(), v.checks.gradient.as_str(), v.checks.ptx.as_str()),
            ("passed", "passed", "passed")
        );
        assert!(v.checks.deterministic);
        let v = verify_run(&candidate(), Some(run()), Verify::Run).ok().expect("accepted");
        assert_eq!((v.checks.gradient.as_str(), v.checks.ptx.as_str()), ("skipped", "skipped"));
        let mut no_grad = run();
        no_grad.gradient = None;
        let v = verify_run(&candidate(), Some(no_grad), Verify::Full).ok().expect("accepted");
        assert_eq!(v.checks.gradient, "not_differentiable");
    }

    #[test]
    fn degenerate_nondeterministic_ptx_and_gradient_failures_are_not_accepted() {
        let c = candidate();
        let mut r = run();
        r.problem = Some("constant".into());
        assert!(matches!(verify_run(&c, Some(r), Verify::Full), Err(Verdict::Reject(why)) if why == "constant"));
        let mut r = run();
        r.deterministic = Some(false);
        assert!(matches!(verify_run(&c, Some(r), Verify::Run), Err(Verdict::Reject(why)) if why == "nondeterministic"));
        let mut r = run();
        r.ptx = Some(false);
        assert!(
            matches!(verify_run(&c, Some(r), Verify::Full), Err(Verdict::Fail(f)) if f.reason == FailureReason::Ptx)
        );
        let mut r = run();
        if let Some(g) = r.gradient.as_mut() {
            g.samples[0].ad = -3.0;
        }
        assert!(matches!(verify_run(&c, Some(r), Verify::Full), Err(Verdict::Finding(..))));
        let mut r = run();
        r.cuda_forward = Some("failed".into());
        assert!(
            matches!(verify_run(&c, Some(r), Verify::Run), Err(Verdict::Fail(f)) if f.reason == FailureReason::CudaMismatch)
        );
        let mut r = run();
        r.cuda_forward = Some("passed".into());
        r.cuda_backward = Some("passed".into());
        let v = verify_run(&c, Some(r), Verify::Full).ok().expect("accepted");
        assert_eq!((v.checks.cuda_forward.as_str(), v.checks.cuda_backward.as_str()), ("passed", "passed"));
        let mut r = run();
        r.ok = false;
        r.error = Some("ValueError: boom".into());
        r.traceback = Some("Traceback (most recent call last):\n  File \"worker.py\"".into());
        match verify_run(&c, Some(r), Verify::Run) {
            Err(Verdict::Fail(f)) => {
                assert_eq!(f.reason, FailureReason::Run);
                assert_eq!(f.message, "ValueError: boom");
                assert!(f.traceback.starts_with("Traceback"), "the worker's traceback is kept: {:?}", f.traceback);
            }
            _ => panic!("a failed run is a failure"),
        }
    }
}
