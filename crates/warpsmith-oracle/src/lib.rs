//! The Warp oracle: supervised Python worker processes that run Warp's code generator, and the cutting of
//! kernel functions out of the modules Warp emits.
//!
//! Workers speak JSON lines (protocol in `worker.py`, embedded as [`WORKER_PY`]). The [`Pool`] runs one
//! thread per worker slot; each owns a child process, restarts it when it crashes, hangs past the timeout or
//! prints something that is not a protocol line, retries the kernel it held once, and then records a
//! [`Failure`] with its reason and the tail of the worker's stderr. Workers are recycled after a fixed number
//! of kernels because Warp keeps every loaded module in memory.

mod check;
mod extract;
mod pool;
mod worker;

pub use check::{
    CheckRequest, CheckStatus, ConstantsRun, FdSample, FindingClass, GradientRun, GradientVerdict, PtxStatus,
    RunResult, assess_gradient,
};
pub use extract::{ExtractError, KernelFunctions, cut_functions};
pub use pool::{Pool, PoolCounters, PoolOptions};
pub use worker::{StageSeconds, WorkerCommand};

/// The worker script, shipped inside the binary: `worker.py` (checks), `worker_constants.py` (the
/// constant-sensitivity check), `worker_eval.py` (the `eval` op of `warpsmith eval`) and `worker_main.py` (the
/// protocol loop), joined in that order.
pub const WORKER_PY: &str = concat!(
    include_str!("worker.py"),
    include_str!("worker_constants.py"),
    include_str!("worker_eval.py"),
    include_str!("worker_main.py")
);
/// `PYTHONHASHSEED` of every Warp worker. Warp's code generation iterates over sets of names in places (the
/// variables a loop carries), so without a fixed seed the text of a module, and so a record's `cpu_module` and
/// `cuda_module`, depends on the process that emitted it (found by `warpsmith eval` on a `nested_loop` record
/// whose stored module a second process numbered differently). The worker refuses to start under another seed.
pub const PYTHON_HASH_SEED: &str = "0";
/// The protocol version the worker's hello must state.
pub const PROTOCOL: u32 = 2;
/// The exact `warp-lang` version warpsmith is pinned to (DESIGN.md).
pub const WARP_VERSION: &str = "1.19.0";

/// One kernel for the oracle.
#[derive(Clone, Debug)]
pub struct Job {
    /// The kernel's function name in `source`.
    pub name: String,
    /// The complete Python module text.
    pub source: String,
    /// Execute it too (compile for the CPU, launch, backward, PTX); `None`: code generation only.
    pub check: Option<CheckRequest>,
}

/// What Warp emitted for a kernel.
#[derive(Clone, Debug, PartialEq)]
pub struct Modules {
    /// The CPU translation unit (block_dim 1).
    pub cpu_module: String,
    /// The CUDA translation unit (sm_80, block_dim 256).
    pub cuda_module: String,
    /// The execution checks, when the job asked for them.
    pub run: Option<RunResult>,
    /// The PTX NVRTC made of `cuda_module` for sm_80, when asked for (`PoolOptions::store_ptx`).
    pub ptx: Option<String>,
}

/// Why a kernel has no oracle output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FailureReason {
    /// Warp refused the kernel during code generation (a generator bug).
    Codegen,
    /// The Python module did not import, or defined no such kernel.
    Import,
    /// The worker process exited while holding the kernel (twice).
    WorkerCrash,
    /// The worker did not answer within the timeout (twice).
    Timeout,
    /// The worker printed something that is not a protocol line (twice).
    Protocol,
    /// The worker reported an internal error.
    Internal,
    /// The kernel did not compile for the CPU or failed to launch.
    Run,
    /// NVRTC did not compile the CUDA module to PTX.
    Ptx,
    /// With `--device cuda`: the CUDA launch disagreed with the CPU (a finding about Warp).
    CudaMismatch,
    /// The standalone CUDA emitter has no translation for a construct (an emitter gap).
    StandaloneEmit,
    /// nvcc did not compile the standalone translation (an emitter bug).
    StandaloneCompile,
    /// The standalone translation's host build did not reproduce Warp's outputs (an emitter bug).
    StandaloneEquivalence,
    /// With `--device cuda`: the standalone translation built by nvcc disagreed with Warp on the GPU.
    StandaloneGpu,
}

impl FailureReason {
    /// A stable snake_case name for summaries and files.
    pub fn name(self) -> &'static str {
        match self {
            FailureReason::Codegen => "codegen",
            FailureReason::Import => "import",
            FailureReason::WorkerCrash => "worker_crash",
            FailureReason::Timeout => "timeout",
            FailureReason::Protocol => "protocol",
            FailureReason::Internal => "internal",
            FailureReason::Run => "run",
            FailureReason::Ptx => "ptx",
            FailureReason::CudaMismatch => "cuda_mismatch",
            FailureReason::StandaloneEmit => "standalone_emit",
            FailureReason::StandaloneCompile => "standalone_compile",
            FailureReason::StandaloneEquivalence => "standalone_equivalence",
            FailureReason::StandaloneGpu => "standalone_gpu",
        }
    }
}

/// A kernel the oracle could not process, with everything needed to reproduce the problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The class of failure.
    pub reason: FailureReason,
    /// The error message (Warp's exception, or what the supervisor saw).
    pub message: String,
    /// Warp's traceback, when it raised.
    pub traceback: String,
    /// The last lines the worker wrote to stderr.
    pub stderr_tail: String,
    /// How many times the kernel was sent (1, or 2 after a retry).
    pub attempts: u32,
}

/// The oracle's answer for one job.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Warp generated both modules.
    Ok(Box<Modules>),
    /// No output; see the failure.
    Failed(Failure),
}

/// Errors that stop a run before any kernel is processed.
#[derive(Debug, thiserror::Error)]
pub enum OracleError {
    /// The worker program could not be started.
    #[error("cannot start the Warp worker `{program}`: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The worker started but refused to serve (wrong Warp version, Warp not importable, ...).
    #[error("the Warp worker refused to start: {message}{}", stderr_suffix(.stderr_tail))]
    Refused {
        /// Its message.
        message: String,
        /// The tail of its stderr.
        stderr_tail: String,
    },
    /// The worker's hello did not arrive or did not match the protocol.
    /// The worker's scratch directory could not be made.
    #[error("cannot create a scratch directory for a Warp worker in {path}: {source}")]
    Scratch {
        /// The directory it was to be made in.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    #[error("the Warp worker failed its handshake: {message}{}", stderr_suffix(.stderr_tail))]
    Handshake {
        /// What went wrong.
        message: String,
        /// The tail of its stderr.
        stderr_tail: String,
    },
}

fn stderr_suffix(tail: &str) -> String {
    if tail.trim().is_empty() {
        String::new()
    } else {
        format!("\n--- worker stderr (last lines) ---\n{}", tail.trim_end())
    }
}
