//! Named fault points, for the durability tests: with `WARPSMITH_FAULT=NAME:SIGNAL[:N]` in the environment the
//! run raises `SIGNAL` on itself (`kill`: SIGKILL, `int`: SIGINT, `term`: SIGTERM) the `N`th time (default the
//! first) it reaches the point `NAME`. Without the variable a point costs one lookup.
//!
//! Points: `start` (directory opened and locked, nothing computed), `block-computed` (a block's records are in
//! memory, not committed), `shard-write` (a block's shard is half written), `journal-write` (a block's shard and
//! index are on disk, the journal does not list it yet), `assemble` (final shards are being written into the
//! staging area), `swap` (the staging area is complete, the swap has not started), `swap-entry` (the swap has
//! moved one entry), `done` (the dataset is in place, the run state not yet removed).
//!
//! Written here rather than with the `fail` crate: the tests need a real signal at an exact point of a release
//! binary, which `fail` offers only behind a compile-time feature.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

use nix::sys::signal::{Signal, raise};

struct Plan {
    name: String,
    signal: Signal,
    nth: u32,
}

fn plan() -> Option<&'static Plan> {
    static PLAN: OnceLock<Option<Plan>> = OnceLock::new();
    PLAN.get_or_init(|| {
        let spec = std::env::var("WARPSMITH_FAULT").ok()?;
        let mut parts = spec.split(':');
        let name = parts.next()?.to_string();
        let signal = match parts.next()? {
            "kill" => Signal::SIGKILL,
            "int" => Signal::SIGINT,
            "term" => Signal::SIGTERM,
            _ => return None,
        };
        let nth = parts.next().and_then(|n| n.parse().ok()).unwrap_or(1);
        Some(Plan { name, signal, nth })
    })
    .as_ref()
}

/// Reaches the fault point `name`.
pub fn point(name: &str) {
    let Some(p) = plan() else { return };
    if p.name != name {
        return;
    }
    static SEEN: Mutex<BTreeMap<String, u32>> = Mutex::new(BTreeMap::new());
    let n = {
        let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
        let n = seen.entry(name.to_string()).or_insert(0);
        *n += 1;
        *n
    };
    if n == p.nth {
        // a test hook: if raising fails the run simply goes on, which the test then reports
        let _ = raise(p.signal);
    }
}
