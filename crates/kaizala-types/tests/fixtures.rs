//! Every JSON sample of the reference (one file each under `fixtures/`,
//! named `<Type>--<source>.json`, catalogued in `fixtures/SOURCES.md`)
//! decodes into its type, and re-encoding gives the same JSON once property
//! names are canonicalised.

use std::path::{Path, PathBuf};

use kaizala_types::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

fn fixtures() -> Vec<(String, PathBuf)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .expect("fixtures directory")
        .map(|entry| entry.expect("dir entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .map(|path| {
            let stem = path.file_stem().unwrap().to_str().unwrap().to_owned();
            let (type_name, _) = stem
                .split_once("--")
                .unwrap_or_else(|| panic!("{stem}: expected <Type>--<source>"));
            (type_name.to_owned(), path)
        })
        .collect();
    out.sort();
    out
}

/// Decodes as `T`, re-encodes, decodes the re-encoding again.
fn round_trip<T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug>(
    bytes: &[u8],
) -> Result<Value, String> {
    let decoded: T = from_slice(bytes).map_err(|e| e.to_string())?;
    let encoded = to_vec(&decoded);
    let again: T =
        from_slice(&encoded).map_err(|e| format!("re-decoding the encoding failed: {e}"))?;
    if again != decoded {
        return Err(format!(
            "decode(encode(x)) != x:\n{again:#?}\nvs\n{decoded:#?}"
        ));
    }
    serde_json::from_slice(&encoded).map_err(|e| e.to_string())
}

fn decode_as(type_name: &str, bytes: &[u8]) -> Result<Value, String> {
    use kaizala_types::{
        actions, auth, common, event, groups, media, members, messages, reactions, responses,
        subgroups, subscribers, webhooks,
    };
    match type_name {
        "GeneratePinRequest" => round_trip::<auth::GeneratePinRequest>(bytes),
        "GeneratePinResponse" => round_trip::<auth::GeneratePinResponse>(bytes),
        "LoginWithPinRequest" => round_trip::<auth::LoginWithPinRequest>(bytes),
        "LoginWithPinResponse" => round_trip::<auth::LoginWithPinResponse>(bytes),
        "AccessTokenResponse" => round_trip::<auth::AccessTokenResponse>(bytes),
        "CreateGroupRequest" => round_trip::<groups::CreateGroupRequest>(bytes),
        "CreateGroupResponse" => round_trip::<groups::CreateGroupResponse>(bytes),
        "GroupList" => round_trip::<groups::GroupList>(bytes),
        "SubGroupList" => round_trip::<subgroups::SubGroupList>(bytes),
        "CreateSubGroupRequest" => round_trip::<subgroups::CreateSubGroupRequest>(bytes),
        "CreateSubGroupResponse" => round_trip::<subgroups::CreateSubGroupResponse>(bytes),
        "AddSubGroupsRequest" => round_trip::<subgroups::AddSubGroupsRequest>(bytes),
        "ResultResponse" => round_trip::<common::ResultResponse>(bytes),
        "MemberList" => round_trip::<members::MemberList>(bytes),
        "AddMembersRequest" => round_trip::<members::AddMembersRequest>(bytes),
        "ListSubscribersRequest" => round_trip::<subscribers::ListSubscribersRequest>(bytes),
        "SubscriberList" => round_trip::<subscribers::SubscriberList>(bytes),
        "SubscribersRequest" => round_trip::<subscribers::SubscribersRequest>(bytes),
        "SubscriberChangeResponse" => round_trip::<subscribers::SubscriberChangeResponse>(bytes),
        "SendMessageRequest" => round_trip::<messages::SendMessageRequest>(bytes),
        "SendMessageResponse" => round_trip::<messages::SendMessageResponse>(bytes),
        "MediaUploadResponse" => round_trip::<media::MediaUploadResponse>(bytes),
        "CreateActionRequest" => round_trip::<actions::CreateActionRequest>(bytes),
        "CreateActionResponse" => round_trip::<actions::CreateActionResponse>(bytes),
        "ActionList" => round_trip::<actions::ActionList>(bytes),
        "ActionDetails" => round_trip::<actions::ActionDetails>(bytes),
        "ActionResponseRequest" => round_trip::<responses::ActionResponseRequest>(bytes),
        "ActionResponseResponse" => round_trip::<responses::ActionResponseResponse>(bytes),
        "PostReactionRequest" => round_trip::<reactions::PostReactionRequest>(bytes),
        "PostReactionResponse" => round_trip::<reactions::PostReactionResponse>(bytes),
        "ReactionSummaryResponse" => round_trip::<reactions::ReactionSummaryResponse>(bytes),
        "ReactionDetailsResponse" => round_trip::<reactions::ReactionDetailsResponse>(bytes),
        "CreateWebhookRequest" => round_trip::<webhooks::CreateWebhookRequest>(bytes),
        "CreateWebhookResponse" => round_trip::<webhooks::CreateWebhookResponse>(bytes),
        "WebhookList" => round_trip::<webhooks::WebhookList>(bytes),
        "UpdateWebhookRequest" => round_trip::<webhooks::UpdateWebhookRequest>(bytes),
        "Event" => round_trip::<event::Event>(bytes),
        other => Err(format!("no type named {other}")),
    }
}

/// Key canonicalisation: the platform matched property names in any letter
/// case, and the Announcement sample spells `mediaUrl`/`mediaFileName` as
/// `url`/`fileName` (accepted aliases, encoded in the documented spelling).
fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(object) => Value::Object(
            object
                .iter()
                .map(|(k, v)| {
                    let key = match k.to_ascii_lowercase().as_str() {
                        "url" => "mediaurl".to_owned(),
                        "filename" => "mediafilename".to_owned(),
                        "durationinmins" => "duration".to_owned(),
                        lower => lower.to_owned(),
                    };
                    (key, canonical(v))
                })
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

#[test]
fn every_reference_sample_round_trips() {
    let fixtures = fixtures();
    // 95 samples were catalogued (SOURCES.md); losing one must not go unnoticed.
    assert!(
        fixtures.len() >= 95,
        "only {} fixtures found",
        fixtures.len()
    );
    let mut failures = Vec::new();
    for (type_name, path) in &fixtures {
        let bytes = std::fs::read(path).unwrap();
        let original: Value = serde_json::from_slice(&bytes).unwrap();
        match decode_as(type_name, &bytes) {
            Ok(encoded) if canonical(&encoded) == canonical(&original) => {}
            Ok(encoded) => failures.push(format!(
                "{}: re-encoding differs\n  original: {original}\n  encoded:  {encoded}",
                path.display()
            )),
            Err(err) => failures.push(format!("{}: {err}", path.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures failed:\n{}",
        failures.len(),
        fixtures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_test_would_notice_a_lossy_decode() {
    // Guard against a canonicalisation so loose it hides loss: dropping a
    // value or changing its JSON type must show up.
    let original = serde_json::json!({"result": "true", "x": [1, {"Y": null}]});
    assert_ne!(
        canonical(&original),
        canonical(&serde_json::json!({"result": true, "x": [1, {"Y": null}]}))
    );
    assert_ne!(
        canonical(&original),
        canonical(&serde_json::json!({"result": "true", "x": [1, {}]}))
    );
    assert_eq!(
        canonical(&original),
        canonical(&serde_json::json!({"Result": "true", "X": [1, {"y": null}]}))
    );
}

fn encoded_keys(type_name: &str, file: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(file);
    decode_as(type_name, &std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn quirky_samples_are_encoded_in_the_documented_spelling() {
    let message = encoded_keys(
        "SendMessageRequest",
        "SendMessageRequest--swagger-def-send-message-to-subscriber-s-in-a-public-group.json",
    );
    assert!(
        message.get("message").is_some() && message.get("Message").is_none(),
        "{message}"
    );

    let announcement = encoded_keys(
        "CreateActionRequest",
        "CreateActionRequest--swagger-def-post-custom-announcement-to-a-group.json",
    );
    assert_eq!(announcement["actionType"], "Announcement", "{announcement}");
    assert!(announcement.get("actiontype").is_none());

    let survey = encoded_keys(
        "ActionResponseRequest",
        "ActionResponseRequest--action-responses-post-survey.json",
    );
    assert!(survey["actionBody"].get("answers").is_some(), "{survey}");

    let media = encoded_keys("Event", "Event--eventschema-announcement.json");
    assert!(
        media["data"]["media"][0].get("mediaUrl").is_some(),
        "{media}"
    );

    let reenable = encoded_keys(
        "UpdateWebhookRequest",
        "UpdateWebhookRequest--webhooks-auto-disable-reenable.json",
    );
    assert_eq!(
        reenable,
        serde_json::json!({"active": "true"}),
        "camelCase key, string form kept"
    );
}

#[test]
fn samples_decode_to_the_values_the_docs_describe() {
    use kaizala_types::event::{Event, EventData, EventType};

    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/Event--eventschema-surveyresponse-actionresponse.json");
    let event = Event::from_slice(&std::fs::read(path).unwrap()).unwrap();
    assert_eq!(event.event_type(), &EventType::SurveyResponse);
    let Some(EventData::Action(data)) = event.data() else {
        panic!("typed data")
    };
    let questions = data.questions();
    assert_eq!(questions.len(), 3);
    assert_eq!(
        questions[0].answer.as_ref().and_then(|a| a.as_text()),
        Some("1")
    );
    assert!(
        matches!(questions[1].answer, Some(kaizala_types::actions::Answer::Attachments(ref a)) if a.len() == 1)
    );
    assert_eq!(
        questions[2]
            .answer
            .as_ref()
            .and_then(|a| a.as_timestamp())
            .map(Timestamp::unix_millis),
        Some(1_521_800_782_956)
    );

    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/ResultResponse--members-put-response.json");
    let result: kaizala_types::common::ResultResponse =
        from_slice(&std::fs::read(path).unwrap()).unwrap();
    assert_eq!(result.result, Some(Flag::quoted(true)));

    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/ReactionSummaryResponse--reactions-summary-group-level.json");
    let summary: kaizala_types::reactions::ReactionSummaryResponse =
        from_slice(&std::fs::read(path).unwrap()).unwrap();
    assert_eq!(summary.cursor.unwrap().to_string(), "636674054802000000");
}
