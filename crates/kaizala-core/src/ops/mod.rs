//! One typed endpoint per operation of the API, grouped by resource. Each
//! implements [`Endpoint`](crate::endpoint::Endpoint): build it, send the
//! request however you like, parse the answer.
//!
//! ```
//! use kaizala_core::endpoint::{Endpoint, RequestContext};
//! use kaizala_core::ops::messages::SendMessage;
//! use kaizala_core::session::{Hosts, Session};
//! use kaizala_types::messages::SendMessageRequest;
//! use std::time::{Duration, UNIX_EPOCH};
//!
//! let session = Session {
//!     access_token: "token".into(),
//!     expires_at: UNIX_EPOCH + Duration::from_secs(2_000_000_000),
//!     endpoint_url: "https://kms-alpha.kaiza.la".into(),
//!     scope: Default::default(),
//! };
//! let hosts = Hosts::default();
//! let call = SendMessage { group_id: "g1".into(), request: SendMessageRequest::new("hello") };
//! let request = call.build(&RequestContext { hosts: &hosts, session: Some(&session), credentials: None })?;
//! assert_eq!(request.uri(), "https://kms-alpha.kaiza.la/v1/groups/g1/messages");
//! assert_eq!(request.headers()["accessToken"], "token");
//! assert_eq!(request.body().as_ref(), br#"{"message":"hello"}"#);
//!
//! let answer = http::Response::builder().status(200).body(br#"{"referenceId": "r1"}"#.to_vec().into()).unwrap();
//! assert_eq!(SendMessage::parse(answer)?.reference_id, "r1");
//! # Ok::<(), kaizala_core::Error>(())
//! ```

/// Declares an endpoint struct. Each field is a `path` value, a `query`
/// parameter (`query_opt`: sent when set) or the `json` body.
macro_rules! endpoint {
    (@ty query_opt $ty:ty) => { ::core::option::Option<$ty> };
    (@ty $kind:ident $ty:ty) => { $ty };

    (@path path $out:ident, $value:expr) => { $out.push($value.as_ref()); };
    (@path $kind:ident $out:ident, $value:expr) => {};

    (@query query $out:ident, $value:expr, $key:literal) => { $out.push(($key, $value.to_string())); };
    (@query query_opt $out:ident, $value:expr, $key:literal) => {
        if let ::core::option::Option::Some(value) = &$value {
            $out.push(($key, value.to_string()));
        }
    };
    (@query $kind:ident $out:ident, $value:expr, $($key:literal)?) => {};

    (@body json $value:expr) => {
        return Ok($crate::endpoint::Body::Json(::kaizala_types::to_vec(&$value)));
    };
    (@body $kind:ident $value:expr) => {};

    (
        $(#[$meta:meta])*
        $Name:ident => $Op:ident -> $Response:ty {
            $( $(#[$fmeta:meta])* $kind:ident $f:ident : $ty:ty $(= $key:literal)?, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $Name {
            $( $(#[$fmeta])* pub $f: endpoint!(@ty $kind $ty), )*
        }

        impl $crate::endpoint::Endpoint for $Name {
            type Response = $Response;
            const OPERATION: $crate::endpoint::Operation = $crate::endpoint::Operation::$Op;

            #[allow(unused_mut, clippy::vec_init_then_push)]
            fn path_params(&self) -> Vec<&str> {
                let mut params: Vec<&str> = Vec::new();
                $( endpoint!(@path $kind params, self.$f); )*
                params
            }

            #[allow(unused_mut, clippy::vec_init_then_push)]
            fn query(&self) -> Vec<(&'static str, String)> {
                let mut query = Vec::new();
                $( endpoint!(@query $kind query, self.$f, $($key)?); )*
                query
            }

            #[allow(unreachable_code)]
            fn body(&self) -> Result<$crate::endpoint::Body, $crate::Error> {
                $( endpoint!(@body $kind self.$f); )*
                Ok($crate::endpoint::Body::Empty)
            }
        }
    };
}

pub mod actions;
pub mod auth;
pub mod groups;
pub mod media;
pub mod members;
pub mod messages;
pub mod reactions;
pub mod responses;
pub mod subgroups;
pub mod subscribers;
pub mod webhooks;
