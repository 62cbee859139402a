//! What each operation of the Kaizala Connectors API is: method, path, host,
//! credentials, scope, retry safety and body encoding.
//!
//! [`Operation`] names the 32 documented operations and [`ENDPOINTS`] holds
//! their [`EndpointMeta`], both generated from the API contract
//! (`docs/api/openapi.yaml`) by `cargo xtask codegen`. One table drives the
//! client's request building, the emulator's router and the documentation,
//! so they cannot disagree about an endpoint.
//!
//! ```
//! use kaizala_core::endpoint::{Auth, Operation};
//!
//! let op = Operation::from_id("listSubscribers").unwrap();
//! let meta = op.meta();
//! assert_eq!(meta.method, http::Method::POST);
//! // A read sent as POST: replaying it cannot do harm.
//! assert!(meta.retry_safe);
//! assert_eq!(meta.auth, Auth::Access);
//! ```

mod meta;
mod request;
mod table;

pub use meta::*;
pub use request::*;
pub use table::*;

// These tests restate facts of the reference documentation on their own
// rather than trusting the generator, so a wrong contract or a generator bug
// is caught here.
#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use http::Method;

    use super::*;

    fn by_path(method: Method, path: &str) -> Option<Operation> {
        Operation::ALL
            .iter()
            .copied()
            .find(|op| op.meta().method == method && op.meta().path == path)
    }

    #[test]
    fn there_are_32_operations_in_table_order() {
        assert_eq!(Operation::ALL.len(), 32);
        assert_eq!(ENDPOINTS.len(), 32);
        for (index, op) in Operation::ALL.iter().enumerate() {
            assert_eq!(ENDPOINTS[index].operation, *op);
            assert_eq!(op.meta().operation, *op);
        }
    }

    #[test]
    fn ids_round_trip() {
        for &op in Operation::ALL {
            assert_eq!(Operation::from_id(op.id()), Some(op), "{op:?}");
        }
        assert_eq!(
            Operation::from_id("sendMessage"),
            Some(Operation::SendMessage)
        );
        assert_eq!(Operation::from_id("SendMessage"), None);
        assert_eq!(Operation::from_id(""), None);
    }

    #[test]
    fn ids_and_routes_are_unique() {
        let ids: HashSet<&str> = Operation::ALL.iter().map(|op| op.id()).collect();
        assert_eq!(ids.len(), Operation::ALL.len());
        let routes: HashSet<(Method, &str)> = Operation::ALL
            .iter()
            .map(|op| (op.meta().method.clone(), op.meta().path))
            .collect();
        assert_eq!(routes.len(), Operation::ALL.len());
    }

    #[test]
    fn scopes_follow_auth() {
        for &op in Operation::ALL {
            let meta = op.meta();
            match meta.auth {
                Auth::Access => {
                    let scope = meta.scope.unwrap_or_else(|| panic!("{op:?} has no scope"));
                    assert!(
                        scope.contains('.') && !scope.contains(char::is_whitespace),
                        "{op:?}: {scope:?}"
                    );
                }
                Auth::None | Auth::Refresh => assert_eq!(meta.scope, None, "{op:?}"),
            }
        }
    }

    #[test]
    fn reads_are_retry_safe() {
        for &op in Operation::ALL {
            if op.meta().method == Method::GET {
                assert!(op.meta().retry_safe, "{op:?}");
            }
        }
        let list = Operation::ListSubscribers.meta();
        assert_eq!(list.method, Method::POST);
        assert_eq!(list.path, "/groups/{groupId}/subscribers");
        assert!(list.retry_safe);
    }

    #[test]
    fn posts_that_create_or_send_are_not_retry_safe() {
        for op in [
            Operation::GeneratePin,
            Operation::OauthToken,
            Operation::SendMessage,
            Operation::CreateAction,
            Operation::CreateWebhook,
        ] {
            assert!(!op.meta().retry_safe, "{op:?}");
        }
    }

    #[test]
    fn reaction_summary_for_a_group_is_distinct_from_reaction_details() {
        let summary = by_path(Method::GET, "/groups/{groupId}/reaction/summary");
        let details = by_path(Method::GET, "/groups/{groupId}/reaction/{referenceId}");
        assert_eq!(summary, Some(Operation::GetReactionSummaryForGroup));
        assert_eq!(details, Some(Operation::GetReactionDetails));
    }

    #[test]
    fn hosts_auth_and_bodies_match_the_reference() {
        let access_token = Operation::GetAccessToken.meta();
        assert_eq!(
            (access_token.server, access_token.auth, access_token.path),
            (Server::Api, Auth::Refresh, "/accessToken")
        );
        assert_eq!(Operation::OauthToken.meta().server, Server::OAuth);
        assert_eq!(Operation::OauthToken.meta().body, BodyKind::Form);
        assert_eq!(Operation::UploadMedia.meta().body, BodyKind::Multipart);
        assert_eq!(
            by_path(Method::POST, "/groups/{groupId}/subGroups"),
            Some(Operation::CreateSubGroup)
        );
        assert_eq!(
            by_path(Method::DELETE, "/webhook/{webhookId}"),
            Some(Operation::DeleteWebhook)
        );
        for &op in Operation::ALL {
            let meta = op.meta();
            if meta.auth == Auth::Access {
                assert_eq!(meta.server, Server::Endpoint, "{op:?}");
            }
            if meta.method == Method::GET || meta.method == Method::DELETE {
                assert_eq!(meta.body, BodyKind::None, "{op:?}");
            }
        }
    }
}
