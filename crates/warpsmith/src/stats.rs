//! `warpsmith stats`: the Markdown report with SVG plots, or the figures as JSON.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use warpsmith_report::{StatsBuilder, report};

/// Flags of `stats`.
#[derive(clap::Args, Debug)]
pub struct StatsArgs {
    /// The dataset directory (as written by `generate`).
    dir: PathBuf,
    /// Directory for `report.md` and its SVG plots (default: `DIR/stats`).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print the figures as JSON on standard output instead of writing the report.
    #[arg(long)]
    json: bool,
}

pub fn run(a: &StatsArgs) -> anyhow::Result<ExitCode> {
    let Some(manifest) = crate::validate::checked_manifest(&a.dir) else {
        return Ok(ExitCode::FAILURE);
    };
    let mut builder = StatsBuilder::new();
    for f in &manifest.files {
        let path = a.dir.join(&f.path);
        warpsmith_dataset::for_each_record(&path, &mut |r| builder.add(&r))
            .with_context(|| format!("reading {}", path.display()))?;
    }
    let stats = builder.finish(Some(&manifest.run));
    if a.json {
        println!("{}", serde_json::to_string_pretty(&stats).context("serialising the figures")?);
        return Ok(ExitCode::SUCCESS);
    }
    let out = a.out.clone().unwrap_or_else(|| a.dir.join("stats"));
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let title = format!("warpsmith dataset {}", a.dir.display());
    let files = report(&stats, &title).map_err(anyhow::Error::msg)?;
    for (name, text) in &files {
        warpsmith_dataset::atomic_write(&out.join(name), text.as_bytes())?;
    }
    eprintln!("wrote {} and {} plots to {}", files[0].0, files.len() - 1, out.display());
    eprintln!(
        "{} records; {} of {} registry builtins used; {:.1}% distinct skeletons; {} records with a near-duplicate",
        stats.records,
        stats.coverage.used,
        stats.coverage.catalog,
        100.0 * stats.distinct.skeleton_ratio,
        stats.distinct.records_with_near_duplicate
    );
    Ok(ExitCode::SUCCESS)
}
