//! The error of the decoding entry points.

use std::fmt;

/// What kind of input failed to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// Not JSON (or nested deeper than the parser allows).
    Syntax,
    /// Valid JSON that does not fit the model: wrong type, missing required
    /// property, invalid value (a bad phone number, an unparsable timestamp).
    Data,
    /// The input ended in the middle of a value.
    Eof,
    /// Reading the input failed.
    Io,
}

/// A payload that could not be decoded, with the JSON path of the value at
/// fault (e.g. `data.responseDetails.responseWithQuestions[2].answer`).
///
/// ```
/// let err = kaizala_types::from_str::<kaizala_types::groups::CreateGroupRequest>(
///     r#"{"name": "Field team", "members": ["+919910870005", "12345"]}"#,
/// )
/// .unwrap_err();
/// assert_eq!(err.path(), "members[1]");
/// assert!(err.to_string().starts_with("members[1]: invalid phone number \"12345\""));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    kind: DecodeErrorKind,
    path: String,
    message: String,
    line: usize,
    column: usize,
}

impl DecodeError {
    pub(crate) fn from_json(err: &serde_json::Error, path: String) -> Self {
        use serde_json::error::Category;
        let kind = match err.classify() {
            Category::Syntax => DecodeErrorKind::Syntax,
            Category::Data => DecodeErrorKind::Data,
            Category::Eof => DecodeErrorKind::Eof,
            Category::Io => DecodeErrorKind::Io,
        };
        let mut message = err.to_string();
        // serde_json appends the position to its message; we keep it apart.
        if err.line() != 0 {
            let suffix = format!(" at line {} column {}", err.line(), err.column());
            if message.ends_with(&suffix) {
                message.truncate(message.len() - suffix.len());
            }
        }
        DecodeError {
            kind,
            path,
            message,
            line: err.line(),
            column: err.column(),
        }
    }

    /// Input that is not UTF-8 (JSON text must be), at the first bad byte.
    pub(crate) fn not_utf8(input: &[u8], err: std::str::Utf8Error) -> Self {
        let valid = &input[..err.valid_up_to()];
        let line = 1 + valid.iter().filter(|&&b| b == b'\n').count();
        let line_start = valid
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |at| at + 1);
        DecodeError {
            kind: DecodeErrorKind::Syntax,
            path: String::new(),
            message: "invalid UTF-8".to_owned(),
            line,
            column: 1 + valid.len() - line_start,
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> DecodeErrorKind {
        self.kind
    }

    /// The JSON path of the value that failed, outermost first; empty when
    /// the failure is at the top level (or is a syntax error).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The failure itself, without path or position.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// 1-based line of the failure in the input, 0 when unknown (decoding
    /// from a `serde_json::Value`).
    pub fn line(&self) -> usize {
        self.line
    }

    /// 1-based column of the failure in the input, 0 when unknown.
    pub fn column(&self) -> usize {
        self.column
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)?;
        if self.line != 0 {
            write!(f, " (line {}, column {})", self.line, self.column)?;
        }
        Ok(())
    }
}

impl std::error::Error for DecodeError {}
