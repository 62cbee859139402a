//! `cargo xtask test`: the whole test suite (unit, integration, doc tests,
//! benchmarks run once as tests), with the external services it needs
//! (PostgreSQL, Chromium; see `services` and docs/testing.md) provisioned
//! first and a PostgreSQL started here stopped afterwards, whatever happens.

use anyhow::{Result, anyhow};

use crate::{cmd, services};

pub(crate) fn run() -> Result<()> {
    // Fails at once, before any building, if a service is missing and cannot
    // be installed.
    let plan = services::plan()?;
    // On a fresh machine the apt-get install takes about as long as building
    // the tests: do both at once.
    let (built, services) = std::thread::scope(|scope| {
        let provisioning = scope.spawn(|| plan.provision());
        let built = cmd::run(&mut cmd::cargo([
            "test",
            "--workspace",
            "--all-targets",
            "--locked",
            "--no-run",
        ]));
        let services = provisioning
            .join()
            .unwrap_or_else(|_| Err(anyhow!("provisioning the test services panicked")));
        (built, services)
    });
    // Either failing drops the other, which stops a started server.
    let services = services?;
    built?;

    let mut all = cmd::cargo(["test", "--workspace", "--all-targets", "--locked"]);
    services.apply(&mut all);
    cmd::run(&mut all)?;
    // `--all-targets` leaves doc tests out; they are examples users copy.
    let mut doc = cmd::cargo(["test", "--workspace", "--doc", "--locked"]);
    services.apply(&mut doc);
    cmd::run(&mut doc)?;
    Ok(())
}
