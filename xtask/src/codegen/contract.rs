//! Reading the API contract into the facts the generators need, refusing a
//! contract that leaves any of them out.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_norway::{Mapping, Value};

/// Methods an OpenAPI path item may hold, as spelled in YAML.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Host an operation is sent to (`x-kaizala-server`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Server {
    Api,
    Endpoint,
    OAuth,
}

impl Server {
    const ALL: [Server; 3] = [Server::Api, Server::Endpoint, Server::OAuth];

    /// The spelling used in the contract.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Server::Api => "api",
            Server::Endpoint => "endpoint",
            Server::OAuth => "oauth",
        }
    }

    /// The variant of `kaizala_core::endpoint::Server`.
    pub(crate) fn rust(self) -> &'static str {
        match self {
            Server::Api => "Server::Api",
            Server::Endpoint => "Server::Endpoint",
            Server::OAuth => "Server::OAuth",
        }
    }
}

/// Credentials an operation needs (`x-kaizala-auth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Auth {
    None,
    Refresh,
    Access,
}

impl Auth {
    const ALL: [Auth; 3] = [Auth::None, Auth::Refresh, Auth::Access];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Auth::None => "none",
            Auth::Refresh => "refresh",
            Auth::Access => "access",
        }
    }

    pub(crate) fn rust(self) -> &'static str {
        match self {
            Auth::None => "Auth::None",
            Auth::Refresh => "Auth::Refresh",
            Auth::Access => "Auth::Access",
        }
    }
}

/// Request body encoding (`x-kaizala-body`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Body {
    None,
    Json,
    Multipart,
    Form,
}

impl Body {
    const ALL: [Body; 4] = [Body::None, Body::Json, Body::Multipart, Body::Form];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Body::None => "none",
            Body::Json => "json",
            Body::Multipart => "multipart",
            Body::Form => "form",
        }
    }

    pub(crate) fn rust(self) -> &'static str {
        match self {
            Body::None => "BodyKind::None",
            Body::Json => "BodyKind::Json",
            Body::Multipart => "BodyKind::Multipart",
            Body::Form => "BodyKind::Form",
        }
    }
}

/// One operation, reduced to what the generated files state about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Operation {
    /// `operationId`, camelCase.
    pub(crate) id: String,
    /// Upper-case HTTP method, e.g. `POST`.
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) server: Server,
    pub(crate) auth: Auth,
    pub(crate) scope: Option<String>,
    pub(crate) retry_safe: bool,
    pub(crate) body: Body,
    pub(crate) summary: String,
    /// Statuses answered with a shared error response (`$ref` into
    /// `components/responses`), ascending.
    pub(crate) error_statuses: Vec<u16>,
    /// Names of the query parameters, in the contract's order.
    pub(crate) query: Vec<String>,
}

impl Operation {
    /// UpperCamelCase of the operationId: the Rust variant name.
    pub(crate) fn variant(&self) -> String {
        let mut chars = self.id.chars();
        match chars.next() {
            Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
            None => String::new(),
        }
    }
}

/// Everything the generators read from the contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Contract {
    /// In document order: paths as written, methods as written inside each.
    pub(crate) operations: Vec<Operation>,
    /// URL of each named host (top-level `servers` with `x-kaizala-name`).
    pub(crate) servers: BTreeMap<Server, String>,
    /// Meaning of each error status, from `components/responses`.
    pub(crate) statuses: BTreeMap<u16, String>,
}

/// Reads and validates the contract at `path`.
pub(crate) fn load(path: &Path) -> Result<Contract> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the contract {}", path.display()))?;
    parse(&text).with_context(|| format!("invalid contract {}", path.display()))
}

/// Parses and validates a contract. Every problem found is reported at once,
/// each naming its operation, so one run shows all that needs fixing.
pub(crate) fn parse(yaml: &str) -> Result<Contract> {
    let doc: Value = serde_norway::from_str(yaml).context("not valid YAML")?;
    let Some(root) = doc.as_mapping() else {
        bail!("the document is not a mapping");
    };
    let mut problems = Vec::new();

    let servers = read_servers(root, &mut problems);
    let responses = root
        .get("components")
        .and_then(|c| c.get("responses"))
        .and_then(Value::as_mapping);
    let parameters = root
        .get("components")
        .and_then(|c| c.get("parameters"))
        .and_then(Value::as_mapping);

    let Some(paths) = root.get("paths").and_then(Value::as_mapping) else {
        bail!("no `paths` mapping");
    };
    let mut operations = Vec::new();
    let mut statuses = BTreeMap::new();
    for (path_key, item) in paths {
        let Some(path) = path_key.as_str() else {
            problems.push(format!("a path key is not a string: {path_key:?}"));
            continue;
        };
        if !path.starts_with('/') {
            problems.push(format!("path `{path}` does not start with `/`"));
        }
        let Some(item) = item.as_mapping() else {
            problems.push(format!("path `{path}` is not a mapping"));
            continue;
        };
        for (method_key, op) in item {
            let Some(method) = method_key.as_str().filter(|m| METHODS.contains(m)) else {
                continue;
            };
            let method = method.to_ascii_uppercase();
            let mut reader = OperationReader {
                label: format!("{method} {path}"),
                problems: &mut problems,
            };
            if let Some(op) = reader.read(
                &method,
                path,
                op,
                responses,
                parameters,
                &servers,
                &mut statuses,
            ) {
                operations.push(op);
            }
        }
    }
    if operations.is_empty() && problems.is_empty() {
        problems.push("the contract declares no operations".to_owned());
    }
    check_unique(&operations, &mut problems);

    if !problems.is_empty() {
        let list: Vec<String> = problems.iter().map(|p| format!("  - {p}")).collect();
        bail!(
            "{} problem(s) in the contract:\n{}",
            problems.len(),
            list.join("\n")
        );
    }
    Ok(Contract {
        operations,
        servers,
        statuses,
    })
}

fn read_servers(root: &Mapping, problems: &mut Vec<String>) -> BTreeMap<Server, String> {
    let mut servers = BTreeMap::new();
    let list = root
        .get("servers")
        .and_then(Value::as_sequence)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for entry in list {
        let Some(name) = entry.get("x-kaizala-name") else {
            continue;
        };
        let url = entry.get("url").and_then(Value::as_str);
        match (name.as_str().and_then(parse_server), url) {
            (Some(server), Some(url)) => {
                servers.insert(server, url.to_owned());
            }
            (None, _) => problems.push(format!(
                "top-level server has unknown x-kaizala-name {} (expected one of: {})",
                show(name),
                Server::ALL.map(Server::name).join(", ")
            )),
            (_, None) => problems.push(format!("top-level server {} has no url", show(name))),
        }
    }
    servers
}

fn parse_server(s: &str) -> Option<Server> {
    Server::ALL.into_iter().find(|v| v.name() == s)
}

/// Collects the problems of one operation under its label.
struct OperationReader<'a> {
    label: String,
    problems: &'a mut Vec<String>,
}

impl OperationReader<'_> {
    fn problem(&mut self, what: impl std::fmt::Display) {
        self.problems.push(format!("{}: {what}", self.label));
    }

    #[allow(clippy::too_many_arguments)]
    fn read(
        &mut self,
        method: &str,
        path: &str,
        op: &Value,
        responses: Option<&Mapping>,
        parameters: Option<&Mapping>,
        servers: &BTreeMap<Server, String>,
        statuses: &mut BTreeMap<u16, String>,
    ) -> Option<Operation> {
        let Some(op) = op.as_mapping() else {
            self.problem("the operation is not a mapping");
            return None;
        };
        let id = match op.get("operationId") {
            None => {
                self.problem("no operationId");
                None
            }
            Some(v) => match v.as_str() {
                Some(id) if is_camel_case(id) => Some(id.to_owned()),
                _ => {
                    self.problem(format_args!(
                        "operationId {} is not a camelCase identifier",
                        show(v)
                    ));
                    None
                }
            },
        };
        if let Some(id) = &id {
            // Name the operation first: that is what a reader searches for.
            self.label = format!("operation `{id}` ({method} {path})");
        }

        let server = self.choice("x-kaizala-server", op, &Server::ALL, Server::name);
        let auth = self.choice("x-kaizala-auth", op, &Auth::ALL, Auth::name);
        let body = self.choice("x-kaizala-body", op, &Body::ALL, Body::name);
        let scope = self.scope(op);
        let retry_safe = match op.get("x-kaizala-retry-safe") {
            None => {
                self.problem("missing x-kaizala-retry-safe (true or false)");
                None
            }
            Some(Value::Bool(b)) => Some(*b),
            Some(other) => {
                self.problem(format_args!(
                    "x-kaizala-retry-safe must be true or false, not {}",
                    show(other)
                ));
                None
            }
        };
        let summary = match op.get("summary").and_then(Value::as_str).map(str::trim) {
            Some(s) if !s.is_empty() && !s.contains('\n') => Some(s.to_owned()),
            Some(s) if s.contains('\n') => {
                self.problem("summary must be a single line");
                None
            }
            _ => {
                self.problem("no summary (it becomes the Rust doc comment)");
                None
            }
        };

        if let (Some(auth), Some(scope)) = (auth, &scope) {
            match (auth, scope) {
                (Auth::Access, None) => {
                    self.problem("x-kaizala-auth is access but x-kaizala-scope is null")
                }
                (Auth::None | Auth::Refresh, Some(s)) => self.problem(format_args!(
                    "x-kaizala-auth is {} but x-kaizala-scope is `{s}` (expected null)",
                    auth.name()
                )),
                _ => {}
            }
        }
        if let Some(server) = server
            && !servers.contains_key(&server)
        {
            self.problem(format_args!(
                "x-kaizala-server is {} but no top-level server has x-kaizala-name: {}",
                server.name(),
                server.name()
            ));
        }
        let error_statuses = self.error_statuses(op, responses, statuses);
        let query = self.query_parameters(op, parameters);

        Some(Operation {
            id: id?,
            method: method.to_owned(),
            path: path.to_owned(),
            server: server?,
            auth: auth?,
            scope: scope?,
            retry_safe: retry_safe?,
            body: body?,
            summary: summary?,
            error_statuses: error_statuses?,
            query,
        })
    }

    /// Query parameter names, following `$ref`s into `components/parameters`.
    fn query_parameters(&mut self, op: &Mapping, components: Option<&Mapping>) -> Vec<String> {
        let list = op
            .get("parameters")
            .and_then(Value::as_sequence)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut names = Vec::new();
        for parameter in list {
            let parameter = match parameter.get("$ref").and_then(Value::as_str) {
                Some(reference) => {
                    let name = reference.strip_prefix("#/components/parameters/");
                    match name.and_then(|n| components?.get(n)) {
                        Some(resolved) => resolved,
                        None => {
                            self.problem(format_args!(
                                "parameter reference {reference} does not resolve"
                            ));
                            continue;
                        }
                    }
                }
                None => parameter,
            };
            if parameter.get("in").and_then(Value::as_str) == Some("query") {
                match parameter.get("name").and_then(Value::as_str) {
                    Some(name) => names.push(name.to_owned()),
                    None => self.problem("a query parameter has no name"),
                }
            }
        }
        names
    }

    fn choice<T: Copy>(
        &mut self,
        key: &str,
        op: &Mapping,
        all: &[T],
        name: fn(T) -> &'static str,
    ) -> Option<T> {
        let expected = || all.iter().map(|v| name(*v)).collect::<Vec<_>>().join(", ");
        match op.get(key) {
            None => {
                self.problem(format_args!("missing {key} (one of: {})", expected()));
                None
            }
            Some(v) => {
                let found = v
                    .as_str()
                    .and_then(|s| all.iter().copied().find(|c| name(*c) == s));
                if found.is_none() {
                    self.problem(format_args!(
                        "unknown {key} value {} (expected one of: {})",
                        show(v),
                        expected()
                    ));
                }
                found
            }
        }
    }

    /// `Some(None)` is an explicit null: the operation needs no scope.
    fn scope(&mut self, op: &Mapping) -> Option<Option<String>> {
        match op.get("x-kaizala-scope") {
            None => {
                self.problem(
                    "missing x-kaizala-scope (a scope such as groupinfo.read, or null for the \
                     authentication operations)",
                );
                None
            }
            Some(Value::Null) => Some(None),
            Some(Value::String(s)) if is_scope(s) => Some(Some(s.clone())),
            Some(other) => {
                self.problem(format_args!(
                    "x-kaizala-scope {} is not a scope such as groupinfo.read, nor null",
                    show(other)
                ));
                None
            }
        }
    }

    fn error_statuses(
        &mut self,
        op: &Mapping,
        components: Option<&Mapping>,
        statuses: &mut BTreeMap<u16, String>,
    ) -> Option<Vec<u16>> {
        let Some(responses) = op.get("responses").and_then(Value::as_mapping) else {
            self.problem("no responses");
            return None;
        };
        let mut codes = Vec::new();
        let mut ok = true;
        for (key, response) in responses {
            // `default` and 2XX-style ranges carry no single status to list.
            let code = match key {
                Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
                Value::String(s) => s.parse::<u16>().ok(),
                _ => None,
            };
            let Some(code) = code else { continue };
            let Some(reference) = response.get("$ref") else {
                continue;
            };
            let name = reference
                .as_str()
                .and_then(|r| r.strip_prefix("#/components/responses/"));
            let description = name
                .and_then(|n| components?.get(n))
                .and_then(|r| r.get("description"))
                .and_then(Value::as_str);
            match description {
                Some(text) => {
                    statuses.entry(code).or_insert_with(|| one_line(text));
                    codes.push(code);
                }
                None => {
                    self.problem(format_args!(
                        "response {code} refers to {}, which is not a response with a \
                         description under components/responses",
                        show(reference)
                    ));
                    ok = false;
                }
            }
        }
        codes.sort_unstable();
        ok.then_some(codes)
    }
}

fn check_unique(operations: &[Operation], problems: &mut Vec<String>) {
    let mut ids: HashMap<&str, &Operation> = HashMap::new();
    let mut routes: HashMap<(&str, String), &Operation> = HashMap::new();
    for op in operations {
        if let Some(first) = ids.insert(&op.id, op) {
            problems.push(format!(
                "duplicate operationId `{}`: {} {} and {} {}",
                op.id, first.method, first.path, op.method, op.path
            ));
        }
        if let Some(first) = routes.insert((&op.method, route_shape(&op.path)), op) {
            problems.push(format!(
                "duplicate method and path: operations `{}` ({} {}) and `{}` ({} {})",
                first.id, first.method, first.path, op.id, op.method, op.path
            ));
        }
    }
}

/// The path with every `{parameter}` emptied: templates that differ only in
/// their parameters' names match the same requests.
fn route_shape(path: &str) -> String {
    let mut shape = String::with_capacity(path.len());
    let mut in_parameter = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_parameter = true;
                shape.push('{');
            }
            '}' => {
                in_parameter = false;
                shape.push('}');
            }
            _ if in_parameter => {}
            _ => shape.push(c),
        }
    }
    shape
}

fn is_camel_case(id: &str) -> bool {
    id.starts_with(|c: char| c.is_ascii_lowercase())
        && id.chars().all(|c| c.is_ascii_alphanumeric())
}

fn is_scope(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '*'))
}

/// Folds YAML block text into one line for tables.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A YAML value as it would appear in the contract, for messages.
fn show(value: &Value) -> String {
    match value {
        Value::String(s) => format!("`{s}`"),
        other => serde_norway::to_string(other)
            .map(|s| format!("`{}`", s.trim_end()))
            .unwrap_or_else(|_| format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codegen::fixture;

    fn problems_of(yaml: &str) -> String {
        format!(
            "{:#}",
            parse(yaml).expect_err("the contract should be refused")
        )
    }

    #[test]
    fn reads_the_fixture_in_document_order() {
        let contract = parse(fixture::CONTRACT).unwrap();
        let ids: Vec<&str> = contract.operations.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(ids, ["getThing", "putThing", "fetchToken"]);
        let get = &contract.operations[0];
        assert_eq!(get.method, "GET");
        assert_eq!(get.path, "/things/{thingId}");
        assert_eq!(get.server, Server::Endpoint);
        assert_eq!(get.auth, Auth::Access);
        assert_eq!(get.scope.as_deref(), Some("thing.read"));
        assert!(get.retry_safe);
        assert_eq!(get.body, Body::None);
        assert_eq!(get.error_statuses, [404, 429]);
        assert_eq!(get.variant(), "GetThing");
        assert_eq!(contract.operations[2].scope, None);
        assert_eq!(contract.statuses[&404], "Not found.");
    }

    #[test]
    fn missing_scope_is_refused_naming_the_operation() {
        let yaml = fixture::CONTRACT.replace("      x-kaizala-scope: thing.write\n", "");
        let message = problems_of(&yaml);
        assert!(
            message.contains("operation `putThing` (PUT /things/{thingId})")
                && message.contains("missing x-kaizala-scope"),
            "{message}"
        );
    }

    #[test]
    fn missing_retry_safe_is_refused_naming_the_operation() {
        let yaml = fixture::CONTRACT.replace("      x-kaizala-retry-safe: false\n", "");
        let message = problems_of(&yaml);
        assert!(
            message.contains("operation `fetchToken`")
                && message.contains("missing x-kaizala-retry-safe"),
            "{message}"
        );
    }

    #[test]
    fn unknown_extension_values_are_refused() {
        let yaml = fixture::CONTRACT
            .replace("x-kaizala-server: endpoint", "x-kaizala-server: elsewhere")
            .replace("x-kaizala-auth: refresh", "x-kaizala-auth: magic")
            .replace("x-kaizala-body: json", "x-kaizala-body: xml");
        let message = problems_of(&yaml);
        for expected in [
            "unknown x-kaizala-server value `elsewhere`",
            "unknown x-kaizala-auth value `magic`",
            "unknown x-kaizala-body value `xml`",
        ] {
            assert!(message.contains(expected), "{expected} not in: {message}");
        }
    }

    #[test]
    fn missing_operation_id_is_refused_naming_the_route() {
        let yaml = fixture::CONTRACT.replace("      operationId: putThing\n", "");
        let message = problems_of(&yaml);
        assert!(
            message.contains("PUT /things/{thingId}: no operationId"),
            "{message}"
        );
    }

    #[test]
    fn duplicates_are_refused() {
        let yaml = fixture::CONTRACT.replace("operationId: putThing", "operationId: getThing");
        assert!(problems_of(&yaml).contains("duplicate operationId `getThing`"));

        let yaml =
            fixture::CONTRACT.replace("  /token:\n    post:", "  /things/{otherId}:\n    get:");
        let message = problems_of(&yaml);
        assert!(
            message.contains(
                "duplicate method and path: operations `getThing` (GET /things/{thingId}) \
                 and `fetchToken` (GET /things/{otherId})"
            ),
            "{message}"
        );
    }

    #[test]
    fn scope_must_match_auth() {
        let yaml =
            fixture::CONTRACT.replace("x-kaizala-scope: thing.read", "x-kaizala-scope: null");
        assert!(
            problems_of(&yaml).contains("x-kaizala-auth is access but x-kaizala-scope is null")
        );
    }
}
