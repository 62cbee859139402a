//! Registry index entries, in the format cargo documents
//! (<https://doc.rust-lang.org/cargo/reference/registry-index.html>), made
//! from a package's normalised manifest as `cargo metadata` reads it.

use std::collections::BTreeMap;

use anyhow::{Context, Result, ensure};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// crates.io's index: a dependency's `registry` when it comes from there.
pub(crate) const CRATES_IO_INDEX: &str = "https://github.com/rust-lang/crates.io-index";

/// One package as `cargo metadata --format-version 1` describes it.
#[derive(Debug, Deserialize)]
pub(crate) struct Package {
    pub(crate) name: String,
    pub(crate) version: String,
    dependencies: Vec<Dependency>,
    features: BTreeMap<String, Vec<String>>,
    links: Option<String>,
    rust_version: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Dependency {
    name: String,
    source: Option<String>,
    req: String,
    kind: Option<String>,
    rename: Option<String>,
    optional: bool,
    uses_default_features: bool,
    features: Vec<String>,
    target: Option<String>,
    registry: Option<String>,
}

/// One line of the index: a version of a crate.
#[derive(Debug, Serialize)]
pub(crate) struct Entry {
    name: String,
    vers: String,
    deps: Vec<EntryDependency>,
    cksum: String,
    features: BTreeMap<String, Vec<String>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    features2: BTreeMap<String, Vec<String>>,
    yanked: bool,
    links: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rust_version: Option<String>,
    v: u32,
}

#[derive(Debug, Serialize)]
struct EntryDependency {
    name: String,
    req: String,
    features: Vec<String>,
    optional: bool,
    default_features: bool,
    target: Option<String>,
    kind: String,
    /// `None`: the registry the entry is in.
    registry: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    package: Option<String>,
}

/// The `cargo metadata --no-deps` description of the package at the root
/// of `metadata`.
pub(crate) fn package_of(metadata: &str) -> Result<Package> {
    #[derive(Deserialize)]
    struct Metadata {
        packages: Vec<Package>,
    }
    let mut metadata: Metadata =
        serde_json::from_str(metadata).context("reading `cargo metadata` output")?;
    ensure!(
        metadata.packages.len() == 1,
        "`cargo metadata --no-deps` of a package described {} packages",
        metadata.packages.len()
    );
    Ok(metadata.packages.remove(0))
}

/// The index entry of `package`, whose `.crate` file is `crate_file`.
/// Dependencies named in `ours` are published in the same registry; every
/// other one comes from crates.io unless the manifest names a registry.
pub(crate) fn entry(package: &Package, crate_file: &[u8], ours: &[String]) -> Result<Entry> {
    let deps = package
        .dependencies
        .iter()
        .map(|dep| {
            ensure!(
                dep.source.is_some(),
                "{} depends on {} by path only, outside a dev-dependency: it cannot be published",
                package.name,
                dep.name
            );
            let registry = if ours.contains(&dep.name) {
                None
            } else {
                Some(
                    dep.registry
                        .clone()
                        .unwrap_or_else(|| CRATES_IO_INDEX.to_owned()),
                )
            };
            Ok(EntryDependency {
                // The index names a dependency as the manifest that uses it does.
                name: dep.rename.clone().unwrap_or_else(|| dep.name.clone()),
                req: dep.req.clone(),
                features: dep.features.clone(),
                optional: dep.optional,
                default_features: dep.uses_default_features,
                target: dep.target.clone(),
                kind: dep.kind.clone().unwrap_or_else(|| "normal".to_owned()),
                registry,
                package: dep.rename.as_ref().map(|_| dep.name.clone()),
            })
        })
        .collect::<Result<_>>()?;
    // Cargo older than 1.60 cannot read `dep:` and `?/` values, so the index
    // keeps them in `features2`, which those versions ignore.
    let (features2, features): (BTreeMap<_, _>, BTreeMap<_, _>) = package
        .features
        .clone()
        .into_iter()
        .partition(|(_, values)| {
            values
                .iter()
                .any(|value| value.starts_with("dep:") || value.contains("?/"))
        });
    Ok(Entry {
        name: package.name.clone(),
        vers: package.version.clone(),
        deps,
        cksum: sha256_hex(crate_file),
        v: if features2.is_empty() { 1 } else { 2 },
        features,
        features2,
        yanked: false,
        links: package.links.clone(),
        rust_version: package.rust_version.clone(),
    })
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Where a crate's entries live in the index: `1/a`, `2/ab`, `3/a/abc`,
/// else `ab/cd/abcd…`, all in lower case.
pub(crate) fn path_of(name: &str) -> String {
    let name = name.to_lowercase();
    match name.len() {
        1 => format!("1/{name}"),
        2 => format!("2/{name}"),
        3 => format!("3/{}/{name}", &name[..1]),
        _ => format!("{}/{}/{name}", &name[..2], &name[2..4]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `cargo metadata --no-deps` says of an unpacked `kaizala`
    /// package, trimmed to the fields read and three kinds of dependency.
    const METADATA: &str = r#"{"packages": [{
        "name": "kaizala", "version": "0.1.1", "links": null, "rust_version": "1.88",
        "features": {"client": ["dep:kaizala-client"], "default": ["client", "webhook"],
                     "tls": ["kaizala-client?/tls"], "plain": ["client"]},
        "dependencies": [
          {"name": "kaizala-client", "source": "registry+https://github.com/rust-lang/crates.io-index",
           "req": "^0.1.1", "kind": null, "rename": null, "optional": true,
           "uses_default_features": true, "features": [], "target": null, "registry": null},
          {"name": "futures-util", "source": "registry+https://github.com/rust-lang/crates.io-index",
           "req": "^0.3.31", "kind": "dev", "rename": "futures", "optional": false,
           "uses_default_features": false, "features": ["std"], "target": "cfg(unix)", "registry": null},
          {"name": "private", "source": "registry+https://example.com/index",
           "req": "=2", "kind": "build", "rename": null, "optional": false,
           "uses_default_features": true, "features": [], "target": null,
           "registry": "https://example.com/index"}
        ]}]}"#;

    fn entry_json(ours: &[&str]) -> serde_json::Value {
        let package = package_of(METADATA).unwrap();
        let ours: Vec<String> = ours.iter().map(|s| s.to_string()).collect();
        serde_json::to_value(entry(&package, b"the crate file", &ours).unwrap()).unwrap()
    }

    #[test]
    fn our_crates_come_from_the_same_registry_and_others_from_theirs() {
        let entry = entry_json(&["kaizala", "kaizala-client"]);
        let deps = entry["deps"].as_array().unwrap();
        assert_eq!(
            deps[0],
            serde_json::json!({"name": "kaizala-client", "req": "^0.1.1", "features": [],
                "optional": true, "default_features": true, "target": null,
                "kind": "normal", "registry": null})
        );
        assert_eq!(
            deps[1],
            serde_json::json!({"name": "futures", "package": "futures-util", "req": "^0.3.31",
                "features": ["std"], "optional": false, "default_features": false,
                "target": "cfg(unix)", "kind": "dev", "registry": CRATES_IO_INDEX})
        );
        assert_eq!(deps[2]["registry"], "https://example.com/index");
        assert_eq!(deps[2]["kind"], "build");

        let entry = entry_json(&["kaizala"]);
        assert_eq!(entry["deps"][0]["registry"], CRATES_IO_INDEX);
    }

    #[test]
    fn new_feature_syntax_goes_to_features2() {
        let entry = entry_json(&["kaizala-client"]);
        assert_eq!(
            entry["features"],
            serde_json::json!({"default": ["client", "webhook"], "plain": ["client"]})
        );
        assert_eq!(
            entry["features2"],
            serde_json::json!({"client": ["dep:kaizala-client"], "tls": ["kaizala-client?/tls"]})
        );
        assert_eq!(entry["v"], 2);
        assert_eq!(
            (
                &entry["name"],
                &entry["vers"],
                &entry["yanked"],
                &entry["links"]
            ),
            (
                &serde_json::json!("kaizala"),
                &serde_json::json!("0.1.1"),
                &serde_json::json!(false),
                &serde_json::Value::Null
            )
        );
        assert_eq!(entry["rust_version"], "1.88");
    }

    #[test]
    fn cksum_is_the_sha256_of_the_crate_file() {
        // sha256 of the 14 bytes "the crate file", from `sha256sum`.
        assert_eq!(
            entry_json(&[])["cksum"],
            "e53bdcbb76367a529199e3857a65ea1ae6306f83c0cd712b35190e2a7ef004ec"
        );
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn a_path_only_dependency_is_refused() {
        let metadata = METADATA.replacen(
            r#""source": "registry+https://github.com/rust-lang/crates.io-index""#,
            r#""source": null"#,
            1,
        );
        let package = package_of(&metadata).unwrap();
        let err = entry(&package, b"", &[]).unwrap_err().to_string();
        assert!(err.contains("by path only"), "{err}");
    }

    #[test]
    fn index_paths_follow_the_name_length() {
        assert_eq!(path_of("a"), "1/a");
        assert_eq!(path_of("ab"), "2/ab");
        assert_eq!(path_of("abc"), "3/a/abc");
        assert_eq!(path_of("Kaizala-Types"), "ka/iz/kaizala-types");
    }
}
