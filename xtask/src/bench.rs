//! `cargo xtask bench`: runs the criterion benchmarks and prints, per suite,
//! a markdown table of throughput and of the ratio to the suite's baseline,
//! measured in the same run (this machine is noisy: only ratios compare).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::Value;

use crate::cmd;

/// One criterion group whose entries are compared to a baseline entry.
struct Suite {
    package: &'static str,
    bench: &'static str,
    group: &'static str,
    /// What one criterion element is, for the throughput column.
    unit: &'static str,
    baseline: &'static str,
    entries: &'static [&'static str],
    /// The entry held to a target speed-up over the baseline, and the target.
    target: Option<(&'static str, f64)>,
}

const SUITES: &[Suite] = &[Suite {
    package: "kaizala-types",
    bench: "decode_event",
    group: "decode_event_2k",
    unit: "events/s",
    baseline: "serde_json_value",
    entries: &["typed_event", "serde_json_value", "plain_derive"],
    target: Some(("typed_event", 1.3)),
}];

pub(crate) fn run() -> Result<()> {
    let criterion = target_dir().join("criterion");
    for suite in SUITES {
        cmd::run(&mut cmd::cargo([
            "bench",
            "-p",
            suite.package,
            "--bench",
            suite.bench,
            "--locked",
        ]))?;
        println!("{}", report(suite, &criterion)?);
    }
    Ok(())
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace_root().join("target"))
}

/// Mean time per element, in nanoseconds, of the latest run of an entry.
fn mean_ns(criterion: &Path, group: &str, entry: &str) -> Result<f64> {
    let path = criterion.join(group).join(entry).join("new/estimates.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let estimates: Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    estimates["mean"]["point_estimate"]
        .as_f64()
        .with_context(|| format!("{} has no mean", path.display()))
}

fn report(suite: &Suite, criterion: &Path) -> Result<String> {
    let baseline = mean_ns(criterion, suite.group, suite.baseline)?;
    let mut out = format!(
        "`{}` (`cargo bench -p {} --bench {}`)\n\n| entry | mean | {} | speed vs `{}` |\n|---|---:|---:|---:|\n",
        suite.group, suite.package, suite.bench, suite.unit, suite.baseline
    );
    for entry in suite.entries {
        let ns = mean_ns(criterion, suite.group, entry)?;
        out.push_str(&format!(
            "| `{entry}` | {:.2} µs | {:.0} | {:.2}× |\n",
            ns / 1000.0,
            1e9 / ns,
            baseline / ns
        ));
    }
    if let Some((entry, target)) = suite.target {
        let ratio = baseline / mean_ns(criterion, suite.group, entry)?;
        let verdict = if ratio >= target { "met" } else { "NOT met" };
        out.push_str(&format!(
            "\ntarget `{entry}` ≥ {target:.2}× `{}`: {verdict} ({ratio:.2}×)\n",
            suite.baseline
        ));
    }
    Ok(out)
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
}
