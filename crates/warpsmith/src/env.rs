//! The managed Python environment: a virtual environment under `$WARPSMITH_HOME` with the pinned Warp.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use warpsmith_oracle::{WARP_VERSION, WORKER_PY, WorkerCommand};

/// The requirements installed into the managed environment.
pub const REQUIREMENTS: [&str; 2] = ["warp-lang==1.19.0", "numpy"];

/// Flags of `setup`.
#[derive(clap::Args, Debug)]
pub struct SetupArgs {
    /// Base interpreter used to create the environment.
    #[arg(long, default_value = "python3")]
    base_python: PathBuf,
    /// Extra packages to install with the requirements (e.g. `datasets` to load the output in tests).
    #[arg(long = "with", value_name = "PACKAGE")]
    with: Vec<String>,
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
    let wanted =
        REQUIREMENTS.iter().map(|s| s.to_string()).chain(a.with.iter().cloned()).collect::<Vec<_>>().join("\n");
    if std::fs::read_to_string(&marker).is_ok_and(|m| m == wanted) {
        eprintln!("environment ready: {}", venv.display());
        return Ok(venv_python(&venv));
    }
    eprintln!("creating the Python environment in {} (warp-lang=={WARP_VERSION}) ...", venv.display());
    std::fs::create_dir_all(home()?).context("creating WARPSMITH_HOME")?;
    if !venv_python(&venv).exists() {
        run(Command::new(&a.base_python).arg("-m").arg("venv").arg(&venv), "creating the virtual environment")?;
    }
    let mut pip = Command::new(venv_python(&venv));
    pip.args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"]).args(REQUIREMENTS).args(&a.with);
    run(&mut pip, "installing the requirements with pip")?;
    std::fs::write(&marker, wanted).with_context(|| format!("writing {}", marker.display()))?;
    eprintln!("environment ready: {}", venv.display());
    Ok(venv_python(&venv))
}

/// The interpreter to use: `--python` / `WARPSMITH_PYTHON`, else the managed environment (created if missing).
pub fn python(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    let venv = venv_dir()?;
    if venv.join(".warpsmith-complete").exists() {
        return Ok(venv_python(&venv));
    }
    setup(&SetupArgs { base_python: PathBuf::from("python3"), with: Vec::new() })
}

/// The worker command: the embedded script written once under `$WARPSMITH_HOME` (named by its hash).
pub fn worker_command(python: PathBuf, device: &str) -> anyhow::Result<WorkerCommand> {
    let home = home()?;
    std::fs::create_dir_all(&home).with_context(|| format!("creating {}", home.display()))?;
    let hash = blake3::hash(WORKER_PY.as_bytes()).to_hex();
    let script = home.join(format!("worker-{}.py", &hash[..16]));
    if !script.exists() {
        warpsmith_dataset::atomic_write(&script, WORKER_PY.as_bytes())?;
    }
    Ok(WorkerCommand::python(python, script, home.join("kernel-cache"), device))
}
