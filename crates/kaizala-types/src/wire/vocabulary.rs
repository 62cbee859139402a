//! `wire_enum!` (closed vocabularies that keep unknown values) and `wire_id!`
//! (opaque identifier newtypes).

/// Declares a `#[non_exhaustive]` string enum with an `Other(String)` variant:
/// documented values match exactly or in any letter case (and through
/// aliases); anything else is kept verbatim instead of failing.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $Name:ident {
            $( $(#[$vmeta:meta])* $Variant:ident = $wire:literal $(| $alias:literal)* ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum $Name {
            $( $(#[$vmeta])* $Variant, )*
            /// A value this version does not know, kept exactly as received.
            Other(String),
        }

        impl $Name {
            /// Every documented value, in documentation order.
            pub const KNOWN: &'static [$Name] = &[$($Name::$Variant),*];

            const TABLE: &'static [(&'static str, $Name)] = &[
                $( ($wire, $Name::$Variant), $( ($alias, $Name::$Variant), )* )*
            ];

            /// Parses a wire value: the documented spelling, then any letter
            /// case or alias; anything else becomes `Other`.
            pub fn from_wire(value: &str) -> Self {
                Self::known(value).unwrap_or_else(|| $Name::Other(value.to_owned()))
            }

            fn from_wire_owned(value: String) -> Self {
                Self::known(&value).unwrap_or($Name::Other(value))
            }

            fn known(value: &str) -> ::core::option::Option<Self> {
                match value {
                    $( $wire => ::core::option::Option::Some($Name::$Variant), )*
                    _ => $crate::wire::lookup(Self::TABLE, value).cloned(),
                }
            }

            /// The documented wire spelling (or the raw value of `Other`).
            pub fn as_str(&self) -> &str {
                match self {
                    $( $Name::$Variant => $wire, )*
                    $Name::Other(value) => value,
                }
            }

            /// Whether this is a documented value rather than `Other`.
            pub fn is_known(&self) -> bool {
                !matches!(self, $Name::Other(_))
            }
        }

        impl ::core::fmt::Display for $Name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::core::str::FromStr for $Name {
            type Err = ::core::convert::Infallible;
            fn from_str(value: &str) -> ::core::result::Result<Self, Self::Err> {
                Ok(Self::from_wire(value))
            }
        }

        impl From<&str> for $Name {
            fn from(value: &str) -> Self {
                Self::from_wire(value)
            }
        }

        impl From<String> for $Name {
            fn from(value: String) -> Self {
                Self::from_wire_owned(value)
            }
        }

        impl ::serde::Serialize for $Name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> ::core::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $Name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> ::core::result::Result<Self, D::Error> {
                struct ValueVisitor;
                impl<'de> ::serde::de::Visitor<'de> for ValueVisitor {
                    type Value = $Name;
                    fn expecting(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                        f.write_str(concat!("a string (", stringify!($Name), ")"))
                    }
                    fn visit_str<E: ::serde::de::Error>(self, value: &str) -> ::core::result::Result<$Name, E> {
                        Ok($Name::from_wire(value))
                    }
                    fn visit_string<E: ::serde::de::Error>(self, value: String) -> ::core::result::Result<$Name, E> {
                        Ok($Name::from_wire_owned(value))
                    }
                }
                deserializer.deserialize_str(ValueVisitor)
            }
        }

        impl $crate::wire::Wire for $Name {
            fn decode<'de, D: ::serde::Deserializer<'de>>(deserializer: D) -> ::core::result::Result<Self, D::Error> {
                <Self as ::serde::Deserialize<'de>>::deserialize(deserializer)
            }
        }

        #[cfg(test)]
        impl $crate::arb::Arb for $Name {
            fn arb() -> ::proptest::strategy::BoxedStrategy<Self> {
                use ::proptest::strategy::Strategy as _;
                ::proptest::prop_oneof![
                    3 => ::proptest::sample::select($Name::KNOWN.to_vec()),
                    1 => "[A-Za-z][A-Za-z0-9]{0,11}"
                        .prop_map($Name::from_wire_owned)
                        .prop_filter("not a documented value", |v| !v.is_known()),
                ]
                .boxed()
            }
        }
    };
}

/// Declares an opaque identifier: a string newtype that never interprets its
/// content (group ids may carry shard suffixes such as `…@1`).
macro_rules! wire_id {
    ($( $(#[$meta:meta])* $Name:ident ),* $(,)?) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $Name(String);

        impl $Name {
            /// Wraps an identifier as received from (or sent to) the platform.
            pub fn new(id: impl Into<String>) -> Self {
                $Name(id.into())
            }

            /// The identifier as a string.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The identifier as an owned string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl ::core::fmt::Display for $Name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $Name {
            fn from(id: String) -> Self {
                $Name(id)
            }
        }

        impl From<&str> for $Name {
            fn from(id: &str) -> Self {
                $Name(id.to_owned())
            }
        }

        impl AsRef<str> for $Name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl ::core::borrow::Borrow<str> for $Name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $Name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $Name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl ::serde::Serialize for $Name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> ::core::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $Name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> ::core::result::Result<Self, D::Error> {
                String::deserialize(deserializer).map($Name)
            }
        }

        impl $crate::wire::Wire for $Name {
            fn decode<'de, D: ::serde::Deserializer<'de>>(deserializer: D) -> ::core::result::Result<Self, D::Error> {
                <Self as ::serde::Deserialize<'de>>::deserialize(deserializer)
            }
        }

        #[cfg(test)]
        impl $crate::arb::Arb for $Name {
            fn arb() -> ::proptest::strategy::BoxedStrategy<Self> {
                use ::proptest::strategy::Strategy as _;
                "[0-9a-f]{1,8}(-[0-9a-f]{4}){0,3}(@[0-9])?".prop_map($Name).boxed()
            }
        }
    )*};
}

/// Declares an enum whose variant is chosen by a sibling property (its tag),
/// e.g. an `actionBody` by its `actionType`, with a fallback variant that
/// keeps any other value verbatim. Each arm is a pattern over
/// `Option<&Tag>` (`None`: the object has no tag); the last arm, `_ =>`,
/// names the fallback variant.
macro_rules! tagged_enum {
    (
        $(#[$meta:meta])*
        pub enum $Name:ident by $Tag:ty {
            $( $(#[$vmeta:meta])* $Variant:ident($Inner:ty) = $pat:pat, )*
            _ => $(#[$ometa:meta])* $Fallback:ident,
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        // Payloads are decoded in place and rarely moved; boxing the large
        // variants would add an allocation to every decode for nothing.
        #[allow(clippy::large_enum_variant)]
        pub enum $Name {
            $( $(#[$vmeta])* $Variant($Inner), )*
            $(#[$ometa])* $Fallback(::serde_json::Value),
        }

        impl ::serde::Serialize for $Name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> ::core::result::Result<S::Ok, S::Error> {
                match self {
                    $( $Name::$Variant(inner) => inner.serialize(serializer), )*
                    $Name::$Fallback(value) => value.serialize(serializer),
                }
            }
        }

        impl $crate::wire::Tagged for $Name {
            type Tag = $Tag;
            fn decode_tagged<'de, D: ::serde::Deserializer<'de>>(
                tag: ::core::option::Option<&$Tag>,
                deserializer: D,
            ) -> ::core::result::Result<Self, D::Error> {
                #[allow(unreachable_patterns)]
                match tag {
                    $( $pat => <$Inner as ::serde::Deserialize<'de>>::deserialize(deserializer).map($Name::$Variant), )*
                    _ => <::serde_json::Value as ::serde::Deserialize<'de>>::deserialize(deserializer).map($Name::$Fallback),
                }
            }
        }
    };
}
