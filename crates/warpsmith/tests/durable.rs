//! Durable runs with real Warp: runs killed (SIGKILL) or interrupted (SIGINT, SIGTERM) at every stage resume to
//! byte-identical Parquet; directories that are not datasets, locked ones and replaced ones are safe; records do
//! not depend on where Warp is installed; nothing is left in TMPDIR or a kernel cache.
//!
//! Faults are raised by the binary on itself at named points (`WARPSMITH_FAULT`, see `warpsmith-run/src/fault.rs`),
//! so each lands exactly where the test means it to; one test also kills a run from outside at a time of its
//! own. `WARPSMITH_DURABLE_COUNT` (default 30) sets the records of the kill test (the closing note of issue 14
//! ran it with 400).

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use warpsmith_dataset::read_records;

mod common;
use common::{bin, parquet_bytes, python};

fn count() -> String {
    std::env::var("WARPSMITH_DURABLE_COUNT").unwrap_or_else(|_| "30".into())
}

/// `generate --verify codegen` with small blocks and shards, so that a run has several blocks and shards
/// that cross block boundaries.
fn generate(out: &Path, seed: u64, env: &[(&str, &str)], extra: &[&str]) -> Output {
    let count = count();
    let count = if extra.contains(&"--count") { &[][..] } else { &["--count", count.as_str()][..] };
    bin()
        .args(["generate", "--verify", "codegen", "--workers", "2", "--block-size", "10", "--shard-rows", "12"])
        .args(count)
        .args(["--seed", &seed.to_string(), "--out"])
        .arg(out)
        .arg("--python")
        .arg(python())
        .args(extra)
        .envs(env.iter().copied())
        .output()
        .expect("run warpsmith generate")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn ok(o: Output) -> Output {
    assert!(o.status.success(), "generate failed ({:?}):\n{}", o.status, stderr(&o));
    o
}

#[test]
fn runs_killed_or_interrupted_at_any_stage_resume_to_byte_identical_parquet() {
    let root = tempfile::tempdir().expect("tempdir");
    let reference = root.path().join("reference");
    ok(generate(&reference, 3, &[], &[]));
    let want = parquet_bytes(&reference);
    assert!(want.len() >= 3, "several shards: {:?}", want.keys());
    let faults = [
        ("start", "kill"),
        ("block-computed:2", "kill"),
        ("shard-write:2", "kill"),
        ("journal-write:2", "kill"),
        ("assemble:2", "kill"),
        ("swap", "kill"),
        ("swap-entry:2", "kill"),
        ("done", "kill"),
        ("block-computed:1", "int"),
        ("shard-write:2", "int"),
        ("block-computed:2", "term"),
    ];
    for (i, (point, signal)) in faults.iter().enumerate() {
        let dir = root.path().join(format!("run{i}"));
        let spec =
            format!("{}:{signal}:{}", point.split(':').next().unwrap_or(point), point.split(':').nth(1).unwrap_or("1"));
        let first = generate(&dir, 3, &[("WARPSMITH_FAULT", &spec)], &[]);
        match *signal {
            "kill" => assert_eq!(first.status.signal(), Some(9), "{spec}: killed by SIGKILL: {}", stderr(&first)),
            _ => {
                assert_eq!(first.status.code(), Some(130), "{spec}: exit 130 after an interrupt: {}", stderr(&first));
                let e = stderr(&first);
                assert!(e.contains("interrupted: ") && e.contains("run the same command to resume"), "{spec}: {e}");
            }
        }
        let again = ok(generate(&dir, 3, &[], &[]));
        assert_eq!(parquet_bytes(&dir), want, "{spec}: the resumed run's Parquet differs: {}", stderr(&again));
        assert!(!dir.join(".warpsmith").exists(), "{spec}: the run state is removed once the dataset is in place");
    }
    // a kill from outside, at whatever point the run has reached after its first commit
    let dir = root.path().join("external");
    let mut child = bin()
        .args(["generate", "--verify", "codegen", "--workers", "2", "--block-size", "10", "--shard-rows", "12"])
        .args(["--count", &count(), "--seed", "3", "--out"])
        .arg(&dir)
        .arg("--python")
        .arg(python())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn generate");
    let journal = dir.join(".warpsmith/journal.json");
    let deadline = Instant::now() + Duration::from_secs(300);
    while Instant::now() < deadline {
        let committed = std::fs::read_to_string(&journal).ok().is_some_and(|j| j.contains("\"blake3\""));
        if committed || child.try_wait().ok().flatten().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().expect("SIGKILL the run");
    let status = child.wait().expect("wait");
    assert!(status.signal() == Some(9) || status.success(), "{status:?}");
    ok(generate(&dir, 3, &[], &[]));
    assert_eq!(parquet_bytes(&dir), want, "resumed after an external SIGKILL");
}

fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(tree(&p));
        } else {
            out.push((p.clone(), std::fs::read(&p).expect("read")));
        }
    }
    out.sort();
    out
}

fn validate(dir: &Path) -> Output {
    bin().arg("validate").arg(dir).args(["--sample", "2", "--python"]).arg(python()).output().expect("validate")
}

#[test]
fn foreign_locked_and_replaced_directories_are_safe() {
    let root = tempfile::tempdir().expect("tempdir");
    // a directory that is not a dataset: refused before any work, every file unchanged
    let foreign = root.path().join("foreign");
    std::fs::create_dir_all(foreign.join("sub")).expect("mkdir");
    std::fs::write(foreign.join("README.md"), "my project\n").expect("write");
    std::fs::write(foreign.join("sub/data.parquet"), "not ours").expect("write");
    let before = tree(&foreign);
    let o = generate(&foreign, 1, &[], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("is not empty and holds no warpsmith dataset"), "{}", stderr(&o));
    assert_eq!(tree(&foreign), before, "nothing in a refused directory changes");
    assert!(!foreign.join(".warpsmith").exists());
    // a file where the directory should be
    let file = root.path().join("file");
    std::fs::write(&file, "x").expect("write");
    let o = generate(&file.join("sub"), 1, &[], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("cannot create"), "{}", stderr(&o));

    // a dataset with outputs of its own
    let ds = root.path().join("ds");
    ok(generate(&ds, 1, &[], &["--count", "12"]));
    for (p, text) in [("stats/report.md", "old report"), ("findings/a.json", "{}"), ("failures/b.txt", "old")] {
        std::fs::create_dir_all(ds.join(p).parent().expect("parent")).expect("mkdir");
        std::fs::write(ds.join(p), text).expect("write");
    }
    let before = tree(&ds);
    // a second run while one holds the lock
    {
        std::fs::create_dir_all(ds.join(".warpsmith")).expect("mkdir");
        let lock = std::fs::File::create(ds.join(".warpsmith/lock")).expect("lock file");
        lock.lock().expect("hold the lock");
        std::fs::write(ds.join(".warpsmith/lock"), "4242").expect("pid");
        let o = generate(&ds, 2, &[], &["--count", "12"]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains("another warpsmith run (PID 4242)"), "{}", stderr(&o));
    }
    std::fs::remove_dir_all(ds.join(".warpsmith")).expect("release");
    assert_eq!(tree(&ds), before);
    // a replacing run killed while it writes the new dataset leaves the old one whole and valid
    let o = generate(&ds, 2, &[("WARPSMITH_FAULT", "assemble:kill")], &["--count", "12"]);
    assert_eq!(o.status.signal(), Some(9), "{}", stderr(&o));
    let v = validate(&ds);
    assert!(
        v.status.success(),
        "the previous dataset still validates: {}{}",
        stderr(&v),
        String::from_utf8_lossy(&v.stdout)
    );
    let visible: Vec<_> = tree(&ds).into_iter().filter(|(p, _)| !p.starts_with(ds.join(".warpsmith"))).collect();
    assert_eq!(visible, before, "the previous dataset, its stats, findings and failures are untouched");
    // another identity is refused while that run is unfinished, naming the difference
    let o = generate(&ds, 5, &[], &["--count", "12"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("seed: 2 vs 5"), "{}", stderr(&o));
    // the same command resumes and replaces the dataset: the old stats, findings and failures go with it
    ok(generate(&ds, 2, &[], &["--count", "12"]));
    let m = warpsmith_dataset::read_manifest(&ds).expect("manifest");
    assert_eq!((m.run.seed, m.records, m.run.resumes), (2, 12, 1));
    for gone in ["stats", "findings", "failures", ".warpsmith"] {
        assert!(!ds.join(gone).exists(), "{gone} of the replaced dataset is removed");
    }
    assert!(validate(&ds).status.success());
    // stats and export refuse a dataset that disagrees with its manifest
    let broken = root.path().join("broken");
    std::fs::create_dir_all(broken.join("data")).expect("mkdir");
    std::fs::copy(ds.join("manifest.json"), broken.join("manifest.json")).expect("copy");
    for args in [&["stats"][..], &["export", "--to", "jsonl"][..]] {
        let o = bin().args(args).arg(&broken).output().expect("run");
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("cannot be read"), "{args:?} names the missing shard: {}", stderr(&o));
        assert!(!broken.join("export").exists() && !broken.join("stats").exists());
    }
    // printing into a closed pipe ends quietly (SIGPIPE), not with a panic
    let piped = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "{:?} stats {:?} --json | true; echo \"status ${{PIPESTATUS[0]}}\"",
            env!("CARGO_BIN_EXE_warpsmith"),
            ds
        ))
        .output()
        .expect("bash");
    let (out, err) = (String::from_utf8_lossy(&piped.stdout), stderr(&piped));
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.contains("status 0") || out.contains("status 141"), "{out}{err}");
    // the same command on a finished dataset does nothing
    let o = ok(generate(&ds, 2, &[], &["--count", "12"]));
    assert!(stderr(&o).contains("already holds this dataset"), "{}", stderr(&o));
}

#[test]
fn records_do_not_depend_on_where_warp_is_installed() {
    let root = tempfile::tempdir().expect("tempdir");
    // the same environment seen through another path: Warp quotes its install path as Python sees it
    let venv = python().parent().and_then(Path::parent).expect("a virtual environment's interpreter");
    let elsewhere = root.path().join("elsewhere-home/venv");
    std::fs::create_dir_all(elsewhere.parent().expect("parent")).expect("mkdir");
    std::os::unix::fs::symlink(venv, &elsewhere).expect("symlink");
    let other_python = elsewhere.join("bin/python");
    let o = std::process::Command::new(&other_python)
        .args(["-c", "import os, warp; print(os.path.abspath(warp.__file__))"])
        .output()
        .expect("python");
    let warp_path = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(warp_path.starts_with(root.path().to_string_lossy().as_ref()), "Warp is seen at {warp_path}");
    let (a, b) = (root.path().join("a"), root.path().join("b"));
    for (out, py, home) in [(&a, python(), "home-a"), (&b, other_python.as_path(), "home-b")] {
        let o = bin()
            .args(["generate", "--verify", "codegen", "--count", "40", "--seed", "8", "--out"])
            .arg(out)
            .arg("--python")
            .arg(py)
            .env("WARPSMITH_HOME", root.path().join(home))
            .output()
            .expect("generate");
        ok(o);
    }
    assert_eq!(parquet_bytes(&a), parquet_bytes(&b), "two install paths give the same bytes");
    let records: Vec<_> = std::fs::read_dir(a.join("data"))
        .expect("data")
        .flat_map(|e| read_records(&e.expect("entry").path()).expect("read"))
        .collect();
    let venv_text = venv.to_string_lossy().to_string();
    let mut quoting = 0;
    for r in &records {
        let json = serde_json::to_string(r).expect("json");
        assert!(!json.contains("site-packages") && !json.contains(&venv_text), "record {} quotes a path", r.id);
        quoting += usize::from(r.cpu_module.contains("<warp>/"));
    }
    assert!(quoting > 0, "some module quotes Warp's own source, as `<warp>/...`");
}

fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|r| r.flatten().map(|e| e.file_name().to_string_lossy().to_string()).collect())
        .unwrap_or_default()
}

#[test]
fn full_runs_and_killed_runs_leave_nothing_in_tmpdir_or_a_kernel_cache() {
    let root = tempfile::tempdir().expect("tempdir");
    let (tmp, home) = (root.path().join("tmp"), root.path().join("home"));
    std::fs::create_dir_all(&tmp).expect("mkdir");
    let run = |out: &Path, fault: Option<&str>| {
        let mut c = bin();
        c.args(["generate", "--verify", "full", "--count", "8", "--block-size", "4", "--seed", "2", "--out"])
            .arg(out)
            .arg("--python")
            .arg(python())
            .env("TMPDIR", &tmp)
            .env("WARPSMITH_HOME", &home);
        if let Some(f) = fault {
            c.env("WARPSMITH_FAULT", f);
        }
        c.output().expect("generate")
    };
    let out = root.path().join("ds");
    ok(run(&out, None));
    assert_eq!(entries(&tmp), Vec::<String>::new(), "TMPDIR after a full run");
    assert!(!home.join("kernel-cache").exists(), "no kernel cache grows under WARPSMITH_HOME");
    let killed = root.path().join("killed");
    let o = run(&killed, Some("block-computed:kill:2"));
    assert_eq!(o.status.signal(), Some(9), "{}", stderr(&o));
    // the workers got SIGTERM from the kernel when their parent died and remove their scratch directories
    std::thread::sleep(Duration::from_secs(3));
    ok(run(&killed, None));
    assert_eq!(entries(&tmp), Vec::<String>::new(), "TMPDIR after a killed run and its resume");
    assert!(!home.join("kernel-cache").exists());
    assert_eq!(parquet_bytes(&killed), parquet_bytes(&out), "the resumed full run gives the same bytes");
}

/// The PIDs of `pid`'s child processes (Linux `/proc/PID/task/*/children`).
fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).into_iter().flatten().flatten() {
        let text = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
        out.extend(text.split_whitespace().filter_map(|p| p.parse::<u32>().ok()));
    }
    out
}

#[test]
fn a_worker_busy_inside_warp_stops_when_its_supervisor_is_killed() {
    // a kernel whose launch stays in Warp's native code for minutes: a Python signal handler could not run
    let kernel = serde_json::json!({
        "name": "spin",
        "python": "import warp as wp\n\n\n@wp.kernel\ndef spin(x: wp.array(dtype=float), out: wp.array(dtype=float)):\n    i = wp.tid()\n    s = float(0.0)\n    for k in range(2000000000):\n        s = s + wp.sin(x[i] + float(k))\n    out[i] = s\n",
        "launch_dim": [1],
        "test_inputs": [{"name": "x", "dtype": "float32", "shape": [1], "values": [0.5]}],
        "grad_outputs": [{"name": "out", "dtype": "float32", "shape": [1], "values": [1.0]}],
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("spin.json");
    std::fs::write(&file, kernel.to_string()).expect("write kernel");
    let mut check = bin()
        .args(["check", "--timeout", "600"])
        .arg(&file)
        .arg("--python")
        .arg(python())
        .env("TMPDIR", dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start check");
    // importing Warp and compiling take a few seconds; then the worker sits in the launch
    std::thread::sleep(Duration::from_secs(15));
    let workers = children(check.id());
    assert_eq!(workers.len(), 1, "one worker process");
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", workers[0])).expect("worker alive");
    assert!(stat.contains(") R ") || stat.contains(") S "), "worker state: {stat}");
    check.kill().expect("SIGKILL the supervisor");
    let _ = check.wait();
    let killed = Instant::now();
    // gone, or a zombie where no init process reaps orphans (a container)
    let running = |pid: u32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z ") && !s.contains(") X "))
    };
    while running(workers[0]) && killed.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let after = killed.elapsed();
    assert!(after < Duration::from_secs(3), "the orphaned worker ran on for {after:?}");
    assert!(entries(dir.path()).iter().all(|e| e == "spin.json"), "left in TMPDIR: {:?}", entries(dir.path()));
}
