//! `cargo xtask codegen [--check]`: renders the API contract
//! (`docs/api/openapi.yaml`) into the checked-in generated files.
//!
//! Rendering is a pure function of the contract (and of rustfmt), in the
//! contract's order, so a file is rewritten only when the contract changed and
//! `--check` can compare text.

mod contract;
#[cfg(test)]
mod fixture;
mod markdown;
mod rustfmt;
mod sync;
mod table_rs;

use std::path::Path;

use anyhow::{Result, bail};

use sync::Generated;

/// The contract, relative to the workspace root.
const CONTRACT: &str = "docs/api/openapi.yaml";
/// The generated endpoint table of kaizala-core.
const TABLE_RS: &str = "crates/kaizala-core/src/endpoint/table.rs";
/// The generated human-readable endpoint list.
const ENDPOINTS_MD: &str = "docs/api/endpoints.md";

/// Entry point of `cargo xtask codegen`; `check` is `--check`.
pub(crate) fn run(check: bool) -> Result<()> {
    run_in(&crate::workspace_root(), check)
}

/// `run` against the workspace at `root`.
fn run_in(root: &Path, check: bool) -> Result<()> {
    let files = render(root)?;
    if check {
        let outdated = sync::outdated(root, &files)?;
        if outdated.is_empty() {
            println!("generated files are up to date");
            return Ok(());
        }
        for file in &outdated {
            eprintln!("{file}");
        }
        bail!(
            "{} generated file(s) out of date with {CONTRACT}; run `cargo xtask codegen`",
            outdated.len()
        );
    }
    let written = sync::write(root, &files)?;
    if written.is_empty() {
        println!("generated files are up to date");
    }
    for path in written {
        println!("wrote {path}");
    }
    Ok(())
}

/// Every generated file, rendered in memory from the contract under `root`.
fn render(root: &Path) -> Result<Vec<Generated>> {
    let contract = contract::load(&root.join(CONTRACT))?;
    Ok(vec![
        Generated {
            path: TABLE_RS,
            contents: rustfmt::format(&table_rs::render(&contract), root)?,
        },
        Generated {
            path: ENDPOINTS_MD,
            contents: markdown::render(&contract),
        },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use fixture::TempDir;
    use sync::Outdated;

    fn workspace_with_fixture(tag: &str) -> TempDir {
        let dir = TempDir::new(tag);
        let contract = dir.path().join(CONTRACT);
        std::fs::create_dir_all(contract.parent().unwrap()).unwrap();
        std::fs::write(contract, fixture::CONTRACT).unwrap();
        dir
    }

    #[test]
    fn rendering_is_deterministic() {
        let root = crate::workspace_root();
        let first = render(&root).unwrap();
        assert_eq!(first, render(&root).unwrap());

        let dir = workspace_with_fixture("deterministic");
        assert_eq!(render(dir.path()).unwrap(), render(dir.path()).unwrap());
    }

    #[test]
    fn generated_code_follows_the_contract_order_and_is_rustfmt_clean() {
        let root = crate::workspace_root();
        let contract = contract::load(&root.join(CONTRACT)).unwrap();
        assert_eq!(contract.operations.len(), 32);
        let files = render(&root).unwrap();
        let table = &files[0].contents;
        let mut last = 0;
        for op in &contract.operations {
            let at = table
                .find(&format!("    {},\n", op.variant()))
                .unwrap_or_else(|| panic!("no variant for {}", op.id));
            assert!(at > last, "{} is out of order", op.id);
            last = at;
        }
        assert_eq!(&rustfmt::format(table, &root).unwrap(), table);
    }

    #[test]
    fn check_mode_detects_stale_and_missing_files() {
        let dir = workspace_with_fixture("check");
        let root = dir.path();
        assert!(run_in(root, true).is_err(), "nothing generated yet");

        run_in(root, false).unwrap();
        run_in(root, true).unwrap();
        assert!(
            sync::outdated(root, &render(root).unwrap())
                .unwrap()
                .is_empty()
        );

        let table = root.join(TABLE_RS);
        let edited = std::fs::read_to_string(&table).unwrap() + "// edited by hand\n";
        std::fs::write(&table, edited).unwrap();
        std::fs::remove_file(root.join(ENDPOINTS_MD)).unwrap();
        assert_eq!(
            sync::outdated(root, &render(root).unwrap()).unwrap(),
            [Outdated::Stale(TABLE_RS), Outdated::Missing(ENDPOINTS_MD)]
        );
        let err = run_in(root, true).unwrap_err();
        assert!(
            format!("{err}").contains("2 generated file(s) out of date"),
            "{err}"
        );
        assert!(!root.join(ENDPOINTS_MD).exists(), "--check writes nothing");

        // Writing repairs exactly what was out of date.
        run_in(root, false).unwrap();
        run_in(root, true).unwrap();
    }

    #[test]
    fn a_contract_change_makes_the_files_stale() {
        let dir = workspace_with_fixture("contract-change");
        let root = dir.path();
        run_in(root, false).unwrap();
        let contract = root.join(CONTRACT);
        let changed =
            fixture::CONTRACT.replace("summary: Get a token.", "summary: Get a new token.");
        std::fs::write(contract, changed).unwrap();
        assert_eq!(
            sync::outdated(root, &render(root).unwrap()).unwrap(),
            [Outdated::Stale(TABLE_RS), Outdated::Stale(ENDPOINTS_MD)]
        );
    }

    #[test]
    fn an_invalid_contract_fails_naming_the_operation() {
        let dir = workspace_with_fixture("invalid");
        let root = dir.path();
        let broken = fixture::CONTRACT.replace("      x-kaizala-scope: thing.read\n", "");
        std::fs::write(root.join(CONTRACT), broken).unwrap();
        let err = format!("{:#}", run_in(root, false).unwrap_err());
        assert!(
            err.contains("operation `getThing`") && err.contains("missing x-kaizala-scope"),
            "{err}"
        );
        assert!(!root.join(TABLE_RS).exists(), "nothing is written");
    }

    #[test]
    fn checked_in_files_are_up_to_date() {
        let root = crate::workspace_root();
        let outdated = sync::outdated(&root, &render(&root).unwrap()).unwrap();
        assert!(
            outdated.is_empty(),
            "run `cargo xtask codegen`: {outdated:?}"
        );
    }
}
