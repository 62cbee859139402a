//! The test suite's Python: a virtual environment in `target/test-venv`
//! with the pinned PyPI packages of [`REQUIREMENTS`] (made once, reused,
//! updated when the list changes), given to tests as `KAIZALA_TEST_PYTHON`
//! — or the caller's, if that variable is set.

use std::path::PathBuf;

use anyhow::Result;

use crate::python::{Venv, system_python_can_make_venvs};

/// The Python tests run (with the packages below importable).
pub(crate) const VAR: &str = "KAIZALA_TEST_PYTHON";
/// The Debian packages a venv is made with.
pub(crate) const PACKAGES: [&str; 2] = ["python3", "python3-venv"];
/// The venv, relative to the workspace root.
const VENV: &str = "target/test-venv";
/// The oldest Python the packages support.
const MIN_PYTHON: (u32, u32) = (3, 9);

/// What tests import, pinned: one list, one venv. DuckDB reads the Parquet
/// exports back (`crates/kaizala-cli/tests/parquet.rs`); pyodata (with
/// requests) reads the OData feed (`crates/kaizala-cli/tests/odata_feed.rs`).
pub(crate) const REQUIREMENTS: &[&str] = &["duckdb==2.0.1", "pyodata==1.12.1", "requests==2.34.2"];

/// What [`locate`] found.
pub(crate) enum Found {
    /// The caller's `KAIZALA_TEST_PYTHON`.
    Given(String),
    /// A system Python that can make the venv.
    System,
    Missing,
}

impl Found {
    pub(crate) fn is_missing(&self) -> bool {
        matches!(self, Found::Missing)
    }
}

/// The caller's Python if set, else whether the system's can make a venv.
pub(crate) fn locate() -> Found {
    if let Some(path) = super::given(VAR) {
        return Found::Given(path);
    }
    if system_python_can_make_venvs(MIN_PYTHON) {
        Found::System
    } else {
        Found::Missing
    }
}

/// The Python the tests use.
pub(crate) enum Python {
    /// The caller's, inherited by test processes as it is.
    Given,
    /// The venv's.
    Venv(PathBuf),
}

impl Python {
    /// Makes (or checks) the venv; prints one line.
    pub(crate) fn provision(found: Found) -> Result<Python> {
        match found {
            Found::Given(path) => {
                eprintln!("python: using {VAR} ({path})");
                Ok(Python::Given)
            }
            Found::System | Found::Missing => Venv {
                dir: crate::workspace_root().join(VENV),
                requirements: REQUIREMENTS,
                min_python: MIN_PYTHON,
                purpose: "the test suite (DuckDB reads the Parquet exports)",
            }
            .ensure()
            .map(Python::Venv),
        }
    }

    /// The path for [`VAR`], when xtask chose it.
    pub(crate) fn found_path(&self) -> Option<&PathBuf> {
        match self {
            Python::Given => None,
            Python::Venv(path) => Some(path),
        }
    }
}
