//! Chromium for browser tests: the caller's (`KAIZALA_TEST_CHROMIUM`), or
//! Debian's. Nothing runs here: tests launch it headless themselves.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The browser binary tests launch.
pub(crate) const VAR: &str = "KAIZALA_TEST_CHROMIUM";
/// The Debian package.
pub(crate) const PACKAGE: &str = "chromium";
/// Where Debian (and Ubuntu's older packages) put it.
const CANDIDATES: [&str; 2] = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];
/// Its names on `PATH` elsewhere.
const NAMES: [&str; 2] = ["chromium", "chromium-browser"];

/// What [`locate`] found.
pub(crate) enum Found {
    Given(String),
    Installed(PathBuf),
    Missing,
}

impl Found {
    pub(crate) fn is_missing(&self) -> bool {
        matches!(self, Found::Missing)
    }
}

/// The caller's browser if set, else Debian's, else one on `PATH`.
pub(crate) fn locate() -> Found {
    if let Some(path) = super::given(VAR) {
        return Found::Given(path);
    }
    first_executable(CANDIDATES.iter().map(PathBuf::from))
        .or_else(|| NAMES.iter().find_map(|name| super::find_on_path(name)))
        .map_or(Found::Missing, Found::Installed)
}

fn first_executable(candidates: impl IntoIterator<Item = PathBuf>) -> Option<PathBuf> {
    candidates
        .into_iter()
        .find(|candidate| super::is_executable(candidate))
}

/// The browser the tests use.
pub(crate) enum Chromium {
    /// The caller's, inherited by test processes as it is.
    Given,
    Installed(PathBuf),
}

impl Chromium {
    /// Checks that an installed browser runs (`--version`); prints one line.
    pub(crate) fn check(found: Found) -> Result<Chromium> {
        match found {
            Found::Given(path) => {
                eprintln!("chromium: using {VAR} ({path})");
                Ok(Chromium::Given)
            }
            Found::Installed(path) => {
                let version = version(&path)?;
                eprintln!("chromium: {version} ({})", path.display());
                Ok(Chromium::Installed(path))
            }
            Found::Missing => bail!("chromium: none at {} or on PATH", CANDIDATES.join(" or ")),
        }
    }

    /// The path of a browser found here (the caller's is inherited as it is).
    pub(crate) fn found_path(&self) -> Option<&Path> {
        match self {
            Chromium::Given => None,
            Chromium::Installed(path) => Some(path),
        }
    }
}

/// `Chromium 120.0.6099.224 built on Debian 12.4, running on Debian 12.11`
/// → up to the comma.
fn version(path: &Path) -> Result<String> {
    let answer = super::quiet(Command::new(path).arg("--version"))
        .with_context(|| format!("chromium: {} does not run", path.display()))?;
    Ok(short_version(&answer))
}

fn short_version(answer: &str) -> String {
    let line = answer.lines().map(str::trim).find(|line| !line.is_empty());
    let line = line.unwrap_or("unknown version");
    line.split(',').next().unwrap_or(line).trim().to_owned()
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::tempdir::TempDir;

    #[test]
    fn the_first_executable_candidate_is_taken() {
        let dir = TempDir::new("chromium");
        let candidates = || {
            ["chromium", "chromium-browser"]
                .map(|name| dir.path().join(name))
                .to_vec()
        };
        assert_eq!(first_executable(candidates()), None);
        let browser = dir.path().join("chromium-browser");
        fs::write(&browser, "#!/bin/sh\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(first_executable(candidates()), None, "not executable");
            fs::set_permissions(&browser, fs::Permissions::from_mode(0o755)).unwrap();
        }
        assert_eq!(first_executable(candidates()), Some(browser));
        // A directory of that name is no browser.
        fs::create_dir(dir.path().join("chromium")).unwrap();
        assert_eq!(
            first_executable(candidates()),
            Some(dir.path().join("chromium-browser"))
        );
    }

    #[test]
    fn versions_are_shortened_to_the_browsers_own() {
        assert_eq!(
            short_version(
                "Chromium 120.0.6099.224 built on Debian 12.4, running on Debian 12.11\n"
            ),
            "Chromium 120.0.6099.224 built on Debian 12.4"
        );
        assert_eq!(
            short_version("\nChromium 156.0.8078.73 \n"),
            "Chromium 156.0.8078.73"
        );
        assert_eq!(short_version(""), "unknown version");
    }
}
