//! Typical values of the kernel being built ([`crate::sample`]): where the samples of a variable or a load come
//! from, and the choices they steer (thresholds, clamp bounds, `min`/`max` and `copysign` operands).

use super::*;
use crate::sample::{self, Env, SAMPLES};

/// Largest launch index a sample thread takes: the dataset launches 16-32 threads along one axis.
const SAMPLE_TID_MAX: f64 = 31.0;

impl Env for Gen<'_> {
    fn var(&mut self, id: VarId, ty: Type) -> Option<Vec<f64>> {
        if let Some(v) = self.samples.get(&id) {
            return Some(v.clone());
        }
        // a by-value parameter, or a launch index or loop counter (immutable integer locals): uniform in range
        let iv = if let Some(v) = self.values.iter().find(|v| v.id == id && v.ty == ty) {
            v.iv
        } else if let Some(l) = self.locals.iter().find(|l| l.id == id && !l.mutable && l.ty == Type::I32) {
            Interval::new(l.iv.lo, l.iv.hi.min(l.iv.lo + SAMPLE_TID_MAX))
        } else {
            return None;
        };
        let v = self.draw_samples(iv, ty);
        self.samples.insert(id, v.clone());
        Some(v)
    }

    fn load(&mut self, e: &Expr) -> Option<Vec<f64>> {
        let ExprKind::Load(arr, _) = e.kind else { return None };
        let a = *self.inputs.iter().find(|a| a.id == arr && matches!(a.ty, Type::F32 | Type::I32))?;
        let key = format!("{e:?}");
        if let Some(v) = self.load_samples.get(&key) {
            return Some(v.clone());
        }
        let v = self.draw_samples(a.iv, a.ty);
        self.load_samples.insert(key, v.clone());
        Some(v)
    }
}

impl Gen<'_> {
    /// [`SAMPLES`] values uniform in `iv` (integers for `int32`), as the test vectors draw inputs.
    fn draw_samples(&mut self, iv: Interval, ty: Type) -> Vec<f64> {
        (0..SAMPLES)
            .map(|_| {
                if ty == Type::I32 {
                    self.srng.random_range(iv.lo.ceil() as i64..=iv.hi.floor().max(iv.lo.ceil()) as i64) as f64
                } else if iv.lo < iv.hi {
                    self.srng.random_range(iv.lo..=iv.hi)
                } else {
                    iv.lo
                }
            })
            .collect()
    }

    /// `e`'s typical values, when the evaluator covers it and every sample is finite.
    pub(super) fn typical(&mut self, e: &Expr) -> Option<Vec<f64>> {
        sample::known(sample::eval(e, self))
    }

    /// Records the typical values of local `l` after `x = e` (forgets them when `e` has none).
    pub(super) fn set_typical(&mut self, l: usize, e: &Expr) {
        let v = self.typical(e);
        self.remember(self.locals[l].id, v);
    }

    fn remember(&mut self, id: VarId, v: Option<Vec<f64>>) {
        match v {
            Some(v) => self.samples.insert(id, v),
            None => self.samples.remove(&id),
        };
    }

    /// After `x = value` (the local with variable `id`): in straight-line code at the top of the body, the
    /// typical values of `value` (computed with `x`'s values before the assignment); inside a loop or a
    /// branch, none (the values after the block depend on the iterations and branches taken).
    pub(super) fn reassigned(&mut self, id: VarId, value: &Expr) {
        let v = if self.nest == 0 { self.typical(value) } else { None };
        self.remember(id, v);
    }

    /// A threshold between the 25th and 75th percentiles of `samples`, on the quarter grid for floats (so it
    /// prints exactly), inside `iv` and with samples on both sides; `None` when the grid leaves no such value.
    pub(super) fn split_samples(&mut self, samples: &[f64], iv: Interval, ty: Type) -> Option<TExpr> {
        for _ in 0..4 {
            let q = self.srng.random_range(0.25..0.75);
            let t = sample::quantile(samples, q)?;
            let v = if ty == Type::I32 { t.round() } else { (t * 4.0).round() / 4.0 };
            // samples strictly on both sides: every comparison operator then splits them
            let both = samples.iter().any(|&s| s < v) && samples.iter().any(|&s| s > v);
            if !both || v <= iv.lo || v >= iv.hi {
                continue;
            }
            let lit = if ty == Type::I32 { Expr::int(v.abs() as i64) } else { Expr::float(v.abs()) };
            return Some((if v < 0.0 { Expr::unary(UnOp::Neg, lit) } else { lit }, Interval::point(v)));
        }
        None
    }

    /// True when the samples of `a` and `b` show one of them always winning a `min`/`max` (unknown: false).
    pub(super) fn one_winner(&mut self, a: &Expr, b: &Expr) -> bool {
        match (self.typical(a), self.typical(b)) {
            (Some(x), Some(y)) => sample::one_sided(&x, &y),
            _ => false,
        }
    }

    /// True when `b`'s samples all have one sign (a `copysign` whose sign argument is decided; unknown: false).
    pub(super) fn one_sign(&mut self, b: &Expr) -> bool {
        self.typical(b)
            .is_some_and(|v| v.iter().all(|x| x.is_sign_positive()) || v.iter().all(|x| x.is_sign_negative()))
    }

    /// Whether clamping samples `x` to `[lo, hi]` changes some sample and leaves some other unchanged (an
    /// active bound that is not a constant); true when `x` has no samples.
    pub(super) fn clamp_splits(x: Option<&[f64]>, lo: f64, hi: f64) -> bool {
        x.is_none_or(|x| x.iter().any(|&s| s < lo || s > hi) && x.iter().any(|&s| s >= lo && s <= hi))
    }

    /// A symmetric clamp bound for an argument whose samples all lie within `lim` (a domain guard that no
    /// sample reaches leaves its constants without effect): the 70th percentile of the samples' magnitudes on a
    /// 0.05 grid, when that is at least 0.05 and below `lim`; else `lim`.
    pub(super) fn guard_bound(&mut self, e: &Expr, lim: f64) -> f64 {
        let Some(v) = self.typical(e) else { return lim };
        if v.iter().any(|x| x.abs() > lim) {
            return lim;
        }
        let mags: Vec<f64> = v.iter().map(|x| x.abs()).collect();
        match sample::quantile(&mags, 0.7) {
            Some(q) => {
                let b = (q * 20.0).floor() / 20.0;
                if (0.05..lim).contains(&b) { b } else { lim }
            }
            None => lim,
        }
    }

    /// A second operand of type `ty` for an operation on `a`, drawn up to four times until `bad(self, a, b)` is
    /// false (each refused draw's reads rolled back); `None` when every draw was bad.
    pub(super) fn operand_for(
        &mut self,
        a: &Expr,
        ty: Type,
        d: u32,
        bad: impl Fn(&mut Self, &Expr, &Expr) -> bool,
    ) -> Option<TExpr> {
        for _ in 0..4 {
            let saved = (self.budget, self.uses());
            let b = self.expr(ty, d);
            if !bad(self, a, &b.0) {
                return Some(b);
            }
            self.budget = saved.0;
            self.restore_uses(saved.1);
        }
        None
    }

    /// Clamp bounds `(lo, hi)`, `lo < hi`, on the quarter grid, for a value with samples `x`: between its
    /// 5th-40th and 60th-95th percentiles, so that the clamp changes some samples and keeps others; `None` when
    /// the grid gives no such pair.
    pub(super) fn clamp_bounds(&mut self, x: &[f64]) -> Option<(f64, f64)> {
        for _ in 0..4 {
            let lo = (sample::quantile(x, self.srng.random_range(0.05..0.4))? * 4.0).floor() / 4.0;
            let hi = (sample::quantile(x, self.srng.random_range(0.6..0.95))? * 4.0).ceil() / 4.0;
            if lo < hi && Self::clamp_splits(Some(x), lo, hi) {
                return Some((lo + 0.0, hi + 0.0)); // + 0.0: no bound prints as -0.0
            }
        }
        None
    }

    /// True when `e` has typical values and they are all equal: a production that reads variables but computes
    /// a constant (of named constants, or through a clamp no sample escapes).
    pub(super) fn constant_in_practice(&mut self, e: &Expr) -> bool {
        self.typical(e).is_some_and(|v| v.iter().all(|&x| x == v[0]))
    }
}
