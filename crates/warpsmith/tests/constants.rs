//! The constant-sensitivity check (issue 19): `--reject-dead-constants` rejects a kernel with a float literal
//! that moves no output when changed either way, so that an evaluation split built with it fails a completion
//! with one wrong constant. A checker is proven by the wrong inputs it rejects.

mod common;

use std::path::Path;

use common::{bin, python};

/// `check --reject-dead-constants` proven by the kernels it must reject: a bound under `wp.max` that the
/// outputs never reach, vector components no output reads, a threshold above every input; and the one it must
/// keep, whose `wp.static` argument is not a literal of the kernel (Warp folds it while building the module).
/// Without the flag every one is accepted and no constants check runs.
#[test]
fn check_rejects_kernels_with_a_float_literal_that_moves_no_output_only_when_asked() {
    let kernel = |name: &str, body: &str| {
        serde_json::json!({
            "name": name,
            "python": format!("import warp as wp\n\n\n@wp.kernel\ndef {name}(x: wp.array(dtype=float), out: wp.array(dtype=float)):\n    tid = wp.tid()\n{body}"),
            "launch_dim": [4],
            "test_inputs": [{"name": "x", "dtype": "float32", "shape": [4], "values": [0.5, -1.0, 2.0, 0.25]}],
            "grad_outputs": [{"name": "out", "dtype": "float32", "shape": [4], "values": [1.0, -0.5, 0.25, 0.75]}],
        })
        .to_string()
    };
    // (name, body, dead literals by order of appearance; None: kept)
    let cases: [(&str, &str, Option<Vec<u64>>); 4] = [
        ("live", "    out[tid] = x[tid] * 2.0 + wp.static(7.0 / 2.0) - 0.25\n", None),
        ("bound", "    out[tid] = wp.max(x[tid] * x[tid], -5.0) + 1.5\n", Some(vec![0])),
        ("components", "    v = wp.vec3(x[tid], 2.0, 3.0)\n    out[tid] = v[0] * 0.5\n", Some(vec![0, 1])),
        ("threshold", "    out[tid] = wp.where(x[tid] < 100.0, x[tid], 2.5) * 3.0\n", Some(vec![0, 1])),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("constants.jsonl");
    let text: Vec<String> = cases.iter().map(|(n, b, _)| kernel(n, b)).collect();
    std::fs::write(&input, text.join("\n")).expect("write kernels");
    let check = |flag: bool| {
        let mut cmd = bin();
        cmd.arg("check").arg(&input).arg("--python").arg(python()).arg("--no-ptx");
        if flag {
            cmd.arg("--reject-dead-constants");
        }
        let out = cmd.output().expect("run check");
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let lines: Vec<serde_json::Value> =
            stdout.lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect();
        assert_eq!(lines.len(), cases.len(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        (out.status.code(), lines)
    };
    let (code, lines) = check(true);
    assert_eq!(code, Some(1), "three kernels rejected: exit 1");
    for ((name, _, dead), line) in cases.iter().zip(&lines) {
        assert_eq!(line["name"], *name, "{line}");
        match dead {
            None => {
                assert_eq!(line["outcome"], "accepted", "{line}");
                assert_eq!(line["constants"]["literals"], 2, "2.0 and 0.25, not wp.static's: {line}");
                assert_eq!(line["constants"]["dead"], serde_json::json!([]), "{line}");
            }
            Some(d) => {
                assert_eq!(line["outcome"], "rejected", "{line}");
                assert_eq!(line["reason"], "dead_constant", "{line}");
                assert_eq!(line["constants"]["dead"], serde_json::json!(d), "{line}");
            }
        }
    }
    let (code, lines) = check(false);
    assert_eq!(code, Some(0), "{lines:?}");
    for line in &lines {
        assert_eq!(line["outcome"], "accepted", "{line}");
        assert!(line.get("constants").is_none(), "no constants check without the flag: {line}");
    }
}

/// `generate --reject-dead-constants` records the rule in the run's identity, and `validate` re-runs the check on
/// the records of a run that claims it: a dataset generated without the rule whose manifest is edited to claim
/// it fails on the records whose constants do not all matter.
#[test]
fn a_run_that_rejects_dead_constants_says_so_and_validate_holds_its_records_to_it() {
    let generate = |out: &Path, count: &str, flag: bool| {
        let mut cmd = bin();
        cmd.args(["generate", "--verify", "run", "--count", count, "--seed", "3", "--workers", "2", "--out"]);
        cmd.arg(out).arg("--python").arg(python());
        if flag {
            cmd.arg("--reject-dead-constants");
        }
        let o = cmd.output().expect("run generate");
        assert!(o.status.success(), "generate failed:\n{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    let validate = |dir: &Path| {
        let o = bin().arg("validate").arg(dir).args(["--sample", "1000"]).arg("--python").arg(python()).output();
        let o = o.expect("run validate");
        (o.status.code(), String::from_utf8_lossy(&o.stdout).to_string())
    };
    let manifest = |dir: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).expect("manifest")).expect("JSON")
    };
    let root = tempfile::tempdir().expect("tempdir");
    // without launches there is nothing to check: refused before any work
    let never = root.path().join("never");
    let o = bin().args(["generate", "--verify", "codegen", "--reject-dead-constants", "--out"]).arg(&never).output();
    let o = o.expect("run generate");
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("--reject-dead-constants"), "{o:?}");
    assert!(!never.exists(), "nothing was created");
    let (with, without) = (root.path().join("with"), root.path().join("without"));
    generate(&with, "4", true);
    let m = manifest(&with);
    assert_eq!(m["run"]["identity"]["reject_dead_constants"], true, "{}", m["run"]["identity"]);
    assert!(m["run"]["rejected"]["dead_constant"].as_u64().unwrap_or(0) >= 1, "{}", m["run"]["rejected"]);
    let (code, out) = validate(&with);
    assert_eq!(code, Some(0), "{out}");

    generate(&without, "6", false);
    let mut m = manifest(&without);
    assert_eq!(m["run"]["identity"]["reject_dead_constants"], false, "{}", m["run"]["identity"]);
    m["run"]["identity"]["reject_dead_constants"] = true.into();
    std::fs::write(without.join("manifest.json"), m.to_string()).expect("edit manifest");
    let (code, out) = validate(&without);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("dead_constant"), "{out}");
}

/// The worker's check and `eval` must call the same outputs "the same answer": the Python constants of
/// `worker_constants.py` are `warpsmith_eval`'s forward tolerance (two languages, one value; this holds them
/// together).
#[test]
fn the_constant_check_uses_evals_forward_tolerance() {
    let (rtol, atol) = warpsmith_eval::score::FORWARD_TOLERANCE;
    let line = format!("CONSTANT_RTOL, CONSTANT_ATOL = {rtol:e}, {atol:e}\n");
    assert!(warpsmith_oracle::WORKER_PY.contains(&line), "worker_constants.py lacks {line:?}");
}
