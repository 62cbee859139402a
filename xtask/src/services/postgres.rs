//! PostgreSQL for tests: the caller's (`KAIZALA_TEST_POSTGRES_URL`), or a
//! throwaway cluster made fresh on every run with Debian's server binaries
//! (`/usr/lib/postgresql/<version>/bin`, the highest version).
//!
//! The cluster lives in `target/test-services/postgres` (`data/` the cluster,
//! `postgres.log` the server's output, and the unix socket): trust
//! authentication, listening on 127.0.0.1 only, on a port found free by
//! binding port 0, durable (`fsync`, `synchronous_commit` and
//! `full_page_writes` on, as in production: the crash tests and the benchmarks
//! rely on it). PostgreSQL refuses to run as root, so as root
//! initdb, the server and pg_ctl run as Debian's `postgres` system user, which
//! owns the directory.
//!
//! The server is a child of xtask, not daemonised by `pg_ctl start` (which
//! gives it a session of its own): in the terminal's process group, Ctrl-C
//! reaches it as well, and SIGINT is its fast shutdown, even though xtask then
//! dies without running destructors. Otherwise [`Server`]'s drop stops it with
//! `pg_ctl stop -m fast`: after the tests, whether they pass or fail, and on
//! any error.

use std::ffi::OsStr;
use std::fs;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::ErrorKind;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

mod tls;

/// The URL of the database tests use.
pub(crate) const URL_VAR: &str = "KAIZALA_TEST_POSTGRES_URL";
/// The URL of the TLS cluster's database (host `localhost`, no `sslmode`).
pub(crate) const TLS_URL_VAR: &str = "KAIZALA_TEST_POSTGRES_TLS_URL";
/// The CA that signed the TLS cluster's certificate (a PEM file).
pub(crate) const TLS_CA_VAR: &str = "KAIZALA_TEST_POSTGRES_TLS_CA";
/// A CA that signed nothing (a PEM file).
pub(crate) const TLS_OTHER_CA_VAR: &str = "KAIZALA_TEST_POSTGRES_TLS_OTHER_CA";
/// The Debian package with the server (it depends on the current version's).
pub(crate) const PACKAGE: &str = "postgresql";
/// The database created in the cluster for tests.
const DATABASE: &str = "kaizala_test";
/// Where Debian installs each major version's binaries, in `<version>/bin`.
const DEBIAN_ROOT: &str = "/usr/lib/postgresql";
/// What a directory of binaries needs to hold to make and run a cluster.
const SERVER_PROGRAMS: [&str; 3] = ["initdb", "pg_ctl", "postgres"];
/// The longest unix socket path (`sun_path` less its terminating NUL).
const SOCKET_PATH_MAX: usize = 107;
/// How long the server may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How often a port found free is taken by someone else before the server binds it.
const PORT_ATTEMPTS: u32 = 3;

/// What [`locate`] found.
pub(crate) enum Found {
    /// The caller's server, by `KAIZALA_TEST_POSTGRES_URL`.
    Given(String),
    Installed(Binaries),
    Missing,
}

impl Found {
    pub(crate) fn is_missing(&self) -> bool {
        matches!(self, Found::Missing)
    }
}

/// A directory with the server programs, and their major version.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Binaries {
    bin: PathBuf,
    version: String,
}

/// The caller's URL if set, else the newest Debian binaries, else server
/// binaries on `PATH` (a developer's own build or another distribution's).
pub(crate) fn locate() -> Found {
    if let Some(url) = super::given(URL_VAR) {
        return Found::Given(url);
    }
    binaries().map_or(Found::Missing, Found::Installed)
}

/// The server binaries on this machine, if any: the TLS cluster
/// ([`tls`]) is always made here, whoever's server the other tests use.
pub(crate) fn binaries() -> Option<Binaries> {
    find_debian(Path::new(DEBIAN_ROOT)).or_else(find_on_path)
}

/// The highest `<root>/<version>/bin` with the server programs (a version
/// whose server package is gone leaves its client programs behind).
fn find_debian(root: &Path) -> Option<Binaries> {
    fs::read_dir(root)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().into_string().ok()?;
            let key = version_key(&version)?;
            let bin = entry.path().join("bin");
            has_server_programs(&bin).then_some((key, Binaries { bin, version }))
        })
        .max_by(|(a, _), (b, _)| a.cmp(b))
        .map(|(_, binaries)| binaries)
}

/// `"15"` → `[15]`, `"9.6"` → `[9, 6]`; `None` for anything else.
fn version_key(name: &str) -> Option<Vec<u32>> {
    name.split('.').map(|part| part.parse().ok()).collect()
}

fn has_server_programs(bin: &Path) -> bool {
    SERVER_PROGRAMS
        .iter()
        .all(|program| super::is_executable(&bin.join(program)))
}

fn find_on_path() -> Option<Binaries> {
    let initdb = super::find_on_path("initdb")?;
    let bin = fs::canonicalize(initdb).ok()?.parent()?.to_path_buf();
    if !has_server_programs(&bin) {
        return None;
    }
    let answer = Command::new(bin.join("postgres"))
        .arg("--version")
        .output()
        .ok()?;
    let version = major_version(&String::from_utf8_lossy(&answer.stdout))?;
    Some(Binaries { bin, version })
}

/// The major version in `postgres --version`'s answer (`postgres (PostgreSQL)
/// 15.18 (Debian 15.18-0+deb12u1)` → `15`; before 10 it was two numbers).
fn major_version(answer: &str) -> Option<String> {
    let word = answer
        .split_whitespace()
        .find(|word| word.starts_with(|c: char| c.is_ascii_digit()))?;
    let number: String = word
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let parts: Vec<&str> = number.split('.').filter(|part| !part.is_empty()).collect();
    let first: u32 = parts.first()?.parse().ok()?;
    let major = if first >= 10 { 1 } else { 2 };
    Some(parts[..major.min(parts.len())].join("."))
}

/// The database's URL, for a superuser that trust authentication lets in.
fn url(user: &str, port: u16) -> String {
    url_at("127.0.0.1", user, port)
}

/// [`url`] with another host name.
fn url_at(host: &str, user: &str, port: u16) -> String {
    let mut encoded = String::new();
    for byte in user.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("postgres://{encoded}@{host}:{port}/{DATABASE}")
}

/// `url` with its password, if any, hidden (for printing the caller's URL).
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
            format!("{scheme}://{user}:***@{host}{path}")
        }
        _ => url.to_owned(),
    }
}

/// Whether `postmaster.pid` says the server accepts connections (its eighth
/// line, as `pg_ctl start -w` reads it).
fn pid_file_says_ready(text: &str) -> bool {
    text.lines()
        .nth(7)
        .is_some_and(|status| status.trim() == "ready")
}

/// Whether a socket in `dir` fits in a unix socket address.
fn socket_fits(dir: &Path) -> bool {
    dir.as_os_str().len() + "/.s.PGSQL.65535".len() <= SOCKET_PATH_MAX
}

/// The PostgreSQL the tests use.
pub(crate) enum Postgres {
    /// The caller's, inherited by test processes as it is.
    Given,
    Started(Box<Server>),
}

impl Postgres {
    /// Uses the caller's server, or makes a cluster and starts it; prints one line.
    pub(crate) fn start(found: Found, workspace: &Path) -> Result<Postgres> {
        match found {
            Found::Given(url) => {
                eprintln!("postgres: using {URL_VAR} ({})", redact(&url));
                Ok(Postgres::Given)
            }
            Found::Installed(binaries) => Server::start(&binaries, workspace, Kind::Plain)
                .map(|s| Postgres::Started(Box::new(s))),
            Found::Missing => bail!(
                "postgres: no server binaries ({}) in {DEBIAN_ROOT}/*/bin or on PATH",
                SERVER_PROGRAMS.join(", ")
            ),
        }
    }

    /// The URL of a server started here (the caller's is inherited as it is).
    pub(crate) fn started_url(&self) -> Option<&str> {
        match self {
            Postgres::Given => None,
            Postgres::Started(server) => Some(&server.url),
        }
    }
}

/// The system user the cluster belongs to and its programs run as.
#[derive(Clone)]
struct RunAs {
    name: String,
    /// The user's and its group's ids when they are not this process's (root
    /// handing the cluster to `postgres`).
    ids: Option<(u32, u32)>,
}

impl RunAs {
    fn for_cluster() -> Result<RunAs> {
        if !super::is_root() {
            let name = super::quiet(Command::new("id").arg("-un"))?;
            return Ok(RunAs {
                name: name.trim().to_owned(),
                ids: None,
            });
        }
        let id = |flag: &str| -> Result<u32> {
            let answer = super::quiet(Command::new("id").args([flag, "postgres"])).context(
                "postgres: running as root, but there is no `postgres` system user to run the \
                 server as (Debian's postgresql package makes it)",
            )?;
            answer
                .trim()
                .parse()
                .with_context(|| format!("`id {flag} postgres` answered {answer:?}"))
        };
        Ok(RunAs {
            name: "postgres".to_owned(),
            ids: Some((id("-u")?, id("-g")?)),
        })
    }

    /// `program` run as this user from `dir` (which it must be able to enter:
    /// relative paths, and PostgreSQL's own start-up, resolve against it).
    fn command(&self, program: impl AsRef<OsStr>, dir: &Path) -> Command {
        let mut command = Command::new(program);
        command.current_dir(dir).stdin(Stdio::null());
        #[cfg(unix)]
        if let Some((uid, gid)) = self.ids {
            // std drops root's supplementary groups along with the ids.
            use std::os::unix::process::CommandExt;
            command.uid(uid).gid(gid);
        }
        command
    }

    /// Gives `dir` to this user.
    fn take(&self, dir: &Path) -> Result<()> {
        #[cfg(unix)]
        if let Some((uid, gid)) = self.ids {
            std::os::unix::fs::chown(dir, Some(uid), Some(gid))
                .with_context(|| format!("cannot give {} to {}", dir.display(), self.name))?;
        }
        Ok(())
    }

    /// Whether this user can write in `dir` (every directory above it must let
    /// it through: not so for a checkout in root's home).
    fn can_write(&self, dir: &Path) -> bool {
        self.ids.is_none()
            || self
                .command("test", Path::new("/"))
                .arg("-w")
                .arg(dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|status| status.success())
    }

    /// `pg_ctl stop` on the cluster in `data`; whether it stopped.
    fn pg_ctl_stop(&self, bin: &Path, data: &Path, mode: &str) -> bool {
        self.command(bin.join("pg_ctl"), Path::new("/"))
            .arg("stop")
            .arg("-D")
            .arg(data)
            .args(["-m", mode, "-w", "-t", "60"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    }
}

/// A running cluster, stopped when dropped.
pub(crate) struct Server {
    child: Child,
    bin: PathBuf,
    data: PathBuf,
    run_as: RunAs,
    url: String,
    tls: Option<tls::Files>,
}

/// Which cluster: the tests' own, or the one that speaks TLS.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Plain,
    Tls,
}

impl Kind {
    /// Its directory under `target/test-services`.
    fn dir_name(self) -> &'static str {
        match self {
            Kind::Plain => "postgres",
            Kind::Tls => "postgres-tls",
        }
    }
}

impl Server {
    /// Makes a cluster of `kind` and starts it.
    pub(crate) fn start(binaries: &Binaries, workspace: &Path, kind: Kind) -> Result<Server> {
        let run_as = RunAs::for_cluster()?;
        let dir = cluster_dir(workspace, &run_as, &binaries.bin, kind.dir_name())?;
        let data = dir.join("data");
        let tls = match kind {
            Kind::Plain => None,
            Kind::Tls => Some(tls::write(&dir.join("tls"), &run_as)?),
        };
        super::quiet(
            run_as
                .command(binaries.bin.join("initdb"), &dir)
                .arg("-D")
                .arg(&data)
                .args(["-U", &run_as.name, "-A", "trust", "-E", "UTF8"])
                .args(["--locale=C", "--no-sync"]),
        )
        .context("postgres: initdb failed")?;
        let log = dir.join("postgres.log");
        let mut attempt = 1;
        let (server, port) = loop {
            let port = free_port()?;
            let out = fs::File::create(&log)
                .with_context(|| format!("cannot create {}", log.display()))?;
            let child = run_as
                .command(binaries.bin.join("postgres"), &dir)
                .arg("-D")
                .arg(&data)
                .args(["-p", &port.to_string(), "-h", "127.0.0.1", "-k"])
                .arg(&dir)
                // Durable, as in production: the crash tests kill writers
                // and the benchmarks claim acknowledged events survive.
                .args(["-c", "fsync=on", "-c", "synchronous_commit=on"])
                .args(["-c", "full_page_writes=on"])
                .args(tls.iter().flat_map(tls::Files::server_args))
                .stdout(out.try_clone()?)
                .stderr(out)
                .spawn()
                .with_context(|| {
                    format!(
                        "postgres: could not start {}",
                        binaries.bin.join("postgres").display()
                    )
                })?;
            let mut server = Server {
                child,
                bin: binaries.bin.clone(),
                data: data.clone(),
                run_as: run_as.clone(),
                // The server's certificate names `localhost`, not the address.
                url: match kind {
                    Kind::Plain => url(&run_as.name, port),
                    Kind::Tls => url_at("localhost", &run_as.name, port),
                },
                tls: tls.clone(),
            };
            match server.wait_until_ready(&log)? {
                Start::Ready => break (server, port),
                Start::PortTaken if attempt < PORT_ATTEMPTS => attempt += 1,
                Start::PortTaken => bail!(
                    "postgres: {PORT_ATTEMPTS} free ports were taken before the server could \
                     bind them (log: {})",
                    log.display()
                ),
            }
        };
        let createdb = sibling_or_path(&binaries.bin, "createdb");
        super::quiet(
            Command::new(createdb)
                .args(["-h", "127.0.0.1", "-p", &port.to_string()])
                .args(["-U", &run_as.name, DATABASE]),
        )
        .context("postgres: could not create the test database")?;
        eprintln!(
            "postgres: started {}{} on 127.0.0.1:{port} ({})",
            binaries.version,
            if kind == Kind::Tls { " with TLS" } else { "" },
            super::shown(&dir)
        );
        Ok(server)
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// The certificate files of a TLS cluster.
    pub(crate) fn tls(&self) -> Option<&tls::Files> {
        self.tls.as_ref()
    }

    /// Waits until the server accepts connections, or exits.
    fn wait_until_ready(&mut self, log: &Path) -> Result<Start> {
        let deadline = Instant::now() + START_TIMEOUT;
        let pid_file = self.data.join("postmaster.pid");
        loop {
            if let Some(status) = self.child.try_wait()? {
                let text = fs::read_to_string(log).unwrap_or_default();
                if text.contains("could not bind") || text.contains("Address already in use") {
                    return Ok(Start::PortTaken);
                }
                bail!(
                    "postgres: the server exited ({status}) while starting:\n{}",
                    super::tail(&text, 20)
                );
            }
            if fs::read_to_string(&pid_file).is_ok_and(|text| pid_file_says_ready(&text)) {
                return Ok(Start::Ready);
            }
            if Instant::now() > deadline {
                bail!(
                    "postgres: the server did not accept connections within {} s (log: {})",
                    START_TIMEOUT.as_secs(),
                    log.display()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

enum Start {
    Ready,
    PortTaken,
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        if !self.run_as.pg_ctl_stop(&self.bin, &self.data, "fast") {
            eprintln!("postgres: `pg_ctl stop` failed; killing the server");
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// An empty directory for the cluster, owned by `run_as`:
/// `target/test-services/postgres`, or, when that user cannot reach it or the
/// socket path would be too long there, one under the temporary directory.
fn cluster_dir(workspace: &Path, run_as: &RunAs, bin: &Path, name: &str) -> Result<PathBuf> {
    let mut hasher = DefaultHasher::new();
    workspace.hash(&mut hasher);
    let candidates = [
        workspace.join("target").join("test-services").join(name),
        std::env::temp_dir()
            .join(format!("kaizala-test-services-{:016x}", hasher.finish()))
            .join(name),
    ];
    let mut problems = Vec::new();
    for dir in &candidates {
        if !socket_fits(dir) {
            problems.push(format!(
                "{}: too long a path for a unix socket",
                dir.display()
            ));
            continue;
        }
        match make_fresh(dir, run_as, bin) {
            Ok(()) if run_as.can_write(dir) => return Ok(dir.clone()),
            Ok(()) => problems.push(format!(
                "{}: the `{}` user cannot write there",
                dir.display(),
                run_as.name
            )),
            Err(err) => problems.push(format!("{err:#}")),
        }
    }
    bail!(
        "postgres: no directory for the cluster ({}); set {URL_VAR} to use a server of your own",
        problems.join("; ")
    )
}

/// Empties `dir` (stopping a server a killed run left there) and gives it to `run_as`.
fn make_fresh(dir: &Path, run_as: &RunAs, bin: &Path) -> Result<()> {
    let data = dir.join("data");
    if data.join("postmaster.pid").exists() {
        run_as.pg_ctl_stop(bin, &data, "immediate");
    }
    match fs::remove_dir_all(dir) {
        Err(err) if err.kind() != ErrorKind::NotFound => {
            return Err(err).with_context(|| format!("cannot remove {}", dir.display()));
        }
        _ => {}
    }
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    run_as.take(dir)
}

/// `bin/name` if it is there, else `name` from `PATH`.
fn sibling_or_path(bin: &Path, name: &str) -> PathBuf {
    let sibling = bin.join(name);
    if super::is_executable(&sibling) {
        sibling
    } else {
        PathBuf::from(name)
    }
}

/// A loopback port nothing listens on (at the moment of asking).
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot bind a loopback port")?;
    Ok(listener.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tempdir::TempDir;

    /// A fake `<root>/<version>/bin` with `programs` in it.
    fn fake_version(root: &Path, version: &str, programs: &[&str]) {
        let bin = root.join(version).join("bin");
        fs::create_dir_all(&bin).unwrap();
        for program in programs {
            let path = bin.join(program);
            fs::write(&path, "#!/bin/sh\n").unwrap();
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
            }
        }
    }

    #[test]
    fn nothing_is_found_where_postgresql_is_not_installed() {
        let root = TempDir::new("pg-none");
        assert_eq!(find_debian(&root.path().join("postgresql")), None);
        assert_eq!(find_debian(root.path()), None);
        // Only the client package: no server.
        fake_version(root.path(), "15", &["psql", "pg_isready", "createdb"]);
        assert_eq!(find_debian(root.path()), None);
    }

    #[test]
    fn the_highest_version_with_a_server_is_found() {
        let root = TempDir::new("pg-versions");
        fake_version(root.path(), "9.6", &SERVER_PROGRAMS);
        fake_version(root.path(), "13", &SERVER_PROGRAMS);
        fake_version(root.path(), "15", &SERVER_PROGRAMS);
        // A newer version whose server package was removed.
        fake_version(root.path(), "17", &["initdb", "psql"]);
        fake_version(root.path(), "latest", &SERVER_PROGRAMS);
        fs::write(root.path().join("16"), "not a directory").unwrap();
        assert_eq!(
            find_debian(root.path()),
            Some(Binaries {
                bin: root.path().join("15").join("bin"),
                version: "15".to_owned()
            })
        );
    }

    #[cfg(unix)]
    #[test]
    fn programs_must_be_executable() {
        use std::os::unix::fs::PermissionsExt;
        let root = TempDir::new("pg-mode");
        fake_version(root.path(), "15", &SERVER_PROGRAMS);
        let postgres = root.path().join("15/bin/postgres");
        fs::set_permissions(&postgres, fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(find_debian(root.path()), None);
    }

    #[test]
    fn versions_order_numerically() {
        assert!(version_key("9.6") < version_key("10"));
        assert!(version_key("15") < version_key("16"));
        assert_eq!(version_key("15"), Some(vec![15]));
        assert_eq!(version_key("9.6"), Some(vec![9, 6]));
        assert_eq!(version_key("latest"), None);
        assert_eq!(version_key(""), None);
        assert_eq!(version_key("15."), None);
    }

    #[test]
    fn major_versions_are_read_from_the_servers_answer() {
        assert_eq!(
            major_version("postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n").as_deref(),
            Some("15")
        );
        assert_eq!(
            major_version("postgres (PostgreSQL) 9.6.24").as_deref(),
            Some("9.6")
        );
        assert_eq!(
            major_version("postgres (PostgreSQL) 17beta1").as_deref(),
            Some("17")
        );
        assert_eq!(
            major_version("postgres (PostgreSQL) 16.2").as_deref(),
            Some("16")
        );
        assert_eq!(major_version("no digits here"), None);
    }

    #[test]
    fn urls_name_the_user_port_and_database() {
        assert_eq!(
            url("postgres", 41234),
            "postgres://postgres@127.0.0.1:41234/kaizala_test"
        );
        assert_eq!(
            url("jane.doe-2", 5432),
            "postgres://jane.doe-2@127.0.0.1:5432/kaizala_test"
        );
        assert_eq!(
            url("ci user@corp", 5432),
            "postgres://ci%20user%40corp@127.0.0.1:5432/kaizala_test"
        );
    }

    #[test]
    fn passwords_are_hidden_when_printing_a_url() {
        assert_eq!(
            redact("postgres://me:s3cr@t@db.example:5432/app?sslmode=require"),
            "postgres://me:***@db.example:5432/app?sslmode=require"
        );
        assert_eq!(
            redact("postgres://me@127.0.0.1:5432/kaizala_test"),
            "postgres://me@127.0.0.1:5432/kaizala_test"
        );
        assert_eq!(redact("postgres://host/db"), "postgres://host/db");
        assert_eq!(redact("host=localhost user=me"), "host=localhost user=me");
    }

    #[test]
    fn readiness_is_the_pid_files_status_line() {
        let starting = "4242\n/x/data\n1700000000\n41234\n/x\n127.0.0.1\n  1234  5678\nstarting\n";
        let ready = "4242\n/x/data\n1700000000\n41234\n/x\n127.0.0.1\n  1234  5678\nready   \n";
        assert!(!pid_file_says_ready(starting));
        assert!(pid_file_says_ready(ready));
        assert!(!pid_file_says_ready("4242\n/x/data\n"));
        assert!(!pid_file_says_ready(""));
    }

    #[test]
    fn long_checkout_paths_do_not_fit_a_socket() {
        assert!(socket_fits(Path::new(
            "/work/main/target/test-services/postgres"
        )));
        let deep = format!(
            "/home/runner/{}/target/test-services/postgres",
            "x".repeat(60)
        );
        assert!(!socket_fits(Path::new(&deep)));
    }
}
