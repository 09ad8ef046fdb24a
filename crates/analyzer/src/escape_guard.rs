//! Keeps ruff's IPython-mode parser away from inputs on which it panics.
//!
//! `ruff_python_parser` 0.0.10 hits `unreachable!("IPython escape command expression is only
//! allowed for % and !")` when its IPython lexer produces a help (`?`) or auto-call (`;`, `,`,
//! `/`) escape where the parser expects an expression. Its lexer only produces those at the start
//! of a logical line, so this happens when the lexer's idea of a line start and the parser's
//! disagree: inside brackets, or after a lexical error (an unterminated string or f-string) has
//! thrown the lexer's state off. Found by fuzzing (`fuzz/regressions/*/ipython_escape_*`).
//!
//! The check runs only for notebook cells (IPython mode) that contain one of those characters:
//! it parses the cell in plain module mode (which never lexes escapes) and calls the IPython parse
//! unsafe when the module parse saw a lexical error, or when such a character starts a line or a
//! `?` appears inside brackets. An unsafe cell is parsed in module mode: its escape lines are then
//! syntax errors, which is what the cell is anyway.

use ruff_python_ast::token::TokenKind;
use ruff_python_parser::{LexicalErrorType, Mode, ParseErrorType, ParseOptions};
use ruff_text_size::Ranged;

/// Would parsing `source` in IPython mode risk the parser's panic?
pub(crate) fn ipython_parse_may_panic(source: &str) -> bool {
    if !source.contains(['?', ';', ',', '/']) {
        return false;
    }
    let parsed = ruff_python_parser::parse_unchecked(source, ParseOptions::from(Mode::Module));
    // Strings the lexer could not close throw its state off (an unrecognised `!` or `?` does not:
    // module mode just cannot lex IPython's escapes).
    if parsed.errors().iter().any(|e| {
        matches!(
            &e.error,
            ParseErrorType::Lexical(
                LexicalErrorType::StringError
                    | LexicalErrorType::UnclosedStringError
                    | LexicalErrorType::FStringError(_)
                    | LexicalErrorType::TStringError(_)
                    | LexicalErrorType::Eof
            )
        )
    }) {
        return true;
    }
    let bytes = source.as_bytes();
    // The open brackets, innermost last.
    let mut open: Vec<TokenKind> = Vec::new();
    for tok in parsed.tokens().iter() {
        match tok.kind() {
            kind @ (TokenKind::Lpar | TokenKind::Lsqb | TokenKind::Lbrace) => open.push(kind),
            kind @ (TokenKind::Rpar | TokenKind::Rsqb | TokenKind::Rbrace) => {
                // A closing bracket that does not close the innermost one: the lexer counts it
                // as closing anyway, the parser does not, so their line starts disagree from
                // here on (`(a]` then `,b` on the next line panicked). The cell is a syntax
                // error in either mode.
                let closes = match open.pop() {
                    Some(TokenKind::Lpar) => TokenKind::Rpar,
                    Some(TokenKind::Lsqb) => TokenKind::Rsqb,
                    Some(_) => TokenKind::Rbrace,
                    None => return true,
                };
                if kind != closes {
                    return true;
                }
            }
            TokenKind::Semi | TokenKind::Comma | TokenKind::Slash | TokenKind::Unknown
                if !open.is_empty() =>
            {
                let start = tok.start().to_usize();
                let at_line_start = bytes[..start]
                    .iter()
                    .rev()
                    .take_while(|b| **b != b'\n' && **b != b'\r')
                    .all(|b| matches!(b, b' ' | b'\t' | b'\x0c'));
                let is_question = bytes.get(start) == Some(&b'?');
                if at_line_start || is_question {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fuzz_finding_is_unsafe_and_ordinary_cells_are_not() {
        assert!(ipython_parse_may_panic("n(f'\nh\n;"));
        assert!(ipython_parse_may_panic("f(a,\n;b)\n"));
        assert!(ipython_parse_may_panic("(x?\n)\n"));
        assert!(ipython_parse_may_panic("x = (a]\n,b\n"));
        assert!(ipython_parse_may_panic("x = a]\n,b\n"));
        assert!(!ipython_parse_may_panic("%time x = 1\n!ls\nx?\n;f a b\n"));
        assert!(!ipython_parse_may_panic("x = [1, 2]\ny = a / b\n"));
        assert!(!ipython_parse_may_panic(
            "x = {'a': [(1, 2)]}\n%time f(x, y)\n"
        ));
    }
}
