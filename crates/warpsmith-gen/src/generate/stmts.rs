//! Statements: conditions, conversions, assignments and updates, `if`/`for`/atomic statements, unpacking and
//! the category's required constructs.

use std::collections::BTreeSet;

use warpsmith_ast::liveness::live_vars;

use super::*;

/// Half-width of the window of magnitudes a threshold is drawn from when its operand has no typical values
/// ([`Gen::split_point`]): most generated values are a few units in size (float inputs are drawn in ranges of
/// magnitude 10 or less, `input_range`).
const TYPICAL_WINDOW: f64 = 8.0;

impl Gen<'_> {
    /// A `bool` condition without random draws (C's `&&`, `||` and `?:` would skip a draw that Warp runs).
    pub(super) fn cond(&mut self, depth: u32) -> TExpr {
        let draws = std::mem::replace(&mut self.draws, u32::MAX);
        let c = self.cond_inner(depth);
        self.draws = draws;
        c
    }

    /// [`Gen::cond`]'s body. Frozen accumulators may be read here: a condition's value needs no range.
    pub(super) fn cond_inner(&mut self, depth: u32) -> TExpr {
        let b = Interval::new(0.0, 1.0);
        if depth > 1 && self.rng.random_bool(0.25) {
            let (a, _) = self.cond(depth - 1);
            let (c, _) = self.cond(depth - 1);
            let op = if self.rng.random_bool(0.5) { BinOp::And } else { BinOp::Or };
            return (Expr::binary(op, Type::Bool, a, c), b);
        }
        if depth > 1 && self.rng.random_bool(0.08) {
            let (a, _) = self.cond(depth - 1);
            return (Expr::unary(UnOp::Not, a), b);
        }
        if depth > 1 && self.rng.random_bool(0.05) {
            // a guard on a float value, as numerical code writes it: `wp.isfinite(x) and ...`,
            // `wp.isnan(x) or ...`, `wp.isinf(x) or ...`; on a value the kernel has (its constants would be dead
            // code: every value here is finite)
            let (x, _) = self.var_leaf(Type::F32);
            let (c, _) = self.cond(depth - 1);
            let (name, op) =
                *[(Builtin::Isfinite, BinOp::And), (Builtin::Isnan, BinOp::Or), (Builtin::Isinf, BinOp::Or)]
                    .choose(&mut self.rng)
                    .unwrap_or(&(Builtin::Isfinite, BinOp::And));
            return (Expr::binary(op, Type::Bool, Expr::call(name, Type::Bool, vec![x]), c), b);
        }
        let frozen: Vec<usize> =
            (0..self.locals.len()).filter(|&i| self.locals[i].frozen && self.locals[i].ty.is_scalar()).collect();
        // the left side's range is unknown for a frozen accumulator (its loop has not finished)
        let (lhs, lty, liv) = if !frozen.is_empty() && self.rng.random_bool(0.4) {
            let i = *frozen.choose(&mut self.rng).unwrap_or(&frozen[0]);
            self.locals[i].uses += 1;
            (Expr::var(self.locals[i].id, self.locals[i].ty), self.locals[i].ty, None)
        } else {
            let ty = if self.rng.random_bool(0.7) { Type::F32 } else { Type::I32 };
            self.budget = self.budget.max(3);
            let (mut e, mut iv) = self.expr(ty, depth.saturating_sub(1));
            if is_const(&e) {
                (e, iv) = self.var_leaf(ty);
            }
            (e, ty, Some(iv))
        };
        if lty == Type::I32 && liv.is_some_and(|i| i.lo < 0.0 || i.hi > 0.0) && self.rng.random_bool(0.05) {
            // truthiness of an integer: wp.bool(k) is k != 0
            let nonzero = liv.is_some_and(|i| i.lo > 0.0 || i.hi < 0.0);
            if !nonzero {
                return (Expr::call(Builtin::Bool, Type::Bool, vec![lhs]), b);
            }
        }
        if lty == Type::I32 && liv.is_none_or(|i| i.hi - i.lo >= 2.0) && self.rng.random_bool(0.3) {
            // parity / residue tests
            let k = self.rng.random_range(2..5i64);
            let m = Expr::binary(BinOp::Mod, Type::I32, lhs, Expr::int(k));
            let op = if self.rng.random_bool(0.5) { BinOp::Eq } else { BinOp::Ne };
            return (Expr::binary(op, Type::Bool, m, Expr::int(0)), b);
        }
        let ops: &[BinOp] = if lty == Type::I32 {
            &[BinOp::Lt, BinOp::Le, BinOp::Gt, BinOp::Ge, BinOp::Eq, BinOp::Ne]
        } else {
            &[BinOp::Lt, BinOp::Le, BinOp::Gt, BinOp::Ge]
        };
        // a comparison whose outcome the ranges already decide is a dead branch: retry a few times
        // and so is one that the typical values decide: a threshold no sample crosses is a constant no test
        // input exercises
        let lsamp = if liv.is_some() { self.typical(&lhs) } else { None };
        let mut cmp = None;
        let mut decided = true;
        for _ in 0..6 {
            let (rhs, riv) = match liv {
                Some(l) if self.rng.random_bool(0.6) => {
                    match lsamp.as_deref().and_then(|s| self.split_samples(s, l, lty)) {
                        Some(t) => t,
                        None => self.split_point(l, lty),
                    }
                }
                None if self.rng.random_bool(0.6) => self.signed_lit(lty),
                _ => self.expr(lty, depth.saturating_sub(1)),
            };
            let op = *ops.choose(&mut self.rng).unwrap_or(&BinOp::Lt);
            let c = Expr::binary(op, Type::Bool, lhs.clone(), rhs.clone());
            decided = rhs == lhs
                || liv.is_some_and(|l| decides(op, l, riv))
                || (lsamp.is_some() && self.constant_in_practice(&c));
            cmp = Some(c);
            if !decided {
                break;
            }
        }
        if decided {
            // the ranges decide every comparison tried (a left side of one value): a residue test of the launch
            // index splits the threads instead, so that neither branch is dead code
            let (t, _) = self.tid_expr();
            let k = self.rng.random_range(2..5i64);
            let m = Expr::binary(BinOp::Mod, Type::I32, t, Expr::int(k));
            let op = if self.rng.random_bool(0.5) { BinOp::Eq } else { BinOp::Ne };
            return (Expr::binary(op, Type::Bool, m, Expr::int(0)), b);
        }
        (cmp.unwrap_or(Expr { ty: Type::Bool, kind: ExprKind::Bool(true) }), b)
    }

    /// A literal strictly inside `iv` when there is room (a threshold that splits the range), on the
    /// quarter grid for floats so that it prints exactly. For a value without typical values
    /// ([`Gen::split_samples`] is preferred), four times in five inside `[-TYPICAL_WINDOW, TYPICAL_WINDOW]`
    /// when `iv` overlaps it: a conservative range is often far wider than the values a launch produces, and a
    /// threshold in its middle (`if x > 838.5`) is then never crossed.
    pub(super) fn split_point(&mut self, iv: Interval, ty: Type) -> TExpr {
        let (lo, hi) = (iv.lo.max(-TYPICAL_WINDOW), iv.hi.min(TYPICAL_WINDOW));
        let iv = if hi - lo >= 1.0 && self.rng.random_bool(0.8) { Interval::new(lo, hi) } else { iv };
        let t = iv.lo + (iv.hi - iv.lo) * self.rng.random_range(0.15..0.85);
        let v = if ty == Type::I32 { t.round() } else { (t * 4.0).round() / 4.0 };
        let lit = if ty == Type::I32 { Expr::int(v.abs() as i64) } else { Expr::float(v.abs()) };
        let e = if v < 0.0 { Expr::unary(UnOp::Neg, lit) } else { lit };
        (e, Interval::point(v))
    }

    /// Converts `e` to type `to`, for folding otherwise-unused values into a store or update.
    pub(super) fn convert(&mut self, e: TExpr, to: Type) -> TExpr {
        let (x, iv) = e;
        if x.ty == to {
            return (x, iv);
        }
        match (x.ty, to) {
            (Type::I32, Type::F32) => (Expr::construct(Type::F32, vec![x]), iv),
            (Type::F32, Type::I32) => {
                (Expr::construct(Type::I32, vec![x]), Interval::new(iv.lo.trunc(), iv.hi.trunc()))
            }
            (Type::Vec(n), Type::F32) if self.rng.random_bool(0.5) => {
                // every component counts: a folded vector whose other components nothing reads is dead code
                // in all but name
                let nf = f64::from(n);
                (Expr::call(Builtin::Length, Type::F32, vec![x]), Interval::new(0.0, iv.mag() * nf.sqrt()))
            }
            (Type::Vec(n), Type::F32) => {
                let k = self.rng.random_range(0..n);
                (Expr { ty: Type::F32, kind: ExprKind::Component(Box::new(x), k, None) }, iv)
            }
            (Type::Mat(n), Type::F32) => (Expr::call(Builtin::Trace, Type::F32, vec![x]), iv.scale(f64::from(n))),
            (Type::U32, Type::F32) => {
                let s = self.state_expr();
                (Expr::call(Builtin::Randf, Type::F32, vec![s]), Interval::new(0.0, 1.0))
            }
            (Type::Quat, Type::F32) => {
                let k = self.rng.random_range(0..4);
                (Expr { ty: Type::F32, kind: ExprKind::Component(Box::new(x), k, None) }, iv)
            }
            (Type::Transform, Type::F32) => {
                let p = Expr::call(Builtin::TransformGetTranslation, Type::Vec(3), vec![x]);
                let k = self.rng.random_range(0..3);
                (Expr { ty: Type::F32, kind: ExprKind::Component(Box::new(p), k, None) }, iv)
            }
            (_, Type::Quat) => {
                // a rotation about one axis by the value (roll, pitch or yaw)
                let s = self.convert((x, iv), Type::F32);
                let mut args = vec![Expr::float(0.0), Expr::float(0.0), Expr::float(0.0)];
                args[self.rng.random_range(0..3)] = s.0;
                (Expr::call(Builtin::QuatRpy, Type::Quat, args), Interval::new(-2.0, 2.0))
            }
            (_, Type::Transform) => {
                let p = self.convert((x, iv), Type::Vec(3));
                (
                    Expr::construct(Type::Transform, vec![p.0, Expr::call(Builtin::QuatIdentity, Type::Quat, vec![])]),
                    p.1.hull(Interval::new(-1.0, 1.0)),
                )
            }
            (_, Type::Vec(6)) => {
                let v = self.convert((x, iv), Type::Vec(3));
                let zero = Expr::construct(Type::Vec(3), vec![Expr::float(0.0)]);
                (Expr::construct(Type::Vec(6), vec![v.0, zero]), v.1.with_zero())
            }
            (_, Type::Vec(n)) => {
                let s = self.convert((x, iv), Type::F32);
                (Expr::construct(Type::Vec(n), vec![s.0]), s.1)
            }
            (_, Type::Mat(n)) => {
                let s = self.convert((x, iv), Type::Vec(n));
                (Expr::call(Builtin::Diag, to, vec![s.0]), s.1.with_zero())
            }
            (_, _) => {
                let s = self.convert((x, iv), Type::F32);
                self.convert(s, to)
            }
        }
    }

    pub(super) fn sum(ty: Type, base: TExpr, extra: Vec<TExpr>) -> TExpr {
        extra.into_iter().fold(base, |(a, ia), (b, ib)| (Expr::binary(BinOp::Add, ty, a, b), ia.add(ib)))
    }

    /// Locals declared at index `from` or later that no output can depend on, given `body` and the variables in
    /// `seeds` taken as live, latest first: folding each makes live whatever it was computed from, so the next
    /// is looked for with it among the seeds. Excludes the launch index, the random state and frozen
    /// accumulators (not readable yet).
    pub(super) fn dead_locals(&self, from: usize, body: &[Stmt], mut seeds: BTreeSet<VarId>) -> Vec<usize> {
        let targets: Vec<VarId> = self.outputs.iter().map(|o| o.0).chain(self.accs.iter().map(|a| a.id)).collect();
        let mut out = Vec::new();
        loop {
            let live = live_vars(body, &targets, seeds.iter().copied());
            let dead = (from..self.locals.len()).rev().find(|&i| {
                let l = &self.locals[i];
                !self.is_index(i) && Some(i) != self.state && !l.frozen && !live.contains(&l.id)
            });
            let Some(i) = dead else { return out };
            seeds.insert(self.locals[i].id);
            out.push(i);
        }
    }

    /// [`Gen::dead_locals`] of a block that ends with an update of an enclosing local: everything declared
    /// before `from` is taken as live (what flows into the enclosing scope is folded there if it is dead), as
    /// expressions of type `to`; marks them used.
    pub(super) fn dead_in_block(&mut self, from: usize, body: &[Stmt], to: Type) -> Vec<TExpr> {
        let outer: BTreeSet<VarId> = self.locals[..from].iter().map(|l| l.id).collect();
        self.dead_locals(from, body, outer)
            .into_iter()
            .map(|i| {
                self.locals[i].uses += 1;
                let l = &self.locals[i];
                let e = (Expr::var(l.id, l.ty), l.iv);
                self.convert(e, to)
            })
            .collect()
    }

    // ---------------------------------------------------------------- statements

    pub(super) fn let_stmt(&mut self, ty: Type, out: &mut Vec<Stmt>) -> usize {
        let depth = self.cfg.max_expr_depth;
        let (e, iv) = self.top_expr(ty, depth);
        let l = self.declare(Self::local_pool(ty), ty, iv, true);
        self.set_typical(l, &e);
        out.push(Stmt::Let { var: self.locals[l].id, value: e });
        l
    }

    pub(super) fn update_target(&mut self, target: Target, extra: Vec<TExpr>, out: &mut Vec<Stmt>) {
        let depth = self.cfg.max_expr_depth;
        match target {
            Target::Plain(l) => {
                let ty = self.locals[l].ty;
                let id = self.locals[l].id;
                debug_assert!(
                    !self.locals[l].frozen && self.locals[l].level == self.trips.len(),
                    "plain target {} level {} cur {} frozen {}",
                    self.vars[id].name,
                    self.locals[l].level,
                    self.trips.len(),
                    self.locals[l].frozen
                );
                if ty == Type::Transform && extra.is_empty() && self.rng.random_bool(0.3) {
                    // in place: wp.transform_set_translation(t, p) or wp.transform_set_rotation(t, q)
                    let translation = self.rng.random_bool(0.5);
                    let part = if translation { Type::Vec(3) } else { Type::Quat };
                    let (e, ie) = self.top_expr(part, depth.min(3));
                    let iv = self.locals[l].iv.hull(ie);
                    if !iv.within(bound(ty)) || !iv.is_finite() {
                        return;
                    }
                    self.locals[l].iv = iv;
                    let name =
                        if translation { Builtin::TransformSetTranslation } else { Builtin::TransformSetRotation };
                    out.push(Stmt::Call(Expr::call(name, Type::Bool, vec![Expr::var(id, ty), e])));
                    return;
                }
                if let (Type::Vec(n), true) = (ty, extra.is_empty() && self.rng.random_bool(0.25)) {
                    // one component: `v[k] = e` (assign_inplace), `v[k] += e`, `v[k] -= e`
                    let (e, ie) = self.top_expr(Type::F32, depth.min(3));
                    let op = self.weighted(&[(None, 2), (Some(BinOp::Add), 2), (Some(BinOp::Sub), 1)]);
                    let old = self.locals[l].iv;
                    let iv = match op {
                        None => old.hull(ie),
                        Some(BinOp::Add) => old.hull(old.add(ie)),
                        _ => old.hull(old.sub(ie)),
                    };
                    if !iv.within(bound(ty)) || !iv.is_finite() {
                        return;
                    }
                    self.locals[l].iv = iv;
                    let index = self.rng.random_range(0..n);
                    out.push(Stmt::SetComponent { var: id, index, op, value: e });
                    return;
                }
                let mut base = self.top_expr(ty, depth);
                let itself = matches!(base.0.kind, ExprKind::Var(v) if v == id);
                let literal = extra.is_empty() && matches!(base.0.kind, ExprKind::Float(_) | ExprKind::Int(_));
                if (itself || literal) && ty.is_scalar() {
                    // `x = x + c` for `x = x` or `x = c`: a literal overwriting the local would leave its earlier
                    // value dead from here on and make it a constant (whose literal no input exercises)
                    let (c, ic) = self.lit(ty);
                    self.locals[l].uses += 1;
                    base = (Expr::binary(BinOp::Add, ty, Expr::var(id, ty), c), self.locals[l].iv.add(ic));
                } else if itself {
                    base = self.lit(if ty == Type::I32 { ty } else { Type::F32 });
                    base = self.convert(base, ty);
                }
                let (e, iv) = Self::sum(ty, base, extra);
                if !iv.within(bound(ty)) || !iv.is_finite() {
                    return;
                }
                self.locals[l].iv = self.locals[l].iv.hull(iv);
                self.reassigned(self.locals[l].id, &e);
                out.push(Stmt::Assign { var: self.locals[l].id, value: e });
            }
            Target::Acc(l) => {
                let ty = self.locals[l].ty;
                if let (Type::Vec(n), true) = (ty, extra.is_empty() && self.rng.random_bool(0.2)) {
                    // accumulate into one component: `acc[k] += e` (add_inplace) or `acc[k] -= e`
                    let (e, ie) = self.top_expr(Type::F32, depth.min(2));
                    let trips: f64 = self.trips[self.locals[l].level..].iter().map(|&t| f64::from(t)).product();
                    let sub = self.rng.random_bool(0.3);
                    let step = if sub { ie.scale(trips).neg() } else { ie.scale(trips) };
                    let pending = self.locals[l].pending.add(step.with_zero());
                    let total = self.locals[l].iv.add(pending);
                    if !total.within(bound(ty) / 4.0) || !total.is_finite() {
                        return;
                    }
                    self.locals[l].pending = pending;
                    let op = Some(if sub { BinOp::Sub } else { BinOp::Add });
                    let index = self.rng.random_range(0..n);
                    out.push(Stmt::SetComponent { var: self.locals[l].id, index, op, value: e });
                    return;
                }
                let base = if extra.is_empty() {
                    self.top_expr(ty, depth.min(2))
                } else {
                    self.lit(if ty == Type::I32 { ty } else { Type::F32 })
                };
                let base = if base.0.ty == ty { base } else { self.convert(base, ty) };
                let (e, iv) = Self::sum(ty, base, extra);
                let trips: f64 = self.trips[self.locals[l].level..].iter().map(|&t| f64::from(t)).product();
                let id = self.locals[l].id;
                let acc = Expr::var(id, ty);
                let use_minmax = ty.is_scalar() && self.rng.random_bool(0.2);
                let (value, pending) = if use_minmax {
                    let name = if self.rng.random_bool(0.5) { Builtin::Max } else { Builtin::Min };
                    self.locals[l].iv = self.locals[l].iv.hull(iv);
                    (Expr::call(name, ty, vec![acc, e]), self.locals[l].pending)
                } else if self.rng.random_bool(0.25) {
                    (
                        Expr::binary(BinOp::Sub, ty, acc, e),
                        self.locals[l].pending.add(iv.scale(trips).neg().with_zero()),
                    )
                } else {
                    (Expr::binary(BinOp::Add, ty, acc, e), self.locals[l].pending.add(iv.scale(trips).with_zero()))
                };
                let total = self.locals[l].iv.add(pending);
                if !total.within(bound(ty) / 4.0) || !total.is_finite() {
                    return;
                }
                self.locals[l].pending = pending;
                self.reassigned(id, &value);
                out.push(Stmt::Assign { var: id, value });
            }
        }
    }

    /// An update that stays in range whatever the operands: `acc = wp.max(acc, e)` for an accumulator
    /// (or `acc = acc + c` for a small literal `c`), `x = e` for a plain local (`x = x + c` for a literal `c`).
    pub(super) fn fallback_update(&mut self, target: Target, mut extra: Vec<TExpr>, out: &mut Vec<Stmt>) {
        let (l, is_acc) = match target {
            Target::Plain(l) => (l, false),
            Target::Acc(l) => (l, true),
        };
        let ty = self.locals[l].ty;
        let id = self.locals[l].id;
        let (e, iv) = if extra.is_empty() {
            let t = self.lit(if ty == Type::I32 { ty } else { Type::F32 });
            self.convert(t, ty)
        } else {
            let first = extra.remove(0);
            std::mem::take(&mut extra).into_iter().fold(first, |a, b| Self::mean(ty, a, b))
        };
        let value = if is_acc && extra.is_empty() && matches!(e.kind, ExprKind::Float(_) | ExprKind::Int(_)) {
            let trips: f64 = self.trips[self.locals[l].level..].iter().map(|&t| f64::from(t)).product();
            self.locals[l].pending = self.locals[l].pending.add(iv.scale(trips).with_zero());
            Expr::binary(BinOp::Add, ty, Expr::var(id, ty), e)
        } else if is_acc && matches!(ty, Type::Mat(_) | Type::Quat | Type::Transform) {
            // no wp.max for matrices: accumulate instead
            let trips: f64 = self.trips[self.locals[l].level..].iter().map(|&t| f64::from(t)).product();
            self.locals[l].pending = self.locals[l].pending.add(iv.scale(trips).with_zero());
            Expr::binary(BinOp::Add, ty, Expr::var(id, ty), e)
        } else if is_acc {
            self.locals[l].iv = self.locals[l].iv.hull(iv);
            Expr::call(Builtin::Max, ty, vec![Expr::var(id, ty), e])
        } else {
            debug_assert!(
                !self.locals[l].frozen && self.locals[l].level == self.trips.len(),
                "fallback plain {}",
                self.vars[id].name
            );
            let shifted = self.locals[l].iv.add(iv);
            if extra.is_empty()
                && ty.is_scalar()
                && matches!(e.kind, ExprKind::Float(_) | ExprKind::Int(_))
                && shifted.within(bound(ty) / 4.0)
            {
                // `x = x + c`, not `x = c`: a literal overwriting the local would leave its earlier value dead
                // from here on and make the local a constant (whose literal no input exercises)
                self.locals[l].iv = self.locals[l].iv.hull(shifted);
                Expr::binary(BinOp::Add, ty, Expr::var(id, ty), e)
            } else {
                self.locals[l].iv = self.locals[l].iv.hull(iv);
                e
            }
        };
        self.reassigned(id, &value);
        out.push(Stmt::Assign { var: id, value });
    }

    /// `(a + b) // 2` for integers, `0.5 * (a + b)` otherwise (`a + b` for a transform, which has no scalar
    /// product in the standalone translation): folds two values into one that stays in the hull of their ranges,
    /// so that a fallback update can take every value a block left dead.
    pub(super) fn mean(ty: Type, (a, ia): TExpr, (b, ib): TExpr) -> TExpr {
        let sum = Expr::binary(BinOp::Add, ty, a, b);
        let s = ia.add(ib);
        match ty {
            Type::I32 => (
                Expr::binary(BinOp::FloorDiv, ty, sum, Expr::int(2)),
                Interval::new((s.lo / 2.0).floor(), (s.hi / 2.0).ceil()),
            ),
            Type::Transform => (sum, s),
            _ => (Expr::binary(BinOp::Mul, ty, Expr::float(0.5), sum), s.scale(0.5)),
        }
    }

    /// Chooses what an `if`'s branches update: an enclosing loop's accumulator, an assignable local at this
    /// loop level, or a new local declared just before the `if`.
    pub(super) fn choose_target(&mut self, out: &mut Vec<Stmt>) -> Target {
        let frozen: Vec<usize> = (0..self.locals.len()).filter(|&i| self.locals[i].frozen).collect();
        if !frozen.is_empty() && self.rng.random_bool(0.7) {
            return Target::Acc(*frozen.choose(&mut self.rng).unwrap_or(&frozen[0]));
        }
        let level = self.trips.len();
        let plain: Vec<usize> = (0..self.locals.len())
            .filter(|&i| {
                let l = &self.locals[i];
                l.mutable
                    && !l.frozen
                    && l.level == level
                    && !self.is_index(i)
                    && !matches!(l.ty, Type::Bool | Type::U32)
            })
            .collect();
        if !plain.is_empty() && self.rng.random_bool(0.5) {
            return Target::Plain(*plain.choose(&mut self.rng).unwrap_or(&plain[0]));
        }
        let ty = self.pick_type(TypeWeights { mat: 0, xform: 0, ..self.pol.local_types });
        Target::Plain(self.let_stmt(ty, out))
    }

    /// A block (branch or loop body): a few statements, then an update of `target` that folds in the
    /// block's unused locals. Locals declared in the block go out of scope at its end.
    pub(super) fn block(&mut self, target: Target, max_stmts: u32, force: Option<Required>) -> Vec<Stmt> {
        self.block_with(target, max_stmts, force, &mut |_, _| {})
    }

    /// [`Gen::block`] whose first statements come from `prelude` (in the block's scope: what it declares and
    /// leaves unused is folded into the update like the block's own locals).
    pub(super) fn block_with(
        &mut self,
        target: Target,
        max_stmts: u32,
        force: Option<Required>,
        prelude: &mut dyn FnMut(&mut Self, &mut Vec<Stmt>),
    ) -> Vec<Stmt> {
        let mark = self.locals.len();
        let mut out = Vec::new();
        prelude(self, &mut out);
        let n = self.rng.random_range(0..=max_stmts);
        if let Some(r) = force {
            self.required(r, &mut out);
        }
        for _ in 0..n {
            self.stmt(&mut out);
        }
        let ty = match target {
            Target::Plain(l) | Target::Acc(l) => self.locals[l].ty,
        };
        let extra = self.dead_in_block(mark, &out, ty);
        let before = out.len();
        for _ in 0..4 {
            self.update_target(target, extra.clone(), &mut out);
            if out.len() > before {
                break;
            }
        }
        if out.len() == before {
            // every update was refused by the range analysis: fall back to one that is always in range
            self.fallback_update(target, extra, &mut out);
        }
        self.locals.truncate(mark);
        out
    }

    pub(super) fn if_stmt(&mut self, out: &mut Vec<Stmt>, chain: bool) {
        self.nest += 1;
        let in_loop = !self.trips.is_empty();
        if in_loop && !chain && self.rng.random_bool(self.pol.jump_p) {
            self.budget = 4;
            let (c, _) = self.cond(2);
            let jump = if self.rng.random_bool(0.6) { Stmt::Break } else { Stmt::Continue };
            out.push(Stmt::If { cond: c, then: vec![jump], elifs: vec![], els: vec![] });
            self.nest -= 1;
            return;
        }
        let target = self.choose_target(out);
        let depth = self.cfg.max_expr_depth.min(3);
        self.budget = 6;
        let (cond, _) = self.cond(depth);
        let then = self.block(target, 2, None);
        let n_elif = if chain {
            self.rng.random_range(2..=3)
        } else if self.rng.random_bool(self.pol.elif_p) {
            self.rng.random_range(1..=2)
        } else {
            0
        };
        let mut elifs = Vec::new();
        for _ in 0..n_elif {
            self.budget = 6;
            let (c, _) = self.cond(depth);
            let b = self.block(target, 1, None);
            elifs.push((c, b));
        }
        let els = if chain || self.rng.random_bool(self.pol.else_p) { self.block(target, 2, None) } else { Vec::new() };
        out.push(Stmt::If { cond, then, elifs, els });
        self.nest -= 1;
    }

    pub(super) fn for_stmt(&mut self, out: &mut Vec<Stmt>, force_nested: bool) {
        self.nest += 1;
        let max_trip = self.cfg.max_loop_trip;
        // trip count: a literal, or an int32 parameter declared in [1, max_trip] (a dynamic loop)
        let unrolled: u32 = self.unrolled.iter().product();
        let static_room = UNROLL_BUDGET / unrolled.max(1);
        let (count, trip) = if static_room < 2 || self.rng.random_bool(self.pol.dynamic_loop_p) {
            let existing =
                self.values.iter().position(|v| v.ty == Type::I32 && v.iv.lo >= 1.0 && v.iv.hi <= f64::from(max_trip));
            let i = match existing {
                Some(i) => i,
                None => self.value_param(Type::I32, Interval::new(1.0, f64::from(max_trip)), I32_PARAM_NAMES),
            };
            self.values[i].uses += 1;
            (Expr::var(self.values[i].id, Type::I32), max_trip)
        } else {
            let t = self.rng.random_range(2..=max_trip.max(2).min(static_room));
            (Expr::int(i64::from(t)), t)
        };
        let literal = matches!(count.kind, ExprKind::Int(_));
        // accumulator: an existing assignable local at this level, or a new one
        let level = self.trips.len();
        let candidates: Vec<usize> = (0..self.locals.len())
            .filter(|&i| {
                let l = &self.locals[i];
                l.mutable
                    && !l.frozen
                    && l.level == level
                    && !self.is_index(i)
                    && !matches!(l.ty, Type::Bool | Type::Mat(_) | Type::Quat | Type::Transform | Type::U32)
                    && l.uses > 0
            })
            .collect();
        let acc = if !candidates.is_empty() && self.rng.random_bool(0.3) {
            *candidates.choose(&mut self.rng).unwrap_or(&candidates[0])
        } else {
            let ty = self.pick_type(TypeWeights {
                mat: 0,
                quat: 0,
                xform: 0,
                i32: self.pol.local_types.i32.min(1),
                ..self.pol.local_types
            });
            let (init, iv) = if self.rng.random_bool(0.6) {
                self.lit(if ty == Type::I32 { ty } else { Type::F32 })
            } else {
                self.expr(ty, 1)
            };
            let (init, iv) = self.convert((init, iv), ty);
            let l = self.declare(ACC_NAMES, ty, iv, true);
            self.set_typical(l, &init);
            out.push(Stmt::Let { var: self.locals[l].id, value: init });
            l
        };
        let mark = self.open_loop(acc, trip, literal);
        let counter = self.declare(COUNTER_NAMES, Type::I32, Interval::new(0.0, f64::from(trip - 1)), false);
        let counter_id = self.locals[counter].id;
        let force = if force_nested { Some(Required::Loop) } else { None };
        let body = self.block(Target::Acc(acc), 3, force);
        // the counter is the first local of the loop's scope; block() truncated past it
        self.close_loop(acc, mark);
        let reversed = self.rng.random_bool(0.15);
        // one loop in six written as a `while` over its counter, when no `continue` would skip the step
        let as_while = !continues(&body) && self.rng.random_bool(0.17);
        out.push(Stmt::For { var: counter_id, count, body, reversed, as_while });
        self.nest -= 1;
    }

    /// Freezes accumulator `acc` and enters a loop of at most `trip` iterations (`literal`: Warp unrolls it);
    /// returns the mark of the loop's scope for [`Gen::close_loop`].
    pub(super) fn open_loop(&mut self, acc: usize, trip: u32, literal: bool) -> usize {
        self.locals[acc].frozen = true;
        self.locals[acc].pending = Interval::point(0.0);
        self.trips.push(trip);
        self.unrolled.push(if literal { trip } else { 1 });
        self.locals.len()
    }

    /// Leaves the loop opened at `mark`: its locals go out of scope, and `acc` takes the range its updates
    /// accumulated over every iteration.
    pub(super) fn close_loop(&mut self, acc: usize, mark: usize) {
        self.locals.truncate(mark);
        self.trips.pop();
        self.unrolled.pop();
        let a = &mut self.locals[acc];
        a.iv = a.iv.add(a.pending);
        a.pending = Interval::point(0.0);
        a.frozen = false;
    }

    pub(super) fn atomic_stmt(&mut self, out: &mut Vec<Stmt>) {
        if self.accs.is_empty() {
            return;
        }
        let a = *self.accs.choose(&mut self.rng).unwrap_or(&self.accs[0]);
        self.atomic_on(a, out);
    }

    pub(super) fn atomic_on(&mut self, a: Acc, out: &mut Vec<Stmt>) {
        let scatter = a.len > 1 && !self.index_arrays.is_empty() && self.rng.random_bool(0.6);
        self.atomic_at(a, scatter, out);
    }

    /// An atomic update of accumulator `a`; with `scatter`, at an index read from an index array
    /// (`idx[tid]`, or `idx[tid] % len` for an accumulator shorter than the index range).
    pub(super) fn atomic_at(&mut self, a: Acc, scatter: bool, out: &mut Vec<Stmt>) {
        let index = if let (true, Some(&j)) = (scatter, self.index_arrays.choose(&mut self.rng)) {
            let at = self.indirect_index(j);
            if a.len >= crate::vectors::MIN_LAUNCH_DIM {
                at
            } else {
                Expr::binary(BinOp::Mod, Type::I32, at, Expr::int(i64::from(a.len)))
            }
        } else if a.len == 1 {
            Expr::int(0)
        } else if self.rng.random_bool(0.7) {
            let (t, _) = self.tid_expr();
            Expr::binary(BinOp::Mod, Type::I32, t, Expr::int(i64::from(a.len)))
        } else {
            Expr::int(self.rng.random_range(0..i64::from(a.len)))
        };
        let (value, _) = self.top_expr(a.ty, self.cfg.max_expr_depth.min(2));
        let op = match a.family {
            AtomicOp::Add | AtomicOp::Sub => self.weighted(&[(AtomicOp::Add, 4), (AtomicOp::Sub, 1)]),
            family => family,
        };
        out.push(Stmt::Atomic { op, array: a.id, index, value });
    }

    pub(super) fn stmt(&mut self, out: &mut Vec<Stmt>) {
        if self.fuel == 0 {
            return;
        }
        self.fuel -= 1;
        let w = self.pol.stmts;
        let can_nest = self.nest < self.cfg.max_nesting && self.fuel >= 2;
        let can_assign = self.choose_assignable().is_some();
        let choice = self.weighted(&[
            (0u8, w.let_),
            (1, if can_assign { w.assign } else { 0 }),
            (2, if can_nest { w.if_ } else { 0 }),
            (3, if can_nest { w.for_ } else { 0 }),
            (4, if self.accs.is_empty() { 0 } else { w.atomic }),
            (5, if self.scenes.is_empty() || !can_nest { 0 } else { self.pol.scenes }),
        ]);
        match choice {
            0 if self.pol.exprs.rot > 0 && self.rng.random_bool(0.1) => self.unpack_stmt(out),
            0 if self.pol.exprs.mat >= 2 && self.rng.random_bool(0.03) => self.decomposition_stmt(out),
            0 | 2 if self.nest == 0 && self.rng.random_bool(0.04) => {
                // a guard clause: threads that meet the condition leave the kernel early. Half are the
                // idiomatic bounds check of the launch index against a launch-shaped array (`if tid >=
                // out.shape[0]: return`, never taken when the launch matches the arrays), half data-dependent.
                let arrays: Vec<VarId> =
                    self.outputs.iter().map(|o| o.0).chain(self.inputs.iter().map(|a| a.id)).collect();
                let cond = match arrays.first() {
                    Some(&a) if self.rng.random_bool(0.5) => {
                        let l = self.idx[0];
                        self.locals[l].uses += 1;
                        let i = Expr::var(self.locals[l].id, Type::I32);
                        Expr::binary(BinOp::Ge, Type::Bool, i, Expr { ty: Type::I32, kind: ExprKind::Len(a, 0) })
                    }
                    _ => self.cond(2).0,
                };
                out.push(Stmt::If { cond, then: vec![Stmt::Return], elifs: Vec::new(), els: Vec::new() });
            }
            0 => {
                let ty = self.pick_type(self.pol.local_types);
                self.let_stmt(ty, out);
            }
            1 => {
                if let Some(t) = self.choose_assignable() {
                    self.update_target(t, Vec::new(), out);
                }
            }
            2 => self.if_stmt(out, false),
            3 => self.for_stmt(out, false),
            5 => self.scene_stmt(out),
            _ => self.atomic_stmt(out),
        }
    }

    /// Locals from a builtin that returns a tuple: `axis, angle = wp.quat_to_axis_angle(q)` (a unit axis, an
    /// angle in [0, pi]) or `p, q, s = wp.transform_decompose(m)` of a composed matrix with positive literal
    /// scales (so the normalized columns form a rotation).
    pub(super) fn unpack_stmt(&mut self, out: &mut Vec<Stmt>) {
        let depth = self.cfg.max_expr_depth.min(3);
        let (v3, q) = (Type::Vec(3), Type::Quat);
        if self.rng.random_bool(0.5) {
            let (e, _) = self.top_expr(q, depth);
            let value = Expr::call(Builtin::QuatToAxisAngle, Type::Bool, vec![e]);
            let axis = self.declare(&["axis", "dir", "n_axis"], v3, Interval::new(-1.0, 1.0), true);
            let angle =
                self.declare(&["angle", "theta", "phi"], Type::F32, Interval::new(0.0, std::f64::consts::PI), true);
            out.push(Stmt::Unpack { vars: vec![self.locals[axis].id, self.locals[angle].id], value });
            return;
        }
        let (p, ip) = self.top_expr(v3, depth);
        let (r, _) = self.top_expr(q, depth);
        let r = Expr::call(Builtin::Normalize, q, vec![r]);
        let scales: Vec<f64> = (0..3).map(|_| f64::from(self.rng.random_range(1..17u32)) * 0.25).collect();
        let lo = scales.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = scales.iter().copied().fold(0.0, f64::max);
        let sv = Expr::construct(v3, scales.into_iter().map(Expr::float).collect());
        let m = Expr::call(Builtin::TransformCompose, Type::Mat(4), vec![p, r, sv]);
        let value = Expr::call(Builtin::TransformDecompose, Type::Bool, vec![m]);
        let pos = self.declare(&["pos", "origin", "trans"], v3, ip, true);
        let rot = self.declare(&["rot", "orient", "q_rot"], q, Interval::new(-1.0, 1.0), true);
        let scale = self.declare(&["scale", "extent", "size"], v3, Interval::new(lo, hi), true);
        let vars = vec![self.locals[pos].id, self.locals[rot].id, self.locals[scale].id];
        out.push(Stmt::Unpack { vars, value });
    }

    /// A matrix decomposition unpacked into its factors: `U, sigma, V = wp.svd3(A)`, `Q, R = wp.qr3(A)`,
    /// `Q, d = wp.eig3(S)` of a symmetric `S`, or `U, sigma, V = wp.svd2(A)`. The matrix is a computed one plus
    /// `wp.diag` of literals `k, 2k(, 3k)` with `k` above twice its largest possible norm, so by Weyl's inequality
    /// its singular values (and `S`'s eigenvalues) lie within that norm of `k`, `2k`, `3k`: distinct and apart,
    /// where the adjoints (which divide by their differences) are finite. Factors: orthonormal entries in
    /// `[-1, 1]`; singular values in `[k - r, 3k + r]`, eigenvalues in `[k - r, 3k + r]`, `R`'s entries within the
    /// columns' norms.
    pub(super) fn decomposition_stmt(&mut self, out: &mut Vec<Stmt>) {
        let kind = self.weighted(&[(0u8, 4), (1, 3), (2, 3), (3, 2)]);
        let n: u8 = if kind == 3 { 2 } else { 3 };
        let (m, im) = self.top_expr(Type::Mat(n), self.cfg.max_expr_depth.min(2));
        // spectral norm <= n * max |entry|; the symmetric S = M + M^T doubles it
        let r = f64::from(n) * im.mag() * if kind == 2 { 2.0 } else { 1.0 };
        let k = (2.0 * r + 1.0).ceil();
        let top = f64::from(n) * k + r;
        if !top.is_finite() || top > F_BOUND / 4.0 {
            return;
        }
        let m = if kind == 2 {
            Expr::binary(BinOp::Add, Type::Mat(n), m.clone(), Expr::call(Builtin::Transpose, Type::Mat(n), vec![m]))
        } else {
            m
        };
        let shifts: Vec<Expr> = (1..=n).map(|i| Expr::float(k * f64::from(i))).collect();
        let d = Expr::call(Builtin::Diag, Type::Mat(n), vec![Expr::construct(Type::Vec(n), shifts)]);
        let a = Expr::binary(BinOp::Add, Type::Mat(n), m, d);
        let unit = Interval::new(-1.0, 1.0);
        let values = Interval::new(k - r, top);
        type Factor = (&'static [&'static str], Type, Interval);
        let (name, parts): (Builtin, Vec<Factor>) = match kind {
            0 => (
                Builtin::Svd3,
                vec![
                    (&["U", "U_s"], Type::Mat(3), unit),
                    (&["sigma", "sv"], Type::Vec(3), values),
                    (&["V", "V_s"], Type::Mat(3), unit),
                ],
            ),
            1 => {
                let col = 3f64.sqrt() * top;
                (
                    Builtin::Qr3,
                    vec![(&["Q", "Q_r"], Type::Mat(3), unit), (&["R", "R_q"], Type::Mat(3), Interval::new(-col, col))],
                )
            }
            2 => (
                Builtin::Eig3,
                vec![(&["Q", "E", "evecs"], Type::Mat(3), unit), (&["lam", "evals", "d_e"], Type::Vec(3), values)],
            ),
            _ => (
                Builtin::Svd2,
                vec![
                    (&["U", "U_s"], Type::Mat(2), unit),
                    (&["sigma", "sv"], Type::Vec(2), values),
                    (&["V", "V_s"], Type::Mat(2), unit),
                ],
            ),
        };
        let vars = parts
            .into_iter()
            .map(|(pool, ty, iv)| {
                let l = self.declare(pool, ty, iv, true);
                self.locals[l].id
            })
            .collect();
        out.push(Stmt::Unpack { vars, value: Expr::call(name, Type::Bool, vec![a]) });
    }

    pub(super) fn choose_assignable(&mut self) -> Option<Target> {
        let level = self.trips.len();
        let mut c: Vec<Target> = Vec::new();
        for (i, l) in self.locals.iter().enumerate() {
            if self.is_index(i) || !l.mutable || matches!(l.ty, Type::Bool | Type::U32) {
                continue;
            }
            if l.frozen {
                c.push(Target::Acc(i));
            } else if l.level == level {
                c.push(Target::Plain(i));
            }
        }
        c.choose(&mut self.rng).copied()
    }

    pub(super) fn required(&mut self, r: Required, out: &mut Vec<Stmt>) {
        match r {
            Required::Atomic => self.atomic_stmt(out),
            Required::NestedLoop => {
                self.for_stmt(out, true);
            }
            Required::Loop => self.for_stmt(out, false),
            Required::IfChain => self.if_stmt(out, true),
            Required::If => self.if_stmt(out, false),
            Required::MathCall => {
                let depth = self.cfg.max_expr_depth.max(1);
                let mut t = None;
                for _ in 0..6 {
                    t = Self::ok(Type::F32, self.math(depth - 1));
                    if t.is_some() {
                        break;
                    }
                }
                let (e, iv) = t.unwrap_or_else(|| {
                    let (x, ix) = self.leaf(Type::F32);
                    (Expr::call(Builtin::Sin, Type::F32, vec![x]), ix.hull(Interval::new(-1.0, 1.0)))
                });
                let l = self.declare(F32_NAMES, Type::F32, iv, true);
                self.set_typical(l, &e);
                out.push(Stmt::Let { var: self.locals[l].id, value: e });
            }
            Required::VecLocal => {
                let n = self.rng.random_range(2..=4);
                self.let_stmt(Type::Vec(n), out);
            }
            Required::Stencil => {
                let Some((e, iv)) = Self::ok(Type::F32, self.stencil_expr()).or_else(|| {
                    // no float input: read one neighbour of any input instead
                    let i = self.rng.random_range(0..self.inputs.len());
                    let a = self.inputs[i];
                    self.inputs[i].uses += 1;
                    let index = self.neighbour_index(a.id, None);
                    Some((Expr { ty: a.ty, kind: ExprKind::Load(a.id, index) }, a.iv))
                }) else {
                    return;
                };
                let ty = e.ty;
                let l = self.declare(Self::local_pool(ty), ty, iv, true);
                self.set_typical(l, &e);
                out.push(Stmt::Let { var: self.locals[l].id, value: e });
            }
            Required::Rotation => {
                let depth = self.cfg.max_expr_depth.max(1);
                let mut t = None;
                for _ in 0..6 {
                    t = Self::ok(Type::Vec(3), self.rot_vec(depth - 1));
                    if t.is_some() {
                        break;
                    }
                }
                if let Some((e, iv)) = t {
                    let l = self.declare(VEC_NAMES, Type::Vec(3), iv, true);
                    self.set_typical(l, &e);
                    out.push(Stmt::Let { var: self.locals[l].id, value: e });
                }
            }
            Required::MatLocal => {
                let n = self.rng.random_range(2..=4);
                self.let_stmt(Type::Mat(n), out);
            }
            Required::SceneQuery => {
                // every scene handle is queried at least once
                for s in self.scenes.clone() {
                    self.scene_stmt_on(s, out);
                }
            }
            Required::Gather => {
                // a gather of an input other than the index arrays when there is one
                let Some(&j) = self.index_arrays.choose(&mut self.rng) else { return };
                let data: Vec<usize> = (0..self.inputs.len()).filter(|i| !self.index_arrays.contains(i)).collect();
                let i = data.choose(&mut self.rng).copied().unwrap_or(j);
                let (e, iv) = self.gather(i, j);
                let ty = e.ty;
                let l = self.declare(Self::local_pool(ty), ty, iv, true);
                self.set_typical(l, &e);
                out.push(Stmt::Let { var: self.locals[l].id, value: e });
            }
            Required::Scatter => {
                let scattered: Vec<Acc> = self.accs.iter().copied().filter(|a| a.len > 1).collect();
                if let Some(&a) = scattered.choose(&mut self.rng) {
                    self.atomic_at(a, true, out);
                }
            }
        }
    }
}
