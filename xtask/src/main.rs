//! `cargo xtask <command>`: the project's automation, written in Rust so it
//! runs wherever cargo does.

mod bench;
mod boundary;
mod budgets;
mod ci;
mod cmd;
mod codegen;
mod conformance;
mod fuzz;
mod policy;
mod python;
mod release;
mod services;
#[cfg(test)]
mod tempdir;
mod test;
mod tools;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  test                run the whole test suite (unit, integration and doc tests) with the
                      PostgreSQL and Chromium it needs, installed with apt-get if missing
                      (see docs/testing.md)
  services            start those services for running single tests by hand: prints the
                      `export` lines for your shell, stops them on Enter or Ctrl-C
  ci                  every check CI runs: format, generated code, dependency boundary,
                      clippy, dependency policy (cargo deny), the facade's feature
                      combinations, kaizala-types built alone, tests, fuzz smoke, docs
  codegen [--check]   render docs/api/openapi.yaml into the checked-in generated files;
                      with --check, change nothing and fail listing stale files
  bench               run the benchmarks and print throughput and ratios as markdown
  budgets [--record]  time the clean release builds of a kaizala-types-only and a
                      webhook-only program and size the latter's stripped binary;
                      warn on growth over 20% of docs/benchmarks.md's figures
  fuzz [TARGET] [--seconds N]
                      a libFuzzer campaign (cargo-fuzz, installed in target/tools) on each
                      target in fuzz/, or the one named (odata_filter: the OData $filter
                      parser and its SQL); 600 s each unless told; CI runs each for 20 s
  conformance         fuzz the emulator with schemathesis against docs/api/openapi.yaml
                      (Python 3.11+; installs schemathesis in target/conformance-venv)
  release <version> [--dry-run] [--allow-dirty]
                      bump every published crate to <version>, move the CHANGELOG's
                      Unreleased section, verify `cargo package`, commit, tag v<version>
                      and `cargo publish` each crate in dependency order (stopping at
                      the first failure); with --dry-run, change nothing: rehearse it in
                      target/release-rehearsal (test each unpacked package, publish to a
                      local registry, build and run three consumers from it; see
                      docs/releasing.md)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("codegen") => match &args[1..] {
            [] => codegen::run(false),
            [flag] if flag == "--check" => codegen::run(true),
            _ => Err(anyhow::anyhow!("codegen takes only --check\n\n{USAGE}")),
        },
        Some("test") => no_args(&args, test::run),
        Some("ci") => no_args(&args, ci::run),
        Some("services") => no_args(&args, services::run),
        Some("bench") => no_args(&args, bench::run),
        Some("budgets") => budgets::run(&args[1..]),
        Some("conformance") => no_args(&args, conformance::run),
        Some("release") => release::run(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other) => Err(anyhow::anyhow!("unknown command `{other}`\n\n{USAGE}")),
        None => Err(anyhow::anyhow!("no command given\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn no_args(args: &[String], command: fn() -> anyhow::Result<()>) -> anyhow::Result<()> {
    match &args[1..] {
        [] => command(),
        extra => Err(anyhow::anyhow!(
            "{} takes no arguments (got {})\n\n{USAGE}",
            args[0],
            extra.join(" ")
        )),
    }
}

/// The workspace root (the parent of this crate's directory).
pub(crate) fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}
