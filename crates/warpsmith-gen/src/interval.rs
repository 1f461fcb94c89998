//! Closed-interval arithmetic over `f64`, the value-range analysis of the generator (as in YARPGen:
//! Livinskii, Babokin, Regehr, "Random Testing for C and C++ Compilers with YARPGen", OOPSLA 2020).
//!
//! An [`Interval`] bounds every value an expression can take on any thread and any input drawn from the
//! parameters' declared ranges. For vectors and matrices it bounds every component. All operations are
//! conservative: the true range is always inside the computed one.

/// A closed interval `[lo, hi]` with `lo <= hi`, both finite.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Interval {
    /// Lower bound.
    pub lo: f64,
    /// Upper bound.
    pub hi: f64,
}

// `div` is partial (None for a divisor containing zero), so none of these are the std::ops traits: one
// method style for all of them reads better than a mix of operators and methods.
#[allow(clippy::should_implement_trait)]
impl Interval {
    /// `[lo, hi]`; the bounds are swapped if given out of order.
    pub fn new(lo: f64, hi: f64) -> Self {
        if lo <= hi { Interval { lo, hi } } else { Interval { lo: hi, hi: lo } }
    }

    /// The single value `v`.
    pub fn point(v: f64) -> Self {
        Interval { lo: v, hi: v }
    }

    /// The largest absolute value in the interval.
    pub fn mag(self) -> f64 {
        self.lo.abs().max(self.hi.abs())
    }

    /// The smallest interval containing both.
    pub fn hull(self, o: Interval) -> Self {
        Interval { lo: self.lo.min(o.lo), hi: self.hi.max(o.hi) }
    }

    /// `self + o`.
    pub fn add(self, o: Interval) -> Self {
        Interval { lo: self.lo + o.lo, hi: self.hi + o.hi }
    }

    /// `self - o`.
    pub fn sub(self, o: Interval) -> Self {
        Interval { lo: self.lo - o.hi, hi: self.hi - o.lo }
    }

    /// `self * o`.
    pub fn mul(self, o: Interval) -> Self {
        let c = [self.lo * o.lo, self.lo * o.hi, self.hi * o.lo, self.hi * o.hi];
        Interval {
            lo: c.iter().copied().fold(f64::INFINITY, f64::min),
            hi: c.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    }

    /// `self / o`, or `None` when `o` contains zero.
    pub fn div(self, o: Interval) -> Option<Self> {
        if o.lo <= 0.0 && o.hi >= 0.0 {
            return None;
        }
        Some(self.mul(Interval::new(1.0 / o.hi, 1.0 / o.lo)))
    }

    /// `-self`.
    pub fn neg(self) -> Self {
        Interval { lo: -self.hi, hi: -self.lo }
    }

    /// `|self|`.
    pub fn abs(self) -> Self {
        if self.lo >= 0.0 {
            self
        } else if self.hi <= 0.0 {
            self.neg()
        } else {
            Interval { lo: 0.0, hi: self.mag() }
        }
    }

    /// `self * k` for a non-negative scalar `k`.
    pub fn scale(self, k: f64) -> Self {
        self.mul(Interval::point(k))
    }

    /// The image under a monotonically non-decreasing function.
    pub fn map_increasing(self, f: impl Fn(f64) -> f64) -> Self {
        Interval::new(f(self.lo), f(self.hi))
    }

    /// The hull with zero: the range of a contribution that may or may not happen.
    pub fn with_zero(self) -> Self {
        self.hull(Interval::point(0.0))
    }

    /// `min(self, o)` elementwise.
    pub fn min(self, o: Interval) -> Self {
        Interval { lo: self.lo.min(o.lo), hi: self.hi.min(o.hi) }
    }

    /// `max(self, o)` elementwise.
    pub fn max(self, o: Interval) -> Self {
        Interval { lo: self.lo.max(o.lo), hi: self.hi.max(o.hi) }
    }

    /// True if every value is `>= v`.
    pub fn all_ge(self, v: f64) -> bool {
        self.lo >= v
    }

    /// True if the interval lies inside `[-m, m]`.
    pub fn within(self, m: f64) -> bool {
        self.mag() <= m
    }

    /// True if both bounds are finite.
    pub fn is_finite(self) -> bool {
        self.lo.is_finite() && self.hi.is_finite()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn iv() -> impl Strategy<Value = Interval> {
        (-100.0f64..100.0, -100.0f64..100.0).prop_map(|(a, b)| Interval::new(a, b))
    }

    fn pick(i: Interval, t: f64) -> f64 {
        i.lo + (i.hi - i.lo) * t
    }

    proptest! {
        #[test]
        fn binary_ops_contain_pointwise_results(a in iv(), b in iv(), s in 0.0f64..=1.0, t in 0.0f64..=1.0) {
            let (x, y) = (pick(a, s), pick(b, t));
            let inside = |i: Interval, v: f64| i.lo - 1e-9 <= v && v <= i.hi + 1e-9;
            prop_assert!(inside(a.add(b), x + y));
            prop_assert!(inside(a.sub(b), x - y));
            prop_assert!(inside(a.mul(b), x * y));
            prop_assert!(inside(a.min(b), x.min(y)));
            prop_assert!(inside(a.max(b), x.max(y)));
            prop_assert!(inside(a.abs(), x.abs()));
            prop_assert!(inside(a.neg(), -x));
            if let Some(q) = a.div(b) {
                prop_assert!(inside(q, x / y), "{x}/{y} not in {q:?}");
            } else {
                prop_assert!(b.lo <= 0.0 && b.hi >= 0.0);
            }
        }

        #[test]
        fn hull_contains_both(a in iv(), b in iv()) {
            let h = a.hull(b);
            prop_assert!(h.lo <= a.lo && h.lo <= b.lo && h.hi >= a.hi && h.hi >= b.hi);
        }
    }

    #[test]
    fn division_by_interval_containing_zero_is_refused() {
        assert!(Interval::new(1.0, 2.0).div(Interval::new(-1.0, 1.0)).is_none());
        assert!(Interval::new(1.0, 2.0).div(Interval::new(0.0, 1.0)).is_none());
        assert_eq!(Interval::new(1.0, 2.0).div(Interval::new(2.0, 4.0)), Some(Interval::new(0.25, 1.0)));
    }
}
