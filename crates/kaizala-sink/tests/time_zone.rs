//! The sink's time zone (`Sink::set_time_zone`): the daily views bucket by
//! its days, on both backends, and every reader sees the same zone.

mod support;

use kaizala_sink::{Format, Sink, SinkError, Table};
use kaizala_webhook::store::EventStore;
use serde_json::{Value, json};
use support::{databases, incoming, rows};

/// Epoch milliseconds of an RFC 3339 time.
fn at(time: &str) -> i64 {
    time.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

/// A survey response submitted at `responded_at` (the app's ResponseTime).
fn response(event_id: &str, response_id: &str, responded_at: i64) -> Value {
    json!({"eventId": event_id, "eventType": "SurveyResponse",
        "objectId": "g1", "objectType": "Group",
        "data": {"actionId": "a1", "groupId": "g1", "responseId": response_id,
            "responseDetails": {"responseWithQuestions": [
                {"title": "Stock", "type": "SingleOption",
                 "options": [{"title": "Low"}, {"title": "OK"}], "answer": ["OK"]},
                {"title": "ResponseTime", "type": "DateTime", "isInvisible": true,
                 "answer": responded_at}]}}})
}

/// `(day, responses)` of both daily views, in day order.
async fn days(sink: &Sink) -> (Vec<(String, i64)>, Vec<(String, i64, i64)>) {
    let stable = rows(
        sink,
        "SELECT CAST(day AS TEXT) AS day, responses FROM kz_responses_daily ORDER BY day",
    )
    .await
    .into_iter()
    .map(|r| {
        (
            r["day"].as_str().unwrap().to_owned(),
            r["responses"].as_i64().unwrap(),
        )
    })
    .collect();
    let legacy = rows(
        sink,
        "SELECT day, day_start, responses FROM responses_per_day ORDER BY day",
    )
    .await
    .into_iter()
    .map(|r| {
        (
            r["day"].as_str().unwrap().to_owned(),
            r["day_start"].as_i64().unwrap(),
            r["responses"].as_i64().unwrap(),
        )
    })
    .collect();
    (stable, legacy)
}

#[tokio::test]
async fn daily_views_count_the_days_of_the_stored_zone() {
    for db in databases().await {
        let sink = db.connect().await;
        let store = sink.event_store();
        // 20:00 UTC is 01:30 the next day in Kolkata; 10:00 UTC stays the same day.
        for event in [
            response("r1", "resp-1", at("2026-03-10T20:00:00Z")),
            response("r2", "resp-2", at("2026-03-10T10:00:00Z")),
        ] {
            store.store(&incoming(&event)).await.unwrap();
        }
        sink.project().await.unwrap();
        assert_eq!(sink.time_zone().await.unwrap(), "UTC", "{}", db.kind);
        let utc = days(&sink).await;
        assert_eq!(utc.0, [("2026-03-10".to_owned(), 2)], "{}", db.kind);
        let midnight = at("2026-03-10T00:00:00Z");
        assert_eq!(
            utc.1,
            [("2026-03-10".to_owned(), midnight, 2)],
            "{}",
            db.kind
        );

        let zone = sink.set_time_zone("asia/kolkata").await.unwrap();
        assert_eq!(zone, "Asia/Kolkata", "{}", db.kind);
        let kolkata = days(&sink).await;
        assert_eq!(
            kolkata.0,
            [("2026-03-10".to_owned(), 1), ("2026-03-11".to_owned(), 1)],
            "{}",
            db.kind
        );
        assert_eq!(
            kolkata.1,
            [
                ("2026-03-10".to_owned(), midnight, 1),
                ("2026-03-11".to_owned(), midnight + 86_400_000, 1)
            ],
            "{}",
            db.kind
        );
        // Excel gets local date-times; the machine formats stay UTC.
        for (format, shown) in [
            (Format::ExcelCsv, "2026-03-11 01:30:00.000"),
            (Format::Csv, "2026-03-10 20:00:00.000"),
        ] {
            let mut table = Vec::new();
            sink.export(Table::KzResponses, format, &mut table)
                .await
                .unwrap();
            let mut pivot = Vec::new();
            sink.export_pivot("a1", format, &mut pivot).await.unwrap();
            for file in [table, pivot] {
                let file = String::from_utf8(file).unwrap();
                assert!(file.contains(shown), "{} {format:?}: {file}", db.kind);
            }
        }
        // A reader that does not migrate sees the same zone and days.
        let reader = Sink::open_read_only(&db.url).await.unwrap();
        assert_eq!(reader.time_zone().await.unwrap(), "Asia/Kolkata");
        let dashboard = reader.dashboard().await.unwrap();
        assert_eq!(dashboard.time_zone, "Asia/Kolkata", "{}", db.kind);
        let shown: Vec<&str> = dashboard
            .responses_over_time
            .iter()
            .map(|d| d.day.as_str())
            .collect();
        assert_eq!(shown, ["2026-03-10", "2026-03-11"], "{}", db.kind);
        reader.close().await;

        // West of UTC, both are on the 10th: 13:00 and 03:00 (PDT, UTC-7).
        sink.set_time_zone("America/Los_Angeles").await.unwrap();
        assert_eq!(days(&sink).await.0, utc.0, "{}", db.kind);

        let unknown = sink.set_time_zone("Asia/Kolkatta").await.unwrap_err();
        assert!(
            matches!(&unknown, SinkError::UnknownTimeZone { zone } if zone == "Asia/Kolkatta"),
            "{unknown:?}"
        );
        assert!(unknown.to_string().contains("IANA name"), "{unknown}");
        assert_eq!(sink.time_zone().await.unwrap(), "America/Los_Angeles");

        sink.set_time_zone("UTC").await.unwrap();
        assert_eq!(days(&sink).await, utc, "{}", db.kind);
        sink.close().await;
    }
}

/// Views hold no data: a database whose views an older release made gets
/// this release's when a writer connects.
#[tokio::test]
async fn views_of_another_release_are_made_anew() {
    for db in databases().await {
        let sink = db.connect().await;
        for sql in [
            "DROP VIEW kz_responses_daily",
            "CREATE VIEW kz_responses_daily AS SELECT 1 AS made_by_an_older_release",
            "UPDATE sink_state SET detail = 'older' WHERE name = 'views'",
        ] {
            sqlx::query(sql).execute(sink.pool()).await.unwrap();
        }
        sink.close().await;
        let sink = db.connect().await;
        let columns = rows(&sink, "SELECT * FROM kz_responses_daily").await;
        assert!(columns.is_empty(), "{}: {columns:?}", db.kind);
        let day = rows(&sink, "SELECT COUNT(day) AS n FROM kz_responses_daily").await;
        assert_eq!(day[0]["n"], 0, "{}", db.kind);
        sink.close().await;
    }
}
