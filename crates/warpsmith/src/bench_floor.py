"""Warp's own floor for each stage of warpsmith's pipeline, on given kernels: `warpsmith bench` runs it.

A minimal harness with nothing of warpsmith's in it: no protocol, no checks, no retries. Reads JSON lines
{"name", "python", "launch_dim", "test_inputs", "test_outputs",
"grad_outputs"} (a record's columns) from the file in argv[1],
batches them as warpsmith's worker does (argv[2] kernels per module), runs the stages named in argv[3]
(comma-separated; the ones the measured verification level has), and prints one JSON object of seconds per stage,
summed over the kernels:

  codegen       importing each kernel's module and Warp's code generation of its CPU and CUDA modules (the
                private calls the JIT makes: Module._run_codegen; warp/_src/context.py, 1.19.0)
  cpu_compile   Module.load on the CPU of each batch module, with adjoints (Warp's default build)
  launch_tape   per kernel with test data ("launched"): a forward launch on the record's inputs under wp.Tape
                and the backward pass
  nvrtc         wp.compile_aot_module(arch=80, use_ptx=True) of each batch module (Warp's own NVRTC, full PTX)

Runs in one process on one core; the caller compares its seconds with the pipeline's CPU seconds.
"""

import importlib.util
import json
import os
import re
import sys
import tempfile
import time
import types

import numpy as np
import warp as wp

wp.config.quiet = True
work = tempfile.mkdtemp(prefix="warpsmith-bench-floor-")
wp.config.kernel_cache_dir = os.path.join(work, "kernel-cache")
wp.init()
os.chdir(work)
sys.dont_write_bytecode = True

records = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8") if line.strip()]
batch = int(sys.argv[2])
stages = set(sys.argv[3].split(","))
times = {s: 0.0 for s in ("codegen", "cpu_compile", "launch_tape", "nvrtc") if s in stages}
launched = 0

# ---- code generation, one module per kernel
for n, r in enumerate(records if "codegen" in stages else []):
    t0 = time.perf_counter()
    path = f"{r['name']}.py"
    with open(path, "w", encoding="utf-8") as f:
        f.write(r["python"])
    mod = types.ModuleType(f"floor_k{n}")
    mod.__file__ = path
    exec(compile(r["python"], path, "exec"), mod.__dict__)
    module = getattr(mod, r["name"]).module
    for cpu in (True, False):
        block_dim = 1 if cpu else 256
        options = module.resolve_options(wp.config, block_dim=block_dim)
        module.get_module_hash(block_dim)
        module._run_codegen(options | {"output_arch": None if cpu else 80}, cpu)
    times["codegen"] += time.perf_counter() - t0


def batch_module(n, chunk):
    """The kernels of `chunk` in one module, each kernel's helpers and structs prefixed (names repeat across
    kernels)."""
    parts = ["import warp as wp\n"]
    for k, r in enumerate(chunk):
        body = r["python"].split("\n", 1)[1]
        for name in re.findall(r"^@wp\.func\ndef (\w+)\(", body, flags=re.M) + re.findall(
            r"^@wp\.struct\nclass (\w+):", body, flags=re.M
        ):
            body = re.sub(r"(?<![\w.])" + re.escape(name) + r"(?!\w)", f"fk{k}_{name}", body)
        body = re.sub(r"^def " + re.escape(r["name"]) + r"\(", f"def fk{k}_{r['name']}(", body, count=1, flags=re.M)
        parts.append(body)
    path = os.path.join(work, f"floor_b{n}.py")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(parts))
    spec = importlib.util.spec_from_file_location(f"floor_b{n}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return [getattr(mod, f"fk{k}_{r['name']}") for k, r in enumerate(chunk)]


def value_of(var_type, t):
    """A by-value argument from a record's tensor: a scalar, or a @wp.struct from its flattened fields."""
    if t["dtype"] == "int32":
        return int(t["values"][0])
    if t["dtype"] == "float32":
        return float(t["values"][0])
    inst, it = var_type(), iter(t["values"])
    for fname, var in var_type.vars.items():
        if var.type is wp.int32:
            setattr(inst, fname, int(next(it)))
        elif var.type is wp.float32:
            setattr(inst, fname, float(next(it)))
        else:
            setattr(inst, fname, var.type(*[float(next(it)) for _ in range(var.type._length_)]))
    return inst


def launch_tape(kernel, r):
    inputs = {t["name"]: t for t in r["test_inputs"]}
    seeds = {t["name"]: t for t in r["grad_outputs"]}
    shapes = {t["name"]: t["shape"] for t in r["test_outputs"]}
    args, outs = [], []
    for a in kernel.adj.args:
        t = inputs.get(a.label)
        if not isinstance(a.type, wp.array):
            args.append(value_of(a.type, t))
            continue
        dtype = a.type.dtype
        grad = dtype is not wp.int32
        if t is not None:
            data = np.array(t["values"], dtype=np.int32 if dtype is wp.int32 else np.float32)
            arr = wp.array(data.reshape(tuple(t["shape"]) + tuple(getattr(dtype, "_shape_", ()))), dtype=dtype,
                           requires_grad=grad)
        else:
            arr = wp.zeros(tuple(shapes[a.label]), dtype=dtype, requires_grad=grad)
            if a.label in seeds and grad:
                outs.append(arr)
        args.append(arr)
    tape = wp.Tape()
    with tape:
        wp.launch(kernel, dim=r["launch_dim"], inputs=args)
    tape.backward(grads={o: wp.ones_like(o) for o in outs})


for n in range(0, len(records) if stages & {"cpu_compile", "launch_tape", "nvrtc"} else 0, batch):
    chunk = records[n:n + batch]
    kernels = batch_module(n, chunk)
    if stages & {"cpu_compile", "launch_tape"}:
        t0 = time.perf_counter()
        kernels[0].module.load(wp.get_device("cpu"), block_dim=1)
        times["cpu_compile"] += time.perf_counter() - t0
    if "launch_tape" in stages:
        t0 = time.perf_counter()
        for kernel, r in zip(kernels, chunk):
            if r["launch_dim"]:  # records of `--verify codegen` have no test data
                launch_tape(kernel, r)
                launched += 1
        times["launch_tape"] += time.perf_counter() - t0
    if "nvrtc" in stages:
        t0 = time.perf_counter()
        wp.compile_aot_module(kernels[0].module, arch=80, module_dir=tempfile.mkdtemp(dir=work), use_ptx=True)
        times["nvrtc"] += time.perf_counter() - t0

sys.stdout.write(json.dumps({"kernels": len(records), "launched": launched, "batch": batch, "seconds": times}) + "\n")
