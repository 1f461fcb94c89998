//! Test vectors: deterministic launch inputs for a kernel, drawn from its record seed inside the ranges the
//! generator declared for each parameter (the ranges its value analysis assumed).

use rand::prelude::*;
use rand_chacha::ChaCha8Rng;
use warpsmith_ast::{ArrayLen, ArrayRole, Kernel, ParamKind, Scene, Type, Voxel};

pub use warpsmith_ast::launch::{Arg, ArgRole, LaunchSpec, Tensor};

/// Extents drawn per axis of a 2-D launch (9 to 36 threads).
pub const GRID_2D_EXTENT: (u32, u32) = (3, 6);
/// Extents drawn per axis of a 3-D launch (8 to 64 threads).
pub const GRID_3D_EXTENT: (u32, u32) = (2, 4);

/// Blocks drawn for a tile kernel (each loads tiles of up to 32 elements).
pub const TILE_BLOCKS: (u32, u32) = (2, 6);

/// Smallest launch dimension drawn.
pub const MIN_LAUNCH_DIM: u32 = 16;
/// Largest launch dimension drawn (small enough for finite differences, large enough to see variation).
pub const MAX_LAUNCH_DIM: u32 = 32;

fn f32_round(v: f64) -> f64 {
    f64::from(v as f32)
}

/// Draws the launch for `kernel` from `seed` (independent of the generator's stream: the seed is re-mixed).
pub fn launch_spec(kernel: &Kernel, seed: u64) -> LaunchSpec {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7465_7374_7665_6374); // "testvect"
    let launch_dim: Vec<u32> = match kernel.ndim() {
        1 if kernel.is_tiled() => vec![rng.random_range(TILE_BLOCKS.0..=TILE_BLOCKS.1)],
        1 => vec![rng.random_range(MIN_LAUNCH_DIM..=MAX_LAUNCH_DIM)],
        n => {
            let (lo, hi) = if n == 2 { GRID_2D_EXTENT } else { GRID_3D_EXTENT };
            (0..n).map(|_| rng.random_range(lo..=hi)).collect()
        }
    };
    fill(kernel, &mut rng, launch_dim)
}

/// A wide launch of a non-tile kernel: `extent` threads along `axis` (`axis % ndim`) and the smallest drawn
/// extent along the others (1-D: `[extent]`; 2-D: at most `extent * 3` threads; 3-D: `extent * 4`), inputs drawn
/// from `seed` as [`launch_spec`] draws them. The generator's range analysis holds for any launch index below
/// its `max_launch_dim`, so a wide launch at that extent reaches branches and clamps that the dataset's small
/// launches never do (`if tid > 183`); `eval` draws some of its fresh inputs this way. A tile kernel gets
/// [`launch_spec`]'s launch (its extent is a block count).
pub fn wide_launch_spec(kernel: &Kernel, seed: u64, axis: usize, extent: u32) -> LaunchSpec {
    if kernel.is_tiled() {
        return launch_spec(kernel, seed);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7769_6465_7465_7374); // "widetest"
    let n = kernel.ndim();
    let least = if n == 2 { GRID_2D_EXTENT.0 } else { GRID_3D_EXTENT.0 };
    let launch_dim = (0..n).map(|a| if a == axis % n { extent.max(1) } else { least }).collect();
    fill(kernel, &mut rng, launch_dim)
}

/// [`launch_spec`]'s launch with each float and integer input element at an end of its parameter's range
/// (the lower or the upper bound, drawn with equal odds; scene contents as [`launch_spec`] draws them). The
/// generator's validity holds for every value in the declared ranges, so these are valid inputs; they reach the
/// thresholds, clamp bounds and `wp.min`/`wp.max` switches near the ends of the ranges, which uniform draws
/// rarely do. `eval` draws some of its fresh inputs this way.
pub fn extreme_launch_spec(kernel: &Kernel, seed: u64) -> LaunchSpec {
    let mut spec = launch_spec(kernel, seed);
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6578_7472_656d_6573); // "extremes"
    let ranges: Vec<(f64, f64)> = kernel.params.iter().map(|p| p.range).collect();
    for (arg, &(lo, hi)) in spec.args.iter_mut().zip(&ranges) {
        if !matches!(arg.role, ArgRole::Input | ArgRole::Value)
            || !(matches!(arg.tensor.dtype.as_str(), "float32" | "int32") || arg.tensor.dtype.starts_with("vec"))
        {
            continue;
        }
        let int = arg.tensor.dtype == "int32";
        for v in &mut arg.tensor.values {
            let end = if rng.random_bool(0.5) { lo } else { hi };
            *v = if int { if end == lo { lo.ceil() } else { hi.floor() } } else { f32_round(end) };
        }
    }
    spec
}

/// The arguments of a launch of shape `launch_dim`: inputs drawn from `rng` within each parameter's range,
/// outputs empty, output adjoint seeds in `[-1, 1]`.
fn fill(kernel: &Kernel, rng: &mut ChaCha8Rng, launch_dim: Vec<u32>) -> LaunchSpec {
    let mut args = Vec::new();
    let mut grad_outputs = Vec::new();
    for p in &kernel.params {
        let v = &kernel.vars[p.var];
        let comps = v.ty.components();
        let (role, shape) = match p.kind {
            ParamKind::Array { role, len } => {
                let shape = match len {
                    ArrayLen::Launch => launch_dim.clone(),
                    ArrayLen::Fixed(k) => vec![k],
                    ArrayLen::Tiled(k) => vec![launch_dim[0] * k],
                    ArrayLen::Tiled2(r, c) => vec![launch_dim[0] * r, c],
                    ArrayLen::Fixed2(r, c) => vec![r, c],
                };
                let r = match role {
                    ArrayRole::Input => ArgRole::Input,
                    ArrayRole::Output => ArgRole::Output,
                    ArrayRole::Accumulator => ArgRole::Accumulator,
                };
                (r, shape)
            }
            ParamKind::Value => (ArgRole::Value, Vec::new()),
        };
        let count = shape.iter().map(|&n| n as usize).product::<usize>() * comps;
        let shape: Vec<i32> = shape.iter().map(|&n| n as i32).collect();
        if let Type::Scene(scene) = v.ty {
            args.push(Arg { role: ArgRole::Scene, tensor: scene_tensor(&v.name, scene, p.range, rng) });
            continue;
        }
        if let Type::Struct(i) = v.ty {
            // a @wp.struct by value: its fields' values flattened in declaration order, each in its range
            let mut values = Vec::new();
            for f in kernel.structs.get(usize::from(i)).map(|d| d.fields.as_slice()).unwrap_or_default() {
                let (lo, hi) = f.range;
                for _ in 0..f.ty.components() {
                    values.push(if f.ty == Type::I32 {
                        rng.random_range(lo.ceil() as i64..=hi.floor() as i64) as f64
                    } else {
                        f32_round(rng.random_range(lo..=hi))
                    });
                }
            }
            let tensor = Tensor { name: v.name.clone(), dtype: v.ty.short_name(), shape, values };
            args.push(Arg { role, tensor });
            continue;
        }
        let (lo, hi) = p.range;
        let values: Vec<f64> = match role {
            ArgRole::Input | ArgRole::Value => (0..count)
                .map(|_| {
                    if v.ty == Type::I32 {
                        rng.random_range(lo.ceil() as i64..=hi.floor() as i64) as f64
                    } else {
                        f32_round(rng.random_range(lo..=hi))
                    }
                })
                .collect(),
            ArgRole::Output | ArgRole::Accumulator | ArgRole::Scene => Vec::new(),
        };
        let tensor = Tensor { name: v.name.clone(), dtype: v.ty.short_name(), shape: shape.clone(), values };
        if matches!(role, ArgRole::Output | ArgRole::Accumulator) && v.ty != Type::I32 {
            let seeds = (0..count).map(|_| f32_round(rng.random_range(-1.0..=1.0))).collect();
            grad_outputs.push(Tensor { name: v.name.clone(), dtype: v.ty.short_name(), shape, values: seeds });
        }
        args.push(Arg { role, tensor });
    }
    LaunchSpec { launch_dim, tiled: kernel.launches_blocks(), args, grad_outputs }
}

/// Draws a scene object's contents within `range` (points, velocities, box centres, voxels), laid out as
/// [`Tensor`] documents: a mesh's faces are three distinct vertices each; a box's half extent is in
/// `[0.05, 0.5]`; a hash grid's cell size is 0.25, 0.5 or 1 on an 8 x 8 x 8 grid.
fn scene_tensor(name: &str, scene: Scene, (lo, hi): (f64, f64), rng: &mut ChaCha8Rng) -> Tensor {
    let draw =
        |n: usize, rng: &mut ChaCha8Rng| -> Vec<f64> { (0..n).map(|_| f32_round(rng.random_range(lo..=hi))).collect() };
    let (shape, values) = match scene {
        Scene::Mesh { points, faces } => {
            let mut values = draw(usize::from(points) * 3, rng);
            for _ in 0..faces {
                let tri = rand::seq::index::sample(rng, usize::from(points), 3);
                values.extend(tri.iter().map(|i| i as f64));
            }
            values.extend(draw(usize::from(points) * 3, rng));
            (vec![i32::from(points), i32::from(faces)], values)
        }
        Scene::HashGrid { points } => {
            let mut values = draw(usize::from(points) * 3, rng);
            values.push(*[0.25, 0.5, 1.0].choose(rng).unwrap_or(&0.5));
            values.extend([8.0, 8.0, 8.0]);
            (vec![i32::from(points)], values)
        }
        Scene::Bvh { boxes } => {
            let centres = draw(usize::from(boxes) * 3, rng);
            let half: Vec<f64> = centres.iter().map(|_| rng.random_range(0.05..=0.5)).collect();
            let lowers = centres.iter().zip(&half).map(|(c, h)| f32_round(c - h));
            let uppers: Vec<f64> = centres.iter().zip(&half).map(|(c, h)| f32_round(c + h)).collect();
            (vec![i32::from(boxes)], lowers.chain(uppers).collect())
        }
        Scene::Volume { voxel, dims, quarters } => {
            let cells = dims.iter().map(|&d| usize::from(d)).product::<usize>();
            let mut values = match voxel {
                Voxel::F32 => draw(cells, rng),
                Voxel::Vec3 => draw(cells * 3, rng),
                Voxel::I32 => {
                    (0..cells).map(|_| rng.random_range(lo.ceil() as i64..=hi.floor() as i64) as f64).collect()
                }
            };
            values.push(f64::from(quarters) / 4.0);
            (dims.iter().map(|&d| i32::from(d)).collect(), values)
        }
    };
    Tensor { name: name.to_string(), dtype: scene.dtype().to_string(), shape, values }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Category, Config, generate};

    #[test]
    fn inputs_respect_declared_ranges_and_shapes() {
        let cfg = Config::default();
        for cat in Category::ALL {
            for seed in 0..50 {
                let k = generate(cat, seed, &cfg);
                let spec = launch_spec(&k, seed);
                assert_eq!(spec, launch_spec(&k, seed));
                assert_eq!(spec.launch_dim.len(), k.ndim());
                let least = if k.is_tiled() { TILE_BLOCKS.0 } else { 8 };
                assert!((least..=MAX_LAUNCH_DIM * 2).contains(&spec.threads()), "{:?}", spec.launch_dim);
                for (a, p) in spec.args.iter().zip(&k.params) {
                    let comps = k.vars[p.var].ty.components();
                    if let Type::Struct(i) = k.vars[p.var].ty {
                        // one value per field component, each in its field's range
                        let fields = &k.structs[usize::from(i)].fields;
                        let ranges: Vec<(f64, f64)> =
                            fields.iter().flat_map(|f| std::iter::repeat_n(f.range, f.ty.components())).collect();
                        assert_eq!(a.tensor.dtype, "struct");
                        assert_eq!(a.tensor.values.len(), ranges.len());
                        assert!(a.tensor.values.iter().zip(&ranges).all(|(v, r)| *v >= r.0 && *v <= r.1));
                        continue;
                    }
                    match a.role {
                        ArgRole::Input | ArgRole::Value => {
                            let n: i32 = a.tensor.shape.iter().product();
                            assert_eq!(a.tensor.values.len(), n as usize * comps);
                            assert!(
                                a.tensor
                                    .values
                                    .iter()
                                    .all(|v| *v >= p.range.0 && *v <= p.range.1 && (*v as f32) as f64 == *v)
                            );
                        }
                        ArgRole::Scene => check_scene(&a.tensor, k.vars[p.var].ty, p.range),
                        _ => assert!(a.tensor.values.is_empty()),
                    }
                }
            }
        }
    }

    /// A scene tensor has [`Tensor`]'s layout for its kind, its contents in the parameter's range, a mesh's
    /// faces three distinct valid vertices, a box's lower corner below its upper one.
    fn check_scene(t: &Tensor, ty: Type, (lo, hi): (f64, f64)) {
        let Type::Scene(scene) = ty else { panic!("a scene argument of type {ty:?}") };
        assert_eq!(t.dtype, scene.dtype());
        let inside = |v: &[f64]| v.iter().all(|x| *x >= lo && *x <= hi && (*x as f32) as f64 == *x);
        match scene {
            Scene::Mesh { points, faces } => {
                let (p, f) = (usize::from(points), usize::from(faces));
                assert_eq!(t.shape, [p as i32, f as i32]);
                assert_eq!(t.values.len(), 6 * p + 3 * f);
                assert!(inside(&t.values[..3 * p]) && inside(&t.values[3 * p + 3 * f..]));
                for tri in t.values[3 * p..3 * p + 3 * f].chunks(3) {
                    assert!(tri.iter().all(|&i| i >= 0.0 && i < p as f64 && i.fract() == 0.0), "{tri:?}");
                    assert!(tri[0] != tri[1] && tri[1] != tri[2] && tri[0] != tri[2], "{tri:?}");
                }
            }
            Scene::HashGrid { points } => {
                let n = usize::from(points);
                assert_eq!(t.values.len(), 3 * n + 4);
                assert!(inside(&t.values[..3 * n]) && [0.25, 0.5, 1.0].contains(&t.values[3 * n]));
            }
            Scene::Bvh { boxes } => {
                let n = 3 * usize::from(boxes);
                assert_eq!(t.values.len(), 2 * n);
                assert!((0..n).all(|i| t.values[i] < t.values[n + i]));
            }
            Scene::Volume { voxel, dims, quarters } => {
                let cells: usize = dims.iter().map(|&d| usize::from(d)).product();
                let comps = if voxel == Voxel::Vec3 { 3 } else { 1 };
                assert_eq!(t.values.len(), cells * comps + 1);
                assert!(inside(&t.values[..cells * comps]));
                assert_eq!(t.values[cells * comps], f64::from(quarters) / 4.0);
            }
        }
    }

    #[test]
    fn extreme_launches_put_every_scalar_and_vector_input_at_an_end_of_its_range() {
        let cfg = Config::default();
        let mut at_lo = 0;
        let mut at_hi = 0;
        for cat in Category::ALL {
            for seed in 0..20 {
                let k = generate(cat, seed, &cfg);
                let plain = launch_spec(&k, seed);
                let spec = extreme_launch_spec(&k, seed);
                assert_eq!(spec.launch_dim, plain.launch_dim);
                for ((a, b), p) in spec.args.iter().zip(&plain.args).zip(&k.params) {
                    assert_eq!(
                        (a.role, &a.tensor.shape, a.tensor.values.len()),
                        (b.role, &b.tensor.shape, b.tensor.values.len())
                    );
                    let (lo, hi) = p.range;
                    let drawn = matches!(a.role, ArgRole::Input | ArgRole::Value);
                    if !drawn
                        || !(a.tensor.dtype == "float32"
                            || a.tensor.dtype == "int32"
                            || a.tensor.dtype.starts_with("vec"))
                    {
                        assert_eq!(a, b, "{}: left as launch_spec draws it", a.tensor.name);
                        continue;
                    }
                    let int = a.tensor.dtype == "int32";
                    for &v in &a.tensor.values {
                        let (l, h) = if int { (lo.ceil(), hi.floor()) } else { (f32_round(lo), f32_round(hi)) };
                        assert!(v == l || v == h, "{} = {v} in [{lo}, {hi}]", a.tensor.name);
                        at_lo += usize::from(v == l);
                        at_hi += usize::from(v == h);
                    }
                }
            }
        }
        assert!(at_lo > 100 && at_hi > 100, "both ends drawn: {at_lo} low, {at_hi} high");
    }

    #[test]
    fn wide_launches_reach_the_extent_along_one_axis_and_keep_launch_shaped_arrays_in_step() {
        let cfg = Config::default();
        for cat in Category::ALL {
            for seed in 0..20 {
                let k = generate(cat, seed, &cfg);
                for axis in 0..3 {
                    let spec = wide_launch_spec(&k, seed, axis, cfg.max_launch_dim);
                    assert_eq!(spec, wide_launch_spec(&k, seed, axis, cfg.max_launch_dim));
                    if k.is_tiled() {
                        assert_eq!(spec, launch_spec(&k, seed), "a tile kernel keeps its block count");
                        continue;
                    }
                    let n = k.ndim();
                    assert_eq!(spec.launch_dim.len(), n);
                    assert_eq!(spec.launch_dim[axis % n], cfg.max_launch_dim, "{:?}", spec.launch_dim);
                    assert!(spec.threads() <= cfg.max_launch_dim * 4, "{:?}", spec.launch_dim);
                    for (a, p) in spec.args.iter().zip(&k.params) {
                        if let ParamKind::Array { len: ArrayLen::Launch, .. } = p.kind {
                            let shape: Vec<u32> = a.tensor.shape.iter().map(|&d| d as u32).collect();
                            assert_eq!(shape, spec.launch_dim, "{}", a.tensor.name);
                        }
                    }
                }
            }
        }
    }
}
