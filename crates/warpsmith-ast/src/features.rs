//! Feature extraction: which builtins and constructs a kernel uses (the record's `features` column).

use std::collections::BTreeSet;

use crate::{ArrayRole, BinOp, Expr, ExprKind, Kernel, ParamKind, Stmt, UnOp};

/// The sorted set of features of `kernel`.
///
/// Spellings: a Warp builtin by its registry name (`sin`, `atomic_add`, `tid`, `vec3` for a constructor);
/// operators as `op:<name>` (`op:add`, `op:matmul`, `op:lt`); constructs as `stmt:<name>` (`stmt:if`,
/// `stmt:elif`, `stmt:else`, `stmt:for`, `stmt:nested_for`, `stmt:break`, `stmt:continue`, `stmt:store`,
/// `stmt:load`); types as `type:<name>` (`type:vec3`); parameters as `param:array`, `param:scalar`,
/// `param:accumulator`, `param:dynamic_loop`.
pub fn features(kernel: &Kernel) -> BTreeSet<String> {
    let mut f = BTreeSet::new();
    for p in &kernel.params {
        let ty = kernel.vars[p.var].ty;
        f.insert(format!("type:{}", ty.short_name()));
        match p.kind {
            ParamKind::Array { role: ArrayRole::Accumulator, .. } => {
                f.insert("param:accumulator".into());
            }
            ParamKind::Array { .. } => {
                f.insert("param:array".into());
            }
            ParamKind::Value => {
                f.insert("param:scalar".into());
            }
        }
    }
    block(kernel, &kernel.body, 0, &mut f);
    f
}

fn block(k: &Kernel, b: &[Stmt], loops: usize, f: &mut BTreeSet<String>) {
    for s in b {
        match s {
            Stmt::Let { var, value } | Stmt::Assign { var, value } => {
                f.insert(format!("type:{}", k.vars[*var].ty.short_name()));
                expr(value, f);
            }
            Stmt::Store { index, value, .. } => {
                f.insert("stmt:store".into());
                expr(index, f);
                expr(value, f);
            }
            Stmt::Atomic { op, index, value, .. } => {
                f.insert(op.builtin().into());
                expr(index, f);
                expr(value, f);
            }
            Stmt::If { cond, then, elifs, els } => {
                f.insert("stmt:if".into());
                expr(cond, f);
                block(k, then, loops, f);
                for (c, b) in elifs {
                    f.insert("stmt:elif".into());
                    expr(c, f);
                    block(k, b, loops, f);
                }
                if !els.is_empty() {
                    f.insert("stmt:else".into());
                    block(k, els, loops, f);
                }
            }
            Stmt::For { count, body, .. } => {
                f.insert("stmt:for".into());
                if loops > 0 {
                    f.insert("stmt:nested_for".into());
                }
                if matches!(count.kind, ExprKind::Var(_)) {
                    f.insert("param:dynamic_loop".into());
                }
                expr(count, f);
                block(k, body, loops + 1, f);
            }
            Stmt::Break => {
                f.insert("stmt:break".into());
            }
            Stmt::Continue => {
                f.insert("stmt:continue".into());
            }
        }
    }
}

fn op_name(op: BinOp) -> &'static str {
    match op {
        BinOp::Add => "add",
        BinOp::Sub => "sub",
        BinOp::Mul => "mul",
        BinOp::Div => "div",
        BinOp::Mod => "mod",
        BinOp::MatMul => "matmul",
        BinOp::Lt => "lt",
        BinOp::Le => "le",
        BinOp::Gt => "gt",
        BinOp::Ge => "ge",
        BinOp::Eq => "eq",
        BinOp::Ne => "ne",
        BinOp::And => "and",
        BinOp::Or => "or",
    }
}

fn expr(e: &Expr, f: &mut BTreeSet<String>) {
    match &e.kind {
        ExprKind::Var(_) | ExprKind::Float(_) | ExprKind::Int(_) | ExprKind::Bool(_) => {}
        ExprKind::Tid => {
            f.insert("tid".into());
        }
        ExprKind::Unary(op, a) => {
            f.insert(if *op == UnOp::Neg { "op:neg" } else { "op:not" }.into());
            expr(a, f);
        }
        ExprKind::Binary(op, a, b) => {
            f.insert(format!("op:{}", op_name(*op)));
            expr(a, f);
            expr(b, f);
        }
        ExprKind::Call(name, a) => {
            f.insert((*name).into());
            a.iter().for_each(|e| expr(e, f));
        }
        ExprKind::Construct(a) => {
            f.insert(e.ty.short_name());
            a.iter().for_each(|e| expr(e, f));
        }
        ExprKind::Load(_, i) => {
            f.insert("stmt:load".into());
            expr(i, f);
        }
        ExprKind::Component(b, _, j) => {
            f.insert(if j.is_some() { "op:matrix_index" } else { "op:vector_index" }.into());
            expr(b, f);
        }
        ExprKind::Len(_) => {
            f.insert("op:shape".into());
        }
    }
}

/// Largest literal trip count Warp unrolls (`warp.config.max_unroll` in 1.19.0); longer loops are dynamic.
pub const WARP_MAX_UNROLL: i64 = 16;

/// True if a float (scalar, vector or matrix) variable declared outside a *dynamic* loop is reassigned
/// inside it. Warp's code generator warns that this "may not be a differentiable operation"
/// (`warp/_src/codegen.py`, "detected mutated variable ... during a dynamic for-loop"), so such kernels are
/// not gradient-checked. A loop is dynamic when its trip count is not a literal, the literal exceeds
/// [`WARP_MAX_UNROLL`], or its body contains `break` or `continue` (Warp: "'break' found in loop body, will
/// generate dynamic loop").
pub fn mutates_in_dynamic_loop(kernel: &Kernel) -> bool {
    fn assigned(b: &[Stmt], out: &mut Vec<crate::VarId>, declared: &mut Vec<crate::VarId>) {
        for s in b {
            match s {
                Stmt::Let { var, .. } => declared.push(*var),
                Stmt::Assign { var, .. } => out.push(*var),
                Stmt::If { then, elifs, els, .. } => {
                    assigned(then, out, declared);
                    elifs.iter().for_each(|(_, x)| assigned(x, out, declared));
                    assigned(els, out, declared);
                }
                Stmt::For { var, body, .. } => {
                    declared.push(*var);
                    assigned(body, out, declared);
                }
                _ => {}
            }
        }
    }
    fn jumps(b: &[Stmt]) -> bool {
        b.iter().any(|s| match s {
            Stmt::Break | Stmt::Continue => true,
            Stmt::If { then, elifs, els, .. } => jumps(then) || elifs.iter().any(|(_, x)| jumps(x)) || jumps(els),
            _ => false,
        })
    }
    fn walk(k: &Kernel, b: &[Stmt]) -> bool {
        b.iter().any(|s| match s {
            Stmt::For { count, body, .. } => {
                let dynamic = !matches!(count.kind, ExprKind::Int(n) if n <= WARP_MAX_UNROLL) || jumps(body);
                let (mut out, mut declared) = (Vec::new(), Vec::new());
                assigned(body, &mut out, &mut declared);
                let mutated_outer = out
                    .iter()
                    .any(|v| !declared.contains(v) && !matches!(k.vars[*v].ty, crate::Type::I32 | crate::Type::Bool));
                (dynamic && mutated_outer) || walk(k, body)
            }
            Stmt::If { then, elifs, els, .. } => walk(k, then) || elifs.iter().any(|(_, x)| walk(k, x)) || walk(k, els),
            _ => false,
        })
    }
    walk(kernel, &kernel.body)
}
