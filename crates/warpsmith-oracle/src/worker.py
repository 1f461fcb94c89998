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
                                    "fd_samples", "gradient", "full_ptx"}}
  response {"id": N, "ok": true, "items": [RESULT, ...], "times": {STAGE: seconds}}, RESULT in item order:
           {"ok": true, "cpu_module": ..., "cuda_module": ...}
        or {"ok": false, "kind": "import"|"codegen"|"internal", "error": "...", "traceback": "..."}
           plus
           "run": null | {"ok", "error", "outputs", "deterministic", "problem", "gradient",
                          "ptx" ("passed" | "front_end_passed" | "failed", absent when not asked), "ptx_error"},
           and with store_ptx "ptx_text" (the item's own CUDA module through NVRTC) or "ptx_text_error"
  request  {"id": N, "op": "eval", ...}  (`warpsmith eval`; fields and answer in worker_eval.py)
  request  {"op": "shutdown"}  -> the worker exits 0

Every private Warp call is in the PRIVATE API section below; nothing else touches warp._src.

The script is three files joined in this order (warpsmith-oracle's WORKER_PY): worker.py, worker_eval.py and
worker_main.py (the protocol loop).
"""

import ast
import atexit
import importlib.util
import json
import re
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
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

# A Python signal handler runs only when the main thread returns to the interpreter: inside a long Warp call
# (an LLVM compile, a kernel launch) the SIGTERM of PR_SET_PDEATHSIG waits, and an orphaned worker was seen
# computing for two minutes after its supervisor died. Warp calls its native library through ctypes, which
# releases the GIL, so this thread notices the parent's death within half a second whatever the main thread does.
_PARENT = os.getppid()


def _watch_parent():
    while True:
        time.sleep(0.5)
        if os.getppid() != _PARENT:
            _remove_workdir()
            os._exit(143)


threading.Thread(target=_watch_parent, name="warpsmith-parent-watch", daemon=True).start()

# ---------------------------------------------------------------- keep the real stdout for the protocol
_proto = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
os.dup2(2, 1)
sys.stdout = sys.stderr


def send(obj):
    _proto.write(json.dumps(obj) + "\n")
    _proto.flush()


expected = os.environ.get("WARPSMITH_WARP_VERSION", "")

# Warp's code generation iterates over sets of names (a loop's carried variables): a module's text depends on
# the string hash seed, so every worker runs under the one warpsmith fixes (warpsmith-oracle PYTHON_HASH_SEED)
if os.environ.get("PYTHONHASHSEED") != "0":
    send({"type": "fatal", "error": "the worker needs PYTHONHASHSEED=0 (module text depends on Python's hash "
          f"seed), got {os.environ.get('PYTHONHASHSEED')!r}"})
    sys.exit(3)

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
# `warpsmith eval` starts one short-lived worker per completion; building Warp's CPU precompiled header takes
# about 4 s of a 5 s first compile, so its processes share one directory for it, written by the first (trusted)
# reference worker and read-only inside the sandbox. PRIVATE API: Runtime._get_or_create_pch_dir
# (warp/_src/context.py, 1.19.0), which otherwise gives each runtime a fresh temporary directory.
if os.environ.get("WARPSMITH_PCH_DIR"):
    import warp._src.context as _pch_ctx
    _pch_ctx.runtime._get_or_create_pch_dir = lambda: os.environ["WARPSMITH_PCH_DIR"]
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


# ---------------------------------------------------------------- NVRTC, called directly
# Warp 1.19.0 links NVRTC 13.4 statically and offers no way to add an option to its compile. The CUDA module
# check calls the same NVRTC from the pinned `nvidia-cuda-nvrtc` wheel with Warp's own option list (below), so
# it can ask for the front end only (`-fdevice-syntax-only`, about 0.15x of a full compile) and compile exactly
# the text a record stores. A full compile this way gives the same PTX bytes as `wp.compile_aot_module` (tested
# in end_to_end.rs). The worker refuses to start when this NVRTC's version is not the one inside Warp.
import ctypes

NVRTC_WHEEL = os.environ.get("WARPSMITH_NVRTC_WHEEL", "nvidia-cuda-nvrtc==13.4.92")


def warp_nvrtc_version():
    """(major, minor) of the NVRTC inside Warp (PRIVATE API: warp._src.context.runtime)."""
    import warp._src.context as ctx
    return tuple(ctx.runtime.get_nvrtc_version() or ())


def nvrtc_options(arch, front_end):
    """The options Warp 1.19.0 passes to nvrtcCompileProgram for a PTX compile of a module (release mode, default
    module options: no fast math, fused multiply-add on, optimisation level 3, precompiled headers on, no line
    info), in its order. Mirrors `wp_cuda_compile_program` and `append_common_nvrtc_compile_options` in
    warp/native/warp.cu (PRIVATE: shipped in the wheel). `front_end` adds `-fdevice-syntax-only`: parsing,
    semantic analysis and template instantiation, no NVVM and no PTX."""
    opts = [f"--gpu-architecture=compute_{arch}", "--include-path=" + os.path.join(os.path.dirname(wp.__file__), "native"),
            "-pch", "--std=c++17", "--Ofast-compile=0", "--define-macro=NDEBUG", "--undefine-macro=WP_VERIFY_FP",
            "--define-macro=WP_ENABLE_MATHDX=1", "--fmad=true", "--device-as-default-execution-space",
            "--extra-device-vectorization", "--restrict", "--diag-suppress=177,550"]
    return opts + (["-fdevice-syntax-only"] if front_end else [])


class Nvrtc:
    """libnvrtc.so.13 of the `nvidia-cuda-nvrtc` wheel in this interpreter's environment."""

    def __init__(self):
        import importlib.util as iu
        spec = iu.find_spec("nvidia")
        roots = list(spec.submodule_search_locations) if spec and spec.submodule_search_locations else []
        paths = [os.path.join(r, "cu13", "lib", "libnvrtc.so.13") for r in roots]
        path = next((p for p in paths if os.path.isfile(p)), None)
        if path is None:
            raise RuntimeError(f"no libnvrtc.so.13 in this environment (looked in {paths or 'no nvidia package'}); "
                               f"run `warpsmith setup` or install {NVRTC_WHEEL}")
        self.lib = ctypes.CDLL(path)
        major, minor = ctypes.c_int(), ctypes.c_int()
        self.lib.nvrtcVersion(ctypes.byref(major), ctypes.byref(minor))
        self.version = (major.value, minor.value)
        self.path = path

    def compile(self, source, name, arch=80, front_end=False):
        """(ok, log, ptx text or None) for the CUDA translation unit `source`."""
        lib = self.lib
        prog = ctypes.c_void_p()
        err = lib.nvrtcCreateProgram(ctypes.byref(prog), source.encode("utf-8"), name.encode("utf-8"), 0, None, None)
        if err != 0:
            return False, f"nvrtcCreateProgram returned {err}", None
        try:
            opts = [o.encode("utf-8") for o in nvrtc_options(arch, front_end)]
            err = lib.nvrtcCompileProgram(prog, len(opts), (ctypes.c_char_p * len(opts))(*opts))
            size = ctypes.c_size_t()
            lib.nvrtcGetProgramLogSize(prog, ctypes.byref(size))
            log = ctypes.create_string_buffer(size.value)
            lib.nvrtcGetProgramLog(prog, log)
            log = log.value.decode("utf-8", errors="replace")
            if err != 0:
                return False, f"NVRTC error {err}: {log.strip()[-4000:]}", None
            if front_end:
                return True, log, None
            lib.nvrtcGetPTXSize(prog, ctypes.byref(size))
            buf = ctypes.create_string_buffer(size.value)
            lib.nvrtcGetPTX(prog, buf)
            return True, log, buf.value.decode("utf-8")
        finally:
            lib.nvrtcDestroyProgram(ctypes.byref(prog))


_nvrtc = None


def ptx_program_name(kernel_name):
    """The NVRTC program name of a record's CUDA module: `wp_<kernel name>.cu`. NVRTC writes it into the mangled
    names of internal-linkage globals (`_ZN<n>_INTERNAL_00000000_<len>_wp_<name>_cu_<hash>...`), where Warp's own
    compile writes `wp_<python module>_<module hash>`; a fixed name keeps the PTX a function of the record alone."""
    return f"wp_{kernel_name}.cu"


def nvrtc():
    """The loaded NVRTC (loaded on first use; raises with what to install when it is missing)."""
    global _nvrtc
    if _nvrtc is None:
        n = Nvrtc()
        if n.version != warp_nvrtc_version():
            raise RuntimeError(f"{n.path} is NVRTC {n.version[0]}.{n.version[1]} but Warp {wp.config.version} has "
                               f"{'.'.join(map(str, warp_nvrtc_version()))}; install {NVRTC_WHEEL}")
        _nvrtc = n
    return _nvrtc


if os.environ.get("WARPSMITH_NVRTC") == "1":  # the run checks CUDA modules: a missing NVRTC stops it at once
    try:
        nvrtc()
    except Exception as e:
        send({"type": "fatal", "error": f"NVRTC for the CUDA module check: {e}"})
        sys.exit(3)


# ---------------------------------------------------------------- stage times
# CPU seconds of this process (all its threads: LLVM and NVRTC run in it) spent in each stage of the current
# request, returned in its response as "times" for `warpsmith bench` and the run summary; CPU time, so that
# processes sharing the cores do not inflate it. Never part of a record.
TIMES = {}


class timed:
    """`with timed("stage"):` adds the block's CPU seconds to TIMES["stage"]."""

    def __init__(self, stage):
        self.stage = stage

    def __enter__(self):
        self.t0 = time.process_time()

    def __exit__(self, *_exc):
        TIMES[self.stage] = TIMES.get(self.stage, 0.0) + time.process_time() - self.t0
        return False


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


def handle(req):
    rid = req.get("id")
    try:
        kernel = load_kernel(req["name"], req["source"])
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


def field_sizes(stype):
    """(is_int, number of values) of each field of a @wp.struct, in declaration order."""
    return [(var.type is wp.int32, 1 if var.type in (wp.int32, wp.float32) else var.type._length_)
            for var in stype.vars.values()]


def struct_value(stype, values):
    """An instance of the @wp.struct `stype` (a kernel argument's type) from its fields' values flattened in
    declaration order (see `field_sizes`), as the launch spec gives them."""
    inst = stype()
    at = 0
    for (name, var), (is_int, n) in zip(stype.vars.items(), field_sizes(stype)):
        part = values[at:at + n]
        at += n
        if is_int:
            setattr(inst, name, int(part[0]))
        elif var.type is wp.float32:
            setattr(inst, name, float(part[0]))
        else:  # a vector type: its components in order
            setattr(inst, name, var.type(*[float(v) for v in part]))
    return inst


def scene_parts(t):
    """The parts of a scene tensor's values that are its data, as (start, count, is_int): a mesh's points and
    velocities, a hash grid's points, a BVH's lower corners, a volume's voxels (warpsmith_ast::launch::Tensor
    gives the layout); the rest is structure (a mesh's faces) and parameters (cell and voxel sizes)."""
    dtype, shape = t["dtype"], t["shape"]
    if dtype == "mesh":
        p, f = shape
        return [(0, 3 * p, False), (3 * p + 3 * f, 3 * p, False)]
    if dtype == "hash_grid":
        return [(0, 3 * shape[0], False)]
    if dtype == "bvh":
        return [(0, 3 * shape[0], False)]
    cells = int(np.prod(shape)) * (3 if dtype == "volume_v" else 1)
    return [(0, cells, dtype == "volume_i")]


def groups(n, device):
    """The groups of a mesh's faces or a BVH's boxes: element j in group j % 2 (warpsmith_ast::launch::Tensor)."""
    return wp.array(np.arange(n, dtype=np.int32) % 2, dtype=wp.int32, device=device)


def build_scene(t, device):
    """The scene object of a scene tensor (layout in warpsmith_ast::launch::Tensor), on `device`."""
    dtype, shape, v = t["dtype"], t["shape"], np.array(t["values"], dtype=np.float64)
    vec3 = lambda x: wp.array(x.reshape(-1, 3).astype(np.float32), dtype=wp.vec3, device=device)
    if dtype == "mesh":
        p, f = shape
        points, faces, vels = v[:3 * p], v[3 * p:3 * p + 3 * f], v[3 * p + 3 * f:]
        return wp.Mesh(points=vec3(points), indices=wp.array(faces.astype(np.int32), dtype=wp.int32, device=device),
                       velocities=vec3(vels), support_winding_number=True, groups=groups(f, device))
    if dtype == "hash_grid":
        n = shape[0]
        cell, dims = float(v[3 * n]), [int(d) for d in v[3 * n + 1:3 * n + 4]]
        grid = wp.HashGrid(dims[0], dims[1], dims[2], device=device)
        grid.build(vec3(v[:3 * n]), cell)
        return grid
    if dtype == "bvh":
        n = 3 * shape[0]
        lo, hi = v[:n], v[n:2 * n]
        # a redrawn lower corner (the dead-input check) may pass its upper one: the box is the two corners' hull
        return wp.Bvh(vec3(np.minimum(lo, hi)), vec3(np.maximum(lo, hi)), groups=groups(shape[0], device))
    cells = int(np.prod(shape))
    comps = 3 if dtype == "volume_v" else 1
    grid = v[:cells * comps].reshape(tuple(shape) + ((3,) if comps == 3 else ()))
    size = float(v[cells * comps])
    if dtype == "volume_i":
        return wp.Volume.load_from_numpy(grid.astype(np.int32), min_world=(0.0, 0.0, 0.0), voxel_size=size,
                                         bg_value=0, device=device)
    bg = (0.0, 0.0, 0.0) if comps == 3 else 0.0
    return wp.Volume.load_from_numpy(grid.astype(np.float32), min_world=(0.0, 0.0, 0.0), voxel_size=size,
                                     bg_value=bg, device=device)


def build_args(kernel, spec, overrides=None, requires_grad=False, device="cpu"):
    """Launch arguments; returns (args, {index: array or scene object}) for the arrays a caller reads back (a
    scene object is kept there so that it outlives the launch)."""
    args, arrays = [], {}
    for i, a in enumerate(spec["args"]):
        t, role = a["tensor"], a["role"]
        if role == "scene":
            scene = build_scene(t, device)
            arrays[i] = scene
            args.append(scene.id)
            continue
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


def forward(kernel, spec, overrides=None, device="cpu", extra=()):
    """One launch on the spec's arguments (inputs in `overrides` replaced), then `extra` appended (a lifted twin's
    constants); the result arrays by argument index."""
    args, arrays = build_args(kernel, spec, overrides, device=device)
    args.extend(extra)
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


def value_components(kernel, spec, i):
    """Positions of the float components in by-value argument `i`'s flattened values: [0] for a float scalar, the
    float fields' components for a @wp.struct, none for an integer or anything that is not a by-value argument."""
    a = spec["args"][i]
    if a["role"] != "value":
        return []
    if a["tensor"]["dtype"] == "float32":
        return [0]
    if a["tensor"]["dtype"] != "struct":
        return []
    out, at = [], 0
    for is_int, n in field_sizes(kernel.adj.args[i].type):
        if not is_int:
            out += range(at, at + n)
        at += n
    return out


def adjoints(kernel, spec, float_inputs, device, twin=None, value_inputs=()):
    """Input adjoints from wp.Tape with the spec's seeded output adjoints, on `device`: {arg index: flat float64
    adjoints}. Warp passes by-value arguments to the backward by value, so their adjoints never come back; with
    `twin` (the kernel with each of `value_inputs` read from a one-element array, see `twin_source`) the launch is
    the twin's and those arguments' adjoints come back too, flattened as the spec flattens their values."""
    args, arrays = build_args(kernel, spec, requires_grad=True, device=device)
    for i in value_inputs:
        if spec["args"][i]["tensor"]["dtype"] == "struct":
            arrays[i] = wp.array([args[i]], dtype=kernel.adj.args[i].type, device=device, requires_grad=True)
        else:
            arrays[i] = wp.array(np.array([args[i]], dtype=np.float32), dtype=wp.float32, device=device,
                                 requires_grad=True)
        args[i] = arrays[i]
    tape = wp.Tape()
    with tape:
        launch(twin or kernel, spec, args, device)
    seeds = {g["name"]: g for g in spec["grad_outputs"]}
    grads = {}
    for i in result_indices(spec):
        t = spec["args"][i]["tensor"]
        if t["name"] in seeds:
            shape = tuple(t["shape"]) + comp_shape(t["dtype"])
            grads[arrays[i]] = wp.array(np.array(seeds[t["name"]]["values"], dtype=np.float32).reshape(shape),
                                        dtype=DTYPES[t["dtype"]], device=device)
    tape.backward(grads=grads)
    out = {i: arrays[i].grad.numpy().astype(np.float64).ravel() for i in float_inputs}
    for i in value_inputs:
        g = arrays[i].grad.numpy()
        if spec["args"][i]["tensor"]["dtype"] == "struct":
            # a structured array of one element: its fields in declaration order (integer fields come back 0)
            g = np.concatenate([np.asarray(g[name][0], dtype=np.float64).ravel() for name in g.dtype.names])
        out[i] = np.asarray(g, dtype=np.float64).ravel()
    return out


def fd_components(positions, cap, rng):
    """The input components that get finite differences, as (arg index, flat position): every one when there are
    at most `cap`, else a sample stratified over the inputs (`positions`: arg index -> its float positions; each
    input's share proportional to its size, at least one each), drawn uniformly within an input (so over an
    array's threads)."""
    pool = [(i, j) for i, ps in positions.items() for j in ps]
    if len(pool) <= cap:
        return pool
    total = len(pool)
    picks = []
    for i, ps in positions.items():
        k = min(len(ps), max(1, round(cap * len(ps) / total)))
        picks += [(i, ps[int(j)]) for j in sorted(rng.choice(len(ps), size=k, replace=False).tolist())]
    return picks


def gradient(kernel, spec, twin=None):
    """Warp's input adjoints against central finite differences of L = sum(grad_outputs * outputs), per input
    component (see `fd_components`), at steps h and h/2. Each estimate carries the local rounding scale
    `sum(|seed| * |out|)` over the outputs the perturbation changed (halved over the + and - launches): outputs it
    does not change cancel exactly, so the noise bound the verdict draws from it is that of this component alone.

    Float input arrays and, through `twin` (see `twin_source`), by-value float scalars and struct fields are
    checked; `grad_inputs` holds the arrays' adjoints only (what Warp's tape gives a user of the kernel)."""
    float_inputs = [i for i, a in enumerate(spec["args"]) if a["role"] == "input" and a["tensor"]["dtype"] != "int32"]
    value_inputs = [i for i in range(len(spec["args"])) if value_components(kernel, spec, i)] if twin else []
    if not (float_inputs or value_inputs) or not spec["grad_outputs"]:
        return {"status": "not_differentiable"}
    ad = adjoints(kernel, spec, float_inputs, "cpu")
    if value_inputs:
        ad.update({i: g for i, g in adjoints(kernel, spec, [], "cpu", twin, value_inputs).items() if i in value_inputs})
    # one set of arrays for every finite-difference launch: inputs perturbed in place through their NumPy views
    # (CPU arrays share memory with them), results zeroed before each launch; a by-value argument is rebuilt
    args, arrays = build_args(kernel, spec)
    views = {i: arrays[i].numpy().reshape(-1) for i in float_inputs}
    values = {i: [float(v) for v in spec["args"][i]["tensor"]["values"]] for i in value_inputs}
    names = {g["name"]: np.array(g["values"], dtype=np.float64) for g in spec["grad_outputs"]}
    seeded = [(i, names[spec["args"][i]["tensor"]["name"]]) for i in result_indices(spec)
              if spec["args"][i]["tensor"]["name"] in names]
    results = result_indices(spec)

    def run():
        for r in results:
            arrays[r].zero_()
        launch(kernel, spec, args, "cpu")
        return [arrays[r].numpy().astype(np.float64).reshape(-1) for r, _ in seeded]

    def put(i, j, x):
        if i in views:
            views[i][j] = x
            return
        values[i][j] = float(x)
        if spec["args"][i]["tensor"]["dtype"] == "struct":
            args[i] = struct_value(kernel.adj.args[i].type, values[i])
        else:
            args[i] = float(x)

    def estimate(i, j, x0, h):
        xp, xm = np.float32(x0 + h), np.float32(x0 - h)
        put(i, j, xp)
        op = run()
        put(i, j, xm)
        om = run()
        put(i, j, x0)
        diff = sum(float(np.dot(w, p - m)) for (_, w), p, m in zip(seeded, op, om))
        scale = sum(float(np.dot(np.abs(w), np.where(p != m, np.abs(p) + np.abs(m), 0.0)))
                    for (_, w), p, m in zip(seeded, op, om)) / 2.0
        step = float(xp) - float(xm)  # the float32 step actually taken
        return (diff / step if step != 0.0 else float("nan")), step / 2.0, scale

    # the rounding scale of the whole loss at the unperturbed inputs, for perturbations that change no output
    scale_all = sum(float(np.dot(np.abs(w), np.abs(o))) for (_, w), o in zip(seeded, run()))
    rng = np.random.default_rng(spec["fd_seed"])
    positions = {i: (list(range(views[i].size)) if i in views else value_components(kernel, spec, i))
                 for i in sorted(float_inputs + value_inputs)}
    samples = []
    for i, j in fd_components(positions, spec["fd_samples"], rng):
        x0 = np.float32(views[i][j] if i in views else values[i][j])
        h = 1e-2 * max(1.0, abs(float(x0)))
        fd, h1, s1 = estimate(i, j, x0, h)
        fd_half, h2, s2 = estimate(i, j, x0, h / 2.0)
        samples.append({"arg": i, "index": j, "ad": float(ad[i][j]), "fd": fd, "fd_half": fd_half, "h": h1,
                        "h_half": h2, "scale": s1, "scale_half": s2})
    grad_inputs = []
    for i in float_inputs:
        t = spec["args"][i]["tensor"]
        grad_inputs.append({"name": t["name"], "dtype": t["dtype"], "shape": t["shape"], "values": ad[i].tolist()})
    finite = all(np.all(np.isfinite(ad[i][positions[i]])) for i in positions)
    return {"status": "computed" if finite else "non_finite", "grad_inputs": grad_inputs if finite else [],
            "samples": samples, "components": sum(len(p) for p in positions.values()), "scale_all": scale_all}


def redraw(values, is_int, rng, attempt):
    """New values for one input, in its own range so that the kernel's domain holds (indices stay in bounds,
    square roots positive): floats uniform between the input's own minimum and maximum (a single value, or equal
    ones: scaled by a factor in [0.5, 1.5]); integers permuted on the first attempt, lowered by one where above 1
    on the second (a permutation-invariant use, such as a sum, still moves). `None` when the redraw equals the
    values."""
    v = np.array(values, dtype=np.float64)
    if v.size == 0:
        return None
    if is_int:
        w = rng.permutation(v) if attempt == 0 else np.where(v > 1, v - 1, v)
    else:
        lo, hi = float(v.min()), float(v.max())
        if lo < hi:
            w = rng.uniform(lo, hi, size=v.shape)
        else:
            w = v * rng.uniform(0.5, 1.5, size=v.shape)
        w = w.astype(np.float32).astype(np.float64)
    return None if np.array_equal(w, v) else w.tolist()


def liveness(kernel, spec, base):
    """`dead_input` if redrawing some input (an array, a by-value scalar, a struct field, a scene's data) twice leaves every
    output bitwise unchanged; `dead_output` if some output array changes under no input's redraw (checked when
    every input could be redrawn); else None. A dead input makes a record a poor training pair, and lets an
    evaluation on `test_outputs` be passed by outputs that ignore it."""
    rng = np.random.default_rng([spec.get("fd_seed", 0), 0x11FE])
    results = result_indices(spec)
    live = set()
    untestable = False
    for i, a in enumerate(spec["args"]):
        t = a["tensor"]
        if a["role"] not in ("input", "value", "scene"):
            continue
        # each part is one input to redraw: its spans (start, count, is_int) redrawn together
        if a["role"] == "scene":
            # a scene is one input: a mesh's velocities are part of the mesh whether the kernel reads them or not
            parts = [scene_parts(t)]
        elif t["dtype"] == "struct":
            parts, at = [], 0
            for is_int, n in field_sizes(kernel.adj.args[i].type):
                parts.append([(at, n, is_int)])
                at += n
        else:
            parts = [[(0, len(t["values"]), t["dtype"] == "int32")]]
        for spans in parts:
            changed = False
            tried = False
            for attempt in range(2):
                values = list(t["values"])
                for at, n, is_int in spans:
                    w = redraw(t["values"][at:at + n], is_int, rng, attempt)
                    if w is not None:
                        values[at:at + n] = w
                        tried = True
                if values == t["values"]:
                    continue
                spec2 = dict(spec)
                spec2["args"] = list(spec["args"])
                t2 = dict(t)
                t2["values"] = values
                spec2["args"][i] = {"role": a["role"], "tensor": t2}
                outs = forward(kernel, spec2)
                moved = [r for r in results if outs[r].tobytes() != base[r].tobytes()]
                live.update(moved)
                changed = changed or bool(moved)
            if not tried:
                untestable = True
            elif not changed:
                return "dead_input"
    if not untestable and any(r not in live for r in results):
        return "dead_output"
    return None


def tensor_list(spec, outs):
    out = []
    for i in result_indices(spec):
        t = spec["args"][i]["tensor"]
        out.append({"name": t["name"], "dtype": t["dtype"], "shape": t["shape"],
                    "values": outs[i].astype(np.float64).ravel().tolist()})
    return out


# by-value annotations that hold no float component (the rest are float scalars, vectors, matrices)
INT_ANNOTATIONS = {"int", "wp.int32", "wp.uint32", "wp.int64", "wp.uint64", "wp.int8", "wp.uint8", "bool"}


def twin_source(body, kname, spec):
    """Python source of `kname`'s gradient twin in the module text `body`, or None when the kernel has no
    by-value argument with a float component. The twin takes each such argument `x: T` as `x__twin:
    wp.array(dtype=T)` and starts with `x = x__twin[0]`; the rest of the kernel is the same text, so Warp builds
    the same adjoint of the body, and the twin's tape gives the adjoints that Warp computes for by-value arguments
    and then drops (a backward kernel takes its arguments' adjoints by value). Never stored in a record."""
    tree = ast.parse(body)
    fn = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == kname), None)
    if fn is None or len(fn.args.args) != len(spec["args"]):
        return None
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}

    def has_float(pos):
        a = spec["args"][pos]
        if a["role"] != "value":
            return False
        if a["tensor"]["dtype"] == "float32":
            return True
        if a["tensor"]["dtype"] != "struct":
            return False
        cls = classes.get(ast.get_source_segment(body, fn.args.args[pos].annotation))
        return cls is not None and any(ast.get_source_segment(body, f.annotation) not in INT_ANNOTATIONS
                                       for f in cls.body if isinstance(f, ast.AnnAssign))

    twinned = [pos for pos in range(len(spec["args"])) if has_float(pos)]
    if not twinned:
        return None
    params, reads = [], []
    for pos, arg in enumerate(fn.args.args):
        ann = ast.get_source_segment(body, arg.annotation)
        if pos in twinned:
            params.append(f"{arg.arg}__twin: wp.array(dtype={ann})")
            reads.append(f"    {arg.arg} = {arg.arg}__twin[0]\n")
        else:
            params.append(f"{arg.arg}: {ann}")
    lines = body.splitlines(keepends=True)
    decorators = "".join(f"@{ast.get_source_segment(body, d)}\n" for d in fn.decorator_list)
    body0 = fn.body[0]
    if (len(fn.body) > 1 and isinstance(body0, ast.Expr) and isinstance(body0.value, ast.Constant)
            and isinstance(body0.value.value, str)):
        body0 = fn.body[1]  # a docstring stays out: the reads must come first
    rest = "".join(lines[body0.lineno - 1:fn.end_lineno])
    return f"{decorators}def {kname}__twin({', '.join(params)}):\n{''.join(reads)}{rest}"


batch_counter = 0


def compare_cuda(kernel, full, spec, cpu_outs, run):
    """Launches forward (and backward, if the CPU gradient was computed, on the full build `full`) on CUDA and
    compares with the CPU."""
    gpu = forward(kernel, spec, device="cuda")
    same = all(np.allclose(gpu[i].astype(np.float64), cpu_outs[i].astype(np.float64), rtol=1e-4, atol=1e-5)
               for i in cpu_outs)
    run["cuda_forward"] = "passed" if same else "failed"
    g = run.get("gradient") or {}
    if g.get("status") == "computed" and full is not None:
        float_inputs = [i for i, a in enumerate(spec["args"]) if a["role"] == "input" and a["tensor"]["dtype"] != "int32"]
        ad_gpu = adjoints(full, spec, float_inputs, "cuda")
        ad_cpu = {t["name"]: np.array(t["values"]) for t in g["grad_inputs"]}
        ok = all(np.allclose(ad_gpu[i], ad_cpu[spec["args"][i]["tensor"]["name"]], rtol=1e-3, atol=1e-4)
                 for i in float_inputs)
        run["cuda_backward"] = "passed" if ok else "failed"


def batch_module(checked, forward_only, lift=False):
    """Imports the kernels of `checked` ([(k, item)]) as one module and compiles it for the CPU: {k: kernel},
    {k: gradient twin or None} and {k: (lifted twin, literal values) or None}. `forward_only` builds it with
    `enable_backward` off (no gradient twins): about a third of the compile, for the launches that need no
    adjoint. `lift` adds the lifted twins of the kernels whose check asks for `constants`. Raises what Warp
    raises."""
    global batch_counter
    batch_counter += 1
    mod_name = f"warpsmith_b{os.getpid()}_{batch_counter}"
    parts = ["import warp as wp\n"]
    literals = {}
    if forward_only:
        parts.append('wp.set_module_options({"enable_backward": False})\n')
    for k, it in checked:
        body = it["source"].split("\n", 1)[1]
        # each kernel's @wp.func helpers get the kernel's prefix too: two kernels of a batch may both define
        # a helper `blend`, and a module keeps only the last definition of a name and signature
        for helper in re.findall(r"^@wp\.func\ndef (\w+)\(", body, flags=re.M):
            # every reference: calls, and `@wp.func_grad(helper)` naming a custom adjoint's function
            body = re.sub(r"(?<![\w.])" + re.escape(helper) + r"(?!\w)", f"wsk{k}_{helper}", body)
        # and its @wp.struct classes (named in annotations `cfg: Params`)
        for cls in re.findall(r"^@wp\.struct\nclass (\w+):", body, flags=re.M):
            body = re.sub(r"(?<![\w.])" + re.escape(cls) + r"(?!\w)", f"wsk{k}_{cls}", body)
        body = re.sub(r"^def " + re.escape(it["name"]) + r"\(", f"def wsk{k}_{it['name']}(", body, count=1, flags=re.M)
        parts.append(body)
        if lift and it["check"].get("constants"):
            try:
                got = lifted_source(body, f"wsk{k}_{it['name']}")
            except SyntaxError:
                got = None  # the module's own import reports it
            if got:
                parts.append("\n\n" + got[0] + "\n")
                literals[k] = got[1]
        if not forward_only:
            try:
                twin = twin_source(body, f"wsk{k}_{it['name']}", it["check"])
            except SyntaxError:
                twin = None  # the module's own import reports it
            if twin:
                parts.append("\n\n" + twin)
    path = os.path.join(workdir, mod_name + ".py")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(parts))
    fresh_function_counts()
    with timed("batch_import"):
        spec_ = importlib.util.spec_from_file_location(mod_name, path)
        module = importlib.util.module_from_spec(spec_)
        spec_.loader.exec_module(module)
        kernels = {k: getattr(module, f"wsk{k}_{it['name']}") for k, it in checked}
        twins = {k: getattr(module, f"wsk{k}_{it['name']}__twin", None) for k, it in checked}
        lifted = {k: (getattr(module, f"wsk{k}_{it['name']}__lifted"), literals[k]) for k, it in checked if k in literals}
    with timed("cpu_compile_forward" if forward_only else "cpu_compile"):
        kernels[checked[0][0]].module.load(wp.get_device("cpu"), block_dim=1)
    return kernels, twins, lifted


def fail_all(checked, what, e):
    for _, it in checked:
        it["result"]["run"] = {"ok": False, "error": f"{what}: {type(e).__name__}: {e}",
                               "traceback": traceback.format_exc()}


def ptx_check(it, want_ptx):
    """NVRTC on the item's own `cuda_module` (the text the record stores): `passed` after a full compile to PTX
    (done for `--ptx`, where the PTX is kept, or when the request's `full_ptx` asks), `front_end_passed` after
    the front end alone, `failed` with NVRTC's log; None when not asked."""
    res, run = it["result"], it["result"]["run"]
    if not want_ptx:
        return
    if "ptx_text" in res:
        run["ptx"] = "passed"
        return
    if "ptx_text_error" in res:
        run["ptx"], run["ptx_error"] = "failed", res["ptx_text_error"]
        return
    full = bool(it["check"].get("full_ptx"))
    try:
        with timed("ptx" if full else "ptx_front_end"):
            ok, log, _ptx = nvrtc().compile(res["cuda_module"], ptx_program_name(it["name"]), front_end=not full)
    except Exception as e:
        ok, log = False, f"{type(e).__name__}: {e}"
    run["ptx"] = ("passed" if full else "front_end_passed") if ok else "failed"
    if not ok:
        run["ptx_error"] = log


def run_batch(items, want_ptx):
    """Runs the checked kernels of a batch; fills item["run"].

    Two CPU builds: every kernel in one forward-only module (the launches, determinism, the degenerate-output
    and liveness checks; the stored outputs), then the kernels that passed and want a gradient check in one
    module with their adjoints and gradient twins, whose forward must give bitwise the same outputs. Most
    rejected candidates never pay for an adjoint's compile. Then NVRTC on each passing kernel's CUDA module."""
    checked = [(k, it) for k, it in enumerate(items) if it.get("check") and it["result"].get("ok")]
    if not checked:
        return
    lifted, lift_error = {}, None
    try:
        if any(it["check"].get("constants") for _, it in checked):
            try:
                kernels, _, lifted = batch_module(checked, forward_only=True, lift=True)
            except Exception as e:
                # the lifted twins are the check's own construction: their failure must not fail the kernels
                lift_error = f"{type(e).__name__}: {e}"
                kernels, _, _ = batch_module(checked, forward_only=True)
        else:
            kernels, _, _ = batch_module(checked, forward_only=True)
    except Exception as e:
        fail_all(checked, "CPU compile", e)
        return
    firsts = {}
    for k, it in checked:
        spec = it["check"]
        kernel = kernels[k]
        try:
            with timed("launch"):
                first = forward(kernel, spec)
                second = forward(kernel, spec)
                deterministic = all(first[i].tobytes() == second[i].tobytes() for i in first)
                problem = output_problem(spec, first)
            with timed("liveness"):
                problem = problem or liveness(kernel, spec, first)
            it["result"]["run"] = {"ok": True, "deterministic": deterministic, "problem": problem,
                                   "outputs": [] if problem == "non_finite" else tensor_list(spec, first)}
            if problem is None and spec.get("constants"):
                with timed("constants"):
                    problem = constant_problem(it["result"]["run"], lifted.get(k), spec, first, lift_error)
            firsts[k] = first
        except Exception as e:
            it["result"]["run"] = {"ok": False, "error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()}
    passing = [(k, it) for k, it in checked if it["result"]["run"].get("ok") and it["result"]["run"]["problem"] is None]
    graded = [(k, it) for k, it in passing if it["check"].get("gradient", True)]
    full, twins = {}, {}
    if graded:
        try:
            full, twins, _ = batch_module(graded, forward_only=False)
        except Exception as e:
            fail_all(graded, "CPU compile with adjoints", e)
    for k, it in passing:
        spec, run = it["check"], it["result"]["run"]
        try:
            if k in full:
                with timed("launch"):
                    again = forward(full[k], spec)
                if any(again[i].tobytes() != firsts[k][i].tobytes() for i in again):
                    it["result"]["run"] = {"ok": False, "error": "the forward of Warp's build with adjoints gave other "
                                           "outputs than its forward-only build (bitwise)"}
                    continue
                with timed("gradient"):
                    run["gradient"] = gradient(full[k], spec, twins[k])
            if DEVICE == "cuda":
                with timed("cuda"):
                    compare_cuda(kernels[k], full.get(k), spec, firsts[k], run)
            ptx_check(it, want_ptx)
        except Exception as e:
            it["result"]["run"] = {"ok": False, "error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()}


def process(req):
    TIMES.clear()
    items = req.get("items", [])
    for it in items:
        with timed("codegen"):
            it["result"] = handle({"id": None, "name": it["name"], "source": it["source"]})
        it["result"].pop("id", None)
        if req.get("store_ptx") and it["result"].get("ok"):
            # the record's own cuda_module through NVRTC, so the PTX belongs to exactly this text
            try:
                with timed("ptx"):
                    ok, log, ptx = nvrtc().compile(it["result"]["cuda_module"], ptx_program_name(it["name"]))
                if ok:
                    it["result"]["ptx_text"] = ptx
                else:
                    it["result"]["ptx_text_error"] = log
            except Exception as e:
                it["result"]["ptx_text_error"] = f"{type(e).__name__}: {e}"
    run_batch(items, req.get("ptx", False))
    return {"id": req.get("id"), "ok": True, "items": [it["result"] for it in items], "times": dict(TIMES)}
