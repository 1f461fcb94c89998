//! Tile kernels that solve small linear systems, one per block: a symmetric positive-definite matrix built from
//! an input panel (`S = P P^T + diag(d)`, `wp.tile_matmul`, `wp.tile_transpose`, `wp.tile_diag_add`), its
//! Cholesky factor (`wp.tile_cholesky`) and a solve with it (`wp.tile_cholesky_solve`, the forward
//! substitution `wp.tile_lower_solve`, or both substitutions written out with `wp.tile_upper_solve`).
//!
//! Positive definiteness by construction: `P P^T` is positive semi-definite and every shift is at least 0.5
//! (`d[i]` in `[1, 2]`, times a damping factor in `[0.5, 2]` when there is one), so every eigenvalue of `S` is at
//! least 0.5; with `P`'s entries in `[-1, 1]` and at most 8 columns, the largest is at most `8 * 8 + 4 = 68`, so
//! the condition number stays below 136 and float32 solves keep about five digits.

use super::tiles::maps_over_tiles;
use super::*;

/// Names of the kernel (verb) and of its matrix input.
const SOLVE_VERBS: &[&str] = &["solve", "factor", "precondition", "project"];
const SYSTEM_NOUNS: &[&str] = &["systems", "blocks", "constraints", "normals"];

impl Gen<'_> {
    /// A Cholesky solve kernel: block `i` loads rows `i * n .. (i + 1) * n` of the panel, the diagonal shift and
    /// the right-hand side, and stores the solution (and, sometimes, the factor).
    pub(super) fn cholesky_kernel(&mut self) -> Kernel {
        let verb = *SOLVE_VERBS.choose(&mut self.rng).unwrap_or(&"solve");
        let noun = *SYSTEM_NOUNS.choose(&mut self.rng).unwrap_or(&"systems");
        let name = format!("{verb}_{noun}");
        self.names.insert(name.clone());
        let n = *[2u16, 4, 8].choose(&mut self.rng).unwrap_or(&4);
        let k = *[2u16, 4, 8].choose(&mut self.rng).unwrap_or(&4);
        let (nu, ku) = (u32::from(n), u32::from(k));
        let ip = Interval::new(-1.0, 1.0);
        let panel = self.array_param(Type::F32, ArrayRole::Input, ArrayLen::Tiled2(nu, ku), ip);
        let id = Interval::new(1.0, 2.0);
        let shift = self.array_param(Type::F32, ArrayRole::Input, ArrayLen::Tiled(nu), id);
        let ib = self.input_range(Type::F32);
        let rhs = self.array_param(Type::F32, ArrayRole::Input, ArrayLen::Tiled(nu), ib);
        let out = self.array_param(Type::F32, ArrayRole::Output, ArrayLen::Tiled(nu), Interval::point(0.0));
        let factor = self
            .rng
            .random_bool(0.4)
            .then(|| self.array_param(Type::F32, ArrayRole::Output, ArrayLen::Tiled2(nu, nu), Interval::point(0.0)));
        // a damping factor scaling the shift (every shifted d[i] stays >= 0.5), a norm per block
        let damping = self.rng.random_bool(0.4).then(|| {
            let iv = Interval::new(0.5, 2.0);
            let v = self.value_param(Type::F32, iv, &["lam", "mu", "damping", "reg"]);
            self.values[v].id
        });
        let norms = self.rng.random_bool(0.35).then(|| {
            let id = self.new_var(&["norms", "energy", "residual"], Type::F32);
            self.params.push(Param {
                var: id,
                kind: ParamKind::Array { role: ArrayRole::Output, len: ArrayLen::Launch },
                range: (0.0, 0.0),
            });
            id
        });

        let mut body = Vec::new();
        let block = self.new_var(&["i", "b", "block"], Type::I32);
        body.push(Stmt::Let { var: block, value: Expr { ty: Type::I32, kind: ExprKind::Tid } });
        let int = |v: u16| Expr::int(i64::from(v));
        let tuple = |xs: Vec<Expr>| Expr { ty: Type::I32, kind: ExprKind::Tuple(xs) };
        let row = || Expr::binary(BinOp::Mul, Type::I32, Expr::var(block, Type::I32), Expr::int(i64::from(n)));
        let let_tile = |g: &mut Self, body: &mut Vec<Stmt>, names: &[&str], ty: Type, value: Expr| {
            let v = g.new_var(names, ty);
            body.push(Stmt::Let { var: v, value });
            v
        };

        let (tp, tpt, ts, tv) = (Type::Tile2(n, k), Type::Tile2(k, n), Type::Tile2(n, n), Type::Tile(n));
        let p = {
            let load = Expr::call(
                Builtin::TileLoad,
                tp,
                vec![
                    Expr::var(panel, Type::F32),
                    kw("shape", tuple(vec![int(n), int(k)])),
                    kw("offset", tuple(vec![row(), Expr::int(0)])),
                ],
            );
            let_tile(self, &mut body, &["P", "J", "panel"], tp, load)
        };
        let pt = let_tile(
            self,
            &mut body,
            &["Pt", "Jt"],
            tpt,
            Expr::call(Builtin::TileTranspose, tpt, vec![Expr::var(p, tp)]),
        );
        let gram = Expr::call(Builtin::TileMatmul, ts, vec![Expr::var(p, tp), Expr::var(pt, tpt)]);
        let g = let_tile(self, &mut body, &["G", "gram", "JJt"], ts, gram);
        let load_vec = |a: VarId| {
            Expr::call(Builtin::TileLoad, tv, vec![Expr::var(a, Type::F32), kw("shape", int(n)), kw("offset", row())])
        };
        let mut d = let_tile(self, &mut body, &["d", "shift", "diag"], tv, load_vec(shift));
        if let Some(lam) = damping {
            let scaled = Expr::binary(BinOp::Mul, tv, Expr::var(lam, Type::F32), Expr::var(d, tv));
            d = let_tile(self, &mut body, &["dl", "d_scaled"], tv, scaled);
        }
        let s = let_tile(
            self,
            &mut body,
            &["S", "A", "H"],
            ts,
            Expr::call(Builtin::TileDiagAdd, ts, vec![Expr::var(g, ts), Expr::var(d, tv)]),
        );
        // one kernel in three works in place: `wp.tile_cholesky_inplace(S)` leaves the factor in S, and each solve
        // overwrites its right-hand side (`wp.tile_*_solve_inplace`)
        let in_place = self.rng.random_bool(0.35);
        let call = |name: Builtin, args: Vec<Expr>| Stmt::Call(Expr::call(name, Type::Bool, args));
        let l = if in_place {
            body.push(call(Builtin::TileCholeskyInplace, vec![Expr::var(s, ts)]));
            s
        } else {
            let chol = Expr::call(Builtin::TileCholesky, ts, vec![Expr::var(s, ts)]);
            let_tile(self, &mut body, &["L", "chol", "factor"], ts, chol)
        };
        let y = let_tile(self, &mut body, &["y", "rhs_t", "r"], tv, load_vec(rhs));
        // the full solve S x = y; or the forward substitution L z = y alone; or both substitutions written out,
        // L z = y then L^T x = z
        let x = match self.rng.random_range(0..20) {
            0..=10 if in_place => {
                // y is overwritten by x
                body.push(call(Builtin::TileCholeskySolveInplace, vec![Expr::var(l, ts), Expr::var(y, tv)]));
                y
            }
            0..=10 => {
                let solve = Expr::call(Builtin::TileCholeskySolve, tv, vec![Expr::var(l, ts), Expr::var(y, tv)]);
                let_tile(self, &mut body, &["x", "sol"], tv, solve)
            }
            11..=14 if in_place => {
                body.push(call(Builtin::TileLowerSolveInplace, vec![Expr::var(l, ts), Expr::var(y, tv)]));
                y
            }
            11..=14 => {
                let solve = Expr::call(Builtin::TileLowerSolve, tv, vec![Expr::var(l, ts), Expr::var(y, tv)]);
                let_tile(self, &mut body, &["z", "w"], tv, solve)
            }
            _ if in_place => {
                body.push(call(Builtin::TileLowerSolveInplace, vec![Expr::var(l, ts), Expr::var(y, tv)]));
                let lt = Expr::call(Builtin::TileTranspose, ts, vec![Expr::var(l, ts)]);
                let u = let_tile(self, &mut body, &["U", "Lt"], ts, lt);
                body.push(call(Builtin::TileUpperSolveInplace, vec![Expr::var(u, ts), Expr::var(y, tv)]));
                y
            }
            _ => {
                let forward = Expr::call(Builtin::TileLowerSolve, tv, vec![Expr::var(l, ts), Expr::var(y, tv)]);
                let z = let_tile(self, &mut body, &["z", "w"], tv, forward);
                let lt = Expr::call(Builtin::TileTranspose, ts, vec![Expr::var(l, ts)]);
                let u = let_tile(self, &mut body, &["U", "Lt"], ts, lt);
                let back = Expr::call(Builtin::TileUpperSolve, tv, vec![Expr::var(u, ts), Expr::var(z, tv)]);
                let_tile(self, &mut body, &["x", "sol"], tv, back)
            }
        };
        // |x| <= |S^-1| |y| <= sqrt(n) max|y| / 0.5 (every eigenvalue of S is at least 0.5)
        let ix = Interval::new(-1.0, 1.0).scale(2.0 * f64::from(n).sqrt() * ib.mag());
        let mut x = (x, ix);
        if self.rng.random_bool(0.4) {
            // a unary function of the solution, where its domain holds
            let fitting: Vec<usize> = (0..unary_float().len()).filter(|&i| maps_over_tiles(i, x.1)).collect();
            if let Some(&f) = fitting.choose(&mut self.rng) {
                let f = &unary_float()[f];
                let map = Expr::call(
                    Builtin::TileMap,
                    tv,
                    vec![Expr { ty: Type::F32, kind: ExprKind::FuncRef(f.name) }, Expr::var(x.0, tv)],
                );
                x = (let_tile(self, &mut body, &["fx", "xm", "act"], tv, map), (f.img)(x.1));
            }
        }
        body.push(Stmt::Call(Expr::call(
            Builtin::TileStore,
            Type::Bool,
            vec![Expr::var(out, Type::F32), Expr::var(x.0, tv), kw("offset", row())],
        )));
        if let Some(norms) = norms {
            // the solution's squared norm, or its dot product with the right-hand side (y^T S^-1 y)
            let other = if self.rng.random_bool(0.5) { x.0 } else { y };
            let dot = Expr::call(Builtin::TileDot, Type::Tile(1), vec![Expr::var(x.0, tv), Expr::var(other, tv)]);
            let r = let_tile(self, &mut body, &["e", "nrm", "s"], Type::Tile(1), dot);
            let value =
                Expr { ty: Type::F32, kind: ExprKind::Component(Box::new(Expr::var(r, Type::Tile(1))), 0, None) };
            body.push(Stmt::Store { array: norms, index: vec![Expr::var(block, Type::I32)], value });
        }
        if let Some(f) = factor {
            body.push(Stmt::Call(Expr::call(
                Builtin::TileStore,
                Type::Bool,
                vec![Expr::var(f, Type::F32), Expr::var(l, ts), kw("offset", tuple(vec![row(), Expr::int(0)]))],
            )));
        }
        self.take_kernel(name, body)
    }
}
