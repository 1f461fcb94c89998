//! The mutation test of the gradient check (issue 15): a checker is proven by the wrong inputs it rejects.
//!
//! Records generated with `--verify full` whose gradient check passed have one float input array routed
//! through an identity `@wp.func` whose custom adjoint (`@wp.func_grad`) is wrong in a known way: scaled by
//! 0, -1, 1.1 or 2, one component wrong (x1.5; for a scalar array the scalar itself), or dropped in one branch
//! (values at most the median of the array's inputs). Every mutant goes through `warpsmith check`, which must report a finding; the same routing with
//! the right adjoint must pass. The array mutated is the one with the largest stored adjoint, so the mutation
//! reaches the loss.
//!
//! `WARPSMITH_MUTATION_COUNT` (default 10) sets the records generated; the closing note of issue 15 gives a
//! run with at least 200 records with gradients.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{bin, python};
use warpsmith_dataset::Record;

/// A mutation of the adjoint of `ws_mut(x) = x`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Mutation {
    /// The right adjoint: the mutant must pass.
    Correct,
    Scale0,
    ScaleMinus1,
    Scale1_1,
    Scale2,
    /// One component of the adjoint x1.5 (the scalar itself for a float array).
    OneComponent,
    /// The adjoint dropped where the value (its first component) is at most the median of the array's stored
    /// first components, so that about half of the elements take the wrong branch on the record's inputs.
    WrongBranch,
}

const MUTATIONS: [Mutation; 7] = [
    Mutation::Correct,
    Mutation::Scale0,
    Mutation::ScaleMinus1,
    Mutation::Scale1_1,
    Mutation::Scale2,
    Mutation::OneComponent,
    Mutation::WrongBranch,
];

/// Warp's type for a dataset dtype, and the index of its first component (`None` for a scalar).
fn warp_type(dtype: &str) -> Option<(String, Option<&'static str>)> {
    let t = match dtype {
        "float32" => return Some(("float".into(), None)),
        "vec2" | "vec3" | "vec4" | "quat" | "spatial_vector" | "transform" => format!("wp.{dtype}"),
        "mat22" | "mat33" | "mat44" => format!("wp.{dtype}"),
        _ => return None,
    };
    let first = if dtype.starts_with("mat") { "0, 0" } else { "0" };
    Some((t, Some(first)))
}

/// The `@wp.func` and its wrong (or right) custom adjoint for values of Warp type `t`.
fn helper(t: &str, first: Option<&str>, m: Mutation, median: f64) -> String {
    let body = match (m, first) {
        (Mutation::Correct, _) => "    wp.adjoint[x] += adj_ret\n".to_string(),
        (Mutation::Scale0, _) => "    wp.adjoint[x] += 0.0 * adj_ret\n".to_string(),
        (Mutation::ScaleMinus1, _) => "    wp.adjoint[x] += -1.0 * adj_ret\n".to_string(),
        (Mutation::Scale1_1, _) => "    wp.adjoint[x] += 1.1 * adj_ret\n".to_string(),
        (Mutation::Scale2, _) => "    wp.adjoint[x] += 2.0 * adj_ret\n".to_string(),
        (Mutation::OneComponent, None) => "    wp.adjoint[x] += 1.5 * adj_ret\n".to_string(),
        (Mutation::OneComponent, Some(i)) => {
            format!("    e = adj_ret * 0.0\n    e[{i}] = 0.5 * adj_ret[{i}]\n    wp.adjoint[x] += adj_ret + e\n")
        }
        (Mutation::WrongBranch, first) => {
            let v = first.map_or("x".to_string(), |i| format!("x[{i}]"));
            format!("    if {v} > {median:?}:\n        wp.adjoint[x] += adj_ret\n")
        }
    };
    format!(
        "@wp.func\ndef ws_mut(x: {t}):\n    return x\n\n\n@wp.func_grad(ws_mut)\ndef adj_ws_mut(x: {t}, adj_ret: {t}):\n{body}\n\n"
    )
}

/// Wraps every `name[...]` in the kernel's own body as `ws_mut(name[...])`; `None` if there is none.
fn wrap_reads(python: &str, kernel: &str, name: &str) -> Option<String> {
    let start = python.find(&format!("def {kernel}("))?;
    let (head, body) = python.split_at(start);
    let needle = format!("{name}[");
    let mut out = String::new();
    let mut rest = body;
    let mut wrapped = 0;
    while let Some(at) = rest.find(&needle) {
        let before = rest[..at].chars().last();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
            out.push_str(&rest[..at + needle.len()]);
            rest = &rest[at + needle.len()..];
            continue;
        }
        let mut depth = 0;
        let mut end = None;
        for (k, ch) in rest[at + name.len()..].char_indices() {
            match ch {
                '[' | '(' => depth += 1,
                ']' | ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = Some(at + name.len() + k + 1);
                        break;
                    }
                }
                _ => {}
            }
        }
        let end = end?;
        out.push_str(&rest[..at]);
        out.push_str(&format!("ws_mut({})", &rest[at..end]));
        rest = &rest[end..];
        wrapped += 1;
    }
    out.push_str(rest);
    (wrapped > 0).then(|| format!("{head}{out}"))
}

/// Wraps every read of the by-value argument `name` (a float scalar `a`, or a struct's float field `p.gain`) in
/// the kernel's body, after its signature, as `ws_mut(name)`; `None` if there is none. A name followed by `=`
/// (an assignment) is left alone.
fn wrap_value_reads(python: &str, kernel: &str, name: &str) -> Option<String> {
    let start = python.find(&format!("def {kernel}("))?;
    let body_at = start + python[start..].find("):\n")? + 3;
    let (head, body) = python.split_at(body_at);
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = String::new();
    let mut rest = body;
    let mut wrapped = 0;
    while let Some(at) = rest.find(name) {
        let before = rest[..at].chars().last().or_else(|| out.chars().last());
        let after = &rest[at + name.len()..];
        let next = after.chars().next();
        let assigned = after.trim_start().starts_with('=') && !after.trim_start().starts_with("==");
        if before.is_some_and(|c| ident(c) || c == '.') || next.is_some_and(|c| ident(c) || c == '.') || assigned {
            out.push_str(&rest[..at + name.len()]);
        } else {
            out.push_str(&rest[..at]);
            out.push_str(&format!("ws_mut({name})"));
            wrapped += 1;
        }
        rest = after;
    }
    out.push_str(rest);
    (wrapped > 0).then(|| format!("{head}{out}"))
}

/// The first by-value float argument of a record's kernel that its body reads: a float32 scalar's name, else a
/// float32 struct field as `param.field` (field types read from the record's `@wp.struct` classes).
fn value_target(r: &Record) -> Option<String> {
    let sig_at = r.python.find(&format!("def {}(", r.name))?;
    let sig_end = sig_at + r.python[sig_at..].find("):\n")?;
    let sig = &r.python[sig_at..sig_end];
    let scalar = r.test_inputs.iter().find(|t| t.shape.is_empty() && t.dtype == "float32").map(|t| t.name.clone());
    if scalar.is_some() {
        return scalar;
    }
    for t in r.test_inputs.iter().filter(|t| t.dtype == "struct") {
        let at = sig.find(&format!("{}: ", t.name))? + t.name.len() + 2;
        let class: String = sig[at..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        let decl = r.python.find(&format!("class {class}:\n"))?;
        for line in r.python[decl..].lines().skip(1).take_while(|l| l.starts_with("    ")) {
            if let Some(field) = line.trim().strip_suffix(": wp.float32") {
                return Some(format!("{}.{field}", t.name));
            }
        }
    }
    None
}

/// The mutant of a record's kernel with the reads of a by-value float argument (see [`value_target`]) routed
/// through `ws_mut`; `None` when there is none. Scalar mutations only (a one-component or branch mutation of a
/// single value is a scaling).
fn value_mutant(r: &Record, m: Mutation) -> Option<serde_json::Value> {
    let target = value_target(r)?;
    let body = r.python.strip_prefix("import warp as wp\n")?;
    let wrapped = wrap_value_reads(body, &r.name, &target)?;
    let python =
        format!("import warp as wp\n\n\n{}{}", helper("float", None, m, 0.0), wrapped.trim_start_matches('\n'));
    Some(serde_json::json!({
        "name": r.name, "python": python, "launch_dim": r.launch_dim, "test_inputs": r.test_inputs,
        "grad_outputs": r.grad_outputs, "test_outputs": r.test_outputs, "seed": r.seed,
    }))
}

/// Mutants checked, mutants with the expected outcome, and the other outcomes by kind.
type Tally = (usize, usize, BTreeMap<String, usize>);

/// The mutations of a by-value argument.
const VALUE_MUTATIONS: [Mutation; 5] =
    [Mutation::Correct, Mutation::Scale0, Mutation::ScaleMinus1, Mutation::Scale1_1, Mutation::Scale2];

/// The mutant of a record's kernel, as a `warpsmith check` input line; `None` when no float input array with
/// a nonzero adjoint is read directly in the kernel.
fn mutant(r: &Record, m: Mutation) -> Option<serde_json::Value> {
    let target = r
        .grad_inputs
        .iter()
        .filter(|g| warp_type(&g.dtype).is_some())
        .filter(|g| g.values.iter().any(|v| *v != 0.0))
        .max_by(|a, b| {
            let norm = |g: &warpsmith_dataset::Tensor| g.values.iter().map(|v| v.abs()).sum::<f64>();
            norm(a).total_cmp(&norm(b))
        })?;
    let (t, first) = warp_type(&target.dtype)?;
    let median = {
        let input = r.test_inputs.iter().find(|i| i.name == target.name)?;
        let stride = input.values.len() / input.shape.iter().product::<i32>().max(1) as usize;
        let mut firsts: Vec<f64> = input.values.iter().step_by(stride.max(1)).copied().collect();
        firsts.sort_by(f64::total_cmp);
        firsts.get(firsts.len() / 2).copied().unwrap_or(0.0)
    };
    let body = r.python.strip_prefix("import warp as wp\n")?;
    let wrapped = wrap_reads(body, &r.name, &target.name)?;
    let python = format!("import warp as wp\n\n\n{}{}", helper(&t, first, m, median), wrapped.trim_start_matches('\n'));
    Some(serde_json::json!({
        "name": r.name, "python": python, "launch_dim": r.launch_dim, "test_inputs": r.test_inputs,
        "grad_outputs": r.grad_outputs, "test_outputs": r.test_outputs, "seed": r.seed,
    }))
}

fn records(dir: &Path) -> Vec<Record> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir.join("data")).expect("data dir") {
        let path = e.expect("entry").path();
        out.extend(warpsmith_dataset::read_records(&path).expect("read shard"));
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

/// The records to mutate: the existing `--verify full` dataset named by `WARPSMITH_MUTATION_DATASET`, else
/// `WARPSMITH_MUTATION_COUNT` (default 10) records generated here (seed 15).
fn dataset(root: &Path) -> Vec<Record> {
    if let Some(dir) = std::env::var_os("WARPSMITH_MUTATION_DATASET") {
        return records(Path::new(&dir));
    }
    let count = std::env::var("WARPSMITH_MUTATION_COUNT").unwrap_or_else(|_| "10".into());
    let ds = root.join("ds");
    let out = bin()
        .args(["generate", "--verify", "full", "--workers", "2", "--seed", "15", "--count", &count, "--out"])
        .arg(&ds)
        .arg("--python")
        .arg(python())
        .output()
        .expect("run generate");
    assert!(out.status.success(), "generate failed: {}", String::from_utf8_lossy(&out.stderr));
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    records(&ds)
}

#[test]
fn wrong_adjoints_are_found_and_right_ones_pass() {
    let root = tempfile::tempdir().expect("tempdir");
    let all = dataset(root.path());
    // the gradient outcomes of the run, per category (issue 15 asks for them)
    let mut outcomes: BTreeMap<(String, String), usize> = BTreeMap::new();
    for r in &all {
        *outcomes.entry((r.category.clone(), r.checks.gradient.name().to_string())).or_insert(0) += 1;
    }
    eprintln!("gradient outcomes by category: {outcomes:?}");
    let mut checked: Vec<Record> =
        all.into_iter().filter(|r| r.checks.gradient == warpsmith_dataset::CheckStatus::Passed).collect();
    assert!(!checked.is_empty(), "no record with a passed gradient check");
    // at most WARPSMITH_MUTATION_RECORDS (default: all) of them, in id order
    if let Some(n) = std::env::var("WARPSMITH_MUTATION_RECORDS").ok().and_then(|n| n.parse().ok()) {
        checked.truncate(n);
    }
    let mut lines = Vec::new();
    let mut cases = Vec::new();
    let mut unreachable = 0;
    for r in &checked {
        let Some(first) = mutant(r, Mutation::Correct) else {
            unreachable += 1;
            continue;
        };
        lines.push(first);
        cases.push((r.id.clone(), Mutation::Correct, None));
        for m in &MUTATIONS[1..] {
            lines.push(mutant(r, *m).expect("the same record mutates under every mutation"));
            cases.push((r.id.clone(), *m, None));
        }
    }
    // by-value float arguments (scalars, struct fields), checked through the worker's gradient twin
    let mut by_value = 0;
    for r in &checked {
        let Some(param) = value_target(r).map(|t| t.split('.').next().unwrap_or_default().to_string()) else {
            continue;
        };
        for m in VALUE_MUTATIONS {
            let Some(line) = value_mutant(r, m) else { break };
            by_value += usize::from(m == Mutation::Correct);
            lines.push(line);
            cases.push((r.id.clone(), m, Some(param.clone())));
        }
    }
    let input = root.path().join("mutants.jsonl");
    let text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    std::fs::write(&input, text.join("\n") + "\n").expect("write mutants");
    let out =
        bin().args(["check", "--workers", "2"]).arg(&input).arg("--python").arg(python()).output().expect("run check");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let verdicts: Vec<serde_json::Value> =
        stdout.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    assert_eq!(verdicts.len(), cases.len(), "one line per mutant; stderr: {}", String::from_utf8_lossy(&out.stderr));
    // per (mutation, by value): (records, detected, other outcomes by kind)
    let mut tally: BTreeMap<(Mutation, bool), Tally> = BTreeMap::new();
    // a by-value argument whose right adjoint has no informative sample (its derivative is zero on the record's
    // inputs: read only through an int cast, a comparison, a search) makes no wrong adjoint when scaled
    let zero_adjoint: std::collections::BTreeSet<&str> = cases
        .iter()
        .zip(&verdicts)
        .filter_map(|((id, m, param), v)| {
            let p = param.as_deref()?;
            let n = v["gradient"]["informative_by_arg"][p].as_u64().unwrap_or(0);
            (*m == Mutation::Correct && n == 0).then_some(id.as_str())
        })
        .collect();
    for ((id, m, param), v) in cases.iter().zip(&verdicts) {
        let value = param.is_some();
        if value && *m != Mutation::Correct && zero_adjoint.contains(id.as_str()) {
            continue;
        }
        let outcome = v["outcome"].as_str().unwrap_or("?").to_string();
        let e = tally.entry((*m, value)).or_default();
        e.0 += 1;
        let expected = if *m == Mutation::Correct { "accepted" } else { "finding" };
        if outcome == expected {
            e.1 += 1;
        } else {
            let kind = format!("{outcome}/{}", v["gradient"]["status"].as_str().unwrap_or("-"));
            *e.2.entry(kind.clone()).or_insert(0) += 1;
            eprintln!("{m:?}{} on {id}: {kind} {v}", if value { " (by value)" } else { "" });
        }
    }
    eprintln!(
        "records with a passed gradient: {}; no directly read float input: {unreachable}; with a by-value float \
         read: {by_value}, of them with a zero adjoint on their inputs: {}",
        checked.len(),
        zero_adjoint.len()
    );
    for ((m, value), (n, ok, other)) in &tally {
        let what = if *value { " (by value)" } else { "" };
        eprintln!("{m:?}{what}: {ok}/{n} as expected ({:.1} %), others {other:?}", 100.0 * *ok as f64 / *n as f64);
    }
    assert!(cases.len() >= 7 * checked.len().min(4), "too few records could be mutated");
    // the thresholds of issue 15's "done when" (with few records they mean every one), for input arrays and, over
    // the records whose argument has a nonzero adjoint, for by-value arguments
    let floors = [
        (Mutation::Scale0, 0.99),
        (Mutation::ScaleMinus1, 0.99),
        (Mutation::Scale2, 0.99),
        (Mutation::Scale1_1, 0.95),
        (Mutation::OneComponent, 0.90),
        (Mutation::WrongBranch, 0.90),
        (Mutation::Correct, 0.97),
    ];
    // by-value arguments, measured on 200 records of a 2,000-record run (docs/measurements.md): x0, x-1 and x2
    // found in every one, x1.1 in 88 % (a scalar read by every thread changes every output, so the noise of its
    // finite difference is that of the whole launch while a wrong adjoint stays 10 % of its own), the right
    // adjoint accepted in 96 % (`check` does not know the generator's inexact constructs: a by-value float
    // mutated in a dynamic loop is a finding there, `inexact` in a dataset)
    let value_floors = [(Mutation::Scale1_1, 0.85), (Mutation::Correct, 0.95)];
    for ((m, value), (n, ok, _)) in &tally {
        let table: &[(Mutation, f64)] = if *value { &value_floors } else { &[] };
        let floor = table.iter().chain(&floors).find(|(f, _)| f == m).map_or(1.0, |(_, x)| *x);
        let r = *ok as f64 / (*n).max(1) as f64;
        assert!(r >= floor - 1e-9, "{m:?}{}: {r:.3} below {floor}", if *value { " (by value)" } else { "" });
    }
    for m in MUTATIONS {
        assert!(tally.contains_key(&(m, false)), "no record mutated by {m:?}");
    }
}

#[test]
fn reads_are_wrapped_only_in_the_kernel_and_only_for_the_named_array() {
    let py = "@wp.func\ndef f(a: float):\n    return a\n\n\n@wp.kernel\ndef k(a: wp.array(dtype=float), ab: wp.array(dtype=float)):\n    i = wp.tid()\n    x = a[i] + ab[i] + a[(i + 1) % 4]\n";
    let w = wrap_reads(py, "k", "a").expect("wrapped");
    assert!(w.contains("x = ws_mut(a[i]) + ab[i] + ws_mut(a[(i + 1) % 4])"), "{w}");
    assert!(w.starts_with("@wp.func\ndef f(a: float):\n    return a\n"));
    assert!(wrap_reads(py, "k", "b").is_none());
}

#[test]
fn value_reads_are_wrapped_in_the_body_only_and_never_where_assigned() {
    let py = "@wp.kernel\ndef k(a: float, aa: wp.array(dtype=float), p: P):\n    i = wp.tid()\n    aa[i] = a * aa[i] + wp.abs(a) + p.g + p.gain\n    a = 2.0\n    f(a=a)\n";
    let w = wrap_value_reads(py, "k", "a").expect("wrapped");
    assert!(w.starts_with("@wp.kernel\ndef k(a: float, aa: wp.array(dtype=float), p: P):\n"), "{w}");
    assert!(
        w.contains("aa[i] = ws_mut(a) * aa[i] + wp.abs(ws_mut(a)) + p.g + p.gain\n    a = 2.0\n    f(a=ws_mut(a))"),
        "{w}"
    );
    let w = wrap_value_reads(py, "k", "p.g").expect("wrapped");
    assert!(w.contains("+ ws_mut(p.g) + p.gain\n"), "{w}");
    assert!(wrap_value_reads(py, "k", "b").is_none());
}
