//! Predictions: one JSON object per line, `{"id": ..., "completion": "..."}` or the chat format that
//! `warpsmith export --to sft` writes (`{"id": ..., "messages": [...]}`, the last `assistant` turn is the
//! completion). Several lines may share an id (k samples for pass@k).

use serde::Deserialize;

/// One completion for one record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prediction {
    /// The record's id.
    pub id: String,
    /// The completion as the model wrote it (fences and prose included).
    pub completion: String,
    /// Its 1-based line in the predictions file.
    pub line: usize,
}

/// A predictions file that cannot be read as predictions.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PredictionError {
    /// A line is not a JSON object with a string `id` and a `completion` or `messages`.
    #[error("line {line}: {problem}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        problem: String,
    },
}

#[derive(Deserialize)]
struct Message {
    role: String,
    content: String,
}

#[derive(Deserialize)]
struct Row {
    id: Option<String>,
    completion: Option<String>,
    messages: Option<Vec<Message>>,
}

/// Parses a predictions file; blank lines are skipped.
///
/// # Errors
/// [`PredictionError::Line`] for the first line that is not valid JSON, has no string `id`, or has neither a
/// `completion` nor a `messages` list with an `assistant` turn.
pub fn parse(text: &str) -> Result<Vec<Prediction>, PredictionError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let bad = |problem: String| PredictionError::Line { line, problem };
        let row: Row = serde_json::from_str(raw).map_err(|e| bad(e.to_string()))?;
        let id = row.id.ok_or_else(|| bad("no string \"id\"".into()))?;
        let completion = match (row.completion, row.messages) {
            (Some(c), _) => c,
            (None, Some(m)) => m
                .into_iter()
                .rev()
                .find(|m| m.role == "assistant")
                .map(|m| m.content)
                .ok_or_else(|| bad("\"messages\" has no assistant turn".into()))?,
            (None, None) => return Err(bad("neither \"completion\" nor \"messages\"".into())),
        };
        out.push(Prediction { id, completion, line });
    }
    Ok(out)
}

/// The code of a completion: the contents of its first fenced block (```` ```lang ````), or the whole text,
/// trimmed, when it has no complete fence.
pub fn code_of(completion: &str) -> &str {
    let Some(open) = completion.find("```") else { return completion.trim() };
    let after = &completion[open + 3..];
    // the info string (language) runs to the end of the fence's line
    let Some(nl) = after.find('\n') else { return completion.trim() };
    let body = &after[nl + 1..];
    match body.find("```") {
        Some(close) => body[..close].trim_end_matches([' ', '\t']).trim_end_matches('\n'),
        None => completion.trim(),
    }
}

/// The text with `//` line comments dropped and every run of whitespace made one space, trimmed: what the
/// normalised-text match compares (formatting and comments aside, the same tokens in the same order). A `//`
/// inside a string literal is treated as a comment too; Warp's kernel functions have no string literals.
pub fn normalized(code: &str) -> String {
    code.lines()
        .map(|l| l.find("//").map_or(l, |at| &l[..at]))
        .flat_map(str::split_whitespace)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Why a completion that replaces a kernel function of Warp's module is refused before it is compiled, or `None`.
/// A kernel function as Warp emits it has no preprocessor directive (`#`), inline assembly (`asm`), attribute,
/// external declaration (`extern`, but for the `extern "C" __global__` that opens a CUDA kernel function), and
/// calls nothing outside Warp's headers; such code in a completion could only reach what the task does not need:
/// the C library, the Python interpreter the function runs in (`Py...`), another branch for NVRTC than for the
/// host (`#ifdef __CUDA_ARCH__`). The sandbox holds even without this screen; the screen keeps a completion from
/// computing its answer through Warp itself.
pub fn screen(code: &str) -> Option<String> {
    if code.contains('#') {
        return Some("a preprocessor directive (`#`)".into());
    }
    let externs = code.matches("extern").count();
    let cuda_heads = code.matches("extern \"C\" __global__").count();
    for word in code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        let banned = matches!(word, "asm" | "__asm" | "__asm__" | "__attribute__" | "dlopen" | "dlsym" | "syscall")
            || word.starts_with("Py")
            || word.starts_with("_Py");
        if banned {
            return Some(format!("`{word}`"));
        }
    }
    (externs > cuda_heads).then(|| "an `extern` declaration".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_both_formats_and_rejects_what_is_neither() {
        let text = "{\"id\": \"a\", \"completion\": \"x\"}\n\n{\"id\": \"b\", \"messages\": [{\"role\": \"user\", \
                    \"content\": \"q\"}, {\"role\": \"assistant\", \"content\": \"y\"}]}\n";
        let p = parse(text).expect("parses");
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].id.as_str(), p[0].completion.as_str(), p[0].line), ("a", "x", 1));
        assert_eq!((p[1].id.as_str(), p[1].completion.as_str(), p[1].line), ("b", "y", 3));
        assert!(matches!(parse("{\"id\": \"a\"}"), Err(PredictionError::Line { line: 1, .. })));
        assert!(matches!(parse("{\"completion\": \"a\"}"), Err(PredictionError::Line { line: 1, .. })));
        assert!(matches!(parse("ok\n"), Err(PredictionError::Line { line: 1, .. })));
        let no_answer = "{\"id\": \"a\", \"messages\": [{\"role\": \"user\", \"content\": \"q\"}]}";
        assert!(matches!(parse(no_answer), Err(PredictionError::Line { line: 1, .. })));
    }

    #[test]
    fn code_is_the_first_fenced_block_or_the_text() {
        assert_eq!(code_of("Here:\n```cpp\nint f();\n```\nand ```x```"), "int f();");
        assert_eq!(code_of("  int f();\n"), "int f();");
        assert_eq!(code_of("```cpp\nunterminated"), "```cpp\nunterminated");
    }

    #[test]
    fn the_screen_refuses_what_a_warp_kernel_function_never_has() {
        assert_eq!(screen("static void k_cpu_kernel_forward() { var_0 = wp::add(var_1, var_2); }"), None);
        assert_eq!(screen("extern \"C\" __global__ void k_cuda_kernel_forward() {}"), None);
        for bad in [
            "#include <stdio.h>\nvoid f() {}",
            "void f() {\n#ifdef __CUDA_ARCH__\n#endif\n}",
            "extern \"C\" int open(const char*, int);",
            "extern \"C\" __global__ void k() {}\nextern \"C\" int puts(const char*);",
            "void f() { asm(\"nop\"); }",
            "void f() { PyRun_SimpleString(\"x\"); }",
            "__attribute__((constructor)) void f() {}",
            "void f() { dlsym(0, \"x\"); }",
        ] {
            assert!(screen(bad).is_some(), "{bad}");
        }
        // a name that merely contains a banned word is fine
        assert_eq!(screen("void plasma_asmooth_kernel_forward() {}"), None);
    }

    proptest! {
        #[test]
        fn a_fenced_code_block_gives_back_its_code(code in "[a-z{}();=+ \n]{0,80}", lang in "(cpp|cuda|)") {
            let code = code.trim().to_string();
            let wrapped = format!("Answer:\n```{lang}\n{code}\n```\n");
            prop_assert_eq!(code_of(&wrapped), code.as_str());
        }

        #[test]
        fn normalisation_ignores_layout_and_comments(words in proptest::collection::vec("[a-z_;(){}0-9]{1,8}", 1..12),
                                                      gaps in proptest::collection::vec("( |\t|\n|  \n )", 12)) {
            let tight = words.join(" ");
            let loose: String = words.iter().zip(gaps.iter().cycle()).map(|(w, g)| format!("{w}{g}// note\n")).collect();
            prop_assert_eq!(normalized(&loose), normalized(&tight));
            prop_assert_eq!(normalized(&normalized(&loose)), normalized(&tight));
        }
    }
}
