//! The host side of a standalone translation: the launcher (grid and block sizes, device buffers) and the
//! test `main()` that fills the inputs, runs the kernel and prints the outputs.

use super::*;

impl Emitter<'_> {
    /// Element count of an array parameter, as C++ text: the thread count for a launch-shaped array.
    pub(super) fn array_len(&self, len: ArrayLen) -> String {
        match len {
            ArrayLen::Launch => self.threads(),
            ArrayLen::Fixed(k) => k.to_string(),
            ArrayLen::Tiled(k) => format!("{} * {k}", self.threads()),
            ArrayLen::Tiled2(r, c) => format!("{} * {}", self.threads(), r * c),
            ArrayLen::Fixed2(r, c) => (r * c).to_string(),
        }
    }

    pub(super) fn launcher(&self, out: &mut String) {
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

    pub(super) fn run_test(&mut self, out: &mut String, test: &TestCase) -> Result<(), EmitError> {
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
                        Type::Bool
                        | Type::Quat
                        | Type::Transform
                        | Type::Tile(_)
                        | Type::Tile2(..)
                        | Type::U32
                        | Type::Scene(_)
                        | Type::Query(_)
                        | Type::Stack(_) => {
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
}
