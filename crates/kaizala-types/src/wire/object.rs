//! `wire_object!`: declares a model struct and generates its tolerant,
//! lossless `Deserialize`, its canonical `Serialize`, and (in tests) its
//! proptest strategy.
//!
//! ```text
//! wire_object! {
//!     /// Docs.
//!     pub struct CreateGroupRequest {
//!         /// Field docs.
//!         req name: String = "name",
//!         opt group_image_url: String = "groupImageUrl" | "imageUrl",  // aliases
//!         opt action_type: ActionType = "actionType",
//!         opt action_body: ActionBody = "actionBody" => action_type,   // typed by a sibling
//!     }
//! }
//! ```
//!
//! `req` fields must be present; `opt` fields become `Option<T>`. The first
//! spelling is the documented one (used when encoding); aliases are accepted
//! on input. A field followed by `=> sibling` implements
//! [`Tagged`](crate::wire::Tagged) with the sibling's type as its tag.
//! A leading `@manual_arb` skips the generated proptest strategy (for models
//! whose fields constrain each other).

macro_rules! wire_object {
    // ---- per-field helpers (listed first so the entry rules never see them) ----
    (@ty req $ty:ty) => { $ty };
    (@ty opt $ty:ty) => { ::core::option::Option<$ty> };

    (@slot [] $ty:ty) => { $crate::wire::Slot::<$ty>::new() };
    (@slot [$tag:ident] $ty:ty) => { $crate::wire::TaggedSlot::<$ty>::new() };

    (@fill req [] $slot:ident, $map:ident, $key:literal, $raw:ident, $extra:ident) => {
        $slot.fill_required(&mut $map, $key, $raw, &mut $extra)?
    };
    (@fill opt [] $slot:ident, $map:ident, $key:literal, $raw:ident, $extra:ident) => {
        $slot.fill_optional(&mut $map, $key, $raw, &mut $extra)?
    };
    (@fill $kind:ident [$tag:ident] $slot:ident, $map:ident, $key:literal, $raw:ident, $extra:ident) => {
        $slot.fill(&mut $map, $key, $raw, $tag.decided(), &mut $extra)?
    };

    (@take_tagged req [$tag:ident] $slot:ident, $key:literal, $err:ty) => {
        let $slot = $slot.finish_required::<$err>($key, $tag.get())?;
    };
    (@take_tagged opt [$tag:ident] $slot:ident, $key:literal, $err:ty) => {
        let $slot = $slot.finish::<$err>($key, $tag.get())?;
    };
    (@take_tagged $kind:ident [] $slot:ident, $key:literal, $err:ty) => {};

    (@take_plain req [] $slot:ident, $key:literal, $err:ty) => {
        let $slot = $slot.required::<$err>($key)?;
    };
    (@take_plain opt [] $slot:ident, $key:literal, $err:ty) => {
        let $slot = $slot.optional();
    };
    (@take_plain $kind:ident [$tag:ident] $slot:ident, $key:literal, $err:ty) => {};

    (@ser req $map:ident, $key:literal, $value:expr) => {
        ::serde::ser::SerializeMap::serialize_entry(&mut $map, $key, &$value)?;
    };
    (@ser opt $map:ident, $key:literal, $value:expr) => {
        if let ::core::option::Option::Some(value) = &$value {
            ::serde::ser::SerializeMap::serialize_entry(&mut $map, $key, value)?;
        }
    };

    (@arb req $ty:ty) => { <$ty as $crate::arb::Arb>::arb() };
    (@arb opt $ty:ty) => { ::proptest::option::of(<$ty as $crate::arb::Arb>::arb()) };

    (@arb_impl [] $($rest:tt)*) => {};
    (@arb_impl [arb] $Name:ident { $( $kind:ident $field:ident : $ty:ty ),* }) => {
        #[cfg(test)]
        impl $crate::arb::Arb for $Name {
            fn arb() -> ::proptest::strategy::BoxedStrategy<Self> {
                use ::proptest::strategy::Strategy as _;
                $crate::arb::nest!($( wire_object!(@arb $kind $ty), )* $crate::arb::extra())
                    .prop_map(|$crate::arb::nest!(@pat $($field,)* extra)| $Name { $($field,)* extra })
                    .boxed()
            }
        }
    };

    // ---- entry rules ----
    (@manual_arb $($rest:tt)*) => { wire_object!(@define [] $($rest)*); };

    (@define [$($arb:ident)?]
        $(#[$meta:meta])*
        pub struct $Name:ident {
            $(
                $(#[$fmeta:meta])*
                $kind:ident $field:ident : $ty:ty = $key:literal $(| $alias:literal)* $(=> $tag:ident)?
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $Name {
            $(
                $(#[$fmeta])*
                pub $field: wire_object!(@ty $kind $ty),
            )*
            /// Properties this version does not model, kept verbatim (with the
            /// explicit `null`s of optional fields) so a decode/encode round trip
            /// loses nothing.
            pub extra: $crate::Extra,
        }

        impl<'de> ::serde::Deserialize<'de> for $Name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> ::core::result::Result<Self, D::Error> {
                #[allow(non_camel_case_types)]
                #[derive(Clone, Copy)]
                enum Field { $($field),* }

                impl $crate::wire::FieldSet for Field {
                    const TABLE: &'static [(&'static str, Field)] = &[
                        $( ($key, Field::$field), $( ($alias, Field::$field), )* )*
                    ];

                    fn exact(key: &str) -> ::core::option::Option<Field> {
                        match key {
                            $( $key => ::core::option::Option::Some(Field::$field), )*
                            _ => ::core::option::Option::None,
                        }
                    }
                }

                struct ObjectVisitor;

                impl<'de> ::serde::de::Visitor<'de> for ObjectVisitor {
                    type Value = $Name;

                    fn expecting(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                        f.write_str(concat!("an object (", stringify!($Name), ")"))
                    }

                    fn visit_map<A: ::serde::de::MapAccess<'de>>(self, mut map: A) -> ::core::result::Result<$Name, A::Error> {
                        $( let mut $field = wire_object!(@slot [$($tag)?] $ty); )*
                        let mut extra = $crate::Extra::new();
                        while let ::core::option::Option::Some(key) =
                            map.next_key_seed($crate::wire::KeySeed::<Field>::new())?
                        {
                            match key {
                                $(
                                    $crate::wire::Key::Field(Field::$field, raw) => {
                                        wire_object!(@fill $kind [$($tag)?] $field, map, $key, raw, extra)
                                    }
                                )*
                                $crate::wire::Key::Unknown(key) => $crate::wire::unknown(&mut map, key, &mut extra)?,
                            }
                        }
                        $( wire_object!(@take_tagged $kind [$($tag)?] $field, $key, A::Error); )*
                        $( wire_object!(@take_plain $kind [$($tag)?] $field, $key, A::Error); )*
                        ::core::result::Result::Ok($Name { $($field,)* extra })
                    }
                }

                deserializer.deserialize_map(ObjectVisitor)
            }
        }

        impl $crate::wire::Wire for $Name {
            fn decode<'de, D: ::serde::Deserializer<'de>>(deserializer: D) -> ::core::result::Result<Self, D::Error> {
                <Self as ::serde::Deserialize<'de>>::deserialize(deserializer)
            }
        }

        impl ::serde::Serialize for $Name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> ::core::result::Result<S::Ok, S::Error> {
                let mut map = serializer.serialize_map(::core::option::Option::None)?;
                $( wire_object!(@ser $kind map, $key, self.$field); )*
                for (key, value) in &self.extra {
                    ::serde::ser::SerializeMap::serialize_entry(&mut map, key, value)?;
                }
                ::serde::ser::SerializeMap::end(map)
            }
        }

        wire_object!(@arb_impl [$($arb)?] $Name { $( $kind $field : $ty ),* });
    };

    ($($rest:tt)*) => { wire_object!(@define [arb] $($rest)*); };
}
