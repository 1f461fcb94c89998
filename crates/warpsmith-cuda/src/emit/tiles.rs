//! Tile kernels: each tile local as a per-thread array over the block's elements, and the tile builtins
//! (`tile_load`, `tile_map`, reductions, `tile_matmul`, ...) as loops over it.

use super::*;

impl Emitter<'_> {
    /// A tile-valued `Let`: `wp.tile_load`, a reduction (`tile_sum`/`tile_max`/`tile_min`/`tile_reduce`, by
    /// lane 0 in element order, as Warp's CPU path does), or an element-wise expression (each lane its
    /// elements). Every form ends with `block_sync()` so the block sees the whole tile.
    pub(super) fn tile_let(&mut self, var: VarId, value: &Expr, ind: &str, out: &mut String) -> Result<(), EmitError> {
        let ty = self.k.vars[var].ty;
        if !matches!(ty, Type::Tile(_) | Type::Tile2(..)) {
            return Err(EmitError::Unsupported("a tile let of a non-tile".into()));
        }
        let n = ty.components();
        let t = self.name(var).to_string();
        match &value.kind {
            ExprKind::Call(Builtin::TileLoad, args) if matches!(ty, Type::Tile2(..)) => {
                // a 2-D tile from a row-major 2-D array: element (r, c) is a[(o0 + r) * cols + o1 + c]
                let (Some(src), Type::Tile2(_, cols)) = (args.first(), ty) else {
                    return Err(EmitError::Unsupported("tile_load form".into()));
                };
                let ExprKind::Var(a) = src.kind else {
                    return Err(EmitError::Unsupported("tile_load of a non-array".into()));
                };
                let (o0, o1) = self.tile_offset(args)?;
                let stride = self.array_cols(a)?;
                let a = self.name(a).to_string();
                let _ = writeln!(
                    out,
                    "{ind}for (int elem = lane; elem < {n}; elem += lanes) \
                     {t}[elem] = {a}[({o0} + elem / {cols}) * {stride} + {o1} + elem % {cols}];"
                );
            }
            ExprKind::Call(Builtin::TileMatmul, args) => {
                // each lane its elements of C; the dot products in k order, from 0, as Warp's scalar GEMM
                let ([x, y], Type::Tile2(_, cols)) = (args.as_slice(), ty) else {
                    return Err(EmitError::Unsupported("tile_matmul form".into()));
                };
                let (ExprKind::Var(xv), ExprKind::Var(yv), Type::Tile2(_, inner)) = (&x.kind, &y.kind, x.ty) else {
                    return Err(EmitError::Unsupported("tile_matmul of expressions".into()));
                };
                let (xa, yb) = (self.name(*xv).to_string(), self.name(*yv).to_string());
                let _ = writeln!(
                    out,
                    "{ind}for (int elem = lane; elem < {n}; elem += lanes) {{\n{ind}    \
                     const int row = elem / {cols}, col = elem % {cols};\n{ind}    float dotp = 0.0f;\n{ind}    \
                     for (int kk = 0; kk < {inner}; ++kk) dotp += {xa}[row * {inner} + kk] * {yb}[kk * {cols} + col];\n{ind}    \
                     {t}[elem] = dotp;\n{ind}}}"
                );
            }
            ExprKind::Call(Builtin::TileDiagAdd, args) => {
                // Warp's tile_diag_add (tile.h): a copy of a with d[i] added to a[i, i]
                let ([a, d], Type::Tile2(_, cols)) = (args.as_slice(), ty) else {
                    return Err(EmitError::Unsupported("tile_diag_add form".into()));
                };
                let (a, d) = (self.tile_var(a)?, self.tile_var(d)?);
                let _ = writeln!(
                    out,
                    "{ind}for (int elem = lane; elem < {n}; elem += lanes) \
                     {t}[elem] = elem / {cols} == elem % {cols} ? {a}[elem] + {d}[elem / {cols}] : {a}[elem];"
                );
            }
            ExprKind::Call(Builtin::TileCholesky, args) => {
                // Warp's scalar Cholesky (tile_cholesky.h, scalar_cholesky_impl, lower), as the CPU runs it: column
                // by column, the reciprocal of the pivot in double precision, the upper triangle zeroed
                let ([a], Type::Tile2(_, m)) = (args.as_slice(), ty) else {
                    return Err(EmitError::Unsupported("tile_cholesky form".into()));
                };
                let a = self.tile_var(a)?;
                out.push_str(&cholesky_code(&t, &a, m, ind));
            }
            ExprKind::Call(solve @ (Builtin::TileCholeskySolve | Builtin::TileLowerSolve), args) => {
                // Warp's substitutions (tile_solve.h, vector right-hand side, by thread 0): forward with L, then (the
                // Cholesky solve) backward with L^T; a zero pivot leaves the row's value undivided
                let [l, y] = args.as_slice() else {
                    return Err(EmitError::Unsupported(format!("{solve} form")));
                };
                let (l, y) = (self.tile_var(l)?, self.tile_var(y)?);
                out.push_str(&substitution_code(&t, &l, &y, n, *solve == Builtin::TileCholeskySolve, ind));
            }
            ExprKind::Call(Builtin::TileUpperSolve, args) => {
                // Warp's tile_upper_solve (tile_solve.h): a copy of z, then back substitution with L = U^T, so
                // row i reads U[i, j] for j > i
                let [u, z] = args.as_slice() else {
                    return Err(EmitError::Unsupported("tile_upper_solve form".into()));
                };
                let (u, z) = (self.tile_var(u)?, self.tile_var(z)?);
                out.push_str(&upper_solve_code(&t, &u, &z, n, ind));
            }
            ExprKind::Call(Builtin::TileView, args) => {
                // a window of a tile, copied: the generator reduces it at once, before anything writes the source
                let v = self.view_elem(args, ty, "elem")?;
                let _ = writeln!(out, "{ind}for (int elem = lane; elem < {n}; elem += lanes) {t}[elem] = {v};");
            }
            ExprKind::Call(Builtin::TileSqueeze, args) => {
                // dropping size-1 axes keeps the row-major order: an element-wise copy (of a window, in place)
                let [src] = args.as_slice() else {
                    return Err(EmitError::Unsupported("tile_squeeze form".into()));
                };
                let v = match &src.kind {
                    ExprKind::Call(Builtin::TileView, vargs) => self.view_elem(vargs, src.ty, "elem")?,
                    _ => self.tile_elem(src, "elem")?.0,
                };
                let _ = writeln!(out, "{ind}for (int elem = lane; elem < {n}; elem += lanes) {t}[elem] = {v};");
            }
            ExprKind::Call(Builtin::TileRandf, args) => {
                // Warp's tile_randf (tile.h) with one thread a block, as the CPU runs it: the state
                // rand_pcg(thread index 0 + rng), then one randf draw an element in element order
                let kw = |name: &str| {
                    args.iter().find_map(|a| match &a.kind {
                        ExprKind::Kw(k, v) if *k == name => Some(v.as_ref()),
                        _ => None,
                    })
                };
                let rng = kw("rng").ok_or_else(|| EmitError::Unsupported("tile_randf without rng".into()))?;
                let rng = self.expr(rng)?.0;
                let draw = match (kw("min"), kw("max")) {
                    (Some(lo), Some(hi)) => format!("randf(tile_state, {}, {})", self.expr(lo)?.0, self.expr(hi)?.0),
                    (None, None) => "randf(tile_state)".to_string(),
                    _ => return Err(EmitError::Unsupported("tile_randf with one bound".into())),
                };
                self.need(Helper::Rand);
                let _ = writeln!(
                    out,
                    "{ind}if (lane == 0) {{\n{ind}    unsigned int tile_state = rand_pcg({rng});\n{ind}    \
                     for (int elem = 0; elem < {n}; ++elem) {t}[elem] = {draw};\n{ind}}}"
                );
            }
            ExprKind::Call(Builtin::TileEmpty, _) => {
                // storage only: the generator assigns every element (`wp.tile_assign`) before reading any
            }
            ExprKind::Call(Builtin::TileTranspose, args) => {
                let ([x], Type::Tile2(_, cols)) = (args.as_slice(), ty) else {
                    return Err(EmitError::Unsupported("tile_transpose form".into()));
                };
                let ExprKind::Var(xv) = x.kind else {
                    return Err(EmitError::Unsupported("tile_transpose of an expression".into()));
                };
                // t is rows x cols, x is cols x rows: t[r][c] = x[c][r]
                let src = self.name(xv).to_string();
                let _ = writeln!(
                    out,
                    "{ind}for (int elem = lane; elem < {n}; elem += lanes) {t}[elem] = {src}[(elem % {cols}) * {rows} + elem / {cols}];",
                    rows = n / cols as usize
                );
            }
            ExprKind::Call(Builtin::TileLoad, args) => {
                let [src, _shape, off] = args.as_slice() else {
                    return Err(EmitError::Unsupported("tile_load without shape and offset".into()));
                };
                let (ExprKind::Var(a), ExprKind::Kw("offset", o)) = (&src.kind, &off.kind) else {
                    return Err(EmitError::Unsupported("tile_load form".into()));
                };
                let o = self.expr(o)?;
                let o = paren(o, c_prec(BinOp::Add));
                let a = self.name(*a).to_string();
                let _ =
                    writeln!(out, "{ind}for (int elem = lane; elem < {n}; elem += lanes) {t}[elem] = {a}[{o} + elem];");
            }
            ExprKind::Call(
                fill @ (Builtin::TileOnes | Builtin::TileFull | Builtin::TileZeros | Builtin::TileArange),
                args,
            ) => {
                let v = match *fill {
                    Builtin::TileOnes => "1.0f".to_string(),
                    Builtin::TileZeros => "0.0f".to_string(),
                    Builtin::TileArange => "(float)elem".to_string(),
                    _ => {
                        let value = args.iter().find_map(|a| match &a.kind {
                            ExprKind::Kw("value", v) => Some(v),
                            _ => None,
                        });
                        let value = value.ok_or_else(|| EmitError::Unsupported("tile_full without a value".into()))?;
                        self.expr(value)?.0
                    }
                };
                let _ = writeln!(out, "{ind}for (int elem = lane; elem < {n}; elem += lanes) {t}[elem] = {v};");
            }
            ExprKind::Call(
                scan @ (Builtin::TileScanInclusive
                | Builtin::TileScanExclusive
                | Builtin::TileScanMaxInclusive
                | Builtin::TileScanMinInclusive),
                args,
            ) => {
                let [src] = args.as_slice() else {
                    return Err(EmitError::Unsupported(format!("{scan} arguments")));
                };
                let x = self.tile_elem(src, "elem")?.0;
                // lane 0 in element order, as Warp's block_dim-1 path: acc starts at the identity
                let (init, step, exclusive) = match *scan {
                    Builtin::TileScanInclusive => ("0.0f", format!("scanned + {x}"), false),
                    Builtin::TileScanExclusive => ("0.0f", format!("scanned + {x}"), true),
                    Builtin::TileScanMaxInclusive => ("NAN", format!("fmaxf(scanned, {x})"), false),
                    _ => ("NAN", format!("fminf(scanned, {x})"), false),
                };
                let body = if exclusive {
                    format!("{t}[elem] = scanned;\n{ind}        scanned = {step};")
                } else {
                    format!("scanned = {step};\n{ind}        {t}[elem] = scanned;")
                };
                let _ = writeln!(
                    out,
                    "{ind}if (lane == 0) {{\n{ind}    float scanned = {init};\n{ind}    \
                     for (int elem = 0; elem < {n}; ++elem) {{\n{ind}        {body}\n{ind}    }}\n{ind}}}"
                );
            }
            ExprKind::Call(arg @ (Builtin::TileArgmax | Builtin::TileArgmin), args) => {
                // lane 0 in element order; the first extreme element wins, as Warp's argmax/argmin trackers
                let [src] = args.as_slice() else {
                    return Err(EmitError::Unsupported(format!("{arg} arguments")));
                };
                let len = src.ty.components();
                let first = self.tile_elem(src, "0")?.0;
                let x = self.tile_elem(src, "elem")?.0;
                let cmp = if *arg == Builtin::TileArgmax { ">" } else { "<" };
                let lines = [
                    "if (lane == 0) {".to_string(),
                    format!("    float arg_best = {first};"),
                    "    int arg_at = 0;".to_string(),
                    format!("    for (int elem = 1; elem < {len}; ++elem) {{"),
                    format!("        float arg_cand = {x};"),
                    format!("        if (arg_cand {cmp} arg_best) {{"),
                    "            arg_best = arg_cand;".to_string(),
                    "            arg_at = elem;".to_string(),
                    "        }".to_string(),
                    "    }".to_string(),
                    format!("    {t}[0] = (float)arg_at;"),
                    "}".to_string(),
                ];
                for l in lines {
                    let _ = writeln!(out, "{ind}{l}");
                }
            }
            ExprKind::Call(Builtin::TileDot, args) => {
                // Warp's tile_dot on the CPU (tile_reduce.h): 0 plus each product in element order
                let [a, b] = args.as_slice() else {
                    return Err(EmitError::Unsupported("tile_dot arguments".into()));
                };
                let len = a.ty.components();
                let (x, y) = (self.tile_elem(a, "elem")?.0, self.tile_elem(b, "elem")?.0);
                let _ = writeln!(
                    out,
                    "{ind}if (lane == 0) {{\n{ind}    float reduced = 0.0f;\n{ind}    \
                     for (int elem = 0; elem < {len}; ++elem) reduced = reduced + {x} * {y};\n{ind}    \
                     {t}[0] = reduced;\n{ind}}}"
                );
            }
            ExprKind::Call(
                red @ (Builtin::TileSum | Builtin::TileMax | Builtin::TileMin | Builtin::TileReduce),
                args,
            ) => {
                let (op, src) = match (*red, args.as_slice()) {
                    (Builtin::TileReduce, [f, src]) => match f.kind {
                        ExprKind::FuncRef(op) => (op, src),
                        _ => return Err(EmitError::Unsupported("tile_reduce without a builtin".into())),
                    },
                    (Builtin::TileSum, [src]) => (Builtin::Add, src),
                    (Builtin::TileMax, [src]) => (Builtin::Max, src),
                    (Builtin::TileMin, [src]) => (Builtin::Min, src),
                    _ => return Err(EmitError::Unsupported(format!("{red} arguments"))),
                };
                if !matches!(src.ty, Type::Tile(_) | Type::Tile2(..)) {
                    return Err(EmitError::Unsupported(format!("{red} of a non-tile")));
                }
                let len = src.ty.components();
                let s = self.tile_elem(src, "0")?.0;
                let x = self.tile_elem(src, "elem")?.0;
                let step = match op {
                    Builtin::Add => format!("reduced + {x}"),
                    Builtin::Max => format!("fmaxf(reduced, {x})"),
                    Builtin::Min => format!("fminf(reduced, {x})"),
                    other => return Err(EmitError::Unsupported(format!("tile reduction by {other}"))),
                };
                let _ = writeln!(
                    out,
                    "{ind}if (lane == 0) {{\n{ind}    float reduced = {s};\n{ind}    \
                     for (int elem = 1; elem < {len}; ++elem) reduced = {step};\n{ind}    {t}[0] = reduced;\n{ind}}}"
                );
            }
            _ => {
                let v = self.tile_elem(value, "elem")?.0;
                let _ = writeln!(out, "{ind}for (int elem = lane; elem < {n}; elem += lanes) {t}[elem] = {v};");
            }
        }
        let _ = writeln!(out, "{ind}block_sync();");
        Ok(())
    }

    /// `wp.tile_store(out, t, offset=o)` (each lane its elements) or `wp.tile_atomic_add(acc, t)`.
    pub(super) fn tile_call(&mut self, e: &Expr, ind: &str, out: &mut String) -> Result<(), EmitError> {
        let ExprKind::Call(name, args) = &e.kind else {
            return Err(EmitError::Unsupported("an expression statement".into()));
        };
        match (*name, args.as_slice()) {
            (Builtin::TileAxpy, [a, x, t]) => {
                // dest += alpha * src, element-wise in place
                let ExprKind::Var(dest) = t.kind else {
                    return Err(EmitError::Unsupported("tile_axpy into an expression".into()));
                };
                let a = self.expr(a)?;
                let x = self.tile_elem(x, "elem")?;
                let n = t.ty.components();
                let p = c_prec(BinOp::Mul);
                let d = self.name(dest).to_string();
                let _ = writeln!(
                    out,
                    "{ind}for (int elem = lane; elem < {n}; elem += lanes) {d}[elem] += {} * {};",
                    paren(a, p),
                    paren(x, p + 1)
                );
                self.need(Helper::BlockSync);
                let _ = writeln!(out, "{ind}block_sync();");
            }
            (Builtin::TileCholeskyInplace, [a]) => {
                let Type::Tile2(_, m) = a.ty else {
                    return Err(EmitError::Unsupported("tile_cholesky_inplace of a 1-D tile".into()));
                };
                let a = self.tile_var(a)?;
                out.push_str(&cholesky_code(&a, &a, m, ind));
                self.need(Helper::BlockSync);
                let _ = writeln!(out, "{ind}block_sync();");
            }
            (solve @ (Builtin::TileCholeskySolveInplace | Builtin::TileLowerSolveInplace), [l, y]) => {
                let n = y.ty.components();
                let (l, y) = (self.tile_var(l)?, self.tile_var(y)?);
                out.push_str(&substitution_code(&y, &l, &y, n, solve == Builtin::TileCholeskySolveInplace, ind));
                self.need(Helper::BlockSync);
                let _ = writeln!(out, "{ind}block_sync();");
            }
            (Builtin::TileUpperSolveInplace, [u, z]) => {
                let n = z.ty.components();
                let (u, z) = (self.tile_var(u)?, self.tile_var(z)?);
                out.push_str(&upper_solve_code(&z, &u, &z, n, ind));
                self.need(Helper::BlockSync);
                let _ = writeln!(out, "{ind}block_sync();");
            }
            (Builtin::TileAssign, [dst, src, off]) => {
                // dst[o + elem] = src[elem] for each element of src (Warp's tile_assign into a shared tile)
                let (Type::Tile(_), Type::Tile(n), ExprKind::Kw("offset", o)) = (dst.ty, src.ty, &off.kind) else {
                    return Err(EmitError::Unsupported("tile_assign form".into()));
                };
                let o = match &o.kind {
                    ExprKind::Tuple(xs) if xs.len() == 1 => paren(self.expr(&xs[0])?, c_prec(BinOp::Add)),
                    _ => return Err(EmitError::Unsupported("a tile_assign offset that is not a 1-tuple".into())),
                };
                let d = self.tile_var(dst)?;
                let v = self.tile_elem(src, "elem")?.0;
                let _ = writeln!(out, "{ind}for (int elem = lane; elem < {n}; elem += lanes) {d}[{o} + elem] = {v};");
                self.need(Helper::BlockSync);
                let _ = writeln!(out, "{ind}block_sync();");
            }
            (set @ (Builtin::TransformSetTranslation | Builtin::TransformSetRotation), [t, v]) => {
                // in place on a local transform
                let ExprKind::Var(t) = t.kind else {
                    return Err(EmitError::Unsupported(format!("wp.{set} of a non-variable")));
                };
                let v = self.expr(v)?.0;
                let field = if set == Builtin::TransformSetTranslation { "p" } else { "q" };
                let _ = writeln!(out, "{ind}{}.{field} = {v};", self.name(t));
            }
            (Builtin::TileStore, [dst, t, _]) if matches!(t.ty, Type::Tile2(..)) => {
                let (ExprKind::Var(a), Type::Tile2(_, cols)) = (&dst.kind, t.ty) else {
                    return Err(EmitError::Unsupported("tile_store form".into()));
                };
                let (o0, o1) = self.tile_offset(args)?;
                let stride = self.array_cols(*a)?;
                let v = self.tile_elem(t, "elem")?.0;
                let a = self.name(*a).to_string();
                let n = t.ty.components();
                let _ = writeln!(
                    out,
                    "{ind}for (int elem = lane; elem < {n}; elem += lanes) \
                     {a}[({o0} + elem / {cols}) * {stride} + {o1} + elem % {cols}] = {v};"
                );
            }
            (Builtin::TileStore, [dst, t, off]) => {
                let (ExprKind::Var(a), ExprKind::Kw("offset", o), Type::Tile(n)) = (&dst.kind, &off.kind, t.ty) else {
                    return Err(EmitError::Unsupported("tile_store form".into()));
                };
                let o = self.expr(o)?;
                let o = paren(o, c_prec(BinOp::Add));
                let v = self.tile_elem(t, "elem")?.0;
                let a = self.name(*a).to_string();
                let _ = writeln!(out, "{ind}for (int elem = lane; elem < {n}; elem += lanes) {a}[{o} + elem] = {v};");
            }
            (Builtin::TileAtomicAdd, [dst, t]) => {
                let (ExprKind::Var(a), Type::Tile(n)) = (&dst.kind, t.ty) else {
                    return Err(EmitError::Unsupported("tile_atomic_add form".into()));
                };
                self.need(Helper::Atomic(AtomicKind::Add, Elem::F32));
                let v = self.tile_elem(t, "elem")?.0;
                let a = self.name(*a).to_string();
                let _ =
                    writeln!(out, "{ind}for (int elem = lane; elem < {n}; elem += lanes) atomic_add(&{a}[elem], {v});");
            }
            _ => return Err(EmitError::Unsupported(format!("wp.{name} as a statement"))),
        }
        Ok(())
    }

    /// The `offset=(o0, o1)` of a 2-D tile load or store, as C++ texts; `(0, 0)` when absent.
    pub(super) fn tile_offset(&mut self, args: &[Expr]) -> Result<(String, String), EmitError> {
        let off = args.iter().find_map(|a| match &a.kind {
            ExprKind::Kw("offset", o) => Some(o.as_ref()),
            _ => None,
        });
        match off.map(|o| &o.kind) {
            None => Ok(("0".into(), "0".into())),
            Some(ExprKind::Tuple(xs)) if xs.len() == 2 => {
                let (a, b) = (self.expr(&xs[0])?, self.expr(&xs[1])?);
                Ok((paren(a, c_prec(BinOp::Add)), paren(b, c_prec(BinOp::Add))))
            }
            Some(_) => Err(EmitError::Unsupported("a 2-D tile offset that is not a pair".into())),
        }
    }

    /// The column count of a 2-D array parameter (its row stride).
    pub(super) fn array_cols(&self, a: VarId) -> Result<u32, EmitError> {
        match self.k.params.iter().find(|p| p.var == a).map(|p| p.kind) {
            Some(ParamKind::Array { len: ArrayLen::Tiled2(_, c) | ArrayLen::Fixed2(_, c), .. }) => Ok(c),
            _ => Err(EmitError::Unsupported("a 2-D tile access of an array that is not 2-D".into())),
        }
    }

    /// Element `e` (C++ text) of a tile expression: a tile variable `t[e]`, `wp.tile_map(wp.f, ...)` as `f` of
    /// the elements, tile arithmetic element by element; scalar subexpressions as themselves.
    pub(super) fn tile_elem(&mut self, x: &Expr, e: &str) -> Result<(String, u8), EmitError> {
        if !matches!(x.ty, Type::Tile(_) | Type::Tile2(..)) {
            return self.expr(x);
        }
        Ok(match &x.kind {
            ExprKind::Var(v) => (format!("{}[{e}]", self.name(*v)), P_ATOM),
            ExprKind::Call(Builtin::TileMap, args) => {
                let Some((f, rest)) = args.split_first() else {
                    return Err(EmitError::Unsupported("tile_map without arguments".into()));
                };
                let ExprKind::FuncRef(f) = f.kind else {
                    return Err(EmitError::Unsupported("tile_map of a non-builtin".into()));
                };
                let mut xs = Vec::new();
                for a in rest {
                    xs.push(self.tile_elem(a, e)?);
                }
                match (f, xs.as_slice()) {
                    (op @ (Builtin::Add | Builtin::Sub | Builtin::Mul), [a, b]) => {
                        let bop = match op {
                            Builtin::Add => BinOp::Add,
                            Builtin::Sub => BinOp::Sub,
                            _ => BinOp::Mul,
                        };
                        let p = c_prec(bop);
                        (format!("{} {} {}", paren(a.clone(), p), c_token(bop), paren(b.clone(), p + 1)), p)
                    }
                    _ => {
                        let c = self.callee(f, &vec![Type::F32; xs.len()])?;
                        let joined = xs.into_iter().map(|a| a.0).collect::<Vec<_>>().join(", ");
                        (format!("{c}({joined})"), P_ATOM)
                    }
                }
            }
            ExprKind::Call(Builtin::TileAstype, args) => {
                // `tile_astype(tile_astype(a, dtype=narrow), dtype=float32)`: each element rounded to the narrower
                // float and back (the generator writes only this round trip)
                let [inner, back] = args.as_slice() else {
                    return Err(EmitError::Unsupported("tile_astype form".into()));
                };
                let dtype = |e: &Expr| match &e.kind {
                    ExprKind::Kw("dtype", d) => match d.kind {
                        ExprKind::FuncRef(b) => Some(b),
                        _ => None,
                    },
                    _ => None,
                };
                let ExprKind::Call(Builtin::TileAstype, inner_args) = &inner.kind else {
                    return Err(EmitError::Unsupported("tile_astype that is not a round trip".into()));
                };
                let [a, narrow] = inner_args.as_slice() else {
                    return Err(EmitError::Unsupported("tile_astype form".into()));
                };
                let round = match (dtype(narrow), dtype(back)) {
                    (Some(Builtin::Float16), Some(Builtin::Float32)) => {
                        self.need(Helper::RoundHalf);
                        "round_half"
                    }
                    (Some(Builtin::Bfloat16), Some(Builtin::Float32)) => {
                        self.need(Helper::RoundBfloat16);
                        "round_bfloat16"
                    }
                    _ => return Err(EmitError::Unsupported("tile_astype to another type".into())),
                };
                (format!("{round}({})", self.tile_elem(a, e)?.0), P_ATOM)
            }
            ExprKind::Call(Builtin::TileReshape, args) => {
                // same row-major elements under another shape
                let Some(src) = args.first() else {
                    return Err(EmitError::Unsupported("tile_reshape without a tile".into()));
                };
                self.tile_elem(src, e)?
            }
            ExprKind::Call(Builtin::TileBroadcast, args) => {
                // a 1-element tile repeated: every element is its value
                let Some(ExprKind::Var(src)) = args.first().map(|a| &a.kind) else {
                    return Err(EmitError::Unsupported("tile_broadcast of an expression".into()));
                };
                (format!("{}[0]", self.name(*src)), P_ATOM)
            }
            ExprKind::Binary(op @ (BinOp::Add | BinOp::Sub | BinOp::Mul), a, b) => {
                let p = c_prec(*op);
                let (a, b) = (self.tile_elem(a, e)?, self.tile_elem(b, e)?);
                (format!("{} {} {}", paren(a, p), c_token(*op), paren(b, p + 1)), p)
            }
            ExprKind::Unary(UnOp::Neg, a) => {
                // Warp's scalar neg, element by element: 0 - x
                self.need(Helper::NegF);
                (format!("wp_neg({})", self.tile_elem(a, e)?.0), P_ATOM)
            }
            _ => return Err(EmitError::Unsupported(format!("tile expression {:?}", x.kind))),
        })
    }

    /// Element `e` (C++ text) of `wp.tile_view(src, offset=..., shape=...)` (`args`) of type `ty`: `src[o + e]`
    /// of a 1-D tile local, `src[(o0 + e / cols) * src_cols + o1 + e % cols]` of a 2-D one.
    fn view_elem(&mut self, args: &[Expr], ty: Type, e: &str) -> Result<String, EmitError> {
        let Some(src) = args.first() else {
            return Err(EmitError::Unsupported("tile_view form".into()));
        };
        let s = self.tile_var(src)?;
        match (src.ty, ty) {
            (Type::Tile(_), Type::Tile(_)) => {
                let off = args.iter().find_map(|a| match &a.kind {
                    ExprKind::Kw("offset", o) => Some(&o.kind),
                    _ => None,
                });
                let o = match off {
                    Some(ExprKind::Tuple(xs)) if xs.len() == 1 => paren(self.expr(&xs[0])?, c_prec(BinOp::Add)),
                    _ => return Err(EmitError::Unsupported("a 1-D tile_view offset that is not a 1-tuple".into())),
                };
                Ok(format!("{s}[{o} + {e}]"))
            }
            (Type::Tile2(_, src_cols), Type::Tile2(_, cols)) => {
                let (o0, o1) = self.tile_offset(args)?;
                Ok(format!("{s}[({o0} + {e} / {cols}) * {src_cols} + {o1} + {e} % {cols}]"))
            }
            _ => Err(EmitError::Unsupported("tile_view between ranks".into())),
        }
    }

    /// The C++ name of a tile argument that must be a tile local (the generator passes locals, never
    /// expressions, to the solver builtins).
    fn tile_var(&self, e: &Expr) -> Result<String, EmitError> {
        match e.kind {
            ExprKind::Var(v) if matches!(e.ty, Type::Tile(_) | Type::Tile2(..)) => Ok(self.name(v).to_string()),
            _ => Err(EmitError::Unsupported("a tile argument that is not a tile local".into())),
        }
    }
}

/// Warp's scalar Cholesky (`tile_cholesky.h`, `scalar_cholesky_impl`, lower), as the CPU runs it, of the `m x m`
/// tile `a` into `t` (which may be `a` itself: `wp.tile_cholesky_inplace`; each step reads only entries of `a` it
/// has not written yet): column by column, the reciprocal of the pivot in double precision, the upper triangle
/// zeroed.
fn cholesky_code(t: &str, a: &str, m: u16, ind: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{ind}if (lane == 0) {{\n{ind}    for (int ch_j = 0; ch_j < {m}; ++ch_j) {{\n{ind}        \
                     float ch_s = {a}[ch_j * {m} + ch_j];\n{ind}        \
                     for (int ch_k = 0; ch_k < ch_j; ++ch_k) ch_s -= {t}[ch_j * {m} + ch_k] * {t}[ch_j * {m} + ch_k];\n{ind}        \
                     ch_s = sqrtf(ch_s);\n{ind}        const float ch_inv = (float)(1.0 / (double)ch_s);\n{ind}        \
                     {t}[ch_j * {m} + ch_j] = ch_s;\n{ind}        \
                     for (int ch_i = ch_j + 1; ch_i < {m}; ++ch_i) {{\n{ind}            \
                     float ch_si = {a}[ch_i * {m} + ch_j];\n{ind}            \
                     for (int ch_k = 0; ch_k < ch_j; ++ch_k) ch_si -= {t}[ch_i * {m} + ch_k] * {t}[ch_j * {m} + ch_k];\n{ind}            \
                     {t}[ch_i * {m} + ch_j] = ch_si * ch_inv;\n{ind}        }}\n{ind}        \
                     for (int ch_k = ch_j + 1; ch_k < {m}; ++ch_k) {t}[ch_j * {m} + ch_k] = 0.0f;\n{ind}    }}\n{ind}}}"
    );
    out
}

/// Warp's substitutions (`tile_solve.h`, vector right-hand side, by thread 0) of `n` unknowns: forward with `l`
/// from `y` into `t`, then (`cholesky`) backward with `l^T`; a zero pivot leaves the row's value undivided. `t`
/// may be `y` (the `_inplace` forms: row `i` reads `y[i]` before writing `t[i]`).
fn substitution_code(t: &str, l: &str, y: &str, n: usize, cholesky: bool, ind: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{ind}if (lane == 0) {{\n{ind}    for (int ch_i = 0; ch_i < {n}; ++ch_i) {{\n{ind}        \
                     float ch_s = {y}[ch_i];\n{ind}        \
                     for (int ch_j = 0; ch_j < ch_i; ++ch_j) ch_s -= {l}[ch_i * {n} + ch_j] * {t}[ch_j];\n{ind}        \
                     const float ch_d = {l}[ch_i * {n} + ch_i];\n{ind}        \
                     {t}[ch_i] = ch_d != 0.0f ? ch_s / ch_d : ch_s;\n{ind}    }}"
    );
    if cholesky {
        let _ = writeln!(
            out,
            "{ind}    for (int ch_i = {n} - 1; ch_i >= 0; --ch_i) {{\n{ind}        float ch_s = {t}[ch_i];\n{ind}        \
                         for (int ch_j = ch_i + 1; ch_j < {n}; ++ch_j) ch_s -= {l}[ch_j * {n} + ch_i] * {t}[ch_j];\n{ind}        \
                         const float ch_d = {l}[ch_i * {n} + ch_i];\n{ind}        \
                         {t}[ch_i] = ch_d != 0.0f ? ch_s / ch_d : ch_s;\n{ind}    }}"
        );
    }
    let _ = writeln!(out, "{ind}}}");
    out
}

/// Warp's `tile_upper_solve` (`tile_solve.h`): a copy of `z` into `t` (nothing when `t` is `z`:
/// `wp.tile_upper_solve_inplace`), then back substitution, row `i` reading `u[i, j]` for `j > i`.
fn upper_solve_code(t: &str, u: &str, z: &str, n: usize, ind: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{ind}if (lane == 0) {{\n{ind}    for (int ch_i = 0; ch_i < {n}; ++ch_i) {t}[ch_i] = {z}[ch_i];\n{ind}    \
                     for (int ch_i = {n} - 1; ch_i >= 0; --ch_i) {{\n{ind}        float ch_s = {t}[ch_i];\n{ind}        \
                     for (int ch_j = ch_i + 1; ch_j < {n}; ++ch_j) ch_s -= {u}[ch_i * {n} + ch_j] * {t}[ch_j];\n{ind}        \
                     const float ch_d = {u}[ch_i * {n} + ch_i];\n{ind}        \
                     {t}[ch_i] = ch_d != 0.0f ? ch_s / ch_d : ch_s;\n{ind}    }}\n{ind}}}"
    );
    out
}
