//! What the end-to-end test binaries share: the warpsmith binary, the Python environment with real Warp,
//! and reading a dataset's shards.

#![allow(dead_code)] // each test binary uses its own part

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The warpsmith binary under test.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_warpsmith"))
}

/// The interpreter with warp-lang, datasets and Ray, set up once per test binary.
pub fn python() -> &'static Path {
    static PY: OnceLock<PathBuf> = OnceLock::new();
    PY.get_or_init(|| {
        if let Some(p) = std::env::var_os("WARPSMITH_PYTHON") {
            return PathBuf::from(p);
        }
        let out = bin()
            .args(["setup", "--cuda", "--with", "datasets", "--with", "ray"])
            .output()
            .expect("run warpsmith setup");
        assert!(out.status.success(), "setup failed: {}", String::from_utf8_lossy(&out.stderr));
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    })
}

/// Every file under `DIR/data`, by name.
pub fn parquet_bytes(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir.join("data"))
        .expect("data dir")
        .map(|e| e.expect("entry").path())
        .map(|p| (p.file_name().unwrap_or_default().to_string_lossy().to_string(), std::fs::read(&p).expect("read")))
        .collect()
}
