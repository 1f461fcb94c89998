//! `warpsmith bench` end to end, at a small count: real runs at two verification levels and Warp's floor
//! harness on the same kernels, with real Warp.

mod common;
use common::{bin, python};

#[test]
fn bench_times_each_level_and_stage_against_warps_floor_on_the_same_kernels() {
    let out = bin()
        .args(["bench", "--count", "4", "--seed", "3", "--levels", "codegen,full", "--json", "--workers", "2"])
        .arg("--python")
        .arg(python())
        .output()
        .expect("run warpsmith bench");
    assert!(out.status.success(), "bench failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    let levels = r["levels"].as_array().expect("levels");
    assert_eq!(levels.iter().map(|l| l["level"].as_str().unwrap_or_default()).collect::<Vec<_>>(), ["codegen", "full"]);
    for l in levels {
        assert_eq!(l["records"], 4);
        for key in ["wall_seconds", "cpu_seconds", "records_per_second", "records_per_core_second"] {
            assert!(l[key].as_f64().is_some_and(|x| x > 0.0), "{key} in {l}");
        }
        // a core cannot do more than wall time allows
        let (wall, cpu) = (l["wall_seconds"].as_f64().unwrap_or(0.0), l["cpu_seconds"].as_f64().unwrap_or(0.0));
        assert!(cpu <= wall * 2.0 * 1.2 + 1.0, "cpu {cpu} s in {wall} s on 2 workers");
    }
    // the full level ran the forward-only build, the build with adjoints and NVRTC; codegen ran only codegen
    let full = &levels[1]["stage_seconds"];
    for stage in ["codegen", "cpu_compile_forward", "cpu_compile", "launch", "liveness", "gradient", "standalone"] {
        assert!(full[stage].as_f64().is_some_and(|x| x > 0.0), "{stage} in {full}");
    }
    assert!(full["ptx"].as_f64().unwrap_or(0.0) + full["ptx_front_end"].as_f64().unwrap_or(0.0) > 0.0, "{full}");
    assert!(levels[0]["stage_seconds"].get("cpu_compile").is_none(), "{}", levels[0]);
    assert_eq!(r["floor_kernels"], 4);
    for stage in ["codegen", "cpu_compile", "launch_tape", "nvrtc"] {
        assert!(r["floor_seconds"][stage].as_f64().is_some_and(|x| x > 0.0), "floor {stage}: {}", r["floor_seconds"]);
    }
    assert!(r["codegen_vs_floor"].as_f64().is_some_and(|x| x > 0.0 && x.is_finite()));
    let stages = r["stages"].as_array().expect("stages");
    for s in stages.iter().filter(|s| s["floor_per_kernel"].is_number()) {
        assert!(s["ratio"].as_f64().is_some_and(|x| x > 0.0 && x.is_finite()), "{s}");
    }
}
