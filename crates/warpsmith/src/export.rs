//! `warpsmith export`: SFT chat JSONL or raw JSONL, one file per split.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use warpsmith_dataset::export::{Format, Task, export};

/// The export formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum To {
    /// Chat-format rows (`messages`: system, user, assistant) for one `--task`.
    Sft,
    /// Every record with every column.
    Jsonl,
}

/// Flags of `export`.
#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// The dataset directory (as written by `generate`).
    dir: PathBuf,
    /// Output format.
    #[arg(long, value_enum)]
    to: To,
    /// With `--to sft`: what the assistant answers with.
    #[arg(long, value_enum, required_if_eq("to", "sft"))]
    task: Option<Task>,
    /// Output directory for `<split>.jsonl` (default: `DIR/export/<task or jsonl>`).
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn run(a: &ExportArgs) -> anyhow::Result<ExitCode> {
    let (format, label) = match (a.to, a.task) {
        (To::Jsonl, _) => (Format::Jsonl, "jsonl".to_string()),
        (To::Sft, Some(t)) => {
            let name = clap::ValueEnum::to_possible_value(&t).map(|v| v.get_name().to_string()).unwrap_or_default();
            (Format::Sft(t), name)
        }
        (To::Sft, None) => anyhow::bail!("--to sft needs --task"),
    };
    if crate::validate::checked_manifest(&a.dir).is_none() {
        return Ok(ExitCode::FAILURE);
    }
    let out = a.out.clone().unwrap_or_else(|| a.dir.join("export").join(&label));
    let summary = export(&a.dir, &out, format).with_context(|| format!("exporting {}", a.dir.display()))?;
    for (split, rows, path) in &summary.files {
        eprintln!("{split:<10} {rows:>7} rows  {}", path.display());
    }
    if summary.skipped > 0 {
        eprintln!("skipped {} records without the task's column", summary.skipped);
    }
    Ok(ExitCode::SUCCESS)
}
