//! Builtin calls: each Warp builtin mapped to a C++ expression, an operator or one of the helper functions
//! (`callee`), with Warp's semantics where C's differ.

use super::*;

impl Emitter<'_> {
    pub(super) fn call(&mut self, name: Builtin, ty: Type, args: &[Expr]) -> Result<(String, u8), EmitError> {
        let unsupported = || {
            EmitError::Unsupported(format!(
                "wp.{name}({})",
                args.iter().map(|a| a.ty.short_name()).collect::<Vec<_>>().join(", ")
            ))
        };
        match spelling(name) {
            Spelling::Unsupported(why) => return Err(EmitError::Unsupported(format!("wp.{name}: {why}"))),
            Spelling::OutOfScope(why) => return Err(EmitError::OutOfScope(why)),
            Spelling::Call | Spelling::Tile | Spelling::Statement | Spelling::Unpack | Spelling::Syntax => {}
        }
        if name == Builtin::Len {
            // len(a) of an array parameter: its leading dimension
            let [Expr { kind: ExprKind::Var(a), .. }] = args else { return Err(unsupported()) };
            let p = self.k.params.iter().find(|p| p.var == *a).ok_or_else(unsupported)?;
            let ParamKind::Array { len, .. } = p.kind else { return Err(unsupported()) };
            let n = match len {
                ArrayLen::Launch if self.k.ndim() > 1 => "dim0".to_string(),
                other => self.array_len(other),
            };
            return Ok((paren((n, c_prec(BinOp::Mul)), P_ATOM), P_ATOM));
        }
        if name == Builtin::Identity {
            // wp.identity(n=N, dtype=wp.float32): keyword arguments only
            let Type::Mat(n) = ty else { return Err(unsupported()) };
            self.need(Helper::Identity(n));
            return Ok((format!("identity_mat{n}{n}()"), P_ATOM));
        }
        if name == Builtin::Matrix {
            // wp.matrix(a, b, ..., shape=(n, n)): the scalars row by row
            let Type::Mat(n) = ty else { return Err(unsupported()) };
            let xs: Vec<Expr> = args.iter().filter(|a| !matches!(a.kind, ExprKind::Kw(..))).cloned().collect();
            if xs.len() != usize::from(n) * usize::from(n) {
                return Err(unsupported());
            }
            self.need_type(ty);
            return Ok((format!("make_mat{n}{n}({})", self.args(&xs)?), P_ATOM));
        }
        if name == Builtin::SampleCdf {
            // the CDF's length is the array's, which C++ passes separately
            let [state, cdf] = args else { return Err(unsupported()) };
            let ExprKind::Var(arr) = cdf.kind else { return Err(unsupported()) };
            self.need(Helper::SampleCdf);
            let n = self.expr(&Expr { ty: Type::I32, kind: ExprKind::Len(arr, 0) })?.0;
            let st = self.expr(state)?.0;
            return Ok((format!("sample_cdf({st}, {}, {n})", self.name(arr)), P_ATOM));
        }
        if name == Builtin::Static {
            // wp.static(p / q): Python evaluates it in double precision; Warp emits the float32 constant
            let [c] = args else { return Err(unsupported()) };
            let v = const_value(c).ok_or_else(unsupported)?;
            return Ok((float_lit(v), P_ATOM));
        }
        if name == Builtin::Where {
            let [c, a, b] = args else { return Err(unsupported()) };
            // Warp evaluates both branches; C's ?: evaluates one, which would skip a random draw
            if a.has_draw() || b.has_draw() {
                self.need(Helper::WhereEager);
                let (c, a, b) = (self.expr(c)?.0, self.expr(a)?.0, self.expr(b)?.0);
                return Ok((format!("where_eager({c}, {a}, {b})"), P_ATOM));
            }
            let (c, a, b) = (self.expr(c)?, self.expr(a)?, self.expr(b)?);
            return Ok((format!("{} ? {} : {}", paren(c, P_TERNARY + 1), a.0, paren(b, P_TERNARY)), P_TERNARY));
        }
        self.need_type(ty);
        let types: Vec<Type> = args.iter().map(|a| a.ty).collect();
        let f = self.callee(name, &types)?;
        let a = self.args(args)?;
        Ok((format!("{f}({a})"), P_ATOM))
    }

    /// The C++ function that computes builtin `name` on arguments of `types`, after requesting its helpers.
    ///
    /// Errors: [`EmitError::Unsupported`] for a builtin or overload without a translation.
    pub(super) fn callee(&mut self, name: Builtin, types: &[Type]) -> Result<String, EmitError> {
        let first = types.first().copied();
        let unsupported = || {
            EmitError::Unsupported(format!(
                "wp.{name}({})",
                types.iter().map(|t| t.short_name()).collect::<Vec<_>>().join(", ")
            ))
        };
        if let Some(&(_, _, h)) = SAME_NAME.iter().find(|(n, t, _)| *n == name && first == Some(*t)) {
            self.need(h);
            return Ok(name.name().into());
        }
        Ok(match (name, first) {
            // float math with a C spelling of the same semantics
            (
                Builtin::Sin
                | Builtin::Cos
                | Builtin::Tan
                | Builtin::Sinh
                | Builtin::Cosh
                | Builtin::Tanh
                | Builtin::Asin
                | Builtin::Acos
                | Builtin::Atan
                | Builtin::Exp
                | Builtin::Log
                | Builtin::Log2
                | Builtin::Log10
                | Builtin::Sqrt
                | Builtin::Cbrt
                | Builtin::Erf
                | Builtin::Erfc
                | Builtin::Floor
                | Builtin::Ceil
                | Builtin::Round
                | Builtin::Rint
                | Builtin::Trunc
                | Builtin::Atan2
                | Builtin::Pow
                | Builtin::Copysign,
                Some(Type::F32),
            ) => format!("{name}f"),
            (Builtin::Abs, Some(Type::F32)) => "fabsf".into(),
            (Builtin::Isfinite | Builtin::Isnan | Builtin::Isinf, Some(Type::F32)) => name.name().into(),
            (Builtin::Float, Some(_)) => "(float)".into(),
            (Builtin::Int, Some(_)) => "(int)".into(),
            // conversions, spelled as C casts: a round trip through another width, or double arithmetic
            (Builtin::Float32, Some(_)) => "(float)".into(),
            (Builtin::Float64, Some(Type::F32)) => "(double)".into(),
            (Builtin::Bfloat16, Some(Type::F32)) => {
                self.need(Helper::RoundBfloat16);
                "round_bfloat16".into()
            }
            (Builtin::Float16, Some(Type::F32)) => {
                self.need(Helper::RoundHalf);
                "round_half".into()
            }
            (Builtin::Int32, Some(_)) => "(int)".into(),
            (Builtin::Int8, Some(Type::I32)) => "(signed char)".into(),
            (Builtin::Uint8, Some(Type::I32)) => "(unsigned char)".into(),
            (Builtin::Int16, Some(Type::I32)) => "(short)".into(),
            (Builtin::Uint16, Some(Type::I32)) => "(unsigned short)".into(),
            (Builtin::Int64, Some(Type::I32)) => "(long long)".into(),
            (Builtin::Uint32, Some(Type::I32)) => "(unsigned int)".into(),
            (Builtin::Uint64, Some(Type::I32)) => "(unsigned long long)".into(),
            (Builtin::Abs, Some(Type::I32)) => "abs".into(),
            (Builtin::Abs, Some(Type::Vec(n))) => {
                self.need(Helper::VecAbs(n));
                "abs".into()
            }
            (Builtin::Min, Some(Type::F32)) => "fminf".into(),
            (Builtin::Max, Some(Type::F32)) => "fmaxf".into(),
            (Builtin::Min, Some(Type::I32)) => {
                self.need(Helper::MinI);
                "mini".into()
            }
            (Builtin::Max, Some(Type::I32)) => {
                self.need(Helper::MaxI);
                "maxi".into()
            }
            (Builtin::Min, Some(Type::Vec(n))) => {
                self.need(Helper::CwMin(n));
                "cw_min".into()
            }
            (Builtin::Max, Some(Type::Vec(n))) => {
                self.need(Helper::CwMax(n));
                "cw_max".into()
            }
            (Builtin::Clamp, Some(Type::F32)) => {
                self.need(Helper::ClampF);
                "clampf".into()
            }
            (Builtin::Clamp, Some(Type::I32)) => {
                self.need(Helper::ClampI);
                "clampi".into()
            }
            (Builtin::Smoothstep, Some(Type::F32)) => {
                self.need(Helper::ClampF);
                self.need(Helper::Smoothstep);
                "smoothstep".into()
            }
            (Builtin::Lerp, Some(Type::Vec(n))) => {
                self.need(Helper::LerpV(n));
                "lerp".into()
            }
            (
                Builtin::Dot
                | Builtin::Length
                | Builtin::LengthSq
                | Builtin::Normalize
                | Builtin::CwMul
                | Builtin::Outer
                | Builtin::Diag
                | Builtin::Cross,
                Some(Type::Vec(n)),
            ) => {
                self.need(match name {
                    Builtin::Dot => Helper::Dot(n),
                    Builtin::Length => Helper::Length(n),
                    Builtin::LengthSq => Helper::LengthSq(n),
                    Builtin::Normalize => Helper::Normalize(n),
                    Builtin::CwMul => Helper::CwMul(n),
                    Builtin::Outer => Helper::Outer(n),
                    Builtin::Cross if n == 3 => Helper::Cross,
                    Builtin::Diag => Helper::Diag(n),
                    _ => return Err(unsupported()),
                });
                name.name().into()
            }
            (Builtin::Dot | Builtin::Length | Builtin::Normalize, Some(Type::Quat)) => {
                self.need(match name {
                    Builtin::Dot => Helper::QuatDot,
                    Builtin::Length => Helper::QuatLength,
                    _ => Helper::QuatNormalize,
                });
                name.name().into()
            }
            (Builtin::QuatRotate | Builtin::QuatRotateInv | Builtin::QuatToMatrix, Some(Type::Quat)) => {
                self.need(match name {
                    Builtin::QuatRotate => Helper::QuatRotate,
                    Builtin::QuatRotateInv => Helper::QuatRotateInv,
                    _ => Helper::QuatToMatrix,
                });
                name.name().into()
            }
            (Builtin::QuatIdentity, None) => {
                self.need(Helper::QuatIdentity);
                name.name().into()
            }
            (
                Builtin::TransformMultiply
                | Builtin::TransformInverse
                | Builtin::TransformPoint
                | Builtin::TransformVector
                | Builtin::TransformGetTranslation
                | Builtin::TransformGetRotation,
                Some(Type::Transform),
            ) => {
                self.need(match name {
                    Builtin::TransformMultiply => Helper::TransformMultiply,
                    Builtin::TransformInverse => Helper::TransformInverse,
                    Builtin::TransformPoint => Helper::TransformPoint,
                    Builtin::TransformVector => Helper::TransformVector,
                    _ => Helper::TransformGet,
                });
                name.name().into()
            }
            (
                Builtin::NormL1
                | Builtin::NormL2
                | Builtin::NormHuber
                | Builtin::NormPseudoHuber
                | Builtin::SmoothNormalize
                | Builtin::Argmin
                | Builtin::Argmax
                | Builtin::CwDiv,
                Some(Type::Vec(n)),
            ) => {
                self.need(match name {
                    Builtin::NormL1 => Helper::NormL1(n),
                    Builtin::NormL2 => Helper::Length(n),
                    Builtin::NormHuber => Helper::NormHuber(n),
                    Builtin::NormPseudoHuber => Helper::NormPseudoHuber(n),
                    Builtin::SmoothNormalize => Helper::SmoothNormalize(n),
                    Builtin::Argmin => Helper::ArgMin(n),
                    Builtin::Argmax => Helper::ArgMax(n),
                    _ => Helper::CwDiv(n),
                });
                if name == Builtin::NormL2 { "length".into() } else { name.name().into() }
            }
            (Builtin::GetDiag, Some(Type::Mat(n))) => {
                self.need(Helper::GetDiag(n));
                name.name().into()
            }
            (Builtin::MatrixFromCols | Builtin::MatrixFromRows, Some(Type::Vec(n))) => {
                self.need(if name == Builtin::MatrixFromCols {
                    Helper::MatFromCols(n)
                } else {
                    Helper::MatFromRows(n)
                });
                name.name().into()
            }
            (Builtin::RandInit, Some(Type::I32))
            | (Builtin::Randf | Builtin::Randn | Builtin::Randi, Some(Type::U32)) => {
                self.need(Helper::Rand);
                name.name().into()
            }
            (
                s @ (Builtin::SampleUnitSquare
                | Builtin::SampleUnitDisk
                | Builtin::SampleUnitRing
                | Builtin::SampleTriangle
                | Builtin::SampleUnitCube
                | Builtin::SampleUnitSphere
                | Builtin::SampleUnitSphereSurface
                | Builtin::SampleUnitHemisphere
                | Builtin::SampleUnitHemisphereSurface),
                Some(Type::U32),
            ) => {
                let two = matches!(
                    s,
                    Builtin::SampleUnitSquare
                        | Builtin::SampleUnitDisk
                        | Builtin::SampleUnitRing
                        | Builtin::SampleTriangle
                );
                self.need(if two { Helper::Samples2 } else { Helper::Samples3 });
                name.name().into()
            }
            (
                Builtin::SpatialTop
                | Builtin::SpatialBottom
                | Builtin::SpatialDot
                | Builtin::SpatialCross
                | Builtin::SpatialCrossDual
                | Builtin::VelocityAtPoint,
                Some(Type::Vec(6)),
            )
            | (Builtin::TransformTwist | Builtin::TransformWrench, Some(Type::Transform)) => {
                self.need(Helper::Spatial);
                if matches!(name, Builtin::TransformTwist | Builtin::TransformWrench) {
                    self.need(Helper::SpatialTransform);
                }
                name.name().into()
            }
            (Builtin::QuatFromMatrix, Some(Type::Mat(n))) => {
                self.need(Helper::QuatFromMatrix(n));
                name.name().into()
            }
            (Builtin::TransformIdentity, None) => {
                self.need(Helper::TransformIdentity);
                name.name().into()
            }
            (Builtin::Bool, Some(Type::I32)) => "(bool)".into(),
            (Builtin::Erfinv | Builtin::Erfcinv, Some(Type::F32)) => {
                self.need(Helper::Erfinv);
                format!("wp_{name}")
            }
            (Builtin::Transpose | Builtin::Trace | Builtin::Determinant | Builtin::Ddot, Some(Type::Mat(n))) => {
                self.need(match name {
                    Builtin::Transpose => Helper::Transpose(n),
                    Builtin::Trace => Helper::Trace(n),
                    Builtin::Determinant => Helper::Determinant(n),
                    _ => Helper::Ddot(n),
                });
                name.name().into()
            }
            _ => return Err(unsupported()),
        })
    }
}
