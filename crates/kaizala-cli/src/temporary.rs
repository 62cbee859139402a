//! Files replaced whole: written beside their target, then renamed over
//! it, so a reader never sees half a file and a failure leaves the old one.

use std::path::{Path, PathBuf};

use crate::error::{CliError, CliResult};

/// A file written beside its target (`export --out`, `bi grafana`) and
/// renamed over it once complete (a rename within one directory is
/// atomic); removed when dropped unless persisted.
pub(crate) struct Temporary {
    pub(crate) file: std::fs::File,
    path: PathBuf,
    target: PathBuf,
    persisted: bool,
}

impl Temporary {
    /// Creates the temporary file beside `target`.
    pub(crate) fn create(target: &Path) -> CliResult<Temporary> {
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "export".to_owned());
        let path = target.with_file_name(format!(".{name}.{}.partial", std::process::id()));
        let file = std::fs::File::create(&path).map_err(|err| {
            let error = CliError::new(format!("cannot create {}: {err}", target.display()));
            match target
                .parent()
                .filter(|p| !p.as_os_str().is_empty() && !p.exists())
            {
                Some(dir) => error.hint(format!("the directory {} does not exist", dir.display())),
                None => error,
            }
        })?;
        Ok(Temporary {
            file,
            path,
            target: target.to_owned(),
            persisted: false,
        })
    }

    /// Syncs the file and renames it over the target.
    pub(crate) fn persist(mut self) -> CliResult {
        let failed = |err: std::io::Error| {
            CliError::new(format!("writing {}: {err}", self.target.display()))
        };
        self.file.sync_all().map_err(failed)?;
        std::fs::rename(&self.path, &self.target).map_err(failed)?;
        self.persisted = true;
        Ok(())
    }
}

impl Drop for Temporary {
    fn drop(&mut self) {
        if !self.persisted {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}
