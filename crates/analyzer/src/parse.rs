//! Parsing a cell with ruff's parser, behind guards that match CPython's own limits.

use ruff_python_ast::token::TokenKind;
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{Expr, ModModule, PythonVersion, Stmt};
use ruff_python_parser::{Mode as ParserMode, ParseOptions, Parsed};
use ruff_text_size::{Ranged, TextRange, TextSize};

use crate::span::Span;
use crate::stack;

/// CPython's tokenizer refuses more than this many nested brackets (`MAXLEVEL`).
pub(crate) const MAX_BRACKET_DEPTH: usize = 200;
/// CPython's tokenizer refuses more than this many indentation levels (`MAXINDENT`).
pub(crate) const MAX_INDENT_DEPTH: usize = 100;
/// Beyond this syntax-tree depth (statements and expressions nested in each other) CPython 3.11's
/// compiler raises `RecursionError: maximum recursion depth exceeded during compilation`, and so
/// do we. CPython's limit is `3 × sys.getrecursionlimit()` (3000) minus three per Python frame
/// already on the stack when `compile()` is called; 2994 is what a `compile()` called from one
/// function of a script sees (measured: `-` × 2992 + `1` compiles, one more does not).
pub(crate) const MAX_TREE_DEPTH: usize = 2994;

/// Why a cell could not be turned into a tree we analyze.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseFailure {
    /// CPython's exception type: `SyntaxError`, `IndentationError`, `RecursionError`.
    pub(crate) kind: &'static str,
    pub(crate) message: String,
    pub(crate) span: Span,
    /// `true` when a nesting limit (not a grammar error) was hit.
    pub(crate) too_deep: bool,
}

/// A parsed cell and the depth of its tree. Dropping it is safe however deep the tree is.
pub(crate) struct ParsedCell {
    parsed: Option<Parsed<ModModule>>,
    depth: usize,
    /// Where each `async` and `await` keyword starts, in order.
    async_offsets: Vec<u32>,
    /// The cell has a `global` statement or an assignment expression (`:=`).
    global_or_walrus: bool,
    /// The cell has a name [`crate::bindings::is_namespace_name`] accepts.
    namespace_names: bool,
    /// No `global`, `nonlocal`, `:=`, `yield`, `async`, `await` nor `import *`: the only
    /// keywords that make CPython's symbol table refuse a module (besides a duplicate
    /// parameter) or mark a scope a coroutine or a generator.
    simple_scopes: bool,
    /// See [`ParsedCell::scopes`].
    async_in_brackets: bool,
    /// A `global`, `nonlocal`, `:=`, `yield` or `import *`.
    scope_keywords: bool,
}

impl ParsedCell {
    /// The depth of the tree (an upper bound when it was not measured exactly).
    pub(crate) fn depth(&self) -> usize {
        self.depth
    }

    /// The module.
    pub(crate) fn module(&self) -> &ModModule {
        self.parsed.as_ref().expect("present until drop").syntax()
    }

    /// Where each `async` and `await` keyword of the cell starts, in order: a node whose range
    /// holds none of them has no `await`, `async for`, `async with` nor async comprehension.
    pub(crate) fn async_offsets(&self) -> &[u32] {
        &self.async_offsets
    }

    /// Whether the cell has a `global` statement, an assignment expression (`:=`) or a name
    /// [`crate::bindings::is_namespace_name`] accepts: without them, expressions and code in nested
    /// scopes cannot bind module-level names nor write the namespace dynamically.
    pub(crate) fn bindings_need_full_walk(&self) -> bool {
        self.global_or_walrus || self.namespace_names
    }

    /// How much of CPython's symbol table the compile-error check needs (see
    /// [`crate::syntax::Scopes`]).
    pub(crate) fn scopes(&self) -> crate::syntax::Scopes {
        use crate::syntax::Scopes;
        if self.simple_scopes {
            Scopes::Simple
        } else if !self.scope_keywords && !self.async_in_brackets {
            Scopes::AsyncAtStatementLevel
        } else {
            Scopes::Full
        }
    }

    /// Whether the cell may hold a `yield` (without one, no function of the cell is a
    /// generator). Only a cell with a scope keyword has its tokens searched.
    pub(crate) fn may_yield(&self) -> bool {
        self.scope_keywords
            && self
                .parsed()
                .tokens()
                .iter()
                .any(|t| t.kind() == TokenKind::Yield)
    }

    /// The parse result (tokens, errors).
    pub(crate) fn parsed(&self) -> &Parsed<ModModule> {
        self.parsed.as_ref().expect("present until drop")
    }
}

impl Drop for ParsedCell {
    fn drop(&mut self) {
        if let Some(p) = self.parsed.take() {
            stack::drop_deep(p, self.depth);
        }
    }
}

/// Parse `source` as a Python 3.11 module (or an IPython cell when `ipython` is set).
///
/// Returns the tree, or the first error CPython would report. Never panics, never overflows the
/// stack (the parser itself grows its stack with `stacker`; we measure the depth before anyone
/// walks the tree).
pub(crate) fn parse_cell(source: &str, ipython: bool) -> Result<ParsedCell, ParseFailure> {
    // `memchr` compares 32 bytes an instruction; `str::find` goes a word at a time.
    if let Some(at) = memchr::memchr(0, source.as_bytes()) {
        // `compile()` refuses NUL bytes before tokenizing anything.
        return Err(ParseFailure {
            kind: "SyntaxError",
            message: "source code string cannot contain null bytes".to_string(),
            span: Span::empty(at as u32),
            too_deep: false,
        });
    }
    // IPython mode only where ruff's IPython parser cannot panic, and on the text `escape_guard`
    // prepared for it (the same as `source` but for the first character of some escapes).
    let ipython_text = if ipython {
        crate::escape_guard::ipython_text(source)
    } else {
        None
    };
    let (mode, source) = match &ipython_text {
        Some(text) => (ParserMode::Ipython, text.as_ref()),
        None => (ParserMode::Module, source),
    };
    let options = ParseOptions::from(mode).with_target_version(PythonVersion::PY311);
    let parsed = stack::for_parse(source.len(), || {
        ruff_python_parser::parse_unchecked(source, options.clone())
    })
    .try_into_module()
    .expect("Mode::Module and Mode::Ipython always give a module");

    let mut parsed = parsed;
    if !parsed.errors().is_empty()
        && let Some(fixed) = reparse_bare_genexp_fields(source, &parsed, options)
    {
        let depth = measure_depth(parsed.syntax());
        stack::drop_deep(std::mem::replace(&mut parsed, fixed), depth);
    }
    let (scan, tokenizer_error) = scan_tokens(source, &parsed);
    // The token bound stands in for the depth (dropping, and the limit below) when it is small;
    // trees with errors and long logical lines are measured by walking them.
    let depth = if scan.depth_bound < DROP_DEEP_FROM && !has_errors(&parsed) {
        // Every test (the standard library and corpus included) checks the bound in debug builds.
        debug_assert!(measure_depth(parsed.syntax()) <= scan.depth_bound);
        scan.depth_bound
    } else {
        measure_depth(parsed.syntax())
    };
    let cell = ParsedCell {
        parsed: Some(parsed),
        depth,
        async_offsets: scan.async_offsets,
        global_or_walrus: scan.global_or_walrus,
        namespace_names: scan.namespace_names,
        simple_scopes: scan.simple_scopes,
        async_in_brackets: scan.async_in_brackets,
        scope_keywords: scan.scope_keywords || scan.global_or_walrus,
    };
    let p = cell.parsed();
    let first_error = p
        .errors()
        .iter()
        .map(|e| (e.location, e.error.to_string()))
        .chain(
            p.unsupported_syntax_errors()
                .iter()
                .map(|e| (e.range, e.to_string())),
        )
        .min_by_key(|(r, _)| (r.start(), r.end()));

    // CPython's tokenizer errors (bracket and indentation limits, unmatched brackets) win over
    // parser errors that come later in the cell, and over a generic "invalid syntax" anywhere.
    let parser_error =
        first_error.map(|(range, message)| cpython_failure(source, p, range, &message));
    match (parser_error, tokenizer_error) {
        // CPython reports an unclosed bracket instead of the parser's error only when its parser
        // fetched the end of the input inside the bracket, or when the parser's error is on a
        // later line than the bracket (pegen's `_PyPegen_tokenize_full_source_to_check_for_errors`).
        (Some(pe), Some(te)) if te.message.ends_with("was never closed") && !te.too_deep => {
            let line = |offset: u32| line_number(source, offset as usize);
            let significant_after = p
                .tokens()
                .iter()
                .filter(|t| t.start().to_u32() >= pe.span.start)
                // Ruff's lexer marks the end inside brackets with an empty `Unknown` token.
                .filter(|t| !(t.kind() == TokenKind::Unknown && t.range().is_empty()))
                .filter(|t| {
                    !matches!(
                        t.kind(),
                        TokenKind::Newline
                            | TokenKind::NonLogicalNewline
                            | TokenKind::Comment
                            | TokenKind::Indent
                            | TokenKind::Dedent
                            | TokenKind::EndOfFile
                    )
                })
                .count();
            if significant_after <= 1 || line(pe.span.start) > line(te.span.start) {
                return Err(te);
            }
            return Err(pe);
        }
        (Some(pe), Some(te)) => {
            if te.span.start <= pe.span.start || pe.message == "invalid syntax" || te.too_deep {
                return Err(te);
            }
            return Err(pe);
        }
        (Some(pe), None) => return Err(pe),
        (None, Some(te)) => return Err(te),
        (None, None) => {}
    }
    if let Some(string_end) = scan
        .fstring_spec_fields
        .then(|| fstring_nested_too_deeply(p))
        .flatten()
    {
        return Err(ParseFailure {
            kind: "SyntaxError",
            message: "f-string: expressions nested too deeply".to_string(),
            span: token_after(p, string_end),
            too_deep: false,
        });
    }
    if depth > MAX_TREE_DEPTH {
        return Err(ParseFailure {
            kind: "RecursionError",
            message: "maximum recursion depth exceeded during compilation".to_string(),
            span: Span::new(0, source.len() as u32),
            too_deep: true,
        });
    }
    Ok(cell)
}

fn error_kind(message: &str) -> &'static str {
    let m = message.to_ascii_lowercase();
    if m.contains("indent") {
        "IndentationError"
    } else {
        "SyntaxError"
    }
}

/// Turn ruff's first error into CPython's exception: type, message and location, reworded where
/// CPython's wording is known (and cheap to reproduce).
fn cpython_failure(
    source: &str,
    parsed: &Parsed<ModModule>,
    range: TextRange,
    message: &str,
) -> ParseFailure {
    let (message, span) = cpython_message(source, parsed, range, message);
    ParseFailure {
        kind: error_kind(&message),
        message,
        span,
        too_deep: false,
    }
}

fn line_start(source: &str, offset: usize) -> usize {
    source[..offset.min(source.len())]
        .rfind(['\n', '\r'])
        .map_or(0, |i| i + 1)
}

fn line_number(source: &str, offset: usize) -> usize {
    crate::span::LineIndex::new(source)
        .cpython(offset.min(source.len()) as u32)
        .line as usize
}

/// Ruff's messages, reworded to CPython's where the wording is well known.
fn cpython_message(
    source: &str,
    parsed: &Parsed<ModModule>,
    range: TextRange,
    message: &str,
) -> (String, Span) {
    let span = Span::from(range);
    let start = range.start().to_usize();
    let invalid = || ("invalid syntax".to_string(), Span::empty(span.start));
    if let Some(clause) = message.strip_prefix("Expected an indented block after ") {
        let what = match clause {
            "`if` statement" => "'if' statement",
            "`else` clause" => "'else' statement",
            "`elif` clause" => "'elif' statement",
            "`for` statement" => "'for' statement",
            "`with` statement" => "'with' statement",
            "`class` definition" => "class definition",
            "`while` statement" => "'while' statement",
            "function definition" => "function definition",
            "`case` block" => "'case' statement",
            "`try` statement" => "'try' statement",
            "`except` clause" => "'except' statement",
            "`finally` clause" => "'finally' statement",
            "`match` statement" => "'match' statement",
            other => other,
        };
        // The header is the last line with code before the error, or the error's own line when
        // ruff points at the newline after the colon.
        let at_newline = source[start..].starts_with(['\n', '\r']) || start >= source.len();
        let header_line = if at_newline {
            line_number(source, start)
        } else {
            let mut l = line_start(source, start);
            loop {
                if l == 0 {
                    break line_number(source, 0);
                }
                let prev = line_start(source, l - 1);
                let text = source[prev..l].trim();
                if !text.is_empty() && !text.starts_with('#') {
                    break line_number(source, prev);
                }
                l = prev;
            }
        };
        return (
            format!("expected an indented block after {what} on line {header_line}"),
            span,
        );
    }
    let simple = match message {
        "Unexpected indentation" => {
            // CPython points at the first token of the over-indented line.
            let ls = line_start(source, start);
            let first = source[ls..]
                .find(|c: char| !matches!(c, ' ' | '\t' | '\x0c'))
                .map_or(start, |i| ls + i);
            // CPython's offset is that column counted from 0 (one before the token).
            return (
                "unexpected indent".into(),
                Span::empty(first.saturating_sub(1).max(ls) as u32),
            );
        }
        "Parameter without a default cannot follow a parameter with a default" => {
            "non-default argument follows default argument"
        }
        // CPython points just past the offending argument.
        "Positional argument cannot follow keyword argument unpacking" => {
            return (
                "positional argument follows keyword argument unpacking".into(),
                Span::empty(span.end),
            );
        }
        "Positional argument cannot follow keyword argument" => {
            return (
                "positional argument follows keyword argument".into(),
                Span::empty(span.end),
            );
        }
        "Unparenthesized generator expression cannot be used here" => {
            "Generator expression must be parenthesized"
        }
        "Iterable argument unpacking cannot follow keyword argument unpacking" => {
            "iterable argument unpacking follows keyword argument unpacking"
        }
        "Expected one or more exception types" => "expected one or more exception types",
        "f-string: lambda expressions are not allowed without parentheses" => {
            "f-string: invalid syntax"
        }
        "Parameter cannot follow var-keyword parameter" => {
            "arguments cannot follow var-keyword argument"
        }
        "Expected one or more keyword parameter after `*` separator" => {
            "named arguments must follow bare *"
        }
        "unindent does not match any outer indentation level" => {
            "unindent does not match any outer indentation level"
        }
        _ => "",
    };
    if !simple.is_empty() {
        return (simple.to_string(), span);
    }
    if let Some(m) = number_literal_error(source, start, message) {
        return (m, span);
    }
    if message == "Simple statements must be separated by newlines or semicolons" {
        // `print "hi"`: CPython's hint for Python 2 statements.
        let ls = line_start(source, start);
        let line = source[ls..start].trim_start();
        for name in ["print", "exec"] {
            if let Some(rest) = line.strip_prefix(name)
                && rest.starts_with([' ', '\t'])
                && rest.trim().is_empty()
            {
                let at = (start - line.len()) as u32;
                return (
                    format!("Missing parentheses in call to '{name}'. Did you mean {name}(...)?"),
                    Span::empty(at),
                );
            }
        }
        return invalid();
    }
    if message.starts_with("Cannot use an escape sequence (backslash) in f-strings") {
        return (
            "f-string expression part cannot include a backslash".into(),
            span,
        );
    }
    if message.starts_with("Cannot use comments in f-strings") {
        return ("f-string expression part cannot include '#'".into(), span);
    }
    if message == "Bytes literal cannot be mixed with non-bytes literals" {
        return ("cannot mix bytes and nonbytes literals".into(), span);
    }
    if let Some(c) = source[start.min(source.len())..].chars().next()
        && !c.is_ascii()
        && !unicode_ident_char(c)
        && (message.starts_with("Got unexpected") || message.starts_with("Expected"))
    {
        let m = if c.is_whitespace() || c.is_control() {
            format!("invalid non-printable character U+{:04X}", c as u32)
        } else {
            format!("invalid character '{c}' (U+{:04X})", c as u32)
        };
        return (m, span);
    }
    if message == "Expected an expression"
        && source[..start.min(source.len())].trim_end().ends_with('{')
        && source[start.min(source.len())..]
            .trim_start()
            .starts_with('}')
    {
        return ("f-string: empty expression not allowed".into(), span);
    }
    if let Some(found) = message
        .strip_prefix("Expected `,`, found `")
        .and_then(|f| f.strip_suffix('`'))
        && found.ends_with('=')
        && found.len() >= 2
        && !matches!(found, "==" | "!=" | "<=" | ">=")
    {
        // `a, b += 1`: an augmented assignment to a tuple.
        let ls = line_start(source, start);
        let first = source[ls..]
            .find(|c: char| !matches!(c, ' ' | '\t' | '\x0c'))
            .map_or(start, |i| ls + i);
        return (
            "'tuple' is an illegal expression for augmented assignment".into(),
            Span::empty(first as u32),
        );
    }
    if message.starts_with("Expected `:`, found") {
        return ("expected ':'".into(), Span::empty(span.start));
    }
    let triple = {
        let rest =
            source[start.min(source.len())..].trim_start_matches(|c: char| c.is_ascii_alphabetic());
        rest.starts_with("\"\"\"") || rest.starts_with("\'\'\'")
    };
    if (message == "unterminated string" || message == "missing closing quote in string literal")
        && !triple
    {
        return (
            format!(
                "unterminated string literal (detected at line {})",
                line_number(source, start)
            ),
            span,
        );
    }
    if message == "unterminated triple-quoted string"
        || triple && message.starts_with("unterminated")
        || triple && message == "missing closing quote in string literal"
    {
        return (
            format!(
                "unterminated triple-quoted string literal (detected at line {})",
                line_number(source, source.trim_end().len())
            ),
            span,
        );
    }
    if let Some(kind) = target_error_kind(message)
        && let Some((expr, single_assign)) = find_target(parsed, range)
    {
        let name = expr_name(expr);
        if let Expr::Await(a) = expr
            && matches!(a.value.as_ref(), Expr::Name(n) if n.id.is_empty())
        {
            // `await = 1`: `await` is a keyword; CPython stops at the next token.
            let after = start + "await".len();
            let next = source[after..]
                .find(|c: char| !c.is_whitespace())
                .map_or(after, |i| after + i);
            return ("invalid syntax".into(), Span::empty(next as u32));
        }
        if matches!(kind, TargetError::Assign)
            && matches!(expr, Expr::Yield(_) | Expr::YieldFrom(_))
        {
            return ("assignment to yield expression not possible".into(), span);
        }
        let text = match kind {
            TargetError::Assign if single_assign && !matches!(name, "None" | "True" | "False") => {
                format!("cannot assign to {name} here. Maybe you meant '==' instead of '='?")
            }
            TargetError::Assign => format!("cannot assign to {name}"),
            TargetError::AugAssign => {
                format!("'{name}' is an illegal expression for augmented assignment")
            }
            TargetError::Delete => format!("cannot delete {name}"),
            TargetError::Walrus => format!("cannot use assignment expressions with {name}"),
        };
        return (text, span);
    }
    if message.starts_with("Expected ")
        || message.ends_with("cannot be used here")
        || message.starts_with("Got unexpected token")
        || message.ends_with("must have at least one name")
        || message.ends_with("must have at least one target")
        || message == "Unexpected token at the end of an expression"
    {
        return invalid();
    }
    if message.starts_with("Cannot use `type` alias statement") {
        // `type X = ...` is `type` followed by a name: CPython stops at the name.
        let after = start + "type".len();
        let next = source[after.min(source.len())..]
            .find(|c: char| !c.is_whitespace())
            .map_or(after, |i| after + i);
        return ("invalid syntax".into(), Span::empty(next as u32));
    }
    if message.starts_with("Cannot use type parameter lists") {
        let is_def = source[..start]
            .trim_end()
            .rsplit(char::is_whitespace)
            .nth(1)
            == Some("def");
        return if is_def {
            ("expected '('".into(), Span::empty(span.start))
        } else {
            invalid()
        };
    }
    (message.to_string(), span)
}

/// A character that may continue a Python identifier (approximately: alphanumeric or `_`).
fn unicode_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// CPython's tokenizer messages for malformed number literals, from the literal's text around
/// the error.
fn number_literal_error(source: &str, start: usize, message: &str) -> Option<String> {
    let plausible = message == "invalid syntax"
        || message.starts_with("Expected ")
        || message.starts_with("Got unexpected")
        || message.contains("ParseIntError")
        || message.starts_with("Invalid decimal integer literal")
        || message.starts_with("Simple statements must be separated");
    if !plausible {
        return None;
    }
    let bytes = source.as_bytes();
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'.';
    let mut s = start.min(bytes.len());
    while s > 0 && is_word(bytes[s - 1]) {
        s -= 1;
    }
    let mut e = start.min(bytes.len());
    while e < bytes.len() && is_word(bytes[e]) {
        e += 1;
    }
    let word = source.get(s..e)?;
    if !word.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let lower = word.to_ascii_lowercase();
    let digits_after = |prefix: &str, ok: &dyn Fn(char) -> bool, what: &str| -> String {
        let body = &lower[prefix.len()..];
        match body.chars().find(|c| !ok(*c) && *c != '_') {
            Some(c) if c.is_ascii_digit() => format!("invalid digit '{c}' in {what} literal"),
            _ => format!("invalid {what} literal"),
        }
    };
    Some(if lower.starts_with("0b") {
        digits_after("0b", &|c| c == '0' || c == '1', "binary")
    } else if lower.starts_with("0o") {
        digits_after("0o", &|c| ('0'..='7').contains(&c), "octal")
    } else if lower.starts_with("0x") {
        "invalid hexadecimal literal".to_string()
    } else if lower.len() > 1
        && lower.starts_with('0')
        && lower.bytes().all(|b| b.is_ascii_digit() || b == b'_')
        && lower.bytes().any(|b| b != b'0' && b != b'_')
    {
        "leading zeros in decimal integer literals are not permitted; use an 0o prefix for octal integers".to_string()
    } else {
        "invalid decimal literal".to_string()
    })
}

#[derive(Clone, Copy)]
enum TargetError {
    Assign,
    AugAssign,
    Delete,
    Walrus,
}

fn target_error_kind(message: &str) -> Option<TargetError> {
    match message {
        "Invalid assignment target" => Some(TargetError::Assign),
        "Invalid augmented assignment target" => Some(TargetError::AugAssign),
        "Invalid delete target" => Some(TargetError::Delete),
        "Assignment expression target must be an identifier" => Some(TargetError::Walrus),
        _ => None,
    }
}

/// The expression ruff flagged as an invalid target, and whether it is (the last element of)
/// the target of a single-`=` assignment statement, where CPython adds "Maybe you meant '=='".
fn find_target(parsed: &Parsed<ModModule>, range: TextRange) -> Option<(&Expr, bool)> {
    struct Find<'a> {
        range: TextRange,
        found: Option<&'a Expr>,
    }
    impl<'a> Visitor<'a> for Find<'a> {
        fn visit_expr(&mut self, expr: &'a Expr) {
            if self.found.is_some() || !expr.range().contains_range(self.range) {
                return;
            }
            if expr.range() == self.range {
                self.found = Some(expr);
                return;
            }
            stack::guard(|| visitor::walk_expr(self, expr));
        }
    }
    let mut f = Find { range, found: None };
    f.visit_body(&parsed.syntax().body);
    let expr = f.found?;
    let single_assign = parsed.syntax().body.iter().any(|s| match s {
        Stmt::Assign(a) if a.targets.len() == 1 => {
            let t = &a.targets[0];
            t.range() == range && !matches!(t, Expr::List(_) | Expr::Tuple(_))
                || matches!(t, Expr::Tuple(tu) if !tu.parenthesized
                    && tu.elts.last().is_some_and(|e| e.range() == range))
        }
        _ => false,
    });
    Some((expr, single_assign))
}

/// Where CPython 3.11 reports an error it finds in a string literal's contents: at the first
/// token after the whole (implicitly concatenated) literal that ends at `string_end`, comments
/// and line breaks inside brackets skipped. (Its f-string parser runs when the parser reduces
/// the string atom, having fetched that token.) A `NEWLINE` or the end gives an empty span.
fn token_after(parsed: &Parsed<ModModule>, string_end: u32) -> Span {
    let next = parsed
        .tokens()
        .iter()
        .skip_while(|t| t.start().to_u32() < string_end)
        .find(|t| !matches!(t.kind(), TokenKind::Comment | TokenKind::NonLogicalNewline));
    match next {
        Some(t) if !matches!(t.kind(), TokenKind::Newline | TokenKind::EndOfFile) => {
            Span::from(t.range())
        }
        Some(t) => Span::empty(t.start().to_u32()),
        None => Span::empty(string_end),
    }
}

/// CPython 3.11's f-string parser allows a replacement field in the format spec of a replacement
/// field, but not one level deeper (`f'{x:{y:{z}}}'`); ruff's parser accepts any depth. Returns
/// where the offending (implicitly concatenated) f-string ends.
fn fstring_nested_too_deeply(parsed: &Parsed<ModModule>) -> Option<u32> {
    use ruff_python_ast::InterpolatedStringElement as El;
    fn too_deep(elements: &[El], level: usize) -> bool {
        elements.iter().any(|el| match el {
            El::Interpolation(i) => {
                level >= 2
                    || i.format_spec
                        .as_ref()
                        .is_some_and(|spec| too_deep(&spec.elements, level + 1))
            }
            El::Literal(_) => false,
        })
    }
    struct Find(Option<u32>);
    impl<'a> Visitor<'a> for Find {
        fn visit_expr(&mut self, expr: &'a Expr) {
            if self.0.is_some() {
                return;
            }
            if let Expr::FString(f) = expr
                && f.value.f_strings().any(|fs| too_deep(&fs.elements, 0))
            {
                self.0 = Some(f.range.end().to_u32());
                return;
            }
            stack::guard(|| visitor::walk_expr(self, expr));
        }
    }
    let mut f = Find(None);
    f.visit_body(&parsed.syntax().body);
    f.0
}

/// CPython's `_PyPegen_get_expr_name`.
fn expr_name(e: &Expr) -> &'static str {
    match e {
        Expr::Attribute(_) => "attribute",
        Expr::Subscript(_) => "subscript",
        Expr::Starred(_) => "starred",
        Expr::Name(_) => "name",
        Expr::List(_) => "list",
        Expr::Tuple(_) => "tuple",
        Expr::Lambda(_) => "lambda",
        Expr::Call(_) => "function call",
        Expr::BoolOp(_) | Expr::BinOp(_) | Expr::UnaryOp(_) => "expression",
        Expr::Generator(_) => "generator expression",
        Expr::Yield(_) | Expr::YieldFrom(_) => "yield expression",
        Expr::Await(_) => "await expression",
        Expr::ListComp(_) => "list comprehension",
        Expr::SetComp(_) => "set comprehension",
        Expr::DictComp(_) => "dict comprehension",
        Expr::Dict(_) => "dict literal",
        Expr::Set(_) => "set display",
        Expr::FString(_) | Expr::TString(_) => "f-string expression",
        Expr::NoneLiteral(_) => "None",
        Expr::BooleanLiteral(b) if b.value => "True",
        Expr::BooleanLiteral(_) => "False",
        Expr::EllipsisLiteral(_) => "ellipsis",
        Expr::Compare(_) => "comparison",
        Expr::If(_) => "conditional expression",
        Expr::Named(_) => "named expression",
        _ => "literal",
    }
}

/// CPython 3.11 compiles each f-string replacement field as if parenthesized, so a bare
/// generator expression is valid there (`f'{x async for x in xs}'`); ruff's parser refuses it.
///
/// When the cell has such a field, re-parse a copy of the source in which each affected f-string
/// is rewritten in place, byte for byte, as a parenthesized tuple of its field expressions
/// (`f'a{x for x in y}'` becomes `((x for x in y))` padded with spaces to the same length):
/// every expression keeps its offsets, so the tree is valid for the original source. Returns
/// `None` (keep ruff's error) unless the rewrite parses without errors.
fn reparse_bare_genexp_fields(
    source: &str,
    parsed: &Parsed<ModModule>,
    options: ParseOptions,
) -> Option<Parsed<ModModule>> {
    // The parser's first error is inside such a field, so an f-string starts before it;
    // without one (most syntax errors) the rewrite could not remove that error.
    let first_error = parsed
        .errors()
        .iter()
        .map(|e| e.location.start())
        .chain(
            parsed
                .unsupported_syntax_errors()
                .iter()
                .map(|e| e.range.start()),
        )
        .min()?;
    if !parsed
        .tokens()
        .iter()
        .take_while(|t| t.start() < first_error)
        .any(|t| t.kind() == TokenKind::FStringStart)
    {
        return None;
    }
    let tokens: Vec<(TokenKind, TextRange)> = parsed
        .tokens()
        .iter()
        .map(|t| (t.kind(), t.range()))
        .collect();
    let mut bytes = source.as_bytes().to_vec();
    let mut changed = false;
    let mut i = 0;
    while i < tokens.len() {
        if tokens[i].0 != TokenKind::FStringStart {
            i += 1;
            continue;
        }
        let fs_start = tokens[i].1.start().to_usize();
        let Some((fs_end, mut fields, mut has_genexp)) = fstring_fields(source, fs_start) else {
            i += 1;
            continue;
        };
        // The implicitly concatenated literals around it, on the same line, form one group:
        // plain strings become spaces, f-strings contribute their fields. (Ruff's tokens after
        // the error are not reliable, so the literals after are found in the text.)
        let trivia = |k: &TokenKind| matches!(k, TokenKind::NonLogicalNewline | TokenKind::Comment);
        let mut group_start = fs_start;
        if let Some((k, r)) = tokens[..i].iter().rev().find(|(k, _)| !trivia(k)) {
            let between = source.get(r.end().to_usize()..fs_start).unwrap_or("\n");
            if between.chars().all(|c| c == ' ' || c == '\t') {
                match k {
                    TokenKind::String => group_start = r.start().to_usize(),
                    // The end of an f-string this one continues: its group was not rewritten.
                    TokenKind::FStringEnd => {
                        i += 1;
                        continue;
                    }
                    _ => {}
                }
            }
        }
        let mut after = fs_end;
        let mut whole = true;
        while let Some((lit_start, lit_end, is_f)) = adjacent_string_literal(source, after) {
            if is_f {
                let Some((end, more, genexp)) = fstring_fields(source, lit_start) else {
                    whole = false;
                    break;
                };
                fields.extend(more);
                has_genexp |= genexp;
                after = end;
            } else {
                after = lit_end;
            }
        }
        let clean = fields.iter().all(|r| {
            source
                .get(r.start().to_usize()..r.end().to_usize())
                .is_some_and(|text| !text.contains(['\\', '#']))
        });
        if has_genexp && clean && whole && !fields.is_empty() {
            // The gaps around the expressions get `((`, `),(` and `))`, then spaces.
            let mut gaps = Vec::with_capacity(fields.len() + 1);
            let mut at = group_start;
            for r in &fields {
                gaps.push((at, r.start().to_usize()));
                at = r.end().to_usize();
            }
            gaps.push((at, after));
            let last = gaps.len() - 1;
            for (g, &(a, b)) in gaps.iter().enumerate() {
                let fill: &[u8] = if g == 0 {
                    b"(("
                } else if g == last {
                    b"))"
                } else {
                    b"),("
                };
                let slots: Vec<usize> = (a..b)
                    .filter(|&j| !matches!(bytes[j], b'\n' | b'\r'))
                    .collect();
                if slots.len() < fill.len() {
                    return None;
                }
                for (n, &j) in slots.iter().enumerate() {
                    bytes[j] = fill.get(n).copied().unwrap_or(b' ');
                }
            }
            changed = true;
        }
        // Continue with the first token after the group (tokens are in source order).
        i = tokens
            .partition_point(|(_, r)| r.start().to_usize() < after)
            .max(i + 1);
    }
    if !changed {
        return None;
    }
    let text = String::from_utf8(bytes).ok()?;
    let reparsed = stack::for_parse(text.len(), || {
        ruff_python_parser::parse_unchecked(&text, options)
    })
    .try_into_module()?;
    if reparsed.errors().is_empty() && reparsed.unsupported_syntax_errors().is_empty() {
        Some(reparsed)
    } else {
        let depth = measure_depth(reparsed.syntax());
        stack::drop_deep(reparsed, depth);
        None
    }
}

/// A string literal starting on the same line after `at` (spaces and tabs between): its byte
/// range and whether it is an f-string. Only simple literals (no backslash-newlines) are found.
fn adjacent_string_literal(source: &str, at: usize) -> Option<(usize, usize, bool)> {
    let b = source.as_bytes();
    let mut i = at;
    while matches!(b.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    let start = i;
    while b.get(i).is_some_and(|c| c.is_ascii_alphabetic()) {
        i += 1;
    }
    let prefix = source.get(start..i)?.to_ascii_lowercase();
    if prefix.len() > 2 || prefix.chars().any(|c| !matches!(c, 'r' | 'b' | 'u' | 'f')) {
        return None;
    }
    let quote = *b.get(i)?;
    if quote != b'\'' && quote != b'"' {
        return None;
    }
    let triple = b.get(i..i + 3) == Some(&[quote, quote, quote][..]);
    let qlen = if triple { 3 } else { 1 };
    i += qlen;
    loop {
        match *b.get(i)? {
            b'\\' => i += 2,
            b'\n' | b'\r' if !triple => return None,
            c if c == quote
                && b.get(i..i + qlen)
                    .is_some_and(|s| s.iter().all(|x| *x == quote)) =>
            {
                return Some((start, i + qlen, prefix.contains('f')));
            }
            _ => i += 1,
        }
    }
}

/// The replacement-field expressions of the f-string starting at byte `start` (its prefix),
/// scanned from the source text (ruff's tokens after the error are not reliable): the byte
/// offset just past its closing quote, the expression ranges, and whether one of them is a bare
/// generator expression (a `for` outside brackets). `None` for shapes not handled (nested
/// fields in format specs, nested strings with backslashes, unterminated).
fn fstring_fields(source: &str, start: usize) -> Option<(usize, Vec<TextRange>, bool)> {
    let b = source.as_bytes();
    let mut i = start;
    while i < b.len() && b[i].is_ascii_alphabetic() {
        i += 1;
    }
    let quote = *b.get(i)?;
    if quote != b'\'' && quote != b'"' {
        return None;
    }
    let triple = b.get(i..i + 3) == Some(&[quote, quote, quote][..]);
    let qlen = if triple { 3 } else { 1 };
    i += qlen;
    let closes = |i: usize| {
        b.get(i..i + qlen)
            .is_some_and(|s| s.iter().all(|c| *c == quote))
    };
    let mut fields = Vec::new();
    let mut has_genexp = false;
    while i < b.len() {
        if closes(i) {
            return Some((i + qlen, fields, has_genexp));
        }
        match b[i] {
            b'\\' => i += 2,
            b'{' if b.get(i + 1) == Some(&b'{') => i += 2,
            b'}' if b.get(i + 1) == Some(&b'}') => i += 2,
            b'{' => {
                i += 1;
                let first = i;
                let mut depth = 0usize;
                loop {
                    let c = *b.get(i)?;
                    if closes(i) || c == b'\\' || c == b'#' {
                        return None;
                    }
                    match c {
                        b'\'' | b'"' => {
                            // A string inside the expression (another quote character).
                            let q = c;
                            i += 1;
                            while *b.get(i)? != q {
                                if b[i] == b'\\' {
                                    return None;
                                }
                                i += 1;
                            }
                        }
                        b'(' | b'[' | b'{' => depth += 1,
                        b')' | b']' => depth = depth.checked_sub(1)?,
                        b'}' if depth > 0 => depth -= 1,
                        b'}' | b':' if depth == 0 => break,
                        b'!' if depth == 0 && b.get(i + 1) != Some(&b'=') => break,
                        b'=' if depth == 0
                            && !matches!(b.get(i + 1), Some(b'='))
                            && !matches!(b[i - 1], b'=' | b'!' | b'<' | b'>') =>
                        {
                            break;
                        }
                        b'f' if depth == 0
                            && b.get(i..i + 3) == Some(b"for")
                            && !b[i - 1].is_ascii_alphanumeric()
                            && b[i - 1] != b'_'
                            && b.get(i + 3)
                                .is_some_and(|n| !n.is_ascii_alphanumeric() && *n != b'_') =>
                        {
                            has_genexp = true;
                        }
                        _ => {}
                    }
                    i += 1;
                }
                let text = source.get(first..i)?;
                let lead = text.len() - text.trim_start().len();
                let trail = text.len() - text.trim_end().len();
                if text.trim().is_empty() {
                    return None;
                }
                fields.push(TextRange::new(
                    TextSize::try_from(first + lead).ok()?,
                    TextSize::try_from(i - trail).ok()?,
                ));
                // Conversion, debug `=` and format spec, up to the field's `}`.
                if b[i] == b'=' {
                    i += 1;
                    while b.get(i) == Some(&b' ') {
                        i += 1;
                    }
                }
                if b.get(i) == Some(&b'!') {
                    // CPython 3.11: `!s`, `!r` or `!a`, then `:` or `}`.
                    let conversion_ok = matches!(b.get(i + 1), Some(b's' | b'r' | b'a'))
                        && matches!(b.get(i + 2), Some(b':' | b'}'));
                    if !conversion_ok {
                        return None;
                    }
                }
                while *b.get(i)? != b'}' {
                    if b[i] == b'{' || closes(i) {
                        return None;
                    }
                    i += 1;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    None
}

/// CPython's tokenizer measures each logical line's indentation twice, with tabs to multiples of
/// 8 and with tabs as one column, and raises `TabError` when the two disagree about the block
/// structure.
fn tab_failure(source: &str, parsed: &Parsed<ModModule>) -> Option<ParseFailure> {
    // Only a tab can make indentation inconsistent.
    memchr::memchr(b'\t', source.as_bytes())?;
    // (col with tabs to 8, col with tabs as 1) of each open indentation level.
    let mut stack: Vec<(usize, usize)> = vec![(0, 0)];
    let mut at_line_start = true;
    for tok in parsed.tokens().iter() {
        match tok.kind() {
            TokenKind::Newline => {
                at_line_start = true;
                continue;
            }
            TokenKind::NonLogicalNewline
            | TokenKind::Comment
            | TokenKind::Indent
            | TokenKind::Dedent => continue,
            // Ruff's lexer turns indentation it cannot place into an `Unknown` token.
            TokenKind::Unknown
                if source
                    .get(tok.start().to_usize()..tok.end().to_usize())
                    .is_some_and(|t| t.chars().all(|c| matches!(c, ' ' | '\t' | '\x0c'))) =>
            {
                continue;
            }
            _ => {}
        }
        if !at_line_start {
            continue;
        }
        at_line_start = false;
        let start = tok.start().to_usize();
        let ls = line_start(source, start);
        let Some(prefix) = source.get(ls..start) else {
            continue;
        };
        if !prefix.chars().all(|c| matches!(c, ' ' | '\t' | '\x0c')) {
            continue;
        }
        let (mut col, mut alt) = (0usize, 0usize);
        for c in prefix.chars() {
            match c {
                ' ' => {
                    col += 1;
                    alt += 1;
                }
                '\t' => {
                    col = (col / 8 + 1) * 8;
                    alt += 1;
                }
                _ => {
                    col = 0;
                    alt = 0;
                }
            }
        }
        let tab_error = || ParseFailure {
            kind: "TabError",
            message: "inconsistent use of tabs and spaces in indentation".to_string(),
            span: Span::empty(ls as u32),
            too_deep: false,
        };
        let &(top, alt_top) = stack.last().expect("never empty");
        if col == top {
            if alt != alt_top {
                return Some(tab_error());
            }
        } else if col > top {
            if alt <= alt_top {
                return Some(tab_error());
            }
            stack.push((col, alt));
        } else {
            while stack.len() > 1 && col < stack.last().expect("non-empty").0 {
                stack.pop();
            }
            let &(top, alt_top) = stack.last().expect("never empty");
            if col == top && alt != alt_top {
                return Some(tab_error());
            }
            if col != top {
                // A dedent to no known level: ruff reports it as an indentation error.
                return None;
            }
        }
    }
    None
}

fn bracket_char(kind: TokenKind) -> char {
    match kind {
        TokenKind::Lpar => '(',
        TokenKind::Rpar => ')',
        TokenKind::Lsqb => '[',
        TokenKind::Rsqb => ']',
        TokenKind::Lbrace => '{',
        _ => '}',
    }
}

fn matching(open: TokenKind) -> TokenKind {
    match open {
        TokenKind::Lpar => TokenKind::Rpar,
        TokenKind::Lsqb => TokenKind::Rsqb,
        _ => TokenKind::Rbrace,
    }
}

/// Trees at least this deep (or whose depth is unknown) are dropped on a stack sized for them.
const DROP_DEEP_FROM: usize = 512;

fn has_errors(parsed: &Parsed<ModModule>) -> bool {
    !parsed.errors().is_empty() || !parsed.unsupported_syntax_errors().is_empty()
}

/// What one pass over the tokens tells about the tree, so that most cells need no extra walk.
struct TokenScan {
    /// An upper bound of [`measure_depth`] for a tree parsed without errors.
    ///
    /// Statements nest only through indented blocks (a compound statement's body on its header's
    /// line holds simple statements only), so a statement is at most `indents + 2` statements
    /// deep. Expressions nest only within one logical line, and every expression node strictly
    /// contains its child expressions plus at least one token of its own (an operator, a bracket,
    /// a keyword, a comma, ...), so an expression inside a logical line of `n` tokens is at most
    /// `n` deep. The bound doubles that and adds slack, to stay an upper bound if a node ever
    /// shares all its tokens with a child.
    depth_bound: usize,
    /// Some f-string has a `{` nested three deep inside it: only then can a replacement field sit
    /// in the format spec of a replacement field in a format spec ([`fstring_nested_too_deeply`]).
    fstring_spec_fields: bool,
    /// Where each `async` and `await` keyword starts.
    async_offsets: Vec<u32>,
    /// A `global` keyword or a `:=`.
    global_or_walrus: bool,
    /// A name [`crate::bindings::is_namespace_name`] accepts.
    namespace_names: bool,
    /// No `global`, `nonlocal`, `:=`, `yield`, `async`, `await`, `import *`.
    simple_scopes: bool,
    /// An `async` or `await` keyword inside brackets (or an f-string's replacement field):
    /// only there can it be part of a comprehension.
    async_in_brackets: bool,
    /// A `nonlocal`, `yield` or `import *`.
    scope_keywords: bool,
}

/// One pass over the tokens: the [`TokenScan`], and CPython's tokenizer errors checked on
/// ruff's tokens (bracket and indentation limits, unmatched and mismatched brackets, brackets
/// never closed, inconsistent tabs).
fn scan_tokens(source: &str, parsed: &Parsed<ModModule>) -> (TokenScan, Option<ParseFailure>) {
    let fail = |message: String, range: TextRange, too_deep: bool| ParseFailure {
        kind: if message.contains("indentation") {
            "IndentationError"
        } else {
            "SyntaxError"
        },
        message,
        span: Span::empty(range.start().to_u32()),
        too_deep,
    };
    let mut brackets: Vec<(TokenKind, TextRange)> = Vec::new();
    let mut failure = None;
    let mut indents = 0usize;
    let mut max_indents = 0usize;
    let mut line_tokens = 0usize;
    let mut max_line_tokens = 0usize;
    // Open f-strings, and `{` open inside them.
    let mut fstrings = 0usize;
    let mut braces = 0usize;
    let mut fstring_spec_fields = false;
    let mut async_offsets = Vec::new();
    let mut global_or_walrus = false;
    let mut namespace_names = false;
    let mut scope_keywords = false;
    let mut async_in_brackets = false;
    let mut prev = TokenKind::Unknown;
    for tok in parsed.tokens().iter() {
        line_tokens += 1;
        let kind = tok.kind();
        // Most tokens (names, operators, literals...) matter only as a count: one test of the
        // discriminant skips them.
        if !matches!(
            kind,
            TokenKind::Newline
                | TokenKind::Lpar
                | TokenKind::Lsqb
                | TokenKind::Lbrace
                | TokenKind::Rpar
                | TokenKind::Rsqb
                | TokenKind::Rbrace
                | TokenKind::Indent
                | TokenKind::Dedent
                | TokenKind::FStringStart
                | TokenKind::TStringStart
                | TokenKind::FStringEnd
                | TokenKind::TStringEnd
                | TokenKind::Async
                | TokenKind::Await
                | TokenKind::Global
                | TokenKind::ColonEqual
                | TokenKind::Name
                | TokenKind::Nonlocal
                | TokenKind::Yield
                | TokenKind::Star
        ) {
            prev = kind;
            continue;
        }
        scope_keywords |= kind == TokenKind::Nonlocal
            || kind == TokenKind::Yield
            || (kind == TokenKind::Star && prev == TokenKind::Import);
        prev = kind;
        match kind {
            TokenKind::Newline => {
                max_line_tokens = max_line_tokens.max(line_tokens);
                line_tokens = 0;
            }
            TokenKind::Lpar | TokenKind::Lsqb | TokenKind::Lbrace => {
                if brackets.len() >= MAX_BRACKET_DEPTH {
                    failure = Some(fail(
                        "too many nested parentheses".to_string(),
                        tok.range(),
                        true,
                    ));
                    break;
                }
                brackets.push((kind, tok.range()));
                if kind == TokenKind::Lbrace && fstrings > 0 {
                    braces += 1;
                    fstring_spec_fields |= braces >= 3;
                }
            }
            TokenKind::Rpar | TokenKind::Rsqb | TokenKind::Rbrace => {
                let close = bracket_char(kind);
                match brackets.pop() {
                    None => {
                        failure = Some(fail(format!("unmatched '{close}'"), tok.range(), false));
                        break;
                    }
                    Some((open, _)) if matching(open) != kind => {
                        failure = Some(fail(
                            format!(
                                "closing parenthesis '{close}' does not match opening parenthesis '{}'",
                                bracket_char(open)
                            ),
                            tok.range(),
                            false,
                        ));
                        break;
                    }
                    Some(_) => {}
                }
                if kind == TokenKind::Rbrace && fstrings > 0 {
                    braces = braces.saturating_sub(1);
                }
            }
            TokenKind::Indent => {
                indents += 1;
                if indents >= MAX_INDENT_DEPTH {
                    failure = Some(fail(
                        "too many levels of indentation".to_string(),
                        tok.range(),
                        true,
                    ));
                    break;
                }
                max_indents = max_indents.max(indents);
            }
            TokenKind::Dedent => indents = indents.saturating_sub(1),
            TokenKind::FStringStart | TokenKind::TStringStart => fstrings += 1,
            TokenKind::FStringEnd | TokenKind::TStringEnd => {
                fstrings = fstrings.saturating_sub(1);
                if fstrings == 0 {
                    braces = 0;
                }
            }
            TokenKind::Async | TokenKind::Await => {
                async_offsets.push(tok.start().to_u32());
                async_in_brackets |= !brackets.is_empty();
            }
            TokenKind::Global | TokenKind::ColonEqual => global_or_walrus = true,
            // The lengths of the names `is_namespace_name` accepts (checked by a test).
            TokenKind::Name
                if !namespace_names && matches!(tok.range().len().to_u32(), 4 | 6 | 7) =>
            {
                namespace_names = source
                    .as_bytes()
                    .get(tok.range().to_std_range())
                    .is_some_and(crate::bindings::is_namespace_name);
            }
            _ => {}
        }
    }
    max_line_tokens = max_line_tokens.max(line_tokens);
    let complete = failure.is_none();
    let failure = failure.or_else(|| tab_failure(source, parsed)).or_else(|| {
        brackets.last().map(|(open, range)| {
            fail(
                format!("'{}' was never closed", bracket_char(*open)),
                *range,
                false,
            )
        })
    });
    let any_async = !async_offsets.is_empty();
    let scan = TokenScan {
        // A scan cut short bounds nothing: the tree is then measured.
        depth_bound: if complete {
            max_indents + 4 + 2 * max_line_tokens
        } else {
            usize::MAX
        },
        fstring_spec_fields,
        async_offsets,
        global_or_walrus,
        namespace_names,
        simple_scopes: !(scope_keywords || any_async || global_or_walrus),
        async_in_brackets,
        scope_keywords,
    };
    (scan, failure)
}

/// Maximum nesting depth of statements and expressions.
fn measure_depth(module: &ModModule) -> usize {
    struct Depth {
        current: usize,
        max: usize,
    }
    impl<'a> Visitor<'a> for Depth {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            self.current += 1;
            self.max = self.max.max(self.current);
            if self.current.is_multiple_of(GUARD_EVERY) {
                stack::guard(|| visitor::walk_stmt(self, stmt));
            } else {
                visitor::walk_stmt(self, stmt);
            }
            self.current -= 1;
        }
        fn visit_expr(&mut self, expr: &'a Expr) {
            self.current += 1;
            self.max = self.max.max(self.current);
            if self.current.is_multiple_of(GUARD_EVERY) {
                stack::guard(|| visitor::walk_expr(self, expr));
            } else {
                visitor::walk_expr(self, expr);
            }
            self.current -= 1;
        }
    }
    let mut d = Depth { current: 0, max: 0 };
    d.visit_body(&module.body);
    d.max
}

/// Walks check for stack space every this many levels (a check costs more than a level).
const GUARD_EVERY: usize = 8;

/// The range of the whole cell, for errors about the cell as a whole.
#[allow(dead_code)]
pub(crate) fn whole(source: &str) -> TextRange {
    TextRange::up_to(ruff_text_size::TextSize::new(source.len() as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_over_cpython_limit_are_refused() {
        let ok = format!("{}1{}", "(".repeat(199), ")".repeat(199));
        assert!(parse_cell(&ok, false).is_ok());
        let bad = format!("{}1{}", "(".repeat(201), ")".repeat(201));
        let err = parse_cell(&bad, false).err().expect("refused");
        assert_eq!(err.message, "too many nested parentheses");
    }

    #[test]
    fn very_deep_expressions_do_not_overflow() {
        // 200k terms of a left-deep binary chain: deeper than any default stack can walk naively.
        let src = vec!["1"; 200_000].join("+");
        let err = parse_cell(&src, false).err().expect("too deep for CPython");
        assert_eq!(err.kind, "RecursionError");
        let src = format!("x = {}y", "not ".repeat(100_000));
        assert!(parse_cell(&src, false).is_err());
    }

    #[test]
    fn null_bytes_and_tab_errors_are_refused_like_cpython() {
        let err = parse_cell("x = 1\0\n", false).err().expect("refused");
        assert_eq!(err.message, "source code string cannot contain null bytes");
        let err = parse_cell("if x:\n    \ta\n\t    b\n", false)
            .err()
            .expect("refused");
        assert_eq!(err.kind, "TabError");
        // Tabs used consistently are fine.
        assert!(parse_cell("if x:\n\tif y:\n\t\tpass\n\tz\n", false).is_ok());
    }

    #[test]
    fn bare_generator_fields_in_fstrings_keep_their_offsets() {
        let src = "x = 'a' f'{y async for y in z}' f'{w!r:>3}'\n";
        let cell = parse_cell(src, false).expect("CPython 3.11 accepts this");
        let text = format!("{:?}", cell.module());
        // The rewritten f-strings keep every expression where the original source has it.
        let y = src.find("y async").expect("present") as u32;
        assert!(text.contains(&format!("{y}..")), "{text}");
        assert!(parse_cell("f'{y for y in z!z}'", false).is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(400))]
        #[test]
        fn arbitrary_token_soup_never_panics(parts in proptest::collection::vec(
            proptest::sample::select(vec![
                "await", "async", "for", "in", "def", "class", "lambda", "yield", "return",
                "global", "nonlocal", "x", "y", "(", ")", "[", "]", "{", "}", ":", "=", ":=",
                ",", "*", "**", "\n", "\n    ", "\t", "f'{", "}'", "'", "\"", "#", "\\",
                "1", "0x", "_", "with", "as", "match", "case", "if", "else", "not", "-", ".",
                "from", "import", "__future__", "__debug__", "@", "del", "try", "except*",
            ]),
            0..40,
        )) {
            let src = parts.concat();
            let mut state = crate::SessionState::new();
            let _ = crate::analyze_cell(&src, &mut state);
        }
    }

    #[test]
    fn fstring_fields_nested_in_format_specs_like_cpython() {
        // (source, CPython 3.11 refuses it)
        for (src, refused) in [
            ("f'{x:{y:{z}}}'", true),
            ("f'{x:{y!r:{z}}}'", true),
            ("f'{x:{y}}'", false),
            ("f'{ {1:{2:{3}}} }'", false),
            ("f'{x:{f\"{y:{z}}\"}}'", false),
        ] {
            let err = parse_cell(src, false).err();
            assert_eq!(err.is_some(), refused, "{src}: {err:?}");
            if let Some(e) = err {
                assert_eq!(
                    e.message, "f-string: expressions nested too deeply",
                    "{src}"
                );
            }
        }
    }

    #[test]
    fn depth_bound_from_tokens_is_an_upper_bound() {
        for src in [
            "x = 1\n",
            "-(-(-(-x)))\n",
            "a.b.c.d[1][2](3)(4)\n",
            "if a:\n    if b:\n        while c: d = not not e\n",
            "f = lambda: lambda: lambda: x if y else z\n",
            "y = f'{a:{b}}' 'c' f'{d!r}'\n",
            "@d(1)\ndef f(a=-1, *, b: int = [[1]]) -> g(h): return (yield)\n",
            "match p:\n    case [1, {'k': (2 | 3) as z}, *r]: pass\n",
            "x = [y for y in (z for z in w if z) if not y]\n",
        ] {
            let cell = parse_cell(src, false).expect("valid");
            let bound = scan_tokens(src, cell.parsed()).0.depth_bound;
            let depth = measure_depth(cell.module());
            assert!(depth <= bound, "{src}: {depth} > {bound}");
            assert_eq!(cell.depth, bound, "{src}");
        }
    }

    #[test]
    fn namespace_names_have_the_lengths_the_scan_looks_at() {
        use crate::bindings::is_namespace_name;
        for n in ["exec", "eval", "globals", "vars", "locals", "modules"] {
            assert!(matches!(n.len(), 4 | 6 | 7), "{n}");
            assert!(is_namespace_name(n.as_bytes()), "{n}");
        }
        for n in [
            "exe", "execs", "global", "local", "module", "var", "print", "self",
        ] {
            assert!(!is_namespace_name(n.as_bytes()), "{n}");
        }
        for (src, full) in [
            ("x = 1\n", false),
            ("def f():\n    return vars()\n", true),
            ("import sys\nsys.modules[__name__].x = 1\n", true),
            ("exec('x = 1')\n", true),
            ("y = (z := 2)\n", true),
            ("def f():\n    global g\n    g = 1\n", true),
        ] {
            let cell = parse_cell(src, false).expect("valid");
            assert_eq!(cell.bindings_need_full_walk(), full, "{src}");
        }
    }

    #[test]
    fn deep_indentation_is_refused() {
        let mut src = String::new();
        for i in 0..101 {
            src.push_str(&" ".repeat(i));
            src.push_str("if x:\n");
        }
        src.push_str(&" ".repeat(101));
        src.push_str("pass\n");
        let err = parse_cell(&src, false).err().expect("refused");
        assert_eq!(err.kind, "IndentationError");
    }
}
