//! Static data flow: which parameters can influence which outputs.
//!
//! A backward slice from each output array's writes (stores, atomics, tile stores), through assignments and the
//! conditions and loop counts that control them, iterated to a fixed point (loops carry values around). It
//! over-approximates influence: a parameter outside every slice cannot change any output whatever its values, so
//! a kernel it reports dead is one the execution check (redrawing each input, in the Warp worker) would reject
//! too; the converse does not hold (`cross(v, v)` reads `v` and is zero). The generator's caller uses it to skip
//! such candidates before paying for Warp.

use std::collections::BTreeSet;

use crate::{ArrayRole, Builtin, Expr, ExprKind, Kernel, ParamKind, Stmt, VarId};

/// Parameters that cannot influence any output, and output arrays that no input can influence.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dead {
    /// Input arrays and by-value parameters read by no output's slice (names, signature order).
    pub inputs: Vec<String>,
    /// Output and accumulator arrays whose slice holds no input (names, signature order).
    pub outputs: Vec<String>,
}

impl Dead {
    /// Nothing dead.
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty() && self.outputs.is_empty()
    }
}

/// The variables whose values `e` reads. `array.shape[k]` reads the array's shape, not its values.
fn reads(e: &Expr, out: &mut BTreeSet<VarId>) {
    match &e.kind {
        ExprKind::Var(v) | ExprKind::Field(v, _) | ExprKind::Member(v, _) => {
            out.insert(*v);
        }
        ExprKind::Load(v, idx) => {
            out.insert(*v);
            idx.iter().for_each(|i| reads(i, out));
        }
        ExprKind::Unary(_, a) | ExprKind::Component(a, _, _) | ExprKind::Kw(_, a) => reads(a, out),
        ExprKind::Binary(_, a, b) => {
            reads(a, out);
            reads(b, out);
        }
        ExprKind::Call(_, args) | ExprKind::Construct(args) | ExprKind::FuncCall(_, args) | ExprKind::Tuple(args) => {
            args.iter().for_each(|a| reads(a, out))
        }
        ExprKind::Tid
        | ExprKind::Float(_)
        | ExprKind::Int(_)
        | ExprKind::Bool(_)
        | ExprKind::Len(_, _)
        | ExprKind::FuncRef(_)
        | ExprKind::Const(_) => {}
    }
}

fn reads_of(e: &Expr) -> BTreeSet<VarId> {
    let mut s = BTreeSet::new();
    reads(e, &mut s);
    s
}

/// One pass over `stmts` growing `live`, the slice of writes to `target`; `ctrl` holds the variables of the
/// enclosing conditions and loop counts. Returns whether `live` grew.
fn pass(stmts: &[Stmt], target: VarId, ctrl: &BTreeSet<VarId>, live: &mut BTreeSet<VarId>) -> bool {
    let mut grew = false;
    let add = |live: &mut BTreeSet<VarId>, vars: BTreeSet<VarId>| {
        let mut g = false;
        for v in vars.into_iter().chain(ctrl.iter().copied()) {
            g |= live.insert(v);
        }
        g
    };
    for s in stmts {
        match s {
            Stmt::Store { array, index, value } if *array == target => {
                let mut r = reads_of(value);
                index.iter().for_each(|i| reads(i, &mut r));
                grew |= add(live, r);
            }
            Stmt::Atomic { array, index, value, .. } if *array == target => {
                let mut r = reads_of(value);
                reads(index, &mut r);
                grew |= add(live, r);
            }
            Stmt::Call(e) => {
                // a tile store or tile atomic names its destination among its arguments; an in-place update
                // of a local (`wp.tile_axpy(a, x, y)`, `wp.transform_set_translation(t, p)`) reads its
                // arguments into that local
                let r = reads_of(e);
                if r.contains(&target) || updated_local(e).is_some_and(|v| live.contains(&v)) {
                    grew |= add(live, r);
                }
            }
            Stmt::Let { var, value } | Stmt::Assign { var, value } => {
                if live.contains(var) {
                    grew |= add(live, reads_of(value));
                }
            }
            Stmt::SetComponent { var, value, .. } => {
                if live.contains(var) {
                    grew |= add(live, reads_of(value));
                }
            }
            Stmt::Unpack { vars, value } => {
                if vars.iter().any(|v| live.contains(v)) {
                    grew |= add(live, reads_of(value));
                }
            }
            Stmt::If { cond, then, elifs, els } => {
                let mut inner = ctrl.clone();
                reads(cond, &mut inner);
                elifs.iter().for_each(|(c, _)| reads(c, &mut inner));
                grew |= pass(then, target, &inner, live);
                for (_, b) in elifs {
                    grew |= pass(b, target, &inner, live);
                }
                grew |= pass(els, target, &inner, live);
            }
            Stmt::For { var, count, body, .. } => {
                let mut inner = ctrl.clone();
                reads(count, &mut inner);
                if live.contains(var) {
                    grew |= add(live, reads_of(count));
                }
                grew |= pass(body, target, &inner, live);
            }
            Stmt::While { cond, body } => {
                // the iterator call both decides the iterations and writes its index argument
                let mut inner = ctrl.clone();
                reads(cond, &mut inner);
                grew |= pass(body, target, &inner, live);
            }
            // they decide which later writes happen
            Stmt::Return | Stmt::Break | Stmt::Continue => grew |= add(live, BTreeSet::new()),
            Stmt::Store { .. } | Stmt::Atomic { .. } | Stmt::LaunchIndex { .. } => {}
        }
    }
    grew
}

/// The local that a builtin called for its effect updates in place: `y` of `wp.tile_axpy(a, x, y)`, `t` of
/// `wp.transform_set_translation(t, p)` and `wp.transform_set_rotation(t, q)`, `A` of
/// `wp.tile_cholesky_inplace(A)`, `y` of `wp.tile_cholesky_solve_inplace(L, y)` and of the in-place
/// substitutions, `dst` of `wp.tile_assign(dst, src, offset=...)`, the stack `s` of `wp.tile_stack_push(s, x, keep)` and `wp.tile_stack_clear(s)` (Warp's in-place
/// builtins that the generator writes as statements).
fn updated_local(e: &Expr) -> Option<VarId> {
    let ExprKind::Call(name, args) = &e.kind else { return None };
    let arg = match *name {
        Builtin::TileAxpy => args.get(2),
        Builtin::TransformSetTranslation
        | Builtin::TransformSetRotation
        | Builtin::TileCholeskyInplace
        | Builtin::TileStackPush
        | Builtin::TileStackClear
        | Builtin::TileAssign => args.first(),
        Builtin::TileCholeskySolveInplace | Builtin::TileLowerSolveInplace | Builtin::TileUpperSolveInplace => {
            args.get(1)
        }
        _ => None,
    }?;
    match arg.kind {
        ExprKind::Var(v) => Some(v),
        _ => None,
    }
}

/// Whether some statement of `stmts` (at any depth) writes `target`.
fn writes(stmts: &[Stmt], target: VarId) -> bool {
    let mut found = false;
    crate::visit_stmts(stmts, &mut |s, _| {
        found |= match s {
            Stmt::Store { array, .. } | Stmt::Atomic { array, .. } => *array == target,
            Stmt::Call(e) => reads_of(e).contains(&target),
            _ => false,
        }
    });
    found
}

/// The parameters of `k` that cannot influence any output, and the outputs no input influences.
pub fn dead_params(k: &Kernel) -> Dead {
    let is_input = |kind: &ParamKind| match kind {
        ParamKind::Array { role, .. } => *role == ArrayRole::Input,
        ParamKind::Value => true,
    };
    let mut influencing = BTreeSet::new();
    let mut dead = Dead::default();
    for p in &k.params {
        if is_input(&p.kind) {
            continue;
        }
        let mut live = BTreeSet::new();
        // a `return` decides whether later writes happen: it matters only where there are writes
        if writes(&k.body, p.var) {
            while pass(&k.body, p.var, &BTreeSet::new(), &mut live) {}
        }
        let inputs: Vec<VarId> =
            k.params.iter().filter(|q| is_input(&q.kind) && live.contains(&q.var)).map(|q| q.var).collect();
        if inputs.is_empty() {
            dead.outputs.push(k.vars[p.var].name.clone());
        }
        influencing.extend(inputs);
    }
    dead.inputs = k
        .params
        .iter()
        .filter(|p| is_input(&p.kind) && !influencing.contains(&p.var))
        .map(|p| k.vars[p.var].name.clone())
        .collect();
    dead
}

/// The variables that can influence a write to one of `targets` in `stmts` (stores, atomics, tile stores) or
/// that are in `seeds`, closed over what they read: the union of the targets' backward slices, iterated to a
/// fixed point. Flow-insensitive, so it over-approximates like [`dead_params`]: a variable outside the set
/// cannot change any output; one inside may still not (a value overwritten before it is read).
///
/// The generator passes the reads of the stores it is about to append as `seeds`, so that it can fold what
/// would otherwise be dead into them (liveness by construction).
pub fn live_vars(stmts: &[Stmt], targets: &[VarId], seeds: impl IntoIterator<Item = VarId>) -> BTreeSet<VarId> {
    let mut live: BTreeSet<VarId> = seeds.into_iter().collect();
    loop {
        let mut grew = false;
        for &t in targets {
            grew |= pass(stmts, t, &BTreeSet::new(), &mut live);
        }
        if !grew {
            return live;
        }
    }
}

/// The variables `e` reads, as [`live_vars`] counts them (`array.shape[k]` reads the array's shape, not its
/// values).
pub fn expr_reads(e: &Expr) -> BTreeSet<VarId> {
    reads_of(e)
}
