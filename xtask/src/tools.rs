//! Cargo subcommands the checks run, installed pinned into `target/tools`
//! (`cargo install --locked`) the first time they are needed, so a fresh
//! machine needs nothing but cargo and the project's own files.

use std::path::PathBuf;
use std::process::Command;

use anyhow::Result;

use crate::{cmd, workspace_root};

/// A cargo subcommand at one version.
pub(crate) struct Tool {
    /// The crate (and binary) name, e.g. `cargo-fuzz`.
    pub(crate) name: &'static str,
    pub(crate) version: &'static str,
}

/// cargo-fuzz: libFuzzer campaigns (`--sanitizer none` runs on stable).
pub(crate) const CARGO_FUZZ: Tool = Tool {
    name: "cargo-fuzz",
    version: "0.13.2",
};

/// cargo-deny: licences, bans, sources (and advisories, with a network).
pub(crate) const CARGO_DENY: Tool = Tool {
    name: "cargo-deny",
    version: "0.20.2",
};

/// cargo-semver-checks: the public API against the previous release.
pub(crate) const CARGO_SEMVER_CHECKS: Tool = Tool {
    name: "cargo-semver-checks",
    version: "0.51.0",
};

impl Tool {
    /// The binary, installed first if missing or at another version.
    pub(crate) fn ensure(&self) -> Result<PathBuf> {
        let tools = workspace_root().join("target/tools");
        let binary = tools.join("bin").join(self.name);
        // `cargo-x x --version` prints `cargo-x VERSION`.
        let subcommand = self.name.trim_start_matches("cargo-");
        let installed = Command::new(&binary)
            .args([subcommand, "--version"])
            .output()
            .is_ok_and(|out| {
                String::from_utf8_lossy(&out.stdout)
                    .split_whitespace()
                    .any(|word| word == self.version)
            });
        if !installed {
            cmd::run(
                cmd::cargo(["install", self.name, "--locked", "--version", self.version])
                    .arg("--root")
                    .arg(&tools),
            )?;
        }
        Ok(binary)
    }

    /// A command running it as `cargo <subcommand>` would, from the
    /// workspace root.
    pub(crate) fn command(&self) -> Result<Command> {
        let mut command = Command::new(self.ensure()?);
        command
            .arg(self.name.trim_start_matches("cargo-"))
            .current_dir(workspace_root());
        Ok(command)
    }
}
