//! Emits `N` kernels per category (test inputs only, no expected outputs) and runs the compile and host
//! checks on them: `cargo run -p warpsmith-cuda --example emit_all -- DIR N [NVCC]`.
use std::path::PathBuf;

use warpsmith_cuda::toolchain::Toolchain;
use warpsmith_cuda::{TestCase, translate};
use warpsmith_gen::vectors::launch_spec;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let dir = PathBuf::from(args.get(1).map_or("emit", String::as_str));
    let n: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10);
    let nvcc = args.get(3).map(PathBuf::from);
    let cfg = warpsmith_gen::Config::default();
    let mut ts = Vec::new();
    for c in warpsmith_gen::Category::ALL {
        for s in 0..n {
            let k = warpsmith_gen::generate(c, s, &cfg);
            let spec = launch_spec(&k, s);
            let inputs = spec.inputs();
            match translate(&k, &TestCase { launch_dim: &spec.launch_dim, inputs: &inputs, expected: None }) {
                Ok(t) => ts.push(t),
                Err(e) => println!("{} {s}: {e}", c.name()),
            }
        }
    }
    let tc = Toolchain { cxx: "g++".into(), nvcc, workdir: dir, gpu: false };
    let refs: Vec<_> = ts.iter().collect();
    let t0 = std::time::Instant::now();
    let out = tc.check(&refs, true, true, "all")?;
    for (t, o) in ts.iter().zip(&out) {
        if let warpsmith_cuda::toolchain::Status::Failed(m) = &o.compile {
            println!("{} compile: {m}", t.name);
        }
        if let warpsmith_cuda::toolchain::Status::Failed(m) = &o.equivalence {
            println!("{} host: {m}", t.name);
        }
    }
    println!("{} translations checked in {:.1} s", ts.len(), t0.elapsed().as_secs_f64());
    Ok(())
}
