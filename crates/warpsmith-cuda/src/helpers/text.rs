//! The C++ text of the helpers: the longer functions as literals, and the builders of the families
//! generated per size (vector and matrix types, component maps, atomics).

use super::*;

pub(super) fn vec_type(n: u8) -> String {
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

pub(super) fn mat_type(n: u8) -> String {
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

pub(super) const RAND: &str = r#"// Warp's random numbers (warp/native/rand.h): the PCG hash of Jarzynski and Olano (JCGT 2020); each draw
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

pub(super) const SAMPLES2: &str = r#"HD inline vec2 sample_triangle(unsigned int& state) {
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

pub(super) const SAMPLES3: &str = r#"HD inline vec3 sample_unit_sphere_surface(unsigned int& state) {
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

pub(super) const SPATIAL: &str = r#"// wp.spatial_vector: a vec6 of an angular part w (top) and a linear part v (bottom), warp/native/spatial.h.
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

pub(super) const SPATIAL_TRANSFORM: &str = r#"// A twist (w, v) and a wrench (tau, f) moved by a rigid transform (warp/_src/math.py).
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

pub(super) const INVERSE3: &str = r#"// Warp's 3x3 inverse (mat.h): the adjugate over the determinant; the zero matrix when singular.
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

pub(super) const TRANSFORM_TO_MATRIX: &str = r#"// warp/_src/math.py: the rotation matrix of q with p in the last column.
HD inline mat44 transform_to_matrix(transform t) {
    mat33 r = quat_to_matrix(t.q);
    return make_mat44(r[0][0], r[0][1], r[0][2], t.p[0], r[1][0], r[1][1], r[1][2], t.p[1],
                      r[2][0], r[2][1], r[2][2], t.p[2], 0.0f, 0.0f, 0.0f, 1.0f);
}
"#;

pub(super) const TRANSFORM_COMPOSE: &str = r#"// warp/_src/math.py: R's columns scaled by s, then the position.
HD inline mat44 transform_compose(vec3 p, quat q, vec3 s) {
    mat33 r = quat_to_matrix(q);
    return make_mat44(s[0] * r[0][0], s[1] * r[0][1], s[2] * r[0][2], p[0],
                      s[0] * r[1][0], s[1] * r[1][1], s[2] * r[1][2], p[1],
                      s[0] * r[2][0], s[1] * r[2][1], s[2] * r[2][2], p[2], 0.0f, 0.0f, 0.0f, 1.0f);
}
"#;

pub(super) const QUAT_TO_RPY: &str = r#"// warp/_src/math.py: roll, pitch, yaw (extrinsic x-y-z), the inverse of quat_rpy.
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

pub(super) const ERFINV: &str = r#"// The inverse error functions (named wp_* beside CUDA's own erfinv overloads). On the GPU, CUDA's erfinvf/erfcinvf (as Warp). On the CPU, Warp's crt.h:
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

pub(super) const QUAT_TO_AXIS_ANGLE: &str = r#"// quat.h: the axis and angle of q (w < 0 flips the axis).
HD inline void quat_to_axis_angle(quat q, vec3& axis, float& angle) {
    vec3 v = make_vec3(q[0], q[1], q[2]);
    axis = q[3] < 0.0f ? -normalize(v) : normalize(v);
    angle = 2.0f * atan2f(length(v), fabsf(q[3]));
}
"#;

pub(super) const TRANSFORM_DECOMPOSE: &str = r#"// Warp's transform_decompose (warp/_src/math.py): translation column, column norms as the scale, and the
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

pub(super) const QUAT_SLERP: &str = r#"// quat.h: slerp through the axis and angle of q0^-1 q1.
HD inline quat quat_slerp(quat q0, quat q1, float t) {
    vec3 axis;
    float angle;
    quat_to_axis_angle(quat_inverse(q0) * q1, axis, angle);
    return q0 * quat_from_axis_angle(axis, t * angle);
}
"#;

pub(super) const QUAT: &str = r#"// wp.quat: x, y, z (imaginary part), w (real part), as in a Warp array.
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

pub(super) const TRANSFORM: &str = r#"// wp.transform: translation p, then rotation q (7 floats), as in a Warp array.
struct transform {
    vec3 p;
    quat q;
};
static_assert(sizeof(transform) == 7 * sizeof(float), "transform must be packed");
HD inline transform make_transform(vec3 p, quat q) { return {p, q}; }
"#;

/// Warp's `quat_from_matrix` (warp/native/quat.h) on the upper-left 3x3 block of a mat33 or mat44.
pub(super) fn quat_from_matrix(n: u8) -> String {
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

pub(super) const QUAT_TO_EULER: &str = r#"// Warp's quat_to_euler (warp/_src/math.py, a @wp.func), in its operation order: Euler angles of the axis
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

pub(super) const QUAT_FROM_EULER: &str = r#"// Warp's quat_from_euler (warp/_src/math.py): extrinsic rotations about axes i, j, k, composed qk * (qj * qi).
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

pub(super) const QUAT_TWIST: &str = r#"// Swing-twist decomposition (warp/_src/math.py): the twist of q about a unit axis, and its angle.
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

pub(super) const POISSON: &str = r#"// Warp's poisson for lam < 10 (warp/native/rand.h, random_poisson_mult): multiply uniforms until the
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

pub(super) const QUAT_RPY: &str = r#"// Roll (x), pitch (y), yaw (z) to a quaternion, in Warp's operation order.
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
pub(super) fn rotate(name: &str, sign: &str) -> String {
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
pub(super) fn mat_from(n: u8, what: &str, slot: &str) -> String {
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
pub(super) fn vec_map(n: u8, name: &str, params: &str, expr: &str) -> String {
    let params = params.replace("{n}", &n.to_string());
    format!(
        "HD inline vec{n} {name}({params}) {{\n    vec{n} r;\n    \
         for (int i = 0; i < {n}; ++i) r[i] = {expr};\n    return r;\n}}\n"
    )
}

/// An element-wise matrix function `name(params)` whose element `[i][j]` is `expr`.
pub(super) fn mat_map(n: u8, name: &str, params: &str, expr: &str) -> String {
    let params = params.replace("{n}", &n.to_string());
    let name = name.replace("{n}", &n.to_string());
    format!(
        "HD inline mat{n}{n} {name}({params}) {{\n    mat{n}{n} r;\n    \
         for (int i = 0; i < {n}; ++i)\n        for (int j = 0; j < {n}; ++j) r[i][j] = {expr};\n    return r;\n}}\n"
    )
}

pub(super) fn atomic(k: AtomicKind, e: Elem) -> String {
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

pub(super) const DET4: &str = r#"// 4x4 determinant from the 2x2 minors of the last two columns (double) and the cofactors of the first
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

/// `wp.float16(x)` read back as float32: x rounded to IEEE 754 binary16, to nearest with ties to even, as Warp
/// computes it (clang's `_Float16` on the CPU, `cvt.rn.f16.f32` on the GPU; `float_to_half` in
/// warp/native/builtin.h), without a half type in host C++ or CUDA: normal values keep 10 fraction bits (the
/// rounding increment 0xfff plus the kept bit's parity), values below 2^-14 are multiples of 2^-24 (scaling by
/// a power of two is exact, `rintf` rounds ties to even), values from 65520 up overflow to infinity.
pub(super) const ROUND_HALF: &str = r#"// Warp's float16 cast, read back as float32: round to nearest binary16, ties to even.
HD inline float round_half(float x) {
    unsigned int u;
    memcpy(&u, &x, 4);
    unsigned int a = u & 0x7fffffffu;
    if (a >= 0x7f800000u) return x;
    float r;
    if (a < 0x38800000u) {
        r = rintf(fabsf(x) * 16777216.0f) / 16777216.0f;
    } else {
        a = (a + 0xfffu + ((a >> 13) & 1u)) & ~0x1fffu;
        if (a >= 0x47800000u) a = 0x7f800000u;
        memcpy(&r, &a, 4);
    }
    return (u >> 31) ? -r : r;
}
"#;

/// `wp.bfloat16(x)` read back as float32: the top 16 bits of x after adding 0x7fff plus the kept bit's parity
/// (round to nearest, ties to even), Warp's `wp_float_to_bfloat16_bits_sw` (warp/native/builtin.h, the CPU path
/// and GPUs before sm_80; sm_80 and later use `cvt.rn.bf16.f32`, the same rounding). Infinities and NaNs are
/// returned as they are (the generator's values are finite).
pub(super) const ROUND_BFLOAT16: &str = r#"// Warp's bfloat16 cast, read back as float32: round to nearest bfloat16, ties to even.
HD inline float round_bfloat16(float x) {
    unsigned int u;
    memcpy(&u, &x, 4);
    if ((u & 0x7f800000u) == 0x7f800000u) return x;
    u = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
    float r;
    memcpy(&r, &u, 4);
    return r;
}
"#;
