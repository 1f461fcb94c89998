//! Feature extraction: which builtins and constructs a kernel uses (the record's `features` column).

use std::collections::BTreeSet;

use crate::{ArrayRole, BinOp, ExprKind, Kernel, ParamKind, Stmt, UnOp, visit_stmts};

/// The sorted set of features of `kernel`.
///
/// Spellings: a Warp builtin by its registry name (`sin`, `atomic_add`, `tid`, `vec3` for a constructor);
/// operators as `op:<name>` (`op:add`, `op:matmul`, `op:lt`); constructs as `stmt:<name>` (`stmt:if`,
/// `stmt:elif`, `stmt:else`, `stmt:for`, `stmt:nested_for`, `stmt:break`, `stmt:continue`, `stmt:store`,
/// `stmt:load`); types as `type:<name>` (`type:vec3`, `type:array2d`); a 2-D/3-D launch as `launch:2d`/`launch:3d`; parameters as `param:array`, `param:scalar`,
/// `param:accumulator`, `param:dynamic_loop`.
pub fn features(kernel: &Kernel) -> BTreeSet<String> {
    let mut f = BTreeSet::new();
    for p in &kernel.params {
        let ty = kernel.vars[p.var].ty;
        f.insert(format!("type:{}", ty.short_name()));
        if let ParamKind::Array { len, .. } = p.kind
            && kernel.array_ndim(len) > 1
        {
            f.insert(format!("type:array{}d", kernel.array_ndim(len)));
        }
        f.insert(
            match p.kind {
                ParamKind::Array { role: ArrayRole::Accumulator, .. } => "param:accumulator",
                ParamKind::Array { .. } => "param:array",
                ParamKind::Value => "param:scalar",
            }
            .into(),
        );
    }
    if !kernel.structs.is_empty() {
        f.insert("param:struct".into());
    }
    body_features(kernel, &kernel.body, &mut f);
    for func in &kernel.funcs {
        // a helper's body counts as the kernel's: its builtins are the kernel's builtins
        f.insert("stmt:func".into());
        body_features(&func.def, &func.def.body, &mut f);
        expr_features(&func.result, &mut f);
    }
    f
}

/// The features of the statements of `body` (variables of `kernel`).
fn body_features(kernel: &Kernel, body: &[Stmt], f: &mut BTreeSet<String>) {
    visit_stmts(body, &mut |s, loops| {
        match s {
            Stmt::Let { var, .. } | Stmt::Assign { var, .. } => {
                f.insert(format!("type:{}", kernel.vars[*var].ty.short_name()));
            }
            Stmt::Store { .. } => {
                f.insert("stmt:store".into());
            }
            Stmt::Atomic { op, .. } => {
                f.insert(op.builtin().into());
            }
            Stmt::If { elifs, els, .. } => {
                f.insert("stmt:if".into());
                if !elifs.is_empty() {
                    f.insert("stmt:elif".into());
                }
                if !els.is_empty() {
                    f.insert("stmt:else".into());
                }
            }
            Stmt::For { count, reversed, as_while, .. } => {
                f.insert(if *as_while { "stmt:while" } else { "stmt:for" }.into());
                if *reversed {
                    f.insert("reversed".into());
                }
                if loops > 0 {
                    f.insert("stmt:nested_for".into());
                }
                if matches!(count.kind, ExprKind::Var(_) | ExprKind::Field(..)) {
                    f.insert("param:dynamic_loop".into());
                }
            }
            Stmt::While { .. } => {
                f.insert("stmt:query_loop".into());
                if loops > 0 {
                    f.insert("stmt:nested_for".into());
                }
            }
            Stmt::LaunchIndex { vars } => {
                f.insert("tid".into());
                f.insert(format!("launch:{}d", vars.len()));
            }
            Stmt::Call(_) => {}
            Stmt::Unpack { vars, .. } => {
                f.insert("stmt:unpack".into());
                for v in vars {
                    f.insert(format!("type:{}", kernel.vars[*v].ty.short_name()));
                }
            }
            Stmt::SetComponent { var, op, .. } => {
                let name = Stmt::component_builtin(*op);
                if matches!(kernel.vars[*var].ty, crate::Type::Tile(_) | crate::Type::Tile2(..)) {
                    // `t[k] += v` on a tile is Warp's tile_add_inplace / tile_sub_inplace
                    f.insert(format!("tile_{name}"));
                } else {
                    f.insert(name.into());
                }
            }
            Stmt::Break => {
                f.insert("stmt:break".into());
            }
            Stmt::Continue => {
                f.insert("stmt:continue".into());
            }
            Stmt::Return => {
                f.insert("stmt:return".into());
            }
        }
        for e in s.exprs() {
            expr_features(e, f);
        }
    });
}

/// The builtins, operators and constructs of expression `e` and its subexpressions.
fn expr_features(e: &crate::Expr, f: &mut BTreeSet<String>) {
    e.visit(&mut |e| {
        let name: Option<String> = match &e.kind {
            ExprKind::Tid => Some("tid".into()),
            ExprKind::Unary(op, _) => Some(
                match op {
                    UnOp::Neg => "op:neg",
                    UnOp::Not => "op:not",
                    UnOp::Invert => "op:invert",
                    UnOp::Pos => "op:pos",
                }
                .into(),
            ),
            ExprKind::Binary(op, ..) => Some(format!("op:{}", op_name(*op))),
            ExprKind::Call(name, _) => Some(name.name().into()),
            ExprKind::Construct(_) => Some(e.ty.short_name()),
            ExprKind::Load(..) => Some("stmt:load".into()),
            ExprKind::Component(_, _, j) => {
                Some(if j.is_some() { "op:matrix_index" } else { "op:vector_index" }.into())
            }
            ExprKind::Len(..) => Some("op:shape".into()),
            ExprKind::FuncRef(name) => Some(name.name().into()),
            ExprKind::FuncCall(..) => Some("stmt:func_call".into()),
            ExprKind::Field(..) => Some("op:field".into()),
            ExprKind::Member(..) => Some("op:query_member".into()),
            ExprKind::Const(_) => None,
            ExprKind::Kw(..) | ExprKind::Tuple(_) => None,
            ExprKind::Var(_) | ExprKind::Float(_) | ExprKind::Int(_) | ExprKind::Bool(_) => None,
        };
        if let Some(n) = name {
            f.insert(n);
        }
    });
}

fn op_name(op: BinOp) -> &'static str {
    match op {
        BinOp::Add => "add",
        BinOp::Sub => "sub",
        BinOp::Mul => "mul",
        BinOp::Div => "div",
        BinOp::Mod => "mod",
        BinOp::FloorDiv => "floordiv",
        BinOp::BitAnd => "bit_and",
        BinOp::BitOr => "bit_or",
        BinOp::BitXor => "bit_xor",
        BinOp::Shl => "lshift",
        BinOp::Shr => "rshift",
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
                Stmt::Unpack { vars, .. } => declared.extend(vars.iter().copied()),
                Stmt::Assign { var, .. } | Stmt::SetComponent { var, .. } => out.push(*var),
                Stmt::If { then, elifs, els, .. } => {
                    assigned(then, out, declared);
                    elifs.iter().for_each(|(_, x)| assigned(x, out, declared));
                    assigned(els, out, declared);
                }
                Stmt::For { var, body, .. } => {
                    declared.push(*var);
                    assigned(body, out, declared);
                }
                Stmt::While { body, .. } => assigned(body, out, declared),
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
            Stmt::For { count, body, as_while, .. } => {
                let dynamic =
                    *as_while || !matches!(count.kind, ExprKind::Int(n) if n <= WARP_MAX_UNROLL) || jumps(body);
                let (mut out, mut declared) = (Vec::new(), Vec::new());
                assigned(body, &mut out, &mut declared);
                let mutated_outer = out
                    .iter()
                    .any(|v| !declared.contains(v) && !matches!(k.vars[*v].ty, crate::Type::I32 | crate::Type::Bool));
                (dynamic && mutated_outer) || walk(k, body)
            }
            // a query loop is always dynamic
            Stmt::While { body, .. } => {
                let (mut out, mut declared) = (Vec::new(), Vec::new());
                assigned(body, &mut out, &mut declared);
                let mutated_outer = out
                    .iter()
                    .any(|v| !declared.contains(v) && !matches!(k.vars[*v].ty, crate::Type::I32 | crate::Type::Bool));
                mutated_outer || walk(k, body)
            }
            Stmt::If { then, elifs, els, .. } => walk(k, then) || elifs.iter().any(|(_, x)| walk(k, x)) || walk(k, els),
            _ => false,
        })
    }
    walk(kernel, &kernel.body)
}
