//! Typical values: a scalar expression evaluated on [`SAMPLES`] sample threads, alongside the conservative
//! [`crate::interval::Interval`] the generator proves validity with.
//!
//! The interval of an expression bounds every value it can take for any input in the declared ranges and any
//! launch index below `max_launch_dim`; the values a launch actually produces are usually far narrower (a
//! product of two values in `[-8, 8]` is bounded by 64 and rarely above 20). A threshold, a clamp bound or a
//! `wp.min` operand chosen inside the interval alone is often never crossed, never active or never winning on
//! any input the test vectors draw, which leaves its constant without effect: a changed constant that no
//! execution can tell from the right one (issue 19's measurement). The generator uses these samples only to
//! *steer* such choices (a threshold between sample quantiles, a clamp active on some samples and inactive on
//! others, `wp.min` operands that each win somewhere); validity stays the intervals' job, so a wrong or missing
//! sample never makes a kernel invalid.
//!
//! Evaluation is in `f64` (Warp computes in `float32`: the samples steer choices, they are never compared with
//! Warp's outputs) and covers the scalar productions whose value is a plain function of scalar operands: literals,
//! `+ - * /` on floats, `+ - *` on integers, negation, the unary math builtins with a Rust counterpart (and
//! `step`, `sign` as Warp's docs define them), `min`,
//! `max`, `clamp`, `lerp`, `smoothstep`, `copysign`, `atan2`, `pow`, the float/int casts, integer `/`, `%` and
//! `//`, comparisons, `and`/`or`/`not` and `wp.where` (booleans as 1 and 0). Anything else (vectors,
//! components, helper calls, scene queries, bit operations) has no samples ([`None`]).

use warpsmith_ast::{BinOp, Builtin, Expr, ExprKind, Type, UnOp, VarId};

/// Sample threads per expression.
pub const SAMPLES: usize = 32;

/// Samples of the leaves an expression reads: variables and array loads.
pub trait Env {
    /// Samples of variable `id` of type `ty` at this point of the kernel, if known.
    fn var(&mut self, id: VarId, ty: Type) -> Option<Vec<f64>>;
    /// Samples of the array load `e` (an [`ExprKind::Load`]), if its array has scalar elements.
    fn load(&mut self, e: &Expr) -> Option<Vec<f64>>;
}

fn map(v: Vec<f64>, f: impl Fn(f64) -> f64) -> Vec<f64> {
    v.into_iter().map(f).collect()
}

fn zip(a: Vec<f64>, b: Vec<f64>, f: impl Fn(f64, f64) -> f64) -> Vec<f64> {
    a.into_iter().zip(b).map(|(x, y)| f(x, y)).collect()
}

/// `e`'s value on each sample thread, or `None` when `e` is not a scalar the evaluator covers. Non-finite
/// results are kept (a caller treats them as unknown through [`known`]).
pub fn eval(e: &Expr, env: &mut impl Env) -> Option<Vec<f64>> {
    if !matches!(e.ty, Type::F32 | Type::I32 | Type::Bool) {
        return None;
    }
    let int = e.ty == Type::I32;
    let truth = |b: bool| if b { 1.0 } else { 0.0 };
    match &e.kind {
        ExprKind::Float(v) => Some(vec![*v; SAMPLES]),
        ExprKind::Int(v) => Some(vec![*v as f64; SAMPLES]),
        ExprKind::Bool(b) => Some(vec![truth(*b); SAMPLES]),
        ExprKind::Var(id) => env.var(*id, e.ty),
        ExprKind::Load(..) => env.load(e),
        ExprKind::Unary(UnOp::Neg, a) => Some(map(eval(a, env)?, |x| -x)),
        ExprKind::Unary(UnOp::Pos, a) => eval(a, env),
        ExprKind::Unary(UnOp::Not, a) => Some(map(eval(a, env)?, |x| truth(x == 0.0))),
        ExprKind::Binary(op, a, b) if op.is_comparison() => {
            let (x, y) = (eval(a, env)?, eval(b, env)?);
            let f: fn(f64, f64) -> bool = match op {
                BinOp::Lt => |p, q| p < q,
                BinOp::Le => |p, q| p <= q,
                BinOp::Gt => |p, q| p > q,
                BinOp::Ge => |p, q| p >= q,
                BinOp::Eq => |p, q| p == q,
                _ => |p, q| p != q,
            };
            Some(zip(x, y, |p, q| truth(f(p, q))))
        }
        ExprKind::Binary(op @ (BinOp::And | BinOp::Or), a, b) => {
            let (x, y) = (eval(a, env)?, eval(b, env)?);
            let and = *op == BinOp::And;
            Some(zip(x, y, |p, q| truth(if and { p != 0.0 && q != 0.0 } else { p != 0.0 || q != 0.0 })))
        }
        ExprKind::Binary(op, a, b) => {
            if a.ty != e.ty || b.ty != e.ty {
                return None;
            }
            let (x, y) = (eval(a, env)?, eval(b, env)?);
            match op {
                BinOp::Add => Some(zip(x, y, |p, q| p + q)),
                BinOp::Sub => Some(zip(x, y, |p, q| p - q)),
                BinOp::Mul => Some(zip(x, y, |p, q| p * q)),
                BinOp::Div if !int => Some(zip(x, y, |p, q| p / q)),
                // int32 `/` and `%` in Warp's builtin.h are C's: truncation toward zero, the remainder with the
                // dividend's sign; `//` floors
                BinOp::Div if y.iter().all(|&q| q != 0.0) => Some(zip(x, y, |p, q| (p / q).trunc())),
                BinOp::Mod if int && y.iter().all(|&q| q != 0.0) => Some(zip(x, y, |p, q| p % q)),
                BinOp::FloorDiv if int && y.iter().all(|&q| q != 0.0) => Some(zip(x, y, |p, q| (p / q).floor())),
                _ => None,
            }
        }
        ExprKind::Construct(args) if args.len() == 1 => cast(eval(&args[0], env)?, int),
        ExprKind::Call(name, args) => call(*name, args, int, env),
        _ => None,
    }
}

fn cast(v: Vec<f64>, int: bool) -> Option<Vec<f64>> {
    Some(if int { map(v, f64::trunc) } else { v })
}

fn call(name: Builtin, args: &[Expr], int: bool, env: &mut impl Env) -> Option<Vec<f64>> {
    use Builtin as B;
    let mut vals = Vec::with_capacity(args.len());
    for a in args {
        if matches!(a.kind, ExprKind::Kw(..)) {
            return None;
        }
        vals.push(eval(a, env)?);
    }
    let mut it = vals.into_iter();
    let mut next = || it.next();
    let unary = |f: fn(f64) -> f64, v: Option<Vec<f64>>| v.map(|v| map(v, f));
    match (name, args.len()) {
        (B::Where, 3) => {
            let (c, a, b) = (next()?, next()?, next()?);
            Some(c.iter().zip(a.iter().zip(&b)).map(|(&c, (&a, &b))| if c != 0.0 { a } else { b }).collect())
        }
        // the samples are finite (see `known`): no NaN, no infinity
        (B::Isnan | B::Isinf, 1) => next().map(|v| map(v, |_| 0.0)),
        (B::Isfinite, 1) => next().map(|v| map(v, |_| 1.0)),
        (B::Bool, 1) => next().map(|v| map(v, |x| if x != 0.0 { 1.0 } else { 0.0 })),
        (B::Float32 | B::Float64 | B::Float, 1) => next(),
        (B::Int | B::Int32, 1) => cast(next()?, true),
        (B::Abs, 1) => unary(f64::abs, next()),
        (B::Acos, 1) => unary(f64::acos, next()),
        (B::Asin, 1) => unary(f64::asin, next()),
        (B::Atan, 1) => unary(f64::atan, next()),
        (B::Cbrt, 1) => unary(f64::cbrt, next()),
        (B::Ceil, 1) => unary(f64::ceil, next()),
        (B::Cos, 1) => unary(f64::cos, next()),
        (B::Cosh, 1) => unary(f64::cosh, next()),
        (B::Degrees, 1) => unary(f64::to_degrees, next()),
        (B::Exp, 1) => unary(f64::exp, next()),
        (B::Floor, 1) => unary(f64::floor, next()),
        (B::Log, 1) => unary(f64::ln, next()),
        (B::Log10, 1) => unary(f64::log10, next()),
        (B::Log2, 1) => unary(f64::log2, next()),
        (B::Radians, 1) => unary(f64::to_radians, next()),
        (B::Round, 1) => unary(f64::round, next()),
        (B::Rint, 1) => unary(f64::round_ties_even, next()),
        (B::Sin, 1) => unary(f64::sin, next()),
        (B::Sinh, 1) => unary(f64::sinh, next()),
        (B::Sqrt, 1) => unary(f64::sqrt, next()),
        // Warp's docs: `step(x)` is 1.0 if x < 0.0 else 0.0; `sign(x)` is -1 if x < 0 else 1
        (B::Step, 1) => unary(|x| if x < 0.0 { 1.0 } else { 0.0 }, next()),
        (B::Sign, 1) => unary(|x| if x < 0.0 { -1.0 } else { 1.0 }, next()),
        (B::Tan, 1) => unary(f64::tan, next()),
        (B::Tanh, 1) => unary(f64::tanh, next()),
        (B::Trunc, 1) => unary(f64::trunc, next()),
        (B::Min, 2) => Some(zip(next()?, next()?, f64::min)),
        (B::Max, 2) => Some(zip(next()?, next()?, f64::max)),
        (B::Atan2, 2) => Some(zip(next()?, next()?, f64::atan2)),
        (B::Pow, 2) => Some(zip(next()?, next()?, f64::powf)),
        (B::Copysign, 2) => Some(zip(next()?, next()?, f64::copysign)),
        (B::Clamp, 3) => {
            let (x, lo, hi) = (next()?, next()?, next()?);
            Some(x.iter().zip(lo.iter().zip(&hi)).map(|(&x, (&l, &h))| x.max(l).min(h)).collect())
        }
        (B::Lerp, 3) => {
            let (a, b, t) = (next()?, next()?, next()?);
            Some(a.iter().zip(b.iter().zip(&t)).map(|(&a, (&b, &t))| a + t * (b - a)).collect())
        }
        (B::Smoothstep, 3) => {
            // Warp: t = clamp((x - a) / (b - a), 0, 1); t * t * (3 - 2 t)
            let (a, b, x) = (next()?, next()?, next()?);
            Some(
                a.iter()
                    .zip(b.iter().zip(&x))
                    .map(|(&a, (&b, &x))| {
                        let t = ((x - a) / (b - a)).clamp(0.0, 1.0);
                        t * t * (3.0 - 2.0 * t)
                    })
                    .collect(),
            )
        }
        _ => None,
    }
    .filter(|_| !int || matches!(name, B::Int | B::Int32 | B::Abs | B::Min | B::Max | B::Clamp | B::Where))
}

/// `v` when every sample is finite (a sample outside a function's domain, which the intervals allow and the
/// kernel's guards prevent, says nothing about typical values).
pub fn known(v: Option<Vec<f64>>) -> Option<Vec<f64>> {
    v.filter(|v| v.iter().all(|x| x.is_finite()))
}

/// True when `a <= b` on every sample or `a >= b` on every sample: one operand of `min`/`max` never wins (ties
/// count as either), or a comparison of the two is decided on every sample.
pub fn one_sided(a: &[f64], b: &[f64]) -> bool {
    a.iter().zip(b).all(|(x, y)| x <= y) || a.iter().zip(b).all(|(x, y)| x >= y)
}

/// The value at quantile `q` in `[0, 1]` of the samples (nearest rank), `None` for no samples.
pub fn quantile(v: &[f64], q: f64) -> Option<f64> {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return None;
    }
    s.sort_by(f64::total_cmp);
    let i = ((s.len() - 1) as f64 * q.clamp(0.0, 1.0)).round() as usize;
    Some(s[i])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every variable has the samples 0, 1, ..., SAMPLES - 1 scaled by its id + 1; loads have none.
    struct Ramp;
    impl Env for Ramp {
        fn var(&mut self, id: VarId, _ty: Type) -> Option<Vec<f64>> {
            Some((0..SAMPLES).map(|i| i as f64 * (id as f64 + 1.0)).collect())
        }
        fn load(&mut self, _e: &Expr) -> Option<Vec<f64>> {
            None
        }
    }

    fn x() -> Expr {
        Expr::var(0, Type::F32)
    }

    #[test]
    fn builtins_follow_warps_definitions() {
        let c = Expr::call(Builtin::Clamp, Type::F32, vec![x(), Expr::float(2.0), Expr::float(5.0)]);
        let v = eval(&c, &mut Ramp).expect("clamp of a variable");
        assert_eq!(&v[..7], &[2.0, 2.0, 2.0, 3.0, 4.0, 5.0, 5.0]);
        let s = Expr::call(Builtin::Copysign, Type::F32, vec![Expr::float(0.5), Expr::unary(UnOp::Neg, x())]);
        let v = eval(&s, &mut Ramp).expect("copysign");
        assert_eq!((v[0], v[1]), (-0.5, -0.5), "copysign takes the sign of -0.0 too");
        let l = Expr::call(Builtin::Lerp, Type::F32, vec![x(), Expr::float(10.0), Expr::float(0.5)]);
        assert_eq!(eval(&l, &mut Ramp).expect("lerp")[4], 7.0);
        let i = Expr::construct(Type::I32, vec![Expr::binary(BinOp::Div, Type::F32, x(), Expr::float(4.0))]);
        let i = Expr { ty: Type::I32, ..i };
        assert_eq!(&eval(&i, &mut Ramp).expect("int cast")[..6], &[0.0, 0.0, 0.0, 0.0, 1.0, 1.0]);
        let st = Expr::call(Builtin::Step, Type::F32, vec![Expr::binary(BinOp::Sub, Type::F32, x(), Expr::float(2.0))]);
        assert_eq!(&eval(&st, &mut Ramp).expect("step")[..4], &[1.0, 1.0, 0.0, 0.0], "step(x) = 1 for x < 0");
        let h = Expr::call(Builtin::Smoothstep, Type::F32, vec![Expr::float(0.0), Expr::float(4.0), x()]);
        assert_eq!(eval(&h, &mut Ramp).expect("smoothstep")[2], 0.5);
    }

    #[test]
    fn booleans_selects_and_integer_division_follow_warps_definitions() {
        let k = || Expr::var(0, Type::I32); // 0, 1, 2, ...
        let shifted = Expr::binary(BinOp::Sub, Type::I32, k(), Expr::int(5)); // -5, -4, ...
        let div = Expr::binary(BinOp::Div, Type::I32, shifted.clone(), Expr::int(2));
        assert_eq!(&eval(&div, &mut Ramp).expect("int /")[..3], &[-2.0, -2.0, -1.0], "C truncates toward zero");
        let rem = Expr::binary(BinOp::Mod, Type::I32, shifted.clone(), Expr::int(3));
        assert_eq!(&eval(&rem, &mut Ramp).expect("int %")[..3], &[-2.0, -1.0, 0.0], "the dividend's sign");
        let fdiv = Expr::binary(BinOp::FloorDiv, Type::I32, shifted, Expr::int(2));
        assert_eq!(&eval(&fdiv, &mut Ramp).expect("int //")[..3], &[-3.0, -2.0, -2.0]);
        let lt = Expr::binary(BinOp::Lt, Type::Bool, x(), Expr::float(2.0));
        let both = Expr::binary(
            BinOp::And,
            Type::Bool,
            lt.clone(),
            Expr::unary(UnOp::Not, Expr::binary(BinOp::Eq, Type::Bool, x(), Expr::float(0.0))),
        );
        assert_eq!(&eval(&both, &mut Ramp).expect("and/not")[..4], &[0.0, 1.0, 0.0, 0.0]);
        let w = Expr::call(Builtin::Where, Type::F32, vec![lt, Expr::float(7.0), x()]);
        assert_eq!(&eval(&w, &mut Ramp).expect("where")[..4], &[7.0, 7.0, 2.0, 3.0]);
        let by_zero = Expr::binary(BinOp::Div, Type::I32, Expr::int(1), k());
        assert_eq!(eval(&by_zero, &mut Ramp), None, "a division by a zero sample is not evaluated");
    }

    #[test]
    fn what_the_evaluator_does_not_cover_has_no_samples() {
        let load = Expr { ty: Type::F32, kind: ExprKind::Load(1, vec![Expr::int(0)]) };
        assert_eq!(eval(&load, &mut Ramp), None);
        let bits = Expr::binary(BinOp::BitAnd, Type::I32, Expr::var(0, Type::I32), Expr::int(2));
        assert_eq!(eval(&bits, &mut Ramp), None, "bit operations are not evaluated");
        let v = Expr::construct(Type::Vec(3), vec![x()]);
        assert_eq!(eval(&v, &mut Ramp), None);
        let comp = Expr { ty: Type::F32, kind: ExprKind::Component(Box::new(v), 0, None) };
        assert_eq!(eval(&comp, &mut Ramp), None);
        let sum = Expr::binary(BinOp::Add, Type::F32, x(), load);
        assert_eq!(eval(&sum, &mut Ramp), None, "an unknown operand makes the whole expression unknown");
    }

    #[test]
    fn one_sided_and_quantile() {
        assert!(one_sided(&[1.0, 2.0], &[1.0, 3.0]));
        assert!(one_sided(&[4.0, 3.0], &[1.0, 3.0]));
        assert!(!one_sided(&[0.0, 4.0], &[1.0, 3.0]));
        assert_eq!(quantile(&[3.0, 1.0, 2.0, f64::NAN], 0.5), Some(2.0));
        assert_eq!(quantile(&[], 0.5), None);
    }

    proptest! {
        #[test]
        fn arithmetic_matches_direct_evaluation(a in -50.0f64..50.0, b in -50.0f64..50.0, c in 0.5f64..4.0) {
            // (a * x - b) / c + min(x, b) at x = 0..SAMPLES
            let e = Expr::binary(
                BinOp::Add,
                Type::F32,
                Expr::binary(
                    BinOp::Div,
                    Type::F32,
                    Expr::binary(BinOp::Sub, Type::F32, Expr::binary(BinOp::Mul, Type::F32, Expr::float(a), x()), Expr::float(b)),
                    Expr::float(c),
                ),
                Expr::call(Builtin::Min, Type::F32, vec![x(), Expr::float(b)]),
            );
            let v = eval(&e, &mut Ramp).expect("covered");
            for (i, got) in v.iter().enumerate() {
                let x = i as f64;
                prop_assert_eq!(*got, (a * x - b) / c + x.min(b));
            }
        }
    }
}
