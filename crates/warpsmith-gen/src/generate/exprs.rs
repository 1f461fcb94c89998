//! Expression productions: arithmetic, math builtins (each argument fixed into its domain), integer and bit
//! operations, selects, vector and matrix operations, random draws.

use super::*;

impl Gen<'_> {
    pub(super) fn production(&mut self, ty: Type, depth: u32) -> Option<TExpr> {
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
                                    Some((
                                        Expr::call(Builtin::QuatTwistAngle, ty, vec![axis, q]),
                                        Interval::new(0.0, tau),
                                    ))
                                } else {
                                    Some((
                                        Expr::call(Builtin::QuatTwistAngleSigned, ty, vec![axis, q]),
                                        Interval::new(-tau, tau),
                                    ))
                                }
                            }
                            0 if self.rng.random_bool(0.3) => {
                                let (a, ia) = self.expr(Type::Vec(6), d);
                                let (b, ib) = self.expr(Type::Vec(6), d);
                                Some((Expr::call(Builtin::SpatialDot, ty, vec![a, b]), ia.mul(ib).scale(6.0)))
                            }
                            0 => Some((Expr::call(Builtin::Length, ty, vec![q]), Interval::new(0.0, 2.0 * iq.mag()))),
                            1 => {
                                let (b, ib) = self.expr(Type::Quat, d);
                                Some((Expr::call(Builtin::Dot, ty, vec![q, b]), iq.mul(ib).scale(4.0)))
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
                            Some((Expr::call(Builtin::Float, Type::F32, vec![e]), iv))
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
                            Some((Expr::call(Builtin::Int, Type::I32, vec![e]), iv))
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
                                Expr::call(Builtin::TransformToMatrix, ty, vec![t]),
                                r.hull(it).hull(Interval::new(0.0, 1.0)),
                            ))
                        } else {
                            let p = Expr::call(Builtin::TransformGetTranslation, Type::Vec(3), vec![t]);
                            let (q, iq) = self.expr(Type::Quat, d);
                            let (s, is) = self.expr(Type::Vec(3), d);
                            let r = Self::rotate_bound(iq, Interval::new(-1.0, 1.0)).mul(is);
                            Some((
                                Expr::call(Builtin::TransformCompose, ty, vec![p, q, s]),
                                r.hull(it).hull(Interval::new(0.0, 1.0)),
                            ))
                        }
                    }
                    3 if self.rng.random_bool(0.3) => {
                        // the inverse of a rotation matrix (determinant 1): its transpose, in [-1, 1]
                        let (q, _) = self.expr(Type::Quat, d);
                        let r = Expr::call(
                            Builtin::QuatToMatrix,
                            ty,
                            vec![Expr::call(Builtin::Normalize, Type::Quat, vec![q])],
                        );
                        let name = if self.rng.random_bool(0.4) { Builtin::InverseApprox } else { Builtin::Inverse };
                        Some((Expr::call(name, ty, vec![r]), Interval::new(-1.0, 1.0)))
                    }
                    3 => {
                        let (q, iq) = self.expr(Type::Quat, d);
                        Some((
                            Expr::call(Builtin::QuatToMatrix, ty, vec![q]),
                            Self::rotate_bound(iq, Interval::new(-1.0, 1.0)),
                        ))
                    }
                    0 => self.arith(ty, d),
                    1 => self.mat_op(n, d),
                    _ => self.select(ty, d),
                }
            }
            Type::Bool => Some(self.cond(depth)),
            Type::Tile(_)
            | Type::Tile2(..)
            | Type::U32
            | Type::Struct(_)
            | Type::Scene(_)
            | Type::Query(_)
            | Type::Stack(_) => None,
        }
    }

    /// The generator state as an argument (a draw advances it in place).
    pub(super) fn state_expr(&mut self) -> Expr {
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
    pub(super) fn rand_f32(&mut self) -> Option<TExpr> {
        let s = self.state_expr();
        let t = Type::F32;
        let floats: Vec<usize> = (0..self.inputs.len()).filter(|&i| self.inputs[i].ty == Type::F32).collect();
        if self.pol.ndim == 1 && !floats.is_empty() && self.rng.random_bool(0.1) {
            // an index drawn from a float input read as a CDF: lower_bound(cdf, randf(state))
            let i = *floats.choose(&mut self.rng)?;
            self.inputs[i].uses += 1;
            let r = Expr::call(Builtin::SampleCdf, Type::I32, vec![s, Expr::var(self.inputs[i].id, Type::F32)]);
            return Some((Expr::construct(t, vec![r]), Interval::new(0.0, f64::from(self.cfg.max_launch_dim - 1))));
        }
        // Perlin noise one draw in sixteen: a kernel with it has no standalone translation
        let pick = if self.rng.random_bool(1.0 / 16.0) { 6 } else { self.rng.random_range(0..6) };
        Some(match pick {
            6 => {
                // Perlin noise of a value the kernel has, seeded by the state (not advanced): `wp.noise(state,
                // x)` of a float or vector, or the periodic `wp.pnoise(state, x, px)`. N-D gradient noise with
                // unit gradients lies within +-sqrt(N)/2 (Perlin 2002), so within +-1 up to 4-D (Warp's
                // `native/noise.h`; measured extremes over 200,000 points: 0.49, 0.69, 0.65, 0.62 for 1-D to 4-D)
                let n = *[1u8, 1, 2, 3].choose(&mut self.rng)?;
                let (x, _) = if n == 1 { self.leaf(t) } else { self.leaf(Type::Vec(n)) };
                let e = if self.rng.random_bool(0.4) {
                    let periods = (0..n).map(|_| Expr::int(self.rng.random_range(2..9i64)));
                    Expr::call(
                        Builtin::Pnoise,
                        t,
                        std::iter::once(s).chain(std::iter::once(x)).chain(periods).collect(),
                    )
                } else {
                    Expr::call(Builtin::Noise, t, vec![s, x])
                };
                (e, Interval::new(-1.0, 1.0))
            }
            4 => {
                // an unsigned draw in [0, hi): wp.randu(state, wp.uint32(0), wp.uint32(hi))
                let hi = self.rng.random_range(2..50i64);
                let u = |v: i64| Expr::construct(Type::U32, vec![Expr::int(v)]);
                let r = Expr::call(Builtin::Randu, Type::U32, vec![s, u(0), u(hi)]);
                (Expr::construct(t, vec![r]), Interval::new(0.0, (hi - 1) as f64))
            }
            5 => {
                // a Poisson count with a literal rate below 10 (Warp's multiplication method); the count
                // exceeds 60 with probability below 1e-30 at rate 8
                let lam = f64::from(self.rng.random_range(1..17u32)) * 0.5;
                let r = Expr::call(Builtin::Poisson, Type::U32, vec![s, Expr::float(lam)]);
                (Expr::construct(t, vec![r]), Interval::new(0.0, 60.0))
            }
            0 => (Expr::call(Builtin::Randf, t, vec![s]), Interval::new(0.0, 1.0)),
            1 => {
                let lo = f64::from(self.rng.random_range(0..4u32)) * 0.5;
                let hi = lo + f64::from(self.rng.random_range(1..5u32)) * 0.5;
                let neg = lo > 0.0 && self.rng.random_bool(0.5);
                let (elo, ilo) =
                    if neg { (Expr::unary(UnOp::Neg, Expr::float(lo)), -lo) } else { (Expr::float(lo), lo) };
                (Expr::call(Builtin::Randf, t, vec![s, elo, Expr::float(hi)]), Interval::new(ilo, hi))
            }
            2 => (Expr::call(Builtin::Randn, t, vec![s]), Interval::new(-5.8, 5.8)),
            _ => {
                let hi = self.rng.random_range(2..20i64);
                let i = Expr::call(Builtin::Randi, Type::I32, vec![s, Expr::int(0), Expr::int(hi)]);
                (Expr::construct(t, vec![i]), Interval::new(0.0, (hi - 1) as f64))
            }
        })
    }

    /// A random point: `wp.sample_unit_square/disk/ring/triangle` (vec2) or
    /// `wp.sample_unit_cube/sphere/sphere_surface/hemisphere/hemisphere_surface` (vec3).
    pub(super) fn rand_vec(&mut self, n: u8) -> Option<TExpr> {
        let s = self.state_expr();
        let names: &[Builtin] = match n {
            2 => {
                &[Builtin::SampleUnitSquare, Builtin::SampleUnitDisk, Builtin::SampleUnitRing, Builtin::SampleTriangle]
            }
            3 => &[
                Builtin::SampleUnitCube,
                Builtin::SampleUnitSphere,
                Builtin::SampleUnitSphereSurface,
                Builtin::SampleUnitHemisphere,
                Builtin::SampleUnitHemisphereSurface,
            ],
            _ => return None,
        };
        if self.rng.random_bool(0.06) {
            // the curl of a Perlin noise field at a point the kernel has (`wp.curlnoise(state, p)`, one octave):
            // measured within +-2.0 (2-D) and +-3.7 (3-D, two octaves) over 200,000 points; bounded with a 2x margin
            let (p, _) = self.leaf(Type::Vec(n));
            return Some((Expr::call(Builtin::Curlnoise, Type::Vec(n), vec![s, p]), Interval::new(-8.0, 8.0)));
        }
        let name = *names.choose(&mut self.rng)?;
        Some((Expr::call(name, Type::Vec(n), vec![s]), Interval::new(-1.0, 1.0)))
    }

    /// A divisor whose range excludes zero: the expression itself, or `e * e + c` / `wp.abs(e) + c`.
    pub(super) fn divisor(&mut self, ty: Type, d: u32) -> TExpr {
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
            (Expr::call(Builtin::Abs, ty, vec![e]), iv.abs())
        };
        (Expr::binary(BinOp::Add, ty, base, Expr::float(c)), biv.add(Interval::point(c)))
    }

    pub(super) fn arith(&mut self, ty: Type, d: u32) -> Option<TExpr> {
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
                Some((Expr::binary(op, ty, a, Expr::call(Builtin::Static, ty, vec![c])), ia.scale(p as f64 / q as f64)))
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
                    return Some((Expr::call(Builtin::DivApprox, ty, vec![a, b]), ia.div(ib)?));
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
    pub(super) fn fix_domain(&mut self, dom: Dom, arg: TExpr) -> Option<TExpr> {
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
                        Expr::binary(
                            BinOp::Add,
                            Type::F32,
                            Expr::call(Builtin::Abs, Type::F32, vec![e]),
                            Expr::float(c),
                        ),
                        iv.abs().add(Interval::point(c)),
                    ))
                }
            }
            Dom::Mag(m) | Dom::Max(m) => {
                let lim = if m >= 1.0 { m.floor() } else { 0.9 };
                // tighter where no typical value reaches the domain's limit (the guard is then active somewhere)
                let b = self.guard_bound(&e, lim);
                let lim = if iv.lo <= b && iv.hi >= -b { b } else { lim };
                let lo = Expr::unary(UnOp::Neg, Expr::float(lim));
                let clamped = Interval::new(iv.lo.max(-lim), iv.hi.min(lim));
                Some((Expr::call(Builtin::Clamp, Type::F32, vec![e, lo, Expr::float(lim)]), clamped))
            }
        }
    }

    pub(super) fn math(&mut self, d: u32) -> Option<TExpr> {
        let kind = self.rng.random_range(0..12);
        if kind < 6 {
            let arg = self.expr(Type::F32, d);
            let fitting: Vec<usize> = (0..unary_float().len()).filter(|&i| fits(unary_float()[i].dom, arg.1)).collect();
            let i = if !fitting.is_empty() && self.rng.random_bool(0.5) {
                *fitting.choose(&mut self.rng)?
            } else {
                self.rng.random_range(0..unary_float().len())
            };
            let f = &unary_float()[i];
            let (e, iv) = self.fix_domain(f.dom, arg)?;
            let call = Expr::call(f.name, Type::F32, vec![e]);
            let call = if f.round_trip { Expr::call(Builtin::Float32, Type::F32, vec![call]) } else { call };
            return Some((call, (f.img)(iv)));
        }
        let t = Type::F32;
        match kind {
            11 if self.rng.random_bool(0.2) => {
                // the inverse complementary error function on (0, 2): erfcinv(1 - x) = erfinv(x)
                let arg = self.expr(t, d);
                let (a, _) = self.fix_domain(Dom::Mag(UNIT_MAX), arg)?;
                let x = Expr::binary(BinOp::Sub, t, Expr::float(1.0), a);
                Some((Expr::call(Builtin::Erfcinv, t, vec![x]), Interval::new(-1.39, 1.39)))
            }
            6 => {
                // operands that each win on some sample: else the loser is a constant no input exercises
                let (a, ia) = self.expr(t, d);
                let (b, ib) = self.operand_for(&a, t, d, |g, a, b| g.one_winner(a, b))?;
                if self.rng.random_bool(0.5) {
                    Some((Expr::call(Builtin::Min, t, vec![a, b]), ia.min(ib)))
                } else {
                    Some((Expr::call(Builtin::Max, t, vec![a, b]), ia.max(ib)))
                }
            }
            7 => {
                // atan2(y, x) with x away from zero; pow(base > 0, small exponent)
                if self.rng.random_bool(0.5) {
                    let (y, _) = self.expr(t, d);
                    let (x, _) = self.divisor(t, d);
                    Some((
                        Expr::call(Builtin::Atan2, t, vec![y, x]),
                        Interval::new(-std::f64::consts::PI, std::f64::consts::PI),
                    ))
                } else {
                    let base = self.expr(t, d);
                    let (b, ib) = self.fix_domain(Dom::Pos, base)?;
                    let p = [0.5, 1.5, 2.0, 3.0][self.rng.random_range(0..4)];
                    Some((Expr::call(Builtin::Pow, t, vec![b, Expr::float(p)]), ib.map_increasing(|x| x.powf(p))))
                }
            }
            8 => {
                let (x, ix) = self.expr(t, d);
                let xs = self.typical(&x);
                let lo = f64::from(self.rng.random_range(1..12u32)) * 0.25;
                let hi = lo + f64::from(self.rng.random_range(1..12u32)) * 0.25;
                let (ilo, ihi) = if self.rng.random_bool(0.5) { (-lo, hi - 2.0 * lo) } else { (lo, hi) };
                let clamp = self.rng.random_bool(0.6);
                // bounds the typical values cross: a clamp that changes some samples and keeps others, a
                // smoothstep ramp that holds some (else its bounds are constants no input exercises)
                let (ilo, ihi) = match xs.as_deref() {
                    Some(v) if clamp && !Self::clamp_splits(Some(v), ilo, ihi) => self.clamp_bounds(v)?,
                    Some(v) if !clamp && !v.iter().any(|&s| s > ilo && s < ihi) => self.clamp_bounds(v)?,
                    _ => (ilo, ihi),
                };
                let signed = |v: f64| if v >= 0.0 { Expr::float(v) } else { Expr::unary(UnOp::Neg, Expr::float(-v)) };
                let (elo, ehi) = (signed(ilo), signed(ihi));
                if clamp {
                    Some((
                        Expr::call(Builtin::Clamp, t, vec![x, elo, ehi]),
                        Interval::new(ix.lo.clamp(ilo, ihi), ix.hi.clamp(ilo, ihi)),
                    ))
                } else {
                    Some((Expr::call(Builtin::Smoothstep, t, vec![elo, ehi, x]), Interval::new(0.0, 1.0)))
                }
            }
            9 => {
                let (a, ia) = self.expr(t, d);
                let (b, ib) = self.expr(t, d);
                let tv = f64::from(self.rng.random_range(1..10u32)) / 10.0;
                Some((Expr::call(Builtin::Lerp, t, vec![a, b, Expr::float(tv)]), ia.hull(ib)))
            }
            10 => {
                // the magnitude of one value with the sign of another
                let (a, ia) = self.expr(t, d);
                let (b, _) = self.operand_for(&a, t, d, |g, _, b| g.one_sign(b))?;
                Some((Expr::call(Builtin::Copysign, t, vec![a, b]), Interval::new(-ia.mag(), ia.mag())))
            }
            _ => {
                // a product or sum computed in double precision, rounded once to float32
                let (a, ia) = self.expr(t, d);
                let (b, ib) = self.expr(t, d);
                let (a, b) = (Expr::call(Builtin::Float64, t, vec![a]), Expr::call(Builtin::Float64, t, vec![b]));
                let (op, iv) = match self.rng.random_range(0..3) {
                    0 => (BinOp::Mul, ia.mul(ib)),
                    1 => (BinOp::Add, ia.add(ib)),
                    _ => (BinOp::Sub, ia.sub(ib)),
                };
                Some((Expr::call(Builtin::Float32, t, vec![Expr::binary(op, t, a, b)]), iv))
            }
        }
    }

    pub(super) fn int_math(&mut self, d: u32) -> Option<TExpr> {
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
                Expr::call(Builtin::LowerBound, t, args),
                Interval::new(0.0, f64::from(self.cfg.max_launch_dim - 1)),
            ));
        }
        match k {
            0 => {
                let (b, ib) = self.operand_for(&a, t, d, |g, a, b| g.one_winner(a, b))?;
                Some((Expr::call(Builtin::Min, t, vec![a, b]), ia.min(ib)))
            }
            1 => {
                let (b, ib) = self.operand_for(&a, t, d, |g, a, b| g.one_winner(a, b))?;
                Some((Expr::call(Builtin::Max, t, vec![a, b]), ia.max(ib)))
            }
            2 => Some((Expr::call(Builtin::Abs, t, vec![a]), ia.abs())),
            _ => {
                let lo = -self.rng.random_range(0..5i64);
                let hi = self.rng.random_range(1..20i64);
                let xs = self.typical(&a);
                if !Self::clamp_splits(xs.as_deref(), lo as f64, hi as f64) {
                    return None;
                }
                let elo = if lo < 0 { Expr::unary(UnOp::Neg, Expr::int(-lo)) } else { Expr::int(0) };
                let iv = Interval::new(ia.lo.clamp(lo as f64, hi as f64), ia.hi.clamp(lo as f64, hi as f64));
                Some((Expr::call(Builtin::Clamp, t, vec![a, elo, Expr::int(hi)]), iv))
            }
        }
    }

    /// Integer bit operations, floor division and width casts, each within its defined range: masks and
    /// shifts only of non-negative values (a left shift of a negative value is undefined in C++17, which
    /// Warp compiles), shift counts 1-4, `//` by a positive literal, `wp.int32(wp.int8(k))`-style round
    /// trips through the narrower and wider integer types.
    pub(super) fn int_bits(&mut self, k: u32, (a, ia): TExpr, d: u32) -> Option<TExpr> {
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
                    (Builtin::Int8, -128.0, 127.0),
                    (Builtin::Uint8, 0.0, 255.0),
                    (Builtin::Int16, -32768.0, 32767.0),
                    (Builtin::Uint16, 0.0, 65535.0),
                    (Builtin::Int64, f64::MIN, f64::MAX),
                    (Builtin::Uint32, f64::MIN, f64::MAX),
                    (Builtin::Uint64, f64::MIN, f64::MAX),
                ][self.rng.random_range(0..7)];
                let fits = ia.lo >= lo && ia.hi <= hi;
                let iv = if fits { ia } else { Interval::new(lo, hi) };
                let inner = Expr::call(name, t, vec![a]);
                Some((Expr::call(Builtin::Int32, t, vec![inner]), iv))
            }
            11 if self.rng.random_bool(0.3) => {
                Some((Expr::call(Builtin::Nonzero, t, vec![a]), Interval::new(0.0, 1.0)))
            }
            _ => {
                let iv = if ia.lo >= 0.0 {
                    Interval::new(0.0, ia.hi.max(1.0).log2().floor() + 1.0)
                } else {
                    Interval::new(0.0, 32.0)
                };
                Some((Expr::call(Builtin::BitCount, t, vec![a]), iv))
            }
        }
    }

    pub(super) fn select(&mut self, ty: Type, d: u32) -> Option<TExpr> {
        let c = self.cond(d.max(1));
        let (a, ia) = self.expr(ty, d);
        let (b, ib) = self.expr(ty, d);
        Some((Expr::call(Builtin::Where, ty, vec![c.0, a, b]), ia.hull(ib)))
    }

    pub(super) fn vec_to_scalar(&mut self, d: u32) -> Option<TExpr> {
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
                Some((Expr::call(Builtin::Dot, t, vec![a, b]), ia.mul(ib).scale(nf)))
            }
            1 => {
                let (a, ia) = self.expr(vt, d);
                Some((Expr::call(Builtin::Length, t, vec![a]), Interval::new(0.0, ia.mag() * nf.sqrt())))
            }
            2 => {
                let (a, ia) = self.expr(vt, d);
                Some((Expr::call(Builtin::LengthSq, t, vec![a]), Interval::new(0.0, ia.mag() * ia.mag() * nf)))
            }
            _ => {
                let (a, ia) = self.expr(vt, d);
                let k = self.rng.random_range(0..n);
                Some((Expr { ty: t, kind: ExprKind::Component(Box::new(a), k, None) }, ia))
            }
        }
    }

    pub(super) fn mat_to_scalar(&mut self, d: u32) -> Option<TExpr> {
        let n = self.rng.random_range(2..=4u8);
        let mt = Type::Mat(n);
        let nf = f64::from(n);
        let t = Type::F32;
        let (a, ia) = self.expr(mt, d);
        match self.rng.random_range(0..4) {
            0 => {
                let fact: f64 = (1..=n).map(f64::from).product();
                let m = ia.mag().powi(i32::from(n)) * fact;
                Some((Expr::call(Builtin::Determinant, t, vec![a]), Interval::new(-m, m)))
            }
            1 => Some((Expr::call(Builtin::Trace, t, vec![a]), ia.scale(nf))),
            2 => {
                let (b, ib) = self.expr(mt, d);
                Some((Expr::call(Builtin::Ddot, t, vec![a, b]), ia.mul(ib).scale(nf * nf)))
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
    pub(super) fn vec_norm(&mut self, n: u8, k: u32, d: u32) -> Option<TExpr> {
        let (t, vt, nf) = (Type::F32, Type::Vec(n), f64::from(n));
        let (a, ia) = self.expr(vt, d);
        let m = ia.mag();
        let delta = [0.5, 1.0, 2.0][self.rng.random_range(0..3)];
        match k {
            4 => Some((Expr::call(Builtin::NormL1, t, vec![a]), Interval::new(0.0, nf * m))),
            5 => Some((Expr::call(Builtin::NormL2, t, vec![a]), Interval::new(0.0, nf.sqrt() * m))),
            6 if self.rng.random_bool(0.5) => {
                let hi = (0.5 * nf * m * m).max(delta * nf.sqrt() * m);
                Some((Expr::call(Builtin::NormHuber, t, vec![a, Expr::float(delta)]), Interval::new(0.0, hi)))
            }
            6 => {
                let hi = delta * (1.0 + nf * m * m / (delta * delta)).sqrt();
                Some((Expr::call(Builtin::NormPseudoHuber, t, vec![a, Expr::float(delta)]), Interval::new(delta, hi)))
            }
            _ => {
                let name = if self.rng.random_bool(0.5) { Builtin::Argmin } else { Builtin::Argmax };
                let index = Expr::call(name, Type::I32, vec![a]);
                Some((Expr::call(Builtin::Float32, t, vec![index]), Interval::new(0.0, nf - 1.0)))
            }
        }
    }

    pub(super) fn vec_op(&mut self, n: u8, d: u32) -> Option<TExpr> {
        let ty = Type::Vec(n);
        let (a, ia) = self.expr(ty, d);
        match self.rng.random_range(0..10) {
            6 => {
                let delta = [0.5, 1.0, 2.0][self.rng.random_range(0..3)];
                Some((Expr::call(Builtin::SmoothNormalize, ty, vec![a, Expr::float(delta)]), Interval::new(-1.0, 1.0)))
            }
            7 if n <= 4 => {
                // a component-wise quotient by a divisor kept away from zero: b * b + c
                let (b, ib) = self.expr(ty, d);
                if b.has_draw() {
                    return None;
                }
                let c = [0.5, 1.0, 2.0][self.rng.random_range(0..3)];
                let sq = Expr::call(Builtin::CwMul, ty, vec![b.clone(), b]);
                let div = Expr::binary(BinOp::Add, ty, sq, Expr::construct(ty, vec![Expr::float(c)]));
                let idiv = Interval::new(c, ib.mag() * ib.mag() + c);
                Some((Expr::call(Builtin::CwDiv, ty, vec![a, div]), ia.div(idiv)?))
            }
            8 if n <= 4 => {
                let (m, im) = self.expr(Type::Mat(n), d);
                Some((Expr::call(Builtin::GetDiag, ty, vec![m]), im))
            }
            0 => Some((Expr::call(Builtin::Normalize, ty, vec![a]), Interval::new(-1.0, 1.0))),
            1 if n == 3 => {
                let (b, ib) = self.expr(ty, d);
                Some((Expr::call(Builtin::Cross, ty, vec![a, b]), ia.mul(ib).scale(2.0)))
            }
            1 | 2 => {
                let (b, ib) = self.expr(ty, d);
                Some((Expr::call(Builtin::CwMul, ty, vec![a, b]), ia.mul(ib)))
            }
            3 => {
                let (b, ib) = self.expr(ty, d);
                if self.rng.random_bool(0.5) {
                    Some((Expr::call(Builtin::Min, ty, vec![a, b]), ia.min(ib)))
                } else {
                    Some((Expr::call(Builtin::Max, ty, vec![a, b]), ia.max(ib)))
                }
            }
            4 => {
                let (b, ib) = self.expr(ty, d);
                let tv = f64::from(self.rng.random_range(1..10u32)) / 10.0;
                Some((Expr::call(Builtin::Lerp, ty, vec![a, b, Expr::float(tv)]), ia.hull(ib)))
            }
            _ => Some((Expr::unary(UnOp::Neg, a), ia.neg())),
        }
    }

    pub(super) fn mat_op(&mut self, n: u8, d: u32) -> Option<TExpr> {
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
                Some((Expr::call(Builtin::Matrix, ty, args), iv.unwrap_or(Interval::point(0.0))))
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
                let name = if self.rng.random_bool(0.5) { Builtin::MatrixFromCols } else { Builtin::MatrixFromRows };
                Some((Expr::call(name, ty, args), iv.unwrap_or(Interval::point(0.0))))
            }
            0 => {
                let (a, ia) = self.expr(ty, d);
                let (b, ib) = self.expr(ty, d);
                Some((Expr::binary(BinOp::MatMul, ty, a, b), ia.mul(ib).scale(nf)))
            }
            1 => {
                let (a, ia) = self.expr(ty, d);
                Some((Expr::call(Builtin::Transpose, ty, vec![a]), ia))
            }
            2 => {
                let (a, ia) = self.expr(Type::Vec(n), d);
                let (b, ib) = self.expr(Type::Vec(n), d);
                Some((Expr::call(Builtin::Outer, ty, vec![a, b]), ia.mul(ib)))
            }
            3 if n == 3 => {
                let (a, ia) = self.expr(Type::Vec(3), d);
                Some((Expr::call(Builtin::Skew, ty, vec![a]), ia.abs().hull(ia.neg())))
            }
            _ => {
                let (a, ia) = self.expr(Type::Vec(n), d);
                Some((Expr::call(Builtin::Diag, ty, vec![a]), ia.with_zero()))
            }
        }
    }
}
