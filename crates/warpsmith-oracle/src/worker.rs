//! One worker process: spawn, handshake, request with timeout, kill.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, unbounded};
use serde::Deserialize;

use crate::{FailureReason, Job, Modules, OracleError, PROTOCOL};

/// Lines of worker stderr kept for error reports.
const STDERR_LINES: usize = 40;

/// How to start a worker: a program, its arguments and extra environment.
#[derive(Clone, Debug)]
pub struct WorkerCommand {
    /// The executable (a Python interpreter for the real worker).
    pub program: PathBuf,
    /// Its arguments (the script path for the real worker).
    pub args: Vec<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// The Warp version the hello must state; `None` accepts any (fake workers in tests).
    pub expect_warp: Option<String>,
    /// Where each worker's scratch directory is made (`None`: the system's temporary directory). The worker
    /// gets it as `WARPSMITH_WORKDIR` and as `TMPDIR` (so NVRTC's and the compilers' temporary files land in
    /// it too); it is deleted when the worker exits, is recycled, or is killed.
    pub scratch_root: Option<PathBuf>,
}

impl WorkerCommand {
    /// The real worker: `python script` with the pinned Warp version and the device that execution checks
    /// also run on (`cpu`, or `cuda` to compare CUDA launches with the CPU). Warp's kernel cache is inside
    /// the worker's scratch directory, so compiled batch modules never accumulate anywhere.
    pub fn python(python: PathBuf, script: PathBuf, device: &str) -> Self {
        WorkerCommand {
            program: python,
            args: vec![script.display().to_string()],
            env: vec![
                ("WARPSMITH_WARP_VERSION".into(), crate::WARP_VERSION.into()),
                ("PYTHONUNBUFFERED".into(), "1".into()),
                ("WARPSMITH_DEVICE".into(), device.into()),
            ],
            expect_warp: Some(crate::WARP_VERSION.into()),
            scratch_root: None,
        }
    }
}

#[derive(Deserialize)]
struct Hello {
    #[serde(rename = "type")]
    kind: String,
    protocol: Option<u32>,
    warp_version: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct ItemResponse {
    ok: bool,
    kind: Option<String>,
    error: Option<String>,
    traceback: Option<String>,
    cpu_module: Option<String>,
    cuda_module: Option<String>,
    run: Option<crate::RunResult>,
    ptx_text: Option<String>,
    ptx_text_error: Option<String>,
}

#[derive(Deserialize)]
struct Response {
    id: Option<u64>,
    ok: bool,
    error: Option<String>,
    #[serde(default)]
    items: Vec<ItemResponse>,
    /// Seconds per worker stage for this request (see `worker.py`, "stage times").
    #[serde(default)]
    times: StageSeconds,
}

/// Seconds spent per named stage (`codegen`, `cpu_compile`, `launch`, `liveness`, `gradient`, `ptx`, ...),
/// summed over requests and workers.
pub type StageSeconds = std::collections::BTreeMap<String, f64>;

/// One item's answer: Warp's modules (and run), or a deterministic per-kernel failure.
pub(crate) type ItemResult = Result<Modules, (FailureReason, String, String)>;

/// A failed request (crash, hang, garbage): the worker is unusable and must be replaced.
pub(crate) struct RequestError {
    pub reason: FailureReason,
    pub message: String,
    pub traceback: String,
}

pub(crate) struct Worker {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<Option<String>>,
    stderr: Arc<Mutex<VecDeque<String>>>,
    next_id: u64,
    /// Deleted when the worker is dropped, after the process has been killed and reaped (fields drop after
    /// `Drop::drop`).
    _scratch: tempfile::TempDir,
}

impl Worker {
    /// Starts a worker and waits for its hello.
    pub fn start(cmd: &WorkerCommand, startup: Duration) -> Result<Worker, OracleError> {
        let root = cmd.scratch_root.clone().unwrap_or_else(std::env::temp_dir);
        let scratch = tempfile::Builder::new()
            .prefix("warpsmith-worker-")
            .tempdir_in(&root)
            .map_err(|source| OracleError::Scratch { path: root.display().to_string(), source })?;
        let tmp = scratch.path().join("tmp");
        std::fs::create_dir_all(&tmp)
            .map_err(|source| OracleError::Scratch { path: tmp.display().to_string(), source })?;
        let mut command = Command::new(&cmd.program);
        command
            .args(&cmd.args)
            .envs(cmd.env.iter().map(|(k, v)| (k, v)))
            .env("WARPSMITH_WORKDIR", scratch.path())
            .env("TMPDIR", &tmp)
            .env("PYTHONHASHSEED", crate::PYTHON_HASH_SEED)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // SAFETY: the closure runs in the forked child before exec and only calls prctl(2), which is
        // async-signal-safe. The worker gets SIGTERM when this process dies (even by SIGKILL), so no worker
        // outlives its supervisor; worker.py deletes its scratch directory on SIGTERM.
        unsafe {
            command.pre_exec(|| {
                nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM).map_err(std::io::Error::from)
            });
        }
        let mut child = command
            .spawn()
            .map_err(|source| OracleError::Spawn { program: cmd.program.display().to_string(), source })?;
        let (Some(stdin), Some(stdout), Some(stderr_pipe)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(OracleError::Handshake {
                message: "worker pipes unavailable".into(),
                stderr_tail: String::new(),
            });
        };
        let (tx, lines) = unbounded();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let mut line = String::new();
                match r.read_line(&mut line) {
                    Ok(0) | Err(_) => {
                        let _ = tx.send(None);
                        return;
                    }
                    Ok(_) => {
                        if tx.send(Some(line)).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr_pipe).lines().map_while(Result::ok) {
                if let Ok(mut q) = sink.lock() {
                    if q.len() == STDERR_LINES {
                        q.pop_front();
                    }
                    q.push_back(line);
                }
            }
        });
        let mut w = Worker { child, stdin, lines, stderr, next_id: 0, _scratch: scratch };
        let first = match w.lines.recv_timeout(startup) {
            Ok(Some(line)) => line,
            Ok(None) => {
                let status = w.kill();
                return Err(OracleError::Handshake {
                    message: format!("the worker exited before its hello ({status})"),
                    stderr_tail: w.stderr_tail(),
                });
            }
            Err(_) => {
                w.kill();
                return Err(OracleError::Handshake {
                    message: format!("no hello within {} s", startup.as_secs()),
                    stderr_tail: w.stderr_tail(),
                });
            }
        };
        let hello: Hello = match serde_json::from_str(&first) {
            Ok(h) => h,
            Err(_) => {
                w.kill();
                return Err(OracleError::Handshake {
                    message: format!("expected a JSON hello, got {:?}", first.trim_end()),
                    stderr_tail: w.stderr_tail(),
                });
            }
        };
        if hello.kind == "fatal" {
            w.kill();
            return Err(OracleError::Refused {
                message: hello.error.unwrap_or_else(|| "no reason given".into()),
                stderr_tail: w.stderr_tail(),
            });
        }
        let version_ok = cmd.expect_warp.as_ref().is_none_or(|v| hello.warp_version.as_deref() == Some(v.as_str()));
        if hello.kind != "hello" || hello.protocol != Some(PROTOCOL) || !version_ok {
            w.kill();
            return Err(OracleError::Handshake {
                message: format!(
                    "hello states protocol {:?} and Warp {:?}; warpsmith needs protocol {PROTOCOL} and Warp {:?}",
                    hello.protocol, hello.warp_version, cmd.expect_warp
                ),
                stderr_tail: w.stderr_tail(),
            });
        }
        Ok(w)
    }

    /// The last lines of the worker's stderr.
    pub fn stderr_tail(&self) -> String {
        // give the reader thread a moment to drain what a dying process wrote
        std::thread::sleep(Duration::from_millis(20));
        self.stderr.lock().map(|q| q.iter().cloned().collect::<Vec<_>>().join("\n")).unwrap_or_default()
    }

    /// Kills the process (if alive) and returns how it ended.
    pub fn kill(&mut self) -> String {
        if let Ok(Some(status)) = self.child.try_wait() {
            return status.to_string();
        }
        let _ = self.child.kill();
        match self.child.wait() {
            Ok(s) => s.to_string(),
            Err(e) => format!("wait failed: {e}"),
        }
    }

    /// Asks the worker to exit, then makes sure it did.
    pub fn shutdown(mut self) {
        let _ = self.stdin.write_all(b"{\"op\": \"shutdown\"}\n");
        let _ = self.stdin.flush();
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill();
    }

    /// Sends a batch of jobs as one request and waits for the answers (in order).
    pub fn process(
        &mut self,
        jobs: &[Job],
        ptx: bool,
        store_ptx: bool,
        timeout: Duration,
    ) -> Result<(Vec<ItemResult>, StageSeconds), RequestError> {
        self.next_id += 1;
        let id = self.next_id;
        let items: Vec<serde_json::Value> =
            jobs.iter().map(|j| serde_json::json!({"name": j.name, "source": j.source, "check": j.check})).collect();
        let line = serde_json::json!({"id": id, "op": "process", "items": items, "ptx": ptx, "store_ptx": store_ptx})
            .to_string();
        let fatal = |reason, message: String| RequestError { reason, message, traceback: String::new() };
        if let Err(e) = self
            .stdin
            .write_all(line.as_bytes())
            .and_then(|_| self.stdin.write_all(b"\n"))
            .and_then(|_| self.stdin.flush())
        {
            let status = self.kill();
            return Err(fatal(FailureReason::WorkerCrash, format!("worker stdin closed ({e}); it exited: {status}")));
        }
        let reply = match self.lines.recv_timeout(timeout) {
            Ok(Some(l)) => l,
            Ok(None) | Err(RecvTimeoutError::Disconnected) => {
                let status = self.kill();
                return Err(fatal(
                    FailureReason::WorkerCrash,
                    format!("worker exited while holding the kernel: {status}"),
                ));
            }
            Err(RecvTimeoutError::Timeout) => {
                self.kill();
                return Err(fatal(
                    FailureReason::Timeout,
                    format!("no answer within {:.1} s; worker killed", timeout.as_secs_f64()),
                ));
            }
        };
        let resp: Response = match serde_json::from_str(&reply) {
            Ok(r) => r,
            Err(_) => {
                self.kill();
                let shown: String = reply.trim_end().chars().take(200).collect();
                return Err(fatal(FailureReason::Protocol, format!("worker printed a non-protocol line: {shown:?}")));
            }
        };
        if resp.id != Some(id) {
            self.kill();
            return Err(fatal(FailureReason::Protocol, format!("answer for request {:?}, expected {id}", resp.id)));
        }
        if !resp.ok || resp.items.len() != jobs.len() {
            self.kill();
            let why = resp.error.unwrap_or_else(|| format!("{} answers for {} kernels", resp.items.len(), jobs.len()));
            return Err(fatal(FailureReason::Protocol, why));
        }
        let results = resp
            .items
            .into_iter()
            .map(|it| match (it.ok, it.cpu_module, it.cuda_module) {
                (true, Some(cpu_module), Some(cuda_module)) => match (store_ptx, it.ptx_text, it.ptx_text_error) {
                    (true, None, e) => {
                        Err((FailureReason::Ptx, e.unwrap_or_else(|| "no PTX returned".into()), String::new()))
                    }
                    (_, ptx, _) => Ok(Modules { cpu_module, cuda_module, run: it.run, ptx }),
                },
                (true, _, _) => Err((FailureReason::Protocol, "ok answer without both modules".into(), String::new())),
                (false, _, _) => {
                    let reason = match it.kind.as_deref() {
                        Some("codegen") => FailureReason::Codegen,
                        Some("import") => FailureReason::Import,
                        _ => FailureReason::Internal,
                    };
                    Err((reason, it.error.unwrap_or_default(), it.traceback.unwrap_or_default()))
                }
            })
            .collect();
        Ok((results, resp.times))
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
