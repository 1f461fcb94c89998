//! The dataset card (`README.md`) in the Hugging Face format: YAML front matter with `configs`, then prose.

use std::fmt::Write;

use crate::{Manifest, SPLITS};

/// Every column with its type and meaning, as the card lists them.
pub const COLUMNS: [(&str, &str, &str); 23] = [
    (
        "id",
        "string",
        "Hex BLAKE3 hash of the canonical kernel: the printed kernel with identifiers renamed in order of first use. Unique in the dataset.",
    ),
    ("name", "string", "The kernel's Python function name."),
    (
        "category",
        "string",
        "The generation policy that produced the kernel (weights over shared productions, not a template).",
    ),
    (
        "seed",
        "uint64",
        "The per-record seed; with `category` and the configuration in `manifest.json` it regenerates the kernel.",
    ),
    (
        "python",
        "string",
        "The complete Python module: `import warp as wp`, any `@wp.func` helpers and the `@wp.kernel` function, exactly the file Warp compiled.",
    ),
    (
        "cpu_forward",
        "string",
        "The CPU forward kernel function exactly as Warp emitted it (substring of `cpu_module`).",
    ),
    (
        "cpu_backward",
        "string",
        "The CPU backward (adjoint) kernel function exactly as Warp emitted it (substring of `cpu_module`).",
    ),
    (
        "cuda_forward",
        "string",
        "The CUDA forward kernel function exactly as Warp emitted it (substring of `cuda_module`).",
    ),
    (
        "cuda_backward",
        "string",
        "The CUDA backward (adjoint) kernel function exactly as Warp emitted it (substring of `cuda_module`).",
    ),
    (
        "cpu_module",
        "string",
        "The whole C++ translation unit Warp's JIT emitted for the CPU (block_dim 1, as CPU launches use), for `python` executed under the relative file name `<name>.py` (Warp quotes that file above each `@wp.func` helper). Machine-independent: where Warp quotes a file of its own install (`// /.../site-packages/warp/_src/math.py:0`), the install prefix is written `<warp>/` (`// <warp>/_src/math.py:0`); nothing else is changed.",
    ),
    (
        "cuda_module",
        "string",
        "The whole CUDA translation unit Warp's JIT emitted (sm_80, block_dim 256), with Warp's install prefix written `<warp>/` as in `cpu_module`.",
    ),
    ("warp_version", "string", "The warp-lang version that generated the code."),
    (
        "features",
        "list<string>",
        "Builtins (by Warp registry name), operators (`op:*`), statements (`stmt:*`), types (`type:*`) and parameter kinds (`param:*`) the kernel uses, sorted.",
    ),
    (
        "split",
        "string",
        "`train`, `validation` or `test`, assigned from the hash of `cluster` (about 98/1/1), so near-duplicates never cross splits.",
    ),
    (
        "cluster",
        "string",
        "The id of the first record of this record's near-duplicate cluster (MinHash/LSH over token 5-grams of `python`, confirmed when at least the manifest's threshold (default 0.8) of the 128 MinHash values agree, an estimate of the Jaccard similarity with standard deviation 0.035 at 0.8; union-find); the record's own id when it has no near-duplicate.",
    ),
    (
        "launch_dim",
        "list<int32>",
        "The launch dimension the kernel was executed with (`[n]`); empty with `--verify codegen`.",
    ),
    (
        "test_inputs",
        "list<struct<name, dtype, shape: list<int32>, values: list<double>>>",
        "Input arrays and by-value parameters, drawn from the record's seed inside the ranges the generator declared; vector and matrix elements flattened row-major; a `@wp.struct` parameter (dtype `struct`) as its fields' values in declaration order; float32 values exact.",
    ),
    (
        "test_outputs",
        "same as test_inputs",
        "Output and accumulator arrays after one CPU launch (accumulators start at zero).",
    ),
    (
        "grad_outputs",
        "same as test_inputs",
        "The output adjoints (uniform in [-1, 1]) seeded into Warp's backward pass; empty unless the gradient check passed.",
    ),
    (
        "grad_inputs",
        "same as test_inputs",
        "The input adjoints Warp's backward pass produced for the float input arrays (by-value arguments have none: Warp's backward takes their adjoints by value); empty unless the gradient check passed.",
    ),
    (
        "checks",
        "struct<forward, deterministic, gradient, gradient_max_rel_error, gradient_compared, gradient_informative, gradient_unstable, ptx, cuda_forward, cuda_backward, standalone_compile, standalone_equivalence>",
        "`forward`: launched on the CPU with finite, non-constant, non-zero outputs (`passed`/`skipped`); `deterministic`: two launches bitwise identical; `gradient`: `passed` (Warp's adjoint agreed with central finite differences on every informative float input component, at least 3 of them or all there are; each component judged against its own rounding noise; by-value float scalars and struct fields included, their adjoints taken from a twin of the kernel that reads them from one-element arrays, as Warp's backward drops them), `unchecked` (too few informative components), `inexact` (the check failed on a kernel using a construct whose Warp adjoint is known not to be the derivative: an in-place component update such as `v[0] -= s` after a read of `v`, a builtin Warp gives no adjoint although its value varies such as `tile_max`, or a float mutated in a dynamic loop; `grad_inputs` is then empty), `not_differentiable` (no float input or no float output) or `skipped`; kernels whose check failed are not in the dataset (see `findings/`); `gradient_max_rel_error`: largest relative error of the adjoint against the Richardson-extrapolated finite difference over informative components; `gradient_compared`, `gradient_informative`, `gradient_unstable`: float input components compared, informative among them, and skipped because their finite differences did not settle; `ptx`: NVRTC 13.4 (the version inside Warp 1.19.0, called with Warp's options) on `cuda_module` for sm_80: `passed` (compiled to PTX: front end, NVVM, PTX generation; every record with `--ptx`, else one in 8 chosen by a hash of the seed), `front_end_passed` (the front end alone accepted it, `-fdevice-syntax-only`: parsing, semantic analysis, template instantiation; NVVM did not run) or `skipped`; `cuda_forward`, `cuda_backward`: with `--device cuda`, the CUDA launch and adjoints matched the CPU (`passed`/`skipped`); `standalone_compile`: `nvcc --ptx -arch=sm_80` compiled `cuda_standalone` (`passed`/`skipped`); `standalone_equivalence`: `cuda_standalone` built as host C++ (g++) reproduced `test_outputs` on `test_inputs` at rtol 1e-4, atol 1e-5 (`passed`/`skipped`).",
    ),
    (
        "ptx",
        "string",
        "With `--ptx`: the PTX that NVRTC 13.4 (the one in Warp 1.19.0) produced from `cuda_module` for sm_80 with Warp's options, as program `wp_<name>.cu` (the bytes of Warp's own compile but for that program name, which NVRTC mangles into internal-linkage globals); otherwise empty.",
    ),
    (
        "cuda_standalone",
        "string",
        "A standalone CUDA C++ translation written by warpsmith from the kernel's AST (no Warp headers): value types for Warp's vectors and matrices, helpers with Warp's semantics, the kernel body as a `__host__ __device__` function, a grid-stride `__global__` kernel, a host launcher that checks every CUDA call, and a `main()` that runs `test_inputs` and compares with `test_outputs`. Builds with `nvcc` for a GPU or with a host C++ compiler for the CPU.",
    ),
];

/// The card for a written dataset; `statistics` is a Markdown section placed after the contents tables.
pub fn dataset_card(m: &Manifest, statistics: &str) -> String {
    let mut s = String::new();
    s.push_str("---\nlicense: apache-2.0\npretty_name: warpsmith Warp kernels\ntags:\n- code\n- cuda\n- nvidia-warp\n- synthetic\ntask_categories:\n- text-generation\nconfigs:\n- config_name: default\n  data_files:\n");
    for split in SPLITS {
        if m.splits.get(split).copied().unwrap_or(0) > 0 {
            let _ = writeln!(s, "  - split: {split}\n    path: data/{split}-*.parquet");
        }
    }
    s.push_str("---\n\n# warpsmith Warp kernels\n\n");
    let _ = writeln!(
        s,
        "{} synthetic NVIDIA Warp kernels, each paired with the exact C++ and CUDA source that Warp {}'s JIT \
         emitted for it, forward and adjoint. Generated by warpsmith {} from master seed {}.\n",
        m.records, m.run.warp_version, m.run.warpsmith_version, m.run.seed
    );
    s.push_str("## How it was made\n\n");
    s.push_str(
        "Kernels are synthesised from a typed AST by weighted generation policies (categories). A value-range \
         analysis makes every kernel well-defined by construction: no division by zero, no out-of-domain \
         `sqrt`/`log`/`acos`, no integer overflow, no out-of-bounds index, bounded loops, and each thread writes \
         only its own output elements (atomics excepted). Each kernel's Python module was handed to the pinned \
         Warp, whose code generator emitted the CPU module (block_dim 1) and the CUDA module (sm_80) with \
         backward enabled; the four kernel functions were cut out of those modules verbatim. The only rewrite: \
         Warp's install prefix, where a module quotes a file of Warp itself, is written `<warp>/`, so no record \
         holds a path of the machine that made it. Kernels with the \
         same canonical form (identifiers renamed in order of first use) were dropped as duplicates.\n\n",
    );
    let nd = &m.run.near_dup;
    let _ = writeln!(
        s,
        "Near-duplicates: MinHash with LSH banding over token {}-grams of `python` (identifiers renamed), \
         confirmed when a fraction >= {} of the 128 MinHash values agree (an estimate of the Jaccard similarity, \
         standard deviation 0.035 at 0.8), grouped by union-find into the `cluster` column. {} Splits \
         are assigned per cluster, so no cluster spans two splits ({} candidates dropped as near-duplicates, {} as \
         exact duplicates).\n",
        nd.ngram,
        nd.threshold,
        if nd.keep {
            "Near-duplicates were kept (`--keep-near-duplicates`)."
        } else {
            "A candidate near an earlier one was regenerated, so each cluster has one record."
        },
        m.run.near_duplicates_dropped,
        m.run.duplicates_dropped
    );
    if m.run.verify == "codegen" {
        s.push_str(
            "These records were not executed (`--verify codegen`): Warp generated their code, nothing more.\n\n",
        );
    } else {
        let _ = writeln!(s, "Verification level: `{}`.\n", m.run.verify);
        s.push_str(
            "Each kernel was compiled for the CPU with Warp's LLVM and launched \
         twice on inputs drawn from its seed; kernels whose outputs were all zero, constant, non-finite or not \
         bitwise reproducible were regenerated. With `full`, Warp's backward pass (`wp.Tape`) was compared with central finite \
         differences at two step sizes on a seeded sample of input components; kernels that failed were not \
         written here but kept as findings with a reproducer. The CUDA module was compiled to PTX for sm_80 with \
         NVRTC. The standalone CUDA translation (`cuda_standalone`) was built as host C++ and run on `test_inputs` \
         against `test_outputs`, and with `full` compiled by nvcc to PTX for sm_80. The `checks` column records \
         what was done for each row; `warpsmith validate` re-checks a copy of this dataset.\n\n",
        );
    }
    s.push_str("## Versions\n\n");
    let _ = writeln!(s, "- warpsmith {}", m.run.warpsmith_version);
    for (tool, version) in &m.run.tools {
        let _ = writeln!(s, "- {tool}: {version}");
    }
    if m.run.tools.is_empty() {
        let _ = writeln!(s, "- warp-lang {}", m.run.warp_version);
    }
    let _ = writeln!(s, "- master seed {}; the full configuration is in `manifest.json`\n", m.run.seed);
    s.push_str(
        "## Licence\n\nApache-2.0 (the `license` field above). The kernels and the standalone translations are \
         generated by warpsmith; the C++ and CUDA columns are the output of NVIDIA Warp's code generator, \
         which is itself Apache-2.0 licensed.\n\n",
    );
    s.push_str("## Contents\n\n| split | records |\n|---|---|\n");
    for split in SPLITS {
        let _ = writeln!(s, "| {split} | {} |", m.splits.get(split).copied().unwrap_or(0));
    }
    s.push_str("\n| category | records |\n|---|---|\n");
    for (c, n) in &m.categories {
        let _ = writeln!(s, "| {c} | {n} |");
    }
    s.push('\n');
    s.push_str(statistics);
    s.push_str("\n## Columns\n\n| column | type | description |\n|---|---|---|\n");
    for (name, ty, desc) in COLUMNS {
        let _ = writeln!(s, "| `{name}` | {ty} | {desc} |");
    }
    s.push_str("\n## Loading\n\n```python\nfrom datasets import load_dataset\nds = load_dataset(\"path/to/this/directory\")\n```\n\n");
    s.push_str(
        "`manifest.json` records the configuration, versions, counts, failures and the BLAKE3 hash of every file.\n",
    );
    s
}
