//! Tile kernels (the `tile` category): each launch index is a block that loads 1-D tiles of `N` elements,
//! transforms them element-wise (`wp.tile_map` with unary or binary builtins, tile arithmetic, scaling),
//! reduces them (`wp.tile_sum`, `wp.tile_max`, `wp.tile_min`, `wp.tile_reduce`), and writes tiles back
//! (`wp.tile_store`), per-block scalars (`out[i] = s[0] ...`) or global sums (`wp.tile_atomic_add`).
//!
//! The same range analysis as the thread kernels applies element-wise: a unary builtin is mapped over a tile
//! only when the tile's range lies in its domain.

use super::*;

/// Tile lengths drawn (elements per block).
pub const TILE_SIZES: [u16; 4] = [4, 8, 16, 32];
/// Binary builtins `wp.tile_map` is given (Warp 1.19 compiles binary and unary maps; a ternary map such as
/// `wp.tile_map(wp.clamp, a, b, c)` passes code generation but fails to build in C++, so none is drawn).
const BINARY_MAPS: &[Builtin] = &[Builtin::Add, Builtin::Sub, Builtin::Mul, Builtin::Min, Builtin::Max];

const TILE_NAMES: &[&str] = &["t", "tile", "u", "v", "w", "blk", "row", "seg"];
const RED_NAMES: &[&str] = &["s", "total", "m", "peak", "low", "acc", "red"];
const BLOCK_NAMES: &[&str] = &["i", "b", "block"];
const PER_BLOCK_NAMES: &[&str] = &["sums", "block_out", "partial", "per_block"];

/// A tile-valued local: its variable, length and range (per element).
#[derive(Clone, Copy)]
struct TileLocal {
    id: VarId,
    n: u16,
    iv: Interval,
    used: bool,
    /// An index tile (`wp.tile_argmax`/`wp.tile_argmin`, int32): read as `float(r[0])`, never atomically added.
    int: bool,
}

impl Gen<'_> {
    /// Builds a tile kernel: element-wise 1-D tile programs, or (one in three) a 2-D tile matrix product.
    pub(super) fn tile_kernel(&mut self) -> Kernel {
        if self.rng.random_bool(0.12) {
            return self.cholesky_kernel();
        }
        if self.rng.random_bool(0.35) {
            return self.matmul_kernel();
        }
        let verb = *VERBS.choose(&mut self.rng).unwrap_or(&"compute");
        let noun = *NOUNS.choose(&mut self.rng).unwrap_or(&"values");
        let name = format!("{verb}_{noun}");
        self.names.insert(name.clone());
        let n = *TILE_SIZES.choose(&mut self.rng).unwrap_or(&8);
        let tile_ty = Type::Tile(n);

        // parameters
        let n_in = self.rng.random_range(1..=2);
        let mut inputs = Vec::new();
        for _ in 0..n_in {
            let iv = self.input_range(Type::F32);
            let id = self.array_param(Type::F32, ArrayRole::Input, ArrayLen::Tiled(u32::from(n)), iv);
            inputs.push((id, iv));
        }
        let scalar = if self.rng.random_bool(0.5) {
            let iv = [Interval::new(0.1, 2.0), Interval::new(-1.0, 1.0), Interval::new(0.5, 4.0)]
                [self.rng.random_range(0..3)];
            let v = self.value_param(Type::F32, iv, F32_PARAM_NAMES);
            Some((self.values[v].id, iv))
        } else {
            None
        };
        let mut want_tile_out = self.rng.random_bool(0.8);
        let want_block_out = self.rng.random_bool(0.6);
        let want_atomic = self.rng.random_bool(0.4);
        if !want_block_out && !want_atomic {
            want_tile_out = true;
        }
        let tile_out = want_tile_out.then(|| {
            self.array_param(Type::F32, ArrayRole::Output, ArrayLen::Tiled(u32::from(n)), Interval::point(0.0))
        });
        let block_out = want_block_out.then(|| {
            let id = self.new_var(PER_BLOCK_NAMES, Type::F32);
            self.params.push(Param {
                var: id,
                kind: ParamKind::Array { role: ArrayRole::Output, len: ArrayLen::Launch },
                range: (0.0, 0.0),
            });
            id
        });
        let acc = want_atomic.then(|| {
            let id = self.new_var(ACC_ARRAY_NAMES, Type::F32);
            self.params.push(Param {
                var: id,
                kind: ParamKind::Array { role: ArrayRole::Accumulator, len: ArrayLen::Fixed(1) },
                range: (0.0, 0.0),
            });
            id
        });

        // a block-cooperative stack of the first input's elements (one kernel in four whose block fits a loop)
        let stack = u32::from(n) <= self.cfg.max_loop_trip && self.rng.random_bool(0.25);

        // i = wp.tid() (with a stack: i, lane = wp.tid()); offset = i * N
        let mut body = Vec::new();
        let block = self.new_var(BLOCK_NAMES, Type::I32);
        let tid = Expr { ty: Type::I32, kind: ExprKind::Tid };
        let lane = stack.then(|| self.new_var(&["lane"], Type::I32));
        match lane {
            Some(lane) => body.push(Stmt::Unpack { vars: vec![block, lane], value: tid }),
            None => body.push(Stmt::Let { var: block, value: tid }),
        }
        let offset = || {
            let o = Expr::binary(BinOp::Mul, Type::I32, Expr::var(block, Type::I32), Expr::int(i64::from(n)));
            Expr { ty: Type::I32, kind: ExprKind::Kw("offset", Box::new(o)) }
        };

        let mut tiles: Vec<TileLocal> = Vec::new();
        for &(a, iv) in &inputs {
            let id = self.new_var(TILE_NAMES, tile_ty);
            let shape = Expr { ty: Type::I32, kind: ExprKind::Kw("shape", Box::new(Expr::int(i64::from(n)))) };
            let load = Expr::call(Builtin::TileLoad, tile_ty, vec![Expr::var(a, Type::F32), shape, offset()]);
            body.push(Stmt::Let { var: id, value: load });
            tiles.push(TileLocal { id, n, iv, used: false, int: false });
        }

        // a tile of random floats (one kernel in eight): rng = wp.rand_init(seed, i), a state per block, then
        // wp.tile_randf(shape=N, rng=rng), in [0, 1) or in literal bounds [lo, hi)
        if self.rng.random_bool(0.125) {
            let state = self.new_var(&["rng", "state"], Type::U32);
            let seed = Expr::int(self.rng.random_range(1..1000i64));
            let init = Expr::call(Builtin::RandInit, Type::U32, vec![seed, Expr::var(block, Type::I32)]);
            body.push(Stmt::Let { var: state, value: init });
            let mut args = vec![kw("shape", Expr::int(i64::from(n))), kw("rng", Expr::var(state, Type::U32))];
            let iv = if self.rng.random_bool(0.5) {
                let lo = f64::from(self.rng.random_range(-4..=2i32)) * 0.5;
                let hi = lo + f64::from(self.rng.random_range(1..=4u32)) * 0.5;
                args.push(kw("min", Expr::float(lo)));
                args.push(kw("max", Expr::float(hi)));
                Interval::new(lo, hi)
            } else {
                Interval::new(0.0, 1.0)
            };
            let id = self.new_var(&["noise_t", "jitter", "rand_t"], tile_ty);
            body.push(Stmt::Let { var: id, value: Expr::call(Builtin::TileRandf, tile_ty, args) });
            tiles.push(TileLocal { id, n, iv, used: false, int: false });
        }

        // element-wise steps and reductions
        let mut reds: Vec<TileLocal> = Vec::new();
        let steps = self.rng.random_range(2..=6);
        // the scalar parameter scales one tile at a drawn step
        let scale_at = scalar.map(|_| self.rng.random_range(0..steps));
        for step in 0..steps {
            if Some(step) == scale_at
                && let Some((p, ip)) = scalar
                && let Some(k) = self.pick_tile(&tiles)
            {
                let t = tiles[k];
                let iv = t.iv.mul(ip);
                tiles[k].used = true;
                let (ea, s) = (Expr::var(t.id, tile_ty), Expr::var(p, Type::F32));
                let e = if self.rng.random_bool(0.5) {
                    Expr::binary(BinOp::Mul, tile_ty, ea, s)
                } else {
                    Expr::binary(BinOp::Mul, tile_ty, s, ea)
                };
                let id = self.new_var(TILE_NAMES, tile_ty);
                body.push(Stmt::Let { var: id, value: e });
                tiles.push(TileLocal { id, n, iv, used: false, int: false });
            } else if self.rng.random_bool(0.1) {
                let r = self.tile_window(&mut tiles, &mut body);
                reds.extend(r);
            } else if self.rng.random_bool(0.12) {
                self.tile_in_place(&mut tiles, &reds, &mut body);
            } else if self.rng.random_bool(0.3) {
                let r = self.tile_reduction(&mut tiles, &mut body, block_out.is_some());
                reds.extend(r);
            } else if let Some((t, e)) = self.tile_step(&mut tiles, &mut reds, scalar, tile_ty) {
                body.push(Stmt::Let { var: t.id, value: e });
                tiles.push(t);
            }
        }

        if let Some(lane) = lane {
            let (a, iv) = inputs[0];
            self.stack_step(block, lane, a, iv, n, &mut body);
        }

        // consumers: every tile and reduction is read by a store or an atomic
        if tile_out.is_none() {
            for k in 0..tiles.len() {
                if !tiles[k].used {
                    let r = self.reduce_tile(&mut tiles, k, &mut body);
                    reds.push(r);
                }
            }
        }
        let need_red = acc.is_some() || block_out.is_some();
        if need_red && reds.iter().all(|r| r.used) {
            let r = self.tile_reduction(&mut tiles, &mut body, false);
            reds.extend(r);
        }
        if let Some(out) = tile_out {
            let last = tiles.len() - 1;
            let mut e = Expr::var(tiles[last].id, tile_ty);
            tiles[last].used = true;
            for t in tiles[..last].iter_mut().filter(|t| !t.used) {
                t.used = true;
                e = Expr::binary(BinOp::Add, tile_ty, e, Expr::var(t.id, tile_ty));
            }
            if !need_red {
                for r in reds.iter_mut().filter(|r| !r.used) {
                    r.used = true;
                    e = Expr::binary(BinOp::Mul, tile_ty, e, red_value(r));
                }
            }
            let store = Expr::call(Builtin::TileStore, Type::Bool, vec![Expr::var(out, Type::F32), e, offset()]);
            body.push(Stmt::Call(store));
        }
        if let Some(a) = acc {
            let take = if block_out.is_some() { 1 } else { usize::MAX };
            let mut added = 0;
            for r in reds.iter_mut().filter(|r| !r.used && !r.int).take(take) {
                r.used = true;
                added += 1;
                let args = vec![Expr::var(a, Type::F32), Expr::var(r.id, Type::Tile(1))];
                body.push(Stmt::Call(Expr::call(Builtin::TileAtomicAdd, Type::Bool, args)));
            }
            if added == 0 {
                // every unused reduction was an index: sum the last tile for the global accumulator
                let last = tiles.len() - 1;
                let r = self.reduce_tile(&mut tiles, last, &mut body);
                let args = vec![Expr::var(a, Type::F32), Expr::var(r.id, Type::Tile(1))];
                body.push(Stmt::Call(Expr::call(Builtin::TileAtomicAdd, Type::Bool, args)));
            }
        }
        if let Some(out) = block_out {
            let mut e: Option<Expr> = None;
            for r in reds.iter_mut().filter(|r| !r.used) {
                r.used = true;
                let x = match scalar {
                    Some((s, _)) if self.rng.random_bool(0.4) => {
                        Expr::binary(BinOp::Mul, Type::F32, red_value(r), Expr::var(s, Type::F32))
                    }
                    _ => red_value(r),
                };
                e = Some(match e {
                    None => x,
                    Some(acc) => {
                        let op = if self.rng.random_bool(0.7) { BinOp::Add } else { BinOp::Sub };
                        Expr::binary(op, Type::F32, acc, x)
                    }
                });
            }
            let value = match (e, reds.last()) {
                (Some(e), _) => e,
                (None, Some(r)) => red_value(r),
                (None, None) => Expr::construct(Type::F32, vec![Expr::var(block, Type::I32)]),
            };
            body.push(Stmt::Store { array: out, index: vec![Expr::var(block, Type::I32)], value });
        }
        self.take_kernel(name, body)
    }

    /// A part or a concatenation of tiles, reduced at once (into a 1-element tile, as [`Self::reduce_tile`]):
    /// a window `w = wp.tile_view(t, offset=(o,), shape=(m,))` of `m = N/2` or `N/4` elements, or
    /// `c = wp.tile_empty(shape=2N, dtype=wp.float32, storage="shared")` filled by
    /// `wp.tile_assign(c, t, offset=(0,))` and `wp.tile_assign(c, u, offset=(N,))` (every element assigned
    /// before it is read; Warp's `tile_assign` needs a shared destination).
    fn tile_window(&mut self, tiles: &mut [TileLocal], body: &mut Vec<Stmt>) -> Option<TileLocal> {
        let k = self.pick_tile(tiles)?;
        let t = tiles[k];
        if t.int {
            return None;
        }
        tiles[k].used = true;
        let one = |v: i64| Expr { ty: Type::I32, kind: ExprKind::Tuple(vec![Expr::int(v)]) };
        let src = Expr::var(t.id, Type::Tile(t.n));
        let w = if t.n >= 4 && self.rng.random_bool(0.5) {
            let m = if t.n >= 8 && self.rng.random_bool(0.5) { t.n / 4 } else { t.n / 2 };
            let o = self.rng.random_range(0..=t.n - m);
            let ty = Type::Tile(m);
            let id = self.new_var(&["window", "part", "head", "seg"], ty);
            let view = Expr::call(
                Builtin::TileView,
                ty,
                vec![src, kw("offset", one(i64::from(o))), kw("shape", one(i64::from(m)))],
            );
            body.push(Stmt::Let { var: id, value: view });
            TileLocal { id, n: m, iv: t.iv, used: false, int: false }
        } else {
            let others: Vec<usize> = (0..tiles.len()).filter(|&j| !tiles[j].int && tiles[j].n == t.n).collect();
            let j = *others.choose(&mut self.rng).unwrap_or(&k);
            tiles[j].used = true;
            let u = tiles[j];
            let ty = Type::Tile(2 * t.n);
            let id = self.new_var(&["joined", "both", "cat"], ty);
            let storage = kw("storage", Expr { ty: Type::I32, kind: ExprKind::Const("\"shared\"") });
            let empty = Expr::call(
                Builtin::TileEmpty,
                ty,
                vec![kw("shape", Expr::int(i64::from(2 * t.n))), dtype_kw(Builtin::Float32), storage],
            );
            body.push(Stmt::Let { var: id, value: empty });
            for (part, at) in [(t, 0), (u, t.n)] {
                let args =
                    vec![Expr::var(id, ty), Expr::var(part.id, Type::Tile(part.n)), kw("offset", one(i64::from(at)))];
                body.push(Stmt::Call(Expr::call(Builtin::TileAssign, Type::Bool, args)));
            }
            TileLocal { id, n: 2 * t.n, iv: t.iv.hull(u.iv), used: false, int: false }
        };
        Some(self.reduce_tile(&mut [w], 0, body))
    }

    /// A block-cooperative stack that keeps the block's elements of input `a` (range `iv`, `n` a block) above a
    /// threshold, then pops them into a new launch-shaped accumulator and stores their count:
    ///
    /// ```text
    /// s = wp.tile_stack(capacity=N, dtype=wp.float32)
    /// for j in range(N):
    ///     x = a[i * N + j]
    ///     wp.tile_stack_push(s, x, lane == 0 and x > thr)
    /// kept = wp.tile_stack_count(s)
    /// while wp.tile_stack_count(s) > 0:
    ///     v, slot = wp.tile_stack_pop(s)
    ///     if slot >= 0:
    ///         wp.atomic_add(sums, i, v * c)
    /// wp.tile_stack_clear(s)          # half the time: ready for reuse
    /// counts[i] = kept
    /// ```
    ///
    /// Only lane 0 pushes, so a block of 256 threads on CUDA pushes what the CPU's one thread does; a pop gives
    /// each element to one thread (`slot >= 0`), so the atomic adds every kept element once (Warp's documented
    /// stack contract, `tile_stack` in `warp/_src/builtins.py`). The stack has no adjoint.
    fn stack_step(&mut self, block: VarId, lane: VarId, a: VarId, iv: Interval, n: u16, body: &mut Vec<Stmt>) {
        let n_i = i64::from(n);
        let sty = Type::Stack(n);
        let s = self.new_var(&["stack", "kept_vals", "picked"], sty);
        let capacity = kw("capacity", Expr::int(n_i));
        let alloc = Expr::call(Builtin::TileStack, sty, vec![capacity, dtype_kw(Builtin::Float32)]);
        body.push(Stmt::Let { var: s, value: alloc });
        let j = self.new_var(&["j", "e", "k"], Type::I32);
        let x = self.new_var(&["x", "val", "elem"], Type::F32);
        // a threshold inside the input's range, so some elements are kept and some are not
        let frac = *[0.25, 0.5, 0.75].choose(&mut self.rng).unwrap_or(&0.5);
        let thr = ((iv.lo + (iv.hi - iv.lo) * frac) * 100.0).round() / 100.0;
        let at = Expr::binary(
            BinOp::Add,
            Type::I32,
            Expr::binary(BinOp::Mul, Type::I32, Expr::var(block, Type::I32), Expr::int(n_i)),
            Expr::var(j, Type::I32),
        );
        let keep = Expr::binary(
            BinOp::And,
            Type::Bool,
            Expr::binary(BinOp::Eq, Type::Bool, Expr::var(lane, Type::I32), Expr::int(0)),
            Expr::binary(BinOp::Gt, Type::Bool, Expr::var(x, Type::F32), Expr::float(thr)),
        );
        let push =
            Expr::call(Builtin::TileStackPush, Type::I32, vec![Expr::var(s, sty), Expr::var(x, Type::F32), keep]);
        body.push(Stmt::For {
            var: j,
            count: Expr::int(n_i),
            body: vec![
                Stmt::Let { var: x, value: Expr { ty: Type::F32, kind: ExprKind::Load(a, vec![at]) } },
                Stmt::Call(push),
            ],
            reversed: self.rng.random_bool(0.3),
            as_while: false,
        });
        let count = || Expr::call(Builtin::TileStackCount, Type::I32, vec![Expr::var(s, sty)]);
        let kept = self.new_var(&["kept", "n_kept", "num"], Type::I32);
        body.push(Stmt::Let { var: kept, value: count() });
        let sums = self.array_param(Type::F32, ArrayRole::Accumulator, ArrayLen::Launch, Interval::point(0.0));
        let (v, slot) = (self.new_var(&["v", "item", "top"], Type::F32), self.new_var(&["slot", "at"], Type::I32));
        let c = *[1.0, 0.5, 2.0, -1.0].choose(&mut self.rng).unwrap_or(&1.0);
        let value = if c == 1.0 {
            Expr::var(v, Type::F32)
        } else {
            Expr::binary(BinOp::Mul, Type::F32, Expr::var(v, Type::F32), Expr::float(c))
        };
        body.push(Stmt::While {
            cond: Expr::binary(BinOp::Gt, Type::Bool, count(), Expr::int(0)),
            body: vec![
                Stmt::Unpack {
                    vars: vec![v, slot],
                    value: Expr::call(Builtin::TileStackPop, Type::F32, vec![Expr::var(s, sty)]),
                },
                Stmt::If {
                    cond: Expr::binary(BinOp::Ge, Type::Bool, Expr::var(slot, Type::I32), Expr::int(0)),
                    then: vec![Stmt::Atomic {
                        op: AtomicOp::Add,
                        array: sums,
                        index: Expr::var(block, Type::I32),
                        value,
                    }],
                    elifs: Vec::new(),
                    els: Vec::new(),
                },
            ],
        });
        if self.rng.random_bool(0.5) {
            body.push(Stmt::Call(Expr::call(Builtin::TileStackClear, Type::Bool, vec![Expr::var(s, sty)])));
        }
        let counts = self.array_param(Type::I32, ArrayRole::Output, ArrayLen::Launch, Interval::point(0.0));
        body.push(Stmt::Store {
            array: counts,
            index: vec![Expr::var(block, Type::I32)],
            value: Expr::var(kept, Type::I32),
        });
    }

    /// `wp.tile_sum(t)` of tile `k` (or `wp.tile_max` when the sum could leave the bounds).
    fn reduce_tile(&mut self, tiles: &mut [TileLocal], k: usize, body: &mut Vec<Stmt>) -> TileLocal {
        let t = tiles[k];
        tiles[k].used = true;
        let src = Expr::var(t.id, Type::Tile(t.n));
        let one = Type::Tile(1);
        let sum = t.iv.scale(f64::from(t.n));
        let (value, iv) = if sum.within(F_BOUND) {
            (Expr::call(Builtin::TileSum, one, vec![src]), sum)
        } else {
            (Expr::call(Builtin::TileMax, one, vec![src]), t.iv)
        };
        let id = self.new_var(RED_NAMES, one);
        body.push(Stmt::Let { var: id, value });
        TileLocal { id, n: 1, iv, used: false, int: false }
    }

    /// A block's matrix product: `A = tile_load(a, shape=(M, K), offset=(i * M, 0))` of a per-block row panel,
    /// `B` the shared `K x N` weights (loaded as is, or as `N x K` and transposed with `wp.tile_transpose`),
    /// `C = wp.tile_matmul(A, B)` (Warp's scalar GEMM: the module sets `enable_mathdx_gemm=False`), then
    /// element-wise steps on `C` (a bias tile, a mapped builtin, a scale) and `wp.tile_store` of the panel;
    /// optionally the panel's `wp.tile_sum` per block.
    fn matmul_kernel(&mut self) -> Kernel {
        const DIMS: [u16; 3] = [2, 4, 8];
        let verb = *VERBS.choose(&mut self.rng).unwrap_or(&"compute");
        let noun = *NOUNS.choose(&mut self.rng).unwrap_or(&"values");
        let name = format!("{verb}_{noun}");
        self.names.insert(name.clone());
        let (m, k, n) = (
            *DIMS.choose(&mut self.rng).unwrap_or(&4),
            *DIMS.choose(&mut self.rng).unwrap_or(&4),
            *DIMS.choose(&mut self.rng).unwrap_or(&4),
        );
        let (mu, ku, nu) = (u32::from(m), u32::from(k), u32::from(n));
        let ia = self.input_range(Type::F32);
        let a = self.array_param(Type::F32, ArrayRole::Input, ArrayLen::Tiled2(mu, ku), ia);
        let transposed = self.rng.random_bool(0.3);
        let iw =
            [Interval::new(-1.0, 1.0), Interval::new(0.0, 1.0), Interval::new(-2.0, 2.0)][self.rng.random_range(0..3)];
        let wshape = if transposed { ArrayLen::Fixed2(nu, ku) } else { ArrayLen::Fixed2(ku, nu) };
        let w = self.array_param(Type::F32, ArrayRole::Input, wshape, iw);
        let bias = self.rng.random_bool(0.4).then(|| {
            let ib = self.input_range(Type::F32);
            (self.array_param(Type::F32, ArrayRole::Input, ArrayLen::Tiled2(mu, nu), ib), ib)
        });
        let scalar = if self.rng.random_bool(0.4) {
            let v = self.value_param(Type::F32, Interval::new(0.1, 2.0), F32_PARAM_NAMES);
            Some((self.values[v].id, Interval::new(0.1, 2.0)))
        } else {
            None
        };
        let out = self.array_param(Type::F32, ArrayRole::Output, ArrayLen::Tiled2(mu, nu), Interval::point(0.0));
        let sums = self.rng.random_bool(0.4).then(|| {
            let id = self.new_var(PER_BLOCK_NAMES, Type::F32);
            self.params.push(Param {
                var: id,
                kind: ParamKind::Array { role: ArrayRole::Output, len: ArrayLen::Launch },
                range: (0.0, 0.0),
            });
            id
        });

        let mut body = Vec::new();
        let block = self.new_var(BLOCK_NAMES, Type::I32);
        body.push(Stmt::Let { var: block, value: Expr { ty: Type::I32, kind: ExprKind::Tid } });
        let int = |v: u16| Expr::int(i64::from(v));
        let tuple = |a: Expr, b: Expr| Expr { ty: Type::I32, kind: ExprKind::Tuple(vec![a, b]) };
        let panel_offset = || {
            let row = Expr::binary(BinOp::Mul, Type::I32, Expr::var(block, Type::I32), Expr::int(i64::from(m)));
            Expr {
                ty: Type::I32,
                kind: ExprKind::Kw(
                    "offset",
                    Box::new(Expr { ty: Type::I32, kind: ExprKind::Tuple(vec![row, Expr::int(0)]) }),
                ),
            }
        };
        let (ta, tb, tc) = (Type::Tile2(m, k), Type::Tile2(k, n), Type::Tile2(m, n));
        let av = self.new_var(&["A", "panel", "lhs"], ta);
        body.push(Stmt::Let {
            var: av,
            value: Expr::call(
                Builtin::TileLoad,
                ta,
                vec![Expr::var(a, Type::F32), kw("shape", tuple(int(m), int(k))), panel_offset()],
            ),
        });
        let bv = if transposed {
            let raw = self.new_var(&["Bt", "w_t"], Type::Tile2(n, k));
            body.push(Stmt::Let {
                var: raw,
                value: Expr::call(
                    Builtin::TileLoad,
                    Type::Tile2(n, k),
                    vec![Expr::var(w, Type::F32), kw("shape", tuple(int(n), int(k)))],
                ),
            });
            let bv = self.new_var(&["B", "rhs", "W"], tb);
            body.push(Stmt::Let {
                var: bv,
                value: Expr::call(Builtin::TileTranspose, tb, vec![Expr::var(raw, Type::Tile2(n, k))]),
            });
            bv
        } else {
            let bv = self.new_var(&["B", "rhs", "W"], tb);
            body.push(Stmt::Let {
                var: bv,
                value: Expr::call(
                    Builtin::TileLoad,
                    tb,
                    vec![Expr::var(w, Type::F32), kw("shape", tuple(int(k), int(n)))],
                ),
            });
            bv
        };
        let cv = self.new_var(&["C", "prod", "acc"], tc);
        body.push(Stmt::Let {
            var: cv,
            value: Expr::call(Builtin::TileMatmul, tc, vec![Expr::var(av, ta), Expr::var(bv, tb)]),
        });
        let mut cur = (cv, ia.mul(iw).scale(f64::from(k)));
        if let Some((b, ib)) = bias {
            let t = self.new_var(&["bias_t", "Bb"], tc);
            body.push(Stmt::Let {
                var: t,
                value: Expr::call(
                    Builtin::TileLoad,
                    tc,
                    vec![Expr::var(b, Type::F32), kw("shape", tuple(int(m), int(n))), panel_offset()],
                ),
            });
            let s = self.new_var(&["Z", "pre"], tc);
            body.push(Stmt::Let {
                var: s,
                value: Expr::binary(BinOp::Add, tc, Expr::var(cur.0, tc), Expr::var(t, tc)),
            });
            cur = (s, cur.1.add(ib));
        }
        let mut scaled = false;
        for _ in 0..self.rng.random_range(0..=2) {
            let (e, iv) = match (self.rng.random_range(0..3), scalar) {
                (0, Some((p, ip))) if !scaled => {
                    scaled = true;
                    (Expr::binary(BinOp::Mul, tc, Expr::var(cur.0, tc), Expr::var(p, Type::F32)), cur.1.mul(ip))
                }
                (1, _) => {
                    let (c, ic) = self.signed_lit(Type::F32);
                    (Expr::binary(BinOp::Mul, tc, c, Expr::var(cur.0, tc)), cur.1.mul(ic))
                }
                _ => {
                    let fitting: Vec<usize> = (0..unary_float().len()).filter(|&i| maps_over_tiles(i, cur.1)).collect();
                    let Some(&f) = fitting.choose(&mut self.rng) else { continue };
                    let f = &unary_float()[f];
                    let map = Expr::call(
                        Builtin::TileMap,
                        tc,
                        vec![Expr { ty: Type::F32, kind: ExprKind::FuncRef(f.name) }, Expr::var(cur.0, tc)],
                    );
                    (map, (f.img)(cur.1))
                }
            };
            if !iv.is_finite() || !iv.within(F_BOUND) {
                continue;
            }
            let t = self.new_var(&["D", "act", "H", "Y"], tc);
            body.push(Stmt::Let { var: t, value: e });
            cur = (t, iv);
        }
        if let (Some((p, ip)), false) = (scalar, scaled) {
            let t = self.new_var(&["D", "act", "H", "Y"], tc);
            body.push(Stmt::Let {
                var: t,
                value: Expr::binary(BinOp::Mul, tc, Expr::var(p, Type::F32), Expr::var(cur.0, tc)),
            });
            cur = (t, cur.1.mul(ip));
        }
        body.push(Stmt::Call(Expr::call(
            Builtin::TileStore,
            Type::Bool,
            vec![Expr::var(out, Type::F32), Expr::var(cur.0, tc), panel_offset()],
        )));
        if let Some(sums) = sums {
            let mut src = Expr::var(cur.0, tc);
            if m > 1 && self.rng.random_bool(0.25) {
                // one row of the panel: wp.tile_squeeze(wp.tile_view(C, offset=(r, 0), shape=(1, N))), N elements
                let r = self.rng.random_range(0..m);
                let row_ty = Type::Tile2(1, n);
                let view = Expr::call(
                    Builtin::TileView,
                    row_ty,
                    vec![src, kw("offset", tuple(int(r), int(0))), kw("shape", tuple(int(1), int(n)))],
                );
                let v = self.new_var(&["row", "first_row", "r_t"], Type::Tile(n));
                body.push(Stmt::Let { var: v, value: Expr::call(Builtin::TileSqueeze, Type::Tile(n), vec![view]) });
                src = Expr::var(v, Type::Tile(n));
            } else if self.rng.random_bool(0.4) {
                // flattened first: wp.tile_reshape(C, shape=(M * N,)), row-major
                let flat = Type::Tile(m * n);
                let shape = Expr { ty: Type::I32, kind: ExprKind::Tuple(vec![Expr::int(i64::from(m * n))]) };
                let v = self.new_var(&["flat", "C_flat", "vals"], flat);
                body.push(Stmt::Let {
                    var: v,
                    value: Expr::call(Builtin::TileReshape, flat, vec![src, kw("shape", shape)]),
                });
                src = Expr::var(v, flat);
            }
            let r = self.new_var(RED_NAMES, Type::Tile(1));
            body.push(Stmt::Let { var: r, value: Expr::call(Builtin::TileSum, Type::Tile(1), vec![src]) });
            let value =
                Expr { ty: Type::F32, kind: ExprKind::Component(Box::new(Expr::var(r, Type::Tile(1))), 0, None) };
            body.push(Stmt::Store { array: sums, index: vec![Expr::var(block, Type::I32)], value });
        }
        self.take_kernel(name, body)
    }

    /// A reduction of one tile into a 1-element tile: `wp.tile_sum(t)`, `wp.tile_max(t)`, `wp.tile_min(t)`,
    /// `wp.tile_reduce(wp.add|min|max, t)`, or of two tiles of one shape: `wp.tile_dot(t, u)`.
    fn tile_reduction(&mut self, tiles: &mut [TileLocal], body: &mut Vec<Stmt>, allow_int: bool) -> Option<TileLocal> {
        let k = self.pick_tile(tiles)?;
        let t = tiles[k];
        tiles[k].used = true;
        let src = Expr::var(t.id, Type::Tile(t.n));
        let one = Type::Tile(1);
        // `tile_sum` most often: the others have no adjoint in Warp 1.19 (see `catalog::gradient_gaps`)
        if allow_int && self.rng.random_bool(0.15) {
            // the index of the first largest (smallest) element, as an int32 tile
            let name = if self.rng.random_bool(0.5) { Builtin::TileArgmax } else { Builtin::TileArgmin };
            let id = self.new_var(&["k", "idx", "arg"], one);
            body.push(Stmt::Let { var: id, value: Expr::call(name, one, vec![src]) });
            return Some(TileLocal { id, n: 1, iv: Interval::new(0.0, f64::from(t.n) - 1.0), used: false, int: true });
        }
        if self.rng.random_bool(0.15)
            && let Some(j) = self.other_tile(tiles, k)
            && tiles[j].n == t.n
        {
            // the dot product of two tiles: the sum of their element-wise products
            let iv = t.iv.mul(tiles[j].iv).scale(f64::from(t.n));
            if iv.within(F_BOUND) {
                tiles[j].used = true;
                let other = Expr::var(tiles[j].id, Type::Tile(t.n));
                let id = self.new_var(RED_NAMES, one);
                body.push(Stmt::Let { var: id, value: Expr::call(Builtin::TileDot, one, vec![src, other]) });
                return Some(TileLocal { id, n: 1, iv, used: false, int: false });
            }
        }
        let (value, iv) = match self.rng.random_range(0..8) {
            0..=3 => (Expr::call(Builtin::TileSum, one, vec![src]), t.iv.scale(f64::from(t.n))),
            4 => (Expr::call(Builtin::TileMax, one, vec![src]), t.iv),
            5 => (Expr::call(Builtin::TileMin, one, vec![src]), t.iv),
            _ => {
                let op = [Builtin::Add, Builtin::Min, Builtin::Max][self.rng.random_range(0..3)];
                let iv = if op == Builtin::Add { t.iv.scale(f64::from(t.n)) } else { t.iv };
                (
                    Expr::call(
                        Builtin::TileReduce,
                        one,
                        vec![Expr { ty: Type::F32, kind: ExprKind::FuncRef(op) }, src],
                    ),
                    iv,
                )
            }
        };
        let (value, iv) = if iv.within(F_BOUND) {
            (value, iv)
        } else {
            (Expr::call(Builtin::TileMax, one, vec![Expr::var(t.id, Type::Tile(t.n))]), t.iv)
        };
        let id = self.new_var(RED_NAMES, one);
        body.push(Stmt::Let { var: id, value });
        Some(TileLocal { id, n: 1, iv, used: false, int: false })
    }

    /// An in-place update of an existing tile: `wp.tile_axpy(a, x, t)` (t += a x, Warp's `tile_axpy`) or one
    /// element, `t[k] += v` / `t[k] -= v` (`tile_add_inplace`, `tile_sub_inplace`) with a literal or a reduction's
    /// value.
    fn tile_in_place(&mut self, tiles: &mut [TileLocal], reds: &[TileLocal], body: &mut Vec<Stmt>) {
        let Some(t) = self.pick_tile(tiles) else { return };
        let ty = Type::Tile(tiles[t].n);
        if self.rng.random_bool(0.5) {
            let Some(x) = self.other_tile(tiles, t) else { return };
            if tiles[x].n != tiles[t].n {
                return;
            }
            let (a, ia) = self.signed_lit(Type::F32);
            let iv = tiles[t].iv.add(tiles[x].iv.mul(ia));
            if !iv.is_finite() || !iv.within(F_BOUND) {
                return;
            }
            tiles[t].iv = tiles[t].iv.hull(iv);
            tiles[x].used = true;
            // its new value is read by nothing yet (a read before the update saw the old one)
            tiles[t].used = false;
            let args = vec![a, Expr::var(tiles[x].id, ty), Expr::var(tiles[t].id, ty)];
            body.push(Stmt::Call(Expr::call(Builtin::TileAxpy, Type::Bool, args)));
            return;
        }
        let floats: Vec<&TileLocal> = reds.iter().filter(|r| !r.int).collect();
        let (v, iv) = match floats.choose(&mut self.rng) {
            Some(r) if self.rng.random_bool(0.5) => (red_value(r), r.iv),
            _ => self.signed_lit(Type::F32),
        };
        let sub = self.rng.random_bool(0.3);
        let moved = if sub { tiles[t].iv.sub(iv) } else { tiles[t].iv.add(iv) };
        if !moved.is_finite() || !moved.within(F_BOUND) {
            return;
        }
        tiles[t].iv = tiles[t].iv.hull(moved);
        tiles[t].used = false;
        let index = self.rng.random_range(0..tiles[t].n.min(255)) as u8;
        let op = Some(if sub { BinOp::Sub } else { BinOp::Add });
        body.push(Stmt::SetComponent { var: tiles[t].id, index, op, value: v });
    }

    /// A tile to read, preferring unused ones.
    fn pick_tile(&mut self, tiles: &[TileLocal]) -> Option<usize> {
        let unused: Vec<usize> = (0..tiles.len()).filter(|&k| !tiles[k].used).collect();
        if !unused.is_empty() && self.rng.random_bool(0.7) {
            return unused.choose(&mut self.rng).copied();
        }
        (!tiles.is_empty()).then(|| self.rng.random_range(0..tiles.len()))
    }

    /// A constant tile: `wp.tile_ones`, `wp.tile_full` (a literal value) or `wp.tile_arange` (0, 1, ...).
    fn constant_tile(&mut self, n: u16) -> Option<(TileLocal, Expr)> {
        let ty = Type::Tile(n);
        let dtype = Expr {
            ty: Type::F32,
            kind: ExprKind::Kw("dtype", Box::new(Expr { ty: Type::F32, kind: ExprKind::FuncRef(Builtin::Float32) })),
        };
        let shape = Expr { ty: Type::I32, kind: ExprKind::Kw("shape", Box::new(Expr::int(i64::from(n)))) };
        let (e, iv) = match self.rng.random_range(0..4) {
            3 => (Expr::call(Builtin::TileZeros, ty, vec![shape, dtype]), Interval::point(0.0)),
            0 => (Expr::call(Builtin::TileOnes, ty, vec![shape, dtype]), Interval::point(1.0)),
            1 => {
                let v = self.float_lit();
                let value = Expr { ty: Type::F32, kind: ExprKind::Kw("value", Box::new(Expr::float(v))) };
                (Expr::call(Builtin::TileFull, ty, vec![shape, value, dtype]), Interval::point(v))
            }
            _ => (
                Expr::call(Builtin::TileArange, ty, vec![Expr::int(i64::from(n)), dtype]),
                Interval::new(0.0, f64::from(n) - 1.0),
            ),
        };
        let id = self.new_var(TILE_NAMES, ty);
        Some((TileLocal { id, n, iv, used: false, int: false }, e))
    }

    /// A tile other than `a`, preferring unused ones; `None` when `a` is the only one.
    fn other_tile(&mut self, tiles: &[TileLocal], a: usize) -> Option<usize> {
        let others: Vec<usize> = (0..tiles.len()).filter(|&k| k != a).collect();
        let unused: Vec<usize> = others.iter().copied().filter(|&k| !tiles[k].used).collect();
        if !unused.is_empty() && self.rng.random_bool(0.7) {
            return unused.choose(&mut self.rng).copied();
        }
        others.choose(&mut self.rng).copied()
    }

    /// One element-wise step: a new tile from existing ones. Returns the local and its defining expression.
    fn tile_step(
        &mut self,
        tiles: &mut [TileLocal],
        reds: &mut [TileLocal],
        scalar: Option<(VarId, Interval)>,
        ty: Type,
    ) -> Option<(TileLocal, Expr)> {
        let Type::Tile(n) = ty else { return None };
        if self.rng.random_bool(0.1) {
            return self.constant_tile(n);
        }
        let a = self.pick_tile(tiles)?;
        let (ea, ia) = (Expr::var(tiles[a].id, ty), tiles[a].iv);
        // a production refused by the range check reads nothing: its operands keep their `used` flags
        let saved: (Vec<bool>, Vec<bool>) =
            (tiles.iter().map(|t| t.used).collect(), reds.iter().map(|r| r.used).collect());
        let (e, iv) = match self.rng.random_range(0..8) {
            7 => {
                // a reduction broadcast back over the tile: centring (`t - broadcast(sum)`), offsets, scaling
                let cands: Vec<usize> = (0..reds.len()).filter(|&r| !reds[r].int).collect();
                let r = *cands.iter().find(|&&r| !reds[r].used).or_else(|| cands.first())?;
                reds[r].used = true;
                let shape = Expr { ty: Type::I32, kind: ExprKind::Tuple(vec![Expr::int(i64::from(n))]) };
                let shape = Expr { ty: Type::I32, kind: ExprKind::Kw("shape", Box::new(shape)) };
                let b = Expr::call(Builtin::TileBroadcast, ty, vec![Expr::var(reds[r].id, Type::Tile(1)), shape]);
                let ir = reds[r].iv;
                match self.rng.random_range(0..3) {
                    0 => (Expr::binary(BinOp::Sub, ty, ea, b), ia.sub(ir)),
                    1 => (Expr::binary(BinOp::Add, ty, ea, b), ia.add(ir)),
                    _ => (Expr::binary(BinOp::Mul, ty, ea, b), ia.mul(ir)),
                }
            }
            6 => {
                // prefix scans, element by element in order (Warp's block_dim-1 path)
                let (name, iv) = match self.rng.random_range(0..4) {
                    0 => (Builtin::TileScanInclusive, ia.scale(f64::from(n)).hull(ia)),
                    1 => (Builtin::TileScanExclusive, ia.scale(f64::from(n)).hull(ia).with_zero()),
                    2 => (Builtin::TileScanMaxInclusive, ia),
                    _ => (Builtin::TileScanMinInclusive, ia),
                };
                (Expr::call(name, ty, vec![ea]), iv)
            }
            0 if self.rng.random_bool(0.1) => {
                // a round trip through a narrower float, element-wise: `wp.tile_astype(wp.tile_astype(a,
                // dtype=wp.float16), dtype=wp.float32)` (or bfloat16); |x| <= F_BOUND stays below half's largest
                // finite value, and rounding moves a value by at most 2^-11 (half) or 2^-8 (bfloat16) of itself
                let (narrow, rel) = if self.rng.random_bool(0.5) {
                    (Builtin::Float16, 1.0 / 2048.0)
                } else {
                    (Builtin::Bfloat16, 1.0 / 256.0)
                };
                let inner = Expr::call(Builtin::TileAstype, ty, vec![ea, dtype_kw(narrow)]);
                let iv = Interval::new(ia.lo - ia.lo.abs() * rel, ia.hi + ia.hi.abs() * rel);
                (Expr::call(Builtin::TileAstype, ty, vec![inner, dtype_kw(Builtin::Float32)]), iv)
            }
            0 | 1 => {
                // unary builtin mapped over the tile, when its domain holds
                let fitting: Vec<usize> = (0..unary_float().len()).filter(|&i| maps_over_tiles(i, ia)).collect();
                let f = &unary_float()[*fitting.choose(&mut self.rng)?];
                let r = (f.img)(ia);
                (Expr::call(Builtin::TileMap, ty, vec![Expr { ty: Type::F32, kind: ExprKind::FuncRef(f.name) }, ea]), r)
            }
            2 => {
                let b = self.other_tile(tiles, a)?;
                let (eb, ib) = (Expr::var(tiles[b].id, ty), tiles[b].iv);
                tiles[b].used = true;
                let op = *BINARY_MAPS.choose(&mut self.rng)?;
                let r = match op {
                    Builtin::Add => ia.add(ib),
                    Builtin::Sub => ia.sub(ib),
                    Builtin::Mul => ia.mul(ib),
                    Builtin::Min => ia.min(ib),
                    _ => ia.max(ib),
                };
                (Expr::call(Builtin::TileMap, ty, vec![Expr { ty: Type::F32, kind: ExprKind::FuncRef(op) }, ea, eb]), r)
            }
            3 => {
                let b = self.other_tile(tiles, a)?;
                let (eb, ib) = (Expr::var(tiles[b].id, ty), tiles[b].iv);
                tiles[b].used = true;
                if self.rng.random_bool(0.5) {
                    (Expr::binary(BinOp::Add, ty, ea, eb), ia.add(ib))
                } else {
                    (Expr::binary(BinOp::Sub, ty, ea, eb), ia.sub(ib))
                }
            }
            4 => {
                // scaled by a literal, the scalar parameter, or a reduction's value
                let unused_red = reds.iter().position(|r| !r.used);
                let (s, is) = match (scalar, unused_red) {
                    (_, Some(r)) if self.rng.random_bool(0.5) => {
                        reds[r].used = true;
                        (red_value(&reds[r]), reds[r].iv)
                    }
                    (Some((p, ip)), _) if self.rng.random_bool(0.6) => (Expr::var(p, Type::F32), ip),
                    _ => self.signed_lit(Type::F32),
                };
                if self.rng.random_bool(0.5) {
                    (Expr::binary(BinOp::Mul, ty, ea, s), ia.mul(is))
                } else {
                    (Expr::binary(BinOp::Mul, ty, s, ea), ia.mul(is))
                }
            }
            _ => (Expr::unary(UnOp::Neg, ea), ia.neg()),
        };
        if !iv.is_finite() || !iv.within(F_BOUND) {
            tiles.iter_mut().zip(saved.0).for_each(|(t, u)| t.used = u);
            reds.iter_mut().zip(saved.1).for_each(|(r, u)| r.used = u);
            return None;
        }
        tiles[a].used = true;
        let id = self.new_var(TILE_NAMES, ty);
        Some((TileLocal { id, n, iv, used: false, int: false }, e))
    }
}

/// `r[0]`: the value of a 1-element tile (`float(r[0])` for an index tile).
fn red_value(r: &TileLocal) -> Expr {
    if r.int {
        let i = Expr { ty: Type::I32, kind: ExprKind::Component(Box::new(Expr::var(r.id, Type::Tile(1))), 0, None) };
        return Expr::call(Builtin::Float, Type::F32, vec![i]);
    }
    Expr { ty: Type::F32, kind: ExprKind::Component(Box::new(Expr::var(r.id, Type::Tile(1))), 0, None) }
}

/// Whether unary math function `i` of [`unary_float`] can be mapped over a tile of values in `iv`: its domain
/// holds and it keeps the element type (a round trip through a narrower float would not).
pub(super) fn maps_over_tiles(i: usize, iv: Interval) -> bool {
    let f = &unary_float()[i];
    !f.round_trip && fits(f.dom, iv)
}
