//! Builtin calls: each Warp builtin mapped to a C++ expression, an operator or one of the helper functions
//! (`callee`), with Warp's semantics where C's differ.

use super::*;

impl Emitter<'_> {
    pub(super) fn call(&mut self, name: &str, ty: Type, args: &[Expr]) -> Result<(String, u8), EmitError> {
        let unsupported = || {
            EmitError::Unsupported(format!(
                "wp.{name}({})",
                args.iter().map(|a| a.ty.short_name()).collect::<Vec<_>>().join(", ")
            ))
        };
        if name == "len" {
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
        if name == "identity" {
            // wp.identity(n=N, dtype=wp.float32): keyword arguments only
            let Type::Mat(n) = ty else { return Err(unsupported()) };
            self.need(Helper::Identity(n));
            return Ok((format!("identity_mat{n}{n}()"), P_ATOM));
        }
        if name == "matrix" {
            // wp.matrix(a, b, ..., shape=(n, n)): the scalars row by row
            let Type::Mat(n) = ty else { return Err(unsupported()) };
            let xs: Vec<Expr> = args.iter().filter(|a| !matches!(a.kind, ExprKind::Kw(..))).cloned().collect();
            if xs.len() != usize::from(n) * usize::from(n) {
                return Err(unsupported());
            }
            self.need_type(ty);
            return Ok((format!("make_mat{n}{n}({})", self.args(&xs)?), P_ATOM));
        }
        if name == "sample_cdf" {
            // the CDF's length is the array's, which C++ passes separately
            let [state, cdf] = args else { return Err(unsupported()) };
            let ExprKind::Var(arr) = cdf.kind else { return Err(unsupported()) };
            self.need(Helper::SampleCdf);
            let n = self.expr(&Expr { ty: Type::I32, kind: ExprKind::Len(arr, 0) })?.0;
            let st = self.expr(state)?.0;
            return Ok((format!("sample_cdf({st}, {}, {n})", self.name(arr)), P_ATOM));
        }
        if name == "static" {
            // wp.static(p / q): Python evaluates it in double precision; Warp emits the float32 constant
            let [c] = args else { return Err(unsupported()) };
            let v = const_value(c).ok_or_else(unsupported)?;
            return Ok((float_lit(v), P_ATOM));
        }
        if name == "where" {
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
    pub(super) fn callee(&mut self, name: &str, types: &[Type]) -> Result<String, EmitError> {
        let first = types.first().copied();
        let unsupported = || {
            EmitError::Unsupported(format!(
                "wp.{name}({})",
                types.iter().map(|t| t.short_name()).collect::<Vec<_>>().join(", ")
            ))
        };
        if let Some(&(_, _, h)) = SAME_NAME.iter().find(|(n, t, _)| *n == name && first == Some(*t)) {
            self.need(h);
            return Ok(name.into());
        }
        Ok(match (name, first) {
            // float math with a C spelling of the same semantics
            (
                "sin" | "cos" | "tan" | "sinh" | "cosh" | "tanh" | "asin" | "acos" | "atan" | "exp" | "log" | "log2"
                | "log10" | "sqrt" | "cbrt" | "erf" | "erfc" | "floor" | "ceil" | "round" | "rint" | "trunc" | "atan2"
                | "pow" | "copysign",
                Some(Type::F32),
            ) => format!("{name}f"),
            ("abs", Some(Type::F32)) => "fabsf".into(),
            ("isfinite" | "isnan" | "isinf", Some(Type::F32)) => name.into(),
            ("float", Some(_)) => "(float)".into(),
            ("int", Some(_)) => "(int)".into(),
            // conversions, spelled as C casts: a round trip through another width, or double arithmetic
            ("float32", Some(_)) => "(float)".into(),
            ("float64", Some(Type::F32)) => "(double)".into(),
            ("int32", Some(_)) => "(int)".into(),
            ("int8", Some(Type::I32)) => "(signed char)".into(),
            ("uint8", Some(Type::I32)) => "(unsigned char)".into(),
            ("int16", Some(Type::I32)) => "(short)".into(),
            ("uint16", Some(Type::I32)) => "(unsigned short)".into(),
            ("int64", Some(Type::I32)) => "(long long)".into(),
            ("uint32", Some(Type::I32)) => "(unsigned int)".into(),
            ("uint64", Some(Type::I32)) => "(unsigned long long)".into(),
            ("abs", Some(Type::I32)) => "abs".into(),
            ("abs", Some(Type::Vec(n))) => {
                self.need(Helper::VecAbs(n));
                "abs".into()
            }
            ("min", Some(Type::F32)) => "fminf".into(),
            ("max", Some(Type::F32)) => "fmaxf".into(),
            ("min", Some(Type::I32)) => {
                self.need(Helper::MinI);
                "mini".into()
            }
            ("max", Some(Type::I32)) => {
                self.need(Helper::MaxI);
                "maxi".into()
            }
            ("min", Some(Type::Vec(n))) => {
                self.need(Helper::CwMin(n));
                "cw_min".into()
            }
            ("max", Some(Type::Vec(n))) => {
                self.need(Helper::CwMax(n));
                "cw_max".into()
            }
            ("clamp", Some(Type::F32)) => {
                self.need(Helper::ClampF);
                "clampf".into()
            }
            ("clamp", Some(Type::I32)) => {
                self.need(Helper::ClampI);
                "clampi".into()
            }
            ("smoothstep", Some(Type::F32)) => {
                self.need(Helper::ClampF);
                self.need(Helper::Smoothstep);
                "smoothstep".into()
            }
            ("lerp", Some(Type::Vec(n))) => {
                self.need(Helper::LerpV(n));
                "lerp".into()
            }
            (
                "dot" | "length" | "length_sq" | "normalize" | "cw_mul" | "outer" | "diag" | "cross",
                Some(Type::Vec(n)),
            ) => {
                self.need(match name {
                    "dot" => Helper::Dot(n),
                    "length" => Helper::Length(n),
                    "length_sq" => Helper::LengthSq(n),
                    "normalize" => Helper::Normalize(n),
                    "cw_mul" => Helper::CwMul(n),
                    "outer" => Helper::Outer(n),
                    "cross" if n == 3 => Helper::Cross,
                    "diag" => Helper::Diag(n),
                    _ => return Err(unsupported()),
                });
                name.into()
            }
            ("dot" | "length" | "normalize", Some(Type::Quat)) => {
                self.need(match name {
                    "dot" => Helper::QuatDot,
                    "length" => Helper::QuatLength,
                    _ => Helper::QuatNormalize,
                });
                name.into()
            }
            ("quat_rotate" | "quat_rotate_inv" | "quat_to_matrix", Some(Type::Quat)) => {
                self.need(match name {
                    "quat_rotate" => Helper::QuatRotate,
                    "quat_rotate_inv" => Helper::QuatRotateInv,
                    _ => Helper::QuatToMatrix,
                });
                name.into()
            }
            ("quat_identity", None) => {
                self.need(Helper::QuatIdentity);
                name.into()
            }
            (
                "transform_multiply"
                | "transform_inverse"
                | "transform_point"
                | "transform_vector"
                | "transform_get_translation"
                | "transform_get_rotation",
                Some(Type::Transform),
            ) => {
                self.need(match name {
                    "transform_multiply" => Helper::TransformMultiply,
                    "transform_inverse" => Helper::TransformInverse,
                    "transform_point" => Helper::TransformPoint,
                    "transform_vector" => Helper::TransformVector,
                    _ => Helper::TransformGet,
                });
                name.into()
            }
            (
                "norm_l1" | "norm_l2" | "norm_huber" | "norm_pseudo_huber" | "smooth_normalize" | "argmin" | "argmax"
                | "cw_div",
                Some(Type::Vec(n)),
            ) => {
                self.need(match name {
                    "norm_l1" => Helper::NormL1(n),
                    "norm_l2" => Helper::Length(n),
                    "norm_huber" => Helper::NormHuber(n),
                    "norm_pseudo_huber" => Helper::NormPseudoHuber(n),
                    "smooth_normalize" => Helper::SmoothNormalize(n),
                    "argmin" => Helper::ArgMin(n),
                    "argmax" => Helper::ArgMax(n),
                    _ => Helper::CwDiv(n),
                });
                if name == "norm_l2" { "length".into() } else { name.into() }
            }
            ("get_diag", Some(Type::Mat(n))) => {
                self.need(Helper::GetDiag(n));
                name.into()
            }
            ("matrix_from_cols" | "matrix_from_rows", Some(Type::Vec(n))) => {
                self.need(if name == "matrix_from_cols" { Helper::MatFromCols(n) } else { Helper::MatFromRows(n) });
                name.into()
            }
            ("rand_init", Some(Type::I32)) | ("randf" | "randn" | "randi", Some(Type::U32)) => {
                self.need(Helper::Rand);
                name.into()
            }
            (s, Some(Type::U32)) if s.starts_with("sample_") => {
                let two =
                    matches!(s, "sample_unit_square" | "sample_unit_disk" | "sample_unit_ring" | "sample_triangle");
                self.need(if two { Helper::Samples2 } else { Helper::Samples3 });
                name.into()
            }
            (
                "spatial_top" | "spatial_bottom" | "spatial_dot" | "spatial_cross" | "spatial_cross_dual"
                | "velocity_at_point",
                Some(Type::Vec(6)),
            )
            | ("transform_twist" | "transform_wrench", Some(Type::Transform)) => {
                self.need(Helper::Spatial);
                if matches!(name, "transform_twist" | "transform_wrench") {
                    self.need(Helper::SpatialTransform);
                }
                name.into()
            }
            ("quat_from_matrix", Some(Type::Mat(n))) => {
                self.need(Helper::QuatFromMatrix(n));
                name.into()
            }
            ("transform_identity", None) => {
                self.need(Helper::TransformIdentity);
                name.into()
            }
            ("bool", Some(Type::I32)) => "(bool)".into(),
            ("erfinv" | "erfcinv", Some(Type::F32)) => {
                self.need(Helper::Erfinv);
                format!("wp_{name}")
            }
            ("transpose" | "trace" | "determinant" | "ddot", Some(Type::Mat(n))) => {
                self.need(match name {
                    "transpose" => Helper::Transpose(n),
                    "trace" => Helper::Trace(n),
                    "determinant" => Helper::Determinant(n),
                    _ => Helper::Ddot(n),
                });
                name.into()
            }
            _ => return Err(unsupported()),
        })
    }
}
