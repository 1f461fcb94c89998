//! `warpsmith bench`: the pipeline's throughput per verification level and per stage, against Warp's own floor
//! for each stage on the same kernels (`bench_floor.py`, a minimal harness with nothing of warpsmith's in it).
//!
//! Each level is a real `generate` run (same code path, a temporary `--out`), timed by wall clock and by CPU
//! time (`getrusage` of this process and its reaped children: the workers and the compilers). Stage seconds
//! come from the run itself ([`warpsmith_run::Summary::stage_seconds`]). The floor runs in one process on the
//! full level's records, so its seconds are core-seconds too.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{Context, bail};
use nix::sys::resource::{UsageWho, getrusage};
use serde::Serialize;
use warpsmith_dataset::NearDupInfo;
use warpsmith_oracle::WARP_VERSION;
use warpsmith_run::{Outcome, Silent, Verify};

use crate::generate::{RunSpec, RuntimeArgs, VerifyArg, settings};

/// The floor harness, shipped inside the binary.
const FLOOR_PY: &str = include_str!("bench_floor.py");

/// Flags of `bench`.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Records each verification level generates (and kernels the floor runs).
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    count: u64,
    /// Master seed of the runs.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Print the report as JSON instead of tables.
    #[arg(long)]
    json: bool,
    /// Verification levels to run, comma-separated; the floor runs on the records of the last one.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "codegen,run,full")]
    levels: Vec<VerifyArg>,
    #[command(flatten)]
    runtime: RuntimeArgs,
}

/// One level's run.
#[derive(Debug, Serialize)]
pub struct LevelRun {
    /// `codegen`, `run` or `full`.
    pub level: String,
    /// Records written.
    pub records: u64,
    /// Candidates the run regenerated after a rejection, a failure or a finding.
    pub regenerated: u64,
    /// Wall-clock seconds of the run.
    pub wall_seconds: f64,
    /// User + system CPU seconds of this process and its children over the run.
    pub cpu_seconds: f64,
    /// `records / wall_seconds`.
    pub records_per_second: f64,
    /// `records / cpu_seconds`: the throughput of one core.
    pub records_per_core_second: f64,
    /// Seconds per stage (about CPU seconds), from the run.
    pub stage_seconds: BTreeMap<String, f64>,
}

/// One stage compared with its floor: core-seconds per record against Warp's core-seconds per kernel.
#[derive(Debug, Serialize)]
pub struct StageRow {
    /// The stage, as the floor names it.
    pub stage: String,
    /// The pipeline's stages summed into it.
    pub pipeline_stages: Vec<String>,
    /// Pipeline seconds per written record (rejected candidates included: they are the pipeline's cost).
    pub pipeline_per_record: f64,
    /// Floor seconds per kernel (`None`: no floor for this stage).
    pub floor_per_kernel: Option<f64>,
    /// `pipeline_per_record / floor_per_kernel`.
    pub ratio: Option<f64>,
}

/// The whole report.
#[derive(Debug, Serialize)]
pub struct Report {
    /// CPU model and core count of this machine.
    pub machine: String,
    /// Worker processes of the runs.
    pub workers: usize,
    /// Records per level.
    pub count: u64,
    /// Master seed.
    pub seed: u64,
    /// warpsmith's version.
    pub warpsmith_version: String,
    /// Warp's version.
    pub warp_version: String,
    /// The runs, in the order asked.
    pub levels: Vec<LevelRun>,
    /// Floor seconds per stage over `floor_kernels` kernels.
    pub floor_seconds: BTreeMap<String, f64>,
    /// Kernels the floor ran (the last level's records).
    pub floor_kernels: usize,
    /// Of those, kernels with test data that the floor launched (none for `--verify codegen` records).
    pub floor_launched: usize,
    /// The codegen level's records per core-second over the floor's code generation kernels per second
    /// (`None` without a codegen level).
    pub codegen_vs_floor: Option<f64>,
    /// The last level's stages against the floor.
    pub stages: Vec<StageRow>,
}

/// The pipeline stages each floor stage stands for (worker stage names, see `worker.py`).
const STAGE_MAP: [(&str, &[&str]); 6] = [
    ("codegen", &["codegen"]),
    ("cpu_compile", &["cpu_compile", "cpu_compile_forward", "batch_import"]),
    ("launch_tape", &["launch", "liveness", "gradient"]),
    ("nvrtc", &["ptx", "ptx_front_end"]),
    ("standalone", &["standalone"]),
    ("other", &["generate", "worker_start", "cuda"]),
];

fn cpu_seconds() -> anyhow::Result<f64> {
    let mut total = 0.0;
    for who in [UsageWho::RUSAGE_SELF, UsageWho::RUSAGE_CHILDREN] {
        let u = getrusage(who).context("getrusage")?;
        for t in [u.user_time(), u.system_time()] {
            total += t.tv_sec() as f64 + t.tv_usec() as f64 * 1e-6;
        }
    }
    Ok(total)
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, m)| m.trim().to_string()))
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{model}, {cores} cores")
}

fn level_name(v: VerifyArg) -> &'static str {
    Verify::from(v).name()
}

/// One `generate` run at `level` into `dir`.
fn run_level(a: &BenchArgs, level: VerifyArg, dir: &Path) -> anyhow::Result<(LevelRun, usize)> {
    let spec = RunSpec {
        out: dir.to_path_buf(),
        count: a.count,
        seed: a.seed,
        block_size: 1000,
        shard_rows: 10_000,
        config: warpsmith_gen::Config::default(),
        verify: Verify::from(level),
        fd_samples: 512,
        device: "cpu".into(),
        ptx: false,
        near_dup: NearDupInfo {
            threshold: warpsmith_dataset::near_dup::DEFAULT_THRESHOLD,
            ngram: warpsmith_dataset::near_dup::DEFAULT_NGRAM,
            keep: false,
        },
        reject_dead_constants: false,
        force: false,
    };
    let s = settings(spec, &a.runtime)?;
    let workers = s.pool.workers;
    eprintln!("bench: {} records at --verify {} ...", a.count, level_name(level));
    let (t0, c0) = (Instant::now(), cpu_seconds()?);
    let outcome = warpsmith_run::run(&s, &Silent).map_err(|e| anyhow::anyhow!("the {} run: {e}", level_name(level)))?;
    let (wall, cpu) = (t0.elapsed().as_secs_f64(), cpu_seconds()? - c0);
    let Outcome::Done(summary) = outcome else { bail!("the {} run did not finish", level_name(level)) };
    let records = summary.manifest.records as u64;
    if records < a.count {
        bail!("the {} run wrote {records} of {} records", level_name(level), a.count);
    }
    let c = &summary.counters;
    let regenerated = (c.rejected.values().sum::<usize>()
        + c.failures.values().sum::<usize>()
        + c.findings.values().sum::<usize>()) as u64;
    let run = LevelRun {
        level: level_name(level).into(),
        records,
        regenerated,
        wall_seconds: wall,
        cpu_seconds: cpu,
        records_per_second: records as f64 / wall.max(1e-9),
        records_per_core_second: records as f64 / cpu.max(1e-9),
        stage_seconds: summary.stage_seconds.clone(),
    };
    Ok((run, workers))
}

/// The floor stages a level's pipeline has (the floor runs only those).
fn floor_stages(level: VerifyArg) -> &'static str {
    match level {
        VerifyArg::Codegen => "codegen",
        VerifyArg::Run => "codegen,cpu_compile,launch_tape",
        VerifyArg::Full => "codegen,cpu_compile,launch_tape,nvrtc",
    }
}

/// Warp's floor on the records in `dir` of level `last`: (seconds per stage, kernels, kernels launched).
fn floor(
    a: &BenchArgs,
    last: VerifyArg,
    dir: &Path,
    scratch: &Path,
) -> anyhow::Result<(BTreeMap<String, f64>, usize, usize)> {
    let records = warpsmith_dataset::read_dataset(dir)?;
    let input = scratch.join("floor.jsonl");
    let mut lines = String::new();
    for r in &records {
        let line = serde_json::json!({
            "name": r.name, "python": r.python, "launch_dim": r.launch_dim, "test_inputs": r.test_inputs,
            "test_outputs": r.test_outputs, "grad_outputs": r.grad_outputs,
        });
        lines.push_str(&line.to_string());
        lines.push('\n');
    }
    std::fs::write(&input, lines).with_context(|| format!("writing {}", input.display()))?;
    let script = scratch.join("bench_floor.py");
    std::fs::write(&script, FLOOR_PY).with_context(|| format!("writing {}", script.display()))?;
    let python = crate::env::python(a.runtime.python.as_deref())?;
    eprintln!("bench: Warp's floor on {} kernels ...", records.len());
    let out = Command::new(&python)
        .arg(&script)
        .arg(&input)
        .arg(a.runtime.batch_size.to_string())
        .arg(floor_stages(last))
        .env("TMPDIR", scratch)
        .output()
        .with_context(|| format!("running {}", python.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!("the floor harness failed ({}):\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    }
    // Warp may print its own lines first; the report is the last
    let last = stdout.lines().last().unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(last).with_context(|| format!("the floor's report: {last:?}"))?;
    let seconds: BTreeMap<String, f64> =
        serde_json::from_value(v["seconds"].clone()).context("the floor's seconds per stage")?;
    let launched = v["launched"].as_u64().context("the floor's launched count")? as usize;
    Ok((seconds, records.len(), launched))
}

/// The last level's stages against the floor.
fn stage_rows(last: &LevelRun, floor: &BTreeMap<String, f64>, kernels: usize, launched: usize) -> Vec<StageRow> {
    STAGE_MAP
        .iter()
        .map(|(stage, parts)| {
            // (a fold from +0.0: an empty f64 sum is -0.0)
            let secs = parts.iter().filter_map(|p| last.stage_seconds.get(*p)).fold(0.0, |a, b| a + b);
            let per_record = secs / last.records.max(1) as f64;
            let n = if *stage == "launch_tape" { launched } else { kernels };
            let floor_per_kernel = floor.get(*stage).filter(|_| n > 0).map(|s| s / n as f64);
            StageRow {
                stage: stage.to_string(),
                pipeline_stages: parts.iter().map(|p| p.to_string()).collect(),
                pipeline_per_record: per_record,
                floor_per_kernel,
                // no ratio for a stage the level did not run
                ratio: floor_per_kernel.filter(|f| *f > 0.0 && per_record > 0.0).map(|f| per_record / f),
            }
        })
        .collect()
}

fn print_tables(r: &Report) {
    println!("warpsmith bench: {} records per level, seed {}, {} workers on {}", r.count, r.seed, r.workers, r.machine);
    println!("warpsmith {}, warp-lang {}\n", r.warpsmith_version, r.warp_version);
    println!("| level | records | regenerated | wall s | records/s | core-s/record | records/core-s |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for l in &r.levels {
        println!(
            "| {} | {} | {} | {:.1} | {:.2} | {:.3} | {:.2} |",
            l.level,
            l.records,
            l.regenerated,
            l.wall_seconds,
            l.records_per_second,
            1.0 / l.records_per_core_second.max(1e-12),
            l.records_per_core_second
        );
    }
    if let Some(c) = r.codegen_vs_floor {
        println!("\ncodegen level: {c:.2}x the records/core-s of Warp's own code generation loop on the same kernels");
    }
    if let Some(last) = r.levels.last() {
        println!("\nstages of the {} level against Warp's floor on its {} kernels:\n", last.level, r.floor_kernels);
        println!("| stage | pipeline core-s/record | Warp floor core-s/kernel | pipeline/floor |");
        println!("|---|---:|---:|---:|");
        for s in &r.stages {
            let f = s.floor_per_kernel.map_or("-".to_string(), |f| format!("{f:.3}"));
            let ratio = s.ratio.map_or("-".to_string(), |x| format!("{x:.2}"));
            println!(
                "| {} ({}) | {:.3} | {f} | {ratio} |",
                s.stage,
                s.pipeline_stages.join(" + "),
                s.pipeline_per_record
            );
        }
    }
}

pub fn run(a: &BenchArgs) -> anyhow::Result<ExitCode> {
    if a.levels.is_empty() {
        eprintln!("error: --levels names no level");
        return Ok(ExitCode::from(2));
    }
    let scratch = tempfile::Builder::new().prefix("warpsmith-bench-").tempdir().context("a scratch directory")?;
    let mut levels = Vec::new();
    let mut workers = 0;
    for &level in &a.levels {
        let dir = scratch.path().join(level_name(level));
        let (run, w) = run_level(a, level, &dir)?;
        workers = w;
        levels.push(run);
    }
    let last = *a.levels.last().unwrap_or(&VerifyArg::Full);
    let last_dir = scratch.path().join(level_name(last));
    let (floor_seconds, floor_kernels, floor_launched) = floor(a, last, &last_dir, scratch.path())?;
    let floor_codegen_rate = floor_seconds.get("codegen").map(|s| floor_kernels as f64 / s.max(1e-12));
    let codegen_vs_floor = levels
        .iter()
        .find(|l| l.level == "codegen")
        .zip(floor_codegen_rate)
        .map(|(l, f)| l.records_per_core_second / f);
    let stages =
        levels.last().map(|l| stage_rows(l, &floor_seconds, floor_kernels, floor_launched)).unwrap_or_default();
    let report = Report {
        machine: machine(),
        workers,
        count: a.count,
        seed: a.seed,
        warpsmith_version: env!("CARGO_PKG_VERSION").into(),
        warp_version: WARP_VERSION.into(),
        levels,
        floor_seconds,
        floor_kernels,
        floor_launched,
        codegen_vs_floor,
        stages,
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report).context("encoding the report")?);
    } else {
        print_tables(&report);
    }
    Ok(ExitCode::SUCCESS)
}
