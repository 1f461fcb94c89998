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
