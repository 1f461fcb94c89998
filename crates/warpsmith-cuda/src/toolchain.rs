//! Runs the compilers and host binaries that check translations: `nvcc --ptx` for the GPU side, a host C++
//! compiler (g++) for equivalence with Warp's CPU results. Batched: one translation unit per call, and only
//! when a batch fails are its translations compiled or run one by one, to say which one failed and why.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{BATCH_MARKER, Translation, batch_unit};

/// Flags of the host build: C++17, no fused multiply-add contraction (Warp's CPU code is compiled without
/// FMA contraction on x86-64), optimised like a release build.
pub const HOST_FLAGS: &[&str] = &["-std=c++17", "-O1", "-ffp-contract=off", "-x", "c++"];

/// The GPU architecture the PTX check targets (Ampere, as Warp's own PTX check).
pub const PTX_ARCH: &str = "sm_80";

/// Longest a host binary may run before it is killed (a batch of small kernels takes milliseconds).
pub const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// Outcome of one check of one translation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// The check passed.
    Passed,
    /// The check failed; the compiler's or the test's message.
    Failed(String),
    /// The check was not run.
    Skipped,
}

impl Status {
    /// `passed`, `failed` or `skipped`, as in the dataset's `checks`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed(_) => "failed",
            Status::Skipped => "skipped",
        }
    }
}

/// The standalone checks of one translation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// `nvcc --ptx -arch=sm_80`.
    pub compile: Status,
    /// Host build run on the test inputs, compared with Warp's outputs.
    pub equivalence: Status,
    /// With [`Toolchain::gpu`]: the nvcc-built binary run on the GPU, compared with Warp's outputs.
    pub gpu: Status,
}

/// The compilers, and a scratch directory for their files.
#[derive(Clone, Debug)]
pub struct Toolchain {
    /// A host C++ compiler accepting g++'s flags (`g++`, `clang++`), for the equivalence check.
    pub cxx: PathBuf,
    /// nvcc, for the compile check; `None` skips it.
    pub nvcc: Option<PathBuf>,
    /// Where sources and binaries are written (created if missing).
    pub workdir: PathBuf,
    /// Also build each batch with nvcc into a real binary and run it on the GPU (needs a GPU and `nvcc`).
    pub gpu: bool,
}

/// Errors that stop the checks themselves (not a translation's failure).
#[derive(Debug, thiserror::Error)]
pub enum ToolchainError {
    /// Writing a source file or creating the directory failed.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    /// A compiler or binary could not be started at all.
    #[error("cannot run {0}: {1}")]
    Spawn(String, std::io::Error),
}

struct Ran {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn run(cmd: &mut Command, timeout: Duration) -> Result<Ran, ToolchainError> {
    let what = format!("{:?}", cmd.get_program());
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| ToolchainError::Spawn(what.clone(), e))?;
    let mut out_pipe = child.stdout.take();
    let mut err_pipe = child.stderr.take();
    let out_thread = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(p) = out_pipe.as_mut() {
            let _ = p.read_to_string(&mut s);
        }
        s
    });
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(p) = err_pipe.as_mut() {
            let _ = p.read_to_string(&mut s);
        }
        s
    });
    let start = Instant::now();
    let status = loop {
        match child.try_wait().map_err(|e| ToolchainError::Spawn(what.clone(), e))? {
            Some(s) => break Some(s),
            None if start.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    };
    let stdout = out_thread.join().unwrap_or_default();
    let mut stderr = err_thread.join().unwrap_or_default();
    let ok = match status {
        Some(s) => {
            if !s.success() {
                stderr.push_str(&format!("\n[{what} exited with {s}]"));
            }
            s.success()
        }
        None => {
            stderr.push_str(&format!("\n[{what} killed after {} s]", timeout.as_secs()));
            false
        }
    };
    Ok(Ran { ok, stdout, stderr })
}

/// Each test's result from a batch binary's output: [`BATCH_MARKER`] lines, with the lines a failing test printed
/// before its marker as the message; `None` for a test without a marker (the binary died first).
fn parse_markers(stdout: &str, n: usize) -> Vec<Option<Status>> {
    let mut out = vec![None; n];
    let mut pending = String::new();
    for line in stdout.lines() {
        if let Some(rest) = line.strip_prefix(BATCH_MARKER) {
            let mut it = rest.split_whitespace().map(|x| x.parse::<i64>());
            if let (Some(Ok(i)), Some(Ok(bad))) = (it.next(), it.next())
                && let Some(slot) = usize::try_from(i).ok().and_then(|i| out.get_mut(i))
            {
                *slot = Some(if bad == 0 { Status::Passed } else { Status::Failed(pending.clone()) });
            }
            pending.clear();
        } else {
            pending.push_str(line);
            pending.push('\n');
        }
    }
    out
}

/// The last `n` lines of `s`.
fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

impl Toolchain {
    /// A compiler or test binary with `TMPDIR` set to the scratch directory, so what nvcc and g++ leave behind
    /// (temporary files of a compile that was killed) is deleted with it.
    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        c.env("TMPDIR", &self.workdir);
        c
    }

    fn write(&self, name: &str, text: &str) -> Result<PathBuf, ToolchainError> {
        std::fs::create_dir_all(&self.workdir)
            .map_err(|e| ToolchainError::Io(format!("creating {}", self.workdir.display()), e))?;
        let path = self.workdir.join(name);
        std::fs::write(&path, text).map_err(|e| ToolchainError::Io(format!("writing {}", path.display()), e))?;
        Ok(path)
    }

    /// `nvcc --ptx -arch=sm_80` on one source file.
    fn ptx(&self, nvcc: &Path, src: &Path) -> Result<Ran, ToolchainError> {
        let out = src.with_extension("ptx");
        run(
            self.command(nvcc).arg("--ptx").arg(format!("-arch={PTX_ARCH}")).arg(src).arg("-o").arg(&out),
            Duration::from_secs(600),
        )
    }

    /// Host build of one source file into `bin`.
    fn host_build(&self, src: &Path, bin: &Path) -> Result<Ran, ToolchainError> {
        run(self.command(&self.cxx).args(HOST_FLAGS).arg(src).arg("-o").arg(bin).arg("-lm"), Duration::from_secs(600))
    }

    /// Runs both checks on `items` (either may be skipped); one [`Outcome`] per item, in order.
    ///
    /// `tag` names the batch's files in the work directory. Errors only when a compiler cannot be started
    /// or a file cannot be written; a translation that fails a check is an `Outcome`, not an error.
    pub fn check(
        &self,
        items: &[&Translation],
        compile: bool,
        equivalence: bool,
        tag: &str,
    ) -> Result<Vec<Outcome>, ToolchainError> {
        let skipped = Outcome { compile: Status::Skipped, equivalence: Status::Skipped, gpu: Status::Skipped };
        let mut out = vec![skipped; items.len()];
        if items.is_empty() {
            return Ok(out);
        }
        let unit = batch_unit(items);
        let batch_src = self.write(&format!("{tag}.cu"), &unit)?;
        if let (true, Some(nvcc)) = (compile, &self.nvcc) {
            let ran = self.ptx(nvcc, &batch_src)?;
            if ran.ok {
                out.iter_mut().for_each(|o| o.compile = Status::Passed);
            } else {
                for (i, t) in items.iter().enumerate() {
                    let src = self.write(&format!("{tag}-{i}.cu"), &t.source)?;
                    let one = self.ptx(nvcc, &src)?;
                    out[i].compile = if one.ok { Status::Passed } else { Status::Failed(tail(&one.stderr, 30)) };
                }
            }
        }
        if equivalence {
            self.equivalence(items, &batch_src, tag, &mut out)?;
        }
        if let (true, Some(nvcc)) = (self.gpu, &self.nvcc) {
            let bin = self.workdir.join(format!("{tag}.gpu"));
            let built = run(
                self.command(nvcc).args(["-O2", &format!("-arch={PTX_ARCH}")]).arg(&batch_src).arg("-o").arg(&bin),
                Duration::from_secs(600),
            )?;
            let ran = if built.ok { Some(run(&mut self.command(&bin), RUN_TIMEOUT)?) } else { None };
            let statuses = ran.as_ref().map(|r| parse_markers(&r.stdout, items.len())).unwrap_or_default();
            for (i, o) in out.iter_mut().enumerate() {
                o.gpu = match (statuses.get(i), &ran) {
                    (Some(Some(s)), _) => s.clone(),
                    (_, None) => Status::Failed(format!("nvcc build failed:\n{}", tail(&built.stderr, 30))),
                    (_, Some(r)) => Status::Failed(format!("GPU run ended early:\n{}", tail(&r.stderr, 10))),
                };
            }
        }
        Ok(out)
    }

    fn equivalence(
        &self,
        items: &[&Translation],
        batch_src: &Path,
        tag: &str,
        out: &mut [Outcome],
    ) -> Result<(), ToolchainError> {
        let bin = self.workdir.join(format!("{tag}.bin"));
        let built = self.host_build(batch_src, &bin)?;
        let mut done = vec![false; items.len()];
        if built.ok {
            let ran = run(&mut self.command(&bin), RUN_TIMEOUT)?;
            for (i, s) in parse_markers(&ran.stdout, items.len()).into_iter().enumerate() {
                if let Some(s) = s {
                    out[i].equivalence = s;
                    done[i] = true;
                }
            }
        }
        // a batch that did not build, or a binary that died before some markers: one by one
        for (i, t) in items.iter().enumerate() {
            if done[i] {
                continue;
            }
            let src = self.write(&format!("{tag}-{i}.cu"), &t.source)?;
            let bin = self.workdir.join(format!("{tag}-{i}.bin"));
            let b = self.host_build(&src, &bin)?;
            if !b.ok {
                out[i].equivalence = Status::Failed(format!("host build failed:\n{}", tail(&b.stderr, 30)));
                continue;
            }
            let r = run(&mut self.command(&bin), RUN_TIMEOUT)?;
            out[i].equivalence = if r.ok {
                Status::Passed
            } else {
                Status::Failed(format!("{}\n{}", tail(&r.stdout, 10), tail(&r.stderr, 10)))
            };
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_give_each_test_its_status_and_a_failing_tests_own_lines() {
        let stdout = "a: PASS\n@@warpsmith 0 0\n  out[3] = 1, Warp gave 2\nb: FAIL\n@@warpsmith 1 1\n";
        let s = parse_markers(stdout, 3);
        assert_eq!(s[0], Some(Status::Passed));
        assert_eq!(s[1], Some(Status::Failed("  out[3] = 1, Warp gave 2\nb: FAIL\n".into())));
        // the binary died before the third marker
        assert_eq!(s[2], None);
    }
}
