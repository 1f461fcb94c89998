//! `warpsmith merge`: commits the parts of a split run (`generate --blocks K/N`) into one dataset, byte-identical
//! to `generate` on one machine. What decides the records comes from the parts themselves; the flags here only
//! say how this machine runs the commit (workers for the rare slots that collide across blocks and are
//! regenerated).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use warpsmith_gen::Config;
use warpsmith_run::Verify;

use crate::generate::{Progress, RunSpec, RuntimeArgs, report, settings};

/// Flags of `merge`.
#[derive(clap::Args, Debug)]
pub struct MergeArgs {
    /// Output directory, as for `generate --out`.
    #[arg(long, default_value = "dataset")]
    out: PathBuf,
    /// Write into a directory that holds other files, or discard an unfinished merge or run with other settings.
    #[arg(long)]
    force: bool,
    /// The part directories (`generate --blocks K/N --out PART`), in any order.
    #[arg(required = true)]
    parts: Vec<PathBuf>,
    #[command(flatten)]
    runtime: RuntimeArgs,
}

pub fn run(a: MergeArgs) -> anyhow::Result<ExitCode> {
    let first = match warpsmith_run::parts::read_part(&a.parts[0]) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let id = first.identity;
    let config: Config = serde_json::from_value(id.config.clone())
        .with_context(|| format!("the configuration of part {}", a.parts[0].display()))?;
    let verify = match id.verify.as_str() {
        "codegen" => Verify::Codegen,
        "run" => Verify::Run,
        "full" => Verify::Full,
        other => anyhow::bail!("part {} has an unknown verification level {other:?}", a.parts[0].display()),
    };
    let spec = RunSpec {
        out: a.out.clone(),
        count: id.count,
        seed: id.seed,
        block_size: id.block_size,
        shard_rows: id.shard_rows,
        config,
        verify,
        fd_samples: id.fd_samples,
        device: id.device.clone(),
        ptx: id.ptx,
        near_dup: id.near_dup.clone(),
        reject_dead_constants: id.reject_dead_constants,
        force: a.force,
    };
    let settings = settings(spec, &a.runtime)?;
    let progress = Progress::new(settings.count);
    let outcome = warpsmith_run::merge(&settings, &a.parts, &progress);
    progress.finish();
    report(&settings, outcome)
}
