//! The test suite's Pythons: one virtual environment per entry of
//! [`ENVS`], each with its own pinned PyPI packages (made once under
//! `target/`, reused, made again when its list changes), given to tests in
//! its variable — or the caller's, if that variable is set.
//!
//! Several venvs rather than one because the clients tests drive pin
//! incompatible versions of what they share (PyAirbyte: SQLAlchemy 1.4 and
//! an older DuckDB; `target-jsonl`: jsonschema 2.6; MeltanoLabs'
//! `target-postgres`: SQLAlchemy 2).

use std::path::PathBuf;

use anyhow::{Result, anyhow};

use crate::python::{Venv, system_python_can_make_venvs};

/// The main test Python's variable (the one a hint about a missing
/// system Python names).
pub(crate) const VAR: &str = "KAIZALA_TEST_PYTHON";
/// The Debian packages a venv is made with.
pub(crate) const PACKAGES: [&str; 2] = ["python3", "python3-venv"];
/// The oldest Python every list supports (PyAirbyte's 3.10).
const MIN_PYTHON: (u32, u32) = (3, 10);

/// What the main test Python imports, pinned. DuckDB reads the Parquet
/// exports back (`crates/kaizala-cli/tests/parquet.rs`); pyodata (with
/// requests) reads the OData feed (`crates/kaizala-cli/tests/odata_feed.rs`).
pub(crate) const REQUIREMENTS: &[&str] = &["duckdb==2.0.1", "pyodata==1.12.1", "requests==2.34.2"];

/// PyAirbyte runs `kaizala airbyte` into its DuckDB cache; the protocol's
/// models check every message (`crates/kaizala-cli/tests/connectors.rs`).
/// (PyAirbyte brings the pydantic 2 build of the models; pinned here too
/// because the tests import it.)
const AIRBYTE_REQUIREMENTS: &[&str] = &["airbyte==0.71.3", "airbyte-protocol-models-pdv2==0.18.0"];

/// A Singer target that writes JSON lines files.
const SINGER_REQUIREMENTS: &[&str] = &["target-jsonl==0.1.4"];

/// MeltanoLabs' PostgreSQL Singer target.
const SINGER_PG_REQUIREMENTS: &[&str] = &["meltanolabs-target-postgres==0.8.1"];

/// One test Python: the variable tests read, its venv and what goes in.
pub(crate) struct Env {
    /// The variable naming its Python.
    pub(crate) var: &'static str,
    /// The venv, relative to the workspace root.
    venv: &'static str,
    /// Pinned requirements (`name==version`).
    requirements: &'static [&'static str],
    /// Who needs it, for messages.
    purpose: &'static str,
}

/// Every test Python.
pub(crate) const ENVS: [Env; 4] = [
    Env {
        var: VAR,
        venv: "target/test-venv",
        requirements: REQUIREMENTS,
        purpose: "the test suite (DuckDB reads the Parquet exports)",
    },
    Env {
        var: "KAIZALA_TEST_PYTHON_AIRBYTE",
        venv: "target/test-venv-airbyte",
        requirements: AIRBYTE_REQUIREMENTS,
        purpose: "the Airbyte source's tests (PyAirbyte, the protocol's models)",
    },
    Env {
        var: "KAIZALA_TEST_PYTHON_SINGER",
        venv: "target/test-venv-singer",
        requirements: SINGER_REQUIREMENTS,
        purpose: "the Singer tap's tests (target-jsonl)",
    },
    Env {
        var: "KAIZALA_TEST_PYTHON_SINGER_PG",
        venv: "target/test-venv-singer-pg",
        requirements: SINGER_PG_REQUIREMENTS,
        purpose: "the Singer tap's tests (MeltanoLabs' target-postgres)",
    },
];

/// What [`locate`] found.
pub(crate) struct Found {
    /// Per entry of [`ENVS`], the caller's Python.
    given: Vec<Option<String>>,
    /// Whether a system Python can make the venvs not given.
    system: bool,
}

impl Found {
    /// A venv is needed and no system Python can make it.
    pub(crate) fn is_missing(&self) -> bool {
        !self.system && self.given.iter().any(Option::is_none)
    }
}

/// The caller's Pythons, and whether the system's can make the others.
pub(crate) fn locate() -> Found {
    let given: Vec<Option<String>> = ENVS.iter().map(|env| super::given(env.var)).collect();
    let system = given.iter().all(Option::is_some) || system_python_can_make_venvs(MIN_PYTHON);
    Found { given, system }
}

/// The Pythons the tests use.
pub(crate) struct Python {
    /// Per entry of [`ENVS`], the venv's Python; `None` for the caller's,
    /// which test processes inherit as it is.
    made: Vec<Option<PathBuf>>,
}

impl Python {
    /// Makes (or checks) the venvs not given, side by side (their installs
    /// are mostly waiting on the network); one line each.
    pub(crate) fn provision(found: Found) -> Result<Python> {
        let root = crate::workspace_root();
        let made = std::thread::scope(|scope| {
            let jobs: Vec<_> = ENVS
                .iter()
                .zip(&found.given)
                .map(|(env, given)| {
                    let root = &root;
                    scope.spawn(move || -> Result<Option<PathBuf>> {
                        if let Some(path) = given {
                            eprintln!("python: using {} ({path})", env.var);
                            return Ok(None);
                        }
                        Venv {
                            dir: root.join(env.venv),
                            requirements: env.requirements,
                            min_python: MIN_PYTHON,
                            purpose: env.purpose,
                        }
                        .ensure()
                        .map(Some)
                    })
                })
                .collect();
            jobs.into_iter()
                .map(|job| {
                    job.join()
                        .unwrap_or_else(|_| Err(anyhow!("making a test venv panicked")))
                })
                .collect::<Result<Vec<_>>>()
        })?;
        Ok(Python { made })
    }

    /// The caller's Python for every variable (nothing to export).
    #[cfg(test)]
    pub(crate) fn given() -> Python {
        Python {
            made: ENVS.iter().map(|_| None).collect(),
        }
    }

    /// The variables xtask chose, with their Python.
    pub(crate) fn found_paths(&self) -> impl Iterator<Item = (&'static str, &PathBuf)> {
        ENVS.iter()
            .zip(&self.made)
            .filter_map(|(env, made)| Some((env.var, made.as_ref()?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_requirement_is_pinned_and_every_venv_its_own() {
        let mut vars: Vec<&str> = ENVS.iter().map(|env| env.var).collect();
        let mut dirs: Vec<&str> = ENVS.iter().map(|env| env.venv).collect();
        vars.sort_unstable();
        vars.dedup();
        dirs.sort_unstable();
        dirs.dedup();
        assert_eq!((vars.len(), dirs.len()), (ENVS.len(), ENVS.len()));
        for env in &ENVS {
            assert!(env.var.starts_with(VAR));
            for requirement in env.requirements {
                let (name, version) = requirement.split_once("==").unwrap();
                assert!(!name.is_empty() && !version.is_empty(), "{requirement}");
            }
        }
    }
}
