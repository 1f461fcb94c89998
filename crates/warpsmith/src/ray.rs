//! `generate --engine ray`: the run's blocks as Ray tasks, then the merge on this machine.
//!
//! Each block is one part (`generate --blocks B/N` with N the number of blocks) computed by a Ray task that
//! runs this binary on its node, into `DIR/.warpsmith/parts/B` (a filesystem every node sees; no object
//! store). The driver (`ray_driver.py`, run with the managed environment's Python, which `warpsmith setup --with
//! ray` gives Ray) submits the blocks not yet computed, reports blocks done, records/s and ETA, and leaves
//! retries of lost tasks to Ray. Then [`warpsmith_run::merge`] commits the parts into `DIR` exactly as a
//! one-machine run commits its blocks, so the bytes are the same; a killed driver resumes from the parts.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::Context;
use warpsmith_run::Settings;

use crate::generate::{Progress, RuntimeArgs, report};

/// The driver script, written under `$WARPSMITH_HOME` (named by its hash) and run with the managed Python.
pub const DRIVER_PY: &str = include_str!("ray_driver.py");

/// Retries Ray gives a block whose task died or failed.
const RETRIES: u32 = 3;

/// The `generate` flags that reproduce `settings` in a task (the configuration through a JSON file).
fn task_args(settings: &Settings, config: &Path, r: &RuntimeArgs, workers: u64) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "--config".into(),
        config.display().to_string(),
        "--count".into(),
        settings.count.to_string(),
        "--seed".into(),
        settings.seed.to_string(),
        "--block-size".into(),
        settings.block_size.to_string(),
        "--shard-rows".into(),
        settings.shard_rows.to_string(),
        "--verify".into(),
        settings.verify.name().into(),
        "--fd-samples".into(),
        settings.fd_samples.to_string(),
        "--device".into(),
        settings.device.clone(),
        "--near-dup-threshold".into(),
        settings.near_dup.threshold.to_string(),
        "--workers".into(),
        workers.to_string(),
        "--timeout".into(),
        r.timeout.to_string(),
        "--batch-size".into(),
        r.batch_size.to_string(),
        "--recycle-after".into(),
        r.recycle_after.to_string(),
        "--cxx".into(),
        r.cxx.display().to_string(),
    ];
    if settings.near_dup.keep {
        args.push("--keep-near-duplicates".into());
    }
    if settings.reject_dead_constants {
        args.push("--reject-dead-constants".into());
    }
    if settings.ptx {
        args.push("--ptx".into());
    }
    if let Some(n) = &r.nvcc {
        args.extend(["--nvcc".into(), n.display().to_string()]);
    }
    // an interpreter named here is used on every node; otherwise each node uses its own managed environment
    if let Some(p) = &r.python {
        args.extend(["--python".into(), p.display().to_string()]);
    }
    args
}

/// Blocks whose part is already computed (a resumed driver skips them).
fn computed(parts: &Path, settings: &Settings) -> Vec<u64> {
    let identity = settings.identity();
    (0..settings.blocks())
        .filter(|b| {
            warpsmith_run::parts::read_part(&parts.join(b.to_string()))
                .is_ok_and(|p| p.identity == identity && p.blocks.iter().any(|x| x.index == *b))
        })
        .collect()
}

/// Runs `settings` on Ray (`address`: an existing cluster, else a local instance), then merges.
pub fn run(settings: &Settings, r: &RuntimeArgs, address: Option<&str>) -> anyhow::Result<ExitCode> {
    // refuse a directory a one-machine run would refuse, before any task starts (the lock is released for the
    // merge, which takes it again)
    match warpsmith_run::outdir::OutDir::open(&settings.out, settings.force) {
        Ok(out) => drop(out),
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
    }
    let parts = settings.out.join(warpsmith_run::outdir::STATE).join("parts");
    std::fs::create_dir_all(&parts).with_context(|| format!("creating {}", parts.display()))?;
    let config = parts.join("config.json");
    let text = serde_json::to_vec_pretty(&settings.config).context("encoding the configuration")?;
    warpsmith_dataset::atomic_write(&config, &text)?;
    let done = computed(&parts, settings);
    let todo: Vec<u64> = (0..settings.blocks()).filter(|b| !done.contains(b)).collect();
    let workers = r.workers.unwrap_or(1);
    let binary = std::env::current_exe().context("locating the warpsmith binary")?;
    eprintln!(
        "Ray: {} of {} block(s) to compute ({} already computed), {workers} CPU(s) per task, {}",
        todo.len(),
        settings.blocks(),
        done.len(),
        address.map_or_else(|| "a local Ray instance".to_string(), |a| format!("cluster {a}"))
    );
    if !todo.is_empty() {
        let job = serde_json::json!({
            "address": address,
            "binary": binary,
            "args": task_args(settings, &config, r, workers),
            "blocks": todo,
            "of": settings.blocks(),
            "block_size": settings.block_size,
            "parts": parts,
            "cpus": workers,
            "retries": RETRIES,
        });
        let job_path = parts.join("job.json");
        warpsmith_dataset::atomic_write(&job_path, job.to_string().as_bytes())?;
        let python = crate::env::python(r.python.as_deref())?;
        let home = crate::env::home()?;
        let hash = blake3::hash(DRIVER_PY.as_bytes()).to_hex();
        let driver = home.join(format!("ray-driver-{}.py", &hash[..16]));
        if !driver.exists() {
            warpsmith_dataset::atomic_write(&driver, DRIVER_PY.as_bytes())?;
        }
        let status = Command::new(&python)
            .arg(&driver)
            .arg(&job_path)
            .status()
            .with_context(|| format!("running the Ray driver with {}", python.display()))?;
        if !status.success() {
            anyhow::bail!(
                "the Ray driver failed ({status}); computed blocks are kept in {}: run the same command to resume \
                 (Ray missing? `warpsmith setup --with ray`)",
                parts.display()
            );
        }
    }
    let dirs: Vec<PathBuf> = (0..settings.blocks()).map(|b| parts.join(b.to_string())).collect();
    let progress = Progress::new(settings.count);
    let outcome = warpsmith_run::merge(settings, &dirs, &progress);
    progress.finish();
    report(settings, outcome)
}
