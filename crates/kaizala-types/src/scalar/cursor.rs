//! Pagination cursors: opaque values handed back to the server.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Number;

/// A pagination cursor. Subscribers use strings; reactions use numbers that
/// look like .NET ticks (`636674054802000000`, beyond `f64` precision, so they
/// are kept as exact JSON numbers). Either way the value is only ever sent
/// back; [`Display`](fmt::Display) gives the form for a query string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Cursor {
    /// A cursor sent as a JSON string.
    Text(String),
    /// A cursor sent as a JSON number.
    Number(Number),
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cursor::Text(text) => f.write_str(text),
            Cursor::Number(number) => write!(f, "{number}"),
        }
    }
}

impl From<&str> for Cursor {
    fn from(value: &str) -> Self {
        Cursor::Text(value.to_owned())
    }
}

impl From<String> for Cursor {
    fn from(value: String) -> Self {
        Cursor::Text(value)
    }
}

impl From<u64> for Cursor {
    fn from(value: u64) -> Self {
        Cursor::Number(value.into())
    }
}

impl Serialize for Cursor {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Cursor::Text(text) => serializer.serialize_str(text),
            Cursor::Number(number) => number.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Cursor {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CursorVisitor;
        impl Visitor<'_> for CursorVisitor {
            type Value = Cursor;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a cursor (string or number)")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Cursor, E> {
                Ok(Cursor::Text(value.to_owned()))
            }
            fn visit_string<E: de::Error>(self, value: String) -> Result<Cursor, E> {
                Ok(Cursor::Text(value))
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Cursor, E> {
                Ok(Cursor::Number(value.into()))
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Cursor, E> {
                Ok(Cursor::Number(value.into()))
            }
            fn visit_f64<E: de::Error>(self, value: f64) -> Result<Cursor, E> {
                Number::from_f64(value)
                    .map(Cursor::Number)
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Float(value), &self))
            }
        }
        deserializer.deserialize_any(CursorVisitor)
    }
}

impl crate::wire::Wire for Cursor {
    fn decode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Cursor::deserialize(deserializer)
    }
}

#[cfg(test)]
impl crate::arb::Arb for Cursor {
    fn arb() -> proptest::strategy::BoxedStrategy<Self> {
        use proptest::prelude::*;
        prop_oneof![
            "[A-Za-z0-9+/=]{1,24}".prop_map(Cursor::Text),
            any::<u64>().prop_map(Cursor::from),
        ]
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_cursor_survives_exactly() {
        let cursor: Cursor = serde_json::from_str("636674054802000000").unwrap();
        assert_eq!(cursor.to_string(), "636674054802000000");
        assert_eq!(
            serde_json::to_string(&cursor).unwrap(),
            "636674054802000000"
        );
    }
}
