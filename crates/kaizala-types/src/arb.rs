//! proptest strategies for every model (test builds only): the round-trip
//! property `decode(encode(x)) == x` is checked for each of them.
//!
//! Strategies produce values the wire can carry exactly: finite numbers,
//! `extra` keys that cannot collide with a documented property, and
//! scalars in each of the representations the tolerant types remember.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::{Map, Number, Value};

/// A strategy for values that survive `encode` then `decode` unchanged.
pub(crate) trait Arb: Sized + std::fmt::Debug {
    fn arb() -> BoxedStrategy<Self>;
}

/// Builds a right-nested tuple of strategies (`(a, (b, (c, Just(()))))`), so
/// a struct may have more fields than proptest's 12-tuple limit; with
/// `@pat` it builds the matching pattern.
macro_rules! nest {
    (@pat) => { () };
    (@pat $head:ident, $($rest:ident),* ) => { ($head, $crate::arb::nest!(@pat $($rest),*)) };
    (@pat $head:ident) => { ($head, ()) };
    () => { ::proptest::strategy::Just(()) };
    ($head:expr $(, $rest:expr)* $(,)?) => { ($head, $crate::arb::nest!($($rest),*)) };
}
pub(crate) use nest;

impl Arb for String {
    fn arb() -> BoxedStrategy<Self> {
        prop_oneof![
            "[ -~]{0,24}",
            any::<String>().prop_map(|s| s.chars().take(12).collect()),
        ]
        .boxed()
    }
}

impl Arb for u32 {
    fn arb() -> BoxedStrategy<Self> {
        any::<u32>().boxed()
    }
}

impl Arb for u64 {
    fn arb() -> BoxedStrategy<Self> {
        any::<u64>().boxed()
    }
}

impl Arb for i64 {
    fn arb() -> BoxedStrategy<Self> {
        any::<i64>().boxed()
    }
}

impl Arb for f64 {
    fn arb() -> BoxedStrategy<Self> {
        prop_oneof![
            (-180i32..=180).prop_map(f64::from),
            (-1.0e6f64..1.0e6).prop_filter("finite", |f| f.is_finite()),
        ]
        .boxed()
    }
}

impl Arb for Number {
    fn arb() -> BoxedStrategy<Self> {
        prop_oneof![
            any::<i64>().prop_map(Number::from),
            any::<u64>().prop_map(Number::from),
            <f64 as Arb>::arb().prop_filter_map("finite", Number::from_f64),
        ]
        .boxed()
    }
}

impl Arb for Value {
    fn arb() -> BoxedStrategy<Self> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            <Number as Arb>::arb().prop_map(Value::Number),
            "[ -~]{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
        .boxed()
    }
}

impl<T: Arb + 'static> Arb for Vec<T> {
    fn arb() -> BoxedStrategy<Self> {
        prop::collection::vec(T::arb(), 0..4).boxed()
    }
}

impl<T: Arb + 'static> Arb for BTreeMap<String, T> {
    fn arb() -> BoxedStrategy<Self> {
        prop::collection::btree_map("[+0-9a-z]{1,10}", T::arb(), 0..4).boxed()
    }
}

/// Unknown properties. The `x_` prefix keeps them clear of every documented
/// name (none starts with it), which the round trip relies on.
pub(crate) fn extra() -> BoxedStrategy<Map<String, Value>> {
    prop::collection::btree_map("x_[a-zA-Z0-9]{1,8}", <Value as Arb>::arb(), 0..3)
        .prop_map(|m| m.into_iter().collect())
        .boxed()
}
