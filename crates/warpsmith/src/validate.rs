//! `warpsmith validate`: the checks of [`warpsmith_dataset::validate`], then a sample of records re-run through
//! Warp: code generation must give the stored modules byte for byte, and a CPU launch on the stored
//! `test_inputs` must give the stored `test_outputs`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use warpsmith_dataset::validate::{SetChecker, Violation, check_files, check_record, compare_outputs};
use warpsmith_dataset::{CheckStatus, Record};
use warpsmith_gen::vectors::launch_spec;
use warpsmith_oracle::{CheckRequest, Job, Outcome, Pool, PoolOptions};

/// Flags of `validate`.
#[derive(clap::Args, Debug)]
pub struct ValidateArgs {
    /// The dataset directory (as written by `generate`).
    dir: PathBuf,
    /// Records re-run through Warp (chosen by the hash of their id; 0: none; more than the dataset: all).
    #[arg(long, default_value_t = 64)]
    sample: usize,
    /// Python interpreter that has warp-lang 1.19.0 (default: the managed environment).
    #[arg(long, env = "WARPSMITH_PYTHON")]
    python: Option<PathBuf>,
    /// Oracle worker processes (default: one per core).
    #[arg(long)]
    workers: Option<usize>,
}

/// The sample: the `n` records with the smallest `BLAKE3("warpsmith-validate" || id)`, kept while the records
/// stream past (at most `n` held).
struct Sample {
    n: usize,
    kept: BTreeMap<([u8; 32], usize), Record>,
    seen: usize,
}

impl Sample {
    fn offer(&mut self, r: Record) {
        let mut h = blake3::Hasher::new();
        h.update(b"warpsmith-validate");
        h.update(r.id.as_bytes());
        self.seen += 1;
        // the counter breaks ties between repeated ids
        self.kept.insert((*h.finalize().as_bytes(), self.seen), r);
        if self.kept.len() > self.n {
            self.kept.pop_last();
        }
    }

    fn records(self) -> Vec<Record> {
        self.kept.into_values().collect()
    }
}

/// Re-runs `records` through Warp and returns the violations.
fn rerun(
    a: &ValidateArgs,
    records: &[Record],
    config: &warpsmith_gen::Config,
    fd_samples: u32,
    constants: bool,
) -> anyhow::Result<Vec<Violation>> {
    let python = crate::env::python(a.python.as_deref())?;
    let workers = a.workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1);
    let opts = PoolOptions { workers, batch: 8, timeout: Duration::from_secs(120), ..PoolOptions::default() };
    let pool = Pool::start(crate::env::worker_command(python, "cpu")?, opts).context("starting the Warp oracle")?;
    let mut submitted = BTreeMap::new();
    // per slot: true when the kernel's adjoint should be exact (no construct of `inexact_reasons`)
    let mut inexact = BTreeMap::new();
    let mut out = Vec::new();
    for (slot, r) in records.iter().enumerate() {
        let loc = format!("record {}", r.id);
        let Ok(category) = serde_json::from_value(serde_json::Value::String(r.category.clone())) else {
            continue; // reported by check_record
        };
        let kernel = warpsmith_gen::generate(category, r.seed, config);
        inexact.insert(slot, warpsmith_run::inexact_reasons(&kernel).is_empty());
        let check = (r.checks.forward == CheckStatus::Passed).then(|| {
            let mut spec = launch_spec(&kernel, r.seed);
            // launch on the stored inputs, not the regenerated ones
            let mut stored = r.test_inputs.iter();
            for arg in spec.args.iter_mut().filter(|a| a.role.is_drawn()) {
                if let Some(t) = stored.next() {
                    arg.tensor = t.clone();
                }
            }
            // the gradient check again where the record says it ran: same inputs, seed and components
            let gradient =
                matches!(r.checks.gradient, CheckStatus::Passed | CheckStatus::Unchecked | CheckStatus::Inexact);
            // NVRTC is not run again here (the pool's `ptx` is off); `check_record` holds `checks.ptx` to the rule
            // and the constant-sensitivity check where the run rejected dead constants
            CheckRequest { spec, fd_seed: r.seed, fd_samples, gradient, full_ptx: false, constants }
        });
        if check.is_none() && r.checks.forward == CheckStatus::Passed {
            out.push(Violation { location: loc, problem: "no launch could be built".into() });
            continue;
        }
        pool.submit(slot, Job { name: r.name.clone(), source: r.python.clone(), check });
        submitted.insert(slot, r);
    }
    for _ in 0..submitted.len() {
        let (slot, outcome) = pool.results().recv().context("the oracle pool stopped unexpectedly")?;
        let Some(r) = submitted.get(&slot) else { continue };
        let loc = format!("record {}", r.id);
        let mut problems = Vec::new();
        match outcome {
            Outcome::Failed(f) => {
                problems.push(format!("Warp failed on it again ({}): {}", f.reason.name(), f.message))
            }
            Outcome::Ok(mods) => {
                if mods.cpu_module != r.cpu_module {
                    problems.push("cpu_module is not what Warp emits for python".into());
                }
                if mods.cuda_module != r.cuda_module {
                    problems.push("cuda_module is not what Warp emits for python".into());
                }
                if let Some(run) = mods.run {
                    if run.ok {
                        problems.extend(compare_outputs(&r.test_outputs, &run.outputs));
                        match (&run.problem, &run.constants) {
                            (Some(p), Some(c)) if p == "dead_constant" => problems.push(format!(
                                "the re-run finds float literals no output depends on ({p}: {} of {} by order \
                                 in the kernel's body: {:?}{})",
                                c.dead.len(),
                                c.literals,
                                c.dead,
                                c.error.as_deref().map(|e| format!("; {e}")).unwrap_or_default()
                            )),
                            (Some(p), _) => problems.push(format!("the re-run finds the outputs {p}")),
                            (None, _) => {}
                        }
                        let exact = inexact.get(&slot).copied().unwrap_or(true);
                        problems.extend(gradient_problems(r, run.gradient.as_ref(), exact));
                    } else {
                        problems.push(format!("the CPU launch failed: {}", run.error.unwrap_or_default()));
                    }
                }
            }
        }
        out.extend(problems.into_iter().map(|p| Violation { location: loc.clone(), problem: p }));
    }
    pool.finish();
    Ok(out)
}

/// The stored gradient verdict of `r` against the one recomputed from `run` (same inputs, seed and components,
/// so the counts must agree exactly; `exact`: the kernel uses no construct with a known inexact adjoint).
fn gradient_problems(r: &Record, run: Option<&warpsmith_oracle::GradientRun>, exact: bool) -> Vec<String> {
    let c = &r.checks;
    let Some(run) = run else {
        return if matches!(c.gradient, CheckStatus::Passed | CheckStatus::Unchecked | CheckStatus::Inexact) {
            vec![format!("checks.gradient is {:?} but the re-run computed no gradient", c.gradient.name())]
        } else {
            Vec::new()
        };
    };
    let v = warpsmith_oracle::assess_gradient(run);
    let status = match v.status {
        CheckStatus::Failed if !exact => CheckStatus::Inexact,
        s => s,
    };
    let mut out = Vec::new();
    if status != c.gradient {
        out.push(format!(
            "checks.gradient is {:?}, the re-run's check gives {:?} ({:?})",
            c.gradient.name(),
            status.name(),
            v.class
        ));
    }
    let counts = (v.compared as u64, v.informative as u64, v.unstable as u64);
    let stored = (c.gradient_compared as u64, c.gradient_informative as u64, c.gradient_unstable as u64);
    if counts != stored {
        out.push(format!("gradient components compared/informative/unstable {stored:?}, the re-run's {counts:?}"));
    }
    if c.gradient == CheckStatus::Passed {
        let recomputed: Vec<warpsmith_dataset::Tensor> = run.grad_inputs.clone();
        if recomputed != r.grad_inputs {
            out.push("grad_inputs differ from the adjoints Warp computes again".into());
        }
    }
    out
}

pub fn run(a: &ValidateArgs) -> anyhow::Result<ExitCode> {
    let manifest = match warpsmith_dataset::read_manifest(&a.dir) {
        Ok(m) => m,
        Err(e) => {
            println!("manifest.json: {:#}", anyhow::Error::from(e));
            eprintln!("invalid: the manifest cannot be read");
            return Ok(ExitCode::FAILURE);
        }
    };
    if a.dir.join(".warpsmith/swap.json").exists() {
        println!("{}: a generate run was stopped while swapping its dataset in", a.dir.display());
        eprintln!("invalid: run the same generate command again to finish it");
        return Ok(ExitCode::FAILURE);
    }
    if manifest.run.warpsmith_version != env!("CARGO_PKG_VERSION") {
        // every record is regenerated from its seed below, and another version's generator draws other kernels
        println!(
            "manifest.json: made by warpsmith {}, this is warpsmith {}",
            manifest.run.warpsmith_version,
            env!("CARGO_PKG_VERSION")
        );
        eprintln!(
            "invalid for this version: its records cannot be regenerated here; validate it with warpsmith {}",
            manifest.run.warpsmith_version
        );
        return Ok(ExitCode::FAILURE);
    }
    let config: Option<warpsmith_gen::Config> = serde_json::from_value(manifest.run.config.clone()).ok();
    let mut set = SetChecker::new(&manifest);
    let mut per_record = Vec::new();
    let mut sample = Sample { n: a.sample, kept: BTreeMap::new(), seen: 0 };
    let mut records = 0usize;
    let mut violations = check_files(&a.dir, &manifest, &mut |file, r| {
        records += 1;
        set.add(file, &r);
        per_record.extend(check_record(&r, config.as_ref()));
        if a.sample > 0 {
            sample.offer(r);
        }
    });
    violations.extend(set.finish());
    if config.is_none() {
        violations.push(Violation {
            location: "manifest.json".into(),
            problem: "run.config is not a generator configuration".into(),
        });
    }
    violations.extend(per_record);
    let chosen = sample.records();
    let mut rerun_count = 0;
    if let Some(cfg) = &config
        && !chosen.is_empty()
    {
        eprintln!("re-running {} records through Warp", chosen.len());
        // a manifest from before the identity was recorded: the default of `generate`
        let fd_samples = manifest.run.identity.as_ref().map_or(512, |i| i.fd_samples);
        let constants = manifest.run.identity.as_ref().is_some_and(|i| i.reject_dead_constants);
        violations.extend(rerun(a, &chosen, cfg, fd_samples, constants)?);
        rerun_count = chosen.len();
    }
    for v in &violations {
        println!("{v}");
    }
    if violations.is_empty() {
        eprintln!(
            "valid: {} files, {} records; {rerun_count} re-run through Warp matched their modules and test outputs",
            manifest.files.len(),
            records
        );
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("invalid: {} violations", violations.len());
        Ok(ExitCode::FAILURE)
    }
}

/// The manifest of `dir` when it can be read and every file it lists is there with its size and BLAKE3 (and no
/// unlisted shard): what `stats` and `export` need before they trust a dataset. Otherwise prints the problems
/// (one line each, as `validate` does) and returns `None`.
pub fn checked_manifest(dir: &std::path::Path) -> Option<warpsmith_dataset::Manifest> {
    if dir.join(".warpsmith/swap.json").exists() {
        eprintln!("error: {}: a generate run was stopped while swapping its dataset in; run it again", dir.display());
        return None;
    }
    let manifest = match warpsmith_dataset::read_manifest(dir) {
        Ok(m) => m,
        Err(e) => {
            eprintln!(
                "error: {:#}; not a warpsmith dataset (run `warpsmith validate` for details)",
                anyhow::Error::from(e)
            );
            return None;
        }
    };
    let problems = warpsmith_dataset::validate::check_file_list(dir, &manifest);
    if problems.is_empty() {
        return Some(manifest);
    }
    for p in &problems {
        eprintln!("{p}");
    }
    eprintln!(
        "error: {} disagrees with its manifest ({} problems); run `warpsmith validate`",
        dir.display(),
        problems.len()
    );
    None
}
