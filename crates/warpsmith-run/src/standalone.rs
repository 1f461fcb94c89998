//! The standalone-CUDA stage of a run: translates each accepted record with `warpsmith-cuda`, then
//! checks the translations in batches (nvcc PTX compile, host equivalence with Warp's outputs) on
//! `workers` threads.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use warpsmith_cuda::toolchain::{Outcome, Status, Toolchain, ToolchainError};
use warpsmith_cuda::{TestCase, Translation, translate};
use warpsmith_dataset::{CheckStatus, Record};
use warpsmith_gen::vectors::LaunchSpec;
use warpsmith_oracle::{Failure, FailureReason};

use crate::RunError;
use crate::verdict::Candidate;

/// Translations per translation unit: large enough that compiler start-up is amortised (nvcc ~0.4 s,
/// g++ ~0.2 s per run), small enough that a failing batch is cheap to split.
pub const BATCH: usize = 48;

/// What the stage runs.
#[derive(Clone, Debug)]
pub struct Stage {
    /// The compilers, or `None` to only translate (`--verify codegen`).
    pub toolchain: Option<Toolchain>,
    /// Run the nvcc PTX compile check.
    pub compile: bool,
    /// Run the host equivalence check (needs executed records).
    pub equivalence: bool,
    /// Threads that run compilers at once.
    pub workers: usize,
}

fn failure(reason: FailureReason, message: String) -> Failure {
    Failure { reason, message, traceback: String::new(), stderr_tail: String::new(), attempts: 1 }
}

/// Translates and checks `records` (each with its candidate); sets `cuda_standalone` and the two checks on
/// each, or returns the failure (with the translation's source, if there is one) for records that failed.
/// `tag` names the scratch files (unique among calls that run at once); the compilers' time goes to `clock`
/// as `standalone`.
///
/// # Errors
/// [`RunError::Standalone`]: a compiler that cannot be started, or a scratch file that cannot be written.
pub(crate) fn run(
    stage: &Stage,
    items: &mut [(usize, Candidate, Box<Record>)],
    tag: &str,
    clock: &crate::Clock,
) -> Result<Vec<Option<(Failure, String)>>, RunError> {
    let mut verdicts: Vec<Option<(Failure, String)>> = vec![None; items.len()];
    let mut translations: Vec<(usize, Translation)> = Vec::new();
    for (i, (_, c, r)) in items.iter_mut().enumerate() {
        let executed = !r.launch_dim.is_empty();
        let inputs: Vec<_> =
            if executed { r.test_inputs.clone() } else { c.spec.as_ref().map(LaunchSpec::inputs).unwrap_or_default() };
        let launch_dim: Option<Vec<u32>> = if executed {
            Some(r.launch_dim.iter().map(|d| *d as u32).collect())
        } else {
            c.spec.as_ref().map(|s| s.launch_dim.clone())
        };
        let Some(launch_dim) = launch_dim else {
            verdicts[i] =
                Some((failure(FailureReason::Internal, "no launch for the translation".into()), String::new()));
            continue;
        };
        let test = TestCase {
            launch_dim: &launch_dim,
            inputs: &inputs,
            expected: executed.then_some(r.test_outputs.as_slice()),
        };
        match translate(&c.kernel, &test) {
            Ok(t) => {
                r.cuda_standalone = t.source.clone();
                translations.push((i, t));
            }
            Err(warpsmith_cuda::EmitError::OutOfScope(_)) => {
                // no translation by design: the record says so in both standalone checks
                r.cuda_standalone.clear();
                r.checks.standalone_compile = CheckStatus::Unsupported;
                r.checks.standalone_equivalence = CheckStatus::Unsupported;
            }
            Err(e) => verdicts[i] = Some((failure(FailureReason::StandaloneEmit, e.to_string()), String::new())),
        }
    }
    let Some(tc) = &stage.toolchain else {
        return Ok(verdicts);
    };
    let chunks: Vec<&[(usize, Translation)]> = translations.chunks(BATCH).collect();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, Vec<Outcome>)>> = Mutex::new(Vec::new());
    let errors: Mutex<Vec<ToolchainError>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..stage.workers.max(1).min(chunks.len()) {
            s.spawn(|| {
                loop {
                    let k = next.fetch_add(1, Ordering::SeqCst);
                    let Some(chunk) = chunks.get(k) else { break };
                    let refs: Vec<&Translation> = chunk.iter().map(|(_, t)| t).collect();
                    let tag = format!("{tag}-{k}");
                    let t0 = std::time::Instant::now();
                    let checked = tc.check(&refs, stage.compile, stage.equivalence, &tag);
                    clock.add("standalone", t0.elapsed().as_secs_f64());
                    remove_scratch(&tc.workdir, &tag);
                    match checked {
                        Ok(o) => results.lock().unwrap_or_else(|p| p.into_inner()).push((k, o)),
                        Err(e) => errors.lock().unwrap_or_else(|p| p.into_inner()).push(e),
                    }
                }
            });
        }
    });
    if let Some(e) = errors.into_inner().unwrap_or_else(|p| p.into_inner()).into_iter().next() {
        return Err(RunError::Standalone(e.to_string()));
    }
    for (k, outcomes) in results.into_inner().unwrap_or_else(|p| p.into_inner()) {
        for ((i, t), o) in chunks[k].iter().zip(outcomes) {
            let r = &mut items[*i].2;
            r.checks.standalone_compile = status(&o.compile);
            r.checks.standalone_equivalence = status(&o.equivalence);
            let failed = match (o.compile, o.equivalence, o.gpu) {
                (Status::Failed(m), _, _) => Some(failure(FailureReason::StandaloneCompile, m)),
                (_, Status::Failed(m), _) => Some(failure(FailureReason::StandaloneEquivalence, m)),
                (_, _, Status::Failed(m)) => Some(failure(FailureReason::StandaloneGpu, m)),
                _ => None,
            };
            if let Some(f) = failed {
                verdicts[*i] = Some((f, t.source.clone()));
            }
        }
    }
    Ok(verdicts)
}

/// Deletes the compilers' files of one batch (sources, objects, binaries named `{tag}...`), so scratch space
/// does not grow with the run. A file that cannot be deleted is left to the run's final cleanup of its
/// scratch directory.
fn remove_scratch(dir: &std::path::Path, tag: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let ours = name.strip_prefix(tag).is_some_and(|rest| rest.starts_with(['.', '-']) || rest.is_empty());
        if ours {
            let _ = if e.path().is_dir() { std::fs::remove_dir_all(e.path()) } else { std::fs::remove_file(e.path()) };
        }
    }
}

/// The `checks.standalone_*` value of a toolchain outcome.
fn status(s: &Status) -> CheckStatus {
    match s {
        Status::Passed => CheckStatus::Passed,
        Status::Failed(_) => CheckStatus::Failed,
        Status::Skipped => CheckStatus::Skipped,
    }
}
