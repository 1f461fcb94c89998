//! End-to-end tests with real Warp 1.19.0 from PyPI, in the environment warpsmith manages
//! (`warpsmith setup --cuda --with datasets`; set WARPSMITH_PYTHON to use an interpreter that already has
//! warp-lang and datasets, and WARPSMITH_NVCC for nvcc).

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use warpsmith_dataset::{Record, read_records};

mod common;
use common::{bin, parquet_bytes, python};

fn generate(out: &Path, count: usize, seed: u64) -> std::process::Output {
    generate_at(out, count, seed, "full")
}

/// `generate` at a verification level: tests that do not need the gradient or NVRTC use `run` or `codegen`, so
/// the suite stays within CI's time.
fn generate_at(out: &Path, count: usize, seed: u64, verify: &str) -> std::process::Output {
    generate_with(out, count, seed, verify, &[])
}

/// `generate_at` with extra flags.
fn generate_with(out: &Path, count: usize, seed: u64, verify: &str, extra: &[&str]) -> std::process::Output {
    let out = bin()
        .args(["generate", "--verify", verify, "--count", &count.to_string(), "--seed", &seed.to_string()])
        .args(extra)
        .args(["--workers", "2", "--out"])
        .arg(out)
        .arg("--python")
        .arg(python())
        .output()
        .expect("run warpsmith generate");
    assert!(out.status.success(), "generate failed:\n{}", String::from_utf8_lossy(&out.stderr));
    out
}

/// A `--verify run` dataset of 20 records (seed 5), generated once per run of this test binary and shared by the
/// tests that only read it (each writes its scratch files in its own directory): under Cargo's scratch
/// directory for integration tests, replaced on every run.
fn shared_run_dataset() -> &'static Path {
    static DS: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DS.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("end_to_end-run-seed5-20");
        if dir.exists() {
            std::fs::remove_dir_all(&dir).expect("remove the shared dataset of an earlier run");
        }
        generate_at(&dir, 20, 5, "run");
        dir
    })
}

fn records(dir: &Path) -> Vec<Record> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("data"))
        .expect("data dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    files.sort();
    files.iter().flat_map(|f| read_records(f).expect("read shard")).collect()
}

/// Python both launch scripts share: a `@wp.struct` instance from its fields' values flattened in declaration
/// order, as a record's `test_inputs` give them.
const PY_STRUCT_OF: &str = r#"
import warp as wp
def struct_of(stype, values):
    inst, it = stype(), iter(values)
    for fname, var in stype.vars.items():
        if var.type is wp.int32:
            setattr(inst, fname, int(next(it)))
        elif var.type is wp.float32:
            setattr(inst, fname, float(next(it)))
        else:
            setattr(inst, fname, var.type(*[float(next(it)) for _ in range(var.type._length_)]))
    return inst

# a scene object from a scene tensor of `test_inputs`, by the layout warpsmith_ast::launch::Tensor documents
# (written from that table, not from the worker); None for any other tensor. Keep it alive while launching.
SCENES = ("mesh", "hash_grid", "bvh", "volume_f", "volume_v", "volume_i")
def scene_of(t):
    import numpy as np
    if t["dtype"] not in SCENES:
        return None
    v, shape = np.array(t["values"]), t["shape"]
    pts = lambda a: wp.array(np.asarray(a, dtype=np.float32).reshape(-1, 3), dtype=wp.vec3, device="cpu")
    if t["dtype"] == "mesh":
        p, f = shape
        idx = wp.array(v[3 * p:3 * p + 3 * f].astype(np.int32), dtype=wp.int32, device="cpu")
        return wp.Mesh(points=pts(v[:3 * p]), indices=idx, velocities=pts(v[3 * p + 3 * f:]), support_winding_number=True,
                       groups=wp.array(np.arange(f, dtype=np.int32) % 2, dtype=wp.int32, device="cpu"))
    if t["dtype"] == "hash_grid":
        n = 3 * shape[0]
        g = wp.HashGrid(int(v[n + 1]), int(v[n + 2]), int(v[n + 3]), device="cpu")
        g.build(pts(v[:n]), float(v[n]))
        return g
    if t["dtype"] == "bvh":
        n = 3 * shape[0]
        return wp.Bvh(pts(np.minimum(v[:n], v[n:])), pts(np.maximum(v[:n], v[n:])),
                      groups=wp.array(np.arange(shape[0], dtype=np.int32) % 2, dtype=wp.int32, device="cpu"))
    comps = 3 if t["dtype"] == "volume_v" else 1
    cells = int(np.prod(shape)) * comps
    grid = v[:cells].reshape(tuple(shape) + ((3,) if comps == 3 else ()))
    if t["dtype"] == "volume_i":
        return wp.Volume.load_from_numpy(grid.astype(np.int32), voxel_size=float(v[cells]), bg_value=0, device="cpu")
    bg = (0.0, 0.0, 0.0) if comps == 3 else 0.0
    return wp.Volume.load_from_numpy(grid.astype(np.float32), voxel_size=float(v[cells]), bg_value=bg, device="cpu")
"#;

fn run_python(script: &str, args: &[&str]) -> String {
    // the hash seed of warpsmith's workers: Warp's module text depends on it
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .args(args)
        .env("PYTHONHASHSEED", "0")
        .output()
        .expect("run python");
    assert!(out.status.success(), "python failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn generate_writes_a_dataset_that_hugging_face_loads_with_every_column_filled() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = generate(dir.path(), 34, 7);
    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(summary.contains("wrote 34 records") && summary.contains("records/s"), "{summary}");

    let script = r#"
import sys, datasets
# a fresh cache: datasets may otherwise serve an earlier build of another directory
ds = datasets.load_dataset(sys.argv[1], cache_dir=sys.argv[2])
assert len(ds["train"].features) == 23, ds["train"].features
cols = ["id","name","category","seed","python","cpu_forward","cpu_backward","cuda_forward","cuda_backward",
        "cpu_module","cuda_module","warp_version","features","split","cluster"]
n = 0
for split in ds:
    for row in ds[split]:
        n += 1
        for c in cols:
            v = row[c]
            assert v is not None and (c == "seed" or len(v) > 0), (split, c, row["id"])
        assert row["split"] == split
print(n)
"#;
    let cache = tempfile::tempdir().expect("cache dir");
    let n: usize = run_python(script, &[&dir.path().display().to_string(), &cache.path().display().to_string()])
        .trim()
        .parse()
        .expect("count");
    assert_eq!(n, 34);

    let rs = records(dir.path());
    // no record computes nothing: outputs finite, not all zero, not all constant
    for r in &rs {
        // a full NVRTC compile for the seeded sample, the front end for the rest
        let ptx = if warpsmith_dataset::full_ptx_sampled(r.seed) { "passed" } else { "front_end_passed" };
        assert_eq!((r.checks.forward.name(), r.checks.ptx.name()), ("passed", ptx), "{}", r.id);
        assert!(r.checks.deterministic);
        let all: Vec<f64> = r.test_outputs.iter().flat_map(|t| t.values.iter().copied()).collect();
        assert!(!all.is_empty() && all.iter().all(|v| v.is_finite()), "{}", r.id);
        assert!(all.iter().any(|v| *v != 0.0), "all-zero outputs in {}", r.id);
        let varies = r.test_outputs.iter().filter(|t| t.shape.first().copied().unwrap_or(1) > 1).any(|t| {
            let comps = t.values.len() / t.shape[0] as usize;
            t.values.chunks(comps).any(|c| c != &t.values[..comps])
        });
        let single = r.test_outputs.iter().all(|t| t.shape.first().copied().unwrap_or(1) <= 1);
        assert!(varies || single, "constant outputs in {}", r.id);
        let g = &r.checks;
        assert!(["passed", "unchecked", "inexact", "not_differentiable"].contains(&g.gradient.name()), "{}", r.id);
        // what was compared is stored, and a pass rests on informative components
        assert!(g.gradient_informative <= g.gradient_compared, "{}", r.id);
        if g.gradient.name() == "passed" {
            assert!(g.gradient_informative >= 1 && !r.grad_inputs.is_empty(), "{}", r.id);
        }
        // a kernel outside the standalone translation's scope (scene queries, matrix decompositions) has none and
        // says so; every other one passed both checks
        let cat: warpsmith_gen::Category = r.category.parse().expect("category");
        let scoped =
            warpsmith_cuda::out_of_scope(&warpsmith_gen::generate(cat, r.seed, &warpsmith_gen::Config::default()));
        assert_eq!(
            scoped.is_some(),
            r.category == "geometry"
                || r.python.contains("wp.svd")
                || r.python.contains("wp.qr3")
                || r.python.contains("wp.eig3"),
            "{}",
            r.id
        );
        let want = if scoped.is_some() { "unsupported" } else { "passed" };
        assert_eq!(
            (r.checks.standalone_compile.name(), r.checks.standalone_equivalence.name()),
            (want, want),
            "{}",
            r.id
        );
        if scoped.is_some() {
            assert!(r.cuda_standalone.is_empty(), "{}", r.id);
        } else {
            assert!(r.cuda_standalone.contains("__global__ void") && !r.cuda_standalone.contains("wp::"), "{}", r.id);
        }
    }
    let ids: HashSet<&str> = rs.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids.len(), rs.len(), "ids are unique");
    // the id is the canonical form's hash: recompute it from the seed
    let cfg = warpsmith_gen::Config::default();
    let mut per_cat: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &rs {
        let cat: warpsmith_gen::Category = r.category.parse().expect("category");
        let k = warpsmith_gen::generate(cat, r.seed, &cfg);
        assert_eq!(warpsmith_ast::canonical_id(&k), r.id);
        assert_eq!(warpsmith_ast::python_module(&k), r.python);
        *per_cat.entry(&r.category).or_insert(0) += 1;
    }
    assert_eq!(per_cat.len(), warpsmith_gen::Category::ALL.len(), "{per_cat:?}");
    let (min, max) = (per_cat.values().min().copied().unwrap_or(0), per_cat.values().max().copied().unwrap_or(0));
    assert!(max - min <= 1, "{per_cat:?}");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("manifest.json")).expect("manifest")).expect("json");
    for f in manifest["files"].as_array().expect("files") {
        let bytes = std::fs::read(dir.path().join(f["path"].as_str().expect("path"))).expect("shard");
        assert_eq!(blake3::hash(&bytes).to_hex().as_str(), f["blake3"].as_str().expect("hash"));
    }
}

#[test]
fn modules_are_byte_identical_to_what_warp_emits_in_a_separate_process() {
    let dir = tempfile::tempdir().expect("tempdir");
    // with --ptx: the worker's own NVRTC call (the pinned nvidia-cuda-nvrtc, Warp's options) makes `ptx`
    generate_with(dir.path(), 12, 3, "codegen", &["--ptx"]);
    let rs = records(dir.path());
    // independent of the worker: a CPU load (block_dim 1, as wp.launch on the CPU does) and the public
    // ahead-of-time compiler for sm_80 (Warp's own NVRTC), reading back what Warp writes next to its binaries
    let script = r#"
import glob, importlib.util, json, os, sys, tempfile
import warp as wp
path, name = sys.argv[1], sys.argv[2]
# the record's modules were made from `<name>.py` in the working directory, compiled under that relative name
# (Warp quotes a helper's source file)
import types
os.chdir(os.path.dirname(path))
rel = os.path.basename(path)
mod = types.ModuleType("check_mod"); mod.__file__ = rel
exec(compile(open(rel).read(), rel, "exec"), mod.__dict__)
k = getattr(mod, name)
cache = tempfile.mkdtemp()
wp.config.kernel_cache_dir = cache
k.module.load(wp.get_device("cpu"), block_dim=1)
cpu = open(glob.glob(os.path.join(cache, "**", "*.cpp"), recursive=True)[0]).read()
aot = tempfile.mkdtemp()
wp.compile_aot_module(k.module, arch=80, module_dir=aot, use_ptx=True)
cuda = open(glob.glob(os.path.join(aot, "*.cu"))[0]).read()
# Warp writes the PTX with NVRTC's terminating NUL
ptx = open(glob.glob(os.path.join(aot, "*.ptx"))[0]).read().rstrip("\0")
# the one difference: NVRTC mangles its program name into internal-linkage globals; Warp's program is
# `wp_<module>_<hash>.cu`, a record's `wp_<kernel name>.cu`
def internal(label):
    tail = f"_INTERNAL_00000000_{len(label) + 3}_{label}_cu_"
    return f"{len(tail) + 8}{tail}"
warp_label = os.path.basename(glob.glob(os.path.join(aot, "*.cu"))[0])[:-3]
assert internal(warp_label) in ptx, warp_label
ptx = ptx.replace(internal(warp_label), internal("wp_" + name))
# the one documented rewrite: Warp's install prefix is written `<warp>/` in records
prefix = os.path.dirname(os.path.abspath(wp.__file__)) + os.sep
cpu, cuda = cpu.replace(prefix, "<warp>/"), cuda.replace(prefix, "<warp>/")
sys.stdout.write("\n" + json.dumps({"cpu": cpu, "cuda": cuda, "ptx": ptx}) + "\n")
"#;
    // one record per category where possible
    let mut seen = HashSet::new();
    let sample: Vec<&Record> = rs.iter().filter(|r| seen.insert(r.category.clone())).take(4).collect();
    assert!(sample.len() >= 4);
    for r in sample {
        let file = dir.path().join(format!("{}.py", r.name));
        std::fs::write(&file, &r.python).expect("write module");
        let got: serde_json::Value = serde_json::from_str(
            run_python(script, &[&file.display().to_string(), &r.name]).lines().last().unwrap_or_default(),
        )
        .expect("json");
        assert!(got["cpu"].as_str() == Some(r.cpu_module.as_str()), "cpu_module differs for {}", r.id);
        assert!(got["cuda"].as_str() == Some(r.cuda_module.as_str()), "cuda_module differs for {}", r.id);
        assert!(!r.ptx.is_empty() && got["ptx"].as_str() == Some(r.ptx.as_str()), "ptx differs for {}", r.id);
        assert_eq!(r.checks.ptx.name(), "passed", "--ptx compiles every record fully");
        for (col, module, sig) in [
            (&r.cpu_forward, &r.cpu_module, "_cpu_kernel_forward("),
            (&r.cpu_backward, &r.cpu_module, "_cpu_kernel_backward("),
            (&r.cuda_forward, &r.cuda_module, "_cuda_kernel_forward("),
            (&r.cuda_backward, &r.cuda_module, "_cuda_kernel_backward("),
        ] {
            assert!(module.contains(col.as_str()), "function is a substring of its module");
            let first_line = col.lines().find(|l| !l.starts_with("template")).unwrap_or_default();
            assert!(
                first_line.contains(&format!("{}_", r.name)) && first_line.contains(sig),
                "starts at the signature: {first_line}"
            );
            assert!(col.ends_with('}'), "ends at the closing brace");
            assert_eq!(col.matches('{').count(), col.matches('}').count());
        }
    }
}

/// Launches stored kernels with Warp from the record alone (its `python`, `launch_dim` and `test_inputs`),
/// without any warpsmith code, and compares with `test_outputs`.
#[test]
fn stored_test_inputs_reproduce_stored_test_outputs_in_a_separate_warp_process() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rs = records(shared_run_dataset());
    let script = r#"
import importlib.util, json, sys
import numpy as np
import warp as wp
rec = json.load(open(sys.argv[1]))
path = sys.argv[2]
open(path, "w").write(rec["python"])
spec = importlib.util.spec_from_file_location("repro_mod", path)
mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
kernel = getattr(mod, rec["name"])
n = rec["launch_dim"]
inputs = {t["name"]: t for t in rec["test_inputs"]}
outputs = {t["name"]: t for t in rec["test_outputs"]}
def dtype_of(name):
    return {"float32": wp.float32, "int32": wp.int32}.get(name) or getattr(wp, name)
def comp(name):
    sizes = {"quat": (4,), "transform": (7,), "spatial_vector": (6,)}
    return (int(name[3]),) if name.startswith("vec") else (int(name[3]), int(name[4])) if name.startswith("mat") else sizes.get(name, ())
import ast
fn = next(x for x in ast.walk(ast.parse(rec["python"])) if isinstance(x, ast.FunctionDef) and x.name == rec["name"])
args, results = [], {}
for pos, label in enumerate([a.arg for a in fn.args.args]):
    t = inputs.get(label) or outputs[label]
    npdt = np.int32 if t["dtype"] == "int32" else np.float32
    if t["dtype"] == "struct":
        args.append(struct_of(kernel.adj.args[pos].type, t["values"]))
        continue
    scene = scene_of(t)
    if scene is not None:
        results["__scene_" + label] = scene
        args.append(scene.id)
        continue
    if not t["shape"]:
        args.append(int(t["values"][0]) if t["dtype"] == "int32" else float(t["values"][0]))
        continue
    shape = tuple(t["shape"]) + comp(t["dtype"])
    data = np.array(t["values"], dtype=npdt).reshape(shape) if label in inputs else np.zeros(shape, npdt)
    arr = wp.array(data, dtype=dtype_of(t["dtype"]), device="cpu")
    args.append(arr)
    if label in outputs:
        results[label] = arr
wp.launch(kernel, dim=n, inputs=args, device="cpu")
worst = 0.0
for name, arr in results.items():
    if name.startswith("__scene_"):
        continue
    got = arr.numpy().astype(np.float64).ravel()
    want = np.array(outputs[name]["values"])
    assert got.shape == want.shape, (name, got.shape, want.shape)
    assert np.allclose(got, want, rtol=1e-4, atol=1e-5), (name, np.max(np.abs(got - want)))
print("\nOK", len(results))
"#;
    // every 2-D and 3-D launch, then scene kernels, then 1-D ones with `@wp.func` helpers or `@wp.struct`
    // parameters (their outputs come from a batch module where several kernels' helpers and classes meet), then
    // other 1-D ones, up to 12
    let mut picked: Vec<&Record> = rs.iter().filter(|r| r.launch_dim.len() > 1).collect();
    assert!(picked.iter().any(|r| r.launch_dim.len() == 2) && picked.iter().any(|r| r.launch_dim.len() == 3));
    // scene kernels: their meshes, grids, BVHs and volumes rebuilt from test_inputs alone
    let scene = |r: &&Record| r.category == "geometry";
    picked.extend(rs.iter().filter(scene));
    assert!(picked.iter().any(scene), "no geometry record for seed 5");
    let helper = |r: &&Record| r.python.contains("@wp.func") || r.python.contains("@wp.struct");
    picked.extend(rs.iter().filter(|r| r.launch_dim.len() == 1 && helper(r) && !scene(r)));
    assert!(picked.iter().any(helper), "no record of seed 5 has a @wp.func helper");
    picked.extend(rs.iter().filter(|r| r.launch_dim.len() == 1 && !helper(r) && !scene(r)));
    let mut checked = 0;
    for r in picked.iter().take(12) {
        assert_eq!(r.checks.forward.name(), "passed");
        let threads: i32 = r.launch_dim.iter().product();
        assert!(!r.test_outputs.is_empty() && (8..=64).contains(&threads), "{:?}", r.launch_dim);
        let json = dir.path().join(format!("{}.json", r.id));
        std::fs::write(&json, serde_json::to_vec(r).expect("json")).expect("write record");
        let module = dir.path().join(format!("{}_repro.py", r.name));
        let out =
            run_python(&[PY_STRUCT_OF, script].concat(), &[&json.display().to_string(), &module.display().to_string()]);
        assert!(out.lines().last().unwrap_or_default().starts_with("OK"), "{out}");
        checked += 1;
    }
    assert_eq!(checked, 12);
}

#[test]
fn the_same_seed_gives_identical_parquet_and_another_seed_other_records() {
    let (a, b, c) = (tempfile::tempdir().expect("a"), tempfile::tempdir().expect("b"), tempfile::tempdir().expect("c"));
    generate(a.path(), 10, 11);
    generate(b.path(), 10, 11);
    generate_at(c.path(), 10, 12, "codegen");
    assert_eq!(parquet_bytes(a.path()), parquet_bytes(b.path()));
    let ids = |d: &Path| records(d).into_iter().map(|r| r.id).collect::<HashSet<_>>();
    let (ia, ic) = (ids(a.path()), ids(c.path()));
    assert!(ia.intersection(&ic).count() < 3, "different seeds share almost nothing");
}

#[test]
fn device_cuda_without_a_gpu_stops_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = bin()
        .args(["generate", "--count", "2", "--device", "cuda", "--python"])
        .arg(python())
        .arg("--out")
        .arg(dir.path())
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    // CI machines have no GPU; where one is present this test has nothing to check
    if err.contains("Warp sees no CUDA device") {
        assert_eq!(out.status.code(), Some(1), "{err}");
    } else {
        assert!(out.status.success(), "{err}");
    }
}

#[test]
fn bad_flags_and_config_files_exit_2_with_one_clear_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = bin().args(["generate", "--categories", "nope=1"]).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown category `nope`"));
    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "max_loop_trip = 0\n").expect("write");
    let out = bin().args(["generate", "--config"]).arg(&cfg).arg("--python").arg("/nonexistent").output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("max_loop_trip") && err.lines().count() == 1, "{err}");
    let out = bin()
        .args(["generate", "--count", "5", "--python", "/nonexistent/python", "--out"])
        .arg(dir.path().join("out"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/python"));
    // an interpreter without Warp is told what to do
    let out = bin()
        .args(["generate", "--count", "5", "--verify", "codegen", "--python", "python3", "--out"])
        .arg(dir.path().join("out2"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("run `warpsmith setup`"), "{out:?}");
    // zero where at least one is needed, and a count past the limit: exit 2 naming the flag, no work
    for (flag, value) in [
        ("--workers", "0"),
        ("--timeout", "0"),
        ("--shard-rows", "0"),
        ("--batch-size", "0"),
        ("--recycle-after", "0"),
        ("--block-size", "0"),
        ("--count", "0"),
        ("--count", "100000000000"),
    ] {
        let out = bin().args(["generate", flag, value, "--out"]).arg(dir.path().join("never")).output().expect("run");
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(flag), "{flag} {value}: {out:?}");
        assert!(!dir.path().join("never").exists(), "{flag} {value}: nothing was created");
    }
}

#[test]
fn a_records_standalone_cuda_builds_and_passes_on_the_host_by_itself_and_fails_when_an_output_is_edited() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rs: Vec<Record> = records(shared_run_dataset()).into_iter().filter(|r| !r.cuda_standalone.is_empty()).collect();
    for r in rs.iter().take(4) {
        let src = dir.path().join(format!("{}.cu", r.name));
        std::fs::write(&src, &r.cuda_standalone).expect("write .cu");
        let exe = dir.path().join(&r.name);
        // the README's host command
        let b = Command::new("g++").args(["-O2", "-x", "c++"]).arg(&src).arg("-o").arg(&exe).output().expect("g++");
        assert!(b.status.success(), "{}: {}", r.id, String::from_utf8_lossy(&b.stderr));
        let run = Command::new(&exe).output().expect("run");
        let stdout = String::from_utf8_lossy(&run.stdout);
        assert!(run.status.success() && stdout.contains("PASS"), "{}: {stdout}", r.id);
    }
    // the record's own expected values decide: a copy with one of Warp's outputs moved by 1% fails
    let float_outputs = |r: &Record| {
        r.test_outputs.iter().filter(|t| t.dtype != "int32").flat_map(|t| t.values.iter().copied()).collect::<Vec<_>>()
    };
    let r = rs.iter().find(|r| float_outputs(r).iter().any(|v| v.abs() > 1e-2)).expect("a record with float outputs");
    let floats = r.test_outputs.iter().filter(|t| t.dtype != "int32");
    let first = floats.flat_map(|t| t.values.iter()).find(|v| v.abs() > 1e-2).expect("a float output");
    let lit = warpsmith_cuda::float_lit(*first);
    let edited = warpsmith_cuda::float_lit(*first * 1.01);
    let marker = "_expected[";
    let pos = r.cuda_standalone.find(marker).expect("expected values");
    let (head, tail) = r.cuda_standalone.split_at(pos);
    // a whole literal: after a space or an opening brace
    let (from, to) = [(format!(" {lit}"), format!(" {edited}")), (format!("{{{lit}"), format!("{{{edited}"))]
        .into_iter()
        .find(|(f, _)| tail.contains(f.as_str()))
        .expect("the output among the expected values");
    let src = dir.path().join("edited.cu");
    std::fs::write(&src, format!("{head}{}", tail.replacen(&from, &to, 1))).expect("write");
    let exe = dir.path().join("edited");
    let b = Command::new("g++").args(["-O2", "-x", "c++"]).arg(&src).arg("-o").arg(&exe).output().expect("g++");
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    let run = Command::new(&exe).output().expect("run");
    assert!(!run.status.success() && String::from_utf8_lossy(&run.stdout).contains("FAIL"));
}

#[test]
fn every_export_task_loads_with_hugging_face_datasets_with_three_roles_per_row() {
    let dir = tempfile::tempdir().expect("tempdir");
    generate_at(dir.path(), 10, 9, "run");
    let script = r#"
import sys, json, datasets
out, cache, task = sys.argv[1], sys.argv[2], sys.argv[3]
files = {s: f"{out}/{s}.jsonl" for s in ("train", "validation", "test")}
files = {s: f for s, f in files.items() if open(f).read().strip()}
ds = datasets.load_dataset("json", data_files=files, cache_dir=cache)
n = 0
for split in ds:
    for row in ds[split]:
        if task == "jsonl":
            # a record outside the standalone translation's scope has none, and says so
            assert row["split"] == split and (row["cuda_standalone"] or row["checks"]["standalone_compile"] == "unsupported"), row["id"]
        else:
            roles = [m["role"] for m in row["messages"]]
            assert len(row["id"]) == 64, row["id"]
            assert roles == ["system", "user", "assistant"], roles
            assert "```python" in row["messages"][1]["content"] and row["messages"][2]["content"].startswith("```")
        n += 1
print(n)
"#;
    let rs = records(dir.path());
    let want: usize = rs.len();
    // the standalone task has a row for each record with a translation; the others say `unsupported`
    for r in &rs {
        let unsupported = r.checks.standalone_compile == warpsmith_dataset::CheckStatus::Unsupported;
        assert_eq!(r.cuda_standalone.is_empty(), unsupported, "{}", r.id);
    }
    let translated = rs.iter().filter(|r| !r.cuda_standalone.is_empty()).count();
    for task in ["python-to-cuda", "python-to-cpp", "python-to-adjoint", "python-to-standalone-cuda", "jsonl"] {
        let out = dir.path().join(format!("export-{task}"));
        let mut cmd = bin();
        cmd.arg("export").arg(dir.path()).arg("--out").arg(&out);
        if task == "jsonl" {
            cmd.args(["--to", "jsonl"]);
        } else {
            cmd.args(["--to", "sft", "--task", task]);
        }
        let o = cmd.output().expect("run export");
        assert!(o.status.success(), "{task}: {}", String::from_utf8_lossy(&o.stderr));
        let cache = tempfile::tempdir().expect("cache");
        let n: usize = run_python(script, &[&out.display().to_string(), &cache.path().display().to_string(), task])
            .trim()
            .parse()
            .expect("count");
        assert_eq!(n, if task == "python-to-standalone-cuda" { translated } else { want }, "{task}");
    }
    let o = bin().arg("export").arg(dir.path()).args(["--to", "sft"]).output().expect("run");
    assert_eq!(o.status.code(), Some(2), "--to sft without --task is a usage error");
}

#[test]
fn the_committed_builtin_catalog_is_what_warps_registry_gives() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("builtins.json");
    let o = bin().arg("catalog").arg("--out").arg(&out).arg("--python").arg(python()).output().expect("run catalog");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let fresh = std::fs::read_to_string(&out).expect("read catalog");
    let committed = include_str!("../../warpsmith-gen/data/builtins.json");
    assert!(
        fresh == committed,
        "the committed catalog is stale: run `warpsmith catalog --out crates/warpsmith-gen/data/builtins.json`"
    );
}

fn copy_dataset(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.join("data")).expect("mkdir");
    std::fs::copy(from.join("manifest.json"), to.join("manifest.json")).expect("copy manifest");
    for e in std::fs::read_dir(from.join("data")).expect("data") {
        let p = e.expect("entry").path();
        std::fs::copy(&p, to.join("data").join(p.file_name().expect("name"))).expect("copy shard");
    }
}

/// Runs `validate` and returns (exit code, stdout: one line per violation).
fn validate(dir: &Path) -> (Option<i32>, String) {
    let o =
        bin().arg("validate").arg(dir).args(["--sample", "1000"]).arg("--python").arg(python()).output().expect("run");
    (o.status.code(), String::from_utf8_lossy(&o.stdout).to_string())
}

/// Rewrites a dataset's records through `edit`, with a fresh, consistent manifest, so that only the checks of
/// content (not the file hashes) can see the corruption.
fn rewrite(dir: &Path, edit: impl FnOnce(&mut Vec<Record>)) {
    let manifest = warpsmith_dataset::read_manifest(dir).expect("manifest");
    let mut recs = warpsmith_dataset::read_dataset(dir).expect("records");
    edit(&mut recs);
    warpsmith_dataset::write_dataset(dir, &recs, 10_000, manifest.run, "").expect("rewrite");
}

#[test]
fn stats_and_validate_pass_on_a_dataset_and_validate_names_each_corruption() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("ok");
    generate(&data, 12, 21);

    // stats: the report, and SVG plots that parse as XML and draw data
    let o = bin().arg("stats").arg(&data).output().expect("run stats");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report = std::fs::read_to_string(data.join("stats/report.md")).expect("report.md");
    for svg in ["categories", "lengths", "expansion", "builtins", "constructs", "gradient_error"] {
        assert!(report.contains(&format!("({svg}.svg)")), "report embeds {svg}.svg");
        let text = std::fs::read_to_string(data.join(format!("stats/{svg}.svg"))).expect("svg");
        let doc = roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{svg}.svg is not XML: {e}"));
        let filled =
            doc.descendants().filter(|n| n.has_tag_name("rect") && n.attribute("fill") != Some("#FFFFFF")).count();
        assert!(filled >= 2, "{svg}.svg draws {filled} bars");
    }
    let o = bin().arg("stats").arg(&data).arg("--json").output().expect("run stats --json");
    let figures: serde_json::Value = serde_json::from_slice(&o.stdout).expect("stats --json is JSON");
    assert_eq!(figures["records"], 12);
    assert_eq!(figures["coverage"]["catalog"], 355);
    assert!(figures["coverage"]["used"].as_u64().is_some_and(|n| n >= 10), "{}", figures["coverage"]);
    // every builtin the records use (named, or called by Warp's code for the records' syntax) is one the
    // generator's rules say it writes: the rules table is held to Warp's own code, not only to the AST
    let used = figures["coverage"]["records_per_builtin"].as_object().expect("records_per_builtin");
    for name in used.keys() {
        let b = warpsmith_ast::Builtin::from_name(name).unwrap_or_else(|| panic!("{name} is not in the table"));
        let rule = warpsmith_gen::rules::rule(b);
        assert!(!matches!(rule, warpsmith_gen::rules::Rule::NotGenerated(_)), "{name} is used but ruled {rule:?}");
    }

    // the card carries the statistics
    let card = std::fs::read_to_string(data.join("README.md")).expect("card");
    assert!(card.contains("## Statistics") && card.contains("builtins in Warp's registry"), "{card}");

    let (code, out) = validate(&data);
    assert_eq!((code, out.as_str()), (Some(0), ""), "a fresh dataset validates");

    // a truncated shard
    let bad = dir.path().join("truncated");
    copy_dataset(&data, &bad);
    let shard = bad.join("data/train-00000-of-00001.parquet");
    let bytes = std::fs::read(&shard).expect("read");
    std::fs::write(&shard, &bytes[..bytes.len() / 2]).expect("truncate");
    let (code, out) = validate(&bad);
    assert_eq!(code, Some(1));
    assert!(out.contains("data/train-00000-of-00001.parquet: ") && out.contains("BLAKE3"), "{out}");
    assert!(out.contains("not a readable Parquet file"), "{out}");

    // a duplicated row
    let bad = dir.path().join("duplicated");
    copy_dataset(&data, &bad);
    rewrite(&bad, |r| {
        let first = r[0].clone();
        r.push(first);
    });
    let (code, out) = validate(&bad);
    assert_eq!(code, Some(1));
    assert!(out.contains("id appears twice"), "{out}");

    // an edited cuda_forward
    let bad = dir.path().join("edited");
    copy_dataset(&data, &bad);
    let mut edited_id = String::new();
    rewrite(&bad, |r| {
        r[0].cuda_forward = r[0].cuda_forward.replacen("var_", "var_x", 1);
        edited_id = r[0].id.clone();
    });
    let (code, out) = validate(&bad);
    assert_eq!(code, Some(1));
    assert!(
        out.contains(&format!("record {edited_id}: cuda_forward is not the kernel's function in its module")),
        "{out}"
    );
    assert_eq!(out.lines().count(), 1, "only the edited record is flagged: {out}");

    // a test output moved by 1%
    let bad = dir.path().join("output");
    copy_dataset(&data, &bad);
    let mut moved = String::new();
    rewrite(&bad, |r| {
        let rec = r
            .iter_mut()
            .find(|x| x.test_outputs.iter().any(|t| t.values.iter().any(|v| *v != 0.0)))
            .expect("a nonzero output");
        moved = rec.id.clone();
        let t = rec.test_outputs.iter_mut().find(|t| t.values.iter().any(|v| *v != 0.0)).expect("tensor");
        let v = t.values.iter_mut().find(|v| **v != 0.0).expect("value");
        *v *= 1.01;
    });
    let (code, out) = validate(&bad);
    assert_eq!(code, Some(1));
    assert!(out.contains(&format!("record {moved}: test_outputs.")) && out.contains("Warp computes"), "{out}");
}

/// Issue 15's live data flow, checked apart from the worker's own check (other code, other perturbations):
/// every input of a record (array, by-value scalar, struct field) changes some output when perturbed, and every
/// output array changes under some input's perturbation. Records sampled by id; `WARPSMITH_PERTURB_COUNT` (default
/// 24) records are generated (or the dataset named by `WARPSMITH_PERTURB_DATASET` is read), at most 100 are
/// perturbed.
#[test]
fn no_record_has_a_dead_input_or_an_output_that_ignores_every_input() {
    // the shared dataset, or one of WARPSMITH_PERTURB_COUNT records (seed 21), or an existing one
    let count: Option<usize> = std::env::var("WARPSMITH_PERTURB_COUNT").ok().and_then(|c| c.parse().ok());
    let dir = tempfile::tempdir().expect("tempdir");
    let ds = match (std::env::var_os("WARPSMITH_PERTURB_DATASET"), count) {
        (Some(existing), _) => std::path::PathBuf::from(existing),
        (None, Some(count)) => {
            let ds = dir.path().join("ds");
            generate_at(&ds, count, 21, "run");
            ds
        }
        (None, None) => shared_run_dataset().to_path_buf(),
    };
    let mut rs = records(&ds);
    rs.sort_by(|a, b| a.id.cmp(&b.id));
    rs.truncate(100);
    let lines: Vec<String> = rs.iter().map(|r| serde_json::to_string(r).expect("json")).collect();
    let input = dir.path().join("records.jsonl");
    std::fs::write(&input, lines.join("\n")).expect("write records");
    let script = r#"
import ast, importlib.util, json, os, sys
import numpy as np
import warp as wp
wp.config.quiet = True
work = sys.argv[2]
rng = np.random.default_rng(2026)

def comp(name):
    sizes = {"quat": (4,), "transform": (7,), "spatial_vector": (6,)}
    if name.startswith("vec"):
        return (int(name[3]),)
    if name.startswith("mat"):
        return (int(name[3]), int(name[4]))
    return sizes.get(name, ())

def dtype_of(name):
    return {"float32": wp.float32, "int32": wp.int32}.get(name) or getattr(wp, name)


def field_spans(stype):
    spans, at = [], 0
    for fname, var in stype.vars.items():
        n = 1 if var.type in (wp.int32, wp.float32) else var.type._length_
        spans.append((fname, at, n, var.type is wp.int32))
        at += n
    return spans

def perturbed(values, is_int, attempt):
    # 0: permute (keeps every value the kernel was drawn for: indices stay in bounds); 1: scale and shift every
    # value (a permutation-invariant reduction still moves), integers lowered by one above 1; 2: each value
    # mirrored in the values' range (lo + hi - v: a value near one end moves to the other, crossing thresholds
    # a small change does not); 3: one value alone
    v = np.array(values, dtype=np.float64)
    if attempt == 0:
        w = rng.permutation(v)
    elif attempt == 1:
        w = np.where(v > 1, v - 1, v) if is_int else v * 1.1 + 0.05
    elif attempt == 2:
        w = v.min() + v.max() - v
    elif attempt >= 4:
        # 4 and on: fresh values uniform in the values' range (integers: uniform integers); a scene query is
        # discrete in its data (which points share a cell, which boxes a ray meets), so a few draws may be needed
        lo, hi = v.min(), v.max()
        w = rng.integers(int(lo), int(hi) + 1, size=v.size).astype(np.float64) if is_int else rng.uniform(lo, hi, size=v.size)
    else:
        w = v.copy()
        j = int(rng.integers(v.size))
        w[j] = (v[j] - 1 if v[j] > 1 else v[j]) if is_int else v[j] * 0.7 - 0.05
    if not is_int:
        w = w.astype(np.float32).astype(np.float64)
    return None if np.array_equal(w, v) else list(w)

def run(kernel, fn_args, rec, values):
    inputs = {t["name"]: t for t in rec["test_inputs"]}
    outputs = {t["name"]: t for t in rec["test_outputs"]}
    args, results, keep = [], {}, []
    for pos, label in enumerate(fn_args):
        t = inputs.get(label) or outputs[label]
        vals = values.get(label, t["values"])
        if t["dtype"] == "struct":
            args.append(struct_of(kernel.adj.args[pos].type, vals))
            continue
        scene = scene_of(dict(t, values=vals))
        if scene is not None:
            keep.append(scene)
            args.append(scene.id)
            continue
        if not t["shape"]:
            args.append(int(vals[0]) if t["dtype"] == "int32" else float(vals[0]))
            continue
        npdt = np.int32 if t["dtype"] == "int32" else np.float32
        shape = tuple(t["shape"]) + comp(t["dtype"])
        data = np.array(vals, dtype=npdt).reshape(shape) if label in inputs else np.zeros(shape, npdt)
        arr = wp.array(data, dtype=dtype_of(t["dtype"]), device="cpu")
        args.append(arr)
        if label in outputs:
            results[label] = arr
    wp.launch(kernel, dim=rec["launch_dim"], inputs=args, device="cpu")
    return {k: a.numpy().tobytes() for k, a in results.items()}

report = {"records": 0, "inputs": 0, "dead_inputs": [], "dead_outputs": []}
for k, line in enumerate(open(sys.argv[1])):
    rec = json.loads(line)
    path = os.path.join(work, f"perturb_{k}.py")
    open(path, "w").write(rec["python"])
    spec = importlib.util.spec_from_file_location(f"perturb_{k}", path)
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    kernel = getattr(mod, rec["name"])
    fn = next(x for x in ast.walk(ast.parse(rec["python"])) if isinstance(x, ast.FunctionDef) and x.name == rec["name"])
    fn_args = [a.arg for a in fn.args.args]
    base = run(kernel, fn_args, rec, {})
    moved = set()
    for t in rec["test_inputs"]:
        pos = fn_args.index(t["name"])
        parts = [(t["name"], 0, len(t["values"]), t["dtype"] == "int32")]
        if t["dtype"] in SCENES:
            # one input: its points and velocities (a mesh), points (a grid), lower corners (a BVH) or voxels
            # (a volume), perturbed together; faces, cell and voxel sizes stay
            shape = t["shape"]
            p = 3 * shape[0]
            if t["dtype"] == "mesh":
                blocks = [(0, p), (p + 3 * shape[1], p)]
            elif t["dtype"] in ("hash_grid", "bvh"):
                blocks = [(0, p)]
            else:
                blocks = [(0, int(np.prod(shape)) * (3 if t["dtype"] == "volume_v" else 1))]
            parts = [(t["name"], blocks, None, t["dtype"] == "volume_i")]
        elif t["dtype"] == "struct":
            parts = [(f"{t['name']}.{f}", at, n, is_int) for f, at, n, is_int in field_spans(kernel.adj.args[pos].type)]
        for label, at, n, is_int in parts:
            alive, tried = False, False
            for attempt in range(8):
                if alive and attempt >= 4:
                    break  # the extra draws only for an input not yet seen to move anything
                new = list(t["values"])
                for b0, bn in (at if n is None else [(at, n)]):
                    w = perturbed(t["values"][b0:b0 + bn], is_int, attempt)
                    if w is not None:
                        new[b0:b0 + bn] = w
                if new == t["values"]:
                    continue
                tried = True
                out = run(kernel, fn_args, rec, {t["name"]: new})
                changed = {o for o in out if out[o] != base[o]}
                moved |= changed
                alive = alive or bool(changed)
            if tried:
                report["inputs"] += 1
                if not alive:
                    report["dead_inputs"].append(f"{rec['id']} {rec['category']} {label}")
    for o in base:
        if o not in moved:
            report["dead_outputs"].append(f"{rec['id']} {rec['category']} {o}")
    report["records"] += 1
print(json.dumps(report))
"#;
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).expect("work dir");
    let out =
        run_python(&[PY_STRUCT_OF, script].concat(), &[&input.display().to_string(), &work.display().to_string()]);
    let report: serde_json::Value =
        serde_json::from_str(out.lines().last().unwrap_or_default()).expect("a JSON report");
    eprintln!("{report}");
    assert_eq!(report["records"].as_u64(), Some(rs.len() as u64));
    assert!(report["inputs"].as_u64().unwrap_or(0) >= rs.len() as u64, "every record has an input: {report}");
    assert_eq!(report["dead_inputs"], serde_json::json!([]), "{report}");
    assert_eq!(report["dead_outputs"], serde_json::json!([]), "{report}");
}

/// `warpsmith check` on the README's hand-written kernels: every float input component is compared, by-value
/// scalars and struct fields included (through the worker's gradient twin), and a wrong custom adjoint on a
/// by-value scalar or a struct field is a finding.
#[test]
fn check_compares_by_value_scalars_and_struct_fields_and_finds_their_wrong_adjoints() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/examples");
    let read = |f: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(root.join(f)).expect("example")).expect("example JSON")
    };
    let (saxpy, project) = (read("saxpy.json"), read("struct_params.json"));
    // the same kernels with the reads of `a` (x2) and `p.gain` (x0) routed through a wrong custom adjoint
    let wrong = |k: &serde_json::Value, read: &str, by: &str, scale: &str| {
        let helper = format!(
            "@wp.func\ndef ws_mut(x: float):\n    return x\n\n\n@wp.func_grad(ws_mut)\ndef adj_ws_mut(x: float, adj_ret: float):\n    wp.adjoint[x] += {scale} * adj_ret\n\n\n@wp.kernel"
        );
        let py = k["python"].as_str().expect("python");
        let (head, body) = py.split_at(py.find("@wp.kernel").expect("a kernel"));
        let body = body.replacen("@wp.kernel", &helper, 1);
        let at = body.rfind("):\n").expect("signature end");
        let (sig, rest) = body.split_at(at);
        let mut m = k.clone();
        m["python"] = format!("{head}{sig}{}", rest.replace(read, by)).into();
        m
    };
    let kernels = [
        saxpy.clone(),
        project.clone(),
        wrong(&saxpy, "a *", "ws_mut(a) *", "2.0"),
        wrong(&project, "p.gain", "ws_mut(p.gain)", "0.0"),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("kernels.jsonl");
    let text: Vec<String> = kernels.iter().map(|k| k.to_string()).collect();
    std::fs::write(&input, text.join("\n")).expect("write kernels");
    let out = bin().arg("check").arg(&input).arg("--python").arg(python()).output().expect("run check");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect();
    assert_eq!(lines.len(), 4, "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "two wrong adjoints: exit 1");
    // saxpy: x[4] + y[4] + a; project: x[3] vec3 + gain + axis (steps is an int)
    for (line, compared, by_value) in [(&lines[0], 9, "a"), (&lines[1], 13, "p")] {
        assert_eq!(line["outcome"], "accepted", "{line}");
        assert_eq!(line["checks"]["gradient"], "passed", "{line}");
        assert_eq!(line["checks"]["gradient_compared"], compared, "{line}");
        assert!(line["gradient"]["informative_by_arg"][by_value].as_u64().unwrap_or(0) >= 1, "{line}");
    }
    for line in &lines[2..] {
        assert_eq!(line["outcome"], "finding", "{line}");
    }
}

/// A kernel whose `@wp.func_native` helper carries `cuda_only` in its CUDA build alone (the CPU build compiles
/// and runs it, so the record reaches the NVRTC check), as a `check` input line.
fn native_kernel(name: &str, cuda_only: &str) -> String {
    let python = format!(
        "import warp as wp\n\n\n@wp.func_native(\"\"\"\n#if defined(__CUDA_ARCH__)\n{cuda_only}\n#endif\nreturn x * 2.0f;\n\"\"\", \
         \"\"\"\nadj_x += 2.0f * adj_ret;\n\"\"\")\ndef twice_{name}(x: float) -> float: ...\n\n\n@wp.kernel\ndef {name}(a: \
         wp.array(dtype=float), out: wp.array(dtype=float)):\n    i = wp.tid()\n    out[i] = twice_{name}(a[i]) + \
         wp.sin(a[i])\n"
    );
    serde_json::json!({
        "name": name, "python": python, "launch_dim": [4],
        "test_inputs": [{"name": "a", "dtype": "float32", "shape": [4], "values": [0.5, -1.0, 2.0, 0.25]}],
        "grad_outputs": [{"name": "out", "dtype": "float32", "shape": [4], "values": [1.0, -0.5, 0.25, 0.75]}],
    })
    .to_string()
}

/// Errors injected into the CUDA build of a batch: one the front end catches (an undeclared identifier) and one
/// only NVVM's code generator catches (an inline-asm operand index past the operands). A full compile fails both;
/// the front end alone fails the first and gives the second `front_end_passed`, never `passed`.
#[test]
fn checks_ptx_says_which_nvrtc_stages_ran_and_fails_errors_injected_into_either() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("inject.jsonl");
    let lines = [
        native_kernel("clean", ""),
        native_kernel("front_end_error", "undeclared_identifier_ws = 1;"),
        native_kernel("nvvm_error", "int xi = 1, yi = 0; asm(\"mov.b32 %0, %5;\" : \"=r\"(yi) : \"r\"(xi));"),
    ];
    std::fs::write(&input, lines.join("\n") + "\n").expect("write input");
    let verdicts = |extra: &[&str]| -> BTreeMap<String, (String, String, String)> {
        let out = bin()
            .arg("check")
            .args(extra)
            .arg(&input)
            .args(["--workers", "1", "--python"])
            .arg(python())
            .output()
            .expect("run warpsmith check");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(1),
            "some kernel fails:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("a verdict line");
                let s = |x: &serde_json::Value| x.as_str().unwrap_or_default().to_string();
                (s(&v["name"]), (s(&v["outcome"]), s(&v["checks"]["ptx"]), s(&v["reason"]) + &s(&v["message"])))
            })
            .collect()
    };
    let full = verdicts(&[]);
    assert_eq!((full["clean"].0.as_str(), full["clean"].1.as_str()), ("accepted", "passed"));
    assert!(full["front_end_error"].0 == "failed" && full["front_end_error"].2.starts_with("ptx"), "{full:?}");
    assert!(full["front_end_error"].2.contains("undeclared_identifier_ws"), "{full:?}");
    assert!(full["nvvm_error"].0 == "failed" && full["nvvm_error"].2.contains("asm operand"), "{full:?}");
    let front = verdicts(&["--front-end-only"]);
    assert_eq!((front["clean"].0.as_str(), front["clean"].1.as_str()), ("accepted", "front_end_passed"));
    assert!(front["front_end_error"].0 == "failed" && front["front_end_error"].2.starts_with("ptx"), "{front:?}");
    assert_eq!((front["nvvm_error"].0.as_str(), front["nvvm_error"].1.as_str()), ("accepted", "front_end_passed"));
}
