//! Which operation a request is: the generated endpoint table, matched
//! against the three hosts' paths as the emulator lays them out.
//!
//! - `/v1/…` is the fixed API host (PIN login, access tokens);
//! - `/api/…` is the OAuth host;
//! - `/t/{tenant}/v1/…` is a tenant's endpoint (`endpointUrl` is
//!   `{base}/t/{tenant}`); relocating a tenant changes `{tenant}`;
//! - `/admin/…` is the emulator's own admin API.

use http::Method;
use kaizala_core::endpoint::{ENDPOINTS, Operation, Server};
use percent_encoding::percent_decode_str;

/// Where a request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// An API operation.
    Api {
        /// The operation the method and path matched.
        op: Operation,
        /// Path values.
        params: Vec<String>,
        /// The tenant slug of an endpoint-host path.
        tenant: Option<String>,
    },
    /// The path exists with other methods.
    WrongMethod(String),
    /// The admin API (the path after `/admin`).
    Admin(String),
    /// Nothing here.
    NotFound,
}

/// Routes `method path`.
pub fn route(method: &Method, path: &str) -> Route {
    if let Some(rest) = path.strip_prefix("/admin")
        && (rest.is_empty() || rest.starts_with('/'))
    {
        return Route::Admin(rest.to_owned());
    }
    let (server, tenant, rest) = if let Some(rest) = path.strip_prefix("/v1/") {
        (Server::Api, None, rest)
    } else if let Some(rest) = path.strip_prefix("/api/") {
        (Server::OAuth, None, rest)
    } else if let Some(rest) = path.strip_prefix("/t/") {
        let Some((slug, rest)) = rest.split_once('/') else {
            return Route::NotFound;
        };
        let Some(rest) = rest.strip_prefix("v1/") else {
            return Route::NotFound;
        };
        (Server::Endpoint, Some(slug.to_owned()), rest)
    } else {
        return Route::NotFound;
    };
    let segments: Vec<&str> = rest.trim_end_matches('/').split('/').collect();

    let mut best: Option<(usize, Operation, Vec<String>)> = None;
    let mut other_methods: Vec<&str> = Vec::new();
    for meta in ENDPOINTS.iter().filter(|m| m.server == server) {
        let Some((literals, params)) = matches(meta.path, &segments) else {
            continue;
        };
        if meta.method != *method {
            other_methods.push(meta.method.as_str());
            continue;
        }
        // `/reaction/summary` must win over `/reaction/{referenceId}`.
        if best.as_ref().is_none_or(|(score, _, _)| literals > *score) {
            best = Some((literals, meta.operation, params));
        }
    }
    match best {
        Some((_, op, params)) => Route::Api { op, params, tenant },
        None if !other_methods.is_empty() => {
            other_methods.sort_unstable();
            other_methods.dedup();
            Route::WrongMethod(other_methods.join(", "))
        }
        None => Route::NotFound,
    }
}

/// Matches a template against path segments: the number of literal segments
/// and the decoded placeholder values.
fn matches(template: &str, segments: &[&str]) -> Option<(usize, Vec<String>)> {
    let parts: Vec<&str> = template.trim_start_matches('/').split('/').collect();
    if parts.len() != segments.len() {
        return None;
    }
    let mut literals = 0;
    let mut params = Vec::new();
    for (part, segment) in parts.iter().zip(segments) {
        if part.starts_with('{') && part.ends_with('}') {
            if segment.is_empty() {
                return None;
            }
            params.push(percent_decode_str(segment).decode_utf8_lossy().into_owned());
        } else if part.eq_ignore_ascii_case(segment) {
            literals += 1;
        } else {
            return None;
        }
    }
    Some((literals, params))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_of_the_table_routes_to_itself() {
        for meta in ENDPOINTS.iter() {
            let concrete = meta
                .path
                .replace("{groupId}", "g%401")
                .replace('{', "x")
                .replace('}', "");
            let path = match meta.server {
                Server::Api => format!("/v1{concrete}"),
                Server::OAuth => format!("/api{concrete}"),
                _ => format!("/t/acme/v1{concrete}"),
            };
            match route(&meta.method, &path) {
                Route::Api { op, params, .. } => {
                    assert_eq!(op, meta.operation, "{path}");
                    if meta.path.contains("{groupId}") {
                        assert_eq!(params[0], "g@1", "placeholders are percent-decoded");
                    }
                }
                other => panic!("{} {path}: {other:?}", meta.method),
            }
        }
    }

    #[test]
    fn literal_segments_win_and_other_methods_are_named() {
        assert!(matches!(
            route(&Method::GET, "/t/acme/v1/groups/g/reaction/summary"),
            Route::Api {
                op: Operation::GetReactionSummaryForGroup,
                ..
            }
        ));
        assert!(matches!(
            route(&Method::GET, "/t/acme/v1/groups/g/reaction/r1"),
            Route::Api {
                op: Operation::GetReactionDetails,
                ..
            }
        ));
        assert_eq!(
            route(&Method::PATCH, "/t/acme/v1/groups"),
            Route::WrongMethod("GET, POST".into())
        );
        assert_eq!(route(&Method::GET, "/t/acme/v1/nothing"), Route::NotFound);
        assert_eq!(
            route(&Method::GET, "/v1/groups"),
            Route::NotFound,
            "the API host only has token calls"
        );
        assert_eq!(
            route(&Method::GET, "/admin/clock"),
            Route::Admin("/clock".into())
        );
    }
}
