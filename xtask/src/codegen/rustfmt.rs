//! Formatting generated Rust with the toolchain's rustfmt, so the checked-in
//! file is exactly what `cargo fmt` would leave and `--check` compares
//! formatted text.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

/// Formats `source` as Rust 2024. rustfmt runs in `dir` so that a
/// `rustfmt.toml` there applies, as it would to `cargo fmt`.
pub(crate) fn format(source: &str, dir: &Path) -> Result<String> {
    // Honour the same override cargo fmt does.
    let program = std::env::var_os("RUSTFMT").unwrap_or_else(|| "rustfmt".into());
    let mut child = Command::new(&program)
        .args(["--edition", "2024"])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| {
            format!(
                "cannot run {} (install it with `rustup component add rustfmt`)",
                program.to_string_lossy()
            )
        })?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let input = source.to_owned();
    // Feed stdin from another thread: rustfmt may fill the stdout pipe before
    // it has read all its input.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().context("rustfmt did not finish")?;
    writer
        .join()
        .expect("the stdin writer does not panic")
        .context("cannot write to rustfmt")?;
    if !output.status.success() {
        bail!(
            "rustfmt rejected the generated code ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    String::from_utf8(output.stdout).context("rustfmt wrote invalid UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_reports_errors() {
        let dir = std::env::temp_dir();
        assert_eq!(format("fn  main( ){ }", &dir).unwrap(), "fn main() {}\n");
        let err = format("fn main( {", &dir).unwrap_err();
        assert!(format!("{err:#}").contains("rustfmt rejected"), "{err:#}");
    }
}
