//! `@wp.func` helpers, by outlining: a subexpression of the finished kernel becomes the body of a helper whose
//! parameters are the subexpression's variables, array loads and thread indices (passed by value), and a call
//! replaces it. The helper computes exactly what the inline expression did, in the same operation order, so
//! the kernel's values, ranges and domains are unchanged; Warp generates the helper's adjoint, which the
//! gradient check then covers.
//!
//! Not outlined: expressions that draw random numbers (a helper's copy of the generator state would not
//! advance the caller's), that pass arrays (`wp.lower_bound`, `wp.sample_cdf`), keyword arguments, tiles,
//! booleans and the 6x6 spatial matrix (which has no `wp.mat66` annotation).

use super::*;
use warpsmith_ast::Func;

/// Helper names drawn (made unique against the kernel's names).
const FUNC_NAMES: &[&str] = &[
    "blend",
    "falloff",
    "response",
    "transfer",
    "weight_of",
    "mix_terms",
    "shape_term",
    "profile",
    "damp",
    "combine",
    "ramp",
    "scale_term",
    "evaluate",
    "contribution",
];
/// Parameter names, in order.
const PARAM_NAMES: &[&str] = &["x", "y", "z", "u", "w", "s", "r", "p", "q", "c", "d", "e", "g", "h"];
/// Smallest expression (nodes) worth a helper.
const MIN_NODES: usize = 4;

impl Gen<'_> {
    /// Outlines up to two subexpressions of `k`'s statements into `@wp.func` helpers (`k.funcs`), each with
    /// probability from the policy's expression weights (none in tile kernels).
    pub(super) fn outline_funcs(&mut self, k: &mut Kernel) {
        if k.is_tiled() || !self.rng.random_bool(0.25) {
            return;
        }
        let arrays: Vec<VarId> =
            k.params.iter().filter(|p| matches!(p.kind, ParamKind::Array { .. })).map(|p| p.var).collect();
        for _ in 0..2 {
            let total = count_eligible(&k.body, &arrays);
            if total == 0 {
                return;
            }
            let pick = self.rng.random_range(0..total);
            let name = self.fresh_name(FUNC_NAMES);
            let index = k.funcs.len();
            let mut made = None;
            let mut seen = 0;
            replace_nth(&mut k.body, &arrays, pick, &mut seen, &mut |e: &mut Expr| {
                let (func, args) = outline(e, &k.vars, name.clone());
                *e = Expr { ty: e.ty, kind: ExprKind::FuncCall(index, args) };
                made = Some(func);
            });
            let Some(mut func) = made else { return };
            self.add_local(&mut func);
            k.funcs.push(func);
            if !self.rng.random_bool(0.3) {
                return;
            }
        }
    }

    /// Sometimes names the largest repeated or proper subexpression of the helper's result as a local:
    /// `t = <sub>` then `return <result with t>`.
    fn add_local(&mut self, f: &mut Func) {
        if !self.rng.random_bool(0.5) {
            return;
        }
        let mut best: Option<(usize, Expr)> = None;
        if let ExprKind::Binary(_, a, b) = &f.result.kind {
            for side in [a.as_ref(), b.as_ref()] {
                let n = nodes(side);
                if n >= 3 && !is_const(side) && is_outlinable(side, &[]) && best.as_ref().is_none_or(|(m, _)| n > *m) {
                    best = Some((n, side.clone()));
                }
            }
        }
        let Some((_, sub)) = best else { return };
        let pool: &[&str] = &["t", "tmp", "partial", "base"];
        let mut name = pool[self.rng.random_range(0..pool.len())].to_string();
        // not a parameter's name: Warp refuses a parameter reassigned with another type
        while f.def.vars.iter().any(|v| v.name == name) || name == f.def.name {
            name.push('_');
        }
        let id = f.def.vars.len();
        f.def.vars.push(VarInfo { name, ty: sub.ty });
        replace_equal(&mut f.result, &sub, &Expr::var(id, sub.ty));
        f.def.body.push(Stmt::Let { var: id, value: sub });
    }
}

/// Number of nodes of `e`.
fn nodes(e: &Expr) -> usize {
    let mut n = 0;
    e.visit(&mut |_| n += 1);
    n
}

/// True if `e` may be a helper's body: see the module documentation. `arrays` are the kernel's array
/// parameters (a helper takes values, not arrays: `len(a)`, `wp.lower_bound(a, ...)` stay inline).
fn is_outlinable(e: &Expr, arrays: &[VarId]) -> bool {
    if matches!(e.ty, Type::Bool | Type::U32 | Type::Tile(_) | Type::Tile2(..) | Type::Mat(6)) || e.has_draw() {
        return false;
    }
    let mut ok = true;
    e.visit(&mut |x| match &x.kind {
        ExprKind::Kw(..) | ExprKind::Tuple(_) | ExprKind::FuncRef(_) | ExprKind::FuncCall(..) => ok = false,
        ExprKind::Var(v) if arrays.contains(v) => ok = false,
        // scene handles, query members and Warp's named constants stay in the kernel
        ExprKind::Member(..) | ExprKind::Const(_) => ok = false,
        ExprKind::Var(_) if matches!(x.ty, Type::Scene(_) | Type::Query(_)) => ok = false,
        _ => {}
    });
    ok && !other_width(e)
}

/// Builtins whose value is not `float32`/`int32` although the AST types it so: width casts, which the generator
/// always wraps back (`wp.float32(wp.float64(a) * wp.float64(b))`, `wp.int32(wp.int8(k))`), and `argmin`/`argmax`
/// (uint32 in Warp; the generator converts them with `wp.float32(...)`). The builtins of rule
/// `Rule::RoundTrip` (`wp.float32(wp.float16(x))`) are such casts too, read from the rules table.
const WIDTH_CASTS: &[Builtin] = &[
    Builtin::Float64,
    Builtin::Int8,
    Builtin::Uint8,
    Builtin::Int16,
    Builtin::Uint16,
    Builtin::Int64,
    Builtin::Uint32,
    Builtin::Uint64,
    Builtin::Argmin,
    Builtin::Argmax,
];

/// True if `e`'s value, or a part of it not converted back, has another width than its AST type (a helper's
/// return annotation would then be wrong: Warp refuses `-> wp.float32` returning a float64).
fn other_width(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Call(Builtin::Float32 | Builtin::Int32, _) => false,
        ExprKind::Construct(args) if args.len() == 1 && matches!(e.ty, Type::F32 | Type::I32) => false,
        ExprKind::Call(name, _)
            if WIDTH_CASTS.contains(name)
                || matches!(crate::rules::rule(*name), crate::rules::Rule::RoundTrip { .. }) =>
        {
            true
        }
        _ => e.children().into_iter().any(other_width),
    }
}

/// True if `e` is worth outlining: outlinable, at least [`MIN_NODES`] nodes, not constant, not an atom.
fn is_eligible(e: &Expr, arrays: &[VarId]) -> bool {
    !is_atom(e) && nodes(e) >= MIN_NODES && !is_const(e) && is_outlinable(e, arrays)
}

/// A value the helper receives as a parameter: a variable, an array element, the thread index, a shape.
fn is_atom(e: &Expr) -> bool {
    matches!(e.kind, ExprKind::Var(_) | ExprKind::Load(..) | ExprKind::Tid | ExprKind::Len(..))
}

/// The statement values a helper may be taken from (definitions, reassignments, stores, component updates).
fn values_mut(block: &mut [Stmt], f: &mut dyn FnMut(&mut Expr)) {
    warpsmith_ast::visit_stmts_mut(block, &mut |s| match s {
        Stmt::Let { value, .. }
        | Stmt::Assign { value, .. }
        | Stmt::Store { value, .. }
        | Stmt::SetComponent { value, .. } => f(value),
        _ => {}
    });
}

/// Eligible subexpressions in `block`, counted in [`replace_nth`]'s order.
fn count_eligible(block: &[Stmt], arrays: &[VarId]) -> usize {
    let mut n = 0;
    let mut copy = block.to_vec();
    values_mut(&mut copy, &mut |e| e.visit(&mut |x| n += usize::from(is_eligible(x, arrays))));
    n
}

/// Applies `f` to the `n`-th eligible subexpression of `block` (pre-order within each statement value).
fn replace_nth(block: &mut [Stmt], arrays: &[VarId], n: usize, seen: &mut usize, f: &mut dyn FnMut(&mut Expr)) {
    fn go(e: &mut Expr, arrays: &[VarId], n: usize, seen: &mut usize, f: &mut dyn FnMut(&mut Expr)) -> bool {
        if is_eligible(e, arrays) {
            if *seen == n {
                f(e);
                return true;
            }
            *seen += 1;
        }
        e.children_mut().into_iter().any(|c| go(c, arrays, n, seen, f))
    }
    let mut done = false;
    values_mut(block, &mut |e| {
        if !done {
            done = go(e, arrays, n, seen, f);
        }
    });
}

/// The helper computing `e` and the call's arguments: every distinct atom of `e` (in first-use order)
/// becomes a parameter, named after the variable it receives where it is one.
fn outline(e: &Expr, kernel_vars: &[VarInfo], name: String) -> (Func, Vec<Expr>) {
    let mut atoms: Vec<Expr> = Vec::new();
    collect_atoms(e, &mut atoms);
    let mut vars = Vec::new();
    let mut used: Vec<String> = vec![name.clone()];
    for (i, a) in atoms.iter().enumerate() {
        let mut n = match a.kind {
            ExprKind::Var(v) => kernel_vars[v].name.clone(),
            _ => PARAM_NAMES[i % PARAM_NAMES.len()].to_string(),
        };
        while used.contains(&n) {
            n.push('_');
        }
        used.push(n.clone());
        vars.push(VarInfo { name: n, ty: a.ty });
    }
    let params = (0..atoms.len()).map(|i| Param { var: i, kind: ParamKind::Value, range: (0.0, 0.0) }).collect();
    let mut result = e.clone();
    substitute(&mut result, &atoms);
    let def = Kernel { name, vars, params, body: Vec::new(), funcs: Vec::new(), structs: Vec::new() };
    (Func { def, result }, atoms)
}

/// The distinct atoms of `e` in first-use order, not looking inside an atom (`a[tid]` is one value).
fn collect_atoms(e: &Expr, atoms: &mut Vec<Expr>) {
    if is_atom(e) {
        if !atoms.contains(e) {
            atoms.push(e.clone());
        }
        return;
    }
    e.children().into_iter().for_each(|c| collect_atoms(c, atoms));
}

/// Replaces each atom of `e` by the parameter variable of its index in `atoms`.
fn substitute(e: &mut Expr, atoms: &[Expr]) {
    e.replace_where(&mut |x| atoms.iter().position(|a| a == x).map(|i| Expr::var(i, x.ty)));
}

/// Replaces every subexpression of `e` equal to `from` by `to`.
fn replace_equal(e: &mut Expr, from: &Expr, to: &Expr) {
    e.replace_where(&mut |x| (x == from).then(|| to.clone()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outlining_moves_an_expression_into_a_helper_with_its_atoms_as_parameters() {
        // y = wp.sin(x * a[tid]) + x  ->  y = f(x, a[tid]) with f(x, y) = wp.sin(x * y) + x
        let vars = vec![VarInfo { name: "a".into(), ty: Type::F32 }, VarInfo { name: "x".into(), ty: Type::F32 }];
        let tid = Expr::var(2, Type::I32);
        let load = Expr { ty: Type::F32, kind: ExprKind::Load(0, vec![tid]) };
        let x = Expr::var(1, Type::F32);
        let prod = Expr::binary(BinOp::Mul, Type::F32, x.clone(), load.clone());
        let e = Expr::binary(BinOp::Add, Type::F32, Expr::call(Builtin::Sin, Type::F32, vec![prod]), x.clone());
        assert!(is_eligible(&e, &[0]));
        // len(a) of the array a stays inline
        let len = Expr::call(Builtin::Len, Type::I32, vec![Expr::var(0, Type::F32)]);
        assert!(!is_outlinable(&Expr::binary(BinOp::Add, Type::I32, len, Expr::int(1)), &[0]));
        let (f, args) = outline(&e, &vars, "blend".into());
        assert_eq!(args, vec![x, load]);
        assert_eq!(f.def.params.len(), 2);
        assert_eq!(f.def.vars[0].name, "x");
        let mut atoms_left = 0;
        f.result.visit(&mut |n| atoms_left += usize::from(matches!(n.kind, ExprKind::Load(..))));
        assert_eq!(atoms_left, 0, "the load is a parameter inside the helper");
        assert_eq!(nodes(&f.result), nodes(&e) - 1, "a[tid] (two nodes) became one parameter");
        // a draw or an array argument stays inline
        let draw = Expr::call(Builtin::Randf, Type::F32, vec![Expr::var(3, Type::U32)]);
        assert!(!is_outlinable(&Expr::binary(BinOp::Add, Type::F32, draw, Expr::float(1.0)), &[0]));
        // a double-precision product is not a float32 value until converted back
        let wide = Expr::binary(
            BinOp::Mul,
            Type::F32,
            Expr::call(Builtin::Float64, Type::F32, vec![Expr::var(1, Type::F32)]),
            Expr::call(Builtin::Float64, Type::F32, vec![Expr::float(2.0)]),
        );
        assert!(!is_outlinable(&wide, &[0]));
        assert!(is_outlinable(&Expr::call(Builtin::Float32, Type::F32, vec![wide]), &[0]));
        let arg = Expr::call(Builtin::Argmin, Type::I32, vec![Expr::var(1, Type::F32)]);
        assert!(!is_outlinable(&Expr::binary(BinOp::Add, Type::I32, arg.clone(), Expr::int(1)), &[0]));
        assert!(is_outlinable(&Expr::construct(Type::F32, vec![arg]), &[0]));
    }
}
