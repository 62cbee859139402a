//! The dependency boundary of DESIGN.md: `kaizala-types` and `kaizala-core`
//! are transport-free, so an embedder parsing webhooks never compiles an
//! async runtime. This fails if either reaches tokio or hyper through normal
//! or build dependencies (dev-dependencies are exempt: tests may use them).
//! Likewise the libraries stay free of Apache Arrow: Parquet is a feature of
//! the `kaizala` binary alone.

use std::collections::{BTreeMap, VecDeque};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::cmd;

/// Crates that must stay transport-free.
pub(crate) const TRANSPORT_FREE: &[&str] = &["kaizala-types", "kaizala-core"];

/// Crates they must not reach.
pub(crate) const FORBIDDEN: &[&str] = &["tokio", "hyper", "hyper-util", "mio"];

/// The library crates, which must not reach Apache Arrow.
pub(crate) const LIBRARIES: &[&str] = &[
    "kaizala-types",
    "kaizala-core",
    "kaizala-client",
    "kaizala-webhook",
    "kaizala-emulator",
    "kaizala-sink",
    "kaizala",
];

/// Apache Arrow and its Parquet writer (`kaizala-cli`'s `parquet` feature).
pub(crate) const ARROW: &[&str] = &[
    "arrow-array",
    "arrow-buffer",
    "arrow-data",
    "arrow-schema",
    "parquet",
];

pub(crate) fn run() -> Result<()> {
    let json = cmd::output(&mut cmd::cargo(["metadata", "--format-version", "1"]))?;
    let metadata: Value =
        serde_json::from_str(&json).context("cargo metadata printed invalid JSON")?;
    let mut all = Vec::new();
    for (roots, forbidden) in [(TRANSPORT_FREE, FORBIDDEN), (LIBRARIES, ARROW)] {
        let found = violations(&metadata, roots, forbidden)?;
        if found.is_empty() {
            println!(
                "dependency boundary holds: {} reach none of {}",
                roots.join(", "),
                forbidden.join(", ")
            );
        }
        all.extend(found);
    }
    if all.is_empty() {
        return Ok(());
    }
    for chain in &all {
        eprintln!("  {chain}");
    }
    bail!("{} forbidden dependency path(s)", all.len());
}

/// Every shortest chain `root -> … -> forbidden` over non-dev edges of the
/// resolved graph in `cargo metadata` output.
pub(crate) fn violations(
    metadata: &Value,
    roots: &[&str],
    forbidden: &[&str],
) -> Result<Vec<String>> {
    let packages = metadata["packages"]
        .as_array()
        .context("metadata has no packages")?;
    let name_of: BTreeMap<&str, &str> = packages
        .iter()
        .filter_map(|p| Some((p["id"].as_str()?, p["name"].as_str()?)))
        .collect();
    let nodes = metadata["resolve"]["nodes"]
        .as_array()
        .context("metadata has no resolve graph")?;
    let mut edges: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for node in nodes {
        let id = node["id"].as_str().context("node without id")?;
        let deps = node["deps"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        let targets = deps
            .iter()
            .filter(|dep| {
                dep["dep_kinds"]
                    .as_array()
                    .is_some_and(|kinds| kinds.iter().any(|k| k["kind"].as_str() != Some("dev")))
            })
            .filter_map(|dep| dep["pkg"].as_str());
        edges.insert(id, targets.collect());
    }

    let mut out = Vec::new();
    for root in roots {
        let Some(start) = name_of
            .iter()
            .find(|(_, name)| *name == root)
            .map(|(id, _)| *id)
        else {
            bail!("{root} is not in the workspace");
        };
        // Breadth-first, so each reported chain is a shortest one.
        let mut parent: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = VecDeque::from([start]);
        while let Some(id) = queue.pop_front() {
            for &next in edges.get(id).map(Vec::as_slice).unwrap_or_default() {
                if next == start || parent.contains_key(next) {
                    continue;
                }
                parent.insert(next, id);
                if forbidden.contains(&name_of.get(next).copied().unwrap_or_default()) {
                    let mut chain = vec![name_of[next]];
                    let mut at = id;
                    while at != start {
                        chain.push(name_of[at]);
                        at = parent[at];
                    }
                    chain.push(root);
                    chain.reverse();
                    out.push(chain.join(" -> "));
                } else {
                    queue.push_back(next);
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dep(pkg: &str, kind: Option<&str>) -> Value {
        json!({"name": pkg, "pkg": pkg, "dep_kinds": [{"kind": kind, "target": null}]})
    }

    fn metadata(edges: &[(&str, Vec<Value>)]) -> Value {
        let names = [
            "kaizala-types",
            "kaizala-core",
            "http",
            "bytes",
            "tokio",
            "mio",
            "criterion",
            "hyper",
        ];
        json!({
            "packages": names.iter().map(|n| json!({"id": n, "name": n})).collect::<Vec<_>>(),
            "resolve": {"nodes": edges.iter().map(|(id, deps)| json!({"id": id, "deps": deps})).collect::<Vec<_>>()},
        })
    }

    #[test]
    fn clean_graph_passes() {
        let graph = metadata(&[
            ("kaizala-types", vec![dep("criterion", Some("dev"))]),
            ("criterion", vec![dep("tokio", None)]),
            (
                "kaizala-core",
                vec![dep("kaizala-types", None), dep("http", None)],
            ),
            ("http", vec![dep("bytes", None)]),
        ]);
        assert_eq!(
            violations(&graph, TRANSPORT_FREE, FORBIDDEN).unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn transitive_path_is_reported_with_its_chain() {
        let graph = metadata(&[
            ("kaizala-types", vec![]),
            (
                "kaizala-core",
                vec![dep("kaizala-types", None), dep("http", None)],
            ),
            ("http", vec![dep("bytes", None)]),
            ("bytes", vec![dep("tokio", Some("build"))]),
            ("tokio", vec![dep("mio", None)]),
        ]);
        assert_eq!(
            violations(&graph, TRANSPORT_FREE, FORBIDDEN).unwrap(),
            vec!["kaizala-core -> http -> bytes -> tokio".to_owned()]
        );
    }

    #[test]
    fn direct_dependency_is_reported() {
        let graph = metadata(&[
            ("kaizala-types", vec![dep("hyper", None)]),
            ("kaizala-core", vec![]),
        ]);
        assert_eq!(
            violations(&graph, TRANSPORT_FREE, FORBIDDEN).unwrap(),
            vec!["kaizala-types -> hyper".to_owned()]
        );
    }

    #[test]
    fn the_workspace_keeps_arrow_in_the_binary() {
        let json = cmd::output(&mut cmd::cargo(["metadata", "--format-version", "1"])).unwrap();
        let metadata: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            violations(&metadata, LIBRARIES, ARROW).unwrap(),
            Vec::<String>::new()
        );
        // The check sees the binary's own dependency.
        assert_eq!(
            violations(&metadata, &["kaizala-cli"], &["parquet"]).unwrap(),
            vec!["kaizala-cli -> parquet".to_owned()]
        );
    }
}
