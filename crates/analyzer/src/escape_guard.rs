//! Keeps ruff's IPython-mode parser away from inputs on which it panics.
//!
//! `ruff_python_parser` 0.0.10 hits `unreachable!("IPython escape command expression is only
//! allowed for % and !")` when its IPython lexer produces a help (`?`) or auto-call (`;`, `,`,
//! `/`) escape where the parser expects an expression. The lexer produces escapes at the start of
//! a logical line, and the parser can be inside an expression there:
//! - after an unfinished `lambda` (`lambda x` then `,f` on the next line);
//! - when the lexer's idea of a line start and the parser's disagree: inside brackets, after a
//!   closing bracket that does not match, or after a lexical error (an unterminated string or
//!   f-string) has thrown the lexer's state off.
//!
//! Found by fuzzing (`fuzz/regressions/*/ipython_escape_*`).
//!
//! Two defences, for notebook cells (IPython mode) that contain one of those characters. The cell
//! is first parsed in plain module mode, which never lexes escapes:
//! - **Unsafe cells** are parsed in module mode instead: a lexical error, a mismatched bracket, or
//!   such a character starting a line inside brackets (or a `?` anywhere inside brackets). Their
//!   escape lines are then syntax errors, which is what the cell is anyway.
//! - **Help and auto-call escapes that start a logical line** (also `//f` and `/=f`, which the
//!   module lexer reads as one operator) are handed to ruff as magics: their first character
//!   becomes `%` in the text the IPython parse sees (same length, so every offset holds). Ruff accepts `%` escapes in any position, so an escape the parser meets inside an
//!   expression is a syntax error there instead of a panic, and one at statement level is still
//!   reported as an escape (only the escape's span is used, never its text).

use std::borrow::Cow;

use ruff_python_ast::token::TokenKind;
use ruff_python_parser::{LexicalErrorType, Mode, ParseErrorType, ParseOptions};
use ruff_text_size::Ranged;

/// The text to parse `source` in IPython mode, or `None` when the cell must be parsed in module
/// mode (see the module docs). The text differs from `source` only where a help or auto-call
/// escape starting a logical line had its first character replaced by `%`.
pub(crate) fn ipython_text(source: &str) -> Option<Cow<'_, str>> {
    if !source.contains(['?', ';', ',', '/']) {
        return Some(Cow::Borrowed(source));
    }
    // The module parse's tree is dropped at the end: with room for a tree as deep as the source
    // is long (see `stack::for_parse`).
    crate::stack::for_parse(source.len(), || plan(source))
}

fn plan(source: &str) -> Option<Cow<'_, str>> {
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
        return None;
    }
    let bytes = source.as_bytes();
    // The open brackets, innermost last.
    let mut open: Vec<TokenKind> = Vec::new();
    // Whether the next significant token starts a logical line, as ruff's lexer sees it: at the
    // start, and after a logical newline and the indentation that follows it (comments and blank
    // lines do not change that).
    let mut line_start = true;
    // Offsets of escape characters that start a logical line outside brackets.
    let mut escapes: Vec<usize> = Vec::new();
    for tok in parsed.tokens().iter() {
        let kind = tok.kind();
        let starts_line = std::mem::replace(&mut line_start, false);
        match kind {
            TokenKind::Newline | TokenKind::Indent | TokenKind::Dedent => line_start = true,
            TokenKind::NonLogicalNewline | TokenKind::Comment => line_start = starts_line,
            TokenKind::Lpar | TokenKind::Lsqb | TokenKind::Lbrace => open.push(kind),
            TokenKind::Rpar | TokenKind::Rsqb | TokenKind::Rbrace => {
                // A closing bracket that does not close the innermost one: the lexer counts it
                // as closing anyway, the parser does not, so their line starts disagree from
                // here on (`(a]` then `,b` on the next line panicked). The cell is a syntax
                // error in either mode.
                let closes = match open.pop() {
                    Some(TokenKind::Lpar) => TokenKind::Rpar,
                    Some(TokenKind::Lsqb) => TokenKind::Rsqb,
                    Some(_) => TokenKind::Rbrace,
                    None => return None,
                };
                if kind != closes {
                    return None;
                }
            }
            // Every token that starts with an escape character (`//`, `/=` and `//=` too).
            TokenKind::Semi
            | TokenKind::Comma
            | TokenKind::Slash
            | TokenKind::SlashEqual
            | TokenKind::DoubleSlash
            | TokenKind::DoubleSlashEqual
            | TokenKind::Unknown => {
                let start = tok.start().to_usize();
                let byte = bytes.get(start).copied();
                if !open.is_empty() {
                    let at_line_start = bytes[..start]
                        .iter()
                        .rev()
                        .take_while(|b| **b != b'\n' && **b != b'\r')
                        .all(|b| matches!(b, b' ' | b'\t' | b'\x0c'));
                    if at_line_start || byte == Some(b'?') {
                        return None;
                    }
                } else if starts_line && matches!(byte, Some(b'?' | b';' | b',' | b'/')) {
                    escapes.push(start);
                }
            }
            _ => {}
        }
    }
    if escapes.is_empty() {
        return Some(Cow::Borrowed(source));
    }
    // Each replaced character is ASCII, and so is `%`: the text stays UTF-8, offsets unchanged.
    let mut text = String::with_capacity(source.len());
    let mut from = 0;
    for at in escapes {
        text.push_str(&source[from..at]);
        text.push('%');
        from = at + 1;
    }
    text.push_str(&source[from..]);
    Some(Cow::Owned(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_that_throw_the_lexer_off_are_parsed_in_module_mode() {
        for cell in [
            "n(f'\nh\n;",
            "f(a,\n;b)\n",
            "(x?\n)\n",
            "x = (a]\n,b\n",
            "x = a]\n,b\n",
        ] {
            assert_eq!(ipython_text(cell), None, "{cell:?}");
        }
    }

    #[test]
    fn escapes_that_start_a_logical_line_become_magics_of_the_same_length() {
        let text = |cell| ipython_text(cell).map(Cow::into_owned);
        // Nothing to rewrite.
        for cell in [
            "x = [1, 2]\ny = a / b\n",
            "x = {'a': [(1, 2)]}\n%time f(x, y)\n",
            "x?\n",
            "f(a,\n  b)\n",
            "x = 1 \\\n, 2\n",
        ] {
            assert_eq!(text(cell).as_deref(), Some(cell), "{cell:?}");
        }
        assert_eq!(
            text("%time x = 1\n!ls\nx?\n;f a b\n").as_deref(),
            Some("%time x = 1\n!ls\nx?\n%f a b\n")
        );
        // An unfinished lambda: ruff's parser takes the escape as the lambda's body.
        assert_eq!(text("lambda x\n,f\n").as_deref(), Some("lambda x\n%f\n"));
        assert_eq!(
            text("if x:\n    ?y\n# c\n\n/f 1\n").as_deref(),
            Some("if x:\n    %y\n# c\n\n%f 1\n")
        );
        // After `;` a line goes on: `,` there is a comma.
        assert_eq!(text("x = 1; ,f\n").as_deref(), Some("x = 1; ,f\n"));
    }

    #[test]
    fn every_ipython_parse_of_a_fuzz_class_cell_is_panic_free() {
        // The lambda class found by fuzzing, in each escape form, parsed the way parse_cell does.
        for cell in [
            "lambda\r,",
            "lambda\n;f",
            "lambda\n/f",
            "lambda\n?",
            "x = [lambda\n]\n,f",
            "lambda x=\n,f",
            "lambda x\nx = 1\n,f",
            "lambda\n#c\n,f",
            "lambda\n//f",
            "lambda\n/=f",
            "x = [lambda\n]\n//=f",
        ] {
            // These cells are not unsafe: they take the IPython parse, on the rewritten text.
            let text = ipython_text(cell).unwrap_or_else(|| panic!("{cell:?} bailed out"));
            assert_ne!(text, cell, "{cell:?} was not rewritten");
            let _ = ruff_python_parser::parse_unchecked(&text, ParseOptions::from(Mode::Ipython));
        }
    }
}
