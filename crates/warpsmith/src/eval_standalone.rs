//! `eval --task python-to-standalone-cuda`: the completion's kernel code (everything before its test harness or
//! `main()`) is built with warpsmith's own harness, which launches the record's launcher (`launch_<kernel>`, the
//! contract of the `cuda_standalone` column) on each input set and prints the outputs between markers. It is
//! compiled as host C++ by g++ (and to PTX by nvcc where one is installed) in a sandbox that may start the
//! compiler's stages, then run in the strict sandbox; the evaluator reads the last complete block of outputs and
//! compares it with Warp's. What the completion prints can only add text around that block: to pass it has to
//! print the outputs of the fresh inputs, that is, compute them.

use std::path::{Path, PathBuf};
use std::process::Command;

use warpsmith_ast::Kernel;
use warpsmith_cuda::TestCase;
use warpsmith_cuda::toolchain::{HOST_FLAGS, PTX_ARCH};
use warpsmith_eval::sandbox::{self, Limits, Policy};
use warpsmith_eval::score::Values;
use warpsmith_gen::vectors::LaunchSpec;

/// The comment that opens the test harness of a `cuda_standalone` translation (`warpsmith-cuda`'s
/// `run_test`): the completion is cut there (or at `int run_test(` or `int main(`, whichever comes first).
const HARNESS_START: &str = "// The record's test:";
const BEGIN: &str = "@@warpsmith-eval begin";
const END: &str = "@@warpsmith-eval end";

/// What the standalone task's compilers and binary may read: the system's programs and libraries.
const SYSTEM_DIRS: [&str; 6] = ["/usr", "/lib", "/lib64", "/bin", "/dev/urandom", "/dev/zero"];

/// Tolerance of the standalone translation against Warp (another implementation of the math functions): the
/// dataset's own standalone harness's `rtol = 1e-4, atol = 1e-5` (`warpsmith-cuda` `helpers::HARNESS`).
pub const STANDALONE_TOLERANCE: (f64, f64) = (1e-4, 1e-5);

/// warpsmith's harness for `kernel` on `specs`: one `warpsmith_eval_run_<k>()` per input set printing its
/// outputs, and a `main()` that runs them between the markers. `Err` when the kernel has no standalone
/// translation.
pub fn harness(kernel: &Kernel, specs: &[LaunchSpec]) -> Result<String, String> {
    let mut out = String::new();
    let mut main = format!("int main() {{\n    printf(\"\\n{BEGIN}\\n\");\n");
    for (k, spec) in specs.iter().enumerate() {
        let inputs = spec.inputs();
        let test = TestCase { launch_dim: &spec.launch_dim, inputs: &inputs, expected: None };
        let t = warpsmith_cuda::translate(kernel, &test).map_err(|e| e.to_string())?;
        let start = t.source.find(HARNESS_START).ok_or("the translation has no test harness")?;
        let part = &t.source[start..];
        let part = &part[..part.find("int main(").unwrap_or(part.len())];
        out.push_str(&part.replace("int run_test()", &format!("int warpsmith_eval_run_{k}()")));
        main.push_str(&format!("    printf(\"@@set {k}\\n\");\n    warpsmith_eval_run_{k}();\n"));
    }
    main.push_str(&format!("    printf(\"{END}\\n\");\n    return 0;\n}}\n"));
    Ok(format!("{out}\n{main}"))
}

/// The completion's kernel code: up to its own harness or `main()`.
pub fn kernel_code(code: &str) -> &str {
    let cut = [HARNESS_START, "int run_test(", "int main("].iter().filter_map(|m| code.find(m)).min();
    &code[..cut.unwrap_or(code.len())]
}

/// The outputs of each input set from the last complete block of `stdout`, named and typed as `want`'s.
pub fn parse_outputs(stdout: &str, want: &[Vec<Values>]) -> Result<Vec<Vec<Values>>, String> {
    let begin = stdout.rfind(BEGIN).ok_or("no block of outputs")?;
    let block = &stdout[begin + BEGIN.len()..];
    let block = &block[..block.find(END).ok_or("the block of outputs is not complete")?];
    let mut sets: Vec<Vec<Values>> = Vec::new();
    for line in block.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line.starts_with("@@set ") {
            sets.push(Vec::new());
            continue;
        }
        let (name, vals) = line.split_once(':').ok_or_else(|| format!("unreadable line {line:?}"))?;
        let values: Result<Vec<f64>, _> = vals.split_whitespace().map(str::parse::<f64>).collect();
        let k = sets.len().checked_sub(1).ok_or("outputs before the first set")?;
        let at = sets[k].len();
        let dtype = want.get(k).and_then(|w| w.get(at)).map(|v| v.dtype.clone()).unwrap_or_default();
        sets[k].push(Values { name: name.trim().into(), dtype, values: values.map_err(|e| format!("{line:?}: {e}"))? });
    }
    Ok(sets)
}

/// What one standalone completion did.
pub struct Built {
    /// g++ (and nvcc, where present) compiled it.
    pub compiled: bool,
    /// nvcc's verdict, `None` without nvcc.
    pub ptx: Option<String>,
    /// The outputs per input set, or why there are none.
    pub outputs: Result<Vec<Vec<Values>>, String>,
    /// Wall seconds of the compiles and the run.
    pub seconds: f64,
}

/// Compiles and runs `kernel_code(code) + harness` in the sandbox under `scratch`.
#[allow(clippy::too_many_arguments)]
pub fn build_and_run(
    netns: bool,
    code: &str,
    harness: &str,
    want: &[Vec<Values>],
    nvcc: Option<&Path>,
    scratch: &Path,
    limits: &Limits,
) -> anyhow::Result<Built> {
    use anyhow::Context;
    let dir = tempfile::Builder::new().prefix("warpsmith-eval-").tempdir_in(scratch).context("scratch directory")?;
    let d = dir.path();
    let src = d.join("kernel.cu");
    std::fs::write(&src, format!("{}\n{harness}", kernel_code(code)))
        .with_context(|| format!("writing {}", src.display()))?;
    // the compilers and the binary see the system's directories only (and nvcc its own install): not the Warp
    // environment, which a binary could otherwise run to compute its answer
    let policy = |allow_processes: bool, extra: Option<PathBuf>| {
        let mut readable: Vec<PathBuf> = SYSTEM_DIRS.iter().map(PathBuf::from).collect();
        readable.extend(extra);
        Policy {
            readable,
            writable: vec![d.to_path_buf(), PathBuf::from("/dev/null")],
            limits: limits.clone(),
            allow_processes,
            network_namespace: netns,
        }
    };
    let command = |program: &Path| {
        let mut c = Command::new(program);
        c.current_dir(d).env_clear().env("PATH", "/usr/bin:/bin").env("TMPDIR", d).env("HOME", d);
        c
    };
    let mut seconds = 0.0;
    let mut gxx = command(Path::new("/usr/bin/g++"));
    gxx.args(HOST_FLAGS).arg(&src).arg("-o").arg(d.join("kernel"));
    let built = sandbox::run(gxx, b"", &policy(true, None))?;
    seconds += built.wall.as_secs_f64();
    if !built.status.success() {
        let log = String::from_utf8_lossy(&built.stderr);
        let log: String = log.lines().take(20).collect::<Vec<_>>().join("\n");
        let why = if built.timed_out { "timed out".to_string() } else { log };
        return Ok(Built { compiled: false, ptx: None, outputs: Err(format!("g++: {why}")), seconds });
    }
    let mut ptx = None;
    if let Some(nvcc) = nvcc {
        let root = nvcc.parent().and_then(Path::parent).map(Path::to_path_buf);
        let mut c = command(nvcc);
        c.arg("--ptx").arg(format!("-arch={PTX_ARCH}")).arg(&src).arg("-o").arg(d.join("kernel.ptx"));
        let done = sandbox::run(c, b"", &policy(true, root))?;
        seconds += done.wall.as_secs_f64();
        ptx = Some(if done.status.success() { "passed" } else { "failed" }.to_string());
        if !done.status.success() {
            let log = String::from_utf8_lossy(&done.stderr).lines().take(20).collect::<Vec<_>>().join("\n");
            return Ok(Built { compiled: false, ptx, outputs: Err(format!("nvcc: {log}")), seconds });
        }
    }
    let ran = sandbox::run(command(&d.join("kernel")), b"", &policy(false, None))?;
    seconds += ran.wall.as_secs_f64();
    let stdout = String::from_utf8_lossy(&ran.stdout);
    let outputs = parse_outputs(&stdout, want).and_then(|sets| {
        if sets.len() == want.len() {
            Ok(sets)
        } else if ran.timed_out {
            Err(format!("timed out after {} s", limits.wall.as_secs()))
        } else {
            Err(format!("{} of {} input sets ran ({})", sets.len(), want.len(), ran.status))
        }
    });
    let outputs = outputs.map_err(|e| {
        if ran.timed_out {
            format!("timed out after {} s", limits.wall.as_secs())
        } else {
            format!("{e} ({})", ran.status)
        }
    });
    Ok(Built { compiled: true, ptx, outputs, seconds })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernel_code_ends_at_the_first_harness_part() {
        assert_eq!(kernel_code("a\n// The record's test: x\nint run_test() {}\nint main() {}"), "a\n");
        assert_eq!(kernel_code("a\nint main() {}\nint run_test() {}"), "a\n");
        assert_eq!(kernel_code("a only"), "a only");
    }

    #[test]
    fn outputs_come_from_the_last_complete_block() {
        let want = vec![vec![Values { name: "out".into(), dtype: "int32".into(), values: vec![1.0] }]];
        let fake = format!("{BEGIN}\n@@set 0\nout: 9\n{END}\n");
        let real = format!("{BEGIN}\n@@set 0\nout: 1\n{END}\n");
        let sets = parse_outputs(&format!("{fake}PASS\n{real}"), &want).expect("parses");
        assert_eq!(sets[0][0].values, [1.0]);
        assert_eq!(sets[0][0].dtype, "int32");
        assert!(parse_outputs(&format!("{real}{BEGIN}\n@@set 0\n"), &want).is_err(), "an unfinished last block");
        assert!(parse_outputs("PASS\n", &want).is_err());
    }
}
