//! The fuzz targets' bodies (so `tests/replay.rs` can replay seeds and saved crash inputs
//! without libFuzzer) and the invariants every [`CellAnalysis`] must satisfy.

pub mod structured;

use pyrepl3_analyzer::transform::{TransformOptions, TransformResult, parses, transform_cell};
use pyrepl3_analyzer::{
    CellAnalysis, CellOptions, Mode, SessionState, Span, analyze_bytes, analyze_cell_with,
};

/// `analyze_bytes` target: the first byte selects IPython parsing (bit 0) and the transforms
/// (bit 1, as the executor runs cells), the rest is the cell; it is analyzed twice in one
/// session, so the second analysis sees what the first one recorded.
pub fn analyze_bytes_target(data: &[u8]) {
    let (flags, data) = match data.split_first() {
        Some((flags, rest)) => (*flags, rest),
        None => (0, data),
    };
    let options = CellOptions {
        first_line: 1,
        ipython: flags & 1 == 1,
        transform: flags & 2 == 2,
    };
    let text = std::str::from_utf8(data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data)).ok();
    let mut session = SessionState::new();
    let first = analyze_bytes(data, &mut session, &options);
    check(&first, text);
    let later = CellOptions {
        first_line: 40,
        ..options
    };
    let second = analyze_bytes(data, &mut session, &later);
    check(&second, text);
    assert_eq!(session.cells_analyzed(), 2);
}

/// `analyze_str_session` target: the text split at NUL characters into up to 16 cells, analyzed
/// in order in one session (a NUL cannot occur in valid Python source, so splitting there loses
/// nothing); every third cell is parsed in IPython mode, every other cell with the transforms.
pub fn analyze_str_session_target(text: &str) {
    let mut session = SessionState::new();
    let mut line = 1u32;
    for (i, cell) in text.split('\0').take(16).enumerate() {
        let options = CellOptions {
            first_line: line,
            ipython: i % 3 == 2,
            transform: i % 2 == 1,
        };
        let analysis = analyze_cell_with(cell, &mut session, &options);
        check(&analysis, Some(cell));
        line = line.saturating_add(cell.matches('\n').count() as u32 + 1);
    }
}

/// Asserts the analyzer's contract on one analysis of `source` (the cell's text after any BOM,
/// or `None` when the bytes were not UTF-8): at least one reason, an error exactly for
/// `syntax_error`, and every span inside the cell on character boundaries, convertible to
/// CPython and human positions without panicking.
pub fn check(analysis: &CellAnalysis, source: Option<&str>) {
    assert!(!analysis.reasons.is_empty(), "a decision without a reason");
    assert_eq!(
        analysis.mode == Mode::SyntaxError,
        analysis.error.is_some(),
        "error must be set exactly for syntax_error: {:?} {:?}",
        analysis.mode,
        analysis.error
    );
    let Some(source) = source else { return };
    let mut spans: Vec<Span> = analysis.reasons.iter().map(|r| r.span).collect();
    spans.extend(
        analysis
            .reasons
            .iter()
            .flat_map(|r| r.related.iter().map(|x| x.span)),
    );
    spans.extend(analysis.blocking_calls.iter().map(|c| c.span));
    spans.extend(analysis.error.iter().map(|e| e.span));
    for span in spans {
        assert!(
            span.start <= span.end && span.end as usize <= source.len(),
            "span {span:?} outside a cell of {} bytes",
            source.len()
        );
        assert!(
            source.is_char_boundary(span.start as usize)
                && source.is_char_boundary(span.end as usize),
            "span {span:?} splits a character"
        );
        let (a, b) = analysis.cpython_range(span);
        assert!(a.line >= 1 && (a.line, a.col) <= (b.line, b.col));
        let (a, b) = analysis.human_range(source, span);
        assert!(a.line >= 1 && a.column >= 1 && (a.line, a.column) <= (b.line, b.column));
    }
}

/// `transform_cell` target (issue 3's properties): the first byte's low bit asks for the
/// wrapper; the rest, decoded as libFuzzer decodes a `&str` input (its valid UTF-8 prefix), is
/// split at NUL characters into up to 8 cells transformed in order in one session. Transforming
/// never panics; a transformed source parses again; no cell meets the transforms' internal
/// "could not rewrite into valid Python" error; the source map takes every position back into
/// the cell; without the wrapper, transforming the output again (fresh session) changes nothing.
pub fn transform_target(data: &[u8]) {
    let (wrap, data) = match data.split_first() {
        Some((flags, rest)) => (flags & 1 == 1, rest),
        None => (false, data),
    };
    let text = match std::str::from_utf8(data) {
        Ok(t) => t,
        Err(e) => std::str::from_utf8(&data[..e.valid_up_to()]).unwrap_or_default(),
    };
    let options = TransformOptions { wrap };
    let mut session = SessionState::new();
    for cell in text.split('\0').take(8) {
        let result = transform_cell(cell, &mut session, &options);
        check_transform(cell, &result);
        let Some(out) = &result.transformed_source else {
            continue;
        };
        if !wrap {
            let again = transform_cell(out, &mut SessionState::new(), &options);
            assert!(
                again.transformed_source.is_none() && again.refused.is_none(),
                "transforming the output again changed it:\n--- cell\n{cell}\n--- first\n{out}\n--- second\n{:?}\nrefused: {:?}",
                again.transformed_source,
                again.refused
            );
        }
    }
}

/// The invariants of one [`TransformResult`] of `cell`.
pub fn check_transform(cell: &str, result: &TransformResult) {
    if let Some(refused) = &result.refused {
        assert!(
            !refused.message.contains("transform bug"),
            "the transforms produced invalid Python for:\n{cell}"
        );
        assert!(result.transformed_source.is_none());
    }
    for span in result
        .reasons
        .iter()
        .map(|r| r.span)
        .chain(result.transforms.iter().map(|t| t.span))
        .chain(result.refused.iter().map(|e| e.span))
    {
        assert!(
            span.start <= span.end && span.end as usize <= cell.len(),
            "span {span:?} outside a cell of {} bytes",
            cell.len()
        );
    }
    let Some(out) = &result.transformed_source else {
        return;
    };
    assert!(
        parses(out),
        "the transformed source does not parse:\n--- cell\n{cell}\n--- transformed\n{out}"
    );
    let step = (out.len() / 64).max(1);
    for offset in (0..=out.len()).step_by(step).chain([out.len()]) {
        for end in [false, true] {
            let original = if end {
                result.source_map.original_end(offset as u32)
            } else {
                result.source_map.original_start(offset as u32)
            };
            assert!(
                original as usize <= cell.len(),
                "offset {offset} of the transformed source maps to {original}, outside the cell"
            );
            let _ = result.original_cpython(offset as u32, end);
        }
    }
}
