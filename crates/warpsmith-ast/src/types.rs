//! Value types of the generated kernels.

/// The value types warpsmith generates: 32-bit scalars, `bool`, `float32` vectors and square matrices,
/// quaternions and rigid transforms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Type {
    /// `wp.float32`
    F32,
    /// `wp.int32`
    I32,
    /// `bool` (conditions only; never stored in arrays)
    Bool,
    /// `wp.vecN` (float32 components), `N` in 2..=4; `N = 6` is `wp.spatial_vector` (angular, then linear)
    Vec(u8),
    /// `wp.matNN` (float32, square), `N` in 2..=4
    Mat(u8),
    /// `wp.quat`: `x, y, z` (imaginary), `w` (real), float32
    Quat,
    /// `wp.transform`: translation `p` (vec3) then rotation `q` (quat), 7 float32
    Transform,
    /// A 2-D tile of `rows x cols` float32 values, row-major (`wp.tile_load(a, shape=(rows, cols), ...)`,
    /// `wp.tile_matmul`). Only for locals of a tile kernel.
    Tile2(u16, u16),
    /// `wp.uint32`: a random number generator's state (`wp.rand_init`), advanced in place by `wp.randf` and
    /// the other draws. Never stored in arrays nor used in arithmetic.
    U32,
    /// A 1-D tile of `N` float32 values (a block's cooperative value; `wp.tile_load(a, shape=N, ...)`). Only
    /// for locals of a tile kernel; never an array dtype.
    Tile(u16),
    /// A `@wp.struct` (`Kernel::structs[i]`): only as a by-value kernel parameter whose fields
    /// ([`crate::ExprKind::Field`]) the body reads.
    Struct(u8),
    /// A scene object's handle, `wp.uint64` (`mesh.id`, `grid.id`, `bvh.id`, `volume.id`): only as a by-value
    /// kernel parameter. The worker builds the object from the record's `test_inputs` (layout in
    /// [`crate::launch::Tensor`]).
    Scene(Scene),
    /// A block-cooperative stack of float32 values in shared memory (`wp.tile_stack(capacity=N,
    /// dtype=wp.float32)`), of capacity `N`: pushed with `wp.tile_stack_push`, popped with `wp.tile_stack_pop`.
    /// Only for locals of a tile kernel.
    Stack(u16),
    /// A query object returned by a scene query (`wp.mesh_query_point`, `wp.hash_grid_query`, ...): only as a
    /// local whose members ([`crate::ExprKind::Member`]) or iterator ([`crate::Stmt::While`]) the body reads.
    Query(Query),
}

/// A scene object a kernel queries through its `wp.uint64` handle, with the sizes the generator drew (the
/// value analysis relies on them: a face index is below `faces`, a neighbour index below `points`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scene {
    /// `wp.Mesh(points, indices, velocities, groups)`: `points` vertices, `faces` triangles (face `j` in group
    /// `j % 2`), built with `support_winding_number=True`.
    Mesh {
        /// Vertex count.
        points: u8,
        /// Triangle count.
        faces: u8,
    },
    /// `wp.HashGrid(dim, dim, dim)` built over `points` points with a cell size.
    HashGrid {
        /// Point count.
        points: u8,
    },
    /// `wp.Bvh(lowers, uppers, groups)` over `boxes` boxes (box `j` in group `j % 2`).
    Bvh {
        /// Box count.
        boxes: u8,
    },
    /// `wp.Volume.load_from_numpy(grid, min_world=(0, 0, 0), voxel_size, bg_value=0)` of a dense grid.
    Volume {
        /// The voxel type.
        voxel: Voxel,
        /// Voxels along x, y, z.
        dims: [u8; 3],
        /// The voxel size in quarters (1 to 4: 0.25 to 1.0 world units).
        quarters: u8,
    },
}

impl Scene {
    /// Every scene `dtype` ([`Scene::dtype`]).
    pub const DTYPES: [&'static str; 6] = ["mesh", "hash_grid", "bvh", "volume_f", "volume_v", "volume_i"];

    /// The scene's `dtype` in `test_inputs`: `mesh`, `hash_grid`, `bvh`, `volume_f`, `volume_v`, `volume_i`.
    pub fn dtype(self) -> &'static str {
        match self {
            Scene::Mesh { .. } => "mesh",
            Scene::HashGrid { .. } => "hash_grid",
            Scene::Bvh { .. } => "bvh",
            Scene::Volume { voxel: Voxel::F32, .. } => "volume_f",
            Scene::Volume { voxel: Voxel::Vec3, .. } => "volume_v",
            Scene::Volume { voxel: Voxel::I32, .. } => "volume_i",
        }
    }
}

/// The value type of a volume's voxels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Voxel {
    /// `float32` voxels.
    F32,
    /// `vec3` voxels.
    Vec3,
    /// `int32` voxels.
    I32,
}

/// The query objects of scene queries (Warp's `MeshQueryPoint`, `MeshQueryRay`, `MeshQueryAABB`,
/// `HashGridQuery`, `BvhQuery`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Query {
    /// `wp.mesh_query_point*` / `wp.mesh_query_furthest_point_no_sign`: `result`, `sign`, `face`, `u`, `v`.
    MeshPoint,
    /// `wp.mesh_query_ray`: `result`, `sign`, `face`, `t`, `u`, `v`, `normal`.
    MeshRay,
    /// `wp.mesh_query_aabb` / `wp.mesh_query_sphere`: iterated by `wp.mesh_query_aabb_next` / `wp.mesh_query_next`.
    MeshFaces,
    /// `wp.hash_grid_query`: iterated by `wp.hash_grid_query_next`.
    HashGrid,
    /// `wp.bvh_query_aabb`, `wp.bvh_query_ray`, `wp.bvh_query_sphere`: iterated by `wp.bvh_query_next`.
    Bvh,
    /// A block-cooperative BVH query, `wp.tile_bvh_query_aabb` / `wp.tile_bvh_query_ray` (or the
    /// `wp.bvh_query_*_tiled` aliases): advanced by `wp.tile_bvh_query_next`, guarded by `wp.tile_query_valid`.
    /// The kernel is launched with `wp.launch_tiled` on CUDA (its query arguments are uniform over a block).
    BvhTiled,
    /// A block-cooperative mesh query, `wp.tile_mesh_query_aabb` (or `wp.mesh_query_aabb_tiled`): advanced by
    /// `wp.tile_mesh_query_aabb_next`, guarded by `wp.tile_query_valid`.
    MeshTiled,
    /// The results of one step of a block-cooperative query (`wp.tile_bvh_query_next(q)`): a register tile of
    /// `block_dim` int32 indices, one a thread (negative where a thread has none). Only as the argument of
    /// `wp.untile`, which gives each thread its own index.
    TileResults,
}

impl Type {
    /// Warp's Python spelling, e.g. `wp.float32`, `wp.vec3`, `wp.mat33`, `bool`.
    pub fn warp_name(self) -> String {
        match self {
            Type::F32 => "wp.float32".into(),
            Type::I32 => "wp.int32".into(),
            Type::Bool => "bool".into(),
            Type::Vec(6) => "wp.spatial_vector".into(),
            Type::Vec(n) => format!("wp.vec{n}"),
            Type::Mat(n) => format!("wp.mat{n}{n}"),
            Type::Quat => "wp.quat".into(),
            Type::Transform => "wp.transform".into(),
            Type::Tile(n) => format!("wp.tile(dtype=wp.float32, shape={n})"),
            Type::U32 => "wp.uint32".into(),
            Type::Tile2(m, n) => format!("wp.tile(dtype=wp.float32, shape=({m}, {n}))"),
            // the class name lives in the kernel (`Kernel::structs`); printers spell it from there
            Type::Struct(i) => format!("Struct{i}"),
            Type::Scene(_) => "wp.uint64".into(),
            Type::Query(q) => format!("{q:?}"),
            Type::Stack(n) => format!("wp.tile_stack(capacity={n}, dtype=wp.float32)"),
        }
    }

    /// Short feature name, e.g. `float32`, `vec3`, `mat33`.
    pub fn short_name(self) -> String {
        match self {
            Type::F32 => "float32".into(),
            Type::I32 => "int32".into(),
            Type::Bool => "bool".into(),
            Type::Vec(6) => "spatial_vector".into(),
            Type::Vec(n) => format!("vec{n}"),
            Type::Mat(n) => format!("mat{n}{n}"),
            Type::Quat => "quat".into(),
            Type::Transform => "transform".into(),
            Type::Tile(n) => format!("tile{n}"),
            Type::U32 => "uint32".into(),
            Type::Tile2(m, n) => format!("tile{m}x{n}"),
            Type::Struct(_) => "struct".into(),
            Type::Scene(s) => s.dtype().into(),
            Type::Query(_) => "query".into(),
            Type::Stack(_) => "tile_stack".into(),
        }
    }

    /// Number of scalar components: 1 for scalars, `N` for vectors, `N*N` for matrices, 4 for a quaternion,
    /// 7 for a transform.
    pub fn components(self) -> usize {
        match self {
            Type::F32 | Type::I32 | Type::Bool => 1,
            Type::Vec(n) => n as usize,
            Type::Mat(n) => (n as usize) * (n as usize),
            Type::Quat => 4,
            Type::Transform => 7,
            Type::Tile(n) => n as usize,
            Type::U32 => 1,
            Type::Tile2(m, n) => m as usize * n as usize,
            // a struct's fields are counted from its definition
            Type::Struct(_) => 0,
            // a handle or query is never a tensor of its own type
            Type::Scene(_) | Type::Query(_) | Type::Stack(_) => 0,
        }
    }

    /// True for `float32` and `int32`.
    pub fn is_scalar(self) -> bool {
        matches!(self, Type::F32 | Type::I32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scene_dtypes_list_every_scene_once() {
        let scenes = [
            Scene::Mesh { points: 4, faces: 2 },
            Scene::HashGrid { points: 4 },
            Scene::Bvh { boxes: 2 },
            Scene::Volume { voxel: Voxel::F32, dims: [2, 2, 2], quarters: 1 },
            Scene::Volume { voxel: Voxel::Vec3, dims: [2, 2, 2], quarters: 1 },
            Scene::Volume { voxel: Voxel::I32, dims: [2, 2, 2], quarters: 1 },
        ];
        let dtypes: Vec<&str> = scenes.iter().map(|s| s.dtype()).collect();
        assert_eq!(dtypes, Scene::DTYPES);
    }
}
