//! Where `kaizala` reports: standard error, as text lines or (with
//! `--log-format json`) as JSON lines, the `tracing` output and the
//! command's own messages alike. Colours only on a terminal, and never
//! with `NO_COLOR` set.

use std::fmt::Display;
use std::io::IsTerminal;
use std::sync::OnceLock;

use tracing_subscriber::EnvFilter;

/// How lines on standard error are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// Lines for people.
    #[default]
    Text,
    /// One JSON object a line (tracing-subscriber's JSON format), for a log
    /// collector; the command's own messages too.
    Json,
}

/// The target of the command's own messages in JSON form; always enabled
/// at `info`, as they are always printed in text form.
const REPORT: &str = "kaizala::report";

static FORMAT: OnceLock<LogFormat> = OnceLock::new();

fn format() -> LogFormat {
    FORMAT.get().copied().unwrap_or_default()
}

/// Sets up `tracing` on standard error: `verbose` picks the level unless
/// `RUST_LOG` is set.
pub fn init(verbose: u8, format: LogFormat) {
    let _ = FORMAT.set(format);
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let mut filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{level},sqlx=warn")));
    if let (LogFormat::Json, Ok(directive)) = (format, format!("{REPORT}=info").parse()) {
        filter = filter.add_directive(directive);
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(colours());
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Colours only for a terminal, and not when `NO_COLOR` is set (to
/// anything but the empty string: <https://no-color.org>).
fn colours() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Says `message` on standard error: a line of text, or an `INFO` JSON line.
pub fn report(message: impl Display) {
    match format() {
        LogFormat::Text => eprintln!("{message}"),
        LogFormat::Json => tracing::info!(target: REPORT, "{message}"),
    }
}

/// Warns on standard error: `warning: message`, or a `WARN` JSON line.
pub fn warn(message: impl Display) {
    match format() {
        LogFormat::Text => eprintln!("warning: {message}"),
        LogFormat::Json => tracing::warn!(target: REPORT, "{message}"),
    }
}

/// The command's failure on standard error: `kaizala: message` and the
/// hint on a line of its own, or one `ERROR` JSON line with a `hint` field.
pub fn failure(message: impl Display, hint: Option<&str>) {
    match format() {
        LogFormat::Text => {
            eprintln!("kaizala: {message}");
            if let Some(hint) = hint {
                eprintln!("  hint: {hint}");
            }
        }
        LogFormat::Json => match hint {
            Some(hint) => tracing::error!(target: REPORT, hint, "{message}"),
            None => tracing::error!(target: REPORT, "{message}"),
        },
    }
}
