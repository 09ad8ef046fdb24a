//! Command-line arguments of `pyrepl3-analyze` (clap derive).

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

/// Tell, for each cell of a Python file or notebook, how pyrepl3 would run it and why.
///
/// A `.py` file is split into cells at lines starting with `# %%` (the percent format of
/// Jupytext, VS Code and Spyder); a file without such a line is one cell. A `.ipynb` notebook
/// contributes its code cells. The cells of one file are analyzed in order as one session, so
/// imports and helpers of earlier cells count in later ones.
///
/// By default every verdict is CPython 3.11's own: a cell whose plain `def` or `lambda` awaits
/// is a syntax error (CPython refuses it), with a reason naming the fix. With `--transform`, the
/// cells go through pyrepl3's rewrites as `pyrepl3 run` executes them (`async def`, `await`
/// inserted where it is called), the mode is that of the code that runs, and the rewritten
/// source is shown.
///
/// Exit status: 0 when every cell was analyzed and none is a syntax error (with `--transform`:
/// even after the rewrites), 1 when some cell is a syntax error, 2 for usage or input errors.
#[derive(Debug, Parser)]
#[command(name = "pyrepl3-analyze", version, max_term_width = 100)]
pub struct Args {
    /// Files, directories (searched recursively for `*.py` and `*.ipynb`, hidden entries and
    /// `__pycache__` skipped) or `-` for standard input.
    #[arg(
        value_name = "PATH",
        required_unless_present_any = ["explain", "list_rules"],
    )]
    pub inputs: Vec<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text, value_name = "FORMAT")]
    pub format: Format,

    /// When to colour the text output. `auto` colours only a terminal and honours `NO_COLOR`.
    #[arg(long, value_enum, default_value_t = ColorWhen::Auto, value_name = "WHEN")]
    pub color: ColorWhen,

    /// The name to show for standard input (`-`); a name ending in `.ipynb` reads it as a notebook.
    #[arg(long, value_name = "NAME")]
    pub stdin_filename: Option<String>,

    /// Apply pyrepl3's rewrites, as `pyrepl3 run` does, and print each transformed cell's source:
    /// the code pyrepl3 runs instead of a cell whose plain `def` or `lambda` awaits (rewritten to
    /// `async def`, with `await` inserted at its calls). Every rewrite is a reason and a
    /// `transforms` entry in JSON, which also gains `transformed_source` on every cell.
    #[arg(long)]
    pub transform: bool,

    /// Show the wrapper fallback too (implies `--transform`): every cell, after its rewrites, is
    /// wrapped in `async def __pyrepl3_cell__():` with `global` hoisting, as the executor runs it
    /// on interpreters without the top-level-await flag. Modes and exit status still describe
    /// the direct path; a cell the wrapper cannot run gets a warning.
    #[arg(long)]
    pub wrap: bool,

    /// Print the documentation of a rule (by code, e.g. `PR100`, or by name) and exit.
    #[arg(long, value_name = "CODE", conflicts_with_all = ["inputs", "list_rules"])]
    pub explain: Option<String>,

    /// List every rule (code, name, default severity, summary) and exit.
    #[arg(long, conflicts_with = "inputs")]
    pub list_rules: bool,
}

/// How results are written to standard output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people: each cell's mode and every reason as an annotated source snippet.
    Text,
    /// One line per cell: `path:line: cell N: mode [codes]`.
    Concise,
    /// The stable machine-readable contract (`"version": 1`).
    Json,
}

/// When to use colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    /// Colour when writing to a terminal and `NO_COLOR` is not set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

impl Args {
    /// Whether transformed sources are shown (`--transform` or `--wrap`).
    pub fn show_transforms(&self) -> bool {
        self.transform || self.wrap
    }
}

impl ColorWhen {
    /// The matching `anstream` choice.
    pub fn choice(self) -> anstream::ColorChoice {
        match self {
            ColorWhen::Auto => anstream::ColorChoice::Auto,
            ColorWhen::Always => anstream::ColorChoice::Always,
            ColorWhen::Never => anstream::ColorChoice::Never,
        }
    }
}
