//! The Prometheus text exposition format (version 0.0.4), written by hand.
//!
//! Every metric the receiver, the HTTP front and the `kaizala` command
//! export goes through this one writer, so a scrape of several sources is
//! one consistent document: each family's `# HELP` and `# TYPE` once, then
//! its samples, with help text and label values escaped as the format
//! requires.
//!
//! ```
//! use kaizala_webhook::exposition::{Exposition, Kind};
//!
//! let mut out = Exposition::new();
//! out.family("jobs_total", Kind::Counter, "Jobs run.")
//!     .sample("jobs_total", &[("queue", "a\"b")], 3);
//! assert_eq!(
//!     out.finish(),
//!     "# HELP jobs_total Jobs run.\n# TYPE jobs_total counter\njobs_total{queue=\"a\\\"b\"} 3\n"
//! );
//! ```

use std::fmt::{Display, Write};

/// The content type of the format, for a `/metrics` response.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A metric family's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// Only goes up (until the process restarts).
    Counter,
    /// Goes up and down.
    Gauge,
    /// Cumulative `_bucket{le=…}` samples, `_sum` and `_count`.
    Histogram,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// A document in the text format, written family by family.
#[derive(Debug, Default)]
pub struct Exposition {
    out: String,
}

impl Exposition {
    /// An empty document.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts the family `name`: its `# HELP` and `# TYPE` lines. Its
    /// samples follow with [`sample`](Self::sample).
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) -> &mut Self {
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(
            self.out,
            "# HELP {name} {help}\n# TYPE {name} {}",
            kind.name()
        );
        self
    }

    /// One sample: `name{labels} value`.
    pub fn sample(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        value: impl Display,
    ) -> &mut Self {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (label, text)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let text = text
                    .replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n");
                let _ = write!(self.out, "{label}=\"{text}\"");
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
        self
    }

    /// A family of one unlabelled sample.
    pub fn single(&mut self, name: &str, kind: Kind, help: &str, value: impl Display) -> &mut Self {
        self.family(name, kind, help).sample(name, &[], value)
    }

    /// The document's text, to serve with [`CONTENT_TYPE`].
    pub fn finish(self) -> String {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each line is a comment, or `name{labels} value` with a valid metric
    /// name and a number, as the format's grammar says.
    fn well_formed(text: &str) -> Result<(), String> {
        for line in text.lines() {
            if let Some(comment) = line.strip_prefix("# ") {
                let mut words = comment.splitn(3, ' ');
                let (what, name) = (words.next(), words.next());
                if !matches!(what, Some("HELP" | "TYPE")) || name.is_none() {
                    return Err(format!("bad comment: {line}"));
                }
                continue;
            }
            let (series, value) = line
                .rsplit_once(' ')
                .ok_or_else(|| format!("no value: {line}"))?;
            let name = series.split('{').next().unwrap_or_default();
            let valid_name = name
                .chars()
                .enumerate()
                .all(|(i, c)| c.is_ascii_alphabetic() || c == '_' || (i > 0 && c.is_ascii_digit()));
            if name.is_empty() || !valid_name {
                return Err(format!("bad name: {line}"));
            }
            if series.contains('{') && !series.ends_with('}') {
                return Err(format!("unclosed labels: {line}"));
            }
            if value != "+Inf" && value.parse::<f64>().is_err() {
                return Err(format!("bad value: {line}"));
            }
        }
        Ok(())
    }

    #[test]
    fn families_samples_and_escapes() {
        let mut out = Exposition::new();
        out.single("up", Kind::Gauge, "Whether it is up.", 1)
            .family("seen_total", Kind::Counter, "Seen \\ with\na newline.")
            .sample("seen_total", &[("front", "main")], 2)
            .sample("seen_total", &[("front", "a\\b\"c\nd"), ("x", "y")], 3.5);
        let text = out.finish();
        assert_eq!(
            text,
            "# HELP up Whether it is up.\n# TYPE up gauge\nup 1\n\
             # HELP seen_total Seen \\\\ with\\na newline.\n# TYPE seen_total counter\n\
             seen_total{front=\"main\"} 2\n\
             seen_total{front=\"a\\\\b\\\"c\\nd\",x=\"y\"} 3.5\n"
        );
        well_formed(&text).unwrap();
    }

    #[test]
    fn the_checker_can_fail() {
        assert!(well_formed("9bad 1\n").is_err());
        assert!(well_formed("ok{a=\"b\" 1\n").is_err());
        assert!(well_formed("ok one\n").is_err());
    }
}
