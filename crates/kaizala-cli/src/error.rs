//! One clear line per failure, with a hint where one helps.

use std::fmt;
use std::io;
use std::net::SocketAddr;

/// A failure of a command: what went wrong and, where it helps, what to do.
#[derive(Debug)]
pub struct CliError {
    message: String,
    hint: Option<String>,
}

/// A command's result.
pub type CliResult<T = ()> = Result<T, CliError>;

impl CliError {
    /// A failure described by `message`.
    pub fn new(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            hint: None,
        }
    }

    /// Adds what the user can do about it.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The suggestion, if any.
    pub fn hint_text(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    /// A failure to listen on `addr`.
    pub fn bind(addr: SocketAddr, err: &io::Error) -> Self {
        let error = CliError::new(format!("cannot listen on {addr}: {err}"));
        match err.kind() {
            io::ErrorKind::AddrInUse => error.hint(format!(
                "another program already listens on port {}; choose another with --listen",
                addr.port()
            )),
            io::ErrorKind::PermissionDenied => {
                error.hint("ports below 1024 need privileges; use a port above 1024")
            }
            io::ErrorKind::AddrNotAvailable => {
                error.hint("that address is not one of this machine's; try 127.0.0.1 or 0.0.0.0")
            }
            _ => error,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<kaizala_core::Error> for CliError {
    fn from(err: kaizala_core::Error) -> Self {
        use kaizala_core::ErrorKind;
        let hint = match err.kind() {
            ErrorKind::Transport | ErrorKind::Timeout => Some(
                "is the platform reachable at that address? For local work, start one with \
                 `kaizala emulator --credentials-out creds.json` and pass --profile creds.json",
            ),
            ErrorKind::Unauthorized { .. } => {
                Some("check the application id, secret and refresh token")
            }
            ErrorKind::Forbidden { .. } => Some(
                "the connector lacks the permission (scope), or the group is not granted to its token",
            ),
            _ => None,
        };
        let error = CliError::new(err.to_string());
        match hint {
            Some(hint) => error.hint(hint),
            None => error,
        }
    }
}

impl From<kaizala_sink::SinkError> for CliError {
    fn from(err: kaizala_sink::SinkError) -> Self {
        // The sink's messages carry their own advice.
        CliError::new(err.to_string())
    }
}
