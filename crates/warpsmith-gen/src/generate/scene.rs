//! Scene queries: kernels that take a mesh, hash grid, BVH or volume as a `wp.uint64` handle and read values
//! from it. The scene's sizes are drawn here (the value analysis relies on them: a face index is below the face
//! count); its contents are drawn with the test inputs (`crate::vectors`), inside the parameter's range.
//!
//! Ranges, from Warp 1.19.0's `native/mesh.h`, `hashgrid.h`, `bvh.h` and `volume.h`:
//! - a closest point (`mesh_eval_position` at a query's face and barycentrics) and a mesh vertex or velocity
//!   lie in the hull of the mesh's points or velocities;
//! - a face normal is a unit vector or zero (a degenerate face); a ray's `t` is in `[0, max_t]` when it hits,
//!   and every field is zero when it misses;
//! - an iterator index is below the scene's element count (faces, points, boxes);
//! - a sampled or looked-up voxel is a convex combination of voxels and the zero background;
//! - with `min_world = (0, 0, 0)` and voxel size `h`, `volume_world_to_index(x) = x / h` and
//!   `volume_index_to_world(u) = u h` (the `_dir` forms alike).

use warpsmith_ast::{Query, Scene, Voxel};

use super::*;

/// Largest element count of a scene queried by index loops: at most the smallest launch dimension
/// (`crate::vectors::MIN_LAUNCH_DIM`), so an index from a hash-grid or BVH query also indexes any
/// launch-shaped input array of a 1-D kernel.
const MAX_ELEMENTS: u8 = 16;

/// A scene handle parameter.
#[derive(Clone, Copy, Debug)]
pub(super) struct ScenePar {
    pub id: VarId,
    pub scene: Scene,
    /// Range of the scene's float contents (points, velocities, voxels; per component).
    pub iv: Interval,
}

impl Gen<'_> {
    /// One or two scene handle parameters (`mesh: wp.uint64`, ...), each with its sizes and the range of its
    /// contents.
    pub(super) fn scene_params(&mut self) {
        let n = if self.rng.random_bool(0.3) { 2 } else { 1 };
        for _ in 0..n {
            let kind = self.weighted(&[(0u8, 4), (1, 2), (2, 2), (3, 3)]);
            let (scene, pool, iv): (Scene, &[&str], Interval) = match kind {
                0 => {
                    let points = self.rng.random_range(4..=12);
                    let faces = self.rng.random_range(2..=MAX_ELEMENTS);
                    let iv = [Interval::new(-1.0, 1.0), Interval::new(-2.0, 2.0), Interval::new(0.0, 1.0)]
                        [self.rng.random_range(0..3)];
                    (Scene::Mesh { points, faces }, &["mesh", "mesh_id", "surface", "collider"], iv)
                }
                1 => {
                    let points = self.rng.random_range(4..=MAX_ELEMENTS);
                    (
                        Scene::HashGrid { points },
                        &["grid", "grid_id", "hash_grid", "neighbors"],
                        Interval::new(-1.0, 1.0),
                    )
                }
                2 => {
                    let boxes = self.rng.random_range(2..=MAX_ELEMENTS);
                    (Scene::Bvh { boxes }, &["bvh", "bvh_id", "tree", "bounds_id"], Interval::new(-1.0, 1.0))
                }
                _ => {
                    let voxel = self.weighted(&[(Voxel::F32, 3), (Voxel::Vec3, 1), (Voxel::I32, 1)]);
                    let dims = [(); 3].map(|_| self.rng.random_range(2..=6u8));
                    let quarters = self.rng.random_range(1..=4u8);
                    let iv = match voxel {
                        Voxel::I32 => {
                            [Interval::new(-10.0, 10.0), Interval::new(0.0, 9.0)][self.rng.random_range(0..2)]
                        }
                        _ => [Interval::new(-1.0, 1.0), Interval::new(0.0, 2.0)][self.rng.random_range(0..2)],
                    };
                    (Scene::Volume { voxel, dims, quarters }, &["volume", "sdf", "vol", "density_id"], iv)
                }
            };
            if self.scenes.iter().any(|s| std::mem::discriminant(&s.scene) == std::mem::discriminant(&scene)) {
                continue; // one scene of each kind
            }
            let id = self.new_var(pool, Type::Scene(scene));
            self.params.push(Param { var: id, kind: ParamKind::Value, range: (iv.lo, iv.hi) });
            self.scenes.push(ScenePar { id, scene, iv });
        }
    }

    fn handle(s: ScenePar) -> Expr {
        Expr::var(s.id, Type::Scene(s.scene))
    }

    fn member(q: VarId, name: &'static str, ty: Type) -> Expr {
        Expr { ty, kind: ExprKind::Member(q, name) }
    }

    /// `e` as a variable: itself when it is one, else a new local `name = e` pushed to `out`.
    fn bind(&mut self, (e, iv): TExpr, out: &mut Vec<Stmt>) -> TExpr {
        if matches!(e.kind, ExprKind::Var(_)) {
            return (e, iv);
        }
        let ty = e.ty;
        let l = self.declare(Self::local_pool(ty), ty, iv, true);
        self.locals[l].uses += 1;
        out.push(Stmt::Let { var: self.locals[l].id, value: e });
        (Expr::var(self.locals[l].id, ty), iv)
    }

    /// A new local `name = value` of range `iv`, left unused (so the block folds it in if nothing reads it).
    fn let_local(&mut self, pool: &[&str], value: Expr, iv: Interval, out: &mut Vec<Stmt>) -> usize {
        let ty = value.ty;
        let l = self.declare(pool, ty, iv, true);
        out.push(Stmt::Let { var: self.locals[l].id, value });
        l
    }

    /// A scene query statement on one of the kernel's scenes.
    pub(super) fn scene_stmt(&mut self, out: &mut Vec<Stmt>) {
        if self.rng.random_bool(0.12) {
            self.primitive_stmt(out);
        } else if let Some(&s) = self.scenes.choose(&mut self.rng) {
            self.scene_stmt_on(s, out);
        }
    }

    /// A geometric test of primitives the kernel computes: the closest points of two segments
    /// (`wp.closest_point_edge_edge`: `(s, t, d)`, `s` and `t` in `[0, 1]`, `d` at most the largest distance between
    /// endpoints) or a triangle-triangle overlap test (`wp.intersect_tri_tri`: 0 or 1).
    fn primitive_stmt(&mut self, out: &mut Vec<Stmt>) {
        let v3 = Type::Vec(3);
        if self.rng.random_bool(0.5) {
            let ends: Vec<TExpr> = (0..4).map(|_| self.top_expr(v3, 1)).collect();
            let m = ends.iter().map(|(_, iv)| iv.mag()).fold(0.0, f64::max);
            let d = 2.0 * 3f64.sqrt() * m;
            let mut args: Vec<Expr> = ends.into_iter().map(|(e, _)| e).collect();
            args.push(Expr::float(1.0e-6));
            let e = Expr::call(Builtin::ClosestPointEdgeEdge, v3, args);
            self.let_local(&["st_d", "seg", "closest"], e, Interval::new(0.0, d.max(1.0)), out);
        } else {
            let args: Vec<Expr> = (0..6).map(|_| self.top_expr(v3, 1).0).collect();
            let e = Expr::call(Builtin::IntersectTriTri, Type::I32, args);
            self.let_local(&["overlap", "hit", "touch"], e, Interval::new(0.0, 1.0), out);
        }
    }

    /// A scene query statement on scene `s`.
    pub(super) fn scene_stmt_on(&mut self, s: ScenePar, out: &mut Vec<Stmt>) {
        match s.scene {
            Scene::Mesh { .. } => match self.rng.random_range(0..6) {
                0 | 1 => self.mesh_point(s, out),
                2 | 3 => self.mesh_ray(s, out),
                4 => self.query_loop(s, out),
                _ => self.tiled_query(s, out),
            },
            Scene::Bvh { .. } if self.rng.random_bool(0.3) => self.tiled_query(s, out),
            Scene::HashGrid { .. } | Scene::Bvh { .. } => self.query_loop(s, out),
            Scene::Volume { .. } => self.volume_stmt(s, out),
        }
    }

    /// A closest-point query (`wp.mesh_query_point*`, `wp.mesh_query_furthest_point_no_sign`) of a point the
    /// kernel computes, then the closest point and one or two values read from the query.
    fn mesh_point(&mut self, s: ScenePar, out: &mut Vec<Stmt>) {
        let Scene::Mesh { faces, .. } = s.scene else { return };
        let depth = self.cfg.max_expr_depth.min(3);
        let v3 = Type::Vec(3);
        let p = self.top_expr(v3, depth);
        let (p, ip) = self.bind(p, out);
        // max_dist far beyond any point: every query finds a face
        let far = Expr::float(1.0e6);
        let (name, extra) = match self.rng.random_range(0..6) {
            0 => (Builtin::MeshQueryPoint, vec![far]),
            1 => (Builtin::MeshQueryPointNoSign, vec![far]),
            2 => (Builtin::MeshQueryPointSignNormal, vec![far, Expr::float(1.0e-3)]),
            3 => (Builtin::MeshQueryPointSignWindingNumber, vec![far, Expr::float(2.0), Expr::float(0.5)]),
            4 => (Builtin::MeshQueryPointSignParity, vec![far, Expr::int(1), Expr::float(0.1)]),
            _ => (Builtin::MeshQueryFurthestPointNoSign, vec![Expr::float(0.0)]),
        };
        let q = self.new_var(&["query", "hit", "closest", "q"], Type::Query(Query::MeshPoint));
        let mut args = vec![Self::handle(s), p.clone()];
        args.extend(extra);
        out.push(Stmt::Let { var: q, value: Expr::call(name, Type::Query(Query::MeshPoint), args) });
        let face = Self::member(q, "face", Type::I32);
        let (u, v) = (Self::member(q, "u", Type::F32), Self::member(q, "v", Type::F32));
        let bary = vec![Self::handle(s), face.clone(), u.clone(), v.clone()];
        let cp = Expr::call(Builtin::MeshEvalPosition, v3, bary.clone());
        let c = self.let_local(&["cp", "closest_p", "surf_p", "proj"], cp, s.iv, out);
        let c = (Expr::var(self.locals[c].id, v3), s.iv);
        for _ in 0..self.rng.random_range(0..=2) {
            match self.rng.random_range(0..6) {
                0 => {
                    // a signed distance
                    let d = Expr::binary(BinOp::Sub, v3, p.clone(), c.0.clone());
                    let len = Expr::call(Builtin::Length, Type::F32, vec![d]);
                    let m = 3f64.sqrt() * (ip.mag() + c.1.mag());
                    let e = Expr::binary(BinOp::Mul, Type::F32, len, Self::member(q, "sign", Type::F32));
                    self.let_local(&["dist", "sdf_d", "depth"], e, Interval::new(-m, m), out);
                }
                1 => {
                    let e = Expr::call(Builtin::MeshEvalFaceNormal, v3, vec![Self::handle(s), face.clone()]);
                    self.let_local(&["normal", "nrm", "face_n"], e, Interval::new(-1.0, 1.0), out);
                }
                2 => {
                    let e = Expr::call(Builtin::MeshEvalVelocity, v3, bary.clone());
                    self.let_local(&["vel", "surf_v", "wall_v"], e, s.iv, out);
                }
                3 => {
                    // the third barycentric coordinate (u, v >= 0, u + v <= 1, up to rounding)
                    let e = Expr::binary(
                        BinOp::Sub,
                        Type::F32,
                        Expr::binary(BinOp::Sub, Type::F32, Expr::float(1.0), u.clone()),
                        v.clone(),
                    );
                    self.let_local(&["w", "bary_w", "wt"], e, Interval::new(-0.01, 1.0), out);
                }
                4 => {
                    self.let_local(
                        &["face", "tri", "fid"],
                        face.clone(),
                        Interval::new(0.0, f64::from(faces) - 1.0),
                        out,
                    );
                }
                _ => {
                    let e = Self::member(q, "sign", Type::F32);
                    self.let_local(&["sgn", "inside", "side"], e, Interval::new(-1.0, 1.0), out);
                }
            }
        }
    }

    /// A ray cast against the mesh: `wp.mesh_query_ray` (the hit distance, or `max_t` on a miss, and values at
    /// the hit), `wp.mesh_query_ray_count_intersections` or `wp.mesh_query_ray_anyhit`.
    fn mesh_ray(&mut self, s: ScenePar, out: &mut Vec<Stmt>) {
        let Scene::Mesh { faces, .. } = s.scene else { return };
        let depth = self.cfg.max_expr_depth.min(3);
        let v3 = Type::Vec(3);
        let (start, _) = self.top_expr(v3, depth);
        let dir = self.unit_axis(depth.min(2));
        let max_t = *[2.0, 4.0, 10.0].choose(&mut self.rng).unwrap_or(&4.0);
        let root = self.group_root(s, out);
        match self.rng.random_range(0..4) {
            0 | 1 => {
                let r = self.new_var(&["ray", "rq", "cast"], Type::Query(Query::MeshRay));
                let mut args = vec![Self::handle(s), start, dir, Expr::float(max_t)];
                args.extend(root);
                out.push(Stmt::Let {
                    var: r,
                    value: Expr::call(Builtin::MeshQueryRay, Type::Query(Query::MeshRay), args),
                });
                let hit = Self::member(r, "result", Type::Bool);
                let t = Expr::call(
                    Builtin::Where,
                    Type::F32,
                    vec![hit, Self::member(r, "t", Type::F32), Expr::float(max_t)],
                );
                self.let_local(&["t_hit", "dist", "tmin"], t, Interval::new(0.0, max_t), out);
                match self.rng.random_range(0..4) {
                    0 => {
                        self.let_local(
                            &["hit_n", "normal", "nrm"],
                            Self::member(r, "normal", v3),
                            Interval::new(-1.0, 1.0),
                            out,
                        );
                    }
                    1 => {
                        let bary = vec![
                            Self::handle(s),
                            Self::member(r, "face", Type::I32),
                            Self::member(r, "u", Type::F32),
                            Self::member(r, "v", Type::F32),
                        ];
                        let e = Expr::call(Builtin::MeshEvalPosition, v3, bary);
                        // a miss reads face 0 at u = v = 0: a vertex
                        self.let_local(&["hit_p", "xp", "contact"], e, s.iv, out);
                    }
                    2 => {
                        self.let_local(
                            &["side", "sgn", "facing"],
                            Self::member(r, "sign", Type::F32),
                            Interval::new(-1.0, 1.0),
                            out,
                        );
                    }
                    _ => {}
                }
            }
            2 => {
                let mut args = vec![Self::handle(s), start, dir];
                args.extend(root);
                let e = Expr::call(Builtin::MeshQueryRayCountIntersections, Type::I32, args);
                self.let_local(&["crossings", "n_hits", "cnt"], e, Interval::new(0.0, f64::from(faces)), out);
            }
            _ => {
                let mut args = vec![Self::handle(s), start, dir, Expr::float(max_t)];
                args.extend(root);
                let any = Expr::call(Builtin::MeshQueryRayAnyhit, Type::Bool, args);
                let (a, ia) = self.top_expr(Type::F32, depth);
                let (b, ib) = self.lit(Type::F32);
                let e = Expr::call(Builtin::Where, Type::F32, vec![any, a, b]);
                self.let_local(&["shade", "vis", "occl"], e, ia.hull(ib), out);
            }
        }
    }

    /// A query loop: a box, sphere, ray or capsule query of the mesh's faces, the hash grid's points or the
    /// BVH's boxes, then `while next(query, j):` over the indices it finds, accumulating into a local.
    fn query_loop(&mut self, s: ScenePar, out: &mut Vec<Stmt>) {
        self.nest += 1;
        let depth = self.cfg.max_expr_depth.min(3);
        let v3 = Type::Vec(3);
        let c = self.top_expr(v3, depth);
        let (c, _) = self.bind(c, out);
        let h = Expr::float(*[0.25, 0.5, 0.75, 1.0].choose(&mut self.rng).unwrap_or(&0.5));
        let half = Expr::construct(v3, vec![h.clone()]);
        let lo = Expr::binary(BinOp::Sub, v3, c.clone(), half.clone());
        let hi = Expr::binary(BinOp::Add, v3, c.clone(), half);
        let m = Self::handle(s);
        let (query, next, count, pool, qty): (Expr, Builtin, u8, &[&str], Query) = match s.scene {
            Scene::Mesh { faces, .. } => match self.rng.random_range(0..3) {
                0 => (
                    Expr::call(Builtin::MeshQueryAabb, Type::Query(Query::MeshFaces), vec![m, lo, hi]),
                    Builtin::MeshQueryAabbNext,
                    faces,
                    &["face", "f", "tri"],
                    Query::MeshFaces,
                ),
                1 => (
                    Expr::call(Builtin::MeshQuerySphere, Type::Query(Query::MeshFaces), vec![m, c, h]),
                    Builtin::MeshQueryNext,
                    faces,
                    &["face", "f", "tri"],
                    Query::MeshFaces,
                ),
                _ => {
                    // the mesh's own BVH (one box per face): `b = wp.mesh_get_bvh(mesh)`, then a BVH query
                    let bty = Type::Scene(Scene::Bvh { boxes: faces });
                    let b = self.new_var(&["mesh_bvh", "tree", "bvh_m"], bty);
                    out.push(Stmt::Let { var: b, value: Expr::call(Builtin::MeshGetBvh, bty, vec![m]) });
                    let b = Expr::var(b, bty);
                    let q = if self.rng.random_bool(0.5) {
                        Expr::call(Builtin::BvhQueryAabb, Type::Query(Query::Bvh), vec![b, lo, hi])
                    } else {
                        Expr::call(Builtin::BvhQuerySphere, Type::Query(Query::Bvh), vec![b, c, h])
                    };
                    (q, Builtin::BvhQueryNext, faces, &["face", "f", "tri"], Query::Bvh)
                }
            },
            Scene::HashGrid { points } => {
                let q = Expr::call(Builtin::HashGridQuery, Type::Query(Query::HashGrid), vec![m, c, h]);
                (q, Builtin::HashGridQueryNext, points, &["j", "nbr", "other"], Query::HashGrid)
            }
            Scene::Bvh { boxes } => {
                let ty = Type::Query(Query::Bvh);
                let root = self.group_root(s, out);
                let (name, mut args) = match self.rng.random_range(0..4) {
                    0 => (Builtin::BvhQueryAabb, vec![m, lo, hi]),
                    1 => {
                        let dir = self.unit_axis(depth.min(2));
                        (Builtin::BvhQueryRay, vec![m, c, dir])
                    }
                    2 => (Builtin::BvhQuerySphere, vec![m, c, h]),
                    _ => {
                        let dir = self.unit_axis(depth.min(2));
                        (Builtin::BvhQueryCapsule, vec![m, c, dir, h])
                    }
                };
                args.extend(root);
                let q = Expr::call(name, ty, args);
                (q, Builtin::BvhQueryNext, boxes, &["b", "leaf", "item"], Query::Bvh)
            }
            Scene::Volume { .. } => {
                self.nest -= 1;
                return;
            }
        };
        let qv = self.new_var(&["query", "it", "q"], Type::Query(qty));
        out.push(Stmt::Let { var: qv, value: query });
        // the accumulator: a new float or vec3 local
        let ty = if self.rng.random_bool(0.6) { Type::F32 } else { v3 };
        let (init, iv) = self.lit(Type::F32);
        let (init, iv) = self.convert((init, iv), ty);
        let acc = self.declare(ACC_NAMES, ty, iv, true);
        out.push(Stmt::Let { var: self.locals[acc].id, value: init });
        let mark = self.open_loop(acc, u32::from(count), false);
        let index = self.declare(pool, Type::I32, Interval::new(0.0, f64::from(count) - 1.0), false);
        let index_id = self.locals[index].id;
        out.push(Stmt::Let { var: index_id, value: Expr::construct(Type::I32, vec![Expr::int(0)]) });
        let body = self
            .block_with(Target::Acc(acc), 2, None, &mut |g: &mut Self, b: &mut Vec<Stmt>| g.loop_prelude(s, index, b));
        self.close_loop(acc, mark);
        let cond = Expr::call(next, Type::Bool, vec![Expr::var(qv, Type::Query(qty)), Expr::var(index_id, Type::I32)]);
        out.push(Stmt::While { cond, body });
        self.nest -= 1;
    }

    /// A block-cooperative query (Warp's tiled BVH and mesh queries) around a point `c` the kernel computes:
    ///
    /// ```text
    /// q = wp.tile_bvh_query_aabb(bvh, c - wp.vec3(h), c + wp.vec3(h))   # or _ray, a mesh, the mesh's BVH
    /// while wp.tile_query_valid(q):
    ///     k = wp.untile(wp.tile_bvh_query_next(q))
    ///     if k >= 0:
    ///         wp.atomic_add(hits, tid, value(k))
    /// ```
    ///
    /// into a new launch-shaped accumulator `hits`. The kernel is launched in blocks on CUDA
    /// ([`Kernel::launches_blocks`]): the block's threads share `tid`, so the query's arguments are uniform, each
    /// thread gets its own results, and the atomic sums every result once, as the CPU's one thread per block does
    /// (in another order). `value(k)` reads the scene only (`float(k) + 1`, a face normal's component along an
    /// axis): these queries have no adjoint.
    fn tiled_query(&mut self, s: ScenePar, out: &mut Vec<Stmt>) {
        let (faces, bvh_of_mesh) = match s.scene {
            Scene::Mesh { faces, .. } => (Some(faces), self.rng.random_bool(0.3)),
            Scene::Bvh { .. } => (None, false),
            Scene::HashGrid { .. } | Scene::Volume { .. } => return,
        };
        let depth = self.cfg.max_expr_depth.min(3);
        let v3 = Type::Vec(3);
        let c = self.top_expr(v3, depth);
        let (c, _) = self.bind(c, out);
        let h = Expr::float(*[0.25, 0.5, 0.75, 1.0].choose(&mut self.rng).unwrap_or(&0.5));
        let half = Expr::construct(v3, vec![h]);
        let lo = Expr::binary(BinOp::Sub, v3, c.clone(), half.clone());
        let hi = Expr::binary(BinOp::Add, v3, c.clone(), half);
        let alias = self.rng.random_bool(0.4);
        let pick = |canonical: Builtin, tiled_alias: Builtin| if alias { tiled_alias } else { canonical };
        let mut handle = Self::handle(s);
        let (query, next, qty) = if faces.is_some() && !bvh_of_mesh {
            let qty = Type::Query(Query::MeshTiled);
            let q =
                Expr::call(pick(Builtin::TileMeshQueryAabb, Builtin::MeshQueryAabbTiled), qty, vec![handle, lo, hi]);
            (q, pick(Builtin::TileMeshQueryAabbNext, Builtin::MeshQueryAabbNextTiled), qty)
        } else {
            if let (Some(faces), true) = (faces, bvh_of_mesh) {
                let bty = Type::Scene(Scene::Bvh { boxes: faces });
                let b = self.new_var(&["mesh_bvh", "tree", "bvh_m"], bty);
                out.push(Stmt::Let { var: b, value: Expr::call(Builtin::MeshGetBvh, bty, vec![handle]) });
                handle = Expr::var(b, bty);
            }
            let qty = Type::Query(Query::BvhTiled);
            let q = if self.rng.random_bool(0.35) {
                // a coordinate axis, either sign: the tiled ray query needs a nonzero direction
                let k = self.rng.random_range(0..3);
                let sign = if self.rng.random_bool(0.5) { 1.0 } else { -1.0 };
                let dir = Expr::construct(v3, (0..3).map(|i| Expr::float(if i == k { sign } else { 0.0 })).collect());
                Expr::call(pick(Builtin::TileBvhQueryRay, Builtin::BvhQueryRayTiled), qty, vec![handle, c, dir])
            } else {
                Expr::call(pick(Builtin::TileBvhQueryAabb, Builtin::BvhQueryAabbTiled), qty, vec![handle, lo, hi])
            };
            (q, pick(Builtin::TileBvhQueryNext, Builtin::BvhQueryNextTiled), qty)
        };
        let qv = self.new_var(&["query", "tq", "block_q"], qty);
        out.push(Stmt::Let { var: qv, value: query });
        let acc = self.array_param(Type::F32, ArrayRole::Accumulator, ArrayLen::Launch, Interval::point(0.0));
        let k = self.new_var(if faces.is_some() { &["face", "f", "tri"] } else { &["b", "leaf", "item"] }, Type::I32);
        let results = Expr::call(next, Type::Query(Query::TileResults), vec![Expr::var(qv, qty)]);
        let ki = Expr::var(k, Type::I32);
        let value = match faces {
            Some(_) if self.rng.random_bool(0.6) => {
                let axis = Expr::construct(
                    v3,
                    (0..3).map(|_| Expr::float(*[-1.0, 0.0, 0.5, 1.0].choose(&mut self.rng).unwrap_or(&1.0))).collect(),
                );
                let normal = Expr::call(Builtin::MeshEvalFaceNormal, v3, vec![Self::handle(s), ki.clone()]);
                Expr::call(Builtin::Dot, Type::F32, vec![normal, axis])
            }
            _ => Expr::binary(
                BinOp::Add,
                Type::F32,
                Expr::construct(Type::F32, vec![ki.clone()]),
                Expr::float(*[1.0, 0.5, 2.0].choose(&mut self.rng).unwrap_or(&1.0)),
            ),
        };
        let (tid, _) = self.tid_expr();
        let body = vec![
            Stmt::Let { var: k, value: Expr::call(Builtin::Untile, Type::I32, vec![results]) },
            Stmt::If {
                cond: Expr::binary(BinOp::Ge, Type::Bool, ki, Expr::int(0)),
                then: vec![Stmt::Atomic { op: AtomicOp::Add, array: acc, index: tid, value }],
                elifs: Vec::new(),
                els: Vec::new(),
            },
        ];
        let cond = Expr::call(Builtin::TileQueryValid, Type::Bool, vec![Expr::var(qv, qty)]);
        out.push(Stmt::While { cond, body });
    }

    /// Three times in ten, the root of one group of a BVH or mesh scene (`root = wp.bvh_get_group_root(bvh, g)`,
    /// `wp.mesh_get_group_root(mesh, g)`, `g` 0, 1 or `tid % 2`), pushed to `out`, as the `root` argument of the
    /// query that follows, which then visits that group's boxes or faces only. The worker builds every BVH and
    /// mesh with groups (box or face `j` in group `j % 2`, `warpsmith_ast::launch::Tensor`).
    fn group_root(&mut self, s: ScenePar, out: &mut Vec<Stmt>) -> Option<Expr> {
        let name = match s.scene {
            Scene::Bvh { .. } => Builtin::BvhGetGroupRoot,
            Scene::Mesh { .. } => Builtin::MeshGetGroupRoot,
            Scene::HashGrid { .. } | Scene::Volume { .. } => return None,
        };
        if !self.rng.random_bool(0.3) {
            return None;
        }
        let g = match self.rng.random_range(0..3) {
            0 => Expr::int(0),
            1 => Expr::int(1),
            _ => {
                let (t, _) = self.tid_expr();
                Expr::binary(BinOp::Mod, Type::I32, t, Expr::int(2))
            }
        };
        let root = self.new_var(&["root", "group_root", "sub_root"], Type::I32);
        out.push(Stmt::Let { var: root, value: Expr::call(name, Type::I32, vec![Self::handle(s), g]) });
        Some(Expr::var(root, Type::I32))
    }

    /// The first statement of a query loop's body: a value at the found index (a face's normal, centroid-like
    /// point or corner; the found point's sorted id; an input element at the found index).
    fn loop_prelude(&mut self, s: ScenePar, index: usize, out: &mut Vec<Stmt>) {
        self.locals[index].uses += 1;
        let i = Expr::var(self.locals[index].id, Type::I32);
        let v3 = Type::Vec(3);
        match s.scene {
            Scene::Mesh { points, .. } => match self.rng.random_range(0..5) {
                0 => {
                    let e = Expr::call(Builtin::MeshEvalFaceNormal, v3, vec![Self::handle(s), i]);
                    self.let_local(&["fn_", "n_f", "normal"], e, Interval::new(-1.0, 1.0), out);
                }
                1 => {
                    let (u, v) = *[(0.25, 0.25), (0.5, 0.25), (0.0, 0.5), (0.25, 0.5)]
                        .choose(&mut self.rng)
                        .unwrap_or(&(0.25, 0.25));
                    let e = Expr::call(
                        Builtin::MeshEvalPosition,
                        v3,
                        vec![Self::handle(s), i, Expr::float(u), Expr::float(v)],
                    );
                    self.let_local(&["centre", "fp", "on_face"], e, s.iv, out);
                }
                k => {
                    // a corner of the face: index 3 f + c of the mesh's index buffer
                    let corner = Expr::binary(
                        BinOp::Add,
                        Type::I32,
                        Expr::binary(BinOp::Mul, Type::I32, i, Expr::int(3)),
                        Expr::int(self.rng.random_range(0..3)),
                    );
                    let (name, ty, iv, pool): (Builtin, Type, Interval, &[&str]) = match k {
                        2 => (Builtin::MeshGetPoint, v3, s.iv, &["corner", "vtx", "pv"]),
                        3 => (Builtin::MeshGetVelocity, v3, s.iv, &["corner_v", "vv", "vel_c"]),
                        _ => (
                            Builtin::MeshGetIndex,
                            Type::I32,
                            Interval::new(0.0, f64::from(points) - 1.0),
                            &["vid", "vert", "vi"],
                        ),
                    };
                    let e = Expr::call(name, ty, vec![Self::handle(s), corner]);
                    self.let_local(pool, e, iv, out);
                }
            },
            Scene::HashGrid { points } if self.inputs.is_empty() || self.pol.ndim != 1 || self.rng.random_bool(0.3) => {
                let e = Expr::call(Builtin::HashGridPointId, Type::I32, vec![Self::handle(s), i]);
                self.let_local(&["pid", "sorted", "slot"], e, Interval::new(0.0, f64::from(points) - 1.0), out);
            }
            Scene::HashGrid { .. } | Scene::Bvh { .. } if !self.inputs.is_empty() && self.pol.ndim == 1 => {
                // the found element's own data, from a launch-shaped input (at least MAX_ELEMENTS long)
                let k = self.rng.random_range(0..self.inputs.len());
                self.inputs[k].uses += 1;
                let a = self.inputs[k];
                let e = Expr { ty: a.ty, kind: ExprKind::Load(a.id, vec![i]) };
                self.let_local(Self::local_pool(a.ty), e, a.iv, out);
            }
            Scene::HashGrid { .. } | Scene::Bvh { .. } | Scene::Volume { .. } => {}
        }
    }

    /// An integer coordinate in `[0, d)`: an `int32` expression, wrapped with `%` (of its absolute value when it
    /// may be negative) unless its range already lies inside.
    fn voxel_coordinate(&mut self, d: u8) -> Expr {
        let (e, iv) = self.top_expr(Type::I32, 1);
        let (e, iv) = if is_const(&e) { self.var_leaf(Type::I32) } else { (e, iv) };
        let d = i64::from(d);
        if iv.lo >= 0.0 && iv.hi < d as f64 {
            return e;
        }
        let e = if iv.lo < 0.0 { Expr::call(Builtin::Abs, Type::I32, vec![e]) } else { e };
        Expr::binary(BinOp::Mod, Type::I32, e, Expr::int(d))
    }

    /// A volume read: a sample at an index-space point (`wp.volume_sample_*`, trilinear or nearest), a lookup at
    /// integer coordinates (`wp.volume_lookup_*`), or a world/index transform of a point.
    fn volume_stmt(&mut self, s: ScenePar, out: &mut Vec<Stmt>) {
        let Scene::Volume { voxel, quarters, .. } = s.scene else { return };
        let depth = self.cfg.max_expr_depth.min(3);
        let v3 = Type::Vec(3);
        let h = f64::from(quarters) / 4.0;
        let vol = Self::handle(s);
        let contents = s.iv.with_zero();
        let mut pick = self.rng.random_range(0..6);
        if pick == 5 && self.rng.random_bool(0.25) {
            // the active voxels of a dense grid of at most 8^3: one leaf node of 512 voxels; a constant of the
            // scene's shape, so a read of its data follows (else the volume would be a dead input)
            let e = Expr::call(Builtin::VolumeVoxelCount, Type::I32, vec![vol.clone()]);
            self.let_local(&["n_vox", "voxels", "cells"], e, Interval::new(1.0, 4096.0), out);
            pick = self.rng.random_range(0..5);
        }
        match pick {
            0..=2 => {
                // a sample at an index-space point, often the world-to-index transform of a computed point
                let (p, ip) = self.top_expr(v3, depth);
                let uvw = if self.rng.random_bool(0.5) {
                    let dir = self.rng.random_bool(0.3);
                    let name = if dir { Builtin::VolumeWorldToIndexDir } else { Builtin::VolumeWorldToIndex };
                    let e = Expr::call(name, v3, vec![vol.clone(), p]);
                    let l = self.let_local(&["uvw", "ijk", "idx_p"], e, ip.scale(1.0 / h), out);
                    self.locals[l].uses += 1;
                    Expr::var(self.locals[l].id, v3)
                } else {
                    p
                };
                let mode = Expr {
                    ty: Type::I32,
                    kind: ExprKind::Const(if self.rng.random_bool(0.6) {
                        "wp.Volume.LINEAR"
                    } else {
                        "wp.Volume.CLOSEST"
                    }),
                };
                let generic = self.rng.random_bool(0.3);
                let with_grad = voxel == Voxel::F32 && self.rng.random_bool(0.3);
                if with_grad {
                    // `g = wp.vec3(0.0)`, then the sample writes the index-space gradient into `g`: each component
                    // a difference of interpolated voxel values, within the width of the contents' range
                    let w = contents.hi - contents.lo;
                    let g = self.declare(&["grad", "g", "dfdx"], v3, Interval::new(-w, w), true);
                    let gid = self.locals[g].id;
                    out.push(Stmt::Let { var: gid, value: Expr::construct(v3, vec![Expr::float(0.0)]) });
                    let e = if generic {
                        let args = vec![vol, uvw, mode, Expr::var(gid, v3), dtype_kw(Builtin::Float32)];
                        Expr::call(Builtin::VolumeSampleGrad, Type::F32, args)
                    } else {
                        Expr::call(Builtin::VolumeSampleGradF, Type::F32, vec![vol, uvw, mode, Expr::var(gid, v3)])
                    };
                    self.let_local(&["val", "phi", "dens"], e, contents, out);
                    return;
                }
                let (e, ty) = match voxel {
                    Voxel::F32 if generic => (
                        Expr::call(Builtin::VolumeSample, Type::F32, vec![vol, uvw, mode, dtype_kw(Builtin::Float32)]),
                        Type::F32,
                    ),
                    Voxel::F32 => (Expr::call(Builtin::VolumeSampleF, Type::F32, vec![vol, uvw, mode]), Type::F32),
                    Voxel::Vec3 => (Expr::call(Builtin::VolumeSampleV, v3, vec![vol, uvw, mode]), v3),
                    Voxel::I32 => (Expr::call(Builtin::VolumeSampleI, Type::I32, vec![vol, uvw]), Type::I32),
                };
                self.let_local(Self::local_pool(ty), e, contents, out);
            }
            3 | 4 => {
                // coordinates inside the grid (outside, every lookup reads the background)
                let Scene::Volume { dims, .. } = s.scene else { return };
                let ijk: Vec<Expr> = dims.iter().map(|&d| self.voxel_coordinate(d)).collect();
                let mut args = vec![vol];
                args.extend(ijk);
                let generic = self.rng.random_bool(0.3);
                let (name, ty) = match voxel {
                    Voxel::F32 if generic => {
                        args.push(dtype_kw(Builtin::Float32));
                        (Builtin::VolumeLookup, Type::F32)
                    }
                    Voxel::I32 if generic => {
                        args.push(dtype_kw(Builtin::Int32));
                        (Builtin::VolumeLookup, Type::I32)
                    }
                    Voxel::F32 => (Builtin::VolumeLookupF, Type::F32),
                    Voxel::Vec3 => (Builtin::VolumeLookupV, v3),
                    Voxel::I32 => (Builtin::VolumeLookupI, Type::I32),
                };
                self.let_local(Self::local_pool(ty), Expr::call(name, ty, args), contents, out);
            }
            _ => {
                let (p, ip) = self.top_expr(v3, depth);
                let (name, iv) = match self.rng.random_range(0..4) {
                    0 => (Builtin::VolumeWorldToIndex, ip.scale(1.0 / h)),
                    1 => (Builtin::VolumeWorldToIndexDir, ip.scale(1.0 / h)),
                    2 => (Builtin::VolumeIndexToWorld, ip.scale(h)),
                    _ => (Builtin::VolumeIndexToWorldDir, ip.scale(h)),
                };
                self.let_local(&["xw", "pos_w", "mapped"], Expr::call(name, v3, vec![vol, p]), iv, out);
                // a transform reads only the voxel size, a parameter of the scene: a read of its data follows
                self.volume_stmt(s, out);
            }
        }
    }
}
