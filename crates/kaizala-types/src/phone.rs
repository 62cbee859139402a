//! Phone numbers the API is asked to act on.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};

/// A phone number in the international form the API expects: `+` and then 6
/// to 15 digits, country code first (`+919910870005`). Used in requests
/// (members and subscribers to add, jobs to assign), where a bad number is
/// better caught before it is sent.
///
/// Numbers *received* from the platform are kept as plain strings: its own
/// samples mask them (`+91xxxxxxxx`), and it later replaced them with user ids.
///
/// ```
/// use kaizala_types::PhoneNumber;
///
/// let phone: PhoneNumber = "+919910870005".parse().unwrap();
/// assert_eq!(phone.as_str(), "+919910870005");
/// let err = "9910870005".parse::<PhoneNumber>().unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "invalid phone number \"9910870005\": expected '+' followed by 6 to 15 digits, country code first (e.g. \"+919910870005\")"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneNumber(String);

/// Why a string is not a [`PhoneNumber`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidPhoneNumber {
    input: String,
}

impl InvalidPhoneNumber {
    /// The rejected input.
    pub fn input(&self) -> &str {
        &self.input
    }
}

impl fmt::Display for InvalidPhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid phone number {:?}: expected '+' followed by 6 to 15 digits, country code first (e.g. \"+919910870005\")",
            self.input
        )
    }
}

impl std::error::Error for InvalidPhoneNumber {}

impl PhoneNumber {
    /// Validates and wraps a phone number.
    pub fn new(number: impl Into<String>) -> Result<Self, InvalidPhoneNumber> {
        let number = number.into();
        let valid = number.strip_prefix('+').is_some_and(|digits| {
            (6..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
        });
        if valid {
            Ok(PhoneNumber(number))
        } else {
            Err(InvalidPhoneNumber { input: number })
        }
    }

    /// The number, `+` included.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for PhoneNumber {
    type Err = InvalidPhoneNumber;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PhoneNumber::new(s)
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = InvalidPhoneNumber;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        PhoneNumber::new(value)
    }
}

impl TryFrom<&str> for PhoneNumber {
    type Error = InvalidPhoneNumber;
    fn try_from(value: &str) -> Result<Self, Self::Error> {
        PhoneNumber::new(value)
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for PhoneNumber {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for PhoneNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for PhoneNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        PhoneNumber::new(text).map_err(de::Error::custom)
    }
}

impl crate::wire::Wire for PhoneNumber {
    fn decode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        PhoneNumber::deserialize(deserializer)
    }
}

#[cfg(test)]
impl crate::arb::Arb for PhoneNumber {
    fn arb() -> proptest::strategy::BoxedStrategy<Self> {
        use proptest::prelude::*;
        "\\+[0-9]{6,15}".prop_map(PhoneNumber).boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        assert!(PhoneNumber::new("+123456").is_ok());
        assert!(PhoneNumber::new("+123456789012345").is_ok());
        for bad in [
            "+12345",
            "+1234567890123456",
            "123456789",
            "+91 99108 70005",
            "+91xxxxxxxx",
            "++919910870005",
            "",
            "+",
            "+٣٣٣٣٣٣٣",
        ] {
            let err = PhoneNumber::new(bad).unwrap_err();
            assert_eq!(err.input(), bad);
        }
    }
}
