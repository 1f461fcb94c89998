//! Typed kernel AST for warpsmith: the one representation that the generator builds, the Warp-Python printer
//! prints, and the canonical form hashes.
//!
//! The AST covers the subset of Warp's kernel language that warpsmith generates. Every expression carries its
//! [`Type`], so printers never infer types. Variables are numbered ([`VarId`]) and named in [`Kernel::vars`];
//! the canonical form ([`canonical`]) renames them in order of first use so that two kernels that differ only in
//! names print, and hash, identically.
//!
//! This crate does no I/O.

mod builtin;
mod features;
pub mod launch;
pub mod liveness;
mod print;
pub mod text;
mod types;

pub use builtin::{Builtin, Family, Gradient};
pub use features::{WARP_MAX_UNROLL, features, mutates_in_dynamic_loop};
pub use print::{canonical, canonical_id, python_module, python_module_with_names};
pub use types::{Query, Scene, Type, Voxel};

/// Index of a variable in [`Kernel::vars`].
pub type VarId = usize;

/// A complete `@wp.kernel` function.
#[derive(Clone, Debug, PartialEq)]
pub struct Kernel {
    /// The Python function name.
    pub name: String,
    /// Every variable (parameters, locals, loop counters), indexed by [`VarId`].
    pub vars: Vec<VarInfo>,
    /// The parameters in signature order.
    pub params: Vec<Param>,
    /// The statements of the body, in order. The first is usually `tid = wp.tid()`.
    pub body: Vec<Stmt>,
    /// `@wp.func` helpers the body calls ([`ExprKind::FuncCall`] indexes this), printed before the kernel.
    pub funcs: Vec<Func>,
    /// `@wp.struct` classes of by-value parameters ([`Type::Struct`] indexes this), printed first.
    pub structs: Vec<StructDef>,
}

/// A `@wp.struct` class: `class Name:` and one annotated field per line.
#[derive(Clone, Debug, PartialEq)]
pub struct StructDef {
    /// The class name.
    pub name: String,
    /// The fields in declaration order (the order of a test input's flattened values).
    pub fields: Vec<StructField>,
}

/// One field of a [`StructDef`].
#[derive(Clone, Debug, PartialEq)]
pub struct StructField {
    /// The field name.
    pub name: String,
    /// Its type: a scalar or a vector.
    pub ty: Type,
    /// The range test values are drawn from (per component), as for a by-value parameter.
    pub range: (f64, f64),
}

/// A `@wp.func` helper: `def name(a: float, ...) -> T:`, its statements, then `return result`.
///
/// `def` holds the name, the function's own variables, its by-value parameters ([`ParamKind::Value`]) and the
/// statements before the return; its `funcs` is empty (helpers do not call helpers).
#[derive(Clone, Debug, PartialEq)]
pub struct Func {
    /// Name, variables, parameters and statements.
    pub def: Kernel,
    /// The returned value; its type is the function's return type.
    pub result: Expr,
}

impl Kernel {
    /// The launch's dimensionality: 2 or 3 when the body starts with [`Stmt::LaunchIndex`], else 1.
    pub fn ndim(&self) -> usize {
        match self.body.first() {
            Some(Stmt::LaunchIndex { vars }) => vars.len(),
            _ => 1,
        }
    }

    /// The dimensionality of an array parameter: [`Kernel::ndim`] for a launch-shaped array, 1 otherwise.
    pub fn array_ndim(&self, len: ArrayLen) -> usize {
        match len {
            ArrayLen::Launch => self.ndim(),
            ArrayLen::Fixed(_) | ArrayLen::Tiled(_) => 1,
            ArrayLen::Tiled2(..) | ArrayLen::Fixed2(..) => 2,
        }
    }

    /// True for a kernel that queries a scene: one with a [`Type::Scene`] or [`Type::Query`] variable.
    pub fn uses_scenes(&self) -> bool {
        self.vars.iter().any(|v| matches!(v.ty, Type::Scene(_) | Type::Query(_)))
    }

    /// True for a tile kernel: one with a [`Type::Tile`] variable. Each launch index is a block that runs the
    /// tile operations cooperatively (`wp.launch_tiled` on CUDA; one thread per block on the CPU).
    pub fn is_tiled(&self) -> bool {
        self.vars.iter().any(|v| matches!(v.ty, Type::Tile(_) | Type::Tile2(..)))
    }

    /// True for a kernel whose launch index is a block on CUDA (`wp.launch_tiled`, 256 threads sharing the
    /// index): a tile kernel, or a thread kernel with a block-cooperative scene query ([`Query::BvhTiled`],
    /// [`Query::MeshTiled`]), whose arguments must be uniform over the block. On the CPU one thread runs each
    /// block, so both launches are the same there.
    pub fn launches_blocks(&self) -> bool {
        self.is_tiled() || self.vars.iter().any(|v| matches!(v.ty, Type::Query(Query::BvhTiled | Query::MeshTiled)))
    }
}

/// A variable's display name and type.
#[derive(Clone, Debug, PartialEq)]
pub struct VarInfo {
    /// Name as printed in the readable form.
    pub name: String,
    /// Value type; for array parameters, the element type (`dtype`).
    pub ty: Type,
}

/// One kernel parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    /// The parameter's variable.
    pub var: VarId,
    /// Array or by-value parameter.
    pub kind: ParamKind,
    /// Closed interval `[lo, hi]` that input values (each component, each element) are drawn from. The
    /// generator's range analysis relies on it, so test inputs must respect it. Unused for outputs.
    pub range: (f64, f64),
}

/// What a parameter is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParamKind {
    /// A `wp.array(dtype=...)`; its dtype is the variable's [`VarInfo::ty`]. An array of length
    /// [`ArrayLen::Launch`] has the launch's shape (`wp.array2d`/`wp.array3d` in 2-D/3-D kernels, see
    /// [`Kernel::ndim`]); a [`ArrayLen::Fixed`] array is 1-D.
    Array {
        /// How the kernel uses the array.
        role: ArrayRole,
        /// Its length.
        len: ArrayLen,
    },
    /// A by-value scalar, vector or matrix parameter.
    Value,
}

/// How a kernel uses an array parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ArrayRole {
    /// Only read.
    Input,
    /// Written once per thread at index `tid`, never read.
    Output,
    /// Updated only through atomics, at any index.
    Accumulator,
}

/// The length of an array parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ArrayLen {
    /// One element per thread: the launch's shape.
    Launch,
    /// A fixed number of elements (accumulators).
    Fixed(u32),
    /// `N` elements per launch index (a tile kernel's arrays: block `i` loads `a[i * N : (i + 1) * N]`).
    Tiled(u32),
    /// A 2-D array of `rows` rows per launch index and `cols` columns (block `i` loads rows
    /// `i * rows .. (i + 1) * rows`).
    Tiled2(u32, u32),
    /// A 2-D array of a fixed `rows x cols` shape, shared by every block (e.g. the weights of a tile matmul).
    Fixed2(u32, u32),
}

/// A statement.
#[derive(Clone, Debug, PartialEq)]
pub enum Stmt {
    /// First definition of a local: `x = value`.
    Let {
        /// The new local.
        var: VarId,
        /// Its initial value.
        value: Expr,
    },
    /// Reassignment of an existing local: `x = value`.
    Assign {
        /// The local.
        var: VarId,
        /// Its new value.
        value: Expr,
    },
    /// Array element store: `array[i]`, `array[i, j]` or `array[i, j, k] = value`.
    Store {
        /// The output array.
        array: VarId,
        /// Element indices (`int32`), one per array dimension.
        index: Vec<Expr>,
        /// Stored value, of the array's dtype.
        value: Expr,
    },
    /// `wp.atomic_<op>(array, index, value)`.
    Atomic {
        /// Which atomic.
        op: AtomicOp,
        /// The accumulator array.
        array: VarId,
        /// Element index (`int32`).
        index: Expr,
        /// Operand, of the array's dtype.
        value: Expr,
    },
    /// `if cond: ... elif c: ... else: ...`.
    If {
        /// The `if` condition (`bool`).
        cond: Expr,
        /// The `if` block (non-empty).
        then: Vec<Stmt>,
        /// `elif` conditions and blocks.
        elifs: Vec<(Expr, Vec<Stmt>)>,
        /// The `else` block; empty means no `else`.
        els: Vec<Stmt>,
    },
    /// `for var in range(count): body`, or `for var in reversed(range(count)): body`.
    For {
        /// The loop counter (`int32`).
        var: VarId,
        /// Trip count (`int32`): a literal or a scalar parameter.
        count: Expr,
        /// The body (non-empty).
        body: Vec<Stmt>,
        /// `reversed(range(count))`: the counter runs from `count - 1` down to 0.
        reversed: bool,
        /// Written as a `while` loop over an explicit counter: `i = wp.int32(0)` / `while i < count:` / body /
        /// `i += 1` (reversed: from `count - 1` while `i >= 0`, `i -= 1`). Same iterations; Warp compiles every
        /// `while` as a dynamic loop. The body has no `continue` at this loop's level (it would skip the step).
        as_while: bool,
    },
    /// `return` from the kernel (only in a non-tile kernel's top-level `if`).
    Return,
    /// `i, j = wp.tid()` or `i, j, k = wp.tid()`: the thread's index in a 2-D or 3-D launch (a 1-D kernel
    /// uses `tid = wp.tid()`, a [`Stmt::Let`] of [`ExprKind::Tid`]). Only as a kernel's first statement.
    LaunchIndex {
        /// One `int32` variable per launch dimension (2 or 3).
        vars: Vec<VarId>,
    },
    /// A builtin called for its effect: `wp.tile_store(out, t, offset=...)`, `wp.tile_atomic_add(...)`.
    Call(Expr),
    /// `break` (only inside a loop).
    Break,
    /// `continue` (only inside a loop).
    Continue,
    /// First definition of several locals from a builtin that returns a tuple:
    /// `axis, angle = wp.quat_to_axis_angle(q)`, `p, q, s = wp.transform_decompose(m)`.
    Unpack {
        /// The new locals, in the tuple's order.
        vars: Vec<VarId>,
        /// The call.
        value: Expr,
    },
    /// `while cond: body`, where `cond` is a scene query's iterator call (`wp.hash_grid_query_next(q, j)`,
    /// `wp.bvh_query_next(q, j)`, `wp.mesh_query_aabb_next(q, f)`) that writes the next index into its second
    /// argument, an `int32` local declared before the loop. Warp compiles it as a dynamic loop; the iterations
    /// are bounded by the scene's size.
    While {
        /// The iterator call (`bool`).
        cond: Expr,
        /// The body (non-empty).
        body: Vec<Stmt>,
    },
    /// Component update of a local vector: `v[k] = value` (Warp's `assign_inplace`), `v[k] += value`
    /// (`add_inplace`) or `v[k] -= value` (`sub_inplace`).
    SetComponent {
        /// The local vector.
        var: VarId,
        /// Component index, `0..N`.
        index: u8,
        /// `None` for `=`, [`BinOp::Add`] for `+=`, [`BinOp::Sub`] for `-=`.
        op: Option<BinOp>,
        /// The new component, or the amount (`float32`).
        value: Expr,
    },
}

impl Stmt {
    /// The registry builtin Warp's code generator calls for a [`Stmt::SetComponent`] with operator `op`.
    pub fn component_builtin(op: Option<BinOp>) -> &'static str {
        match op {
            Some(BinOp::Add) => "add_inplace",
            Some(BinOp::Sub) => "sub_inplace",
            _ => "assign_inplace",
        }
    }
}

/// Atomic operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AtomicOp {
    /// `wp.atomic_add`
    Add,
    /// `wp.atomic_sub`
    Sub,
    /// `wp.atomic_min`
    Min,
    /// `wp.atomic_max`
    Max,
    /// `wp.atomic_or` (integers)
    Or,
    /// `wp.atomic_xor` (integers)
    Xor,
    /// `wp.atomic_and` (integers)
    And,
    /// `wp.atomic_exch(array, i, value)`: stores `value`, returns the old element.
    Exch,
    /// `wp.atomic_cas(array, i, 0, value)`: stores `value` where the element is 0 (compare-and-swap with a
    /// zero comparand).
    Cas,
}

impl AtomicOp {
    /// The Warp builtin name, e.g. `atomic_add`.
    pub fn builtin(self) -> &'static str {
        match self {
            AtomicOp::Add => "atomic_add",
            AtomicOp::Sub => "atomic_sub",
            AtomicOp::Min => "atomic_min",
            AtomicOp::Max => "atomic_max",
            AtomicOp::Or => "atomic_or",
            AtomicOp::Xor => "atomic_xor",
            AtomicOp::And => "atomic_and",
            AtomicOp::Exch => "atomic_exch",
            AtomicOp::Cas => "atomic_cas",
        }
    }
}

/// A typed expression.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// The value type.
    pub ty: Type,
    /// What it is.
    pub kind: ExprKind,
}

/// Expression forms.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// A variable (local, loop counter, or by-value parameter).
    Var(VarId),
    /// `wp.tid()`.
    Tid,
    /// A float literal; printed with a decimal point. Never negative (negation is [`UnOp::Neg`]).
    Float(f64),
    /// An integer literal. Never negative.
    Int(i64),
    /// `True` / `False`.
    Bool(bool),
    /// A unary operator.
    Unary(UnOp, Box<Expr>),
    /// A binary operator.
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// A builtin call `wp.name(args)`.
    Call(Builtin, Vec<Expr>),
    /// A constructor or cast: `wp.float32(x)`, `wp.vec3(a, b, c)`, `wp.mat22(...)`.
    Construct(Vec<Expr>),
    /// `array[i]`, `array[i, j]` or `array[i, j, k]`: one `int32` index per array dimension.
    Load(VarId, Vec<Expr>),
    /// `v[i]` (vector component) or `m[i, j]` (matrix element).
    Component(Box<Expr>, u8, Option<u8>),
    /// `array.shape[axis]`.
    Len(VarId, u8),
    /// A call of the kernel's `@wp.func` helper `Kernel::funcs[i]`.
    FuncCall(usize, Vec<Expr>),
    /// `p.field`: field `i` of the struct parameter `p`.
    Field(VarId, u8),
    /// A keyword argument `name=value` of a [`ExprKind::Call`] (e.g. `shape=8`, `offset=i * 8`); its type is
    /// the value's.
    Kw(&'static str, Box<Expr>),
    /// A tuple `(a, b)`: a 2-D tile's `shape=` or `offset=`.
    Tuple(Vec<Expr>),
    /// A builtin named as a value, `wp.sin`, as the function argument of `wp.tile_map`/`wp.tile_reduce`.
    /// Typed `float32` (the element type it maps).
    FuncRef(Builtin),
    /// `q.name`: a member of a scene query object ([`Type::Query`]) local, e.g. `q.face`, `r.t`.
    Member(VarId, &'static str),
    /// A named constant of Warp's Python module, printed as is (`wp.Volume.LINEAR`); typed as its value.
    Const(&'static str),
}

/// Unary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnOp {
    /// `-x`
    Neg,
    /// `not b`
    Not,
    /// `~k` (bitwise complement of an integer)
    Invert,
    /// `+x` (Warp's `pos`, the identity)
    Pos,
}

/// Binary operators, with Python's spelling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*` (scalar, or vector/matrix by scalar)
    Mul,
    /// `/` (truncating for integers, as in C)
    Div,
    /// `%` (sign of the dividend for integers, as in C)
    Mod,
    /// `//` (integers: rounds toward negative infinity, as in Python)
    FloorDiv,
    /// `&` (integers)
    BitAnd,
    /// `|` (integers)
    BitOr,
    /// `^` (integers)
    BitXor,
    /// `<<` (integers)
    Shl,
    /// `>>` (integers, arithmetic)
    Shr,
    /// `@` (matrix-matrix or matrix-vector product)
    MatMul,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `and`
    And,
    /// `or`
    Or,
}

impl BinOp {
    /// The Python token.
    pub fn token(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
            BinOp::FloorDiv => "//",
            BinOp::BitAnd => "&",
            BinOp::BitOr => "|",
            BinOp::BitXor => "^",
            BinOp::Shl => "<<",
            BinOp::Shr => ">>",
            BinOp::MatMul => "@",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::And => "and",
            BinOp::Or => "or",
        }
    }

    /// Python precedence (higher binds tighter), from the Python language reference, section 6.17.
    pub fn precedence(self) -> u8 {
        match self {
            BinOp::Or => 1,
            BinOp::And => 2,
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::Eq | BinOp::Ne => 4,
            BinOp::BitOr => 5,
            BinOp::BitXor => 6,
            BinOp::BitAnd => 7,
            BinOp::Shl | BinOp::Shr => 8,
            BinOp::Add | BinOp::Sub => 9,
            BinOp::Mul | BinOp::Div | BinOp::Mod | BinOp::FloorDiv | BinOp::MatMul => 10,
        }
    }

    /// True for comparisons (result `bool`).
    pub fn is_comparison(self) -> bool {
        matches!(self, BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::Eq | BinOp::Ne)
    }
}

impl Expr {
    /// A variable reference.
    pub fn var(id: VarId, ty: Type) -> Self {
        Expr { ty, kind: ExprKind::Var(id) }
    }
    /// A `float32` literal (`value >= 0`).
    pub fn float(value: f64) -> Self {
        Expr { ty: Type::F32, kind: ExprKind::Float(value) }
    }
    /// An `int32` literal (`value >= 0`).
    pub fn int(value: i64) -> Self {
        Expr { ty: Type::I32, kind: ExprKind::Int(value) }
    }
    /// A binary operation with result type `ty`.
    pub fn binary(op: BinOp, ty: Type, a: Expr, b: Expr) -> Self {
        Expr { ty, kind: ExprKind::Binary(op, Box::new(a), Box::new(b)) }
    }
    /// A unary operation; the result has the operand's type.
    pub fn unary(op: UnOp, a: Expr) -> Self {
        Expr { ty: a.ty, kind: ExprKind::Unary(op, Box::new(a)) }
    }
    /// A builtin call `wp.name(args)` with result type `ty`.
    pub fn call(name: Builtin, ty: Type, args: Vec<Expr>) -> Self {
        Expr { ty, kind: ExprKind::Call(name, args) }
    }
    /// A constructor or cast to `ty`.
    pub fn construct(ty: Type, args: Vec<Expr>) -> Self {
        Expr { ty, kind: ExprKind::Construct(args) }
    }
}

impl Stmt {
    /// The expressions directly in this statement (not those of nested blocks), in source order.
    pub fn exprs(&self) -> Vec<&Expr> {
        match self {
            Stmt::Let { value, .. }
            | Stmt::Assign { value, .. }
            | Stmt::SetComponent { value, .. }
            | Stmt::Unpack { value, .. } => vec![value],
            Stmt::Store { index, value, .. } => index.iter().chain([value]).collect(),
            Stmt::Atomic { index, value, .. } => vec![index, value],
            Stmt::If { cond, elifs, .. } => std::iter::once(cond).chain(elifs.iter().map(|(c, _)| c)).collect(),
            Stmt::For { count, .. } => vec![count],
            Stmt::While { cond, .. } => vec![cond],
            Stmt::Call(e) => vec![e],
            Stmt::LaunchIndex { .. } | Stmt::Break | Stmt::Continue | Stmt::Return => Vec::new(),
        }
    }

    /// [`Stmt::exprs`], mutably.
    pub fn exprs_mut(&mut self) -> Vec<&mut Expr> {
        match self {
            Stmt::Let { value, .. }
            | Stmt::Assign { value, .. }
            | Stmt::SetComponent { value, .. }
            | Stmt::Unpack { value, .. } => vec![value],
            Stmt::Store { index, value, .. } => index.iter_mut().chain([value]).collect(),
            Stmt::Atomic { index, value, .. } => vec![index, value],
            Stmt::If { cond, elifs, .. } => std::iter::once(cond).chain(elifs.iter_mut().map(|(c, _)| c)).collect(),
            Stmt::For { count, .. } => vec![count],
            Stmt::While { cond, .. } => vec![cond],
            Stmt::Call(e) => vec![e],
            Stmt::LaunchIndex { .. } | Stmt::Break | Stmt::Continue | Stmt::Return => Vec::new(),
        }
    }

    /// [`Stmt::blocks`], mutably.
    pub fn blocks_mut(&mut self) -> Vec<&mut Vec<Stmt>> {
        match self {
            Stmt::If { then, elifs, els, .. } => {
                std::iter::once(then).chain(elifs.iter_mut().map(|(_, b)| b)).chain([els]).collect()
            }
            Stmt::For { body, .. } | Stmt::While { body, .. } => vec![body],
            _ => Vec::new(),
        }
    }

    /// The nested blocks of this statement, in source order.
    pub fn blocks(&self) -> Vec<&[Stmt]> {
        match self {
            Stmt::If { then, elifs, els, .. } => std::iter::once(then.as_slice())
                .chain(elifs.iter().map(|(_, b)| b.as_slice()))
                .chain([els.as_slice()])
                .collect(),
            Stmt::For { body, .. } | Stmt::While { body, .. } => vec![body],
            _ => Vec::new(),
        }
    }
}

/// Calls `f` on every statement of `block` and its nested blocks, in source order (pre-order), mutably.
pub fn visit_stmts_mut(block: &mut [Stmt], f: &mut dyn FnMut(&mut Stmt)) {
    for s in block {
        f(s);
        for b in s.blocks_mut() {
            visit_stmts_mut(b, f);
        }
    }
}

/// Calls `f(stmt, loops)` on every statement of `block` and its nested blocks, in source order (pre-order);
/// `loops` is the number of loops (`for`, `while`) enclosing the statement within `block`.
pub fn visit_stmts<'a>(block: &'a [Stmt], f: &mut dyn FnMut(&'a Stmt, usize)) {
    fn go<'a>(block: &'a [Stmt], loops: usize, f: &mut dyn FnMut(&'a Stmt, usize)) {
        for s in block {
            f(s, loops);
            let inner = loops + usize::from(matches!(s, Stmt::For { .. } | Stmt::While { .. }));
            for b in s.blocks() {
                go(b, inner, f);
            }
        }
    }
    go(block, 0, f);
}

impl Expr {
    /// True if this node draws a random number: a builtin call whose first argument is a generator state
    /// (`wp.randf(state)`, `wp.sample_unit_disk(state)`, ...), which advances that state.
    pub fn is_draw(&self) -> bool {
        matches!(&self.kind, ExprKind::Call(_, a) if a.first().is_some_and(|s| s.ty == Type::U32))
    }

    /// True if this expression or a subexpression draws a random number ([`Expr::is_draw`]). Such an
    /// expression must not be duplicated, and its evaluation must not be skipped.
    pub fn has_draw(&self) -> bool {
        let mut found = false;
        self.visit(&mut |x| found |= x.is_draw());
        found
    }

    /// The direct subexpressions, in source order, for walks that recurse by hand.
    pub fn children(&self) -> Vec<&Expr> {
        match &self.kind {
            ExprKind::Unary(_, a) | ExprKind::Component(a, ..) | ExprKind::Kw(_, a) => vec![a.as_ref()],
            ExprKind::Load(_, idx) => idx.iter().collect(),
            ExprKind::Binary(_, a, b) => vec![a.as_ref(), b.as_ref()],
            ExprKind::Call(_, args)
            | ExprKind::Construct(args)
            | ExprKind::Tuple(args)
            | ExprKind::FuncCall(_, args) => args.iter().collect(),
            ExprKind::Var(_)
            | ExprKind::Field(..)
            | ExprKind::Tid
            | ExprKind::Float(_)
            | ExprKind::Int(_)
            | ExprKind::Bool(_)
            | ExprKind::Len(..)
            | ExprKind::FuncRef(_)
            | ExprKind::Member(..)
            | ExprKind::Const(_) => Vec::new(),
        }
    }

    /// The direct subexpressions, in source order, for rewrites that recurse by hand.
    pub fn children_mut(&mut self) -> Vec<&mut Expr> {
        match &mut self.kind {
            ExprKind::Unary(_, a) | ExprKind::Component(a, ..) | ExprKind::Kw(_, a) => vec![a.as_mut()],
            ExprKind::Load(_, idx) => idx.iter_mut().collect(),
            ExprKind::Binary(_, a, b) => vec![a.as_mut(), b.as_mut()],
            ExprKind::Call(_, args)
            | ExprKind::Construct(args)
            | ExprKind::Tuple(args)
            | ExprKind::FuncCall(_, args) => args.iter_mut().collect(),
            ExprKind::Var(_)
            | ExprKind::Field(..)
            | ExprKind::Tid
            | ExprKind::Float(_)
            | ExprKind::Int(_)
            | ExprKind::Bool(_)
            | ExprKind::Len(..)
            | ExprKind::FuncRef(_)
            | ExprKind::Member(..)
            | ExprKind::Const(_) => Vec::new(),
        }
    }

    /// Replaces, top-down, each subexpression for which `f` gives a replacement (the replacement is not
    /// searched again); the others are searched in their children.
    pub fn replace_where(&mut self, f: &mut dyn FnMut(&Expr) -> Option<Expr>) {
        match f(self) {
            Some(new) => *self = new,
            None => self.children_mut().into_iter().for_each(|c| c.replace_where(f)),
        }
    }

    /// Calls `f` on this expression and every subexpression (pre-order).
    pub fn visit<'a>(&'a self, f: &mut dyn FnMut(&'a Expr)) {
        f(self);
        for c in self.children() {
            c.visit(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draw_is_a_call_on_a_generator_state_at_any_depth() {
        let state = Expr::var(0, Type::U32);
        let draw = Expr::call(Builtin::Randf, Type::F32, vec![state]);
        let sum = Expr::binary(BinOp::Add, Type::F32, Expr::float(1.0), draw.clone());
        assert!(draw.is_draw() && draw.has_draw());
        assert!(!sum.is_draw() && sum.has_draw());
        let plain = Expr::call(Builtin::Sin, Type::F32, vec![Expr::var(1, Type::F32)]);
        assert!(!plain.is_draw() && !plain.has_draw());
    }
}
