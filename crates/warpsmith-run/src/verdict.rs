//! Verdicts: what becomes of a candidate after the Warp oracle, the record built from an accepted one, and
//! the files written for failures and findings.

use std::path::Path;

use warpsmith_ast::Kernel;
use warpsmith_dataset::{CheckStatus, Checks, Record, split_of};
use warpsmith_gen::Category;
use warpsmith_gen::vectors::LaunchSpec;
use warpsmith_oracle::{
    Failure, FailureReason, GradientVerdict, Modules, PtxStatus, RunResult, WARP_VERSION, assess_gradient,
    cut_functions,
};

use crate::{RunError, Verify};

/// One generated kernel on its way through the checks.
pub struct Candidate {
    pub category: Category,
    pub seed: u64,
    pub kernel: Kernel,
    pub id: String,
    pub python: String,
    pub spec: Option<LaunchSpec>,
}

/// What becomes of a candidate after the oracle.
pub(crate) enum Verdict {
    /// Written to the dataset.
    Accept(Box<Record>),
    /// Degenerate or nondeterministic outputs: counted and regenerated.
    Reject(String),
    /// A generator or oracle failure: written under `failures/` and regenerated.
    Fail(Failure),
    /// A gradient mismatch: written under `findings/` and regenerated.
    Finding(GradientVerdict, Box<RunResult>),
}

fn fail(reason: FailureReason, message: String) -> Verdict {
    Verdict::Fail(Failure { reason, message, traceback: String::new(), stderr_tail: String::new(), attempts: 1 })
}

/// The verification part of a record.
struct Verified {
    checks: Checks,
    test_outputs: Vec<warpsmith_dataset::Tensor>,
    grad_outputs: Vec<warpsmith_dataset::Tensor>,
    grad_inputs: Vec<warpsmith_dataset::Tensor>,
}

/// Applies the execution checks to a worker's run; `Err` is the verdict for a candidate that does not pass.
///
/// `known_inexact`: the kernel uses a construct whose Warp adjoint is known not to be the derivative
/// ([`inexact_reasons`]); a failed gradient check then labels the record `inexact` instead of making a finding.
/// `ptx`: the NVRTC check was asked of the worker (always under `--verify full` in `generate`); when it was
/// not, `checks.ptx` stays `skipped`, and when it was, a run without its result fails.
fn verify_run(
    spec: Option<&LaunchSpec>,
    run: Option<RunResult>,
    verify: Verify,
    known_inexact: bool,
    ptx: bool,
) -> Result<Verified, Verdict> {
    let skipped = || CheckStatus::Skipped;
    let mut v = Verified {
        checks: Checks {
            forward: skipped(),
            deterministic: false,
            gradient: skipped(),
            gradient_max_rel_error: 0.0,
            gradient_compared: 0,
            gradient_informative: 0,
            gradient_unstable: 0,
            ptx: skipped(),
            cuda_forward: skipped(),
            cuda_backward: skipped(),
            standalone_compile: skipped(),
            standalone_equivalence: skipped(),
        },
        test_outputs: Vec::new(),
        grad_outputs: Vec::new(),
        grad_inputs: Vec::new(),
    };
    if verify == Verify::Codegen {
        return Ok(v);
    }
    let Some(run) = run else { return Err(fail(FailureReason::Internal, "the worker returned no run".into())) };
    if !run.ok {
        return Err(Verdict::Fail(Failure {
            reason: FailureReason::Run,
            message: run.error.unwrap_or_default(),
            traceback: run.traceback.unwrap_or_default(),
            stderr_tail: String::new(),
            attempts: 1,
        }));
    }
    if let Some(p) = &run.problem {
        return Err(Verdict::Reject(p.clone()));
    }
    if run.deterministic != Some(true) {
        return Err(Verdict::Reject("nondeterministic".into()));
    }
    v.checks.forward = CheckStatus::Passed;
    v.checks.deterministic = true;
    if verify == Verify::Full {
        if ptx {
            match run.ptx {
                Some(done @ (PtxStatus::Passed | PtxStatus::FrontEndPassed)) => v.checks.ptx = done.status(),
                _ => return Err(fail(FailureReason::Ptx, run.ptx_error.clone().unwrap_or_default())),
            }
        }
        match &run.gradient {
            None => v.checks.gradient = CheckStatus::NotDifferentiable,
            Some(g) => {
                let verdict = assess_gradient(g);
                if verdict.status == CheckStatus::Failed && !known_inexact {
                    return Err(Verdict::Finding(verdict, Box::new(run)));
                }
                v.checks.gradient =
                    if verdict.status == CheckStatus::Failed { CheckStatus::Inexact } else { verdict.status };
                // infinite when an adjoint was not finite (an `inexact` record): the largest finite value stands in,
                // as Parquet's float column and JSON have no infinity
                v.checks.gradient_max_rel_error = verdict.max_rel_error.min(f64::MAX);
                let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
                v.checks.gradient_compared = count(verdict.compared);
                v.checks.gradient_informative = count(verdict.informative);
                v.checks.gradient_unstable = count(verdict.unstable);
                if verdict.status == CheckStatus::Passed {
                    v.grad_inputs = g.grad_inputs.clone();
                    v.grad_outputs = spec.map(|s| s.grad_outputs.clone()).unwrap_or_default();
                }
            }
        }
    }
    for (what, status, field) in [
        ("forward", &run.cuda_forward, &mut v.checks.cuda_forward),
        ("backward", &run.cuda_backward, &mut v.checks.cuda_backward),
    ] {
        match status.as_deref() {
            Some("passed") => *field = CheckStatus::Passed,
            Some(other) => {
                return Err(fail(FailureReason::CudaMismatch, format!("CUDA {what} {other} against the CPU")));
            }
            None => {}
        }
    }
    v.test_outputs = run.outputs;
    Ok(v)
}

/// Why Warp's adjoint of `kernel` may differ from the derivative, by construct: builtins Warp gives no adjoint
/// although their value varies, or an inexact one ([`warpsmith_gen::catalog::gradient_gaps`]: in-place component
/// updates among them), and `float mutated in a dynamic loop` (Warp's code generator warns that this "may not be
/// a differentiable operation"). Empty for a kernel whose adjoint should be exact.
pub fn inexact_reasons(kernel: &Kernel) -> Vec<&'static str> {
    let mut why = warpsmith_gen::catalog::gradient_gaps(&warpsmith_ast::features(kernel));
    if warpsmith_ast::mutates_in_dynamic_loop(kernel) {
        why.push("float mutated in a dynamic loop");
    }
    why
}

/// What `generate` makes of one kernel's execution checks (see [`judge_run`]).
#[derive(Clone, Debug, serde::Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RunVerdict {
    /// It would be a record, with these checks (`standalone_*` stay `skipped`: they need the generator's AST).
    Accepted {
        /// The record's `checks` column.
        checks: Checks,
    },
    /// Degenerate (`all_zero`, `constant`, `non_finite`), dead (`dead_input`, `dead_output`) or nondeterministic
    /// outputs: regenerated.
    Rejected {
        /// Which.
        reason: String,
    },
    /// Warp failed to compile or launch it, NVRTC rejected it, or CUDA disagreed with the CPU.
    Failed {
        /// The failure class (`run`, `ptx`, `cuda_mismatch`, ...).
        reason: String,
        /// Warp's message.
        message: String,
    },
    /// The gradient check failed: a finding (details in the gradient verdict beside it).
    Finding {
        /// Why it failed.
        class: Option<warpsmith_oracle::FindingClass>,
    },
}

/// Applies the execution checks of `generate --verify VERIFY` to one worker run of a kernel launched with
/// `spec` (`ptx`: the worker was asked for the NVRTC check); returns the outcome and, when a gradient was
/// computed, its verdict.
pub fn judge_run(
    spec: &LaunchSpec,
    run: RunResult,
    verify: Verify,
    ptx: bool,
) -> (RunVerdict, Option<GradientVerdict>) {
    let gradient = run.gradient.as_ref().filter(|_| verify == Verify::Full).map(assess_gradient);
    let outcome = match verify_run(Some(spec), Some(run), verify, false, ptx) {
        Ok(v) => RunVerdict::Accepted { checks: v.checks },
        Err(Verdict::Reject(reason)) => RunVerdict::Rejected { reason },
        Err(Verdict::Fail(f)) => RunVerdict::Failed { reason: f.reason.name().to_string(), message: f.message },
        Err(Verdict::Finding(verdict, _)) => RunVerdict::Finding { class: verdict.class },
        // verify_run accepts through `Ok`; never reached
        Err(Verdict::Accept(_)) => {
            RunVerdict::Failed { reason: "internal".into(), message: "accepted as an error".into() }
        }
    };
    (outcome, gradient)
}

/// Judges the oracle's answer for a candidate and builds its record.
pub(crate) fn judge(c: &Candidate, mods: Modules, verify: Verify) -> Verdict {
    let f = match cut_functions(&mods.cpu_module, &mods.cuda_module, &c.kernel.name) {
        Ok(f) => f,
        Err(e) => return fail(FailureReason::Internal, e.to_string()),
    };
    let mut v = match verify_run(
        c.spec.as_ref(),
        mods.run,
        verify,
        !inexact_reasons(&c.kernel).is_empty(),
        verify == Verify::Full,
    ) {
        Ok(v) => v,
        Err(verdict) => return verdict,
    };
    if mods.ptx.is_some() {
        // --ptx compiled this record's own cuda_module with NVRTC
        v.checks.ptx = CheckStatus::Passed;
    }
    let executed = verify != Verify::Codegen;
    let spec = c.spec.as_ref().filter(|_| executed);
    let test_inputs = spec.map(LaunchSpec::inputs).unwrap_or_default();
    Verdict::Accept(Box::new(Record {
        // set with the clusters once every record is known
        split: split_of(&c.id).to_string(),
        cluster: c.id.clone(),
        id: c.id.clone(),
        name: c.kernel.name.clone(),
        category: c.category.name().to_string(),
        seed: c.seed,
        python: c.python.clone(),
        cpu_forward: f.cpu_forward,
        cpu_backward: f.cpu_backward,
        cuda_forward: f.cuda_forward,
        cuda_backward: f.cuda_backward,
        cpu_module: mods.cpu_module,
        cuda_module: mods.cuda_module,
        warp_version: WARP_VERSION.to_string(),
        features: warpsmith_ast::features(&c.kernel).into_iter().collect(),
        launch_dim: spec.map(|s| s.launch_dim.iter().map(|&d| d as i32).collect()).unwrap_or_default(),
        test_inputs,
        test_outputs: v.test_outputs,
        grad_outputs: v.grad_outputs,
        grad_inputs: v.grad_inputs,
        checks: v.checks,
        ptx: mods.ptx.unwrap_or_default(),
        // set by the standalone stage
        cuda_standalone: String::new(),
    }))
}

/// Writes a gradient finding: the module, and a JSON reproducer with the launch, both gradients and the class.
pub(crate) fn write_finding(dir: &Path, c: &Candidate, v: &GradientVerdict, run: &RunResult) -> Result<(), RunError> {
    let fdir = dir.join("findings");
    std::fs::create_dir_all(&fdir).map_err(|e| write_err(&fdir, e))?;
    let stem = format!("{}-{}", c.category.name(), c.seed);
    write_file(&fdir.join(format!("{stem}.py")), &c.python)?;
    let json = serde_json::json!({
        "id": c.id,
        "category": c.category.name(),
        "seed": c.seed,
        "kernel": c.kernel.name,
        "class": v.class,
        "verdict": v,
        "launch": c.spec,
        "gradient": run.gradient,
        "reproduce": format!("warpsmith show --category {} --seed {}", c.category.name(), c.seed),
    });
    let text = serde_json::to_string_pretty(&json).map_err(|e| RunError::Corrupt(e.to_string()))?;
    write_file(&fdir.join(format!("{stem}.json")), text)?;
    Ok(())
}

/// Writes a failure: the module, the standalone translation when there is one (`cuda`), and a report.
pub(crate) fn write_failure(dir: &Path, c: &Candidate, f: &Failure, cuda: &str) -> Result<(), RunError> {
    let fdir = dir.join("failures");
    std::fs::create_dir_all(&fdir).map_err(|e| write_err(&fdir, e))?;
    let stem = format!("{}-{}", c.category.name(), c.seed);
    write_file(&fdir.join(format!("{stem}.py")), &c.python)?;
    if !cuda.is_empty() {
        write_file(&fdir.join(format!("{stem}.cu")), cuda)?;
    }
    let report = format!(
        "category: {}\nseed: {}\nid: {}\nreason: {}\nattempts: {}\nmessage: {}\n\n--- traceback ---\n{}\n--- worker stderr (tail) ---\n{}\n\nreproduce: warpsmith show --category {} --seed {}\n",
        c.category.name(),
        c.seed,
        c.id,
        f.reason.name(),
        f.attempts,
        f.message,
        f.traceback,
        f.stderr_tail,
        c.category.name(),
        c.seed
    );
    write_file(&fdir.join(format!("{stem}.txt")), report)?;
    Ok(())
}

fn write_err(path: &Path, e: std::io::Error) -> RunError {
    RunError::Dataset(warpsmith_dataset::DatasetError::Io { action: "write", path: path.to_path_buf(), source: e })
}

fn write_file(path: &Path, contents: impl AsRef<[u8]>) -> Result<(), RunError> {
    std::fs::write(path, contents).map_err(|e| write_err(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use warpsmith_gen::Config;
    use warpsmith_gen::vectors::launch_spec;
    use warpsmith_oracle::{FdSample, GradientRun};

    fn candidate() -> Candidate {
        let kernel = warpsmith_gen::generate(Category::Arithmetic, 1, &Config::default());
        let spec = Some(launch_spec(&kernel, 1));
        Candidate {
            category: Category::Arithmetic,
            seed: 1,
            id: warpsmith_ast::canonical_id(&kernel),
            python: warpsmith_ast::python_module(&kernel),
            kernel,
            spec,
        }
    }

    fn run() -> RunResult {
        RunResult {
            ok: true,
            error: None,
            traceback: None,
            deterministic: Some(true),
            problem: None,
            outputs: vec![],
            ptx: Some(PtxStatus::Passed),
            ptx_error: None,
            gradient: Some(GradientRun {
                status: "computed".into(),
                grad_inputs: vec![],
                samples: vec![FdSample {
                    arg: 0,
                    index: 0,
                    ad: 1.0,
                    fd: 1.0,
                    fd_half: 1.0,
                    h: 1e-2,
                    h_half: 5e-3,
                    scale: 1.0,
                    scale_half: 1.0,
                }],
                components: 1,
                scale_all: 1.0,
            }),
            cuda_forward: None,
            cuda_backward: None,
            constants: None,
        }
    }

    #[test]
    fn the_ptx_check_is_skipped_only_when_not_asked() {
        let mut r = run();
        r.ptx = None;
        let v = verify_run(candidate().spec.as_ref(), Some(r.clone()), Verify::Full, false, false).ok().expect("ok");
        assert_eq!(v.checks.ptx, CheckStatus::Skipped);
        assert!(matches!(
            verify_run(candidate().spec.as_ref(), Some(r), Verify::Full, false, true),
            Err(Verdict::Fail(f)) if f.reason == FailureReason::Ptx
        ));
    }

    #[test]
    fn passing_runs_are_accepted_with_their_checks() {
        let v = verify_run(candidate().spec.as_ref(), Some(run()), Verify::Full, false, true).ok().expect("accepted");
        assert_eq!(
            (v.checks.forward, v.checks.gradient, v.checks.ptx),
            (CheckStatus::Passed, CheckStatus::Passed, CheckStatus::Passed)
        );
        assert!(v.checks.deterministic);
        let v = verify_run(candidate().spec.as_ref(), Some(run()), Verify::Run, false, true).ok().expect("accepted");
        assert_eq!((v.checks.gradient, v.checks.ptx), (CheckStatus::Skipped, CheckStatus::Skipped));
        let mut no_grad = run();
        no_grad.gradient = None;
        let v = verify_run(candidate().spec.as_ref(), Some(no_grad), Verify::Full, false, true).ok().expect("accepted");
        assert_eq!(v.checks.gradient, CheckStatus::NotDifferentiable);
    }

    #[test]
    fn degenerate_nondeterministic_ptx_and_gradient_failures_are_not_accepted() {
        let c = candidate();
        let mut r = run();
        r.problem = Some("constant".into());
        assert!(
            matches!(verify_run(c.spec.as_ref(), Some(r), Verify::Full, false, true), Err(Verdict::Reject(why)) if why == "constant")
        );
        let mut r = run();
        r.deterministic = Some(false);
        assert!(
            matches!(verify_run(c.spec.as_ref(), Some(r), Verify::Run, false, true), Err(Verdict::Reject(why)) if why == "nondeterministic")
        );
        let mut r = run();
        r.ptx = Some(PtxStatus::Failed);
        assert!(
            matches!(verify_run(c.spec.as_ref(), Some(r), Verify::Full, false, true), Err(Verdict::Fail(f)) if f.reason == FailureReason::Ptx)
        );
        // the front end alone is its own value, never `passed`
        let mut r = run();
        r.ptx = Some(PtxStatus::FrontEndPassed);
        let v = verify_run(c.spec.as_ref(), Some(r), Verify::Full, false, true).ok().expect("accepted");
        assert_eq!(v.checks.ptx, CheckStatus::FrontEndPassed);
        let mut r = run();
        if let Some(g) = r.gradient.as_mut() {
            g.samples[0].ad = -3.0;
        }
        assert!(matches!(verify_run(c.spec.as_ref(), Some(r), Verify::Full, false, true), Err(Verdict::Finding(..))));
        let mut r = run();
        r.cuda_forward = Some("failed".into());
        assert!(
            matches!(verify_run(c.spec.as_ref(), Some(r), Verify::Run, false, true), Err(Verdict::Fail(f)) if f.reason == FailureReason::CudaMismatch)
        );
        let mut r = run();
        r.cuda_forward = Some("passed".into());
        r.cuda_backward = Some("passed".into());
        let v = verify_run(c.spec.as_ref(), Some(r), Verify::Full, false, true).ok().expect("accepted");
        assert_eq!((v.checks.cuda_forward, v.checks.cuda_backward), (CheckStatus::Passed, CheckStatus::Passed));
        let mut r = run();
        r.ok = false;
        r.error = Some("ValueError: boom".into());
        r.traceback = Some("Traceback (most recent call last):\n  File \"worker.py\"".into());
        match verify_run(c.spec.as_ref(), Some(r), Verify::Run, false, true) {
            Err(Verdict::Fail(f)) => {
                assert_eq!(f.reason, FailureReason::Run);
                assert_eq!(f.message, "ValueError: boom");
                assert!(f.traceback.starts_with("Traceback"), "the worker's traceback is kept: {:?}", f.traceback);
            }
            _ => panic!("a failed run is a failure"),
        }
    }
}
