//! Facts about physical lines that decide where text may be inserted: a line start inside a
//! string or inside brackets cannot take a new statement or an indentation prefix.

use ruff_python_ast::token::{TokenKind, Tokens};
use ruff_text_size::Ranged;

use crate::span::LineIndex;

/// What is at the start of a physical line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LineStart {
    /// Between logical lines (or inside a logical line only through a `\` continuation).
    Free,
    /// Inside brackets: part of a logical line that started earlier.
    InBrackets,
    /// Inside a string token (triple-quoted or continued with `\`): not code.
    InString,
}

/// Line starts of a source and what is at each.
#[derive(Debug, Clone)]
pub(crate) struct Lines {
    pub(crate) starts: Vec<u32>,
    pub(crate) facts: Vec<LineStart>,
}

impl Lines {
    /// Classify every line start of `source`.
    pub(crate) fn new(source: &str, tokens: &Tokens) -> Self {
        let index = LineIndex::new(source);
        let starts: Vec<u32> = (1..=index.line_count() as u32)
            .filter_map(|l| index.line_start(l))
            .collect();
        let mut facts = vec![LineStart::Free; starts.len()];
        let mut depth = 0usize;
        // Bracket depth at each open f-string: deeper means inside a replacement field.
        let mut fstrings: Vec<usize> = Vec::new();
        let mut line = 0usize;
        for tok in tokens.iter() {
            let (ts, te) = (tok.start().to_u32(), tok.end().to_u32());
            // Line starts before this token: at the current depth.
            while line < starts.len() && starts[line] <= ts {
                if fstrings.last().is_some_and(|d| *d == depth) {
                    facts[line] = LineStart::InString;
                } else if depth > 0 && starts[line] > 0 {
                    facts[line] = LineStart::InBrackets;
                }
                line += 1;
            }
            // Line starts inside this token.
            while line < starts.len() && starts[line] < te {
                facts[line] = if is_string_part(tok.kind()) {
                    LineStart::InString
                } else if depth > 0 {
                    LineStart::InBrackets
                } else {
                    LineStart::Free
                };
                line += 1;
            }
            match tok.kind() {
                TokenKind::FStringStart | TokenKind::TStringStart => fstrings.push(depth),
                TokenKind::FStringEnd | TokenKind::TStringEnd => {
                    fstrings.pop();
                }
                TokenKind::Lpar | TokenKind::Lsqb | TokenKind::Lbrace => depth += 1,
                TokenKind::Rpar | TokenKind::Rsqb | TokenKind::Rbrace => {
                    depth = depth.saturating_sub(1)
                }
                _ => {}
            }
        }
        Self { starts, facts }
    }

    /// 0-based index of the line holding `offset`.
    pub(crate) fn line_of(&self, offset: u32) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        }
    }
}

fn is_string_part(kind: TokenKind) -> bool {
    matches!(
        kind,
        TokenKind::String
            | TokenKind::FStringStart
            | TokenKind::FStringMiddle
            | TokenKind::FStringEnd
            | TokenKind::TStringStart
            | TokenKind::TStringMiddle
            | TokenKind::TStringEnd
    )
}
