//! Answers, and the errors the platform documented.

use bytes::Bytes;
use http::StatusCode;
use http::header::{HeaderName, HeaderValue, LOCATION, RETRY_AFTER};
use serde::Serialize;
use serde_json::json;

/// An answer, before the rate-limit headers are added.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The HTTP status.
    pub status: StatusCode,
    /// The encoded body, of type `content_type`.
    pub body: Bytes,
    /// The `Content-Type` header's value.
    pub content_type: &'static str,
    /// Extra headers.
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl Reply {
    /// 200 with a model, encoded as the documentation shows it.
    pub fn ok<T: Serialize + ?Sized>(model: &T) -> Reply {
        Reply::json(StatusCode::OK, model)
    }

    /// `status` with a JSON body.
    pub fn json<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> Reply {
        Reply {
            status,
            body: Bytes::from(kaizala_types::to_vec(body)),
            content_type: "application/json; charset=utf-8",
            headers: Vec::new(),
        }
    }

    /// `status` with a plain-text body.
    pub fn text(status: StatusCode, body: impl Into<Bytes>) -> Reply {
        Reply {
            status,
            body: body.into(),
            content_type: "text/plain; charset=utf-8",
            headers: Vec::new(),
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Reply {
        self.headers.push((name, value));
        self
    }
}

/// An error answer: `{"message", "errorCode", "errorCategoryKey"}` (the
/// platform's shape), plus `field` naming the offending request property.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// `errorCode`.
    pub code: &'static str,
    /// `errorCategoryKey`.
    pub category: &'static str,
    /// `message`.
    pub message: String,
    /// The JSON path of the bad property, for 400s.
    pub field: Option<String>,
    /// Extra headers (`Retry-After`, `Location`).
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )?;
        match &self.field {
            Some(field) => write!(f, " (at {field})"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    fn new(
        status: StatusCode,
        code: &'static str,
        category: &'static str,
        message: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            code,
            category,
            message: message.into(),
            field: None,
            headers: Vec::new(),
        }
    }

    /// 400: the request is wrong.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "ValidationException",
            message,
        )
    }

    /// 400 naming the property at fault.
    pub fn bad_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = field.into();
        let message = message.into();
        let mut err = ApiError::bad_request(if field.is_empty() {
            format!("invalid request body: {message}")
        } else {
            format!("invalid request body at {field}: {message}")
        });
        err.code = "InvalidRequestBody";
        err.field = Some(field);
        err
    }

    /// 401: no valid credentials.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "InvalidToken",
            "AuthException",
            message,
        )
    }

    /// 403: the credentials may not do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, "Forbidden", "AuthException", message)
    }

    /// 404: no such thing (for this token).
    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            "ResourceException",
            message,
        )
    }

    /// 405: the path exists, with other methods.
    pub fn method_not_allowed(allowed: &str) -> Self {
        let mut err = ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "RequestException",
            format!("allowed: {allowed}"),
        );
        if let Ok(value) = HeaderValue::from_str(allowed) {
            err.headers.push((http::header::ALLOW, value));
        }
        err
    }

    /// 413: the body is over the limit.
    pub fn too_large(limit: usize) -> Self {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PayloadTooLarge",
            "RequestException",
            format!("the request body is over {limit} bytes"),
        )
    }

    /// 415: a media type the platform does not take.
    pub fn unsupported_media(message: impl Into<String>) -> Self {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            "RequestException",
            message,
        )
    }

    /// 429: over budget; try again in `seconds`.
    pub fn throttled(seconds: u64) -> Self {
        let mut err = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "ThrottlingException",
            format!("call budget exhausted; retry after {seconds} s"),
        );
        err.headers.push((RETRY_AFTER, HeaderValue::from(seconds)));
        err
    }

    /// 308: the tenant's endpoint moved to `location`.
    pub fn moved(location: &str) -> Self {
        let mut err = ApiError::new(
            StatusCode::PERMANENT_REDIRECT,
            "EndpointMoved",
            "RequestException",
            format!("the endpoint moved to {location}"),
        );
        if let Ok(value) = HeaderValue::from_str(location) {
            err.headers.push((LOCATION, value));
        }
        err
    }
}

impl From<ApiError> for Reply {
    fn from(err: ApiError) -> Reply {
        let mut body = json!({"message": err.message, "errorCode": err.code, "errorCategoryKey": err.category});
        if let Some(field) = err.field {
            body["field"] = field.into();
        }
        let mut reply = Reply::json(err.status, &body);
        reply.headers.extend(err.headers);
        reply
    }
}

impl From<kaizala_types::DecodeError> for ApiError {
    fn from(err: kaizala_types::DecodeError) -> Self {
        ApiError::bad_field(err.path(), err.message())
    }
}
