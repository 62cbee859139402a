//! A cargo registry on the local disk, made for one rehearsal: a git index
//! that cargo fetches over `file://`, and the `.crate` files beside it.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use super::index::{self, Entry};
use crate::cmd;

/// The registry's name in the consumers' cargo configuration.
pub(crate) const NAME: &str = "rehearsal";

/// A registry under a directory of its own.
#[derive(Debug)]
pub(crate) struct Registry {
    index: PathBuf,
    crates: PathBuf,
}

impl Registry {
    /// An empty registry in `dir` (which must not exist yet).
    pub(crate) fn create(dir: &Path) -> Result<Registry> {
        let registry = Registry {
            index: dir.join("index"),
            crates: dir.join("crates"),
        };
        std::fs::create_dir_all(&registry.index)?;
        std::fs::create_dir_all(&registry.crates)?;
        let config = serde_json::json!({
            "dl": format!("{}/{{crate}}-{{version}}.crate", file_url(&registry.crates)),
        });
        std::fs::write(
            registry.index.join("config.json"),
            serde_json::to_string_pretty(&config)?,
        )?;
        registry.git(&["init", "--quiet"])?;
        registry.commit("registry configuration")?;
        Ok(registry)
    }

    /// The index's URL, as a consumer's `.cargo/config.toml` names it.
    pub(crate) fn index_url(&self) -> String {
        file_url(&self.index)
    }

    /// Adds a package: its `.crate` file and its index entry, committed.
    pub(crate) fn publish(
        &self,
        entry: &Entry,
        name: &str,
        version: &str,
        crate_file: &Path,
    ) -> Result<()> {
        std::fs::copy(
            crate_file,
            self.crates.join(format!("{name}-{version}.crate")),
        )
        .with_context(|| format!("copying {}", crate_file.display()))?;
        let path = self.index.join(index::path_of(name));
        std::fs::create_dir_all(path.parent().context("an index path has a directory")?)?;
        let mut lines = std::fs::read_to_string(&path).unwrap_or_default();
        lines.push_str(&serde_json::to_string(entry)?);
        lines.push('\n');
        std::fs::write(&path, lines)?;
        self.commit(&format!("{name} {version}"))
    }

    fn commit(&self, message: &str) -> Result<()> {
        self.git(&["add", "--all"])?;
        self.git(&[
            "-c",
            "user.name=xtask release",
            "-c",
            "user.email=xtask@localhost",
            "-c",
            "commit.gpgsign=false",
            "commit",
            "--quiet",
            "-m",
            message,
        ])
    }

    fn git(&self, args: &[&str]) -> Result<()> {
        cmd::output(Command::new("git").args(args).current_dir(&self.index)).map(drop)
    }
}

fn file_url(path: &Path) -> String {
    let path = path.to_string_lossy().replace('\\', "/");
    if path.starts_with('/') {
        format!("file://{path}")
    } else {
        format!("file:///{path}")
    }
}
