//! Standalone CUDA for warpsmith records: a readable, self-contained `.cu` translation of each kernel from
//! the typed AST (no Warp headers), and the checks that prove it: `nvcc --ptx` compiles it, and the same
//! source built as host C++ reproduces Warp's outputs on the record's test inputs.
//!
//! - [`emit`] and [`helpers`] are pure: AST and test vectors in, C++ text out.
//! - [`toolchain`] runs the compilers (nvcc, a host C++ compiler) and the host binaries; it is the only
//!   module that does I/O.
//!
//! The kernel body is emitted once, as an `HD` (`__host__ __device__` under nvcc) function of the thread
//! index; the `__global__` kernel calls it in a grid-stride loop, and the host build calls it for each
//! thread in order, as Warp's CPU backend does. So the host check runs the very code that nvcc compiles.

pub mod emit;
pub mod helpers;
pub mod toolchain;

use std::collections::BTreeSet;

pub use emit::{EmitError, TestCase, Translation, float_lit, out_of_scope, translate};
pub use helpers::Helper;

/// The shared part of a translation unit: includes and macros, the helpers in `set` (closed under their
/// dependencies), and the test harness's comparison functions.
pub fn prelude(set: &BTreeSet<Helper>) -> String {
    let helpers = helpers::helper_code(set);
    format!("{}\n{helpers}\n{}", helpers::HEAD, helpers::HARNESS)
}

/// Marker line that a batch's `main()` prints after each record's test: `@@warpsmith <index> <failures>`.
pub const BATCH_MARKER: &str = "@@warpsmith";

/// One translation unit holding several translations, for checking them with one compiler run: the union
/// prelude, each [`Translation::section`] verbatim in its own namespace `r<i>`, and a `main()` that runs
/// every test and prints [`BATCH_MARKER`] lines.
pub fn batch_unit(items: &[&Translation]) -> String {
    let mut set = BTreeSet::new();
    for t in items {
        set.extend(t.helpers.iter().copied());
    }
    let mut s = prelude(&set);
    for (i, t) in items.iter().enumerate() {
        s.push_str(&format!("\nnamespace r{i} {{  // {}\n{}}}  // namespace r{i}\n", t.name, t.section));
    }
    s.push_str("\nint main() {\n    setvbuf(stdout, NULL, _IOLBF, 0);\n");
    for i in 0..items.len() {
        s.push_str(&format!("    printf(\"{BATCH_MARKER} {i} %d\\n\", r{i}::run_test());\n"));
    }
    s.push_str("    return 0;\n}\n");
    s
}
