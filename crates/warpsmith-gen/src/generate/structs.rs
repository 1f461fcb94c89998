//! `@wp.struct` parameters: a finished kernel's by-value parameters grouped into one struct passed by value,
//! read as `params.name`. Same values, same ranges (each field keeps its parameter's), so the kernel computes
//! what it did before; the test input is the fields' values flattened in declaration order.

use super::*;
use warpsmith_ast::{StructDef, StructField};

/// Class names drawn.
const STRUCT_NAMES: &[&str] = &["Params", "SimParams", "Settings", "Coeffs", "Constants", "Options", "Material"];
/// Parameter names drawn for the struct argument.
const STRUCT_PARAM_NAMES: &[&str] = &["params", "cfg", "opts", "consts", "settings"];

impl Gen<'_> {
    /// With probability 0.35, when `k` has at least two by-value scalar parameters, replaces them by one
    /// `@wp.struct` parameter (at the first one's position) whose fields are them, in order.
    pub(super) fn group_struct(&mut self, k: &mut Kernel) {
        let grouped: Vec<usize> = (0..k.params.len())
            .filter(|&i| matches!(k.params[i].kind, ParamKind::Value) && k.vars[k.params[i].var].ty.is_scalar())
            .collect();
        if grouped.len() < 2 || !self.rng.random_bool(0.35) {
            return;
        }
        let name = self.fresh_name(STRUCT_NAMES);
        let fields: Vec<StructField> = grouped
            .iter()
            .map(|&i| {
                let p = &k.params[i];
                StructField { name: k.vars[p.var].name.clone(), ty: k.vars[p.var].ty, range: p.range }
            })
            .collect();
        let index = k.structs.len() as u8;
        k.structs.push(StructDef { name, fields });
        let var = k.vars.len();
        k.vars.push(VarInfo { name: self.fresh_name(STRUCT_PARAM_NAMES), ty: Type::Struct(index) });
        let members: Vec<VarId> = grouped.iter().map(|&i| k.params[i].var).collect();
        exprs_mut(&mut k.body, &mut |e| to_fields(e, &members, var));
        let at = grouped[0];
        let mut params = Vec::with_capacity(k.params.len());
        for (i, p) in k.params.iter().enumerate() {
            if i == at {
                params.push(Param { var, kind: ParamKind::Value, range: (0.0, 0.0) });
            }
            if !grouped.contains(&i) {
                params.push(p.clone());
            }
        }
        k.params = params;
    }
}

/// Every expression of the statements of `block`, nested blocks included.
fn exprs_mut(block: &mut [Stmt], f: &mut dyn FnMut(&mut Expr)) {
    warpsmith_ast::visit_stmts_mut(block, &mut |s| s.exprs_mut().into_iter().for_each(&mut *f));
}

/// Replaces each read of a member variable by the struct's field: `scale` becomes `params.scale`.
fn to_fields(e: &mut Expr, members: &[VarId], var: VarId) {
    e.replace_where(&mut |x| match x.kind {
        ExprKind::Var(v) => {
            members.iter().position(|m| *m == v).map(|f| Expr { ty: x.ty, kind: ExprKind::Field(var, f as u8) })
        }
        _ => None,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Category, Config, generate};

    #[test]
    fn grouped_parameters_become_fields_and_no_longer_appear_as_variables() {
        let cfg = Config::default();
        let mut grouped = 0;
        for seed in 0..200 {
            let k = generate(Category::ScalarParam, seed, &cfg);
            let Some(def) = k.structs.first() else { continue };
            grouped += 1;
            assert!(def.fields.len() >= 2);
            let svar = k.params.iter().find(|p| matches!(k.vars[p.var].ty, Type::Struct(0))).map(|p| p.var);
            let svar = svar.expect("the struct is a parameter");
            // no parameter is also a field, and the body reads fields, not the former parameters
            for p in &k.params {
                assert!(!def.fields.iter().any(|f| f.name == k.vars[p.var].name && p.var != svar));
            }
            let mut fields = 0;
            visit_stmts(&k.body, &mut |s, _| {
                for e in s.exprs() {
                    e.visit(&mut |x| match x.kind {
                        ExprKind::Field(v, _) => {
                            assert_eq!(v, svar);
                            fields += 1;
                        }
                        ExprKind::Var(v) => assert_ne!(v, svar, "the struct is only read through its fields"),
                        _ => {}
                    });
                }
            });
            assert!(fields > 0);
            let text = warpsmith_ast::python_module(&k);
            assert!(text.contains(&format!("@wp.struct\nclass {}:", def.name)), "{text}");
        }
        assert!(grouped >= 10, "only {grouped} of 200 scalar_param kernels have a struct parameter");
    }
}
