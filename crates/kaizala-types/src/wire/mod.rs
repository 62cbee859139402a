//! The one decoding mechanism behind every model.
//!
//! The platform's JSON is loose: property names arrive in any letter case
//! (`Message`, `Answers`, `callbackUrl`), some values only make sense once a
//! sibling has been read (an `actionBody` is typed by its `actionType`, an
//! `answer` by its question's `type`), and anything undocumented must survive a
//! decode/encode round trip. serde's derive handles none of that, so models are
//! declared with [`wire_object!`](crate::wire_object) and decoded by the
//! helpers here:
//!
//! - keys match the documented spelling first, then case-insensitively, then
//!   any documented alias; unknown keys land in the model's `extra` map;
//! - an explicit `null` for an optional field is kept in `extra`, so it is
//!   re-encoded as it came;
//! - a value typed by a sibling is decoded at once when the sibling came
//!   first (the common order) and buffered as a `Value` otherwise;
//! - failures record their JSON path on the way out (see [`path`]).

pub(crate) mod path;
#[macro_use]
mod object;
#[macro_use]
mod vocabulary;

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::Extra;

/// How a type is decoded inside a model. Containers implement it so they can
/// record array indices and map keys in the error path; leaves delegate to
/// their `Deserialize` impl.
pub(crate) trait Wire: Sized {
    fn decode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error>;
}

/// A [`DeserializeSeed`] that decodes a `T` through [`Wire`].
pub(crate) struct WireSeed<T>(PhantomData<T>);

impl<T> WireSeed<T> {
    pub(crate) fn new() -> Self {
        WireSeed(PhantomData)
    }
}

impl<'de, T: Wire> DeserializeSeed<'de> for WireSeed<T> {
    type Value = T;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        T::decode(deserializer)
    }
}

macro_rules! wire_leaf {
    ($($ty:ty),* $(,)?) => {$(
        impl Wire for $ty {
            fn decode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                <$ty as serde::Deserialize>::deserialize(deserializer)
            }
        }
    )*};
}

wire_leaf!(String, u32, u64, i64, f64, Value, serde_json::Number);

impl<T: Wire> Wire for Option<T> {
    fn decode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_option(NullOr(WireSeed::<T>::new()))
    }
}

/// `null` (or nothing) as `None`, anything else through the seed.
struct NullOr<S>(S);

impl<'de, S: DeserializeSeed<'de>> Visitor<'de> for NullOr<S> {
    type Value = Option<S::Value>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value or null")
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.0.deserialize(d).map(Some)
    }
}

impl<T: Wire> Wire for Vec<T> {
    fn decode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SeqVisitor<T>(PhantomData<T>);
        impl<'de, T: Wire> Visitor<'de> for SeqVisitor<T> {
            type Value = Vec<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                // Trust the hint only a little: it comes from the input.
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
                loop {
                    match seq.next_element_seed(WireSeed::<T>::new()) {
                        Ok(Some(item)) => out.push(item),
                        Ok(None) => return Ok(out),
                        Err(err) => {
                            path::index(out.len());
                            return Err(err);
                        }
                    }
                }
            }
        }
        deserializer.deserialize_seq(SeqVisitor(PhantomData))
    }
}

impl<T: Wire> Wire for BTreeMap<String, T> {
    fn decode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MapVisitor<T>(PhantomData<T>);
        impl<'de, T: Wire> Visitor<'de> for MapVisitor<T> {
            type Value = BTreeMap<String, T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = BTreeMap::new();
                while let Some(key) = map.next_key::<String>()? {
                    match map.next_value_seed(WireSeed::<T>::new()) {
                        Ok(value) => {
                            out.insert(key, value);
                        }
                        Err(err) => {
                            path::owned_key(&key);
                            return Err(err);
                        }
                    }
                }
                Ok(out)
            }
        }
        deserializer.deserialize_map(MapVisitor(PhantomData))
    }
}

/// A decoded object key: one of the model's fields (with the key as written
/// when the input lent it to us for free), or an unknown key.
pub(crate) enum Key<'de, F> {
    Field(F, Option<&'de str>),
    Unknown(String),
}

/// The fields of one model: [`wire_object!`](crate::wire_object) generates
/// `exact` as a `match` on the documented spellings (compiled to a decision
/// tree, the hot path) and `TABLE` for the case-insensitive fallback.
pub(crate) trait FieldSet: Copy + 'static {
    const TABLE: &'static [(&'static str, Self)];
    fn exact(key: &str) -> Option<Self>;

    fn lookup(key: &str) -> Option<Self> {
        Self::exact(key).or_else(|| lookup(Self::TABLE, key).copied())
    }
}

/// Decodes an object key into a model's field.
pub(crate) struct KeySeed<F>(PhantomData<F>);

impl<F> KeySeed<F> {
    pub(crate) fn new() -> Self {
        KeySeed(PhantomData)
    }
}

/// Documented spelling first, then any letter case, as the platform's own
/// deserialiser accepted.
pub(crate) fn lookup<'t, F>(table: &'t [(&'static str, F)], key: &str) -> Option<&'t F> {
    table
        .iter()
        .find(|(name, _)| *name == key)
        .or_else(|| {
            table
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(key))
        })
        .map(|(_, field)| field)
}

impl<'de, F: FieldSet> DeserializeSeed<'de> for KeySeed<F> {
    type Value = Key<'de, F>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_identifier(self)
    }
}

impl<'de, F: FieldSet> Visitor<'de> for KeySeed<F> {
    type Value = Key<'de, F>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a property name")
    }
    fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<Self::Value, E> {
        Ok(match F::lookup(key) {
            Some(field) => Key::Field(field, Some(key)),
            None => Key::Unknown(key.to_owned()),
        })
    }
    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(match F::lookup(key) {
            Some(field) => Key::Field(field, None),
            None => Key::Unknown(key.to_owned()),
        })
    }
    fn visit_string<E: de::Error>(self, key: String) -> Result<Self::Value, E> {
        Ok(match F::lookup(&key) {
            Some(field) => Key::Field(field, None),
            None => Key::Unknown(key),
        })
    }
}

/// Keeps an unknown property verbatim.
pub(crate) fn unknown<'de, A: MapAccess<'de>>(
    map: &mut A,
    key: String,
    extra: &mut Extra,
) -> Result<(), A::Error> {
    match map.next_value::<Value>() {
        Ok(value) => {
            extra.insert(key, value);
            Ok(())
        }
        Err(err) => {
            path::owned_key(&key);
            Err(err)
        }
    }
}

/// A second occurrence of a field. Spelled differently from the first
/// (`callBackUrl` then `callbackUrl`), it is kept verbatim in `extra` so
/// nothing is lost; spelled the same, it is an error, as in serde's derive.
fn duplicate<'de, A: MapAccess<'de>>(
    map: &mut A,
    name: &'static str,
    raw: Option<&str>,
    extra: &mut Extra,
) -> Result<(), A::Error> {
    match raw {
        Some(raw) if raw != name && !extra.contains_key(raw) => unknown(map, raw.to_owned(), extra),
        _ => Err(de::Error::duplicate_field(name)),
    }
}

/// The decoding state of one field of a model.
pub(crate) struct Slot<T> {
    seen: bool,
    value: Option<T>,
}

impl<T: Wire> Slot<T> {
    pub(crate) fn new() -> Self {
        Slot {
            seen: false,
            value: None,
        }
    }

    /// A required field: `null` is a type error like any other.
    pub(crate) fn fill_required<'de, A: MapAccess<'de>>(
        &mut self,
        map: &mut A,
        name: &'static str,
        raw: Option<&str>,
        extra: &mut Extra,
    ) -> Result<(), A::Error> {
        if self.seen {
            return duplicate(map, name, raw, extra);
        }
        self.seen = true;
        match map.next_value_seed(WireSeed::<T>::new()) {
            Ok(value) => {
                self.value = Some(value);
                Ok(())
            }
            Err(err) => {
                path::key(name);
                Err(err)
            }
        }
    }

    /// An optional field: an explicit `null` reads as absent and is kept in
    /// `extra` under the key as written, so it round-trips.
    pub(crate) fn fill_optional<'de, A: MapAccess<'de>>(
        &mut self,
        map: &mut A,
        name: &'static str,
        raw: Option<&str>,
        extra: &mut Extra,
    ) -> Result<(), A::Error> {
        if self.seen {
            return duplicate(map, name, raw, extra);
        }
        self.seen = true;
        match map.next_value_seed(WireSeed::<Option<T>>::new()) {
            Ok(Some(value)) => {
                self.value = Some(value);
                Ok(())
            }
            Ok(None) => {
                extra.insert(raw.unwrap_or(name).to_owned(), Value::Null);
                Ok(())
            }
            Err(err) => {
                path::key(name);
                Err(err)
            }
        }
    }

    /// `Some(tag)` once the field has been read (even if it was `null`), so a
    /// sibling typed by it knows whether it can decode at once.
    pub(crate) fn decided(&self) -> Option<Option<&T>> {
        self.seen.then_some(self.value.as_ref())
    }

    pub(crate) fn get(&self) -> Option<&T> {
        self.value.as_ref()
    }

    pub(crate) fn required<E: de::Error>(self, name: &'static str) -> Result<T, E> {
        self.value.ok_or_else(|| E::missing_field(name))
    }

    pub(crate) fn optional(self) -> Option<T> {
        self.value
    }
}

/// A value whose type depends on a sibling property (its tag).
pub(crate) trait Tagged: Sized {
    /// The sibling's type.
    type Tag;
    /// Decodes the value knowing the tag (`None` when the object has none).
    fn decode_tagged<'de, D: Deserializer<'de>>(
        tag: Option<&Self::Tag>,
        deserializer: D,
    ) -> Result<Self, D::Error>;
}

struct TaggedSeed<'t, T: Tagged>(Option<&'t T::Tag>);

impl<'de, T: Tagged> DeserializeSeed<'de> for TaggedSeed<'_, T> {
    type Value = T;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        T::decode_tagged(self.0, deserializer)
    }
}

/// A tagged value, or `null`.
struct OptionalTagged<'t, T: Tagged>(Option<&'t T::Tag>);

impl<'de, T: Tagged> DeserializeSeed<'de> for OptionalTagged<'_, T> {
    type Value = Option<T>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_option(NullOr(TaggedSeed::<T>(self.0)))
    }
}

enum Pending<T> {
    Empty,
    Ready(T),
    Buffered(Value),
}

/// The decoding state of a field typed by a sibling.
pub(crate) struct TaggedSlot<T> {
    seen: bool,
    state: Pending<T>,
}

impl<T: Tagged> TaggedSlot<T> {
    pub(crate) fn new() -> Self {
        TaggedSlot {
            seen: false,
            state: Pending::Empty,
        }
    }

    /// `tag` is the sibling's [`Slot::decided`]: known → decode now,
    /// not read yet → buffer until the object ends.
    pub(crate) fn fill<'de, A: MapAccess<'de>>(
        &mut self,
        map: &mut A,
        name: &'static str,
        raw: Option<&str>,
        tag: Option<Option<&T::Tag>>,
        extra: &mut Extra,
    ) -> Result<(), A::Error> {
        if self.seen {
            return duplicate(map, name, raw, extra);
        }
        self.seen = true;
        let decoded = match tag {
            Some(tag) => map
                .next_value_seed(OptionalTagged::<T>(tag))
                .map(|v| v.map(Pending::Ready)),
            None => map
                .next_value::<Value>()
                .map(|v| (!v.is_null()).then_some(Pending::Buffered(v))),
        };
        match decoded {
            Ok(Some(state)) => {
                self.state = state;
                Ok(())
            }
            Ok(None) => {
                extra.insert(raw.unwrap_or(name).to_owned(), Value::Null);
                Ok(())
            }
            Err(err) => {
                path::key(name);
                Err(err)
            }
        }
    }

    /// Resolves a buffered value once the whole object has been read.
    pub(crate) fn finish<E: de::Error>(
        self,
        name: &'static str,
        tag: Option<&T::Tag>,
    ) -> Result<Option<T>, E> {
        match self.state {
            Pending::Empty => Ok(None),
            Pending::Ready(value) => Ok(Some(value)),
            Pending::Buffered(value) => T::decode_tagged(tag, value).map(Some).map_err(|err| {
                path::key(name);
                E::custom(err)
            }),
        }
    }

    pub(crate) fn finish_required<E: de::Error>(
        self,
        name: &'static str,
        tag: Option<&T::Tag>,
    ) -> Result<T, E> {
        self.finish(name, tag)?
            .ok_or_else(|| E::missing_field(name))
    }
}
