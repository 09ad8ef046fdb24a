//! `pyrepl3-bench`: writes the benchmark inputs to disk for the Python comparison, and analyzes
//! whole directories of cells as one process (the Rust side of the whole-process comparison).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use pyrepl3_analyzer::{CellOptions, Mode, SessionState, analyze_bytes};
use pyrepl3_benches::{ALLOCATOR, SIZES, cell, generate, percent_file, split_percent};

#[derive(Parser)]
#[command(about = "Benchmark inputs and the whole-process bench of pyrepl3's analyzer")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write the per-mode benchmark cells (`<mode>_<lines>.py`, one cell per file) into DIR.
    Cells {
        /// Output directory (created if missing).
        dir: PathBuf,
    },
    /// Write the generated notebook-like corpus as percent-format files into DIR.
    Corpus {
        /// Output directory (created if missing).
        dir: PathBuf,
        /// Total size of the cells, in bytes.
        #[arg(long, default_value_t = 4_000_000)]
        bytes: usize,
        /// Seed of the generator.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Cells per file.
        #[arg(long, default_value_t = 20)]
        per_file: usize,
    },
    /// Analyze every cell of every `.py` file under PATHS (percent format: cells start at
    /// `# %%` lines; the cells of one file share one session), then print a summary.
    Analyze {
        /// Files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Also print one line per cell: `cell <path>:<first line> <mode>`.
        #[arg(long)]
        list: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Cells { dir } => write_cells(&dir),
        Command::Corpus {
            dir,
            bytes,
            seed,
            per_file,
        } => write_corpus(&dir, bytes, seed, per_file.max(1)),
        Command::Analyze { paths, list } => analyze(&paths, list),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("pyrepl3-bench: {message}");
            ExitCode::from(2)
        }
    }
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn create_dir(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))
}

fn write_cells(dir: &Path) -> Result<(), String> {
    create_dir(dir)?;
    for mode in Mode::ALL {
        for lines in SIZES {
            write(&dir.join(format!("{mode}_{lines}.py")), &cell(mode, lines))?;
        }
    }
    Ok(())
}

fn write_corpus(dir: &Path, bytes: usize, seed: u64, per_file: usize) -> Result<(), String> {
    create_dir(dir)?;
    for (i, chunk) in generate(bytes, seed).chunks(per_file).enumerate() {
        write(&dir.join(format!("gen_{i:04}.py")), &percent_file(chunk))?;
    }
    Ok(())
}

fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            for entry in walkdir::WalkDir::new(p).sort_by_file_name() {
                let entry = entry.map_err(|e| format!("cannot read {}: {e}", p.display()))?;
                if entry.file_type().is_file()
                    && entry.path().extension().is_some_and(|x| x == "py")
                {
                    files.push(entry.into_path());
                }
            }
        } else {
            files.push(p.clone());
        }
    }
    Ok(files)
}

fn analyze(paths: &[PathBuf], list: bool) -> Result<(), String> {
    let start = Instant::now();
    let files = collect(paths)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut counts = [0usize; Mode::ALL.len()];
    let (mut cells, mut bytes) = (0usize, 0usize);
    for path in &files {
        let data =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        // Split as text when it is UTF-8; otherwise the whole file is one cell of raw bytes.
        let units: Vec<(&[u8], u32)> = match std::str::from_utf8(&data) {
            Ok(text) => split_percent(text)
                .iter()
                .map(|c| (c.text.as_bytes(), c.first_line))
                .collect(),
            Err(_) => vec![(&data[..], 1)],
        };
        let mut session = SessionState::new();
        for (cell, first_line) in units {
            let options = CellOptions {
                first_line,
                ipython: false,
                ..CellOptions::default()
            };
            let a = analyze_bytes(cell, &mut session, &options);
            counts[a.mode as usize] += 1;
            cells += 1;
            bytes += cell.len();
            if list {
                writeln!(out, "cell {}:{first_line} {}", path.display(), a.mode)
                    .map_err(stdout_error)?;
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let modes: Vec<String> = Mode::ALL
        .iter()
        .map(|m| format!("{m}={}", counts[*m as usize]))
        .collect();
    writeln!(
        out,
        "files={} cells={cells} bytes={bytes} seconds={secs:.4} mb_per_s={:.1} {} allocator={ALLOCATOR}",
        files.len(),
        bytes as f64 / 1e6 / secs.max(1e-9),
        modes.join(" ")
    )
    .and_then(|()| out.flush())
    .map_err(stdout_error)
}

fn stdout_error(e: std::io::Error) -> String {
    format!("cannot write to stdout: {e}")
}
