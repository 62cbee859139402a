//! `cargo xtask test`: the whole test suite (unit, integration, doc tests,
//! benchmarks run once as tests).

use anyhow::Result;

use crate::cmd;

pub(crate) fn run() -> Result<()> {
    cmd::run(&mut cmd::cargo([
        "test",
        "--workspace",
        "--all-targets",
        "--locked",
    ]))?;
    // `--all-targets` leaves doc tests out; they are examples users copy.
    cmd::run(&mut cmd::cargo([
        "test",
        "--workspace",
        "--doc",
        "--locked",
    ]))?;
    Ok(())
}
