//! The projector alone: what projecting one entry of the log costs.
//!
//! The log is filled with the mixed workload (as `rebuild` fills it, not
//! timed), the database settled, then `Projector::catch_up` — what
//! `kaizala project --once` runs, and what `kaizala ingest` runs in the
//! background — projects all of it into the live tables, in its usual
//! batches, timed. Reported: entries per second, and the CPU time per entry
//! of this process (reading, decoding, deriving, binding) and of
//! PostgreSQL's processes (writing). This is the cost the ingest and lag
//! targets of issue 11 are bound by on a machine of two cores.
//!
//! Against it, in the same run, the floor any projector of these tables
//! pays: the bare insert of exactly the rows it wrote (read back before
//! the clock starts) into fresh tables with the same keys, 64 rows a
//! statement, in as many transactions as the projector committed, then the
//! same secondary indexes built (`kaizala-sink/benches/support/bare_insert.rs`,
//! as the `rebuild` bench does), on a connection set as the projector's
//! (SQLite `synchronous=NORMAL`, PostgreSQL `synchronous_commit=off`).
//! On PostgreSQL the same rows once more by `COPY … FROM STDIN`, the
//! cheapest way the server takes rows in: the floor of a projector that
//! sent every row so (the sink's sends its plain inserts so — answers and
//! `event_index`, most of the rows — and upserts the rest).
//!
//! `cargo bench -p kaizala-cli --bench project` (`KAIZALA_BENCH_PROJECT_EVENTS`,
//! 60,000 by default); PostgreSQL when `KAIZALA_TEST_POSTGRES_URL` names a
//! durable server. Without `--bench` it projects 2,000 and checks the rows.

mod support;

use std::time::{Duration, Instant};

use kaizala_sink::Sink;
use sqlx::{AnyConnection, Connection, Executor};
use support::bare_insert::{self, Table};
use support::process::{own_cpu, postgres_cpu};
use support::{
    as_derived_writer, assert_and_drop_bare_copies, assert_projected, baseline, count, fill_log,
    measuring, on_each_backend, read_back, settle, thousands,
};

/// Time and CPU (this process, PostgreSQL's) of one phase.
#[derive(Default)]
struct Spent {
    elapsed: Duration,
    own_cpu: Duration,
    server_cpu: Duration,
}

/// Where the clocks stood when a phase began.
struct Mark {
    at: Instant,
    own_cpu: Duration,
    server_cpu: Duration,
}

impl Mark {
    fn now() -> Mark {
        Mark {
            at: Instant::now(),
            own_cpu: own_cpu(),
            server_cpu: postgres_cpu(),
        }
    }

    /// What the phase begun at this mark has spent so far.
    fn spent(&self) -> Spent {
        Spent {
            elapsed: self.at.elapsed(),
            own_cpu: own_cpu() - self.own_cpu,
            server_cpu: postgres_cpu() - self.server_cpu,
        }
    }
}

struct Measured {
    backend: &'static str,
    entries: usize,
    batches: u64,
    rows: usize,
    project: Spent,
    bare: Spent,
    /// PostgreSQL: the same rows by `COPY` instead of `INSERT`.
    copy: Option<Spent>,
}

async fn measure(backend: &'static str, sink_url: &str, sqlx_url: &str, n: usize) -> Measured {
    let sqlite = backend == "SQLite";
    let sink = Sink::connect(sink_url).await.unwrap();
    let mut conn = AnyConnection::connect(sqlx_url).await.unwrap();
    as_derived_writer(&mut conn, sqlite).await;
    let expected = fill_log(&sink, sqlite, "project", n).await;
    settle(&mut conn, sqlite).await;

    let projector = sink.projector();
    eprintln!("project: {backend}: projecting {n} entries");
    let started = Mark::now();
    let report = projector.catch_up().await.unwrap();
    let project = started.spent();
    assert_eq!(
        (report.entries, report.errors),
        (n as u64, 0),
        "{backend}: entries projected"
    );
    assert_projected(&sink, backend, &expected).await;

    let tables = read_back(&mut conn, sqlite, backend, &expected).await;
    let rows: usize = tables.iter().map(Table::rows).sum();
    settle(&mut conn, sqlite).await;
    let started = Mark::now();
    bare_insert::insert(&mut conn, sqlite, &tables, report.batches as usize).await;
    let bare = started.spent();
    assert_and_drop_bare_copies(&sink, &mut conn, backend, &tables).await;
    let copy = if sqlite {
        None
    } else {
        let mut pg = sqlx::PgConnection::connect(sqlx_url).await.unwrap();
        pg.execute("SET synchronous_commit = off").await.unwrap();
        settle(&mut conn, sqlite).await;
        let started = Mark::now();
        bare_insert::copy(&mut conn, &mut pg, &tables, report.batches as usize).await;
        let copy = started.spent();
        assert_and_drop_bare_copies(&sink, &mut conn, backend, &tables).await;
        let _ = pg.close().await;
        Some(copy)
    };
    let _ = conn.close().await;
    sink.close().await;
    Measured {
        backend,
        entries: n,
        batches: report.batches,
        rows,
        project,
        bare,
        copy,
    }
}

fn main() {
    baseline::serve_if_child();
    let full = measuring();
    let n = count("KAIZALA_BENCH_PROJECT_EVENTS", 60_000, 2_000);
    let runs = on_each_backend("project", full, |backend, sink_url, sqlx_url| async move {
        measure(backend, &sink_url, &sqlx_url, n).await
    });
    let micros = |d: Duration, n: usize| d.as_secs_f64() * 1e6 / n as f64;
    let mut out = format!(
        "`project` (`cargo bench -p kaizala-cli --bench project`){}\n\n\
         | backend | entries (rows) | phase | time | entries/s | CPU µs/entry: this process | server | sum |\n\
         |---|---:|---|---:|---:|---:|---:|---:|\n",
        if full { "" } else { ", smoke run" }
    );
    for m in &runs {
        let phases = [
            (
                format!("projector, {} batches", m.batches),
                Some(&m.project),
            ),
            ("bare insert of its rows".to_owned(), Some(&m.bare)),
            ("bare `COPY` of its rows".to_owned(), m.copy.as_ref()),
        ];
        for (phase, spent) in phases.iter().filter_map(|(p, s)| Some((p, (*s)?))) {
            let own = micros(spent.own_cpu, m.entries);
            let server = micros(spent.server_cpu, m.entries);
            out.push_str(&format!(
                "| {} | {} ({}) | {phase} | {:.2} s | {} | {own:.1} | {server:.1} | **{:.1}** |\n",
                m.backend,
                thousands(m.entries as f64),
                thousands(m.rows as f64),
                spent.elapsed.as_secs_f64(),
                thousands(m.entries as f64 / spent.elapsed.as_secs_f64()),
                own + server
            ));
        }
    }
    for m in &runs {
        let cpu = |s: &Spent| (s.own_cpu + s.server_cpu).as_secs_f64();
        out.push_str(&format!(
            "\n{}: the projector used {:.2}× the CPU of the bare insert of its rows, and took {:.2}× its time",
            m.backend,
            cpu(&m.project) / cpu(&m.bare),
            m.project.elapsed.as_secs_f64() / m.bare.elapsed.as_secs_f64()
        ));
    }
    out.push('\n');
    print!("{out}");
}
