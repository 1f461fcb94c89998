//! Statistics of a dataset, its SVG plots and its Markdown report (`warpsmith stats`), and the statistics
//! section of the dataset card.
//!
//! Everything here is pure: [`Stats::compute`] reads records and the run information, [`report`] returns the
//! report's files as strings, and the caller writes them.

mod plot;

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;
use warpsmith_dataset::{Record, RunInfo, SPLITS};
use warpsmith_gen::catalog::{builtin_of_feature, builtins_called, catalog};

/// Order statistics of one quantity.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Values summarised.
    pub n: usize,
    /// Smallest value.
    pub min: f64,
    /// 10th percentile (nearest rank).
    pub p10: f64,
    /// Median (nearest rank).
    pub median: f64,
    /// Arithmetic mean.
    pub mean: f64,
    /// 90th percentile (nearest rank).
    pub p90: f64,
    /// Largest value.
    pub max: f64,
}

impl Summary {
    /// Summarises `values` (any order; NaN values are ignored). All zero when empty.
    pub fn of(values: &[f64]) -> Summary {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
        if v.is_empty() {
            return Summary::default();
        }
        v.sort_by(f64::total_cmp);
        // nearest-rank percentile: the value at rank ceil(p * n)
        let rank = |p: f64| v[((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
        Summary {
            n: v.len(),
            min: v[0],
            p10: rank(0.1),
            median: rank(0.5),
            mean: v.iter().sum::<f64>() / v.len() as f64,
            p90: rank(0.9),
            max: v[v.len() - 1],
        }
    }
}

/// Lines and characters of one text column.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Lengths {
    /// Lines per record.
    pub lines: Summary,
    /// Characters (Unicode scalar values) per record.
    pub chars: Summary,
}

/// Distinctness of the kernels.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Distinct {
    /// Distinct ids (canonical forms of the AST).
    pub ids: usize,
    /// Distinct text canonical forms recomputed from `python` ([`warpsmith_ast::text::canonical_text`]).
    pub canonical_forms: usize,
    /// Distinct skeletons (canonical forms with numeric literals blanked).
    pub skeletons: usize,
    /// `skeletons / records`.
    pub skeleton_ratio: f64,
    /// Per category: distinct skeletons / records of the category.
    pub skeleton_ratio_by_category: BTreeMap<String, f64>,
    /// Near-duplicate clusters (distinct `cluster` values).
    pub clusters: usize,
    /// Records in a cluster of two or more.
    pub records_with_near_duplicate: usize,
}

/// Coverage of Warp's builtin registry.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Coverage {
    /// Builtins in the catalog (Warp's registry).
    pub catalog: usize,
    /// Catalog builtins used by at least one record.
    pub used: usize,
    /// `used / catalog`.
    pub fraction: f64,
    /// Records using each builtin (registry name), for every catalog builtin used.
    pub records_per_builtin: BTreeMap<String, usize>,
    /// Per documentation group: (used, in catalog).
    pub by_group: BTreeMap<String, (usize, usize)>,
}

/// Run figures from the manifest.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Throughput {
    /// Wall time of generation and checks, seconds.
    pub wall_seconds: f64,
    /// Records written per second of wall time.
    pub records_per_second: f64,
    /// Verification level.
    pub verify: String,
    /// Failures by reason.
    pub failures: BTreeMap<String, usize>,
    /// Rejected candidates by reason.
    pub rejected: BTreeMap<String, usize>,
    /// Gradient findings by class.
    pub findings: BTreeMap<String, usize>,
    /// Exact duplicates dropped.
    pub duplicates_dropped: usize,
    /// Near-duplicates dropped.
    pub near_duplicates_dropped: usize,
}

/// Every figure of the report (`warpsmith stats --json` prints this).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Stats {
    /// Records in total.
    pub records: usize,
    /// Records per split.
    pub splits: BTreeMap<String, usize>,
    /// Records per category, then per split.
    pub categories: BTreeMap<String, BTreeMap<String, usize>>,
    /// Length of `python`, `cpu_forward`, `cpu_backward`, `cuda_forward`, `cuda_backward`, `cuda_standalone`.
    pub lengths: BTreeMap<String, Lengths>,
    /// Expansion ratio: characters of `cuda_forward` per character of the `@wp.kernel` function in `python`.
    pub expansion: Summary,
    /// Distinct kernels, skeletons and near-duplicate clusters.
    pub distinct: Distinct,
    /// Builtin catalog coverage.
    pub coverage: Coverage,
    /// Records using each construct feature (`stmt:*`, `op:*`, `type:*`, `param:*`).
    pub constructs: BTreeMap<String, usize>,
    /// Per field of `checks` (but the error): records per value.
    pub checks: BTreeMap<String, BTreeMap<String, usize>>,
    /// `gradient_max_rel_error` of records whose gradient check passed.
    pub gradient_error: Summary,
    /// Run figures, when the manifest was available.
    pub throughput: Option<Throughput>,
    /// Per-record values the plots draw (not printed by `--json`).
    #[serde(skip)]
    pub samples: Samples,
}

/// Per-record values kept for plotting.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Samples {
    /// Lines per record, per column (same keys as [`Stats::lengths`]).
    pub lines: BTreeMap<String, Vec<f64>>,
    /// Expansion ratio per record.
    pub expansion: Vec<f64>,
    /// `log10(gradient_max_rel_error)` of gradient-checked records (errors of 0 clamped to 1e-12).
    pub log_gradient_error: Vec<f64>,
}

/// The text columns whose lengths are reported.
pub const LENGTH_COLUMNS: [&str; 6] =
    ["python", "cpu_forward", "cpu_backward", "cuda_forward", "cuda_backward", "cuda_standalone"];

fn column<'a>(r: &'a Record, name: &str) -> &'a str {
    match name {
        "python" => &r.python,
        "cpu_forward" => &r.cpu_forward,
        "cpu_backward" => &r.cpu_backward,
        "cuda_forward" => &r.cuda_forward,
        "cuda_backward" => &r.cuda_backward,
        _ => &r.cuda_standalone,
    }
}

/// The `@wp.kernel` function of a module: from the decorator to the end.
fn kernel_function(python: &str) -> &str {
    python.find("@wp.kernel").map_or(python, |i| &python[i..])
}

impl Stats {
    /// Computes every figure from the records (any order) and, when given, the run information of the manifest.
    pub fn compute(records: &[Record], run: Option<&RunInfo>) -> Stats {
        let mut b = StatsBuilder::new();
        for r in records {
            b.add(r);
        }
        b.finish(run)
    }
}

/// [`Stats`] computed one record at a time, so a dataset of any size is summarised with a few hundred bytes a
/// record (per-record lengths for the plots, 32-byte digests for the distinct counts) instead of the records.
#[derive(Default)]
pub struct StatsBuilder {
    s: Stats,
    chars: BTreeMap<String, Vec<f64>>,
    ids: std::collections::HashSet<blake3::Hash>,
    canon: std::collections::HashSet<blake3::Hash>,
    skel_all: std::collections::HashSet<blake3::Hash>,
    skel_cat: BTreeMap<String, std::collections::HashSet<blake3::Hash>>,
    cluster_sizes: std::collections::HashMap<blake3::Hash, usize>,
    gradient_errors: Vec<f64>,
}

impl StatsBuilder {
    /// An empty summary.
    pub fn new() -> Self {
        let mut b = StatsBuilder::default();
        for split in SPLITS {
            b.s.splits.insert(split.to_string(), 0);
        }
        b
    }

    /// Counts one record.
    pub fn add(&mut self, r: &Record) {
        let s = &mut self.s;
        s.records += 1;
        *s.splits.entry(r.split.clone()).or_insert(0) += 1;
        *s.categories.entry(r.category.clone()).or_default().entry(r.split.clone()).or_insert(0) += 1;
        for col in LENGTH_COLUMNS {
            let text = column(r, col);
            s.samples.lines.entry(col.to_string()).or_default().push(text.lines().count() as f64);
            self.chars.entry(col.to_string()).or_default().push(text.chars().count() as f64);
        }
        let py = kernel_function(&r.python).chars().count();
        if py > 0 && !r.cuda_forward.is_empty() {
            s.samples.expansion.push(r.cuda_forward.chars().count() as f64 / py as f64);
        }
        self.ids.insert(digest(&r.id));
        self.canon.insert(digest(&warpsmith_ast::text::canonical_text(&r.python)));
        let sk = digest(&warpsmith_ast::text::skeleton(&r.python));
        self.skel_cat.entry(r.category.clone()).or_default().insert(sk);
        self.skel_all.insert(sk);
        *self.cluster_sizes.entry(digest(&r.cluster)).or_insert(0) += 1;
        // several features can stand for one builtin (`vec2` and `vec3` for `vector`): count records once;
        // Python syntax reaches builtins too (`a[i]` is `wp::address`), so Warp's own forward code counts
        let mut builtins: std::collections::BTreeSet<&str> =
            r.features.iter().filter_map(|f| builtin_of_feature(f)).collect();
        builtins.extend(builtins_called(&r.cpu_forward));
        for b in builtins {
            *s.coverage.records_per_builtin.entry(b.to_string()).or_insert(0) += 1;
        }
        for f in r.features.iter().filter(|f| f.contains(':') && builtin_of_feature(f).is_none()) {
            *s.constructs.entry(f.clone()).or_insert(0) += 1;
        }
        let c = &r.checks;
        for (field, value) in [
            ("forward", c.forward.name()),
            ("deterministic", if c.deterministic { "true" } else { "false" }),
            ("gradient", c.gradient.name()),
            ("ptx", c.ptx.name()),
            ("cuda_forward", c.cuda_forward.name()),
            ("cuda_backward", c.cuda_backward.name()),
            ("standalone_compile", c.standalone_compile.name()),
            ("standalone_equivalence", c.standalone_equivalence.name()),
        ] {
            *s.checks.entry(field.to_string()).or_default().entry(value.to_string()).or_insert(0) += 1;
        }
        if c.gradient == warpsmith_dataset::CheckStatus::Passed {
            self.gradient_errors.push(c.gradient_max_rel_error);
            s.samples.log_gradient_error.push(c.gradient_max_rel_error.max(1e-12).log10());
        }
    }

    /// The figures of every record added, with the run information of the manifest when given.
    pub fn finish(self, run: Option<&RunInfo>) -> Stats {
        let StatsBuilder { mut s, chars, ids, canon, skel_all, skel_cat, cluster_sizes, gradient_errors } = self;
        for col in LENGTH_COLUMNS {
            let lines = s.samples.lines.get(col).map(|v| Summary::of(v)).unwrap_or_default();
            let ch = chars.get(col).map(|v| Summary::of(v)).unwrap_or_default();
            s.lengths.insert(col.to_string(), Lengths { lines, chars: ch });
        }
        s.expansion = Summary::of(&s.samples.expansion);
        s.gradient_error = Summary::of(&gradient_errors);
        let n = s.records.max(1) as f64;
        s.distinct = Distinct {
            ids: ids.len(),
            canonical_forms: canon.len(),
            skeletons: skel_all.len(),
            skeleton_ratio: skel_all.len() as f64 / n,
            skeleton_ratio_by_category: skel_cat
                .iter()
                .map(|(c, set)| {
                    let total: usize = s.categories.get(c).map_or(0, |m| m.values().sum());
                    (c.to_string(), set.len() as f64 / total.max(1) as f64)
                })
                .collect(),
            clusters: cluster_sizes.len(),
            records_with_near_duplicate: cluster_sizes.values().filter(|&&k| k > 1).sum(),
        };
        let cat = catalog();
        s.coverage.catalog = cat.builtins.len();
        s.coverage.used = s.coverage.records_per_builtin.len();
        s.coverage.fraction = s.coverage.used as f64 / cat.builtins.len().max(1) as f64;
        for b in &cat.builtins {
            let e = s.coverage.by_group.entry(b.group.clone()).or_insert((0, 0));
            e.1 += 1;
            if s.coverage.records_per_builtin.contains_key(&b.name) {
                e.0 += 1;
            }
        }
        let records = s.records;
        s.throughput = run.map(|run| Throughput {
            wall_seconds: run.wall_seconds,
            records_per_second: records as f64 / run.wall_seconds.max(1e-9),
            verify: run.verify.clone(),
            failures: run.failures.clone(),
            rejected: run.rejected.clone(),
            findings: run.findings.clone(),
            duplicates_dropped: run.duplicates_dropped,
            near_duplicates_dropped: run.near_duplicates_dropped,
        });
        s
    }
}

/// Canonical forms are compared by BLAKE3 hash, so memory stays at 32 bytes per record.
fn digest(s: &str) -> blake3::Hash {
    blake3::hash(s.as_bytes())
}

fn pct(part: usize, whole: usize) -> String {
    format!("{:.1}%", 100.0 * part as f64 / whole.max(1) as f64)
}

fn summary_row(name: &str, s: &Summary) -> String {
    format!(
        "| {name} | {:.0} | {:.0} | {:.0} | {:.1} | {:.0} | {:.0} |\n",
        s.min, s.p10, s.median, s.mean, s.p90, s.max
    )
}

/// The statistics section of the dataset card: counts, distinctness, coverage, lengths and checks.
pub fn card_section(s: &Stats) -> String {
    let mut o = String::new();
    o.push_str("## Statistics\n\n");
    let _ = writeln!(
        o,
        "- {} records; {} distinct skeletons ({}; canonical forms with numeric literals blanked); {} near-duplicate clusters, {} records share one.",
        s.records,
        s.distinct.skeletons,
        pct(s.distinct.skeletons, s.records),
        s.distinct.clusters,
        s.distinct.records_with_near_duplicate
    );
    let _ = writeln!(
        o,
        "- {} of the {} builtins in Warp's registry are used ({}).",
        s.coverage.used,
        s.coverage.catalog,
        pct(s.coverage.used, s.coverage.catalog)
    );
    if s.gradient_error.n > 0 {
        let _ = writeln!(
            o,
            "- Gradient checked and passed on {} records; median largest relative error {:.2e}, worst {:.2e}.",
            s.gradient_error.n, s.gradient_error.median, s.gradient_error.max
        );
    }
    o.push('\n');
    o.push_str(&length_table(s, "lines"));
    o.push('\n');
    o.push_str(&checks_table(s));
    o.push('\n');
    o
}

/// The length table of every text column, in `lines` or `chars`.
fn length_table(s: &Stats, unit: &str) -> String {
    let mut o = format!("| column | min {unit} | p10 | median | mean | p90 | max |\n|---|---|---|---|---|---|---|\n");
    for (col, l) in &s.lengths {
        o.push_str(&summary_row(&format!("`{col}`"), if unit == "lines" { &l.lines } else { &l.chars }));
    }
    o
}

/// Records per outcome of every `checks` field.
fn checks_table(s: &Stats) -> String {
    let mut o = String::from("| check | outcomes |\n|---|---|\n");
    for (field, values) in &s.checks {
        let v: Vec<String> = values.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let _ = writeln!(o, "| `{field}` | {} |", v.join(", "));
    }
    o
}

/// The report's files: `report.md` and the SVG plots it embeds, as (file name, contents).
///
/// # Errors
/// A message naming the plot that plotters could not draw.
pub fn report(s: &Stats, title: &str) -> Result<Vec<(String, String)>, String> {
    let plots = plot::all(s)?;
    let mut o = String::new();
    let _ = writeln!(o, "# {title}\n");
    let _ = writeln!(o, "{} records.\n", s.records);
    o.push_str("## Records per category and split\n\n| category | ");
    o.push_str(&SPLITS.join(" | "));
    o.push_str(" | total |\n|---|---|---|---|---|\n");
    for (cat, splits) in &s.categories {
        let cells: Vec<String> = SPLITS.iter().map(|sp| splits.get(*sp).copied().unwrap_or(0).to_string()).collect();
        let _ = writeln!(o, "| {cat} | {} | {} |", cells.join(" | "), splits.values().sum::<usize>());
    }
    let totals: Vec<String> = SPLITS.iter().map(|sp| s.splits.get(*sp).copied().unwrap_or(0).to_string()).collect();
    let _ = writeln!(o, "| **all** | {} | {} |\n", totals.join(" | "), s.records);
    o.push_str("![records per category](categories.svg)\n\n");

    o.push_str("## Diversity\n\n");
    let d = &s.distinct;
    let _ = writeln!(
        o,
        "- distinct ids {} ({}), distinct text canonical forms {} ({}), distinct skeletons {} ({})",
        d.ids,
        pct(d.ids, s.records),
        d.canonical_forms,
        pct(d.canonical_forms, s.records),
        d.skeletons,
        pct(d.skeletons, s.records)
    );
    let _ = writeln!(
        o,
        "- near-duplicate clusters {}; records with a near-duplicate {} ({})\n",
        d.clusters,
        d.records_with_near_duplicate,
        pct(d.records_with_near_duplicate, s.records)
    );
    o.push_str("| category | distinct skeletons / records |\n|---|---|\n");
    for (c, r) in &d.skeleton_ratio_by_category {
        let _ = writeln!(o, "| {c} | {:.1}% |", 100.0 * r);
    }

    o.push_str("\n## Lengths\n\n");
    o.push_str(&length_table(s, "lines"));
    o.push('\n');
    o.push_str(&length_table(s, "chars"));
    let e = &s.expansion;
    let _ = writeln!(
        o,
        "\nExpansion ratio (characters of `cuda_forward` per character of the `@wp.kernel` function): median {:.1}, p10 {:.1}, p90 {:.1}, max {:.1}.\n",
        e.median, e.p10, e.p90, e.max
    );
    o.push_str("![lines per column](lengths.svg)\n\n![expansion ratio](expansion.svg)\n\n");

    let c = &s.coverage;
    o.push_str("## Builtins\n\n");
    let _ = writeln!(
        o,
        "{} of the {} builtins in Warp's registry ({}) are used by at least one record (named in its `features` or \
         called as `wp::name(` in its `cpu_forward`).\n",
        c.used,
        c.catalog,
        pct(c.used, c.catalog)
    );
    o.push_str("| group | used | in the registry |\n|---|---|---|\n");
    for (g, (used, total)) in &c.by_group {
        let _ = writeln!(o, "| {g} | {used} | {total} |");
    }
    o.push_str("\n![builtin frequency](builtins.svg)\n\n<details><summary>records per builtin</summary>\n\n| builtin | records |\n|---|---|\n");
    let mut by_count: Vec<(&String, &usize)> = c.records_per_builtin.iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (b, n) in by_count {
        let _ = writeln!(o, "| `{b}` | {n} |");
    }
    o.push_str("\n</details>\n\n## Constructs and types\n\n| feature | records | share |\n|---|---|---|\n");
    for (f, n) in &s.constructs {
        let _ = writeln!(o, "| `{f}` | {n} | {} |", pct(*n, s.records));
    }
    o.push_str("\n![constructs](constructs.svg)\n\n## Verification\n\n");
    o.push_str(&checks_table(s));
    let g = &s.gradient_error;
    let _ = writeln!(
        o,
        "\nLargest relative gradient error of the {} records whose gradient check passed: median {:.2e}, p90 {:.2e}, max {:.2e}.\n",
        g.n, g.median, g.p90, g.max
    );
    o.push_str("![gradient error](gradient_error.svg)\n\n");
    if let Some(t) = &s.throughput {
        o.push_str("## Generation\n\n");
        let _ = writeln!(
            o,
            "- verification `{}`; {:.1} s wall time, {:.2} records/s",
            t.verify, t.wall_seconds, t.records_per_second
        );
        let _ = writeln!(
            o,
            "- dropped: {} exact duplicates, {} near-duplicates",
            t.duplicates_dropped, t.near_duplicates_dropped
        );
        for (what, m) in [("failures", &t.failures), ("rejected", &t.rejected), ("gradient findings", &t.findings)] {
            let v: Vec<String> = m.iter().map(|(k, n)| format!("{k} {n}")).collect();
            let _ = writeln!(o, "- {what}: {}", if v.is_empty() { "none".to_string() } else { v.join(", ") });
        }
    }
    let mut files = vec![("report.md".to_string(), o)];
    files.extend(plots);
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, python: &str, features: &[&str], gradient: &str, error: f64) -> Record {
        let r = serde_json::json!({
            "id": id, "name": "k", "category": "arithmetic", "seed": 1, "python": python,
            "cpu_forward": "f", "cpu_backward": "b", "cuda_forward": "__global__ void f() {\n}\n",
            "cuda_backward": "b", "cpu_module": "m", "cuda_module": "m", "warp_version": "1.19.0",
            "features": features, "split": "train", "cluster": id, "launch_dim": [], "test_inputs": [],
            "test_outputs": [], "grad_outputs": [], "grad_inputs": [], "checks": {"forward": "passed",
            "deterministic": true, "gradient": gradient, "gradient_max_rel_error": error, "ptx": "skipped",
            "cuda_forward": "skipped", "cuda_backward": "skipped", "standalone_compile": "skipped",
            "standalone_equivalence": "passed"},
            "ptx": "", "cuda_standalone": ""
        });
        serde_json::from_value(r).expect("record")
    }

    fn module(body: &str) -> String {
        format!("import warp as wp\n\n@wp.kernel\ndef k(a: wp.array(dtype=wp.float32)):\n    tid = wp.tid()\n{body}")
    }

    fn sample() -> Vec<Record> {
        vec![
            record(
                "a",
                &module("    a[tid] = a[tid] * 2.0\n"),
                &["vec2", "vec3", "op:mul", "stmt:store"],
                "passed",
                1e-5,
            ),
            // differs from the first only in a constant: another canonical form, the same skeleton
            record("b", &module("    a[tid] = a[tid] * 3.0\n"), &["op:mul", "stmt:store"], "passed", 1e-3),
            record(
                "c",
                &module("    for i in range(3):\n        a[tid] = wp.sin(a[tid])\n"),
                &["sin", "stmt:for"],
                "not_differentiable",
                0.0,
            ),
        ]
    }

    #[test]
    fn summary_uses_nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        let s = Summary::of(&v);
        assert_eq!((s.min, s.p10, s.median, s.p90, s.max, s.mean), (1.0, 1.0, 5.0, 9.0, 10.0, 5.5));
        assert_eq!(Summary::of(&[]).n, 0);
    }

    #[test]
    fn figures_count_records_skeletons_and_builtins_once_per_record() {
        let s = Stats::compute(&sample(), None);
        assert_eq!(s.records, 3);
        assert_eq!((s.distinct.ids, s.distinct.canonical_forms, s.distinct.skeletons), (3, 3, 2));
        // vec2 and vec3 are both Warp's `vector` builtin: one record
        assert_eq!(s.coverage.records_per_builtin.get("vector"), Some(&1));
        assert_eq!(s.coverage.records_per_builtin.get("mul"), Some(&2));
        assert_eq!(s.coverage.records_per_builtin.get("sin"), Some(&1));
        assert_eq!(s.coverage.used, 3);
        assert_eq!(s.coverage.catalog, 355);
        assert_eq!(s.constructs.get("stmt:store"), Some(&2));
        assert_eq!(s.checks["gradient"].get("passed"), Some(&2));
        assert_eq!(s.gradient_error.n, 2);
        assert_eq!(s.gradient_error.max, 1e-3);
        assert_eq!(s.lengths["cuda_forward"].lines.max, 2.0);
    }

    #[test]
    fn builtins_called_by_warps_forward_code_count_as_used() {
        let mut rs = sample();
        rs[2].cpu_forward = "var_0 = wp::address(a, tid);\nvar_1 = wp::load(var_0);\nvar_2 = wp::sin(var_1);".into();
        let s = Stats::compute(&rs, None);
        assert_eq!(s.coverage.records_per_builtin.get("address"), Some(&1));
        assert_eq!(s.coverage.records_per_builtin.get("load"), Some(&1));
        // named in features and called: still one record
        assert_eq!(s.coverage.records_per_builtin.get("sin"), Some(&1));
        assert_eq!(s.coverage.used, 5);
    }

    #[test]
    fn the_report_embeds_plots_that_parse_as_svg_and_draw_bars() {
        let files = report(&Stats::compute(&sample(), None), "test").expect("report");
        let (name, md) = &files[0];
        assert_eq!(name, "report.md");
        for (name, svg) in &files[1..] {
            assert!(md.contains(&format!("]({name})")), "report.md embeds {name}");
            let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(doc.root_element().tag_name().name(), "svg");
            let bars =
                doc.descendants().filter(|n| n.has_tag_name("rect") && n.attribute("fill") != Some("#FFFFFF")).count();
            assert!(bars >= 1, "{name} draws no bar");
        }
        assert_eq!(files.len(), 7);
    }
}
