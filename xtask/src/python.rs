//! Python virtual environments with pinned PyPI packages, made once under
//! `target/` and reused: schemathesis for `cargo xtask conformance`, and the
//! test suite's packages (`services::python`: one venv per list).
//!
//! A venv records what was installed in it (`kaizala-requirements.txt`, the
//! pinned list as given); a venv whose list changed is made again, so
//! adding a package to a list is all a new tool takes.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::cmd;

/// The file in a venv naming the requirements installed in it.
const STAMP: &str = "kaizala-requirements.txt";

/// A virtual environment to provision.
pub(crate) struct Venv<'a> {
    pub dir: PathBuf,
    /// Pinned requirements (`name==version`), one per line of a
    /// requirements file.
    pub requirements: &'a [&'a str],
    /// The oldest Python they support.
    pub min_python: (u32, u32),
    /// Who needs it, for messages (`cargo xtask conformance`).
    pub purpose: &'a str,
}

impl Venv<'_> {
    /// The venv's Python, creating the venv and installing the requirements
    /// unless they are there already.
    pub(crate) fn ensure(&self) -> Result<PathBuf> {
        let wanted = self.requirements.join("\n") + "\n";
        let python = program(&self.dir, "python");
        let stamp = self.dir.join(STAMP);
        if python.exists() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) {
            eprintln!(
                "python: {} in {}",
                self.requirements.join(", "),
                self.dir.display()
            );
            return Ok(python);
        }
        if self.dir.exists() {
            // Made again rather than installed over: a venv holds exactly
            // its list, as on a fresh machine.
            eprintln!(
                "python: the requirements of {} changed; making it again",
                self.dir.display()
            );
            std::fs::remove_dir_all(&self.dir)
                .with_context(|| format!("cannot remove {}", self.dir.display()))?;
        }
        let system = system_python(self.min_python, self.purpose)?;
        eprintln!(
            "python: creating a virtual environment in {}",
            self.dir.display()
        );
        let mut create = Command::new(&system);
        create.arg("-m").arg("venv").arg(&self.dir);
        cmd::run(&mut create).with_context(|| {
            format!(
                "{system} could not create a virtual environment (on Debian and Ubuntu the \
                 `venv` module is in the python3-venv package)"
            )
        })?;
        let requirements = self.dir.join("requirements.txt");
        std::fs::write(&requirements, &wanted)
            .with_context(|| format!("cannot write {}", requirements.display()))?;
        eprintln!(
            "python: installing {} from PyPI",
            self.requirements.join(", ")
        );
        let mut install = Command::new(&python);
        install
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(&requirements);
        cmd::run(&mut install).with_context(|| {
            format!(
                "could not install {} (they come from PyPI: is the network reachable? delete \
                 {} to start over)",
                self.requirements.join(", "),
                self.dir.display()
            )
        })?;
        std::fs::write(&stamp, &wanted)
            .with_context(|| format!("cannot write {}", stamp.display()))?;
        Ok(python)
    }
}

/// The path of a program installed in a virtual environment.
pub(crate) fn program(venv: &Path, name: &str) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join(format!("{name}.exe"))
    } else {
        venv.join("bin").join(name)
    }
}

/// Whether a system Python of at least `min` with the `venv` module (and
/// pip's bootstrap, which Debian splits out too) is here.
pub(crate) fn system_python_can_make_venvs(min: (u32, u32)) -> bool {
    system_python(min, "").is_ok_and(|python| {
        Command::new(python)
            .args(["-c", "import venv, ensurepip"])
            .output()
            .is_ok_and(|out| out.status.success())
    })
}

/// A system Python of at least `min`: `python3`, else `python`.
fn system_python(min: (u32, u32), purpose: &str) -> Result<String> {
    let mut seen = Vec::new();
    for name in ["python3", "python"] {
        let Ok(out) = Command::new(name).arg("--version").output() else {
            continue;
        };
        // Python 2 printed its version on stderr.
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        match version(&text) {
            Some(found) if found >= min => return Ok(name.to_owned()),
            Some((major, minor)) => seen.push(format!("{name} is {major}.{minor}")),
            None => seen.push(format!("{name} answered {:?}", text.trim())),
        }
    }
    let (major, minor) = min;
    if seen.is_empty() {
        bail!(
            "python3 was not found: {purpose} needs Python {major}.{minor} or newer with its \
             venv module (Debian and Ubuntu: apt-get install python3 python3-venv)"
        );
    }
    bail!(
        "{purpose} needs Python {major}.{minor} or newer ({}); install one as python3",
        seen.join(", ")
    )
}

/// `(major, minor)` from `python --version`'s answer (`Python 3.11.7`).
pub(crate) fn version(answer: &str) -> Option<(u32, u32)> {
    let version = answer.trim().strip_prefix("Python ")?;
    let mut parts = version.split('.');
    let major = parts.next()?.trim().parse().ok()?;
    let minor = parts
        .next()?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()?;
    Some((major, minor))
}
