"""warpsmith's Warp oracle worker: JSON lines over stdin/stdout.

Started by the supervisor (warpsmith-oracle), one process per worker slot. The real stdout is kept for the
protocol only: file descriptor 1 is redirected to stderr before Warp is imported, so banners and C-level
prints cannot corrupt the stream.

Protocol (version 1):
  worker -> {"type": "hello", "protocol": 1, "warp_version": "...", "python": "..."}
         or {"type": "fatal", "error": "..."} and exit code 3 (e.g. a Warp version other than the pinned one)
  request  {"id": N, "op": "codegen", "name": KERNEL_NAME, "source": PYTHON_MODULE_TEXT}
  response {"id": N, "ok": true, "cpu_module": ..., "cuda_module": ...}
        or {"id": N, "ok": false, "kind": "import"|"codegen"|"internal", "error": "...", "traceback": "..."}
  request  {"op": "shutdown"}  -> the worker exits 0

Every private Warp call is in the PRIVATE API section below; nothing else touches warp._src.
"""

import importlib.util
import json
import os
import sys
import tempfile
import traceback

PROTOCOL = 1

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
    send({"type": "fatal", "error": f"cannot import warp: {type(e).__name__}: {e}"})
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
cache = os.environ.get("WARPSMITH_KERNEL_CACHE")
if cache:
    wp.config.kernel_cache_dir = cache
wp.init()


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
    return source


# ---------------------------------------------------------------- requests
workdir = tempfile.mkdtemp(prefix="warpsmith-worker-")
counter = 0


def load_kernel(name, source):
    global counter
    counter += 1
    mod_name = f"warpsmith_k{os.getpid()}_{counter}"
    path = os.path.join(workdir, mod_name + ".py")
    with open(path, "w", encoding="utf-8") as f:
        f.write(source)
    spec = importlib.util.spec_from_file_location(mod_name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
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
    if req.get("op") != "codegen":
        send({"id": req.get("id"), "ok": False, "kind": "internal", "error": f"unknown op {req.get('op')!r}"})
        continue
    send(handle(req))
