//! What the generator does with each builtin of the table ([`warpsmith_ast::Builtin`]): one exhaustive `match`
//! with no wildcard arm, so a builtin added to the table does not compile until this file says how (or why
//! not) it is generated.
//!
//! A test (`tests/generator.rs`, `rules_match_what_the_generator_writes`) holds this match to the generator's
//! output over its seeded loop: every builtin a kernel calls by name is [`Rule::UnaryFloat`] or
//! [`Rule::Production`], and every such builtin appears in some kernel.

use warpsmith_ast::Builtin;

use crate::interval::Interval;

/// The smallest argument of a builtin with domain [`Dom::Pos`] (`log`, `sqrt`, ...): keeps results and
/// adjoints finite and well conditioned.
pub const POS_MIN: f64 = 0.01;
/// The largest argument magnitude of `asin`/`acos`/`erfinv`, whose derivatives blow up at ±1.
pub const UNIT_MAX: f64 = 0.95;

/// How a math builtin's argument must be constrained (on the generator's interval range analysis).
#[derive(Clone, Copy, Debug)]
pub enum Dom {
    /// Any finite value.
    Any,
    /// `x >= POS_MIN`
    Pos,
    /// `|x| <= m`
    Mag(f64),
    /// `x <= m`
    Max(f64),
}

impl Dom {
    /// Whether every value of `i` is in the domain.
    pub fn fits(self, i: Interval) -> bool {
        match self {
            Dom::Any => true,
            Dom::Pos => i.all_ge(POS_MIN),
            Dom::Mag(m) => i.within(m),
            Dom::Max(m) => i.hi <= m,
        }
    }
}

/// How the generator produces a builtin.
#[derive(Clone, Copy, Debug)]
pub enum Rule {
    /// A `float32 -> float32` function chosen from the table wherever the generator applies a unary math
    /// function (expressions, `wp.tile_map`): its argument's domain and the image of an argument interval
    /// (an enclosure: every result of an argument in the interval lies in the image).
    UnaryFloat {
        /// The argument's domain.
        dom: Dom,
        /// The image of an interval of arguments.
        img: fn(Interval) -> Interval,
    },
    /// A narrower float type, written as a round trip `wp.float32(wp.<name>(x))` wherever the generator applies a
    /// unary math function (not in `wp.tile_map`, whose tile would change type): `x` rounded to that type's
    /// precision. Its domain and the image of an argument interval, as for [`Rule::UnaryFloat`].
    RoundTrip {
        /// The argument's domain.
        dom: Dom,
        /// The image of an interval of arguments.
        img: fn(Interval) -> Interval,
    },
    /// Written by name by one of the hand-written productions in `generate/` (its types and ranges there).
    Production,
    /// Never written by name: Warp's code generation emits it for Python syntax the generator writes
    /// (operators, array access and stores, atomics, `for` loops, constructors, component updates).
    Syntax,
    /// Not generated, with the reason.
    NotGenerated(&'static str),
}

const MESH_STRUCT: &str = "returns the mesh's descriptor (a struct of arrays): no production reads it yet";
const INDEX_GRIDS: &str = "needs an index volume with a voxel-data array (only dense value volumes are built)";
const VOLUME_STORES: &str = "writes into the volume: threads reading voxels others write would race; no production yet";
const TEXTURES: &str = "needs a texture object (not built yet)";
const INT_TILES: &str = "needs an integer tile (indices for the indexed loads, stores and scatters; bits for the in-place \
     bit operations; `tile_randi` returns one): the tile programs' tiles are float32 (not written yet)";
const THREAD_TILES: &str = "builds a tile of one value per thread of the block, whose shape is `block_dim` (1 on the CPU, 256 on \
     CUDA): the same launch gives other values on the two devices";
const FFT_TILES: &str = "needs a complex tile (`vec2f` elements, an FFT over the last axis in place): the tile programs' tiles \
     are float32 (not written yet)";
const SORT_TILES: &str = "the sort is not stable and Warp says the order of equal keys differs between CPU and GPU, so the \
     payload tile of equal keys is unspecified (not written yet: keys must be distinct by construction)";
const DEBUGGING: &str = "printing and debugging: nothing would read what it prints or checks";
const DEPRECATED: &str = "deprecated in Warp 1.19.0";
const CODEGEN_INTERNAL: &str = "used by Warp's code generation for Python syntax (array views, casts, indexing, stores); no \
     production writes the array views and casts by name yet";
const ARRAY_IN_PLACE: &str = "an in-place update of an array element: Warp's code generation lowers `a[i] &= x` (and the \
     transform forms) to a load, the operation and a store (measured: no call of it in the C++); no production writes it \
     by name";
const TRANSFORM_NOT_YET: &str = "unusable in Warp 1.19.0: its return type is declared generic and resolves to a half-precision \
     transform (its docstring says so; measured: `wp.transform_get_translation` of the result is a vec3h)";

/// The generator's rule for builtin `b`.
pub fn rule(b: Builtin) -> Rule {
    use Builtin as B;
    match b {
        B::Abs => Rule::UnaryFloat { dom: Dom::Any, img: Interval::abs },
        B::Acos => Rule::UnaryFloat { dom: Dom::Mag(UNIT_MAX), img: |i| Interval::new(i.hi.acos(), i.lo.acos()) },
        B::Asin => Rule::UnaryFloat { dom: Dom::Mag(UNIT_MAX), img: |i| i.map_increasing(f64::asin) },
        B::Atan => Rule::UnaryFloat { dom: Dom::Any, img: |i| i.map_increasing(f64::atan) },
        B::Cbrt => Rule::UnaryFloat { dom: Dom::Pos, img: |i| i.map_increasing(f64::cbrt) },
        B::Ceil => Rule::UnaryFloat { dom: Dom::Any, img: |i| i.map_increasing(f64::ceil) },
        B::Cos => Rule::UnaryFloat { dom: Dom::Any, img: |_| Interval::new(-1.0, 1.0) },
        B::Cosh => Rule::UnaryFloat { dom: Dom::Mag(9.0), img: |i| Interval::new(1.0, i.mag().cosh()) },
        B::Degrees => Rule::UnaryFloat { dom: Dom::Mag(150.0), img: |i| i.scale(180.0 / std::f64::consts::PI) },
        B::Erf => Rule::UnaryFloat { dom: Dom::Any, img: |_| Interval::new(-1.0, 1.0) },
        B::Erfc => Rule::UnaryFloat { dom: Dom::Any, img: |_| Interval::new(0.0, 2.0) },
        // erfinv(0.95) = 1.3859
        B::Erfinv => Rule::UnaryFloat {
            dom: Dom::Mag(UNIT_MAX),
            img: |i| Interval::new(if i.lo < 0.0 { -1.39 } else { 0.0 }, if i.hi > 0.0 { 1.39 } else { 0.0 }),
        },
        B::Exp => Rule::UnaryFloat { dom: Dom::Max(9.0), img: |i| i.map_increasing(f64::exp) },
        // bfloat16 holds 8 significant bits: relative rounding error at most 2^-8; float32's exponent range
        B::Bfloat16 => Rule::RoundTrip {
            dom: Dom::Any,
            img: |i| Interval::new(i.lo - i.lo.abs() / 256.0, i.hi + i.hi.abs() / 256.0),
        },
        // float16 holds 11 significant bits: relative rounding error at most 2^-11 for normal values, absolute
        // 2^-25 for subnormal ones (IEEE 754 binary16); every value the generator makes is below its 65504
        B::Float16 => Rule::RoundTrip {
            dom: Dom::Mag(6.0e4),
            img: |i| Interval::new(i.lo - i.lo.abs() / 2048.0 - 1.0e-7, i.hi + i.hi.abs() / 2048.0 + 1.0e-7),
        },
        B::Floor => Rule::UnaryFloat { dom: Dom::Any, img: |i| i.map_increasing(f64::floor) },
        B::Frac => Rule::UnaryFloat {
            dom: Dom::Any,
            img: |i| Interval::new(if i.lo < 0.0 { -1.0 } else { 0.0 }, if i.hi > 0.0 { 1.0 } else { 0.0 }),
        },
        B::Log => Rule::UnaryFloat { dom: Dom::Pos, img: |i| i.map_increasing(f64::ln) },
        B::Log10 => Rule::UnaryFloat { dom: Dom::Pos, img: |i| i.map_increasing(f64::log10) },
        B::Log2 => Rule::UnaryFloat { dom: Dom::Pos, img: |i| i.map_increasing(f64::log2) },
        B::Radians => Rule::UnaryFloat { dom: Dom::Any, img: |i| i.scale(std::f64::consts::PI / 180.0) },
        B::Rint => Rule::UnaryFloat { dom: Dom::Any, img: |i| i.map_increasing(f64::round) },
        B::Round => Rule::UnaryFloat { dom: Dom::Any, img: |i| i.map_increasing(f64::round) },
        B::Sign => Rule::UnaryFloat { dom: Dom::Any, img: |_| Interval::new(-1.0, 1.0) },
        B::Sin => Rule::UnaryFloat { dom: Dom::Any, img: |_| Interval::new(-1.0, 1.0) },
        B::Sinh => Rule::UnaryFloat { dom: Dom::Mag(9.0), img: |i| i.map_increasing(f64::sinh) },
        B::Sqrt => Rule::UnaryFloat { dom: Dom::Pos, img: |i| i.map_increasing(f64::sqrt) },
        B::Step => Rule::UnaryFloat { dom: Dom::Any, img: |_| Interval::new(0.0, 1.0) },
        B::Tan => Rule::UnaryFloat { dom: Dom::Mag(1.3), img: |i| i.map_increasing(f64::tan) },
        B::Tanh => Rule::UnaryFloat { dom: Dom::Any, img: |i| i.map_increasing(f64::tanh) },
        B::Trunc => Rule::UnaryFloat { dom: Dom::Any, img: |i| Interval::new(i.lo.trunc(), i.hi.trunc()) },
        B::Add
        | B::TileUpperSolve
        | B::TileLowerSolve
        | B::TileCholeskySolve
        | B::TileCholesky
        | B::TileAstype
        | B::TileCholeskyInplace
        | B::TileCholeskySolveInplace
        | B::TileLowerSolveInplace
        | B::TileUpperSolveInplace
        | B::TileDiagAdd
        | B::TileDot
        | B::Argmax
        | B::Argmin
        | B::Atan2
        | B::BitCount
        | B::Bool
        | B::Clamp
        | B::Copysign
        | B::Cross
        | B::CwDiv
        | B::CwMul
        | B::Ddot
        | B::Determinant
        | B::Diag
        | B::DivApprox
        | B::Dot
        | B::Erfcinv
        | B::Float
        | B::Float32
        | B::Float64
        | B::GetDiag
        | B::Identity
        | B::Int
        | B::Int16
        | B::Int32
        | B::Int64
        | B::Int8
        | B::Inverse
        | B::InverseApprox
        | B::Isfinite
        | B::Isinf
        | B::Isnan
        | B::Len
        | B::Length
        | B::LengthSq
        | B::Lerp
        | B::LowerBound
        | B::Matrix
        | B::MatrixFromCols
        | B::MatrixFromRows
        | B::Max
        | B::Min
        | B::Mul
        | B::Nonzero
        | B::NormHuber
        | B::NormL1
        | B::NormL2
        | B::NormPseudoHuber
        | B::Normalize
        | B::Outer
        | B::Poisson
        | B::Pow
        | B::QuatFromAxisAngle
        | B::QuatFromEuler
        | B::QuatFromMatrix
        | B::QuatIdentity
        | B::QuatInverse
        | B::QuatRotate
        | B::QuatRotateInv
        | B::QuatRpy
        | B::QuatSlerp
        | B::QuatToAxisAngle
        | B::QuatToEuler
        | B::QuatToMatrix
        | B::QuatToRpy
        | B::QuatTwist
        | B::QuatTwistAngle
        | B::QuatTwistAngleSigned
        | B::RandInit
        | B::Randf
        | B::Randi
        | B::Randn
        | B::Randu
        | B::SampleCdf
        | B::SampleTriangle
        | B::SampleUnitCube
        | B::SampleUnitDisk
        | B::SampleUnitHemisphere
        | B::SampleUnitHemisphereSurface
        | B::SampleUnitRing
        | B::SampleUnitSphere
        | B::SampleUnitSphereSurface
        | B::SampleUnitSquare
        | B::Skew
        | B::SmoothNormalize
        | B::Smoothstep
        | B::SpatialAdjoint
        | B::SpatialBottom
        | B::SpatialCross
        | B::SpatialCrossDual
        | B::SpatialDot
        | B::SpatialTop
        | B::Static
        | B::Sub
        | B::TileArange
        | B::TileArgmax
        | B::TileArgmin
        | B::TileAtomicAdd
        | B::TileAxpy
        | B::TileBroadcast
        | B::TileFull
        | B::TileLoad
        | B::TileMap
        | B::TileMatmul
        | B::TileMax
        | B::TileMin
        | B::TileOnes
        | B::TileReduce
        | B::TileReshape
        | B::TileScanExclusive
        | B::TileScanInclusive
        | B::TileScanMaxInclusive
        | B::TileScanMinInclusive
        | B::TileStore
        | B::TileSum
        | B::TileTranspose
        | B::TileZeros
        | B::Trace
        | B::TransformCompose
        | B::TransformDecompose
        | B::TransformFromMatrix
        | B::TransformGetRotation
        | B::TransformGetTranslation
        | B::TransformIdentity
        | B::TransformInverse
        | B::TransformMultiply
        | B::TransformPoint
        | B::TransformSetRotation
        | B::TransformSetTranslation
        | B::TransformToMatrix
        | B::TransformTwist
        | B::TransformVector
        | B::TransformWrench
        | B::Transpose
        | B::Uint16
        | B::Uint32
        | B::Uint64
        | B::Uint8
        | B::VelocityAtPoint
        | B::Where => Rule::Production,
        B::AddInplace
        | B::SpatialVector
        | B::Address
        | B::ArrayStore
        | B::Assign
        | B::AssignInplace
        | B::AtomicAdd
        | B::AtomicAnd
        | B::AtomicCas
        | B::AtomicExch
        | B::AtomicMax
        | B::AtomicMin
        | B::AtomicOr
        | B::AtomicSub
        | B::AtomicXor
        | B::BitAnd
        | B::BitOr
        | B::BitXor
        | B::BlockDim
        | B::Copy
        | B::Div
        | B::Extract
        | B::Floordiv
        | B::Invert
        | B::IterNext
        | B::Load
        | B::Lshift
        | B::Mod
        | B::Neg
        | B::Pos
        | B::Quaternion
        | B::Range
        | B::Reversed
        | B::Rshift
        | B::SubInplace
        | B::Tid
        | B::TileAddInplace
        | B::TileSubInplace
        | B::TileExtract
        | B::Transformation
        | B::Tuple
        | B::Unot
        | B::Vector => Rule::Syntax,
        B::Breakpoint | B::ExpectEq | B::ExpectNear | B::ExpectNeq | B::Print | B::Printf => {
            Rule::NotGenerated(DEBUGGING)
        }
        B::DenseChol
        | B::DenseCholBatched
        | B::DenseGemm
        | B::DenseGemmBatched
        | B::DenseSolve
        | B::DenseSolveBatched
        | B::DenseSubs
        | B::Select => Rule::NotGenerated(DEPRECATED),
        B::Array
        | B::AssignCopy
        | B::Cast
        | B::Index
        | B::Indexref
        | B::Slice
        | B::Store
        | B::View
        | B::Zeros => Rule::NotGenerated(CODEGEN_INTERNAL),
        B::BitAndInplace
        | B::BitOrInplace
        | B::BitXorInplace
        | B::TransformAddInplace
        | B::TransformSubInplace => Rule::NotGenerated(ARRAY_IN_PLACE),
        // scene queries (`generate/scene.rs`): the scene built by the worker from `test_inputs`
        B::BvhQueryAabb
        | B::BvhQueryCapsule
        | B::BvhQueryNext
        | B::BvhQueryRay
        | B::BvhQuerySphere
        | B::HashGridPointId
        | B::HashGridQuery
        | B::HashGridQueryNext
        | B::MeshEvalFaceNormal
        | B::MeshEvalPosition
        | B::MeshEvalVelocity
        | B::MeshGetIndex
        | B::MeshGetPoint
        | B::MeshGetVelocity
        | B::MeshQueryAabb
        | B::MeshQueryAabbNext
        | B::MeshQueryFurthestPointNoSign
        | B::MeshQueryNext
        | B::MeshQueryPoint
        | B::MeshQueryPointNoSign
        | B::MeshQueryPointSignNormal
        | B::MeshQueryPointSignParity
        | B::MeshQueryPointSignWindingNumber
        | B::MeshQueryRay
        | B::MeshQueryRayAnyhit
        | B::MeshQueryRayCountIntersections
        | B::MeshQuerySphere
        | B::VolumeIndexToWorld
        | B::VolumeIndexToWorldDir
        | B::VolumeLookup
        | B::VolumeLookupF
        | B::VolumeLookupI
        | B::VolumeLookupV
        | B::VolumeSample
        | B::VolumeSampleF
        | B::VolumeSampleI
        | B::VolumeSampleV
        | B::VolumeWorldToIndex
        | B::VolumeWorldToIndexDir
        | B::VolumeSampleGrad
        | B::VolumeSampleGradF
        | B::Eig3
        | B::Qr3
        | B::Svd2
        | B::Svd3
        | B::VolumeVoxelCount
        | B::MeshGetBvh
        | B::ClosestPointEdgeEdge
        | B::IntersectTriTri
        // group roots passed to BVH and ray queries (`group_root` in `generate/scene.rs`)
        | B::BvhGetGroupRoot
        | B::MeshGetGroupRoot
        // block-cooperative scene queries (`tiled_query` in `generate/scene.rs`)
        | B::BvhQueryAabbTiled
        | B::BvhQueryNextTiled
        | B::BvhQueryRayTiled
        | B::MeshQueryAabbNextTiled
        | B::MeshQueryAabbTiled
        | B::TileBvhQueryAabb
        | B::TileBvhQueryNext
        | B::TileBvhQueryRay
        | B::TileMeshQueryAabb
        | B::TileMeshQueryAabbNext
        | B::TileQueryValid
        | B::Untile
        // windows and concatenations of tiles (`tile_window`, `matmul_kernel` in `generate/tiles.rs`)
        | B::TileView
        | B::TileSqueeze
        | B::TileEmpty
        | B::TileAssign
        // a tile of random floats in a tile kernel (`tile_kernel` in `generate/tiles.rs`)
        | B::TileRandf
        // Perlin noise (`rand_f32`, `rand_vec` in `generate/exprs.rs`)
        | B::Noise
        | B::Pnoise
        | B::Curlnoise
        // block-cooperative stacks (`stack_step` in `generate/tiles.rs`)
        | B::TileStack
        | B::TileStackClear
        | B::TileStackCount
        | B::TileStackPop
        | B::TileStackPush => Rule::Production,
        B::MeshGet => Rule::NotGenerated(MESH_STRUCT),
        B::TextureSample => Rule::NotGenerated(TEXTURES),
        B::TileAtomicAddIndexed
        | B::TileBitAndInplace
        | B::TileBitOrInplace
        | B::TileBitXorInplace
        | B::TileLoadIndexed
        | B::TileRandi
        | B::TileScatterAdd
        | B::TileScatterMasked
        | B::TileSliceIndexed
        | B::TileStoreIndexed => Rule::NotGenerated(INT_TILES),
        B::Tile | B::TileFromThread => Rule::NotGenerated(THREAD_TILES),
        B::TileFft | B::TileIfft => Rule::NotGenerated(FFT_TILES),
        B::TileSort => Rule::NotGenerated(SORT_TILES),
        B::TransformSetRotationCopy | B::TransformSetTranslationCopy => Rule::NotGenerated(TRANSFORM_NOT_YET),
        B::VolumeLookupIndex | B::VolumeSampleIndex | B::VolumeSampleGradIndex => Rule::NotGenerated(INDEX_GRIDS),
        B::VolumeStore | B::VolumeStoreF | B::VolumeStoreI | B::VolumeStoreV => Rule::NotGenerated(VOLUME_STORES),
    }
}

/// A builtin of rule [`Rule::UnaryFloat`] or [`Rule::RoundTrip`].
#[derive(Clone, Copy, Debug)]
pub struct UnaryMath {
    /// The builtin.
    pub name: Builtin,
    /// Its argument's domain.
    pub dom: Dom,
    /// The image of an interval of arguments.
    pub img: fn(Interval) -> Interval,
    /// Rule [`Rule::RoundTrip`]: written `wp.float32(wp.<name>(x))`, and not mapped over tiles.
    pub round_trip: bool,
}

/// The builtins of rules [`Rule::UnaryFloat`] and [`Rule::RoundTrip`], in table order.
pub fn unary_float() -> &'static [UnaryMath] {
    static UNARY: std::sync::OnceLock<Vec<UnaryMath>> = std::sync::OnceLock::new();
    UNARY.get_or_init(|| {
        Builtin::ALL
            .iter()
            .filter_map(|&name| match rule(name) {
                Rule::UnaryFloat { dom, img } => Some(UnaryMath { name, dom, img, round_trip: false }),
                Rule::RoundTrip { dom, img } => Some(UnaryMath { name, dom, img, round_trip: true }),
                _ => None,
            })
            .collect()
    })
}
