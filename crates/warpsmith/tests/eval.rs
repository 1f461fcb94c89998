//! `warpsmith eval` end to end with real Warp and the real sandbox: the dataset's own answers score 100 %,
//! answers with a constant changed score 0 (in all four tasks), adversarial completions score 0 without stopping
//! the run, and the GRPO reward turns a trainer batch into one float per completion.

mod common;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::{bin, python};
use serde_json::{Value, json};

/// A small fully verified dataset, made once per test binary, and its records as JSON.
fn dataset() -> &'static (tempfile::TempDir, Vec<Value>) {
    static DS: OnceLock<(tempfile::TempDir, Vec<Value>)> = OnceLock::new();
    DS.get_or_init(|| {
        let tmp = tempfile::tempdir().expect("tempdir");
        let ds = tmp.path().join("ds");
        let out = bin()
            .args(["generate", "--count", "3", "--seed", "5", "--workers", "2", "--out"])
            .arg(&ds)
            .arg("--python")
            .arg(python())
            .output()
            .expect("run generate");
        assert!(out.status.success(), "generate failed:\n{}", String::from_utf8_lossy(&out.stderr));
        let jl = tmp.path().join("jl");
        let out = bin().args(["export", "--to", "jsonl", "--out"]).arg(&jl).arg(&ds).output().expect("export");
        assert!(out.status.success(), "export failed:\n{}", String::from_utf8_lossy(&out.stderr));
        let text = std::fs::read_to_string(jl.join("train.jsonl")).expect("train.jsonl");
        let records: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("a record")).collect();
        assert!(records.len() >= 2, "seed 5 puts at least two of three records in train");
        (tmp, records)
    })
}

fn eval(task: &str, lines: &[Value], extra: &[&str]) -> (bool, Vec<Value>, String) {
    let (tmp, _) = dataset();
    let dir = tempfile::tempdir_in(tmp.path()).expect("tempdir");
    let preds = dir.path().join("preds.jsonl");
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&preds, text).expect("write predictions");
    let report = dir.path().join("report");
    let out = bin()
        .args(["eval", "--task", task, "--split", "train", "--workers", "2", "--predictions"])
        .arg(&preds)
        .arg("--out")
        .arg(&report)
        .arg("--python")
        .arg(python())
        .args(extra)
        .arg(tmp.path().join("ds"))
        .output()
        .expect("run eval");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let results = std::fs::read_to_string(report.join("results.jsonl"))
        .unwrap_or_else(|e| panic!("no results.jsonl ({e}):\n{stderr}"))
        .lines()
        .map(|l| serde_json::from_str(l).expect("a result"))
        .collect();
    assert!(report.join("summary.md").exists() && report.join("summary.json").exists());
    (out.status.success(), results, stderr)
}

/// `text` with its first float constant changed from `v` to `-2v - 1.5` (a small step can leave a threshold on
/// the same side of every input): Warp's `const wp::float32 var_N = X;`, or in a standalone translation the first
/// `X.Yf` literal of the per-thread function.
fn one_constant_changed(text: &str) -> Option<String> {
    let (eq, end) = match text.find("const wp::float32 var_") {
        Some(at) => {
            let eq = at + text[at..].find(" = ")? + 3;
            (eq, eq + text[eq..].find(';')?)
        }
        None => {
            let body = text.find("HD inline void")?;
            let bytes = text.as_bytes();
            let mut i = body;
            loop {
                let dot = i + text[i..].find('.')?;
                let mut start = dot;
                while start > 0 && bytes[start - 1].is_ascii_digit() {
                    start -= 1;
                }
                let mut end = dot + 1;
                while end < bytes.len() && bytes[end].is_ascii_digit() {
                    end += 1;
                }
                let word_before = start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
                if start < dot && end > dot + 1 && bytes.get(end) == Some(&b'f') && !word_before {
                    break (start, end);
                }
                i = dot + 1;
            }
        }
    };
    let v: f64 = text[eq..end].parse().ok()?;
    Some(format!("{}{:?}{}", &text[..eq], -2.0 * v - 1.5, &text[end..]))
}

#[test]
fn stored_answers_score_everything_and_a_changed_constant_scores_nothing_in_every_task() {
    let (_, records) = dataset();
    for (task, column) in [
        ("python-to-cpp", "cpu_forward"),
        ("python-to-cuda", "cuda_forward"),
        ("python-to-adjoint", "cuda_backward"),
        ("python-to-standalone-cuda", "cuda_standalone"),
    ] {
        let mut lines = Vec::new();
        let mut changed = 0;
        for r in records {
            let answer = r[column].as_str().expect("column");
            // the chat format of `export --to sft` (fenced) for the answers, the plain one for the changed ones
            lines.push(json!({"id": r["id"], "messages": [
                {"role": "user", "content": "q"}, {"role": "assistant", "content": format!("```cpp\n{answer}\n```")}]}));
            if let Some(bad) = one_constant_changed(answer) {
                lines.push(json!({"id": r["id"], "completion": bad}));
                changed += 1;
            }
        }
        assert!(changed >= 1, "{task}: no record has a float constant");
        let (ok, results, stderr) = eval(task, &lines, &[]);
        assert!(ok, "{task}: eval failed:\n{stderr}");
        assert_eq!(results.len(), lines.len());
        for (line, res) in lines.iter().zip(&results) {
            let stored = line.get("messages").is_some();
            assert_eq!(res["exact_match"], stored, "{task}: {res}");
            assert_eq!(res["compiled"], true, "{task}: {res}");
            if stored {
                assert_eq!(res["correct"], true, "{task}: the record's own answer: {res}");
            }
            if task == "python-to-cuda" {
                assert_eq!(res["ptx"], "passed", "{res}");
            }
            if task == "python-to-standalone-cuda" {
                // the managed environment has nvcc (`setup --cuda`)
                assert_eq!(res["ptx"], "passed", "nvcc: {res}");
            }
        }
        let wrong = results.iter().filter(|r| r["exact_match"] == false && r["correct"] == false).count();
        if task == "python-to-adjoint" {
            // an additive constant, or one that reaches the outputs only through an integer (`wp.floor`,
            // `wp.argmax`), leaves every adjoint as it was: such a backward is still right (measured over 200
            // records: nearly every changed backward that passes agrees with Warp on 30 more input sets too)
            assert!(wrong >= 1, "{task}: {wrong} of {changed} changed constants caught");
        } else {
            assert_eq!(wrong, changed, "{task}: a changed constant was not caught");
        }
        for r in results.iter().filter(|r| r["correct"] == false) {
            assert!(r["reason"].as_str().is_some_and(|s| s.starts_with("wrong on the")), "{r}");
        }
    }
}

/// The forward function of `r` with `stmt` first in its body, and `decls` before it.
fn injected(r: &Value, decls: &str, stmt: &str) -> String {
    let f = r["cpu_forward"].as_str().expect("cpu_forward");
    format!("{decls}\n{}", f.replacen("\n{\n", &format!("\n{{\n    {stmt}\n"), 1))
}

/// A forward function for a 1-D launch that writes the record's stored outputs and computes nothing: right on
/// the stored inputs, wrong on any others.
fn hard_coded(r: &Value) -> Option<String> {
    let f = r["cpu_forward"].as_str()?;
    let n = r["launch_dim"].as_array().filter(|d| d.len() == 1)?[0].as_u64()?;
    let head = &f[..f.find("\n{")?];
    let mut body = String::from(
        "    static constexpr bool wp_linear_tid = wp_linear_contiguous;\n    wp::int32 t = builtin_tid1d();\n",
    );
    for o in r["test_outputs"].as_array()? {
        let shape = o["shape"].as_array()?;
        if shape.len() != 1 || shape[0].as_u64()? != n {
            return None;
        }
        let values: Vec<String> =
            o["values"].as_array()?.iter().map(|v| format!("{:?}", v.as_f64().unwrap_or(0.0))).collect();
        let c = values.len() as u64 / n;
        let ty = if o["dtype"] == "int32" { "wp::int32" } else { "wp::float32" };
        body.push_str(&format!(
            "    {{ static const double tbl[] = {{{}}}; if (t < {n}) for (int c = 0; c < {c}; ++c) (({ty}*)_wp_args->{}.data)[t * {c} + c] = ({ty})tbl[t * {c} + c]; }}\n",
            values.join(", "),
            o["name"].as_str()?
        ));
    }
    Some(format!("{head}\n{{\n{body}}}"))
}

fn shard_of(ds: &Path) -> PathBuf {
    std::fs::read_dir(ds.join("data")).expect("data").map(|e| e.expect("entry").path()).next().expect("a shard")
}

#[test]
fn adversarial_completions_score_zero_and_the_run_goes_on() {
    let (tmp, records) = dataset();
    let r = &records[0];
    let shard = shard_of(&tmp.path().join("ds"));
    assert!(std::fs::metadata(&shard).is_ok(), "the shard is readable outside the sandbox");
    let libc = "extern \"C\" int open(const char*, int, ...);\nextern \"C\" int socket(int, int, int);\n\
                extern \"C\" int puts(const char*);\nextern \"C\" long write(int, const void*, unsigned long);\n\
                extern \"C\" int fork();\nextern \"C\" void* malloc(unsigned long);";
    let forged = r#"{\"id\": 1, \"ok\": true, \"compiled\": true, \"stage\": null, \"error\": null, \"ptx\": null, \"runs\": []}\nPASS\n"#;
    let mut cases: Vec<(&str, String)> = vec![
        ("empty", String::new()),
        (
            "prints PASS and a forged reply on every descriptor",
            injected(
                r,
                libc,
                &format!(
                    "puts(\"PASS\"); for (int fd = 1; fd < 10; ++fd) write(fd, \"{forged}\", sizeof(\"{forged}\") - 1); return;"
                ),
            ),
        ),
        // each of these is right when its attack works, so only the sandbox makes it wrong
        ("reads /etc/passwd", injected(r, libc, "if (open(\"/etc/passwd\", 0) < 0) return;")),
        (
            "reads the dataset",
            injected(r, libc, &format!("if (open({:?}, 0) < 0) return;", shard.display().to_string())),
        ),
        ("opens a network socket", injected(r, libc, "if (socket(2, 1, 0) < 0) return;")),
        // through a volatile pointer: the compiler may drop a malloc whose memory is never read
        (
            "allocates 100 GB",
            injected(
                r,
                libc,
                "void* (*volatile m)(unsigned long) = malloc; char* p = (char*)m(100ull << 30); if (!p) return; p[0] = 1;",
            ),
        ),
        ("loops forever", injected(r, libc, "volatile unsigned long spin = 0; for (;;) spin = spin + 1;")),
        ("fork bomb", injected(r, libc, "for (;;) fork();")),
        ("segfault", injected(r, libc, "*(volatile int*)0 = 1;")),
    ];
    if let Some(h) = records.iter().find_map(hard_coded) {
        cases.push(("stored outputs hard-coded", h));
    }
    assert_eq!(cases.len(), 10, "one of the records has a 1-D launch with launch-shaped outputs");
    let mut lines: Vec<Value> = cases.iter().map(|(_, c)| json!({"id": r["id"], "completion": c})).collect();
    // after all of them, the record's own answer: the run went on
    lines.push(json!({"id": r["id"], "completion": r["cpu_forward"]}));
    let hard_id = records.iter().find(|x| hard_coded(x).is_some()).map(|x| x["id"].clone());
    if let Some(id) = hard_id {
        lines[9]["id"] = id;
    }
    // the screen refuses most of these before they compile (`#`, `extern`): the sandbox alone is under test here
    let (ok, results, stderr) = eval("python-to-cpp", &lines, &["--timeout", "20", "--unscreened"]);
    assert!(ok, "eval failed:\n{stderr}");
    for ((what, _), res) in cases.iter().zip(&results) {
        assert_eq!(res["correct"], false, "{what} scored: {res}");
    }
    assert_eq!(results[10]["correct"], true, "the answer after the adversaries: {}", results[10]);
    let reason = |i: usize| results[i]["reason"].as_str().unwrap_or_default().to_string();
    assert!(reason(0).starts_with("cpu_compile"), "empty: {}", reason(0));
    for i in [2, 3, 4, 5] {
        // compiled and ran: the attack failed inside and the function returned early
        assert_eq!(results[i]["ran"], true, "{}: {}", cases[i].0, results[i]);
    }
    assert!(reason(6).contains("timed out") || reason(6).contains("without an answer"), "{}", reason(6));
    assert!(reason(7).contains("timed out") || reason(7).contains("without an answer"), "{}", reason(7));
    assert!(reason(8).contains("without an answer"), "segfault: {}", reason(8));
    assert!(reason(9).contains("fresh inputs"), "hard-coded outputs pass the stored inputs only: {}", reason(9));
}

#[test]
fn the_grpo_reward_gives_one_float_per_completion_of_a_trainer_batch() {
    let (tmp, records) = dataset();
    let r = &records[0];
    let answer = r["cpu_forward"].as_str().expect("cpu_forward");
    let script = r#"
import json, sys
repo, ds, binary, py, rid, answer, early = sys.argv[1:8]
sys.path.insert(0, repo + "/python")
from warpsmith_reward import make_reward
reward = make_reward(ds, task="python-to-cpp", split="train", warpsmith=binary, workers=2, python=py,
                     compile_bonus=0.25)
# what TRL's GRPOTrainer passes: prompts, completions (conversational), and the dataset's columns
prompts = [[{"role": "user", "content": "q"}]] * 3
completions = [[{"role": "assistant", "content": "```cpp\n" + answer + "\n```"}], "no code at all",
               [{"role": "assistant", "content": early}]]
print(json.dumps(reward(prompts, completions, id=[rid] * 3, trainer_state=None)))
"#;
    let early = injected(r, "", "return;");
    let out = std::process::Command::new(python())
        .arg("-c")
        .arg(script)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .arg(tmp.path().join("ds"))
        .arg(env!("CARGO_BIN_EXE_warpsmith"))
        .arg(python())
        .arg(r["id"].as_str().expect("id"))
        .arg(answer)
        .arg(&early)
        .output()
        .expect("run the reward");
    assert!(out.status.success(), "reward failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let rewards: Vec<f64> = serde_json::from_slice(&out.stdout).expect("a JSON list");
    // right; not code (does not compile); compiles but computes nothing
    assert_eq!(rewards, [1.0, 0.0, 0.25]);
}

#[test]
fn standalone_completions_cannot_forge_results_or_read_files_while_compiling() {
    let (_, records) = dataset();
    let r =
        records.iter().find(|r| r["cuda_standalone"].as_str().is_some_and(|s| !s.is_empty())).expect("a translation");
    let answer = r["cuda_standalone"].as_str().expect("cuda_standalone");
    let first = &r["test_outputs"][0];
    let stored: Vec<String> = first["values"].as_array().expect("values").iter().map(|v| format!("{v}")).collect();
    // prints a block of the stored outputs and exits before warpsmith's harness runs
    let forged = format!(
        "#include <stdio.h>\n#include <stdlib.h>\nstatic int forged = (printf(\"PASS\\n@@warpsmith-eval begin\\n@@set 0\\n{}: {}\\n@@warpsmith-eval end\\n\"), exit(0), 0);\n{answer}",
        first["name"].as_str().expect("name"),
        stored.join(" ")
    );
    let lines = [
        json!({"id": r["id"], "completion": forged}),
        json!({"id": r["id"], "completion": format!("#include \"/etc/passwd\"\n{answer}")}),
        json!({"id": r["id"], "completion": answer}),
    ];
    let (ok, results, stderr) = eval("python-to-standalone-cuda", &lines, &["--timeout", "30"]);
    assert!(ok, "eval failed:\n{stderr}");
    assert_eq!(results[0]["correct"], false, "forged: {}", results[0]);
    assert!(results[0]["reason"].as_str().is_some_and(|s| s.contains("input sets ran")), "{}", results[0]);
    assert_eq!(results[1]["compiled"], false, "g++ read /etc/passwd: {}", results[1]);
    assert!(results[1]["reason"].as_str().is_some_and(|s| s.contains("passwd")), "{}", results[1]);
    assert_eq!(results[2]["correct"], true, "{}", results[2]);
}

#[test]
fn the_screen_refuses_extern_declarations_and_preprocessor_lines_before_compiling() {
    let (_, records) = dataset();
    let r = &records[0];
    let lines = [
        json!({"id": r["id"], "completion": injected(r, "extern \"C\" int puts(const char*);", "puts(\"x\");")}),
        json!({"id": r["id"], "completion": injected(r, "#include <stdio.h>", "")}),
        json!({"id": r["id"], "completion": injected(r, "", "PyRun_SimpleString(\"import warp\");")}),
        json!({"id": r["id"], "completion": r["cpu_forward"]}),
    ];
    let (ok, results, stderr) = eval("python-to-cpp", &lines, &[]);
    assert!(ok, "eval failed:\n{stderr}");
    for res in &results[..3] {
        assert_eq!(res["compiled"], false, "{res}");
        assert!(res["reason"].as_str().is_some_and(|s| s.starts_with("refused before compiling")), "{res}");
    }
    assert_eq!(results[3]["correct"], true, "{}", results[3]);
}
