//! The C++ helpers a translation may need: Warp's vector and matrix types with their operators, and the
//! builtins whose CUDA/C spelling differs from Warp's semantics. Each helper is emitted only when a kernel
//! uses it, in the order of [`Helper`] (dependencies are declared before the helpers that use them).
//!
//! Every formula follows Warp 1.19.0's `warp/native/{builtin,vec,mat}.h`, operation for operation, so that
//! the host build reproduces Warp's CPU results (same rounding order, `fmaf` where Warp uses `muladd`).
//! Where Warp's semantics differ from C's or CUDA's spelling, the helper closes the gap:
//!
//! | builtin | Warp | plain C/CUDA | here |
//! | --- | --- | --- | --- |
//! | `int / int`, `int % int` | C truncation (`a / b`, `a % b`), unlike Python's floor division | same | `/`, `%` |
//! | `int // int` | Python's floor division | `/` truncates | [`Helper::FloorDivI`] |
//! | `-x` (float) | `neg(x) = 0 - x`, so `-(+0.0)` is `+0.0` | `-x` gives `-0.0` | [`Helper::NegF`] (`wp_neg`), a function: g++ 12 folds an inline `0.0f - (float)i` or `0.0f - fabsf(x)` to `-x`, giving `-0.0` for `+0.0` |
//! | `wp.where(c, a, b)` | both branches evaluated | `?:` evaluates one | [`Helper::WhereEager`] when a branch draws a random number |
//! | `randf`, `randn`, `sample_*` | PCG hash, draws in source order | none | [`Helper::Rand`], [`Helper::Samples2`], [`Helper::Samples3`] |
//! | `float % float` | `fmodf(a, b)` (sign of the dividend), unlike Python | `%` does not exist for float | `fmodf` |
//! | `sign(x)` | `x < 0 ? -1 : 1`, so `sign(0) == 1` | `copysignf` / no `sign` | [`Helper::Sign`] |
//! | `min`/`max` of floats | C `fmin`/`fmax` (NaN as missing) | `fminf`/`fmaxf` | `fminf`/`fmaxf` |
//! | `min`/`max` of vectors | component-wise | none | [`Helper::CwMin`] / [`Helper::CwMax`] |
//! | `clamp(x, a, b)` | `min(max(a, x), b)`, so `a > b` gives `b` | none | [`Helper::ClampF`] |
//! | `normalize(v)` | zero vector when `length(v) == 0` | division by zero (NaN) | [`Helper::Normalize`] |
//! | `round(x)` | `roundf`: halves away from zero, unlike Python's banker's rounding | `roundf` | `roundf` |
//! | `degrees`/`radians` | `x * 57.29…` with a `double` constant, rounded to float | | [`Helper::Degrees`] |
//! | `lerp(a, b, t)` | `a * (1 - t) + b * t` | none | [`Helper::LerpF`] |
//! | `smoothstep(e0, e1, x)` | clamped Hermite `x*x*(3 - 2*x)` | none | [`Helper::Smoothstep`] |
//! | `determinant` (4×4) | USD's cofactor form with `double` 2×2 minors | none | [`Helper::Determinant`] |
//! | `m @ m`, `ddot` | `fmaf` accumulation from 0 | | [`Helper::MatMat`], [`Helper::Ddot`] |
//! | `atomic_min/max` (float) | compare-and-swap loop on CUDA | no float `atomicMin` | [`Helper::Atomic`] |
//! | `atomic_sub` (float) | `atomic_add(-v)` | no float `atomicSub` | [`Helper::Atomic`] |
//! | `normalize(q)` (quat) | identity quaternion `(0, 0, 0, 1)` when `length(q) == 0` | | [`Helper::QuatNormalize`] |
//! | `q * q`, `quat_rotate`, `quat_rpy`, `transform_*` | `quat.h`/`spatial.h` formulas, same operation order | none | [`Helper::QuatMul`], ... |

use std::collections::BTreeSet;

use warpsmith_ast::AtomicOp;

mod text;

use text::*;

/// A scalar element type of an atomic: `float` or `int`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Elem {
    /// `float`
    F32,
    /// `int`
    I32,
}

/// One emitted helper. `u8` fields are the vector length or matrix order `N` (2..=4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[allow(missing_docs)]
pub enum Helper {
    NegF,
    Sign,
    SignI,
    NonzeroI,
    FloorDivI,
    Frac,
    RoundHalf,
    RoundBfloat16,
    Step,
    DivApprox,
    BitCount,
    MinI,
    MaxI,
    ClampF,
    ClampI,
    Smoothstep,
    LerpF,
    Degrees,
    Radians,
    /// `struct vecN` and `make_vecN(x, y, ...)`.
    Vec(u8),
    /// `struct matNN` (row-major) and `make_matNN(...)`.
    Mat(u8),
    VecSplat(u8),
    VecNeg(u8),
    VecAdd(u8),
    VecSub(u8),
    VecScale(u8),
    VecDiv(u8),
    ScalarDivVec(u8),
    VecAbs(u8),
    Dot(u8),
    Length(u8),
    LengthSq(u8),
    Normalize(u8),
    Cross,
    CwMul(u8),
    CwMin(u8),
    CwMax(u8),
    LerpV(u8),
    NormL1(u8),
    NormHuber(u8),
    NormPseudoHuber(u8),
    SmoothNormalize(u8),
    ArgMin(u8),
    ArgMax(u8),
    CwDiv(u8),
    MatSplat(u8),
    MatNeg(u8),
    MatAdd(u8),
    MatSub(u8),
    MatScale(u8),
    MatDiv(u8),
    MatVec(u8),
    VecMat(u8),
    MatMat(u8),
    Outer(u8),
    Skew,
    Diag(u8),
    Transpose(u8),
    Trace(u8),
    Determinant(u8),
    Ddot(u8),
    GetDiag(u8),
    MatFromCols(u8),
    MatFromRows(u8),
    Identity(u8),
    Inverse3,
    /// `struct quat` (`x, y, z, w`) and `make_quat`.
    Quat,
    QuatAdd,
    QuatSub,
    QuatNeg,
    QuatScale,
    QuatMul,
    QuatInverse,
    QuatDot,
    QuatLength,
    QuatNormalize,
    QuatRotate,
    QuatRotateInv,
    QuatFromAxisAngle,
    QuatRpy,
    QuatToMatrix,
    QuatIdentity,
    QuatSlerp,
    /// `struct transform` (`p`, then `q`) and `make_transform(p, q)`.
    Transform,
    TransformToMatrix,
    TransformCompose,
    QuatToRpy,
    /// `lower_bound(arr, lo, hi, x)` on a float array (warp/native/array.h).
    LowerBound,
    /// `sample_cdf(state, cdf, n)`: `lower_bound` of a uniform draw (warp/native/rand.h).
    SampleCdf,
    /// `erfinv`, `erfcinv`: Cephes' `ndtri` in double precision on the CPU as Warp's `crt.h`, CUDA's on the GPU.
    Erfinv,
    /// `inverse_approx` of a mat33.
    InverseApprox3,
    /// `spatial_adjoint(R, S)`: the 6x6 block matrix `[R 0; S R]` (warp/native/spatial.h).
    SpatialAdjoint,
    /// `quat_to_axis_angle(q, axis, angle)` (out parameters) and `transform_decompose(m, p, q, s)`.
    QuatToAxisAngle,
    TransformDecompose,
    /// `quat_from_matrix` of a mat33 or mat44 (its upper-left 3x3).
    QuatFromMatrix(u8),
    /// `quat_to_euler(q, i, j, k)` and `quat_from_euler(e, i, j, k)` (warp/_src/math.py).
    QuatToEuler,
    QuatFromEuler,
    /// `quat_twist`, `quat_twist_angle`, `quat_twist_angle_signed` (warp/_src/math.py).
    QuatTwist,
    /// `transform_identity()` and `transform_from_matrix(m)`.
    TransformIdentity,
    TransformFromMatrix,
    /// `randu(state)`, `randu(state, lo, hi)` and `poisson(state, lam)` for `lam < 10` (warp/native/rand.h).
    RandU,
    Poisson,
    /// `wp.spatial_vector` (a `vec6`, angular then linear): `make_spatial_vector(w, v)`, `spatial_top`,
    /// `spatial_bottom`, `spatial_dot`, `spatial_cross`, `spatial_cross_dual`, `velocity_at_point`.
    Spatial,
    /// `transform_twist`, `transform_wrench` (`warp/_src/math.py`).
    SpatialTransform,
    TransformAdd,
    TransformMultiply,
    TransformInverse,
    TransformPoint,
    TransformVector,
    TransformGet,
    /// Warp's PCG hash generator (`warp/native/rand.h`): `rand_init`, `randf`, `randi`, `randn`.
    Rand,
    /// The vec2 samplers: `sample_unit_square`, `sample_unit_disk`, `sample_unit_ring`, `sample_triangle`.
    Samples2,
    /// The vec3 samplers: `sample_unit_cube`, `sample_unit_sphere(_surface)`, `sample_unit_hemisphere(_surface)`.
    Samples3,
    /// `where_eager(c, a, b)`: `wp.where` with both branches evaluated, as Warp does (for a branch that draws).
    WhereEager,
    /// `block_sync()`: `__syncthreads()` on the GPU, nothing on the host (one lane per block).
    BlockSync,
    /// A scalar atomic on `float*` or `int*`.
    Atomic(AtomicKind, Elem),
    /// A component-wise atomic on a vector (`Some(N)`) or matrix element type.
    AtomicVec(AtomicKind, u8),
    AtomicMat(AtomicKind, u8),
}

/// [`AtomicOp`] with an order, for [`Helper`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[allow(missing_docs)]
pub enum AtomicKind {
    Add,
    Sub,
    Min,
    Max,
    Or,
    Xor,
    And,
    Exch,
    Cas,
}

impl From<AtomicOp> for AtomicKind {
    fn from(op: AtomicOp) -> Self {
        match op {
            AtomicOp::Add => AtomicKind::Add,
            AtomicOp::Sub => AtomicKind::Sub,
            AtomicOp::Min => AtomicKind::Min,
            AtomicOp::Max => AtomicKind::Max,
            AtomicOp::Or => AtomicKind::Or,
            AtomicOp::Xor => AtomicKind::Xor,
            AtomicOp::And => AtomicKind::And,
            AtomicOp::Exch => AtomicKind::Exch,
            AtomicOp::Cas => AtomicKind::Cas,
        }
    }
}

impl AtomicKind {
    /// The helper's name, e.g. `atomic_add`.
    pub fn name(self) -> &'static str {
        match self {
            AtomicKind::Add => "atomic_add",
            AtomicKind::Sub => "atomic_sub",
            AtomicKind::Min => "atomic_min",
            AtomicKind::Max => "atomic_max",
            AtomicKind::Or => "atomic_or",
            AtomicKind::Xor => "atomic_xor",
            AtomicKind::And => "atomic_and",
            AtomicKind::Exch => "atomic_exch",
            AtomicKind::Cas => "atomic_cas0",
        }
    }
}

/// The fixed head of every translation: includes, the `HD` qualifier and the error-checking macro.
pub const HEAD: &str = r#"#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// HD marks code that runs on both sides: the GPU under nvcc, the CPU under a host C++ compiler.
#ifdef __CUDACC__
#define HD __host__ __device__
#else
#define HD
#endif

#ifdef __CUDACC__
#define CUDA_CHECK(call)                                                                      \
    do {                                                                                      \
        cudaError_t err_ = (call);                                                            \
        if (err_ != cudaSuccess) {                                                            \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(err_)); \
            exit(2);                                                                          \
        }                                                                                     \
    } while (0)
#endif
"#;

/// The comparison helpers of the test harness (host only).
pub const HARNESS: &str = r#"// Test harness: counts the values that differ from Warp's beyond |got - want| <= atol + rtol * |want|.
static int compare_floats(const char* name, const float* got, const float* want, int count) {
    const double rtol = 1e-4, atol = 1e-5;
    int bad = 0;
    for (int i = 0; i < count; ++i) {
        double err = fabs((double)got[i] - (double)want[i]);
        if (!(err <= atol + rtol * fabs((double)want[i]))) {
            if (bad < 3) printf("  %s[%d] = %.9g, Warp gave %.9g\n", name, i, got[i], want[i]);
            ++bad;
        }
    }
    return bad;
}

static int compare_ints(const char* name, const int* got, const int* want, int count) {
    int bad = 0;
    for (int i = 0; i < count; ++i) {
        if (got[i] != want[i]) {
            if (bad < 3) printf("  %s[%d] = %d, Warp gave %d\n", name, i, got[i], want[i]);
            ++bad;
        }
    }
    return bad;
}
"#;

impl Helper {
    /// Helpers that must be declared before this one.
    pub fn deps(self) -> Vec<Helper> {
        use Helper::*;
        match self {
            VecSplat(n) | VecNeg(n) | VecAdd(n) | VecSub(n) | VecScale(n) | VecDiv(n) | ScalarDivVec(n) | VecAbs(n)
            | Dot(n) | LengthSq(n) | CwMul(n) | CwMin(n) | CwMax(n) => vec![Vec(n)],
            Length(n) => vec![Dot(n)],
            Normalize(n) => vec![Length(n), VecDiv(n)],
            Cross => vec![Vec(3)],
            LerpV(n) => vec![VecScale(n), VecAdd(n)],
            NormL1(n) | NormHuber(n) | NormPseudoHuber(n) | ArgMin(n) | ArgMax(n) | CwDiv(n) => vec![Vec(n), Dot(n)],
            SmoothNormalize(n) => vec![NormPseudoHuber(n), VecDiv(n)],
            GetDiag(n) | MatFromCols(n) | MatFromRows(n) => vec![Mat(n), Vec(n)],
            Identity(n) => vec![Mat(n)],
            Inverse3 => vec![Determinant(3), MatScale(3)],
            TransformToMatrix | TransformCompose => vec![Transform, QuatToMatrix, Mat(4)],
            QuatToRpy => vec![Quat, Vec(3), ClampF],
            QuatFromMatrix(n) => vec![Mat(n), QuatNormalize],
            QuatToEuler => vec![Quat, Vec(3)],
            QuatFromEuler => vec![QuatMul, Vec(3)],
            QuatTwist => vec![Quat, Vec(3), QuatNormalize],
            TransformIdentity => vec![Transform],
            TransformFromMatrix => vec![Transform, QuatFromMatrix(4)],
            RandU | Poisson => vec![Rand],
            SampleCdf => vec![Rand, LowerBound],
            InverseApprox3 => vec![Inverse3],
            SpatialAdjoint => vec![Mat(3), Mat(6)],
            MatSplat(n) | MatNeg(n) | MatAdd(n) | MatSub(n) | MatScale(n) | MatDiv(n) | MatMat(n) | Transpose(n)
            | Trace(n) | Ddot(n) => vec![Mat(n)],
            Determinant(n) => vec![Mat(n)],
            MatVec(n) | VecMat(n) | Outer(n) | Diag(n) => vec![Mat(n), Vec(n)],
            Skew => vec![Mat(3), Vec(3)],
            QuatAdd | QuatSub | QuatNeg | QuatScale | QuatMul | QuatInverse | QuatDot | QuatRpy | QuatIdentity => {
                vec![Quat]
            }
            QuatLength => vec![QuatDot],
            QuatNormalize => vec![QuatLength],
            QuatRotate | QuatRotateInv | QuatFromAxisAngle => vec![Quat, Vec(3)],
            QuatToMatrix => vec![QuatRotate, Mat(3)],
            QuatSlerp => vec![QuatMul, QuatInverse, QuatFromAxisAngle, QuatToAxisAngle],
            QuatToAxisAngle => vec![Quat, Normalize(3), VecNeg(3), Length(3)],
            TransformDecompose => vec![Mat(4), QuatFromMatrix(3), Vec(3)],
            Transform => vec![Vec(3), Quat],
            Spatial => vec![Vec(6), Vec(3), Cross, VecAdd(3), Dot(6)],
            SpatialTransform => vec![Spatial, Transform, QuatRotate],
            TransformAdd => vec![Transform, VecAdd(3), QuatAdd],
            TransformMultiply => vec![Transform, QuatRotate, VecAdd(3), QuatMul],
            TransformInverse => vec![Transform, QuatInverse, QuatRotate, VecNeg(3)],
            TransformPoint => vec![Transform, QuatRotate, VecAdd(3)],
            TransformVector | TransformGet => vec![Transform, QuatRotate],
            Samples2 => vec![Rand, Vec(2)],
            Samples3 => vec![Rand, Vec(3)],
            AtomicVec(k, n) => vec![Vec(n), Atomic(k, Elem::F32)],
            AtomicMat(k, n) => vec![Mat(n), Atomic(k, Elem::F32)],
            _ => std::vec::Vec::new(),
        }
    }

    /// The C++ text of this helper.
    pub fn code(self) -> String {
        use Helper::*;
        match self {
            NegF => "// Warp's float negation, builtin.h `neg`: 0 - x, so -(+0.0) is +0.0 (copysign, atan2 and 1/x tell the\n\
                     // zeros apart). A function and not an inline `0.0f - x`: g++ 12 folds `0.0f - (float)i` and\n\
                     // `0.0f - fabsf(x)` to `-x` (it proves the operand is never -0.0, which is not enough), giving -0.0.\n\
                     HD inline float wp_neg(float x) { return 0.0f - x; }\n"
                .into(),
            Sign => "// Warp's sign: -1 for negative values, else 1 (so sign(0) == 1).\n\
                     HD inline float sign(float x) { return x < 0.0f ? -1.0f : 1.0f; }\n"
                .into(),
            SignI => "HD inline int sign(int x) { return x < 0 ? -1 : 1; }\n".into(),
            NonzeroI => "HD inline int nonzero(int x) { return x == 0 ? 0 : 1; }\n".into(),
            DivApprox => "// Warp's div_approx: exact on the CPU, the PTX approximate division on the GPU.\n\
                          HD inline float div_approx(float a, float b) {\n#ifdef __CUDA_ARCH__\n    \
                          return __fdividef(a, b);\n#else\n    return a / b;\n#endif\n}\n"
                .into(),
            RoundHalf => text::ROUND_HALF.into(),
            RoundBfloat16 => text::ROUND_BFLOAT16.into(),
            Frac => "// Warp's frac: x - trunc(x) (sign of x).\nHD inline float frac(float x) { return x - truncf(x); }\n".into(),
            Step => "// Warp's step: 1 for negative x, else 0.\nHD inline float step(float x) { return x < 0.0f ? 1.0f : 0.0f; }\n"
                .into(),
            BitCount => "// Set bits of the two's-complement value.\n\
                         HD inline int bit_count(int x) {\n    unsigned v = (unsigned)x;\n    int c = 0;\n    \
                         while (v) {\n        v &= v - 1u;\n        ++c;\n    }\n    return c;\n}\n"
                .into(),
            FloorDivI => "// Python's // on ints (toward negative infinity), Warp's floordiv_signed.\n\
                          HD inline int floordiv(int a, int b) {\n    int q = a / b;\n    int r = a % b;\n    \
                          if (r != 0 && ((r < 0) != (b < 0))) q -= 1;\n    return q;\n}\n"
                .into(),
            MinI => "HD inline int mini(int a, int b) { return a < b ? a : b; }\n".into(),
            MaxI => "HD inline int maxi(int a, int b) { return a > b ? a : b; }\n".into(),
            ClampF => "// Warp's clamp: min(max(lo, x), hi).\n\
                       HD inline float clampf(float x, float lo, float hi) { return fminf(fmaxf(lo, x), hi); }\n"
                .into(),
            ClampI => "HD inline int clampi(int x, int lo, int hi) {\n    \
                       int m = x > lo ? x : lo;\n    return m < hi ? m : hi;\n}\n"
                .into(),
            Smoothstep => "HD inline float smoothstep(float edge0, float edge1, float x) {\n    \
                           x = clampf((x - edge0) / (edge1 - edge0), 0.0f, 1.0f);\n    \
                           return x * x * (3.0f - 2.0f * x);\n}\n"
                .into(),
            LerpF => "HD inline float lerp(float a, float b, float t) { return a * (1.0f - t) + b * t; }\n".into(),
            Degrees => "// Warp multiplies by a double constant and rounds the product to float.\n\
                        HD inline float degrees(float x) { return (float)(x * 57.29577951308232087679); }\n"
                .into(),
            Radians => "HD inline float radians(float x) { return (float)(x * 0.01745329251994329577); }\n".into(),
            Vec(n) => vec_type(n),
            Mat(n) => mat_type(n),
            VecSplat(n) => format!(
                "HD inline vec{n} make_vec{n}(float s) {{ return {{{{{}}}}}; }}\n",
                vec!["s"; n as usize].join(", ")
            ),
            VecNeg(n) => vec_map(n, "operator-", "vec{n} a", "-a[i]"),
            VecAdd(n) => vec_map(n, "operator+", "vec{n} a, vec{n} b", "a[i] + b[i]"),
            VecSub(n) => vec_map(n, "operator-", "vec{n} a, vec{n} b", "a[i] - b[i]"),
            VecScale(n) => vec_map(n, "operator*", "vec{n} a, float s", "a[i] * s")
                + &format!("HD inline vec{n} operator*(float s, vec{n} a) {{ return a * s; }}\n"),
            VecDiv(n) => vec_map(n, "operator/", "vec{n} a, float s", "a[i] / s"),
            ScalarDivVec(n) => vec_map(n, "operator/", "float s, vec{n} a", "s / a[i]"),
            VecAbs(n) => vec_map(n, "abs", "vec{n} a", "fabsf(a[i])"),
            Dot(n) => format!(
                "HD inline float dot(vec{n} a, vec{n} b) {{\n    float r = 0.0f;\n    \
                 for (int i = 0; i < {n}; ++i) r += a[i] * b[i];\n    return r;\n}}\n"
            ),
            Length(n) => format!("HD inline float length(vec{n} a) {{ return sqrtf(dot(a, a)); }}\n"),
            LengthSq(n) => format!(
                "HD inline float length_sq(vec{n} a) {{\n    float r = 0.0f;\n    \
                 for (int i = 0; i < {n}; ++i) r += a[i] * a[i];\n    return r;\n}}\n"
            ),
            Normalize(n) => format!(
                "// Warp returns the zero vector for a zero-length input (plain a / length(a) would give NaN).\n\
                 HD inline vec{n} normalize(vec{n} a) {{\n    float l = length(a);\n    \
                 if (l > 0.0f) return a / l;\n    return vec{n}{{}};\n}}\n"
            ),
            Cross => "HD inline vec3 cross(vec3 a, vec3 b) {\n    \
                      return {{a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]}};\n}\n"
                .into(),
            CwMul(n) => vec_map(n, "cw_mul", "vec{n} a, vec{n} b", "a[i] * b[i]"),
            CwMin(n) => vec_map(n, "cw_min", "vec{n} a, vec{n} b", "fminf(a[i], b[i])"),
            CwMax(n) => vec_map(n, "cw_max", "vec{n} a, vec{n} b", "fmaxf(a[i], b[i])"),
            LerpV(n) => {
                format!("HD inline vec{n} lerp(vec{n} a, vec{n} b, float t) {{ return a * (1.0f - t) + b * t; }}\n")
            }
            NormL1(n) => format!(
                "// Warp's norm_l1 (warp/_src/math.py): the sum of |v_i| from 0.\n\
                 HD inline float norm_l1(vec{n} v) {{\n    float r = 0.0f;\n    \
                 for (int i = 0; i < {n}; ++i) r += fabsf(v[i]);\n    return r;\n}}\n"
            ),
            NormHuber(n) => format!(
                "// Warp's norm_huber: 0.5 |v|^2 inside delta, delta (|v| - delta / 2) outside.\n\
                 HD inline float norm_huber(vec{n} v, float delta) {{\n    float a = dot(v, v);\n    \
                 if (a <= delta * delta) return 0.5f * a;\n    return delta * (sqrtf(a) - 0.5f * delta);\n}}\n"
            ),
            NormPseudoHuber(n) => format!(
                "HD inline float norm_pseudo_huber(vec{n} v, float delta) {{\n    float a = dot(v, v);\n    \
                 return delta * sqrtf(1.0f + a / (delta * delta));\n}}\n"
            ),
            SmoothNormalize(n) => format!(
                "HD inline vec{n} smooth_normalize(vec{n} v, float delta) {{ return v / norm_pseudo_huber(v, delta); }}\n"
            ),
            ArgMin(n) => format!(
                "// The first index of the smallest component (Warp skips NaNs; the kernels have none).\n\
                 HD inline int argmin(vec{n} v) {{\n    int r = 0;\n    \
                 for (int i = 1; i < {n}; ++i)\n        if (v[i] < v[r]) r = i;\n    return r;\n}}\n"
            ),
            ArgMax(n) => format!(
                "HD inline int argmax(vec{n} v) {{\n    int r = 0;\n    \
                 for (int i = 1; i < {n}; ++i)\n        if (v[i] > v[r]) r = i;\n    return r;\n}}\n"
            ),
            CwDiv(n) => vec_map(n, "cw_div", "vec{n} a, vec{n} b", "a[i] / b[i]"),
            GetDiag(n) => format!(
                "HD inline vec{n} get_diag(mat{n}{n} m) {{\n    vec{n} r;\n    \
                 for (int i = 0; i < {n}; ++i) r[i] = m[i][i];\n    return r;\n}}\n"
            ),
            MatFromCols(n) => mat_from(n, "cols", "r[j][i]"),
            Identity(n) => format!(
                "HD inline mat{n}{n} identity_mat{n}{n}() {{\n    mat{n}{n} r = {{}};\n    \
                 for (int i = 0; i < {n}; ++i) r[i][i] = 1.0f;\n    return r;\n}}\n"
            ),
            Inverse3 => INVERSE3.into(),
            TransformToMatrix => TRANSFORM_TO_MATRIX.into(),
            TransformCompose => TRANSFORM_COMPOSE.into(),
            QuatToRpy => QUAT_TO_RPY.into(),
            QuatFromMatrix(n) => quat_from_matrix(n),
            QuatToEuler => QUAT_TO_EULER.into(),
            QuatFromEuler => QUAT_FROM_EULER.into(),
            QuatTwist => QUAT_TWIST.into(),
            TransformIdentity => "HD inline transform transform_identity() { return {{{0.0f, 0.0f, 0.0f}}, {{0.0f, 0.0f, 0.0f, 1.0f}}}; }\n".into(),
            TransformFromMatrix => "// Warp's transform_from_matrix (warp/_src/math.py): translation column, rotation of the 3x3 block.\n\
                                    HD inline transform transform_from_matrix(mat44 m) {\n    \
                                    return {{{m[0][3], m[1][3], m[2][3]}}, quat_from_matrix(m)};\n}\n"
                .into(),
            RandU => "HD inline unsigned int randu(unsigned int& state) {\n    state = rand_pcg(state);\n    return state;\n}\n\
                      HD inline unsigned int randu(unsigned int& state, unsigned int lo, unsigned int hi) {\n    \
                      state = rand_pcg(state);\n    return state % (hi - lo) + lo;\n}\n"
                .into(),
            Poisson => POISSON.into(),
            MatFromRows(n) => mat_from(n, "rows", "r[i][j]"),
            MatSplat(n) => mat_map(n, "make_mat{n}{n}", "float s", "s"),
            MatNeg(n) => mat_map(n, "operator-", "mat{n}{n} a", "-a[i][j]"),
            MatAdd(n) => mat_map(n, "operator+", "mat{n}{n} a, mat{n}{n} b", "a[i][j] + b[i][j]"),
            MatSub(n) => mat_map(n, "operator-", "mat{n}{n} a, mat{n}{n} b", "a[i][j] - b[i][j]"),
            MatScale(n) => mat_map(n, "operator*", "mat{n}{n} a, float s", "a[i][j] * s")
                + &format!("HD inline mat{n}{n} operator*(float s, mat{n}{n} a) {{ return a * s; }}\n"),
            MatDiv(n) => mat_map(n, "operator/", "mat{n}{n} a, float s", "a[i][j] / s"),
            MatVec(n) => format!(
                "// m @ v, accumulated column by column as Warp does.\n\
                 HD inline vec{n} mul(mat{n}{n} m, vec{n} v) {{\n    vec{n} r;\n    \
                 for (int i = 0; i < {n}; ++i) r[i] = m[i][0] * v[0];\n    \
                 for (int j = 1; j < {n}; ++j)\n        for (int i = 0; i < {n}; ++i) r[i] = r[i] + m[i][j] * v[j];\n    \
                 return r;\n}}\n"
            ),
            VecMat(n) => format!(
                "// v @ m, accumulated row by row as Warp does.\n\
                 HD inline vec{n} mul(vec{n} v, mat{n}{n} m) {{\n    vec{n} r;\n    \
                 for (int j = 0; j < {n}; ++j) r[j] = m[0][j] * v[0];\n    \
                 for (int i = 1; i < {n}; ++i)\n        for (int j = 0; j < {n}; ++j) r[j] = r[j] + m[i][j] * v[i];\n    \
                 return r;\n}}\n"
            ),
            MatMat(n) => format!(
                "// a @ b with fused multiply-adds, as Warp does.\n\
                 HD inline mat{n}{n} mul(mat{n}{n} a, mat{n}{n} b) {{\n    mat{n}{n} r;\n    \
                 for (int i = 0; i < {n}; ++i)\n        for (int j = 0; j < {n}; ++j) {{\n            \
                 float sum = 0.0f;\n            for (int k = 0; k < {n}; ++k) sum = fmaf(a[i][k], b[k][j], sum);\n            \
                 r[i][j] = sum;\n        }}\n    return r;\n}}\n"
            ),
            Outer(n) => format!(
                "HD inline mat{n}{n} outer(vec{n} a, vec{n} b) {{\n    mat{n}{n} r;\n    \
                 for (int i = 0; i < {n}; ++i)\n        for (int j = 0; j < {n}; ++j) r[i][j] = a[i] * b[j];\n    \
                 return r;\n}}\n"
            ),
            Skew => "HD inline mat33 skew(vec3 a) { return {{{0.0f, -a[2], a[1]}, {a[2], 0.0f, -a[0]}, {-a[1], a[0], 0.0f}}}; }\n"
                .into(),
            Diag(n) => format!(
                "HD inline mat{n}{n} diag(vec{n} d) {{\n    mat{n}{n} r = {{}};\n    \
                 for (int i = 0; i < {n}; ++i) r[i][i] = d[i];\n    return r;\n}}\n"
            ),
            Transpose(n) => mat_map(n, "transpose", "mat{n}{n} a", "a[j][i]"),
            Trace(n) => format!(
                "HD inline float trace(mat{n}{n} a) {{\n    float r = a[0][0];\n    \
                 for (int i = 1; i < {n}; ++i) r += a[i][i];\n    return r;\n}}\n"
            ),
            Determinant(2) => "HD inline float determinant(mat22 m) { return m[0][0] * m[1][1] - m[1][0] * m[0][1]; }\n"
                .into(),
            Determinant(3) => "// dot(row 0, cross(row 1, row 2)), as Warp does.\n\
                 HD inline float determinant(mat33 m) {\n    \
                 float c0 = m[1][1] * m[2][2] - m[1][2] * m[2][1];\n    \
                 float c1 = m[1][2] * m[2][0] - m[1][0] * m[2][2];\n    \
                 float c2 = m[1][0] * m[2][1] - m[1][1] * m[2][0];\n    \
                 return m[0][0] * c0 + m[0][1] * c1 + m[0][2] * c2;\n}\n"
                .into(),
            Determinant(_) => DET4.into(),
            Ddot(n) => format!(
                "// Frobenius inner product with fused multiply-adds, as Warp does.\n\
                 HD inline float ddot(mat{n}{n} a, mat{n}{n} b) {{\n    float r = 0.0f;\n    \
                 for (int i = 0; i < {n}; ++i)\n        for (int j = 0; j < {n}; ++j) r = fmaf(a[i][j], b[i][j], r);\n    \
                 return r;\n}}\n"
            ),
            Quat => QUAT.into(),
            QuatAdd => "HD inline quat operator+(quat a, quat b) { return {{a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3]}}; }\n".into(),
            QuatSub => "HD inline quat operator-(quat a, quat b) { return {{a[0] - b[0], a[1] - b[1], a[2] - b[2], a[3] - b[3]}}; }\n".into(),
            QuatNeg => "HD inline quat operator-(quat a) { return {{-a[0], -a[1], -a[2], -a[3]}}; }\n".into(),
            QuatScale => "HD inline quat operator*(quat a, float s) { return {{a[0] * s, a[1] * s, a[2] * s, a[3] * s}}; }\n\
                          HD inline quat operator*(float s, quat a) { return a * s; }\n"
                .into(),
            QuatMul => "// The Hamilton product, in Warp's operation order.\n\
                        HD inline quat operator*(quat a, quat b) {\n    \
                        return {{a.w() * b.x() + b.w() * a.x() + a.y() * b.z() - b.y() * a.z(),\n             \
                        a.w() * b.y() + b.w() * a.y() + a.z() * b.x() - b.z() * a.x(),\n             \
                        a.w() * b.z() + b.w() * a.z() + a.x() * b.y() - b.x() * a.y(),\n             \
                        a.w() * b.w() - a.x() * b.x() - a.y() * b.y() - a.z() * b.z()}};\n}\n"
                .into(),
            QuatInverse => "HD inline quat quat_inverse(quat q) { return {{-q[0], -q[1], -q[2], q[3]}}; }\n".into(),
            QuatDot => "HD inline float dot(quat a, quat b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3]; }\n"
                .into(),
            QuatLength => "HD inline float length(quat q) { return sqrtf(dot(q, q)); }\n".into(),
            QuatNormalize => "// Warp returns the identity rotation for a zero-length quaternion.\n\
                              HD inline quat normalize(quat q) {\n    float l = length(q);\n    \
                              if (l > 0.0f) {\n        float inv = 1.0f / l;\n        \
                              return {{q[0] * inv, q[1] * inv, q[2] * inv, q[3] * inv}};\n    }\n    \
                              return {{0.0f, 0.0f, 0.0f, 1.0f}};\n}\n"
                .into(),
            QuatRotate => rotate("quat_rotate", "+"),
            QuatRotateInv => rotate("quat_rotate_inv", "-"),
            QuatFromAxisAngle => "HD inline quat quat_from_axis_angle(vec3 axis, float angle) {\n    \
                                  float half = angle * 0.5f;\n    float w = cosf(half);\n    float s = sinf(half);\n    \
                                  return {{axis[0] * s, axis[1] * s, axis[2] * s, w}};\n}\n"
                .into(),
            QuatRpy => QUAT_RPY.into(),
            QuatToMatrix => "// Columns are the rotated basis vectors, as Warp computes them.\n\
                             HD inline mat33 quat_to_matrix(quat q) {\n    \
                             vec3 c0 = quat_rotate(q, make_vec3(1.0f, 0.0f, 0.0f));\n    \
                             vec3 c1 = quat_rotate(q, make_vec3(0.0f, 1.0f, 0.0f));\n    \
                             vec3 c2 = quat_rotate(q, make_vec3(0.0f, 0.0f, 1.0f));\n    \
                             return make_mat33(c0[0], c1[0], c2[0], c0[1], c1[1], c2[1], c0[2], c1[2], c2[2]);\n}\n"
                .into(),
            QuatSlerp => QUAT_SLERP.into(),
            QuatToAxisAngle => QUAT_TO_AXIS_ANGLE.into(),
            SampleCdf => "HD inline int sample_cdf(unsigned int& state, const float* cdf, int n) {\n    \
                          float u = randf(state);\n    return lower_bound(cdf, 0, n, u);\n}\n"
                .into(),
            Erfinv => ERFINV.into(),
            InverseApprox3 => "// Warp's inverse_approx: the same inversion as inverse on the CPU (an approximate reciprocal of the\n\
                               // determinant on the GPU, within float rounding of it).\n\
                               HD inline mat33 inverse_approx(mat33 m) { return inverse(m); }\n"
                .into(),
            SpatialAdjoint => "// Warp's spatial_adjoint (spatial.h): [R 0; S R].\n\
                               HD inline mat66 spatial_adjoint(mat33 r, mat33 s) {\n    mat66 a = {};\n    \
                               for (int i = 0; i < 3; ++i)\n        for (int j = 0; j < 3; ++j) {\n            \
                               a[i][j] = r[i][j];\n            a[i + 3][j + 3] = r[i][j];\n            \
                               a[i + 3][j] = s[i][j];\n        }\n    return a;\n}\n"
                .into(),
            LowerBound => "// Warp's lower_bound (warp/native/array.h): binary search in [lo, hi) for the first element >= x.\n\
                           HD inline int lower_bound(const float* a, int lo, int hi, float x) {\n    \
                           int lower = lo, upper = hi - 1;\n    while (lower < upper) {\n        \
                           int mid = lower + (upper - lower) / 2;\n        \
                           if (a[mid] < x) {\n            lower = mid + 1;\n        } else {\n            upper = mid;\n        }\n    }\n    \
                           return lower;\n}\n"
                .into(),
            TransformDecompose => TRANSFORM_DECOMPOSE.into(),
            QuatIdentity => "HD inline quat quat_identity() { return {{0.0f, 0.0f, 0.0f, 1.0f}}; }\n".into(),
            Transform => TRANSFORM.into(),
            Spatial => SPATIAL.into(),
            SpatialTransform => SPATIAL_TRANSFORM.into(),
            TransformAdd => "HD inline transform operator+(transform a, transform b) { return {a.p + b.p, a.q + b.q}; }\n"
                .into(),
            TransformMultiply => "HD inline transform transform_multiply(transform a, transform b) {\n    \
                                  return {quat_rotate(a.q, b.p) + a.p, a.q * b.q};\n}\n\
                                  HD inline transform operator*(transform a, transform b) { return transform_multiply(a, b); }\n"
                .into(),
            TransformInverse => "HD inline transform transform_inverse(transform t) {\n    \
                                 quat q_inv = quat_inverse(t.q);\n    return {-quat_rotate(q_inv, t.p), q_inv};\n}\n"
                .into(),
            TransformPoint => "HD inline vec3 transform_point(transform t, vec3 x) { return t.p + quat_rotate(t.q, x); }\n"
                .into(),
            TransformVector => "HD inline vec3 transform_vector(transform t, vec3 x) { return quat_rotate(t.q, x); }\n".into(),
            TransformGet => "HD inline vec3 transform_get_translation(transform t) { return t.p; }\n\
                             HD inline quat transform_get_rotation(transform t) { return t.q; }\n"
                .into(),
            Rand => RAND.into(),
            Samples2 => SAMPLES2.into(),
            Samples3 => SAMPLES3.into(),
            WhereEager => "// wp.where evaluates both branches (a random draw in either advances the state).\n\
                           template <typename T> HD inline T where_eager(bool c, T a, T b) { return c ? a : b; }\n"
                .into(),
            BlockSync => "// Tile operations end with a barrier so that every lane sees the whole tile.\n\
                          HD inline void block_sync() {\n#ifdef __CUDA_ARCH__\n    __syncthreads();\n#endif\n}\n"
                .into(),
            Atomic(k, e) => atomic(k, e),
            AtomicVec(k, n) => format!(
                "HD inline void {name}(vec{n}* p, vec{n} v) {{\n    \
                 for (int i = 0; i < {n}; ++i) {name}(&p->c[i], v[i]);\n}}\n",
                name = k.name()
            ),
            AtomicMat(k, n) => format!(
                "HD inline void {name}(mat{n}{n}* p, mat{n}{n} v) {{\n    \
                 for (int i = 0; i < {n}; ++i)\n        for (int j = 0; j < {n}; ++j) {name}(&p->m[i][j], v[i][j]);\n}}\n",
                name = k.name()
            ),
        }
    }
}

/// Closes `set` under [`Helper::deps`].
pub fn close(set: &mut BTreeSet<Helper>) {
    let mut todo: Vec<Helper> = set.iter().copied().collect();
    while let Some(h) = todo.pop() {
        for d in h.deps() {
            if set.insert(d) {
                todo.push(d);
            }
        }
    }
}

/// The helpers' code, in dependency order: each helper after those it uses (`set` closed under
/// [`Helper::deps`], then Kahn's topological order taking the first ready helper in the enum's order, so a set
/// already in dependency order keeps the enum's order).
pub fn helper_code(set: &BTreeSet<Helper>) -> String {
    let mut left = set.clone();
    close(&mut left);
    let mut order = Vec::with_capacity(left.len());
    while !left.is_empty() {
        let ready = left.iter().copied().find(|h| h.deps().iter().all(|d| !left.contains(d) || d == h));
        // deps are acyclic (each helper's code only calls earlier-declared ones); fall back to the first
        let Some(h) = ready.or_else(|| left.iter().next().copied()) else { break };
        left.remove(&h);
        order.push(h);
    }
    order.iter().map(|h| h.code()).collect::<Vec<_>>().join("\n")
}
