//! `cargo xtask bench`: runs the criterion benchmarks and prints, per suite,
//! a markdown table of throughput and of the ratio to the suite's baseline,
//! measured in the same run (this machine is noisy: only ratios compare);
//! then runs the benches that print their own table (latency percentiles,
//! projection lag, rebuild) and passes that through; last, every target's
//! verdict in one table.
//!
//! PostgreSQL groups need a durable server (`fsync` and `synchronous_commit`
//! on; the benches refuse one without): the one `KAIZALA_TEST_POSTGRES_URL`
//! names, or else one started here as `cargo xtask test` starts it
//! (`crate::services`) and stopped at the end.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result};
use serde_json::Value;

use crate::{cmd, services};

/// One criterion group, its entries, and what they are compared to.
struct Suite {
    package: &'static str,
    bench: &'static str,
    group: &'static str,
    /// What one criterion element is, for the throughput column.
    unit: &'static str,
    /// The entry the others are compared to (a ratio column), if any.
    baseline: Option<&'static str>,
    entries: &'static [&'static str],
    /// The speed an entry is held to, relative to the baseline.
    target: Option<Target>,
    /// The service the group needs, if any: the bench skips the group when
    /// it is missing, and the report says so instead of failing.
    needs: Option<&'static str>,
}

/// What a PostgreSQL group needs, as the note for a skipped one says it.
const POSTGRES: &str = "a durable PostgreSQL (fsync and synchronous_commit on): \
     set KAIZALA_TEST_POSTGRES_URL, or let `cargo xtask bench` start one";

/// The variable naming the PostgreSQL server.
const POSTGRES_VAR: &str = "KAIZALA_TEST_POSTGRES_URL";

/// A target for one entry of a suite, against the suite's baseline.
#[derive(Debug, Clone, Copy)]
enum Target {
    /// The entry is at least `factor`× as fast as the baseline.
    Faster { entry: &'static str, factor: f64 },
    /// The entry takes at most `factor`× the baseline's time per element
    /// (it may be slower, by that much at most): speed ratio ≥ 1/`factor`.
    NoSlowerThan { entry: &'static str, factor: f64 },
}

const SUITES: &[Suite] = &[
    Suite {
        package: "kaizala-types",
        bench: "decode_event",
        group: "decode_event_2k",
        unit: "events/s",
        baseline: Some("serde_json_value"),
        entries: &["typed_event", "serde_json_value", "plain_derive"],
        target: Some(Target::Faster {
            entry: "typed_event",
            factor: 1.3,
        }),
        needs: None,
    },
    Suite {
        package: "kaizala-core",
        bench: "build_parse",
        group: "build_parse",
        unit: "calls/s",
        baseline: None,
        entries: &["send_message", "create_action_survey", "list_actions"],
        target: None,
        needs: None,
    },
    Suite {
        package: "kaizala-client",
        bench: "client_call",
        group: "client_call",
        unit: "calls/s",
        baseline: Some("bare_hyper"),
        entries: &["kaizala_client", "bare_hyper"],
        target: Some(Target::NoSlowerThan {
            entry: "kaizala_client",
            factor: 1.2,
        }),
        needs: None,
    },
    Suite {
        package: "kaizala-emulator",
        bench: "emulator_groups",
        group: "emulator_groups",
        unit: "requests/s",
        baseline: Some("minimal_hyper"),
        entries: &["emulator", "minimal_hyper"],
        // Serving at least half the requests of a server that does nothing.
        target: Some(Target::Faster {
            entry: "emulator",
            factor: 0.5,
        }),
        needs: None,
    },
    Suite {
        package: "kaizala-webhook",
        bench: "receiver",
        group: "receiver_events",
        unit: "events/s",
        baseline: Some("minimal_value"),
        entries: &["receiver", "minimal_value"],
        // Taking in at least as many events as a server that only parses them.
        target: Some(Target::Faster {
            entry: "receiver",
            factor: 1.0,
        }),
        needs: None,
    },
    Suite {
        package: "kaizala-sink",
        bench: "append",
        group: "append_sqlite",
        unit: "events/s",
        baseline: Some("baseline_writer"),
        entries: &["sql_event_store", "baseline_writer"],
        // The ack path's database work alone, without HTTP: where the
        // `kaizala ingest` figures below come from.
        target: None,
        needs: None,
    },
    Suite {
        package: "kaizala-sink",
        bench: "append",
        group: "append_postgres",
        unit: "events/s",
        baseline: Some("baseline_writer"),
        entries: &["sql_event_store", "baseline_writer"],
        target: None,
        needs: Some(POSTGRES),
    },
    ingest_suite("cli_ingest_survey_64_sqlite", true, None),
    ingest_suite("cli_ingest_survey_256_sqlite", false, None),
    ingest_suite("cli_ingest_mixed_64_sqlite", true, None),
    ingest_suite("cli_ingest_mixed_256_sqlite", false, None),
    ingest_suite("cli_ingest_survey_64_postgres", true, Some(POSTGRES)),
    ingest_suite("cli_ingest_survey_256_postgres", false, Some(POSTGRES)),
    ingest_suite("cli_ingest_mixed_64_postgres", true, Some(POSTGRES)),
    ingest_suite("cli_ingest_mixed_256_postgres", false, Some(POSTGRES)),
];

/// A group of `kaizala-cli`'s `ingest` bench: `kaizala ingest` against the
/// minimal durable receiver, acknowledged events per second; held to 0.8×
/// with 64 POSTs in flight (`targeted`), shown with 256.
const fn ingest_suite(group: &'static str, targeted: bool, needs: Option<&'static str>) -> Suite {
    Suite {
        package: "kaizala-cli",
        bench: "ingest",
        group,
        unit: "events/s",
        baseline: Some("baseline_receiver"),
        entries: &["kaizala_ingest", "baseline_receiver"],
        target: if targeted {
            Some(Target::Faster {
                entry: "kaizala_ingest",
                factor: 0.8,
            })
        } else {
            None
        },
        needs,
    }
}

/// A bench target that measures what criterion's means do not (percentiles,
/// say) and prints its own markdown table, target verdicts included (lines
/// starting `target `), on standard output.
struct Printed {
    package: &'static str,
    bench: &'static str,
}

const PRINTED: &[Printed] = &[
    Printed {
        package: "kaizala-webhook",
        bench: "receiver_latency",
    },
    Printed {
        package: "kaizala-cli",
        bench: "projection_lag",
    },
    Printed {
        package: "kaizala-cli",
        bench: "project",
    },
    Printed {
        package: "kaizala-cli",
        bench: "rebuild",
    },
    Printed {
        package: "kaizala-cli",
        bench: "parquet_export",
    },
];

pub(crate) fn run() -> Result<()> {
    let services = postgres();
    let cargo_bench = |package: &str, bench: &str| {
        let mut command = cmd::cargo(["bench", "-p", package, "--bench", bench, "--locked"]);
        if let Some(services) = &services {
            services.apply(&mut command);
        }
        command
    };
    let criterion = target_dir().join("criterion");
    let mut verdicts: Vec<(String, String)> = Vec::new();
    // Several suites may be groups of one bench target: run it once.
    let mut ran: Vec<(&str, &str, SystemTime)> = Vec::new();
    for suite in SUITES {
        let since = match ran
            .iter()
            .find(|(package, bench, _)| (*package, *bench) == (suite.package, suite.bench))
        {
            Some(&(_, _, since)) => since,
            None => {
                let since = SystemTime::now();
                cmd::run(&mut cargo_bench(suite.package, suite.bench))?;
                ran.push((suite.package, suite.bench, since));
                since
            }
        };
        let name = format!("`{}`", suite.group);
        match suite.needs {
            Some(needs) if !has_results(suite, &criterion, since) => {
                println!("{}", skipped(suite, needs));
                if suite.target.is_some() {
                    verdicts.push((name, format!("not run, needs {needs}")));
                }
            }
            _ => {
                let report = report(suite, &criterion)?;
                verdicts.extend(target_lines(&report).map(|line| (name.clone(), line)));
                println!("{report}");
            }
        }
    }
    for printed in PRINTED {
        eprintln!(
            "$ cargo bench -p {} --bench {} --locked",
            printed.package, printed.bench
        );
        let mut bench = cargo_bench(printed.package, printed.bench);
        // Cargo's progress stays on the terminal; the table is the output.
        bench.stderr(std::process::Stdio::inherit());
        let output = cmd::output(&mut bench)?;
        let name = format!("`{}`", printed.bench);
        verdicts.extend(target_lines(&output).map(|line| (name.clone(), line)));
        println!("{output}");
    }
    println!("{}", summary(&verdicts));
    Ok(())
}

/// The PostgreSQL server's services: none when `KAIZALA_TEST_POSTGRES_URL`
/// names one; else one started here (stopped when dropped), or none — the
/// PostgreSQL groups are then skipped, with a note — when it cannot be.
fn postgres() -> Option<services::Services> {
    if std::env::var_os(POSTGRES_VAR).is_some_and(|url| !url.is_empty()) {
        return None;
    }
    match services::plan().and_then(services::Plan::provision) {
        Ok(services) => Some(services),
        Err(err) => {
            eprintln!("bench: PostgreSQL groups will be skipped: {err:#}");
            None
        }
    }
}

/// The verdict lines of a report (`target …: met (…)`).
fn target_lines(report: &str) -> impl Iterator<Item = String> + '_ {
    report
        .lines()
        .filter(|line| line.starts_with("target "))
        .map(|line| line.trim_start_matches("target ").to_owned())
}

/// Every target's verdict in one markdown table.
fn summary(verdicts: &[(String, String)]) -> String {
    let mut out =
        String::from("Every target in this run\n\n| bench | target: verdict |\n|---|---|\n");
    for (bench, verdict) in verdicts {
        out.push_str(&format!("| {bench} | {verdict} |\n"));
    }
    out
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace_root().join("target"))
}

/// Mean time per element, in nanoseconds, of the latest run of an entry:
/// criterion's mean per iteration divided by the elements an iteration
/// declares (`Throughput::Elements`; 1 when it declares none).
fn mean_ns(criterion: &Path, group: &str, entry: &str) -> Result<f64> {
    let dir = criterion.join(group).join(entry).join("new");
    let path = dir.join("estimates.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let estimates: Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let mean = estimates["mean"]["point_estimate"]
        .as_f64()
        .with_context(|| format!("{} has no mean", path.display()))?;
    Ok(mean / elements(&dir.join("benchmark.json"))?)
}

/// The elements per iteration a `benchmark.json` declares; 1 without one.
fn elements(path: &Path) -> Result<f64> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(1.0),
        Err(err) => return Err(err).with_context(|| format!("reading {}", path.display())),
    };
    let benchmark: Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    Ok(benchmark["throughput"]["Elements"]
        .as_f64()
        .filter(|n| *n > 0.0)
        .unwrap_or(1.0))
}

/// Whether every entry of the suite has results written at `since` or
/// later (older ones are from an earlier run, when the group may have run
/// and now did not).
fn has_results(suite: &Suite, criterion: &Path, since: SystemTime) -> bool {
    suite.entries.iter().all(|entry| {
        let path = criterion
            .join(suite.group)
            .join(entry)
            .join("new/estimates.json");
        std::fs::metadata(path)
            .and_then(|m| m.modified())
            .is_ok_and(|modified| modified >= since)
    })
}

/// The note for a suite whose group did not run for want of its service.
fn skipped(suite: &Suite, needs: &str) -> String {
    format!(
        "`{}` (`cargo bench -p {} --bench {}`): not run, needs {needs}\n",
        suite.group, suite.package, suite.bench
    )
}

/// A time per element, in the unit that keeps it readable.
fn duration(ns: f64) -> String {
    if ns < 1_000.0 {
        format!("{ns:.0} ns")
    } else if ns < 1_000_000.0 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{:.2} ms", ns / 1e6)
    }
}

fn report(suite: &Suite, criterion: &Path) -> Result<String> {
    let mut out = format!(
        "`{}` (`cargo bench -p {} --bench {}`)\n\n",
        suite.group, suite.package, suite.bench
    );
    let baseline = match suite.baseline {
        Some(name) => Some((name, mean_ns(criterion, suite.group, name)?)),
        None => None,
    };
    match baseline {
        Some((name, _)) => out.push_str(&format!(
            "| entry | mean | {} | speed vs `{name}` |\n|---|---:|---:|---:|\n",
            suite.unit
        )),
        None => out.push_str(&format!(
            "| entry | mean | {} |\n|---|---:|---:|\n",
            suite.unit
        )),
    }
    for entry in suite.entries {
        let ns = mean_ns(criterion, suite.group, entry)?;
        out.push_str(&format!(
            "| `{entry}` | {} | {:.0} |",
            duration(ns),
            1e9 / ns
        ));
        if let Some((_, base)) = baseline {
            out.push_str(&format!(" {:.2}× |", base / ns));
        }
        out.push('\n');
    }
    if let Some(target) = suite.target {
        let (name, base) = baseline.context("a suite with a target needs a baseline")?;
        out.push('\n');
        out.push_str(&verdict(target, name, base, criterion, suite.group)?);
        out.push('\n');
    }
    Ok(out)
}

/// The line saying whether the target is met.
fn verdict(
    target: Target,
    baseline: &str,
    baseline_ns: f64,
    criterion: &Path,
    group: &str,
) -> Result<String> {
    Ok(match target {
        Target::Faster { entry, factor } => {
            let speed = baseline_ns / mean_ns(criterion, group, entry)?;
            let met = if speed >= factor { "met" } else { "NOT met" };
            format!("target `{entry}` ≥ {factor:.2}× `{baseline}`: {met} ({speed:.2}×)")
        }
        Target::NoSlowerThan { entry, factor } => {
            let time = mean_ns(criterion, group, entry)? / baseline_ns;
            let met = if time <= factor { "met" } else { "NOT met" };
            format!(
                "target `{entry}` takes ≤ {factor:.2}× the time of `{baseline}` (speed ≥ {:.2}×): {met} ({time:.2}× the time, speed {:.2}×)",
                1.0 / factor,
                1.0 / time
            )
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tempdir::TempDir;

    fn write_estimate(root: &Path, group: &str, entry: &str, mean: f64) {
        let dir = root.join(group).join(entry).join("new");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("estimates.json"),
            format!(r#"{{"mean": {{"point_estimate": {mean}}}}}"#),
        )
        .unwrap();
    }

    #[test]
    fn report_computes_ratios_against_the_baseline() {
        let dir = TempDir::new("bench");
        let suite = &SUITES[0];
        write_estimate(dir.path(), suite.group, "typed_event", 8000.0);
        write_estimate(dir.path(), suite.group, "serde_json_value", 12000.0);
        write_estimate(dir.path(), suite.group, "plain_derive", 6000.0);
        let report = report(suite, dir.path()).unwrap();
        assert!(
            report.contains("| `typed_event` | 8.00 µs | 125000 | 1.50× |"),
            "{report}"
        );
        assert!(
            report.contains("| `plain_derive` | 6.00 µs | 166667 | 2.00× |"),
            "{report}"
        );
        assert!(
            report.contains("target `typed_event` ≥ 1.30× `serde_json_value`: met (1.50×)"),
            "{report}"
        );
    }

    #[test]
    fn missing_results_are_an_error_naming_the_file() {
        let dir = TempDir::new("bench-missing");
        let err = report(&SUITES[0], dir.path()).unwrap_err();
        assert!(
            format!("{err:#}").contains("serde_json_value/new/estimates.json"),
            "{err:#}"
        );
    }

    fn suite(group: &str) -> &'static Suite {
        SUITES.iter().find(|s| s.group == group).unwrap()
    }

    #[test]
    fn a_no_slower_than_target_reads_as_a_time_ratio() {
        let dir = TempDir::new("bench-no-slower");
        let suite = suite("client_call");
        write_estimate(dir.path(), suite.group, "bare_hyper", 50_000.0);
        write_estimate(dir.path(), suite.group, "kaizala_client", 55_000.0);
        let report = report(suite, dir.path()).unwrap();
        assert!(
            report.contains("| `kaizala_client` | 55.00 µs | 18182 | 0.91× |"),
            "{report}"
        );
        assert!(
            report.contains("| `bare_hyper` | 50.00 µs | 20000 | 1.00× |"),
            "{report}"
        );
        assert!(
            report.contains(
                "target `kaizala_client` takes ≤ 1.20× the time of `bare_hyper` (speed ≥ 0.83×): met (1.10× the time, speed 0.91×)"
            ),
            "{report}"
        );

        write_estimate(dir.path(), suite.group, "kaizala_client", 66_000.0);
        let report = super::report(suite, dir.path()).unwrap();
        assert!(
            report.contains(": NOT met (1.32× the time, speed 0.76×)"),
            "{report}"
        );
    }

    #[test]
    fn a_suite_without_baseline_has_no_ratio_column() {
        let dir = TempDir::new("bench-no-baseline");
        let suite = suite("build_parse");
        write_estimate(dir.path(), suite.group, "send_message", 750.0);
        write_estimate(dir.path(), suite.group, "create_action_survey", 4_250.0);
        write_estimate(dir.path(), suite.group, "list_actions", 2_000_000.0);
        let report = report(suite, dir.path()).unwrap();
        assert!(report.contains("| entry | mean | calls/s |\n"), "{report}");
        assert!(
            report.contains("| `send_message` | 750 ns | 1333333 |\n"),
            "{report}"
        );
        assert!(
            report.contains("| `create_action_survey` | 4.25 µs | 235294 |\n"),
            "{report}"
        );
        assert!(
            report.contains("| `list_actions` | 2.00 ms | 500 |\n"),
            "{report}"
        );
        assert!(!report.contains("target"), "{report}");
    }

    #[test]
    fn means_are_per_element_when_an_iteration_has_many() {
        let dir = TempDir::new("bench-elements");
        let suite = suite("cli_ingest_mixed_64_sqlite");
        // 4,096 events per iteration: 819.2 ms and 409.6 ms an iteration.
        for (entry, mean) in [
            ("kaizala_ingest", 819_200_000.0),
            ("baseline_receiver", 409_600_000.0),
        ] {
            write_estimate(dir.path(), suite.group, entry, mean);
            std::fs::write(
                dir.path()
                    .join(suite.group)
                    .join(entry)
                    .join("new/benchmark.json"),
                r#"{"group_id": "cli_ingest_mixed_64_sqlite", "throughput": {"Elements": 4096}}"#,
            )
            .unwrap();
        }
        let report = report(suite, dir.path()).unwrap();
        assert!(
            report.contains("| `kaizala_ingest` | 200.00 µs | 5000 | 0.50× |"),
            "{report}"
        );
        assert!(
            report.contains("| `baseline_receiver` | 100.00 µs | 10000 | 1.00× |"),
            "{report}"
        );
        assert!(
            report.contains("target `kaizala_ingest` ≥ 0.80× `baseline_receiver`: NOT met (0.50×)"),
            "{report}"
        );
    }

    #[test]
    fn the_ingest_target_is_at_64_in_flight() {
        for suite in SUITES.iter().filter(|s| s.bench == "ingest") {
            let targeted = suite.group.contains("_64_");
            assert_eq!(suite.target.is_some(), targeted, "{}", suite.group);
            assert!(targeted || suite.group.contains("_256_"), "{}", suite.group);
        }
    }

    #[test]
    fn a_group_without_fresh_results_is_skipped_with_a_note() {
        let dir = TempDir::new("bench-skipped");
        let suite = suite("cli_ingest_mixed_64_postgres");
        let before = SystemTime::now() - std::time::Duration::from_secs(60);
        // Nothing at all: the group did not run.
        assert!(!has_results(suite, dir.path(), before));
        // One entry only.
        write_estimate(dir.path(), suite.group, "kaizala_ingest", 400_000.0);
        assert!(!has_results(suite, dir.path(), before));
        // Both, written after the bench started.
        write_estimate(dir.path(), suite.group, "baseline_receiver", 100_000.0);
        assert!(has_results(suite, dir.path(), before));
        // Both, but from a run before this one.
        let later = SystemTime::now() + std::time::Duration::from_secs(60);
        assert!(!has_results(suite, dir.path(), later));

        let note = skipped(suite, suite.needs.unwrap());
        assert_eq!(
            note,
            "`cli_ingest_mixed_64_postgres` (`cargo bench -p kaizala-cli --bench ingest`): not \
             run, needs a durable PostgreSQL (fsync and synchronous_commit on): set \
             KAIZALA_TEST_POSTGRES_URL, or let `cargo xtask bench` start one\n"
        );
        let report = report(suite, dir.path()).unwrap();
        assert!(
            report.contains("target `kaizala_ingest` ≥ 0.80× `baseline_receiver`: NOT met (0.25×)"),
            "{report}"
        );
    }

    #[test]
    fn every_verdict_reaches_the_summary() {
        let printed = "| backend | lag p99 |\n\ntarget SQLite projection lag p99 < 1000.00 ms: met (8.00 ms)\n\
                       target PostgreSQL projection lag p99 < 1000.00 ms: NOT met (1200.00 ms)\n";
        let verdicts: Vec<(String, String)> = target_lines(printed)
            .map(|line| ("`projection_lag`".to_owned(), line))
            .collect();
        assert_eq!(verdicts.len(), 2);
        let table = summary(&verdicts);
        assert!(
            table.contains(
                "| `projection_lag` | SQLite projection lag p99 < 1000.00 ms: met (8.00 ms) |\n"
            ),
            "{table}"
        );
        assert!(table.contains("NOT met (1200.00 ms) |\n"), "{table}");
    }

    #[test]
    fn only_postgres_groups_may_be_skipped() {
        for suite in SUITES {
            assert_eq!(
                suite.needs.is_some(),
                suite.group.ends_with("_postgres"),
                "{} {}",
                suite.package,
                suite.group
            );
        }
    }

    #[test]
    fn every_bench_has_its_source() {
        let benches = SUITES
            .iter()
            .map(|s| (s.package, s.bench))
            .chain(PRINTED.iter().map(|p| (p.package, p.bench)));
        for (package, bench) in benches {
            let source = crate::workspace_root()
                .join("crates")
                .join(package)
                .join("benches")
                .join(format!("{bench}.rs"));
            assert!(source.is_file(), "{} is missing", source.display());
        }
    }

    #[test]
    fn every_target_names_an_entry_of_a_suite_with_a_baseline() {
        for suite in SUITES {
            if let Some(baseline) = suite.baseline {
                assert!(suite.entries.contains(&baseline), "{}", suite.group);
            }
            if let Some(Target::Faster { entry, .. } | Target::NoSlowerThan { entry, .. }) =
                suite.target
            {
                assert!(suite.baseline.is_some(), "{}", suite.group);
                assert!(suite.entries.contains(&entry), "{}", suite.group);
            }
        }
    }
}
