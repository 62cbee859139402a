//! The OData v4 feed under `/odata/`, for Power BI, Excel and any OData
//! client: the service document, `$metadata`, one entity set per view
//! ([`kaizala_sink::odata`]), `$count`, and server-driven paging.
//!
//! - `GET /odata/` (or `/odata`): the service document;
//! - `GET /odata/$metadata`: the CSDL;
//! - `GET /odata/SET?$select=…&$filter=…&$orderby=…&$top=…&$skip=…&$count=true`:
//!   rows as JSON (`odata.metadata=minimal`), at most the page size of
//!   them, with an `@odata.nextLink` to the next page while more remain;
//! - `GET /odata/SET/$count?$filter=…`: the number of matching rows, as
//!   text.
//!
//! Every response carries `OData-Version: 4.0`; a failure is an OData
//! error (`{"error":{"code","message","target"}}`).

mod options;
mod rows;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use kaizala_sink::Sink;
use kaizala_sink::odata::{ODataError, ODataQuery, edm};
use serde_json::json;

use self::options::{Options, Unsupported};
use self::rows::JsonRows;

/// Where the feed is served.
pub const ROOT: &str = "/odata";

/// The default number of rows per page.
pub const DEFAULT_PAGE_SIZE: u64 = 1000;

/// The `Content-Type` of the feed's JSON.
const JSON: &str = "application/json;odata.metadata=minimal;odata.streaming=true;\
     IEEE754Compatible=false;charset=utf-8";

pub type Body = Full<Bytes>;

/// The feed of one database.
#[derive(Debug, Clone)]
pub struct Feed {
    sink: Sink,
    page_size: u64,
    scheme: &'static str,
}

impl Feed {
    /// The feed of `sink`, `page_size` rows a page, at URLs of `scheme`
    /// (`http` or `https`, as the server is reached).
    pub fn new(sink: Sink, page_size: u64, scheme: &'static str) -> Feed {
        Feed {
            sink,
            page_size: page_size.max(1),
            scheme,
        }
    }

    /// Whether `path` is the feed's.
    pub fn serves(path: &str) -> bool {
        path == ROOT || path.starts_with("/odata/")
    }

    /// Answers `request`, a request of one of the feed's paths.
    pub async fn handle<B>(&self, request: &Request<B>) -> Response<Body> {
        let mut response = match self.route(request).await {
            Ok(response) => response,
            Err(error) => error.response(),
        };
        response
            .headers_mut()
            .insert("odata-version", HeaderValue::from_static("4.0"));
        response
    }

    async fn route<B>(&self, request: &Request<B>) -> Result<Response<Body>, Failure> {
        if !matches!(*request.method(), Method::GET | Method::HEAD) {
            return Err(Failure::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "the feed is read-only: only GET is allowed",
            ));
        }
        let base = self.base(request);
        let query = request.uri().query().unwrap_or("");
        let options = Options::parse(query).map_err(Failure::from)?;
        let path = request.uri().path();
        let rest = path.strip_prefix(ROOT).unwrap_or("");
        let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        match segments[..] {
            [] => self.service_document(&base).await,
            ["$metadata"] => self.metadata().await,
            [set] => self.entities(&base, set, query, &options).await,
            [set, "$count"] => self.count(set, &options).await,
            _ => Err(Failure::new(
                StatusCode::NOT_FOUND,
                format!("no resource '{path}' (entity sets, $metadata and SET/$count are served)"),
            )),
        }
    }

    /// `scheme://host`, from the request's `Host`.
    fn base<B>(&self, request: &Request<B>) -> String {
        let host = request
            .uri()
            .authority()
            .map(|a| a.as_str().to_owned())
            .or_else(|| {
                let value = request.headers().get(header::HOST)?;
                value.to_str().ok().map(str::to_owned)
            })
            .unwrap_or_else(|| "localhost".to_owned());
        format!("{}://{host}", self.scheme)
    }

    async fn service_document(&self, base: &str) -> Result<Response<Body>, Failure> {
        let model = self.sink.odata_model().await.map_err(Failure::database)?;
        let sets: Vec<_> = model
            .sets()
            .iter()
            .map(|set| json!({"name": set.name(), "kind": "EntitySet", "url": set.name()}))
            .collect();
        let body = json!({
            "@odata.context": format!("{base}{ROOT}/$metadata"),
            "value": sets,
        });
        Ok(respond(StatusCode::OK, JSON, body.to_string().into()))
    }

    async fn metadata(&self) -> Result<Response<Body>, Failure> {
        let model = self.sink.odata_model().await.map_err(Failure::database)?;
        Ok(respond(
            StatusCode::OK,
            "application/xml;charset=utf-8",
            edm::metadata_xml(&model).into(),
        ))
    }

    async fn query(&self, set: &str, options: &Options) -> Result<ODataQuery, Failure> {
        let Some(entity_set) = self
            .sink
            .odata_entity_set(set)
            .await
            .map_err(Failure::database)?
        else {
            return Err(Failure::from(ODataError::UnknownEntitySet {
                name: set.to_owned(),
            }));
        };
        Ok(ODataQuery::of(
            self.sink.backend(),
            &entity_set,
            &options.query(),
        )?)
    }

    async fn entities(
        &self,
        base: &str,
        set: &str,
        raw_query: &str,
        options: &Options,
    ) -> Result<Response<Body>, Failure> {
        let query = self.query(set, options).await?;
        let served = options.skip_token;
        let count = if query.wants_count() {
            Some(
                self.sink
                    .odata_count(&query)
                    .await
                    .map_err(Failure::database)?,
            )
        } else {
            None
        };
        let context = match options.select {
            Some(_) => format!(
                "{base}{ROOT}/$metadata#{set}({})",
                query.columns().join(",")
            ),
            None => format!("{base}{ROOT}/$metadata#{set}"),
        };
        let mut rows = JsonRows::new(&context, count, self.page_size);
        // One more than a page: whether another follows.
        self.sink
            .odata_page(&query, served, self.page_size + 1, &mut rows)
            .await
            .map_err(Failure::database)?;
        let next = (rows.rows() > self.page_size).then(|| {
            format!(
                "{base}{ROOT}/{set}?{}",
                options::with_skip_token(raw_query, served + self.page_size)
            )
        });
        let body = rows.finish(next.as_deref());
        Ok(respond(StatusCode::OK, JSON, body.into()))
    }

    async fn count(&self, set: &str, options: &Options) -> Result<Response<Body>, Failure> {
        let query = self.query(set, options).await?;
        let count = self
            .sink
            .odata_count(&query)
            .await
            .map_err(Failure::database)?;
        Ok(respond(
            StatusCode::OK,
            "text/plain;charset=utf-8",
            count.to_string().into(),
        ))
    }
}

/// A request the feed does not answer with data: its status and OData
/// error.
#[derive(Debug)]
pub(crate) struct Failure {
    status: StatusCode,
    code: &'static str,
    message: String,
    target: Option<String>,
}

impl Failure {
    fn new(status: StatusCode, message: impl Into<String>) -> Failure {
        Failure {
            status,
            code: status.canonical_reason().unwrap_or("Error"),
            message: message.into(),
            target: None,
        }
    }

    /// The database could not be read: a 503, logged.
    fn database(err: kaizala_sink::SinkError) -> Failure {
        tracing::warn!(error = %err, "odata: cannot read the database");
        Failure::new(StatusCode::SERVICE_UNAVAILABLE, err.to_string())
    }

    fn response(self) -> Response<Body> {
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(target) = self.target {
            error["target"] = target.into();
        }
        let mut response = respond(
            self.status,
            "application/json;odata.metadata=minimal;charset=utf-8",
            json!({ "error": error }).to_string().into(),
        );
        if self.status == StatusCode::METHOD_NOT_ALLOWED {
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        }
        response
    }
}

impl From<ODataError> for Failure {
    fn from(err: ODataError) -> Failure {
        let (status, code, target) = match &err {
            ODataError::UnknownEntitySet { name } => (
                StatusCode::NOT_FOUND,
                "UnknownEntitySet",
                Some(name.clone()),
            ),
            ODataError::UnknownColumn { column, .. } => (
                StatusCode::BAD_REQUEST,
                "UnknownProperty",
                Some(column.clone()),
            ),
            ODataError::Syntax { .. } => (
                StatusCode::BAD_REQUEST,
                "SyntaxError",
                Some("$filter".to_owned()),
            ),
            ODataError::Type { .. } => (
                StatusCode::BAD_REQUEST,
                "TypeError",
                Some("$filter".to_owned()),
            ),
            ODataError::BadOption { option, .. } => (
                StatusCode::BAD_REQUEST,
                "BadQueryOption",
                Some((*option).to_owned()),
            ),
            _ => (StatusCode::BAD_REQUEST, "BadRequest", None),
        };
        Failure {
            status,
            code,
            message: err.to_string(),
            target,
        }
    }
}

impl From<Unsupported> for Failure {
    fn from(err: Unsupported) -> Failure {
        let (status, code) = match err {
            Unsupported::Option(_) => (StatusCode::NOT_IMPLEMENTED, "NotImplemented"),
            _ => (StatusCode::BAD_REQUEST, "BadQueryOption"),
        };
        Failure {
            status,
            code,
            message: err.to_string(),
            target: Some(err.option().to_owned()),
        }
    }
}

/// A response of the feed: `body` as `content_type`, never cached.
fn respond(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<Body> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;
    use kaizala_webhook::store::{EventStore, IncomingEvent};
    use serde_json::Value;

    use super::*;

    /// A feed of 3 text messages, 2 rows a page.
    async fn feed(dir: &tempfile::TempDir) -> Feed {
        let sink = Sink::connect(dir.path().join("feed.db").to_str().unwrap())
            .await
            .unwrap();
        for i in 0..3 {
            let event = json!({"eventId": format!("m{i}"), "eventType": "TextMessageCreated",
                "objectId": "g1", "objectType": "Group", "data": {"text": format!("hi {i}")}});
            let body = serde_json::to_vec(&event).unwrap();
            let incoming = IncomingEvent::new(body, std::time::SystemTime::now()).unwrap();
            sink.event_store().store(&incoming).await.unwrap();
        }
        sink.project().await.unwrap();
        Feed::new(sink, 2, "https")
    }

    async fn get(feed: &Feed, method: Method, uri: &str) -> (StatusCode, String, Value) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::HOST, "bi.example.org:8443")
            .body(())
            .unwrap();
        let response = feed.handle(&request).await;
        assert_eq!(response.headers()["odata-version"], "4.0", "{uri}");
        let status = response.status();
        let content_type = response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_owned();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let json = serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
        (status, content_type, json)
    }

    #[tokio::test]
    async fn the_service_document_and_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let feed = feed(&dir).await;
        for root in ["/odata", "/odata/"] {
            let (status, content_type, json) = get(&feed, Method::GET, root).await;
            assert_eq!(status, StatusCode::OK);
            assert!(content_type.starts_with("application/json;odata.metadata=minimal"));
            assert_eq!(
                json["@odata.context"],
                "https://bi.example.org:8443/odata/$metadata"
            );
            assert_eq!(
                json["value"][3],
                json!({"name": "kz_messages", "kind": "EntitySet", "url": "kz_messages"})
            );
        }
        let (status, content_type, xml) = get(&feed, Method::GET, "/odata/$metadata").await;
        assert_eq!(status, StatusCode::OK);
        assert!(content_type.starts_with("application/xml"));
        assert!(
            xml.as_str()
                .unwrap()
                .contains("<EntityContainer Name=\"Container\">")
        );
    }

    #[tokio::test]
    async fn pages_link_to_the_next_one_until_the_last() {
        let dir = tempfile::tempdir().unwrap();
        let feed = feed(&dir).await;
        let uri = "/odata/kz_messages?$select=event_id,text&$count=true&$orderby=event_id%20desc";
        let (status, _, page) = get(&feed, Method::GET, uri).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            page["@odata.context"],
            "https://bi.example.org:8443/odata/$metadata#kz_messages(event_id,text)"
        );
        assert_eq!(page["@odata.count"], 3);
        assert_eq!(
            page["value"],
            json!([{"event_id": "m2", "text": "hi 2"}, {"event_id": "m1", "text": "hi 1"}])
        );
        let next = page["@odata.nextLink"].as_str().unwrap();
        assert_eq!(
            next,
            format!("https://bi.example.org:8443{uri}&$skiptoken=2")
        );
        let next = next.trim_start_matches("https://bi.example.org:8443");
        let (_, _, last) = get(&feed, Method::GET, next).await;
        assert_eq!(last["value"], json!([{"event_id": "m0", "text": "hi 0"}]));
        assert_eq!(last["@odata.count"], 3);
        assert!(last.get("@odata.nextLink").is_none(), "{last}");
        // $top ends the pages first.
        let (_, _, top) = get(&feed, Method::GET, "/odata/kz_messages?$top=2").await;
        assert_eq!(top["value"].as_array().unwrap().len(), 2);
        assert!(top.get("@odata.nextLink").is_none(), "{top}");
        let (status, content_type, count) = get(
            &feed,
            Method::GET,
            "/odata/kz_messages/$count?$filter=text%20ne%20'hi%201'",
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(content_type.starts_with("text/plain"));
        assert_eq!(count, json!(2));
    }

    #[tokio::test]
    async fn failures_are_odata_errors() {
        let dir = tempfile::tempdir().unwrap();
        let feed = feed(&dir).await;
        let cases = [
            (
                Method::GET,
                "/odata/nope",
                StatusCode::NOT_FOUND,
                "no entity set 'nope'",
                Some("nope"),
            ),
            (
                Method::GET,
                "/odata/kz_messages?$filter=text%20eq%20'x",
                StatusCode::BAD_REQUEST,
                "unterminated string at position 8",
                Some("$filter"),
            ),
            (
                Method::GET,
                "/odata/kz_messages?$filter=colour%20eq%201",
                StatusCode::BAD_REQUEST,
                "'kz_messages' has no property 'colour'",
                Some("colour"),
            ),
            (
                Method::GET,
                "/odata/kz_messages?$expand=x",
                StatusCode::NOT_IMPLEMENTED,
                "$expand is not supported (the feed takes $select, $filter, $orderby, $top, $skip and $count)",
                Some("$expand"),
            ),
            (
                Method::GET,
                "/odata/kz_messages(1)/x",
                StatusCode::NOT_FOUND,
                "",
                None,
            ),
            (
                Method::POST,
                "/odata/kz_messages",
                StatusCode::METHOD_NOT_ALLOWED,
                "the feed is read-only: only GET is allowed",
                None,
            ),
        ];
        for (method, uri, want, message, target) in cases {
            let (status, content_type, json) = get(&feed, method, uri).await;
            assert_eq!(status, want, "{uri}: {json}");
            assert!(content_type.starts_with("application/json"), "{uri}");
            let error = &json["error"];
            assert!(error["code"].is_string(), "{uri}: {json}");
            if !message.is_empty() {
                assert_eq!(error["message"], message, "{uri}");
            }
            assert_eq!(error.get("target").and_then(Value::as_str), target, "{uri}");
        }
    }
}
