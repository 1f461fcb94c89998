//! Execution-check results from the worker, and the gradient verdict computed from them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use warpsmith_ast::launch::{LaunchSpec, Tensor};

/// What to run for a kernel: its launch, the finite-difference sampling, and whether to run the backward.
#[derive(Clone, Debug, Serialize)]
pub struct CheckRequest {
    /// Launch dimension, arguments, output adjoints.
    #[serde(flatten)]
    pub spec: LaunchSpec,
    /// Seed for choosing which input components get finite differences.
    pub fd_seed: u64,
    /// How many input components get finite differences.
    pub fd_samples: u32,
    /// Run the backward pass and finite differences.
    pub gradient: bool,
    /// When the pool checks CUDA modules ([`crate::PoolOptions::ptx`]): a full NVRTC compile to PTX of this
    /// kernel's `cuda_module` instead of its front end alone (`-fdevice-syntax-only`).
    pub full_ptx: bool,
    /// Run the constant-sensitivity check: every float literal of the kernel's body must move some output
    /// beyond the evaluation's forward tolerance when changed either way (`v ± (0.5 + |v|/2)`), else the
    /// problem is `dead_constant` (`worker_constants.py`).
    pub constants: bool,
}

/// The constant-sensitivity check of one kernel (asked for by [`CheckRequest::constants`]).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct ConstantsRun {
    /// Float literals in the kernel's body (its @wp.func helpers and `wp.static` arguments excluded).
    #[serde(default)]
    pub literals: usize,
    /// The literals (by order of appearance in the source, from 0) whose change left every output within the
    /// tolerance.
    #[serde(default)]
    pub dead: Vec<usize>,
    /// Why the check could not run (the kernel is then rejected as `dead_constant`: not vouched for).
    #[serde(default)]
    pub error: Option<String>,
}

/// The outcome of one check of a record: the values of a dataset's `checks.*` columns, serialized as the
/// snake_case names the Parquet columns hold. Each column allows a subset (`warpsmith_dataset::validate` holds
/// every record to its column's): `forward`, `cuda_forward`, `cuda_backward` and the `standalone_*` checks are
/// `passed`, `failed` or `skipped`; `gradient` is `passed`, `unchecked`, `inexact`, `not_differentiable` or
/// `skipped` (a `failed` gradient makes a finding, not a row); `ptx` is `passed` (compiled to PTX),
/// `front_end_passed` (NVRTC's front end only) or `skipped`.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// The check ran and passed.
    Passed,
    /// NVRTC's front end accepted the CUDA module; NVVM and PTX generation did not run.
    FrontEndPassed,
    /// The check ran and failed.
    Failed,
    /// The check did not run (not asked for, or not possible here).
    Skipped,
    /// The gradient check ran with too few informative components to say.
    Unchecked,
    /// The gradient check failed on a kernel using a construct whose Warp adjoint is known not to be the
    /// derivative.
    Inexact,
    /// The kernel has no float input or output to differentiate.
    NotDifferentiable,
    /// The check cannot apply to this record by design: the kernel is outside the standalone translation's
    /// scope (scene queries), so there is no `cuda_standalone` to compile or run.
    Unsupported,
}

impl CheckStatus {
    /// Every status, in declaration order.
    pub const ALL: [CheckStatus; 8] = [
        CheckStatus::Passed,
        CheckStatus::FrontEndPassed,
        CheckStatus::Failed,
        CheckStatus::Skipped,
        CheckStatus::Unchecked,
        CheckStatus::Inexact,
        CheckStatus::NotDifferentiable,
        CheckStatus::Unsupported,
    ];

    /// The name the dataset stores (`passed`, `front_end_passed`, ...).
    pub fn name(self) -> &'static str {
        match self {
            CheckStatus::Passed => "passed",
            CheckStatus::FrontEndPassed => "front_end_passed",
            CheckStatus::Failed => "failed",
            CheckStatus::Skipped => "skipped",
            CheckStatus::Unchecked => "unchecked",
            CheckStatus::Inexact => "inexact",
            CheckStatus::NotDifferentiable => "not_differentiable",
            CheckStatus::Unsupported => "unsupported",
        }
    }
}

impl std::fmt::Display for CheckStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What NVRTC did with a kernel's `cuda_module` (sm_80, Warp's options).
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PtxStatus {
    /// Compiled to PTX: front end, NVVM and PTX generation.
    Passed,
    /// The front end alone accepted it (parsing, semantic analysis, template instantiation); NVVM and PTX
    /// generation did not run.
    FrontEndPassed,
    /// NVRTC reported an error (`ptx_error` has its log).
    Failed,
}

impl PtxStatus {
    /// The `checks.ptx` value of a record whose check ended so.
    pub fn status(self) -> CheckStatus {
        match self {
            PtxStatus::Passed => CheckStatus::Passed,
            PtxStatus::FrontEndPassed => CheckStatus::FrontEndPassed,
            PtxStatus::Failed => CheckStatus::Failed,
        }
    }
}

/// One finite-difference sample: the adjoint and two central-difference estimates of `dL/dx` for one input
/// component, where `L = sum(grad_outputs * outputs)` evaluated in float64 from the float32 outputs.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct FdSample {
    /// Argument index (signature order).
    pub arg: usize,
    /// Flat component index within the argument.
    pub index: usize,
    /// Warp's adjoint.
    pub ad: f64,
    /// Central difference with step `h`.
    pub fd: f64,
    /// Central difference with step `h_half`.
    pub fd_half: f64,
    /// The step actually taken (half the distance between the float32 values `x + h` and `x - h`).
    pub h: f64,
    /// The same for the second estimate, about `h / 2`.
    pub h_half: f64,
    /// `sum(|seed * out|)` over the outputs the `h` perturbation changed, averaged over its two launches: the
    /// magnitude whose float32 rounding enters `fd` (outputs it does not change cancel exactly).
    pub scale: f64,
    /// The same for `fd_half`.
    pub scale_half: f64,
}

/// The worker's gradient computation.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct GradientRun {
    /// `computed`, `non_finite` or `not_differentiable`.
    pub status: String,
    /// Input adjoints from `wp.Tape` (float input arrays).
    #[serde(default)]
    pub grad_inputs: Vec<Tensor>,
    /// Finite-difference samples: every float input component, or a stratified sample of `fd_samples` of them.
    #[serde(default)]
    pub samples: Vec<FdSample>,
    /// Float input components in all (sampled or not).
    #[serde(default)]
    pub components: usize,
    /// `sum(|seed| * |out|)` over every seeded output at the unperturbed inputs: the rounding scale of the whole
    /// loss, for samples whose perturbation changed no output (a change below float32 resolution).
    #[serde(default)]
    pub scale_all: f64,
}

/// The worker's execution of one kernel.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct RunResult {
    /// False if the kernel could not be compiled or launched.
    pub ok: bool,
    /// Why not.
    #[serde(default)]
    pub error: Option<String>,
    /// The Python traceback of that error, when Python raised one.
    #[serde(default)]
    pub traceback: Option<String>,
    /// Two launches gave bitwise-identical outputs.
    #[serde(default)]
    pub deterministic: Option<bool>,
    /// `all_zero`, `constant` or `non_finite` if the outputs are degenerate; `dead_input` if redrawing some input
    /// changes no output, `dead_output` if some output array changes under no input's redraw; `dead_constant`
    /// if the constant-sensitivity check ([`CheckRequest::constants`]) found a float literal that moves no output.
    #[serde(default)]
    pub problem: Option<String>,
    /// Outputs and accumulators after one launch.
    #[serde(default)]
    pub outputs: Vec<Tensor>,
    /// NVRTC on the kernel's own `cuda_module` for sm_80 (`None`: not asked, or the kernel did not pass the
    /// CPU checks, which come first).
    #[serde(default)]
    pub ptx: Option<PtxStatus>,
    /// NVRTC's message on failure.
    #[serde(default)]
    pub ptx_error: Option<String>,
    /// The backward pass and finite differences.
    #[serde(default)]
    pub gradient: Option<GradientRun>,
    /// With `--device cuda`: the CUDA forward matched the CPU (`passed`/`failed`).
    #[serde(default)]
    pub cuda_forward: Option<String>,
    /// With `--device cuda`: the CUDA input adjoints matched the CPU's (`passed`/`failed`).
    #[serde(default)]
    pub cuda_backward: Option<String>,
    /// The constant-sensitivity check, when asked for and the other forward checks passed.
    #[serde(default)]
    pub constants: Option<ConstantsRun>,
}

/// Why a gradient check failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingClass {
    /// Every mismatch is within 100x the sample's rounding noise.
    Precision,
    /// A mismatching sample's finite difference had not converged between `h` and `h/2` (a kink or
    /// discontinuity within the step).
    Kink,
    /// A converged finite difference disagrees with the adjoint.
    SuspectedAdjointBug,
}

/// The verdict on a gradient run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GradientVerdict {
    /// `passed`, `failed`, `unchecked` (fewer than [`MIN_INFORMATIVE`] informative samples) or
    /// `Failed`, `Passed`, `Unchecked` or `NotDifferentiable`.
    pub status: CheckStatus,
    /// Largest `|ad - fd| / |fd|` over the informative samples, with `|fd|` floored at 8x its noise (0 when none).
    pub max_rel_error: f64,
    /// Samples compared (stable finite differences).
    pub compared: usize,
    /// Compared samples where the adjoint or the finite difference stands above the rounding noise.
    pub informative: usize,
    /// Samples skipped as unstable (the estimates at `h` and `h/2` disagree: a kink or jump within the step).
    pub unstable: usize,
    /// Set when `status` is `Failed`.
    pub class: Option<FindingClass>,
    /// Informative samples per kernel argument (by position; arguments with none are absent): which inputs the
    /// check actually exercised.
    pub informative_by_arg: BTreeMap<usize, usize>,
}

/// Relative tolerance between the adjoint and the finite difference.
pub const GRAD_RTOL: f64 = 2e-2;
/// Informative samples a record needs for `passed`; a record with fewer (and fewer float input components
/// than this) needs all of its components informative.
pub const MIN_INFORMATIVE: usize = 3;
/// float32 unit roundoff (2^-24).
const U32: f64 = 5.960_464_477_539_063e-8;

/// Rounding noise of a central difference at step `h` whose changed outputs have magnitude `scale`: each of
/// them is rounded to float32 in both launches (relative error `u` each, `2u` for the pair, doubled for the
/// rounding inside the kernel), over a difference quotient of `2h`.
fn noise(scale: f64, h: f64) -> f64 {
    4.0 * U32 * scale / (2.0 * h)
}

/// Judges a gradient run sample by sample, each against its own rounding noise (the noise of the outputs the
/// perturbation changed; when it changed none, that of the whole loss, [`GradientRun::scale_all`]: a change
/// below float32 resolution leaves every output bitwise equal):
/// - a sample is *unstable* when the estimates at `h` and `h/2` disagree beyond `GRAD_RTOL` plus twice their
///   noise (a kink or jump within `h`: an int cast, a branch, `abs` at 0); it is skipped;
/// - a stable sample is compared through the Richardson extrapolation `fd_r = fd_half + (fd_half - fd) / 3`
///   (truncation error `O(h^4)` instead of `O(h^2)`; central differences, Richardson 1911), whose noise is
///   `nr = (4 n(h/2) + n(h)) / 3`; it is *informative* when `max(|ad|, |fd_r|) > 8 nr`;
/// - an informative sample passes when `|ad - fd_r| <= GRAD_RTOL * max(|ad|, |fd_r|) + 8 nr`.
///
/// `failed` if any informative sample fails; else `passed` with at least `min(MIN_INFORMATIVE, components)`
/// informative samples, `unchecked` with fewer. A failure is classed by its worst sample:
/// `SuspectedAdjointBug` when that sample's estimates converged (`|fd - fd_half|` within a quarter of the
/// tolerance plus noise: smooth functions converge as `h^2`), `Kink` when they did not, `Precision` when the
/// mismatch is within 100x its noise.
pub fn assess_gradient(run: &GradientRun) -> GradientVerdict {
    let mut v = GradientVerdict {
        status: CheckStatus::Failed,
        max_rel_error: 0.0,
        compared: 0,
        informative: 0,
        unstable: 0,
        class: None,
        informative_by_arg: BTreeMap::new(),
    };
    if run.status == "not_differentiable" {
        v.status = CheckStatus::NotDifferentiable;
        return v;
    }
    if run.status != "computed" {
        v.max_rel_error = f64::INFINITY;
        v.class = Some(FindingClass::SuspectedAdjointBug);
        return v;
    }
    let mut worst_class: Option<FindingClass> = None;
    for s in &run.samples {
        // a perturbation that changed no output at either step was absorbed by float32 rounding (or the output
        // does not depend on the input there): its finite difference is 0 up to the resolution of the outputs
        // it could have moved, which is at most that of the whole loss
        let absorbed = s.scale == 0.0 && s.scale_half == 0.0;
        let (n1, n2) = if absorbed {
            (noise(run.scale_all, s.h), noise(run.scale_all, s.h_half))
        } else {
            (noise(s.scale, s.h), noise(s.scale_half, s.h_half))
        };
        let big = s.fd.abs().max(s.fd_half.abs());
        let moved = (s.fd - s.fd_half).abs();
        if !s.fd.is_finite() || !s.fd_half.is_finite() || moved > GRAD_RTOL * big + 2.0 * (n1 + n2) {
            v.unstable += 1;
            continue;
        }
        v.compared += 1;
        let fd_r = s.fd_half + (s.fd_half - s.fd) / 3.0;
        let nr = (4.0 * n2 + n1) / 3.0;
        let mag = s.ad.abs().max(fd_r.abs());
        if s.ad.is_finite() && mag <= 8.0 * nr {
            continue;
        }
        v.informative += 1;
        *v.informative_by_arg.entry(s.arg).or_insert(0) += 1;
        let err = (s.ad - fd_r).abs();
        v.max_rel_error =
            v.max_rel_error.max(if err.is_finite() { err / fd_r.abs().max(8.0 * nr) } else { f64::INFINITY });
        if err <= GRAD_RTOL * mag + 8.0 * nr {
            continue;
        }
        let class = if err <= 100.0 * nr {
            FindingClass::Precision
        } else if moved > 0.25 * GRAD_RTOL * big + 2.0 * (n1 + n2) {
            FindingClass::Kink
        } else {
            FindingClass::SuspectedAdjointBug
        };
        worst_class = worst_class.max(Some(class));
    }
    if let Some(class) = worst_class {
        v.class = Some(class);
    } else if v.informative >= MIN_INFORMATIVE.min(run.components.max(1)) {
        v.status = CheckStatus::Passed;
    } else {
        v.status = CheckStatus::Unchecked;
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_statuses_serialize_as_the_names_the_dataset_stores() {
        for s in CheckStatus::ALL {
            let json = serde_json::to_string(&s).expect("serializes");
            assert_eq!(json, format!("\"{}\"", s.name()));
            assert_eq!(serde_json::from_str::<CheckStatus>(&json).expect("parses"), s);
        }
        assert!(serde_json::from_str::<CheckStatus>("\"bogus\"").is_err(), "an unknown status is refused");
        assert_eq!(PtxStatus::FrontEndPassed.status().name(), "front_end_passed");
    }

    /// A run whose samples are `(ad, fd, fd_half)` at `h = 1e-2`, each changing outputs of magnitude 1.
    fn run(samples: Vec<(f64, f64, f64)>) -> GradientRun {
        GradientRun {
            status: "computed".into(),
            grad_inputs: vec![],
            components: samples.len(),
            scale_all: 1.0,
            samples: samples
                .into_iter()
                .map(|(ad, fd, fd_half)| FdSample {
                    arg: 0,
                    index: 0,
                    ad,
                    fd,
                    fd_half,
                    h: 1e-2,
                    h_half: 5e-3,
                    scale: 1.0,
                    scale_half: 1.0,
                })
                .collect(),
        }
    }

    #[test]
    fn a_change_absorbed_by_rounding_is_judged_at_the_resolution_of_the_whole_loss() {
        // the outputs are about 1e3 (scale_all): a derivative of 2e-3 moves them by 2e-5 at h = 1e-2, below half
        // an ulp (3e-5), so no output changes and both differences are exactly 0
        let mut r = run(vec![(2e-3, 0.0, 0.0), (1.0, 1.0, 1.0), (1.0, 1.0, 1.0), (1.0, 1.0, 1.0)]);
        r.scale_all = 1e3;
        r.samples[0].scale = 0.0;
        r.samples[0].scale_half = 0.0;
        let v = assess_gradient(&r);
        assert_eq!((v.status, v.informative), (CheckStatus::Passed, 3), "{v:?}");
        // an adjoint far above that resolution is still a finding: the outputs would have moved
        r.samples[0].ad = 5.0;
        let v = assess_gradient(&r);
        assert_eq!((v.status, v.class), (CheckStatus::Failed, Some(FindingClass::SuspectedAdjointBug)), "{v:?}");
        // and with the noise of changed outputs only (the scale 0 taken at face value), the absorbed sample failed
        r.samples[0].ad = 2e-3;
        r.scale_all = 0.0;
        assert_eq!(assess_gradient(&r).status, CheckStatus::Failed);
    }

    #[test]
    fn agreeing_gradients_pass_and_wrong_ones_fail_as_suspected_bugs() {
        let ok = assess_gradient(&run(vec![(2.0, 2.001, 2.0003), (-0.5, -0.5, -0.5), (1.0, 1.0, 1.0)]));
        assert_eq!((ok.status, ok.compared, ok.informative), (CheckStatus::Passed, 3, 3));
        assert!(ok.max_rel_error < 1e-3);
        let bad = assess_gradient(&run(vec![(0.0, 2.0, 2.0)]));
        assert_eq!((bad.status, bad.class), (CheckStatus::Failed, Some(FindingClass::SuspectedAdjointBug)));
        assert!(bad.max_rel_error > 0.9);
    }

    #[test]
    fn scaled_sign_flipped_and_zeroed_adjoints_fail() {
        // the mutations of the suite's mutation test, on a smooth function's converged differences
        for k in [0.0, -1.0, 1.1, 0.9, 2.0] {
            let v = assess_gradient(&run(vec![(k * 3.0, 3.0004, 3.0001), (1.5, 1.5, 1.5), (-2.0, -2.0, -2.0)]));
            assert_eq!((v.status, v.class), (CheckStatus::Failed, Some(FindingClass::SuspectedAdjointBug)), "k = {k}");
        }
    }

    #[test]
    fn a_mismatch_whose_difference_still_moves_with_the_step_is_a_kink() {
        let v = assess_gradient(&run(vec![(-0.6656, -0.8133, -0.8033)]));
        assert_eq!((v.status, v.compared, v.class), (CheckStatus::Failed, 1, Some(FindingClass::Kink)));
        // the same mismatch with a converged difference is a suspected adjoint bug, whatever other samples do
        let v = assess_gradient(&run(vec![(-0.6656, -0.8133, -0.8131), (0.0, 5.0, 1.0)]));
        assert_eq!((v.unstable, v.class), (1, Some(FindingClass::SuspectedAdjointBug)));
    }

    #[test]
    fn the_noise_bound_is_local_to_the_outputs_a_component_changes() {
        // a 0.5 % mismatch passes within tolerance; a 10 % one fails even though other outputs of the launch
        // are large (they do not change, so they do not enter the bound)
        let mut r = run(vec![(1.005, 1.0, 1.0), (1.0, 1.0, 1.0), (1.0, 1.0, 1.0)]);
        assert_eq!(assess_gradient(&r).status, CheckStatus::Passed);
        r.samples[0].ad = 1.1;
        assert_eq!(assess_gradient(&r).status, CheckStatus::Failed);
        // the same 10 % with changed outputs a million times larger than the derivative is rounding noise
        for s in &mut r.samples {
            (s.scale, s.scale_half) = (1e6, 1e6);
        }
        let v = assess_gradient(&r);
        assert_eq!((v.status, v.informative), (CheckStatus::Unchecked, 0));
    }

    #[test]
    fn a_jump_is_unstable_and_zeros_are_not_informative() {
        // an int cast: the difference quotient doubles when the step halves
        let v = assess_gradient(&run(vec![(0.0, 50.0, 100.0), (1.0, 1.0, 1.0), (2.0, 2.0, 2.0), (3.0, 3.0, 3.0)]));
        assert_eq!((v.status, v.unstable, v.informative), (CheckStatus::Passed, 1, 3));
        // a dead input: adjoint and differences all zero compare equal but say nothing
        let v = assess_gradient(&run(vec![(0.0, 0.0, 0.0), (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)]));
        assert_eq!((v.status, v.compared, v.informative), (CheckStatus::Unchecked, 3, 1));
        // a nonzero adjoint for an input with no effect is informative, and wrong
        let v = assess_gradient(&run(vec![(0.5, 0.0, 0.0)]));
        assert_eq!((v.status, v.class), (CheckStatus::Failed, Some(FindingClass::SuspectedAdjointBug)));
    }

    #[test]
    fn a_kernel_with_fewer_components_than_the_minimum_needs_them_all() {
        let v = assess_gradient(&run(vec![(2.0, 2.0, 2.0)]));
        assert_eq!(v.status, CheckStatus::Passed);
        let v = assess_gradient(&run(vec![(2.0, 2.0, 2.0), (0.0, 0.0, 0.0)]));
        assert_eq!(v.status, CheckStatus::Unchecked);
    }

    #[test]
    fn not_differentiable_and_non_finite_runs() {
        let mut r = run(vec![]);
        r.status = "not_differentiable".into();
        assert_eq!(assess_gradient(&r).status, CheckStatus::NotDifferentiable);
        r.status = "non_finite".into();
        assert_eq!(assess_gradient(&r).class, Some(FindingClass::SuspectedAdjointBug));
    }
}
