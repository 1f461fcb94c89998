//! `warpsmith show`: regenerate and print one kernel.

use std::process::ExitCode;

use warpsmith_gen::{Category, Config};

/// Flags of `show`.
#[derive(clap::Args, Debug)]
pub struct ShowArgs {
    /// The record's category.
    #[arg(long)]
    category: Category,
    /// The record's seed (the `seed` column).
    #[arg(long)]
    seed: u64,
    /// Print the canonical form instead of the module.
    #[arg(long)]
    canonical: bool,
    #[command(flatten)]
    config: Config,
}

pub fn run(a: &ShowArgs) -> anyhow::Result<ExitCode> {
    let k = warpsmith_gen::generate(a.category, a.seed, &a.config);
    if a.canonical {
        print!("{}", warpsmith_ast::canonical(&k));
    } else {
        print!("{}", warpsmith_ast::python_module(&k));
    }
    eprintln!("id {}", warpsmith_ast::canonical_id(&k));
    Ok(ExitCode::SUCCESS)
}
