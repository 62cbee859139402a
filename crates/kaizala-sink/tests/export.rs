//! Export (CSV per RFC 4180, JSON), counts, the summary and the dashboard
//! data — on SQLite, and on PostgreSQL when one is configured.

mod support;

use std::time::{Duration, SystemTime};

use kaizala_sink::{Cursor, Format, SinkError, Start, Table};
use kaizala_webhook::store::{EventStore, QuarantinedBody};
use serde_json::{Value, json};
use support::{Collect, databases, incoming, incoming_at, survey_response};

/// Stores events (and a quarantined body) and projects them.
async fn fill(sink: &kaizala_sink::Sink) {
    let store = sink.event_store();
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_millis(1_600_000_000_000);
    let texts = [
        "plain",
        "with, comma",
        "with \"quotes\"",
        "two\r\nlines",
        "ünïcödé ✓",
    ];
    for (i, text) in texts.iter().enumerate() {
        let event = json!({"eventId": format!("m{i}"), "eventType": "TextMessageCreated",
            "objectId": "g1", "objectType": "Group", "fromUserName": "Asha",
            "data": {"text": text}});
        store
            .store(&incoming_at(&event, t0 + Duration::from_secs(i as u64)))
            .await
            .unwrap();
    }
    store
        .store(&incoming(
            &json!({"eventId": "s1", "eventType": "SurveyCreated",
            "objectId": "g1", "objectType": "Group",
            "data": {"actionId": "a1", "groupId": "g1", "title": "Store visit"}}),
        ))
        .await
        .unwrap();
    for (i, choice) in ["OK", "Low", "OK"].iter().enumerate() {
        let event = survey_response(
            i,
            json!([
                {"title": "Stock", "type": "SingleOption",
                 "options": [{"title": "Low"}, {"title": "OK"}], "answer": [choice]},
                {"title": "ResponseTime", "type": "DateTime", "isInvisible": true,
                 "answer": 1_800_000_000_000_i64 + i as i64 * 86_400_000}]),
        );
        store.store(&incoming(&event)).await.unwrap();
    }
    store
        .quarantine(&QuarantinedBody {
            body: bytes::Bytes::from_static(b"\x00\xffbinary"),
            reason_code: "not_json",
            reason: "not JSON, at all".into(),
            received_at: t0,
        })
        .await
        .unwrap();
    sink.project().await.unwrap();
}

/// Splits RFC 4180 CSV into records of fields.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {
                assert_eq!(chars.next(), Some('\n'), "records end with CRLF");
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => {
                assert_ne!(c, '\n', "a bare LF outside quotes");
                field.push(c);
            }
        }
    }
    assert!(
        field.is_empty() && record.is_empty(),
        "the last record ends with CRLF"
    );
    records
}

#[tokio::test]
async fn csv_and_json_exports() {
    for db in databases().await {
        let sink = db.connect().await;
        fill(&sink).await;

        let mut csv = Vec::new();
        let n = sink
            .export(Table::Messages, Format::Csv, &mut csv)
            .await
            .unwrap();
        assert_eq!(n, 5);
        let records = parse_csv(std::str::from_utf8(&csv).unwrap());
        assert_eq!(
            records[0],
            [
                "event_id",
                "group_id",
                "sender_id",
                "sender_phone",
                "sender_name",
                "text",
                "sent_at"
            ]
        );
        let texts: Vec<&str> = records[1..].iter().map(|r| r[5].as_str()).collect();
        assert_eq!(
            texts,
            [
                "plain",
                "with, comma",
                "with \"quotes\"",
                "two\r\nlines",
                "ünïcödé ✓"
            ],
            "{}",
            db.kind
        );
        assert_eq!(records[1][2], "", "NULL is an empty field");
        assert_eq!(records[1][6], "1600000000000");

        let mut json_out = Vec::new();
        sink.export(Table::Messages, Format::Json, &mut json_out)
            .await
            .unwrap();
        let parsed: Value = serde_json::from_slice(&json_out).unwrap();
        let rows = parsed.as_array().unwrap();
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[3]["text"], "two\r\nlines");
        assert_eq!(rows[0]["sender_id"], Value::Null);
        assert_eq!(rows[0]["sent_at"], 1_600_000_000_000_i64);
        let keys: Vec<&String> = rows[0].as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 7);

        // Binary bodies are base64; views export like tables.
        let mut out = Vec::new();
        sink.export(Table::Quarantine, Format::Json, &mut out)
            .await
            .unwrap();
        let q: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(q[0]["body"], "AP9iaW5hcnk=", "{}", db.kind);
        let mut out = Vec::new();
        sink.export(Table::ResponsesPerDay, Format::Csv, &mut out)
            .await
            .unwrap();
        let records = parse_csv(std::str::from_utf8(&out).unwrap());
        assert_eq!(records[0], ["action_id", "day", "day_start", "responses"]);
        assert_eq!(records.len(), 4, "{}: three days: {records:?}", db.kind);
        assert_eq!(records[1][1], "2027-01-15");

        // Every table and view exports, empty ones included.
        for table in Table::ALL {
            let mut out = Vec::new();
            sink.export(table, Format::Json, &mut out).await.unwrap();
            let value: Value = serde_json::from_slice(&out)
                .unwrap_or_else(|e| panic!("{}: {table}: {e}", db.kind));
            assert!(value.is_array());
            let mut out = Vec::new();
            sink.export(table, Format::Csv, &mut out).await.unwrap();
            assert!(!parse_csv(std::str::from_utf8(&out).unwrap()).is_empty());
        }
        assert!("users".parse::<Table>().is_err());
        assert_eq!("csv".parse::<Format>(), Ok(Format::Csv));
    }
}

#[tokio::test]
async fn counts_summary_and_dashboard() {
    for db in databases().await {
        let sink = db.connect().await;
        fill(&sink).await;

        let counts = sink.counts().await.unwrap();
        assert_eq!(counts.get(Table::Events), 9, "{}", db.kind);
        assert_eq!(counts.get(Table::Messages), 5);
        assert_eq!(counts.get(Table::Responses), 3);
        assert_eq!(counts.get(Table::Answers), 6);
        assert_eq!(counts.get(Table::Quarantine), 1);
        assert_eq!(
            counts.get(Table::ResponsesPerDay),
            0,
            "views are not counted"
        );

        let summary = sink.summary().await.unwrap();
        assert_eq!(summary.events, 9);
        assert_eq!(summary.responses, 3);
        assert_eq!(summary.quarantined, 1);
        assert_eq!(summary.events_by_type[0].event_type, "TextMessageCreated");
        assert_eq!(summary.events_by_type[0].count, 5);
        assert_eq!(summary.questions.len(), 1);
        let q = &summary.questions[0];
        assert_eq!(q.action_title.as_deref(), Some("Store visit"));
        assert_eq!(q.question_title.as_deref(), Some("Stock"));
        let options: Vec<(&str, u64)> = q
            .options
            .iter()
            .map(|o| (o.option.as_str(), o.count))
            .collect();
        assert_eq!(options, [("OK", 2), ("Low", 1)], "{}", db.kind);
        let text = summary.to_string();
        assert!(
            text.contains("9 events") && text.contains("66.7%"),
            "{text}"
        );

        let dashboard = sink.dashboard().await.unwrap();
        let json = serde_json::to_value(&dashboard).unwrap();
        assert_eq!(json["counts"]["messages"], 5);
        assert_eq!(dashboard.latest_messages.len(), 5);
        assert_eq!(
            dashboard.latest_messages[0].text.as_deref(),
            Some("ünïcödé ✓"),
            "newest first"
        );
        assert_eq!(dashboard.responses_over_time.len(), 3);
        assert_eq!(
            dashboard.responses_over_time[0].title.as_deref(),
            Some("Store visit")
        );
        assert_eq!(dashboard.answer_distribution.len(), 1);
        let hourly: u64 = dashboard.events_per_hour.iter().map(|h| h.count).sum();
        // The week before the newest event: the messages of 2020 are older.
        assert_eq!(hourly, 4, "{}: {:?}", db.kind, dashboard.events_per_hour);
        assert!(
            dashboard
                .events_per_hour
                .iter()
                .all(|h| h.hour_start % 3_600_000 == 0)
        );
    }
}

/// The example queries of `docs/schema.md` run on the backend they are
/// written for (blocks split by `-- SQLite` / `-- PostgreSQL` markers).
#[tokio::test]
async fn the_documented_queries_run() {
    // The SQL of both the schema's reference and the dashboards' guide.
    let doc = ["schema.md", "dashboards.md"]
        .map(|name| {
            std::fs::read_to_string(format!("{}/../../docs/{name}", env!("CARGO_MANIFEST_DIR")))
                .unwrap()
        })
        .join("\n");
    let blocks: Vec<&str> = doc
        .split("```sql\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap())
        .collect();
    assert!(blocks.len() >= 12, "{} blocks", blocks.len());
    for db in databases().await {
        let sink = db.connect().await;
        fill(&sink).await;
        for block in &blocks {
            let sql = match (block.find("-- SQLite"), block.find("-- PostgreSQL")) {
                (Some(s), Some(p)) if db.kind == "sqlite" => &block[s..p],
                (Some(_), Some(p)) => &block[p..],
                _ => block,
            };
            for statement in sql.split(';').filter(|s| {
                s.lines()
                    .any(|l| !l.trim().is_empty() && !l.trim().starts_with("--"))
            }) {
                // Counted, not decoded: PostgreSQL's NUMERIC results are fine
                // in psql but not for sqlx's Any driver.
                let counted = format!("SELECT COUNT(*) FROM ({}) AS q", statement.trim());
                sqlx::query(&counted)
                    .fetch_all(sink.pool())
                    .await
                    .unwrap_or_else(|e| panic!("{}: {statement}: {e}", db.kind));
            }
        }
    }
}

/// A survey response to action `a2`, with a Numeric, a MultiOption, a
/// Text and a SingleOption answer (and the hidden `ResponseTime`).
fn pivot_response(event_id: &str, response_id: &str, cartons: i64, update: bool) -> Value {
    json!({"eventId": event_id, "eventType": "SurveyResponse", "objectId": "g1",
        "objectType": "Group",
        "data": {"actionId": "a2", "groupId": "g1", "responseId": response_id,
            "responder": "+919900000000", "responderName": "Asha Rao",
            "isUpdateResponse": update,
            "responseDetails": {"responseWithQuestions": [
                {"title": "Rice 1KG (cartons)", "type": "Numeric", "answer": cartons},
                {"title": "Products", "type": "MultiOption",
                 "options": [{"title": "Rice"}, {"title": "Atta"}], "answer": ["Rice", "Atta"]},
                {"title": "Remarks", "type": "Text", "answer": "ok, fine"},
                {"title": "Retailer outlet", "type": "SingleOption",
                 "options": [{"title": "ABC Traders"}], "answer": ["ABC Traders"]},
                {"title": "ResponseTime", "type": "DateTime", "isInvisible": true,
                 "answer": 1_800_000_000_000_i64 + cartons}]}}})
}

#[tokio::test]
async fn a_survey_pivot_in_every_format() {
    for db in databases().await {
        let sink = db.connect().await;
        let store = sink.event_store();
        for event in [
            pivot_response("p1", "resp-a", 12, false),
            pivot_response("p2", "resp-b", 4, false),
            // resp-a resubmitted: its answers replace the first ones.
            pivot_response("p3", "resp-a", 30, true),
        ] {
            store.store(&incoming(&event)).await.unwrap();
        }
        sink.project().await.unwrap();

        let mut json = Vec::new();
        let rows = sink
            .export_pivot("a2", Format::Json, &mut json)
            .await
            .unwrap();
        assert_eq!(rows, 2, "{}", db.kind);
        let rows: Vec<Value> = serde_json::from_slice(&json).unwrap();
        let columns: Vec<&String> = rows[0].as_object().unwrap().keys().collect();
        let mut expected = vec![
            "group_id",
            "group_name",
            "products",
            "remarks",
            "responded_at",
            "responder_id",
            "responder_name",
            "response_id",
            "retailer_outlet",
            "rice_1kg_cartons",
        ];
        expected.sort_unstable();
        assert_eq!(columns, expected, "{}", db.kind);
        let a = rows.iter().find(|r| r["response_id"] == "resp-a").unwrap();
        assert_eq!(a["rice_1kg_cartons"], json!(30.0), "{}: {a}", db.kind);
        assert_eq!(a["retailer_outlet"], "ABC Traders", "{}: {a}", db.kind);
        assert_eq!(a["remarks"], "ok, fine", "{}: {a}", db.kind);
        let products: Value = serde_json::from_str(a["products"].as_str().unwrap()).unwrap();
        assert_eq!(products, json!(["Rice", "Atta"]), "{}", db.kind);

        let mut csv = Vec::new();
        sink.export_pivot("a2", Format::Csv, &mut csv)
            .await
            .unwrap();
        let csv = String::from_utf8(csv).unwrap();
        let header = csv.lines().next().unwrap();
        assert!(
            header.starts_with(
                "response_id,responded_at,responder_id,responder_name,group_id,group_name,"
            ),
            "{}: {header}",
            db.kind
        );
        assert_eq!(csv.lines().count(), 3, "{}: {csv}", db.kind);

        let err = sink
            .export_pivot("nobody-answered", Format::Csv, Vec::new())
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("no answers to action"), "{err}");
    }
}

#[tokio::test]
async fn typed_rows_of_every_table_and_view_match_their_declarations() {
    use kaizala_sink::{ColumnType, Value};
    for db in databases().await {
        let sink = db.connect().await;
        fill(&sink).await;
        for table in Table::ALL {
            let mut rows = Collect::default();
            let n = sink.export_rows(table, &mut rows).await.unwrap();
            let mut csv = Vec::new();
            let text_rows = sink.export(table, Format::Csv, &mut csv).await.unwrap();
            assert_eq!(n, text_rows, "{} {table}", db.kind);
            assert_eq!(rows.rows.len() as u64, n);
        }
        let mut responses = Collect::default();
        sink.export_rows(Table::KzResponses, &mut responses)
            .await
            .unwrap();
        let ty = |name: &str| {
            responses
                .columns
                .iter()
                .find(|c| c.name() == name)
                .map(|c| c.ty())
        };
        assert_eq!(ty("responded_at"), Some(ColumnType::Timestamp));
        assert_eq!(ty("is_anonymous"), Some(ColumnType::Boolean));
        assert_eq!(ty("details"), Some(ColumnType::Json));

        // The pivot's times are the responses' (their `ResponseTime`), to
        // the millisecond.
        let mut pivot = Collect::default();
        sink.export_pivot_rows("a1", &mut pivot).await.unwrap();
        assert_eq!(pivot.columns[1].name(), "responded_at");
        assert_eq!(pivot.columns[1].ty(), ColumnType::Timestamp);
        let times: Vec<&str> = pivot.rows.iter().map(|r| r[1].as_str()).collect();
        let expected: Vec<String> = (0..3)
            .map(|i| format!("{:?}", Value::Timestamp(1_800_000_000_000 + i * 86_400_000)))
            .collect();
        assert_eq!(times, expected, "{}", db.kind);
    }
}

/// The `event_id`s of an NDJSON export, in order.
fn event_ids(ndjson: &[u8]) -> Vec<String> {
    std::str::from_utf8(ndjson)
        .unwrap()
        .lines()
        .map(|line| {
            let row: Value = serde_json::from_str(line).unwrap();
            row["event_id"].as_str().unwrap().to_owned()
        })
        .collect()
}

/// Exports `table` from `start` as NDJSON: the event ids and the result.
async fn ndjson_from(
    sink: &kaizala_sink::Sink,
    table: Table,
    start: &Start,
) -> (Vec<String>, kaizala_sink::Exported) {
    let mut out = Vec::new();
    let exported = sink
        .export_from(table, start, Format::Ndjson, &mut out)
        .await
        .unwrap();
    let ids = event_ids(&out);
    assert_eq!(exported.rows, ids.len() as u64);
    (ids, exported)
}

/// Collects typed rows' cursor-free count (what the Parquet writer gets).
#[derive(Default)]
struct Counted(u64);

impl kaizala_sink::RowWriter for Counted {
    fn columns(&mut self, _: &[kaizala_sink::ExportColumn]) -> std::io::Result<()> {
        Ok(())
    }
    fn row(&mut self, _: &[kaizala_sink::Value<'_>]) -> std::io::Result<()> {
        self.0 += 1;
        Ok(())
    }
}

#[tokio::test]
async fn incremental_exports_resume_after_a_cursor_or_from_a_time() {
    for db in databases().await {
        let sink = db.connect().await;
        fill(&sink).await;
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_millis(1_600_000_000_000);
        let all = ["m0", "m1", "m2", "m3", "m4"];

        let mut cursors = Vec::new();
        for table in [Table::KzMessages, Table::Messages] {
            let (ids, first) = ndjson_from(&sink, table, &Start::All).await;
            assert_eq!(ids, all, "{}", db.kind);
            cursors.push(first.cursor.expect("an incremental table gives a cursor"));
        }

        // m5 has m4's time and a greater id (the tie); m6 is later.
        let store = sink.event_store();
        for (id, secs) in [("m5", 4), ("m6", 5)] {
            let event = json!({"eventId": id, "eventType": "TextMessageCreated",
                "objectId": "g1", "objectType": "Group", "data": {"text": id}});
            store
                .store(&incoming_at(&event, t0 + Duration::from_secs(secs)))
                .await
                .unwrap();
        }
        sink.project().await.unwrap();

        for (table, cursor) in [Table::KzMessages, Table::Messages]
            .into_iter()
            .zip(cursors)
        {
            let what = format!("{} on {}", table, db.kind);
            // Through its text, as a script would keep it.
            let cursor: Cursor = cursor.to_string().parse().unwrap();
            let (ids, next) = ndjson_from(&sink, table, &Start::After(cursor.clone())).await;
            assert_eq!(ids, ["m5", "m6"], "{what}");
            let next = next.cursor.unwrap();
            assert_ne!(next, cursor, "{what}");
            assert_eq!(next.table(), table);

            // Nothing newer: no rows, and the same cursor back.
            let (ids, again) = ndjson_from(&sink, table, &Start::After(next.clone())).await;
            assert!(ids.is_empty(), "{what}: {ids:?}");
            assert_eq!(again.cursor, Some(next.clone()), "{what}");

            // Typed rows (Parquet's path) resume alike, with the same cursor.
            let mut counted = Counted::default();
            let typed = sink
                .export_rows_from(table, &Start::After(cursor), &mut counted)
                .await
                .unwrap();
            assert_eq!((typed.rows, counted.0), (2, 2), "{what}");
            assert_eq!(typed.cursor, Some(next), "{what}");

            // From m4's instant: m4 and the tie included.
            let since = Start::Since(1_600_000_004_000);
            let (ids, _) = ndjson_from(&sink, table, &since).await;
            assert_eq!(ids, ["m4", "m5", "m6"], "{what}");
            let text = Start::since_text("2020-09-13 12:26:44", "UTC").unwrap();
            assert_eq!(text, since, "{what}");
        }

        // The logs and the other event-ordered views resume too.
        for table in [
            Table::Events,
            Table::EventIndex,
            Table::KzEvents,
            Table::KzResponses,
            Table::KzAnswers,
            Table::Quarantine,
        ] {
            let all = sink
                .export_from(table, &Start::All, Format::Csv, std::io::sink())
                .await
                .unwrap();
            assert!(all.rows > 0, "{table}");
            let cursor = all.cursor.unwrap();
            let after = sink
                .export_from(table, &Start::After(cursor), Format::Csv, std::io::sink())
                .await
                .unwrap();
            assert_eq!(after.rows, 0, "{table} on {}", db.kind);
            let since = sink
                .export_from(table, &Start::Since(0), Format::Csv, std::io::sink())
                .await
                .unwrap();
            assert_eq!(since.rows, all.rows, "{table} on {}", db.kind);
        }

        // A cursor of another table, a garbled one, a table exported whole.
        let (_, messages) = ndjson_from(&sink, Table::KzMessages, &Start::All).await;
        let other = Start::After(messages.cursor.unwrap());
        let err = sink
            .export_from(Table::KzResponses, &other, Format::Csv, std::io::sink())
            .await
            .unwrap_err();
        assert!(matches!(err, SinkError::BadCursor { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("kz_messages") && text.contains("kz_responses") && !text.contains('\n'),
            "{text}"
        );
        let err = sink
            .export_from(
                Table::KzGroups,
                &Start::Since(0),
                Format::Csv,
                std::io::sink(),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, SinkError::NotIncremental { .. }), "{err}");
        assert!(err.to_string().contains("kz_messages"), "{err}");
        assert!(!Table::KzGroups.is_incremental() && Table::KzAnswers.is_incremental());
    }
}

#[test]
fn garbled_cursors_fail_with_a_typed_error() {
    use base64::Engine as _;
    let encode = |json: &str| {
        format!(
            "kz1.{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
        )
    };
    let good = encode(r#"["kz_messages",1600000004000,"m4"]"#);
    assert_eq!(good.parse::<Cursor>().unwrap().table(), Table::KzMessages);
    for bad in [
        String::new(),
        "m4".to_owned(),
        "kz1.!!!".to_owned(),
        encode("{}"),
        encode(r#"["kz_messages",1600000004000]"#),
        encode(r#"["kz_messages",1600000004000,"m4",1]"#),
        encode(r#"["kz_messages","m4",1600000004000]"#),
        encode(r#"["kz_groups","g1"]"#),
        encode(r#"["users",1]"#),
    ] {
        let err = bad.parse::<Cursor>().unwrap_err();
        assert!(matches!(err, SinkError::BadCursor { .. }), "{bad}: {err}");
        assert!(!err.to_string().contains('\n'), "{err}");
    }
}
