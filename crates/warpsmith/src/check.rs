//! `warpsmith check`: the execution checks of `generate --verify full` on kernels given as JSON, one line of
//! verdict each. The input is a record's own format (`name`, `python`, `launch_dim`, `test_inputs`,
//! `grad_outputs`, optionally `test_outputs` and `seed`), so a line of `warpsmith export DIR --to jsonl` can be
//! checked again, and a hand-written kernel can be checked by writing those fields.

use std::collections::BTreeMap;
use std::io::{BufRead, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use warpsmith_gen::vectors::{Arg, ArgRole, LaunchSpec, Tensor};
use warpsmith_oracle::{CheckRequest, Job, Outcome, Pool, PoolOptions};
use warpsmith_run::{RunVerdict, Verify, judge_run};

/// Flags of `check`.
#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// A JSON file holding one kernel object, or JSON lines with one per line; `-` reads standard input.
    file: PathBuf,
    /// Most float input components checked by finite differences per kernel (all when there are fewer).
    #[arg(long, default_value_t = 512)]
    fd_samples: u32,
    /// Python interpreter that has warp-lang 1.19.0 (default: the managed environment).
    #[arg(long, env = "WARPSMITH_PYTHON")]
    python: Option<PathBuf>,
    /// Oracle worker processes (default: one per core, at most one per kernel).
    #[arg(long)]
    workers: Option<usize>,
    /// Skip NVRTC's compile of the CUDA module to PTX (`checks.ptx` is then `skipped`).
    #[arg(long)]
    no_ptx: bool,
    /// Run only NVRTC's front end on the CUDA module (`-fdevice-syntax-only`, as most records of a `generate`
    /// run get): `checks.ptx` is then `front_end_passed`, never `passed`.
    #[arg(long, conflicts_with = "no_ptx")]
    front_end_only: bool,
    /// Longest wait for one kernel, in seconds.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
    /// Reject a kernel with a float literal that moves no output when changed either way (`dead_constant`),
    /// as `generate --reject-dead-constants` does.
    #[arg(long)]
    reject_dead_constants: bool,
}

/// One kernel to check, in the dataset's column names.
#[derive(serde::Deserialize, Debug)]
struct KernelJson {
    name: String,
    python: String,
    launch_dim: Vec<u32>,
    test_inputs: Vec<Tensor>,
    grad_outputs: Vec<Tensor>,
    #[serde(default)]
    test_outputs: Vec<Tensor>,
    /// Seeds the choice of finite-difference components when they are sampled.
    #[serde(default)]
    seed: u64,
}

/// The parameter names of `@wp.kernel def NAME(...)` in `python`, in signature order.
///
/// # Errors
/// When `python` has no `def NAME(` or its parameter list is not closed.
pub fn kernel_params(python: &str, name: &str) -> anyhow::Result<Vec<String>> {
    let head = format!("def {name}(");
    let start = python.find(&head).with_context(|| format!("python defines no `def {name}(`"))? + head.len();
    let (mut depth, mut params, mut current) = (0i32, Vec::new(), String::new());
    for ch in python[start..].chars() {
        match ch {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' if depth == 0 => {
                params.push(std::mem::take(&mut current));
                return Ok(params
                    .iter()
                    .filter_map(|p| p.split(':').next().map(str::trim).filter(|n| !n.is_empty()).map(String::from))
                    .collect());
            }
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                params.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(ch);
    }
    bail!("the parameter list of `{name}` is not closed")
}

/// The launch of a kernel: each parameter of its signature found in `test_inputs` (an array when it has a
/// shape, a by-value parameter otherwise), else an output shaped as in `grad_outputs` or `test_outputs`.
fn launch_of(k: &KernelJson) -> anyhow::Result<LaunchSpec> {
    // the worker compiles checked kernels together in one module, after one shared import line
    if !k.python.starts_with("import warp as wp\n") {
        bail!("the python of `{}` must start with the line `import warp as wp`, as a record's does", k.name);
    }
    let by_name = |ts: &[Tensor]| ts.iter().map(|t| (t.name.clone(), t.clone())).collect::<BTreeMap<_, _>>();
    let (inputs, seeds, outputs) = (by_name(&k.test_inputs), by_name(&k.grad_outputs), by_name(&k.test_outputs));
    let mut args = Vec::new();
    for p in kernel_params(&k.python, &k.name)? {
        let arg = if let Some(t) = inputs.get(&p) {
            // a scene's handle is stored as the scene itself (the worker builds it from the tensor)
            let role = if warpsmith_ast::Scene::DTYPES.contains(&t.dtype.as_str()) {
                ArgRole::Scene
            } else if t.shape.is_empty() {
                ArgRole::Value
            } else {
                ArgRole::Input
            };
            Arg { role, tensor: t.clone() }
        } else if let Some(t) = seeds.get(&p).or_else(|| outputs.get(&p)) {
            Arg { role: ArgRole::Output, tensor: Tensor { values: Vec::new(), ..t.clone() } }
        } else {
            bail!("parameter `{p}` of `{}` is in none of test_inputs, grad_outputs, test_outputs", k.name)
        };
        args.push(arg);
    }
    Ok(LaunchSpec {
        launch_dim: k.launch_dim.clone(),
        tiled: k.python.contains("wp.tile"),
        args,
        grad_outputs: k.grad_outputs.clone(),
    })
}

fn read_kernels(a: &CheckArgs) -> anyhow::Result<Vec<KernelJson>> {
    let mut text = String::new();
    if a.file.as_os_str() == "-" {
        std::io::stdin().read_to_string(&mut text).context("reading standard input")?;
    } else {
        text = std::fs::read_to_string(&a.file).with_context(|| format!("reading {}", a.file.display()))?;
    }
    if let Ok(one) = serde_json::from_str::<KernelJson>(&text) {
        return Ok(vec![one]);
    }
    let mut out = Vec::new();
    for (n, line) in text.as_bytes().lines().enumerate() {
        let line = line.context("reading a line")?;
        if line.trim().is_empty() {
            continue;
        }
        out.push(
            serde_json::from_str(&line)
                .with_context(|| format!("{} line {}: not a kernel object", a.file.display(), n + 1))?,
        );
    }
    if out.is_empty() {
        bail!("{}: no kernel object", a.file.display());
    }
    Ok(out)
}

pub fn run(a: &CheckArgs) -> anyhow::Result<ExitCode> {
    if a.fd_samples == 0 || a.timeout == 0 {
        eprintln!("error: --fd-samples and --timeout must be at least 1");
        return Ok(ExitCode::from(2));
    }
    let kernels = read_kernels(a)?;
    let specs: Vec<LaunchSpec> = kernels.iter().map(launch_of).collect::<anyhow::Result<_>>()?;
    let python = crate::env::python(a.python.as_deref())?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = a.workers.unwrap_or(cores).clamp(1, kernels.len());
    let opts = PoolOptions {
        workers,
        batch: 8,
        ptx: !a.no_ptx,
        timeout: Duration::from_secs(a.timeout),
        ..PoolOptions::default()
    };
    let pool = Pool::start(crate::env::worker_command(python, "cpu")?, opts).context("starting the Warp oracle")?;
    for (slot, (k, spec)) in kernels.iter().zip(&specs).enumerate() {
        let check = CheckRequest {
            spec: spec.clone(),
            fd_seed: k.seed,
            fd_samples: a.fd_samples,
            gradient: true,
            full_ptx: !a.front_end_only,
            constants: a.reject_dead_constants,
        };
        pool.submit(slot, Job { name: k.name.clone(), source: k.python.clone(), check: Some(check) });
    }
    let mut lines = BTreeMap::new();
    // per slot: the constant-sensitivity check's result, when it ran
    let mut constants = BTreeMap::new();
    for _ in 0..kernels.len() {
        let (slot, outcome) = pool.results().recv().context("the oracle pool stopped unexpectedly")?;
        let (verdict, gradient) = match outcome {
            Outcome::Failed(f) => {
                (RunVerdict::Failed { reason: f.reason.name().to_string(), message: f.message }, None)
            }
            Outcome::Ok(mods) => match mods.run {
                Some(run) => {
                    constants.insert(slot, run.constants.clone());
                    judge_run(&specs[slot], run, Verify::Full, !a.no_ptx)
                }
                None => (RunVerdict::Failed { reason: "internal".into(), message: "no run returned".into() }, None),
            },
        };
        lines.insert(slot, (verdict, gradient));
    }
    pool.finish();
    let mut all_accepted = true;
    for (slot, (verdict, gradient)) in lines {
        all_accepted &= matches!(verdict, RunVerdict::Accepted { .. });
        let mut line = serde_json::to_value(&verdict).context("encoding a verdict")?;
        line["name"] = serde_json::Value::String(kernels[slot].name.clone());
        line["gradient"] = serde_json::to_value(&gradient).context("encoding a gradient verdict")?;
        if let Some(g) = &gradient {
            // informative samples per input, by the input's name
            let by_name: serde_json::Map<String, serde_json::Value> = g
                .informative_by_arg
                .iter()
                .filter_map(|(arg, n)| Some((specs[slot].args.get(*arg)?.tensor.name.clone(), (*n).into())))
                .collect();
            line["gradient"]["informative_by_arg"] = serde_json::Value::Object(by_name);
        }
        if let Some(Some(c)) = constants.get(&slot) {
            line["constants"] = serde_json::to_value(c).context("encoding a constants check")?;
        }
        println!("{line}");
    }
    Ok(if all_accepted { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_read_in_order_through_nested_brackets() {
        let py = "@wp.kernel\ndef k(a: wp.array(dtype=wp.vec3, ndim=2),\n      s: float, out: wp.array(dtype=float)):\n    pass\n";
        assert_eq!(kernel_params(py, "k").expect("params"), ["a", "s", "out"]);
        assert!(kernel_params(py, "other").is_err());
        assert!(kernel_params("def k(a: int", "k").is_err());
    }

    #[test]
    fn arguments_take_their_roles_from_the_columns_that_name_them() {
        let t =
            |name: &str, shape: Vec<i32>| Tensor { name: name.into(), dtype: "float32".into(), shape, values: vec![] };
        let mut k = KernelJson {
            name: "k".into(),
            python: "import warp as wp\n@wp.kernel\ndef k(a: wp.array(dtype=float), s: float, out: wp.array(dtype=float)):\n".into(),
            launch_dim: vec![4],
            test_inputs: vec![t("a", vec![4]), t("s", vec![])],
            grad_outputs: vec![t("out", vec![4])],
            test_outputs: vec![],
            seed: 0,
        };
        let spec = launch_of(&k).expect("spec");
        let roles: Vec<ArgRole> = spec.args.iter().map(|a| a.role).collect();
        assert_eq!(roles, [ArgRole::Input, ArgRole::Value, ArgRole::Output]);
        // a scene handle (`wp.uint64`) is stored as its scene: a `mesh` tensor is a scene, not an input array
        k.python = k.python.replace("s: float", "s: wp.uint64");
        k.test_inputs[1] = Tensor { dtype: "mesh".into(), ..t("s", vec![10, 16]) };
        let roles: Vec<ArgRole> = launch_of(&k).expect("spec").args.iter().map(|a| a.role).collect();
        assert_eq!(roles, [ArgRole::Input, ArgRole::Scene, ArgRole::Output]);
        k.grad_outputs.clear();
        assert!(launch_of(&k).is_err(), "an output named nowhere has no shape");
    }
}
