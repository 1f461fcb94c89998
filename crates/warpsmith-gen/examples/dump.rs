//! Writes `N` kernels per category as Python files into a directory: `cargo run --example dump -- DIR N`.
use std::io::Write;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::path::PathBuf::from(args.get(1).map_or("dump", String::as_str));
    let n: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10);
    std::fs::create_dir_all(&dir)?;
    let cfg = warpsmith_gen::Config::default();
    for c in warpsmith_gen::Category::ALL {
        for s in 0..n {
            let k = warpsmith_gen::generate(c, s, &cfg);
            let mut f = std::fs::File::create(dir.join(format!("{}_{s}.py", c.name())))?;
            f.write_all(warpsmith_ast::python_module(&k).as_bytes())?;
        }
    }
    Ok(())
}
