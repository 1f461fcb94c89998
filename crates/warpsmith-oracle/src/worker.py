"""warpsmith's Warp oracle worker: JSON lines over stdin/stdout.

Started by the supervisor (warpsmith-oracle), one process per worker slot. The real stdout is kept for the
protocol only: file descriptor 1 is redirected to stderr before Warp is imported, so banners and C-level
prints cannot corrupt the stream.

Protocol (version 2):
  worker -> {"type": "hello", "protocol": 2, "warp_version": "...", "python": "..."}
         or {"type": "fatal", "error": "..."} and exit code 3 (e.g. a Warp version other than the pinned one)
  request  {"id": N, "op": "process", "items": [ITEM, ...], "ptx": bool, "store_ptx": bool}
           ITEM = {"name": KERNEL_NAME, "source": PYTHON_MODULE_TEXT,
                   "check": null | {"launch_dim", "args": [{"role", "tensor"}], "grad_outputs", "fd_seed",
                                    "fd_samples", "gradient"}}
  response {"id": N, "ok": true, "items": [RESULT, ...]}, RESULT in item order:
           {"ok": true, "cpu_module": ..., "cuda_module": ...}
        or {"ok": false, "kind": "import"|"codegen"|"internal", "error": "...", "traceback": "..."}
           plus
           "run": null | {"ok", "error", "outputs", "deterministic", "problem", "gradient", "ptx", "ptx_error"},
           and with store_ptx "ptx_text" (the item's own CUDA module through NVRTC) or "ptx_text_error"
  request  {"op": "shutdown"}  -> the worker exits 0

Every private Warp call is in the PRIVATE API section below; nothing else touches warp._src.
"""

import atexit
import importlib.util
import json
import re
import os
import shutil
import signal
import sys
import tempfile
import traceback
import types

PROTOCOL = 2

# ---------------------------------------------------------------- scratch directory and signals
# The supervisor makes the scratch directory (WARPSMITH_WORKDIR, also TMPDIR, so NVRTC's temporary files land in
# it) and deletes it when it kills this worker; the worker deletes it itself when it exits, including on the
# SIGTERM it gets when the supervisor dies (PR_SET_PDEATHSIG). SIGINT (Ctrl-C in the terminal) is the
# supervisor's to handle: it decides when workers stop.
workdir = os.environ.get("WARPSMITH_WORKDIR") or tempfile.mkdtemp(prefix="warpsmith-worker-")


def _remove_workdir():
    def report(_func, path, exc):
        sys.stderr.write(f"warpsmith worker: cannot remove {path}: {exc}\n")

    shutil.rmtree(workdir, onerror=report) if os.path.isdir(workdir) else None


atexit.register(_remove_workdir)
signal.signal(signal.SIGTERM, lambda _sig, _frame: sys.exit(143))
signal.signal(signal.SIGINT, signal.SIG_IGN)

# ---------------------------------------------------------------- keep the real stdout for the protocol
_proto = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
os.dup2(2, 1)
sys.stdout = sys.stderr


def send(obj):
    _proto.write(json.dumps(obj) + "\n")
    _proto.flush()


expected = os.environ.get("WARPSMITH_WARP_VERSION", "")

try:
    import warp as wp
except Exception as e:  # a broken environment is reported on the protocol, not swallowed
    send({"type": "fatal", "error": f"cannot import warp: {type(e).__name__}: {e}; "
          f"run `warpsmith setup` for the managed environment, or give --python an interpreter that has "
          f"warp-lang=={expected or 'the pinned version'}"})
    sys.exit(3)

if expected and wp.config.version != expected:
    send(
        {
            "type": "fatal",
            "error": f"warp-lang {wp.config.version} is installed but warpsmith needs exactly {expected}; "
            f"run `warpsmith setup` or install warp-lang=={expected}",
        }
    )
    sys.exit(3)

wp.config.quiet = True
# Warp's kernel cache lives in the scratch directory: batch modules are compiled once and never reused, so a
# shared cache would only grow (about 60 KB a kernel)
wp.config.kernel_cache_dir = os.path.join(workdir, "kernel-cache")
wp.init()
# Warp quotes its own install path in the modules it emits (`// /.../site-packages/warp/_src/math.py:0`). A
# record must not depend on the machine that made it, so that prefix is written as `<warp>/` (documented in the
# dataset card; `validate` re-runs through this same function).
WARP_PREFIX = os.path.dirname(os.path.abspath(wp.__file__)) + os.sep


def machine_independent(text):
    return text.replace(WARP_PREFIX, "<warp>/")
DEVICE = os.environ.get("WARPSMITH_DEVICE", "cpu")
if DEVICE == "cuda" and not wp.is_cuda_available():
    send({"type": "fatal", "error": "--device cuda: Warp sees no CUDA device on this machine (no GPU or no driver)"})
    sys.exit(3)


# ---------------------------------------------------------------- PRIVATE API (warp._src, pinned 1.19.0)
def module_source(kernel, cpu):
    """The translation unit Warp's JIT emits for the kernel's module.

    CPU: block_dim 1, as Warp's CPU launches use; CUDA: block_dim 256 (the module default) for sm_80.
    Mirrors Module.load -> Module._compile -> Module._run_codegen in warp/_src/context.py.
    """
    module = kernel.module
    block_dim = 1 if cpu else 256
    options = module.resolve_options(wp.config, block_dim=block_dim)
    module.get_module_hash(block_dim)
    source, _ext, _meta, _ltoirs, _fatbins = module._run_codegen(
        options | {"output_arch": None if cpu else 80}, cpu
    )
    return machine_independent(source)


# ---------------------------------------------------------------- requests
counter = 0
# Warp quotes a @wp.func's source file in the module it emits (`// <file>:<line>` above the function). Modules
# are loaded from `<kernel name>.py` relative to this directory, so the text names `<kernel name>.py` wherever
# and in whichever process it was made: saving `python` as `<name>.py` and loading it from its directory
# reproduces the module byte for byte.
os.chdir(workdir)
# the same file name serves many kernels in turn: no bytecode cache, no cached source lines from an earlier one
sys.dont_write_bytecode = True
import linecache


# Warp names a @wp.func `<name>_<n>` in the generated code, with `n` counted per name over the whole process
# (warp/_src/context.py `generate_unique_function_identifier`). A module's text must not depend on which
# modules this worker loaded before: every load starts from the counts a fresh process has after `import warp`.
import warp._src.context as _wp_context

_FRESH_FUNCTION_COUNTS = dict(_wp_context.function_key_counts)


def fresh_function_counts():
    _wp_context.function_key_counts.clear()
    _wp_context.function_key_counts.update(_FRESH_FUNCTION_COUNTS)


def load_kernel(name, source):
    global counter
    fresh_function_counts()
    counter += 1
    mod_name = f"warpsmith_k{os.getpid()}_{counter}"
    if not name.isidentifier():
        raise LookupError(f"kernel name {name!r} is not an identifier")
    path = f"{name}.py"
    linecache.clearcache()
    with open(path, "w", encoding="utf-8") as f:
        f.write(source)
    # compiled under the relative file name (importlib would make it absolute): Warp reads the source lines
    # from the file in this directory and quotes `<name>.py`
    module = types.ModuleType(mod_name)
    module.__file__ = path
    exec(compile(source, path, "exec"), module.__dict__)
    kernel = getattr(module, name, None)
    if kernel is None or not isinstance(kernel, wp.Kernel):
        raise LookupError(f"module defines no @wp.kernel named {name!r}")
    return kernel


def handle(req, keep=None):
    rid = req.get("id")
    try:
        kernel = load_kernel(req["name"], req["source"])
        if keep is not None:
            keep.append(kernel)
    except Exception as e:
        return {"id": rid, "ok": False, "kind": "import", "error": f"{type(e).__name__}: {e}",
                "traceback": traceback.format_exc()}
    try:
        cpu = module_source(kernel, True)
        cuda = module_source(kernel, False)
    except Exception as e:
        return {"id": rid, "ok": False, "kind": "codegen", "error": f"{type(e).__name__}: {e}",
                "traceback": traceback.format_exc()}
    return {"id": rid, "ok": True, "cpu_module": cpu, "cuda_module": cuda}



# ---------------------------------------------------------------- execution checks (public API only)
import numpy as np

DTYPES = {"float32": wp.float32, "int32": wp.int32}
for _n in (2, 3, 4):
    DTYPES[f"vec{_n}"] = getattr(wp, f"vec{_n}")
    DTYPES[f"mat{_n}{_n}"] = getattr(wp, f"mat{_n}{_n}")
DTYPES["quat"] = wp.quat
DTYPES["spatial_vector"] = wp.spatial_vector
DTYPES["transform"] = wp.transform


def comp_shape(dtype):
    if dtype.startswith("vec"):
        return (int(dtype[3]),)
    if dtype.startswith("mat"):
        return (int(dtype[3]), int(dtype[4]))
    if dtype == "quat":
        return (4,)
    if dtype == "spatial_vector":
        return (6,)
    if dtype == "transform":
        return (7,)
    return ()


def np_dtype(dtype):
    return np.int32 if dtype == "int32" else np.float32


def struct_value(stype, values):
    """An instance of the @wp.struct `stype` (a kernel argument's type) from its fields' values flattened in
    declaration order, as the launch spec gives them."""
    inst = stype()
    it = iter(values)
    for name, var in stype.vars.items():
        ty = var.type
        if ty is wp.int32:
            setattr(inst, name, int(next(it)))
        elif ty is wp.float32:
            setattr(inst, name, float(next(it)))
        else:  # a vector type: its components in order
            setattr(inst, name, ty(*[float(next(it)) for _ in range(ty._length_)]))
    return inst


def build_args(kernel, spec, overrides=None, requires_grad=False, device="cpu"):
    """Launch arguments; returns (args, {index: array}) for the arrays a caller reads back."""
    args, arrays = [], {}
    for i, a in enumerate(spec["args"]):
        t, role = a["tensor"], a["role"]
        if role == "value" and t["dtype"] == "struct":
            args.append(struct_value(kernel.adj.args[i].type, t["values"]))
            continue
        if role == "value":
            v = t["values"][0]
            args.append(int(v) if t["dtype"] == "int32" else float(v))
            continue
        shape = tuple(t["shape"]) + comp_shape(t["dtype"])
        if role == "input":
            data = overrides[i] if overrides and i in overrides else np.array(t["values"], dtype=np_dtype(t["dtype"])).reshape(shape)
        else:
            data = np.zeros(shape, dtype=np_dtype(t["dtype"]))
        grad = requires_grad and t["dtype"] != "int32"
        arr = wp.array(data, dtype=DTYPES[t["dtype"]], device=device, requires_grad=grad)
        args.append(arr)
        arrays[i] = arr
    return args, arrays


def result_indices(spec):
    return [i for i, a in enumerate(spec["args"]) if a["role"] in ("output", "accumulator")]


def launch(kernel, spec, args, device):
    """One launch. A tile kernel's launch index is a block: on CUDA its tiles need `wp.launch_tiled` (256 threads,
    the module's block_dim); on the CPU one thread runs each block, so a plain launch is the same launch."""
    if spec.get("tiled") and device != "cpu":
        wp.launch_tiled(kernel, dim=spec["launch_dim"], inputs=args, device=device, block_dim=256)
    else:
        wp.launch(kernel, dim=spec["launch_dim"], inputs=args, device=device)


def forward(kernel, spec, overrides=None, device="cpu"):
    args, arrays = build_args(kernel, spec, overrides, device=device)
    launch(kernel, spec, args, device)
    return {i: arrays[i].numpy().copy() for i in result_indices(spec)}


def output_problem(spec, outs):
    values = [outs[i] for i in result_indices(spec)]
    if any(not np.all(np.isfinite(v.astype(np.float64))) for v in values):
        return "non_finite"
    if all(np.all(v == 0) for v in values):
        return "all_zero"
    # one row per array element (over every launch axis), its components in the row
    rows = [outs[i].reshape(int(np.prod(spec["args"][i]["tensor"]["shape"])), -1) for i in result_indices(spec)]
    multi = [r for r in rows if r.shape[0] > 1]
    if multi and all(np.all(r == r[0]) for r in multi):
        return "constant"
    return None


def loss_of(spec, outs):
    seeds = {g["name"]: np.array(g["values"], dtype=np.float64) for g in spec["grad_outputs"]}
    total, scale = 0.0, 0.0
    for i in result_indices(spec):
        name = spec["args"][i]["tensor"]["name"]
        if name in seeds:
            v = outs[i].astype(np.float64).ravel()
            total += float(np.dot(seeds[name], v))
            scale += float(np.dot(np.abs(seeds[name]), np.abs(v)))
    return total, scale


def adjoints(kernel, spec, float_inputs, device):
    """Input adjoints from wp.Tape with the spec's seeded output adjoints, on `device`."""
    args, arrays = build_args(kernel, spec, requires_grad=True, device=device)
    tape = wp.Tape()
    with tape:
        launch(kernel, spec, args, device)
    seeds = {g["name"]: g for g in spec["grad_outputs"]}
    grads = {}
    for i in result_indices(spec):
        t = spec["args"][i]["tensor"]
        if t["name"] in seeds:
            shape = tuple(t["shape"]) + comp_shape(t["dtype"])
            grads[arrays[i]] = wp.array(np.array(seeds[t["name"]]["values"], dtype=np.float32).reshape(shape),
                                        dtype=DTYPES[t["dtype"]], device=device)
    tape.backward(grads=grads)
    return {i: arrays[i].grad.numpy().astype(np.float64).ravel() for i in float_inputs}


def gradient(kernel, spec):
    float_inputs = [i for i, a in enumerate(spec["args"]) if a["role"] == "input" and a["tensor"]["dtype"] != "int32"]
    if not float_inputs or not spec["grad_outputs"]:
        return {"status": "not_differentiable"}
    ad = adjoints(kernel, spec, float_inputs, "cpu")
    base = {i: np.array(spec["args"][i]["tensor"]["values"], dtype=np.float32) for i in float_inputs}
    _, scale = loss_of(spec, forward(kernel, spec))
    # central differences at h and h/2 on a seeded sample of input components
    rng = np.random.default_rng(spec["fd_seed"])
    pool = [(i, j) for i in float_inputs for j in range(base[i].size)]
    picks = rng.choice(len(pool), size=min(spec["fd_samples"], len(pool)), replace=False)
    samples = []
    for p in sorted(picks.tolist()):
        i, j = pool[p]
        x0 = float(base[i][j])
        ests = []
        for h in (1e-2 * max(1.0, abs(x0)), 5e-3 * max(1.0, abs(x0))):
            vals = []
            for sgn in (1.0, -1.0):
                flat = base[i].copy()
                flat[j] = np.float32(x0 + sgn * h)
                shape = tuple(spec["args"][i]["tensor"]["shape"]) + comp_shape(spec["args"][i]["tensor"]["dtype"])
                vals.append(loss_of(spec, forward(kernel, spec, {i: flat.reshape(shape)}))[0])
            ests.append(((vals[0] - vals[1]) / (2.0 * h), h))
        samples.append({"arg": i, "index": j, "ad": float(ad[i][j]), "fd": ests[0][0], "fd_half": ests[1][0],
                        "h": ests[0][1]})
    grad_inputs = []
    for i in float_inputs:
        t = spec["args"][i]["tensor"]
        grad_inputs.append({"name": t["name"], "dtype": t["dtype"], "shape": t["shape"], "values": ad[i].tolist()})
    finite = all(np.all(np.isfinite(g["values"])) for g in grad_inputs)
    return {"status": "computed" if finite else "non_finite", "grad_inputs": grad_inputs if finite else [],
            "samples": samples, "loss_scale": scale}


def tensor_list(spec, outs):
    out = []
    for i in result_indices(spec):
        t = spec["args"][i]["tensor"]
        out.append({"name": t["name"], "dtype": t["dtype"], "shape": t["shape"],
                    "values": outs[i].astype(np.float64).ravel().tolist()})
    return out


batch_counter = 0


def compare_cuda(kernel, spec, cpu_outs, run):
    """Launches forward (and backward, if the CPU gradient was computed) on CUDA and compares with the CPU."""
    gpu = forward(kernel, spec, device="cuda")
    same = all(np.allclose(gpu[i].astype(np.float64), cpu_outs[i].astype(np.float64), rtol=1e-4, atol=1e-5)
               for i in cpu_outs)
    run["cuda_forward"] = "passed" if same else "failed"
    g = run.get("gradient") or {}
    if g.get("status") == "computed":
        float_inputs = [i for i, a in enumerate(spec["args"]) if a["role"] == "input" and a["tensor"]["dtype"] != "int32"]
        ad_gpu = adjoints(kernel, spec, float_inputs, "cuda")
        ad_cpu = {t["name"]: np.array(t["values"]) for t in g["grad_inputs"]}
        ok = all(np.allclose(ad_gpu[i], ad_cpu[spec["args"][i]["tensor"]["name"]], rtol=1e-3, atol=1e-4)
                 for i in float_inputs)
        run["cuda_backward"] = "passed" if ok else "failed"


def run_batch(items, want_ptx):
    """Compiles the checked kernels of a batch as one module and runs each; fills item["run"]."""
    global batch_counter
    checked = [(k, it) for k, it in enumerate(items) if it.get("check") and it["result"].get("ok")]
    if not checked:
        return
    batch_counter += 1
    mod_name = f"warpsmith_b{os.getpid()}_{batch_counter}"
    parts = ["import warp as wp\n"]
    for k, it in checked:
        body = it["source"].split("\n", 1)[1]
        # each kernel's @wp.func helpers get the kernel's prefix too: two kernels of a batch may both define
        # a helper `blend`, and a module keeps only the last definition of a name and signature
        for helper in re.findall(r"^@wp\.func\ndef (\w+)\(", body, flags=re.M):
            body = re.sub(r"(?<![\w.])" + re.escape(helper) + r"\(", f"wsk{k}_{helper}(", body)
        # and its @wp.struct classes (named in annotations `cfg: Params`)
        for cls in re.findall(r"^@wp\.struct\nclass (\w+):", body, flags=re.M):
            body = re.sub(r"(?<![\w.])" + re.escape(cls) + r"(?!\w)", f"wsk{k}_{cls}", body)
        parts.append(re.sub(r"^def " + re.escape(it["name"]) + r"\(", f"def wsk{k}_{it['name']}(", body, count=1, flags=re.M))
    path = os.path.join(workdir, mod_name + ".py")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(parts))
    try:
        fresh_function_counts()
        spec_ = importlib.util.spec_from_file_location(mod_name, path)
        module = importlib.util.module_from_spec(spec_)
        spec_.loader.exec_module(module)
        kernels = {k: getattr(module, f"wsk{k}_{it['name']}") for k, it in checked}
        kernels[checked[0][0]].module.load(wp.get_device("cpu"), block_dim=1)
    except Exception as e:
        for _, it in checked:
            it["result"]["run"] = {"ok": False, "error": f"CPU compile: {type(e).__name__}: {e}",
                                   "traceback": traceback.format_exc()}
        return
    ptx_ok, ptx_error = None, ""
    if want_ptx:
        try:
            wp.compile_aot_module(kernels[checked[0][0]].module, arch=80, module_dir=tempfile.mkdtemp(dir=workdir),
                                  use_ptx=True)
            ptx_ok = True
        except Exception as e:
            ptx_ok, ptx_error = False, f"{type(e).__name__}: {e}"
    for k, it in checked:
        spec = it["check"]
        kernel = kernels[k]
        try:
            first = forward(kernel, spec)
            second = forward(kernel, spec)
            deterministic = all(first[i].tobytes() == second[i].tobytes() for i in first)
            problem = output_problem(spec, first)
            run = {"ok": True, "deterministic": deterministic, "problem": problem,
                   "outputs": [] if problem == "non_finite" else tensor_list(spec, first),
                   "ptx": ptx_ok, "ptx_error": ptx_error}
            if problem is None and spec.get("gradient", True):
                run["gradient"] = gradient(kernel, spec)
            if DEVICE == "cuda" and problem is None:
                compare_cuda(kernel, spec, first, run)
            it["result"]["run"] = run
        except Exception as e:
            it["result"]["run"] = {"ok": False, "error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()}


def process(req):
    items = req.get("items", [])
    for it in items:
        kept = []
        it["result"] = handle({"id": None, "name": it["name"], "source": it["source"]}, kept)
        it["result"].pop("id", None)
        if req.get("store_ptx") and it["result"].get("ok") and kept:
            # the record's own CUDA module through NVRTC, so the PTX belongs to exactly this cuda_module
            try:
                out = tempfile.mkdtemp(dir=workdir)
                wp.compile_aot_module(kept[0].module, arch=80, module_dir=out, use_ptx=True)
                ptx = [f for f in os.listdir(out) if f.endswith(".ptx")]
                with open(os.path.join(out, ptx[0]), encoding="utf-8") as f:
                    it["result"]["ptx_text"] = f.read()
            except Exception as e:
                it["result"]["ptx_text_error"] = f"{type(e).__name__}: {e}"
    run_batch(items, req.get("ptx", False))
    return {"id": req.get("id"), "ok": True, "items": [it["result"] for it in items]}


send({"type": "hello", "protocol": PROTOCOL, "warp_version": wp.config.version, "python": sys.version.split()[0]})

for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    try:
        req = json.loads(line)
    except json.JSONDecodeError as e:
        send({"id": None, "ok": False, "kind": "internal", "error": f"bad request line: {e}"})
        continue
    if req.get("op") == "shutdown":
        break
    op = req.get("op")
    if op == "process":
        send(process(req))
    else:
        send({"id": req.get("id"), "ok": False, "kind": "internal", "error": f"unknown op {op!r}"})
