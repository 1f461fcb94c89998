//! The `warpsmith` command line: thin clap types; each subcommand lives in its own module.

mod bench;
mod catalog;
mod check;
mod env;
mod eval;
mod eval_standalone;
mod export;
mod generate;
mod merge;
mod ray;
mod show;
mod stats;
mod validate;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// Synthesise random, valid NVIDIA Warp kernels paired with the C++ and CUDA that Warp's JIT emits for them.
#[derive(Parser, Debug)]
#[command(name = "warpsmith", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create the managed Python environment (warp-lang==1.19.0, numpy and nvidia-cuda-nvrtc==13.4.92 from
    /// PyPI); prints its interpreter.
    Setup(env::SetupArgs),
    /// Generate a dataset.
    Generate(generate::GenerateArgs),
    /// Commit the parts of a run split with `generate --blocks K/N` into one dataset, byte-identical to the
    /// same `generate` on one machine.
    Merge(merge::MergeArgs),
    /// Print the Python module of one kernel, regenerated from its category and seed.
    Show(show::ShowArgs),
    /// Write a dataset's statistics: a Markdown report with SVG plots, or `--json`.
    Stats(stats::StatsArgs),
    /// Check a dataset: files against the manifest, schema, ids, canonical forms, clusters and splits, each
    /// record against its seed, and a sample re-run through Warp. One line per violation; exit 1 if any.
    Validate(validate::ValidateArgs),
    /// Run the execution checks of `generate --verify full` on kernels given as JSON (a record's `name`,
    /// `python`, `launch_dim`, `test_inputs`, `grad_outputs`): one JSON line of verdict each; exit 1 unless
    /// every one would be accepted.
    Check(check::CheckArgs),
    /// Measure throughput per verification level and per stage against Warp's own floor on the same kernels:
    /// tables (Markdown) or `--json`.
    Bench(bench::BenchArgs),
    /// Regenerate the builtin catalog from Warp's registry (JSON).
    Catalog(catalog::CatalogArgs),
    /// Export a dataset for trainers: chat-format SFT JSONL for one task, or the raw records as JSONL.
    Export(export::ExportArgs),
    /// Score a model's completions by execution in a sandbox: compiled, run on the stored and on fresh inputs,
    /// compared with Warp's results (per-completion JSONL and a summary with pass@k).
    Eval(eval::EvalArgs),
}

fn main() -> ExitCode {
    // Rust ignores SIGPIPE, so printing into a closed pipe (`warpsmith validate DIR | head -1`) would panic;
    // the default action ends the process quietly, as other command-line tools do.
    // SAFETY: no other thread exists yet, and SIG_DFL installs no handler code.
    unsafe {
        let _ = nix::sys::signal::signal(nix::sys::signal::Signal::SIGPIPE, nix::sys::signal::SigHandler::SigDfl);
    }
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    let sub = matches.subcommand().map(|(_, m)| m.clone());
    let result = match cli.command {
        Command::Setup(a) => env::setup(&a).map(|python| {
            // the interpreter on stdout, for scripts: `PY=$(warpsmith setup)`
            println!("{}", python.display());
            ExitCode::SUCCESS
        }),
        Command::Generate(a) => match sub {
            Some(m) => generate::run(a, &m),
            None => Ok(ExitCode::from(2)),
        },
        Command::Merge(a) => merge::run(a),
        Command::Show(a) => show::run(&a),
        Command::Export(a) => export::run(&a),
        Command::Eval(a) => eval::run(&a),
        Command::Catalog(a) => catalog::run(&a),
        Command::Check(a) => check::run(&a),
        Command::Bench(a) => bench::run(&a),
        Command::Stats(a) => stats::run(&a),
        Command::Validate(a) => validate::run(&a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
