//! Turning command-line paths into the list of files to analyze, and reading them.
//!
//! Files are taken as given (whatever their extension; `.ipynb` is read as a notebook, anything
//! else as Python). Directories are searched recursively for `*.py` and `*.ipynb`, in sorted order
//! so output is deterministic; hidden entries (`.git`, `.venv`, `.ipynb_checkpoints`...) and
//! `__pycache__` are skipped and symbolic links are not followed. `-` is standard input.

use std::io::Read;
use std::path::{Path, PathBuf};

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Python source, split into cells at `# %%` lines.
    Python,
    /// A Jupyter notebook.
    Notebook,
}

impl Kind {
    /// The kind a file name implies.
    pub fn of(name: &Path) -> Kind {
        match name.extension() {
            Some(ext) if ext == "ipynb" => Kind::Notebook,
            _ => Kind::Python,
        }
    }

    /// The lowercase name used in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Python => "python",
            Kind::Notebook => "notebook",
        }
    }
}

/// One thing to analyze.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A file on disk.
    File(PathBuf),
    /// Standard input, shown under `name`.
    Stdin {
        /// Name to show (`<stdin>` unless `--stdin-filename` was given).
        name: String,
    },
}

impl Target {
    /// How the target is named in output.
    pub fn display(&self) -> String {
        match self {
            Target::File(p) => p.display().to_string(),
            Target::Stdin { name } => name.clone(),
        }
    }

    /// What the target holds.
    pub fn kind(&self) -> Kind {
        match self {
            Target::File(p) => Kind::of(p),
            Target::Stdin { name } => Kind::of(Path::new(name)),
        }
    }

    /// Read the whole target as bytes.
    pub fn read(&self) -> Result<Vec<u8>, InputError> {
        let result = match self {
            Target::File(p) => std::fs::read(p),
            Target::Stdin { .. } => {
                let mut buf = Vec::new();
                std::io::stdin().lock().read_to_end(&mut buf).map(|_| buf)
            }
        };
        result.map_err(|e| InputError::io(self.display(), &e))
    }
}

/// A path that could not be used, with one sentence saying why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// The path as the user gave or as it was found.
    pub path: String,
    /// Why, in a few lowercase words.
    pub message: String,
}

impl InputError {
    /// An I/O error, described without Rust's `(os error N)` suffix.
    pub fn io(path: String, e: &std::io::Error) -> Self {
        use std::io::ErrorKind as K;
        let message = match e.kind() {
            K::NotFound => "no such file or directory".to_string(),
            K::PermissionDenied => "permission denied".to_string(),
            K::IsADirectory => "is a directory".to_string(),
            K::InvalidData => "not readable as text".to_string(),
            K::NotADirectory => "not a directory".to_string(),
            _ => {
                let s = e.to_string();
                let s = match s.find(" (os error") {
                    Some(i) => &s[..i],
                    None => &s,
                };
                let mut chars = s.chars();
                chars
                    .next()
                    .map(|c| c.to_lowercase().chain(chars).collect())
                    .unwrap_or_default()
            }
        };
        Self { path, message }
    }
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// `true` for the files a directory search picks up.
fn is_analyzable(path: &Path) -> bool {
    matches!(path.extension(), Some(e) if e == "py" || e == "ipynb")
}

fn is_skipped_dir_entry(entry: &walkdir::DirEntry) -> bool {
    if entry.depth() == 0 {
        return false; // a root the user named is never skipped
    }
    let name = entry.file_name().to_string_lossy();
    name.starts_with('.') || name == "__pycache__"
}

/// Expand the command-line paths into targets, in order. Each unusable path yields an error in
/// its place; the others are still returned.
pub fn expand(paths: &[PathBuf], stdin_name: Option<&str>) -> Vec<Result<Target, InputError>> {
    let mut out = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            out.push(Ok(Target::Stdin {
                name: stdin_name.unwrap_or("<stdin>").to_string(),
            }));
            continue;
        }
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) => {
                out.push(Err(InputError::io(path.display().to_string(), &e)));
                continue;
            }
        };
        if !meta.is_dir() {
            out.push(Ok(Target::File(path.clone())));
            continue;
        }
        let before = out.len();
        let walker = walkdir::WalkDir::new(path)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| !is_skipped_dir_entry(e));
        for entry in walker {
            match entry {
                Ok(e) if e.file_type().is_file() && is_analyzable(e.path()) => {
                    out.push(Ok(Target::File(e.into_path())));
                }
                Ok(_) => {}
                Err(e) => {
                    let at = e.path().unwrap_or(path.as_path()).display().to_string();
                    let message = match e.io_error() {
                        Some(io) => InputError::io(at.clone(), io).message,
                        None => e.to_string(),
                    };
                    out.push(Err(InputError { path: at, message }));
                }
            }
        }
        if out.len() == before {
            out.push(Err(InputError {
                path: path.display().to_string(),
                message: "no *.py or *.ipynb files in this directory".to_string(),
            }));
        }
    }
    out
}
