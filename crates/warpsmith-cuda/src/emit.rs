//! The standalone CUDA emitter: typed AST in, one self-contained `.cu` out. Pure: no I/O.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;

use warpsmith_ast::launch::Tensor;
use warpsmith_ast::{ArrayLen, ArrayRole, BinOp, Builtin, Expr, ExprKind, Kernel, ParamKind, Stmt, Type, UnOp, VarId};

use crate::helpers::{AtomicKind, Elem, Helper};

mod calls;
mod harness;
mod reserved;
mod spelling;
mod tiles;

pub use spelling::{Spelling, spelling};

use reserved::reserved;

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
    /// A kernel outside the standalone translation by design (scene queries: Warp's mesh, hash-grid, BVH and
    /// volume structures would have to be rebuilt in C++); the record's `checks.standalone_*` say
    /// `unsupported`.
    #[error("no standalone translation: {0}")]
    OutOfScope(&'static str),
}

/// Why `kernel` is outside the standalone translation by design ([`EmitError::OutOfScope`]), if it is: it queries
/// a scene, or calls a builtin whose spelling is [`spelling::Spelling::OutOfScope`] (in the kernel or a helper).
pub fn out_of_scope(kernel: &Kernel) -> Option<&'static str> {
    if kernel.uses_scenes() {
        return Some("scene queries (wp.Mesh, wp.HashGrid, wp.Bvh, wp.Volume)");
    }
    let mut why = None;
    let mut look = |e: &Expr| {
        e.visit(&mut |x| {
            if let ExprKind::Call(b, _) = &x.kind
                && let spelling::Spelling::OutOfScope(w) = spelling::spelling(*b)
            {
                why = why.or(Some(w));
            }
        })
    };
    for def in std::iter::once(kernel).chain(kernel.funcs.iter().map(|f| &f.def)) {
        warpsmith_ast::visit_stmts(&def.body, &mut |s, _| s.exprs().into_iter().for_each(&mut look));
    }
    kernel.funcs.iter().for_each(|f| look(&f.result));
    why
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
        // refused by `translate` before any type is spelled
        Type::Scene(_) | Type::Query(_) | Type::Stack(_) => "uint64_t".into(),
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
/// Errors: [`EmitError::OutOfScope`] for a kernel outside the translation by design ([`out_of_scope`]),
/// [`EmitError::Unsupported`] for a construct without a translation, [`EmitError::Test`] when a parameter has
/// no test tensor or the tensor's size does not match.
pub fn translate(kernel: &Kernel, test: &TestCase) -> Result<Translation, EmitError> {
    if let Some(why) = out_of_scope(kernel) {
        return Err(EmitError::OutOfScope(why));
    }
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
        let mut used: HashSet<String> = reserved().map(str::to_string).collect();
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
            Stmt::While { .. } => return Err(EmitError::OutOfScope("a scene query loop")),
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
                    | Type::Struct(_)
                    | Type::Scene(_)
                    | Type::Query(_)
                    | Type::Stack(_) => {
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
                    Builtin::QuatToAxisAngle => Helper::QuatToAxisAngle,
                    Builtin::TransformDecompose => Helper::TransformDecompose,
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
            ExprKind::Member(..) | ExprKind::Const(_) => return Err(EmitError::OutOfScope("a scene query's value")),
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
            ExprKind::Call(name, args) => self.call(*name, e.ty, args)?,
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
const SAME_NAME: &[(Builtin, Type, Helper)] = &[
    (Builtin::DivApprox, Type::F32, Helper::DivApprox),
    (Builtin::Frac, Type::F32, Helper::Frac),
    (Builtin::Step, Type::F32, Helper::Step),
    (Builtin::BitCount, Type::I32, Helper::BitCount),
    (Builtin::Sign, Type::F32, Helper::Sign),
    (Builtin::Sign, Type::I32, Helper::SignI),
    (Builtin::Degrees, Type::F32, Helper::Degrees),
    (Builtin::Radians, Type::F32, Helper::Radians),
    (Builtin::Lerp, Type::F32, Helper::LerpF),
    (Builtin::QuatSlerp, Type::Quat, Helper::QuatSlerp),
    (Builtin::QuatInverse, Type::Quat, Helper::QuatInverse),
    (Builtin::QuatFromAxisAngle, Type::Vec(3), Helper::QuatFromAxisAngle),
    (Builtin::QuatRpy, Type::F32, Helper::QuatRpy),
    (Builtin::TransformToMatrix, Type::Transform, Helper::TransformToMatrix),
    (Builtin::TransformCompose, Type::Vec(3), Helper::TransformCompose),
    (Builtin::QuatToEuler, Type::Quat, Helper::QuatToEuler),
    (Builtin::QuatFromEuler, Type::Vec(3), Helper::QuatFromEuler),
    (Builtin::QuatTwist, Type::Vec(3), Helper::QuatTwist),
    (Builtin::QuatTwistAngle, Type::Vec(3), Helper::QuatTwist),
    (Builtin::QuatTwistAngleSigned, Type::Vec(3), Helper::QuatTwist),
    (Builtin::TransformFromMatrix, Type::Mat(4), Helper::TransformFromMatrix),
    (Builtin::InverseApprox, Type::Mat(3), Helper::InverseApprox3),
    (Builtin::SpatialAdjoint, Type::Mat(3), Helper::SpatialAdjoint),
    (Builtin::LowerBound, Type::F32, Helper::LowerBound),
    (Builtin::Randu, Type::U32, Helper::RandU),
    (Builtin::Poisson, Type::U32, Helper::Poisson),
    (Builtin::QuatToRpy, Type::Quat, Helper::QuatToRpy),
    (Builtin::Inverse, Type::Mat(3), Helper::Inverse3),
    (Builtin::Nonzero, Type::I32, Helper::NonzeroI),
    (Builtin::Skew, Type::Vec(3), Helper::Skew),
];

fn paren((s, p): (String, u8), need: u8) -> String {
    if p < need { format!("({s})") } else { s }
}

/// A brace initializer for an array of `ty` elements from flattened values.
fn initializer(ty: Type, values: &[f64], lit: &dyn Fn(f64) -> String) -> String {
    let comps = ty.components();
    let items: Vec<String> = match ty {
        Type::F32
        | Type::I32
        | Type::Bool
        | Type::Tile(_)
        | Type::Tile2(..)
        | Type::U32
        | Type::Struct(_)
        | Type::Scene(_)
        | Type::Query(_)
        | Type::Stack(_) => values.iter().map(|x| lit(*x)).collect(),
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
