//! The managed Python environment: a virtual environment under `$WARPSMITH_HOME` with the pinned Warp.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use warpsmith_oracle::{WARP_VERSION, WORKER_PY, WorkerCommand};

/// The requirements installed into the managed environment: Warp, and the NVRTC that Warp 1.19.0 links
/// statically (13.4), which the CUDA module check calls with Warp's options (the worker refuses another
/// version).
pub const REQUIREMENTS: [&str; 3] = ["warp-lang==1.19.0", "numpy", "nvidia-cuda-nvrtc==13.4.92"];

/// The CUDA 13 toolkit packages from PyPI that `setup --cuda` adds (nvcc, its NVVM back end, the CUDA C
/// runtime headers and the runtime library), all of one version. nvcc lands in
/// `site-packages/nvidia/cu13/bin`.
pub const CUDA_REQUIREMENTS: [&str; 4] =
    ["nvidia-cuda-nvcc==13.5.37", "nvidia-nvvm==13.5.37", "nvidia-cuda-crt==13.5.37", "nvidia-cuda-runtime==13.5.37"];

/// Pinned versions of the optional packages `setup --with NAME` knows: `ray` for `generate --engine ray`
/// (others are installed as named).
pub const PINNED_EXTRAS: [(&str, &str); 1] = [("ray", "ray==2.60.0")];

/// The pip requirement for `setup --with NAME`: the pinned version where [`PINNED_EXTRAS`] has one.
fn extra_requirement(name: &str) -> String {
    PINNED_EXTRAS.iter().find(|(n, _)| *n == name).map_or_else(|| name.to_string(), |(_, r)| r.to_string())
}

/// Flags of `setup`.
#[derive(clap::Args, Debug)]
pub struct SetupArgs {
    /// Base interpreter used to create the environment.
    #[arg(long, default_value = "python3")]
    base_python: PathBuf,
    /// Extra packages to install with the requirements (e.g. `datasets` to load the output in tests, `ray`
    /// (pinned) for `generate --engine ray`).
    #[arg(long = "with", value_name = "PACKAGE")]
    with: Vec<String>,
    /// Also install the CUDA 13 compiler packages (nvcc) for the standalone CUDA compile check.
    #[arg(long)]
    cuda: bool,
}

/// Where warpsmith keeps its environment, worker script and Warp kernel cache.
pub fn home() -> anyhow::Result<PathBuf> {
    if let Some(h) = std::env::var_os("WARPSMITH_HOME") {
        return Ok(PathBuf::from(h));
    }
    let cache = dirs::cache_dir().context("no cache directory for this user: set WARPSMITH_HOME")?;
    Ok(cache.join("warpsmith"))
}

fn venv_dir() -> anyhow::Result<PathBuf> {
    Ok(home()?.join(format!("venv-warp-{WARP_VERSION}")))
}

fn venv_python(venv: &Path) -> PathBuf {
    venv.join("bin").join("python")
}

fn run(cmd: &mut Command, what: &str) -> anyhow::Result<()> {
    let out = cmd.output().with_context(|| format!("{what}: cannot run {cmd:?}"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(20).collect::<Vec<_>>().into_iter().rev().collect();
        bail!("{what} failed ({}):\n{}", out.status, tail.join("\n"));
    }
    Ok(())
}

/// Creates (or completes) the managed environment and returns its interpreter.
pub fn setup(a: &SetupArgs) -> anyhow::Result<PathBuf> {
    let venv = venv_dir()?;
    let marker = venv.join(".warpsmith-complete");
    let cuda: &[&str] = if a.cuda { &CUDA_REQUIREMENTS } else { &[] };
    let wanted = REQUIREMENTS
        .iter()
        .chain(cuda)
        .map(|s| s.to_string())
        .chain(a.with.iter().map(|w| extra_requirement(w)))
        .collect::<Vec<_>>()
        .join("\n");
    // an environment that already has everything asked for (and perhaps more) is kept as it is
    let have = std::fs::read_to_string(&marker).unwrap_or_default();
    let have: Vec<&str> = have.lines().collect();
    if !have.is_empty() && wanted.lines().all(|w| have.contains(&w)) {
        eprintln!("environment ready: {}", venv.display());
        return Ok(venv_python(&venv));
    }
    eprintln!("creating the Python environment in {} (warp-lang=={WARP_VERSION}) ...", venv.display());
    std::fs::create_dir_all(home()?).context("creating WARPSMITH_HOME")?;
    if !venv_python(&venv).exists() {
        run(Command::new(&a.base_python).arg("-m").arg("venv").arg(&venv), "creating the virtual environment")?;
    }
    let mut pip = Command::new(venv_python(&venv));
    pip.args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
        .args(REQUIREMENTS)
        .args(cuda)
        .args(a.with.iter().map(|w| extra_requirement(w)));
    run(&mut pip, "installing the requirements with pip")?;
    // keep what an earlier setup installed in the record too
    let mut all: Vec<String> = have.iter().map(|s| s.to_string()).collect();
    for w in wanted.lines() {
        if !all.iter().any(|h| h == w) {
            all.push(w.to_string());
        }
    }
    std::fs::write(&marker, all.join("\n")).with_context(|| format!("writing {}", marker.display()))?;
    eprintln!("environment ready: {}", venv.display());
    Ok(venv_python(&venv))
}

/// The interpreter to use: `--python` / `WARPSMITH_PYTHON`, else the managed environment (created if missing).
pub fn python(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    let venv = venv_dir()?;
    // an environment made by an older warpsmith may lack a requirement added since: setup completes it
    let have = std::fs::read_to_string(venv.join(".warpsmith-complete")).unwrap_or_default();
    if REQUIREMENTS.iter().all(|r| have.lines().any(|l| l == *r)) {
        return Ok(venv_python(&venv));
    }
    setup(&SetupArgs { base_python: PathBuf::from("python3"), with: Vec::new(), cuda: false })
}

/// nvcc inside the Python environment of `python` (a virtual environment's interpreter), if installed there.
fn nvcc_in_env(python: &Path) -> Option<PathBuf> {
    let root = python.parent()?.parent()?;
    let lib = std::fs::read_dir(root.join("lib")).ok()?;
    lib.flatten().map(|e| e.path().join("site-packages/nvidia/cu13/bin/nvcc")).find(|p| p.is_file())
}

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|d| d.join(program)).find(|p| p.is_file()))
}

/// An nvcc already there: the one in `python`'s environment, else `nvcc` on `PATH` (nothing is installed).
pub fn find_nvcc(python: &Path) -> Option<PathBuf> {
    nvcc_in_env(python).or_else(|| on_path("nvcc"))
}

/// The nvcc for the standalone compile check: `explicit` (`--nvcc` / `WARPSMITH_NVCC`), else the one in
/// `python`'s environment, else `nvcc` on `PATH`. When none is found and `python` is the managed
/// environment, the CUDA packages are installed into it (`setup --cuda`). `None`: no nvcc anywhere.
pub fn nvcc(explicit: Option<&Path>, python: &Path) -> anyhow::Result<Option<PathBuf>> {
    if let Some(p) = explicit {
        return Ok(Some(p.to_path_buf()));
    }
    if let Some(p) = nvcc_in_env(python).or_else(|| on_path("nvcc")) {
        return Ok(Some(p));
    }
    if python == venv_python(&venv_dir()?) {
        let py = setup(&SetupArgs { base_python: PathBuf::from("python3"), with: Vec::new(), cuda: true })?;
        return Ok(nvcc_in_env(&py));
    }
    Ok(None)
}

/// The worker command: the embedded script written once under `$WARPSMITH_HOME` (named by its hash).
pub fn worker_command(python: PathBuf, device: &str) -> anyhow::Result<WorkerCommand> {
    Ok(WorkerCommand::python(python, worker_script()?, device))
}

/// The worker script written under [`home`] (`worker-<BLAKE3 prefix>.py`, written once per version of it).
///
/// # Errors
/// When the home directory or the script cannot be written.
pub fn worker_script() -> anyhow::Result<PathBuf> {
    let home = home()?;
    std::fs::create_dir_all(&home).with_context(|| format!("creating {}", home.display()))?;
    let hash = blake3::hash(WORKER_PY.as_bytes()).to_hex();
    let script = home.join(format!("worker-{}.py", &hash[..16]));
    if !script.exists() {
        warpsmith_dataset::atomic_write(&script, WORKER_PY.as_bytes())?;
    }
    Ok(script)
}
