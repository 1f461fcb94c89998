//! The standalone CUDA emitter: typed AST in, one self-contained `.cu` out. Pure: no I/O.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;

use warpsmith_ast::{ArrayLen, ArrayRole, BinOp, Expr, ExprKind, Kernel, ParamKind, Stmt, Type, UnOp, VarId};
use warpsmith_gen::vectors::Tensor;

use crate::helpers::{AtomicKind, Elem, Helper};

/// Why a kernel could not be translated: a construct the emitter does not support (an emitter gap, reported
/// as a failure, never silently dropped) or a test case that does not match the kernel's signature.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EmitError {
    /// An AST construct without a translation.
    #[error("unsupported construct: {0}")]
    Unsupported(String),
    /// A test tensor is missing or has the wrong size.
    #[error("test case does not match the kernel: {0}")]
    Test(String),
}

/// The record's test: Warp's launch and, when the kernel was executed, Warp's CPU results.
#[derive(Clone, Copy, Debug)]
pub struct TestCase<'a> {
    /// The launch shape: `[threads]`, or 2 or 3 extents for a 2-D/3-D launch (row-major, last fastest).
    pub launch_dim: &'a [u32],
    /// Input arrays and by-value parameters (the record's `test_inputs`), matched to parameters by name.
    pub inputs: &'a [Tensor],
    /// Warp's outputs and accumulators after one launch (the record's `test_outputs`); `None` when the kernel
    /// was not executed, and then `main()` prints the results instead of comparing them.
    pub expected: Option<&'a [Tensor]>,
}

/// One kernel's translation.
#[derive(Clone, Debug)]
pub struct Translation {
    /// The kernel's name (the Warp function's name).
    pub name: String,
    /// The helpers the section uses (before closing under dependencies).
    pub helpers: BTreeSet<Helper>,
    /// The kernel-specific code: the per-thread function, the `__global__` kernel, the launcher, the test
    /// data and `int run_test()`. It needs [`crate::prelude`] of [`Translation::helpers`] before it.
    pub section: String,
    /// The complete, self-contained `.cu` file: header comment, prelude, section and `main()`.
    pub source: String,
}

/// C++ keywords, CUDA names and the emitter's own names, which a Warp variable must not shadow.
const RESERVED: &[&str] = &[
    "alignas",
    "alignof",
    "and",
    "asm",
    "auto",
    "bool",
    "break",
    "case",
    "catch",
    "char",
    "class",
    "const",
    "constexpr",
    "continue",
    "default",
    "delete",
    "do",
    "double",
    "else",
    "enum",
    "explicit",
    "extern",
    "false",
    "float",
    "for",
    "friend",
    "goto",
    "if",
    "inline",
    "int",
    "long",
    "mutable",
    "namespace",
    "new",
    "not",
    "operator",
    "or",
    "private",
    "protected",
    "public",
    "register",
    "return",
    "short",
    "signed",
    "sizeof",
    "static",
    "struct",
    "switch",
    "template",
    "this",
    "throw",
    "true",
    "try",
    "typedef",
    "typename",
    "union",
    "unsigned",
    "using",
    "virtual",
    "void",
    "volatile",
    "while",
    "xor",
    "threadIdx",
    "blockIdx",
    "blockDim",
    "gridDim",
    "warpSize",
    "main",
    "tid",
    "dim",
    "dim0",
    "dim1",
    "dim2",
    "abs",
    "sign",
    "dot",
    "length",
    "length_sq",
    "normalize",
    "cross",
    "cw_mul",
    "cw_min",
    "cw_max",
    "outer",
    "skew",
    "diag",
    "transpose",
    "trace",
    "determinant",
    "ddot",
    "mul",
    "lerp",
    "smoothstep",
    "clampf",
    "clampi",
    "mini",
    "maxi",
    "degrees",
    "radians",
    "failures",
    "run_test",
    "compare_floats",
    "compare_ints",
    "vec2",
    "vec3",
    "vec4",
    "mat22",
    "mat33",
    "mat44",
    "quat",
    "transform",
    "make_quat",
    "make_transform",
    "quat_inverse",
    "quat_rotate",
    "quat_rotate_inv",
    "quat_from_axis_angle",
    "quat_rpy",
    "quat_to_matrix",
    "quat_identity",
    "transform_multiply",
    "transform_inverse",
    "transform_point",
    "transform_vector",
    "transform_get_translation",
    "transform_get_rotation",
    "threads",
    "blocks",
    "lane",
    "lanes",
    "smem",
    "block_sync",
    "quat_slerp",
    "quat_to_axis_angle",
    "div_approx",
    "transform_to_matrix",
    "transform_compose",
    "quat_to_rpy",
    "inverse",
    "nonzero",
    "identity_mat22",
    "identity_mat33",
    "identity_mat44",
    "make_spatial_vector",
    "spatial_top",
    "spatial_bottom",
    "spatial_dot",
    "spatial_cross",
    "spatial_cross_dual",
    "velocity_at_point",
    "transform_twist",
    "transform_wrench",
    "where_eager",
    "rand_pcg",
    "rand_init",
    "randf",
    "randn",
    "randi",
    "sample_unit_square",
    "sample_unit_disk",
    "sample_unit_ring",
    "sample_triangle",
    "sample_unit_cube",
    "sample_unit_sphere",
    "sample_unit_sphere_surface",
    "sample_unit_hemisphere",
    "sample_unit_hemisphere_surface",
    "norm_l1",
    "norm_huber",
    "norm_pseudo_huber",
    "smooth_normalize",
    "argmin",
    "argmax",
    "cw_div",
    "get_diag",
    "matrix_from_cols",
    "matrix_from_rows",
    "frac",
    "step",
    "bit_count",
    "floordiv",
    "elem",
    "reduced",
    "row",
    "col",
    "dotp",
    "kk",
    "scanned",
    "bytes",
    "arg_best",
    "arg_at",
    "arg_cand",
    "wp_neg",
];

/// C operator precedence (higher binds tighter), from the C++ standard's grammar.
const P_ATOM: u8 = 16;
const P_UNARY: u8 = 15;
const P_TERNARY: u8 = 2;

fn c_prec(op: BinOp) -> u8 {
    match op {
        BinOp::Mul | BinOp::Div | BinOp::Mod | BinOp::FloorDiv => 13,
        BinOp::Add | BinOp::Sub => 12,
        BinOp::Shl | BinOp::Shr => 11,
        BinOp::BitAnd => 8,
        BinOp::BitXor => 7,
        BinOp::BitOr => 6,
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => 10,
        BinOp::Eq | BinOp::Ne => 9,
        BinOp::And => 5,
        BinOp::Or => 4,
        BinOp::MatMul => P_ATOM,
    }
}

fn c_token(op: BinOp) -> &'static str {
    match op {
        BinOp::And => "&&",
        BinOp::Or => "||",
        other => other.token(),
    }
}

/// The C++ type of a value.
fn c_type(t: Type) -> String {
    match t {
        Type::F32 => "float".into(),
        Type::I32 => "int".into(),
        Type::Bool => "bool".into(),
        Type::Vec(n) => format!("vec{n}"),
        Type::Mat(n) => format!("mat{n}{n}"),
        Type::Quat => "quat".into(),
        Type::Transform => "transform".into(),
        Type::Tile(_) => "float*".into(),
        Type::U32 => "unsigned int".into(),
        Type::Tile2(..) => "float*".into(),
        // only a parameter's type, which `Emitter::params` spells with the struct's class name
        Type::Struct(i) => format!("Struct{i}"),
    }
}

/// A float32 value as a C++ literal that parses to the same float (shortest round-trip form).
pub fn float_lit(v: f64) -> String {
    let f = v as f32;
    let s = format!("{f:?}");
    let s = if s.contains('.') || s.contains('e') { s } else { format!("{s}.0") };
    format!("{s}f")
}

struct Emitter<'k> {
    k: &'k Kernel,
    names: HashMap<VarId, String>,
    helpers: BTreeSet<Helper>,
    hoisted: HashSet<VarId>,
    /// The variable bound to `wp.tid()` and named `tid`: the thread index parameter itself.
    tid_var: Option<VarId>,
    /// Tile variables and their offsets (floats) in the block's shared tile storage `smem`.
    tiles: Vec<(VarId, usize, usize)>,
    /// Floats of tile storage a block needs.
    smem_len: usize,
}

/// Translates `kernel` and its test into a standalone `.cu`.
///
/// Errors: [`EmitError::Unsupported`] for a construct without a translation, [`EmitError::Test`] when a
/// parameter has no test tensor or the tensor's size does not match.
pub fn translate(kernel: &Kernel, test: &TestCase) -> Result<Translation, EmitError> {
    let mut e = Emitter::new(kernel)?;
    let mut section = String::new();
    e.struct_defs(&mut section);
    for f in &kernel.funcs {
        let mut fe = Emitter::new(&f.def)?;
        fe.helper_function(&f.result, &mut section)?;
        e.helpers.extend(fe.helpers);
    }
    e.thread_function(&mut section)?;
    e.global_kernel(&mut section);
    e.launcher(&mut section);
    e.run_test(&mut section, test)?;
    let prelude = crate::prelude(&e.helpers);
    let source = format!(
        "// {name}.cu: standalone CUDA translation of the Warp kernel `{name}`, written by warpsmith.\n\
         // GPU: nvcc -O2 -arch=sm_80 {name}.cu -o {name} && ./{name}\n\
         // CPU: g++ -O2 -x c++ {name}.cu -o {name} && ./{name}\n\
         // It runs the kernel on the record's test inputs and compares with Warp's outputs.\n\n\
         {prelude}\n{section}\nint main() {{ return run_test() == 0 ? 0 : 1; }}\n",
        name = kernel.name
    );
    Ok(Translation { name: kernel.name.clone(), helpers: e.helpers, section, source })
}

impl<'k> Emitter<'k> {
    fn new(k: &'k Kernel) -> Result<Self, EmitError> {
        let mut names = HashMap::new();
        let mut used: HashSet<String> = RESERVED.iter().map(|s| s.to_string()).collect();
        used.insert(k.name.clone());
        used.extend(k.funcs.iter().map(|f| f.def.name.clone()));
        used.extend(k.structs.iter().map(|d| d.name.clone()));
        used.insert(format!("{}_kernel", k.name));
        used.insert(format!("launch_{}", k.name));
        let mut tid_var = None;
        if let Some(Stmt::Let { var, value: Expr { kind: ExprKind::Tid, .. } }) = k.body.first()
            && k.vars[*var].name == "tid"
        {
            tid_var = Some(*var);
            names.insert(*var, "tid".to_string());
        }
        for (id, v) in k.vars.iter().enumerate() {
            if names.contains_key(&id) {
                continue;
            }
            let mut name = v.name.clone();
            while used.contains(&name) {
                name.push('_');
            }
            used.insert(name.clone());
            names.insert(id, name);
        }
        let hoisted = hoisted_locals(k)?;
        let mut tiles = Vec::new();
        let mut smem_len = 0;
        for (id, v) in k.vars.iter().enumerate() {
            if matches!(v.ty, Type::Tile(_) | Type::Tile2(..)) {
                let n = v.ty.components();
                tiles.push((id, smem_len, n));
                smem_len += n;
            }
        }
        Ok(Emitter { k, names, helpers: BTreeSet::new(), hoisted, tid_var, tiles, smem_len })
    }

    fn name(&self, id: VarId) -> &str {
        &self.names[&id]
    }

    fn need(&mut self, h: Helper) {
        self.helpers.insert(h);
    }

    /// The parameter list shared by the thread function, the kernel and the launcher (after `dim`).
    fn params(&self) -> Vec<String> {
        self.k
            .params
            .iter()
            .map(|p| {
                let v = &self.k.vars[p.var];
                match p.kind {
                    ParamKind::Array { role: ArrayRole::Input, .. } => {
                        format!("const {}* {}", c_type(v.ty), self.name(p.var))
                    }
                    ParamKind::Array { .. } => format!("{}* {}", c_type(v.ty), self.name(p.var)),
                    ParamKind::Value => format!("{} {}", self.param_type(v.ty), self.name(p.var)),
                }
            })
            .collect()
    }

    /// The C++ type of a by-value parameter: [`c_type`], or a struct's class name.
    fn param_type(&self, t: Type) -> String {
        match t {
            Type::Struct(i) => self.k.structs.get(usize::from(i)).map_or_else(|| c_type(t), |d| d.name.clone()),
            _ => c_type(t),
        }
    }

    /// The kernel's `@wp.struct` classes as C++ structs (the fields in Warp's declaration order).
    fn struct_defs(&mut self, out: &mut String) {
        for d in &self.k.structs {
            let _ = writeln!(out, "// The @wp.struct `{}`, passed by value.\nstruct {} {{", d.name, d.name);
            for f in &d.fields {
                let _ = writeln!(out, "    {} {};", c_type(f.ty), f.name);
            }
            out.push_str("};\n\n");
        }
        let tys: Vec<Type> = self.k.structs.iter().flat_map(|d| d.fields.iter().map(|f| f.ty)).collect();
        for t in tys {
            self.need_type(t);
        }
    }

    fn arg_names(&self) -> Vec<String> {
        self.k.params.iter().map(|p| self.name(p.var).to_string()).collect()
    }

    /// The launch extents' C++ names: `dim` in 1-D, `dim0, dim1(, dim2)` in 2-D/3-D.
    fn dim_names(&self) -> Vec<String> {
        match self.k.ndim() {
            1 => vec!["dim".into()],
            n => (0..n).map(|a| format!("dim{a}")).collect(),
        }
    }

    /// `int dim` or `int dim0, int dim1(, int dim2)`.
    fn dim_params(&self) -> String {
        self.dim_names().iter().map(|d| format!("int {d}")).collect::<Vec<_>>().join(", ")
    }

    /// The thread count as C++ text: `dim` or `dim0 * dim1(* dim2)`.
    fn threads(&self) -> String {
        self.dim_names().join(" * ")
    }

    /// A `@wp.func` helper (this emitter's kernel is its definition) as an `HD` function returning `result`.
    fn helper_function(&mut self, result: &Expr, out: &mut String) -> Result<(), EmitError> {
        let mut body = String::new();
        let mut hoisted: Vec<VarId> = self.hoisted.iter().copied().collect();
        hoisted.sort_unstable();
        for id in hoisted {
            let _ = writeln!(body, "    {} {}{{}};", c_type(self.k.vars[id].ty), self.name(id));
        }
        self.block(&self.k.body.clone(), 1, &mut body)?;
        let r = self.expr(result)?.0;
        self.need_type(result.ty);
        self.need_types_of_params();
        let _ = writeln!(
            out,
            "// The @wp.func helper `{name}`.\nHD inline {ret} {name}({params}) {{\n{body}    return {r};\n}}\n",
            name = self.k.name,
            ret = c_type(result.ty),
            params = self.params().join(", ")
        );
        Ok(())
    }

    fn thread_function(&mut self, out: &mut String) -> Result<(), EmitError> {
        let mut body = String::new();
        let mut hoisted: Vec<VarId> = self.hoisted.iter().copied().collect();
        hoisted.sort_unstable();
        for id in hoisted {
            let ty = self.k.vars[id].ty;
            let zero = match ty {
                Type::F32 => " = 0.0f".to_string(),
                Type::I32 => " = 0".to_string(),
                Type::Bool => " = false".to_string(),
                _ => " = {}".to_string(),
            };
            let _ = writeln!(body, "    {} {}{zero};", c_type(ty), self.name(id));
        }
        self.block(&self.k.body.clone(), 1, &mut body)?;
        let mut tile_decls = String::new();
        for (id, off, n) in self.tiles.clone() {
            let _ = writeln!(tile_decls, "    float* {} = smem + {off};  // a tile of {n}", self.name(id));
        }
        if self.k.is_tiled() {
            self.need(Helper::BlockSync);
        }
        let what = if self.k.is_tiled() {
            "block `tid` of `dim`, as lane `lane` of `lanes` (tiles live in the block's `smem`)".to_string()
        } else if self.k.ndim() == 1 {
            "thread index `tid` of `dim`".to_string()
        } else {
            format!(
                "linear thread index `tid` of a {} launch (row-major, as Warp's `wp.tid()`)",
                self.dim_names().join(" x ")
            )
        };
        let _ = writeln!(
            out,
            "// One thread of `{}`: the Warp kernel's body, for {what}.\n\
             HD inline void {}(int tid, {}{}, {}) {{\n{tile_decls}{body}}}\n",
            self.k.name,
            self.k.name,
            self.dim_params(),
            if self.k.is_tiled() { ", int lane, int lanes, float* smem" } else { "" },
            self.params().join(", ")
        );
        Ok(())
    }

    fn global_kernel(&self, out: &mut String) {
        if self.k.is_tiled() {
            let _ = writeln!(
                out,
                "#ifdef __CUDACC__\n\
                 // One block per Warp block (`wp.launch_tiled`): its threads share the tiles in shared memory.\n\
                 __global__ void {name}_kernel(int dim, {params}) {{\n    \
                 extern __shared__ float smem[];\n    \
                 for (int tid = blockIdx.x; tid < dim; tid += gridDim.x) {{\n        \
                 {name}(tid, dim, threadIdx.x, blockDim.x, smem, {args});\n        __syncthreads();\n    }}\n}}\n#endif\n",
                name = self.k.name,
                params = self.params().join(", "),
                args = self.arg_names().join(", ")
            );
            return;
        }
        let _ = writeln!(
            out,
            "#ifdef __CUDACC__\n\
             __global__ void {name}_kernel({dims}, {params}) {{\n    \
             for (int tid = blockIdx.x * blockDim.x + threadIdx.x; tid < {threads}; tid += blockDim.x * gridDim.x) {{\n        \
             {name}(tid, {dim_args}, {args});\n    }}\n}}\n#endif\n",
            name = self.k.name,
            dims = self.dim_params(),
            threads = self.threads(),
            dim_args = self.dim_names().join(", "),
            params = self.params().join(", "),
            args = self.arg_names().join(", ")
        );
    }

    /// Element count of an array parameter, as C++ text: the thread count for a launch-shaped array.
    fn array_len(&self, len: ArrayLen) -> String {
        match len {
            ArrayLen::Launch => self.threads(),
            ArrayLen::Fixed(k) => k.to_string(),
            ArrayLen::Tiled(k) => format!("{} * {k}", self.threads()),
            ArrayLen::Tiled2(r, c) => format!("{} * {}", self.threads(), r * c),
            ArrayLen::Fixed2(r, c) => (r * c).to_string(),
        }
    }

    fn launcher(&self, out: &mut String) {
        let name = &self.k.name;
        let params = self.params().join(", ");
        let (dims, threads, dim_args) = (self.dim_params(), self.threads(), self.dim_names().join(", "));
        let unit = if self.k.is_tiled() { "blocks" } else { "threads" };
        let _ = writeln!(
            out,
            "// Runs `{name}` over `{threads}` {unit} on host arrays. Under nvcc: copies the arrays to the GPU, launches\n\
             // the kernel, copies the outputs back and checks every CUDA call. Otherwise: runs the threads in order\n\
             // on the CPU, as Warp's CPU backend does.\n\
             void launch_{name}({dims}, {params}) {{\n#ifdef __CUDACC__"
        );
        let mut dev_args = Vec::new();
        let mut copy_back = String::new();
        let mut free = String::new();
        for p in &self.k.params {
            let v = &self.k.vars[p.var];
            let n = self.name(p.var);
            match p.kind {
                ParamKind::Value => dev_args.push(n.to_string()),
                ParamKind::Array { role, len } => {
                    let t = c_type(v.ty);
                    let count = self.array_len(len);
                    let _ = writeln!(
                        out,
                        "    {t}* d_{n} = nullptr;\n    \
                         CUDA_CHECK(cudaMalloc(&d_{n}, {count} * sizeof({t})));\n    \
                         CUDA_CHECK(cudaMemcpy(d_{n}, {n}, {count} * sizeof({t}), cudaMemcpyHostToDevice));"
                    );
                    if role != ArrayRole::Input {
                        let _ = writeln!(
                            copy_back,
                            "    CUDA_CHECK(cudaMemcpy({n}, d_{n}, {count} * sizeof({t}), cudaMemcpyDeviceToHost));"
                        );
                    }
                    let _ = writeln!(free, "    CUDA_CHECK(cudaFree(d_{n}));");
                    dev_args.push(format!("d_{n}"));
                }
            }
        }
        if self.k.is_tiled() {
            let _ = writeln!(
                out,
                "    const int threads = 64;\n    \
                 {name}_kernel<<<dim, threads, {smem} * sizeof(float)>>>(dim, {});\n    \
                 CUDA_CHECK(cudaGetLastError());\n    CUDA_CHECK(cudaDeviceSynchronize());\n{copy_back}{free}#else\n    \
                 static float smem[{smem}];\n    \
                 for (int tid = 0; tid < dim; ++tid) {name}(tid, dim, 0, 1, smem, {});\n#endif\n}}\n",
                dev_args.join(", "),
                self.arg_names().join(", "),
                smem = self.smem_len.max(1)
            );
            return;
        }
        let _ = writeln!(
            out,
            "    const int threads = 256;\n    const int blocks = ({threads} + threads - 1) / threads;\n    \
             {name}_kernel<<<blocks, threads>>>({dim_args}, {});\n    \
             CUDA_CHECK(cudaGetLastError());\n    CUDA_CHECK(cudaDeviceSynchronize());\n{copy_back}{free}#else\n    \
             for (int tid = 0; tid < {threads}; ++tid) {name}(tid, {dim_args}, {});\n#endif\n}}\n",
            dev_args.join(", "),
            self.arg_names().join(", ")
        );
    }

    fn run_test(&mut self, out: &mut String, test: &TestCase) -> Result<(), EmitError> {
        let k = self.k;
        let find = |name: &str, ts: &[Tensor]| -> Option<Tensor> { ts.iter().find(|t| t.name == name).cloned() };
        if test.launch_dim.len() != k.ndim() {
            return Err(EmitError::Test(format!("launch shape {:?} for a {}-D kernel", test.launch_dim, k.ndim())));
        }
        let _ = writeln!(
            out,
            "// The record's test: Warp's launch on `test_inputs`; the expected values are Warp's CPU results.\n\
             int run_test() {{"
        );
        for (d, n) in self.dim_names().iter().zip(test.launch_dim) {
            let _ = writeln!(out, "    const int {d} = {n};");
        }
        let threads: usize = test.launch_dim.iter().map(|&d| d as usize).product();
        let mut checks = String::new();
        let mut prints = String::new();
        for p in &k.params {
            let v = &k.vars[p.var];
            let n = self.name(p.var).to_string();
            let comps = v.ty.components();
            let is_int = v.ty == Type::I32;
            let lit = |x: f64| if is_int { format!("{}", x as i64) } else { float_lit(x) };
            match p.kind {
                ParamKind::Value => {
                    let t = find(&v.name, test.inputs)
                        .ok_or_else(|| EmitError::Test(format!("no test input for parameter `{}`", v.name)))?;
                    let comps = match v.ty {
                        Type::Struct(i) => k.structs[usize::from(i)].fields.iter().map(|f| f.ty.components()).sum(),
                        _ => comps,
                    };
                    if t.values.len() != comps {
                        return Err(EmitError::Test(format!("`{}` has {} values", v.name, t.values.len())));
                    }
                    let value = match v.ty {
                        Type::F32 | Type::I32 => lit(t.values[0]),
                        Type::Vec(d) => {
                            format!("make_vec{d}({})", t.values.iter().map(|x| lit(*x)).collect::<Vec<_>>().join(", "))
                        }
                        Type::Mat(d) => {
                            format!(
                                "make_mat{d}{d}({})",
                                t.values.iter().map(|x| lit(*x)).collect::<Vec<_>>().join(", ")
                            )
                        }
                        Type::Struct(i) => {
                            // the fields' values flattened in declaration order
                            let def = &k.structs[usize::from(i)];
                            let mut rest = t.values.as_slice();
                            let mut parts = Vec::new();
                            for f in &def.fields {
                                let c = f.ty.components();
                                if rest.len() < c {
                                    return Err(EmitError::Test(format!("`{}` has too few values", v.name)));
                                }
                                let (mine, more) = rest.split_at(c);
                                rest = more;
                                let flit =
                                    |x: f64| if f.ty == Type::I32 { format!("{}", x as i64) } else { float_lit(x) };
                                parts.push(match f.ty {
                                    Type::Vec(d) => {
                                        format!(
                                            "make_vec{d}({})",
                                            mine.iter().map(|x| flit(*x)).collect::<Vec<_>>().join(", ")
                                        )
                                    }
                                    _ => flit(mine[0]),
                                });
                            }
                            format!("{{{}}}", parts.join(", "))
                        }
                        Type::Bool | Type::Quat | Type::Transform | Type::Tile(_) | Type::Tile2(..) | Type::U32 => {
                            return Err(EmitError::Unsupported(format!("a by-value {} parameter", v.ty.short_name())));
                        }
                    };
                    let _ = writeln!(out, "    const {} {n} = {value};", self.param_type(v.ty));
                }
                ParamKind::Array { role, len } => {
                    let count = match len {
                        ArrayLen::Launch => threads,
                        ArrayLen::Fixed(c) => c as usize,
                        ArrayLen::Tiled(c) => threads * c as usize,
                        ArrayLen::Tiled2(r, c) => threads * (r * c) as usize,
                        ArrayLen::Fixed2(r, c) => (r * c) as usize,
                    };
                    let t = c_type(v.ty);
                    let scalar = if is_int { "int" } else { "float" };
                    if role == ArrayRole::Input {
                        let data = find(&v.name, test.inputs)
                            .ok_or_else(|| EmitError::Test(format!("no test input for array `{}`", v.name)))?;
                        if data.values.len() != count * comps {
                            return Err(EmitError::Test(format!(
                                "`{}` has {} values, expected {}",
                                v.name,
                                data.values.len(),
                                count * comps
                            )));
                        }
                        let _ = writeln!(
                            out,
                            "    static const {t} {n}[{count}] = {};",
                            initializer(v.ty, &data.values, &lit)
                        );
                        continue;
                    }
                    let _ = writeln!(out, "    static {t} {n}[{count}];\n    memset({n}, 0, sizeof({n}));");
                    let flat = count * comps;
                    let cmp = if is_int { "compare_ints" } else { "compare_floats" };
                    match test.expected {
                        Some(expected) => {
                            let want = find(&v.name, expected)
                                .ok_or_else(|| EmitError::Test(format!("no expected output for `{}`", v.name)))?;
                            if want.values.len() != flat {
                                return Err(EmitError::Test(format!(
                                    "expected `{}` has {} values, expected {flat}",
                                    v.name,
                                    want.values.len()
                                )));
                            }
                            let values = want.values.iter().map(|x| lit(*x)).collect::<Vec<_>>();
                            let _ = writeln!(
                                checks,
                                "    static const {scalar} {n}_expected[{flat}] = {{{}}};\n    \
                                 failures += {cmp}(\"{}\", (const {scalar}*){n}, {n}_expected, {flat});",
                                wrap(&values, 8),
                                v.name
                            );
                        }
                        None => {
                            let fmt = if is_int { "%d" } else { "%.9g" };
                            let _ = writeln!(
                                prints,
                                "    printf(\"{}:\");\n    \
                                 for (int i = 0; i < {flat}; ++i) printf(\" {fmt}\", ((const {scalar}*){n})[i]);\n    \
                                 printf(\"\\n\");",
                                v.name
                            );
                        }
                    }
                }
            }
        }
        let _ =
            writeln!(out, "    launch_{}({}, {});", k.name, self.dim_names().join(", "), self.arg_names().join(", "));
        if test.expected.is_some() {
            let _ = writeln!(
                out,
                "    int failures = 0;\n{checks}    \
                 printf(\"{}: %s (%d values differ from Warp's)\\n\", failures == 0 ? \"PASS\" : \"FAIL\", failures);\n    \
                 return failures;\n}}",
                k.name
            );
        } else {
            let _ = writeln!(out, "{prints}    return 0;\n}}");
        }
        self.need_types_of_params();
        Ok(())
    }

    fn need_types_of_params(&mut self) {
        let tys: Vec<Type> = self.k.params.iter().map(|p| self.k.vars[p.var].ty).collect();
        for t in tys {
            self.need_type(t);
        }
    }

    fn need_type(&mut self, t: Type) {
        match t {
            Type::Vec(n) => self.need(Helper::Vec(n)),
            Type::Mat(n) => self.need(Helper::Mat(n)),
            Type::Quat => self.need(Helper::Quat),
            Type::Transform => self.need(Helper::Transform),
            _ => {}
        }
    }

    fn block(&mut self, stmts: &[Stmt], depth: usize, out: &mut String) -> Result<(), EmitError> {
        for s in stmts {
            self.stmt(s, depth, out)?;
        }
        Ok(())
    }

    fn stmt(&mut self, s: &Stmt, depth: usize, out: &mut String) -> Result<(), EmitError> {
        let ind = "    ".repeat(depth);
        match s {
            Stmt::Let { var, value } if matches!(self.k.vars[*var].ty, Type::Tile(_) | Type::Tile2(..)) => {
                self.tile_let(*var, value, &ind, out)?;
            }
            Stmt::Call(e) => self.tile_call(e, &ind, out)?,
            Stmt::Let { var, value } => {
                if Some(*var) == self.tid_var && matches!(value.kind, ExprKind::Tid) {
                    return Ok(());
                }
                let v = self.expr(value)?.0;
                let ty = self.k.vars[*var].ty;
                self.need_type(ty);
                if self.hoisted.contains(var) {
                    let _ = writeln!(out, "{ind}{} = {v};", self.name(*var));
                } else {
                    let _ = writeln!(out, "{ind}{} {} = {v};", c_type(ty), self.name(*var));
                }
            }
            Stmt::Assign { var, value } => {
                let v = self.expr(value)?.0;
                let _ = writeln!(out, "{ind}{} = {v};", self.name(*var));
            }
            Stmt::Store { array, index, value } => {
                let (i, v) = (self.flat_index(index)?, self.expr(value)?.0);
                // in a tile kernel every lane computes the value; one writes it
                let guard = if self.k.is_tiled() { "if (lane == 0) " } else { "" };
                let _ = writeln!(out, "{ind}{guard}{}[{i}] = {v};", self.name(*array));
            }
            Stmt::LaunchIndex { vars } => {
                // Warp's `wp.tid()` in 2-D/3-D: the linear index split row-major (last index fastest)
                let names: Vec<String> = vars.iter().map(|v| self.name(*v).to_string()).collect();
                let split = match names.len() {
                    2 => vec!["tid / dim1".to_string(), "tid % dim1".to_string()],
                    3 => vec!["tid / (dim1 * dim2)".into(), "(tid / dim2) % dim1".into(), "tid % dim2".into()],
                    n => return Err(EmitError::Unsupported(format!("a {n}-D launch"))),
                };
                for (n, e) in names.iter().zip(split) {
                    let _ = writeln!(out, "{ind}const int {n} = {e};");
                }
            }
            Stmt::Atomic { op, array, index, value } => {
                let kind = AtomicKind::from(*op);
                let ty = self.k.vars[*array].ty;
                match ty {
                    Type::F32 => self.need(Helper::Atomic(kind, Elem::F32)),
                    Type::I32 => self.need(Helper::Atomic(kind, Elem::I32)),
                    Type::Vec(n) => self.need(Helper::AtomicVec(kind, n)),
                    Type::Mat(n) => self.need(Helper::AtomicMat(kind, n)),
                    Type::Bool
                    | Type::Quat
                    | Type::Transform
                    | Type::Tile(_)
                    | Type::Tile2(..)
                    | Type::U32
                    | Type::Struct(_) => {
                        return Err(EmitError::Unsupported(format!("atomic on a {} array", ty.short_name())));
                    }
                }
                let (i, v) = (self.expr(index)?.0, self.expr(value)?.0);
                let _ = writeln!(out, "{ind}{}(&{}[{i}], {v});", kind.name(), self.name(*array));
            }
            Stmt::If { cond, then, elifs, els } => {
                let c = self.expr(cond)?.0;
                let _ = writeln!(out, "{ind}if ({c}) {{");
                self.block(then, depth + 1, out)?;
                for (c, b) in elifs {
                    let c = self.expr(c)?.0;
                    let _ = writeln!(out, "{ind}}} else if ({c}) {{");
                    self.block(b, depth + 1, out)?;
                }
                if !els.is_empty() {
                    let _ = writeln!(out, "{ind}}} else {{");
                    self.block(els, depth + 1, out)?;
                }
                let _ = writeln!(out, "{ind}}}");
            }
            // a `while` over a counter runs the same iterations as its `for`
            Stmt::For { var, count, body, reversed, .. } => {
                let n = self.expr(count)?;
                let i = self.name(*var).to_string();
                if *reversed {
                    let n = paren(n, c_prec(BinOp::Sub) + 1);
                    let _ = writeln!(out, "{ind}for (int {i} = {n} - 1; {i} >= 0; --{i}) {{");
                } else {
                    let n = paren(n, c_prec(BinOp::Lt) + 1);
                    let _ = writeln!(out, "{ind}for (int {i} = 0; {i} < {n}; ++{i}) {{");
                }
                self.block(body, depth + 1, out)?;
                let _ = writeln!(out, "{ind}}}");
            }
            Stmt::Unpack { vars, value } => {
                // a builtin returning a tuple: its C++ version writes out parameters
                let ExprKind::Call(name, args) = &value.kind else {
                    return Err(EmitError::Unsupported("unpacking a non-call".into()));
                };
                self.need(match *name {
                    "quat_to_axis_angle" => Helper::QuatToAxisAngle,
                    "transform_decompose" => Helper::TransformDecompose,
                    other => return Err(EmitError::Unsupported(format!("unpacking wp.{other}"))),
                });
                let mut call_args = Vec::new();
                for a in args {
                    call_args.push(self.expr(a)?.0);
                }
                for v in vars {
                    let ty = self.k.vars[*v].ty;
                    self.need_type(ty);
                    if !self.hoisted.contains(v) {
                        let _ = writeln!(out, "{ind}{} {};", c_type(ty), self.name(*v));
                    }
                    call_args.push(self.name(*v).to_string());
                }
                let _ = writeln!(out, "{ind}{name}({});", call_args.join(", "));
            }
            Stmt::SetComponent { var, index, op, value } => {
                let v = self.expr(value)?.0;
                let tok = match op {
                    Some(BinOp::Add) => "+=",
                    Some(BinOp::Sub) => "-=",
                    _ => "=",
                };
                if matches!(self.k.vars[*var].ty, Type::Tile(_) | Type::Tile2(..)) {
                    // one element of a shared tile: one lane writes it, then the block synchronizes
                    let _ = writeln!(out, "{ind}if (lane == 0) {}[{index}] {tok} {v};", self.name(*var));
                    self.need(Helper::BlockSync);
                    let _ = writeln!(out, "{ind}block_sync();");
                } else {
                    let _ = writeln!(out, "{ind}{}[{index}] {tok} {v};", self.name(*var));
                }
            }
            Stmt::Break => {
                let _ = writeln!(out, "{ind}break;");
            }
            Stmt::Continue => {
                let _ = writeln!(out, "{ind}continue;");
            }
            Stmt::Return => {
                if self.k.is_tiled() {
                    return Err(EmitError::Unsupported("return from a tile kernel".into()));
                }
                let _ = writeln!(out, "{ind}return;");
            }
        }
        Ok(())
    }

    /// Translates an expression; returns its C++ text and precedence.
    fn expr(&mut self, e: &Expr) -> Result<(String, u8), EmitError> {
        Ok(match &e.kind {
            ExprKind::Var(id) => (self.name(*id).to_string(), P_ATOM),
            ExprKind::Tid => ("tid".into(), P_ATOM),
            ExprKind::Float(v) => (float_lit(*v), P_ATOM),
            ExprKind::Int(v) => (v.to_string(), P_ATOM),
            ExprKind::Bool(b) => ((if *b { "true" } else { "false" }).into(), P_ATOM),
            // Warp negates a float as 0 - x (builtin.h `neg`): -(0.0) is +0.0, which copysign, atan2 and
            // 1/x tell from -0.0, also after the zero has travelled through variables and products
            ExprKind::Unary(UnOp::Neg, a) if a.ty == Type::F32 && !matches!(a.kind, ExprKind::Float(_)) => {
                self.need(Helper::NegF);
                (format!("wp_neg({})", self.expr(a)?.0), P_ATOM)
            }
            ExprKind::Unary(op, a) => {
                match (op, a.ty) {
                    (UnOp::Neg, Type::Quat) => self.need(Helper::QuatNeg),
                    (UnOp::Neg, Type::Transform) => return Err(EmitError::Unsupported("-transform".into())),
                    (UnOp::Neg, Type::Vec(n)) => self.need(Helper::VecNeg(n)),
                    (UnOp::Neg, Type::Mat(n)) => self.need(Helper::MatNeg(n)),
                    _ => {}
                }
                let tok = match op {
                    UnOp::Neg => "-",
                    UnOp::Not => "!",
                    UnOp::Invert => "~",
                    UnOp::Pos => "+",
                };
                let inner = self.expr(a)?;
                // `- -x` must not print as the decrement `--x`
                let nested = matches!(a.kind, ExprKind::Unary(..)) || inner.0.starts_with('-');
                let s = if nested { format!("({})", inner.0) } else { paren(inner, P_UNARY) };
                (format!("{tok}{s}"), P_UNARY)
            }
            ExprKind::Binary(op, a, b) => self.binary(*op, e.ty, a, b)?,
            ExprKind::Field(v, f) => {
                let Type::Struct(i) = self.k.vars[*v].ty else {
                    return Err(EmitError::Unsupported("a field of a non-struct".into()));
                };
                let field = self.k.structs[usize::from(i)].fields[usize::from(*f)].name.clone();
                (format!("{}.{field}", self.name(*v)), P_ATOM)
            }
            ExprKind::FuncCall(i, args) => {
                let f = self.k.funcs.get(*i).ok_or_else(|| EmitError::Unsupported(format!("helper {i}")))?;
                let name = f.def.name.clone();
                (format!("{name}({})", self.args(args)?), P_ATOM)
            }
            ExprKind::Call(name, args) => self.call(name, e.ty, args)?,
            ExprKind::Construct(args) => self.construct(e.ty, args)?,
            ExprKind::Load(arr, idx) => {
                let i = self.flat_index(idx)?;
                (format!("{}[{i}]", self.name(*arr)), P_ATOM)
            }
            ExprKind::Component(base, i, j) => {
                self.need_type(base.ty);
                let b = self.expr(base)?;
                let b = paren(b, P_ATOM);
                match j {
                    None => (format!("{b}[{i}]"), P_ATOM),
                    Some(j) => (format!("{b}[{i}][{j}]"), P_ATOM),
                }
            }
            ExprKind::Kw(..) | ExprKind::FuncRef(_) | ExprKind::Tuple(_) => {
                return Err(EmitError::Unsupported(format!("{:?} outside a tile operation", e.kind)));
            }
            ExprKind::Len(arr, axis) => {
                let p = self
                    .k
                    .params
                    .iter()
                    .find(|p| p.var == *arr)
                    .ok_or_else(|| EmitError::Unsupported("shape of a non-parameter".into()))?;
                match p.kind {
                    ParamKind::Array { len: ArrayLen::Launch, .. } if self.k.ndim() > 1 => {
                        (format!("dim{axis}"), P_ATOM)
                    }
                    ParamKind::Array { len, .. } => (self.array_len(len), P_ATOM),
                    ParamKind::Value => return Err(EmitError::Unsupported("shape of a by-value parameter".into())),
                }
            }
        })
    }

    /// A tile-valued `Let`: `wp.tile_load`, a reduction (`tile_sum`/`tile_max`/`tile_min`/`tile_reduce`, by
    /// lane 0 in element order, as Warp's CPU path does), or an element-wise expression (each lane its
    /// elements). Every form ends with `block_sync()` so the block sees the whole tile.
    fn tile_let(&mut self, var: VarId, value: &Expr, ind: &str, out: &mut String) -> Result<(), EmitError> {
        let ty = self.k.vars[var].ty;
        if !matches!(ty, Type::Tile(_) | Type::Tile2(..)) {
            return Err(EmitError::Unsupported("a tile let of a non-tile".into()));
        }
        let n = ty.components();
        let t = self.name(var).to_string();
        match &value.kind {
            ExprKind::Call("tile_load", args) if matches!(ty, Type::Tile2(..)) => {
                // a 2-D tile from a row-major 2-D array: element (r, c) is a[(o0 + r) * cols + o1 + c]
                let (Some(src), Type::Tile2(_, cols)) = (args.first(), ty) else {
                    return Err(EmitError::Unsupported("tile_load form".into()));
                };
                let ExprKind::Var(a) = src.kind else {
                    return Err(EmitError::Unsupported("tile_load of a non-array".into()));
                };
                let (o0, o1) = self.tile_offset(args)?;
                let stride = self.array_cols(a)?;
                let a = self.name(a).to_string();
                let _ = writeln!(
                    out,
                    "{ind}for (int elem = lane; elem < {n}; elem += lanes) \
                     {t}[elem] = {a}[({o0} + elem / {cols}) * {stride} + {o1} + elem % {cols}];"
                );
            }
            ExprKind::Call("tile_matmul", args) => {
                // each lane its elements of C; the dot products in k order, from 0, as Warp's scalar GEMM
                let ([x, y], Type::Tile2(_, cols)) = (args.as_slice(), ty) else {
                    return Err(EmitError::Unsupported("tile_matmul form".into()));
                };
                let (ExprKind::Var(xv), ExprKind::Var(yv), Type::Tile2(_, inner)) = (&x.kind, &y.kind, x.ty) else {
                    return Err(EmitError::Unsupported("tile_matmul of expressions".into()));
                };
                let (xa, yb) = (self.name(*xv).to_string(), self.name(*yv).to_string());
                let _ = writeln!(
                    out,
                    "{ind}for (int elem = lane; elem < {n}; elem += lanes) {{\n{ind}    \
                     const int row = elem / {cols}, col = elem % {cols};\n{ind}    float dotp = 0.0f;\n{ind}    \
                     for (int kk = 0; kk < {inner}; ++kk) dotp += {xa}[row * {inner} + kk] * {yb}[kk * {cols} + col];\n{ind}    \
                     {t}[elem] = dotp;\n{ind}}}"
                );
            }
            ExprKind::Call("tile_transpose", args) => {
                let ([x], Type::Tile2(_, cols)) = (args.as_slice(), ty) else {
                    return Err(EmitError::Unsupported("tile_transpose form".into()));
                };
                let ExprKind::Var(xv) = x.kind else {
                    return Err(EmitError::Unsupported("tile_transpose of an expression".into()));
                };
                // t is rows x cols, x is cols x rows: t[r][c] = x[c][r]
                let src = self.name(xv).to_string();
                let _ = writeln!(
                    out,
                    "{ind}for (int elem = lane; elem < {n}; elem += lanes) {t}[elem] = {src}[(elem % {cols}) * {rows} + elem / {cols}];",
                    rows = n / cols as usize
                );
            }
            ExprKind::Call("tile_load", args) => {
                let [src, _shape, off] = args.as_slice() else {
                    return Err(EmitError::Unsupported("tile_load without shape and offset".into()));
                };
                let (ExprKind::Var(a), ExprKind::Kw("offset", o)) = (&src.kind, &off.kind) else {
                    return Err(EmitError::Unsupported("tile_load form".into()));
                };
                let o = self.expr(o)?;
                let o = paren(o, c_prec(BinOp::Add));
                let a = self.name(*a).to_string();
                let _ =
                    writeln!(out, "{ind}for (int elem = lane; elem < {n}; elem += lanes) {t}[elem] = {a}[{o} + elem];");
            }
            ExprKind::Call(fill @ ("tile_ones" | "tile_full" | "tile_zeros" | "tile_arange"), args) => {
                let v = match *fill {
                    "tile_ones" => "1.0f".to_string(),
                    "tile_zeros" => "0.0f".to_string(),
                    "tile_arange" => "(float)elem".to_string(),
                    _ => {
                        let value = args.iter().find_map(|a| match &a.kind {
                            ExprKind::Kw("value", v) => Some(v),
                            _ => None,
                        });
                        let value = value.ok_or_else(|| EmitError::Unsupported("tile_full without a value".into()))?;
                        self.expr(value)?.0
                    }
                };
                let _ = writeln!(out, "{ind}for (int elem = lane; elem < {n}; elem += lanes) {t}[elem] = {v};");
            }
            ExprKind::Call(
                scan @ ("tile_scan_inclusive"
                | "tile_scan_exclusive"
                | "tile_scan_max_inclusive"
                | "tile_scan_min_inclusive"),
                args,
            ) => {
                let [src] = args.as_slice() else {
                    return Err(EmitError::Unsupported(format!("{scan} arguments")));
                };
                let x = self.tile_elem(src, "elem")?.0;
                // lane 0 in element order, as Warp's block_dim-1 path: acc starts at the identity
                let (init, step, exclusive) = match *scan {
                    "tile_scan_inclusive" => ("0.0f", format!("scanned + {x}"), false),
                    "tile_scan_exclusive" => ("0.0f", format!("scanned + {x}"), true),
                    "tile_scan_max_inclusive" => ("NAN", format!("fmaxf(scanned, {x})"), false),
                    _ => ("NAN", format!("fminf(scanned, {x})"), false),
                };
                let body = if exclusive {
                    format!("{t}[elem] = scanned;\n{ind}        scanned = {step};")
                } else {
                    format!("scanned = {step};\n{ind}        {t}[elem] = scanned;")
                };
                let _ = writeln!(
                    out,
                    "{ind}if (lane == 0) {{\n{ind}    float scanned = {init};\n{ind}    \
                     for (int elem = 0; elem < {n}; ++elem) {{\n{ind}        {body}\n{ind}    }}\n{ind}}}"
                );
            }
            ExprKind::Call(arg @ ("tile_argmax" | "tile_argmin"), args) => {
                // lane 0 in element order; the first extreme element wins, as Warp's argmax/argmin trackers
                let [src] = args.as_slice() else {
                    return Err(EmitError::Unsupported(format!("{arg} arguments")));
                };
                let len = src.ty.components();
                let first = self.tile_elem(src, "0")?.0;
                let x = self.tile_elem(src, "elem")?.0;
                let cmp = if *arg == "tile_argmax" { ">" } else { "<" };
                let lines = [
                    "if (lane == 0) {".to_string(),
                    format!("    float arg_best = {first};"),
                    "    int arg_at = 0;".to_string(),
                    format!("    for (int elem = 1; elem < {len}; ++elem) {{"),
                    format!("        float arg_cand = {x};"),
                    format!("        if (arg_cand {cmp} arg_best) {{"),
                    "            arg_best = arg_cand;".to_string(),
                    "            arg_at = elem;".to_string(),
                    "        }".to_string(),
                    "    }".to_string(),
                    format!("    {t}[0] = (float)arg_at;"),
                    "}".to_string(),
                ];
                for l in lines {
                    let _ = writeln!(out, "{ind}{l}");
                }
            }
            ExprKind::Call(red @ ("tile_sum" | "tile_max" | "tile_min" | "tile_reduce"), args) => {
                let (op, src) = match (*red, args.as_slice()) {
                    ("tile_reduce", [f, src]) => match f.kind {
                        ExprKind::FuncRef(op) => (op, src),
                        _ => return Err(EmitError::Unsupported("tile_reduce without a builtin".into())),
                    },
                    (r, [src]) => (r.trim_start_matches("tile_"), src),
                    _ => return Err(EmitError::Unsupported(format!("{red} arguments"))),
                };
                if !matches!(src.ty, Type::Tile(_) | Type::Tile2(..)) {
                    return Err(EmitError::Unsupported(format!("{red} of a non-tile")));
                }
                let len = src.ty.components();
                let s = self.tile_elem(src, "0")?.0;
                let x = self.tile_elem(src, "elem")?.0;
                let step = match op {
                    "sum" | "add" => format!("reduced + {x}"),
                    "max" => format!("fmaxf(reduced, {x})"),
                    "min" => format!("fminf(reduced, {x})"),
                    other => return Err(EmitError::Unsupported(format!("tile reduction by {other}"))),
                };
                let _ = writeln!(
                    out,
                    "{ind}if (lane == 0) {{\n{ind}    float reduced = {s};\n{ind}    \
                     for (int elem = 1; elem < {len}; ++elem) reduced = {step};\n{ind}    {t}[0] = reduced;\n{ind}}}"
                );
            }
            _ => {
                let v = self.tile_elem(value, "elem")?.0;
                let _ = writeln!(out, "{ind}for (int elem = lane; elem < {n}; elem += lanes) {t}[elem] = {v};");
            }
        }
        let _ = writeln!(out, "{ind}block_sync();");
        Ok(())
    }

    /// `wp.tile_store(out, t, offset=o)` (each lane its elements) or `wp.tile_atomic_add(acc, t)`.
    fn tile_call(&mut self, e: &Expr, ind: &str, out: &mut String) -> Result<(), EmitError> {
        let ExprKind::Call(name, args) = &e.kind else {
            return Err(EmitError::Unsupported("an expression statement".into()));
        };
        match (*name, args.as_slice()) {
            ("tile_axpy", [a, x, t]) => {
                // dest += alpha * src, element-wise in place
                let ExprKind::Var(dest) = t.kind else {
                    return Err(EmitError::Unsupported("tile_axpy into an expression".into()));
                };
                let a = self.expr(a)?;
                let x = self.tile_elem(x, "elem")?;
                let n = t.ty.components();
                let p = c_prec(BinOp::Mul);
                let d = self.name(dest).to_string();
                let _ = writeln!(
                    out,
                    "{ind}for (int elem = lane; elem < {n}; elem += lanes) {d}[elem] += {} * {};",
                    paren(a, p),
                    paren(x, p + 1)
                );
                self.need(Helper::BlockSync);
                let _ = writeln!(out, "{ind}block_sync();");
            }
            (set @ ("transform_set_translation" | "transform_set_rotation"), [t, v]) => {
                // in place on a local transform
                let ExprKind::Var(t) = t.kind else {
                    return Err(EmitError::Unsupported(format!("wp.{set} of a non-variable")));
                };
                let v = self.expr(v)?.0;
                let field = if set == "transform_set_translation" { "p" } else { "q" };
                let _ = writeln!(out, "{ind}{}.{field} = {v};", self.name(t));
            }
            ("tile_store", [dst, t, _]) if matches!(t.ty, Type::Tile2(..)) => {
                let (ExprKind::Var(a), Type::Tile2(_, cols)) = (&dst.kind, t.ty) else {
                    return Err(EmitError::Unsupported("tile_store form".into()));
                };
                let (o0, o1) = self.tile_offset(args)?;
                let stride = self.array_cols(*a)?;
                let v = self.tile_elem(t, "elem")?.0;
                let a = self.name(*a).to_string();
                let n = t.ty.components();
                let _ = writeln!(
                    out,
                    "{ind}for (int elem = lane; elem < {n}; elem += lanes) \
                     {a}[({o0} + elem / {cols}) * {stride} + {o1} + elem % {cols}] = {v};"
                );
            }
            ("tile_store", [dst, t, off]) => {
                let (ExprKind::Var(a), ExprKind::Kw("offset", o), Type::Tile(n)) = (&dst.kind, &off.kind, t.ty) else {
                    return Err(EmitError::Unsupported("tile_store form".into()));
                };
                let o = self.expr(o)?;
                let o = paren(o, c_prec(BinOp::Add));
                let v = self.tile_elem(t, "elem")?.0;
                let a = self.name(*a).to_string();
                let _ = writeln!(out, "{ind}for (int elem = lane; elem < {n}; elem += lanes) {a}[{o} + elem] = {v};");
            }
            ("tile_atomic_add", [dst, t]) => {
                let (ExprKind::Var(a), Type::Tile(n)) = (&dst.kind, t.ty) else {
                    return Err(EmitError::Unsupported("tile_atomic_add form".into()));
                };
                self.need(Helper::Atomic(AtomicKind::Add, Elem::F32));
                let v = self.tile_elem(t, "elem")?.0;
                let a = self.name(*a).to_string();
                let _ =
                    writeln!(out, "{ind}for (int elem = lane; elem < {n}; elem += lanes) atomic_add(&{a}[elem], {v});");
            }
            _ => return Err(EmitError::Unsupported(format!("wp.{name} as a statement"))),
        }
        Ok(())
    }

    /// The `offset=(o0, o1)` of a 2-D tile load or store, as C++ texts; `(0, 0)` when absent.
    fn tile_offset(&mut self, args: &[Expr]) -> Result<(String, String), EmitError> {
        let off = args.iter().find_map(|a| match &a.kind {
            ExprKind::Kw("offset", o) => Some(o.as_ref()),
            _ => None,
        });
        match off.map(|o| &o.kind) {
            None => Ok(("0".into(), "0".into())),
            Some(ExprKind::Tuple(xs)) if xs.len() == 2 => {
                let (a, b) = (self.expr(&xs[0])?, self.expr(&xs[1])?);
                Ok((paren(a, c_prec(BinOp::Add)), paren(b, c_prec(BinOp::Add))))
            }
            Some(_) => Err(EmitError::Unsupported("a 2-D tile offset that is not a pair".into())),
        }
    }

    /// The column count of a 2-D array parameter (its row stride).
    fn array_cols(&self, a: VarId) -> Result<u32, EmitError> {
        match self.k.params.iter().find(|p| p.var == a).map(|p| p.kind) {
            Some(ParamKind::Array { len: ArrayLen::Tiled2(_, c) | ArrayLen::Fixed2(_, c), .. }) => Ok(c),
            _ => Err(EmitError::Unsupported("a 2-D tile access of an array that is not 2-D".into())),
        }
    }

    /// Element `e` (C++ text) of a tile expression: a tile variable `t[e]`, `wp.tile_map(wp.f, ...)` as `f` of
    /// the elements, tile arithmetic element by element; scalar subexpressions as themselves.
    fn tile_elem(&mut self, x: &Expr, e: &str) -> Result<(String, u8), EmitError> {
        if !matches!(x.ty, Type::Tile(_) | Type::Tile2(..)) {
            return self.expr(x);
        }
        Ok(match &x.kind {
            ExprKind::Var(v) => (format!("{}[{e}]", self.name(*v)), P_ATOM),
            ExprKind::Call("tile_map", args) => {
                let Some((f, rest)) = args.split_first() else {
                    return Err(EmitError::Unsupported("tile_map without arguments".into()));
                };
                let ExprKind::FuncRef(f) = f.kind else {
                    return Err(EmitError::Unsupported("tile_map of a non-builtin".into()));
                };
                let mut xs = Vec::new();
                for a in rest {
                    xs.push(self.tile_elem(a, e)?);
                }
                match (f, xs.as_slice()) {
                    (op @ ("add" | "sub" | "mul"), [a, b]) => {
                        let bop = match op {
                            "add" => BinOp::Add,
                            "sub" => BinOp::Sub,
                            _ => BinOp::Mul,
                        };
                        let p = c_prec(bop);
                        (format!("{} {} {}", paren(a.clone(), p), c_token(bop), paren(b.clone(), p + 1)), p)
                    }
                    _ => {
                        let c = self.callee(f, &vec![Type::F32; xs.len()])?;
                        let joined = xs.into_iter().map(|a| a.0).collect::<Vec<_>>().join(", ");
                        (format!("{c}({joined})"), P_ATOM)
                    }
                }
            }
            ExprKind::Call("tile_reshape", args) => {
                // same row-major elements under another shape
                let Some(src) = args.first() else {
                    return Err(EmitError::Unsupported("tile_reshape without a tile".into()));
                };
                self.tile_elem(src, e)?
            }
            ExprKind::Call("tile_broadcast", args) => {
                // a 1-element tile repeated: every element is its value
                let Some(ExprKind::Var(src)) = args.first().map(|a| &a.kind) else {
                    return Err(EmitError::Unsupported("tile_broadcast of an expression".into()));
                };
                (format!("{}[0]", self.name(*src)), P_ATOM)
            }
            ExprKind::Binary(op @ (BinOp::Add | BinOp::Sub | BinOp::Mul), a, b) => {
                let p = c_prec(*op);
                let (a, b) = (self.tile_elem(a, e)?, self.tile_elem(b, e)?);
                (format!("{} {} {}", paren(a, p), c_token(*op), paren(b, p + 1)), p)
            }
            ExprKind::Unary(UnOp::Neg, a) => {
                // Warp's scalar neg, element by element: 0 - x
                self.need(Helper::NegF);
                (format!("wp_neg({})", self.tile_elem(a, e)?.0), P_ATOM)
            }
            _ => return Err(EmitError::Unsupported(format!("tile expression {:?}", x.kind))),
        })
    }

    /// The row-major flat offset of `array[i, j(, k)]` in the launch's shape: `i`, `i * dim1 + j`,
    /// `(i * dim1 + j) * dim2 + k`.
    fn flat_index(&mut self, index: &[Expr]) -> Result<String, EmitError> {
        let mut parts = Vec::new();
        for e in index {
            parts.push(self.expr(e)?);
        }
        let (mul, add) = (c_prec(BinOp::Mul) + 1, c_prec(BinOp::Add) + 1);
        let mut it = parts.into_iter();
        let Some(first) = it.next() else {
            return Err(EmitError::Unsupported("an array access without an index".into()));
        };
        let mut flat = first;
        for (axis, x) in it.enumerate() {
            let text = format!("{} * dim{} + {}", paren(flat, mul), axis + 1, paren(x, add));
            flat = (text, c_prec(BinOp::Add));
        }
        Ok(flat.0)
    }

    fn binary(&mut self, op: BinOp, ty: Type, a: &Expr, b: &Expr) -> Result<(String, u8), EmitError> {
        let unsupported = || EmitError::Unsupported(format!("{:?} {} {:?}", a.ty, op.token(), b.ty));
        // operators spelled as calls
        let call = match (op, a.ty, b.ty) {
            (BinOp::MatMul | BinOp::Mul, Type::Mat(n), Type::Vec(_)) => Some(("mul", Some(Helper::MatVec(n)))),
            (BinOp::MatMul | BinOp::Mul, Type::Vec(n), Type::Mat(_)) => Some(("mul", Some(Helper::VecMat(n)))),
            (BinOp::MatMul | BinOp::Mul, Type::Mat(n), Type::Mat(_)) => Some(("mul", Some(Helper::MatMat(n)))),
            (BinOp::MatMul, _, _) => return Err(unsupported()),
            // Warp's float `%` is C's fmodf (sign of the dividend), not Python's
            (BinOp::Mod, Type::F32, Type::F32) => Some(("fmodf", None)),
            // Python's floor division, as Warp's floordiv_signed computes it
            (BinOp::FloorDiv, Type::I32, Type::I32) => Some(("floordiv", Some(Helper::FloorDivI))),
            (BinOp::FloorDiv, _, _) => return Err(unsupported()),
            _ => None,
        };
        if let Some((f, h)) = call {
            if let Some(h) = h {
                self.need(h);
            }
            let (x, y) = (self.expr(a)?.0, self.expr(b)?.0);
            return Ok((format!("{f}({x}, {y})"), P_ATOM));
        }
        let helper = match (op, a.ty, b.ty) {
            (_, Type::F32 | Type::I32 | Type::Bool, Type::F32 | Type::I32 | Type::Bool) => None,
            (BinOp::Add, Type::Vec(n), Type::Vec(_)) => Some(Helper::VecAdd(n)),
            (BinOp::Sub, Type::Vec(n), Type::Vec(_)) => Some(Helper::VecSub(n)),
            (BinOp::Mul, Type::Vec(n), Type::F32) | (BinOp::Mul, Type::F32, Type::Vec(n)) => Some(Helper::VecScale(n)),
            (BinOp::Div, Type::Vec(n), Type::F32) => Some(Helper::VecDiv(n)),
            (BinOp::Div, Type::F32, Type::Vec(n)) => Some(Helper::ScalarDivVec(n)),
            (BinOp::Add, Type::Mat(n), Type::Mat(_)) => Some(Helper::MatAdd(n)),
            (BinOp::Sub, Type::Mat(n), Type::Mat(_)) => Some(Helper::MatSub(n)),
            (BinOp::Mul, Type::Mat(n), Type::F32) | (BinOp::Mul, Type::F32, Type::Mat(n)) => Some(Helper::MatScale(n)),
            (BinOp::Div, Type::Mat(n), Type::F32) => Some(Helper::MatDiv(n)),
            (BinOp::Add, Type::Quat, Type::Quat) => Some(Helper::QuatAdd),
            (BinOp::Sub, Type::Quat, Type::Quat) => Some(Helper::QuatSub),
            (BinOp::Mul, Type::Quat, Type::F32) | (BinOp::Mul, Type::F32, Type::Quat) => Some(Helper::QuatScale),
            (BinOp::Mul, Type::Quat, Type::Quat) => Some(Helper::QuatMul),
            (BinOp::Add, Type::Transform, Type::Transform) => Some(Helper::TransformAdd),
            (BinOp::Mul, Type::Transform, Type::Transform) => Some(Helper::TransformMultiply),
            _ => return Err(unsupported()),
        };
        if let Some(h) = helper {
            self.need(h);
        }
        self.need_type(ty);
        let prec = c_prec(op);
        let (x, y) = (self.expr(a)?, self.expr(b)?);
        // left-associative: the right operand needs strictly tighter binding
        Ok((format!("{} {} {}", paren(x, prec), c_token(op), paren(y, prec + 1)), prec))
    }

    fn construct(&mut self, ty: Type, args: &[Expr]) -> Result<(String, u8), EmitError> {
        let unsupported = || {
            EmitError::Unsupported(format!(
                "{}({})",
                ty.warp_name(),
                args.iter().map(|a| a.ty.short_name()).collect::<Vec<_>>().join(", ")
            ))
        };
        self.need_type(ty);
        match (ty, args) {
            (_, [a]) if a.ty == ty => self.expr(a),
            (Type::F32 | Type::I32 | Type::U32, [a]) if a.ty.is_scalar() || matches!(a.ty, Type::Bool | Type::U32) => {
                let x = self.expr(a)?;
                Ok((format!("({}){}", c_type(ty), paren(x, P_UNARY)), P_UNARY))
            }
            (Type::Vec(n), [a]) if a.ty == Type::F32 => {
                self.need(Helper::VecSplat(n));
                let x = self.expr(a)?.0;
                Ok((format!("make_vec{n}({x})"), P_ATOM))
            }
            (Type::Vec(n), xs) if xs.len() == n as usize && xs.iter().all(|x| x.ty == Type::F32) => {
                Ok((format!("make_vec{n}({})", self.args(xs)?), P_ATOM))
            }
            (Type::Mat(n), [a]) if a.ty == Type::F32 => {
                self.need(Helper::MatSplat(n));
                let x = self.expr(a)?.0;
                Ok((format!("make_mat{n}{n}({x})"), P_ATOM))
            }
            (Type::Mat(n), xs) if xs.len() == (n * n) as usize && xs.iter().all(|x| x.ty == Type::F32) => {
                Ok((format!("make_mat{n}{n}({})", self.args(xs)?), P_ATOM))
            }
            (Type::Vec(6), [w, v]) if w.ty == Type::Vec(3) && v.ty == Type::Vec(3) => {
                self.need(Helper::Spatial);
                Ok((format!("make_spatial_vector({})", self.args(args)?), P_ATOM))
            }
            (Type::Quat, xs) if xs.len() == 4 && xs.iter().all(|x| x.ty == Type::F32) => {
                Ok((format!("make_quat({})", self.args(xs)?), P_ATOM))
            }
            (Type::Transform, [p, q]) if p.ty == Type::Vec(3) && q.ty == Type::Quat => {
                self.need(Helper::Vec(3));
                Ok((format!("make_transform({})", self.args(args)?), P_ATOM))
            }
            _ => Err(unsupported()),
        }
    }

    fn args(&mut self, xs: &[Expr]) -> Result<String, EmitError> {
        let mut v = Vec::new();
        for x in xs {
            v.push(self.expr(x)?.0);
        }
        Ok(v.join(", "))
    }

    fn call(&mut self, name: &str, ty: Type, args: &[Expr]) -> Result<(String, u8), EmitError> {
        let unsupported = || {
            EmitError::Unsupported(format!(
                "wp.{name}({})",
                args.iter().map(|a| a.ty.short_name()).collect::<Vec<_>>().join(", ")
            ))
        };
        if name == "len" {
            // len(a) of an array parameter: its leading dimension
            let [Expr { kind: ExprKind::Var(a), .. }] = args else { return Err(unsupported()) };
            let p = self.k.params.iter().find(|p| p.var == *a).ok_or_else(unsupported)?;
            let ParamKind::Array { len, .. } = p.kind else { return Err(unsupported()) };
            let n = match len {
                ArrayLen::Launch if self.k.ndim() > 1 => "dim0".to_string(),
                other => self.array_len(other),
            };
            return Ok((paren((n, c_prec(BinOp::Mul)), P_ATOM), P_ATOM));
        }
        if name == "identity" {
            // wp.identity(n=N, dtype=wp.float32): keyword arguments only
            let Type::Mat(n) = ty else { return Err(unsupported()) };
            self.need(Helper::Identity(n));
            return Ok((format!("identity_mat{n}{n}()"), P_ATOM));
        }
        if name == "matrix" {
            // wp.matrix(a, b, ..., shape=(n, n)): the scalars row by row
            let Type::Mat(n) = ty else { return Err(unsupported()) };
            let xs: Vec<Expr> = args.iter().filter(|a| !matches!(a.kind, ExprKind::Kw(..))).cloned().collect();
            if xs.len() != usize::from(n) * usize::from(n) {
                return Err(unsupported());
            }
            self.need_type(ty);
            return Ok((format!("make_mat{n}{n}({})", self.args(&xs)?), P_ATOM));
        }
        if name == "sample_cdf" {
            // the CDF's length is the array's, which C++ passes separately
            let [state, cdf] = args else { return Err(unsupported()) };
            let ExprKind::Var(arr) = cdf.kind else { return Err(unsupported()) };
            self.need(Helper::SampleCdf);
            let n = self.expr(&Expr { ty: Type::I32, kind: ExprKind::Len(arr, 0) })?.0;
            let st = self.expr(state)?.0;
            return Ok((format!("sample_cdf({st}, {}, {n})", self.name(arr)), P_ATOM));
        }
        if name == "static" {
            // wp.static(p / q): Python evaluates it in double precision; Warp emits the float32 constant
            let [c] = args else { return Err(unsupported()) };
            let v = const_value(c).ok_or_else(unsupported)?;
            return Ok((float_lit(v), P_ATOM));
        }
        if name == "where" {
            let [c, a, b] = args else { return Err(unsupported()) };
            // Warp evaluates both branches; C's ?: evaluates one, which would skip a random draw
            if a.has_draw() || b.has_draw() {
                self.need(Helper::WhereEager);
                let (c, a, b) = (self.expr(c)?.0, self.expr(a)?.0, self.expr(b)?.0);
                return Ok((format!("where_eager({c}, {a}, {b})"), P_ATOM));
            }
            let (c, a, b) = (self.expr(c)?, self.expr(a)?, self.expr(b)?);
            return Ok((format!("{} ? {} : {}", paren(c, P_TERNARY + 1), a.0, paren(b, P_TERNARY)), P_TERNARY));
        }
        self.need_type(ty);
        let types: Vec<Type> = args.iter().map(|a| a.ty).collect();
        let f = self.callee(name, &types)?;
        let a = self.args(args)?;
        Ok((format!("{f}({a})"), P_ATOM))
    }

    /// The C++ function that computes builtin `name` on arguments of `types`, after requesting its helpers.
    ///
    /// Errors: [`EmitError::Unsupported`] for a builtin or overload without a translation.
    fn callee(&mut self, name: &str, types: &[Type]) -> Result<String, EmitError> {
        let first = types.first().copied();
        let unsupported = || {
            EmitError::Unsupported(format!(
                "wp.{name}({})",
                types.iter().map(|t| t.short_name()).collect::<Vec<_>>().join(", ")
            ))
        };
        if let Some(&(_, _, h)) = SAME_NAME.iter().find(|(n, t, _)| *n == name && first == Some(*t)) {
            self.need(h);
            return Ok(name.into());
        }
        Ok(match (name, first) {
            // float math with a C spelling of the same semantics
            (
                "sin" | "cos" | "tan" | "sinh" | "cosh" | "tanh" | "asin" | "acos" | "atan" | "exp" | "log" | "log2"
                | "log10" | "sqrt" | "cbrt" | "erf" | "erfc" | "floor" | "ceil" | "round" | "rint" | "trunc" | "atan2"
                | "pow" | "copysign",
                Some(Type::F32),
            ) => format!("{name}f"),
            ("abs", Some(Type::F32)) => "fabsf".into(),
            ("isfinite" | "isnan" | "isinf", Some(Type::F32)) => name.into(),
            ("float", Some(_)) => "(float)".into(),
            ("int", Some(_)) => "(int)".into(),
            // conversions, spelled as C casts: a round trip through another width, or double arithmetic
            ("float32", Some(_)) => "(float)".into(),
            ("float64", Some(Type::F32)) => "(double)".into(),
            ("int32", Some(_)) => "(int)".into(),
            ("int8", Some(Type::I32)) => "(signed char)".into(),
            ("uint8", Some(Type::I32)) => "(unsigned char)".into(),
            ("int16", Some(Type::I32)) => "(short)".into(),
            ("uint16", Some(Type::I32)) => "(unsigned short)".into(),
            ("int64", Some(Type::I32)) => "(long long)".into(),
            ("uint32", Some(Type::I32)) => "(unsigned int)".into(),
            ("uint64", Some(Type::I32)) => "(unsigned long long)".into(),
            ("abs", Some(Type::I32)) => "abs".into(),
            ("abs", Some(Type::Vec(n))) => {
                self.need(Helper::VecAbs(n));
                "abs".into()
            }
            ("min", Some(Type::F32)) => "fminf".into(),
            ("max", Some(Type::F32)) => "fmaxf".into(),
            ("min", Some(Type::I32)) => {
                self.need(Helper::MinI);
                "mini".into()
            }
            ("max", Some(Type::I32)) => {
                self.need(Helper::MaxI);
                "maxi".into()
            }
            ("min", Some(Type::Vec(n))) => {
                self.need(Helper::CwMin(n));
                "cw_min".into()
            }
            ("max", Some(Type::Vec(n))) => {
                self.need(Helper::CwMax(n));
                "cw_max".into()
            }
            ("clamp", Some(Type::F32)) => {
                self.need(Helper::ClampF);
                "clampf".into()
            }
            ("clamp", Some(Type::I32)) => {
                self.need(Helper::ClampI);
                "clampi".into()
            }
            ("smoothstep", Some(Type::F32)) => {
                self.need(Helper::ClampF);
                self.need(Helper::Smoothstep);
                "smoothstep".into()
            }
            ("lerp", Some(Type::Vec(n))) => {
                self.need(Helper::LerpV(n));
                "lerp".into()
            }
            (
                "dot" | "length" | "length_sq" | "normalize" | "cw_mul" | "outer" | "diag" | "cross",
                Some(Type::Vec(n)),
            ) => {
                self.need(match name {
                    "dot" => Helper::Dot(n),
                    "length" => Helper::Length(n),
                    "length_sq" => Helper::LengthSq(n),
                    "normalize" => Helper::Normalize(n),
                    "cw_mul" => Helper::CwMul(n),
                    "outer" => Helper::Outer(n),
                    "cross" if n == 3 => Helper::Cross,
                    "diag" => Helper::Diag(n),
                    _ => return Err(unsupported()),
                });
                name.into()
            }
            ("dot" | "length" | "normalize", Some(Type::Quat)) => {
                self.need(match name {
                    "dot" => Helper::QuatDot,
                    "length" => Helper::QuatLength,
                    _ => Helper::QuatNormalize,
                });
                name.into()
            }
            ("quat_rotate" | "quat_rotate_inv" | "quat_to_matrix", Some(Type::Quat)) => {
                self.need(match name {
                    "quat_rotate" => Helper::QuatRotate,
                    "quat_rotate_inv" => Helper::QuatRotateInv,
                    _ => Helper::QuatToMatrix,
                });
                name.into()
            }
            ("quat_identity", None) => {
                self.need(Helper::QuatIdentity);
                name.into()
            }
            (
                "transform_multiply"
                | "transform_inverse"
                | "transform_point"
                | "transform_vector"
                | "transform_get_translation"
                | "transform_get_rotation",
                Some(Type::Transform),
            ) => {
                self.need(match name {
                    "transform_multiply" => Helper::TransformMultiply,
                    "transform_inverse" => Helper::TransformInverse,
                    "transform_point" => Helper::TransformPoint,
                    "transform_vector" => Helper::TransformVector,
                    _ => Helper::TransformGet,
                });
                name.into()
            }
            (
                "norm_l1" | "norm_l2" | "norm_huber" | "norm_pseudo_huber" | "smooth_normalize" | "argmin" | "argmax"
                | "cw_div",
                Some(Type::Vec(n)),
            ) => {
                self.need(match name {
                    "norm_l1" => Helper::NormL1(n),
                    "norm_l2" => Helper::Length(n),
                    "norm_huber" => Helper::NormHuber(n),
                    "norm_pseudo_huber" => Helper::NormPseudoHuber(n),
                    "smooth_normalize" => Helper::SmoothNormalize(n),
                    "argmin" => Helper::ArgMin(n),
                    "argmax" => Helper::ArgMax(n),
                    _ => Helper::CwDiv(n),
                });
                if name == "norm_l2" { "length".into() } else { name.into() }
            }
            ("get_diag", Some(Type::Mat(n))) => {
                self.need(Helper::GetDiag(n));
                name.into()
            }
            ("matrix_from_cols" | "matrix_from_rows", Some(Type::Vec(n))) => {
                self.need(if name == "matrix_from_cols" { Helper::MatFromCols(n) } else { Helper::MatFromRows(n) });
                name.into()
            }
            ("rand_init", Some(Type::I32)) | ("randf" | "randn" | "randi", Some(Type::U32)) => {
                self.need(Helper::Rand);
                name.into()
            }
            (s, Some(Type::U32)) if s.starts_with("sample_") => {
                let two =
                    matches!(s, "sample_unit_square" | "sample_unit_disk" | "sample_unit_ring" | "sample_triangle");
                self.need(if two { Helper::Samples2 } else { Helper::Samples3 });
                name.into()
            }
            (
                "spatial_top" | "spatial_bottom" | "spatial_dot" | "spatial_cross" | "spatial_cross_dual"
                | "velocity_at_point",
                Some(Type::Vec(6)),
            )
            | ("transform_twist" | "transform_wrench", Some(Type::Transform)) => {
                self.need(Helper::Spatial);
                if matches!(name, "transform_twist" | "transform_wrench") {
                    self.need(Helper::SpatialTransform);
                }
                name.into()
            }
            ("quat_from_matrix", Some(Type::Mat(n))) => {
                self.need(Helper::QuatFromMatrix(n));
                name.into()
            }
            ("transform_identity", None) => {
                self.need(Helper::TransformIdentity);
                name.into()
            }
            ("bool", Some(Type::I32)) => "(bool)".into(),
            ("erfinv" | "erfcinv", Some(Type::F32)) => {
                self.need(Helper::Erfinv);
                format!("wp_{name}")
            }
            ("transpose" | "trace" | "determinant" | "ddot", Some(Type::Mat(n))) => {
                self.need(match name {
                    "transpose" => Helper::Transpose(n),
                    "trace" => Helper::Trace(n),
                    "determinant" => Helper::Determinant(n),
                    _ => Helper::Ddot(n),
                });
                name.into()
            }
            _ => return Err(unsupported()),
        })
    }
}

/// The value of a constant expression of literals and `+ - * /`, in double precision as Python computes it.
fn const_value(e: &Expr) -> Option<f64> {
    match &e.kind {
        ExprKind::Float(v) => Some(*v),
        ExprKind::Int(v) => Some(*v as f64),
        ExprKind::Unary(UnOp::Neg, a) => Some(-const_value(a)?),
        ExprKind::Binary(op, a, b) => {
            let (a, b) = (const_value(a)?, const_value(b)?);
            match op {
                BinOp::Add => Some(a + b),
                BinOp::Sub => Some(a - b),
                BinOp::Mul => Some(a * b),
                BinOp::Div => Some(a / b),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Builtins translated by a helper of the builtin's own name: (name, type of the first argument, helper).
const SAME_NAME: &[(&str, Type, Helper)] = &[
    ("div_approx", Type::F32, Helper::DivApprox),
    ("frac", Type::F32, Helper::Frac),
    ("step", Type::F32, Helper::Step),
    ("bit_count", Type::I32, Helper::BitCount),
    ("sign", Type::F32, Helper::Sign),
    ("sign", Type::I32, Helper::SignI),
    ("degrees", Type::F32, Helper::Degrees),
    ("radians", Type::F32, Helper::Radians),
    ("lerp", Type::F32, Helper::LerpF),
    ("quat_slerp", Type::Quat, Helper::QuatSlerp),
    ("quat_inverse", Type::Quat, Helper::QuatInverse),
    ("quat_from_axis_angle", Type::Vec(3), Helper::QuatFromAxisAngle),
    ("quat_rpy", Type::F32, Helper::QuatRpy),
    ("transform_to_matrix", Type::Transform, Helper::TransformToMatrix),
    ("transform_compose", Type::Vec(3), Helper::TransformCompose),
    ("quat_to_euler", Type::Quat, Helper::QuatToEuler),
    ("quat_from_euler", Type::Vec(3), Helper::QuatFromEuler),
    ("quat_twist", Type::Vec(3), Helper::QuatTwist),
    ("quat_twist_angle", Type::Vec(3), Helper::QuatTwist),
    ("quat_twist_angle_signed", Type::Vec(3), Helper::QuatTwist),
    ("transform_from_matrix", Type::Mat(4), Helper::TransformFromMatrix),
    ("inverse_approx", Type::Mat(3), Helper::InverseApprox3),
    ("spatial_adjoint", Type::Mat(3), Helper::SpatialAdjoint),
    ("lower_bound", Type::F32, Helper::LowerBound),
    ("randu", Type::U32, Helper::RandU),
    ("poisson", Type::U32, Helper::Poisson),
    ("quat_to_rpy", Type::Quat, Helper::QuatToRpy),
    ("inverse", Type::Mat(3), Helper::Inverse3),
    ("nonzero", Type::I32, Helper::NonzeroI),
    ("skew", Type::Vec(3), Helper::Skew),
];

fn paren((s, p): (String, u8), need: u8) -> String {
    if p < need { format!("({s})") } else { s }
}

/// A brace initializer for an array of `ty` elements from flattened values.
fn initializer(ty: Type, values: &[f64], lit: &dyn Fn(f64) -> String) -> String {
    let comps = ty.components();
    let items: Vec<String> = match ty {
        Type::F32 | Type::I32 | Type::Bool | Type::Tile(_) | Type::Tile2(..) | Type::U32 | Type::Struct(_) => {
            values.iter().map(|x| lit(*x)).collect()
        }
        Type::Vec(_) | Type::Quat => values
            .chunks(comps)
            .map(|c| format!("{{{{{}}}}}", c.iter().map(|x| lit(*x)).collect::<Vec<_>>().join(", ")))
            .collect(),
        Type::Mat(n) => values
            .chunks(comps)
            .map(|c| {
                let rows: Vec<String> = c
                    .chunks(n as usize)
                    .map(|r| format!("{{{}}}", r.iter().map(|x| lit(*x)).collect::<Vec<_>>().join(", ")))
                    .collect();
                format!("{{{{{}}}}}", rows.join(", "))
            })
            .collect(),
        Type::Transform => values
            .chunks(comps)
            .map(|c| {
                let part = |xs: &[f64]| xs.iter().map(|x| lit(*x)).collect::<Vec<_>>().join(", ");
                format!("{{{{{{{}}}}}, {{{{{}}}}}}}", part(&c[..3]), part(&c[3..]))
            })
            .collect(),
    };
    format!("{{{}}}", wrap(&items, if comps == 1 { 8 } else { 2 }))
}

/// Joins items with `, `, `per_line` to a line, continuation lines indented for a function body.
fn wrap(items: &[String], per_line: usize) -> String {
    if items.len() <= per_line {
        return items.join(", ");
    }
    let lines: Vec<String> = items.chunks(per_line).map(|c| c.join(", ")).collect();
    format!("\n        {}\n    ", lines.join(",\n        "))
}

/// Locals that cannot be declared where Python first assigns them, because they are used outside that
/// block or first-assigned in more than one place: these are declared (zeroed) at the top of the function.
///
/// Errors: a `for` counter read after its loop ([`EmitError::Unsupported`]: Python leaves it at `count - 1`,
/// C++ would not have it in scope).
fn hoisted_locals(k: &Kernel) -> Result<HashSet<VarId>, EmitError> {
    let params: HashSet<VarId> = k.params.iter().map(|p| p.var).collect();
    let mut counters = HashSet::new();
    warpsmith_ast::visit_stmts(&k.body, &mut |s, _| {
        if let Stmt::For { var, .. } = s {
            counters.insert(*var);
        }
    });
    struct Walk<'a> {
        params: &'a HashSet<VarId>,
        counters: &'a HashSet<VarId>,
        scopes: Vec<HashSet<VarId>>,
        declared: HashSet<VarId>,
        hoist: HashSet<VarId>,
        error: Option<EmitError>,
    }
    impl Walk<'_> {
        fn in_scope(&self, v: VarId) -> bool {
            self.params.contains(&v) || self.scopes.iter().any(|s| s.contains(&v))
        }
        fn use_var(&mut self, v: VarId) {
            if !self.in_scope(v) {
                if self.counters.contains(&v) {
                    self.error = Some(EmitError::Unsupported("a loop counter used outside its loop".into()));
                }
                self.hoist.insert(v);
            }
        }
        fn expr(&mut self, e: &Expr) {
            let mut vars = Vec::new();
            e.visit(&mut |x| {
                if let ExprKind::Var(v) | ExprKind::Load(v, _) | ExprKind::Len(v, _) = x.kind {
                    vars.push(v);
                }
            });
            for v in vars {
                self.use_var(v);
            }
        }
        fn block(&mut self, b: &[Stmt], extra: Option<VarId>) {
            self.scopes.push(extra.into_iter().collect());
            for s in b {
                for e in s.exprs() {
                    self.expr(e);
                }
                match s {
                    Stmt::Let { var, .. } => {
                        if !self.declared.insert(*var) {
                            self.hoist.insert(*var);
                        }
                        if let Some(top) = self.scopes.last_mut() {
                            top.insert(*var);
                        }
                    }
                    Stmt::Assign { var, .. } | Stmt::SetComponent { var, .. } => self.use_var(*var),
                    Stmt::Unpack { vars, .. } => {
                        for v in vars {
                            if !self.declared.insert(*v) {
                                self.hoist.insert(*v);
                            }
                            if let Some(top) = self.scopes.last_mut() {
                                top.insert(*v);
                            }
                        }
                    }
                    Stmt::LaunchIndex { vars } => {
                        for v in vars {
                            self.declared.insert(*v);
                            if let Some(top) = self.scopes.last_mut() {
                                top.insert(*v);
                            }
                        }
                    }
                    Stmt::For { var, body, .. } => self.block(body, Some(*var)),
                    Stmt::If { then, elifs, els, .. } => {
                        self.block(then, None);
                        for (_, b) in elifs {
                            self.block(b, None);
                        }
                        self.block(els, None);
                    }
                    _ => {}
                }
            }
            self.scopes.pop();
        }
    }
    let mut w = Walk {
        params: &params,
        counters: &counters,
        scopes: Vec::new(),
        declared: HashSet::new(),
        hoist: HashSet::new(),
        error: None,
    };
    w.block(&k.body, None);
    if let Some(e) = w.error {
        return Err(e);
    }
    Ok(w.hoist)
}
