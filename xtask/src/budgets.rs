//! `cargo xtask budgets [--record]`: what depending on the project costs a
//! user — the clean release build of a program that uses `kaizala-types`
//! alone, and of one that uses the facade with only `webhook` (with the
//! size of its stripped binary). The programs are the release rehearsal's
//! consumers, built here against the workspace's crates by path.
//!
//! The figures are compared with those recorded in docs/benchmarks.md
//! (between the `budgets` markers): one that grew by more than 20% is
//! warned about. `--record` writes the new figures there.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::release::consumers::{self, Ours};
use crate::{cmd, workspace_root};

/// Where the figures are recorded.
const DOC: &str = "docs/benchmarks.md";
const BEGIN: &str = "<!-- budgets: written by `cargo xtask budgets --record` -->";
const END: &str = "<!-- /budgets -->";
/// How much a figure may grow over the recorded one before a warning.
const TOLERANCE: f64 = 1.2;
/// The consumers measured, by their rehearsal names.
const MEASURED: [&str; 2] = ["types-only", "webhook-only"];

/// One figure: what, how much, in what.
#[derive(Debug, Clone, PartialEq)]
struct Figure {
    name: String,
    value: f64,
    unit: &'static str,
}

pub(crate) fn run(args: &[String]) -> Result<()> {
    let record = match args {
        [] => false,
        [flag] if flag == "--record" => true,
        other => bail!("budgets takes only --record (got {})", other.join(" ")),
    };
    let root = workspace_root();
    let figures = measure(&root)?;
    let doc_path = root.join(DOC);
    let doc = std::fs::read_to_string(&doc_path)
        .with_context(|| format!("reading {}", doc_path.display()))?;
    let recorded = recorded(&doc);
    let mut grown = 0;
    for figure in &figures {
        let before = recorded.iter().find(|r| r.name == figure.name);
        let note = match before {
            Some(before) if figure.value > before.value * TOLERANCE => {
                grown += 1;
                format!(
                    "  WARNING: {:.0}% over the recorded {}",
                    (figure.value / before.value - 1.0) * 100.0,
                    show(before.value, before.unit)
                )
            }
            Some(before) => format!("  (recorded: {})", show(before.value, before.unit)),
            None => "  (nothing recorded)".to_owned(),
        };
        println!("{}: {}{note}", figure.name, show(figure.value, figure.unit));
    }
    if grown > 0 {
        eprintln!(
            "budgets: {grown} figure(s) grew by more than {:.0}% over {DOC}",
            (TOLERANCE - 1.0) * 100.0
        );
    }
    if record {
        let updated = with_table(&doc, &figures)?;
        std::fs::write(&doc_path, updated)
            .with_context(|| format!("writing {}", doc_path.display()))?;
        println!("recorded in {DOC}");
    }
    Ok(())
}

/// Builds each measured consumer from nothing and times it.
fn measure(root: &Path) -> Result<Vec<Figure>> {
    let event = std::fs::read_to_string(root.join(consumers::EVENT_FIXTURE))
        .context("reading the consumers' event fixture")?;
    let base = root.join("target/budgets");
    let mut figures = Vec::new();
    for project in consumers::projects(Ours::Workspace(root), &event) {
        if !MEASURED.contains(&project.name) {
            continue;
        }
        let dir = base.join(project.name);
        let target = dir.join("target");
        let _ = std::fs::remove_dir_all(&dir);
        for (path, text) in &project.files {
            let mut text = text.clone();
            if *path == "Cargo.toml" {
                // What a size-conscious user ships.
                text.push_str("\n[profile.release]\nstrip = true\n");
            }
            let file = dir.join(path);
            std::fs::create_dir_all(file.parent().expect("a file is in a directory"))?;
            std::fs::write(&file, text).with_context(|| format!("writing {}", file.display()))?;
        }
        let mut build = cmd::cargo(["build", "--release", "--quiet", "--manifest-path"]);
        build
            .arg(dir.join("Cargo.toml"))
            .arg("--target-dir")
            .arg(&target)
            .env_remove("CARGO_TARGET_DIR");
        let started = Instant::now();
        cmd::run(&mut build)?;
        figures.push(Figure {
            name: format!("{} consumer: clean release build", project.name),
            value: started.elapsed().as_secs_f64(),
            unit: "s",
        });
        if project.name == "webhook-only" {
            let binary = target.join("release").join(project.name);
            let size = std::fs::metadata(&binary)
                .with_context(|| format!("reading {}", binary.display()))?
                .len();
            figures.push(Figure {
                name: format!("{} consumer: stripped binary", project.name),
                value: size as f64,
                unit: "bytes",
            });
        }
    }
    Ok(figures)
}

fn show(value: f64, unit: &str) -> String {
    match unit {
        "bytes" => format!("{:.1} MiB ({value:.0} bytes)", value / (1024.0 * 1024.0)),
        _ => format!("{value:.1} {unit}"),
    }
}

/// The figures recorded between the markers: `| name | value | unit |` rows.
fn recorded(doc: &str) -> Vec<Figure> {
    let Some(block) = doc
        .split_once(BEGIN)
        .and_then(|(_, rest)| rest.split_once(END))
        .map(|(block, _)| block)
    else {
        return Vec::new();
    };
    block
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line
                .trim()
                .trim_matches('|')
                .split('|')
                .map(str::trim)
                .collect();
            let [name, value, unit] = cells[..] else {
                return None;
            };
            let value: f64 = value.replace(',', "").parse().ok()?;
            let unit = match unit {
                "s" => "s",
                "bytes" => "bytes",
                _ => return None,
            };
            Some(Figure {
                name: name.to_owned(),
                value,
                unit,
            })
        })
        .collect()
}

/// `doc` with the table between the markers replaced by `figures` (the
/// markers and table appended when missing).
fn with_table(doc: &str, figures: &[Figure]) -> Result<String> {
    let mut table = String::from("\n| figure | value | unit |\n|---|---|---|\n");
    for figure in figures {
        let value = match figure.unit {
            "bytes" => format!("{:.0}", figure.value),
            _ => format!("{:.1}", figure.value),
        };
        table.push_str(&format!(
            "| {} | {value} | {} |\n",
            figure.name, figure.unit
        ));
    }
    match doc.split_once(BEGIN) {
        Some((before, rest)) => {
            let (_, after) = rest
                .split_once(END)
                .with_context(|| format!("{DOC} has the budgets' start marker but no end"))?;
            Ok(format!("{before}{BEGIN}{table}{END}{after}"))
        }
        None => Ok(format!("{}\n\n{BEGIN}{table}{END}\n", doc.trim_end())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figure(name: &str, value: f64, unit: &'static str) -> Figure {
        Figure {
            name: name.to_owned(),
            value,
            unit,
        }
    }

    #[test]
    fn recorded_figures_read_back_what_was_written() {
        let figures = [
            figure("types-only consumer: clean release build", 21.4, "s"),
            figure(
                "webhook-only consumer: stripped binary",
                2_345_678.0,
                "bytes",
            ),
        ];
        let doc = with_table("# Benchmarks\n\nText.\n", &figures).unwrap();
        assert_eq!(recorded(&doc), figures);
        // Written again in place: the rest of the document is kept.
        let again = with_table(&(doc.clone() + "\nAfter.\n"), &figures[..1]).unwrap();
        assert!(again.starts_with("# Benchmarks\n\nText.\n"));
        assert!(again.ends_with("\nAfter.\n"));
        assert_eq!(recorded(&again), figures[..1]);
    }

    #[test]
    fn no_markers_no_figures() {
        assert!(recorded("# Benchmarks\n| a | 1 | s |\n").is_empty());
    }
}
