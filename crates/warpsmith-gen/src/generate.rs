//! The kernel generator: builds a typed [`Kernel`] from a category's [`Policy`], tracking the value range of
//! every expression ([`Interval`]) so that the kernel is valid and well-defined by construction:
//!
//! - division only by expressions whose range excludes `[-0.1, 0.1]` (floats) or by positive literals (ints);
//! - `sqrt`, `log`, `pow` only on arguments `>= 0.01`; `asin`/`acos` on `[-0.95, 0.95]`; `exp`, `sinh`, `cosh`,
//!   `tan` on arguments small enough that the result stays below [`F_BOUND`];
//! - every float intermediate within `±F_BOUND`, every integer within `±I_BOUND` (no overflow, exact in float32);
//! - loops have literal or parameter trip counts `<= max_loop_trip`; a local declared outside a loop is either
//!   read-only in it or an accumulator whose range is widened by the product of enclosing trip counts;
//! - array reads index `tid` or `(tid + i) % len`; each thread writes only `out[tid]`; accumulator arrays are
//!   written only by atomics, at `tid % len` or a literal index below `len`;
//! - no dead code: every parameter and every local is in the backward slice of some output write
//!   ([`warpsmith_ast::liveness::live_vars`]), not merely read: what a block or the body leaves outside every
//!   slice is folded into the block's update or the final stores (a vector through all of its components half
//!   the time, `wp.length`);
//! - no constant that the typical values leave without effect where a choice can avoid it ([`crate::sample`]):
//!   a comparison's threshold lies between sample quantiles, a clamp changes some samples and keeps others, a
//!   domain guard's bound is one that some sample reaches, each `wp.min`/`wp.max` operand wins on some sample,
//!   a `wp.copysign` sign takes both signs, no production computes one value on every sample, and a local is
//!   never overwritten by a bare literal (`x = x + c` instead).

use rand::prelude::*;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use warpsmith_ast::{
    ArrayLen, ArrayRole, AtomicOp, BinOp, Builtin, Expr, ExprKind, Kernel, Param, ParamKind, Stmt, Type, UnOp, VarId,
    VarInfo, visit_stmts,
};

use crate::config::{Category, Config};
use crate::interval::Interval;
use crate::policy::{Policy, Required, TypeWeights, policy};
use crate::rules::{Dom, UNIT_MAX, unary_float};

mod exprs;
mod finish;
mod funcs;
mod geometry;
mod scene;
mod stmts;
mod structs;
mod tile_solve;
mod tiles;
mod typical;
pub use tiles::TILE_SIZES;

/// Largest magnitude of any float intermediate. Far below float32's range, so sums and products of a few
/// such values stay finite; the generator refuses productions whose range exceeds it.
pub const F_BOUND: f64 = 1.0e4;
/// Largest magnitude of any integer intermediate: 2^24, exact in float32 and far from int32 overflow.
pub const I_BOUND: f64 = 16_777_216.0;
/// Largest product of literal trip counts along a loop nest. Warp unrolls every `range(N)` with a literal
/// `N <= warp.config.max_unroll` (16 in 1.19.0) and, as its docs note, does not consider the total of nested
/// loops; past this budget a loop gets a dynamic trip count so the emitted C++/CUDA stays a readable size.
const UNROLL_BUDGET: u32 = 16;
/// Smallest magnitude of a float divisor's range.
const DIV_MIN: f64 = 0.1;

/// Generates the kernel of `category` for `seed`. Deterministic: the same inputs give the same kernel on
/// every platform (ChaCha8 stream, no floating-point-dependent control decisions beyond IEEE arithmetic).
pub fn generate(category: Category, seed: u64, cfg: &Config) -> Kernel {
    let mut g = Gen::new(category, seed, cfg);
    g.kernel()
}

fn fits(d: Dom, i: Interval) -> bool {
    d.fits(i)
}

fn bound(ty: Type) -> f64 {
    if ty == Type::I32 { I_BOUND } else { F_BOUND }
}

/// A typed expression with its value range.
type TExpr = (Expr, Interval);

#[derive(Clone, Debug)]
struct Local {
    id: VarId,
    ty: Type,
    iv: Interval,
    /// Loop nesting level at declaration.
    level: usize,
    /// Reads so far.
    uses: u32,
    /// An accumulator of an enclosing loop: not readable in values until that loop ends.
    frozen: bool,
    /// Assignable (a loop counter is not).
    mutable: bool,
    /// Accumulated range of `acc = acc ± e` contributions while frozen.
    pending: Interval,
}

#[derive(Clone, Copy)]
struct ArrayParam {
    id: VarId,
    ty: Type,
    iv: Interval,
    uses: u32,
}

#[derive(Clone, Copy)]
struct Acc {
    id: VarId,
    ty: Type,
    len: u32,
    /// The one atomic family this array is updated with: mixing `atomic_max` and `atomic_add` on one
    /// element makes the result depend on thread order.
    family: AtomicOp,
}

/// What a block's final statement updates.
#[derive(Clone, Copy)]
enum Target {
    /// Plain reassignment of a local (range widened by hull).
    Plain(usize),
    /// `acc = acc op e` on a frozen accumulator.
    Acc(usize),
}

struct Gen<'a> {
    rng: ChaCha8Rng,
    cfg: &'a Config,
    pol: Policy,
    vars: Vec<VarInfo>,
    params: Vec<Param>,
    locals: Vec<Local>,
    inputs: Vec<ArrayParam>,
    values: Vec<ArrayParam>,
    outputs: Vec<(VarId, Type)>,
    accs: Vec<Acc>,
    /// Scene handle parameters (never leaves: only scene queries read them).
    scenes: Vec<scene::ScenePar>,
    /// The `int32` index arrays (positions in `inputs`) of a policy with [`Policy::indirect`]: values in
    /// `[0, MIN_LAUNCH_DIM - 1]`, read at the thread's own element to index other arrays.
    index_arrays: Vec<usize>,
    /// The local of `tid` (1-D) or of the first launch index (2-D/3-D).
    tid: usize,
    /// The locals of the launch indices, one per launch dimension (`[tid]` in 1-D).
    idx: Vec<usize>,
    /// The local holding the random generator state (`wp.rand_init`), when the policy draws random numbers.
    state: Option<usize>,
    /// Random draws in the statement being built: at most one, because a draw advances the state and C++
    /// leaves the order of two draws in one expression unspecified, where Warp's code runs them in source order.
    draws: u32,
    trips: Vec<u32>,
    /// Literal trip count of each enclosing loop (1 for a dynamic loop): Warp unrolls the literal ones.
    unrolled: Vec<u32>,
    nest: u32,
    fuel: u32,
    /// Leaves left for the expression being built (keeps lines readable).
    budget: i32,
    names: std::collections::HashSet<String>,
    /// Typical values ([`crate::sample`]) of the locals and by-value parameters known so far; a reassigned
    /// local loses its entry.
    samples: std::collections::HashMap<VarId, Vec<f64>>,
    /// Samples of each array load drawn so far, by the load's text: the same element reads the same values.
    load_samples: std::collections::HashMap<String, Vec<f64>>,
    /// The stream the samples are drawn from, apart from `rng`.
    srng: ChaCha8Rng,
}

const F32_NAMES: &[&str] = &["x", "y", "z", "t", "u", "w", "s", "val", "tmp", "r", "d", "e", "f", "g", "h", "q"];
const I32_NAMES: &[&str] = &["k", "m", "idx", "cnt", "j", "flag", "step"];
const VEC_NAMES: &[&str] = &["v", "p", "dir", "n", "c", "a", "b", "o"];
const MAT_NAMES: &[&str] = &["M", "R", "A", "B", "T", "J"];
const QUAT_NAMES: &[&str] = &["q", "rot", "orient", "qa", "qb", "spin"];
const XFORM_NAMES: &[&str] = &["X", "pose", "xf", "frame", "body", "link"];
const IN_QUAT_NAMES: &[&str] = &["rotations", "orientations", "quats", "spins"];
const IN_XFORM_NAMES: &[&str] = &["poses", "body_q", "frames", "joints", "xforms"];
const ACC_NAMES: &[&str] = &["acc", "total", "sum", "best", "energy", "score"];
const IN_NAMES: &[&str] = &["a", "b", "src", "values", "data", "weights", "inputs", "field", "xs", "ys", "coeffs"];
const IN_VEC_NAMES: &[&str] = &["positions", "velocities", "normals", "points", "forces", "dirs"];
const IN_MAT_NAMES: &[&str] = &["transforms", "rotations", "frames", "jacobians", "mats"];
const OUT_NAMES: &[&str] = &["out", "result", "dst", "output", "res"];
const INDEX_ARRAY_NAMES: &[&str] = &["indices", "idx", "neighbors", "perm", "cell_ids", "src_index", "owner"];
const ACC_ARRAY_NAMES: &[&str] = &["totals", "counts", "hist", "sums", "bins"];
const F32_PARAM_NAMES: &[&str] = &["scale", "alpha", "beta", "gain", "dt", "bias", "offset", "weight", "k"];
const I32_PARAM_NAMES: &[&str] = &["n", "steps", "iters", "count", "shift", "level"];
const COUNTER_NAMES: &[&str] = &["i", "j", "k", "l"];
const VERBS: &[&str] = &[
    "compute",
    "update",
    "apply",
    "transform",
    "blend",
    "integrate",
    "accumulate",
    "project",
    "evaluate",
    "reduce",
    "advect",
    "smooth",
    "scale",
    "mix",
    "filter",
    "process",
    "solve",
    "warp",
    "shade",
    "relax",
];
const NOUNS: &[&str] = &[
    "values",
    "field",
    "particles",
    "weights",
    "forces",
    "points",
    "samples",
    "grid",
    "state",
    "velocity",
    "density",
    "energy",
    "buffer",
    "signal",
    "frames",
    "terms",
    "bodies",
    "pressure",
];

impl<'a> Gen<'a> {
    fn new(category: Category, seed: u64, cfg: &'a Config) -> Self {
        Gen {
            rng: ChaCha8Rng::seed_from_u64(seed),
            cfg,
            pol: policy(category),
            vars: Vec::new(),
            params: Vec::new(),
            locals: Vec::new(),
            inputs: Vec::new(),
            values: Vec::new(),
            outputs: Vec::new(),
            accs: Vec::new(),
            scenes: Vec::new(),
            index_arrays: Vec::new(),
            tid: 0,
            idx: Vec::new(),
            state: None,
            draws: 0,
            trips: Vec::new(),
            unrolled: Vec::new(),
            nest: 0,
            fuel: cfg.max_statements,
            budget: 0,
            names: ["wp", "range", "float", "int", "len", "min", "max", "abs"].iter().map(|s| s.to_string()).collect(),
            samples: std::collections::HashMap::new(),
            load_samples: std::collections::HashMap::new(),
            srng: ChaCha8Rng::seed_from_u64(seed ^ 0x5A3D_1E5A_3D1E_5A3D),
        }
    }

    // ---------------------------------------------------------------- names and variables

    fn fresh_name(&mut self, pool: &[&str]) -> String {
        let base = *pool.choose(&mut self.rng).unwrap_or(&"x");
        if self.names.insert(base.to_string()) {
            return base.to_string();
        }
        let mut i = 1;
        loop {
            let n = format!("{base}{i}");
            if self.names.insert(n.clone()) {
                return n;
            }
            i += 1;
        }
    }

    fn new_var(&mut self, pool: &[&str], ty: Type) -> VarId {
        let name = self.fresh_name(pool);
        self.vars.push(VarInfo { name, ty });
        self.vars.len() - 1
    }

    fn local_pool(ty: Type) -> &'static [&'static str] {
        match ty {
            Type::F32 | Type::Bool => F32_NAMES,
            Type::I32 => I32_NAMES,
            Type::Vec(_) => VEC_NAMES,
            Type::Mat(_) => MAT_NAMES,
            Type::Quat => QUAT_NAMES,
            Type::Transform => XFORM_NAMES,
            Type::Tile(_) | Type::Tile2(..) => VEC_NAMES,
            Type::U32 => &["state", "rng", "seed_state"],
            Type::Struct(_) => &["params", "cfg", "opts", "coeffs_p"],
            Type::Scene(_) => &["scene", "scene_id"],
            Type::Query(_) => &["query", "q"],
            Type::Stack(_) => &["stack", "s", "kept"],
        }
    }

    fn declare(&mut self, pool: &[&str], ty: Type, iv: Interval, mutable: bool) -> usize {
        let id = self.new_var(pool, ty);
        self.locals.push(Local {
            id,
            ty,
            iv,
            level: self.trips.len(),
            uses: 0,
            frozen: false,
            mutable,
            pending: Interval::point(0.0),
        });
        self.locals.len() - 1
    }

    // ---------------------------------------------------------------- random helpers

    fn weighted<T: Copy>(&mut self, items: &[(T, u32)]) -> T {
        items.choose_weighted(&mut self.rng, |i| i.1).map(|i| i.0).unwrap_or(items[0].0)
    }

    fn pick_type(&mut self, w: TypeWeights) -> Type {
        let class =
            self.weighted(&[(0u8, w.f32), (1, w.i32), (2, w.vec), (3, w.mat), (4, w.quat), (5, w.xform), (0, 1)]);
        match class {
            0 => Type::F32,
            1 => Type::I32,
            // rigid-body math works on vec3
            2 if w.quat + w.xform > 0 && self.rng.random_bool(0.15) => Type::Vec(6),
            2 if w.quat + w.xform > 0 && self.rng.random_bool(0.7) => Type::Vec(3),
            2 => Type::Vec(self.rng.random_range(2..=4)),
            3 if w.quat + w.xform > 0 => Type::Mat(3),
            3 => Type::Mat(self.rng.random_range(2..=4)),
            4 => Type::Quat,
            _ => Type::Transform,
        }
    }

    /// A non-negative float literal: a multiple of 0.25 below 4, a tenth, or a small integer.
    fn float_lit(&mut self) -> f64 {
        match self.rng.random_range(0..3) {
            0 => f64::from(self.rng.random_range(1..16u32)) * 0.25,
            1 => f64::from(self.rng.random_range(1..10u32)) / 10.0,
            _ => f64::from(self.rng.random_range(1..6u32)),
        }
    }

    fn lit(&mut self, ty: Type) -> TExpr {
        match ty {
            Type::I32 => {
                let v = self.rng.random_range(1..10i64);
                (Expr::int(v), Interval::point(v as f64))
            }
            _ => {
                let v = self.float_lit();
                (Expr::float(v), Interval::point(v))
            }
        }
    }

    /// A literal that may be negative: `-(lit)` printed as `-lit`.
    fn signed_lit(&mut self, ty: Type) -> TExpr {
        let (e, iv) = self.lit(ty);
        if self.rng.random_bool(0.3) { (Expr::unary(UnOp::Neg, e), iv.neg()) } else { (e, iv) }
    }

    /// `tid` in 1-D; one of the launch indices, drawn, in 2-D/3-D.
    fn tid_expr(&mut self) -> TExpr {
        let l = if self.idx.len() > 1 { *self.idx.choose(&mut self.rng).unwrap_or(&self.tid) } else { self.tid };
        self.locals[l].uses += 1;
        (Expr::var(self.locals[l].id, Type::I32), self.locals[l].iv)
    }

    /// True for the locals of the launch indices (`tid`, or `i, j, k`).
    fn is_index(&self, l: usize) -> bool {
        self.idx.contains(&l) || l == self.tid
    }

    /// The thread's own element of a launch-shaped array: `[tid]` or `[i, j(, k)]`.
    fn own_index(&mut self) -> Vec<Expr> {
        self.idx
            .clone()
            .into_iter()
            .map(|l| {
                self.locals[l].uses += 1;
                Expr::var(self.locals[l].id, Type::I32)
            })
            .collect()
    }

    /// A neighbour of the thread's own element of `array` along one axis, in bounds by construction:
    /// `(i + c) % n`, `(i + n - c) % n` (periodic), `wp.min(i + c, n - 1)`, `wp.max(i - c, 0)` or
    /// `wp.clamp(i + s, 0, n - 1)` (clamped), where `n = array.shape[axis]` and `c` is the literal offset or
    /// the loop counter `counter`.
    fn neighbour_index(&mut self, array: VarId, counter: Option<usize>) -> Vec<Expr> {
        let mut index = self.own_index();
        let axis = self.rng.random_range(0..index.len());
        let i = index[axis].clone();
        // a 1-D array's length is spelled `a.shape[0]` or, as often in Warp code, `len(a)`
        let n = if index.len() == 1 && self.rng.random_bool(0.3) {
            Expr::call(Builtin::Len, Type::I32, vec![Expr::var(array, self.vars[array].ty)])
        } else {
            Expr { ty: Type::I32, kind: ExprKind::Len(array, axis as u8) }
        };
        let off = match counter {
            Some(c) => {
                self.locals[c].uses += 1;
                Expr::var(self.locals[c].id, Type::I32)
            }
            None => Expr::int(self.rng.random_range(1..=2)),
        };
        let add = |a: Expr, b: Expr| Expr::binary(BinOp::Add, Type::I32, a, b);
        let sub = |a: Expr, b: Expr| Expr::binary(BinOp::Sub, Type::I32, a, b);
        let last = sub(n.clone(), Expr::int(1));
        let form = if counter.is_some() { self.rng.random_range(0..3) } else { self.rng.random_range(0..5) };
        index[axis] = match form {
            0 => Expr::binary(BinOp::Mod, Type::I32, add(i, off), n),
            1 => Expr::call(Builtin::Min, Type::I32, vec![add(i, off), last]),
            2 => Expr::call(Builtin::Clamp, Type::I32, vec![add(i, off), Expr::int(0), last]),
            3 => Expr::binary(BinOp::Mod, Type::I32, sub(add(i, n.clone()), off), n),
            _ => Expr::call(Builtin::Max, Type::I32, vec![sub(i, off), Expr::int(0)]),
        };
        index
    }

    /// A weighted stencil over one input: `c0 * a[own] + c1 * a[neighbour] + ...` (2 to 4 taps).
    fn stencil_expr(&mut self) -> Option<TExpr> {
        let cands: Vec<usize> = (0..self.inputs.len()).filter(|&i| self.inputs[i].ty != Type::I32).collect();
        let &i = cands.choose(&mut self.rng)?;
        let a = self.inputs[i];
        self.inputs[i].uses += 1;
        let taps = self.rng.random_range(2..=4);
        let mut acc: Option<TExpr> = None;
        for t in 0..taps {
            let index = if t == 0 { self.own_index() } else { self.neighbour_index(a.id, None) };
            let load = Expr { ty: a.ty, kind: ExprKind::Load(a.id, index) };
            let (term, iv) = if self.rng.random_bool(0.6) {
                let (c, ic) = self.signed_lit(Type::F32);
                (Expr::binary(BinOp::Mul, a.ty, c, load), a.iv.mul(ic))
            } else {
                (load, a.iv)
            };
            acc = Some(match acc {
                None => (term, iv),
                Some((e, ie)) => (Expr::binary(BinOp::Add, a.ty, e, term), ie.add(iv)),
            });
        }
        acc
    }

    // ---------------------------------------------------------------- expressions

    fn ok(ty: Type, t: Option<TExpr>) -> Option<TExpr> {
        t.filter(|(_, iv)| iv.is_finite() && iv.within(bound(ty)))
    }

    /// A statement-level expression: sets a fresh leaf budget, then builds it.
    fn top_expr(&mut self, ty: Type, depth: u32) -> TExpr {
        self.draws = 0;
        self.top_expr_keeping_draws(ty, depth)
    }

    /// [`Gen::top_expr`] for a statement that may already hold a random draw (`self.draws` is kept).
    fn top_expr_keeping_draws(&mut self, ty: Type, depth: u32) -> TExpr {
        self.budget = self.rng.random_range(2..=8);
        self.expr(ty, depth)
    }

    /// An expression of type `ty` (not `Bool`) of depth at most `depth`. Productions that are constant
    /// (no variable, load or `tid` below them), redundant ([`redundant`]) or constant on every typical value
    /// (`wp.step(wp.step(k))` of a named constant `k`) are refused.
    fn expr(&mut self, ty: Type, depth: u32) -> TExpr {
        if depth > 0 && self.budget > 1 && self.rng.random_bool(0.7) {
            for _ in 0..6 {
                let saved = (self.budget, self.uses());
                let t = self.production(ty, depth);
                if let Some(t) = Self::ok(ty, t)
                    && !is_const(&t.0)
                    && !redundant(&t.0)
                    && !self.constant_in_practice(&t.0)
                {
                    return t;
                }
                // a refused production reads nothing: roll back its use counts
                self.budget = saved.0;
                self.restore_uses(saved.1);
            }
        }
        self.leaf(ty)
    }

    fn leaf(&mut self, ty: Type) -> TExpr {
        self.budget -= 1;
        #[derive(Clone, Copy)]
        enum L {
            Local(usize),
            Value(usize),
            Load(usize),
            Neighbour(usize, usize),
            Offset(usize),
            Gather(usize, usize),
            Lit,
        }
        let mut c: Vec<(L, u32)> = Vec::new();
        let n = self.locals.len();
        for (i, l) in self.locals.iter().enumerate() {
            if l.ty == ty && !l.frozen && !self.is_index(i) {
                let recency = if n - i <= 3 { 3 } else { 1 };
                c.push((L::Local(i), recency + if l.uses == 0 { 6 } else { 0 }));
            }
        }
        for (i, v) in self.values.iter().enumerate() {
            if v.ty == ty {
                c.push((L::Value(i), if v.uses == 0 { 8 } else { 1 }));
            }
        }
        let counter = self.locals.iter().rposition(|l| !l.mutable && l.ty == Type::I32 && l.level > 0);
        for (i, a) in self.inputs.iter().enumerate() {
            if a.ty == ty {
                c.push((L::Load(i), if a.uses == 0 { 8 } else { 2 }));
                if let Some(ci) = counter {
                    c.push((L::Neighbour(i, ci), 2));
                }
                if self.pol.neighbour > 0 {
                    c.push((L::Offset(i), self.pol.neighbour));
                }
                for &j in &self.index_arrays {
                    c.push((L::Gather(i, j), self.pol.indirect));
                }
            }
        }
        if ty == Type::I32 {
            for l in self.idx.clone() {
                c.push((L::Local(l), 2));
            }
        }
        if ty.is_scalar() {
            c.push((L::Lit, 2));
        }
        if c.is_empty() {
            return self.composite_leaf(ty);
        }
        let choice = self.weighted(&c);
        match choice {
            L::Local(i) => {
                self.locals[i].uses += 1;
                (Expr::var(self.locals[i].id, ty), self.locals[i].iv)
            }
            L::Value(i) => {
                self.values[i].uses += 1;
                (Expr::var(self.values[i].id, ty), self.values[i].iv)
            }
            L::Load(i) => {
                self.inputs[i].uses += 1;
                let index = self.own_index();
                let a = self.inputs[i];
                (Expr { ty, kind: ExprKind::Load(a.id, index) }, a.iv)
            }
            L::Neighbour(i, _) | L::Offset(i) => {
                self.inputs[i].uses += 1;
                let a = self.inputs[i];
                let counter = if let L::Neighbour(_, ci) = choice { Some(ci) } else { None };
                let index = self.neighbour_index(a.id, counter);
                (Expr { ty, kind: ExprKind::Load(a.id, index) }, a.iv)
            }
            L::Gather(i, j) => self.gather(i, j),
            L::Lit => self.lit(ty),
        }
    }

    /// `a[idx[tid]]`: input `i` read at the index that index array `j` holds at the thread's own element.
    fn gather(&mut self, i: usize, j: usize) -> TExpr {
        self.inputs[i].uses += 1;
        let at = self.indirect_index(j);
        let a = self.inputs[i];
        (Expr { ty: a.ty, kind: ExprKind::Load(a.id, vec![at]) }, a.iv)
    }

    /// `idx[tid]`: index array `j` (a position in `inputs`) at the thread's own element, in
    /// `[0, MIN_LAUNCH_DIM - 1]`.
    fn indirect_index(&mut self, j: usize) -> Expr {
        self.inputs[j].uses += 1;
        let own = self.own_index();
        Expr { ty: Type::I32, kind: ExprKind::Load(self.inputs[j].id, own) }
    }

    fn uses(&self) -> Vec<u32> {
        let l = self.locals.iter().map(|l| l.uses);
        l.chain(self.values.iter().map(|v| v.uses)).chain(self.inputs.iter().map(|a| a.uses)).collect()
    }

    fn restore_uses(&mut self, saved: Vec<u32>) {
        let mut it = saved.into_iter();
        let slots = self.locals.iter_mut().map(|l| &mut l.uses);
        let slots =
            slots.chain(self.values.iter_mut().map(|v| &mut v.uses)).chain(self.inputs.iter_mut().map(|a| &mut a.uses));
        for (slot, v) in slots.zip(&mut it) {
            *slot = v;
        }
    }

    /// A non-constant leaf of type `ty` (`tid` or its cast when nothing else fits).
    fn var_leaf(&mut self, ty: Type) -> TExpr {
        for _ in 0..4 {
            let t = self.leaf(ty);
            if !is_const(&t.0) {
                return t;
            }
        }
        let (t, iv) = self.tid_expr();
        if ty == Type::I32 { (t, iv) } else { (Expr::construct(Type::F32, vec![t]), iv) }
    }

    /// A vector or matrix built from scalars when no variable of the type is at hand.
    fn composite_leaf(&mut self, ty: Type) -> TExpr {
        match ty {
            Type::Vec(6) => {
                // a spatial vector from its angular and linear parts (it has no one-value constructor)
                let (w, iw) = self.leaf(Type::Vec(3));
                let (v, iv) = self.leaf(Type::Vec(3));
                (Expr::construct(ty, vec![w, v]), iw.hull(iv))
            }
            Type::Vec(n) => {
                if self.rng.random_bool(0.4) {
                    let (s, iv) = self.leaf(Type::F32);
                    (Expr::construct(ty, vec![s]), iv)
                } else {
                    let mut args = Vec::new();
                    let mut iv: Option<Interval> = None;
                    let keep = self.rng.random_range(0..n);
                    for c in 0..n {
                        let (e, i) = if c == keep || self.rng.random_bool(0.4) {
                            self.leaf(Type::F32)
                        } else {
                            self.lit(Type::F32)
                        };
                        iv = Some(iv.map_or(i, |a| a.hull(i)));
                        args.push(e);
                    }
                    (Expr::construct(ty, args), iv.unwrap_or(Interval::point(0.0)))
                }
            }
            Type::Mat(n) if self.rng.random_bool(0.2) => {
                // a scaled identity: s * wp.identity(n=N, dtype=wp.float32)
                let (s, is) = self.leaf(Type::F32);
                let kw = |name: &'static str, v: Expr| Expr { ty: v.ty, kind: ExprKind::Kw(name, Box::new(v)) };
                let id = Expr::call(
                    Builtin::Identity,
                    ty,
                    vec![kw("n", Expr::int(i64::from(n))), dtype_kw(Builtin::Float32)],
                );
                (Expr::binary(BinOp::Mul, ty, s, id), is.with_zero())
            }
            Type::Mat(n) => {
                let (v, iv) = self.leaf(Type::Vec(n));
                if self.rng.random_bool(0.5) {
                    (Expr::call(Builtin::Diag, ty, vec![v]), iv.with_zero())
                } else {
                    let (w, iw) = self.leaf(Type::Vec(n));
                    (Expr::call(Builtin::Outer, ty, vec![v, w]), iv.mul(iw))
                }
            }
            Type::Quat => match self.rng.random_range(0..3) {
                0 => {
                    let (axis, _) = self.leaf(Type::Vec(3));
                    let (angle, _) = self.leaf(Type::F32);
                    let axis = (Expr::call(Builtin::Normalize, Type::Vec(3), vec![axis]), Interval::new(-1.0, 1.0));
                    (Expr::call(Builtin::QuatFromAxisAngle, ty, vec![axis.0, angle]), Interval::new(-1.0, 1.0))
                }
                1 => {
                    let args: Vec<Expr> = (0..3).map(|_| self.leaf(Type::F32).0).collect();
                    (Expr::call(Builtin::QuatRpy, ty, args), Interval::new(-2.0, 2.0))
                }
                _ => {
                    let keep = self.rng.random_range(0..4);
                    let mut iv = Interval::point(0.0);
                    let mut args = Vec::new();
                    for c in 0..4 {
                        let (e, i) = if c == keep { self.leaf(Type::F32) } else { self.signed_lit(Type::F32) };
                        iv = iv.hull(i);
                        args.push(e);
                    }
                    (Expr::construct(ty, args), iv)
                }
            },
            Type::Transform => {
                let (p, ip) = self.leaf(Type::Vec(3));
                if self.rng.random_bool(0.25) {
                    // a pure translation
                    let q = Expr::call(Builtin::QuatIdentity, Type::Quat, vec![]);
                    return (Expr::construct(ty, vec![p, q]), ip.hull(Interval::new(0.0, 1.0)));
                }
                let (q, iq) = self.leaf(Type::Quat);
                (Expr::construct(ty, vec![p, q]), ip.hull(iq))
            }
            // tiles are built only by `tile_kernel`, never requested as a leaf
            Type::F32
            | Type::I32
            | Type::Tile(_)
            | Type::Tile2(..)
            | Type::U32
            | Type::Struct(_)
            | Type::Scene(_)
            | Type::Query(_)
            | Type::Stack(_) => {
                debug_assert!(
                    !matches!(
                        ty,
                        Type::Tile(_) | Type::U32 | Type::Struct(_) | Type::Scene(_) | Type::Query(_) | Type::Stack(_)
                    ),
                    "a tile, state, struct, scene, query or stack leaf"
                );
                self.lit(ty)
            }
            Type::Bool => (Expr { ty, kind: ExprKind::Bool(true) }, Interval::point(1.0)),
        }
    }

    // ---------------------------------------------------------------- parameters and the kernel

    fn value_param(&mut self, ty: Type, iv: Interval, pool: &[&str]) -> usize {
        let id = self.new_var(pool, ty);
        self.params.push(Param { var: id, kind: ParamKind::Value, range: (iv.lo, iv.hi) });
        self.values.push(ArrayParam { id, ty, iv, uses: 0 });
        self.values.len() - 1
    }

    fn input_range(&mut self, ty: Type) -> Interval {
        if matches!(ty, Type::Quat | Type::Transform) {
            // near-unit rotations; translations of the same scale
            return Interval::new(-1.0, 1.0);
        }
        if ty == Type::I32 {
            return [Interval::new(0.0, 100.0), Interval::new(-50.0, 50.0), Interval::new(0.0, 9.0)]
                [self.rng.random_range(0..3)];
        }
        [
            Interval::new(-1.0, 1.0),
            Interval::new(0.0, 1.0),
            Interval::new(-2.0, 2.0),
            Interval::new(0.5, 2.0),
            Interval::new(-10.0, 10.0),
        ][self.rng.random_range(0..5)]
    }

    fn array_pool(ty: Type, role: ArrayRole) -> &'static [&'static str] {
        match (role, ty) {
            (ArrayRole::Output, _) => OUT_NAMES,
            (ArrayRole::Accumulator, _) => ACC_ARRAY_NAMES,
            (_, Type::Vec(_)) => IN_VEC_NAMES,
            (_, Type::Mat(_)) => IN_MAT_NAMES,
            (_, Type::Quat) => IN_QUAT_NAMES,
            (_, Type::Transform) => IN_XFORM_NAMES,
            _ => IN_NAMES,
        }
    }

    fn array_param(&mut self, ty: Type, role: ArrayRole, len: ArrayLen, iv: Interval) -> VarId {
        let id = self.new_var(Self::array_pool(ty, role), ty);
        self.params.push(Param { var: id, kind: ParamKind::Array { role, len }, range: (iv.lo, iv.hi) });
        id
    }

    fn kernel(&mut self) -> Kernel {
        let p = self.pol;
        if p.tiled {
            return self.tile_kernel();
        }
        let verb = *VERBS.choose(&mut self.rng).unwrap_or(&"compute");
        let noun = *NOUNS.choose(&mut self.rng).unwrap_or(&"values");
        let name = format!("{verb}_{noun}");
        self.names.insert(name.clone());

        let n_in = self.rng.random_range(p.inputs.0..=p.inputs.1);
        for _ in 0..n_in {
            let ty = self.pick_type(p.array_types);
            let iv = self.input_range(ty);
            let id = self.array_param(ty, ArrayRole::Input, ArrayLen::Launch, iv);
            self.inputs.push(ArrayParam { id, ty, iv, uses: 0 });
        }
        if p.scenes > 0 {
            self.scene_params();
        }
        if p.indirect > 0 && p.ndim == 1 {
            // one or two index arrays (connectivity, permutations, cell ids) whose values index any
            // launch-shaped array
            let hi = f64::from(crate::vectors::MIN_LAUNCH_DIM - 1);
            for _ in 0..self.rng.random_range(1..=2) {
                let id = self.new_var(INDEX_ARRAY_NAMES, Type::I32);
                let iv = Interval::new(0.0, hi);
                let len = ArrayLen::Launch;
                self.params.push(Param {
                    var: id,
                    kind: ParamKind::Array { role: ArrayRole::Input, len },
                    range: (0.0, hi),
                });
                self.index_arrays.push(self.inputs.len());
                self.inputs.push(ArrayParam { id, ty: Type::I32, iv, uses: 0 });
            }
        }
        let n_sc = self.rng.random_range(p.scalars.0..=p.scalars.1);
        for _ in 0..n_sc {
            let ty = if self.rng.random_bool(0.7) { Type::F32 } else { Type::I32 };
            let iv = if ty == Type::F32 {
                [Interval::new(0.1, 2.0), Interval::new(-1.0, 1.0), Interval::new(0.5, 4.0)]
                    [self.rng.random_range(0..3)]
            } else {
                Interval::new(1.0, f64::from(self.cfg.max_loop_trip))
            };
            let pool = if ty == Type::F32 { F32_PARAM_NAMES } else { I32_PARAM_NAMES };
            self.value_param(ty, iv, pool);
        }
        let n_acc = self.rng.random_range(p.accumulators.0..=p.accumulators.1);
        for _ in 0..n_acc {
            let ty = self.pick_type(TypeWeights { mat: 0, quat: 0, xform: 0, ..p.array_types });
            let len = *p.acc_lens.choose(&mut self.rng).unwrap_or(&1);
            let id = self.array_param(ty, ArrayRole::Accumulator, ArrayLen::Fixed(len), Interval::point(0.0));
            let family = if ty.is_scalar() {
                let bits = if ty == Type::I32 { 1 } else { 0 };
                self.weighted(&[
                    (AtomicOp::Add, 6),
                    (AtomicOp::Min, 1),
                    (AtomicOp::Max, 1),
                    (AtomicOp::Or, bits),
                    (AtomicOp::Xor, bits),
                ])
            } else {
                AtomicOp::Add
            };
            self.accs.push(Acc { id, ty, len, family });
        }
        let n_out = self.rng.random_range(p.outputs.0..=p.outputs.1);
        let n_out = if n_out == 0 && self.accs.is_empty() { 1 } else { n_out };
        for _ in 0..n_out {
            let ty = self.pick_type(p.array_types);
            let id = self.array_param(ty, ArrayRole::Output, ArrayLen::Launch, Interval::point(0.0));
            self.outputs.push((id, ty));
        }

        let mut body = Vec::new();
        let axes: &[&str] = match p.ndim {
            1 => &["tid"],
            2 => &["i", "j"],
            _ => &["i", "j", "k"],
        };
        let mut index_vars = Vec::new();
        for axis in axes {
            let id = self.new_var(&[axis], Type::I32);
            self.locals.push(Local {
                id,
                ty: Type::I32,
                iv: Interval::new(0.0, f64::from(self.cfg.max_launch_dim - 1)),
                level: 0,
                uses: 1,
                frozen: false,
                mutable: false,
                pending: Interval::point(0.0),
            });
            self.idx.push(self.locals.len() - 1);
            index_vars.push(id);
        }
        self.tid = 0;
        if p.ndim == 1 {
            body.push(Stmt::Let { var: index_vars[0], value: Expr { ty: Type::I32, kind: ExprKind::Tid } });
        } else {
            body.push(Stmt::LaunchIndex { vars: index_vars });
        }

        if p.exprs.rand > 0 {
            // state = wp.rand_init(seed, tid): one stream per thread
            let seed = self.value_param(Type::I32, Interval::new(0.0, 1000.0), &["seed", "rng_seed", "salt"]);
            self.values[seed].uses += 1;
            let seed = Expr::var(self.values[seed].id, Type::I32);
            let (t, _) = self.tid_expr();
            let l = self.declare(Self::local_pool(Type::U32), Type::U32, Interval::new(0.0, 4294967295.0), false);
            self.locals[l].uses += 1;
            self.state = Some(l);
            body.push(Stmt::Let {
                var: self.locals[l].id,
                value: Expr::call(Builtin::RandInit, Type::U32, vec![seed, t]),
            });
        }

        // read some inputs into named locals first, as hand-written kernels do
        for i in 0..self.inputs.len() {
            if self.rng.random_bool(0.5) {
                let a = self.inputs[i];
                self.inputs[i].uses += 1;
                let index = self.own_index();
                let l = self.declare(Self::local_pool(a.ty), a.ty, a.iv, true);
                let value = Expr { ty: a.ty, kind: ExprKind::Load(a.id, index) };
                self.set_typical(l, &value);
                body.push(Stmt::Let { var: self.locals[l].id, value });
            }
        }

        let max_body = p.body.1.min(self.cfg.max_statements);
        let n = self.rng.random_range(p.body.0.min(max_body)..=max_body);
        let mut at: Vec<u32> = p.required.iter().map(|_| self.rng.random_range(0..=n)).collect();
        at.sort_unstable();
        let mut req = p.required.iter().zip(at).peekable();
        for i in 0..=n {
            while let Some((r, _)) = req.next_if(|(_, a)| *a == i) {
                self.required(*r, &mut body);
            }
            if i < n {
                self.stmt(&mut body);
            }
        }

        self.finish(&mut body);
        finish::materialize_literals(&mut body);
        let mut k = self.take_kernel(name, body);
        self.outline_funcs(&mut k);
        self.group_struct(&mut k);
        k
    }

    /// The kernel built so far: `name`, the variables and parameters (taken from the generator), `body`; no
    /// helpers or structs yet.
    fn take_kernel(&mut self, name: String, body: Vec<Stmt>) -> Kernel {
        Kernel {
            name,
            vars: std::mem::take(&mut self.vars),
            params: std::mem::take(&mut self.params),
            body,
            funcs: Vec::new(),
            structs: Vec::new(),
        }
    }
}

/// True if `block` has a `continue` that belongs to its own loop (not to a nested one).
fn continues(block: &[Stmt]) -> bool {
    block.iter().any(|s| match s {
        Stmt::Continue => true,
        Stmt::If { then, elifs, els, .. } => {
            continues(then) || elifs.iter().any(|(_, b)| continues(b)) || continues(els)
        }
        _ => false,
    })
}

/// The keyword argument `dtype=wp.<b>` (`wp.volume_sample(..., dtype=wp.float32)`, `wp.tile_astype(t,
/// dtype=wp.float16)`, `wp.identity(n=3, dtype=wp.float32)`).
/// A keyword argument `name=v` of a tile or scene builtin (`shape=`, `offset=`, `rng=`, `capacity=`, ...).
pub(crate) fn kw(name: &'static str, v: Expr) -> Expr {
    Expr { ty: Type::I32, kind: ExprKind::Kw(name, Box::new(v)) }
}

pub(crate) fn dtype_kw(b: Builtin) -> Expr {
    Expr { ty: Type::F32, kind: ExprKind::Kw("dtype", Box::new(Expr { ty: Type::F32, kind: ExprKind::FuncRef(b) })) }
}

/// An expression with no variable, array load or `tid` in it: its value is known before the kernel runs.
pub(crate) fn is_const(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Var(_)
        | ExprKind::Field(..)
        | ExprKind::Member(..)
        | ExprKind::Tid
        | ExprKind::Load(..)
        | ExprKind::Len(..) => false,
        ExprKind::FuncRef(_) | ExprKind::Const(_) => true,
        ExprKind::Kw(_, a) => is_const(a),
        ExprKind::Tuple(a) => a.iter().all(is_const),
        ExprKind::Float(_) | ExprKind::Int(_) | ExprKind::Bool(_) => true,
        ExprKind::Unary(_, a) | ExprKind::Component(a, ..) => is_const(a),
        ExprKind::Binary(_, a, b) => is_const(a) && is_const(b),
        ExprKind::Call(_, a) | ExprKind::Construct(a) | ExprKind::FuncCall(_, a) => a.iter().all(is_const),
    }
}

/// Productions a person would not write: `-(-x)`, `x - x`, `min(x, x)`, `where(c, x, x)`, `x * 1.0`,
/// `x / 1.0`, and a math builtin applied to a literal.
pub(crate) fn redundant(e: &Expr) -> bool {
    let one = |x: &Expr| matches!(x.kind, ExprKind::Float(v) if v == 1.0) || matches!(x.kind, ExprKind::Int(1));
    match &e.kind {
        ExprKind::Unary(UnOp::Neg, a) => matches!(a.kind, ExprKind::Unary(UnOp::Neg, _)),
        ExprKind::Binary(BinOp::Sub | BinOp::Div | BinOp::Mod, a, b) if a == b => true,
        ExprKind::Binary(BinOp::Mul, a, b) => one(a) || one(b),
        ExprKind::Binary(BinOp::Div, _, b) => one(b),
        // both branches the same: the condition is dead code
        ExprKind::Call(Builtin::Where, args) if args.len() == 3 && args[1] == args[2] => true,
        ExprKind::Call(name, args) => {
            let same = args.iter().enumerate().any(|(i, a)| !is_const(a) && args[i + 1..].contains(a));
            let lit_arg = args.len() == 1 && is_const(&args[0]) && !matches!(*name, Builtin::Diag | Builtin::Static);
            same || lit_arg
        }
        _ => false,
    }
}

/// True if `l op r` has the same value for every pair of values in the ranges.
fn decides(op: BinOp, l: Interval, r: Interval) -> bool {
    match op {
        BinOp::Lt | BinOp::Ge => l.hi < r.lo || l.lo >= r.hi,
        BinOp::Le | BinOp::Gt => l.hi <= r.lo || l.lo > r.hi,
        BinOp::Eq | BinOp::Ne => l.hi < r.lo || l.lo > r.hi || (l.lo == l.hi && r.lo == r.hi),
        _ => false,
    }
}
