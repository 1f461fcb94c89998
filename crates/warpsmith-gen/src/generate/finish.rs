//! The end of a kernel: the final stores, which fold in whatever the body left dead, and the spelling of
//! literal assignments that Warp would treat as compile-time constants.

use super::*;

impl Gen<'_> {
    /// Stores every output, folding in whatever the body left dead: locals, parameters and inputs that no output
    /// depends on (liveness by construction). Dead means outside the backward slice of every write, the final
    /// stores included ([`warpsmith_ast::liveness::live_vars`]), not merely unread: a loop that updates a local
    /// no store reads is dead code although the local is read (by its own update).
    pub(super) fn finish(&mut self, body: &mut Vec<Stmt>) {
        let depth = self.cfg.max_expr_depth;
        let sinks = self.outputs.len().max(1);
        // the base of each final store (or of the extra atomic of an atomic-only kernel) first, so that what
        // they read counts as live
        let mut bases: Vec<TExpr> = Vec::with_capacity(sinks);
        if self.outputs.is_empty() {
            let ty = self.accs[0].ty;
            self.draws = 0;
            bases.push(self.top_expr_keeping_draws(ty, depth.min(2)));
        }
        for (_, ty) in self.outputs.clone() {
            self.draws = 0;
            bases.push(self.top_expr_keeping_draws(ty, depth));
        }
        let targets: Vec<VarId> = self.outputs.iter().map(|o| o.0).chain(self.accs.iter().map(|a| a.id)).collect();
        let mut seeds: std::collections::BTreeSet<VarId> =
            bases.iter().flat_map(|b| warpsmith_ast::liveness::expr_reads(&b.0)).collect();
        let dead = self.dead_locals(0, body, seeds.clone());
        seeds.extend(dead.iter().map(|&i| self.locals[i].id));
        let mut leftovers: Vec<TExpr> =
            dead.into_iter().map(|i| (Expr::var(self.locals[i].id, self.locals[i].ty), self.locals[i].iv)).collect();
        let live = warpsmith_ast::liveness::live_vars(body, &targets, seeds.iter().copied());
        for v in self.values.clone() {
            if !live.contains(&v.id) {
                leftovers.push((Expr::var(v.id, v.ty), v.iv));
            }
        }
        for a in self.inputs.clone() {
            if !live.contains(&a.id) {
                let index = self.own_index();
                leftovers.push((Expr { ty: a.ty, kind: ExprKind::Load(a.id, index) }, a.iv));
            }
        }
        let mut share: Vec<Vec<TExpr>> = vec![Vec::new(); sinks];
        for (k, e) in leftovers.into_iter().enumerate() {
            share[k % sinks].push(e);
        }
        if self.outputs.is_empty() {
            // atomic-only kernels: the leftovers feed one more atomic update
            let a = self.accs[0];
            let extra: Vec<TExpr> = share.remove(0).into_iter().map(|e| self.convert(e, a.ty)).collect();
            let (value, _) = Self::sum(a.ty, bases.remove(0), extra);
            let (t, _) = self.tid_expr();
            let index = if a.len == 1 {
                Expr::int(0)
            } else {
                Expr::binary(BinOp::Mod, Type::I32, t, Expr::int(i64::from(a.len)))
            };
            let op = if a.family == AtomicOp::Sub { AtomicOp::Add } else { a.family };
            body.push(Stmt::Atomic { op, array: a.id, index, value });
        }
        // one base per output now (the atomic-only kernel's was removed above)
        for ((k, (id, ty)), base) in self.outputs.clone().into_iter().enumerate().zip(bases) {
            let extra: Vec<TExpr> = std::mem::take(&mut share[k]).into_iter().map(|e| self.convert(e, ty)).collect();
            let (value, _) = Self::sum(ty, base, extra);
            let mut index = self.own_index();
            if ty == Type::I32 && index.len() == 1 {
                // integer outputs also take the thread's own element through an atomic: exchange,
                // compare-and-swap against the zeroed output, or a store followed by a bitwise update
                let k = self.rng.random_range(0..20);
                if k < 2 {
                    let op = if k == 0 { AtomicOp::Exch } else { AtomicOp::Cas };
                    body.push(Stmt::Atomic { op, array: id, index: index.remove(0), value });
                    continue;
                }
                if k < 4 {
                    let i = index[0].clone();
                    body.push(Stmt::Store { array: id, index, value });
                    let (v, _) = self.top_expr(ty, depth.min(2));
                    let op = if k == 2 { AtomicOp::And } else { AtomicOp::Or };
                    body.push(Stmt::Atomic { op, array: id, index: i, value: v });
                    continue;
                }
            }
            body.push(Stmt::Store { array: id, index, value });
        }
        // every accumulator array is updated at least once
        for a in self.accs.clone() {
            if !updates(body, a.id) {
                self.atomic_on(a, body);
            }
        }
    }
}

/// True if `block` contains an atomic update of `array`.
fn updates(block: &[Stmt], array: VarId) -> bool {
    let mut found = false;
    visit_stmts(block, &mut |s, _| found |= matches!(s, Stmt::Atomic { array: a, .. } if a == &array));
    found
}

/// Warp treats a local that is assigned a bare literal as a compile-time constant, which a dynamic loop may
/// not mutate ("Error mutating a constant ... inside a dynamic loop"). Every `x = <literal>` becomes
/// `x = wp.<type>(<literal>)`, the spelling Warp's error message recommends.
pub(super) fn materialize_literals(block: &mut [Stmt]) {
    let literal = |e: &Expr| {
        let inner = match &e.kind {
            ExprKind::Unary(UnOp::Neg, a) => a.as_ref(),
            _ => e,
        };
        matches!(inner.kind, ExprKind::Float(_) | ExprKind::Int(_))
    };
    for s in block {
        if let Stmt::Let { value, .. } | Stmt::Assign { value, .. } = s
            && literal(value)
        {
            let ty = value.ty;
            *value = Expr::construct(ty, vec![value.clone()]);
        }
        for b in s.blocks_mut() {
            materialize_literals(b);
        }
    }
}
