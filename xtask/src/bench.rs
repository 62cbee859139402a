//! `cargo xtask bench`: runs the criterion benchmarks and prints, per suite,
//! a markdown table of throughput and of the ratio to the suite's baseline,
//! measured in the same run (this machine is noisy: only ratios compare);
//! then runs the benches that print their own table (latency percentiles)
//! and passes that through.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result};
use serde_json::Value;

use crate::cmd;

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
const POSTGRES: &str =
    "PostgreSQL: set KAIZALA_TEST_POSTGRES_URL (`cargo xtask services` prints it)";

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
        bench: "ingest",
        // Criterion's directory for the group `ingest/sqlite`.
        group: "ingest_sqlite",
        unit: "events/s",
        baseline: Some("bare_batched_insert"),
        entries: &["sql_event_store", "bare_batched_insert"],
        // Durably storing at least half as many events as the database
        // takes rows inserted in bulk.
        target: Some(Target::Faster {
            entry: "sql_event_store",
            factor: 0.5,
        }),
        needs: None,
    },
    Suite {
        package: "kaizala-sink",
        bench: "ingest",
        group: "ingest_postgres",
        unit: "events/s",
        baseline: Some("bare_batched_insert"),
        entries: &["sql_event_store", "bare_batched_insert"],
        target: Some(Target::Faster {
            entry: "sql_event_store",
            factor: 0.5,
        }),
        needs: Some(POSTGRES),
    },
    Suite {
        package: "kaizala-cli",
        bench: "ingest",
        group: "cli_ingest_sqlite",
        unit: "events/s",
        baseline: Some("bare_insert"),
        entries: &["kaizala_ingest", "bare_insert"],
        // The whole process (HTTP, auth, decoding, the store) acknowledging
        // at least half as many events as a bare batched insert stores.
        target: Some(Target::Faster {
            entry: "kaizala_ingest",
            factor: 0.5,
        }),
        needs: None,
    },
    Suite {
        package: "kaizala-cli",
        bench: "ingest",
        group: "cli_ingest_postgres",
        unit: "events/s",
        baseline: Some("bare_insert"),
        entries: &["kaizala_ingest", "bare_insert"],
        target: Some(Target::Faster {
            entry: "kaizala_ingest",
            factor: 0.5,
        }),
        needs: Some(POSTGRES),
    },
];

/// A bench target that measures what criterion's means do not (percentiles,
/// say) and prints its own markdown table, target verdict included, on
/// standard output.
struct Printed {
    package: &'static str,
    bench: &'static str,
}

const PRINTED: &[Printed] = &[Printed {
    package: "kaizala-webhook",
    bench: "receiver_latency",
}];

pub(crate) fn run() -> Result<()> {
    let criterion = target_dir().join("criterion");
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
                cmd::run(&mut cmd::cargo([
                    "bench",
                    "-p",
                    suite.package,
                    "--bench",
                    suite.bench,
                    "--locked",
                ]))?;
                ran.push((suite.package, suite.bench, since));
                since
            }
        };
        match suite.needs {
            Some(needs) if !has_results(suite, &criterion, since) => {
                println!("{}", skipped(suite, needs));
            }
            _ => println!("{}", report(suite, &criterion)?),
        }
    }
    for printed in PRINTED {
        eprintln!(
            "$ cargo bench -p {} --bench {} --locked",
            printed.package, printed.bench
        );
        let mut bench = cmd::cargo([
            "bench",
            "-p",
            printed.package,
            "--bench",
            printed.bench,
            "--locked",
        ]);
        // Cargo's progress stays on the terminal; the table is the output.
        bench.stderr(std::process::Stdio::inherit());
        println!("{}", cmd::output(&mut bench)?);
    }
    Ok(())
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
        let suite = SUITES
            .iter()
            .find(|s| s.package == "kaizala-cli" && s.group == "cli_ingest_sqlite")
            .unwrap();
        // 2,048 events per iteration: 409.6 ms and 204.8 ms an iteration.
        for (entry, mean) in [
            ("kaizala_ingest", 409_600_000.0),
            ("bare_insert", 204_800_000.0),
        ] {
            write_estimate(dir.path(), suite.group, entry, mean);
            std::fs::write(
                dir.path()
                    .join(suite.group)
                    .join(entry)
                    .join("new/benchmark.json"),
                r#"{"group_id": "cli_ingest_sqlite", "throughput": {"Elements": 2048}}"#,
            )
            .unwrap();
        }
        let report = report(suite, dir.path()).unwrap();
        assert!(
            report.contains("| `kaizala_ingest` | 200.00 µs | 5000 | 0.50× |"),
            "{report}"
        );
        assert!(
            report.contains("| `bare_insert` | 100.00 µs | 10000 | 1.00× |"),
            "{report}"
        );
        assert!(
            report.contains("target `kaizala_ingest` ≥ 0.50× `bare_insert`: met (0.50×)"),
            "{report}"
        );
    }

    #[test]
    fn a_group_without_fresh_results_is_skipped_with_a_note() {
        let dir = TempDir::new("bench-skipped");
        let suite = SUITES
            .iter()
            .find(|s| s.package == "kaizala-cli" && s.group == "cli_ingest_postgres")
            .unwrap();
        let before = SystemTime::now() - std::time::Duration::from_secs(60);
        // Nothing at all: the group did not run.
        assert!(!has_results(suite, dir.path(), before));
        // One entry only.
        write_estimate(dir.path(), suite.group, "kaizala_ingest", 400_000.0);
        assert!(!has_results(suite, dir.path(), before));
        // Both, written after the bench started.
        write_estimate(dir.path(), suite.group, "bare_insert", 100_000.0);
        assert!(has_results(suite, dir.path(), before));
        // Both, but from a run before this one.
        let later = SystemTime::now() + std::time::Duration::from_secs(60);
        assert!(!has_results(suite, dir.path(), later));

        let note = skipped(suite, suite.needs.unwrap());
        assert_eq!(
            note,
            "`cli_ingest_postgres` (`cargo bench -p kaizala-cli --bench ingest`): not run, needs \
             PostgreSQL: set KAIZALA_TEST_POSTGRES_URL (`cargo xtask services` prints it)\n"
        );
        let report = report(suite, dir.path()).unwrap();
        assert!(
            report.contains("target `kaizala_ingest` ≥ 0.50× `bare_insert`: NOT met (0.25×)"),
            "{report}"
        );
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
