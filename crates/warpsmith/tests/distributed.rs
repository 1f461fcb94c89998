//! Split runs (issue 17): parts computed with `generate --blocks K/N` and committed by `merge` give the bytes of
//! a one-machine `generate`, whatever the order the parts are given in and however a part was interrupted;
//! parts of another run, overlapping parts and missing blocks are refused by name.
//!
//! The runs are `--verify codegen` (seconds) with one category, small kernels and a low near-duplicate
//! threshold, so that many candidates collide across blocks and the merge's commit regenerates slots, as
//! a one-machine commit does.

mod common;

use std::path::Path;
use std::process::Output;

use common::{bin, parquet_bytes, python};

const RUN: [&str; 16] = [
    "--verify",
    "codegen",
    "--count",
    "60",
    "--block-size",
    "15",
    "--seed",
    "5",
    "--categories",
    "arithmetic=1",
    "--max-statements",
    "4",
    "--max-expr-depth",
    "1",
    "--near-dup-threshold",
    "0.3",
];

fn warpsmith(args: &[&str], out: &Path, env: &[(&str, &str)]) -> Output {
    let mut c = bin();
    c.args(args).arg("--out").arg(out).arg("--workers").arg("1").arg("--python").arg(python());
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run warpsmith")
}

fn generate(out: &Path, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let args: Vec<&str> = ["generate"].iter().chain(RUN.iter()).chain(extra.iter()).copied().collect();
    warpsmith(&args, out, env)
}

fn merge(out: &Path, parts: &[&Path]) -> Output {
    let mut c = bin();
    c.arg("merge").arg("--out").arg(out).arg("--workers").arg("1").arg("--python").arg(python());
    c.args(parts);
    c.output().expect("run merge")
}

fn ok(o: Output) -> Output {
    assert!(o.status.success(), "failed ({:?}):\n{}", o.status, String::from_utf8_lossy(&o.stderr));
    o
}

#[test]
fn merged_parts_are_byte_identical_to_one_machine_in_any_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let one = ok(generate(&d.join("one"), &[], &[]));
    let summary = String::from_utf8_lossy(&one.stderr).to_string();
    // the commit regenerated slots that collided with earlier blocks' records
    assert!(!summary.contains("duplicates dropped: 0 exact, 0 near"), "{summary}");
    // three parts of four blocks: part 0 has blocks 0 and 3
    for k in 0..3 {
        ok(generate(&d.join(format!("p{k}")), &["--blocks", &format!("{k}/3")], &[]));
    }
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("p0/.warpsmith/part.json")).expect("part.json")).expect("json");
    let blocks: Vec<u64> =
        state["blocks"].as_array().expect("blocks").iter().filter_map(|b| b["index"].as_u64()).collect();
    assert_eq!(blocks, vec![0, 3]);
    let want = parquet_bytes(&d.join("one"));
    assert_eq!(want.len(), 2, "train and test shards");
    ok(merge(&d.join("m1"), &[&d.join("p2"), &d.join("p0"), &d.join("p1")]));
    assert_eq!(parquet_bytes(&d.join("m1")), want, "merged p2 p0 p1");
    ok(merge(&d.join("m2"), &[&d.join("p1"), &d.join("p2"), &d.join("p0")]));
    assert_eq!(parquet_bytes(&d.join("m2")), want, "merged p1 p2 p0");
    // the merged dataset passes validate
    let v = bin().arg("validate").arg(d.join("m1")).output().expect("validate");
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stdout));
}

#[test]
fn a_part_killed_mid_run_resumes_and_merges_to_the_same_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    ok(generate(&d.join("one"), &[], &[]));
    // part 0/2 (blocks 0 and 2) killed after its second block is stored, before part.json lists it
    let killed = generate(&d.join("p0"), &["--blocks", "0/2"], &[("WARPSMITH_FAULT", "part-block-saved:kill:2")]);
    assert!(!killed.status.success(), "the fault point killed the part");
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("p0/.warpsmith/part.json")).expect("part.json")).expect("json");
    let listed: Vec<u64> =
        state["blocks"].as_array().expect("blocks").iter().filter_map(|b| b["index"].as_u64()).collect();
    assert_eq!(listed, vec![0], "{state}");
    assert!(d.join("p0/.warpsmith/blocks/00002/computed.parquet").exists(), "block 2 stored, not listed");
    // an unfinished part is refused by the merge, naming the block it lacks
    ok(generate(&d.join("p1"), &["--blocks", "1/2"], &[]));
    let early = merge(&d.join("m"), &[&d.join("p0"), &d.join("p1")]);
    assert_eq!(early.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&early.stderr).contains("no part holds block(s) 2 of 4"), "{early:?}");
    ok(generate(&d.join("p0"), &["--blocks", "0/2"], &[]));
    ok(merge(&d.join("m"), &[&d.join("p1"), &d.join("p0")]));
    assert_eq!(parquet_bytes(&d.join("m")), parquet_bytes(&d.join("one")));
}

#[test]
fn parts_of_another_run_overlapping_parts_and_foreign_directories_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    ok(generate(&d.join("p0"), &["--blocks", "0/2"], &[]));
    ok(generate(&d.join("p1"), &["--blocks", "1/2"], &[]));
    let other: Vec<&str> = ["generate"]
        .iter()
        .chain(RUN.iter())
        .map(|a| if *a == "5" { "6" } else { *a })
        .chain(["--blocks", "1/2"])
        .collect();
    ok(warpsmith(&other, &d.join("other"), &[]));
    let o = merge(&d.join("m"), &[&d.join("p0"), &d.join("other")]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("belongs to another run") && err.contains("seed: 5 vs 6"), "{err}");
    let o = merge(&d.join("m"), &[&d.join("p0"), &d.join("p1"), &d.join("p1")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("parts overlap: block 1 in both"), "{o:?}");
    std::fs::create_dir_all(d.join("junk")).expect("mkdir");
    let o = merge(&d.join("m"), &[&d.join("p0"), &d.join("junk")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is not a warpsmith part"), "{o:?}");
    // nothing was written by the refused merges
    assert!(!d.join("m").join("data").exists());
    // a part directory is not reused for another part, and a dataset directory is not used for a part
    let o = generate(&d.join("p0"), &["--blocks", "1/2"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("blocks: 0/2 vs 1/2"), "{o:?}");
    ok(generate(&d.join("ds"), &[], &[]));
    let o = generate(&d.join("ds"), &["--blocks", "0/2"], &[]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    // K/N is checked by the flag parser
    let o = generate(&d.join("bad"), &["--blocks", "2/2"], &[]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
}

/// The Slurm scripts of `examples/slurm`, run as Slurm runs them (one `generate.sbatch` per array task with
/// `SLURM_ARRAY_TASK_ID`/`SLURM_ARRAY_TASK_COUNT` set, then `merge.sbatch`), give the one-machine bytes. No
/// scheduler is started: CI has none; the scripts' own commands run.
#[test]
fn the_slurm_scripts_give_the_one_machine_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    ok(generate(&d.join("one"), &[], &[]));
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/slurm");
    let shared = d.join("shared");
    let script = |name: &str, task: Option<u32>| {
        let mut c = std::process::Command::new("bash");
        c.arg(scripts.join(name))
            .env("WARPSMITH", env!("CARGO_BIN_EXE_warpsmith"))
            .env("WARPSMITH_OUT", &shared)
            .env("WARPSMITH_ARGS", RUN.join(" "))
            .env("WARPSMITH_PYTHON", python())
            .env("SLURM_CPUS_PER_TASK", "1");
        if let Some(k) = task {
            c.env("SLURM_ARRAY_TASK_ID", k.to_string()).env("SLURM_ARRAY_TASK_COUNT", "3");
        }
        ok(c.output().expect("run bash"))
    };
    // the array tasks in an order a scheduler may pick
    for k in [2, 0, 1] {
        script("generate.sbatch", Some(k));
    }
    script("merge.sbatch", None);
    assert_eq!(parquet_bytes(&shared.join("dataset")), parquet_bytes(&d.join("one")));
    // outside an array job the part script refuses to start
    let o = std::process::Command::new("bash")
        .arg(scripts.join("generate.sbatch"))
        .env("WARPSMITH_OUT", &shared)
        .env_remove("SLURM_ARRAY_TASK_ID")
        .output()
        .expect("run bash");
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("array job"), "{o:?}");
}

/// The command line of process `pid` (NUL-separated arguments joined by spaces), if it still runs.
fn cmdline(pid: u32) -> Option<String> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(String::from_utf8_lossy(&raw).replace('\0', " "))
}

/// The parent PID of process `pid`.
fn parent(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // the fields after the command name, which is in parentheses: state, then the parent PID
    stat.rsplit_once(") ")?.1.split_whitespace().nth(1)?.parse().ok()
}

/// `--engine ray` on a local Ray instance: `WARPSMITH_RAY_COUNT` records (default 400; the closing note of issue
/// 17 gives 800) in 4 blocks as Ray tasks, the Ray worker running block 1 killed with SIGKILL mid-block (Ray
/// retries the task, the part resumes), merged: the bytes of one machine.
#[test]
fn ray_runs_give_the_one_machine_bytes_even_when_a_task_is_killed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let count: u64 = std::env::var("WARPSMITH_RAY_COUNT").ok().and_then(|c| c.parse().ok()).unwrap_or(400);
    let (count, block) = (count.to_string(), (count / 4).max(1).to_string());
    let args = ["--verify", "codegen", "--count", &count, "--block-size", &block, "--seed", "11"];
    let one: Vec<&str> = ["generate"].iter().chain(args.iter()).copied().collect();
    ok(warpsmith(&one, &d.join("one"), &[]));
    let mut c = bin();
    c.arg("generate").args(args).args(["--engine", "ray", "--python"]).arg(python()).arg("--out").arg(d.join("ray"));
    let run =
        c.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped()).spawn().expect("start ray run");
    // find the warpsmith process computing block 1, let it work, then kill the Ray worker that runs it
    let started = std::time::Instant::now();
    let (task, worker) = loop {
        assert!(started.elapsed() < std::time::Duration::from_secs(180), "block 1 never started");
        let found = std::fs::read_dir("/proc").expect("proc").flatten().find_map(|e| {
            let pid: u32 = e.file_name().to_string_lossy().parse().ok()?;
            let cmd = cmdline(pid)?;
            (cmd.contains(" generate ") && cmd.contains("--blocks 1/4")).then_some(pid)
        });
        if let Some(pid) = found {
            std::thread::sleep(std::time::Duration::from_secs(2));
            break (pid, parent(pid).expect("the task's parent"));
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(
        cmdline(worker).is_some_and(|c| !c.contains("warpsmith")),
        "the parent is a Ray worker: {:?}",
        cmdline(worker)
    );
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(worker as i32), nix::sys::signal::Signal::SIGKILL)
        .expect("SIGKILL the Ray worker");
    let out = run.wait_with_output().expect("ray run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // the killed worker's warpsmith died with it (no orphan held the part)
    assert!(cmdline(task).is_none_or(|c| !c.contains("--blocks 1/4")), "the task's warpsmith outlived its worker");
    assert!(stderr.contains("4/4 blocks"), "{stderr}");
    assert_eq!(parquet_bytes(&d.join("ray")), parquet_bytes(&d.join("one")));
    // the parts are gone with the run state
    assert!(!d.join("ray/.warpsmith").exists());
}
