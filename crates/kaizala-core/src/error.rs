//! The one error type of the protocol, shared by every crate above it.

use std::fmt;
use std::time::Duration;

/// What went wrong. `#[non_exhaustive]`: match the kinds you handle and keep
/// a catch-all arm.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The API answered with an error status not covered by a kind below.
    Api {
        /// The HTTP status.
        status: u16,
        /// The server's `message`, when it sent one.
        message: Option<String>,
        /// The server's `errorCode` (e.g. `InvalidToken`), when it sent one.
        code: Option<String>,
    },
    /// HTTP 429: too many calls; wait before trying again.
    RateLimited {
        /// How long the server asked to wait (`Retry-After`), if it said.
        retry_after: Option<Duration>,
    },
    /// HTTP 401 that a token refresh did not cure: the credentials are wrong,
    /// revoked or expired.
    Unauthorized {
        /// The server's message, when it sent one.
        message: Option<String>,
    },
    /// HTTP 403: the token may not do this.
    Forbidden {
        /// The permission scope the operation needs, when the token's scope
        /// list shows it is missing.
        missing_scope: Option<String>,
        /// The server's message, when it sent one.
        message: Option<String>,
    },
    /// HTTP 404: no such group, action, member or webhook (or not visible to
    /// this token).
    NotFound {
        /// The server's message, when it sent one.
        message: Option<String>,
    },
    /// The tenant's endpoint moved (HTTP 308) more times in a row than allowed.
    TooManyRedirects {
        /// How many relocations were followed.
        hops: u32,
    },
    /// No answer within the call's timeout.
    Timeout,
    /// The connection failed or broke.
    Transport,
    /// A 2xx answer whose body does not decode.
    Decode {
        /// JSON path of the value at fault (empty at the top level).
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// The request cannot be built as given (bad id, missing session, …).
    InvalidInput(String),
}

/// An error of a Kaizala API call: an [`ErrorKind`] and, where there is one,
/// the underlying error.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Error {
    /// An error of `kind`.
    pub fn new(kind: ErrorKind) -> Self {
        Error { kind, source: None }
    }

    /// An error of `kind` caused by `source`.
    pub fn with_source(
        kind: ErrorKind,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Error {
            kind,
            source: Some(source.into()),
        }
    }

    /// An [`ErrorKind::InvalidInput`].
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidInput(message.into()))
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The HTTP status, for errors that are answers of the API.
    pub fn status(&self) -> Option<u16> {
        match &self.kind {
            ErrorKind::Api { status, .. } => Some(*status),
            ErrorKind::RateLimited { .. } => Some(429),
            ErrorKind::Unauthorized { .. } => Some(401),
            ErrorKind::Forbidden { .. } => Some(403),
            ErrorKind::NotFound { .. } => Some(404),
            ErrorKind::TooManyRedirects { .. } => Some(308),
            _ => None,
        }
    }

    /// Whether trying the same call again later may succeed: throttling,
    /// server errors, timeouts and broken connections.
    pub fn is_retryable(&self) -> bool {
        match &self.kind {
            ErrorKind::RateLimited { .. } | ErrorKind::Timeout | ErrorKind::Transport => true,
            ErrorKind::Api { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// How long the server asked to wait, for [`ErrorKind::RateLimited`].
    pub fn retry_after(&self) -> Option<Duration> {
        match &self.kind {
            ErrorKind::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn said(f: &mut fmt::Formatter<'_>, message: &Option<String>) -> fmt::Result {
            match message {
                Some(message) if !message.is_empty() => write!(f, ": {message}"),
                _ => Ok(()),
            }
        }
        match &self.kind {
            ErrorKind::Api {
                status,
                message,
                code,
            } => {
                write!(f, "the Kaizala API answered HTTP {status}")?;
                if let Some(code) = code {
                    write!(f, " ({code})")?;
                }
                said(f, message)
            }
            ErrorKind::RateLimited {
                retry_after: Some(wait),
            } => {
                write!(
                    f,
                    "rate limited by the Kaizala API: retry after {} s",
                    wait.as_secs_f64().ceil()
                )
            }
            ErrorKind::RateLimited { retry_after: None } => {
                f.write_str("rate limited by the Kaizala API")
            }
            ErrorKind::Unauthorized { message } => {
                f.write_str(
                    "unauthorized: the credentials were refused even after a token refresh",
                )?;
                said(f, message)
            }
            ErrorKind::Forbidden {
                missing_scope: Some(scope),
                ..
            } => {
                write!(f, "forbidden: the token lacks the `{scope}` permission")
            }
            ErrorKind::Forbidden {
                missing_scope: None,
                message,
            } => {
                f.write_str("forbidden: the token may not do this")?;
                said(f, message)
            }
            ErrorKind::NotFound { message } => {
                f.write_str("not found")?;
                said(f, message)
            }
            ErrorKind::TooManyRedirects { hops } => {
                write!(
                    f,
                    "the tenant's endpoint moved {hops} times in a row (HTTP 308); giving up"
                )
            }
            ErrorKind::Timeout => f.write_str("the Kaizala API did not answer in time"),
            ErrorKind::Transport => f.write_str("could not reach the Kaizala API"),
            ErrorKind::Decode { path, message } if path.is_empty() => {
                write!(f, "unexpected response body: {message}")
            }
            ErrorKind::Decode { path, message } => {
                write!(f, "unexpected response body at {path}: {message}")
            }
            ErrorKind::InvalidInput(message) => write!(f, "invalid input: {message}"),
        }?;
        if let Some(source) = &self.source
            && matches!(self.kind, ErrorKind::Transport | ErrorKind::Timeout)
        {
            write!(f, " ({source})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

impl From<kaizala_types::DecodeError> for Error {
    fn from(err: kaizala_types::DecodeError) -> Self {
        let kind = ErrorKind::Decode {
            path: err.path().to_owned(),
            message: err.message().to_owned(),
        };
        Error::with_source(kind, err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryability_follows_the_kind() {
        assert!(Error::new(ErrorKind::RateLimited { retry_after: None }).is_retryable());
        assert!(
            Error::new(ErrorKind::Api {
                status: 503,
                message: None,
                code: None
            })
            .is_retryable()
        );
        assert!(
            !Error::new(ErrorKind::Api {
                status: 400,
                message: None,
                code: None
            })
            .is_retryable()
        );
        assert!(!Error::new(ErrorKind::NotFound { message: None }).is_retryable());
        let limited = Error::new(ErrorKind::RateLimited {
            retry_after: Some(Duration::from_secs(7)),
        });
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(7)));
        assert_eq!(
            limited.to_string(),
            "rate limited by the Kaizala API: retry after 7 s"
        );
    }

    #[test]
    fn decode_errors_keep_the_path() {
        let decode = kaizala_types::from_str::<kaizala_types::groups::GroupList>(
            r#"{"groups": [{"groupId": 1}]}"#,
        )
        .unwrap_err();
        let err = Error::from(decode);
        assert!(
            matches!(err.kind(), ErrorKind::Decode { path, .. } if path == "groups[0].groupId")
        );
        assert!(
            err.to_string()
                .starts_with("unexpected response body at groups[0].groupId: invalid type")
        );
    }
}
