//! Who may read what `kaizala serve` serves: anyone (on loopback, as
//! before), or whoever presents a bearer token (`--token`) or a user and
//! password of a users file (`--users`, HTTP Basic).
//!
//! Every credential is compared in constant time, through the callback
//! token's comparison ([`CallbackTokens`]); a request is checked against
//! every credential, so how long it takes says nothing about which one
//! nearly matched.

use std::fmt;
use std::path::Path;

use base64::Engine as _;
use http::header::{self, HeaderValue};
use http::{HeaderMap, Request};
use kaizala_core::webhook::CallbackTokens;
use kaizala_types::Secret;

use crate::error::{CliError, CliResult};

/// The realm named in `WWW-Authenticate`.
const REALM: &str = "kaizala";

/// Who may read.
#[derive(Clone, Default)]
pub struct Access {
    /// `--token`.
    bearer: Option<CallbackTokens>,
    /// `user:password` of each line of `--users`.
    users: Vec<CallbackTokens>,
}

impl Access {
    /// Anyone may read.
    pub fn open() -> Access {
        Access::default()
    }

    /// Whoever presents `token` (`Authorization: Bearer TOKEN`) may read,
    /// as well as the users already admitted.
    pub fn with_token(mut self, token: &Secret) -> CliResult<Access> {
        let tokens = CallbackTokens::new(token.clone())
            .map_err(|err| CliError::new(format!("--token: {err}")))?;
        self.bearer = Some(tokens);
        Ok(self)
    }

    /// Each user of the users file `text` (read from `path`) may read:
    /// a `user:password` per line; blank lines and lines starting with `#`
    /// are skipped. A line without `:`, with an empty user or password, or
    /// a user named twice is an error naming the line.
    pub fn with_users(mut self, path: &Path, text: &str) -> CliResult<Access> {
        let mut names: Vec<&str> = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            let bad = |why: &str| {
                CliError::new(format!("{}:{}: {why}", path.display(), index + 1))
                    .hint("each line is user:password (lines starting with # are comments)")
            };
            let Some((user, password)) = line.split_once(':') else {
                return Err(bad("no ':' between the user and the password"));
            };
            if user.is_empty() {
                return Err(bad("the user is empty"));
            }
            if password.is_empty() {
                return Err(bad("the password is empty"));
            }
            if names.contains(&user) {
                return Err(bad(&format!("user '{user}' is named twice")));
            }
            names.push(user);
            self.users.push(
                CallbackTokens::new(Secret::new(line))
                    .map_err(|err| bad(&err.to_string().replace("callback token", "line")))?,
            );
        }
        if self.users.is_empty() {
            return Err(CliError::new(format!("{}: no users", path.display()))
                .hint("each line is user:password"));
        }
        Ok(self)
    }

    /// Whether anyone may read.
    pub fn is_open(&self) -> bool {
        self.bearer.is_none() && self.users.is_empty()
    }

    /// Whether `request` may be answered: any request when open, else one
    /// with a bearer token or a user and password that is accepted.
    pub fn admits<B>(&self, request: &Request<B>) -> bool {
        self.is_open() || self.admits_headers(request.headers())
    }

    fn admits_headers(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return false;
        };
        let value = value.as_bytes();
        let (scheme, credentials) = match value.iter().position(|b| *b == b' ') {
            Some(space) => (&value[..space], value[space + 1..].trim_ascii()),
            None => (value, &[][..]),
        };
        if scheme.eq_ignore_ascii_case(b"bearer") {
            return self
                .bearer
                .as_ref()
                .is_some_and(|tokens| tokens.verify(Some(credentials)));
        }
        if !scheme.eq_ignore_ascii_case(b"basic") {
            return false;
        }
        let Ok(pair) = base64::engine::general_purpose::STANDARD.decode(credentials) else {
            return false;
        };
        // Every user is compared, whichever matches.
        self.users
            .iter()
            .fold(false, |admitted, user| user.verify(Some(&pair)) | admitted)
    }

    /// The `WWW-Authenticate` of a 401: the schemes accepted.
    pub fn challenge(&self) -> HeaderValue {
        let mut schemes = Vec::new();
        if !self.users.is_empty() {
            schemes.push(format!("Basic realm=\"{REALM}\", charset=\"UTF-8\""));
        }
        if self.bearer.is_some() {
            schemes.push(format!("Bearer realm=\"{REALM}\""));
        }
        HeaderValue::from_str(&schemes.join(", ")).unwrap_or(HeaderValue::from_static("Basic"))
    }
}

impl fmt::Debug for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Access")
            .field("token", &self.bearer.is_some())
            .field("users", &self.users.len())
            .finish_non_exhaustive()
    }
}

/// Reads the users file `path` for [`Access::with_users`], warning when
/// others than its owner may read it (it holds passwords).
pub fn read_users(path: &Path) -> CliResult<String> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| CliError::new(format!("cannot read {}: {err}", path.display())))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let shared =
            std::fs::metadata(path).is_ok_and(|meta| meta.permissions().mode() & 0o077 != 0);
        if shared {
            tracing::warn!(
                file = %path.display(),
                "the users file holds passwords but others than its owner may read it; \
                 chmod 600 it"
            );
        }
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(authorization: Option<&str>) -> Request<()> {
        let mut builder = Request::builder().uri("/odata/");
        if let Some(value) = authorization {
            builder = builder.header(header::AUTHORIZATION, value);
        }
        builder.body(()).unwrap()
    }

    fn basic(pair: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }

    #[test]
    fn open_admits_anyone() {
        let access = Access::open();
        assert!(access.is_open());
        assert!(access.admits(&request(None)));
    }

    #[test]
    fn a_bearer_token_is_required_and_checked() {
        let access = Access::open()
            .with_token(&Secret::new("s3cret-token"))
            .unwrap();
        assert!(!access.is_open());
        assert!(access.admits(&request(Some("Bearer s3cret-token"))));
        assert!(access.admits(&request(Some("bearer  s3cret-token "))));
        for wrong in [
            None,
            Some("Bearer s3cret-toke"),
            Some("Bearer s3cret-token2"),
            Some("Bearer"),
            Some("s3cret-token"),
            Some("Token s3cret-token"),
        ] {
            assert!(!access.admits(&request(wrong)), "{wrong:?}");
        }
        // No users: Basic never passes, even with the token as password.
        assert!(!access.admits(&request(Some(&basic("x:s3cret-token")))));
        assert_eq!(access.challenge(), "Bearer realm=\"kaizala\"");
        assert_eq!(
            format!("{access:?}"),
            "Access { token: true, users: 0, .. }"
        );
        assert!(Access::open().with_token(&Secret::new("")).is_err());
    }

    #[test]
    fn users_are_checked_with_basic_auth() {
        let text = "# readers\nasha:pa:ss word\n\nravi:hunter2\r\n";
        let access = Access::open()
            .with_users(Path::new("users.txt"), text)
            .unwrap();
        assert!(access.admits(&request(Some(&basic("asha:pa:ss word")))));
        assert!(access.admits(&request(Some(&basic("ravi:hunter2")))));
        for wrong in [
            basic("asha:hunter2"),
            basic("ravi:hunter"),
            basic("ravi:hunter2x"),
            basic("mallory:"),
            "Basic !!!".to_owned(),
            "Bearer hunter2".to_owned(),
        ] {
            assert!(!access.admits(&request(Some(&wrong))), "{wrong}");
        }
        assert_eq!(
            access.challenge(),
            "Basic realm=\"kaizala\", charset=\"UTF-8\""
        );
        let debug = format!("{access:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
    }

    #[test]
    fn a_malformed_users_file_names_the_line() {
        let err = |text: &str| {
            Access::open()
                .with_users(Path::new("users.txt"), text)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err("asha:x\n# c\nravi\n"),
            "users.txt:3: no ':' between the user and the password"
        );
        assert_eq!(err(":pw"), "users.txt:1: the user is empty");
        assert_eq!(err("asha:"), "users.txt:1: the password is empty");
        assert_eq!(
            err("asha:a\nasha:b"),
            "users.txt:2: user 'asha' is named twice"
        );
        assert_eq!(err("# nobody\n"), "users.txt: no users");
        // The message never holds a password.
        assert!(!err("asha:topsecret\nasha:topsecret").contains("topsecret"));
    }
}
