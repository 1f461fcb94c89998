
# ---------------------------------------------------------------- constant sensitivity (issue 19)
# Does every float literal of a kernel matter to its outputs? Asked for by `generate --reject-dead-constants`:
# an evaluation split whose every constant matters is one where a completion with a wrong constant fails.


def lifted_source(body, kname):
    """Python source of `kname`'s lifted twin in the module text `body`, and the values it lifted; None when the
    kernel reads no float literal. Every float literal of the kernel's own body (not its @wp.func helpers, not
    inside `wp.static(...)`, which Warp evaluates while building the module) becomes a read `ws_constants[i]`
    of a last argument `ws_constants: wp.array(dtype=wp.float32)`. Warp types a float literal `float32` (the
    records' functions declare each as `const wp::float32`), so the twin type-checks as the kernel does and,
    given the literals' own values, computes bitwise the same outputs. Never stored in a record."""
    tree = ast.parse(body)
    fn = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == kname), None)
    if fn is None:
        return None
    values = []

    class Lift(ast.NodeTransformer):
        def visit_Call(self, node):
            f = node.func
            if isinstance(f, ast.Attribute) and f.attr == "static" and isinstance(f.value, ast.Name) and f.value.id == "wp":
                return node
            return self.generic_visit(node)

        def visit_Constant(self, node):
            if type(node.value) is not float:
                return node
            values.append(node.value)
            return ast.Subscript(value=ast.Name(id="ws_constants", ctx=ast.Load()),
                                 slice=ast.Constant(value=len(values) - 1), ctx=ast.Load())

    fn.body = [Lift().visit(s) for s in fn.body]
    if not values:
        return None
    fn.args.args.append(ast.arg(arg="ws_constants", annotation=ast.parse("wp.array(dtype=wp.float32)", mode="eval").body))
    fn.name = f"{kname}__lifted"
    return ast.unparse(ast.fix_missing_locations(fn)), values


def perturbations(v):
    """Two other values for a literal `v`, one each side: `v + d` and `v - d` with `d = 0.5 + |v| / 2` (at least
    0.5, half the magnitude beyond it), rounded to float32. Not the evaluation's own change of a constant
    (issue 19 measures `-2v - 1.5`), so the check is not fitted to that measurement."""
    d = 0.5 + abs(v) / 2
    return [float(np.float32(v + d)), float(np.float32(v - d))]


def lifted_forward(lifted, spec, values):
    return forward(lifted, spec, extra=[wp.array(np.array(values, dtype=np.float32), dtype=wp.float32, device="cpu")])


# issue 19's evaluation tolerance (warpsmith-eval `FORWARD_TOLERANCE`): outputs within it are the same answer
CONSTANT_RTOL, CONSTANT_ATOL = 1e-5, 1e-6


def close(a, b, exact):
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    if exact:
        return np.array_equal(a, b, equal_nan=True)
    fin = np.isfinite(b)
    same = np.where(fin, np.abs(a - b) <= CONSTANT_ATOL + CONSTANT_RTOL * np.abs(b), (a == b) | (np.isnan(a) & np.isnan(b)))
    return bool(np.all(same))


def dead_constants(lifted, spec, base, values):
    """The indices of the float literals (in `lifted_source`'s order) whose change leaves every output within the
    evaluation's tolerance of `base` for at least one of `perturbations`: a literal the outputs do not depend on,
    on these inputs. A changed constant in such a place is an answer no execution check can fail. Raises
    LookupError when the twin with the literals' own values does not give `base` bitwise."""
    results = result_indices(spec)
    again = lifted_forward(lifted, spec, values)
    if any(again[i].tobytes() != base[i].tobytes() for i in results):
        raise LookupError("the lifted twin with the kernel's own literals gave other outputs than the kernel")
    exact = {i: spec["args"][i]["tensor"]["dtype"] == "int32" for i in results}
    dead = []
    for j, v in enumerate(values):
        for w in perturbations(v):
            changed = list(values)
            changed[j] = w
            outs = lifted_forward(lifted, spec, changed)
            if all(close(outs[i], base[i], exact[i]) for i in results):
                dead.append(j)
                break
    return dead


def constant_problem(run, lifted, spec, first, lift_error):
    """The constant-sensitivity check of one kernel that passed the other forward checks: fills `run`'s
    `constants` ({"literals": n, "dead": [index, ...]} or {"error": why}) and sets `run["problem"]` to
    `dead_constant` when some float literal is dead (`dead_constants`) or when the check could not run (a kernel
    this check cannot vouch for is not kept under it). Returns the problem."""
    if lifted is None and lift_error is None:
        run["constants"] = {"literals": 0, "dead": []}
        return None
    try:
        if lift_error is not None:
            raise LookupError(f"the lifted twins did not build: {lift_error}")
        kernel, values = lifted
        dead = dead_constants(kernel, spec, first, values)
        run["constants"] = {"literals": len(values), "dead": dead}
    except Exception as e:
        run["constants"] = {"error": f"{type(e).__name__}: {e}"}
        dead = True
    if dead:
        run["problem"] = "dead_constant"
        return "dead_constant"
    return None
