//! The builtin table: one row for every builtin of Warp 1.19.0's registry (`warp._src.context.builtin_functions`,
//! committed as `crates/warpsmith-gen/data/builtins.json`), whether or not warpsmith generates it. A row gives the
//! Warp name, the registry's documentation group ([`Family`]) and the gradient class ([`Gradient`]); what the
//! generator does with a builtin and how the standalone CUDA translation spells it are each one exhaustive
//! `match` over [`Builtin`] in the consuming crate (`warpsmith_gen::rules::rule`,
//! `warpsmith_cuda::emit::spelling`), so a new row does not compile until every consumer has decided.
//!
//! A test checks the table against the committed registry: the same names in the same (sorted) order, each
//! row's family the registry's group and its gradient class consistent with the registry's `differentiable` flag.
//!
//! Adding a builtin: see ARCHITECTURE.md, "Adding a builtin".

/// Warp's documentation group of a builtin (`group` in the registry).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// `Scalar Math`: scalar functions, casts.
    ScalarMath,
    /// `Operators`: the builtins Python operators lower to (`add`, `mul`, `floordiv`, ...).
    Operators,
    /// `Utility`: array access, atomics, `where`, `lerp`, `len`, printing, ...
    Utility,
    /// `Vector Math`: vectors and matrices.
    VectorMath,
    /// `Tile Primitives`.
    Tile,
    /// `Geometry`: meshes, BVHs, hash grids, closest-point queries.
    Geometry,
    /// `Random`: counter-based random numbers, samplers and noise.
    Random,
    /// `Other` (`lower_bound`).
    Other,
    /// `Quaternion Math`.
    QuaternionMath,
    /// `Spatial Math`: 6-D spatial vectors and transforms of twists and wrenches.
    SpatialMath,
    /// `Code Generation` (`static`).
    CodeGeneration,
    /// `Textures`.
    Textures,
    /// `Transformations`: rigid transforms.
    Transformations,
    /// `Volumes`: NanoVDB volumes.
    Volumes,
}

impl Family {
    /// The registry's name of the group (`Scalar Math`, `Tile Primitives`, ...).
    pub fn registry_group(self) -> &'static str {
        match self {
            Family::ScalarMath => "Scalar Math",
            Family::Operators => "Operators",
            Family::Utility => "Utility",
            Family::VectorMath => "Vector Math",
            Family::Tile => "Tile Primitives",
            Family::Geometry => "Geometry",
            Family::Random => "Random",
            Family::Other => "Other",
            Family::QuaternionMath => "Quaternion Math",
            Family::SpatialMath => "Spatial Math",
            Family::CodeGeneration => "Code Generation",
            Family::Textures => "Textures",
            Family::Transformations => "Transformations",
            Family::Volumes => "Volumes",
        }
    }
}

/// What Warp's backward pass gives for a builtin, against its true derivative. This decides whether a kernel
/// using it can be checked against finite differences (`not_differentiable` in `checks.gradient` otherwise).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Gradient {
    /// The registry marks it differentiable and its adjoint is the derivative.
    Exact,
    /// The registry marks it differentiable but its adjoint is not the derivative: `assign_inplace`
    /// (`v[k] = x`) passes the component's adjoint to `x` but leaves it on `v[k]` as well (`adj_assign_inplace`
    /// in `warp/native/vec.h`; Warp's `enable_vector_component_overwrites` option exists for this), so the
    /// overwritten value's inputs receive a gradient they do not have; `transform_set_translation` and
    /// `transform_set_rotation` (in place on a transform) do the same (`adj_transform_set_*` in
    /// `warp/native/spatial.h`); `add_inplace` and `sub_inplace` (`v[k] += x`) update the vector in place, so the
    /// adjoint of an earlier read of it is evaluated at the updated value (reproducer in FINDINGS.md); `float16`
    /// and `bfloat16` round to a narrower float, a step function whose derivative is zero almost everywhere, while its adjoint
    /// passes the incoming adjoint through (itself rounded to half precision: `adj_float16`,
    /// `adj_bfloat16` in `warp/native/builtin.h`); `tile_astype` to a narrower float is the same rounding,
    /// element by element (`adj_tile_astype` in `warp/native/tile.h` casts the adjoint back).
    Inexact,
    /// Not differentiable in the registry, but piecewise constant in its float arguments or independent of them
    /// (rounding, sign tests, integer casts and bit operations, indices, random numbers from an integer state,
    /// `poisson` and `sample_cdf` whose results are integers, `static` folding a constant expression of
    /// literals): the true gradient is zero almost everywhere, which is what Warp's backward pass gives.
    Zero,
    /// Not differentiable in the registry although its value varies with its float arguments (`tile_max`,
    /// `tile_reduce`, `frac`, ...): Warp's backward pass gives no adjoint through it.
    NoAdjoint,
}

macro_rules! builtins {
    ($($variant:ident = $name:literal, $family:ident, $grad:ident;)*) => {
        /// A builtin of Warp's registry. Variants are the registry names in CamelCase, in the registry's
        /// (byte-wise sorted) name order.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Builtin {
            $(
                #[doc = concat!("`wp.", $name, "`")]
                $variant,
            )*
        }

        impl Builtin {
            /// Every builtin, in registry (name) order.
            pub const ALL: &'static [Builtin] = &[$(Builtin::$variant),*];

            /// The Warp name (`wp.<name>` in Python, `wp::<name>` in Warp's C++).
            pub const fn name(self) -> &'static str {
                match self {
                    $(Builtin::$variant => $name,)*
                }
            }

            /// The registry's documentation group.
            pub const fn family(self) -> Family {
                match self {
                    $(Builtin::$variant => Family::$family,)*
                }
            }

            /// What Warp's backward pass gives for it.
            pub const fn gradient(self) -> Gradient {
                match self {
                    $(Builtin::$variant => Gradient::$grad,)*
                }
            }
        }
    };
}

impl Builtin {
    /// The builtin Warp names `name`, if the registry has it (binary search over [`Builtin::ALL`]).
    pub fn from_name(name: &str) -> Option<Builtin> {
        Builtin::ALL.binary_search_by(|b| b.name().cmp(name)).ok().map(|i| Builtin::ALL[i])
    }
}

impl std::fmt::Display for Builtin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

builtins! {
    Abs = "abs", ScalarMath, Exact;
    Acos = "acos", ScalarMath, Exact;
    Add = "add", Operators, Exact;
    AddInplace = "add_inplace", Utility, Inexact;
    Address = "address", Utility, Exact;
    Argmax = "argmax", VectorMath, Zero;
    Argmin = "argmin", VectorMath, Zero;
    Array = "array", Utility, NoAdjoint;
    ArrayStore = "array_store", Utility, Exact;
    Asin = "asin", ScalarMath, Exact;
    Assign = "assign", Tile, Exact;
    AssignCopy = "assign_copy", Utility, Exact;
    AssignInplace = "assign_inplace", Utility, Inexact;
    Atan = "atan", ScalarMath, Exact;
    Atan2 = "atan2", ScalarMath, Exact;
    AtomicAdd = "atomic_add", Utility, Exact;
    AtomicAnd = "atomic_and", Utility, Zero;
    AtomicCas = "atomic_cas", Utility, Zero;
    AtomicExch = "atomic_exch", Utility, Zero;
    AtomicMax = "atomic_max", Utility, Exact;
    AtomicMin = "atomic_min", Utility, Exact;
    AtomicOr = "atomic_or", Utility, Zero;
    AtomicSub = "atomic_sub", Utility, Exact;
    AtomicXor = "atomic_xor", Utility, Zero;
    Bfloat16 = "bfloat16", ScalarMath, Inexact;
    BitAnd = "bit_and", Operators, Zero;
    BitAndInplace = "bit_and_inplace", Utility, NoAdjoint;
    BitCount = "bit_count", ScalarMath, Zero;
    BitOr = "bit_or", Operators, Zero;
    BitOrInplace = "bit_or_inplace", Utility, NoAdjoint;
    BitXor = "bit_xor", Operators, Zero;
    BitXorInplace = "bit_xor_inplace", Utility, NoAdjoint;
    BlockDim = "block_dim", Utility, NoAdjoint;
    Bool = "bool", ScalarMath, Zero;
    Breakpoint = "breakpoint", Utility, NoAdjoint;
    BvhGetGroupRoot = "bvh_get_group_root", Geometry, NoAdjoint;
    BvhQueryAabb = "bvh_query_aabb", Geometry, NoAdjoint;
    BvhQueryAabbTiled = "bvh_query_aabb_tiled", Geometry, NoAdjoint;
    BvhQueryCapsule = "bvh_query_capsule", Geometry, NoAdjoint;
    BvhQueryNext = "bvh_query_next", Geometry, NoAdjoint;
    BvhQueryNextTiled = "bvh_query_next_tiled", Geometry, NoAdjoint;
    BvhQueryRay = "bvh_query_ray", Geometry, NoAdjoint;
    BvhQueryRayTiled = "bvh_query_ray_tiled", Geometry, NoAdjoint;
    BvhQuerySphere = "bvh_query_sphere", Geometry, NoAdjoint;
    Cast = "cast", Utility, NoAdjoint;
    Cbrt = "cbrt", ScalarMath, Exact;
    Ceil = "ceil", ScalarMath, Zero;
    Clamp = "clamp", ScalarMath, Exact;
    ClosestPointEdgeEdge = "closest_point_edge_edge", Geometry, Exact;
    Copy = "copy", Utility, Exact;
    Copysign = "copysign", ScalarMath, Exact;
    Cos = "cos", ScalarMath, Exact;
    Cosh = "cosh", ScalarMath, Exact;
    Cross = "cross", VectorMath, Exact;
    Curlnoise = "curlnoise", Random, Exact;
    CwDiv = "cw_div", VectorMath, Exact;
    CwMul = "cw_mul", VectorMath, Exact;
    Ddot = "ddot", VectorMath, Exact;
    Degrees = "degrees", ScalarMath, Exact;
    DenseChol = "dense_chol", Utility, NoAdjoint;
    DenseCholBatched = "dense_chol_batched", Utility, NoAdjoint;
    DenseGemm = "dense_gemm", Utility, Exact;
    DenseGemmBatched = "dense_gemm_batched", Utility, NoAdjoint;
    DenseSolve = "dense_solve", Utility, Exact;
    DenseSolveBatched = "dense_solve_batched", Utility, NoAdjoint;
    DenseSubs = "dense_subs", Utility, NoAdjoint;
    Determinant = "determinant", VectorMath, Exact;
    Diag = "diag", VectorMath, Exact;
    Div = "div", Operators, Exact;
    DivApprox = "div_approx", Operators, Exact;
    Dot = "dot", VectorMath, Exact;
    Eig3 = "eig3", VectorMath, Exact;
    Erf = "erf", ScalarMath, Exact;
    Erfc = "erfc", ScalarMath, Exact;
    Erfcinv = "erfcinv", ScalarMath, Exact;
    Erfinv = "erfinv", ScalarMath, Exact;
    Exp = "exp", ScalarMath, Exact;
    ExpectEq = "expect_eq", Utility, NoAdjoint;
    ExpectNear = "expect_near", Utility, NoAdjoint;
    ExpectNeq = "expect_neq", Utility, NoAdjoint;
    Extract = "extract", Utility, Exact;
    Float = "float", ScalarMath, Exact;
    Float16 = "float16", ScalarMath, Inexact;
    Float32 = "float32", ScalarMath, Exact;
    Float64 = "float64", ScalarMath, Exact;
    Floor = "floor", ScalarMath, Zero;
    Floordiv = "floordiv", Operators, Zero;
    Frac = "frac", ScalarMath, NoAdjoint;
    GetDiag = "get_diag", VectorMath, Exact;
    HashGridPointId = "hash_grid_point_id", Geometry, NoAdjoint;
    HashGridQuery = "hash_grid_query", Geometry, NoAdjoint;
    HashGridQueryNext = "hash_grid_query_next", Geometry, NoAdjoint;
    Identity = "identity", VectorMath, Zero;
    Index = "index", Utility, Zero;
    Indexref = "indexref", Utility, NoAdjoint;
    Int = "int", ScalarMath, Zero;
    Int16 = "int16", ScalarMath, Zero;
    Int32 = "int32", ScalarMath, Zero;
    Int64 = "int64", ScalarMath, Zero;
    Int8 = "int8", ScalarMath, Zero;
    IntersectTriTri = "intersect_tri_tri", Geometry, NoAdjoint;
    Inverse = "inverse", VectorMath, Exact;
    InverseApprox = "inverse_approx", VectorMath, Exact;
    Invert = "invert", Operators, Zero;
    Isfinite = "isfinite", ScalarMath, Zero;
    Isinf = "isinf", ScalarMath, Zero;
    Isnan = "isnan", ScalarMath, Zero;
    IterNext = "iter_next", Utility, NoAdjoint;
    Len = "len", Utility, Zero;
    Length = "length", VectorMath, Exact;
    LengthSq = "length_sq", VectorMath, Exact;
    Lerp = "lerp", Utility, Exact;
    Load = "load", Utility, Zero;
    Log = "log", ScalarMath, Exact;
    Log10 = "log10", ScalarMath, Exact;
    Log2 = "log2", ScalarMath, Exact;
    LowerBound = "lower_bound", Other, Zero;
    Lshift = "lshift", Operators, Zero;
    Matrix = "matrix", VectorMath, Exact;
    MatrixFromCols = "matrix_from_cols", VectorMath, Exact;
    MatrixFromRows = "matrix_from_rows", VectorMath, Exact;
    Max = "max", ScalarMath, Exact;
    MeshEvalFaceNormal = "mesh_eval_face_normal", Geometry, NoAdjoint;
    MeshEvalPosition = "mesh_eval_position", Geometry, Exact;
    MeshEvalVelocity = "mesh_eval_velocity", Geometry, Exact;
    MeshGet = "mesh_get", Geometry, NoAdjoint;
    MeshGetBvh = "mesh_get_bvh", Geometry, NoAdjoint;
    MeshGetGroupRoot = "mesh_get_group_root", Geometry, NoAdjoint;
    MeshGetIndex = "mesh_get_index", Geometry, NoAdjoint;
    MeshGetPoint = "mesh_get_point", Geometry, NoAdjoint;
    MeshGetVelocity = "mesh_get_velocity", Geometry, NoAdjoint;
    MeshQueryAabb = "mesh_query_aabb", Geometry, NoAdjoint;
    MeshQueryAabbNext = "mesh_query_aabb_next", Geometry, NoAdjoint;
    MeshQueryAabbNextTiled = "mesh_query_aabb_next_tiled", Geometry, NoAdjoint;
    MeshQueryAabbTiled = "mesh_query_aabb_tiled", Geometry, NoAdjoint;
    MeshQueryFurthestPointNoSign = "mesh_query_furthest_point_no_sign", Geometry, Exact;
    MeshQueryNext = "mesh_query_next", Geometry, NoAdjoint;
    MeshQueryPoint = "mesh_query_point", Geometry, Exact;
    MeshQueryPointNoSign = "mesh_query_point_no_sign", Geometry, Exact;
    MeshQueryPointSignNormal = "mesh_query_point_sign_normal", Geometry, Exact;
    MeshQueryPointSignParity = "mesh_query_point_sign_parity", Geometry, Exact;
    MeshQueryPointSignWindingNumber = "mesh_query_point_sign_winding_number", Geometry, Exact;
    MeshQueryRay = "mesh_query_ray", Geometry, Exact;
    MeshQueryRayAnyhit = "mesh_query_ray_anyhit", Geometry, NoAdjoint;
    MeshQueryRayCountIntersections = "mesh_query_ray_count_intersections", Geometry, NoAdjoint;
    MeshQuerySphere = "mesh_query_sphere", Geometry, NoAdjoint;
    Min = "min", ScalarMath, Exact;
    Mod = "mod", Operators, Exact;
    Mul = "mul", Operators, Exact;
    Neg = "neg", Operators, Exact;
    Noise = "noise", Random, Exact;
    Nonzero = "nonzero", ScalarMath, Zero;
    NormHuber = "norm_huber", VectorMath, Exact;
    NormL1 = "norm_l1", VectorMath, Exact;
    NormL2 = "norm_l2", VectorMath, Exact;
    NormPseudoHuber = "norm_pseudo_huber", VectorMath, Exact;
    Normalize = "normalize", VectorMath, Exact;
    Outer = "outer", VectorMath, Exact;
    Pnoise = "pnoise", Random, Exact;
    Poisson = "poisson", Random, Zero;
    Pos = "pos", Operators, Exact;
    Pow = "pow", ScalarMath, Exact;
    Print = "print", Utility, Exact;
    Printf = "printf", Utility, NoAdjoint;
    Qr3 = "qr3", VectorMath, Exact;
    QuatFromAxisAngle = "quat_from_axis_angle", QuaternionMath, Exact;
    QuatFromEuler = "quat_from_euler", QuaternionMath, Exact;
    QuatFromMatrix = "quat_from_matrix", QuaternionMath, Exact;
    QuatIdentity = "quat_identity", QuaternionMath, Zero;
    QuatInverse = "quat_inverse", QuaternionMath, Exact;
    QuatRotate = "quat_rotate", QuaternionMath, Exact;
    QuatRotateInv = "quat_rotate_inv", QuaternionMath, Exact;
    QuatRpy = "quat_rpy", QuaternionMath, Exact;
    QuatSlerp = "quat_slerp", QuaternionMath, Exact;
    QuatToAxisAngle = "quat_to_axis_angle", QuaternionMath, Exact;
    QuatToEuler = "quat_to_euler", QuaternionMath, Exact;
    QuatToMatrix = "quat_to_matrix", QuaternionMath, Exact;
    QuatToRpy = "quat_to_rpy", QuaternionMath, Exact;
    QuatTwist = "quat_twist", QuaternionMath, Exact;
    QuatTwistAngle = "quat_twist_angle", QuaternionMath, Exact;
    QuatTwistAngleSigned = "quat_twist_angle_signed", QuaternionMath, Exact;
    Quaternion = "quaternion", QuaternionMath, Exact;
    Radians = "radians", ScalarMath, Exact;
    RandInit = "rand_init", Random, Zero;
    Randf = "randf", Random, Zero;
    Randi = "randi", Random, Zero;
    Randn = "randn", Random, Zero;
    Randu = "randu", Random, Zero;
    Range = "range", Utility, Zero;
    Reversed = "reversed", Utility, Zero;
    Rint = "rint", ScalarMath, Zero;
    Round = "round", ScalarMath, Zero;
    Rshift = "rshift", Operators, Zero;
    SampleCdf = "sample_cdf", Random, Zero;
    SampleTriangle = "sample_triangle", Random, Zero;
    SampleUnitCube = "sample_unit_cube", Random, Zero;
    SampleUnitDisk = "sample_unit_disk", Random, Zero;
    SampleUnitHemisphere = "sample_unit_hemisphere", Random, Zero;
    SampleUnitHemisphereSurface = "sample_unit_hemisphere_surface", Random, Zero;
    SampleUnitRing = "sample_unit_ring", Random, Zero;
    SampleUnitSphere = "sample_unit_sphere", Random, Zero;
    SampleUnitSphereSurface = "sample_unit_sphere_surface", Random, Zero;
    SampleUnitSquare = "sample_unit_square", Random, Zero;
    Select = "select", Utility, NoAdjoint;
    Sign = "sign", ScalarMath, Zero;
    Sin = "sin", ScalarMath, Exact;
    Sinh = "sinh", ScalarMath, Exact;
    Skew = "skew", VectorMath, Exact;
    Slice = "slice", Utility, NoAdjoint;
    SmoothNormalize = "smooth_normalize", VectorMath, Exact;
    Smoothstep = "smoothstep", Utility, Exact;
    SpatialAdjoint = "spatial_adjoint", SpatialMath, Exact;
    SpatialBottom = "spatial_bottom", SpatialMath, Exact;
    SpatialCross = "spatial_cross", SpatialMath, Exact;
    SpatialCrossDual = "spatial_cross_dual", SpatialMath, Exact;
    SpatialDot = "spatial_dot", SpatialMath, Exact;
    SpatialTop = "spatial_top", SpatialMath, Exact;
    SpatialVector = "spatial_vector", SpatialMath, Exact;
    Sqrt = "sqrt", ScalarMath, Exact;
    Static = "static", CodeGeneration, Zero;
    Step = "step", ScalarMath, Zero;
    Store = "store", Utility, Zero;
    Sub = "sub", Operators, Exact;
    SubInplace = "sub_inplace", Utility, Inexact;
    Svd2 = "svd2", VectorMath, Exact;
    Svd3 = "svd3", VectorMath, Exact;
    Tan = "tan", ScalarMath, Exact;
    Tanh = "tanh", ScalarMath, Exact;
    TextureSample = "texture_sample", Textures, Exact;
    Tid = "tid", Utility, Zero;
    Tile = "tile", Tile, Exact;
    TileAddInplace = "tile_add_inplace", Tile, Exact;
    TileArange = "tile_arange", Tile, Zero;
    TileArgmax = "tile_argmax", Tile, Zero;
    TileArgmin = "tile_argmin", Tile, Zero;
    TileAssign = "tile_assign", Tile, Exact;
    TileAstype = "tile_astype", Tile, Inexact;
    TileAtomicAdd = "tile_atomic_add", Tile, Exact;
    TileAtomicAddIndexed = "tile_atomic_add_indexed", Tile, Exact;
    TileAxpy = "tile_axpy", Tile, Exact;
    TileBitAndInplace = "tile_bit_and_inplace", Tile, NoAdjoint;
    TileBitOrInplace = "tile_bit_or_inplace", Tile, NoAdjoint;
    TileBitXorInplace = "tile_bit_xor_inplace", Tile, NoAdjoint;
    TileBroadcast = "tile_broadcast", Tile, Exact;
    TileBvhQueryAabb = "tile_bvh_query_aabb", Tile, NoAdjoint;
    TileBvhQueryNext = "tile_bvh_query_next", Tile, NoAdjoint;
    TileBvhQueryRay = "tile_bvh_query_ray", Tile, NoAdjoint;
    TileCholesky = "tile_cholesky", Tile, Exact;
    TileCholeskyInplace = "tile_cholesky_inplace", Tile, NoAdjoint;
    TileCholeskySolve = "tile_cholesky_solve", Tile, NoAdjoint;
    TileCholeskySolveInplace = "tile_cholesky_solve_inplace", Tile, NoAdjoint;
    TileDiagAdd = "tile_diag_add", Tile, NoAdjoint;
    TileDot = "tile_dot", Tile, Exact;
    TileEmpty = "tile_empty", Tile, NoAdjoint;
    TileExtract = "tile_extract", Tile, Exact;
    TileFft = "tile_fft", Tile, Exact;
    TileFromThread = "tile_from_thread", Tile, NoAdjoint;
    TileFull = "tile_full", Tile, Zero;
    TileIfft = "tile_ifft", Tile, Exact;
    TileLoad = "tile_load", Tile, Exact;
    TileLoadIndexed = "tile_load_indexed", Tile, Exact;
    TileLowerSolve = "tile_lower_solve", Tile, Exact;
    TileLowerSolveInplace = "tile_lower_solve_inplace", Tile, NoAdjoint;
    TileMap = "tile_map", Tile, Exact;
    TileMatmul = "tile_matmul", Tile, Exact;
    TileMax = "tile_max", Tile, NoAdjoint;
    TileMeshQueryAabb = "tile_mesh_query_aabb", Tile, NoAdjoint;
    TileMeshQueryAabbNext = "tile_mesh_query_aabb_next", Tile, NoAdjoint;
    TileMin = "tile_min", Tile, NoAdjoint;
    TileOnes = "tile_ones", Tile, Zero;
    TileQueryValid = "tile_query_valid", Tile, NoAdjoint;
    TileRandf = "tile_randf", Tile, Zero;
    TileRandi = "tile_randi", Tile, NoAdjoint;
    TileReduce = "tile_reduce", Tile, NoAdjoint;
    TileReshape = "tile_reshape", Tile, Exact;
    TileScanExclusive = "tile_scan_exclusive", Tile, NoAdjoint;
    TileScanInclusive = "tile_scan_inclusive", Tile, NoAdjoint;
    TileScanMaxInclusive = "tile_scan_max_inclusive", Tile, NoAdjoint;
    TileScanMinInclusive = "tile_scan_min_inclusive", Tile, NoAdjoint;
    TileScatterAdd = "tile_scatter_add", Tile, Exact;
    TileScatterMasked = "tile_scatter_masked", Tile, Exact;
    TileSliceIndexed = "tile_slice_indexed", Tile, Exact;
    TileSort = "tile_sort", Tile, NoAdjoint;
    TileSqueeze = "tile_squeeze", Tile, Exact;
    TileStack = "tile_stack", Tile, NoAdjoint;
    TileStackClear = "tile_stack_clear", Tile, NoAdjoint;
    TileStackCount = "tile_stack_count", Tile, NoAdjoint;
    TileStackPop = "tile_stack_pop", Tile, NoAdjoint;
    TileStackPush = "tile_stack_push", Tile, NoAdjoint;
    TileStore = "tile_store", Tile, Exact;
    TileStoreIndexed = "tile_store_indexed", Tile, Exact;
    TileSubInplace = "tile_sub_inplace", Tile, Exact;
    TileSum = "tile_sum", Tile, Exact;
    TileTranspose = "tile_transpose", Tile, Exact;
    TileUpperSolve = "tile_upper_solve", Tile, NoAdjoint;
    TileUpperSolveInplace = "tile_upper_solve_inplace", Tile, NoAdjoint;
    TileView = "tile_view", Tile, NoAdjoint;
    TileZeros = "tile_zeros", Tile, Zero;
    Trace = "trace", VectorMath, Exact;
    TransformAddInplace = "transform_add_inplace", Utility, Exact;
    TransformCompose = "transform_compose", Transformations, Exact;
    TransformDecompose = "transform_decompose", Transformations, Exact;
    TransformFromMatrix = "transform_from_matrix", Transformations, Exact;
    TransformGetRotation = "transform_get_rotation", Transformations, Exact;
    TransformGetTranslation = "transform_get_translation", Transformations, Exact;
    TransformIdentity = "transform_identity", Transformations, Zero;
    TransformInverse = "transform_inverse", Transformations, Exact;
    TransformMultiply = "transform_multiply", Transformations, Exact;
    TransformPoint = "transform_point", Transformations, Exact;
    TransformSetRotation = "transform_set_rotation", Transformations, Inexact;
    TransformSetRotationCopy = "transform_set_rotation_copy", Transformations, Exact;
    TransformSetTranslation = "transform_set_translation", Transformations, Inexact;
    TransformSetTranslationCopy = "transform_set_translation_copy", Transformations, Exact;
    TransformSubInplace = "transform_sub_inplace", Utility, Exact;
    TransformToMatrix = "transform_to_matrix", Transformations, Exact;
    TransformTwist = "transform_twist", SpatialMath, Exact;
    TransformVector = "transform_vector", Transformations, Exact;
    TransformWrench = "transform_wrench", SpatialMath, Exact;
    Transformation = "transformation", Transformations, Exact;
    Transpose = "transpose", VectorMath, Exact;
    Trunc = "trunc", ScalarMath, Zero;
    Tuple = "tuple", Utility, NoAdjoint;
    Uint16 = "uint16", ScalarMath, Zero;
    Uint32 = "uint32", ScalarMath, Zero;
    Uint64 = "uint64", ScalarMath, Zero;
    Uint8 = "uint8", ScalarMath, Zero;
    Unot = "unot", Operators, Zero;
    Untile = "untile", Tile, Exact;
    Vector = "vector", VectorMath, Exact;
    VelocityAtPoint = "velocity_at_point", SpatialMath, Exact;
    View = "view", Utility, Exact;
    VolumeIndexToWorld = "volume_index_to_world", Volumes, Exact;
    VolumeIndexToWorldDir = "volume_index_to_world_dir", Volumes, Exact;
    VolumeLookup = "volume_lookup", Volumes, NoAdjoint;
    VolumeLookupF = "volume_lookup_f", Volumes, NoAdjoint;
    VolumeLookupI = "volume_lookup_i", Volumes, NoAdjoint;
    VolumeLookupIndex = "volume_lookup_index", Volumes, NoAdjoint;
    VolumeLookupV = "volume_lookup_v", Volumes, NoAdjoint;
    VolumeSample = "volume_sample", Volumes, Exact;
    VolumeSampleF = "volume_sample_f", Volumes, Exact;
    VolumeSampleGrad = "volume_sample_grad", Volumes, Exact;
    VolumeSampleGradF = "volume_sample_grad_f", Volumes, Exact;
    VolumeSampleGradIndex = "volume_sample_grad_index", Volumes, Exact;
    VolumeSampleI = "volume_sample_i", Volumes, NoAdjoint;
    VolumeSampleIndex = "volume_sample_index", Volumes, Exact;
    VolumeSampleV = "volume_sample_v", Volumes, Exact;
    VolumeStore = "volume_store", Volumes, NoAdjoint;
    VolumeStoreF = "volume_store_f", Volumes, NoAdjoint;
    VolumeStoreI = "volume_store_i", Volumes, NoAdjoint;
    VolumeStoreV = "volume_store_v", Volumes, NoAdjoint;
    VolumeVoxelCount = "volume_voxel_count", Volumes, NoAdjoint;
    VolumeWorldToIndex = "volume_world_to_index", Volumes, Exact;
    VolumeWorldToIndexDir = "volume_world_to_index_dir", Volumes, Exact;
    Where = "where", Utility, Exact;
    Zeros = "zeros", Utility, Zero;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sorted_unique_and_found_by_name() {
        assert!(Builtin::ALL.windows(2).all(|w| w[0].name() < w[1].name()), "sorted and unique");
        for &b in Builtin::ALL {
            assert_eq!(Builtin::from_name(b.name()), Some(b));
        }
        assert_eq!(Builtin::from_name("no_such_builtin"), None);
        assert_eq!(Builtin::from_name("tile_matmul"), Some(Builtin::TileMatmul));
        assert_eq!(Builtin::Sin.to_string(), "sin");
    }
}
