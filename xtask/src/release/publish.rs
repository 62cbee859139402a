//! The real release's last step: `cargo publish` of each crate in
//! dependency order, stopping at the first failure with what to do next.

use anyhow::{Result, anyhow};

/// Publishes `crates` in order with `publish`. On a failure, nothing after
/// it is tried, and the error says what is published, what failed and the
/// commands that finish the release.
pub(crate) fn in_order(
    crates: &[String],
    mut publish: impl FnMut(&str) -> Result<()>,
) -> Result<()> {
    for (index, name) in crates.iter().enumerate() {
        if let Err(err) = publish(name) {
            return Err(anyhow!(stopped(&crates[..index], &crates[index..], &err)));
        }
    }
    Ok(())
}

fn stopped(published: &[String], remaining: &[String], err: &anyhow::Error) -> String {
    let published = if published.is_empty() {
        "nothing yet".to_owned()
    } else {
        // A version on crates.io cannot be replaced, only yanked: the fix
        // goes into the crates still to publish.
        format!("{} (permanent on crates.io)", published.join(", "))
    };
    let mut text = format!(
        "publishing {} failed: {err:#}\n  published: {published}\n  next: fix the cause (the release commit and tag are in place; amend them if the fix changes files), then run, in this order:",
        remaining[0]
    );
    for name in remaining {
        text.push_str(&format!("\n    cargo publish -p {name}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crates() -> Vec<String> {
        ["kaizala-types", "kaizala-core", "kaizala-client"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn publishes_every_crate_in_the_given_order() {
        let mut calls = Vec::new();
        in_order(&crates(), |name| {
            calls.push(name.to_owned());
            Ok(())
        })
        .unwrap();
        assert_eq!(calls, crates());
    }

    #[test]
    fn stops_at_the_first_failure_and_says_what_is_left() {
        let mut calls = Vec::new();
        let err = in_order(&crates(), |name| {
            calls.push(name.to_owned());
            if name == "kaizala-core" {
                anyhow::bail!("`cargo publish -p kaizala-core` failed (exit status: 101)")
            }
            Ok(())
        })
        .unwrap_err()
        .to_string();
        assert_eq!(calls, ["kaizala-types", "kaizala-core"]);
        assert!(
            err.starts_with(
                "publishing kaizala-core failed: `cargo publish -p kaizala-core` failed"
            ),
            "{err}"
        );
        assert!(err.contains("published: kaizala-types (permanent"), "{err}");
        assert!(
            err.ends_with("    cargo publish -p kaizala-core\n    cargo publish -p kaizala-client"),
            "{err}"
        );
    }

    #[test]
    fn a_first_failure_publishes_nothing() {
        let err = in_order(&crates(), |_| anyhow::bail!("no token"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("published: nothing yet"), "{err}");
        assert_eq!(err.matches("cargo publish -p").count(), 3, "{err}");
    }
}
