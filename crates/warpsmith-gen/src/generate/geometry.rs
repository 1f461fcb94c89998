//! Rotations, quaternions, transforms and spatial vectors: the productions of geometric values, each
//! with the component bounds its formula gives.

use super::*;

impl Gen<'_> {
    /// Bound on `|quat_rotate(q, v)|` per component for component bounds `mq`, `mv`: from Warp's formula
    /// `v (2 w^2 - 1) + 2 q.xyz (q.xyz . v) + 2 w (q.xyz x v)`, at most `mv (1 + 2 mq^2) + 6 mq^2 mv + 4 mq^2 mv`.
    pub(super) fn rotate_bound(q: Interval, v: Interval) -> Interval {
        let (mq, mv) = (q.mag(), v.mag());
        let m = mv * (1.0 + 12.0 * mq * mq);
        Interval::new(-m, m)
    }

    /// A rotation matrix: `wp.quat_to_matrix(wp.normalize(q))`, entries in [-1, 1].
    pub(super) fn rotation_matrix(&mut self, d: u32) -> Expr {
        let (q, _) = self.expr(Type::Quat, d);
        Expr::call(Builtin::QuatToMatrix, Type::Mat(3), vec![Expr::call(Builtin::Normalize, Type::Quat, vec![q])])
    }

    /// A unit axis: `wp.normalize(v)` of a vec3 expression, or a coordinate axis literal.
    pub(super) fn unit_axis(&mut self, d: u32) -> Expr {
        if self.rng.random_bool(0.4) {
            let k = self.rng.random_range(0..3);
            let comps = (0..3).map(|i| Expr::float(if i == k { 1.0 } else { 0.0 })).collect();
            return Expr::construct(Type::Vec(3), comps);
        }
        let (v, _) = self.expr(Type::Vec(3), d);
        Expr::call(Builtin::Normalize, Type::Vec(3), vec![v])
    }

    /// An Euler axis sequence `i, j, k`: Tait-Bryan (three distinct axes) or proper Euler (`i == k`).
    pub(super) fn euler_axes(&mut self) -> [i64; 3] {
        let i = self.rng.random_range(0..3i64);
        let j = (i + self.rng.random_range(1..3i64)) % 3;
        let k = if self.rng.random_bool(0.3) { i } else { 3 - i - j };
        [i, j, k]
    }

    /// A vec3 produced by quaternion or transform math: `quat_rotate`, `quat_rotate_inv`, `transform_point`,
    /// `transform_vector`, `transform_get_translation`.
    pub(super) fn rot_vec(&mut self, d: u32) -> Option<TExpr> {
        let v3 = Type::Vec(3);
        match self.rng.random_range(0..9) {
            8 => {
                // Euler angles of a unit quaternion for an axis sequence (warp/_src/math.py): in [-2 pi, 2 pi]
                let (q, _) = self.expr(Type::Quat, d);
                let mut args = vec![Expr::call(Builtin::Normalize, Type::Quat, vec![q])];
                args.extend(self.euler_axes().into_iter().map(Expr::int));
                let tau = 2.0 * std::f64::consts::PI;
                Some((Expr::call(Builtin::QuatToEuler, v3, args), Interval::new(-tau, tau)))
            }
            7 => {
                // roll, pitch, yaw of a quaternion (warp/_src/math.py): atan2, clamped asin, atan2
                let (q, _) = self.expr(Type::Quat, d);
                let pi = std::f64::consts::PI;
                Some((Expr::call(Builtin::QuatToRpy, v3, vec![q]), Interval::new(-pi, pi)))
            }
            5 => {
                let (x, ix) = self.expr(Type::Vec(6), d);
                let name = if self.rng.random_bool(0.5) { Builtin::SpatialTop } else { Builtin::SpatialBottom };
                Some((Expr::call(name, v3, vec![x]), ix))
            }
            6 => {
                // v + w x r of a twist (w, v) at offset r
                let (x, ix) = self.expr(Type::Vec(6), d);
                let (r, ir) = self.expr(v3, d);
                Some((Expr::call(Builtin::VelocityAtPoint, v3, vec![x, r]), ix.add(ix.mul(ir).scale(2.0))))
            }
            k @ (0 | 1) => {
                let (q, iq) = self.expr(Type::Quat, d);
                let (v, iv) = self.expr(v3, d);
                let name = if k == 0 { Builtin::QuatRotate } else { Builtin::QuatRotateInv };
                Some((Expr::call(name, v3, vec![q, v]), Self::rotate_bound(iq, iv)))
            }
            k @ (2 | 3) => {
                let (t, it) = self.expr(Type::Transform, d);
                let (v, iv) = self.expr(v3, d);
                let r = Self::rotate_bound(it, iv);
                if k == 2 {
                    Some((Expr::call(Builtin::TransformPoint, v3, vec![t, v]), r.add(it)))
                } else {
                    Some((Expr::call(Builtin::TransformVector, v3, vec![t, v]), r))
                }
            }
            _ => {
                let (t, it) = self.expr(Type::Transform, d);
                Some((Expr::call(Builtin::TransformGetTranslation, v3, vec![t]), it))
            }
        }
    }

    /// A spatial vector (`wp.spatial_vector`, angular then linear): built from two vec3s, a motion or force
    /// cross product, or a twist or wrench moved by a transform (`warp/_src/math.py`, `spatial.h`).
    pub(super) fn spatial_op(&mut self, d: u32) -> Option<TExpr> {
        let s = Type::Vec(6);
        match self.rng.random_range(0..5) {
            4 => {
                // a twist moved by the spatial adjoint [R 0; S R] of a rotation R and S = skew(p) R (spatial.h)
                let (x, ix) = self.expr(s, d);
                let (p, ip) = self.expr(Type::Vec(3), d);
                let r = self.rotation_matrix(d);
                let sk = Expr::binary(
                    BinOp::MatMul,
                    Type::Mat(3),
                    Expr::call(Builtin::Skew, Type::Mat(3), vec![p]),
                    r.clone(),
                );
                let adj = Expr::call(Builtin::SpatialAdjoint, Type::Mat(6), vec![r, sk]);
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
                let name = if self.rng.random_bool(0.5) { Builtin::SpatialCross } else { Builtin::SpatialCrossDual };
                // each component sums two cross products: at most 4 |a| |b|
                Some((Expr::call(name, s, vec![a, b]), ia.mul(ib).scale(4.0)))
            }
            _ => {
                let (t, it) = self.expr(Type::Transform, d);
                let (x, ix) = self.expr(s, d);
                let name = if self.rng.random_bool(0.5) { Builtin::TransformTwist } else { Builtin::TransformWrench };
                let r = Self::rotate_bound(it, ix);
                Some((Expr::call(name, s, vec![t, x]), r.add(it.mul(r).scale(2.0))))
            }
        }
    }

    /// A quaternion: a product, inverse, normalization, axis-angle or roll-pitch-yaw construction, a
    /// transform's rotation, or a sum/difference/scaling.
    pub(super) fn quat_op(&mut self, d: u32) -> Option<TExpr> {
        let q = Type::Quat;
        match self.rng.random_range(0..11) {
            8 => {
                // the quaternion of a rotation matrix, or of a product of two (quat.h: Shepperd's method)
                let mut m = self.rotation_matrix(d);
                if self.rng.random_bool(0.4) {
                    let m2 = self.rotation_matrix(d);
                    m = Expr::binary(BinOp::MatMul, Type::Mat(3), m, m2);
                }
                Some((Expr::call(Builtin::QuatFromMatrix, q, vec![m]), Interval::new(-1.0, 1.0)))
            }
            9 => {
                let (e, _) = self.expr(Type::Vec(3), d);
                let mut args = vec![e];
                args.extend(self.euler_axes().into_iter().map(Expr::int));
                Some((Expr::call(Builtin::QuatFromEuler, q, args), Interval::new(-1.0, 1.0)))
            }
            10 => {
                let axis = self.unit_axis(d);
                let (a, _) = self.expr(q, d);
                Some((Expr::call(Builtin::QuatTwist, q, vec![axis, a]), Interval::new(-1.0, 1.0)))
            }
            0 | 1 => {
                let (a, ia) = self.expr(q, d);
                let (b, ib) = self.expr(q, d);
                Some((Expr::binary(BinOp::Mul, q, a, b), ia.mul(ib).scale(4.0)))
            }
            2 => {
                let (a, ia) = self.expr(q, d);
                Some((Expr::call(Builtin::QuatInverse, q, vec![a]), ia.hull(ia.neg())))
            }
            3 => {
                let (a, _) = self.expr(q, d);
                Some((Expr::call(Builtin::Normalize, q, vec![a]), Interval::new(-1.0, 1.0)))
            }
            4 => {
                let (axis, _) = self.expr(Type::Vec(3), d);
                let (angle, _) = self.expr(Type::F32, d);
                let axis = Expr::call(Builtin::Normalize, Type::Vec(3), vec![axis]);
                Some((Expr::call(Builtin::QuatFromAxisAngle, q, vec![axis, angle]), Interval::new(-1.0, 1.0)))
            }
            5 => {
                let args: Vec<Expr> = (0..3).map(|_| self.expr(Type::F32, d).0).collect();
                Some((Expr::call(Builtin::QuatRpy, q, args), Interval::new(-2.0, 2.0)))
            }
            6 if self.rng.random_bool(0.4) => {
                // spherical interpolation: q0 times the axis-angle of q0^-1 q1 scaled by t (quat.h)
                let (a, ia) = self.expr(q, d);
                let (b, _) = self.expr(q, d);
                let t = f64::from(self.rng.random_range(1..10u32)) / 10.0;
                Some((
                    Expr::call(Builtin::QuatSlerp, q, vec![a, b, Expr::float(t)]),
                    ia.scale(4.0).hull(ia.neg().scale(4.0)),
                ))
            }
            6 => {
                let (t, it) = self.expr(Type::Transform, d);
                Some((Expr::call(Builtin::TransformGetRotation, q, vec![t]), it))
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
    pub(super) fn transform_op(&mut self, d: u32) -> Option<TExpr> {
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
                Some((Expr::call(Builtin::TransformFromMatrix, t, vec![m]), iv))
            }
            5 => {
                // the identity composed with a transform (a typical accumulator start)
                let (a, ia) = self.expr(t, d);
                let id = Expr::call(Builtin::TransformIdentity, t, vec![]);
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
                    Some((Expr::call(Builtin::TransformMultiply, t, vec![a, b]), iv))
                } else {
                    Some((Expr::binary(BinOp::Mul, t, a, b), iv))
                }
            }
            _ => {
                let (a, ia) = self.expr(t, d);
                Some((Expr::call(Builtin::TransformInverse, t, vec![a]), Self::rotate_bound(ia, ia)))
            }
        }
    }

    /// The 4x4 matrix of a rigid transform, `wp.transform_to_matrix(wp.transform(p, wp.normalize(q)))`, and
    /// the range of its entries (rotation block in [-1, 1], translation column `p`).
    pub(super) fn rigid_matrix(&mut self, d: u32) -> TExpr {
        let (p, ip) = self.expr(Type::Vec(3), d);
        let (q, _) = self.expr(Type::Quat, d);
        let q = Expr::call(Builtin::Normalize, Type::Quat, vec![q]);
        let t = Expr::construct(Type::Transform, vec![p, q]);
        (Expr::call(Builtin::TransformToMatrix, Type::Mat(4), vec![t]), ip.hull(Interval::new(-1.0, 1.0)))
    }
}
