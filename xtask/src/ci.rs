//! `cargo xtask ci`: every check CI holds a change to, in order of cost, so a
//! formatting slip fails in seconds rather than after the test suite.

use std::time::Instant;

use anyhow::{Context, Result};

use crate::{boundary, cmd, codegen, fuzz, policy, test};

/// A named check.
type Step = (&'static str, fn() -> Result<()>);

pub(crate) fn run() -> Result<()> {
    let steps: [Step; 10] = [
        ("format", || {
            cmd::run(&mut cmd::cargo(["fmt", "--all", "--", "--check"]))
        }),
        ("generated code", || codegen::run(true)),
        ("dependency boundary", boundary::run),
        ("clippy", || {
            cmd::run(&mut cmd::cargo([
                "clippy",
                "--workspace",
                "--all-targets",
                "--locked",
                "--",
                "-D",
                "warnings",
            ]))
        }),
        ("dependency policy (cargo deny)", policy::deny),
        ("facade feature combinations", policy::feature_powerset),
        ("kaizala-types alone, no default features", || {
            cmd::run(&mut cmd::cargo([
                "build",
                "-p",
                "kaizala-types",
                "--no-default-features",
                "--locked",
            ]))
        }),
        ("tests", test::run),
        ("fuzz smoke", fuzz::smoke),
        ("docs", || {
            let mut doc = cmd::cargo(["doc", "--workspace", "--no-deps", "--locked"]);
            doc.env("RUSTDOCFLAGS", "-D warnings");
            cmd::run(&mut doc)
        }),
    ];
    let started = Instant::now();
    for (name, step) in steps {
        eprintln!("\n== {name}");
        let at = Instant::now();
        step().with_context(|| format!("ci step `{name}` failed"))?;
        eprintln!("== {name}: ok ({:.1} s)", at.elapsed().as_secs_f64());
    }
    eprintln!("\nci passed in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}
