//! Token-level views of a record's `python` text, computed from the text alone (no AST): the lexical tokens,
//! the text canonical form (identifiers renamed in order of first use), the skeleton (the canonical form with
//! numeric literals blanked) and token n-gram shingles for near-duplicate detection.
//!
//! These let `validate` and `stats` work on a dataset without regenerating kernels, and let near-duplicate
//! detection compare kernels that differ in more than names. The lexer covers Python's lexical grammar as far as
//! a kernel module needs it (names, numbers, strings, comments, operators); it is total: any input, even
//! corrupted text, gives tokens and never panics. A hand-written lexer because the only Rust Python lexers are
//! parts of whole parsers (RustPython, ruff) that would cost far more than these 80 lines.

use std::collections::HashMap;

/// Kind of a lexical token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// An identifier or keyword.
    Name,
    /// An integer or floating-point literal.
    Number,
    /// A string literal, quotes included.
    String,
    /// An operator or delimiter (`**`, `+=`, `(`, `.`, ...).
    Op,
}

/// One token: its kind and its text (a slice of the input).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token<'a> {
    /// What it is.
    pub kind: TokenKind,
    /// Its text.
    pub text: &'a str,
}

/// Operators of two or three characters, longest first.
const LONG_OPS: [&str; 22] = [
    "**=", "//=", ">>=", "<<=", "**", "//", "==", "!=", "<=", ">=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=",
    "->", ">>", "<<", ":=",
];

/// Splits Python source into tokens, dropping whitespace, line structure and comments.
pub fn tokens(src: &str) -> Vec<Token<'_>> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        let kind = if c.is_ascii_whitespace() || c == b'\\' {
            i += 1;
            continue;
        } else if c == b'#' {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        } else if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] >= 0x80) {
                i += 1;
            }
            TokenKind::Name
        } else if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            while i < b.len() {
                let d = b[i];
                let hex = b.get(start..start + 2).is_some_and(|p| p.eq_ignore_ascii_case(b"0x"));
                let exponent_sign = (d == b'+' || d == b'-') && matches!(b[i - 1], b'e' | b'E') && !hex;
                if d.is_ascii_alphanumeric() || d == b'.' || d == b'_' || exponent_sign {
                    i += 1;
                } else {
                    break;
                }
            }
            TokenKind::Number
        } else if c == b'"' || c == b'\'' {
            let triple = b.get(i..i + 3).is_some_and(|t| t == [c, c, c]);
            i += if triple { 3 } else { 1 };
            while i < b.len() {
                if b[i] == b'\\' {
                    i += 2;
                } else if triple && b.get(i..i + 3).is_some_and(|t| t == [c, c, c]) {
                    i += 3;
                    break;
                } else if !triple && (b[i] == c || b[i] == b'\n') {
                    i += 1;
                    break;
                } else {
                    i += 1;
                }
            }
            TokenKind::String
        } else {
            i += LONG_OPS.iter().find(|op| b[i..].starts_with(op.as_bytes())).map_or(1, |op| op.len());
            TokenKind::Op
        };
        let end = i.min(b.len());
        // slicing at a non-boundary cannot happen: every branch stops at an ASCII byte or the end
        if let Some(text) = src.get(start..end) {
            out.push(Token { kind, text });
        }
    }
    out
}

/// Names a module may use without binding them: Python keywords and builtins, and `wp`. These keep their
/// spelling in the canonical form; every other name not after a `.` is a binding of the kernel's own.
const FREE_NAMES: [&str; 31] = [
    "False", "None", "True", "and", "as", "break", "continue", "def", "elif", "else", "for", "if", "import", "in",
    "is", "not", "or", "pass", "return", "while", "from", "lambda", "with", "range", "int", "float", "bool", "len",
    "wp", "warp", "reversed",
];

/// The text canonical form: the tokens joined by single spaces, with the kernel's own names (function,
/// parameters, locals) renamed `v0`, `v1`, ... in order of first appearance. Attribute names (after `.`),
/// keywords and [`FREE_NAMES`] keep their spelling. Two modules that differ only in names or layout have the
/// same text canonical form.
pub fn canonical_text(src: &str) -> String {
    render(src, false)
}

/// The skeleton: [`canonical_text`] with every numeric literal replaced by `N`. Kernels with the same skeleton
/// differ at most in constants.
pub fn skeleton(src: &str) -> String {
    render(src, true)
}

fn render(src: &str, blank_numbers: bool) -> String {
    canonical_tokens(src, blank_numbers).join(" ")
}

/// The tokens of `src` with the kernel's own names renamed as in [`canonical_text`], and numbers blanked to `N`
/// when `blank_numbers`.
pub fn canonical_tokens(src: &str, blank_numbers: bool) -> Vec<String> {
    let toks = tokens(src);
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut out = Vec::with_capacity(toks.len());
    for (i, t) in toks.iter().enumerate() {
        let after_dot = i > 0 && toks[i - 1].text == ".";
        out.push(match t.kind {
            TokenKind::Name if !after_dot && !FREE_NAMES.contains(&t.text) => {
                let next = names.len();
                format!("v{}", *names.entry(t.text).or_insert(next))
            }
            TokenKind::Number if blank_numbers => "N".to_string(),
            _ => t.text.to_string(),
        });
    }
    out
}

/// The shingles of a text: 64-bit hashes (the first 8 bytes of BLAKE3) of every window of `n` consecutive
/// tokens of the canonical token sequence ([`canonical_tokens`], numbers kept), sorted and deduplicated. Names
/// are renamed first so that a copy with other names is as near as the original. A text with fewer than `n`
/// tokens has one shingle, of all its tokens.
pub fn shingles(src: &str, n: usize) -> Vec<u64> {
    let toks = canonical_tokens(src, false);
    let n = n.max(1);
    let mut out: Vec<u64> =
        if toks.len() < n { vec![hash_window(&toks)] } else { toks.windows(n).map(hash_window).collect() };
    out.sort_unstable();
    out.dedup();
    out
}

fn hash_window(w: &[String]) -> u64 {
    let mut h = blake3::Hasher::new();
    for t in w {
        h.update(t.as_bytes());
        h.update(&[0]);
    }
    let mut first = [0u8; 8];
    first.copy_from_slice(&h.finalize().as_bytes()[..8]);
    u64::from_le_bytes(first)
}

/// Exact Jaccard similarity |A ∩ B| / |A ∪ B| of two sorted, deduplicated shingle sets (1.0 when both are empty).
pub fn jaccard(a: &[u64], b: &[u64]) -> f64 {
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let union = a.len() + b.len() - common;
    if union == 0 { 1.0 } else { common as f64 / union as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lexes_a_kernel_line() {
        let t: Vec<&str> = tokens("    x = wp.sin(a[tid] ** 2.5e-3) // 3  # note\n").iter().map(|t| t.text).collect();
        assert_eq!(t, ["x", "=", "wp", ".", "sin", "(", "a", "[", "tid", "]", "**", "2.5e-3", ")", "//", "3"]);
    }

    #[test]
    fn canonical_text_ignores_names_and_layout_but_not_attributes_or_constants() {
        let a = "@wp.kernel\ndef f(x: wp.array(dtype=wp.float32)):\n    tid = wp.tid()\n    x[tid] = wp.sin(1.5)\n";
        let b = "@wp.kernel\ndef g(y: wp.array(dtype=wp.float32)):\n  i = wp.tid()\n  y[i]  =  wp.sin(1.5)\n";
        assert_eq!(canonical_text(a), canonical_text(b));
        assert_ne!(canonical_text(a), canonical_text(&b.replace("sin", "cos")));
        assert_ne!(canonical_text(a), canonical_text(&b.replace("1.5", "2.5")));
        assert_eq!(skeleton(a), skeleton(&b.replace("1.5", "2.5")));
        assert!(canonical_text(a).starts_with("@ wp . kernel def v0 ( v1 :"), "{}", canonical_text(a));
    }

    #[test]
    fn jaccard_of_near_copies_is_high_and_of_different_kernels_low() {
        let a = "def f(x):\n    y = x + 1.0\n    z = y * 2.0\n    w = z - y\n    return w * w + z\n";
        let b = a.replace("2.0", "3.0");
        let c = "def g(q):\n    for i in range(3):\n        q = wp.cos(q) / 4.0\n    return q\n";
        let j_ab = jaccard(&shingles(a, 5), &shingles(&b, 5));
        let j_ac = jaccard(&shingles(a, 5), &shingles(c, 5));
        assert!(j_ab > 0.5 && j_ab < 1.0, "{j_ab}");
        assert!(j_ac < 0.1, "{j_ac}");
    }

    proptest! {
        #[test]
        fn lexer_is_total(src in "\\PC{0,200}") {
            let toks = tokens(&src);
            let kept: usize = toks.iter().map(|t| t.text.len()).sum();
            prop_assert!(kept <= src.len());
        }

        #[test]
        fn without_comments_or_strings_the_tokens_are_every_non_space_byte(src in "[a-z0-9_.+*/=<>()\\[\\] \n-]{0,120}") {
            let joined: String = tokens(&src).iter().map(|t| t.text).collect();
            let expected: String = src.chars().filter(|c| !c.is_whitespace()).collect();
            prop_assert_eq!(joined, expected);
        }

        #[test]
        fn jaccard_is_symmetric_bounded_and_one_on_itself(a in proptest::collection::btree_set(0u64..50, 0..20),
                                                          b in proptest::collection::btree_set(0u64..50, 0..20)) {
            let a: Vec<u64> = a.into_iter().collect();
            let b: Vec<u64> = b.into_iter().collect();
            let j = jaccard(&a, &b);
            prop_assert!((0.0..=1.0).contains(&j));
            prop_assert_eq!(j, jaccard(&b, &a));
            prop_assert_eq!(jaccard(&a, &a), 1.0);
        }
    }
}
