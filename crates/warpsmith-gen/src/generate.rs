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
//! - no dead code: every parameter is read and every local is used, or folded into a store or an update.

use rand::prelude::*;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use warpsmith_ast::{
    ArrayLen, ArrayRole, AtomicOp, BinOp, Expr, ExprKind, Kernel, Param, ParamKind, Stmt, Type, UnOp, VarId, VarInfo,
    visit_stmts,
};

use crate::config::{Category, Config};
use crate::interval::Interval;
use crate::policy::{Policy, Required, TypeWeights, policy};

mod funcs;
mod structs;
mod tiles;
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
/// Smallest argument of `sqrt`, `log*`, `cbrt` and the base of `pow`: keeps derivatives bounded.
const POS_MIN: f64 = 0.01;
/// Largest magnitude of an `asin`/`acos` argument: keeps derivatives bounded.
const UNIT_MAX: f64 = 0.95;

/// Generates the kernel of `category` for `seed`. Deterministic: the same inputs give the same kernel on
/// every platform (ChaCha8 stream, no floating-point-dependent control decisions beyond IEEE arithmetic).
pub fn generate(category: Category, seed: u64, cfg: &Config) -> Kernel {
    let mut g = Gen::new(category, seed, cfg);
    g.kernel()
}

/// How a math builtin's argument must be constrained.
#[derive(Clone, Copy)]
enum Dom {
    Any,
    /// `x >= POS_MIN`
    Pos,
    /// `|x| <= m`
    Mag(f64),
    /// `x <= m`
    Max(f64),
}

struct UnaryMath {
    name: &'static str,
    dom: Dom,
    img: fn(Interval) -> Interval,
}

const UNARY: &[UnaryMath] = &[
    UnaryMath { name: "sin", dom: Dom::Any, img: |_| Interval::new(-1.0, 1.0) },
    UnaryMath { name: "cos", dom: Dom::Any, img: |_| Interval::new(-1.0, 1.0) },
    UnaryMath { name: "tanh", dom: Dom::Any, img: |i| i.map_increasing(f64::tanh) },
    UnaryMath { name: "atan", dom: Dom::Any, img: |i| i.map_increasing(f64::atan) },
    UnaryMath { name: "erf", dom: Dom::Any, img: |_| Interval::new(-1.0, 1.0) },
    UnaryMath { name: "abs", dom: Dom::Any, img: Interval::abs },
    UnaryMath { name: "floor", dom: Dom::Any, img: |i| i.map_increasing(f64::floor) },
    UnaryMath { name: "ceil", dom: Dom::Any, img: |i| i.map_increasing(f64::ceil) },
    UnaryMath { name: "round", dom: Dom::Any, img: |i| i.map_increasing(f64::round) },
    UnaryMath { name: "trunc", dom: Dom::Any, img: |i| Interval::new(i.lo.trunc(), i.hi.trunc()) },
    UnaryMath { name: "sign", dom: Dom::Any, img: |_| Interval::new(-1.0, 1.0) },
    UnaryMath { name: "erfc", dom: Dom::Any, img: |_| Interval::new(0.0, 2.0) },
    UnaryMath { name: "rint", dom: Dom::Any, img: |i| i.map_increasing(f64::round) },
    UnaryMath {
        name: "frac",
        dom: Dom::Any,
        img: |i| Interval::new(if i.lo < 0.0 { -1.0 } else { 0.0 }, if i.hi > 0.0 { 1.0 } else { 0.0 }),
    },
    UnaryMath { name: "step", dom: Dom::Any, img: |_| Interval::new(0.0, 1.0) },
    UnaryMath { name: "degrees", dom: Dom::Mag(150.0), img: |i| i.scale(180.0 / std::f64::consts::PI) },
    UnaryMath { name: "radians", dom: Dom::Any, img: |i| i.scale(std::f64::consts::PI / 180.0) },
    UnaryMath { name: "exp", dom: Dom::Max(9.0), img: |i| i.map_increasing(f64::exp) },
    UnaryMath { name: "sinh", dom: Dom::Mag(9.0), img: |i| i.map_increasing(f64::sinh) },
    UnaryMath { name: "cosh", dom: Dom::Mag(9.0), img: |i| Interval::new(1.0, i.mag().cosh()) },
    UnaryMath { name: "tan", dom: Dom::Mag(1.3), img: |i| i.map_increasing(f64::tan) },
    UnaryMath { name: "log", dom: Dom::Pos, img: |i| i.map_increasing(f64::ln) },
    UnaryMath { name: "log2", dom: Dom::Pos, img: |i| i.map_increasing(f64::log2) },
    UnaryMath { name: "log10", dom: Dom::Pos, img: |i| i.map_increasing(f64::log10) },
    UnaryMath { name: "sqrt", dom: Dom::Pos, img: |i| i.map_increasing(f64::sqrt) },
    UnaryMath { name: "cbrt", dom: Dom::Pos, img: |i| i.map_increasing(f64::cbrt) },
    UnaryMath { name: "asin", dom: Dom::Mag(UNIT_MAX), img: |i| i.map_increasing(f64::asin) },
    UnaryMath { name: "acos", dom: Dom::Mag(UNIT_MAX), img: |i| Interval::new(i.hi.acos(), i.lo.acos()) },
    // erfinv(0.95) = 1.3859
    UnaryMath {
        name: "erfinv",
        dom: Dom::Mag(UNIT_MAX),
        img: |i| Interval::new(if i.lo < 0.0 { -1.39 } else { 0.0 }, if i.hi > 0.0 { 1.39 } else { 0.0 }),
    },
];

fn fits(d: Dom, i: Interval) -> bool {
    match d {
        Dom::Any => true,
        Dom::Pos => i.all_ge(POS_MIN),
        Dom::Mag(m) => i.within(m),
        Dom::Max(m) => i.hi <= m,
    }
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
            Expr::call("len", Type::I32, vec![Expr::var(array, self.vars[array].ty)])
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
            1 => Expr::call("min", Type::I32, vec![add(i, off), last]),
            2 => Expr::call("clamp", Type::I32, vec![add(i, off), Expr::int(0), last]),
            3 => Expr::binary(BinOp::Mod, Type::I32, sub(add(i, n.clone()), off), n),
            _ => Expr::call("max", Type::I32, vec![sub(i, off), Expr::int(0)]),
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
    /// (no variable, load or `tid` below them) or redundant ([`redundant`]) are refused.
    fn expr(&mut self, ty: Type, depth: u32) -> TExpr {
        if depth > 0 && self.budget > 1 && self.rng.random_bool(0.7) {
            for _ in 0..6 {
                let saved = (self.budget, self.uses());
                let t = self.production(ty, depth);
                if let Some(t) = Self::ok(ty, t)
                    && !is_const(&t.0)
                    && !redundant(&t.0)
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
            L::Lit => self.lit(ty),
        }
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
                let dtype = Expr { ty: Type::F32, kind: ExprKind::FuncRef("float32") };
                let id = Expr::call("identity", ty, vec![kw("n", Expr::int(i64::from(n))), kw("dtype", dtype)]);
                (Expr::binary(BinOp::Mul, ty, s, id), is.with_zero())
            }
            Type::Mat(n) => {
                let (v, iv) = self.leaf(Type::Vec(n));
                if self.rng.random_bool(0.5) {
                    (Expr::call("diag", ty, vec![v]), iv.with_zero())
                } else {
                    let (w, iw) = self.leaf(Type::Vec(n));
                    (Expr::call("outer", ty, vec![v, w]), iv.mul(iw))
                }
            }
            Type::Quat => match self.rng.random_range(0..3) {
                0 => {
                    let (axis, _) = self.leaf(Type::Vec(3));
                    let (angle, _) = self.leaf(Type::F32);
                    let axis = (Expr::call("normalize", Type::Vec(3), vec![axis]), Interval::new(-1.0, 1.0));
                    (Expr::call("quat_from_axis_angle", ty, vec![axis.0, angle]), Interval::new(-1.0, 1.0))
                }
                1 => {
                    let args: Vec<Expr> = (0..3).map(|_| self.leaf(Type::F32).0).collect();
                    (Expr::call("quat_rpy", ty, args), Interval::new(-2.0, 2.0))
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
                    let q = Expr::call("quat_identity", Type::Quat, vec![]);
                    return (Expr::construct(ty, vec![p, q]), ip.hull(Interval::new(0.0, 1.0)));
                }
                let (q, iq) = self.leaf(Type::Quat);
                (Expr::construct(ty, vec![p, q]), ip.hull(iq))
            }
            // tiles are built only by `tile_kernel`, never requested as a leaf
            Type::F32 | Type::I32 | Type::Tile(_) | Type::Tile2(..) | Type::U32 | Type::Struct(_) => {
                debug_assert!(
                    !matches!(ty, Type::Tile(_) | Type::U32 | Type::Struct(_)),
                    "a tile, state or struct leaf"
                );
                self.lit(ty)
            }
            Type::Bool => (Expr { ty, kind: ExprKind::Bool(true) }, Interval::point(1.0)),
        }
    }

    /// Bound on `|quat_rotate(q, v)|` per component for component bounds `mq`, `mv`: from Warp's formula
    /// `v (2 w^2 - 1) + 2 q.xyz (q.xyz . v) + 2 w (q.xyz x v)`, at most `mv (1 + 2 mq^2) + 6 mq^2 mv + 4 mq^2 mv`.
    fn rotate_bound(q: Interval, v: Interval) -> Interval {
        let (mq, mv) = (q.mag(), v.mag());
        let m = mv * (1.0 + 12.0 * mq * mq);
        Interval::new(-m, m)
    }

    /// A rotation matrix: `wp.quat_to_matrix(wp.normalize(q))`, entries in [-1, 1].
    fn rotation_matrix(&mut self, d: u32) -> Expr {
        let (q, _) = self.expr(Type::Quat, d);
        Expr::call("quat_to_matrix", Type::Mat(3), vec![Expr::call("normalize", Type::Quat, vec![q])])
    }

    /// A unit axis: `wp.normalize(v)` of a vec3 expression, or a coordinate axis literal.
    fn unit_axis(&mut self, d: u32) -> Expr {
        if self.rng.random_bool(0.4) {
            let k = self.rng.random_range(0..3);
            let comps = (0..3).map(|i| Expr::float(if i == k { 1.0 } else { 0.0 })).collect();
            return Expr::construct(Type::Vec(3), comps);
        }
        let (v, _) = self.expr(Type::Vec(3), d);
        Expr::call("normalize", Type::Vec(3), vec![v])
    }

    /// An Euler axis sequence `i, j, k`: Tait-Bryan (three distinct axes) or proper Euler (`i == k`).
    fn euler_axes(&mut self) -> [i64; 3] {
        let i = self.rng.random_range(0..3i64);
        let j = (i + self.rng.random_range(1..3i64)) % 3;
        let k = if self.rng.random_bool(0.3) { i } else { 3 - i - j };
        [i, j, k]
    }

    /// A vec3 produced by quaternion or transform math: `quat_rotate`, `quat_rotate_inv`, `transform_point`,
    /// `transform_vector`, `transform_get_translation`.
    fn rot_vec(&mut self, d: u32) -> Option<TExpr> {
        let v3 = Type::Vec(3);
        match self.rng.random_range(0..9) {
            8 => {
                // Euler angles of a unit quaternion for an axis sequence (warp/_src/math.py): in [-2 pi, 2 pi]
                let (q, _) = self.expr(Type::Quat, d);
                let mut args = vec![Expr::call("normalize", Type::Quat, vec![q])];
                args.extend(self.euler_axes().into_iter().map(Expr::int));
                let tau = 2.0 * std::f64::consts::PI;
                Some((Expr::call("quat_to_euler", v3, args), Interval::new(-tau, tau)))
            }
            7 => {
                // roll, pitch, yaw of a quaternion (warp/_src/math.py): atan2, clamped asin, atan2
                let (q, _) = self.expr(Type::Quat, d);
                let pi = std::f64::consts::PI;
                Some((Expr::call("quat_to_rpy", v3, vec![q]), Interval::new(-pi, pi)))
            }
            5 => {
                let (x, ix) = self.expr(Type::Vec(6), d);
                let name = if self.rng.random_bool(0.5) { "spatial_top" } else { "spatial_bottom" };
                Some((Expr::call(name, v3, vec![x]), ix))
            }
            6 => {
                // v + w x r of a twist (w, v) at offset r
                let (x, ix) = self.expr(Type::Vec(6), d);
                let (r, ir) = self.expr(v3, d);
                Some((Expr::call("velocity_at_point", v3, vec![x, r]), ix.add(ix.mul(ir).scale(2.0))))
            }
            k @ (0 | 1) => {
                let (q, iq) = self.expr(Type::Quat, d);
                let (v, iv) = self.expr(v3, d);
                let name = if k == 0 { "quat_rotate" } else { "quat_rotate_inv" };
                Some((Expr::call(name, v3, vec![q, v]), Self::rotate_bound(iq, iv)))
            }
            k @ (2 | 3) => {
                let (t, it) = self.expr(Type::Transform, d);
                let (v, iv) = self.expr(v3, d);
                let r = Self::rotate_bound(it, iv);
                if k == 2 {
                    Some((Expr::call("transform_point", v3, vec![t, v]), r.add(it)))
                } else {
                    Some((Expr::call("transform_vector", v3, vec![t, v]), r))
                }
            }
            _ => {
                let (t, it) = self.expr(Type::Transform, d);
                Some((Expr::call("transform_get_translation", v3, vec![t]), it))
            }
        }
    }

    /// A spatial vector (`wp.spatial_vector`, angular then linear): built from two vec3s, a motion or force
    /// cross product, or a twist or wrench moved by a transform (`warp/_src/math.py`, `spatial.h`).
    fn spatial_op(&mut self, d: u32) -> Option<TExpr> {
        let s = Type::Vec(6);
        match self.rng.random_range(0..5) {
            4 => {
                // a twist moved by the spatial adjoint [R 0; S R] of a rotation R and S = skew(p) R (spatial.h)
                let (x, ix) = self.expr(s, d);
                let (p, ip) = self.expr(Type::Vec(3), d);
                let r = self.rotation_matrix(d);
                let sk =
                    Expr::binary(BinOp::MatMul, Type::Mat(3), Expr::call("skew", Type::Mat(3), vec![p]), r.clone());
                let adj = Expr::call("spatial_adjoint", Type::Mat(6), vec![r, sk]);
                // |S| <= 3 |p| per entry, each output sums 3 terms of R and 3 of S
                let m = ix.mag() * 3.0 * (1.0 + 3.0 * ip.mag());
                Some((Expr::binary(BinOp::MatMul, s, adj, x), Interval::new(-m, m)))
            }
            0 => {
                let (w, iw) = self.expr(Type::Vec(3), d);
                let (v, iv) = self.expr(Type::Vec(3), d);
                Some((Expr::construct(s, vec![w, v]), iw.hull(iv)))
            }
            1 => {
                let (a, ia) = self.expr(s, d);
                let (b, ib) = self.expr(s, d);
                let name = if self.rng.random_bool(0.5) { "spatial_cross" } else { "spatial_cross_dual" };
                // each component sums two cross products: at most 4 |a| |b|
                Some((Expr::call(name, s, vec![a, b]), ia.mul(ib).scale(4.0)))
            }
            _ => {
                let (t, it) = self.expr(Type::Transform, d);
                let (x, ix) = self.expr(s, d);
                let name = if self.rng.random_bool(0.5) { "transform_twist" } else { "transform_wrench" };
                let r = Self::rotate_bound(it, ix);
                Some((Expr::call(name, s, vec![t, x]), r.add(it.mul(r).scale(2.0))))
            }
        }
    }

    /// A quaternion: a product, inverse, normalization, axis-angle or roll-pitch-yaw construction, a
    /// transform's rotation, or a sum/difference/scaling.
    fn quat_op(&mut self, d: u32) -> Option<TExpr> {
        let q = Type::Quat;
        match self.rng.random_range(0..11) {
            8 => {
                // the quaternion of a rotation matrix, or of a product of two (quat.h: Shepperd's method)
                let mut m = self.rotation_matrix(d);
                if self.rng.random_bool(0.4) {
                    let m2 = self.rotation_matrix(d);
                    m = Expr::binary(BinOp::MatMul, Type::Mat(3), m, m2);
                }
                Some((Expr::call("quat_from_matrix", q, vec![m]), Interval::new(-1.0, 1.0)))
            }
            9 => {
                let (e, _) = self.expr(Type::Vec(3), d);
                let mut args = vec![e];
                args.extend(self.euler_axes().into_iter().map(Expr::int));
                Some((Expr::call("quat_from_euler", q, args), Interval::new(-1.0, 1.0)))
            }
            10 => {
                let axis = self.unit_axis(d);
                let (a, _) = self.expr(q, d);
                Some((Expr::call("quat_twist", q, vec![axis, a]), Interval::new(-1.0, 1.0)))
            }
            0 | 1 => {
                let (a, ia) = self.expr(q, d);
                let (b, ib) = self.expr(q, d);
                Some((Expr::binary(BinOp::Mul, q, a, b), ia.mul(ib).scale(4.0)))
            }
            2 => {
                let (a, ia) = self.expr(q, d);
                Some((Expr::call("quat_inverse", q, vec![a]), ia.hull(ia.neg())))
            }
            3 => {
                let (a, _) = self.expr(q, d);
                Some((Expr::call("normalize", q, vec![a]), Interval::new(-1.0, 1.0)))
            }
            4 => {
                let (axis, _) = self.expr(Type::Vec(3), d);
                let (angle, _) = self.expr(Type::F32, d);
                let axis = Expr::call("normalize", Type::Vec(3), vec![axis]);
                Some((Expr::call("quat_from_axis_angle", q, vec![axis, angle]), Interval::new(-1.0, 1.0)))
            }
            5 => {
                let args: Vec<Expr> = (0..3).map(|_| self.expr(Type::F32, d).0).collect();
                Some((Expr::call("quat_rpy", q, args), Interval::new(-2.0, 2.0)))
            }
            6 if self.rng.random_bool(0.4) => {
                // spherical interpolation: q0 times the axis-angle of q0^-1 q1 scaled by t (quat.h)
                let (a, ia) = self.expr(q, d);
                let (b, _) = self.expr(q, d);
                let t = f64::from(self.rng.random_range(1..10u32)) / 10.0;
                Some((Expr::call("quat_slerp", q, vec![a, b, Expr::float(t)]), ia.scale(4.0).hull(ia.neg().scale(4.0))))
            }
            6 => {
                let (t, it) = self.expr(Type::Transform, d);
                Some((Expr::call("transform_get_rotation", q, vec![t]), it))
            }
            _ => {
                let (a, ia) = self.expr(q, d);
                if self.rng.random_bool(0.5) {
                    let (b, ib) = self.expr(q, d);
                    let op = if self.rng.random_bool(0.5) { BinOp::Add } else { BinOp::Sub };
                    let iv = if op == BinOp::Add { ia.add(ib) } else { ia.sub(ib) };
                    Some((Expr::binary(op, q, a, b), iv))
                } else {
                    let (s, is) = self.expr(Type::F32, d);
                    Some((Expr::binary(BinOp::Mul, q, a, s), ia.mul(is)))
                }
            }
        }
    }

    /// A transform: built from a translation and a rotation, composed, or inverted.
    fn transform_op(&mut self, d: u32) -> Option<TExpr> {
        let t = Type::Transform;
        match self.rng.random_range(0..6) {
            4 => {
                // a rigid transform recovered from its 4x4 matrix (or the product of two)
                let (mut m, mut iv) = self.rigid_matrix(d);
                if self.rng.random_bool(0.3) {
                    // R1 p2 + p1: each component at most 3 |p2| + |p1|
                    let (m2, iv2) = self.rigid_matrix(d);
                    iv = iv.hull(iv2.scale(3.0).add(iv));
                    m = Expr::binary(BinOp::MatMul, Type::Mat(4), m, m2);
                }
                Some((Expr::call("transform_from_matrix", t, vec![m]), iv))
            }
            5 => {
                // the identity composed with a transform (a typical accumulator start)
                let (a, ia) = self.expr(t, d);
                let id = Expr::call("transform_identity", t, vec![]);
                Some((Expr::binary(BinOp::Mul, t, id, a), Self::rotate_bound(Interval::new(-1.0, 1.0), ia).hull(ia)))
            }
            0 => {
                let (p, ip) = self.expr(Type::Vec(3), d);
                let (q, iq) = self.expr(Type::Quat, d);
                Some((Expr::construct(t, vec![p, q]), ip.hull(iq)))
            }
            1 => {
                let (a, ia) = self.expr(t, d);
                let (b, ib) = self.expr(t, d);
                let iv = Self::rotate_bound(ia, ib).add(ia).hull(ia.mul(ib).scale(4.0));
                if self.rng.random_bool(0.5) {
                    Some((Expr::call("transform_multiply", t, vec![a, b]), iv))
                } else {
                    Some((Expr::binary(BinOp::Mul, t, a, b), iv))
                }
            }
            _ => {
                let (a, ia) = self.expr(t, d);
                Some((Expr::call("transform_inverse", t, vec![a]), Self::rotate_bound(ia, ia)))
            }
        }
    }

    /// The 4x4 matrix of a rigid transform, `wp.transform_to_matrix(wp.transform(p, wp.normalize(q)))`, and
    /// the range of its entries (rotation block in [-1, 1], translation column `p`).
    fn rigid_matrix(&mut self, d: u32) -> TExpr {
        let (p, ip) = self.expr(Type::Vec(3), d);
        let (q, _) = self.expr(Type::Quat, d);
        let q = Expr::call("normalize", Type::Quat, vec![q]);
        let t = Expr::construct(Type::Transform, vec![p, q]);
        (Expr::call("transform_to_matrix", Type::Mat(4), vec![t]), ip.hull(Interval::new(-1.0, 1.0)))
    }

    fn production(&mut self, ty: Type, depth: u32) -> Option<TExpr> {
        let w = self.pol.exprs;
        let d = depth - 1;
        match ty {
            Type::F32 => {
                let p = self.weighted(&[
                    (0u8, w.arith),
                    (1, w.math),
                    (2, w.vec),
                    (3, w.mat),
                    (4, w.select),
                    (5, w.cast),
                    (0, 1),
                    (6, w.rot),
                    (7, if self.state.is_some() && self.draws == 0 { w.rand } else { 0 }),
                ]);
                match p {
                    7 => self.rand_f32(),
                    6 => {
                        let (q, iq) = self.expr(Type::Quat, d);
                        match self.rng.random_range(0..4) {
                            3 => {
                                // the twist angle of q about a unit axis: in [0, 2 pi] or [-2 pi, 2 pi] signed
                                let axis = self.unit_axis(d);
                                let tau = 2.0 * std::f64::consts::PI;
                                if self.rng.random_bool(0.5) {
                                    Some((Expr::call("quat_twist_angle", ty, vec![axis, q]), Interval::new(0.0, tau)))
                                } else {
                                    Some((
                                        Expr::call("quat_twist_angle_signed", ty, vec![axis, q]),
                                        Interval::new(-tau, tau),
                                    ))
                                }
                            }
                            0 if self.rng.random_bool(0.3) => {
                                let (a, ia) = self.expr(Type::Vec(6), d);
                                let (b, ib) = self.expr(Type::Vec(6), d);
                                Some((Expr::call("spatial_dot", ty, vec![a, b]), ia.mul(ib).scale(6.0)))
                            }
                            0 => Some((Expr::call("length", ty, vec![q]), Interval::new(0.0, 2.0 * iq.mag()))),
                            1 => {
                                let (b, ib) = self.expr(Type::Quat, d);
                                Some((Expr::call("dot", ty, vec![q, b]), iq.mul(ib).scale(4.0)))
                            }
                            _ => {
                                let k = self.rng.random_range(0..4);
                                Some((Expr { ty, kind: ExprKind::Component(Box::new(q), k, None) }, iq))
                            }
                        }
                    }
                    0 => self.arith(ty, d),
                    1 => self.math(d),
                    2 => self.vec_to_scalar(d),
                    3 => self.mat_to_scalar(d),
                    4 => self.select(ty, d),
                    _ => {
                        let (e, iv) = self.expr(Type::I32, d);
                        // Python's float() as often as Warp's wp.float32()
                        if self.rng.random_bool(0.3) {
                            Some((Expr::call("float", Type::F32, vec![e]), iv))
                        } else {
                            Some((Expr::construct(Type::F32, vec![e]), iv))
                        }
                    }
                }
            }
            Type::I32 => {
                let p = self.weighted(&[(0u8, w.arith), (1, w.math), (2, w.select), (3, w.cast), (0, 1)]);
                match p {
                    0 => self.arith(ty, d),
                    1 => self.int_math(d),
                    2 => self.select(ty, d),
                    _ => {
                        let (e, iv) = self.expr(Type::F32, d);
                        let iv = Interval::new(iv.lo.trunc(), iv.hi.trunc());
                        if self.rng.random_bool(0.3) {
                            Some((Expr::call("int", Type::I32, vec![e]), iv))
                        } else {
                            Some((Expr::construct(Type::I32, vec![e]), iv))
                        }
                    }
                }
            }
            Type::Quat => {
                let p = self.weighted(&[(0u8, w.rot + w.arith), (1, w.select), (2, 1)]);
                match p {
                    0 => self.quat_op(d),
                    1 => self.select(ty, d),
                    _ => Some(self.composite_leaf(ty)),
                }
            }
            Type::Transform => {
                let p = self.weighted(&[(0u8, w.rot), (1, w.select), (2, 1)]);
                match p {
                    0 => self.transform_op(d),
                    1 => self.select(ty, d),
                    _ => Some(self.composite_leaf(ty)),
                }
            }
            Type::Vec(n) => {
                let rot = if n == 3 || n == 6 { w.rot } else { 0 };
                let p = self.weighted(&[
                    (0u8, w.arith),
                    (1, w.vec + w.math),
                    (2, if n <= 4 { w.mat } else { 0 }),
                    (3, w.select),
                    (4, 1),
                    (5, rot),
                    (6, if self.state.is_some() && self.draws == 0 && n <= 3 { w.rand } else { 0 }),
                ]);
                match p {
                    6 => self.rand_vec(n),
                    5 if n == 6 => self.spatial_op(d),
                    5 => self.rot_vec(d),
                    0 => self.arith(ty, d),
                    1 => self.vec_op(n, d),
                    2 => {
                        let (m, im) = self.expr(Type::Mat(n), d);
                        let (v, iv) = self.expr(ty, d);
                        Some((Expr::binary(BinOp::MatMul, ty, m, v), im.mul(iv).scale(f64::from(n))))
                    }
                    3 => self.select(ty, d),
                    _ => Some(self.composite_leaf(ty)),
                }
            }
            Type::Mat(n) => {
                let rot = if n == 3 || n == 4 { w.rot } else { 0 };
                let p = self.weighted(&[(0u8, w.arith), (1, w.mat + 1), (2, w.select), (3, rot)]);
                match p {
                    3 if n == 4 => {
                        // a transform (or position, rotation and scale) as a homogeneous 4x4 matrix
                        let (t, it) = self.expr(Type::Transform, d);
                        let r = Self::rotate_bound(it, Interval::new(-1.0, 1.0));
                        if self.rng.random_bool(0.5) {
                            Some((
                                Expr::call("transform_to_matrix", ty, vec![t]),
                                r.hull(it).hull(Interval::new(0.0, 1.0)),
                            ))
                        } else {
                            let p = Expr::call("transform_get_translation", Type::Vec(3), vec![t]);
                            let (q, iq) = self.expr(Type::Quat, d);
                            let (s, is) = self.expr(Type::Vec(3), d);
                            let r = Self::rotate_bound(iq, Interval::new(-1.0, 1.0)).mul(is);
                            Some((
                                Expr::call("transform_compose", ty, vec![p, q, s]),
                                r.hull(it).hull(Interval::new(0.0, 1.0)),
                            ))
                        }
                    }
                    3 if self.rng.random_bool(0.3) => {
                        // the inverse of a rotation matrix (determinant 1): its transpose, in [-1, 1]
                        let (q, _) = self.expr(Type::Quat, d);
                        let r = Expr::call("quat_to_matrix", ty, vec![Expr::call("normalize", Type::Quat, vec![q])]);
                        let name = if self.rng.random_bool(0.4) { "inverse_approx" } else { "inverse" };
                        Some((Expr::call(name, ty, vec![r]), Interval::new(-1.0, 1.0)))
                    }
                    3 => {
                        let (q, iq) = self.expr(Type::Quat, d);
                        Some((
                            Expr::call("quat_to_matrix", ty, vec![q]),
                            Self::rotate_bound(iq, Interval::new(-1.0, 1.0)),
                        ))
                    }
                    0 => self.arith(ty, d),
                    1 => self.mat_op(n, d),
                    _ => self.select(ty, d),
                }
            }
            Type::Bool => Some(self.cond(depth)),
            Type::Tile(_) | Type::Tile2(..) | Type::U32 | Type::Struct(_) => None,
        }
    }

    /// The generator state as an argument (a draw advances it in place).
    fn state_expr(&mut self) -> Expr {
        self.draws = self.draws.saturating_add(1);
        match self.state {
            Some(l) => {
                self.locals[l].uses += 1;
                Expr::var(self.locals[l].id, Type::U32)
            }
            None => Expr::int(0),
        }
    }

    /// A random float: `wp.randf(state)` in [0, 1), `wp.randf(state, lo, hi)` with literal bounds (Warp has no
    /// adjoint for the bounds), `wp.randn(state)` (Box-Muller: within +-5.8, since `randf + 5.96e-8 >= 5.96e-8`),
    /// or an integer draw `wp.randi(state, lo, hi)` as a float.
    fn rand_f32(&mut self) -> Option<TExpr> {
        let s = self.state_expr();
        let t = Type::F32;
        let floats: Vec<usize> = (0..self.inputs.len()).filter(|&i| self.inputs[i].ty == Type::F32).collect();
        if self.pol.ndim == 1 && !floats.is_empty() && self.rng.random_bool(0.1) {
            // an index drawn from a float input read as a CDF: lower_bound(cdf, randf(state))
            let i = *floats.choose(&mut self.rng)?;
            self.inputs[i].uses += 1;
            let r = Expr::call("sample_cdf", Type::I32, vec![s, Expr::var(self.inputs[i].id, Type::F32)]);
            return Some((Expr::construct(t, vec![r]), Interval::new(0.0, f64::from(self.cfg.max_launch_dim - 1))));
        }
        Some(match self.rng.random_range(0..6) {
            4 => {
                // an unsigned draw in [0, hi): wp.randu(state, wp.uint32(0), wp.uint32(hi))
                let hi = self.rng.random_range(2..50i64);
                let u = |v: i64| Expr::construct(Type::U32, vec![Expr::int(v)]);
                let r = Expr::call("randu", Type::U32, vec![s, u(0), u(hi)]);
                (Expr::construct(t, vec![r]), Interval::new(0.0, (hi - 1) as f64))
            }
            5 => {
                // a Poisson count with a literal rate below 10 (Warp's multiplication method); the count
                // exceeds 60 with probability below 1e-30 at rate 8
                let lam = f64::from(self.rng.random_range(1..17u32)) * 0.5;
                let r = Expr::call("poisson", Type::U32, vec![s, Expr::float(lam)]);
                (Expr::construct(t, vec![r]), Interval::new(0.0, 60.0))
            }
            0 => (Expr::call("randf", t, vec![s]), Interval::new(0.0, 1.0)),
            1 => {
                let lo = f64::from(self.rng.random_range(0..4u32)) * 0.5;
                let hi = lo + f64::from(self.rng.random_range(1..5u32)) * 0.5;
                let neg = lo > 0.0 && self.rng.random_bool(0.5);
                let (elo, ilo) =
                    if neg { (Expr::unary(UnOp::Neg, Expr::float(lo)), -lo) } else { (Expr::float(lo), lo) };
                (Expr::call("randf", t, vec![s, elo, Expr::float(hi)]), Interval::new(ilo, hi))
            }
            2 => (Expr::call("randn", t, vec![s]), Interval::new(-5.8, 5.8)),
            _ => {
                let hi = self.rng.random_range(2..20i64);
                let i = Expr::call("randi", Type::I32, vec![s, Expr::int(0), Expr::int(hi)]);
                (Expr::construct(t, vec![i]), Interval::new(0.0, (hi - 1) as f64))
            }
        })
    }

    /// A random point: `wp.sample_unit_square/disk/ring/triangle` (vec2) or
    /// `wp.sample_unit_cube/sphere/sphere_surface/hemisphere/hemisphere_surface` (vec3).
    fn rand_vec(&mut self, n: u8) -> Option<TExpr> {
        let s = self.state_expr();
        let names: &[&'static str] = match n {
            2 => &["sample_unit_square", "sample_unit_disk", "sample_unit_ring", "sample_triangle"],
            3 => &[
                "sample_unit_cube",
                "sample_unit_sphere",
                "sample_unit_sphere_surface",
                "sample_unit_hemisphere",
                "sample_unit_hemisphere_surface",
            ],
            _ => return None,
        };
        let name = *names.choose(&mut self.rng)?;
        Some((Expr::call(name, Type::Vec(n), vec![s]), Interval::new(-1.0, 1.0)))
    }

    /// A divisor whose range excludes zero: the expression itself, or `e * e + c` / `wp.abs(e) + c`.
    fn divisor(&mut self, ty: Type, d: u32) -> TExpr {
        let (e, iv) = self.expr(ty, d);
        if iv.lo > DIV_MIN || iv.hi < -DIV_MIN {
            return (e, iv);
        }
        let c = [0.5, 1.0, 1.5, 2.0][self.rng.random_range(0..4)];
        let (base, biv) = if self.rng.random_bool(0.6) && iv.mag() * iv.mag() < F_BOUND && !e.has_draw() {
            let sq = Interval::new(
                if iv.lo <= 0.0 && iv.hi >= 0.0 { 0.0 } else { iv.lo.abs().min(iv.hi.abs()).powi(2) },
                iv.mag().powi(2),
            );
            (Expr::binary(BinOp::Mul, ty, e.clone(), e), sq)
        } else {
            (Expr::call("abs", ty, vec![e]), iv.abs())
        };
        (Expr::binary(BinOp::Add, ty, base, Expr::float(c)), biv.add(Interval::point(c)))
    }

    fn arith(&mut self, ty: Type, d: u32) -> Option<TExpr> {
        let scalar_rhs = matches!(ty, Type::Vec(_) | Type::Mat(_)) && self.rng.random_bool(0.4);
        if scalar_rhs {
            // vector/matrix scaled by (or divided by) a float
            let (a, ia) = self.expr(ty, d);
            if matches!(ty, Type::Vec(_)) && self.rng.random_bool(0.3) {
                let (s, is) = self.divisor(Type::F32, d);
                return Some((Expr::binary(BinOp::Div, ty, a, s), ia.div(is)?));
            }
            let (s, is) = self.expr(Type::F32, d);
            return Some(if self.rng.random_bool(0.5) {
                (Expr::binary(BinOp::Mul, ty, a, s), ia.mul(is))
            } else {
                (Expr::binary(BinOp::Mul, ty, s, a), ia.mul(is))
            });
        }
        let op = self.weighted(&[(BinOp::Add, 4), (BinOp::Sub, 3), (BinOp::Mul, 3), (BinOp::Div, 2), (BinOp::Mod, 1)]);
        match (op, ty) {
            (BinOp::Add | BinOp::Sub, _) => {
                let (a, ia) = self.expr(ty, d);
                let (b, ib) = self.expr(ty, d);
                let iv = if op == BinOp::Add { ia.add(ib) } else { ia.sub(ib) };
                Some((Expr::binary(op, ty, a, b), iv))
            }
            (BinOp::Mul, Type::F32) if self.rng.random_bool(0.05) => {
                // a compile-time constant: wp.static folds `p / q` in Python before code generation
                let (a, ia) = self.expr(ty, d);
                let (p, q) = (self.rng.random_range(1..8i64), self.rng.random_range(2..10i64));
                let c = Expr::binary(BinOp::Div, ty, Expr::float(p as f64), Expr::float(q as f64));
                Some((Expr::binary(op, ty, a, Expr::call("static", ty, vec![c])), ia.scale(p as f64 / q as f64)))
            }
            (BinOp::Mul, Type::F32 | Type::I32) => {
                let (a, ia) = self.expr(ty, d);
                let (b, ib) = self.expr(ty, d);
                Some((Expr::binary(op, ty, a, b), ia.mul(ib)))
            }
            (BinOp::Div, Type::F32) => {
                let (a, ia) = self.expr(ty, d);
                let (b, ib) = self.divisor(ty, d);
                if self.rng.random_bool(0.1) {
                    // approximate on the GPU (div.approx.f32), exact on the CPU
                    return Some((Expr::call("div_approx", ty, vec![a, b]), ia.div(ib)?));
                }
                Some((Expr::binary(op, ty, a, b), ia.div(ib)?))
            }
            (BinOp::Div | BinOp::Mod, Type::I32) => {
                let (a, ia) = self.expr(ty, d);
                let k = self.rng.random_range(2..10i64);
                let iv = if op == BinOp::Div {
                    Interval::new((ia.lo / k as f64).trunc(), (ia.hi / k as f64).trunc())
                } else {
                    let m = (k - 1) as f64;
                    Interval::new(if ia.lo < 0.0 { -m } else { 0.0 }, if ia.hi > 0.0 { m } else { 0.0 })
                };
                Some((Expr::binary(op, ty, a, Expr::int(k)), iv))
            }
            _ => {
                let (a, ia) = self.expr(ty, d);
                if ty.is_scalar() && self.rng.random_bool(0.1) {
                    // unary plus, Warp's `pos`
                    return Some((Expr::unary(UnOp::Pos, a), ia));
                }
                Some((Expr::unary(UnOp::Neg, a), ia.neg()))
            }
        }
    }

    /// Constrains `arg` to a builtin's domain, with the clamping idioms Warp code uses.
    fn fix_domain(&mut self, dom: Dom, arg: TExpr) -> Option<TExpr> {
        let (e, iv) = arg;
        if fits(dom, iv) {
            return Some((e, iv));
        }
        match dom {
            Dom::Any => Some((e, iv)),
            Dom::Pos => {
                let c = [0.1, 0.5, 1.0][self.rng.random_range(0..3)];
                if iv.mag() * iv.mag() < F_BOUND && self.rng.random_bool(0.6) && !e.has_draw() {
                    let sq = Interval::new(0.0, iv.mag() * iv.mag());
                    Some((
                        Expr::binary(
                            BinOp::Add,
                            Type::F32,
                            Expr::binary(BinOp::Mul, Type::F32, e.clone(), e),
                            Expr::float(c),
                        ),
                        sq.add(Interval::point(c)),
                    ))
                } else {
                    Some((
                        Expr::binary(BinOp::Add, Type::F32, Expr::call("abs", Type::F32, vec![e]), Expr::float(c)),
                        iv.abs().add(Interval::point(c)),
                    ))
                }
            }
            Dom::Mag(m) | Dom::Max(m) => {
                let lim = if m >= 1.0 { m.floor() } else { 0.9 };
                let lo = Expr::unary(UnOp::Neg, Expr::float(lim));
                let clamped = Interval::new(iv.lo.max(-lim), iv.hi.min(lim));
                Some((Expr::call("clamp", Type::F32, vec![e, lo, Expr::float(lim)]), clamped))
            }
        }
    }

    fn math(&mut self, d: u32) -> Option<TExpr> {
        let kind = self.rng.random_range(0..12);
        if kind < 6 {
            let arg = self.expr(Type::F32, d);
            let fitting: Vec<usize> = (0..UNARY.len()).filter(|&i| fits(UNARY[i].dom, arg.1)).collect();
            let i = if !fitting.is_empty() && self.rng.random_bool(0.5) {
                *fitting.choose(&mut self.rng)?
            } else {
                self.rng.random_range(0..UNARY.len())
            };
            let f = &UNARY[i];
            let (e, iv) = self.fix_domain(f.dom, arg)?;
            return Some((Expr::call(f.name, Type::F32, vec![e]), (f.img)(iv)));
        }
        let t = Type::F32;
        match kind {
            11 if self.rng.random_bool(0.2) => {
                // the inverse complementary error function on (0, 2): erfcinv(1 - x) = erfinv(x)
                let arg = self.expr(t, d);
                let (a, _) = self.fix_domain(Dom::Mag(UNIT_MAX), arg)?;
                let x = Expr::binary(BinOp::Sub, t, Expr::float(1.0), a);
                Some((Expr::call("erfcinv", t, vec![x]), Interval::new(-1.39, 1.39)))
            }
            6 => {
                let (a, ia) = self.expr(t, d);
                let (b, ib) = self.expr(t, d);
                if self.rng.random_bool(0.5) {
                    Some((Expr::call("min", t, vec![a, b]), ia.min(ib)))
                } else {
                    Some((Expr::call("max", t, vec![a, b]), ia.max(ib)))
                }
            }
            7 => {
                // atan2(y, x) with x away from zero; pow(base > 0, small exponent)
                if self.rng.random_bool(0.5) {
                    let (y, _) = self.expr(t, d);
                    let (x, _) = self.divisor(t, d);
                    Some((
                        Expr::call("atan2", t, vec![y, x]),
                        Interval::new(-std::f64::consts::PI, std::f64::consts::PI),
                    ))
                } else {
                    let base = self.expr(t, d);
                    let (b, ib) = self.fix_domain(Dom::Pos, base)?;
                    let p = [0.5, 1.5, 2.0, 3.0][self.rng.random_range(0..4)];
                    Some((Expr::call("pow", t, vec![b, Expr::float(p)]), ib.map_increasing(|x| x.powf(p))))
                }
            }
            8 => {
                let (x, ix) = self.expr(t, d);
                let lo = f64::from(self.rng.random_range(1..12u32)) * 0.25;
                let hi = lo + f64::from(self.rng.random_range(1..12u32)) * 0.25;
                let (elo, ilo) = if self.rng.random_bool(0.5) {
                    (Expr::unary(UnOp::Neg, Expr::float(lo)), -lo)
                } else {
                    (Expr::float(lo), lo)
                };
                let ihi = if ilo < 0.0 { hi - 2.0 * lo } else { hi };
                let ehi = if ihi >= 0.0 { Expr::float(ihi) } else { Expr::unary(UnOp::Neg, Expr::float(-ihi)) };
                if self.rng.random_bool(0.6) {
                    Some((
                        Expr::call("clamp", t, vec![x, elo, ehi]),
                        Interval::new(ix.lo.clamp(ilo, ihi), ix.hi.clamp(ilo, ihi)),
                    ))
                } else {
                    Some((Expr::call("smoothstep", t, vec![elo, ehi, x]), Interval::new(0.0, 1.0)))
                }
            }
            9 => {
                let (a, ia) = self.expr(t, d);
                let (b, ib) = self.expr(t, d);
                let tv = f64::from(self.rng.random_range(1..10u32)) / 10.0;
                Some((Expr::call("lerp", t, vec![a, b, Expr::float(tv)]), ia.hull(ib)))
            }
            10 => {
                // the magnitude of one value with the sign of another
                let (a, ia) = self.expr(t, d);
                let (b, _) = self.expr(t, d);
                Some((Expr::call("copysign", t, vec![a, b]), Interval::new(-ia.mag(), ia.mag())))
            }
            _ => {
                // a product or sum computed in double precision, rounded once to float32
                let (a, ia) = self.expr(t, d);
                let (b, ib) = self.expr(t, d);
                let (a, b) = (Expr::call("float64", t, vec![a]), Expr::call("float64", t, vec![b]));
                let (op, iv) = match self.rng.random_range(0..3) {
                    0 => (BinOp::Mul, ia.mul(ib)),
                    1 => (BinOp::Add, ia.add(ib)),
                    _ => (BinOp::Sub, ia.sub(ib)),
                };
                Some((Expr::call("float32", t, vec![Expr::binary(op, t, a, b)]), iv))
            }
        }
    }

    fn int_math(&mut self, d: u32) -> Option<TExpr> {
        let t = Type::I32;
        let (a, ia) = self.expr(t, d);
        let k = self.rng.random_range(0..12);
        if k >= 4 {
            return self.int_bits(k, (a, ia), d);
        }
        let floats: Vec<usize> = (0..self.inputs.len()).filter(|&i| self.inputs[i].ty == Type::F32).collect();
        if self.pol.ndim == 1 && !floats.is_empty() && self.rng.random_bool(0.06) {
            // binary search of a float input: the first index in [0, n) whose element is not below x
            // (warp/native/array.h; any array gives a defined index, sorted or not)
            let i = *floats.choose(&mut self.rng)?;
            self.inputs[i].uses += 1;
            let arr = self.inputs[i].id;
            let (x, _) = self.expr(Type::F32, d);
            let n = Expr { ty: t, kind: ExprKind::Len(arr, 0) };
            let args = vec![Expr::var(arr, Type::F32), Expr::int(0), n, x];
            return Some((
                Expr::call("lower_bound", t, args),
                Interval::new(0.0, f64::from(self.cfg.max_launch_dim - 1)),
            ));
        }
        match k {
            0 => {
                let (b, ib) = self.expr(t, d);
                Some((Expr::call("min", t, vec![a, b]), ia.min(ib)))
            }
            1 => {
                let (b, ib) = self.expr(t, d);
                Some((Expr::call("max", t, vec![a, b]), ia.max(ib)))
            }
            2 => Some((Expr::call("abs", t, vec![a]), ia.abs())),
            _ => {
                let lo = -self.rng.random_range(0..5i64);
                let hi = self.rng.random_range(1..20i64);
                let elo = if lo < 0 { Expr::unary(UnOp::Neg, Expr::int(-lo)) } else { Expr::int(0) };
                let iv = Interval::new(ia.lo.clamp(lo as f64, hi as f64), ia.hi.clamp(lo as f64, hi as f64));
                Some((Expr::call("clamp", t, vec![a, elo, Expr::int(hi)]), iv))
            }
        }
    }

    /// Integer bit operations, floor division and width casts, each within its defined range: masks and
    /// shifts only of non-negative values (a left shift of a negative value is undefined in C++17, which
    /// Warp compiles), shift counts 1-4, `//` by a positive literal, `wp.int32(wp.int8(k))`-style round
    /// trips through the narrower and wider integer types.
    fn int_bits(&mut self, k: u32, (a, ia): TExpr, d: u32) -> Option<TExpr> {
        let t = Type::I32;
        let lit = |v: i64| Expr::int(v);
        match k {
            4 => {
                let m = [1i64, 3, 7, 15, 31, 255][self.rng.random_range(0..6)];
                let hi = if ia.lo >= 0.0 { ia.hi.min(m as f64) } else { m as f64 };
                Some((Expr::binary(BinOp::BitAnd, t, a, lit(m)), Interval::new(0.0, hi)))
            }
            5 if ia.lo >= 0.0 => {
                let (b, ib) = self.expr(t, d);
                if ib.lo < 0.0 {
                    return None;
                }
                // a | b and a ^ b lie in [0, a + b] for non-negative operands
                let op = if self.rng.random_bool(0.5) { BinOp::BitOr } else { BinOp::BitXor };
                Some((Expr::binary(op, t, a, b), Interval::new(0.0, ia.hi + ib.hi)))
            }
            6 if ia.lo >= 0.0 => {
                let s = self.rng.random_range(1..=4i64);
                Some((Expr::binary(BinOp::Shl, t, a, lit(s)), ia.scale((1i64 << s) as f64)))
            }
            7 => {
                let s = self.rng.random_range(1..=4i64);
                let p = (1i64 << s) as f64;
                Some((Expr::binary(BinOp::Shr, t, a, lit(s)), Interval::new((ia.lo / p).floor(), (ia.hi / p).floor())))
            }
            8 => Some((Expr::unary(UnOp::Invert, a), Interval::new(-ia.hi - 1.0, -ia.lo - 1.0))),
            9 => {
                let q = self.rng.random_range(2..10i64);
                let qf = q as f64;
                Some((
                    Expr::binary(BinOp::FloorDiv, t, a, lit(q)),
                    Interval::new((ia.lo / qf).floor(), (ia.hi / qf).floor()),
                ))
            }
            // Warp 1.19 folds a cast of an unrolled loop's counter into the counter itself (its C++ type
            // becomes the cast's, `add(int32, uint64)` is then ambiguous): casts take expressions, not variables
            10 if matches!(a.kind, ExprKind::Var(_)) => None,
            10 => {
                // a round trip through another integer width: wraps outside its range
                let (name, lo, hi) = [
                    ("int8", -128.0, 127.0),
                    ("uint8", 0.0, 255.0),
                    ("int16", -32768.0, 32767.0),
                    ("uint16", 0.0, 65535.0),
                    ("int64", f64::MIN, f64::MAX),
                    ("uint32", f64::MIN, f64::MAX),
                    ("uint64", f64::MIN, f64::MAX),
                ][self.rng.random_range(0..7)];
                let fits = ia.lo >= lo && ia.hi <= hi;
                let iv = if fits { ia } else { Interval::new(lo, hi) };
                let inner = Expr::call(name, t, vec![a]);
                Some((Expr::call("int32", t, vec![inner]), iv))
            }
            11 if self.rng.random_bool(0.3) => Some((Expr::call("nonzero", t, vec![a]), Interval::new(0.0, 1.0))),
            _ => {
                let iv = if ia.lo >= 0.0 {
                    Interval::new(0.0, ia.hi.max(1.0).log2().floor() + 1.0)
                } else {
                    Interval::new(0.0, 32.0)
                };
                Some((Expr::call("bit_count", t, vec![a]), iv))
            }
        }
    }

    fn select(&mut self, ty: Type, d: u32) -> Option<TExpr> {
        let c = self.cond(d.max(1));
        let (a, ia) = self.expr(ty, d);
        let (b, ib) = self.expr(ty, d);
        Some((Expr::call("where", ty, vec![c.0, a, b]), ia.hull(ib)))
    }

    fn vec_to_scalar(&mut self, d: u32) -> Option<TExpr> {
        let n = self.rng.random_range(2..=4u8);
        let vt = Type::Vec(n);
        let nf = f64::from(n);
        let t = Type::F32;
        let k = self.rng.random_range(0..8);
        if k >= 4 {
            return self.vec_norm(n, k, d);
        }
        match k {
            0 => {
                let (a, ia) = self.expr(vt, d);
                let (b, ib) = self.expr(vt, d);
                Some((Expr::call("dot", t, vec![a, b]), ia.mul(ib).scale(nf)))
            }
            1 => {
                let (a, ia) = self.expr(vt, d);
                Some((Expr::call("length", t, vec![a]), Interval::new(0.0, ia.mag() * nf.sqrt())))
            }
            2 => {
                let (a, ia) = self.expr(vt, d);
                Some((Expr::call("length_sq", t, vec![a]), Interval::new(0.0, ia.mag() * ia.mag() * nf)))
            }
            _ => {
                let (a, ia) = self.expr(vt, d);
                let k = self.rng.random_range(0..n);
                Some((Expr { ty: t, kind: ExprKind::Component(Box::new(a), k, None) }, ia))
            }
        }
    }

    fn mat_to_scalar(&mut self, d: u32) -> Option<TExpr> {
        let n = self.rng.random_range(2..=4u8);
        let mt = Type::Mat(n);
        let nf = f64::from(n);
        let t = Type::F32;
        let (a, ia) = self.expr(mt, d);
        match self.rng.random_range(0..4) {
            0 => {
                let fact: f64 = (1..=n).map(f64::from).product();
                let m = ia.mag().powi(i32::from(n)) * fact;
                Some((Expr::call("determinant", t, vec![a]), Interval::new(-m, m)))
            }
            1 => Some((Expr::call("trace", t, vec![a]), ia.scale(nf))),
            2 => {
                let (b, ib) = self.expr(mt, d);
                Some((Expr::call("ddot", t, vec![a, b]), ia.mul(ib).scale(nf * nf)))
            }
            _ => {
                let i = self.rng.random_range(0..n);
                let j = self.rng.random_range(0..n);
                Some((Expr { ty: t, kind: ExprKind::Component(Box::new(a), i, Some(j)) }, ia))
            }
        }
    }

    /// Norms and index reductions of a vector: `norm_l1`, `norm_l2`, `norm_huber`, `norm_pseudo_huber`
    /// (with a literal `delta`), `argmin`/`argmax` (as a float).
    fn vec_norm(&mut self, n: u8, k: u32, d: u32) -> Option<TExpr> {
        let (t, vt, nf) = (Type::F32, Type::Vec(n), f64::from(n));
        let (a, ia) = self.expr(vt, d);
        let m = ia.mag();
        let delta = [0.5, 1.0, 2.0][self.rng.random_range(0..3)];
        match k {
            4 => Some((Expr::call("norm_l1", t, vec![a]), Interval::new(0.0, nf * m))),
            5 => Some((Expr::call("norm_l2", t, vec![a]), Interval::new(0.0, nf.sqrt() * m))),
            6 if self.rng.random_bool(0.5) => {
                let hi = (0.5 * nf * m * m).max(delta * nf.sqrt() * m);
                Some((Expr::call("norm_huber", t, vec![a, Expr::float(delta)]), Interval::new(0.0, hi)))
            }
            6 => {
                let hi = delta * (1.0 + nf * m * m / (delta * delta)).sqrt();
                Some((Expr::call("norm_pseudo_huber", t, vec![a, Expr::float(delta)]), Interval::new(delta, hi)))
            }
            _ => {
                let name = if self.rng.random_bool(0.5) { "argmin" } else { "argmax" };
                let index = Expr::call(name, Type::I32, vec![a]);
                Some((Expr::call("float32", t, vec![index]), Interval::new(0.0, nf - 1.0)))
            }
        }
    }

    fn vec_op(&mut self, n: u8, d: u32) -> Option<TExpr> {
        let ty = Type::Vec(n);
        let (a, ia) = self.expr(ty, d);
        match self.rng.random_range(0..10) {
            6 => {
                let delta = [0.5, 1.0, 2.0][self.rng.random_range(0..3)];
                Some((Expr::call("smooth_normalize", ty, vec![a, Expr::float(delta)]), Interval::new(-1.0, 1.0)))
            }
            7 if n <= 4 => {
                // a component-wise quotient by a divisor kept away from zero: b * b + c
                let (b, ib) = self.expr(ty, d);
                if b.has_draw() {
                    return None;
                }
                let c = [0.5, 1.0, 2.0][self.rng.random_range(0..3)];
                let sq = Expr::call("cw_mul", ty, vec![b.clone(), b]);
                let div = Expr::binary(BinOp::Add, ty, sq, Expr::construct(ty, vec![Expr::float(c)]));
                let idiv = Interval::new(c, ib.mag() * ib.mag() + c);
                Some((Expr::call("cw_div", ty, vec![a, div]), ia.div(idiv)?))
            }
            8 if n <= 4 => {
                let (m, im) = self.expr(Type::Mat(n), d);
                Some((Expr::call("get_diag", ty, vec![m]), im))
            }
            0 => Some((Expr::call("normalize", ty, vec![a]), Interval::new(-1.0, 1.0))),
            1 if n == 3 => {
                let (b, ib) = self.expr(ty, d);
                Some((Expr::call("cross", ty, vec![a, b]), ia.mul(ib).scale(2.0)))
            }
            1 | 2 => {
                let (b, ib) = self.expr(ty, d);
                Some((Expr::call("cw_mul", ty, vec![a, b]), ia.mul(ib)))
            }
            3 => {
                let (b, ib) = self.expr(ty, d);
                if self.rng.random_bool(0.5) {
                    Some((Expr::call("min", ty, vec![a, b]), ia.min(ib)))
                } else {
                    Some((Expr::call("max", ty, vec![a, b]), ia.max(ib)))
                }
            }
            4 => {
                let (b, ib) = self.expr(ty, d);
                let tv = f64::from(self.rng.random_range(1..10u32)) / 10.0;
                Some((Expr::call("lerp", ty, vec![a, b, Expr::float(tv)]), ia.hull(ib)))
            }
            _ => Some((Expr::unary(UnOp::Neg, a), ia.neg())),
        }
    }

    fn mat_op(&mut self, n: u8, d: u32) -> Option<TExpr> {
        let ty = Type::Mat(n);
        let nf = f64::from(n);
        match self.rng.random_range(0..7) {
            6 if n <= 3 => {
                // the generic constructor: wp.matrix(a, b, ..., shape=(n, n)), row-major scalars
                let mut iv: Option<Interval> = None;
                let mut args = Vec::new();
                for _ in 0..n * n {
                    let (x, i) = self.leaf(Type::F32);
                    iv = Some(iv.map_or(i, |a| a.hull(i)));
                    args.push(x);
                }
                let shape =
                    Expr { ty: Type::I32, kind: ExprKind::Tuple(vec![Expr::int(n.into()), Expr::int(n.into())]) };
                args.push(Expr { ty: Type::I32, kind: ExprKind::Kw("shape", Box::new(shape)) });
                Some((Expr::call("matrix", ty, args), iv.unwrap_or(Interval::point(0.0))))
            }
            5 => {
                // a matrix from n vectors as its columns or rows
                let mut iv: Option<Interval> = None;
                let mut args = Vec::new();
                for _ in 0..n {
                    let (v, i) = self.expr(Type::Vec(n), d);
                    iv = Some(iv.map_or(i, |a| a.hull(i)));
                    args.push(v);
                }
                let name = if self.rng.random_bool(0.5) { "matrix_from_cols" } else { "matrix_from_rows" };
                Some((Expr::call(name, ty, args), iv.unwrap_or(Interval::point(0.0))))
            }
            0 => {
                let (a, ia) = self.expr(ty, d);
                let (b, ib) = self.expr(ty, d);
                Some((Expr::binary(BinOp::MatMul, ty, a, b), ia.mul(ib).scale(nf)))
            }
            1 => {
                let (a, ia) = self.expr(ty, d);
                Some((Expr::call("transpose", ty, vec![a]), ia))
            }
            2 => {
                let (a, ia) = self.expr(Type::Vec(n), d);
                let (b, ib) = self.expr(Type::Vec(n), d);
                Some((Expr::call("outer", ty, vec![a, b]), ia.mul(ib)))
            }
            3 if n == 3 => {
                let (a, ia) = self.expr(Type::Vec(3), d);
                Some((Expr::call("skew", ty, vec![a]), ia.abs().hull(ia.neg())))
            }
            _ => {
                let (a, ia) = self.expr(Type::Vec(n), d);
                Some((Expr::call("diag", ty, vec![a]), ia.with_zero()))
            }
        }
    }

    /// A `bool` condition without random draws (C's `&&`, `||` and `?:` would skip a draw that Warp runs).
    fn cond(&mut self, depth: u32) -> TExpr {
        let draws = std::mem::replace(&mut self.draws, u32::MAX);
        let c = self.cond_inner(depth);
        self.draws = draws;
        c
    }

    /// [`Gen::cond`]'s body. Frozen accumulators may be read here: a condition's value needs no range.
    fn cond_inner(&mut self, depth: u32) -> TExpr {
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
            // `wp.isnan(x) or ...`, `wp.isinf(x) or ...`
            let (x, _) = self.expr(Type::F32, depth - 1);
            let (c, _) = self.cond(depth - 1);
            let (name, op) = *[("isfinite", BinOp::And), ("isnan", BinOp::Or), ("isinf", BinOp::Or)]
                .choose(&mut self.rng)
                .unwrap_or(&("isfinite", BinOp::And));
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
                return (Expr::call("bool", Type::Bool, vec![lhs]), b);
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
        let mut cmp = None;
        for _ in 0..6 {
            let (rhs, riv) = match liv {
                Some(l) if self.rng.random_bool(0.6) => self.split_point(l, lty),
                None if self.rng.random_bool(0.6) => self.signed_lit(lty),
                _ => self.expr(lty, depth.saturating_sub(1)),
            };
            let op = *ops.choose(&mut self.rng).unwrap_or(&BinOp::Lt);
            let decided = rhs == lhs || liv.is_some_and(|l| decides(op, l, riv));
            cmp = Some(Expr::binary(op, Type::Bool, lhs.clone(), rhs));
            if !decided {
                break;
            }
        }
        (cmp.unwrap_or(Expr { ty: Type::Bool, kind: ExprKind::Bool(true) }), b)
    }

    /// A literal strictly inside `iv` when there is room (a threshold that splits the range), on the
    /// quarter grid for floats so that it prints exactly.
    fn split_point(&mut self, iv: Interval, ty: Type) -> TExpr {
        let t = iv.lo + (iv.hi - iv.lo) * self.rng.random_range(0.15..0.85);
        let v = if ty == Type::I32 { t.round() } else { (t * 4.0).round() / 4.0 };
        let lit = if ty == Type::I32 { Expr::int(v.abs() as i64) } else { Expr::float(v.abs()) };
        let e = if v < 0.0 { Expr::unary(UnOp::Neg, lit) } else { lit };
        (e, Interval::point(v))
    }

    /// Converts `e` to type `to`, for folding otherwise-unused values into a store or update.
    fn convert(&mut self, e: TExpr, to: Type) -> TExpr {
        let (x, iv) = e;
        if x.ty == to {
            return (x, iv);
        }
        match (x.ty, to) {
            (Type::I32, Type::F32) => (Expr::construct(Type::F32, vec![x]), iv),
            (Type::F32, Type::I32) => {
                (Expr::construct(Type::I32, vec![x]), Interval::new(iv.lo.trunc(), iv.hi.trunc()))
            }
            (Type::Vec(n), Type::F32) => {
                let k = self.rng.random_range(0..n);
                (Expr { ty: Type::F32, kind: ExprKind::Component(Box::new(x), k, None) }, iv)
            }
            (Type::Mat(n), Type::F32) => (Expr::call("trace", Type::F32, vec![x]), iv.scale(f64::from(n))),
            (Type::U32, Type::F32) => {
                let s = self.state_expr();
                (Expr::call("randf", Type::F32, vec![s]), Interval::new(0.0, 1.0))
            }
            (Type::Quat, Type::F32) => {
                let k = self.rng.random_range(0..4);
                (Expr { ty: Type::F32, kind: ExprKind::Component(Box::new(x), k, None) }, iv)
            }
            (Type::Transform, Type::F32) => {
                let p = Expr::call("transform_get_translation", Type::Vec(3), vec![x]);
                let k = self.rng.random_range(0..3);
                (Expr { ty: Type::F32, kind: ExprKind::Component(Box::new(p), k, None) }, iv)
            }
            (_, Type::Quat) => {
                // a rotation about one axis by the value (roll, pitch or yaw)
                let s = self.convert((x, iv), Type::F32);
                let mut args = vec![Expr::float(0.0), Expr::float(0.0), Expr::float(0.0)];
                args[self.rng.random_range(0..3)] = s.0;
                (Expr::call("quat_rpy", Type::Quat, args), Interval::new(-2.0, 2.0))
            }
            (_, Type::Transform) => {
                let p = self.convert((x, iv), Type::Vec(3));
                (
                    Expr::construct(Type::Transform, vec![p.0, Expr::call("quat_identity", Type::Quat, vec![])]),
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
                (Expr::call("diag", to, vec![s.0]), s.1.with_zero())
            }
            (_, _) => {
                let s = self.convert((x, iv), Type::F32);
                self.convert(s, to)
            }
        }
    }

    fn sum(ty: Type, base: TExpr, extra: Vec<TExpr>) -> TExpr {
        extra.into_iter().fold(base, |(a, ia), (b, ib)| (Expr::binary(BinOp::Add, ty, a, b), ia.add(ib)))
    }

    /// Unused, readable locals declared at index `from` or later, as expressions of type `to`; marks them used.
    fn unused_since(&mut self, from: usize, to: Type) -> Vec<TExpr> {
        let idx: Vec<usize> = (from..self.locals.len())
            .filter(|&i| !self.is_index(i) && self.locals[i].uses == 0 && !self.locals[i].frozen)
            .collect();
        idx.into_iter()
            .map(|i| {
                self.locals[i].uses += 1;
                let l = &self.locals[i];
                let e = (Expr::var(l.id, l.ty), l.iv);
                self.convert(e, to)
            })
            .collect()
    }

    // ---------------------------------------------------------------- statements

    fn let_stmt(&mut self, ty: Type, out: &mut Vec<Stmt>) -> usize {
        let depth = self.cfg.max_expr_depth;
        let (e, iv) = self.top_expr(ty, depth);
        let l = self.declare(Self::local_pool(ty), ty, iv, true);
        out.push(Stmt::Let { var: self.locals[l].id, value: e });
        l
    }

    fn update_target(&mut self, target: Target, extra: Vec<TExpr>, out: &mut Vec<Stmt>) {
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
                    let name = if translation { "transform_set_translation" } else { "transform_set_rotation" };
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
                if matches!(base.0.kind, ExprKind::Var(v) if v == id) {
                    base = self.lit(if ty == Type::I32 { ty } else { Type::F32 });
                    base = self.convert(base, ty);
                }
                let (e, iv) = Self::sum(ty, base, extra);
                if !iv.within(bound(ty)) || !iv.is_finite() {
                    return;
                }
                self.locals[l].iv = self.locals[l].iv.hull(iv);
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
                    let name = if self.rng.random_bool(0.5) { "max" } else { "min" };
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
                out.push(Stmt::Assign { var: id, value });
            }
        }
    }

    /// An update that stays in range whatever the operands: `acc = wp.max(acc, e)` for an accumulator
    /// (or `acc = acc + c` for a small literal `c`), `x = e` for a plain local.
    fn fallback_update(&mut self, target: Target, mut extra: Vec<TExpr>, out: &mut Vec<Stmt>) {
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
            extra.swap_remove(0)
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
            Expr::call("max", ty, vec![Expr::var(id, ty), e])
        } else {
            debug_assert!(
                !self.locals[l].frozen && self.locals[l].level == self.trips.len(),
                "fallback plain {}",
                self.vars[id].name
            );
            self.locals[l].iv = self.locals[l].iv.hull(iv);
            e
        };
        out.push(Stmt::Assign { var: id, value });
    }

    /// Chooses what an `if`'s branches update: an enclosing loop's accumulator, an assignable local at this
    /// loop level, or a new local declared just before the `if`.
    fn choose_target(&mut self, out: &mut Vec<Stmt>) -> Target {
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
    fn block(&mut self, target: Target, max_stmts: u32, force: Option<Required>) -> Vec<Stmt> {
        let mark = self.locals.len();
        let mut out = Vec::new();
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
        let extra = self.unused_since(mark, ty);
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

    fn if_stmt(&mut self, out: &mut Vec<Stmt>, chain: bool) {
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

    fn for_stmt(&mut self, out: &mut Vec<Stmt>, force_nested: bool) {
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
            out.push(Stmt::Let { var: self.locals[l].id, value: init });
            l
        };
        self.locals[acc].frozen = true;
        self.locals[acc].pending = Interval::point(0.0);
        self.trips.push(trip);
        self.unrolled.push(if literal { trip } else { 1 });
        let mark = self.locals.len();
        let counter = self.declare(COUNTER_NAMES, Type::I32, Interval::new(0.0, f64::from(trip - 1)), false);
        let counter_id = self.locals[counter].id;
        let force = if force_nested { Some(Required::Loop) } else { None };
        let body = self.block(Target::Acc(acc), 3, force);
        // the counter is the first local of the loop's scope; block() truncated past it
        self.locals.truncate(mark);
        self.trips.pop();
        self.unrolled.pop();
        let a = &mut self.locals[acc];
        a.iv = a.iv.add(a.pending);
        a.pending = Interval::point(0.0);
        a.frozen = false;
        let reversed = self.rng.random_bool(0.15);
        // one loop in six written as a `while` over its counter, when no `continue` would skip the step
        let as_while = !continues(&body) && self.rng.random_bool(0.17);
        out.push(Stmt::For { var: counter_id, count, body, reversed, as_while });
        self.nest -= 1;
    }

    fn atomic_stmt(&mut self, out: &mut Vec<Stmt>) {
        if self.accs.is_empty() {
            return;
        }
        let a = *self.accs.choose(&mut self.rng).unwrap_or(&self.accs[0]);
        self.atomic_on(a, out);
    }

    fn atomic_on(&mut self, a: Acc, out: &mut Vec<Stmt>) {
        let index = if a.len == 1 {
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

    fn stmt(&mut self, out: &mut Vec<Stmt>) {
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
        ]);
        match choice {
            0 if self.pol.exprs.rot > 0 && self.rng.random_bool(0.1) => self.unpack_stmt(out),
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
            _ => self.atomic_stmt(out),
        }
    }

    /// Locals from a builtin that returns a tuple: `axis, angle = wp.quat_to_axis_angle(q)` (a unit axis, an
    /// angle in [0, pi]) or `p, q, s = wp.transform_decompose(m)` of a composed matrix with positive literal
    /// scales (so the normalized columns form a rotation).
    fn unpack_stmt(&mut self, out: &mut Vec<Stmt>) {
        let depth = self.cfg.max_expr_depth.min(3);
        let (v3, q) = (Type::Vec(3), Type::Quat);
        if self.rng.random_bool(0.5) {
            let (e, _) = self.top_expr(q, depth);
            let value = Expr::call("quat_to_axis_angle", Type::Bool, vec![e]);
            let axis = self.declare(&["axis", "dir", "n_axis"], v3, Interval::new(-1.0, 1.0), true);
            let angle =
                self.declare(&["angle", "theta", "phi"], Type::F32, Interval::new(0.0, std::f64::consts::PI), true);
            out.push(Stmt::Unpack { vars: vec![self.locals[axis].id, self.locals[angle].id], value });
            return;
        }
        let (p, ip) = self.top_expr(v3, depth);
        let (r, _) = self.top_expr(q, depth);
        let r = Expr::call("normalize", q, vec![r]);
        let scales: Vec<f64> = (0..3).map(|_| f64::from(self.rng.random_range(1..17u32)) * 0.25).collect();
        let lo = scales.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = scales.iter().copied().fold(0.0, f64::max);
        let sv = Expr::construct(v3, scales.into_iter().map(Expr::float).collect());
        let m = Expr::call("transform_compose", Type::Mat(4), vec![p, r, sv]);
        let value = Expr::call("transform_decompose", Type::Bool, vec![m]);
        let pos = self.declare(&["pos", "origin", "trans"], v3, ip, true);
        let rot = self.declare(&["rot", "orient", "q_rot"], q, Interval::new(-1.0, 1.0), true);
        let scale = self.declare(&["scale", "extent", "size"], v3, Interval::new(lo, hi), true);
        let vars = vec![self.locals[pos].id, self.locals[rot].id, self.locals[scale].id];
        out.push(Stmt::Unpack { vars, value });
    }

    fn choose_assignable(&mut self) -> Option<Target> {
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

    fn required(&mut self, r: Required, out: &mut Vec<Stmt>) {
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
                    (Expr::call("sin", Type::F32, vec![x]), ix.hull(Interval::new(-1.0, 1.0)))
                });
                let l = self.declare(F32_NAMES, Type::F32, iv, true);
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
                    out.push(Stmt::Let { var: self.locals[l].id, value: e });
                }
            }
            Required::MatLocal => {
                let n = self.rng.random_range(2..=4);
                self.let_stmt(Type::Mat(n), out);
            }
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
            body.push(Stmt::Let { var: self.locals[l].id, value: Expr::call("rand_init", Type::U32, vec![seed, t]) });
        }

        // read some inputs into named locals first, as hand-written kernels do
        for i in 0..self.inputs.len() {
            if self.rng.random_bool(0.5) {
                let a = self.inputs[i];
                self.inputs[i].uses += 1;
                let index = self.own_index();
                let l = self.declare(Self::local_pool(a.ty), a.ty, a.iv, true);
                body.push(Stmt::Let {
                    var: self.locals[l].id,
                    value: Expr { ty: a.ty, kind: ExprKind::Load(a.id, index) },
                });
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
        materialize_literals(&mut body);
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

    /// Stores every output, folding in whatever the body left unused (locals, parameters, inputs).
    fn finish(&mut self, body: &mut Vec<Stmt>) {
        // ground truth from the AST, not the use counters (which count reads of expressions the range
        // analysis later dropped)
        let read = reads(body);
        let mut leftovers: Vec<TExpr> = Vec::new();
        for i in 0..self.locals.len() {
            let l = &self.locals[i];
            if !self.is_index(i) && !read.contains(&l.id) {
                leftovers.push((Expr::var(l.id, l.ty), l.iv));
            }
        }
        for v in self.values.clone() {
            if !read.contains(&v.id) {
                leftovers.push((Expr::var(v.id, v.ty), v.iv));
            }
        }
        for a in self.inputs.clone() {
            if !read.contains(&a.id) {
                let index = self.own_index();
                leftovers.push((Expr { ty: a.ty, kind: ExprKind::Load(a.id, index) }, a.iv));
            }
        }
        let sinks = self.outputs.len().max(1);
        let mut share: Vec<Vec<TExpr>> = vec![Vec::new(); sinks];
        for (k, e) in leftovers.into_iter().enumerate() {
            share[k % sinks].push(e);
        }
        let depth = self.cfg.max_expr_depth;
        if self.outputs.is_empty() {
            // atomic-only kernels: the leftovers feed one more atomic update
            let a = self.accs[0];
            let extra: Vec<TExpr> = share.remove(0).into_iter().map(|e| self.convert(e, a.ty)).collect();
            self.draws = u32::from(extra.iter().any(|e| e.0.has_draw()));
            let base = self.top_expr_keeping_draws(a.ty, depth.min(2));
            let (value, _) = Self::sum(a.ty, base, extra);
            let (t, _) = self.tid_expr();
            let index = if a.len == 1 {
                Expr::int(0)
            } else {
                Expr::binary(BinOp::Mod, Type::I32, t, Expr::int(i64::from(a.len)))
            };
            let op = if a.family == AtomicOp::Sub { AtomicOp::Add } else { a.family };
            body.push(Stmt::Atomic { op, array: a.id, index, value });
        }
        for (k, (id, ty)) in self.outputs.clone().into_iter().enumerate() {
            let extra: Vec<TExpr> = std::mem::take(&mut share[k]).into_iter().map(|e| self.convert(e, ty)).collect();
            self.draws = u32::from(extra.iter().any(|e| e.0.has_draw()));
            let base = self.top_expr_keeping_draws(ty, depth);
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

/// True if `block` contains an atomic update of `array`.
fn updates(block: &[Stmt], array: VarId) -> bool {
    let mut found = false;
    visit_stmts(block, &mut |s, _| found |= matches!(s, Stmt::Atomic { array: a, .. } if a == &array));
    found
}

/// An expression with no variable, array load or `tid` in it: its value is known before the kernel runs.
pub(crate) fn is_const(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Var(_) | ExprKind::Field(..) | ExprKind::Tid | ExprKind::Load(..) | ExprKind::Len(..) => false,
        ExprKind::FuncRef(_) => true,
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
        ExprKind::Call(name, args) => {
            let same = args.iter().enumerate().any(|(i, a)| !is_const(a) && args[i + 1..].contains(a));
            let lit_arg = args.len() == 1 && is_const(&args[0]) && !matches!(*name, "diag" | "static");
            same || lit_arg
        }
        _ => false,
    }
}

/// Warp treats a local that is assigned a bare literal as a compile-time constant, which a dynamic loop may
/// not mutate ("Error mutating a constant ... inside a dynamic loop"). Every `x = <literal>` becomes
/// `x = wp.<type>(<literal>)`, the spelling Warp's error message recommends.
fn materialize_literals(block: &mut [Stmt]) {
    let literal = |e: &Expr| {
        let inner = match &e.kind {
            ExprKind::Unary(UnOp::Neg, a) => a.as_ref(),
            _ => e,
        };
        matches!(inner.kind, ExprKind::Float(_) | ExprKind::Int(_))
    };
    for s in block {
        match s {
            Stmt::Let { value, .. } | Stmt::Assign { value, .. } if literal(value) => {
                let ty = value.ty;
                *value = Expr::construct(ty, vec![value.clone()]);
            }
            Stmt::If { then, elifs, els, .. } => {
                materialize_literals(then);
                elifs.iter_mut().for_each(|(_, b)| materialize_literals(b));
                materialize_literals(els);
            }
            Stmt::For { body, .. } => materialize_literals(body),
            _ => {}
        }
    }
}

/// Every variable or array the block reads (targets of assignments are not reads).
fn reads(block: &[Stmt]) -> std::collections::HashSet<VarId> {
    let mut out = std::collections::HashSet::new();
    visit_stmts(block, &mut |s, _| {
        for e in s.exprs() {
            e.visit(&mut |e| match &e.kind {
                ExprKind::Var(v) | ExprKind::Len(v, _) | ExprKind::Load(v, _) => {
                    out.insert(*v);
                }
                _ => {}
            });
        }
    });
    out
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
