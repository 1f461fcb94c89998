//! Tests of the standalone CUDA emitter: insta snapshots per category, host builds with g++ (always on the
//! machine), Warp's semantics of the helpers, and nvcc when one is available.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use proptest::prelude::*;
use warpsmith_ast::{ArrayLen, ArrayRole, BinOp, Expr, ExprKind, Kernel, Param, ParamKind, Stmt, Type, VarInfo};
use warpsmith_cuda::toolchain::{Status, Toolchain};
use warpsmith_cuda::{Helper, TestCase, Translation, float_lit, prelude, translate};
use warpsmith_gen::vectors::{Tensor, launch_spec};
use warpsmith_gen::{Category, Config};

fn inputs_of(k: &Kernel, seed: u64) -> (Vec<u32>, Vec<Tensor>) {
    let spec = launch_spec(k, seed);
    let inputs = spec.inputs();
    (spec.launch_dim, inputs)
}

/// The categories the standalone translation covers: all but `geometry`, whose scene queries are out of its
/// scope by design (every geometry kernel is refused as such: checked here).
fn translated_categories() -> Vec<Category> {
    // and a kernel with a matrix decomposition is refused as such, naming it
    let with_decomposition = (0..400)
        .map(|seed| warpsmith_gen::generate(Category::Matrix, seed, &Config::default()))
        .find(|k| warpsmith_ast::python_module(k).contains("wp.svd3("))
        .expect("an svd3 among 400 matrix kernels");
    let (launch_dim, inputs) = inputs_of(&with_decomposition, 0);
    let got = translate(&with_decomposition, &TestCase { launch_dim: &launch_dim, inputs: &inputs, expected: None });
    assert!(matches!(got, Err(warpsmith_cuda::EmitError::OutOfScope(w)) if w.contains("decomposition")), "{got:?}");
    for seed in 0..50 {
        let k = warpsmith_gen::generate(Category::Geometry, seed, &Config::default());
        let (launch_dim, inputs) = inputs_of(&k, seed);
        let got = translate(&k, &TestCase { launch_dim: &launch_dim, inputs: &inputs, expected: None });
        assert!(matches!(got, Err(warpsmith_cuda::EmitError::OutOfScope(_))), "geometry seed {seed}");
    }
    Category::ALL.into_iter().filter(|&c| c != Category::Geometry).collect()
}

/// The first seed from `from` on whose `cat` kernel is within the translation's scope (a matrix or combined
/// kernel may call a matrix decomposition, which has no translation).
fn scoped_seed(cat: Category, from: u64) -> u64 {
    (from..from + 100)
        .find(|&s| warpsmith_cuda::out_of_scope(&warpsmith_gen::generate(cat, s, &Config::default())).is_none())
        .expect("a kernel within the translation's scope among 100 seeds")
}

fn translation(cat: Category, seed: u64, expected: Option<&[Tensor]>) -> Translation {
    let k = warpsmith_gen::generate(cat, seed, &Config::default());
    let (launch_dim, inputs) = inputs_of(&k, seed);
    translate(&k, &TestCase { launch_dim: &launch_dim, inputs: &inputs, expected }).expect("translate")
}

fn gxx(dir: &Path, name: &str, source: &str) -> PathBuf {
    let src = dir.join(format!("{name}.cu"));
    std::fs::write(&src, source).expect("write source");
    let exe = dir.join(name);
    let out = Command::new("g++")
        .args(["-std=c++17", "-O1", "-x", "c++"])
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .arg("-lm")
        .output()
        .expect("run g++");
    assert!(out.status.success(), "g++ failed on {name}:\n{}", String::from_utf8_lossy(&out.stderr));
    exe
}

#[test]
fn snapshot_of_the_emitted_cuda_per_category() {
    for cat in translated_categories() {
        let seed = scoped_seed(cat, 42);
        let t = translation(cat, seed, None);
        insta::assert_snapshot!(format!("{}_seed{seed}", cat.name()), t.source);
    }
}

/// Runs a translation built without expected values; returns each output's printed values.
fn printed_outputs(exe: &Path) -> Vec<(String, Vec<f64>)> {
    let out = Command::new(exe).output().expect("run");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (name, vals) = l.split_once(':')?;
            Some((name.to_string(), vals.split_whitespace().map(|v| v.parse().expect("number")).collect()))
        })
        .collect()
}

#[test]
fn host_build_passes_on_its_own_outputs_and_fails_when_one_moves_by_one_percent() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (i, cat) in translated_categories().into_iter().enumerate() {
        let seed = scoped_seed(cat, 100 + i as u64);
        let k = warpsmith_gen::generate(cat, seed, &Config::default());
        let (launch_dim, inputs) = inputs_of(&k, seed);
        let probe =
            translate(&k, &TestCase { launch_dim: &launch_dim, inputs: &inputs, expected: None }).expect("translate");
        let outputs = printed_outputs(&gxx(dir.path(), &format!("probe{i}"), &probe.source));
        assert!(!outputs.is_empty() && outputs.iter().all(|(_, v)| !v.is_empty()), "{}: {outputs:?}", cat.name());
        let mut expected: Vec<Tensor> = outputs
            .iter()
            .map(|(name, values)| Tensor {
                name: name.clone(),
                dtype: String::new(),
                shape: vec![],
                values: values.clone(),
            })
            .collect();
        let same = translate(&k, &TestCase { launch_dim: &launch_dim, inputs: &inputs, expected: Some(&expected) })
            .expect("t");
        let run = Command::new(gxx(dir.path(), &format!("same{i}"), &same.source)).output().expect("run");
        assert!(run.status.success(), "{}: {}", cat.name(), String::from_utf8_lossy(&run.stdout));
        // move the largest float output value by 1%: the test must notice
        let is_float = |name: &str| k.vars.iter().any(|v| v.name == name && v.ty != Type::I32);
        let (t, j) = expected
            .iter()
            .enumerate()
            .filter(|(_, x)| is_float(&x.name))
            .flat_map(|(t, x)| x.values.iter().enumerate().map(move |(j, v)| (t, j, v.abs())))
            .max_by(|a, b| a.2.total_cmp(&b.2))
            .map(|(t, j, _)| (t, j))
            .expect("a value");
        expected[t].values[j] = if expected[t].values[j] == 0.0 { 1.0 } else { expected[t].values[j] * 1.01 };
        let moved = translate(&k, &TestCase { launch_dim: &launch_dim, inputs: &inputs, expected: Some(&expected) })
            .expect("t");
        let run = Command::new(gxx(dir.path(), &format!("moved{i}"), &moved.source)).output().expect("run");
        let stdout = String::from_utf8_lossy(&run.stdout);
        assert!(!run.status.success() && stdout.contains("FAIL"), "{}: {stdout}", cat.name());
    }
}

#[test]
fn toolchain_batches_report_each_translation_and_isolate_a_broken_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut ts: Vec<Translation> = (0..4)
        .map(|s| {
            let s = scoped_seed(Category::Combined, s * 10);
            translation(Category::Combined, s, None)
        })
        .collect();
    // a translation whose section does not compile: the batch fails, and only that one is blamed
    ts[2].section.push_str("int broken( {\n");
    ts[2].source.push_str("int broken( {\n");
    let tc = Toolchain { cxx: "g++".into(), nvcc: None, workdir: dir.path().to_path_buf(), gpu: false };
    let refs: Vec<&Translation> = ts.iter().collect();
    let out = tc.check(&refs, true, true, "batch").expect("check");
    let eq: Vec<&str> = out.iter().map(|o| o.equivalence.as_str()).collect();
    assert_eq!(eq, ["passed", "passed", "failed", "passed"]);
    assert!(matches!(&out[2].equivalence, Status::Failed(m) if m.contains("host build failed")));
    // no nvcc: the compile check is skipped, not passed
    assert!(out.iter().all(|o| o.compile == Status::Skipped));
}

/// nvcc from WARPSMITH_NVCC or the managed environment (`warpsmith setup --cuda`), if present.
fn nvcc() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("WARPSMITH_NVCC") {
        return Some(PathBuf::from(p));
    }
    let home = std::env::var_os("WARPSMITH_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/warpsmith")))?;
    let lib = std::fs::read_dir(home.join("venv-warp-1.19.0/lib")).ok()?;
    lib.flatten().map(|e| e.path().join("site-packages/nvidia/cu13/bin/nvcc")).find(|p| p.is_file())
}

#[test]
fn nvcc_compiles_every_category_to_ptx_when_installed() {
    let Some(nvcc) = nvcc() else {
        // The end-to-end tests install nvcc (`setup --cuda`) and check every record with it; this test only
        // adds coverage on machines where it is already there.
        eprintln!("nvcc not installed: skipped (run `warpsmith setup --cuda`)");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let ts: Vec<Translation> =
        translated_categories().into_iter().map(|c| translation(c, scoped_seed(c, 42), None)).collect();
    for t in &ts {
        let src = dir.path().join(format!("{}.cu", t.name));
        std::fs::write(&src, &t.source).expect("write");
        let out = Command::new(&nvcc)
            .args(["--ptx", "-arch=sm_80"])
            .arg(&src)
            .arg("-o")
            .arg(src.with_extension("ptx"))
            .output()
            .expect("nvcc");
        assert!(out.status.success(), "{}: {}", t.name, String::from_utf8_lossy(&out.stderr));
        let ptx = std::fs::read_to_string(src.with_extension("ptx")).expect("ptx");
        assert!(ptx.contains(".entry") && ptx.contains(&format!("{}_kernel", t.name)), "{}", t.name);
    }
}

#[test]
fn helpers_follow_warps_semantics_where_c_differs() {
    // Expected values are Warp 1.19's documented semantics (warp/native/builtin.h, vec.h), not C's.
    let all: BTreeSet<Helper> =
        [Helper::Sign, Helper::SignI, Helper::ClampF, Helper::Normalize(3), Helper::Degrees, Helper::Smoothstep]
            .into_iter()
            .chain([Helper::LerpF, Helper::Determinant(4), Helper::Determinant(3), Helper::MinI, Helper::ClampI])
            .chain([Helper::NegF])
            .collect();
    let program = format!(
        "{}\nint main() {{\n\
         vec3 z = normalize(make_vec3(0.0f, 0.0f, 0.0f));\n\
         mat44 m = {{{{{{2, 0, 0, 0}}, {{0, 3, 0, 0}}, {{0, 0, 4, 0}}, {{1, 0, 0, 5}}}}}};\n\
         mat33 r = {{{{{{0, 1, 0}}, {{1, 0, 0}}, {{0, 0, 1}}}}}};\n\
         printf(\"%g %g %d\\n\", sign(0.0f), sign(-0.5f), sign(0));\n\
         printf(\"%g %g %g\\n\", z[0], z[1], z[2]);\n\
         printf(\"%g %g\\n\", clampf(5.0f, 2.0f, 1.0f), clampf(-1.0f, 0.0f, 3.0f));\n\
         printf(\"%d %d %g\\n\", -7 / 2, -7 % 3, fmodf(-7.5f, 2.0f));\n\
         printf(\"%.6f %g %g\\n\", degrees(1.0f), smoothstep(0.0f, 2.0f, 1.0f), lerp(1.0f, 3.0f, 0.25f));\n\
         printf(\"%g %g %d %d\\n\", determinant(m), determinant(r), mini(-3, 2), clampi(9, 0, 4));\n\
         volatile int vi = 0; int i = vi; volatile float vx = 0.0f; float x = vx;\n\
         printf(\"%g %g %g\\n\", copysignf(1.0f, wp_neg((float)i)), copysignf(1.0f, wp_neg(fabsf(x))), \
         copysignf(1.0f, wp_neg(0.5f)));\n\
         return 0;\n}}\n",
        prelude(&all)
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(gxx(dir.path(), "semantics", &program)).output().expect("run");
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(String::from).collect();
    assert_eq!(
        lines,
        [
            "1 -1 1",     // sign(0) == 1
            "0 0 0",      // normalize(0) == 0, not NaN
            "1 0",        // clamp with lo > hi gives hi; below lo gives lo
            "-3 -1 -1.5", // C truncation, not Python's floor
            "57.295780 0.5 1.5",
            "120 -1 -3 4",
            "1 1 -1", // Warp's neg is 0 - x: -(+0.0) is +0.0, also where g++ folds an inline 0.0f - (float)i
        ]
    );
}

#[test]
fn integer_float_and_rotation_helpers_follow_warps_definitions() {
    // Expected values from Warp 1.19's definitions: floordiv_signed (builtin.h), frac = x - trunc(x),
    // step = x < 0, bit_count of the two's complement, normalize(quat 0) = identity, quat_rotate (quat.h),
    // argmin's first index on ties (vec.h), norm_huber (math.py).
    let all: BTreeSet<Helper> = [
        Helper::FloorDivI,
        Helper::Frac,
        Helper::Step,
        Helper::BitCount,
        Helper::QuatNormalize,
        Helper::QuatRotate,
        Helper::QuatMul,
        Helper::ArgMin(3),
        Helper::NormHuber(2),
        Helper::TransformPoint,
    ]
    .into_iter()
    .collect();
    let program = format!(
        "{}\nint main() {{\n\
         quat z = normalize(make_quat(0.0f, 0.0f, 0.0f, 0.0f));\n\
         quat q = make_quat(0.0f, 0.0f, 0.70710678f, 0.70710678f);\n\
         vec3 r = quat_rotate(q, make_vec3(1.0f, 0.0f, 0.0f));\n\
         quat qq = q * q;\n\
         vec3 p = transform_point(make_transform(make_vec3(1.0f, 2.0f, 3.0f), q), make_vec3(1.0f, 0.0f, 0.0f));\n\
         printf(\"%d %d %d %d\\n\", floordiv(-7, 2), floordiv(7, -2), floordiv(-6, 3), floordiv(7, 2));\n\
         printf(\"%g %g %g %g\\n\", frac(-1.25f), frac(2.5f), step(-0.5f), step(0.0f));\n\
         printf(\"%d %d %d\\n\", bit_count(7), bit_count(-1), bit_count(0));\n\
         printf(\"%g %g %g %g\\n\", z[0], z[1], z[2], z[3]);\n\
         printf(\"%.4f %.4f %.4f %.4f %.4f\\n\", r[0], r[1], r[2], qq[2], qq[3]);\n\
         printf(\"%.4f %.4f %.4f\\n\", p[0], p[1], p[2]);\n\
         printf(\"%d %g %g\\n\", argmin(make_vec3(2.0f, 1.0f, 1.0f)), norm_huber(make_vec2(0.3f, 0.4f), 1.0f), \
         norm_huber(make_vec2(3.0f, 4.0f), 1.0f));\n\
         return 0;\n}}\n",
        prelude(&all)
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(gxx(dir.path(), "semantics2", &program)).output().expect("run");
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(String::from).collect();
    assert_eq!(
        lines,
        [
            "-4 -4 -2 3",    // Python's //, not C's /
            "-0.25 0.5 1 0", // frac keeps the sign; step(0) == 0
            "3 32 0",        // two's complement
            "0 0 0 1",       // the identity rotation, not NaN
            // 90 degrees about z (2 w^2 - 1 rounds to a tiny negative); q * q is 180 degrees
            "-0.0000 1.0000 0.0000 1.0000 0.0000",
            "1.0000 3.0000 3.0000", // rotate, then translate
            "1 0.125 4.5",          // first minimum; quadratic inside delta, linear outside
        ]
    );
}

#[test]
fn locals_first_assigned_in_two_branches_and_used_after_are_declared_before() {
    // tid = wp.tid(); if tid < 3: x = 1.0 else: x = 2.0; out[tid] = x
    let vars = vec![
        VarInfo { name: "out".into(), ty: Type::F32 },
        VarInfo { name: "tid".into(), ty: Type::I32 },
        VarInfo { name: "x".into(), ty: Type::F32 },
    ];
    let tid = Expr { ty: Type::I32, kind: ExprKind::Var(1) };
    let k = Kernel {
        name: "branchy".into(),
        vars,
        params: vec![Param {
            var: 0,
            kind: ParamKind::Array { role: ArrayRole::Output, len: ArrayLen::Launch },
            range: (0.0, 0.0),
        }],
        body: vec![
            Stmt::Let { var: 1, value: Expr { ty: Type::I32, kind: ExprKind::Tid } },
            Stmt::If {
                cond: Expr::binary(BinOp::Lt, Type::Bool, tid.clone(), Expr::int(3)),
                then: vec![Stmt::Let { var: 2, value: Expr::float(1.0) }],
                elifs: vec![],
                els: vec![Stmt::Let { var: 2, value: Expr::float(2.0) }],
            },
            Stmt::Store { array: 0, index: vec![tid], value: Expr::var(2, Type::F32) },
        ],
        funcs: vec![],
        structs: vec![],
    };
    let expected =
        [Tensor { name: "out".into(), dtype: "float32".into(), shape: vec![5], values: vec![1.0, 1.0, 1.0, 2.0, 2.0] }];
    let t = translate(&k, &TestCase { launch_dim: &[5], inputs: &[], expected: Some(&expected) }).expect("translate");
    assert!(t.section.contains("    float x = 0.0f;\n"), "{}", t.section);
    let dir = tempfile::tempdir().expect("tempdir");
    let run = Command::new(gxx(dir.path(), "branchy", &t.source)).output().expect("run");
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stdout));
}

#[test]
fn a_missing_test_input_is_an_error_not_a_guess() {
    let k = warpsmith_gen::generate(Category::Arithmetic, 3, &Config::default());
    let err = translate(&k, &TestCase { launch_dim: &[16], inputs: &[], expected: None }).expect_err("no inputs");
    assert!(err.to_string().contains("no test input"), "{err}");
}

proptest! {
    #[test]
    fn float_literals_parse_back_to_the_same_float32(bits in any::<u32>()) {
        let f = f32::from_bits(bits);
        prop_assume!(f.is_finite());
        let lit = float_lit(f64::from(f));
        prop_assert!(lit.ends_with('f') && (lit.contains('.') || lit.contains('e')), "{}", lit);
        let back: f32 = lit.trim_end_matches('f').parse().expect("parse");
        prop_assert_eq!(back.to_bits(), f.to_bits());
    }
}

#[test]
fn struct_parameters_and_func_helpers_become_cpp_structs_and_functions_that_build() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = Config::default();
    let with_struct = (0..200u64)
        .map(|s| (s, warpsmith_gen::generate(Category::ScalarParam, s, &cfg)))
        .find(|(_, k)| !k.structs.is_empty())
        .expect("a scalar_param kernel with a @wp.struct parameter in 200 seeds");
    let with_func = (0..200u64)
        .map(|s| (s, warpsmith_gen::generate(Category::Combined, s, &cfg)))
        .find(|(_, k)| !k.funcs.is_empty())
        .expect("a combined kernel with a @wp.func helper in 200 seeds");
    for (i, (seed, k)) in [with_struct, with_func].into_iter().enumerate() {
        let (launch_dim, inputs) = inputs_of(&k, seed);
        let t =
            translate(&k, &TestCase { launch_dim: &launch_dim, inputs: &inputs, expected: None }).expect("translate");
        for d in &k.structs {
            assert!(t.source.contains(&format!("struct {} {{", d.name)), "{}", t.source);
        }
        for f in &k.funcs {
            assert!(t.source.contains(&format!(" {}(", f.def.name)), "{}", t.source);
        }
        let outputs = printed_outputs(&gxx(dir.path(), &format!("composite{i}"), &t.source));
        assert!(!outputs.is_empty() && outputs.iter().all(|(_, v)| !v.is_empty()), "{outputs:?}");
    }
}

/// The two exhaustive matches over the builtin table agree: a builtin the generator writes (by name or through
/// syntax) has a standalone spelling, and a builtin it never writes has none (a translation nothing exercises
/// would be untested code).
#[test]
fn every_builtin_the_generator_writes_has_a_standalone_spelling_and_no_other_does() {
    use warpsmith_ast::Builtin;
    use warpsmith_ast::Family;
    use warpsmith_cuda::emit::{Spelling, spelling};
    use warpsmith_gen::rules::{Rule, rule};
    for &b in Builtin::ALL {
        let generated = !matches!(rule(b), Rule::NotGenerated(_));
        let spelled = !matches!(spelling(b), Spelling::Unsupported(_));
        assert_eq!(generated, spelled, "{b}: rule {:?}, spelling {:?}", rule(b), spelling(b));
        // out of the translation's scope by design: exactly the generated scene queries (the block-cooperative
        // ones and `untile`, which only reads their results, are in the Tile family) and matrix decompositions
        let scene = matches!(b.family(), Family::Geometry | Family::Volumes)
            || matches!(
                b,
                Builtin::TileBvhQueryAabb
                    | Builtin::TileBvhQueryRay
                    | Builtin::TileBvhQueryNext
                    | Builtin::TileMeshQueryAabb
                    | Builtin::TileMeshQueryAabbNext
                    | Builtin::TileQueryValid
                    | Builtin::Untile
            )
            || matches!(b, Builtin::Svd3 | Builtin::Svd2 | Builtin::Qr3 | Builtin::Eig3)
            // Perlin noise, and the block-cooperative stacks
            || matches!(b, Builtin::Noise | Builtin::Pnoise | Builtin::Curlnoise)
            || matches!(
                b,
                Builtin::TileStack
                    | Builtin::TileStackPush
                    | Builtin::TileStackPop
                    | Builtin::TileStackCount
                    | Builtin::TileStackClear
            );
        assert_eq!(
            matches!(spelling(b), Spelling::OutOfScope(_)),
            generated && scene,
            "{b}: spelling {:?}",
            spelling(b)
        );
        if matches!(rule(b), Rule::Syntax) {
            assert_eq!(spelling(b), Spelling::Syntax, "{b}");
        }
    }
}

/// A call of a builtin without a translation is refused with the builtin's name and the reason, not emitted.
#[test]
fn a_builtin_without_a_spelling_is_refused_by_name() {
    use warpsmith_ast::Builtin;
    let mut k = warpsmith_gen::generate(Category::Arithmetic, 1, &Config::default());
    let (launch_dim, inputs) = inputs_of(&k, 1);
    // replace the first float call with wp.select(cond, a, b) (deprecated), which the generator never writes
    let mut replaced = false;
    warpsmith_ast::visit_stmts_mut(&mut k.body, &mut |s| {
        for e in s.exprs_mut() {
            e.replace_where(&mut |x| {
                if replaced || x.ty != Type::F32 || !matches!(x.kind, ExprKind::Call(..)) {
                    return None;
                }
                replaced = true;
                let cond = Expr { ty: Type::Bool, kind: ExprKind::Bool(true) };
                Some(Expr::call(Builtin::Select, Type::F32, vec![cond, Expr::float(0.5), Expr::float(1.5)]))
            });
        }
    });
    assert!(replaced, "seed 1 of arithmetic calls a float builtin");
    let err = translate(&k, &TestCase { launch_dim: &launch_dim, inputs: &inputs, expected: None })
        .expect_err("wp.select has no translation");
    assert!(err.to_string().contains("wp.select"), "{err}");
}

/// `round_half` (the standalone `wp.float16` cast) rounds as IEEE 754 binary16 does, to nearest with ties to
/// even: compared with g++'s `_Float16` (the type Warp's CPU build uses, clang's `_Float16`) on 17 million
/// float32 bit patterns (every 251st) and on every tie between neighbouring half values below 2 and near the
/// largest, and the same comparison rejects a variant that rounds ties away from zero.
#[test]
fn round_half_is_binary16_rounding_ties_to_even() {
    let all: BTreeSet<Helper> = [Helper::RoundHalf].into_iter().collect();
    let program = format!(
        "{}\n\
         HD inline float round_half_away(float x) {{\n\
             unsigned int u; memcpy(&u, &x, 4); unsigned int a = u & 0x7fffffffu;\n\
             if (a >= 0x7f800000u || a < 0x38800000u) return round_half(x);\n\
             a = (a + 0x1000u) & ~0x1fffu; if (a >= 0x47800000u) a = 0x7f800000u;\n\
             float r; memcpy(&r, &a, 4); return (u >> 31) ? -r : r;\n\
         }}\n\
         static bool same(float a, float b) {{ unsigned int x, y; memcpy(&x, &a, 4); memcpy(&y, &b, 4); \
         return x == y || (a != a && b != b); }}\n\
         int main() {{\n\
             long bad = 0, bad_away = 0, n = 0;\n\
             for (unsigned long long i = 0; i < 0x100000000ull; i += 251) {{\n\
                 unsigned int u = (unsigned int)i; float x; memcpy(&x, &u, 4);\n\
                 float want = (float)(_Float16)x;\n\
                 bad += !same(round_half(x), want); bad_away += !same(round_half_away(x), want); ++n;\n\
             }}\n\
             for (int k = 0; k < 0x7c00; ++k) {{\n\
                 if (k > 0x4000 && k < 0x7800) continue;\n\
                 unsigned short h0 = (unsigned short)k, h1 = (unsigned short)(k + 1);\n\
                 _Float16 a, b; memcpy(&a, &h0, 2); memcpy(&b, &h1, 2);\n\
                 float x = ((float)a + (float)b) * 0.5f;\n\
                 float want = (float)(_Float16)x;\n\
                 bad += !same(round_half(x), want); bad_away += !same(round_half_away(x), want); ++n;\n\
             }}\n\
             printf(\"%ld %ld %ld\\n\", n, bad, bad_away);\n\
             return 0;\n\
         }}\n",
        prelude(&all)
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(gxx(dir.path(), "round_half", &program)).output().expect("run");
    let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let v: Vec<i64> = line.split(' ').map(|x| x.parse().expect("a count")).collect();
    assert!(v[0] > 17_000_000, "{line}");
    assert_eq!(v[1], 0, "round_half differs from _Float16 on {} of {} values", v[1], v[0]);
    assert!(v[2] > 1000, "the comparison must reject rounding ties away from zero: {line}");
}

/// `round_bfloat16` (the standalone `wp.bfloat16` cast) is Warp's own rounding: compared with the body of
/// `wp_float_to_bfloat16_bits_sw` (warp/native/builtin.h, Warp 1.19.0, copied into the program as the
/// reference) on 17 million finite float32 bit patterns, with ties checked by hand (1 + 2^-8 rounds to 1, 1 + 3
/// 2^-8 to 1 + 2^-6), and the comparison rejects truncation.
#[test]
fn round_bfloat16_is_warps_rounding() {
    let all: BTreeSet<Helper> = [Helper::RoundBfloat16].into_iter().collect();
    let program = format!(
        "{}\n\
         static float warp_bf16(float x) {{\n\
             unsigned int bits; memcpy(&bits, &x, sizeof(bits));\n\
             unsigned int rounding_bias = (bits >> 16) & 1; bits += 0x7FFF + rounding_bias;\n\
             bits &= 0xffff0000u; float r; memcpy(&r, &bits, 4); return r;\n\
         }}\n\
         static float truncated(float x) {{ unsigned int u; memcpy(&u, &x, 4); u &= 0xffff0000u; \
         float r; memcpy(&r, &u, 4); return r; }}\n\
         int main() {{\n\
             long bad = 0, bad_trunc = 0, n = 0;\n\
             for (unsigned long long i = 0; i < 0x100000000ull; i += 251) {{\n\
                 unsigned int u = (unsigned int)i; if ((u & 0x7f800000u) == 0x7f800000u) continue;\n\
                 float x; memcpy(&x, &u, 4); float want = warp_bf16(x);\n\
                 bad += round_bfloat16(x) != want; bad_trunc += truncated(x) != want; ++n;\n\
             }}\n\
             printf(\"%ld %ld %ld %g %g\\n\", n, bad, bad_trunc, round_bfloat16(1.00390625f), \
             round_bfloat16(1.01171875f));\n\
             return 0;\n\
         }}\n",
        prelude(&all)
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(gxx(dir.path(), "round_bfloat16", &program)).output().expect("run");
    let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let v: Vec<&str> = line.split(' ').collect();
    let count = |i: usize| v[i].parse::<i64>().expect("a count");
    assert!(count(0) > 16_000_000, "{line}");
    assert_eq!(count(1), 0, "round_bfloat16 differs from Warp's rounding: {line}");
    assert!(count(2) > 1000, "the comparison must reject truncation: {line}");
    assert_eq!((v[3], v[4]), ("1", "1.01562"), "ties to even: {line}");
}
