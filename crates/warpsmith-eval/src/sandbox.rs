//! The sandbox a completion is compiled and run in: one child process with resource limits, its own session and
//! process group, no network, a filesystem view limited to what the Warp worker needs, and a denylist of system
//! calls. Linux only.
//!
//! What each layer stops (each is tested by an adversarial completion in `tests/eval.rs`):
//! - **rlimits** (`setrlimit(2)`): CPU seconds (`RLIMIT_CPU`, then SIGKILL), address space (`RLIMIT_AS`: an
//!   allocation past it fails), file size (`RLIMIT_FSIZE`), open files, no core dumps.
//! - **wall clock**: past [`Limits::wall`] the whole process group gets SIGKILL (a sleeping or blocked child uses
//!   no CPU time).
//! - **filesystem** (Landlock, Linux 5.13+; `landlock(7)`): reads only under [`Policy::readable`] (the Python
//!   interpreter, the Warp environment, system libraries), writes only under [`Policy::writable`] (the child's
//!   own empty directory). The dataset, the user's home and `/etc` are not readable.
//! - **network**: a new network namespace (as root: `unshare(CLONE_NEWNET)`; otherwise
//!   `CLONE_NEWUSER | CLONE_NEWNET` where unprivileged user namespaces are enabled), Landlock's TCP rules
//!   (Linux 6.7+: no TCP bind or connect), and seccomp (no `socket` or `socketpair` at all: neither Warp's worker
//!   nor a kernel needs one, and a Unix socket of a host daemon would be as open to a root child as the network).
//! - **processes** (seccomp, `seccomp(2)`): no `fork`, `vfork` or `clone` without `CLONE_THREAD` (threads are
//!   allowed; `clone3` answers `ENOSYS` so the C library falls back to `clone`), no signals to other processes
//!   (`kill`, `tkill`, `tgkill`), no `ptrace`, no raising of limits, no mounts, namespaces, modules or reboots.
//!   Also denied: device nodes (`mknod`, and Landlock's make-device rights), `pidfd` and queued signals,
//!   `iopl`/`ioperm`, host name and clock changes, `io_uring` (which would bypass the socket rule), real-time
//!   scheduling, the kernel keyring, and every x32 system call. `RLIMIT_NPROC` does not bind root, so the fork
//!   ban is what stops a fork bomb. A root child keeps root's file ownership: what Landlock leaves writable (its
//!   scratch directory) it can fill up to `RLIMIT_FSIZE` per file within its CPU time (no disk quota).
//!
//! Errors from setting any layer up make the spawn fail ([`SandboxError::Spawn`]): a completion never runs with
//! fewer layers than asked for, except the network namespace, which is taken where the OS allows it
//! ([`Isolation`]) and backed by the seccomp and Landlock network rules everywhere.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use landlock::{
    ABI, Access, AccessFs, AccessNet, PathBeneath, PathFd, Ruleset, RulesetAttr, RulesetCreated, RulesetCreatedAttr,
    RulesetStatus,
};
use nix::sys::resource::{Resource, setrlimit};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule, TargetArch,
};

/// Resource limits of one sandboxed child.
#[derive(Clone, Debug)]
pub struct Limits {
    /// CPU seconds (`RLIMIT_CPU`; SIGXCPU at the soft limit, SIGKILL one second later).
    pub cpu_seconds: u64,
    /// Address space in bytes (`RLIMIT_AS`). Warp's worker with its CPU compiler reserves about 2 GiB.
    pub memory_bytes: u64,
    /// Largest file the child may write, in bytes (`RLIMIT_FSIZE`).
    pub file_bytes: u64,
    /// Open file descriptors (`RLIMIT_NOFILE`).
    pub open_files: u64,
    /// Wall-clock limit from spawn to exit; then SIGKILL to the process group.
    pub wall: Duration,
    /// Bytes of stdout and of stderr kept (the rest is read and dropped).
    pub output_bytes: usize,
}

impl Default for Limits {
    /// 60 CPU seconds, 8 GiB of address space, 256 MiB files, 1,024 descriptors, 120 s of wall time, 16 MiB of
    /// output: room for one kernel's compile and launches (about 3 CPU seconds and 2 GiB of address space).
    fn default() -> Self {
        Limits {
            cpu_seconds: 60,
            memory_bytes: 8 << 30,
            file_bytes: 256 << 20,
            open_files: 1024,
            wall: Duration::from_secs(120),
            output_bytes: 16 << 20,
        }
    }
}

/// What the child may see and use.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    /// Directories and files readable (and executable) from inside: everything beneath each.
    pub readable: Vec<PathBuf>,
    /// Directories readable and writable from inside (the child's own scratch directory).
    pub writable: Vec<PathBuf>,
    /// Resource limits.
    pub limits: Limits,
    /// Lets the child start processes (a compiler driver runs its stages as children); the rest of the
    /// system-call denylist stays. For compiling untrusted source, never for running it.
    pub allow_processes: bool,
    /// Requires a new network namespace: the spawn fails without one. Set it from [`isolation`]
    /// ([`Isolation::Namespace`]); without it the system-call rules alone keep the network out.
    pub network_namespace: bool,
}

/// How the network is cut, decided once per process from the privileges it has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isolation {
    /// A new network namespace (only a loopback device, down), plus the seccomp and Landlock rules.
    Namespace,
    /// No namespace could be made (not root, no unprivileged user namespaces): seccomp (no `AF_INET`,
    /// `AF_INET6`, netlink or packet sockets) and Landlock's TCP rules only.
    SyscallRules,
}

/// A child that ran (or was stopped).
#[derive(Debug)]
pub struct Finished {
    /// Its exit status.
    pub status: ExitStatus,
    /// True when the wall-clock limit stopped it.
    pub timed_out: bool,
    /// Its standard output, at most [`Limits::output_bytes`].
    pub stdout: Vec<u8>,
    /// Its standard error, at most [`Limits::output_bytes`].
    pub stderr: Vec<u8>,
    /// Wall time from spawn to exit.
    pub wall: Duration,
}

/// A sandbox could not be set up or the child could not be started or waited for.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// Landlock's ruleset could not be built (no Landlock in this kernel, or a path could not be opened).
    #[error("landlock: {0}")]
    Landlock(String),
    /// The seccomp filter could not be compiled for this architecture.
    #[error("seccomp: {0}")]
    Seccomp(String),
    /// Spawning failed, including a layer that could not be applied in the child.
    #[error("starting the sandboxed child: {0}")]
    Spawn(std::io::Error),
    /// Waiting for the child or reading its output failed.
    #[error("waiting for the sandboxed child: {0}")]
    Wait(std::io::Error),
}

/// The network isolation this process can give its children: a namespace when it runs as root or can make an
/// unprivileged user namespace (probed with a forked child), else system-call rules only.
pub fn isolation() -> Isolation {
    if nix::unistd::geteuid().is_root() {
        return Isolation::Namespace;
    }
    let mut probe = Command::new("/bin/true");
    probe.stdout(Stdio::null()).stderr(Stdio::null());
    // SAFETY: unshare(2) in the forked child before exec; no allocation
    unsafe {
        probe.pre_exec(|| {
            use nix::sched::{CloneFlags, unshare};
            unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNET).map_err(std::io::Error::from)
        });
    }
    match probe.status() {
        Ok(s) if s.success() => Isolation::Namespace,
        _ => Isolation::SyscallRules,
    }
}

const LANDLOCK_ABI: ABI = ABI::V5;

fn ruleset(policy: &Policy) -> Result<RulesetCreated, SandboxError> {
    let err = |e: landlock::RulesetError| SandboxError::Landlock(e.to_string());
    // every right this kernel's Landlock knows (best effort: the child refuses to run when nothing is enforced);
    // TCP rules where the kernel has them (Linux 6.7+), the namespace and seccomp cover the rest
    let mut rs = Ruleset::default()
        .handle_access(AccessFs::from_all(LANDLOCK_ABI))
        .map_err(err)?
        .handle_access(AccessNet::from_all(LANDLOCK_ABI))
        .map_err(err)?
        .create()
        .map_err(err)?;
    // no device nodes, sockets or FIFOs even in the scratch directory: a device node of the host's disk would
    // give a root child everything Landlock keeps from it
    let special = AccessFs::MakeChar | AccessFs::MakeBlock | AccessFs::MakeSock | AccessFs::MakeFifo;
    let writable = AccessFs::from_all(LANDLOCK_ABI) & !special;
    for (paths, access) in [(&policy.readable, AccessFs::from_read(LANDLOCK_ABI)), (&policy.writable, writable)] {
        for p in paths.iter().filter(|p| p.exists()) {
            let fd = PathFd::new(p).map_err(|e| SandboxError::Landlock(format!("{}: {e}", p.display())))?;
            // a file gets the file rights of `access` only
            let access = if p.is_dir() { access } else { access & AccessFs::from_file(LANDLOCK_ABI) };
            rs = rs.add_rule(PathBeneath::new(fd, access)).map_err(err)?;
        }
    }
    Ok(rs)
}

/// The seccomp programs: the denylist (`EPERM`), `clone3` (`ENOSYS`, so the C library uses `clone`, whose
/// flags a filter can read) and every x32 system call (numbers with bit 30 set, which a list of x86-64 numbers
/// would not match).
fn seccomp_programs(allow_processes: bool) -> Result<[BpfProgram; 3], SandboxError> {
    let err = |e: &dyn std::fmt::Display| SandboxError::Seccomp(e.to_string());
    let arch = TargetArch::try_from(std::env::consts::ARCH).map_err(|e| err(&e))?;
    let mut deny: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    let forks: &[i64] = if allow_processes { &[] } else { &[libc_sys::FORK, libc_sys::VFORK] };
    for &sc in forks.iter().chain(&[
        libc_sys::KILL,
        libc_sys::TKILL,
        libc_sys::TGKILL,
        libc_sys::PTRACE,
        libc_sys::PROCESS_VM_READV,
        libc_sys::PROCESS_VM_WRITEV,
        libc_sys::SETRLIMIT,
        libc_sys::PRLIMIT64,
        libc_sys::MOUNT,
        libc_sys::UMOUNT2,
        libc_sys::PIVOT_ROOT,
        libc_sys::CHROOT,
        libc_sys::UNSHARE,
        libc_sys::SETNS,
        libc_sys::REBOOT,
        libc_sys::KEXEC_LOAD,
        libc_sys::INIT_MODULE,
        libc_sys::FINIT_MODULE,
        libc_sys::DELETE_MODULE,
        libc_sys::BPF,
        libc_sys::PERF_EVENT_OPEN,
        libc_sys::SETTIMEOFDAY,
        libc_sys::CLOCK_SETTIME,
        libc_sys::SWAPON,
        libc_sys::SWAPOFF,
        libc_sys::SOCKET,
        libc_sys::SOCKETPAIR,
        libc_sys::MKNOD,
        libc_sys::MKNODAT,
        libc_sys::PIDFD_SEND_SIGNAL,
        libc_sys::PIDFD_OPEN,
        libc_sys::PIDFD_GETFD,
        libc_sys::RT_SIGQUEUEINFO,
        libc_sys::RT_TGSIGQUEUEINFO,
        libc_sys::IOPL,
        libc_sys::IOPERM,
        libc_sys::SETHOSTNAME,
        libc_sys::SETDOMAINNAME,
        libc_sys::ADJTIMEX,
        libc_sys::CLOCK_ADJTIME,
        libc_sys::IO_URING_SETUP,
        libc_sys::IO_URING_ENTER,
        libc_sys::IO_URING_REGISTER,
        libc_sys::SCHED_SETSCHEDULER,
        libc_sys::SCHED_SETPARAM,
        libc_sys::SCHED_SETATTR,
        libc_sys::KEYCTL,
        libc_sys::ADD_KEY,
        libc_sys::REQUEST_KEY,
    ]) {
        deny.insert(sc, Vec::new());
    }
    // clone without CLONE_THREAD: a new process
    let new_process =
        SeccompCondition::new(0, SeccompCmpArgLen::Qword, SeccompCmpOp::MaskedEq(libc_sys::CLONE_THREAD), 0)
            .map_err(|e| err(&e))?;
    if !allow_processes {
        deny.insert(libc_sys::CLONE, vec![SeccompRule::new(vec![new_process]).map_err(|e| err(&e))?]);
    }
    let denylist = SeccompFilter::new(deny, SeccompAction::Allow, SeccompAction::Errno(libc_sys::EPERM), arch)
        .map_err(|e| err(&e))?;
    let clone3 = SeccompFilter::new(
        BTreeMap::from([(libc_sys::CLONE3, Vec::new())]),
        SeccompAction::Allow,
        SeccompAction::Errno(libc_sys::ENOSYS),
        arch,
    )
    .map_err(|e| err(&e))?;
    Ok([
        BpfProgram::try_from(denylist).map_err(|e| err(&e))?,
        BpfProgram::try_from(clone3).map_err(|e| err(&e))?,
        x32_program(),
    ])
}

/// `nr >= 0x4000_0000` (the x32 ABI's numbers on x86-64) answers `EPERM`, anything else is allowed; classic BPF
/// as in `seccomp(2)`: load `seccomp_data.nr` (offset 0), compare, return.
fn x32_program() -> BpfProgram {
    const LD_W_ABS: u16 = 0x20;
    const JGE_K: u16 = 0x35;
    const RET_K: u16 = 0x06;
    const RET_ERRNO: u32 = 0x0005_0000;
    const RET_ALLOW: u32 = 0x7fff_0000;
    let ins = |code, jt, jf, k| seccompiler::sock_filter { code, jt, jf, k };
    vec![
        ins(LD_W_ABS, 0, 0, 0),
        ins(JGE_K, 0, 1, 0x4000_0000),
        ins(RET_K, 0, 0, RET_ERRNO | libc_sys::EPERM),
        ins(RET_K, 0, 0, RET_ALLOW),
    ]
}

/// System call numbers and constants (x86-64 and aarch64 Linux), from the kernel's `unistd.h` tables; kept here
/// rather than adding the `libc` crate for twenty numbers.
#[allow(missing_docs)]
mod libc_sys {
    pub const CLONE_THREAD: u64 = 0x0001_0000;
    pub const EPERM: u32 = 1;
    pub const ENOSYS: u32 = 38;
    #[cfg(target_arch = "x86_64")]
    mod nr {
        pub const FORK: i64 = 57;
        pub const VFORK: i64 = 58;
        pub const CLONE: i64 = 56;
        pub const CLONE3: i64 = 435;
        pub const KILL: i64 = 62;
        pub const TKILL: i64 = 200;
        pub const TGKILL: i64 = 234;
        pub const PTRACE: i64 = 101;
        pub const PROCESS_VM_READV: i64 = 310;
        pub const PROCESS_VM_WRITEV: i64 = 311;
        pub const SETRLIMIT: i64 = 160;
        pub const PRLIMIT64: i64 = 302;
        pub const MOUNT: i64 = 165;
        pub const UMOUNT2: i64 = 166;
        pub const PIVOT_ROOT: i64 = 155;
        pub const CHROOT: i64 = 161;
        pub const UNSHARE: i64 = 272;
        pub const SETNS: i64 = 308;
        pub const REBOOT: i64 = 169;
        pub const KEXEC_LOAD: i64 = 246;
        pub const INIT_MODULE: i64 = 175;
        pub const FINIT_MODULE: i64 = 313;
        pub const DELETE_MODULE: i64 = 176;
        pub const BPF: i64 = 321;
        pub const PERF_EVENT_OPEN: i64 = 298;
        pub const SETTIMEOFDAY: i64 = 164;
        pub const CLOCK_SETTIME: i64 = 227;
        pub const SWAPON: i64 = 167;
        pub const SWAPOFF: i64 = 168;
        pub const SOCKET: i64 = 41;
        pub const SOCKETPAIR: i64 = 53;
        pub const MKNOD: i64 = 133;
        pub const MKNODAT: i64 = 259;
        pub const PIDFD_SEND_SIGNAL: i64 = 424;
        pub const PIDFD_OPEN: i64 = 434;
        pub const PIDFD_GETFD: i64 = 438;
        pub const RT_SIGQUEUEINFO: i64 = 129;
        pub const RT_TGSIGQUEUEINFO: i64 = 297;
        pub const IOPL: i64 = 172;
        pub const IOPERM: i64 = 173;
        pub const SETHOSTNAME: i64 = 170;
        pub const SETDOMAINNAME: i64 = 171;
        pub const ADJTIMEX: i64 = 159;
        pub const CLOCK_ADJTIME: i64 = 305;
        pub const IO_URING_SETUP: i64 = 425;
        pub const IO_URING_ENTER: i64 = 426;
        pub const IO_URING_REGISTER: i64 = 427;
        pub const SCHED_SETSCHEDULER: i64 = 144;
        pub const SCHED_SETPARAM: i64 = 142;
        pub const SCHED_SETATTR: i64 = 314;
        pub const KEYCTL: i64 = 250;
        pub const ADD_KEY: i64 = 248;
        pub const REQUEST_KEY: i64 = 249;
    }
    #[cfg(target_arch = "aarch64")]
    mod nr {
        // aarch64 has no fork or vfork system call (the C library uses clone)
        pub const FORK: i64 = -10_001;
        pub const VFORK: i64 = -10_002;
        pub const CLONE: i64 = 220;
        pub const CLONE3: i64 = 435;
        pub const KILL: i64 = 129;
        pub const TKILL: i64 = 130;
        pub const TGKILL: i64 = 131;
        pub const PTRACE: i64 = 117;
        pub const PROCESS_VM_READV: i64 = 270;
        pub const PROCESS_VM_WRITEV: i64 = 271;
        pub const SETRLIMIT: i64 = 164;
        pub const PRLIMIT64: i64 = 261;
        pub const MOUNT: i64 = 40;
        pub const UMOUNT2: i64 = 39;
        pub const PIVOT_ROOT: i64 = 41;
        pub const CHROOT: i64 = 51;
        pub const UNSHARE: i64 = 97;
        pub const SETNS: i64 = 268;
        pub const REBOOT: i64 = 142;
        pub const KEXEC_LOAD: i64 = 104;
        pub const INIT_MODULE: i64 = 105;
        pub const FINIT_MODULE: i64 = 273;
        pub const DELETE_MODULE: i64 = 106;
        pub const BPF: i64 = 280;
        pub const PERF_EVENT_OPEN: i64 = 241;
        pub const SETTIMEOFDAY: i64 = 170;
        pub const CLOCK_SETTIME: i64 = 112;
        pub const SWAPON: i64 = 224;
        pub const SWAPOFF: i64 = 225;
        pub const SOCKET: i64 = 198;
        pub const SOCKETPAIR: i64 = 199;
        // no mknod, iopl or ioperm on aarch64
        pub const MKNOD: i64 = -10_003;
        pub const MKNODAT: i64 = 33;
        pub const PIDFD_SEND_SIGNAL: i64 = 424;
        pub const PIDFD_OPEN: i64 = 434;
        pub const PIDFD_GETFD: i64 = 438;
        pub const RT_SIGQUEUEINFO: i64 = 138;
        pub const RT_TGSIGQUEUEINFO: i64 = 240;
        pub const IOPL: i64 = -10_004;
        pub const IOPERM: i64 = -10_005;
        pub const SETHOSTNAME: i64 = 161;
        pub const SETDOMAINNAME: i64 = 162;
        pub const ADJTIMEX: i64 = 171;
        pub const CLOCK_ADJTIME: i64 = 266;
        pub const IO_URING_SETUP: i64 = 425;
        pub const IO_URING_ENTER: i64 = 426;
        pub const IO_URING_REGISTER: i64 = 427;
        pub const SCHED_SETSCHEDULER: i64 = 119;
        pub const SCHED_SETPARAM: i64 = 118;
        pub const SCHED_SETATTR: i64 = 274;
        pub const KEYCTL: i64 = 219;
        pub const ADD_KEY: i64 = 217;
        pub const REQUEST_KEY: i64 = 218;
    }
    pub use nr::*;
}

fn read_capped(mut r: impl Read, cap: usize) -> std::io::Result<Vec<u8>> {
    let mut kept = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok(kept);
        }
        let room = cap.saturating_sub(kept.len());
        kept.extend_from_slice(&buf[..n.min(room)]);
    }
}

/// Runs `cmd` in the sandbox of `policy` with `stdin` as its standard input; returns when it exits or when the
/// wall-clock limit has stopped it. The child's stdout and stderr are captured (capped); its process group is
/// killed on return, so nothing it started outlives it.
///
/// # Errors
/// [`SandboxError`] when a layer cannot be built or applied, or the child cannot be started or waited for. A
/// child that crashes, is killed or times out is not an error: see [`Finished`].
pub fn run(mut cmd: Command, stdin: &[u8], policy: &Policy) -> Result<Finished, SandboxError> {
    let mut rules = Some(ruleset(policy)?);
    let programs = seccomp_programs(policy.allow_processes)?;
    let limits = policy.limits.clone();
    let root = nix::unistd::geteuid().is_root();
    let namespace = policy.network_namespace;
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    // SAFETY: only system calls between fork and exec (no allocation on the success path): setsid, prctl,
    // setrlimit, unshare, landlock_restrict_self and seccomp
    unsafe {
        cmd.pre_exec(move || {
            use nix::sched::{CloneFlags, unshare};
            let io = std::io::Error::from;
            nix::unistd::setsid().map_err(io)?;
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(io)?;
            setrlimit(Resource::RLIMIT_CPU, limits.cpu_seconds, limits.cpu_seconds + 1).map_err(io)?;
            setrlimit(Resource::RLIMIT_AS, limits.memory_bytes, limits.memory_bytes).map_err(io)?;
            setrlimit(Resource::RLIMIT_FSIZE, limits.file_bytes, limits.file_bytes).map_err(io)?;
            setrlimit(Resource::RLIMIT_NOFILE, limits.open_files, limits.open_files).map_err(io)?;
            setrlimit(Resource::RLIMIT_CORE, 0, 0).map_err(io)?;
            if namespace && root {
                unshare(CloneFlags::CLONE_NEWNET).map_err(io)?;
            } else if namespace {
                unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNET).map_err(io)?;
            }
            let status = rules
                .take()
                .ok_or_else(|| std::io::Error::other("the Landlock ruleset was already used"))?
                .restrict_self()
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            if status.ruleset == RulesetStatus::NotEnforced {
                return Err(std::io::Error::other("Landlock is not enforced by this kernel"));
            }
            for p in &programs {
                seccompiler::apply_filter(p).map_err(|e| std::io::Error::other(e.to_string()))?;
            }
            Ok(())
        });
    }
    let start = Instant::now();
    let mut child = cmd.spawn().map_err(SandboxError::Spawn)?;
    let pgid = Pid::from_raw(child.id() as i32);
    let input = stdin.to_vec();
    let mut pipe_in = child.stdin.take();
    let writer = std::thread::spawn(move || {
        // a child that exits early closes the pipe: not an error of the sandbox
        if let Some(p) = pipe_in.as_mut() {
            let _ = p.write_all(&input);
        }
    });
    let cap = limits.output_bytes;
    let out = child.stdout.take().map(|o| std::thread::spawn(move || read_capped(o, cap)));
    let err = child.stderr.take().map(|e| std::thread::spawn(move || read_capped(e, cap)));
    let mut timed_out = false;
    let status = loop {
        if let Some(s) = child.try_wait().map_err(SandboxError::Wait)? {
            break s;
        }
        if start.elapsed() >= limits.wall {
            timed_out = true;
            let _ = killpg(pgid, Signal::SIGKILL);
            break child.wait().map_err(SandboxError::Wait)?;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let wall = start.elapsed();
    // anything left in the group (it may not fork, but a thread of an exiting process may linger)
    let _ = killpg(pgid, Signal::SIGKILL);
    let _ = writer.join();
    let join = |h: Option<std::thread::JoinHandle<std::io::Result<Vec<u8>>>>| -> Result<Vec<u8>, SandboxError> {
        match h {
            None => Ok(Vec::new()),
            Some(h) => h
                .join()
                .map_err(|_| SandboxError::Wait(std::io::Error::other("an output reader panicked")))?
                .map_err(SandboxError::Wait),
        }
    };
    Ok(Finished { status, timed_out, stdout: join(out)?, stderr: join(err)?, wall })
}
