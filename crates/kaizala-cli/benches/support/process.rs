//! The receivers under test, each a child process on a free loopback
//! port: `kaizala ingest` (the binary cargo builds with the bench) and the
//! baseline (this bench binary started again as
//! [`baseline::serve_if_child`]). Each is given the same machine: the load
//! generator stays in the bench process.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::baseline;
use super::ingest_support::get;
use super::load::{Http, PATH, TOKEN};

/// A receiver in a child process; killed when dropped.
pub struct ServerProcess {
    child: Child,
    /// The callback URL.
    pub url: String,
    log: PathBuf,
}

fn free_addr() -> SocketAddr {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    SocketAddr::from(([127, 0, 0, 1], port))
}

impl ServerProcess {
    /// `kaizala ingest --db DB` with a callback token and path, projecting
    /// in the background as it does by default; ready to take events.
    pub async fn ingest(db: &str, log_dir: &Path, client: &Http) -> ServerProcess {
        ServerProcess::ingest_with(db, log_dir, client, &[]).await
    }

    /// [`ServerProcess::ingest`] with more arguments (`--no-project`).
    pub async fn ingest_with(
        db: &str,
        log_dir: &Path,
        client: &Http,
        more: &[&str],
    ) -> ServerProcess {
        let addr = free_addr();
        let log = log_dir.join(format!("ingest-{}.log", addr.port()));
        let child = Command::new(env!("CARGO_BIN_EXE_kaizala"))
            .args(["ingest", "--db", db, "--listen", &addr.to_string()])
            .args(["--callback-token", TOKEN, "--path", PATH])
            .args(more)
            .env("RUST_LOG", "warn,sqlx=error")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("starting the kaizala binary");
        let mut process = ServerProcess {
            child,
            url: format!("http://{addr}{PATH}"),
            log,
        };
        process
            .wait_ready(client, &format!("{}?validationToken=ping", process.url))
            .await;
        process
    }

    /// The baseline receiver on the database at `url` (an sqlx URL).
    pub async fn baseline(url: &str, log_dir: &Path, client: &Http) -> ServerProcess {
        let addr = free_addr();
        let log = log_dir.join(format!("baseline-{}.log", addr.port()));
        let child = Command::new(std::env::current_exe().unwrap())
            .env(baseline::CHILD_VAR, format!("{addr} {url}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("starting the baseline");
        let mut process = ServerProcess {
            child,
            url: format!("http://{addr}{PATH}"),
            log,
        };
        let url = process.url.clone();
        process.wait_ready(client, &url).await;
        process
    }

    async fn wait_ready(&mut self, client: &Http, url: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok((200, _)) = get(client, url).await {
                return;
            }
            assert!(
                self.child.try_wait().unwrap().is_none() && Instant::now() < deadline,
                "{url} did not come up:\n{}",
                self.stderr()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// What it wrote on standard error.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The baseline's counters (its answer to a GET).
    pub async fn baseline_stats(&self, client: &Http) -> String {
        get(client, &self.url).await.unwrap().1
    }

    /// CPU time it used so far (user + system), from `/proc`.
    pub fn cpu(&self) -> Duration {
        cpu_of(self.child.id()).unwrap_or_default()
    }

    /// SIGTERM, then waits for it to exit (`kaizala ingest` drains, stops
    /// its projector and prints its summary); its standard error.
    pub async fn stop(mut self) -> String {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success(), "kill -TERM {pid}");
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "{} did not stop", self.url);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.stderr()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Clock ticks per second of `/proc/*/stat`'s times.
fn ticks() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// A process's CPU time (user + system) from `/proc/PID/stat`.
pub fn cpu_of(pid: u32) -> Option<Duration> {
    stat_times(pid, 11..13)
}

/// A process's CPU time with that of the children it has reaped: a
/// PostgreSQL backend that exits (its connection closed) leaves its time
/// to the postmaster's.
fn cpu_with_reaped(pid: u32) -> Option<Duration> {
    stat_times(pid, 11..15)
}

/// The sum of `/proc/PID/stat`'s time fields `fields` (counted from the
/// one after the command name: 11 user, 12 system, 13 and 14 the same of
/// reaped children).
fn stat_times(pid: u32, fields: std::ops::Range<usize>) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: fields count from its closing ')'.
    let all: Vec<&str> = stat[stat.rfind(')')? + 2..].split(' ').collect();
    let mut ticks_spent = 0.0;
    for field in fields {
        ticks_spent += all.get(field)?.parse::<f64>().ok()?;
    }
    Some(Duration::from_secs_f64(ticks_spent / ticks()))
}

/// This process's CPU time.
pub fn own_cpu() -> Duration {
    cpu_of(std::process::id()).unwrap_or_default()
}

/// The CPU time of every `postgres` process on the machine (the server and
/// its backends, those that exited included; zero without one).
pub fn postgres_cpu() -> Duration {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Duration::ZERO;
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim() == "postgres")
        })
        .filter_map(cpu_with_reaped)
        .sum()
}
