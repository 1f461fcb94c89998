//! Categories as generation policies: weights over the generator's shared productions, plus the constructs
//! a category must contain. No category has a template; two kernels of one category share only tendencies.

use crate::config::Category;

/// Relative weights of the value-type classes for new locals and arrays.
#[derive(Clone, Copy, Debug)]
pub struct TypeWeights {
    /// `float32`
    pub f32: u32,
    /// `int32`
    pub i32: u32,
    /// `vec2`..`vec4`
    pub vec: u32,
    /// `mat22`..`mat44`
    pub mat: u32,
    /// `quat`
    pub quat: u32,
    /// `transform`
    pub xform: u32,
}

/// Relative weights of the statement productions.
#[derive(Clone, Copy, Debug)]
pub struct StmtWeights {
    /// New local.
    pub let_: u32,
    /// Reassign a local.
    pub assign: u32,
    /// `if`/`elif`/`else`.
    pub if_: u32,
    /// `for` loop.
    pub for_: u32,
    /// Atomic update of an accumulator array.
    pub atomic: u32,
}

/// Relative weights of the expression productions (for a node that is not a leaf).
#[derive(Clone, Copy, Debug)]
pub struct ExprWeights {
    /// `+ - * /` and negation.
    pub arith: u32,
    /// Math builtins (`sin`, `exp`, `pow`, `clamp`, ...).
    pub math: u32,
    /// Vector builtins and operators.
    pub vec: u32,
    /// Matrix builtins and operators.
    pub mat: u32,
    /// Quaternion and transform builtins producing a vector, matrix or scalar (`quat_rotate`,
    /// `transform_point`, `quat_to_matrix`, ...).
    pub rot: u32,
    /// `wp.where(cond, a, b)`.
    pub select: u32,
    /// Casts between `int32` and `float32`.
    pub cast: u32,
    /// Random draws from the kernel's generator state (`wp.randf`, `wp.randn`, `wp.sample_unit_disk`, ...);
    /// a nonzero weight gives the kernel `state = wp.rand_init(seed, tid)`.
    pub rand: u32,
}

/// A construct that a category's kernels must contain at least once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Required {
    /// An atomic update.
    Atomic,
    /// A loop nested inside another loop.
    NestedLoop,
    /// An `if` with at least two `elif`s and an `else`.
    IfChain,
    /// An `if` statement.
    If,
    /// A `for` loop.
    Loop,
    /// A math builtin call.
    MathCall,
    /// A vector-valued local.
    VecLocal,
    /// A matrix-valued local.
    MatLocal,
    /// A vector rotated or transformed by a quaternion or transform (`quat_rotate`, `transform_point`, ...).
    Rotation,
    /// A local holding a weighted stencil of neighbouring elements of one input array.
    Stencil,
    /// A scene query: a mesh, hash-grid, BVH or volume query and the values read from it
    /// (`crate::generate`'s scene productions; needs [`Policy::scenes`]).
    SceneQuery,
    /// A local read through an index array, `x = a[idx[tid]]` (needs [`Policy::indirect`]).
    Gather,
    /// An atomic update at an index read from an index array, `wp.atomic_add(acc, idx[tid], v)` (needs
    /// [`Policy::indirect`] and an accumulator).
    Scatter,
}

/// The generation policy of one category.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// Types of new locals.
    pub local_types: TypeWeights,
    /// Element types of input and output arrays.
    pub array_types: TypeWeights,
    /// Statement productions.
    pub stmts: StmtWeights,
    /// Expression productions.
    pub exprs: ExprWeights,
    /// Input arrays, inclusive range.
    pub inputs: (u32, u32),
    /// Output arrays, inclusive range.
    pub outputs: (u32, u32),
    /// By-value scalar parameters, inclusive range.
    pub scalars: (u32, u32),
    /// Accumulator arrays (atomics), inclusive range.
    pub accumulators: (u32, u32),
    /// Top-level statements before the stores, inclusive range (capped by `max_statements`).
    pub body: (u32, u32),
    /// Probability that an `if` gets `elif` branches.
    pub elif_p: f64,
    /// Probability that an `if` gets an `else`.
    pub else_p: f64,
    /// Probability that an `if` inside a loop is a `break`/`continue` guard.
    pub jump_p: f64,
    /// Probability that a loop's trip count is a scalar parameter (a dynamic loop) rather than a literal.
    pub dynamic_loop_p: f64,
    /// Constructs every kernel of the category contains.
    pub required: &'static [Required],
    /// Launch dimensionality: 1 (`tid = wp.tid()`), 2 or 3 (`i, j(, k) = wp.tid()`, `wp.array2d`/`array3d`).
    pub ndim: u8,
    /// Weight of a neighbour read (`a[(tid + 1) % n]`, `a[i, wp.max(j - 1, 0)]`, ...) among an array's leaves;
    /// 0 for none.
    pub neighbour: u32,
    /// Lengths an accumulator array is drawn from (1 is a full reduction to one element).
    pub acc_lens: &'static [u32],
    /// A tile kernel (`crate::generate` builds it from tile operations; the weights above do not apply).
    pub tiled: bool,
    /// Weight of a scene query statement (a mesh, hash-grid, BVH or volume query), beside [`Policy::stmts`];
    /// nonzero gives the kernel one or two scene handles (`wp.uint64` parameters).
    pub scenes: u32,
    /// Weight of an indirect access through an `int32` index array among an array's leaves (`a[idx[tid]]`) and
    /// among an accumulator's indices (`idx[tid]`); nonzero gives a 1-D kernel one or two index arrays whose
    /// values lie in `[0, MIN_LAUNCH_DIM - 1]` (`crate::vectors::MIN_LAUNCH_DIM`), so that they index any
    /// launch-shaped array and, reduced modulo its length, any accumulator.
    pub indirect: u32,
}

const BASE: Policy = Policy {
    local_types: TypeWeights { f32: 6, i32: 1, vec: 1, mat: 0, quat: 0, xform: 0 },
    array_types: TypeWeights { f32: 6, i32: 1, vec: 1, mat: 0, quat: 0, xform: 0 },
    stmts: StmtWeights { let_: 8, assign: 2, if_: 1, for_: 1, atomic: 0 },
    exprs: ExprWeights { arith: 6, math: 2, vec: 1, mat: 0, rot: 0, select: 0, cast: 1, rand: 0 },
    inputs: (1, 3),
    outputs: (1, 2),
    scalars: (0, 1),
    accumulators: (0, 0),
    body: (3, 8),
    elif_p: 0.15,
    else_p: 0.5,
    jump_p: 0.0,
    dynamic_loop_p: 0.3,
    required: &[],
    ndim: 1,
    neighbour: 0,
    acc_lens: &[1, 4, 8, 16],
    tiled: false,
    scenes: 0,
    indirect: 0,
};

/// The policy of `category`.
pub fn policy(category: Category) -> Policy {
    match category {
        Category::Arithmetic => Policy {
            local_types: TypeWeights { f32: 5, i32: 3, vec: 0, mat: 0, quat: 0, xform: 0 },
            array_types: TypeWeights { f32: 5, i32: 2, vec: 0, mat: 0, quat: 0, xform: 0 },
            stmts: StmtWeights { let_: 10, assign: 3, if_: 0, for_: 0, atomic: 0 },
            exprs: ExprWeights { arith: 10, math: 0, vec: 0, mat: 0, rot: 0, select: 0, cast: 2, rand: 0 },
            ..BASE
        },
        Category::Math => Policy {
            local_types: TypeWeights { f32: 10, i32: 0, vec: 0, mat: 0, quat: 0, xform: 0 },
            array_types: TypeWeights { f32: 10, i32: 0, vec: 0, mat: 0, quat: 0, xform: 0 },
            stmts: StmtWeights { let_: 10, assign: 2, if_: 0, for_: 0, atomic: 0 },
            exprs: ExprWeights { arith: 3, math: 10, vec: 0, mat: 0, rot: 0, select: 0, cast: 0, rand: 0 },
            required: &[Required::MathCall],
            ..BASE
        },
        Category::Vector => Policy {
            local_types: TypeWeights { f32: 2, i32: 0, vec: 6, mat: 0, quat: 0, xform: 0 },
            array_types: TypeWeights { f32: 2, i32: 0, vec: 6, mat: 0, quat: 0, xform: 0 },
            stmts: StmtWeights { let_: 10, assign: 2, if_: 1, for_: 0, atomic: 0 },
            exprs: ExprWeights { arith: 3, math: 1, vec: 10, mat: 0, rot: 0, select: 0, cast: 0, rand: 0 },
            required: &[Required::VecLocal],
            ..BASE
        },
        Category::Matrix => Policy {
            local_types: TypeWeights { f32: 1, i32: 0, vec: 3, mat: 6, quat: 0, xform: 0 },
            array_types: TypeWeights { f32: 1, i32: 0, vec: 3, mat: 4, quat: 0, xform: 0 },
            stmts: StmtWeights { let_: 10, assign: 2, if_: 0, for_: 0, atomic: 0 },
            exprs: ExprWeights { arith: 2, math: 1, vec: 4, mat: 10, rot: 0, select: 0, cast: 0, rand: 0 },
            required: &[Required::MatLocal],
            ..BASE
        },
        Category::ControlFlow => Policy {
            stmts: StmtWeights { let_: 5, assign: 4, if_: 5, for_: 3, atomic: 0 },
            exprs: ExprWeights { arith: 6, math: 2, vec: 1, mat: 0, rot: 0, select: 3, cast: 1, rand: 0 },
            jump_p: 0.35,
            required: &[Required::If, Required::Loop],
            ..BASE
        },
        Category::Atomic => Policy {
            stmts: StmtWeights { let_: 6, assign: 1, if_: 2, for_: 1, atomic: 6 },
            accumulators: (1, 2),
            outputs: (0, 1),
            required: &[Required::Atomic],
            ..BASE
        },
        Category::NestedLoop => Policy {
            stmts: StmtWeights { let_: 5, assign: 2, if_: 1, for_: 6, atomic: 0 },
            jump_p: 0.15,
            body: (2, 6),
            required: &[Required::NestedLoop],
            ..BASE
        },
        Category::MultiConditional => Policy {
            stmts: StmtWeights { let_: 5, assign: 3, if_: 6, for_: 0, atomic: 0 },
            exprs: ExprWeights { arith: 6, math: 2, vec: 1, mat: 0, rot: 0, select: 2, cast: 1, rand: 0 },
            elif_p: 0.7,
            else_p: 0.8,
            required: &[Required::IfChain],
            ..BASE
        },
        Category::Combined => Policy {
            local_types: TypeWeights { f32: 5, i32: 1, vec: 3, mat: 2, quat: 0, xform: 0 },
            array_types: TypeWeights { f32: 5, i32: 1, vec: 3, mat: 1, quat: 0, xform: 0 },
            stmts: StmtWeights { let_: 8, assign: 3, if_: 3, for_: 2, atomic: 1 },
            exprs: ExprWeights { arith: 6, math: 4, vec: 4, mat: 2, rot: 0, select: 1, cast: 1, rand: 0 },
            accumulators: (0, 1),
            scalars: (0, 2),
            jump_p: 0.15,
            body: (4, 10),
            ..BASE
        },
        Category::Reduction => Policy {
            stmts: StmtWeights { let_: 6, assign: 2, if_: 1, for_: 3, atomic: 3 },
            exprs: ExprWeights { arith: 6, math: 2, vec: 1, mat: 0, rot: 0, select: 1, cast: 1, rand: 0 },
            accumulators: (1, 2),
            acc_lens: &[1, 1, 2],
            outputs: (0, 1),
            required: &[Required::Loop, Required::Atomic],
            ..BASE
        },
        Category::Stencil => Policy {
            array_types: TypeWeights { f32: 6, i32: 0, vec: 1, mat: 0, quat: 0, xform: 0 },
            exprs: ExprWeights { arith: 8, math: 2, vec: 1, mat: 0, rot: 0, select: 1, cast: 0, rand: 0 },
            inputs: (1, 2),
            neighbour: 6,
            required: &[Required::Stencil],
            ..BASE
        },
        Category::Tile => Policy { tiled: true, ..BASE },
        Category::Grid2d | Category::Grid3d => Policy {
            ndim: if category == Category::Grid2d { 2 } else { 3 },
            neighbour: 2,
            stmts: StmtWeights { let_: 8, assign: 2, if_: 2, for_: 1, atomic: 0 },
            exprs: ExprWeights { arith: 6, math: 2, vec: 1, mat: 0, rot: 0, select: 1, cast: 2, rand: 0 },
            ..BASE
        },
        Category::Transform => Policy {
            local_types: TypeWeights { f32: 2, i32: 0, vec: 4, mat: 1, quat: 3, xform: 2 },
            array_types: TypeWeights { f32: 1, i32: 0, vec: 4, mat: 0, quat: 3, xform: 3 },
            stmts: StmtWeights { let_: 10, assign: 2, if_: 1, for_: 0, atomic: 0 },
            exprs: ExprWeights { arith: 3, math: 1, vec: 4, mat: 1, rot: 8, select: 1, cast: 0, rand: 0 },
            required: &[Required::Rotation],
            ..BASE
        },
        Category::Random => Policy {
            local_types: TypeWeights { f32: 6, i32: 1, vec: 3, mat: 0, quat: 0, xform: 0 },
            exprs: ExprWeights { arith: 6, math: 2, vec: 2, mat: 0, rot: 0, select: 1, cast: 1, rand: 5 },
            ..BASE
        },
        Category::Geometry => Policy {
            local_types: TypeWeights { f32: 4, i32: 1, vec: 4, mat: 0, quat: 0, xform: 0 },
            array_types: TypeWeights { f32: 3, i32: 0, vec: 5, mat: 0, quat: 0, xform: 0 },
            stmts: StmtWeights { let_: 8, assign: 2, if_: 2, for_: 1, atomic: 0 },
            exprs: ExprWeights { arith: 5, math: 2, vec: 5, mat: 0, rot: 0, select: 1, cast: 1, rand: 0 },
            scenes: 6,
            required: &[Required::SceneQuery],
            ..BASE
        },
        Category::Gather => Policy {
            local_types: TypeWeights { f32: 5, i32: 1, vec: 2, mat: 0, quat: 0, xform: 0 },
            array_types: TypeWeights { f32: 5, i32: 0, vec: 3, mat: 0, quat: 0, xform: 0 },
            stmts: StmtWeights { let_: 8, assign: 2, if_: 2, for_: 1, atomic: 0 },
            inputs: (1, 3),
            indirect: 2,
            required: &[Required::Gather],
            ..BASE
        },
        Category::Scatter => Policy {
            local_types: TypeWeights { f32: 5, i32: 1, vec: 2, mat: 0, quat: 0, xform: 0 },
            array_types: TypeWeights { f32: 5, i32: 0, vec: 2, mat: 0, quat: 0, xform: 0 },
            stmts: StmtWeights { let_: 6, assign: 1, if_: 2, for_: 1, atomic: 5 },
            accumulators: (1, 2),
            outputs: (0, 1),
            acc_lens: &[4, 8, 16],
            indirect: 1,
            required: &[Required::Scatter],
            ..BASE
        },
        Category::ScalarParam => Policy {
            scalars: (2, 4),
            inputs: (1, 2),
            exprs: ExprWeights { arith: 8, math: 3, vec: 1, mat: 0, rot: 0, select: 1, cast: 1, rand: 0 },
            dynamic_loop_p: 0.8,
            ..BASE
        },
    }
}
