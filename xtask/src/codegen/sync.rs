//! Comparing rendered files with the checked-in ones, and writing them.

use std::fmt;
use std::io::ErrorKind;
use std::path::Path;

use anyhow::{Context, Result};

/// One rendered file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Generated {
    /// Path relative to the workspace root, with `/` separators.
    pub(crate) path: &'static str,
    pub(crate) contents: String,
}

/// Why a checked-in file does not match its rendering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outdated {
    Missing(&'static str),
    Stale(&'static str),
}

impl fmt::Display for Outdated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outdated::Missing(path) => write!(f, "missing: {path}"),
            Outdated::Stale(path) => write!(f, "stale:   {path}"),
        }
    }
}

/// The files under `root` that differ from their rendering, in render order.
pub(crate) fn outdated(root: &Path, files: &[Generated]) -> Result<Vec<Outdated>> {
    let mut found = Vec::new();
    for file in files {
        match read(root, file.path)? {
            None => found.push(Outdated::Missing(file.path)),
            Some(current) if current != file.contents => found.push(Outdated::Stale(file.path)),
            Some(_) => {}
        }
    }
    Ok(found)
}

/// Writes the files that differ, leaving identical ones untouched so their
/// modification times do not trigger rebuilds. Returns the paths written.
pub(crate) fn write(root: &Path, files: &[Generated]) -> Result<Vec<&'static str>> {
    let mut written = Vec::new();
    for file in files {
        if read(root, file.path)?.as_deref() == Some(file.contents.as_str()) {
            continue;
        }
        let path = root.join(file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, &file.contents)
            .with_context(|| format!("cannot write {}", path.display()))?;
        written.push(file.path);
    }
    Ok(written)
}

/// The file's text with line endings normalised (a checkout with CRLF line
/// endings is not stale), or `None` when it does not exist.
fn read(root: &Path, relative: &str) -> Result<Option<String>> {
    let path = root.join(relative);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(text.replace("\r\n", "\n"))),
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err).with_context(|| format!("cannot read {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codegen::fixture::TempDir;

    fn file(path: &'static str, contents: &str) -> Generated {
        Generated {
            path,
            contents: contents.to_owned(),
        }
    }

    #[test]
    fn detects_missing_and_stale_files_and_writes_only_changes() {
        let dir = TempDir::new("sync");
        let files = [file("a/one.txt", "one\n"), file("two.txt", "two\n")];
        assert_eq!(
            outdated(dir.path(), &files).unwrap(),
            [Outdated::Missing("a/one.txt"), Outdated::Missing("two.txt")]
        );
        assert_eq!(write(dir.path(), &files).unwrap(), ["a/one.txt", "two.txt"]);
        assert!(outdated(dir.path(), &files).unwrap().is_empty());
        assert!(write(dir.path(), &files).unwrap().is_empty());

        std::fs::write(dir.path().join("two.txt"), "edited by hand\n").unwrap();
        assert_eq!(
            outdated(dir.path(), &files).unwrap(),
            [Outdated::Stale("two.txt")]
        );

        std::fs::write(dir.path().join("a/one.txt"), "one\r\n").unwrap();
        assert_eq!(
            outdated(dir.path(), &files).unwrap(),
            [Outdated::Stale("two.txt")],
            "CRLF line endings alone do not make a file stale"
        );
    }
}
