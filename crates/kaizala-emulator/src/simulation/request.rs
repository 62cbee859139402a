//! Reading a simulation request body: a JSON object whose properties are
//! matched in any letter case (as the platform matched its own), with a 400
//! naming the property at fault for anything wrong.

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::http::ApiError;

/// The most events of one kind a single call may ask for.
pub const MAX_COUNT: u64 = 100_000;

#[derive(Debug)]
pub struct Body {
    fields: Map<String, Value>,
}

impl Body {
    /// Parses `bytes` (an empty body is `{}`), refusing properties not in `allowed`.
    pub fn parse(bytes: &Bytes, allowed: &[&str]) -> Result<Body, ApiError> {
        let fields = if bytes.iter().all(u8::is_ascii_whitespace) {
            Map::new()
        } else {
            match serde_json::from_slice::<Value>(bytes) {
                Ok(Value::Object(fields)) => fields,
                Ok(_) => return Err(ApiError::bad_field("", "the body must be a JSON object")),
                Err(err) => {
                    return Err(ApiError::bad_request(format!(
                        "the body is not JSON: {err}"
                    )));
                }
            }
        };
        if let Some(unknown) = fields
            .keys()
            .find(|k| !allowed.iter().any(|a| a.eq_ignore_ascii_case(k)))
        {
            return Err(ApiError::bad_field(
                unknown.clone(),
                format!(
                    "unknown property; this endpoint takes {}",
                    allowed.join(", ")
                ),
            ));
        }
        Ok(Body { fields })
    }

    fn get(&self, name: &str) -> Option<&Value> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
            .filter(|v| !v.is_null())
    }

    /// An optional string.
    pub fn string(&self, name: &str) -> Result<Option<String>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ApiError::bad_field(name, "must be a string")),
        }
    }

    /// A required, non-empty string.
    pub fn required_string(&self, name: &str) -> Result<String, ApiError> {
        self.string(name)?
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| ApiError::bad_field(name, "is required"))
    }

    /// An optional count: a whole number from 0 to [`MAX_COUNT`].
    pub fn count(&self, name: &str) -> Result<Option<u64>, ApiError> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        let number = value
            .as_u64()
            .or_else(|| {
                value
                    .as_f64()
                    .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                    .map(|f| f as u64)
            })
            .ok_or_else(|| ApiError::bad_field(name, "must be a whole number, 0 or more"))?;
        if number > MAX_COUNT {
            return Err(ApiError::bad_field(
                name,
                format!("at most {MAX_COUNT} per call"),
            ));
        }
        Ok(Some(number))
    }

    /// A required count of at least 1.
    pub fn positive_count(&self, name: &str) -> Result<u64, ApiError> {
        match self.count(name)? {
            None => Err(ApiError::bad_field(name, "is required")),
            Some(0) => Err(ApiError::bad_field(name, "must be at least 1")),
            Some(n) => Ok(n),
        }
    }

    /// An optional fraction from 0 to 1.
    pub fn fraction(&self, name: &str) -> Result<Option<f64>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(value) => value
                .as_f64()
                .filter(|f| (0.0..=1.0).contains(f))
                .map(Some)
                .ok_or_else(|| ApiError::bad_field(name, "must be a number from 0 to 1")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: &str) -> Result<Body, ApiError> {
        Body::parse(
            &Bytes::from(json.to_owned()),
            &["groupId", "count", "updateFraction"],
        )
    }

    #[test]
    fn fields_are_named_when_wrong() {
        let err = body(r#"{"groupId": "g", "colour": 1}"#).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("colour"));
        let b = body(r#"{"GroupId": "g", "count": -1, "updateFraction": 2}"#).unwrap();
        assert_eq!(b.required_string("groupId").unwrap(), "g");
        assert_eq!(
            b.count("count").unwrap_err().field.as_deref(),
            Some("count")
        );
        assert_eq!(
            b.fraction("updateFraction").unwrap_err().field.as_deref(),
            Some("updateFraction")
        );
        let b = body(r#"{"count": 3.0}"#).unwrap();
        assert_eq!(b.positive_count("count").unwrap(), 3);
        assert_eq!(
            b.required_string("groupId").unwrap_err().field.as_deref(),
            Some("groupId")
        );
        assert!(body("[1]").is_err());
        assert!(body("").is_ok());
    }
}
