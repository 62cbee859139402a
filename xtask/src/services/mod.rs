//! The external services the test suite needs, provisioned by `cargo xtask
//! test` (and by `cargo xtask services`, for running single tests by hand):
//!
//! - PostgreSQL: the caller's, if `KAIZALA_TEST_POSTGRES_URL` is set; otherwise
//!   a throwaway cluster of Debian's server binaries under
//!   `target/test-services/postgres`, on a free loopback port, stopped when
//!   [`Services`] is dropped.
//! - PostgreSQL with TLS, always a throwaway cluster here (under
//!   `target/test-services/postgres-tls`, `ssl=on`, a certificate chain made
//!   fresh on each run): `KAIZALA_TEST_POSTGRES_TLS_URL`, and the CA that
//!   signed its certificate and one that did not in
//!   `KAIZALA_TEST_POSTGRES_TLS_CA` and `KAIZALA_TEST_POSTGRES_TLS_OTHER_CA`.
//! - Chromium: `KAIZALA_TEST_CHROMIUM` if set, otherwise Debian's
//!   `/usr/bin/chromium`; nothing to start (tests launch it headless).
//! - Pythons with pinned PyPI packages, one per entry of [`python::ENVS`]
//!   (DuckDB in `KAIZALA_TEST_PYTHON`; PyAirbyte, target-jsonl and
//!   MeltanoLabs' target-postgres in venvs of their own): each variable's
//!   value if set, otherwise a virtual environment made under `target/`
//!   with the system's python3.
//!
//! What is missing is installed with `apt-get` (as root, or through
//! passwordless sudo); without either, provisioning fails at once with one line
//! saying what to install. The test processes get the variables, plus
//! `KAIZALA_TEST_REQUIRE_SERVICES=1` (a test missing its service fails rather
//! than skips). `docs/testing.md` is the user's side of this.

use std::ffi::OsStr;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Instant;

use anyhow::{Context, Result, bail};

mod chromium;
mod postgres;
mod python;

/// Tells tests that a missing service is a failure, not a reason to skip.
pub(crate) const REQUIRE_VAR: &str = "KAIZALA_TEST_REQUIRE_SERVICES";

/// Where Debian keeps its package lists (empty on a fresh image).
const APT_LISTS: &str = "/var/lib/apt/lists";

/// What is on the machine already, and what apt-get has to add.
pub(crate) struct Plan {
    postgres: postgres::Found,
    /// The binaries the TLS cluster is made with.
    tls_binaries: Option<postgres::Binaries>,
    chromium: chromium::Found,
    python: python::Found,
    installer: Option<Installer>,
}

/// Looks for the services (quick: no installing, no starting), failing at once
/// if something is missing and cannot be installed.
pub(crate) fn plan() -> Result<Plan> {
    let postgres = postgres::locate();
    let tls_binaries = postgres::binaries();
    let chromium = chromium::locate();
    let python = python::locate();
    let mut missing = Vec::new();
    if postgres.is_missing() || tls_binaries.is_none() {
        missing.push(postgres::PACKAGE);
    }
    if chromium.is_missing() {
        missing.push(chromium::PACKAGE);
    }
    if python.is_missing() {
        missing.extend(python::PACKAGES);
    }
    let installer = if missing.is_empty() {
        None
    } else {
        Some(Installer::new(missing)?)
    };
    Ok(Plan {
        postgres,
        tls_binaries,
        chromium,
        python,
        installer,
    })
}

impl Plan {
    /// Installs what is missing, then starts PostgreSQL, checks Chromium
    /// and makes the Python venv.
    pub(crate) fn provision(self) -> Result<Services> {
        let (postgres, tls_binaries, chromium, python) = match self.installer {
            Some(installer) => {
                installer.run()?;
                (
                    postgres::locate(),
                    postgres::binaries(),
                    chromium::locate(),
                    python::locate(),
                )
            }
            None => (self.postgres, self.tls_binaries, self.chromium, self.python),
        };
        let workspace = crate::workspace_root();
        let postgres = postgres::Postgres::start(postgres, &workspace)?;
        let binaries = tls_binaries.context("postgres: no server binaries for the TLS cluster")?;
        let postgres_tls = postgres::Server::start(&binaries, &workspace, postgres::Kind::Tls)?;
        let chromium = chromium::Chromium::check(chromium)?;
        let python = python::Python::provision(python)?;
        Ok(Services {
            postgres,
            postgres_tls: Some(postgres_tls),
            chromium,
            python,
        })
    }
}

/// The provisioned services; a PostgreSQL started here stops when this drops.
pub(crate) struct Services {
    postgres: postgres::Postgres,
    postgres_tls: Option<postgres::Server>,
    chromium: chromium::Chromium,
    python: python::Python,
}

impl Services {
    /// The variables for test processes: those xtask decided (one the caller
    /// set is inherited as it is), and [`REQUIRE_VAR`].
    pub(crate) fn env(&self) -> Vec<(&'static str, String)> {
        let mut vars = Vec::new();
        if let Some(url) = self.postgres.started_url() {
            vars.push((postgres::URL_VAR, url.to_owned()));
        }
        if let Some(server) = &self.postgres_tls {
            vars.push((postgres::TLS_URL_VAR, server.url().to_owned()));
            if let Some(files) = server.tls() {
                let path = |p: &Path| p.to_string_lossy().into_owned();
                vars.push((postgres::TLS_CA_VAR, path(&files.ca)));
                vars.push((postgres::TLS_OTHER_CA_VAR, path(&files.other_ca)));
            }
        }
        if let Some(path) = self.chromium.found_path() {
            vars.push((chromium::VAR, path.to_string_lossy().into_owned()));
        }
        for (var, path) in self.python.found_paths() {
            vars.push((var, path.to_string_lossy().into_owned()));
        }
        vars.push((REQUIRE_VAR, "1".to_owned()));
        vars
    }

    /// Sets [`Services::env`] on `command`.
    pub(crate) fn apply(&self, command: &mut Command) {
        for (name, value) in self.env() {
            command.env(name, value);
        }
    }
}

/// `cargo xtask services`: provisions and starts the services, prints the
/// `export` lines for a shell, and stops them on Enter (or end of input).
/// Ctrl-C stops them too: the server is in the terminal's process group, and
/// SIGINT is PostgreSQL's fast shutdown.
pub(crate) fn run() -> Result<()> {
    let services = plan()?.provision()?;
    for (name, value) in services.env() {
        println!("export {name}={}", shell_quote(&value));
    }
    eprintln!("services: running; press Enter or Ctrl-C to stop them");
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    drop(services);
    eprintln!("services: stopped");
    Ok(())
}

/// Installs Debian packages with apt-get, as root or through `sudo -n`.
struct Installer {
    packages: Vec<&'static str>,
    sudo: bool,
}

impl Installer {
    /// Fails (one line, saying what to install) if this process cannot install.
    fn new(packages: Vec<&'static str>) -> Result<Installer> {
        let list = packages.join(" ");
        let mut vars: Vec<&str> = packages
            .iter()
            .map(|&package| match package {
                postgres::PACKAGE => postgres::URL_VAR,
                chromium::PACKAGE => chromium::VAR,
                _ => python::VAR,
            })
            .collect();
        vars.dedup();
        let hint = format!(
            "install them (`sudo apt-get install --no-install-recommends {list}`), or set {} \
             (docs/testing.md)",
            vars.join(" and ")
        );
        if find_on_path("apt-get").is_none() {
            bail!("services: missing Debian package(s) {list}, and no apt-get here: {hint}");
        }
        let sudo = if is_root() {
            false
        } else if sudo_works() {
            true
        } else {
            bail!(
                "services: missing Debian package(s) {list}, and xtask installs only as root \
                 or with passwordless sudo: {hint}"
            );
        };
        Ok(Installer { packages, sudo })
    }

    fn run(&self) -> Result<()> {
        let list = self.packages.join(" ");
        eprintln!("services: installing {list} with apt-get");
        let started = Instant::now();
        let mut install = vec!["install", "-y", "--no-install-recommends"];
        install.extend(&self.packages);
        let mut updated = false;
        if !has_package_lists(Path::new(APT_LISTS)) {
            self.apt_get(&["update"])?;
            updated = true;
        }
        if let Err(err) = self.apt_get(&install) {
            if updated {
                return Err(err);
            }
            // Stale package lists (packages gone from the mirror, or never
            // listed) are the usual cause: refresh them and try once more.
            eprintln!("services: apt-get install failed; running apt-get update and retrying");
            self.apt_get(&["update"])?;
            self.apt_get(&install)?;
        }
        eprintln!(
            "services: installed {list} in {:.0} s",
            started.elapsed().as_secs_f64()
        );
        Ok(())
    }

    fn apt_get(&self, args: &[&str]) -> Result<()> {
        let mut command = if self.sudo {
            let mut sudo = Command::new("sudo");
            sudo.args(["-n", "env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]);
            sudo
        } else {
            let mut apt_get = Command::new("apt-get");
            apt_get.env("DEBIAN_FRONTEND", "noninteractive");
            apt_get
        };
        // Wait for a dpkg lock held by another apt run (unattended upgrades on
        // a machine just booted) rather than failing.
        command
            .args([
                "-q",
                "-o",
                "Dpkg::Use-Pty=0",
                "-o",
                "DPkg::Lock::Timeout=300",
            ])
            .args(args);
        quiet(&mut command).map(drop)
    }
}

/// Whether `dir` (apt's lists directory) holds any package index.
fn has_package_lists(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .filter_map(Result::ok)
            .any(|entry| entry.file_name().to_string_lossy().contains("_Packages"))
    })
}

/// Whether this process runs as root.
fn is_root() -> bool {
    static ROOT: OnceLock<bool> = OnceLock::new();
    *ROOT.get_or_init(|| {
        cfg!(unix)
            && Command::new("id")
                .arg("-u")
                .output()
                .is_ok_and(|out| out.status.success() && out.stdout.trim_ascii() == b"0")
    })
}

/// Whether `sudo` runs commands without asking for a password.
fn sudo_works() -> bool {
    Command::new("sudo")
        .args(["-n", "true"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// The caller's value of `var`, unless unset or empty: a service the
/// caller brings instead of the one xtask would provision.
pub(crate) fn given(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|value| !value.is_empty())
}

/// The first executable called `name` on `PATH`.
fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

/// Whether `path` is a file this process may run (following symlinks).
fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path)
            .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

/// Runs `command` with its output captured, returning its standard output; an
/// unsuccessful exit is an error ending with the last lines it printed.
fn quiet(command: &mut Command) -> Result<String> {
    let line = describe(command);
    let output = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("could not start `{line}`"))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        let all = format!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
        bail!("`{line}` failed ({}):\n{}", output.status, tail(&all, 20));
    }
    Ok(stdout)
}

fn describe(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(OsStr::to_string_lossy)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The last `lines` lines of `text`.
fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.trim_end().lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// `path` relative to the workspace root when it is inside it.
fn shown(path: &Path) -> String {
    let root = crate::workspace_root();
    path.strip_prefix(&root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// `value` as one POSIX shell word.
fn shell_quote(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-+=@%:,./".contains(c));
    if plain {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tempdir::TempDir;

    #[test]
    fn package_lists_are_files_named_after_their_packages_index() {
        let dir = TempDir::new("apt-lists");
        assert!(!has_package_lists(dir.path()));
        assert!(!has_package_lists(&dir.path().join("absent")));
        std::fs::create_dir(dir.path().join("partial")).unwrap();
        std::fs::write(dir.path().join("lock"), "").unwrap();
        std::fs::write(
            dir.path()
                .join("deb.debian.org_debian_dists_bookworm_InRelease"),
            "",
        )
        .unwrap();
        assert!(!has_package_lists(dir.path()));
        std::fs::write(
            dir.path()
                .join("deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4"),
            "",
        )
        .unwrap();
        assert!(has_package_lists(dir.path()));
    }

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(
            shell_quote("postgres://me@127.0.0.1:5432/kaizala_test"),
            "postgres://me@127.0.0.1:5432/kaizala_test"
        );
        assert_eq!(shell_quote("/usr/bin/chromium"), "/usr/bin/chromium");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(
            shell_quote("/opt/my chrome/chrome"),
            "'/opt/my chrome/chrome'"
        );
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("a\n", 5), "a");
        assert_eq!(tail("", 5), "");
    }

    #[test]
    fn env_always_requires_the_services() {
        let services = Services {
            postgres: postgres::Postgres::Given,
            postgres_tls: None,
            chromium: chromium::Chromium::Given,
            python: python::Python::given(),
        };
        // Variables the caller set are inherited, not repeated.
        assert_eq!(services.env(), vec![(REQUIRE_VAR, "1".to_owned())]);
    }
}
