

# ---------------------------------------------------------------- evaluation (`warpsmith eval`)
# request  {"id": N, "op": "eval", "task": "python-to-cpp" | "python-to-cuda" | "python-to-adjoint",
#           "name": KERNEL_NAME, "source": PYTHON_MODULE_TEXT, "cpu_module", "cuda_module", "cpu_forward",
#           "cpu_backward", "target": THE_RECORD'S_ANSWER_FOR_THE_TASK, "completion": TEXT | null,
#           "specs": [SPEC, ...]}   (SPEC as a process item's "check": launch_dim, args, grad_outputs)
# response {"id": N, "ok": true, "compiled": bool, "stage": null | "setup" | "ptx" | "cpu_compile" | "run",
#           "error": null | "...", "ptx": null | "passed" | "failed",
#           "runs": [{"outputs": [TENSOR], "adjoints": [TENSOR]}, ...] (one per spec; adjoints for the adjoint task)}
#
# "completion": null asks for the reference: Warp's own CPU module, launched on each spec. Otherwise the
# completion replaces the task's function in the record's module, and the module is compiled by Warp's CPU
# compiler (clang inside warp) and launched in this process. A CUDA function (python-to-cuda's forward,
# python-to-adjoint's backward) runs on the host through a shim: its `__global__` is dropped, CUDA's thread
# coordinates become host variables that make the grid-stride loop run exactly once for the launch index, and
# the CPU kernel function calls it with the launch's arguments. The CUDA module with the completion is also
# compiled to PTX by NVRTC for python-to-cuda. The caller (warpsmith eval) compares the outputs with the
# reference; nothing here decides whether a completion is correct. `stage: "setup"` is the evaluator's own
# failure (the record's module text is not what this Warp emits), never the completion's.

EVAL_TASKS = ("python-to-cpp", "python-to-cuda", "python-to-adjoint")

# Macros of Warp's CUDA module that differ from the CPU module's (the `builtin_tid*` of the CUDA module's head),
# defined around a CUDA function that runs on the host.
HOST_SHIM_HEAD = """
// ---- warpsmith eval: a CUDA kernel function compiled for the host (see worker_eval.py)
namespace wp_eval_host { struct coord_t { size_t x, y, z; }; }
static wp_eval_host::coord_t blockDim, blockIdx, threadIdx, gridDim;
#pragma push_macro("builtin_tid1d")
#pragma push_macro("builtin_tid2d")
#pragma push_macro("builtin_tid3d")
#pragma push_macro("builtin_tid4d")
#undef builtin_tid1d
#undef builtin_tid2d
#undef builtin_tid3d
#undef builtin_tid4d
#define builtin_tid1d() wp::tid(_idx, dim)
#define builtin_tid2d(x, y) wp::tid(x, y, _idx, dim)
#define builtin_tid3d(x, y, z) wp::tid(x, y, z, _idx, dim)
#define builtin_tid4d(x, y, z, w) wp::tid(x, y, z, w, _idx, dim)
#define __global__
"""

HOST_SHIM_TAIL = """
#undef __global__
#pragma pop_macro("builtin_tid4d")
#pragma pop_macro("builtin_tid3d")
#pragma pop_macro("builtin_tid2d")
#pragma pop_macro("builtin_tid1d")
// ---- end of the CUDA kernel function
"""


class EvalSetupError(Exception):
    """The record and this Warp disagree: the evaluator's failure, not the completion's."""


def function_head(fn_text):
    """A C++ function definition's text up to its opening brace (its template line and signature)."""
    at = fn_text.find("\n{")
    if at < 0:
        raise EvalSetupError("a stored function has no body")
    return fn_text[:at]


def replace_once(text, old, new, what):
    n = text.count(old)
    if n != 1:
        raise EvalSetupError(f"the record's {what} occurs {n} times in its module")
    return text.replace(old, new)


def host_shim(completion, cpu_fn, kname, args, backward):
    """The CPU module text replacing `cpu_fn` (the record's CPU kernel function, forward or backward): the
    completion (a CUDA kernel function) compiled for the host, and a CPU kernel function of `cpu_fn`'s signature
    that runs it for one launch index."""
    cuda_name = re.search(r"static void (\w+)_cpu_kernel_(?:forward|backward)\(", cpu_fn)
    if not cuda_name:
        raise EvalSetupError("the stored CPU kernel function has no recognisable name")
    callee = f"{cuda_name.group(1)}_cuda_kernel_{'backward' if backward else 'forward'}"
    params = [f"_wp_args->{a}" for a in args]
    if backward:
        params += [f"_wp_adj_args->{a}" for a in args]
    call = f"    {callee}({', '.join(['dim'] + params)});\n"
    coords = ("    blockDim = {1, 1, 1};\n    blockIdx = {0, 0, 0};\n    threadIdx = {task_index, 0, 0};\n"
              "    gridDim = {dim.size, 1, 1};\n")
    return f"{HOST_SHIM_HEAD}{completion}\n{HOST_SHIM_TAIL}{function_head(cpu_fn)}\n{{\n{coords}{call}}}"


def eval_cpu_module(req, kernel):
    """The CPU module to compile: the record's, with the task's function replaced by the completion (or kept,
    for the reference), and for the forward tasks the backward emptied (never launched; a third of the
    compile)."""
    task, cpu, completion = req["task"], req["cpu_module"], req.get("completion")
    fwd, bwd = req["cpu_forward"], req["cpu_backward"]
    args = [a.label for a in kernel.adj.args]
    if task != "python-to-adjoint":
        cpu = replace_once(cpu, bwd, function_head(bwd) + "\n{\n}", "cpu_backward")
        if completion is not None:
            new = completion if task == "python-to-cpp" else host_shim(completion, fwd, kernel.key, args, False)
            cpu = replace_once(cpu, fwd, new, "cpu_forward")
    elif completion is not None:
        cpu = replace_once(cpu, bwd, host_shim(completion, bwd, kernel.key, args, True), "cpu_backward")
    return cpu


def evaluate(req):
    rid = req.get("id")
    out = {"id": rid, "ok": True, "compiled": False, "stage": None, "error": None, "ptx": None, "runs": []}

    def fail(stage, e):
        out.update(stage=stage, error=f"{type(e).__name__}: {e}"[:4000])
        return out

    task = req.get("task")
    if task not in EVAL_TASKS:
        return {"id": rid, "ok": False, "kind": "internal", "error": f"unknown eval task {task!r}"}
    try:
        kernel = load_kernel(req["name"], req["source"])
        emitted = module_source(kernel, True)
        if emitted != req["cpu_module"]:
            ours, stored = emitted.splitlines(), req["cpu_module"].splitlines()
            at = next((i for i, (x, y) in enumerate(zip(ours, stored)) if x != y), min(len(ours), len(stored)))
            raise EvalSetupError(
                f"Warp emits another cpu_module for this record's python than the record stores (line {at + 1}: "
                f"{(ours[at] if at < len(ours) else '<end>')!r}, stored {(stored[at] if at < len(stored) else '<end>')!r})")
        text = eval_cpu_module(req, kernel)
    except Exception as e:
        return fail("setup", e)
    completion = req.get("completion")
    if completion is not None and task == "python-to-cuda":
        try:
            cuda = replace_once(req["cuda_module"], req["target"], completion, "cuda_forward")
            ok, log, _ = nvrtc().compile(cuda, ptx_program_name(req["name"]))
        except EvalSetupError as e:
            return fail("setup", e)
        except Exception as e:
            ok, log = False, f"{type(e).__name__}: {e}"
        out["ptx"] = "passed" if ok else "failed"
        if not ok:
            return fail("ptx", RuntimeError(log))
    module = kernel.module
    original = module._run_codegen  # PRIVATE API: Module._run_codegen (warp/_src/context.py, 1.19.0)

    def substituted(options, is_cpu):
        source, ext, meta, ltoirs, fatbins = original(options, is_cpu)
        return (text if is_cpu else source), ext, meta, ltoirs, fatbins

    module._run_codegen = substituted
    try:
        module.load(wp.get_device("cpu"), block_dim=1)
    except Exception as e:
        return fail("cpu_compile", e)
    out["compiled"] = True
    try:
        for spec in req["specs"]:
            if task == "python-to-adjoint":
                float_inputs = [i for i, a in enumerate(spec["args"])
                                if a["role"] == "input" and a["tensor"]["dtype"] != "int32"]
                ad = adjoints(kernel, spec, float_inputs, "cpu")
                outs = forward(kernel, spec)
                grads = [{"name": spec["args"][i]["tensor"]["name"], "values": ad[i].tolist()} for i in float_inputs]
                out["runs"].append({"outputs": tensor_list(spec, outs), "adjoints": grads})
            else:
                out["runs"].append({"outputs": tensor_list(spec, forward(kernel, spec)), "adjoints": []})
    except Exception as e:
        return fail("run", e)
    return out
