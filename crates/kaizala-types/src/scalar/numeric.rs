//! Numbers that sometimes arrive as numeric strings.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Number;

/// A number sent either as a JSON number (`1.0`) or as a numeric string
/// (`"12"`), as the answers to Numeric questions were. The form is kept.
#[derive(Debug, Clone, PartialEq)]
pub enum Numeric {
    /// A JSON number, kept exactly (integers beyond `f64` precision included).
    Number(Number),
    /// A string holding a decimal number.
    Text(String),
}

impl Numeric {
    /// The value as `f64` (lossy for very large integers).
    pub fn as_f64(&self) -> f64 {
        match self {
            Numeric::Number(number) => number.as_f64().unwrap_or(f64::NAN),
            Numeric::Text(text) => text.trim().parse().unwrap_or(f64::NAN),
        }
    }

    /// Parses a numeric string, rejecting anything `f64` would not read.
    pub fn parse_text(text: &str) -> Option<Numeric> {
        let trimmed = text.trim();
        (!trimmed.is_empty() && trimmed.parse::<f64>().is_ok_and(f64::is_finite))
            .then(|| Numeric::Text(text.to_owned()))
    }
}

impl From<f64> for Numeric {
    /// Non-finite values have no JSON form and become `0`.
    fn from(value: f64) -> Self {
        Numeric::Number(Number::from_f64(value).unwrap_or_else(|| 0.into()))
    }
}

impl From<i64> for Numeric {
    fn from(value: i64) -> Self {
        Numeric::Number(value.into())
    }
}

impl fmt::Display for Numeric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Numeric::Number(number) => write!(f, "{number}"),
            Numeric::Text(text) => f.write_str(text),
        }
    }
}

impl Serialize for Numeric {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Numeric::Number(number) => number.serialize(serializer),
            Numeric::Text(text) => serializer.serialize_str(text),
        }
    }
}

impl<'de> Deserialize<'de> for Numeric {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NumericVisitor;
        impl Visitor<'_> for NumericVisitor {
            type Value = Numeric;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number or a numeric string")
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Numeric, E> {
                Ok(Numeric::Number(value.into()))
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Numeric, E> {
                Ok(Numeric::Number(value.into()))
            }
            fn visit_f64<E: de::Error>(self, value: f64) -> Result<Numeric, E> {
                Number::from_f64(value)
                    .map(Numeric::Number)
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Float(value), &self))
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Numeric, E> {
                Numeric::parse_text(value)
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Str(value), &self))
            }
        }
        deserializer.deserialize_any(NumericVisitor)
    }
}

impl crate::wire::Wire for Numeric {
    fn decode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Numeric::deserialize(deserializer)
    }
}

#[cfg(test)]
impl crate::arb::Arb for Numeric {
    fn arb() -> proptest::strategy::BoxedStrategy<Self> {
        use proptest::prelude::*;
        prop_oneof![
            <Number as crate::arb::Arb>::arb().prop_map(Numeric::Number),
            (-100000i64..100000).prop_map(|n| Numeric::Text(n.to_string())),
            (-1000.0f64..1000.0).prop_map(|f| Numeric::Text(format!("{f:.2}"))),
        ]
        .boxed()
    }
}
