//! Warp-Python printer and canonical form.
//!
//! One printer serves both forms; they differ only in how identifiers are spelled:
//! the readable form uses [`VarInfo::name`](crate::VarInfo) and the kernel's name; the canonical form renames
//! variables `v0, v1, ...` in order of first use (parameters first, in signature order) and the kernel `kernel`.

use std::collections::HashMap;
use std::fmt::Write;

use crate::ParamKind::Array;
use crate::{AtomicOp, BinOp, Builtin, Expr, ExprKind, Kernel, ParamKind, Stmt, UnOp, VarId};

/// The import line every module starts with.
const HEADER: &str = "import warp as wp\n\n\n";

/// Signatures longer than this many characters are printed one parameter per line (Black's style, ruff's
/// default line length of 88 rounded up to the 100 Warp's own sources use).
const MAX_SIGNATURE_WIDTH: usize = 100;

/// Precedence of atoms, calls and subscripts (binds tightest).
const PREC_ATOM: u8 = 12;
/// Precedence of unary minus.
const PREC_NEG: u8 = 11;
/// Precedence of `not`.
const PREC_NOT: u8 = 3;

trait Namer {
    fn var(&mut self, k: &Kernel, id: VarId) -> String;
    fn kernel(&self, k: &Kernel) -> String;
    /// The name of helper `k.funcs[i]`.
    fn func(&self, k: &Kernel, i: usize) -> String;
    /// The class name of `k.structs[s]`.
    fn struct_name(&self, k: &Kernel, s: usize) -> String;
    /// The name of field `f` of `k.structs[s]`.
    fn field(&self, k: &Kernel, s: usize, f: usize) -> String;
}

struct Readable;

impl Namer for Readable {
    fn var(&mut self, k: &Kernel, id: VarId) -> String {
        k.vars[id].name.clone()
    }
    fn kernel(&self, k: &Kernel) -> String {
        k.name.clone()
    }
    fn func(&self, k: &Kernel, i: usize) -> String {
        k.funcs.get(i).map_or_else(|| format!("func{i}"), |f| f.def.name.clone())
    }
    fn struct_name(&self, k: &Kernel, s: usize) -> String {
        k.structs.get(s).map_or_else(|| format!("Struct{s}"), |d| d.name.clone())
    }
    fn field(&self, k: &Kernel, s: usize, f: usize) -> String {
        k.structs.get(s).and_then(|d| d.fields.get(f)).map_or_else(|| format!("f{f}"), |x| x.name.clone())
    }
}

#[derive(Default)]
struct Canonical {
    seen: HashMap<VarId, usize>,
}

impl Namer for Canonical {
    fn var(&mut self, _k: &Kernel, id: VarId) -> String {
        let next = self.seen.len();
        format!("v{}", self.seen.entry(id).or_insert(next))
    }
    fn kernel(&self, _k: &Kernel) -> String {
        "kernel".into()
    }
    fn func(&self, _k: &Kernel, i: usize) -> String {
        format!("func{i}")
    }
    fn struct_name(&self, _k: &Kernel, s: usize) -> String {
        format!("Struct{s}")
    }
    fn field(&self, _k: &Kernel, _s: usize, f: usize) -> String {
        format!("f{f}")
    }
}

/// The complete Python module for `kernel`: the import, its `@wp.func` helpers, then the `@wp.kernel` function. This is the text of
/// the record's `python` column, and the exact file Warp is given (Warp's generated code quotes its lines).
pub fn python_module(kernel: &Kernel) -> String {
    let mut out = header(kernel);
    print_structs(kernel, &Readable, &mut out);
    print_funcs(kernel, false, &mut out);
    print_kernel(kernel, &mut Readable, &mut out);
    out
}

/// The kernel's `@wp.struct` classes, each followed by two blank lines.
fn print_structs(kernel: &Kernel, n: &dyn Namer, out: &mut String) {
    for (s, d) in kernel.structs.iter().enumerate() {
        let _ = writeln!(out, "@wp.struct\nclass {}:", n.struct_name(kernel, s));
        for (f, field) in d.fields.iter().enumerate() {
            let _ = writeln!(out, "    {}: {}", n.field(kernel, s, f), field.ty.warp_name());
        }
        out.push_str("\n\n");
    }
}

/// The kernel's `@wp.func` helpers, each followed by two blank lines; renamed in order of first use when
/// `canonical` (each helper its own numbering, helpers `func0, func1, ...`).
fn print_funcs(kernel: &Kernel, canonical: bool, out: &mut String) {
    for (i, f) in kernel.funcs.iter().enumerate() {
        let (mut readable, mut renamed) = (Readable, Canonical::default());
        let n: &mut dyn Namer = if canonical { &mut renamed } else { &mut readable };
        let name = n.func(kernel, i);
        let params: Vec<String> = f
            .def
            .params
            .iter()
            .map(|p| format!("{}: {}", n.var(&f.def, p.var), f.def.vars[p.var].ty.warp_name()))
            .collect();
        let _ = writeln!(out, "@wp.func\ndef {name}({}) -> {}:", params.join(", "), f.result.ty.warp_name());
        for s in &f.def.body {
            print_stmt(&f.def, n, s, 1, out);
        }
        let r = expr(&f.def, n, &f.result).0;
        let _ = writeln!(out, "    return {r}\n\n");
    }
}

/// Like [`python_module`], but with the identifiers renamed in order of first use (`v0, v1, ...`, kernel
/// `kernel`): useful to show what the canonical form looks like in context.
pub fn python_module_with_names(kernel: &Kernel) -> String {
    let mut out = header(kernel);
    print_structs(kernel, &Canonical::default(), &mut out);
    print_funcs(kernel, true, &mut out);
    print_kernel(kernel, &mut Canonical::default(), &mut out);
    out
}

/// The module's head: the import and, for a kernel with `wp.tile_matmul`, the module option that keeps the
/// product in Warp's own source (`enable_mathdx_gemm=False`: no cuBLASDx LTO), so the module text is the code.
fn header(kernel: &Kernel) -> String {
    let mut matmul = false;
    crate::visit_stmts(&kernel.body, &mut |s, _| {
        for e in s.exprs() {
            e.visit(&mut |x| matmul |= matches!(x.kind, ExprKind::Call(Builtin::TileMatmul, _)));
        }
    });
    if matmul {
        "import warp as wp\n\nwp.set_module_options({\"enable_mathdx_gemm\": False})\n\n\n".into()
    } else {
        HEADER.into()
    }
}

/// The canonical form: the kernel and its `@wp.func` helpers (no imports), identifiers renamed in order of
/// first use, helpers `func0, func1, ...`.
/// Two kernels that differ only in names have the same canonical form.
pub fn canonical(kernel: &Kernel) -> String {
    let mut out = String::new();
    print_structs(kernel, &Canonical::default(), &mut out);
    print_funcs(kernel, true, &mut out);
    print_kernel(kernel, &mut Canonical::default(), &mut out);
    out
}

/// The record id: the lowercase hex BLAKE3 hash (64 characters) of [`canonical`].
pub fn canonical_id(kernel: &Kernel) -> String {
    blake3::hash(canonical(kernel).as_bytes()).to_hex().to_string()
}

fn print_kernel(k: &Kernel, n: &mut dyn Namer, out: &mut String) {
    let params: Vec<String> = k
        .params
        .iter()
        .map(|p| {
            let name = n.var(k, p.var);
            let ty = k.vars[p.var].ty.warp_name();
            match p.kind {
                Array { len, .. } => match k.array_ndim(len) {
                    1 => format!("{name}: wp.array(dtype={ty})"),
                    d => format!("{name}: wp.array{d}d(dtype={ty})"),
                },
                ParamKind::Value => match k.vars[p.var].ty {
                    crate::Type::Struct(i) => format!("{name}: {}", n.struct_name(k, usize::from(i))),
                    _ => format!("{name}: {ty}"),
                },
            }
        })
        .collect();
    let kname = n.kernel(k);
    out.push_str("@wp.kernel\n");
    let one_line = format!("def {kname}({}):\n", params.join(", "));
    if one_line.len() <= MAX_SIGNATURE_WIDTH {
        out.push_str(&one_line);
    } else {
        let _ = writeln!(out, "def {kname}(");
        for p in &params {
            let _ = writeln!(out, "    {p},");
        }
        out.push_str("):\n");
    }
    print_block(k, n, &k.body, 1, out);
}

fn print_block(k: &Kernel, n: &mut dyn Namer, block: &[Stmt], depth: usize, out: &mut String) {
    if block.is_empty() {
        indent(out, depth);
        out.push_str("pass\n");
    }
    for s in block {
        print_stmt(k, n, s, depth, out);
    }
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("    ");
    }
}

fn print_stmt(k: &Kernel, n: &mut dyn Namer, s: &Stmt, depth: usize, out: &mut String) {
    indent(out, depth);
    match s {
        Stmt::Let { var, value } | Stmt::Assign { var, value } => {
            // Name the target after the value: canonical numbering follows reading order of the source,
            // and `x = f(y)` reads `x` first.
            let name = n.var(k, *var);
            let v = expr(k, n, value).0;
            let _ = writeln!(out, "{name} = {v}");
        }
        Stmt::Store { array, index, value } => {
            let a = n.var(k, *array);
            let i = args(k, n, index);
            let v = expr(k, n, value).0;
            let _ = writeln!(out, "{a}[{i}] = {v}");
        }
        Stmt::Atomic { op, array, index, value } => {
            let a = n.var(k, *array);
            let i = expr(k, n, index).0;
            let v = expr(k, n, value).0;
            if *op == AtomicOp::Cas {
                let _ = writeln!(out, "wp.{}({a}, {i}, 0, {v})", op.builtin());
            } else {
                let _ = writeln!(out, "wp.{}({a}, {i}, {v})", op.builtin());
            }
        }
        Stmt::Unpack { vars, value } => {
            let names: Vec<String> = vars.iter().map(|v| n.var(k, *v)).collect();
            let v = expr(k, n, value).0;
            let _ = writeln!(out, "{} = {v}", names.join(", "));
        }
        Stmt::SetComponent { var, index, op, value } => {
            let name = n.var(k, *var);
            let v = expr(k, n, value).0;
            let tok = match op {
                Some(BinOp::Add) => "+=",
                Some(BinOp::Sub) => "-=",
                _ => "=",
            };
            let _ = writeln!(out, "{name}[{index}] {tok} {v}");
        }
        Stmt::If { cond, then, elifs, els } => {
            let c = expr(k, n, cond).0;
            let _ = writeln!(out, "if {c}:");
            print_block(k, n, then, depth + 1, out);
            for (c, b) in elifs {
                let c = expr(k, n, c).0;
                indent(out, depth);
                let _ = writeln!(out, "elif {c}:");
                print_block(k, n, b, depth + 1, out);
            }
            if !els.is_empty() {
                indent(out, depth);
                out.push_str("else:\n");
                print_block(k, n, els, depth + 1, out);
            }
        }
        Stmt::For { var, count, body, reversed, as_while: true } => {
            let i = n.var(k, *var);
            let (c, p) = expr(k, n, count);
            if *reversed {
                if let ExprKind::Int(v) = count.kind {
                    let _ = writeln!(out, "{i} = wp.int32({})", v - 1);
                } else {
                    let _ = writeln!(out, "{i} = {} - 1", paren(c, p < PREC_NEG));
                }
                indent(out, depth);
                let _ = writeln!(out, "while {i} >= 0:");
            } else {
                let _ = writeln!(out, "{i} = wp.int32(0)");
                indent(out, depth);
                let _ = writeln!(out, "while {i} < {c}:");
            }
            print_block(k, n, body, depth + 1, out);
            indent(out, depth + 1);
            let _ = writeln!(out, "{i} {}= 1", if *reversed { "-" } else { "+" });
        }
        Stmt::For { var, count, body, reversed, .. } => {
            let i = n.var(k, *var);
            let c = expr(k, n, count).0;
            if *reversed {
                let _ = writeln!(out, "for {i} in reversed(range({c})):");
            } else {
                let _ = writeln!(out, "for {i} in range({c}):");
            }
            print_block(k, n, body, depth + 1, out);
        }
        Stmt::While { cond, body } => {
            let _ = writeln!(out, "while {}:", expr(k, n, cond).0);
            print_block(k, n, body, depth + 1, out);
        }
        Stmt::LaunchIndex { vars } => {
            let names: Vec<String> = vars.iter().map(|v| n.var(k, *v)).collect();
            let _ = writeln!(out, "{} = wp.tid()", names.join(", "));
        }
        Stmt::Call(e) => {
            let _ = writeln!(out, "{}", expr(k, n, e).0);
        }
        Stmt::Break => out.push_str("break\n"),
        Stmt::Continue => out.push_str("continue\n"),
        Stmt::Return => out.push_str("return\n"),
    }
}

/// Formats a non-negative float literal the way Python's `repr` does for the values the generator emits
/// (always with a decimal point or exponent, so Warp types it as a float).
pub(crate) fn float_literal(v: f64) -> String {
    let s = format!("{v:?}");
    if s.contains('.') || s.contains('e') || s.contains("inf") || s.contains("NaN") { s } else { format!("{s}.0") }
}

fn paren(s: String, need: bool) -> String {
    if need { format!("({s})") } else { s }
}

fn args(k: &Kernel, n: &mut dyn Namer, a: &[Expr]) -> String {
    a.iter().map(|e| expr(k, n, e).0).collect::<Vec<_>>().join(", ")
}

/// Prints an expression; returns its text and its precedence.
fn expr(k: &Kernel, n: &mut dyn Namer, e: &Expr) -> (String, u8) {
    match &e.kind {
        ExprKind::Var(id) => (n.var(k, *id), PREC_ATOM),
        ExprKind::Tid => ("wp.tid()".into(), PREC_ATOM),
        ExprKind::Float(v) => (float_literal(*v), PREC_ATOM),
        ExprKind::Int(v) => (v.to_string(), PREC_ATOM),
        ExprKind::Bool(b) => ((if *b { "True" } else { "False" }).into(), PREC_ATOM),
        ExprKind::Unary(UnOp::Neg, a) => {
            let (s, p) = expr(k, n, a);
            let nested_unary = matches!(a.kind, ExprKind::Unary(..));
            (format!("-{}", paren(s, p < PREC_NEG || nested_unary)), PREC_NEG)
        }
        ExprKind::Unary(op @ (UnOp::Invert | UnOp::Pos), a) => {
            let (s, p) = expr(k, n, a);
            let nested_unary = matches!(a.kind, ExprKind::Unary(..));
            let tok = if *op == UnOp::Pos { "+" } else { "~" };
            (format!("{tok}{}", paren(s, p < PREC_NEG || nested_unary)), PREC_NEG)
        }
        ExprKind::Unary(UnOp::Not, a) => {
            let (s, p) = expr(k, n, a);
            (format!("not {}", paren(s, p < PREC_NOT)), PREC_NOT)
        }
        ExprKind::Binary(op, a, b) => {
            let prec = op.precedence();
            let (sa, pa) = expr(k, n, a);
            let (sb, pb) = expr(k, n, b);
            // Comparisons never chain; other operators are left-associative.
            let left = if op.is_comparison() { pa <= prec } else { pa < prec };
            (format!("{} {} {}", paren(sa, left), op.token(), paren(sb, pb <= prec)), prec)
        }
        // Python's own casts and len(), which Warp maps to its `float`, `int` and `len` builtins
        ExprKind::FuncCall(i, a) => (format!("{}({})", n.func(k, *i), args(k, n, a)), PREC_ATOM),
        ExprKind::Field(v, f) => {
            let s = match k.vars[*v].ty {
                crate::Type::Struct(s) => usize::from(s),
                _ => 0,
            };
            (format!("{}.{}", n.var(k, *v), n.field(k, s, usize::from(*f))), PREC_ATOM)
        }
        ExprKind::Call(name @ (Builtin::Float | Builtin::Int | Builtin::Len), a) => {
            (format!("{name}({})", args(k, n, a)), PREC_ATOM)
        }
        ExprKind::Call(name, a) => (format!("wp.{name}({})", args(k, n, a)), PREC_ATOM),
        ExprKind::Construct(a) => (format!("{}({})", e.ty.warp_name(), args(k, n, a)), PREC_ATOM),
        ExprKind::Load(arr, idx) => {
            let a = n.var(k, *arr);
            (format!("{a}[{}]", args(k, n, idx)), PREC_ATOM)
        }
        ExprKind::Component(base, i, j) => {
            let (s, p) = expr(k, n, base);
            let s = paren(s, p < PREC_ATOM);
            match j {
                None => (format!("{s}[{i}]"), PREC_ATOM),
                Some(j) => (format!("{s}[{i}, {j}]"), PREC_ATOM),
            }
        }
        ExprKind::Kw(name, v) => (format!("{name}={}", expr(k, n, v).0), PREC_ATOM),
        ExprKind::FuncRef(name) => (format!("wp.{name}"), PREC_ATOM),
        // a 1-tuple needs its trailing comma: `(8,)`
        ExprKind::Tuple(a) if a.len() == 1 => (format!("({},)", args(k, n, a)), PREC_ATOM),
        ExprKind::Tuple(a) => (format!("({})", args(k, n, a)), PREC_ATOM),
        ExprKind::Len(arr, axis) => (format!("{}.shape[{axis}]", n.var(k, *arr)), PREC_ATOM),
        ExprKind::Member(v, name) => (format!("{}.{name}", n.var(k, *v)), PREC_ATOM),
        ExprKind::Const(name) => ((*name).into(), PREC_ATOM),
    }
}
