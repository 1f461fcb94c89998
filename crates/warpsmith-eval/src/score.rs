//! Scoring: a completion's results against Warp's, one outcome per completion, and the summary (pass@1 and
//! pass@k by task and category).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Relative and absolute tolerance of a forward output: `|got - want| <= atol + rtol * |want|`. Warp's own
/// function compiled the same way gives bitwise the same values; the tolerance admits an equivalent function
/// written differently (reassociated sums), not a different one. Integer outputs compare exactly.
pub const FORWARD_TOLERANCE: (f64, f64) = (1e-5, 1e-6);
/// The same for input adjoints, which sum more terms (as the CUDA-against-CPU adjoint check does: 1e-4, 1e-5).
pub const ADJOINT_TOLERANCE: (f64, f64) = (1e-4, 1e-5);

/// One named result array, flattened (`dtype` is empty for an adjoint: always float).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Values {
    /// The parameter's name.
    pub name: String,
    /// Its Warp dtype short name (`int32` compares exactly).
    #[serde(default)]
    pub dtype: String,
    /// The values, row-major.
    pub values: Vec<f64>,
}

/// The first difference between `got` and `want` beyond `(rtol, atol)`, described; `None` when they agree
/// (same names in the same order, same lengths, every value close; NaN agrees with NaN and an infinity with
/// itself).
pub fn difference(got: &[Values], want: &[Values], (rtol, atol): (f64, f64)) -> Option<String> {
    if got.len() != want.len() {
        return Some(format!("{} result arrays, Warp has {}", got.len(), want.len()));
    }
    for (g, w) in got.iter().zip(want) {
        if g.name != w.name {
            return Some(format!("result {:?} where Warp has {:?}", g.name, w.name));
        }
        if g.values.len() != w.values.len() {
            return Some(format!("{} has {} values, Warp's {}", w.name, g.values.len(), w.values.len()));
        }
        let exact = w.dtype == "int32";
        for (i, (&a, &b)) in g.values.iter().zip(&w.values).enumerate() {
            let same = if exact || !b.is_finite() {
                a == b || (a.is_nan() && b.is_nan())
            } else {
                (a - b).abs() <= atol + rtol * b.abs()
            };
            if !same {
                return Some(format!("{}[{i}] = {a}, Warp gives {b}", w.name));
            }
        }
    }
    None
}

/// The unbiased pass@k estimate for one problem with `n` samples of which `c` are correct:
/// `1 - C(n - c, k) / C(n, k)` (Chen et al., "Evaluating Large Language Models Trained on Code", 2021, eq. 1),
/// computed as the product `prod_{i = n - c + 1}^{n} (1 - k / i)`. `None` when `k > n`.
pub fn pass_at_k(n: usize, c: usize, k: usize) -> Option<f64> {
    if k == 0 || k > n {
        return None;
    }
    if n - c < k {
        return Some(1.0);
    }
    Some(1.0 - ((n - c + 1)..=n).map(|i| 1.0 - k as f64 / i as f64).product::<f64>())
}

/// What one completion scored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// The record's id.
    pub id: String,
    /// The record's category.
    pub category: String,
    /// The task.
    pub task: String,
    /// The line of the predictions file.
    pub line: usize,
    /// The code is byte for byte the record's answer.
    pub exact_match: bool,
    /// The code is the record's answer up to layout and `//` comments ([`crate::predictions::normalized`]).
    pub normalized_match: bool,
    /// It compiled (Warp's CPU compiler; and NVRTC to PTX for python-to-cuda).
    pub compiled: bool,
    /// It ran on every input set and gave results.
    pub ran: bool,
    /// Its results agree with Warp's on the stored and the fresh inputs.
    pub correct: bool,
    /// NVRTC's verdict for python-to-cuda (`passed`, `failed`), else `None`.
    pub ptx: Option<String>,
    /// Why it is not correct (`None` when it is).
    pub reason: Option<String>,
    /// Wall seconds of its sandboxed process.
    pub seconds: f64,
}

/// Rates over a set of outcomes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Rates {
    /// Records with at least one completion.
    pub records: usize,
    /// Completions.
    pub completions: usize,
    /// Fraction of completions that compiled.
    pub compiled: f64,
    /// Fraction that ran.
    pub ran: f64,
    /// Fraction correct (over completions).
    pub correct: f64,
    /// Fraction that match exactly, and after normalisation.
    pub exact_match: f64,
    /// The same after normalisation.
    pub normalized_match: f64,
    /// pass@k for each k up to the fewest completions any record has (k = 1 is the mean over records of the
    /// fraction correct).
    pub pass_at: BTreeMap<usize, f64>,
}

fn rates<'a>(outcomes: impl Iterator<Item = &'a Outcome>) -> Rates {
    let mut by_id: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let (mut n, mut compiled, mut ran, mut correct, mut exact, mut norm) = (0usize, 0, 0, 0, 0, 0);
    for o in outcomes {
        n += 1;
        compiled += usize::from(o.compiled);
        ran += usize::from(o.ran);
        correct += usize::from(o.correct);
        exact += usize::from(o.exact_match);
        norm += usize::from(o.normalized_match);
        let e = by_id.entry(&o.id).or_default();
        e.0 += 1;
        e.1 += usize::from(o.correct);
    }
    let frac = |x: usize| if n == 0 { 0.0 } else { x as f64 / n as f64 };
    let min_n = by_id.values().map(|v| v.0).min().unwrap_or(0);
    let mut pass_at = BTreeMap::new();
    for k in [1, 2, 5, 10, 20, 50, 100].into_iter().filter(|&k| k <= min_n) {
        let sum: f64 = by_id.values().filter_map(|&(n, c)| pass_at_k(n, c, k)).sum();
        pass_at.insert(k, sum / by_id.len() as f64);
    }
    Rates {
        records: by_id.len(),
        completions: n,
        compiled: frac(compiled),
        ran: frac(ran),
        correct: frac(correct),
        exact_match: frac(exact),
        normalized_match: frac(norm),
        pass_at,
    }
}

/// The summary of an evaluation: overall and per category.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The task.
    pub task: String,
    /// Completions left out of the rates because their record cannot be scored on this machine (reason
    /// starting with [`NOT_SCORED`]).
    #[serde(default)]
    pub not_scored: usize,
    /// The split evaluated.
    pub split: String,
    /// Over every completion.
    pub all: Rates,
    /// Per category.
    pub by_category: BTreeMap<String, Rates>,
    /// How the network was cut ("namespace" or "syscall rules").
    pub network_isolation: String,
    /// A note on what "correct" means for this task (e.g. python-to-cuda ran on the host, not a GPU).
    pub note: String,
}

/// How the reason of a completion starts when its record cannot be scored on this machine: a CUDA kernel function
/// that calls device-only code (MathDx's Cholesky and triangular solves, for example) builds neither for the host
/// shim nor anywhere without a GPU. Such completions are counted apart ([`Summary::not_scored`]) and left out of
/// every rate; they are not evaluator errors.
pub const NOT_SCORED: &str = "not scored here:";

/// True when `o` was not scored ([`NOT_SCORED`]).
pub fn not_scored(o: &Outcome) -> bool {
    o.reason.as_deref().is_some_and(|r| r.starts_with(NOT_SCORED))
}

/// Summarises `outcomes`; the ones [`not_scored`] are counted, not rated.
pub fn summarize(task: &str, split: &str, outcomes: &[Outcome], network_isolation: &str, note: &str) -> Summary {
    let scored: Vec<&Outcome> = outcomes.iter().filter(|o| !not_scored(o)).collect();
    let mut cats: BTreeMap<&str, Vec<&Outcome>> = BTreeMap::new();
    for o in &scored {
        cats.entry(&o.category).or_default().push(o);
    }
    Summary {
        task: task.into(),
        not_scored: outcomes.len() - scored.len(),
        split: split.into(),
        all: rates(scored.into_iter()),
        by_category: cats.into_iter().map(|(c, v)| (c.to_string(), rates(v.into_iter()))).collect(),
        network_isolation: network_isolation.into(),
        note: note.into(),
    }
}

impl Summary {
    /// The summary as a Markdown table (one row for all, one per category).
    pub fn markdown(&self) -> String {
        let ks: Vec<usize> = self.all.pass_at.keys().copied().collect();
        let pct = |x: f64| format!("{:.1} %", 100.0 * x);
        let mut s = format!("# warpsmith eval: {} on the {} split\n\n{}\n\n", self.task, self.split, self.note);
        s.push_str("| | records | completions | compiled | ran | correct |");
        for k in &ks {
            s.push_str(&format!(" pass@{k} |"));
        }
        s.push_str(" exact match | normalised match |\n|---|---:|---:|---:|---:|---:|");
        s.push_str(&"---:|".repeat(ks.len()));
        s.push_str("---:|---:|\n");
        let mut row = |name: &str, r: &Rates| {
            s.push_str(&format!(
                "| {name} | {} | {} | {} | {} | {} |",
                r.records,
                r.completions,
                pct(r.compiled),
                pct(r.ran),
                pct(r.correct)
            ));
            for k in &ks {
                s.push_str(&format!(" {} |", r.pass_at.get(k).map_or("-".into(), |&v| pct(v))));
            }
            s.push_str(&format!(" {} | {} |\n", pct(r.exact_match), pct(r.normalized_match)));
        };
        row("**all**", &self.all);
        for (c, r) in &self.by_category {
            row(c, r);
        }
        if self.not_scored > 0 {
            s.push_str(&format!(
                "\n{} completions not scored (their records' functions do not run on this machine; \"{NOT_SCORED} ...\" \
                 in results.jsonl), left out of the rates.\n",
                self.not_scored
            ));
        }
        s.push_str(&format!("\nNetwork isolation: {}.\n", self.network_isolation));
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v(name: &str, dtype: &str, values: &[f64]) -> Values {
        Values { name: name.into(), dtype: dtype.into(), values: values.to_vec() }
    }

    #[test]
    fn differences_are_found_in_names_lengths_and_values() {
        let want = [v("out", "float32", &[1.0, f64::NAN, 3.0]), v("n", "int32", &[4.0])];
        assert_eq!(difference(&want, &want, FORWARD_TOLERANCE), None);
        let close = [v("out", "float32", &[1.0 + 1e-7, f64::NAN, 3.0]), v("n", "int32", &[4.0])];
        assert_eq!(difference(&close, &want, FORWARD_TOLERANCE), None);
        let far = [v("out", "float32", &[1.001, f64::NAN, 3.0]), v("n", "int32", &[4.0])];
        assert!(difference(&far, &want, FORWARD_TOLERANCE).expect("differs").contains("out[0]"));
        let nan = [v("out", "float32", &[1.0, 2.0, 3.0]), v("n", "int32", &[4.0])];
        assert!(difference(&nan, &want, FORWARD_TOLERANCE).is_some());
        let int = [v("out", "float32", &[1.0, f64::NAN, 3.0]), v("n", "int32", &[4.000001])];
        assert!(difference(&int, &want, FORWARD_TOLERANCE).expect("differs").contains("n[0]"));
        assert!(difference(&want[..1], &want, FORWARD_TOLERANCE).is_some());
        let renamed = [v("res", "float32", &[1.0, f64::NAN, 3.0]), v("n", "int32", &[4.0])];
        assert!(difference(&renamed, &want, FORWARD_TOLERANCE).is_some());
        let short = [v("out", "float32", &[1.0, f64::NAN]), v("n", "int32", &[4.0])];
        assert!(difference(&short, &want, FORWARD_TOLERANCE).is_some());
    }

    #[test]
    fn pass_at_k_matches_the_binomial_form() {
        assert_eq!(pass_at_k(5, 0, 1), Some(0.0));
        assert_eq!(pass_at_k(5, 5, 3), Some(1.0));
        assert_eq!(pass_at_k(3, 1, 4), None);
        // 1 - C(3,2)/C(5,2) = 1 - 3/10
        assert!((pass_at_k(5, 2, 2).expect("k <= n") - 0.7).abs() < 1e-12);
    }

    proptest! {
        #[test]
        fn pass_at_1_is_the_fraction_correct_and_pass_at_k_grows_with_k(n in 1usize..40, c_frac in 0.0f64..=1.0) {
            let c = ((n as f64) * c_frac).round() as usize;
            let p1 = pass_at_k(n, c, 1).expect("1 <= n");
            prop_assert!((p1 - c as f64 / n as f64).abs() < 1e-9);
            let mut last = p1;
            for k in 2..=n {
                let p = pass_at_k(n, c, k).expect("k <= n");
                prop_assert!(p + 1e-12 >= last && p <= 1.0 + 1e-12);
                last = p;
            }
        }
    }

    #[test]
    fn summary_counts_per_category_and_prints_every_row() {
        let o = |id: &str, cat: &str, correct: bool| Outcome {
            id: id.into(),
            category: cat.into(),
            task: "python-to-cpp".into(),
            line: 1,
            exact_match: correct,
            normalized_match: correct,
            compiled: true,
            ran: true,
            correct,
            ptx: None,
            reason: None,
            seconds: 1.0,
        };
        let s = summarize(
            "python-to-cpp",
            "test",
            &[o("a", "scalar", true), o("a", "scalar", false), o("b", "tiles", false), o("b", "tiles", false)],
            "namespace",
            "",
        );
        assert_eq!(s.all.records, 2);
        assert_eq!(s.all.completions, 4);
        assert!((s.all.correct - 0.25).abs() < 1e-12);
        assert!((s.all.pass_at[&2] - 0.5).abs() < 1e-12);
        assert!((s.by_category["scalar"].pass_at[&1] - 0.5).abs() < 1e-12);
        let md = s.markdown();
        assert!(md.contains("| scalar | 1 | 2 |") && md.contains("| tiles | 1 | 2 |") && md.contains("pass@2"));
        assert_eq!(s.not_scored, 0);
        assert!(!md.contains("not scored"));

        // a record that cannot be scored here is counted apart and rated nowhere
        let mut unscored = o("c", "tile", false);
        unscored.reason = Some(format!("{NOT_SCORED} the record's own CUDA function does not build for the host"));
        let s = summarize(
            "python-to-adjoint",
            "test",
            &[o("a", "scalar", true), o("a", "scalar", false), unscored.clone(), unscored],
            "namespace",
            "",
        );
        assert_eq!((s.not_scored, s.all.records, s.all.completions), (2, 1, 2));
        assert!((s.all.correct - 0.5).abs() < 1e-12);
        assert!(!s.by_category.contains_key("tile"), "a category of unscored records only has no row");
        assert!(s.markdown().contains("2 completions not scored"));
    }
}
