//! The `pyrepl3-analyze` program: arguments in, analysis out, exit status.
//!
//! Exit status: 0 when every cell was analyzed and none is `syntax_error`; 1 when some cell is
//! `syntax_error` (as pyrepl3 runs it: after its rewrites, a plain `def` that awaits is no longer
//! one, and a rewrite it refuses is); 2 for usage or input errors (a path that does not exist or cannot be read, a
//! directory without Python files, a malformed notebook, an unknown rule, output that cannot be
//! written). Input errors are reported on standard error, one line each, and the other inputs are
//! still analyzed. Nothing here panics on bad input; a closed standard output (`| head`) ends the
//! run quietly.

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use anstream::ColorChoice;
use anstyle::{AnsiColor, Effects, Style};
use clap::Parser;
use clap::error::ErrorKind;

use crate::args::{Args, Format};
use crate::explain;
use crate::inputs::{self, InputError};
use crate::json;
use crate::report::{ReportOptions, Summary, analyze_file_with};
use crate::text::{self, TextRenderer};

/// Every cell analyzed, none a syntax error.
pub const EXIT_OK: u8 = 0;
/// Some cell is a syntax error.
pub const EXIT_SYNTAX_ERROR: u8 = 1;
/// Usage or input error.
pub const EXIT_FAILURE: u8 = 2;

/// Why writing stopped.
enum WriteStop {
    /// The reader went away (`| head`): stop quietly.
    BrokenPipe,
    /// Any other write error.
    Failed(std::io::Error),
}

impl From<std::io::Error> for WriteStop {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            WriteStop::BrokenPipe
        } else {
            WriteStop::Failed(e)
        }
    }
}

/// Standard output, with ANSI styles stripped unless colour is wanted.
struct Out {
    inner: BufWriter<std::io::StdoutLock<'static>>,
    color: bool,
}

impl Out {
    fn new(color: bool) -> Self {
        Self {
            inner: BufWriter::new(std::io::stdout().lock()),
            color,
        }
    }

    fn write(&mut self, s: &str) -> Result<(), WriteStop> {
        if self.color {
            self.inner.write_all(s.as_bytes())?;
        } else {
            write!(self.inner, "{}", anstream::adapter::strip_str(s))?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), WriteStop> {
        self.inner.flush()?;
        Ok(())
    }
}

/// Standard error, for one-line error reports.
struct ErrorLine {
    color: bool,
}

impl ErrorLine {
    fn line(&self, msg: &str) {
        let style = Style::new()
            .fg_color(Some(AnsiColor::BrightRed.into()))
            .effects(Effects::BOLD);
        let text = format!("{style}error{style:#}: {msg}\n");
        let mut stderr = std::io::stderr().lock();
        let _ = if self.color {
            stderr.write_all(text.as_bytes())
        } else {
            write!(stderr, "{}", anstream::adapter::strip_str(&text))
        };
    }
}

/// Whether a stream gets colour under `--color`: `auto` asks anstream, which reads `NO_COLOR`,
/// `CLICOLOR`, `CLICOLOR_FORCE`, `TERM` and whether the stream is a terminal.
fn wants_color<S: anstream::stream::RawStream>(choice: ColorChoice, stream: &S) -> bool {
    match choice {
        ColorChoice::Never => false,
        ColorChoice::Always | ColorChoice::AlwaysAnsi => true,
        ColorChoice::Auto => anstream::AutoStream::<S>::choice(stream) != ColorChoice::Never,
    }
}

/// One line for a clap error: its first paragraph, and its tip if it has one.
fn one_line(e: &clap::Error) -> String {
    let rendered = e.render().to_string();
    let mut paragraphs = rendered
        .split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "));
    let first = paragraphs.next().unwrap_or_default();
    let first = first.strip_prefix("error: ").unwrap_or(&first).to_string();
    let tips: Vec<String> = paragraphs
        .filter(|p| p.starts_with("tip:"))
        .map(|p| p.trim_start_matches("tip:").trim().to_string())
        .collect();
    let mut line = first;
    for tip in tips {
        line.push_str("; ");
        line.push_str(&tip);
    }
    line.push_str(" (see `pyrepl3-analyze --help`)");
    line
}

/// Run `pyrepl3-analyze` with the process's arguments.
pub fn main() -> ExitCode {
    run_with(std::env::args_os())
}

/// Run `pyrepl3-analyze` with the given arguments (the first is the program name).
pub fn run_with<I, T>(argv: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args = match Args::try_parse_from(argv) {
        Ok(args) => args,
        Err(e) => {
            return match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    let _ = e.print();
                    ExitCode::from(EXIT_OK)
                }
                _ => {
                    ErrorLine { color: false }.line(&one_line(&e));
                    ExitCode::from(EXIT_FAILURE)
                }
            };
        }
    };
    ExitCode::from(run(&args))
}

/// Run with parsed arguments; returns the exit status.
pub fn run(args: &Args) -> u8 {
    let choice = args.color.choice();
    let stdout_color = wants_color(choice, &std::io::stdout());
    let err = ErrorLine {
        color: wants_color(choice, &std::io::stderr()),
    };
    let mut out = Out::new(stdout_color && args.format != Format::Json);
    match body(args, &mut out, &err).and_then(|status| out.flush().map(|()| status)) {
        Ok(status) => status,
        Err(WriteStop::BrokenPipe) => EXIT_OK,
        Err(WriteStop::Failed(e)) => {
            err.line(&format!(
                "cannot write output: {}",
                InputError::io(String::new(), &e).message
            ));
            EXIT_FAILURE
        }
    }
}

fn body(args: &Args, out: &mut Out, err: &ErrorLine) -> Result<u8, WriteStop> {
    if let Some(code) = &args.explain {
        return match pyrepl3_analyzer::rules::find(code) {
            Some(rule) => {
                out.write(&explain::explain(rule))?;
                Ok(EXIT_OK)
            }
            None => {
                err.line(&format!(
                    "unknown rule `{code}`; `pyrepl3-analyze --list-rules` lists every rule"
                ));
                Ok(EXIT_FAILURE)
            }
        };
    }
    if args.list_rules {
        out.write(&explain::list())?;
        return Ok(EXIT_OK);
    }

    let renderer = TextRenderer::new().with_transformed_source(args.show_transforms());
    let report = ReportOptions {
        transform: args.show_transforms(),
        wrap: args.wrap,
    };
    let mut summary = Summary::default();
    let mut json_files = Vec::new();
    let mut syntax_errors = false;
    for target in inputs::expand(&args.inputs, args.stdin_filename.as_deref()) {
        let loaded = target.and_then(|t| {
            let bytes = t.read()?;
            analyze_file_with(t.display(), t.kind(), &bytes, &report).map_err(|e| InputError {
                path: t.display(),
                message: e.to_string(),
            })
        });
        let file = match loaded {
            Ok(file) => file,
            Err(e) => {
                out.flush()?;
                err.line(&e.to_string());
                summary.failed += 1;
                if args.format == Format::Json {
                    let kind = inputs::Kind::of(std::path::Path::new(&e.path));
                    json_files.push(json::File::failed(e.path, kind.as_str(), e.message));
                }
                continue;
            }
        };
        summary.add(&file);
        syntax_errors |= file.has_syntax_error();
        match args.format {
            Format::Text => out.write(&renderer.file(&file))?,
            Format::Concise => out.write(&text::concise(&file))?,
            Format::Json => json_files.push(json::File::with(&file, args.show_transforms())),
        }
    }
    match args.format {
        // With nothing analyzed, the errors on standard error say it all.
        Format::Text | Format::Concise if summary.files > 0 => {
            out.write(&text::summary(&summary))?
        }
        Format::Text | Format::Concise => {}
        Format::Json => {
            let doc = json::Output {
                version: 1,
                files: json_files,
                summary: json::JsonSummary::from(&summary),
            };
            let mut s = serde_json::to_string_pretty(&doc)
                .unwrap_or_else(|e| format!("{{\"version\": 1, \"error\": \"{e}\"}}"));
            s.push('\n');
            out.write(&s)?;
        }
    }
    Ok(if summary.failed > 0 {
        EXIT_FAILURE
    } else if syntax_errors {
        EXIT_SYNTAX_ERROR
    } else {
        EXIT_OK
    })
}
