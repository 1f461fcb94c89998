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

fn vec_type(n: u8) -> String {
    let names: Vec<String> = match n {
        2..=4 => ["x", "y", "z", "w"][..n as usize].iter().map(|c| c.to_string()).collect(),
        _ => (0..n).map(|i| format!("c{i}")).collect(),
    };
    let params: Vec<String> = names.iter().map(|c| format!("float {c}")).collect();
    let what = if n == 6 { "wp.spatial_vector".to_string() } else { format!("wp.vec{n}") };
    format!(
        "// {what}: {n} floats, laid out as in a Warp array.\n\
         struct vec{n} {{\n    float c[{n}];\n    \
         HD float& operator[](int i) {{ return c[i]; }}\n    \
         HD float operator[](int i) const {{ return c[i]; }}\n}};\n\
         static_assert(sizeof(vec{n}) == {n} * sizeof(float), \"vec{n} must be packed\");\n\
         HD inline vec{n} make_vec{n}({}) {{ return {{{{{}}}}}; }}\n",
        params.join(", "),
        names.join(", ")
    )
}

fn mat_type(n: u8) -> String {
    let k = (n as usize) * (n as usize);
    let params: Vec<String> = (0..k).map(|i| format!("float m{}{}", i / n as usize, i % n as usize)).collect();
    let rows: Vec<String> = (0..n as usize)
        .map(|i| format!("{{{}}}", (0..n as usize).map(|j| format!("m{i}{j}")).collect::<Vec<_>>().join(", ")))
        .collect();
    format!(
        "// wp.mat{n}{n}: {n}x{n} floats, row-major as in a Warp array.\n\
         struct mat{n}{n} {{\n    float m[{n}][{n}];\n    \
         HD float* operator[](int i) {{ return m[i]; }}\n    \
         HD const float* operator[](int i) const {{ return m[i]; }}\n}};\n\
         static_assert(sizeof(mat{n}{n}) == {k} * sizeof(float), \"mat{n}{n} must be packed\");\n\
         HD inline mat{n}{n} make_mat{n}{n}({}) {{\n    return {{{{{}}}}};\n}}\n",
        params.join(", "),
        rows.join(", ")
    )
}

const RAND: &str = r#"// Warp's random numbers (warp/native/rand.h): the PCG hash of Jarzynski and Olano (JCGT 2020); each draw
// advances the state in place. Two draws in one expression are sequenced left to right, as Warp's CPU build does.
HD inline unsigned int rand_pcg(unsigned int state) {
    unsigned int b = state * 747796405u + 2891336453u;
    unsigned int c = ((b >> ((b >> 28u) + 4u)) ^ b) * 277803737u;
    return (c >> 22u) ^ c;
}
HD inline unsigned int rand_init(int seed, int offset) { return rand_pcg((unsigned int)seed + rand_pcg((unsigned int)offset)); }
HD inline float randf(unsigned int& state) {
    state = rand_pcg(state);
    return (state >> 8) * (1.0f / 16777216.0f);
}
HD inline float randf(unsigned int& state, float lo, float hi) { return (hi - lo) * randf(state) + lo; }
HD inline int randi(unsigned int& state, int lo, int hi) {
    state = rand_pcg(state);
    return state % (hi - lo) + lo;
}
// Box-Muller; 5.96e-8 keeps the logarithm finite.
HD inline float randn(unsigned int& state) {
    float u1 = randf(state);
    float u2 = randf(state);
    return sqrtf(-2.f * logf(u1 + 5.96e-8f)) * cosf(2.f * 3.14159265358979323846f * u2);
}
"#;

const SAMPLES2: &str = r#"HD inline vec2 sample_triangle(unsigned int& state) {
    float r = sqrtf(randf(state));
    float u = 1.f - r;
    float v = randf(state) * r;
    return make_vec2(u, v);
}
HD inline vec2 sample_unit_ring(unsigned int& state) {
    float theta = randf(state, 0.f, 2.f * 3.14159265358979323846f);
    return make_vec2(cosf(theta), sinf(theta));
}
HD inline vec2 sample_unit_disk(unsigned int& state) {
    float r = sqrtf(randf(state));
    float theta = randf(state, 0.f, 2.f * 3.14159265358979323846f);
    return make_vec2(r * cosf(theta), r * sinf(theta));
}
HD inline vec2 sample_unit_square(unsigned int& state) {
    float x = randf(state) - 0.5f;
    float y = randf(state) - 0.5f;
    return make_vec2(x, y);
}
"#;

const SAMPLES3: &str = r#"HD inline vec3 sample_unit_sphere_surface(unsigned int& state) {
    float phi = acosf(1.f - 2.f * randf(state));
    float theta = randf(state, 0.f, 2.f * 3.14159265358979323846f);
    return make_vec3(cosf(theta) * sinf(phi), sinf(theta) * sinf(phi), cosf(phi));
}
HD inline vec3 sample_unit_sphere(unsigned int& state) {
    float phi = acosf(1.f - 2.f * randf(state));
    float theta = randf(state, 0.f, 2.f * 3.14159265358979323846f);
    float r = powf(randf(state), 1.f / 3.f);
    return make_vec3(r * cosf(theta) * sinf(phi), r * sinf(theta) * sinf(phi), r * cosf(phi));
}
HD inline vec3 sample_unit_hemisphere_surface(unsigned int& state) {
    float phi = acosf(1.f - randf(state));
    float theta = randf(state, 0.f, 2.f * 3.14159265358979323846f);
    return make_vec3(cosf(theta) * sinf(phi), sinf(theta) * sinf(phi), cosf(phi));
}
HD inline vec3 sample_unit_hemisphere(unsigned int& state) {
    float phi = acosf(1.f - randf(state));
    float theta = randf(state, 0.f, 2.f * 3.14159265358979323846f);
    float r = powf(randf(state), 1.f / 3.f);
    return make_vec3(r * cosf(theta) * sinf(phi), r * sinf(theta) * sinf(phi), r * cosf(phi));
}
HD inline vec3 sample_unit_cube(unsigned int& state) {
    float x = randf(state) - 0.5f;
    float y = randf(state) - 0.5f;
    float z = randf(state) - 0.5f;
    return make_vec3(x, y, z);
}
"#;

const SPATIAL: &str = r#"// wp.spatial_vector: a vec6 of an angular part w (top) and a linear part v (bottom), warp/native/spatial.h.
HD inline vec6 make_spatial_vector(vec3 w, vec3 v) { return {{w[0], w[1], w[2], v[0], v[1], v[2]}}; }
HD inline vec3 spatial_top(vec6 a) { return make_vec3(a[0], a[1], a[2]); }
HD inline vec3 spatial_bottom(vec6 a) { return make_vec3(a[3], a[4], a[5]); }
HD inline float spatial_dot(vec6 a, vec6 b) { return dot(a, b); }
HD inline vec6 spatial_cross(vec6 a, vec6 b) {
    vec3 w = cross(spatial_top(a), spatial_top(b));
    vec3 v = cross(spatial_bottom(a), spatial_top(b)) + cross(spatial_top(a), spatial_bottom(b));
    return make_spatial_vector(w, v);
}
HD inline vec6 spatial_cross_dual(vec6 a, vec6 b) {
    vec3 w = cross(spatial_top(a), spatial_top(b)) + cross(spatial_bottom(a), spatial_bottom(b));
    vec3 v = cross(spatial_top(a), spatial_bottom(b));
    return make_spatial_vector(w, v);
}
// The linear velocity v + w x r of the point at offset r (warp/_src/math.py).
HD inline vec3 velocity_at_point(vec6 qd, vec3 r) { return spatial_bottom(qd) + cross(spatial_top(qd), r); }
"#;

const SPATIAL_TRANSFORM: &str = r#"// A twist (w, v) and a wrench (tau, f) moved by a rigid transform (warp/_src/math.py).
HD inline vec6 transform_twist(transform t, vec6 x) {
    vec3 w = quat_rotate(t.q, spatial_top(x));
    vec3 v = quat_rotate(t.q, spatial_bottom(x)) + cross(t.p, w);
    return make_spatial_vector(w, v);
}
HD inline vec6 transform_wrench(transform t, vec6 x) {
    vec3 f = quat_rotate(t.q, spatial_bottom(x));
    vec3 tau = quat_rotate(t.q, spatial_top(x)) + cross(t.p, f);
    return make_spatial_vector(tau, f);
}
"#;

const INVERSE3: &str = r#"// Warp's 3x3 inverse (mat.h): the adjugate over the determinant; the zero matrix when singular.
HD inline mat33 inverse(mat33 m) {
    float det = determinant(m);
    if (det == 0.0f) return mat33{};
    mat33 b;
    b[0][0] = m[1][1] * m[2][2] - m[1][2] * m[2][1];
    b[1][0] = m[1][2] * m[2][0] - m[1][0] * m[2][2];
    b[2][0] = m[1][0] * m[2][1] - m[1][1] * m[2][0];
    b[0][1] = m[0][2] * m[2][1] - m[0][1] * m[2][2];
    b[1][1] = m[0][0] * m[2][2] - m[0][2] * m[2][0];
    b[2][1] = m[0][1] * m[2][0] - m[0][0] * m[2][1];
    b[0][2] = m[0][1] * m[1][2] - m[0][2] * m[1][1];
    b[1][2] = m[0][2] * m[1][0] - m[0][0] * m[1][2];
    b[2][2] = m[0][0] * m[1][1] - m[0][1] * m[1][0];
    return b * (1.0f / det);
}
"#;

const TRANSFORM_TO_MATRIX: &str = r#"// warp/_src/math.py: the rotation matrix of q with p in the last column.
HD inline mat44 transform_to_matrix(transform t) {
    mat33 r = quat_to_matrix(t.q);
    return make_mat44(r[0][0], r[0][1], r[0][2], t.p[0], r[1][0], r[1][1], r[1][2], t.p[1],
                      r[2][0], r[2][1], r[2][2], t.p[2], 0.0f, 0.0f, 0.0f, 1.0f);
}
"#;

const TRANSFORM_COMPOSE: &str = r#"// warp/_src/math.py: R's columns scaled by s, then the position.
HD inline mat44 transform_compose(vec3 p, quat q, vec3 s) {
    mat33 r = quat_to_matrix(q);
    return make_mat44(s[0] * r[0][0], s[1] * r[0][1], s[2] * r[0][2], p[0],
                      s[0] * r[1][0], s[1] * r[1][1], s[2] * r[1][2], p[1],
                      s[0] * r[2][0], s[1] * r[2][1], s[2] * r[2][2], p[2], 0.0f, 0.0f, 0.0f, 1.0f);
}
"#;

const QUAT_TO_RPY: &str = r#"// warp/_src/math.py: roll, pitch, yaw (extrinsic x-y-z), the inverse of quat_rpy.
HD inline vec3 quat_to_rpy(quat q) {
    float x = q[0], y = q[1], z = q[2], w = q[3];
    float t0 = 2.0f * (w * x + y * z);
    float t1 = 1.0f - 2.0f * (x * x + y * y);
    float roll_x = atan2f(t0, t1);
    float t2 = 2.0f * (w * y - z * x);
    t2 = clampf(t2, -1.0f, 1.0f);
    float pitch_y = asinf(t2);
    float t3 = 2.0f * (w * z + x * y);
    float t4 = 1.0f - 2.0f * (y * y + z * z);
    float yaw_z = atan2f(t3, t4);
    return make_vec3(roll_x, pitch_y, yaw_z);
}
"#;

const ERFINV: &str = r#"// The inverse error functions (named wp_* beside CUDA's own erfinv overloads). On the GPU, CUDA's erfinvf/erfcinvf (as Warp). On the CPU, Warp's crt.h:
// erfinv(z) = ndtri((z + 1) / 2) / sqrt(2) in double precision, with ndtri from the Cephes library
// (ndtri.c, polevl.c; Copyright (c) 1984 by Stephen L. Moshier; https://www.netlib.org/cephes/).
#ifndef __CUDA_ARCH__
static inline double cephes_polevl(double x, const double* coefs, int n) {
    double ans = coefs[0];
    for (int i = 1; i <= n; i++) ans = ans * x + coefs[i];
    return ans;
}
static inline double cephes_p1evl(double x, const double* coefs, int n) {
    double ans = x + coefs[0];
    for (int i = 1; i < n; i++) ans = ans * x + coefs[i];
    return ans;
}
static inline double cephes_ndtri(double y) {
    if (y <= 0.0 || y >= 1.0) return (y <= 0.0) ? -HUGE_VAL : HUGE_VAL;
    const double s2pi = 2.50662827463100050242E0;
    const double exp_neg2 = 0.13533528323661269189;
    static const double P0[5] = {-5.99633501014107895267e1, 9.80010754185999661536e1, -5.66762857469070293439e1,
                                 1.39312609387279679503e1, -1.23916583867381258016e0};
    static const double Q0[8] = {1.95448858338141759834e0, 4.67627912898881538453e0, 8.63602421390890590575e1,
                                 -2.25462687854119370527e2, 2.00260212380060660359e2, -8.20372256168333339912e1,
                                 1.59056225126211695515e1, -1.18331621121330003142e0};
    static const double P1[9] = {4.05544892305962419923e0, 3.15251094599893866154e1, 5.71628192246421288162e1,
                                 4.40805073893200834700e1, 1.46849561928858024014e1, 2.18663306850790267539e0,
                                 -1.40256079171354495875e-1, -3.50424626827848203418e-2, -8.57456785154685413611e-4};
    static const double Q1[8] = {1.57799883256466749731e1, 4.53907635128879210584e1, 4.13172038254672030440e1,
                                 1.50425385692907503408e1, 2.50464946208309415979e0, -1.42182922854787788574e-1,
                                 -3.80806407691578277194e-2, -9.33259480895457427372e-4};
    static const double P2[9] = {3.23774891776946035970e0, 6.91522889068984211695e0, 3.93881025292474443415e0,
                                 1.33303460815807542389e0, 2.01485389549179081538e-1, 1.23716634817820021358e-2,
                                 3.01581553508235416007e-4, 2.65806974686737550832e-6, 6.23974539184983293730e-9};
    static const double Q2[8] = {6.02427039364742014255e0, 3.67983563856160859403e0, 1.37702099489081330271e0,
                                 2.16236993594496635890e-1, 1.34204006088543189037e-2, 3.28014464682127739104e-4,
                                 2.89247864745380683936e-6, 6.79019408009981274425e-9};
    int code = 1;
    double y_work = y;
    if (y_work > (1.0 - exp_neg2)) {
        y_work = 1.0 - y_work;
        code = 0;
    }
    if (y_work > exp_neg2) {
        y_work -= 0.5;
        double y2 = y_work * y_work;
        double x = y_work + y_work * (y2 * cephes_polevl(y2, P0, 4) / cephes_p1evl(y2, Q0, 8));
        return x * s2pi;
    }
    double x = sqrt(-2.0 * log(y_work));
    double x0 = x - log(x) / x;
    double z = 1.0 / x;
    double x1 = x < 8.0 ? z * cephes_polevl(z, P1, 8) / cephes_p1evl(z, Q1, 8)
                        : z * cephes_polevl(z, P2, 8) / cephes_p1evl(z, Q2, 8);
    x = x0 - x1;
    if (code != 0) x = -x;
    return x;
}
static inline double cephes_erfinv(double z) {
    if (z == 0.0) return 0.0;
    if (z == 1.0) return HUGE_VAL;
    if (z == -1.0) return -HUGE_VAL;
    if (z < -1.0 || z > 1.0) return NAN;
    return cephes_ndtri((z + 1.0) / 2.0) / sqrt(2.0);
}
#endif
HD inline float wp_erfinv(float x) {
#ifdef __CUDA_ARCH__
    return erfinvf(x);
#else
    return (float)cephes_erfinv((double)x);
#endif
}
HD inline float wp_erfcinv(float x) {
#ifdef __CUDA_ARCH__
    return erfcinvf(x);
#else
    return (float)cephes_erfinv(1.0 - (double)x);
#endif
}
"#;

const QUAT_TO_AXIS_ANGLE: &str = r#"// quat.h: the axis and angle of q (w < 0 flips the axis).
HD inline void quat_to_axis_angle(quat q, vec3& axis, float& angle) {
    vec3 v = make_vec3(q[0], q[1], q[2]);
    axis = q[3] < 0.0f ? -normalize(v) : normalize(v);
    angle = 2.0f * atan2f(length(v), fabsf(q[3]));
}
"#;

const TRANSFORM_DECOMPOSE: &str = r#"// Warp's transform_decompose (warp/_src/math.py): translation column, column norms as the scale, and the
// rotation of the normalized columns.
HD inline void transform_decompose(mat44 m, vec3& position, quat& rotation, vec3& scale) {
    position = make_vec3(m[0][3], m[1][3], m[2][3]);
    float r00 = m[0][0], r01 = m[0][1], r02 = m[0][2];
    float r10 = m[1][0], r11 = m[1][1], r12 = m[1][2];
    float r20 = m[2][0], r21 = m[2][1], r22 = m[2][2];
    float sx = sqrtf(r00 * r00 + r10 * r10 + r20 * r20);
    float sy = sqrtf(r01 * r01 + r11 * r11 + r21 * r21);
    float sz = sqrtf(r02 * r02 + r12 * r12 + r22 * r22);
    if (sx != 0.0f) {
        r00 /= sx;
        r10 /= sx;
        r20 /= sx;
    }
    if (sy != 0.0f) {
        r01 /= sy;
        r11 /= sy;
        r21 /= sy;
    }
    if (sz != 0.0f) {
        r02 /= sz;
        r12 /= sz;
        r22 /= sz;
    }
    rotation = quat_from_matrix(make_mat33(r00, r01, r02, r10, r11, r12, r20, r21, r22));
    scale = make_vec3(sx, sy, sz);
}
"#;

const QUAT_SLERP: &str = r#"// quat.h: slerp through the axis and angle of q0^-1 q1.
HD inline quat quat_slerp(quat q0, quat q1, float t) {
    vec3 axis;
    float angle;
    quat_to_axis_angle(quat_inverse(q0) * q1, axis, angle);
    return q0 * quat_from_axis_angle(axis, t * angle);
}
"#;

const QUAT: &str = r#"// wp.quat: x, y, z (imaginary part), w (real part), as in a Warp array.
struct quat {
    float c[4];
    HD float& operator[](int i) { return c[i]; }
    HD float operator[](int i) const { return c[i]; }
    HD float x() const { return c[0]; }
    HD float y() const { return c[1]; }
    HD float z() const { return c[2]; }
    HD float w() const { return c[3]; }
};
static_assert(sizeof(quat) == 4 * sizeof(float), "quat must be packed");
HD inline quat make_quat(float x, float y, float z, float w) { return {{x, y, z, w}}; }
"#;

const TRANSFORM: &str = r#"// wp.transform: translation p, then rotation q (7 floats), as in a Warp array.
struct transform {
    vec3 p;
    quat q;
};
static_assert(sizeof(transform) == 7 * sizeof(float), "transform must be packed");
HD inline transform make_transform(vec3 p, quat q) { return {p, q}; }
"#;

/// Warp's `quat_from_matrix` (warp/native/quat.h) on the upper-left 3x3 block of a mat33 or mat44.
fn quat_from_matrix(n: u8) -> String {
    format!(
        r#"// Warp's quat_from_matrix (warp/native/quat.h): Shepperd's method on the largest of the trace and diagonal.
HD inline quat quat_from_matrix(mat{n}{n} m) {{
    const float tr = m[0][0] + m[1][1] + m[2][2];
    float x = 0.0f, y = 0.0f, z = 0.0f, w = 0.0f, h = 0.0f;
    if (tr >= 0.0f) {{
        h = sqrtf(tr + 1.0f);
        w = 0.5f * h;
        h = 0.5f / h;
        x = (m[2][1] - m[1][2]) * h;
        y = (m[0][2] - m[2][0]) * h;
        z = (m[1][0] - m[0][1]) * h;
    }} else {{
        int max_diag = 0;
        if (m[1][1] > m[0][0]) max_diag = 1;
        if (m[2][2] > m[max_diag][max_diag]) max_diag = 2;
        if (max_diag == 0) {{
            h = sqrtf((m[0][0] - (m[1][1] + m[2][2])) + 1.0f);
            x = 0.5f * h;
            h = 0.5f / h;
            y = (m[0][1] + m[1][0]) * h;
            z = (m[2][0] + m[0][2]) * h;
            w = (m[2][1] - m[1][2]) * h;
        }} else if (max_diag == 1) {{
            h = sqrtf((m[1][1] - (m[2][2] + m[0][0])) + 1.0f);
            y = 0.5f * h;
            h = 0.5f / h;
            z = (m[1][2] + m[2][1]) * h;
            x = (m[0][1] + m[1][0]) * h;
            w = (m[0][2] - m[2][0]) * h;
        }}
        if (max_diag == 2) {{
            h = sqrtf((m[2][2] - (m[0][0] + m[1][1])) + 1.0f);
            z = 0.5f * h;
            h = 0.5f / h;
            x = (m[2][0] + m[0][2]) * h;
            y = (m[1][2] + m[2][1]) * h;
            w = (m[1][0] - m[0][1]) * h;
        }}
    }}
    return normalize(quat{{{{x, y, z, w}}}});
}}
"#
    )
}

const QUAT_TO_EULER: &str = r#"// Warp's quat_to_euler (warp/_src/math.py, a @wp.func), in its operation order: Euler angles of the axis
// sequence i, j, k, stored by axis.
HD inline vec3 quat_to_euler(quat q, int i, int j, int k) {
    float q0 = q[3], q1 = q[0], q2 = q[1], q3 = q[2];
    i += 1;
    j += 1;
    k += 1;
    bool not_proper = true;
    if (i == k) {
        not_proper = false;
        k = 6 - i - j;
    }
    float e = (float)((i - j) * (j - k) * (k - i)) / 2.0f;
    float a = q0, b = q1, c = q1, d = q1 * e;
    if (i == 2) b = q2; else if (i == 3) b = q3;
    if (j == 2) c = q2; else if (j == 3) c = q3;
    if (k == 2) d = q2 * e; else if (k == 3) d = q3 * e;
    if (not_proper) {
        float qj = q1, qk = q1, qi = q1;
        if (j == 2) qj = q2; else if (j == 3) qj = q3;
        if (k == 2) qk = q2; else if (k == 3) qk = q3;
        if (i == 2) qi = q2; else if (i == 3) qi = q3;
        a -= qj;
        b += qk * e;
        c += q0;
        d -= qi;
    }
    float t2 = acosf(fminf(fmaxf(2.0f * (a * a + b * b) / (a * a + b * b + c * c + d * d) - 1.0f, -1.0f), 1.0f));
    float tp = atan2f(b, a);
    float tm = atan2f(d, c);
    float t1 = 0.0f, t3 = 0.0f;
    if (fabsf(t2) < 1e-6f) {
        t3 = 2.0f * tp - t1;
    } else if (fabsf(t2 - 3.14159265358979323846f) < 1e-6f) {
        t3 = 2.0f * tm + t1;
    } else {
        t1 = tp - tm;
        t3 = tp + tm;
    }
    if (not_proper) {
        t2 -= 1.57079632679489661923f;
        t3 *= e;
    }
    float ex = t1, ey = t2, ez = t3;
    if (i == 2) {
        ex = t2;
        ey = t1;
    } else if (i == 3) {
        ex = t3;
        ez = t1;
    }
    if (j == 1) ex = t2; else if (j == 2) ey = t2; else ez = t2;
    if (k == 1) ex = t3; else if (k == 2) ey = t3; else ez = t3;
    return {{ex, ey, ez}};
}
"#;

const QUAT_FROM_EULER: &str = r#"// Warp's quat_from_euler (warp/_src/math.py): extrinsic rotations about axes i, j, k, composed qk * (qj * qi).
HD inline quat quat_about_axis(int axis, float s, float c) {
    if (axis == 0) return {{s, 0.0f, 0.0f, c}};
    if (axis == 1) return {{0.0f, s, 0.0f, c}};
    return {{0.0f, 0.0f, s, c}};
}
HD inline quat quat_from_euler(vec3 e, int i, int j, int k) {
    float hi = 0.5f * e[i], hj = 0.5f * e[j], hk = 0.5f * e[k];
    quat qi = quat_about_axis(i, sinf(hi), cosf(hi));
    quat qj = quat_about_axis(j, sinf(hj), cosf(hj));
    quat qk = quat_about_axis(k, sinf(hk), cosf(hk));
    return qk * (qj * qi);
}
"#;

const QUAT_TWIST: &str = r#"// Swing-twist decomposition (warp/_src/math.py): the twist of q about a unit axis, and its angle.
HD inline quat quat_twist(vec3 axis, quat q) {
    float proj = q[0] * axis[0] + q[1] * axis[1] + q[2] * axis[2];
    return normalize(quat{{proj * axis[0], proj * axis[1], proj * axis[2], q[3]}});
}
HD inline float quat_twist_angle(vec3 axis, quat q) {
    return 2.0f * atan2f(fabsf(axis[0] * q[0] + axis[1] * q[1] + axis[2] * q[2]), q[3]);
}
HD inline float quat_twist_angle_signed(vec3 axis, quat q) {
    return 2.0f * atan2f(axis[0] * q[0] + axis[1] * q[1] + axis[2] * q[2], q[3]);
}
"#;

const POISSON: &str = r#"// Warp's poisson for lam < 10 (warp/native/rand.h, random_poisson_mult): multiply uniforms until the
// product drops to exp(-lam).
HD inline unsigned int poisson(unsigned int& state, float lam) {
    if (lam == 0.0f) return 0;
    float enlam = expf(-lam), prod = 1.0f;
    unsigned int x = 0;
    while (true) {
        prod *= randf(state);
        if (prod > enlam) {
            x += 1;
        } else {
            return x;
        }
    }
}
"#;

const QUAT_RPY: &str = r#"// Roll (x), pitch (y), yaw (z) to a quaternion, in Warp's operation order.
HD inline quat quat_rpy(float roll, float pitch, float yaw) {
    float cy = cosf(yaw * 0.5f), sy = sinf(yaw * 0.5f);
    float cr = cosf(roll * 0.5f), sr = sinf(roll * 0.5f);
    float cp = cosf(pitch * 0.5f), sp = sinf(pitch * 0.5f);
    float w = (cy * cr * cp + sy * sr * sp);
    float x = (cy * sr * cp - sy * cr * sp);
    float y = (cy * cr * sp + sy * sr * cp);
    float z = (sy * cr * cp - cy * sr * sp);
    return {{x, y, z, w}};
}
"#;

/// `quat_rotate` (`sign` `+`) or `quat_rotate_inv` (`-`), Warp's formula
/// `x (2 w^2 - 1) + 2 q.xyz (q.xyz . x) ± 2 w (q.xyz × x)` in its operation order.
fn rotate(name: &str, sign: &str) -> String {
    format!(
        "HD inline vec3 {name}(quat q, vec3 x) {{\n    \
         float c = (2.0f * q[3] * q[3] - 1.0f);\n    \
         float d = 2.0f * (q[0] * x[0] + q[1] * x[1] + q[2] * x[2]);\n    \
         return {{{{x[0] * c + q[0] * d {sign} (q[1] * x[2] - q[2] * x[1]) * q[3] * 2.0f,\n             \
         x[1] * c + q[1] * d {sign} (q[2] * x[0] - q[0] * x[2]) * q[3] * 2.0f,\n             \
         x[2] * c + q[2] * d {sign} (q[0] * x[1] - q[1] * x[0]) * q[3] * 2.0f}}}};\n}}\n"
    )
}

/// `matrix_from_cols`/`matrix_from_rows` of `n` vectors: vector `i`'s component `j` goes to `slot`.
fn mat_from(n: u8, what: &str, slot: &str) -> String {
    let params: Vec<String> = (0..n).map(|i| format!("vec{n} v{i}")).collect();
    let vs: Vec<String> = (0..n).map(|i| format!("v{i}")).collect();
    format!(
        "HD inline mat{n}{n} matrix_from_{what}({}) {{\n    const vec{n} v[{n}] = {{{}}};\n    mat{n}{n} r;\n    \
         for (int i = 0; i < {n}; ++i)\n        for (int j = 0; j < {n}; ++j) {slot} = v[i][j];\n    return r;\n}}\n",
        params.join(", "),
        vs.join(", ")
    )
}

/// A component-wise vector function `name(params)` whose component `i` is `expr`.
fn vec_map(n: u8, name: &str, params: &str, expr: &str) -> String {
    let params = params.replace("{n}", &n.to_string());
    format!(
        "HD inline vec{n} {name}({params}) {{\n    vec{n} r;\n    \
         for (int i = 0; i < {n}; ++i) r[i] = {expr};\n    return r;\n}}\n"
    )
}

/// An element-wise matrix function `name(params)` whose element `[i][j]` is `expr`.
fn mat_map(n: u8, name: &str, params: &str, expr: &str) -> String {
    let params = params.replace("{n}", &n.to_string());
    let name = name.replace("{n}", &n.to_string());
    format!(
        "HD inline mat{n}{n} {name}({params}) {{\n    mat{n}{n} r;\n    \
         for (int i = 0; i < {n}; ++i)\n        for (int j = 0; j < {n}; ++j) r[i][j] = {expr};\n    return r;\n}}\n"
    )
}

fn atomic(k: AtomicKind, e: Elem) -> String {
    let (t, name) = (if e == Elem::F32 { "float" } else { "int" }, k.name());
    let (device, host) = match (k, e) {
        (AtomicKind::Add, _) => ("atomicAdd(p, v);".to_string(), "*p += v;"),
        (AtomicKind::Sub, Elem::F32) => ("atomicAdd(p, -v);  // CUDA has no float atomicSub".to_string(), "*p -= v;"),
        (AtomicKind::Sub, Elem::I32) => ("atomicSub(p, v);".to_string(), "*p -= v;"),
        (AtomicKind::Min, Elem::I32) => ("atomicMin(p, v);".to_string(), "if (v < *p) *p = v;"),
        (AtomicKind::Max, Elem::I32) => ("atomicMax(p, v);".to_string(), "if (v > *p) *p = v;"),
        (AtomicKind::Or, _) => ("atomicOr(p, v);".to_string(), "*p |= v;"),
        (AtomicKind::Xor, _) => ("atomicXor(p, v);".to_string(), "*p ^= v;"),
        (AtomicKind::And, _) => ("atomicAnd(p, v);".to_string(), "*p &= v;"),
        (AtomicKind::Exch, _) => ("atomicExch(p, v);".to_string(), "*p = v;"),
        // wp.atomic_cas(a, i, 0, v): the generator compares with 0 only
        (AtomicKind::Cas, _) => ("atomicCAS(p, 0, v);".to_string(), "if (*p == 0) *p = v;"),
        (AtomicKind::Min | AtomicKind::Max, Elem::F32) => {
            let f = if k == AtomicKind::Min { "fminf" } else { "fmaxf" };
            (
                format!(
                    "// CUDA has no float atomicMin/atomicMax: compare-and-swap on the bits, as Warp does.\n    \
                     int* bits = (int*)p;\n    int old = *bits;\n    while (true) {{\n        \
                     int want = __float_as_int({f}(__int_as_float(old), v));\n        \
                     if (want == old) break;\n        int seen = atomicCAS(bits, old, want);\n        \
                     if (seen == old) break;\n        old = seen;\n    }}"
                ),
                if k == AtomicKind::Min { "*p = fminf(*p, v);" } else { "*p = fmaxf(*p, v);" },
            )
        }
    };
    format!(
        "HD inline void {name}({t}* p, {t} v) {{\n#ifdef __CUDA_ARCH__\n    {device}\n#else\n    {host}\n#endif\n}}\n"
    )
}

const DET4: &str = r#"// 4x4 determinant from the 2x2 minors of the last two columns (double) and the cofactors of the first
// two, in Warp's order and types (Warp adapted it from USD).
HD inline float determinant(mat44 m) {
    float x00 = m[0][0], x01 = m[0][1], x10 = m[1][0], x11 = m[1][1];
    float x20 = m[2][0], x21 = m[2][1], x30 = m[3][0], x31 = m[3][1];
    float x02 = m[0][2], x03 = m[0][3], x12 = m[1][2], x13 = m[1][3];
    float x22 = m[2][2], x23 = m[2][3], x32 = m[3][2], x33 = m[3][3];
    double y01 = x02 * x13 - x12 * x03;
    double y02 = x02 * x23 - x22 * x03;
    double y03 = x02 * x33 - x32 * x03;
    double y12 = x12 * x23 - x22 * x13;
    double y13 = x12 * x33 - x32 * x13;
    double y23 = x22 * x33 - x32 * x23;
    float z30 = x11 * y02 - x21 * y01 - x01 * y12;
    float z20 = x01 * y13 - x11 * y03 + x31 * y01;
    float z10 = x21 * y03 - x31 * y02 - x01 * y23;
    float z00 = x11 * y23 - x21 * y13 + x31 * y12;
    double det = x30 * z30 + x20 * z20 + x10 * z10 + x00 * z00;
    return (float)det;
}
"#;

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
