//! What a launch needs, as data: the named tensors of a kernel's arguments and results, and the launch
//! specification (shape, arguments in signature order, output adjoints). Drawn by the generator
//! (`warpsmith_gen::vectors`), consumed by the oracle, the standalone emitter and the dataset.

use serde::{Deserialize, Serialize};

/// One named tensor: a kernel argument or result. Vector and matrix elements are flattened row-major, so
/// `values.len()` is the product of `shape` and the element's component count.
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
    /// A tile kernel ([`Kernel::is_tiled`](crate::Kernel::is_tiled)): each launch index is a block (`wp.launch_tiled` on CUDA).
    #[serde(default)]
    pub tiled: bool,
    /// Arguments in signature order.
    pub args: Vec<Arg>,
    /// Output adjoints for every float output and accumulator, uniform in `[-1, 1]`.
    pub grad_outputs: Vec<Tensor>,
}

impl LaunchSpec {
    /// The number of threads: the product of the launch shape.
    pub fn threads(&self) -> u32 {
        self.launch_dim.iter().product()
    }

    /// The input arrays and by-value parameters in signature order: what a record stores as `test_inputs`.
    pub fn inputs(&self) -> Vec<Tensor> {
        self.args
            .iter()
            .filter(|a| matches!(a.role, ArgRole::Input | ArgRole::Value))
            .map(|a| a.tensor.clone())
            .collect()
    }
}
