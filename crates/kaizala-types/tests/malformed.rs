//! Bad input gives a typed error naming where it went wrong — never a panic.

use kaizala_types::event::Event;
use kaizala_types::{DecodeErrorKind, from_slice, from_str};
use kaizala_types::{members, subscribers, webhooks};

const SURVEY_RESPONSE: &str =
    include_str!("fixtures/Event--eventschema-surveyresponse-actionresponse.json");

#[test]
fn wrong_types_name_the_property() {
    let err =
        Event::from_json_str(r#"{"eventId": 5, "eventType": "TextMessageCreated"}"#).unwrap_err();
    assert_eq!(err.kind(), DecodeErrorKind::Data);
    assert_eq!(err.path(), "eventId");
    assert!(
        err.message()
            .contains("invalid type: integer `5`, expected a string"),
        "{err}"
    );

    let err = Event::from_json_str(
        r#"{"eventId": "e", "eventType": "TextMessageCreated", "data": {"text": ["a"]}}"#,
    )
    .unwrap_err();
    assert_eq!(err.path(), "data.text");

    let err = from_str::<webhooks::WebhookList>(
        r#"{"webhooks": [{"id": "w1"}, {"id": "w2", "active": "sometimes"}]}"#,
    )
    .unwrap_err();
    assert_eq!(err.path(), "webhooks[1].active");
    assert!(
        err.to_string()
            .starts_with("webhooks[1].active: invalid value: string \"sometimes\""),
        "{err}"
    );
}

#[test]
fn an_answer_of_the_wrong_json_type_is_named_by_its_path() {
    let mut body: serde_json::Value = serde_json::from_str(SURVEY_RESPONSE).unwrap();
    let question = &mut body["data"]["responseDetails"]["responseWithQuestions"][2];
    assert_eq!(question["type"], "DateTime");
    question["answer"] = serde_json::json!({"not": "a date"});
    let err = Event::from_slice(&serde_json::to_vec(&body).unwrap()).unwrap_err();
    assert_eq!(
        err.path(),
        "data.responseDetails.responseWithQuestions[2].answer"
    );
    assert!(
        err.message()
            .contains("a DateTime answer must be a timestamp, found an object"),
        "{err}"
    );

    // The same when the question's type comes after its answer (the answer
    // is then buffered until the object ends).
    let reordered = r#"{"eventId": "e", "eventType": "SurveyResponse", "data": {"responseDetails":
        {"responseWithQuestions": [{"answer": "12"}, {"answer": "many", "type": "Numeric"}]}}}"#;
    let err = Event::from_json_str(reordered).unwrap_err();
    assert_eq!(
        err.path(),
        "data.responseDetails.responseWithQuestions[1].answer"
    );
    assert!(
        err.message()
            .contains("a Numeric answer must be a number or a numeric string"),
        "{err}"
    );

    // And when `data` itself comes before `eventType`.
    let data_first = r#"{"data": {"responseDetails": {"responseWithQuestions": [{"type": "Location", "answer": 3}]}},
        "eventId": "e", "eventType": "SurveyResponse"}"#;
    let err = Event::from_json_str(data_first).unwrap_err();
    assert_eq!(
        err.path(),
        "data.responseDetails.responseWithQuestions[0].answer"
    );
}

#[test]
fn missing_required_properties() {
    let err =
        Event::from_json_str(r#"{"eventType": "TextMessageCreated", "data": {}}"#).unwrap_err();
    assert_eq!(err.kind(), DecodeErrorKind::Data);
    assert_eq!(err.message(), "missing field `eventId`");

    let err = Event::from_json_str(r#"{"eventId": "e"}"#).unwrap_err();
    assert_eq!(err.message(), "missing field `eventType`");

    let err =
        from_str::<webhooks::WebhookList>(r#"{"webhooks": [{"objectId": "g"}]}"#).unwrap_err();
    assert_eq!(err.path(), "webhooks[0]");
    assert_eq!(err.message(), "missing field `id`");
}

#[test]
fn bad_phone_numbers() {
    for (bad, why) in [
        ("9910870005", "no +"),
        ("+91 99108 70005", "spaces"),
        ("+12345", "5 digits"),
        ("+1234567890123456", "16 digits"),
        ("+91xxxxxxxx", "masked"),
        ("", "empty"),
    ] {
        let body = serde_json::json!({"members": ["+919910870005", bad]}).to_string();
        let err = from_str::<members::AddMembersRequest>(&body).unwrap_err();
        assert_eq!(err.path(), "members[1]", "{why}");
        assert!(
            err.message().starts_with(&format!(
                "invalid phone number {bad:?}: expected '+' followed by 6 to 15 digits"
            )),
            "{why}: {err}"
        );
    }
    let err = from_str::<subscribers::SubscribersRequest>(r#"{"subscribers": [919910870005]}"#)
        .unwrap_err();
    assert_eq!(err.path(), "subscribers[0]");
}

#[test]
fn map_keys_appear_in_paths() {
    let body = r#"{"result": {"+911111111111": {"isAdded": true}, "+911111111112": {"isAdded": "perhaps"}}}"#;
    let err = from_str::<subscribers::SubscriberChangeResponse>(body).unwrap_err();
    assert_eq!(err.path(), r#"result["+911111111112"].isAdded"#);
}

#[test]
fn truncated_json_at_every_length() {
    let bytes = SURVEY_RESPONSE.trim_end().as_bytes();
    for end in 0..bytes.len() {
        let err = Event::from_slice(&bytes[..end])
            .expect_err("a strict prefix is never a whole document");
        assert!(
            matches!(err.kind(), DecodeErrorKind::Eof | DecodeErrorKind::Syntax),
            "prefix of {end} bytes: {err}"
        );
    }
    assert!(Event::from_slice(bytes).is_ok());
}

fn deep(open: &str, close: &str, depth: usize) -> String {
    format!("{}1{}", open.repeat(depth), close.repeat(depth))
}

#[test]
fn ten_thousand_deep_nesting_is_refused_not_overflowed() {
    let arrays = deep("[", "]", 10_000);
    let objects = deep(r#"{"a":"#, "}", 10_000);
    for (place, body) in [
        (
            "unknown event data",
            format!(r#"{{"eventId":"e","eventType":"Sticker","data":{arrays}}}"#),
        ),
        (
            "unknown property",
            format!(r#"{{"eventId":"e","eventType":"TextMessageCreated","x":{objects}}}"#),
        ),
        (
            "answer",
            format!(
                r#"{{"eventId":"e","eventType":"SurveyResponse","data":{{"responseDetails":{{"responseWithQuestions":[{{"type":"Rating","answer":{arrays}}}]}}}}}}"#
            ),
        ),
    ] {
        let err = Event::from_json_str(&body).expect_err(place);
        assert_eq!(err.kind(), DecodeErrorKind::Syntax, "{place}: {err}");
        assert!(
            err.message().contains("recursion limit exceeded"),
            "{place}: {err}"
        );
    }
    // At the top level it is refused before any nesting is read.
    let err = Event::from_json_str(&arrays).unwrap_err();
    assert_eq!(
        err.message(),
        "invalid type: sequence, expected an object (Event)"
    );
    // The same protection holds for every model, not only events.
    let err = from_str::<webhooks::UpdateWebhookRequest>(&format!(r#"{{"filters":{arrays}}}"#))
        .unwrap_err();
    assert!(err.message().contains("recursion limit exceeded"), "{err}");
}

#[test]
fn not_json_at_all() {
    for (body, kind) in [
        (&b""[..], DecodeErrorKind::Eof),
        (b"null", DecodeErrorKind::Data),
        (b"[]", DecodeErrorKind::Data),
        (b"\"event\"", DecodeErrorKind::Data),
        (
            b"{\"eventId\": \"\xff\xfe\", \"eventType\": \"X\"}",
            DecodeErrorKind::Syntax,
        ),
        (b"{\"eventId\": \"e\",, }", DecodeErrorKind::Syntax),
        (b"<html>", DecodeErrorKind::Syntax),
    ] {
        let err = Event::from_slice(body).unwrap_err();
        assert_eq!(
            err.kind(),
            kind,
            "{:?}: {err}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn duplicate_properties() {
    // Spelled the same twice: an error, as serde's derive would say.
    let err =
        Event::from_json_str(r#"{"eventId": "a", "eventId": "b", "eventType": "X"}"#).unwrap_err();
    assert_eq!(err.message(), "duplicate field `eventId`");
    // Spelled differently (the platform mixed spellings): both are kept.
    let list: webhooks::WebhookList = from_str(
        r#"{"webhooks": [{"id": "w", "callbackUrl": "https://a", "callBackUrl": "https://b"}]}"#,
    )
    .unwrap();
    let webhook = &list.webhooks[0];
    assert_eq!(webhook.callback_url.as_deref(), Some("https://a"));
    assert_eq!(webhook.extra["callBackUrl"], "https://b");
}

#[test]
fn errors_do_not_leak_paths_into_the_next_decode() {
    let _ = from_str::<members::AddMembersRequest>(r#"{"members": ["bad"]}"#).unwrap_err();
    let err = from_str::<members::AddMembersRequest>(r#"{"members": 1}"#).unwrap_err();
    assert_eq!(err.path(), "members");
    // A recovered attempt (answers read by shape) leaves no trace either.
    let ok: kaizala_types::responses::ActionResponseRequest =
        from_str(r#"{"actionType": "Survey", "actionBody": {"answers": [[{"mediaUrl": 1}]]}}"#)
            .unwrap();
    let err = from_str::<members::AddMembersRequest>(r#"{"members": [1]}"#).unwrap_err();
    assert_eq!(err.path(), "members[0]", "{ok:?}");
}

mod mutations {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Arbitrary byte edits of a real callback decode or fail, never panic.
        #[test]
        fn mutated_callbacks_never_panic(edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
            let mut bytes = SURVEY_RESPONSE.as_bytes().to_vec();
            for (at, byte) in edits {
                let i = at.index(bytes.len());
                bytes[i] = byte;
            }
            let _ = Event::from_slice(&bytes);
            let _ = from_slice::<members::MemberList>(&bytes);
        }
    }
}
