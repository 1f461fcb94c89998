//! Builtin coverage of the generator alone (no Warp): generates `N` kernels per category (default 200) and
//! prints how many of the registry's builtins they use, then the unused ones by group.
//!
//! `cargo run --release -p warpsmith-gen --example coverage -- 500`

use std::collections::{BTreeMap, BTreeSet};

use warpsmith_gen::catalog::{builtin_of_feature, catalog};
use warpsmith_gen::{Category, Config, generate};

fn main() {
    let n: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(200);
    let cfg = Config::default();
    let mut used: BTreeMap<&'static str, usize> = BTreeMap::new();
    for cat in Category::ALL {
        for seed in 0..n {
            let k = generate(cat, seed, &cfg);
            let names: BTreeSet<&'static str> =
                warpsmith_ast::features(&k).iter().filter_map(|f| builtin_of_feature(f)).collect();
            for b in names {
                *used.entry(b).or_insert(0) += 1;
            }
        }
    }
    let c = catalog();
    println!(
        "{} of {} registry builtins used in {} kernels",
        used.len(),
        c.builtins.len(),
        n * Category::ALL.len() as u64
    );
    for (b, k) in &used {
        println!("  {b:<28} {k}");
    }
    let mut unused: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for b in &c.builtins {
        if !used.contains_key(b.name.as_str()) {
            unused.entry(b.group.as_str()).or_default().push(b.name.as_str());
        }
    }
    for (g, names) in unused {
        println!("unused {g} ({}): {}", names.len(), names.join(" "));
    }
}
