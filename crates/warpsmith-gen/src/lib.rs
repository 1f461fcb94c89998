//! warpsmith's kernel generator: configuration, categories as generation policies, value-range analysis,
//! and the generator itself. Pure and deterministic: no I/O, the same `(category, seed, config)` always gives
//! the same [`Kernel`](warpsmith_ast::Kernel).

pub mod catalog;
pub mod config;
pub mod generate;
pub mod interval;
pub mod policy;
pub mod rules;
pub mod sample;
pub mod vectors;

pub use config::{Category, CategoryWeights, Config, ConfigError};
pub use generate::generate;

/// The seed of one candidate kernel: the first 8 bytes (little-endian) of
/// `BLAKE3("warpsmith-record" || master || slot || attempt)`, each integer as 8 little-endian bytes.
///
/// `slot` is the record's position in the run's schedule and `attempt` counts regenerations of that slot
/// (after a duplicate or a failure). Portable and independent of worker count and scheduling.
pub fn record_seed(master: u64, slot: u64, attempt: u64) -> u64 {
    let mut h = blake3::Hasher::new();
    h.update(b"warpsmith-record");
    h.update(&master.to_le_bytes());
    h.update(&slot.to_le_bytes());
    h.update(&attempt.to_le_bytes());
    let bytes = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&bytes.as_bytes()[..8]);
    u64::from_le_bytes(first)
}
