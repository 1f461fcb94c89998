//! `warpsmith catalog`: regenerate the builtin catalog from the installed Warp's registry.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::Context;

/// The script that dumps Warp's registry (also the committed catalog's provenance).
const SCRIPT: &str = include_str!("catalog.py");

/// Flags of `catalog`.
#[derive(clap::Args, Debug)]
pub struct CatalogArgs {
    /// Where to write the catalog (the committed copy is `crates/warpsmith-gen/data/builtins.json`);
    /// default: standard output.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Python interpreter that has warp-lang 1.19.0 (default: the managed environment).
    #[arg(long, env = "WARPSMITH_PYTHON")]
    python: Option<PathBuf>,
}

pub fn run(a: &CatalogArgs) -> anyhow::Result<ExitCode> {
    let python = crate::env::python(a.python.as_deref())?;
    let out = Command::new(&python)
        .args(["-c", SCRIPT, warpsmith_oracle::WARP_VERSION])
        .output()
        .with_context(|| format!("running {}", python.display()))?;
    if !out.status.success() {
        anyhow::bail!("dumping Warp's registry failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    let catalog: warpsmith_gen::catalog::Catalog =
        serde_json::from_slice(&out.stdout).context("the registry dump is not a catalog")?;
    match &a.out {
        Some(path) => {
            warpsmith_dataset::atomic_write(path, &out.stdout)?;
            eprintln!(
                "wrote {} builtins of Warp {} to {}",
                catalog.builtins.len(),
                catalog.warp_version,
                path.display()
            );
        }
        None => print!("{}", String::from_utf8_lossy(&out.stdout)),
    }
    Ok(ExitCode::SUCCESS)
}
