//! The dataset: record schema, split assignment, Parquet shards in the Hugging Face layout, the dataset card
//! and the manifest.
//!
//! Layout written by [`write_dataset`]:
//! ```text
//! DIR/README.md                                   dataset card (YAML `configs`, column descriptions)
//! DIR/manifest.json                               configuration, versions, counts, file hashes
//! DIR/data/{train,validation,test}-NNNNN-of-MMMMM.parquet
//! ```
//! Every file is written to a temporary name in the same directory and renamed into place, so a reader never
//! sees a partial shard. Parquet output is a pure function of the records (no timestamps), so the same records
//! give byte-identical files.

mod card;
pub mod export;
pub mod near_dup;
mod parquet_io;
pub mod validate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
pub use warpsmith_oracle::CheckStatus;

pub use card::dataset_card;
pub use parquet_io::{ShardWriter, for_each_record, read_records, read_schema, schema, schema_differences};
pub use warpsmith_gen::vectors::Tensor;

/// One dataset row. Column names and meanings are DESIGN.md's record table.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Record {
    /// Hex BLAKE3 of the canonical kernel (64 characters).
    pub id: String,
    /// The kernel's function name.
    pub name: String,
    /// The generation policy.
    pub category: String,
    /// The per-record seed that regenerates the kernel (with `category` and the manifest's configuration).
    pub seed: u64,
    /// The complete Python module.
    pub python: String,
    /// The CPU forward kernel function exactly as Warp emitted it.
    pub cpu_forward: String,
    /// The CPU backward (adjoint) kernel function.
    pub cpu_backward: String,
    /// The CUDA forward kernel function.
    pub cuda_forward: String,
    /// The CUDA backward (adjoint) kernel function.
    pub cuda_backward: String,
    /// The whole CPU translation unit (block_dim 1).
    pub cpu_module: String,
    /// The whole CUDA translation unit (sm_80).
    pub cuda_module: String,
    /// The Warp version that generated the code.
    pub warp_version: String,
    /// Builtins and constructs used, sorted.
    pub features: Vec<String>,
    /// `train`, `validation` or `test`: [`split_of`] the `cluster`.
    pub split: String,
    /// The id of the first record of this record's near-duplicate cluster ([`near_dup::clusters`] over
    /// `python`); the record's own id when it has no near-duplicate.
    pub cluster: String,
    /// The launch dimension (`[n]`; empty when not executed).
    pub launch_dim: Vec<i32>,
    /// Array inputs and by-value parameters the kernel was launched with.
    pub test_inputs: Vec<Tensor>,
    /// Outputs and accumulators after the launch.
    pub test_outputs: Vec<Tensor>,
    /// The output adjoints seeded into the backward pass.
    pub grad_outputs: Vec<Tensor>,
    /// The input adjoints Warp's backward produced.
    pub grad_inputs: Vec<Tensor>,
    /// What was checked and how it went.
    pub checks: Checks,
    /// PTX of `cuda_module` for sm_80 from NVRTC (`--ptx`), else empty.
    pub ptx: String,
    /// The standalone CUDA translation (`warpsmith-cuda`): one self-contained `.cu` with the kernel, a host
    /// launcher and a `main()` that runs `test_inputs` and compares with `test_outputs`.
    pub cuda_standalone: String,
}

/// The `checks` column.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Checks {
    /// `passed` (launched on the CPU, outputs finite and not degenerate), `failed`, or `skipped`.
    pub forward: CheckStatus,
    /// Two launches gave bitwise-identical outputs.
    pub deterministic: bool,
    /// `passed` (at least 3 input components, or all of them, informative, and every informative one within
    /// tolerance), `unchecked` (too few informative components to say), `inexact` (failed on a kernel using a
    /// construct whose Warp adjoint is known not to be the derivative; see the dataset card), `not_differentiable`
    /// (no float input or output) or `skipped`.
    /// Records whose check `failed` are findings, not rows.
    pub gradient: CheckStatus,
    /// Largest `|adjoint - fd| / |fd|` over the informative components (`fd` the Richardson-extrapolated central
    /// difference, floored at 8x its rounding noise); 0 when none; `f64::MAX` when an adjoint was not finite.
    pub gradient_max_rel_error: f64,
    /// Float input components whose finite differences were stable and compared with the adjoint.
    #[serde(default)]
    pub gradient_compared: u32,
    /// Compared components where the adjoint or the finite difference stands above the rounding noise.
    #[serde(default)]
    pub gradient_informative: u32,
    /// Components skipped because their finite differences at `h` and `h/2` disagree (a kink or jump).
    #[serde(default)]
    pub gradient_unstable: u32,
    /// `passed` (NVRTC compiled the CUDA module to PTX for sm_80), `failed`, or `skipped`.
    pub ptx: CheckStatus,
    /// With `--device cuda`: the CUDA forward launch matched the CPU outputs (`passed`), else `skipped`.
    pub cuda_forward: CheckStatus,
    /// With `--device cuda`: the CUDA input adjoints matched the CPU's (`passed`), else `skipped`.
    pub cuda_backward: CheckStatus,
    /// `passed` (nvcc compiled `cuda_standalone` to PTX for sm_80), `failed`, or `skipped`.
    pub standalone_compile: CheckStatus,
    /// `passed` (the host build of `cuda_standalone` reproduced `test_outputs` at rtol 1e-4, atol 1e-5),
    /// `failed`, or `skipped`.
    pub standalone_equivalence: CheckStatus,
}

/// One record in this many (by a hash of its seed) gets a full NVRTC compile of its `cuda_module` to PTX
/// (`checks.ptx` = `passed`); the others get NVRTC's front end (`front_end_passed`), which costs about 0.15x
/// (measured in docs/measurements.md). The sample keeps NVVM and PTX generation covered across the dataset;
/// `generate --ptx` compiles every record fully, once, and keeps its PTX.
pub const FULL_PTX_EVERY: u64 = 8;

/// Whether the record with `seed` is in the full-PTX sample ([`FULL_PTX_EVERY`]): a fixed function of the
/// seed, so a rerun, a resume or a part on another machine makes the same choice.
pub fn full_ptx_sampled(seed: u64) -> bool {
    let mut h = blake3::Hasher::new();
    h.update(b"warpsmith full PTX sample").update(&seed.to_le_bytes());
    let b = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&b.as_bytes()[..8]);
    u64::from_le_bytes(first) % FULL_PTX_EVERY == 0
}

/// The three splits, in file order.
pub const SPLITS: [&str; 3] = ["train", "validation", "test"];

/// The split of a record, given its cluster's id: the first 8 bytes (little-endian) of
/// `BLAKE3("warpsmith-split" || id)` modulo 100; 0 is `validation`, 1 is `test`, the rest `train` (98/1/1).
/// Depends on the id only, so a kernel keeps its split across runs and seeds, and all members of a
/// near-duplicate cluster share one split.
pub fn split_of(id: &str) -> &'static str {
    let mut h = blake3::Hasher::new();
    h.update(b"warpsmith-split");
    h.update(id.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&h.finalize().as_bytes()[..8]);
    match u64::from_le_bytes(first) % 100 {
        0 => "validation",
        1 => "test",
        _ => "train",
    }
}

/// Errors while writing or reading a dataset.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// A file system operation failed.
    // the OS error is the `source()`, not repeated here (an error chain printer shows it once)
    #[error("cannot {action} {path}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Arrow or Parquet refused the data.
    #[error("parquet {path}: {message}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The library's message.
        message: String,
    },
}

pub(crate) fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> DatasetError + 'a {
    move |source| DatasetError::Io { action, path: path.to_path_buf(), source }
}

/// One written file, as listed in the manifest.
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct FileEntry {
    /// Path relative to the dataset directory.
    pub path: String,
    /// The split it holds.
    pub split: String,
    /// Rows in it.
    pub rows: usize,
    /// Size in bytes.
    pub bytes: u64,
    /// Hex BLAKE3 of its contents.
    pub blake3: String,
}

/// What the caller knows about the run, for the manifest and the card.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct RunInfo {
    /// The master seed.
    pub seed: u64,
    /// The resolved generation configuration.
    pub config: serde_json::Value,
    /// warpsmith's version.
    pub warpsmith_version: String,
    /// Warp's version.
    pub warp_version: String,
    /// Failures by reason.
    pub failures: BTreeMap<String, usize>,
    /// Candidates dropped as exact duplicates (same canonical form).
    pub duplicates_dropped: usize,
    /// Candidates dropped as near-duplicates of an earlier candidate (0 with `--keep-near-duplicates`).
    #[serde(default)]
    pub near_duplicates_dropped: usize,
    /// The near-duplicate rule: Jaccard threshold, shingle length and whether near-duplicates were kept.
    #[serde(default)]
    pub near_dup: NearDupInfo,
    /// The verification level (`codegen`, `run`, `full`).
    pub verify: String,
    /// Candidates rejected and regenerated, by reason (`all_zero`, `constant`, `non_finite`, `nondeterministic`,
    /// `dead_input`, `dead_output`).
    pub rejected: BTreeMap<String, usize>,
    /// Gradient-check findings by class (`kink`, `precision`, `suspected_adjoint_bug`).
    pub findings: BTreeMap<String, usize>,
    /// Candidates whose gradient was checked (passed or became a finding).
    pub gradient_checked: usize,
    /// Wall time of the run, seconds.
    pub wall_seconds: f64,
    /// Versions of the tools that checked the records (`warp-lang`, `nvcc`, `c++`), as they report them.
    #[serde(default)]
    pub tools: BTreeMap<String, String>,
    /// What determines the records' bytes; a rerun with the same identity resumes or finds the dataset done.
    /// `None` in manifests written before blocks existed.
    #[serde(default)]
    pub identity: Option<RunIdentity>,
    /// What the worker supervisor had to do: `restarts`, `timeouts`, `crashes`, `retries` (kernels sent again
    /// after a crash, hang or garbage). They never change the records: a kernel is retried alone with backoff.
    #[serde(default)]
    pub supervisor: BTreeMap<String, u64>,
    /// Times the run was resumed from its journal after an interruption.
    #[serde(default)]
    pub resumes: u64,
}

/// Everything that decides a run's records, byte for byte: two runs with equal identities write identical
/// Parquet files, whatever the machine, the number of workers, or the interruptions on the way. Worker count,
/// timeouts, the interpreter's path and the compilers' paths are not part of it.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct RunIdentity {
    /// The master seed.
    pub seed: u64,
    /// Records asked for.
    pub count: u64,
    /// Slots per block.
    pub block_size: u64,
    /// Rows per Parquet shard of the final dataset.
    pub shard_rows: u64,
    /// The resolved generation configuration.
    pub config: serde_json::Value,
    /// The verification level (`codegen`, `run`, `full`).
    pub verify: String,
    /// Input components checked by finite differences per kernel.
    pub fd_samples: u32,
    /// `cpu`, or `cuda` when CUDA launches were compared too.
    pub device: String,
    /// Whether each record's PTX is stored.
    pub ptx: bool,
    /// The near-duplicate rule.
    pub near_dup: NearDupInfo,
    /// Kernels with a float literal that moves no output were rejected (`generate --reject-dead-constants`;
    /// absent in manifests written before it existed: false).
    #[serde(default)]
    pub reject_dead_constants: bool,
    /// warpsmith's version.
    pub warpsmith_version: String,
    /// Warp's version.
    pub warp_version: String,
}

impl RunIdentity {
    /// One line per field that differs from `other`, as `field: this vs other`.
    pub fn differences(&self, other: &RunIdentity) -> Vec<String> {
        let (a, b) = (serde_json::to_value(self), serde_json::to_value(other));
        let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) = (a, b) else {
            return vec!["the identities cannot be compared".into()];
        };
        let mut out = Vec::new();
        for (k, v) in &a {
            let w = b.get(k).cloned().unwrap_or(serde_json::Value::Null);
            if *v != w {
                out.push(format!("{k}: {v} vs {w}"));
            }
        }
        out
    }
}

/// How near-duplicates were handled (in the manifest, so `validate` can recompute the clusters).
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq)]
pub struct NearDupInfo {
    /// Jaccard threshold over token shingles of `python`.
    pub threshold: f64,
    /// Shingle length in tokens.
    pub ngram: usize,
    /// `true`: near-duplicates were written, grouped by the `cluster` column; `false`: one per cluster.
    pub keep: bool,
}

impl Default for NearDupInfo {
    fn default() -> Self {
        NearDupInfo { threshold: near_dup::DEFAULT_THRESHOLD, ngram: near_dup::DEFAULT_NGRAM, keep: false }
    }
}

/// Sets `cluster` and `split` of every record: near-duplicate clusters over `python` by `rule`, the
/// representative being the earliest record, and the split [`split_of`] the representative's id.
pub fn assign_clusters(records: &mut [Record], rule: &NearDupInfo) {
    let texts: Vec<&str> = records.iter().map(|r| r.python.as_str()).collect();
    let reps = near_dup::clusters(&texts, rule.threshold, rule.ngram);
    let ids: Vec<String> = reps.iter().map(|&r| records[r].id.clone()).collect();
    for (r, cluster) in records.iter_mut().zip(ids) {
        r.split = split_of(&cluster).to_string();
        r.cluster = cluster;
    }
}

/// The manifest (`manifest.json`).
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct Manifest {
    /// Format version of this manifest.
    pub format: u32,
    /// The run.
    pub run: RunInfo,
    /// Records in total.
    pub records: usize,
    /// Records per split.
    pub splits: BTreeMap<String, usize>,
    /// Records per category.
    pub categories: BTreeMap<String, usize>,
    /// Every data file.
    pub files: Vec<FileEntry>,
}

/// Writes `records` (in the given order within each split) as Parquet shards of at most `shard_rows` rows,
/// then the manifest and the dataset card, with `statistics` (a Markdown section) in the card. Existing shards
/// in `DIR/data` are replaced.
///
/// # Errors
/// [`DatasetError`] naming the file that could not be written.
pub fn write_dataset(
    dir: &Path,
    records: &[Record],
    shard_rows: usize,
    run: RunInfo,
    statistics: &str,
) -> Result<Manifest, DatasetError> {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).map_err(io_err("create", &data))?;
    // remove shards of an earlier run so the directory holds exactly this dataset
    for entry in std::fs::read_dir(&data).map_err(io_err("list", &data))? {
        let p = entry.map_err(io_err("list", &data))?.path();
        if p.extension().is_some_and(|e| e == "parquet") {
            std::fs::remove_file(&p).map_err(io_err("remove", &p))?;
        }
    }
    let shard_rows = shard_rows.max(1);
    let mut files = Vec::new();
    let mut splits = BTreeMap::new();
    for split in SPLITS {
        let rows: Vec<&Record> = records.iter().filter(|r| r.split == split).collect();
        splits.insert(split.to_string(), rows.len());
        if rows.is_empty() {
            continue;
        }
        let n = rows.len().div_ceil(shard_rows);
        for (i, chunk) in rows.chunks(shard_rows).enumerate() {
            let rel = format!("data/{split}-{i:05}-of-{n:05}.parquet");
            let path = dir.join(&rel);
            let bytes = parquet_io::to_parquet(chunk, &path)?;
            atomic_write(&path, &bytes)?;
            files.push(FileEntry {
                path: rel,
                split: split.into(),
                rows: chunk.len(),
                bytes: bytes.len() as u64,
                blake3: blake3::hash(&bytes).to_hex().to_string(),
            });
        }
    }
    let mut categories = BTreeMap::new();
    for r in records {
        *categories.entry(r.category.clone()).or_insert(0) += 1;
    }
    let manifest = Manifest { format: 1, run, records: records.len(), splits, categories, files };
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| DatasetError::Io {
        action: "serialise",
        path: dir.join("manifest.json"),
        source: std::io::Error::other(e),
    })?;
    atomic_write(&dir.join("manifest.json"), &json)?;
    atomic_write(&dir.join("README.md"), dataset_card(&manifest, statistics).as_bytes())?;
    Ok(manifest)
}

/// Reads `DIR/manifest.json`.
///
/// # Errors
/// [`DatasetError::Io`] if it cannot be read or is not a manifest.
pub fn read_manifest(dir: &Path) -> Result<Manifest, DatasetError> {
    let path = dir.join("manifest.json");
    let bytes = std::fs::read(&path).map_err(io_err("read", &path))?;
    serde_json::from_slice(&bytes).map_err(|e| DatasetError::Io {
        action: "parse",
        path: path.clone(),
        source: std::io::Error::other(e),
    })
}

/// Reads every record of the dataset in `DIR`, shards in split then file order.
///
/// # Errors
/// [`DatasetError`] naming the shard that could not be read.
pub fn read_dataset(dir: &Path) -> Result<Vec<Record>, DatasetError> {
    let mut out = Vec::new();
    let mut shards = export::shards(dir)?;
    for split in SPLITS {
        for shard in shards.remove(split).unwrap_or_default() {
            out.extend(read_records(&shard)?);
        }
    }
    Ok(out)
}

/// Writes `bytes` to a temporary file next to `path`, syncs it, and renames it over `path`.
///
/// # Errors
/// [`DatasetError::Io`] naming the path.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<(), DatasetError> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let mut f = std::fs::File::create(&tmp).map_err(io_err("create", &tmp))?;
    f.write_all(bytes).map_err(io_err("write", &tmp))?;
    f.sync_all().map_err(io_err("sync", &tmp))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io_err("rename into place", path))
}

/// Hands the pages glibc's allocator holds free back to the kernel (`malloc_trim(0)`; a no-op elsewhere).
///
/// Records are 20-250 KB of strings each. glibc serves such sizes from its heaps once its dynamic mmap
/// threshold has risen, and keeps the freed memory there, fragmented: without this, the resident size of
/// `generate` climbed with the number of blocks, and that of `stats`/`validate` with the number of row
/// groups read (260 MB at 2,000 records, 321 MB at 20,000, measured 2026-11-29), instead of staying at what
/// one block or one batch needs.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages to the kernel; it is thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A record with the given id and python, every other column minimal.
    pub(crate) fn record(id: &str, python: &str) -> Record {
        let r = serde_json::json!({
            "id": id, "name": "k", "category": "arithmetic", "seed": 1, "python": python,
            "cpu_forward": "f", "cpu_backward": "b", "cuda_forward": "__global__ f",
            "cuda_backward": "__global__ b", "cpu_module": "m", "cuda_module": "m", "warp_version": "1.19.0",
            "features": [], "split": "train", "cluster": id, "launch_dim": [], "test_inputs": [], "test_outputs": [],
            "grad_outputs": [], "grad_inputs": [], "checks": {"forward": "passed", "deterministic": true,
            "gradient": "skipped", "gradient_max_rel_error": 0.0, "ptx": "skipped", "cuda_forward": "skipped",
            "cuda_backward": "skipped", "standalone_compile": "skipped", "standalone_equivalence": "skipped"},
            "ptx": "", "cuda_standalone": ""
        });
        serde_json::from_value(r).expect("record")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn parquet_round_trips_every_float_exactly(values in proptest::collection::vec(any::<f64>().prop_filter("finite", |v| v.is_finite()), 1..40)) {
            // a float32 input that serde_json's default (not correctly rounded) parser read back 1 ulp off
            let mut values = values;
            values.push(0.41907599568367004);
            let mut r = record(&"ab".repeat(32), "import warp as wp\n");
            r.test_inputs = vec![Tensor { name: "x".into(), dtype: "float64".into(), shape: vec![values.len() as i32], values: values.clone() }];
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("t.parquet");
            let bytes = parquet_io::to_parquet(&[&r], &path).expect("encode");
            std::fs::write(&path, bytes).expect("write");
            let back = read_records(&path).expect("read");
            prop_assert_eq!(&back[0].test_inputs[0].values, &values);
            prop_assert_eq!(&back[0], &r);
        }
    }

    #[test]
    fn no_near_duplicate_cluster_spans_two_splits() {
        // 60 families of 4 near-copies each (one constant changed): with one split per id, about 8% of the
        // families would straddle splits; assigned per cluster, none may
        let mut records = Vec::new();
        for fam in 0..60 {
            let body: String =
                (0..10).map(|i| format!("    x{i} = a[tid] * {fam}.{i} + wp.sin(a[tid] - {i}.0)\n")).collect();
            for copy in 0..4 {
                let python = format!(
                    "import warp as wp\n@wp.kernel\ndef k(a: wp.array(dtype=wp.float32)):\n    tid = wp.tid()\n{body}    a[tid] = {copy}.25\n"
                );
                let id = blake3::hash(python.as_bytes()).to_hex().to_string();
                records.push(record(&id, &python));
            }
        }
        assign_clusters(&mut records, &NearDupInfo::default());
        let mut split_of_cluster: BTreeMap<&str, &str> = BTreeMap::new();
        for r in &records {
            let s = split_of_cluster.entry(&r.cluster).or_insert(&r.split);
            assert_eq!(*s, r.split, "cluster {} spans two splits", r.cluster);
        }
        assert_eq!(split_of_cluster.len(), 60, "each family is one cluster");
        // every member's split is the split of its representative's id
        assert!(records.iter().all(|r| r.split == split_of(&r.cluster)));
    }

    proptest! {
        #[test]
        fn split_is_a_pure_function_of_the_id(id in "[0-9a-f]{64}") {
            let s = split_of(&id);
            prop_assert!(SPLITS.contains(&s));
            prop_assert_eq!(s, split_of(&id));
        }
    }

    #[test]
    fn split_proportions_are_about_98_1_1() {
        let mut counts = BTreeMap::new();
        for i in 0..20_000u32 {
            let id = blake3::hash(&i.to_le_bytes()).to_hex().to_string();
            *counts.entry(split_of(&id)).or_insert(0) += 1;
        }
        assert!((19_400..=19_800).contains(&counts["train"]), "{counts:?}");
        assert!((130..=270).contains(&counts["validation"]), "{counts:?}");
        assert!((130..=270).contains(&counts["test"]), "{counts:?}");
    }
}
