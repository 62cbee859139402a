//! A survey pivot kept as a view (`Sink::keep_pivot_view`, `kaizala sql
//! pivot`): typed like the `kz_*` views, made again by a rebuild, and
//! refreshed with questions added since — on both backends.

mod support;

use kaizala_sink::{Sink, SinkError};
use kaizala_webhook::store::EventStore;
use serde_json::{Value, json};
use support::{databases, incoming, rows, view_columns};

/// A response to action `a3`: a number of cartons and, when `remark` is
/// given, a question added to the survey later.
fn response(event_id: &str, response_id: &str, cartons: i64, remark: Option<&str>) -> Value {
    let mut questions = vec![
        json!({"title": "Rice 1KG (cartons)", "type": "Numeric", "answer": cartons}),
        json!({"title": "Outlet", "type": "SingleOption",
               "options": [{"title": "ABC Traders"}], "answer": ["ABC Traders"]}),
    ];
    if let Some(remark) = remark {
        questions.push(json!({"title": "Remarks", "type": "Text", "answer": remark}));
    }
    json!({"eventId": event_id, "eventType": "SurveyResponse", "objectId": "g1",
        "objectType": "Group",
        "data": {"actionId": "a3", "groupId": "g1", "responseId": response_id,
            "responseDetails": {"responseWithQuestions": questions}}})
}

async fn store(sink: &Sink, events: &[Value]) {
    let store = sink.event_store();
    for event in events {
        store.store(&incoming(event)).await.unwrap();
    }
    sink.project().await.unwrap();
}

/// The view's column names, in order, as a new connection sees them (an
/// SQLite connection that read the schema before another one changed the
/// view keeps its old columns for a statement's first step, which sqlx
/// 0.8 does not survive).
async fn columns(url: &str, view: &str) -> Vec<String> {
    let reader = Sink::open_read_only(url).await.unwrap();
    let names = view_columns(&reader, view)
        .await
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    reader.close().await;
    names
}

#[tokio::test]
async fn a_pivot_kept_as_a_view_survives_rebuilds_and_grows() {
    for db in databases().await {
        let sink = db.connect().await;
        store(
            &sink,
            &[
                json!({"eventId": "s3", "eventType": "SurveyCreated", "objectId": "g1",
                    "objectType": "Group",
                    "data": {"actionId": "a3", "groupId": "g1", "title": "Store visit"}}),
                response("p1", "resp-1", 12, None),
                response("p2", "resp-2", 4, None),
            ],
        )
        .await;
        let view = sink.keep_pivot_view("a3", None).await.unwrap();
        assert_eq!(view, "pivot_store_visit", "{}", db.kind);
        let sum = |rows: Vec<serde_json::Map<String, Value>>| rows[0]["n"].as_f64().unwrap();
        let total = "SELECT CAST(SUM(rice_1kg_cartons) AS DOUBLE PRECISION) AS n, \
                     COUNT(*) AS c FROM pivot_store_visit";
        assert_eq!(sum(rows(&sink, total).await), 16.0, "{}", db.kind);
        assert_eq!(
            columns(&db.url, &view).await,
            [
                "response_id",
                "responded_at",
                "responder_id",
                "responder_name",
                "group_id",
                "group_name",
                "rice_1kg_cartons",
                "outlet"
            ],
            "{}",
            db.kind
        );
        if db.kind == "postgres" {
            let types = view_columns(&sink, "pivot_store_visit").await;
            let of = |name: &str| types.iter().find(|(c, _)| c == name).unwrap().1.clone();
            assert_eq!(of("responded_at"), "timestamp with time zone");
            assert_eq!(of("rice_1kg_cartons"), "double precision");
            assert_eq!(of("outlet"), "text");
        }

        // A rebuild swaps the tables under it: the view is made again.
        sink.rebuild(&[], |_| {}).await.unwrap();
        assert_eq!(sum(rows(&sink, total).await), 16.0, "{}", db.kind);

        // A question added later: a column once the view is kept again.
        store(&sink, &[response("p3", "resp-3", 7, Some("shelf empty"))]).await;
        assert!(
            !columns(&db.url, &view)
                .await
                .contains(&"remarks".to_owned())
        );
        assert_eq!(sink.keep_pivot_view("a3", None).await.unwrap(), view);
        assert!(
            columns(&db.url, &view)
                .await
                .contains(&"remarks".to_owned())
        );
        let remarks = rows(
            &sink,
            "SELECT remarks FROM pivot_store_visit WHERE response_id = 'resp-3'",
        )
        .await;
        assert_eq!(remarks[0]["remarks"], "shelf empty", "{}", db.kind);

        // Names it cannot have, and actions with nothing to show.
        for name in ["kz_responses", "answers", "Bad-Name", "9lives", ""] {
            let err = sink.keep_pivot_view("a3", Some(name)).await.unwrap_err();
            assert!(
                matches!(&err, SinkError::BadViewName { name: n } if n == name),
                "{name}: {err:?}"
            );
        }
        let err = sink
            .keep_pivot_view("nobody-answered", Some("pivot_store_visit"))
            .await
            .unwrap_err();
        assert!(matches!(err, SinkError::ViewTaken { .. }), "{err:?}");
        let err = sink
            .keep_pivot_view("nobody-answered", None)
            .await
            .unwrap_err();
        assert!(matches!(err, SinkError::NoAnswers { .. }), "{err:?}");
        sink.close().await;
    }
}
