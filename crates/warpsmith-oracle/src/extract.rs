//! Cutting the four kernel functions out of Warp's modules.

/// The kernel's four functions, each exactly as it appears in its module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelFunctions {
    /// `<name>_<hash>_cpu_kernel_forward`
    pub cpu_forward: String,
    /// `<name>_<hash>_cpu_kernel_backward`
    pub cpu_backward: String,
    /// `<name>_<hash>_cuda_kernel_forward`
    pub cuda_forward: String,
    /// `<name>_<hash>_cuda_kernel_backward`
    pub cuda_backward: String,
}

/// A function that could not be found or delimited.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("cannot cut `{suffix}` of kernel `{kernel}` out of the module: {why}")]
pub struct ExtractError {
    /// The kernel name.
    pub kernel: String,
    /// The function suffix, e.g. `cpu_kernel_forward`.
    pub suffix: String,
    /// What went wrong.
    pub why: &'static str,
}

/// Cuts the four functions of kernel `name` out of the CPU and CUDA modules.
///
/// A function starts at the beginning of its signature (including a `template <...>` line directly above it)
/// and ends at its matching closing brace, so each result is a substring of its module.
///
/// # Errors
/// [`ExtractError`] when a function is missing or its braces do not balance.
pub fn cut_functions(cpu_module: &str, cuda_module: &str, name: &str) -> Result<KernelFunctions, ExtractError> {
    Ok(KernelFunctions {
        cpu_forward: cut(cpu_module, name, "cpu_kernel_forward")?.to_string(),
        cpu_backward: cut(cpu_module, name, "cpu_kernel_backward")?.to_string(),
        cuda_forward: cut(cuda_module, name, "cuda_kernel_forward")?.to_string(),
        cuda_backward: cut(cuda_module, name, "cuda_kernel_backward")?.to_string(),
    })
}

/// Finds the definition of `<name>_<hex hash>_<suffix>(` and returns it, signature to closing brace.
fn cut<'a>(module: &'a str, name: &str, suffix: &str) -> Result<&'a str, ExtractError> {
    let err = |why| ExtractError { kernel: name.into(), suffix: suffix.into(), why };
    let needle = format!("_{suffix}(");
    let mut search = 0;
    let at = loop {
        let Some(rel) = module[search..].find(&needle) else {
            return Err(err("function not found"));
        };
        let end_of_name = search + rel;
        // walk back over the identifier: <name>_<hash>
        let ident_start =
            module[..end_of_name].rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).map_or(0, |i| i + 1);
        let ident = &module[ident_start..end_of_name];
        let is_ours = ident
            .strip_prefix(name)
            .and_then(|rest| rest.strip_prefix('_'))
            .is_some_and(|hash| !hash.is_empty() && hash.chars().all(|c| c.is_ascii_hexdigit()));
        // a definition, not a call: the line starts with a declaration keyword
        let line_start = module[..ident_start].rfind('\n').map_or(0, |i| i + 1);
        let line = &module[line_start..ident_start];
        if is_ours && (line.starts_with("static") || line.starts_with("extern")) {
            break line_start;
        }
        search = end_of_name + needle.len();
    };
    // include a template header on the line directly above
    let mut start = at;
    if at > 0 {
        let prev_start = module[..at - 1].rfind('\n').map_or(0, |i| i + 1);
        if module[prev_start..at].starts_with("template <") {
            start = prev_start;
        }
    }
    // match braces from the first '{' after the signature, skipping // comments
    let bytes = module.as_bytes();
    let mut i = module[at..].find('{').map(|o| at + o).ok_or_else(|| err("no body"))?;
    let mut depth = 0usize;
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i = module[i..].find('\n').map_or(bytes.len(), |o| i + o);
                continue;
            }
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Ok(&module[start..=i]);
                }
            }
            _ => {}
        }
        i += 1;
    }
    Err(err("unbalanced braces"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CPU: &str = "struct wp_args_k_1a2b {\n};\n\ntemplate <bool wp_linear_contiguous>\nstatic void k_1a2b_cpu_kernel_forward(\n    int dim)\n{\n    // a { in a comment\n    if (x) {\n        y = {};\n    }\n}\n\nstatic void k_1a2b_cpu_forward_tasks()\n{\n    k_1a2b_cpu_kernel_forward<true>(dim);\n}\n\ntemplate <bool wp_linear_contiguous>\nstatic void k_1a2b_cpu_kernel_backward(\n    int dim)\n{\n}\n";
    const CUDA: &str = "extern \"C\" __global__ void k_1a2b_cuda_kernel_forward(\n    int dim)\n{\n    a();\n}\n\nextern \"C\" __global__ void k_1a2b_cuda_kernel_backward(int dim)\n{\n}\n";

    #[test]
    fn cuts_definitions_with_template_headers_and_skips_calls() {
        let f = cut_functions(CPU, CUDA, "k").unwrap();
        assert!(
            f.cpu_forward.starts_with("template <bool wp_linear_contiguous>\nstatic void k_1a2b_cpu_kernel_forward(")
        );
        assert!(f.cpu_forward.ends_with("    }\n}"));
        assert!(CPU.contains(&f.cpu_forward) && CPU.contains(&f.cpu_backward));
        assert_eq!(f.cuda_backward, "extern \"C\" __global__ void k_1a2b_cuda_kernel_backward(int dim)\n{\n}");
        assert!(f.cuda_forward.ends_with("a();\n}"));
    }

    #[test]
    fn other_kernels_and_missing_functions_are_errors() {
        assert!(cut_functions(CPU, CUDA, "kk").is_err());
        assert!(cut_functions(CPU, "", "k").is_err());
        let unbalanced = "static void k_1a2b_cpu_kernel_forward()\n{\n{\n}\n";
        assert_eq!(cut(unbalanced, "k", "cpu_kernel_forward").unwrap_err().why, "unbalanced braces");
    }
}
