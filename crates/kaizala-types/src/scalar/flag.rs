//! Booleans that sometimes arrive as strings (`"result": "true"`,
//! `"Active": "true"`).

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A boolean that the platform sends either as JSON `true`/`false` or as the
/// strings `"true"`/`"false"`.
///
/// It compares equal to a `bool` and remembers which form it came in so that
/// re-encoding is exact.
///
/// ```
/// use kaizala_types::Flag;
///
/// let flag: Flag = serde_json::from_str(r#""true""#).unwrap();
/// assert!(flag.get());
/// assert_eq!(flag, true);
/// assert_eq!(serde_json::to_string(&flag).unwrap(), r#""true""#);
/// assert_eq!(serde_json::to_string(&Flag::from(false)).unwrap(), "false");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Flag {
    value: bool,
    quoted: bool,
}

impl Flag {
    /// `true`, encoded as a JSON boolean.
    pub const TRUE: Flag = Flag {
        value: true,
        quoted: false,
    };
    /// `false`, encoded as a JSON boolean.
    pub const FALSE: Flag = Flag {
        value: false,
        quoted: false,
    };

    /// A flag encoded as the string `"true"`/`"false"`, as some endpoints
    /// send (and as the vendor's own examples sent `Active`).
    pub const fn quoted(value: bool) -> Flag {
        Flag {
            value,
            quoted: true,
        }
    }

    /// The boolean value.
    pub const fn get(self) -> bool {
        self.value
    }

    /// Whether it was (or will be) encoded as a string.
    pub const fn is_quoted(self) -> bool {
        self.quoted
    }
}

impl From<bool> for Flag {
    fn from(value: bool) -> Self {
        Flag {
            value,
            quoted: false,
        }
    }
}

impl From<Flag> for bool {
    fn from(flag: Flag) -> Self {
        flag.value
    }
}

impl PartialEq<bool> for Flag {
    fn eq(&self, other: &bool) -> bool {
        self.value == *other
    }
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.value)
    }
}

impl Serialize for Flag {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match (self.quoted, self.value) {
            (false, value) => serializer.serialize_bool(value),
            (true, true) => serializer.serialize_str("true"),
            (true, false) => serializer.serialize_str("false"),
        }
    }
}

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FlagVisitor;
        impl Visitor<'_> for FlagVisitor {
            type Value = Flag;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"a boolean, or the string "true" or "false""#)
            }
            fn visit_bool<E: de::Error>(self, value: bool) -> Result<Flag, E> {
                Ok(Flag::from(value))
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Flag, E> {
                if value.eq_ignore_ascii_case("true") {
                    Ok(Flag::quoted(true))
                } else if value.eq_ignore_ascii_case("false") {
                    Ok(Flag::quoted(false))
                } else {
                    Err(E::invalid_value(de::Unexpected::Str(value), &self))
                }
            }
        }
        deserializer.deserialize_any(FlagVisitor)
    }
}

impl crate::wire::Wire for Flag {
    fn decode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Flag::deserialize(deserializer)
    }
}

#[cfg(test)]
impl crate::arb::Arb for Flag {
    fn arb() -> proptest::strategy::BoxedStrategy<Self> {
        use proptest::prelude::*;
        (any::<bool>(), any::<bool>())
            .prop_map(|(value, quoted)| Flag { value, quoted })
            .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_both_shapes_and_keeps_them() {
        for (json, value) in [
            ("true", true),
            ("false", false),
            (r#""true""#, true),
            (r#""FALSE""#, false),
        ] {
            let flag: Flag = serde_json::from_str(json).unwrap();
            assert_eq!(flag.get(), value, "{json}");
        }
        let quoted: Flag = serde_json::from_str(r#""true""#).unwrap();
        assert_eq!(serde_json::to_string(&quoted).unwrap(), r#""true""#);
    }

    #[test]
    fn rejects_other_values() {
        for json in [r#""yes""#, "1", "null", "[]"] {
            let err = serde_json::from_str::<Flag>(json).unwrap_err();
            assert!(err.to_string().contains("boolean"), "{json}: {err}");
        }
    }
}
