//! What a launch needs, as data: the named tensors of a kernel's arguments and results, and the launch
//! specification (shape, arguments in signature order, output adjoints). Drawn by the generator
//! (`warpsmith_gen::vectors`), consumed by the oracle, the standalone emitter and the dataset.

use serde::{Deserialize, Serialize};

/// One named tensor: a kernel argument or result. Vector and matrix elements are flattened row-major, so
/// `values.len()` is the product of `shape` and the element's component count.
///
/// A scene object passed as a `wp.uint64` handle ([`ArgRole::Scene`], [`crate::Scene`]) is one tensor whose
/// `dtype` names the object and whose values are its arrays, flattened in this order (all exact in float32):
///
/// | `dtype` | `shape` | `values` |
/// |---|---|---|
/// | `mesh` | `[P, F]` | `P` points (xyz), `3 F` vertex indices, `P` velocities (xyz) |
/// | `hash_grid` | `[N]` | `N` points (xyz), then the cell size and the grid's 3 dimensions |
/// | `bvh` | `[N]` | `N` lower corners (xyz), then `N` upper corners (xyz) |
/// | `volume_f`, `volume_i` | `[X, Y, Z]` | `X Y Z` voxels (x slowest), then the voxel size |
/// | `volume_v` | `[X, Y, Z]` | `X Y Z` voxels of 3 components (x slowest), then the voxel size |
///
/// A mesh is built with `support_winding_number=True`, and every mesh and BVH with groups: face or box `j` is
/// in group `j % 2` (`groups=` an int32 array; queries given a `wp.mesh_get_group_root` /
/// `wp.bvh_get_group_root` visit one group, the others all).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tensor {
    /// The parameter name.
    pub name: String,
    /// Warp dtype short name: `float32`, `int32`, `vec3`, `mat33`, ...
    pub dtype: String,
    /// Array shape (`[n]`, `[n0, n1]`, `[n0, n1, n2]`), or `[]` for a by-value scalar.
    pub shape: Vec<i32>,
    /// The values; float32 values are exactly representable (rounded to float32 before storage).
    pub values: Vec<f64>,
}

/// How a parameter is used, for the worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArgRole {
    /// Read-only array.
    Input,
    /// Written at `tid`.
    Output,
    /// Updated by atomics; starts at zero.
    Accumulator,
    /// By-value parameter.
    Value,
    /// A scene object's `wp.uint64` handle: the worker builds the object from the tensor (layout in [`Tensor`])
    /// and passes its `id`; stored in `test_inputs` like an input.
    Scene,
}

impl ArgRole {
    /// True for the arguments a record stores as `test_inputs` (drawn values): inputs, by-value parameters
    /// and scenes.
    pub fn is_drawn(self) -> bool {
        matches!(self, ArgRole::Input | ArgRole::Value | ArgRole::Scene)
    }
}

/// One launch argument in signature order: its role and (for inputs and values) its contents; outputs and
/// accumulators start as zeros of the given shape.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Arg {
    /// Role.
    pub role: ArgRole,
    /// Name, dtype, shape and (inputs, values) contents.
    pub tensor: Tensor,
}

/// Everything needed to launch a kernel and seed its backward pass.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LaunchSpec {
    /// The launch shape: `[threads]` for a 1-D kernel, 2 or 3 extents for a 2-D/3-D kernel
    /// ([`Kernel::ndim`](crate::Kernel::ndim)); launch-shaped arrays have this shape.
    pub launch_dim: Vec<u32>,
    /// Each launch index is a block on CUDA (`wp.launch_tiled`): a tile kernel or a block-cooperative scene query
    /// ([`Kernel::launches_blocks`](crate::Kernel::launches_blocks)).
    #[serde(default)]
    pub tiled: bool,
    /// Arguments in signature order.
    pub args: Vec<Arg>,
    /// Output adjoints for every float output and accumulator, uniform in `[-1, 1]`.
    pub grad_outputs: Vec<Tensor>,
}

/// The number of values a scene tensor of `dtype` and `shape` holds (layout in [`Tensor`]); `None` when `dtype`
/// is not a scene's or `shape` has the wrong rank.
pub fn scene_values(dtype: &str, shape: &[i32]) -> Option<usize> {
    let n = |i: usize| shape.get(i).and_then(|&d| usize::try_from(d).ok());
    match (dtype, shape.len()) {
        ("mesh", 2) => Some(6 * n(0)? + 3 * n(1)?),
        ("hash_grid", 1) => Some(3 * n(0)? + 4),
        ("bvh", 1) => Some(6 * n(0)?),
        ("volume_f" | "volume_i", 3) => Some(n(0)? * n(1)? * n(2)? + 1),
        ("volume_v", 3) => Some(3 * n(0)? * n(1)? * n(2)? + 1),
        _ => None,
    }
}

impl LaunchSpec {
    /// The number of threads: the product of the launch shape.
    pub fn threads(&self) -> u32 {
        self.launch_dim.iter().product()
    }

    /// The input arrays, by-value parameters and scenes in signature order: what a record stores as
    /// `test_inputs` ([`ArgRole::is_drawn`]).
    pub fn inputs(&self) -> Vec<Tensor> {
        self.args.iter().filter(|a| a.role.is_drawn()).map(|a| a.tensor.clone()).collect()
    }
}
