//! `warpsmith validate`, the checks that need no Warp: files against the manifest, shard schemas, and every
//! record against its own columns, the generator and the near-duplicate clusters. The re-run of a sample
//! through Warp is the binary's (it owns the worker pool); [`compare_outputs`] is its comparison.
//!
//! Each problem is one [`Violation`]: where, and what. A corrupted copy yields the violations that name the
//! corruption (a truncated shard: its hash and its Parquet footer; an edited function: its hash and "not the
//! function in the module"), never a panic.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::Path;

use crate::{CheckStatus, Manifest, Record, SPLITS, near_dup, split_of};

/// One problem found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// A file (relative to the dataset) or `record <id>`.
    pub location: String,
    /// What is wrong, in one line.
    pub problem: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.problem)
    }
}

fn v(location: impl Into<String>, problem: impl Into<String>) -> Violation {
    Violation { location: location.into(), problem: problem.into() }
}

/// Checks every file the manifest lists (present, size, BLAKE3, split in its name) and that no unlisted shard
/// is in `data/`, without reading any record; BLAKE3 is computed while reading, so memory stays small.
pub fn check_file_list(dir: &Path, m: &Manifest) -> Vec<Violation> {
    let mut out = Vec::new();
    let listed: HashSet<&str> = m.files.iter().map(|f| f.path.as_str()).collect();
    if let Ok(entries) = std::fs::read_dir(dir.join("data")) {
        let mut extra: Vec<String> = entries
            .flatten()
            .map(|e| format!("data/{}", e.file_name().to_string_lossy()))
            .filter(|p| p.ends_with(".parquet") && !listed.contains(p.as_str()))
            .collect();
        extra.sort();
        for p in extra {
            out.push(v(p, "shard not listed in manifest.json"));
        }
    }
    for f in &m.files {
        let path = dir.join(&f.path);
        let hashed = std::fs::File::open(&path).and_then(|file| {
            let mut h = blake3::Hasher::new();
            h.update_reader(file)?;
            Ok((h.count(), h.finalize().to_hex().to_string()))
        });
        let (size, hash) = match hashed {
            Ok(x) => x,
            Err(e) => {
                out.push(v(&f.path, format!("cannot be read: {e}")));
                continue;
            }
        };
        if size != f.bytes {
            out.push(v(&f.path, format!("{size} bytes, manifest.json says {}", f.bytes)));
        }
        if hash != f.blake3 {
            out.push(v(&f.path, format!("BLAKE3 {hash} differs from manifest.json's {}", f.blake3)));
        }
        let name = f.path.trim_start_matches("data/");
        if !name.starts_with(&format!("{}-", f.split)) || !SPLITS.contains(&f.split.as_str()) {
            out.push(v(&f.path, format!("listed as split {:?}, which its name does not carry", f.split)));
        }
    }
    out
}

/// [`check_file_list`], then each readable shard's Arrow schema against [`crate::schema`] and its rows (count,
/// split), passing each record with its shard's relative path to `each`, one shard batch at a time.
pub fn check_files(dir: &Path, m: &Manifest, each: &mut dyn FnMut(&str, Record)) -> Vec<Violation> {
    let mut out = check_file_list(dir, m);
    for f in &m.files {
        let path = dir.join(&f.path);
        if !path.exists() {
            continue;
        }
        match crate::parquet_io::read_schema(&path) {
            Ok(schema) => {
                for problem in crate::parquet_io::schema_differences(&schema) {
                    out.push(v(&f.path, problem));
                }
            }
            Err(e) => {
                out.push(v(&f.path, format!("not a readable Parquet file: {e}")));
                continue;
            }
        }
        let mut misplaced = Vec::new();
        let read = crate::for_each_record(&path, &mut |r| {
            if r.split != f.split {
                misplaced.push(v(format!("record {}", r.id), format!("split {:?} in a {} shard", r.split, f.split)));
            }
            each(&f.path, r);
        });
        out.append(&mut misplaced);
        match read {
            Ok(rows) if rows != f.rows => out.push(v(&f.path, format!("{rows} rows, manifest.json says {}", f.rows))),
            Ok(_) => {}
            Err(e) => out.push(v(&f.path, format!("rows cannot be read: {e}"))),
        }
    }
    out
}

/// [`check_set`], then each record by [`check_record`] with the manifest's generator configuration.
pub fn check_records(records: &[(String, Record)], m: &Manifest) -> Vec<Violation> {
    let mut out = check_set(records, m);
    let config: Option<warpsmith_gen::Config> = serde_json::from_value(m.run.config.clone()).ok();
    if config.is_none() {
        out.push(v("manifest.json", "run.config is not a generator configuration"));
    }
    for (_, r) in records {
        out.extend(check_record(r, config.as_ref()));
    }
    out
}

/// [`SetChecker`] over records in memory.
pub fn check_set(records: &[(String, Record)], m: &Manifest) -> Vec<Violation> {
    let mut c = SetChecker::new(m);
    for (file, r) in records {
        c.add(file, r);
    }
    c.finish()
}

/// What [`SetChecker`] keeps of a record: about 700 bytes, whatever its modules' length.
struct Kept {
    id: String,
    cluster: String,
    split: String,
    signature: near_dup::Signature,
}

/// Checks the records among themselves and against the manifest, one record at a time: counts per split and
/// category, unique ids, unique canonical forms recomputed from `python`, splits derived from clusters, and
/// clusters recomputed from `python` with the manifest's near-duplicate rule.
pub struct SetChecker<'m> {
    m: &'m Manifest,
    out: Vec<Violation>,
    splits: BTreeMap<String, usize>,
    categories: BTreeMap<String, usize>,
    ids: HashMap<blake3::Hash, String>,
    forms: HashMap<blake3::Hash, String>,
    kept: Vec<Kept>,
    lsh: near_dup::Lsh,
}

impl<'m> SetChecker<'m> {
    /// An empty check against `m`.
    pub fn new(m: &'m Manifest) -> Self {
        let rule = &m.run.near_dup;
        SetChecker {
            m,
            out: Vec::new(),
            splits: BTreeMap::new(),
            categories: BTreeMap::new(),
            ids: HashMap::new(),
            forms: HashMap::new(),
            kept: Vec::new(),
            lsh: near_dup::Lsh::new(rule.threshold, rule.ngram),
        }
    }

    /// Takes one record, read from `file`.
    pub fn add(&mut self, file: &str, r: &Record) {
        *self.splits.entry(r.split.clone()).or_insert(0) += 1;
        *self.categories.entry(r.category.clone()).or_insert(0) += 1;
        self.kept.push(Kept {
            id: r.id.clone(),
            cluster: r.cluster.clone(),
            split: r.split.clone(),
            signature: self.lsh.signature(&r.python),
        });
        if let Some(first) = self.ids.insert(blake3::hash(r.id.as_bytes()), file.to_string()) {
            self.out.push(v(format!("record {}", r.id), format!("id appears twice ({first} and {file})")));
            return;
        }
        let form = blake3::hash(warpsmith_ast::text::canonical_text(&r.python).as_bytes());
        if let Some(other) = self.forms.insert(form, r.id.clone()) {
            self.out.push(v(format!("record {}", r.id), format!("same canonical form as record {other}")));
        }
    }

    /// The violations among every record added.
    pub fn finish(self) -> Vec<Violation> {
        let SetChecker { m, mut out, splits, categories, kept, .. } = self;
        if kept.len() != m.records {
            out.insert(0, v("manifest.json", format!("lists {} records, the shards hold {}", m.records, kept.len())));
        }
        for split in SPLITS {
            let (have, said) = (splits.get(split).copied().unwrap_or(0), m.splits.get(split).copied().unwrap_or(0));
            if have != said {
                out.push(v("manifest.json", format!("lists {said} {split} records, the shards hold {have}")));
            }
        }
        if categories != m.categories {
            out.push(v(
                "manifest.json",
                format!("category counts {:?} differ from the shards' {categories:?}", m.categories),
            ));
        }
        let rule = &m.run.near_dup;
        let reps = near_dup::clusters_of(kept.iter().map(|k| k.signature.clone()), rule.threshold, rule.ngram);
        // each recomputed cluster must carry one stored `cluster` value, the id of one of its members, used by
        // no other cluster; records are in file order here, so the representative may differ from generation's
        let mut groups: BTreeMap<usize, Vec<&Kept>> = BTreeMap::new();
        for (k, rep) in kept.iter().zip(&reps) {
            groups.entry(*rep).or_default().push(k);
        }
        let mut owner: HashMap<&str, usize> = HashMap::new();
        for (rep, members) in &groups {
            let stored: std::collections::BTreeSet<&str> = members.iter().map(|r| r.cluster.as_str()).collect();
            let first = members[0];
            if stored.len() > 1 {
                let ids: Vec<&str> = members.iter().map(|r| r.id.as_str()).collect();
                out.push(v(
                    format!("record {}", first.id),
                    format!(
                        "near-duplicates {ids:?} (Jaccard >= {}) carry different clusters {stored:?}",
                        rule.threshold
                    ),
                ));
            }
            // a row repeated is reported as a repeated id, not again as its own near-duplicate
            let distinct: std::collections::BTreeSet<&str> = members.iter().map(|r| r.id.as_str()).collect();
            if !rule.keep && distinct.len() > 1 {
                let ids: Vec<&str> = distinct.into_iter().collect();
                out.push(v(
                    format!("record {}", first.id),
                    format!(
                        "near-duplicates {ids:?} (Jaccard >= {}) though the dataset keeps one per cluster",
                        rule.threshold
                    ),
                ));
            }
            for c in stored {
                if !members.iter().any(|r| r.id == c) {
                    out.push(v(format!("record {}", first.id), format!("cluster {c} is not the id of a member")));
                }
                if let Some(other) = owner.insert(c, *rep)
                    && other != *rep
                {
                    out.push(v(
                        format!("record {}", first.id),
                        format!("cluster {c} also holds kernels that are not near-duplicates of it"),
                    ));
                }
            }
        }
        let mut cluster_split: HashMap<&str, &str> = HashMap::new();
        for r in &kept {
            let loc = format!("record {}", r.id);
            if r.split != split_of(&r.cluster) {
                out.push(v(
                    &loc,
                    format!("split {:?}, but its cluster's split is {:?}", r.split, split_of(&r.cluster)),
                ));
            }
            if let Some(s) = cluster_split.insert(&r.cluster, &r.split)
                && s != r.split
            {
                out.push(v(&loc, format!("cluster {} spans splits {s} and {}", r.cluster, r.split)));
            }
        }
        out
    }
}

/// Checks one record against itself and the generator: the id's form, the four functions cut again from the
/// modules, the kernel regenerated from `category` and `seed` with `config` (same `python`, same id, same
/// test inputs), the `checks` values, and the shapes of the test vectors.
pub fn check_record(r: &Record, config: Option<&warpsmith_gen::Config>) -> Vec<Violation> {
    let mut out = Vec::new();
    let loc = format!("record {}", r.id);
    for (col, text) in [("cpu_module", &r.cpu_module), ("cuda_module", &r.cuda_module), ("ptx", &r.ptx)] {
        // records are machine-independent: Warp's install prefix is written `<warp>/` (dataset card)
        if text.contains("site-packages/") || text.contains("/home/") || text.contains("/root/") {
            out.push(v(&loc, format!("{col} quotes a path of the machine that made it")));
        }
    }
    if r.id.len() != 64 || !r.id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
        out.push(v(&loc, "id is not 64 lowercase hex digits"));
    }
    match warpsmith_oracle::cut_functions(&r.cpu_module, &r.cuda_module, &r.name) {
        Ok(f) => {
            for (col, stored, cut) in [
                ("cpu_forward", &r.cpu_forward, &f.cpu_forward),
                ("cpu_backward", &r.cpu_backward, &f.cpu_backward),
                ("cuda_forward", &r.cuda_forward, &f.cuda_forward),
                ("cuda_backward", &r.cuda_backward, &f.cuda_backward),
            ] {
                if stored != cut {
                    out.push(v(&loc, format!("{col} is not the kernel's function in its module")));
                }
            }
        }
        Err(e) => out.push(v(&loc, format!("the modules do not hold kernel {}: {e}", r.name))),
    }
    if let Some(cfg) = config {
        match serde_json::from_value::<warpsmith_gen::Category>(serde_json::Value::String(r.category.clone())) {
            Err(_) => out.push(v(&loc, format!("unknown category {:?}", r.category))),
            Ok(cat) => {
                let kernel = warpsmith_gen::generate(cat, r.seed, cfg);
                if warpsmith_ast::python_module(&kernel) != r.python {
                    out.push(v(
                        &loc,
                        format!(
                            "python differs from the kernel that category {} seed {} generates",
                            r.category, r.seed
                        ),
                    ));
                }
                if warpsmith_ast::canonical_id(&kernel) != r.id {
                    out.push(v(&loc, "id is not the hash of the regenerated kernel's canonical form"));
                }
                if kernel.name != r.name {
                    out.push(v(&loc, format!("name {:?}, the regenerated kernel's is {:?}", r.name, kernel.name)));
                }
                // a kernel outside the standalone translation's scope (scene queries, matrix decompositions) has
                // no translation, and says so; every other kernel has one or the checks say why not
                let unsupported = [r.checks.standalone_compile, r.checks.standalone_equivalence]
                    .map(|c| c == CheckStatus::Unsupported);
                let out_of_scope = warpsmith_cuda::out_of_scope(&kernel);
                let scoped = out_of_scope.is_some();
                if unsupported != [scoped; 2] || (scoped && !r.cuda_standalone.is_empty()) {
                    out.push(v(
                        &loc,
                        format!(
                            "checks.standalone_* are {:?}/{:?} for a kernel {} (unsupported exactly for kernels outside \
                             the standalone translation's scope, with no cuda_standalone)",
                            r.checks.standalone_compile.name(),
                            r.checks.standalone_equivalence.name(),
                            out_of_scope.map_or("within the translation's scope".to_string(), |w| format!("with {w}"))
                        ),
                    ));
                }
                if !r.test_inputs.is_empty() {
                    let spec = warpsmith_gen::vectors::launch_spec(&kernel, r.seed);
                    let inputs: Vec<&crate::Tensor> =
                        spec.args.iter().filter(|a| a.role.is_drawn()).map(|a| &a.tensor).collect();
                    if inputs.len() != r.test_inputs.len() || inputs.iter().zip(&r.test_inputs).any(|(a, b)| *a != b) {
                        out.push(v(&loc, "test_inputs are not the inputs drawn from the record's seed"));
                    }
                    let drawn: Vec<i32> = spec.launch_dim.iter().map(|&d| d as i32).collect();
                    if r.launch_dim != drawn {
                        out.push(v(&loc, format!("launch_dim {:?}, the seed draws {drawn:?}", r.launch_dim)));
                    }
                }
            }
        }
    }
    let c = &r.checks;
    use CheckStatus::{Failed, FrontEndPassed, Inexact, NotDifferentiable, Passed, Skipped, Unchecked, Unsupported};
    let ran = &[Passed, Failed, Skipped][..];
    let standalone = &[Passed, Failed, Skipped, Unsupported][..];
    for (field, value, allowed) in [
        ("forward", c.forward, ran),
        ("gradient", c.gradient, &[Passed, Unchecked, Inexact, NotDifferentiable, Skipped][..]),
        ("ptx", c.ptx, &[Passed, FrontEndPassed, Skipped][..]),
        ("cuda_forward", c.cuda_forward, ran),
        ("cuda_backward", c.cuda_backward, ran),
        ("standalone_compile", c.standalone_compile, standalone),
        ("standalone_equivalence", c.standalone_equivalence, standalone),
    ] {
        if !allowed.contains(&value) {
            let names: Vec<&str> = allowed.iter().map(|s| s.name()).collect();
            out.push(v(&loc, format!("checks.{field} is {:?}, not one of {names:?}", value.name())));
        }
    }
    // a full compile for `--ptx` (PTX stored) and for the seeded sample, the front end for the rest
    if c.ptx != Skipped {
        let full = !r.ptx.is_empty() || crate::full_ptx_sampled(r.seed);
        let want = if full { Passed } else { FrontEndPassed };
        if c.ptx != want {
            out.push(v(&loc, format!("checks.ptx is {:?}, the seed's PTX rule gives {:?}", c.ptx.name(), want.name())));
        }
    }
    if !(c.gradient_max_rel_error.is_finite() && c.gradient_max_rel_error >= 0.0) {
        out.push(v(&loc, format!("checks.gradient_max_rel_error is {}", c.gradient_max_rel_error)));
    }
    if c.gradient_informative > c.gradient_compared {
        out.push(v(
            &loc,
            format!(
                "checks.gradient_informative {} exceeds gradient_compared {}",
                c.gradient_informative, c.gradient_compared
            ),
        ));
    }
    if c.gradient == Passed && c.gradient_informative == 0 {
        out.push(v(&loc, "checks.gradient passed with no informative component"));
    }
    if !matches!(c.gradient, Passed | Unchecked | Inexact) && c.gradient_compared + c.gradient_unstable > 0 {
        out.push(v(&loc, format!("checks.gradient is {:?} yet components were compared", c.gradient.name())));
    }
    for (col, tensors) in [
        ("test_inputs", &r.test_inputs),
        ("test_outputs", &r.test_outputs),
        ("grad_outputs", &r.grad_outputs),
        ("grad_inputs", &r.grad_inputs),
    ] {
        for t in tensors {
            if t.dtype == "struct" {
                // a @wp.struct by value: its fields' values flattened; how many is the struct's, in `python`
                if !t.shape.is_empty() || t.values.is_empty() {
                    out.push(v(&loc, format!("{col}.{} is a struct with shape {:?} and no values", t.name, t.shape)));
                }
                continue;
            }
            if let Some(n) = warpsmith_ast::launch::scene_values(&t.dtype, &t.shape) {
                if t.values.len() != n {
                    out.push(v(
                        &loc,
                        format!(
                            "{col}.{} is a {} of shape {:?} with {} values, not {n}",
                            t.name,
                            t.dtype,
                            t.shape,
                            t.values.len()
                        ),
                    ));
                }
                continue;
            }
            let elems: i64 = t.shape.iter().map(|&d| i64::from(d)).product();
            let per = components(&t.dtype);
            if per == 0 || t.values.len() as i64 != elems * per {
                out.push(v(
                    &loc,
                    format!("{col}.{} has {} values for shape {:?} of {}", t.name, t.values.len(), t.shape, t.dtype),
                ));
            }
        }
    }
    if c.forward == Passed && r.test_outputs.is_empty() {
        out.push(v(&loc, "checks.forward passed but test_outputs is empty"));
    }
    out
}

/// Scalar components of one element of a Warp dtype (`float32` 1, `vec3` 3, `mat33` 9, `quat` 4,
/// `transform` 7); 0 when unknown.
fn components(dtype: &str) -> i64 {
    let digits = |s: &str| s.parse::<i64>().ok();
    if let Some(n) = dtype.strip_prefix("vec").and_then(digits) {
        n
    } else if let Some(nn) = dtype.strip_prefix("mat") {
        let b = nn.as_bytes();
        if b.len() == 2 { i64::from(b[0] - b'0') * i64::from(b[1] - b'0') } else { 0 }
    } else if dtype == "quat" {
        4
    } else if dtype == "spatial_vector" {
        6
    } else if dtype == "transform" {
        7
    } else if ["float32", "float64", "float16", "int32", "int64", "uint32", "int8", "uint8", "bool"].contains(&dtype) {
        1
    } else {
        0
    }
}

/// Compares outputs Warp produced again with the stored `test_outputs`: same names and shapes, and every value
/// within `|a - b| <= 1e-6 + 1e-6 |b|` (a CPU re-run on the same Warp is expected to be bitwise equal; the
/// slack only absorbs a different CPU's libm). Returns one problem per differing tensor.
pub fn compare_outputs(stored: &[crate::Tensor], again: &[crate::Tensor]) -> Vec<String> {
    let mut out = Vec::new();
    if stored.len() != again.len() {
        out.push(format!("{} output tensors stored, Warp produced {}", stored.len(), again.len()));
        return out;
    }
    for (s, a) in stored.iter().zip(again) {
        if s.name != a.name || s.shape != a.shape || s.values.len() != a.values.len() {
            out.push(format!("test_outputs.{} has another name or shape than Warp's {}", s.name, a.name));
            continue;
        }
        let bad = s.values.iter().zip(&a.values).position(|(x, y)| !((x - y).abs() <= 1e-6 + 1e-6 * x.abs() || x == y));
        if let Some(i) = bad {
            out.push(format!(
                "test_outputs.{}[{i}] is {}, Warp computes {} on test_inputs",
                s.name, s.values[i], a.values[i]
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NearDupInfo, RunInfo};

    fn manifest(records: &[(String, Record)]) -> Manifest {
        let mut splits = BTreeMap::new();
        let mut categories = BTreeMap::new();
        for (_, r) in records {
            *splits.entry(r.split.clone()).or_insert(0) += 1;
            *categories.entry(r.category.clone()).or_insert(0) += 1;
        }
        let run = RunInfo {
            seed: 0,
            config: serde_json::Value::Null,
            warpsmith_version: "0".into(),
            warp_version: "1.19.0".into(),
            failures: BTreeMap::new(),
            duplicates_dropped: 0,
            near_duplicates_dropped: 0,
            near_dup: NearDupInfo::default(),
            verify: "codegen".into(),
            rejected: BTreeMap::new(),
            findings: BTreeMap::new(),
            gradient_checked: 0,
            wall_seconds: 1.0,
            tools: BTreeMap::new(),
            identity: None,
            supervisor: BTreeMap::new(),
            resumes: 0,
        };
        Manifest { format: 1, run, records: records.len(), splits, categories, files: Vec::new() }
    }

    fn rec(k: u32, body: &str) -> (String, Record) {
        let python = format!("import warp as wp\n@wp.kernel\ndef k(a: wp.array(dtype=wp.float32)):\n{body}");
        let id = blake3::hash(&k.to_le_bytes()).to_hex().to_string();
        let mut r = crate::tests::record(&id, &python);
        r.split = split_of(&id).to_string();
        ("data/train-00000-of-00001.parquet".to_string(), r)
    }

    /// Twelve statements and a last one with the constant `c`: bodies with different `c` are near-duplicates.
    fn long_body(c: f64) -> String {
        let mut b: String = (0..12).map(|i| format!("    x{i} = a[{i}] * 0.5 + wp.sin(a[{i}] - {i}.0)\n")).collect();
        b.push_str(&format!("    a[0] = {c}\n"));
        b
    }

    fn problems(records: &[(String, Record)]) -> String {
        let m = manifest(records);
        let out: Vec<String> = check_set(records, &m).into_iter().map(|v| v.to_string()).collect();
        out.join("\n")
    }

    #[test]
    fn distinct_records_pass_and_each_corruption_is_named() {
        let good = vec![rec(1, "    a[0] = 1.0\n"), rec(2, "    a[1] = wp.cos(a[1])\n")];
        assert_eq!(problems(&good), "");

        let mut dup = good.clone();
        dup.push(good[0].clone());
        assert!(problems(&dup).contains("id appears twice"), "{}", problems(&dup));

        let mut renamed = good.clone();
        renamed.push(rec(3, "    a[0] = 1.0\n"));
        assert!(problems(&renamed).contains("same canonical form"), "{}", problems(&renamed));

        let mut wrong_split = good.clone();
        wrong_split[1].1.split = if wrong_split[1].1.split == "test" { "train" } else { "test" }.into();
        assert!(problems(&wrong_split).contains("but its cluster's split is"), "{}", problems(&wrong_split));

        // near-duplicates with the default rule (one per cluster kept), then with keep but split clusters
        let near = vec![rec(4, &long_body(2.5)), rec(5, &long_body(3.5))];
        assert!(problems(&near).contains("though the dataset keeps one per cluster"), "{}", problems(&near));
        let mut m = manifest(&near);
        m.run.near_dup.keep = true;
        let out: Vec<String> = check_set(&near, &m).iter().map(ToString::to_string).collect();
        assert!(out.iter().any(|l| l.contains("carry different clusters")), "{out:?}");
    }

    #[test]
    fn a_struct_input_is_by_value_with_its_fields_values() {
        let (_, mut r) = rec(7, "    a[0] = 1.0\n");
        let t = |shape: Vec<i32>, values: Vec<f64>| crate::Tensor {
            name: "cfg".into(),
            dtype: "struct".into(),
            shape,
            values,
        };
        r.test_inputs = vec![t(vec![], vec![1.5, 2.0, 3.0])];
        let said = |r: &Record| check_record(r, None).iter().map(ToString::to_string).collect::<Vec<_>>().join("\n");
        assert!(!said(&r).contains("test_inputs.cfg"), "{}", said(&r));
        r.test_inputs = vec![t(vec![2], vec![1.5, 2.0])];
        assert!(said(&r).contains("test_inputs.cfg is a struct with shape [2]"), "{}", said(&r));
        r.test_inputs = vec![t(vec![], vec![])];
        assert!(said(&r).contains("test_inputs.cfg is a struct"), "{}", said(&r));
    }

    /// A scene kernel's record: `unsupported` standalone checks and no translation, exactly; a scene tensor with
    /// the values its layout gives. Each corruption is named.
    #[test]
    fn a_scene_kernel_says_unsupported_and_its_scene_tensors_hold_their_layout() {
        let cfg = warpsmith_gen::Config::default();
        let kernel = warpsmith_gen::generate(warpsmith_gen::Category::Geometry, 3, &cfg);
        assert!(kernel.uses_scenes());
        let (_, mut r) = rec(8, "    a[0] = 1.0\n");
        r.category = "geometry".into();
        r.seed = 3;
        r.name = kernel.name.clone();
        r.python = warpsmith_ast::python_module(&kernel);
        r.id = warpsmith_ast::canonical_id(&kernel);
        let spec = warpsmith_gen::vectors::launch_spec(&kernel, 3);
        r.test_inputs = spec.inputs();
        r.launch_dim = spec.launch_dim.iter().map(|&d| d as i32).collect();
        r.checks.standalone_compile = CheckStatus::Unsupported;
        r.checks.standalone_equivalence = CheckStatus::Unsupported;
        r.cuda_standalone.clear();
        let said =
            |r: &Record| check_record(r, Some(&cfg)).iter().map(ToString::to_string).collect::<Vec<_>>().join("\n");
        let good = said(&r);
        assert!(!good.contains("standalone") && !good.contains("test_inputs"), "{good}");
        let mut passed = r.clone();
        passed.checks.standalone_equivalence = CheckStatus::Passed;
        assert!(
            said(&passed).contains("checks.standalone_* are \"unsupported\"/\"passed\" for a kernel with scene"),
            "{}",
            said(&passed)
        );
        let mut translated = r.clone();
        translated.cuda_standalone = "__global__ void k() {}".into();
        assert!(said(&translated).contains("with no cuda_standalone"), "{}", said(&translated));
        let mut short = r.clone();
        let scene =
            short.test_inputs.iter_mut().find(|t| warpsmith_ast::launch::scene_values(&t.dtype, &t.shape).is_some());
        let scene = scene.expect("a scene tensor");
        scene.values.pop();
        let name = scene.name.clone();
        assert!(said(&short).contains(&format!("test_inputs.{name} is a ")), "{}", said(&short));
        // and a kernel without scenes may not say unsupported
        let (_, mut plain) = rec(9, "    a[0] = 1.0\n");
        plain.checks.standalone_compile = CheckStatus::Unsupported;
        assert!(said(&plain).contains("for a kernel within the translation's scope"), "{}", said(&plain));
    }

    #[test]
    fn output_comparison_allows_libm_noise_but_not_one_percent() {
        let t = |v: f64| crate::Tensor { name: "out".into(), dtype: "float32".into(), shape: vec![1], values: vec![v] };
        assert!(compare_outputs(&[t(2.0)], &[t(2.0)]).is_empty());
        assert!(compare_outputs(&[t(2.0)], &[t(2.0 + 1e-7)]).is_empty());
        assert_eq!(compare_outputs(&[t(2.0)], &[t(2.02)]).len(), 1);
        assert_eq!(compare_outputs(&[t(2.0)], &[]).len(), 1);
    }
}
