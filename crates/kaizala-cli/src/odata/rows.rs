//! A page of rows as the feed's JSON: `@odata.context`, `@odata.count`,
//! `value` and `@odata.nextLink`, each value as OData JSON writes its
//! Edm type.

use base64::Engine as _;
use kaizala_sink::{ExportColumn, RowWriter, Value};
use kaizala_types::Timestamp;
use serde_json::Value as Json;

/// Writes a page of rows, in column order.
pub(super) struct JsonRows {
    body: Vec<u8>,
    columns: Vec<String>,
    page_size: u64,
    rows: u64,
}

impl JsonRows {
    /// A page of at most `page_size` rows described by `context` (its
    /// `@odata.context`), with `@odata.count` when `count` is given; rows
    /// past the page are counted, not written.
    pub(super) fn new(context: &str, count: Option<u64>, page_size: u64) -> JsonRows {
        let mut body = br#"{"@odata.context":"#.to_vec();
        push(&mut body, &Json::from(context));
        if let Some(count) = count {
            body.extend_from_slice(format!(r#","@odata.count":{count}"#).as_bytes());
        }
        body.extend_from_slice(br#","value":["#);
        JsonRows {
            body,
            columns: Vec::new(),
            page_size,
            rows: 0,
        }
    }

    /// How many rows were given, the page's and those past it.
    pub(super) fn rows(&self) -> u64 {
        self.rows
    }

    /// The response body, with `next` as the next page's link.
    pub(super) fn finish(mut self, next: Option<&str>) -> Vec<u8> {
        self.body.push(b']');
        if let Some(next) = next {
            self.body.extend_from_slice(br#","@odata.nextLink":"#);
            push(&mut self.body, &Json::from(next));
        }
        self.body.push(b'}');
        self.body
    }
}

impl RowWriter for JsonRows {
    fn columns(&mut self, columns: &[ExportColumn]) -> std::io::Result<()> {
        self.columns = columns.iter().map(|c| c.name().to_owned()).collect();
        Ok(())
    }

    fn row(&mut self, values: &[Value<'_>]) -> std::io::Result<()> {
        self.rows += 1;
        if self.rows > self.page_size {
            return Ok(());
        }
        if self.rows > 1 {
            self.body.push(b',');
        }
        self.body.push(b'{');
        for (i, (name, value)) in self.columns.iter().zip(values).enumerate() {
            if i > 0 {
                self.body.push(b',');
            }
            push(&mut self.body, &Json::from(name.as_str()));
            self.body.push(b':');
            push(&mut self.body, &json(value));
        }
        self.body.push(b'}');
        Ok(())
    }
}

/// Appends `value`'s JSON.
fn push(body: &mut Vec<u8>, value: &Json) {
    // Writing JSON values to a vector cannot fail.
    let _ = serde_json::to_writer(&mut *body, value);
}

/// `value` as OData JSON: numbers as numbers (a non-finite double as
/// `"NaN"`, `"INF"`, `"-INF"`), `Edm.DateTimeOffset` as RFC 3339 in UTC,
/// `Edm.Date` as `YYYY-MM-DD`, `Edm.Binary` as base64url.
fn json(value: &Value<'_>) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Integer(n) => (*n).into(),
        Value::Double(x) if x.is_nan() => "NaN".into(),
        Value::Double(x) if x.is_infinite() => if *x > 0.0 { "INF" } else { "-INF" }.into(),
        Value::Double(x) => (*x).into(),
        Value::Boolean(b) => (*b).into(),
        Value::Timestamp(ms) => Timestamp::from_unix_millis(*ms).to_rfc3339().into(),
        Value::Date(days) => {
            let midnight = Timestamp::from_unix_millis(i64::from(*days) * 86_400_000);
            midnight.to_rfc3339().get(..10).unwrap_or_default().into()
        }
        Value::Text(text) => text.as_ref().into(),
        Value::Bytes(bytes) => base64::engine::general_purpose::URL_SAFE
            .encode(bytes)
            .into(),
        _ => Json::Null,
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    #[test]
    fn values_are_written_as_their_edm_types() {
        assert_eq!(json(&Value::Null), Json::Null);
        assert_eq!(json(&Value::Integer(-3)), Json::from(-3));
        assert_eq!(json(&Value::Double(2.5)), Json::from(2.5));
        assert_eq!(json(&Value::Double(f64::NAN)), "NaN");
        assert_eq!(json(&Value::Double(f64::NEG_INFINITY)), "-INF");
        assert_eq!(json(&Value::Boolean(true)), Json::Bool(true));
        assert_eq!(
            json(&Value::Timestamp(1_600_000_000_123)),
            "2020-09-13T12:26:40.123Z"
        );
        assert_eq!(
            json(&Value::Timestamp(1_600_000_000_000)),
            "2020-09-13T12:26:40Z"
        );
        assert_eq!(json(&Value::Date(19_675)), "2023-11-14");
        assert_eq!(json(&Value::Date(-1)), "1969-12-31");
        assert_eq!(json(&Value::Text(Cow::Borrowed("ünï"))), "ünï");
        assert_eq!(json(&Value::Bytes(Cow::Borrowed(&[0xfb, 0xff]))), "-_8=");
    }

    #[test]
    fn a_page_has_its_context_count_rows_and_next_link() {
        let mut rows = JsonRows::new("http://h/odata/$metadata#kz_groups", Some(3), 2);
        let columns = [
            ExportColumn::new("group_id", kaizala_sink::ColumnType::Text),
            ExportColumn::new("member_count", kaizala_sink::ColumnType::Integer),
        ];
        rows.columns(&columns).unwrap();
        for i in 0..3 {
            let id = format!("g{i}");
            rows.row(&[Value::Text(Cow::Owned(id)), Value::Integer(i)])
                .unwrap();
        }
        assert_eq!(rows.rows(), 3);
        let body = rows.finish(Some("http://h/odata/kz_groups?$skiptoken=2"));
        let page: Json = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            page,
            serde_json::json!({
                "@odata.context": "http://h/odata/$metadata#kz_groups",
                "@odata.count": 3,
                "value": [
                    {"group_id": "g0", "member_count": 0},
                    {"group_id": "g1", "member_count": 1}
                ],
                "@odata.nextLink": "http://h/odata/kz_groups?$skiptoken=2"
            })
        );
        // In column order, control information first.
        let text = String::from_utf8(body).unwrap();
        assert!(
            text.starts_with(r#"{"@odata.context":"http://h/odata/$metadata#kz_groups","@odata.count":3,"value":[{"group_id":"g0","member_count":0},"#),
            "{text}"
        );
    }
}
