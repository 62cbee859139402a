//! Authenticating a callback: the `kz-callback-token` header against the
//! token(s) the webhook was created with.

use std::fmt;

use kaizala_types::Secret;
use subtle::{Choice, ConstantTimeEq};

/// The longest callback token that can be configured, in bytes.
pub const MAX_CALLBACK_TOKEN_LEN: usize = 1024;

/// A callback token that cannot be configured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenConfigError {
    /// An empty token would accept requests without the header.
    #[error("a callback token must not be empty")]
    Empty,
    /// Longer than [`MAX_CALLBACK_TOKEN_LEN`].
    #[error("a callback token must be at most {MAX_CALLBACK_TOKEN_LEN} bytes (got {0})")]
    TooLong(usize),
}

/// One slot: the token padded to the fixed width, and its length.
#[derive(Clone)]
struct Slot {
    padded: Box<[u8; MAX_CALLBACK_TOKEN_LEN]>,
    len: u64,
}

impl Slot {
    fn new(token: &Secret) -> Result<Self, TokenConfigError> {
        let bytes = token.expose().as_bytes();
        match bytes.len() {
            0 => return Err(TokenConfigError::Empty),
            len if len > MAX_CALLBACK_TOKEN_LEN => return Err(TokenConfigError::TooLong(len)),
            _ => {}
        }
        let mut padded = Box::new([0u8; MAX_CALLBACK_TOKEN_LEN]);
        padded[..bytes.len()].copy_from_slice(bytes);
        Ok(Slot {
            padded,
            len: bytes.len() as u64,
        })
    }

    /// A slot nothing matches: no presented header has this length.
    fn vacant() -> Self {
        Slot {
            padded: Box::new([0u8; MAX_CALLBACK_TOKEN_LEN]),
            len: u64::MAX,
        }
    }
}

/// The accepted callback tokens: one, or two while a token is rotated.
///
/// [`verify`](Self::verify) takes the same time whatever it is given — no
/// header, a wrong token, a token of the wrong length, a token matching the
/// first or the second slot: the presented value is copied into a buffer
/// of fixed width and compared with both slots, and so are the lengths, with
/// [`subtle`]'s constant-time operations.
///
/// ```
/// use kaizala_core::webhook::CallbackTokens;
///
/// let tokens = CallbackTokens::new("old-token")?.with_next("new-token")?;
/// assert!(tokens.verify(Some(b"old-token")));
/// assert!(tokens.verify(Some(b"new-token")));
/// assert!(!tokens.verify(Some(b"old-toke")));
/// assert_eq!(format!("{tokens:?}"), "CallbackTokens(2 tokens, <redacted>)");
/// # Ok::<(), kaizala_core::webhook::TokenConfigError>(())
/// ```
#[derive(Clone)]
pub struct CallbackTokens {
    slots: [Slot; 2],
    count: usize,
}

impl CallbackTokens {
    /// Accepts `token`.
    pub fn new(token: impl Into<Secret>) -> Result<Self, TokenConfigError> {
        Ok(CallbackTokens {
            slots: [Slot::new(&token.into())?, Slot::vacant()],
            count: 1,
        })
    }

    /// Also accepts `token` (the one being rotated in); replaces an earlier
    /// second token.
    pub fn with_next(mut self, token: impl Into<Secret>) -> Result<Self, TokenConfigError> {
        self.slots[1] = Slot::new(&token.into())?;
        self.count = 2;
        Ok(self)
    }

    /// How many tokens are accepted (1 or 2).
    pub fn len(&self) -> usize {
        self.count
    }

    /// Always false: at least one token is accepted.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Whether `presented` (the header's raw value, `None` when absent) is
    /// one of the accepted tokens.
    pub fn verify(&self, presented: Option<&[u8]>) -> bool {
        let presented = presented.unwrap_or_default();
        let mut buffer = [0u8; MAX_CALLBACK_TOKEN_LEN];
        let copied = presented.len().min(MAX_CALLBACK_TOKEN_LEN);
        buffer[..copied].copy_from_slice(&presented[..copied]);
        let len = presented.len() as u64;
        let mut accepted = Choice::from(0);
        for slot in &self.slots {
            accepted |= padded_difference(&slot.padded, &buffer).ct_eq(&0) & slot.len.ct_eq(&len);
        }
        accepted.into()
    }
}

/// The OR of the XOR of every 8-byte word of `a` and `b`: zero exactly when
/// they are equal. Every word is visited whatever the data, and the running
/// value goes through an optimisation barrier each time so the compiler
/// cannot stop early; word by word it is 8 times fewer steps than
/// `subtle`'s byte-wise slice comparison (the verdict on the result is still
/// `subtle`'s).
fn padded_difference(a: &[u8; MAX_CALLBACK_TOKEN_LEN], b: &[u8; MAX_CALLBACK_TOKEN_LEN]) -> u64 {
    let mut difference = 0u64;
    for (a, b) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        let a = u64::from_ne_bytes(a.try_into().expect("8 bytes"));
        let b = u64::from_ne_bytes(b.try_into().expect("8 bytes"));
        difference = std::hint::black_box(difference | (a ^ b));
    }
    difference
}

impl fmt::Debug for CallbackTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let noun = if self.count == 1 { "token" } else { "tokens" };
        write!(f, "CallbackTokens({} {noun}, <redacted>)", self.count)
    }
}

/// Compares two optional values in constant time (for the optional
/// `context` check): equal when both are absent or both hold the same bytes.
pub(crate) fn same_secret(expected: &[u8], presented: Option<&[u8]>) -> bool {
    match presented {
        Some(presented) => {
            (expected.len() as u64)
                .ct_eq(&(presented.len() as u64))
                .into()
                && bool::from(expected.ct_eq(presented))
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_an_exact_token() {
        let tokens = CallbackTokens::new("k3y+with/odd=chars").unwrap();
        assert!(tokens.verify(Some(b"k3y+with/odd=chars")));
        for wrong in [
            &b""[..],
            b"k",
            b"k3y+with/odd=char",
            b"k3y+with/odd=charz",
            b"k3y+with/odd=chars ",
            b"K3Y+WITH/ODD=CHARS",
            b"k3y%2Bwith/odd=chars",
        ] {
            assert!(
                !tokens.verify(Some(wrong)),
                "{:?}",
                String::from_utf8_lossy(wrong)
            );
        }
        assert!(!tokens.verify(None));
    }

    #[test]
    fn a_longer_prefix_match_is_refused() {
        // The fixed-width copy must not turn "token + anything" into "token".
        let token = "t".repeat(MAX_CALLBACK_TOKEN_LEN);
        let tokens = CallbackTokens::new(token.as_str()).unwrap();
        assert!(tokens.verify(Some(token.as_bytes())));
        let longer = format!("{token}t");
        assert!(!tokens.verify(Some(longer.as_bytes())));
        let much_longer = "t".repeat(64 * 1024);
        assert!(!tokens.verify(Some(much_longer.as_bytes())));
    }

    #[test]
    fn zero_bytes_never_match_a_vacant_slot_or_padding() {
        let tokens = CallbackTokens::new("abc").unwrap();
        assert!(!tokens.verify(Some(b"abc\0")));
        assert!(!tokens.verify(Some(&[0u8; MAX_CALLBACK_TOKEN_LEN])));
        assert!(!tokens.verify(Some(&[])));
    }

    #[test]
    fn rotation_accepts_both_until_the_old_is_dropped() {
        let rotating = CallbackTokens::new("old")
            .unwrap()
            .with_next("new")
            .unwrap();
        assert_eq!(rotating.len(), 2);
        assert!(rotating.verify(Some(b"old")) && rotating.verify(Some(b"new")));
        let rotated = CallbackTokens::new("new").unwrap();
        assert!(!rotated.verify(Some(b"old")) && rotated.verify(Some(b"new")));
    }

    #[test]
    fn refuses_tokens_that_cannot_be_checked() {
        assert_eq!(
            CallbackTokens::new("").unwrap_err(),
            TokenConfigError::Empty
        );
        let long = "x".repeat(MAX_CALLBACK_TOKEN_LEN + 1);
        assert_eq!(
            CallbackTokens::new(long).unwrap_err(),
            TokenConfigError::TooLong(MAX_CALLBACK_TOKEN_LEN + 1)
        );
    }

    #[test]
    fn debug_shows_no_token() {
        let tokens = CallbackTokens::new("visible?").unwrap();
        assert!(!format!("{tokens:?}").contains("visible"));
    }

    #[test]
    fn same_secret_compares_exactly() {
        assert!(same_secret(b"ctx", Some(b"ctx")));
        assert!(!same_secret(b"ctx", Some(b"ctx2")));
        assert!(!same_secret(b"ctx", Some(b"")));
        assert!(!same_secret(b"ctx", None));
    }
}
