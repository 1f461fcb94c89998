//! The supervisor against a fake worker that crashes, hangs or prints garbage on request. A fake worker is
//! the right tool here: these are failures real Warp cannot be made to produce on demand.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use warpsmith_oracle::{FailureReason, Job, Outcome, Pool, PoolOptions, WorkerCommand};

const FAKE: &str = r#"
import json, os, sys, time
mode = os.environ.get("FAKE_MODE", "")
if mode == "refuse":
    print(json.dumps({"type": "fatal", "error": "warp-lang 1.18.0 is installed but warpsmith needs exactly 1.19.0"}), flush=True)
    sys.exit(3)
if mode == "badproto":
    print(json.dumps({"type": "hello", "protocol": 99, "warp_version": "x"}), flush=True)
print(json.dumps({"type": "hello", "protocol": 2, "warp_version": "fake"}), flush=True)
def answer(it):
    src, name = it["source"], it["name"]
    if "CODEGEN_ERROR" in src:
        return {"ok": False, "kind": "codegen", "error": "WarpCodegenError: boom", "traceback": "tb"}
    return {"ok": True, "cpu_module": f"cpu {name} {os.getpid()}", "cuda_module": f"cuda {name}", "run": None}
for line in sys.stdin:
    req = json.loads(line)
    if req.get("op") == "shutdown":
        break
    src = " ".join(it["source"] for it in req["items"])
    names = "_".join(it["name"] for it in req["items"])
    if "FLAKY_TWICE" in src:
        marker = os.path.join(os.environ["MARKER_DIR"], "twice-" + names)
        n = int(open(marker).read()) if os.path.exists(marker) else 0
        open(marker, "w").write(str(n + 1))
        if n < 2:
            os._exit(9)
    if "CRASH_ONCE" in src:
        marker = os.path.join(os.environ["MARKER_DIR"], names)
        if not os.path.exists(marker):
            open(marker, "w").close()
            sys.stderr.write("dying once\n"); sys.stderr.flush()
            os._exit(7)
    elif "CRASH" in src:
        sys.stderr.write("fake worker: segmentation fault\n"); sys.stderr.flush()
        os._exit(11)
    if "HANG" in src:
        time.sleep(600)
    if "GARBAGE" in src:
        print("Warp 1.19.0 initialized:", flush=True)
        continue
    print(json.dumps({"id": req["id"], "ok": True, "items": [answer(it) for it in req["items"]]}), flush=True)
"#;

fn fake(dir: &Path, mode: &str) -> WorkerCommand {
    let script = dir.join("fake_worker.py");
    std::fs::create_dir_all(dir.join("scratch")).expect("scratch root");
    std::fs::write(&script, FAKE).expect("write fake worker");
    WorkerCommand {
        program: PathBuf::from("python3"),
        args: vec![script.display().to_string()],
        env: vec![("FAKE_MODE".into(), mode.into()), ("MARKER_DIR".into(), dir.display().to_string())],
        expect_warp: None,
        scratch_root: Some(dir.join("scratch")),
    }
}

fn opts(workers: usize) -> PoolOptions {
    PoolOptions {
        workers,
        timeout: Duration::from_millis(1500),
        startup_timeout: Duration::from_secs(30),
        recycle_after: 1000,
        attempts: 2,
        backoff: Duration::from_millis(50),
        ..PoolOptions::default()
    }
}

fn run(pool: Pool, jobs: &[(&str, &str)]) -> BTreeMap<String, Outcome> {
    for (i, (name, src)) in jobs.iter().enumerate() {
        pool.submit(i, Job { name: (*name).into(), source: (*src).into(), check: None });
    }
    let mut out = BTreeMap::new();
    for _ in 0..jobs.len() {
        let (i, o) = pool.results().recv_timeout(Duration::from_secs(60)).expect("every job gets an outcome");
        out.insert(jobs[i].0.to_string(), o);
    }
    pool.finish();
    out
}

#[test]
fn crashes_hangs_and_garbage_are_retried_once_then_recorded_and_the_run_completes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pool = Pool::start(fake(dir.path(), ""), opts(2)).expect("start");
    let jobs = [
        ("good1", "ok"),
        ("crash", "CRASH"),
        ("good2", "ok"),
        ("hang", "HANG"),
        ("garbage", "GARBAGE"),
        ("flaky", "CRASH_ONCE"),
        ("bad", "CODEGEN_ERROR"),
        ("good3", "ok"),
        ("flaky2", "FLAKY_TWICE"),
    ];
    let out = run(pool, &jobs);
    // a fault that passes within the retries (the batch's try, then up to `attempts` alone) changes nothing
    for good in ["good1", "good2", "good3", "flaky", "flaky2"] {
        assert!(
            matches!(&out[good], Outcome::Ok(m) if m.cuda_module == format!("cuda {good}")),
            "{good}: {:?}",
            out[good]
        );
    }
    let failed = |name: &str| match &out[name] {
        Outcome::Failed(f) => f.clone(),
        other => panic!("{name} should have failed: {other:?}"),
    };
    let crash = failed("crash");
    // the batch's try and two tries alone
    assert_eq!((crash.reason, crash.attempts), (FailureReason::WorkerCrash, 3));
    assert!(crash.stderr_tail.contains("segmentation fault"), "stderr kept: {:?}", crash.stderr_tail);
    assert_eq!((failed("hang").reason, failed("hang").attempts), (FailureReason::Timeout, 3));
    let garbage = failed("garbage");
    assert_eq!((garbage.reason, garbage.attempts), (FailureReason::Protocol, 3));
    assert!(garbage.message.contains("Warp 1.19.0 initialized"));
    // a deterministic Warp error is not retried
    let scratch: Vec<_> = std::fs::read_dir(dir.path().join("scratch")).expect("scratch root").collect();
    assert!(scratch.is_empty(), "the scratch directories of killed and finished workers are deleted: {scratch:?}");
    let bad = failed("bad");
    assert_eq!((bad.reason, bad.attempts, bad.message.as_str()), (FailureReason::Codegen, 1, "WarpCodegenError: boom"));
}

#[test]
fn a_refusing_or_mismatched_worker_stops_the_run_with_its_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = Pool::start(fake(dir.path(), "refuse"), opts(1)).err().expect("refused");
    assert!(err.to_string().contains("needs exactly 1.19.0"), "{err}");
    let err = Pool::start(fake(dir.path(), "badproto"), opts(1)).err().expect("bad protocol");
    assert!(err.to_string().contains("protocol"), "{err}");
    let mut missing = fake(dir.path(), "");
    missing.program = PathBuf::from("/nonexistent/python");
    let err = Pool::start(missing, opts(1)).err().expect("missing program");
    assert!(err.to_string().contains("/nonexistent/python"), "{err}");
}

#[test]
fn workers_are_recycled_after_the_configured_number_of_kernels() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pool = Pool::start(fake(dir.path(), ""), PoolOptions { recycle_after: 2, ..opts(1) }).expect("start");
    let jobs: Vec<(String, &str)> = (0..6).map(|i| (format!("k{i}"), "ok")).collect();
    let refs: Vec<(&str, &str)> = jobs.iter().map(|(n, s)| (n.as_str(), *s)).collect();
    let out = run(pool, &refs);
    let pids: std::collections::BTreeSet<String> = out
        .values()
        .map(|o| match o {
            Outcome::Ok(m) => m.cpu_module.rsplit(' ').next().unwrap_or_default().to_string(),
            Outcome::Failed(f) => panic!("{f:?}"),
        })
        .collect();
    assert_eq!(pids.len(), 3, "6 kernels, recycled every 2: three processes, got {pids:?}");
}
