//! Execution-check results from the worker, and the gradient verdict computed from them.

use serde::{Deserialize, Serialize};
use warpsmith_gen::vectors::{LaunchSpec, Tensor};

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
    /// Central difference with step `h / 2`.
    pub fd_half: f64,
    /// The step.
    pub h: f64,
}

/// The worker's gradient computation.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct GradientRun {
    /// `computed`, `non_finite` or `not_differentiable`.
    pub status: String,
    /// Input adjoints from `wp.Tape` (float input arrays).
    #[serde(default)]
    pub grad_inputs: Vec<Tensor>,
    /// Finite-difference samples.
    #[serde(default)]
    pub samples: Vec<FdSample>,
    /// `sum(|grad_outputs * outputs|)`: the magnitude of the terms of `L`, for the rounding-noise bound.
    #[serde(default)]
    pub loss_scale: f64,
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
    /// `all_zero`, `constant` or `non_finite`, if the outputs are degenerate.
    #[serde(default)]
    pub problem: Option<String>,
    /// Outputs and accumulators after one launch.
    #[serde(default)]
    pub outputs: Vec<Tensor>,
    /// NVRTC compiled the batch's CUDA module to PTX for sm_80 (`None`: not asked).
    #[serde(default)]
    pub ptx: Option<bool>,
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
}

/// Why a gradient check failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingClass {
    /// The finite differences are unstable (a kink or discontinuity near the input).
    Kink,
    /// The mismatch is within a small multiple of float32 rounding noise.
    Precision,
    /// Stable finite differences disagree with the adjoint.
    SuspectedAdjointBug,
}

/// The verdict on a gradient run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GradientVerdict {
    /// `passed`, `failed` or `not_differentiable`.
    pub status: &'static str,
    /// Largest relative error over the compared samples (0 when none were compared).
    pub max_rel_error: f64,
    /// Samples compared (stable finite differences).
    pub compared: usize,
    /// Samples skipped as unstable.
    pub unstable: usize,
    /// Set when `status == "failed"`.
    pub class: Option<FindingClass>,
}

/// Relative tolerance between the adjoint and the finite difference.
pub const GRAD_RTOL: f64 = 2e-2;
/// float32 unit roundoff (2^-24).
const U32: f64 = 5.960_464_477_539_063e-8;

/// Judges a gradient run. Finite differences carry rounding noise of about `u * scale / h` (the loss is a
/// sum of float32 outputs; `u` the float32 unit roundoff), and truncation error that shrinks with `h`:
/// - a sample is *unstable* when the estimates at `h` and `h/2` disagree beyond `GRAD_RTOL` plus noise
///   (a kink or discontinuity within `h`); it is skipped;
/// - a stable sample passes when `|ad - fd_half| <= GRAD_RTOL * max(|ad|, |fd_half|) + 8 * noise(h/2)`.
///
/// The check fails if a stable sample fails, or if every sample is unstable (nothing could be verified).
/// A failure is classed `Precision` when every mismatch is within 100x the noise, `Kink` when some samples
/// were unstable or a failing estimate still moved by more than a quarter of the tolerance between `h` and
/// `h/2` (smooth functions converge as `h^2`), and `SuspectedAdjointBug` otherwise.
pub fn assess_gradient(run: &GradientRun) -> GradientVerdict {
    if run.status == "not_differentiable" {
        return GradientVerdict {
            status: "not_differentiable",
            max_rel_error: 0.0,
            compared: 0,
            unstable: 0,
            class: None,
        };
    }
    if run.status != "computed" || run.samples.is_empty() {
        let class =
            if run.status == "non_finite" { Some(FindingClass::SuspectedAdjointBug) } else { Some(FindingClass::Kink) };
        return GradientVerdict {
            status: "failed",
            max_rel_error: f64::INFINITY,
            compared: 0,
            unstable: run.samples.len(),
            class,
        };
    }
    let (mut compared, mut unstable, mut worst, mut failed, mut precision_only) = (0, 0, 0.0f64, false, true);
    let mut near_kink = false;
    for s in &run.samples {
        let noise = |h: f64| 4.0 * U32 * run.loss_scale.max(1e-30) / h;
        let (n1, n2) = (noise(s.h), noise(s.h / 2.0));
        let big = s.fd.abs().max(s.fd_half.abs());
        if (s.fd - s.fd_half).abs() > GRAD_RTOL * big + 2.0 * (n1 + n2) || !s.fd.is_finite() || !s.fd_half.is_finite() {
            unstable += 1;
            continue;
        }
        compared += 1;
        let err = (s.ad - s.fd_half).abs();
        let mag = s.ad.abs().max(s.fd_half.abs());
        let allowed = GRAD_RTOL * mag + 8.0 * n2;
        worst = worst.max(err / mag.max(8.0 * n2).max(1e-12));
        if err > allowed || !s.ad.is_finite() {
            failed = true;
            if err > 100.0 * n2 {
                precision_only = false;
            }
            // central differences of a smooth function converge as h^2: halving h barely moves them. An
            // estimate that still moves by a quarter of the tolerance is straddling a kink.
            if (s.fd - s.fd_half).abs() > 0.25 * GRAD_RTOL * big + 2.0 * (n1 + n2) {
                near_kink = true;
            }
        }
    }
    let (status, class) = if failed {
        (
            "failed",
            Some(if precision_only {
                FindingClass::Precision
            } else if unstable > 0 || near_kink {
                FindingClass::Kink
            } else {
                FindingClass::SuspectedAdjointBug
            }),
        )
    } else if compared == 0 {
        ("failed", Some(FindingClass::Kink))
    } else {
        ("passed", None)
    };
    GradientVerdict { status, max_rel_error: worst, compared, unstable, class }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(samples: Vec<(f64, f64, f64)>) -> GradientRun {
        GradientRun {
            status: "computed".into(),
            grad_inputs: vec![],
            samples: samples
                .into_iter()
                .map(|(ad, fd, fd_half)| FdSample { arg: 0, index: 0, ad, fd, fd_half, h: 1e-2 })
                .collect(),
            loss_scale: 1.0,
        }
    }

    #[test]
    fn agreeing_gradients_pass_and_wrong_ones_fail_as_suspected_bugs() {
        let ok = assess_gradient(&run(vec![(2.0, 2.001, 2.0003), (-0.5, -0.5, -0.5)]));
        assert_eq!((ok.status, ok.compared), ("passed", 2));
        assert!(ok.max_rel_error < 1e-3);
        let bad = assess_gradient(&run(vec![(0.0, 2.0, 2.0)]));
        assert_eq!((bad.status, bad.class), ("failed", Some(FindingClass::SuspectedAdjointBug)));
        assert!(bad.max_rel_error > 0.9);
    }

    #[test]
    fn a_mismatch_whose_difference_still_moves_with_the_step_is_a_kink() {
        // the real case from a vector kernel: stable within tolerance only thanks to the rounding-noise term
        let mut r = run(vec![(-0.6656, -0.8133, -0.7946)]);
        r.loss_scale = 18.73;
        let v = assess_gradient(&r);
        assert_eq!((v.status, v.compared, v.class), ("failed", 1, Some(FindingClass::Kink)));
        // the same mismatch with a converged difference is a suspected adjoint bug
        let mut r = run(vec![(-0.6656, -0.8133, -0.8131)]);
        r.loss_scale = 18.73;
        assert_eq!(assess_gradient(&r).class, Some(FindingClass::SuspectedAdjointBug));
    }

    #[test]
    fn unstable_differences_are_skipped_and_all_unstable_is_a_kink() {
        let v = assess_gradient(&run(vec![(1.0, 1.0, 1.0), (0.0, 5.0, 1.0)]));
        assert_eq!((v.status, v.compared, v.unstable), ("passed", 1, 1));
        let all = assess_gradient(&run(vec![(0.0, 5.0, 1.0)]));
        assert_eq!((all.status, all.class), ("failed", Some(FindingClass::Kink)));
    }

    #[test]
    fn not_differentiable_is_reported_as_such() {
        let r =
            GradientRun { status: "not_differentiable".into(), grad_inputs: vec![], samples: vec![], loss_scale: 0.0 };
        assert_eq!(assess_gradient(&r).status, "not_differentiable");
    }
}
