//! Gates on what the workspace depends on and how it can be depended on:
//! `cargo deny` (licences, one version of each crate, crates.io only; see
//! `deny.toml`) and every feature combination of the facade.

use anyhow::{Context, Result};
use toml_edit::DocumentMut;

use crate::{cmd, tools, workspace_root};

/// The facade, whose features users pick from.
const FACADE: &str = "kaizala";

/// `cargo deny check licenses bans sources`. Advisories are left out: the
/// RustSec database comes from the network, which CI does not reach.
pub(crate) fn deny() -> Result<()> {
    let mut deny = tools::CARGO_DENY.command()?;
    deny.args(["--locked", "check", "licenses", "bans", "sources"]);
    cmd::run(&mut deny)
}

/// `cargo check` of the facade with each subset of its features (none,
/// each alone, every pair, …, all), so no combination a user may pick
/// fails to build.
pub(crate) fn feature_powerset() -> Result<()> {
    let features = facade_features()?;
    for set in powerset(&features) {
        let mut check = cmd::cargo(["check", "-p", FACADE, "--no-default-features", "--locked"]);
        if !set.is_empty() {
            check.args(["--features", &set.join(",")]);
        }
        cmd::run(&mut check)?;
    }
    Ok(())
}

/// The facade's features, but `default` (a subset like any other).
fn facade_features() -> Result<Vec<String>> {
    let path = workspace_root()
        .join("crates")
        .join(FACADE)
        .join("Cargo.toml");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let manifest: DocumentMut = text
        .parse()
        .with_context(|| format!("parsing {}", path.display()))?;
    Ok(manifest
        .get("features")
        .and_then(|item| item.as_table_like())
        .map(|table| {
            table
                .iter()
                .map(|(name, _)| name.to_owned())
                .filter(|name| name != "default")
                .collect()
        })
        .unwrap_or_default())
}

/// Every subset of `items`, the empty one first.
fn powerset(items: &[String]) -> Vec<Vec<&str>> {
    (0..1u32 << items.len())
        .map(|mask| {
            items
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, item)| item.as_str())
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_powerset_has_every_subset_once() {
        let items = ["a".to_owned(), "b".to_owned(), "c".to_owned()];
        let sets = powerset(&items);
        assert_eq!(sets.len(), 8);
        assert_eq!(sets[0], Vec::<&str>::new());
        assert!(sets.contains(&vec!["a", "c"]));
        assert_eq!(sets[7], vec!["a", "b", "c"]);
        let mut unique = sets.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 8);
    }

    #[test]
    fn the_facade_features_are_read_without_default() {
        let features = facade_features().unwrap();
        assert!(features.contains(&"webhook".to_owned()), "{features:?}");
        assert!(!features.contains(&"default".to_owned()));
    }
}
