//! How the standalone translation spells each builtin of the table ([`warpsmith_ast::Builtin`]): one exhaustive
//! `match` with no wildcard arm, so a builtin added to the table does not compile until this file says where
//! its translation lives (or that there is none).

use warpsmith_ast::Builtin;

/// Where the emitter translates a builtin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spelling {
    /// A call expression: `Emitter::call` (special forms) or `Emitter::callee` (a C math function, a cast, or a
    /// helper function from `helpers`), both in `emit/calls.rs`, or `SAME_NAME` in `emit.rs`.
    Call,
    /// A tile builtin as per-thread loops over shared memory (`emit/tiles.rs`).
    Tile,
    /// A builtin called for its effect, as a statement (`Emitter::tile_call`, `emit/tiles.rs`).
    Statement,
    /// A builtin returning a tuple, unpacked into out-parameters of its helper (`Stmt::Unpack` in `emit.rs`).
    Unpack,
    /// Reached through syntax the emitter translates itself (operators, array access and stores, atomics,
    /// loops, constructors, component updates), or named as a function value in `wp.tile_map`/`wp.tile_reduce`.
    Syntax,
    /// Generated, but outside the standalone translation by design: a kernel that calls it has no
    /// `cuda_standalone` and says `unsupported` in `checks.standalone_*` (`crate::emit::out_of_scope`).
    OutOfScope(&'static str),
    /// Not generated, so no translation (a translation nothing exercises would be untested code).
    Unsupported(&'static str),
}

const SCENES: &str = "a scene query: Warp's mesh, hash-grid, BVH and volume structures are not rebuilt in C++";
const DECOMPOSITIONS: &str =
    "a matrix decomposition: Warp's iterative SVD, QR and eigen solvers (warp/native/svd.h) are not ported to C++";

const STACKS: &str = "a block-cooperative stack (wp.tile_stack): Warp's shared-memory stack, whose pushes and pops \
     hand slots to the block's threads in an unspecified order, is not ported to the standalone harness";

const NOISE: &str =
    "Perlin noise: Warp's hashed gradient noise and its curl (warp/native/noise.h) are not ported to C++";

const NOT_GENERATED: &str = "the generator does not write it (see warpsmith_gen::rules), so it has no translation";

/// Where builtin `b`'s standalone translation lives.
pub fn spelling(b: Builtin) -> Spelling {
    use Builtin as B;
    match b {
        B::Abs
        | B::Bfloat16
        | B::Float16
        | B::Acos
        | B::Argmax
        | B::Argmin
        | B::Asin
        | B::Atan
        | B::Atan2
        | B::BitCount
        | B::Bool
        | B::Cbrt
        | B::Ceil
        | B::Clamp
        | B::Copysign
        | B::Cos
        | B::Cosh
        | B::Cross
        | B::CwDiv
        | B::CwMul
        | B::Ddot
        | B::Degrees
        | B::Determinant
        | B::Diag
        | B::DivApprox
        | B::Dot
        | B::Erf
        | B::Erfc
        | B::Erfcinv
        | B::Erfinv
        | B::Exp
        | B::Float
        | B::Float32
        | B::Float64
        | B::Floor
        | B::Frac
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
        | B::Log
        | B::Log10
        | B::Log2
        | B::LowerBound
        | B::Matrix
        | B::MatrixFromCols
        | B::MatrixFromRows
        | B::Max
        | B::Min
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
        | B::QuatToEuler
        | B::QuatToMatrix
        | B::QuatToRpy
        | B::QuatTwist
        | B::QuatTwistAngle
        | B::QuatTwistAngleSigned
        | B::Radians
        | B::RandInit
        | B::Randf
        | B::Randi
        | B::Randn
        | B::Randu
        | B::Rint
        | B::Round
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
        | B::Sign
        | B::Sin
        | B::Sinh
        | B::Skew
        | B::SmoothNormalize
        | B::Smoothstep
        | B::SpatialAdjoint
        | B::SpatialBottom
        | B::SpatialCross
        | B::SpatialCrossDual
        | B::SpatialDot
        | B::SpatialTop
        | B::Sqrt
        | B::Static
        | B::Step
        | B::Tan
        | B::Tanh
        | B::Trace
        | B::TransformCompose
        | B::TransformFromMatrix
        | B::TransformGetRotation
        | B::TransformGetTranslation
        | B::TransformIdentity
        | B::TransformInverse
        | B::TransformMultiply
        | B::TransformPoint
        | B::TransformToMatrix
        | B::TransformTwist
        | B::TransformVector
        | B::TransformWrench
        | B::Transpose
        | B::Trunc
        | B::Uint16
        | B::Uint32
        | B::Uint64
        | B::Uint8
        | B::VelocityAtPoint
        | B::Where => Spelling::Call,
        B::TileArange
        | B::TileUpperSolve
        | B::TileLowerSolve
        | B::TileCholeskySolve
        | B::TileCholesky
        | B::TileDiagAdd
        | B::TileDot
        | B::TileArgmax
        | B::TileArgmin
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
        | B::TileSum
        | B::TileTranspose
        | B::TileZeros
        | B::TileAstype
        | B::TileView
        | B::TileSqueeze
        | B::TileEmpty
        | B::TileRandf => Spelling::Tile,
        B::TileAtomicAdd
        | B::TileAxpy
        | B::TileStore
        | B::TransformSetRotation
        | B::TransformSetTranslation
        | B::TileCholeskyInplace
        | B::TileCholeskySolveInplace
        | B::TileLowerSolveInplace
        | B::TileUpperSolveInplace
        | B::TileAssign => Spelling::Statement,
        B::QuatToAxisAngle | B::TransformDecompose => Spelling::Unpack,
        B::Add
        | B::SpatialVector
        | B::AddInplace
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
        | B::Mul
        | B::Neg
        | B::Pos
        | B::Quaternion
        | B::Range
        | B::Reversed
        | B::Rshift
        | B::Sub
        | B::SubInplace
        | B::Tid
        | B::TileAddInplace
        | B::TileSubInplace
        | B::TileExtract
        | B::Transformation
        | B::Tuple
        | B::Unot
        | B::Vector => Spelling::Syntax,
        B::Array
        | B::AssignCopy
        | B::BitAndInplace
        | B::BitOrInplace
        | B::BitXorInplace
        | B::Breakpoint
        | B::Cast
        | B::DenseChol
        | B::DenseCholBatched
        | B::DenseGemm
        | B::DenseGemmBatched
        | B::DenseSolve
        | B::DenseSolveBatched
        | B::DenseSubs
        | B::ExpectEq
        | B::ExpectNear
        | B::ExpectNeq
        | B::Index
        | B::Indexref
        | B::MeshGet
        | B::Print
        | B::Printf
        | B::Select
        | B::Slice
        | B::Store
        | B::TextureSample
        | B::Tile
        | B::TileAtomicAddIndexed
        | B::TileBitAndInplace
        | B::TileBitOrInplace
        | B::TileBitXorInplace
        | B::TileFft
        | B::TileFromThread
        | B::TileIfft
        | B::TileLoadIndexed
        | B::TileRandi
        | B::TileScatterAdd
        | B::TileScatterMasked
        | B::TileSliceIndexed
        | B::TileSort
        | B::TileStoreIndexed
        | B::TransformAddInplace
        | B::TransformSetRotationCopy
        | B::TransformSetTranslationCopy
        | B::TransformSubInplace
        | B::View
        | B::VolumeLookupIndex
        | B::VolumeSampleGradIndex
        | B::VolumeSampleIndex
        | B::VolumeStore
        | B::VolumeStoreF
        | B::VolumeStoreI
        | B::VolumeStoreV
        | B::Zeros => Spelling::Unsupported(NOT_GENERATED),
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
        | B::VolumeVoxelCount
        | B::MeshGetBvh
        | B::ClosestPointEdgeEdge
        | B::IntersectTriTri
        | B::BvhGetGroupRoot
        | B::MeshGetGroupRoot
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
        | B::Untile => Spelling::OutOfScope(SCENES),
        B::Eig3 | B::Qr3 | B::Svd2 | B::Svd3 => Spelling::OutOfScope(DECOMPOSITIONS),
        B::Noise | B::Pnoise | B::Curlnoise => Spelling::OutOfScope(NOISE),
        B::TileStack | B::TileStackClear | B::TileStackCount | B::TileStackPop | B::TileStackPush => {
            Spelling::OutOfScope(STACKS)
        }
    }
}
