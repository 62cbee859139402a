//! The OData query layer's SQL, run: for each `$filter`, `$orderby`,
//! `$top` and `$skip`, the rows the generated (parameterised) query
//! returns equal those of a hand-written query of the raw tables — on
//! SQLite, and on PostgreSQL when one is configured.

mod support;

use std::time::{Duration, SystemTime};

use kaizala_sink::ColumnType;
use kaizala_sink::Sink;
use kaizala_sink::odata::{Model, ODataQuery, QueryOptions};
use kaizala_webhook::store::EventStore;
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;
use support::{Collect, databases, incoming, incoming_at, survey_response};

/// 2020-09-13T12:26:40Z, when the first message was sent; one a second after.
const T0: u64 = 1_600_000_000_000;

const TEXTS: [&str; 8] = [
    "plain",
    "with, comma",
    "50% off",
    "a_b",
    "axb",
    "it's",
    "ünïcödé ✓",
    "back\\slash",
];

async fn fill(sink: &Sink) {
    let store = sink.event_store();
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_millis(T0);
    for (i, text) in TEXTS.iter().enumerate() {
        let sender = if i % 2 == 0 { "Asha" } else { "Ravi" };
        let event = json!({"eventId": format!("m{i}"), "eventType": "TextMessageCreated",
            "objectId": "g1", "objectType": "Group", "fromUserName": sender,
            "data": {"text": text}});
        store
            .store(&incoming_at(&event, t0 + Duration::from_secs(i as u64)))
            .await
            .unwrap();
    }
    for (i, choice) in ["OK", "Low", "OK"].iter().enumerate() {
        let event = survey_response(
            i,
            json!([{"title": "Stock", "type": "SingleOption",
                "options": [{"title": "Low"}, {"title": "OK"}], "answer": [choice]}]),
        );
        store.store(&incoming(&event)).await.unwrap();
    }
    sink.project().await.unwrap();
}

/// The first column of each row, as text.
fn first(rows: &[AnyRow]) -> Vec<String> {
    rows.iter()
        .map(|row| {
            row.try_get::<String, _>(0)
                .unwrap_or_else(|_| row.get::<i64, _>(0).to_string())
        })
        .collect()
}

/// (entity set, `$select`, `$filter`, `$orderby`, `$top`, `$skip`, the
/// hand-written query of the same rows).
type Case = (
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
    &'static str,
);

const CASES: &[Case] = &[
    (
        // An INTEGER column (not BIGINT) with integer and decimal literals.
        "kz_answers",
        "response_id",
        Some("question_index eq 0 and question_index lt 1.5 and question_index ne 7"),
        Some("response_id"),
        None,
        Some("1"),
        "SELECT response_id FROM answers WHERE question_index = 0 ORDER BY response_id \
         LIMIT 10 OFFSET 1",
    ),
    (
        "kz_messages",
        "event_id",
        Some("contains(text,'comma')"),
        Some("event_id"),
        None,
        None,
        "SELECT event_id FROM messages WHERE text = 'with, comma' ORDER BY event_id",
    ),
    (
        "kz_messages",
        "event_id",
        Some("sent_at ge 2020-09-13T12:26:42Z and sender_name eq 'Asha'"),
        Some("event_id"),
        None,
        None,
        "SELECT event_id FROM messages WHERE sent_at >= 1600000002000 AND sender_name = 'Asha' \
         ORDER BY event_id",
    ),
    (
        "kz_messages",
        "event_id",
        Some("sent_at gt 2020-09-13T17:56:41.500+05:30 or startswith(text,'50%')"),
        Some("event_id desc"),
        None,
        None,
        "SELECT event_id FROM messages WHERE sent_at > 1600000001500 OR text = '50% off' \
         ORDER BY event_id DESC",
    ),
    (
        "kz_messages",
        "event_id",
        Some("not (sent_at lt 2020-09-13T12:26:43Z) and not endswith(text,'✓')"),
        Some("event_id"),
        None,
        None,
        "SELECT event_id FROM messages WHERE sent_at >= 1600000003000 AND text <> 'ünïcödé ✓' \
         ORDER BY event_id",
    ),
    (
        // `_` and `%` are escaped: `a_b` only, not `axb`; no `%` in `plain`.
        "kz_messages",
        "event_id",
        Some("contains(text,'a_b') or contains(text,'n%') or text eq 'it''s'"),
        Some("event_id"),
        None,
        None,
        "SELECT event_id FROM messages WHERE text IN ('a_b', 'it''s') ORDER BY event_id",
    ),
    (
        "kz_messages",
        "event_id",
        Some("contains(text,'\\') or endswith(text,'n''s')"),
        Some("event_id"),
        None,
        None,
        "SELECT event_id FROM messages WHERE text IN ('back\\slash') ORDER BY event_id",
    ),
    (
        "kz_responses_daily",
        "action_id",
        Some("responses gt 2.5 and responses lt 3.5 and responses eq 3"),
        None,
        None,
        None,
        "SELECT action_id FROM responses GROUP BY action_id",
    ),
    (
        "kz_messages",
        "event_id",
        Some("group_name eq null and (sender_name ne 'Asha')"),
        Some("event_id"),
        None,
        None,
        "SELECT m.event_id FROM messages AS m LEFT JOIN groups AS g ON g.group_id = m.group_id \
         WHERE g.group_name IS NULL AND m.sender_name <> 'Asha' ORDER BY m.event_id",
    ),
    (
        "kz_messages",
        "event_id",
        None,
        Some("sent_at desc"),
        Some("2"),
        Some("1"),
        "SELECT event_id FROM messages ORDER BY sent_at DESC LIMIT 2 OFFSET 1",
    ),
    (
        "kz_messages",
        "event_id",
        Some("group_name ne null"),
        Some("sent_at asc"),
        None,
        Some("5"),
        "SELECT event_id FROM messages WHERE event_id = 'none'",
    ),
    (
        "kz_messages",
        "event_id",
        None,
        Some("sent_at"),
        None,
        Some("5"),
        "SELECT event_id FROM messages ORDER BY sent_at LIMIT 10 OFFSET 5",
    ),
    (
        "kz_responses",
        "response_id",
        Some("is_completed eq true or is_anonymous ne false"),
        Some("response_id"),
        None,
        None,
        "SELECT response_id FROM responses WHERE is_completed = 1 OR is_anonymous <> 0 \
         ORDER BY response_id",
    ),
    (
        "kz_responses",
        "response_id",
        Some("not is_completed and responded_at gt 2020-01-01T00:00:00Z"),
        Some("response_id desc"),
        None,
        None,
        "SELECT response_id FROM responses WHERE COALESCE(is_completed, 0) = 0 ORDER BY response_id DESC",
    ),
    (
        "kz_responses_daily",
        "action_id",
        Some("not (responses gt 3) and day ge 2020-01-01"),
        None,
        None,
        None,
        "SELECT action_id FROM responses GROUP BY action_id",
    ),
    (
        "kz_responses_daily",
        "action_id",
        Some("not (responses gt 1)"),
        None,
        None,
        None,
        "SELECT action_id FROM responses WHERE action_id = 'none'",
    ),
];

#[tokio::test]
async fn generated_queries_return_the_rows_of_hand_written_ones() {
    for db in databases().await {
        let sink = db.connect().await;
        fill(&sink).await;
        for &(set, select, filter, orderby, top, skip, expected) in CASES {
            let options = QueryOptions {
                select: Some(select),
                filter,
                orderby,
                top,
                skip,
                count: Some("true"),
            };
            let query = ODataQuery::new(sink.backend(), set, &options)
                .unwrap_or_else(|e| panic!("{set} {filter:?}: {e}"));
            let sql = query.select_sql();
            let rows = sql
                .query()
                .fetch_all(sink.pool())
                .await
                .unwrap_or_else(|e| panic!("{}: {}: {e}", db.kind, sql.sql()));
            let want = sqlx::query(expected).fetch_all(sink.pool()).await.unwrap();
            let (got, want) = (first(&rows), first(&want));
            assert_eq!(got, want, "{}: {set} {filter:?}: {}", db.kind, sql.sql());

            // The count ignores the page.
            let count: i64 = query
                .count_sql()
                .query()
                .fetch_one(sink.pool())
                .await
                .unwrap()
                .get(0);
            if top.is_none() && skip.is_none() {
                assert_eq!(count, got.len() as i64, "{}: {set} {filter:?}", db.kind);
            } else {
                assert!(count >= got.len() as i64, "{}: {set} {filter:?}", db.kind);
            }
        }
        // As documented: PostgreSQL's LIKE is case-sensitive, SQLite's
        // ignores ASCII case.
        let options = QueryOptions {
            select: Some("event_id"),
            filter: Some("startswith(text,'PLAIN')"),
            ..QueryOptions::default()
        };
        let query = ODataQuery::new(sink.backend(), "kz_messages", &options).unwrap();
        let rows = query
            .select_sql()
            .query()
            .fetch_all(sink.pool())
            .await
            .unwrap();
        let expected: &[&str] = match sink.backend() {
            kaizala_sink::Backend::Sqlite => &["m0"],
            _ => &[],
        };
        assert_eq!(first(&rows), expected, "{}", db.kind);

        // Sanity: the cases are not vacuous.
        let everything =
            ODataQuery::new(sink.backend(), "kz_messages", &QueryOptions::default()).unwrap();
        let rows = everything
            .select_sql()
            .query()
            .fetch_all(sink.pool())
            .await
            .unwrap();
        assert_eq!(rows.len(), TEXTS.len(), "{}", db.kind);
    }
}

#[tokio::test]
async fn survey_pivot_views_are_entity_sets() {
    for db in databases().await {
        let sink = db.connect().await;
        let store = sink.event_store();
        for (i, (group, count)) in [("North", 3), ("South", 12), ("North", 7)]
            .into_iter()
            .enumerate()
        {
            // "Group" makes a column named `group`, an SQL keyword.
            let event = survey_response(
                i,
                json!([
                    {"title": "Group", "type": "Text", "answer": group},
                    {"title": "Cartons", "type": "Numeric", "answer": count}
                ]),
            );
            store.store(&incoming(&event)).await.unwrap();
        }
        sink.project().await.unwrap();
        let stable = Model::stable();
        assert_eq!(sink.odata_model().await.unwrap(), stable, "{}", db.kind);
        let name = sink.keep_pivot_view("a1", Some("visits")).await.unwrap();

        let model = sink.odata_model().await.unwrap();
        assert_eq!(model.sets().len(), stable.sets().len() + 1);
        let set = model.get(&name).unwrap();
        assert_eq!(
            sink.odata_entity_set(&name).await.unwrap().as_ref(),
            Some(set)
        );
        assert_eq!(sink.odata_entity_set("nope").await.unwrap(), None);
        assert_eq!(set.key(), ["response_id"]);
        assert_eq!(set.property("group"), Some(("group", ColumnType::Text)));
        assert_eq!(
            set.property("cartons"),
            Some(("cartons", ColumnType::Double))
        );
        assert_eq!(
            set.property("responded_at"),
            Some(("responded_at", ColumnType::Timestamp))
        );
        let xml = kaizala_sink::odata::edm::metadata_xml(&model);
        assert!(xml.contains(r#"<EntitySet Name="visits" EntityType="Kaizala.visits"/>"#));
        assert!(xml.contains(r#"<Property Name="cartons" Type="Edm.Double"/>"#));

        let options = QueryOptions {
            select: Some("response_id,group,cartons,responded_at"),
            filter: Some(
                "group eq 'North' and cartons gt 2 and responded_at gt 2000-01-01T00:00:00Z",
            ),
            orderby: Some("cartons desc"),
            count: Some("true"),
            ..QueryOptions::default()
        };
        let query = ODataQuery::of(sink.backend(), set, &options)
            .unwrap_or_else(|e| panic!("{}: {e}", db.kind));
        assert_eq!(sink.odata_count(&query).await.unwrap(), 2, "{}", db.kind);
        let mut rows = Collect::default();
        assert_eq!(sink.odata_page(&query, 0, 1, &mut rows).await.unwrap(), 1);
        assert_eq!(sink.odata_page(&query, 1, 5, &mut rows).await.unwrap(), 1);
        let firsts: Vec<&str> = rows.rows.iter().map(|r| r[0].as_str()).collect();
        assert_eq!(
            firsts,
            [r#"Text("resp2")"#, r#"Text("resp0")"#],
            "{}",
            db.kind
        );
        assert_eq!(rows.rows[0][2], "Double(7.0)", "{}", db.kind);
        assert!(
            rows.rows[0][3].starts_with("Timestamp("),
            "{}: {:?}",
            db.kind,
            rows.rows[0]
        );
    }
}
