"""Dump Warp's builtin registry as warpsmith's builtin catalog (JSON on stdout).

Run by `warpsmith catalog`; the committed copy is crates/warpsmith-gen/data/builtins.json.
Reads the private registry `warp._src.context.builtin_functions` (Warp has no public listing of it).
"""
import json
import sys

import warp as wp
from warp._src import context

# Input domains of the builtins whose arguments are restricted: outside them Warp returns NaN, inf, or an
# unspecified value. The generator's range analysis keeps arguments inside these (DESIGN.md, "no undefined
# behaviour"). Sources: Warp's builtin docs and native headers (warp/native/builtin.h).
DOMAINS = {
    "sqrt": "x >= 0",
    "log": "x > 0",
    "log2": "x > 0",
    "log10": "x > 0",
    "acos": "-1 <= x <= 1",
    "asin": "-1 <= x <= 1",
    "div": "b != 0",
    "mod": "b != 0",
    "floordiv": "b != 0",
    "pow": "x > 0, or x = 0 with y > 0",
    "atan2": "(y, x) != (0, 0)",
    "tan": "x not near pi/2 + k*pi",
    "normalize": "length(a) > 0 (else returns zero)",
    "inverse": "determinant(a) != 0",
    "inverse_approx": "determinant(a) != 0",
    "div_approx": "b != 0",
    "rsqrt": "x > 0",
    "cbrt": "all x",
    "tile_cholesky": "a symmetric positive definite",
    "sample_cdf": "cdf non-decreasing",
}


def type_name(t):
    # a class has a name; an instance (a generic `tile`, an `array` template) is named by its class, so the
    # catalog never holds a memory address and is the same on every run
    return getattr(t, "__name__", None) or type(t).__name__


def signature(overload):
    try:
        args = ", ".join(f"{k}: {type_name(t)}" for k, t in overload.input_types.items())
    except AttributeError:
        args = "..."
    ret = type_name(overload.value_type) if overload.value_type is not None else None
    return f"({args}) -> {ret or 'inferred'}"


def main():
    if wp.config.version != sys.argv[1]:
        sys.exit(f"warp-lang {wp.config.version} is installed, the catalog is for {sys.argv[1]}")
    entries = []
    for name in sorted(context.builtin_functions):
        f = context.builtin_functions[name]
        # a builtin without overloads is its own only signature
        overloads = getattr(f, "overloads", None) or [f]
        sigs = sorted({signature(o) for o in overloads})
        entries.append(
            {
                "name": name,
                "group": getattr(f, "group", "") or "",
                "differentiable": bool(getattr(f, "is_differentiable", False)),
                "hidden": bool(getattr(f, "hidden", False)),
                "overloads": len(overloads),
                "domain": DOMAINS.get(name, ""),
                "signatures": sigs[:8],
            }
        )
    json.dump({"warp_version": wp.config.version, "builtins": entries}, sys.stdout, indent=1)
    sys.stdout.write("\n")


main()
