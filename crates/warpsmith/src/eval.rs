//! `warpsmith eval`: scores a model's completions by execution (see `warpsmith_eval`). Reference results come
//! from Warp at evaluation time, in the same sandbox, on the record's stored inputs (which must reproduce the
//! stored outputs, or the evaluation stops trusting that record) and on fresh inputs drawn from the record's seed
//! with `EVAL_SALT`; each completion then runs in its own sandboxed worker on both input sets.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;
use serde_json::json;
use warpsmith_dataset::Record;
use warpsmith_dataset::export::{Task, shards};
use warpsmith_eval::predictions::{Prediction, code_of, normalized, screen};
use warpsmith_eval::sandbox::{self, Isolation, Limits, Policy};
use warpsmith_eval::score::{ADJOINT_TOLERANCE, FORWARD_TOLERANCE, NOT_SCORED, Outcome, Values, difference, summarize};
use warpsmith_gen::vectors::{LaunchSpec, extreme_launch_spec, launch_spec, wide_launch_spec};

/// Flags of `eval`.
#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// The dataset directory (as written by `generate`).
    dir: PathBuf,
    /// What the completions answer (the `export --to sft` task they were prompted with).
    #[arg(long, value_enum)]
    task: Task,
    /// JSONL, one completion a line: `{"id", "completion"}` or `{"id", "messages"}` (the assistant turn).
    #[arg(long)]
    predictions: PathBuf,
    /// The split the ids belong to.
    #[arg(long, default_value = "test")]
    split: String,
    /// Where the report goes: `results.jsonl`, `summary.json`, `summary.md` (default `eval-<task>`).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Python interpreter that has warp-lang 1.19.0 (default: the managed environment).
    #[arg(long, env = "WARPSMITH_PYTHON")]
    python: Option<PathBuf>,
    /// Sandboxed processes at a time (default: one per core).
    #[arg(long)]
    workers: Option<usize>,
    /// Wall-clock seconds one completion may take (compile and every launch); CPU seconds are capped at half.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
    /// Address space one sandboxed process may map, in GiB.
    #[arg(long, default_value_t = 8)]
    memory_gib: u64,
    /// Sets of fresh inputs per record besides the stored ones (each one more launch per completion, not another
    /// compile): more sets catch more changed thresholds at a small cost in time.
    #[arg(long, default_value_t = FRESH_SETS)]
    fresh_sets: u64,
    /// Skips the screen that refuses preprocessor directives, `extern`, inline assembly and Python calls in a
    /// kernel function (`warpsmith_eval::predictions::screen`): for testing the sandbox alone.
    #[arg(long, hide = true)]
    unscreened: bool,
}

/// What the note of each task's summary says a "correct" completion is.
fn task_note(task: Task) -> &'static str {
    match task {
        Task::PythonToCpp => {
            "The completion replaces the CPU forward kernel function in the record's cpu_module; \
            compiled by Warp's CPU compiler and launched; outputs compared with Warp's on the stored and on fresh inputs."
        }
        Task::PythonToCuda => {
            "The completion replaces the CUDA forward kernel function in the record's cuda_module \
            and must compile to PTX (NVRTC, sm_80). Without a GPU it runs on the host: compiled into the CPU module \
            through a shim that maps CUDA's thread coordinates to the launch index (not run on a GPU); outputs \
            compared with Warp's on the stored and on fresh inputs."
        }
        Task::PythonToAdjoint => {
            "The completion (Warp's CUDA backward kernel function) runs on the host in place \
            of the CPU backward, through the same shim, after Warp's forward; input adjoints compared with Warp's \
            on the stored and on fresh inputs and output adjoints."
        }
        Task::PythonToStandaloneCuda => {
            "The completion's code up to its own test harness or main() is built \
            with warpsmith's harness (the record's launcher on each input set, outputs printed between markers) by \
            g++ as host C++, and to PTX by nvcc (sm_80) where one is installed; run on the host (not on a GPU); \
            outputs compared with Warp's (|got - want| <= 1e-5 + 1e-4 |want|) on the stored and on fresh inputs."
        }
    }
}

fn task_name(task: Task) -> &'static str {
    match task {
        Task::PythonToCpp => "python-to-cpp",
        Task::PythonToCuda => "python-to-cuda",
        Task::PythonToAdjoint => "python-to-adjoint",
        Task::PythonToStandaloneCuda => "python-to-standalone-cuda",
    }
}

/// One launch's results from the worker.
#[derive(Clone, Debug, Deserialize)]
struct RunOut {
    outputs: Vec<Values>,
    adjoints: Vec<Values>,
}

/// The worker's answer to an `eval` request (see worker_eval.py).
#[derive(Clone, Debug, Deserialize)]
struct Reply {
    compiled: bool,
    stage: Option<String>,
    error: Option<String>,
    ptx: Option<String>,
    runs: Vec<RunOut>,
}

/// Sets of fresh inputs per record by default (`--fresh-sets`), besides the stored ones: a changed threshold or
/// constant that the stored inputs happen not to expose gets more chances (each set is another launch, not
/// another compile). Sets 1 and 3 are wide launches along the first and second axis, set 2 is at the ends of
/// the input ranges.
pub const FRESH_SETS: u64 = 4;

/// A record's reference: its two launches and Warp's results on them, or why there is none.
type Reference = Result<RefData, String>;

/// Warp's results on a record's launches, and for the standalone task warpsmith's harness for them.
struct RefData {
    specs: Vec<LaunchSpec>,
    runs: Vec<RunOut>,
    harness: Option<String>,
}

/// Everything a sandboxed evaluation needs.
struct Ctx {
    python: PathBuf,
    script: PathBuf,
    readable: Vec<PathBuf>,
    pch: PathBuf,
    scratch: PathBuf,
    limits: Limits,
    /// nvcc for the standalone task's PTX compile, where one is installed.
    nvcc: Option<PathBuf>,
    /// Each child gets a new network namespace (see `sandbox::isolation`).
    netns: bool,
    /// `--unscreened`.
    unscreened: bool,
}

fn tail(bytes: &[u8], n: usize) -> String {
    let s = String::from_utf8_lossy(bytes);
    let start = s.len().saturating_sub(n);
    let start = (start..s.len()).find(|&i| s.is_char_boundary(i)).unwrap_or(s.len());
    s[start..].trim().to_string()
}

/// One worker in the sandbox answering one `eval` request: its reply, or why there is none.
fn eval_once(ctx: &Ctx, req: &serde_json::Value, pch_writable: bool) -> anyhow::Result<(Result<Reply, String>, f64)> {
    let scratch = tempfile::Builder::new().prefix("warpsmith-eval-").tempdir_in(&ctx.scratch).context("scratch dir")?;
    let dir = scratch.path();
    let mut cmd = Command::new(&ctx.python);
    cmd.arg(&ctx.script)
        .current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", dir)
        .env("TMPDIR", dir)
        .env("WARPSMITH_WORKDIR", dir)
        .env("WARPSMITH_WARP_VERSION", warpsmith_oracle::WARP_VERSION)
        .env("WARPSMITH_PCH_DIR", &ctx.pch)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONHASHSEED", warpsmith_oracle::PYTHON_HASH_SEED);
    let mut readable = ctx.readable.clone();
    let mut writable = vec![dir.to_path_buf(), PathBuf::from("/dev/null")];
    if pch_writable {
        writable.push(ctx.pch.clone())
    } else {
        readable.push(ctx.pch.clone())
    }
    let policy =
        Policy { readable, writable, limits: ctx.limits.clone(), allow_processes: false, network_namespace: ctx.netns };
    let stdin = format!("{req}\n{{\"op\": \"shutdown\"}}\n");
    let done = sandbox::run(cmd, stdin.as_bytes(), &policy)?;
    let seconds = done.wall.as_secs_f64();
    let text = String::from_utf8_lossy(&done.stdout);
    let reply = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v.get("id") == req.get("id") && v.get("ok") == Some(&json!(true)));
    if let Some(v) = reply {
        return Ok((serde_json::from_value::<Reply>(v).map_err(|e| format!("malformed reply: {e}")), seconds));
    }
    let why = if done.timed_out {
        format!("timed out after {} s", ctx.limits.wall.as_secs())
    } else {
        format!("the sandboxed worker ended without an answer ({})", done.status)
    };
    Ok((Err(format!("{why}; stderr: {}", tail(&done.stderr, 600))), seconds))
}

/// The launches of a record: its stored inputs, then `fresh` sets of fresh ones drawn with the evaluation salt
/// (`EVAL_SALT + k`), every other one a wide launch ([`wide_launch_spec`]) and one in four at the ends of the
/// input ranges ([`extreme_launch_spec`]), the kernel regenerated from the
/// record's category and seed.
fn specs(
    r: &Record,
    config: &warpsmith_gen::Config,
    fresh: u64,
) -> anyhow::Result<(warpsmith_ast::Kernel, Vec<LaunchSpec>)> {
    let category = serde_json::from_value(serde_json::Value::String(r.category.clone()))
        .with_context(|| format!("record {}: unknown category {}", r.id, r.category))?;
    let kernel = warpsmith_gen::generate(category, r.seed, config);
    if warpsmith_ast::canonical_id(&kernel) != r.id {
        bail!(
            "record {}: its seed regenerates another kernel ({}), so fresh inputs cannot be drawn for it (a dataset \
             of another warpsmith version? this is {})",
            r.id,
            kernel.name,
            env!("CARGO_PKG_VERSION")
        );
    }
    let mut stored = launch_spec(&kernel, r.seed);
    let mut inputs = r.test_inputs.iter();
    for arg in stored.args.iter_mut().filter(|a| a.role.is_drawn()) {
        if let Some(t) = inputs.next() {
            arg.tensor = t.clone();
        }
    }
    stored.grad_outputs = r.grad_outputs.clone();
    let mut out = vec![stored];
    out.extend((0..fresh).map(|k| {
        let seed = r.seed ^ warpsmith_eval::EVAL_SALT.wrapping_add(k);
        if k % 2 == 1 {
            // every other set a wide launch along the next axis: the generator promises valid kernels up to
            // `max_launch_dim` threads an axis, and branches on the launch index open only there
            wide_launch_spec(&kernel, seed, (k / 2) as usize, config.max_launch_dim)
        } else if k % 4 == 2 {
            // and one in four at the ends of the input ranges, where thresholds and clamp bounds switch
            extreme_launch_spec(&kernel, seed)
        } else {
            launch_spec(&kernel, seed)
        }
    }));
    Ok((kernel, out))
}

fn request(r: &Record, task: Task, specs: &[LaunchSpec], completion: Option<&str>) -> serde_json::Value {
    json!({
        "id": 1, "op": "eval",
        // the standalone task's reference is Warp's forward, as python-to-cpp's
        "task": if task == Task::PythonToStandaloneCuda { "python-to-cpp" } else { task_name(task) }, "name": r.name, "source": r.python,
        "cpu_module": r.cpu_module, "cuda_module": r.cuda_module, "cpu_forward": r.cpu_forward,
        "cpu_backward": r.cpu_backward, "target": task.target(r).0, "completion": completion, "specs": specs,
    })
}

/// Runs `f` over `items` on `workers` threads, handing each result to `done` as it comes.
fn parallel<T: Send, R: Send>(items: Vec<T>, workers: usize, f: impl Fn(T) -> R + Sync, mut done: impl FnMut(R)) {
    let queue = Mutex::new(items.into_iter());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::scope(|s| {
        for _ in 0..workers {
            let tx = tx.clone();
            let (queue, f) = (&queue, &f);
            s.spawn(move || {
                loop {
                    let next = queue.lock().map(|mut q| q.next()).unwrap_or(None);
                    let Some(item) = next else { break };
                    if tx.send(f(item)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for r in rx {
            done(r);
        }
    });
}

/// The directories the sandboxed worker reads: its interpreter's prefixes (asked of the interpreter), system
/// libraries, `/proc` and the CPU description (LLVM reads them to pick the host CPU), and the worker script.
fn readable_paths(python: &Path, script: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let out = Command::new(python)
        .args(["-I", "-c", "import sys, os, json; print(json.dumps([sys.prefix, sys.base_prefix, os.path.dirname(os.path.dirname(os.path.realpath(sys.executable)))]))"])
        .output()
        .with_context(|| format!("running {}", python.display()))?;
    if !out.status.success() {
        bail!("{} failed: {}", python.display(), String::from_utf8_lossy(&out.stderr));
    }
    let prefixes: Vec<PathBuf> = serde_json::from_slice(&out.stdout).context("reading the interpreter's prefixes")?;
    let mut paths = prefixes;
    paths.extend(
        ["/usr", "/lib", "/lib64", "/bin", "/proc", "/sys/devices/system/cpu", "/dev/urandom", "/dev/zero"]
            .map(PathBuf::from),
    );
    paths.push(script.to_path_buf());
    Ok(paths)
}

/// Runs `warpsmith eval`.
pub fn run(a: &EvalArgs) -> anyhow::Result<ExitCode> {
    let Some(manifest) = crate::validate::checked_manifest(&a.dir) else { return Ok(ExitCode::FAILURE) };
    let config: warpsmith_gen::Config = serde_json::from_value(manifest.run.config.clone())
        .context("manifest run.config is not a generator configuration")?;
    let mut records: BTreeMap<String, Record> = BTreeMap::new();
    for f in shards(&a.dir)?.remove(&a.split).unwrap_or_default() {
        for r in warpsmith_dataset::read_records(&f)? {
            records.insert(r.id.clone(), r);
        }
    }
    let text =
        std::fs::read_to_string(&a.predictions).with_context(|| format!("reading {}", a.predictions.display()))?;
    let preds = warpsmith_eval::predictions::parse(&text).with_context(|| a.predictions.display().to_string())?;
    if preds.is_empty() {
        bail!("{}: no predictions", a.predictions.display());
    }
    if let Some(p) = preds.iter().find(|p| !records.contains_key(&p.id)) {
        bail!(
            "{} line {}: id {} is not in the {} split of {}",
            a.predictions.display(),
            p.line,
            p.id,
            a.split,
            a.dir.display()
        );
    }
    if let Some(p) = preds.iter().find(|p| records.get(&p.id).is_some_and(|r| a.task.target(r).0.trim().is_empty())) {
        bail!(
            "{} line {}: record {} has no {} answer (a scene kernel has no standalone translation: its checks say \
             unsupported, and `export --to sft` leaves it out of this task)",
            a.predictions.display(),
            p.line,
            p.id,
            task_name(a.task)
        );
    }
    let python = crate::env::python(a.python.as_deref())?;
    let script = crate::env::worker_script()?;
    let readable = readable_paths(&python, &script)?;
    let data = a.dir.canonicalize().with_context(|| a.dir.display().to_string())?;
    for p in &readable {
        if let Ok(c) = p.canonicalize()
            && data.starts_with(&c)
        {
            bail!(
                "the dataset {} lies under {}, which the sandbox must leave readable; move it elsewhere",
                data.display(),
                c.display()
            );
        }
    }
    let work = tempfile::Builder::new().prefix("warpsmith-eval-").tempdir().context("temporary directory")?;
    let pch = work.path().join("pch");
    std::fs::create_dir_all(&pch).context("creating the header cache directory")?;
    let limits = Limits {
        cpu_seconds: (a.timeout / 2).max(1),
        memory_bytes: a.memory_gib << 30,
        wall: Duration::from_secs(a.timeout),
        ..Limits::default()
    };
    let nvcc = crate::env::find_nvcc(&python);
    let netns = sandbox::isolation() == Isolation::Namespace;
    let ctx = Ctx {
        python,
        script,
        readable,
        pch,
        scratch: work.path().to_path_buf(),
        limits,
        nvcc,
        netns,
        unscreened: a.unscreened,
    };
    let isolation = if netns {
        "a new network namespace, seccomp (no sockets) and Landlock TCP rules"
    } else {
        "seccomp (no sockets) and Landlock TCP rules (no network namespace: not root and no unprivileged user namespaces)"
    };
    let workers = a.workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1);

    // the reference: Warp's own module per record (the first alone, so it writes the header cache)
    let ids: Vec<String> =
        preds.iter().map(|p| p.id.clone()).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    let mut reference: BTreeMap<String, Reference> = BTreeMap::new();
    let bar = indicatif::ProgressBar::new((ids.len() + preds.len()) as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} {bar:30} {pos}/{len} [{elapsed} < {eta}]")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message("reference");
    let reference_of = |id: String, first: bool| -> anyhow::Result<(String, Reference)> {
        let r = &records[&id];
        let (kernel, specs) = specs(r, &config, a.fresh_sets)?;
        let harness = match a.task {
            Task::PythonToStandaloneCuda => match crate::eval_standalone::harness(&kernel, &specs) {
                Ok(h) => Some(h),
                Err(e) => return Ok((id, Err(format!("the kernel has no standalone translation: {e}")))),
            },
            _ => None,
        };
        let (reply, _) = eval_once(&ctx, &request(r, a.task, &specs, None), first)?;
        let warp = reply.and_then(|rep| {
            if let Some(stage) = rep.stage {
                return Err(format!("Warp's own module failed at {stage}: {}", rep.error.unwrap_or_default()));
            }
            let stored: Vec<Values> = r
                .test_outputs
                .iter()
                .map(|t| Values { name: t.name.clone(), dtype: t.dtype.clone(), values: t.values.clone() })
                .collect();
            match rep.runs.first().and_then(|run| difference(&run.outputs, &stored, (0.0, 0.0))) {
                Some(d) => Err(format!("Warp at evaluation time does not reproduce the stored test_outputs: {d}")),
                None if rep.runs.len() != specs.len() => Err("the reference did not run on every input set".into()),
                None => Ok(RefData { specs, runs: rep.runs, harness }),
            }
        });
        // a CUDA function runs on the host through the shim: the record's own answer must build and agree there,
        // or the record cannot be scored on this machine
        let checked = match warp {
            Ok(data) if matches!(a.task, Task::PythonToCuda | Task::PythonToAdjoint) => {
                let (reply, _) = eval_once(&ctx, &request(r, a.task, &data.specs, Some(a.task.target(r).0)), false)?;
                host_check(reply, data)
            }
            other => other,
        };
        Ok((id, checked))
    };
    // the first references one at a time until one has compiled (and so written the header cache), then the rest
    // in parallel with the cache read-only
    let mut rest = ids.clone().into_iter();
    for id in rest.by_ref() {
        let (id, res) = reference_of(id, true)?;
        let warm = res.is_ok();
        reference.insert(id, res);
        bar.inc(1);
        if warm {
            break;
        }
    }
    let rest: Vec<String> = rest.collect();
    let mut failure = None;
    parallel(
        rest,
        workers,
        |id| reference_of(id, false),
        |res| {
            bar.inc(1);
            match res {
                Ok((id, r)) => {
                    reference.insert(id, r);
                }
                Err(e) => failure = Some(e),
            }
        },
    );
    if let Some(e) = failure {
        return Err(e);
    }

    // the completions
    bar.set_message("completions");
    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut failure = None;
    parallel(
        preds,
        workers,
        |p: Prediction| score_one(&ctx, a.task, &records[&p.id], &reference[&p.id], &p),
        |res| {
            bar.inc(1);
            match res {
                Ok(o) => outcomes.push(o),
                Err(e) => failure = Some(e),
            }
        },
    );
    bar.finish_and_clear();
    if let Some(e) = failure {
        return Err(e);
    }
    outcomes.sort_by_key(|o| o.line);
    let constants = if manifest.run.identity.as_ref().is_some_and(|i| i.reject_dead_constants) {
        "The dataset was generated with --reject-dead-constants: every float literal of each kernel's body moves \
         some output when changed (the adjoints may still not depend on an additive constant)."
    } else {
        "The dataset was generated without --reject-dead-constants: a kernel may hold constants no output \
         depends on, and a completion that changes one is the same function and scores as correct."
    };
    let note = format!(
        "{} Input sets: the stored one and {} fresh (every other one a wide launch, {} threads along one axis; one in four at the ends of the input ranges). {constants}",
        task_note(a.task),
        a.fresh_sets,
        config.max_launch_dim
    );
    let summary = summarize(task_name(a.task), &a.split, &outcomes, isolation, &note);
    let out = a.out.clone().unwrap_or_else(|| PathBuf::from(format!("eval-{}", task_name(a.task))));
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let mut lines = String::new();
    for o in &outcomes {
        lines.push_str(&serde_json::to_string(o)?);
        lines.push('\n');
    }
    warpsmith_dataset::atomic_write(&out.join("results.jsonl"), lines.as_bytes())?;
    warpsmith_dataset::atomic_write(&out.join("summary.json"), serde_json::to_string_pretty(&summary)?.as_bytes())?;
    let md = summary.markdown();
    warpsmith_dataset::atomic_write(&out.join("summary.md"), md.as_bytes())?;
    println!("{md}");
    let evaluator_errors =
        outcomes.iter().filter(|o| o.reason.as_deref().is_some_and(|r| r.starts_with("evaluator:"))).count();
    eprintln!("report: {}", out.display());
    if evaluator_errors > 0 {
        eprintln!(
            "error: {evaluator_errors} completions could not be scored (reason \"evaluator: ...\" in results.jsonl)"
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// The reference of a record whose own CUDA function went through the host shim (`reply`): `data` when it
/// built and agreed with Warp on every input set; a [`NOT_SCORED`] reason when it did not build for the host (a
/// function that calls device-only code, such as MathDx's solvers); an evaluator error otherwise.
fn host_check(reply: Result<Reply, String>, data: RefData) -> Reference {
    let rep = reply.map_err(|e| format!("the record's own answer through the host shim: {e}"))?;
    match rep.stage.as_deref() {
        Some("cpu_compile") => {
            let error = rep.error.unwrap_or_default();
            return Err(format!(
                "{NOT_SCORED} the record's own CUDA function does not build for the host (it calls device-only \
                 code), and no GPU runs it here: {}",
                error.lines().next().unwrap_or_default()
            ));
        }
        Some(stage) => {
            return Err(format!(
                "the record's own answer failed at {stage} through the host shim: {}",
                rep.error.unwrap_or_default()
            ));
        }
        None => {}
    }
    if rep.runs.len() != data.runs.len() {
        return Err("the record's own answer through the host shim did not run on every input set".into());
    }
    for (got, want) in rep.runs.iter().zip(&data.runs) {
        if let Some(d) = difference(&got.outputs, &want.outputs, FORWARD_TOLERANCE)
            .or_else(|| difference(&got.adjoints, &want.adjoints, ADJOINT_TOLERANCE))
        {
            return Err(format!("the record's own answer through the host shim disagrees with Warp: {d}"));
        }
    }
    Ok(data)
}

/// Scores one completion against its record's reference.
fn score_one(ctx: &Ctx, task: Task, r: &Record, reference: &Reference, p: &Prediction) -> anyhow::Result<Outcome> {
    let code = code_of(&p.completion);
    let screened = if task == Task::PythonToStandaloneCuda || ctx.unscreened { None } else { screen(code) };
    let target = task.target(r).0;
    let mut o = Outcome {
        id: r.id.clone(),
        category: r.category.clone(),
        task: task_name(task).into(),
        line: p.line,
        exact_match: code.trim() == target.trim(),
        normalized_match: normalized(code) == normalized(target),
        compiled: false,
        ran: false,
        correct: false,
        ptx: None,
        reason: None,
        seconds: 0.0,
    };
    let RefData { specs, runs: want, harness } = match reference {
        Ok(x) => x,
        Err(e) if e.starts_with(NOT_SCORED) => {
            o.reason = Some(e.clone());
            return Ok(o);
        }
        Err(e) => {
            o.reason = Some(format!("evaluator: {e}"));
            return Ok(o);
        }
    };
    if let Some(why) = screened {
        o.reason = Some(format!("refused before compiling: it contains {why}, which no kernel function of Warp's has"));
        return Ok(o);
    }
    if let Some(harness) = harness {
        return score_standalone(ctx, o, code, harness, want);
    }
    let (reply, seconds) = eval_once(ctx, &request(r, task, specs, Some(code)), false)?;
    o.seconds = seconds;
    let rep = match reply {
        Ok(rep) => rep,
        Err(e) => {
            o.reason = Some(e);
            return Ok(o);
        }
    };
    o.ptx = rep.ptx.clone();
    o.compiled = rep.compiled && rep.ptx.as_deref() != Some("failed");
    if let Some(stage) = &rep.stage {
        // the reference passed setup on the same record: a candidate's setup failure is its own (a forged reply)
        o.reason = Some(format!("{stage}: {}", rep.error.clone().unwrap_or_default()));
        return Ok(o);
    }
    o.ran = rep.runs.len() == want.len();
    for (k, (got, want)) in rep.runs.iter().zip(want).enumerate() {
        let which = if k == 0 { "stored inputs".to_string() } else { format!("fresh inputs ({k})") };
        let d = difference(&got.outputs, &want.outputs, FORWARD_TOLERANCE)
            .or_else(|| difference(&got.adjoints, &want.adjoints, ADJOINT_TOLERANCE));
        if let Some(d) = d {
            o.reason = Some(format!("wrong on the {which}: {d}"));
            return Ok(o);
        }
    }
    o.correct = o.ran;
    if !o.ran {
        o.reason = Some("did not run on every input set".into());
    }
    Ok(o)
}

/// Scores a standalone completion: built with warpsmith's harness, its outputs against Warp's.
fn score_standalone(ctx: &Ctx, mut o: Outcome, code: &str, harness: &str, want: &[RunOut]) -> anyhow::Result<Outcome> {
    let want: Vec<Vec<Values>> = want.iter().map(|w| w.outputs.clone()).collect();
    let built = crate::eval_standalone::build_and_run(
        ctx.netns,
        code,
        harness,
        &want,
        ctx.nvcc.as_deref(),
        &ctx.scratch,
        &ctx.limits,
    )?;
    o.seconds = built.seconds;
    o.compiled = built.compiled;
    o.ptx = built.ptx;
    let sets = match built.outputs {
        Ok(sets) => sets,
        Err(e) => {
            o.reason = Some(e);
            return Ok(o);
        }
    };
    o.ran = true;
    for (k, (got, want)) in sets.iter().zip(&want).enumerate() {
        if let Some(d) = difference(got, want, crate::eval_standalone::STANDALONE_TOLERANCE) {
            let which = if k == 0 { "stored inputs".to_string() } else { format!("fresh inputs ({k})") };
            o.reason = Some(format!("wrong on the {which}: {d}"));
            return Ok(o);
        }
    }
    o.correct = true;
    Ok(o)
}
