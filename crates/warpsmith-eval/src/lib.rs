//! `warpsmith eval`: scoring a model's completions by execution. Each completion replaces the task's function in
//! its record's module (or, for standalone CUDA, is built with warpsmith's own harness), is compiled and run in
//! a [`sandbox`] on the record's stored inputs and on fresh inputs drawn with [`EVAL_SALT`], and its results are
//! compared with Warp's, computed at evaluation time ([`score`]). Predictions come as JSONL ([`predictions`]).

pub mod predictions;
pub mod sandbox;
pub mod score;

/// Mixed into a record's seed to draw the evaluation's fresh inputs (set k: `launch_spec(kernel, seed ^ (EVAL_SALT + k))`):
/// inside the generator's ranges, never the stored ones, the same on every run. ASCII "evalsalt".
pub const EVAL_SALT: u64 = 0x6576_616c_7361_6c74;
