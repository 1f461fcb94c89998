//! Generation configuration: one definition that is the library struct, the `generate` CLI flags (clap) and
//! the `--config` file (TOML or JSON, serde).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A generation category: a policy of weights over shared productions (see [`crate::policy`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Scalar float/int arithmetic.
    Arithmetic,
    /// Transcendental and other math builtins.
    Math,
    /// `vec2`/`vec3`/`vec4` algebra.
    Vector,
    /// `mat22`/`mat33`/`mat44` algebra.
    Matrix,
    /// Branches, loops, `break`/`continue`, `wp.where`.
    ControlFlow,
    /// Atomic accumulation into shared arrays.
    Atomic,
    /// Loops nested two or three deep.
    NestedLoop,
    /// `if`/`elif`/`else` chains with compound conditions.
    MultiConditional,
    /// Everything mixed.
    Combined,
    /// Kernels driven by several by-value scalar parameters.
    ScalarParam,
    /// Per-thread partial results reduced into one (or two) elements with atomics.
    Reduction,
    /// Weighted sums of neighbouring elements (periodic or clamped boundaries).
    Stencil,
    /// Rigid-body math: quaternions, transforms, points and directions.
    Transform,
    /// Block-cooperative tile kernels: `tile_load`, `tile_map`, reductions, `tile_store`, `tile_atomic_add`.
    Tile,
    /// Seeded random numbers: `wp.rand_init`, `wp.randf`, `wp.randn`, `wp.randi`, `wp.sample_unit_*`.
    Random,
    /// 2-D launches over `wp.array2d`.
    #[serde(rename = "grid_2d")]
    Grid2d,
    /// 3-D launches over `wp.array3d`.
    #[serde(rename = "grid_3d")]
    Grid3d,
    /// Scene queries through `wp.uint64` handles: closest points, rays and box queries on a `wp.Mesh`,
    /// neighbour loops over a `wp.HashGrid` or `wp.Bvh`, samples and lookups of a `wp.Volume`.
    Geometry,
    /// Indirect reads through an `int32` index array: `a[idx[tid]]` (a gather, as connectivity and permutation
    /// arrays are read in simulation code).
    Gather,
    /// Indirect atomic accumulation through an `int32` index array: `wp.atomic_add(acc, idx[tid], v)` (a
    /// scatter-add, as particle-to-cell and element-to-node assembly write).
    Scatter,
}

impl Category {
    /// Every category, in their canonical order.
    pub const ALL: [Category; 20] = [
        Category::Arithmetic,
        Category::Math,
        Category::Vector,
        Category::Matrix,
        Category::ControlFlow,
        Category::Atomic,
        Category::NestedLoop,
        Category::MultiConditional,
        Category::Combined,
        Category::ScalarParam,
        Category::Reduction,
        Category::Stencil,
        Category::Transform,
        Category::Tile,
        Category::Random,
        Category::Grid2d,
        Category::Grid3d,
        Category::Geometry,
        Category::Gather,
        Category::Scatter,
    ];

    /// The snake_case name used in records, flags and files.
    pub fn name(self) -> &'static str {
        match self {
            Category::Arithmetic => "arithmetic",
            Category::Math => "math",
            Category::Vector => "vector",
            Category::Matrix => "matrix",
            Category::ControlFlow => "control_flow",
            Category::Atomic => "atomic",
            Category::NestedLoop => "nested_loop",
            Category::MultiConditional => "multi_conditional",
            Category::Combined => "combined",
            Category::ScalarParam => "scalar_param",
            Category::Reduction => "reduction",
            Category::Stencil => "stencil",
            Category::Transform => "transform",
            Category::Tile => "tile",
            Category::Random => "random",
            Category::Grid2d => "grid_2d",
            Category::Grid3d => "grid_3d",
            Category::Geometry => "geometry",
            Category::Gather => "gather",
            Category::Scatter => "scatter",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Category {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Category::ALL.into_iter().find(|c| c.name() == s).ok_or_else(|| ConfigError::UnknownCategory(s.to_string()))
    }
}

/// Relative weights of the categories; a category absent or at 0 is not generated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CategoryWeights(pub BTreeMap<Category, u32>);

impl Default for CategoryWeights {
    /// Every category at weight 1.
    fn default() -> Self {
        CategoryWeights(Category::ALL.into_iter().map(|c| (c, 1)).collect())
    }
}

impl fmt::Display for CategoryWeights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(c, w)| format!("{c}={w}")).collect();
        f.write_str(&parts.join(","))
    }
}

impl FromStr for CategoryWeights {
    type Err = ConfigError;
    /// Parses `name=weight,name=weight` or `name,name` (weight 1); `all` stands for every category.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut map = BTreeMap::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, weight) = match part.split_once('=') {
                Some((n, w)) => {
                    (n.trim(), w.trim().parse::<u32>().map_err(|_| ConfigError::BadWeight(part.to_string()))?)
                }
                None => (part, 1),
            };
            if name == "all" {
                Category::ALL.into_iter().for_each(|c| {
                    map.insert(c, weight);
                });
            } else {
                map.insert(name.parse()?, weight);
            }
        }
        Ok(CategoryWeights(map))
    }
}

/// Errors in a configuration (flags or file).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A category name that does not exist.
    #[error("unknown category `{0}` (expected one of: {names})", names = Category::ALL.map(|c| c.name()).join(", "))]
    UnknownCategory(String),
    /// A weight that is not a non-negative integer.
    #[error("bad category weight `{0}`: expected name=N with N a non-negative integer")]
    BadWeight(String),
    /// Every category weight is zero.
    #[error("no category has a positive weight")]
    NoCategories,
    /// A numeric limit outside its allowed range.
    #[error("`{name}` must be in {min}..={max}, got {value}")]
    OutOfRange {
        /// The field.
        name: &'static str,
        /// The value given.
        value: u64,
        /// Smallest allowed value.
        min: u64,
        /// Largest allowed value.
        max: u64,
    },
    /// A config file that does not parse.
    #[error("invalid config file: {0}")]
    Parse(String),
}

/// What to generate. Every field is a `generate` flag of the same name (kebab-case) and a key of the
/// `--config` file (snake_case); flags given on the command line override the file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, clap::Args)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Category weights, `name=N,...` (`all=1` for every category). Counts per category follow the weights
    /// exactly (largest remainder); with equal weights they differ by at most one.
    #[arg(long, default_value_t = CategoryWeights::default())]
    pub categories: CategoryWeights,

    /// Most statements in a kernel body, loop and branch bodies included (the generator's fuel).
    #[arg(long, default_value_t = 14)]
    pub max_statements: u32,

    /// Deepest expression tree (operators and calls nested).
    #[arg(long, default_value_t = 3)]
    pub max_expr_depth: u32,

    /// Deepest nesting of `if` and `for` blocks.
    #[arg(long, default_value_t = 3)]
    pub max_nesting: u32,

    /// Largest trip count of a `for` loop (literal or scalar parameter).
    #[arg(long, default_value_t = 8)]
    pub max_loop_trip: u32,

    /// Largest launch dimension the kernels must be valid for (bounds `wp.tid()` in the range analysis).
    #[arg(long, default_value_t = 1024)]
    pub max_launch_dim: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            categories: CategoryWeights::default(),
            max_statements: 14,
            max_expr_depth: 3,
            max_nesting: 3,
            max_loop_trip: 8,
            max_launch_dim: 1024,
        }
    }
}

impl Config {
    /// Parses a TOML file's text.
    ///
    /// # Errors
    /// [`ConfigError::Parse`] with the parser's message (line and column), or a validation error.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let c: Config = toml::from_str(text).map_err(|e| ConfigError::Parse(e.to_string()))?;
        c.validate()?;
        Ok(c)
    }

    /// Parses a JSON file's text.
    ///
    /// # Errors
    /// [`ConfigError::Parse`] with the parser's message, or a validation error.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        let c: Config = serde_json::from_str(text).map_err(|e| ConfigError::Parse(e.to_string()))?;
        c.validate()?;
        Ok(c)
    }

    /// Checks every limit.
    ///
    /// # Errors
    /// The first field out of range, or [`ConfigError::NoCategories`].
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.categories.0.values().all(|w| *w == 0) {
            return Err(ConfigError::NoCategories);
        }
        let check = |name, value: u32, min: u32, max: u32| {
            if value < min || value > max {
                Err(ConfigError::OutOfRange { name, value: value.into(), min: min.into(), max: max.into() })
            } else {
                Ok(())
            }
        };
        check("max_statements", self.max_statements, 4, 200)?;
        check("max_expr_depth", self.max_expr_depth, 1, 8)?;
        check("max_nesting", self.max_nesting, 2, 6)?;
        check("max_loop_trip", self.max_loop_trip, 1, 64)?;
        check("max_launch_dim", self.max_launch_dim, 1, 1 << 20)?;
        Ok(())
    }

    /// The enabled categories with their weights, in canonical order.
    pub fn enabled(&self) -> Vec<(Category, u32)> {
        self.categories.0.iter().filter(|(_, w)| **w > 0).map(|(c, w)| (*c, *w)).collect()
    }

    /// How many of `total` records each enabled category gets: proportional to its weight, rounded by the
    /// largest-remainder (Hamilton) method, ties broken in canonical order. The quotas sum to `total`.
    pub fn quotas(&self, total: usize) -> Vec<(Category, usize)> {
        let enabled = self.enabled();
        let sum: u64 = enabled.iter().map(|(_, w)| u64::from(*w)).sum();
        if sum == 0 {
            return Vec::new();
        }
        let mut out: Vec<(Category, usize, u64)> = enabled
            .iter()
            .map(|(c, w)| {
                let exact = total as u64 * u64::from(*w);
                (*c, (exact / sum) as usize, exact % sum)
            })
            .collect();
        let assigned: usize = out.iter().map(|o| o.1).sum();
        let mut order: Vec<usize> = (0..out.len()).collect();
        order.sort_by(|&a, &b| out[b].2.cmp(&out[a].2).then(a.cmp(&b)));
        for &i in order.iter().take(total - assigned) {
            out[i].1 += 1;
        }
        out.into_iter().map(|(c, n, _)| (c, n)).collect()
    }

    /// The category of every slot `0..total`: the quotas interleaved round-robin, so that a partial run
    /// covers every category.
    pub fn schedule(&self, total: usize) -> Vec<Category> {
        let quotas = self.quotas(total);
        let mut out = Vec::with_capacity(total);
        let mut round = 0;
        while out.len() < total {
            for (c, n) in &quotas {
                if round < *n {
                    out.push(*c);
                }
            }
            round += 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn weights_parse_and_print_round_trip() {
        let w: CategoryWeights = "math=2, vector=0,atomic".parse().unwrap();
        assert_eq!(w.0[&Category::Math], 2);
        assert_eq!(w.0[&Category::Atomic], 1);
        assert_eq!(w.to_string().parse::<CategoryWeights>().unwrap(), w);
        assert!("nope=1".parse::<CategoryWeights>().is_err());
        assert!("math=-1".parse::<CategoryWeights>().is_err());
    }

    #[test]
    fn file_formats_agree_and_reject_unknown_keys() {
        let t = Config::from_toml("max_loop_trip = 4\n[categories]\nmath = 3\n").unwrap();
        let j = Config::from_json(r#"{"max_loop_trip": 4, "categories": {"math": 3}}"#).unwrap();
        assert_eq!(t, j);
        assert_eq!(t.max_loop_trip, 4);
        assert_eq!(t.enabled(), vec![(Category::Math, 3)]);
        assert!(Config::from_toml("max_loop_trip = 0").is_err());
        assert!(Config::from_toml("colour = 1").is_err());
    }

    proptest! {
        #[test]
        fn quotas_sum_to_total_and_follow_weights(total in 0usize..5000, w in proptest::collection::vec(0u32..5, 10)) {
            let cfg = Config { categories: CategoryWeights(Category::ALL.into_iter().zip(w.iter().copied()).collect()), ..Config::default() };
            prop_assume!(cfg.validate().is_ok());
            let q = cfg.quotas(total);
            prop_assert_eq!(q.iter().map(|x| x.1).sum::<usize>(), total);
            let sum: u32 = w.iter().sum();
            for (c, n) in &q {
                let exact = total as f64 * f64::from(cfg.categories.0[c]) / f64::from(sum);
                prop_assert!((*n as f64 - exact).abs() < 1.0 + 1e-9);
            }
            prop_assert_eq!(cfg.schedule(total).len(), total);
        }

        #[test]
        fn equal_weights_balance_within_one(total in 0usize..5000) {
            let q = Config::default().quotas(total);
            let max = q.iter().map(|x| x.1).max().unwrap();
            let min = q.iter().map(|x| x.1).min().unwrap();
            prop_assert!(max - min <= 1);
        }
    }
}
