//! Every event type, from the documentation's samples (the fixtures of
//! `kaizala-types`) and from shapes seen in real traffic, lands in its
//! typed tables — on SQLite, and on PostgreSQL when one is configured.

mod support;

use kaizala_webhook::store::{EventStore, Stored};
use serde_json::{Value, json};
use support::{databases, fixture, incoming, projected, rows, scalar, with_id};

const GROUP: &str = "8c2950-9be8-45d6-97f5-bb7013930027";

#[tokio::test]
async fn text_messages_and_attachments() {
    for db in databases().await {
        let sink = db.connect().await;
        let store = sink.event_store();
        let message = fixture("Event--eventschema-textmessagecreated");
        assert_eq!(store.store(&incoming(&message)).await.unwrap(), Stored::New);
        let mut pictures = fixture("Event--eventschema-attachmentcreated");
        pictures["data"]["media"]
            .as_array_mut()
            .unwrap()
            .push(json!({"mediaUrl": "https://example.com/2.jpg", "mediaFileName": "2.jpg"}));
        store.store(&incoming(&pictures)).await.unwrap();

        let messages = projected(&sink, "SELECT * FROM messages").await;
        assert_eq!(messages.len(), 1, "{}", db.kind);
        let m = &messages[0];
        assert_eq!(m["event_id"], "55ed01-02b5-491e-8e7e-484726da976b");
        assert_eq!(m["group_id"], "8c2050-9be8-45d6-97f5-bb7013930027");
        assert_eq!(m["text"], "Test Message");
        assert_eq!(m["sender_name"], "Robin Richard");
        assert_eq!(m["sender_id"], "72e91-f3-4e7b-84eb-4e228406fb9b");
        assert!(m["sent_at"].as_i64().unwrap() > 1_700_000_000_000);

        let files = projected(&sink, "SELECT * FROM attachments ORDER BY item_index").await;
        assert_eq!(files.len(), 2, "{}", db.kind);
        assert_eq!(files[0]["file_name"], "IMG_18-03-22_165220084_1.jpg");
        assert_eq!(files[0]["caption"], "Testing.");
        assert_eq!(files[0]["action_type"], "Image");
        assert_eq!(files[1]["media_url"], "https://example.com/2.jpg");
        assert_eq!(files[1]["item_index"], 1);
    }
}

#[tokio::test]
async fn creations_become_actions() {
    for db in databases().await {
        let sink = db.connect().await;
        let store = sink.event_store();
        for (name, id) in [
            ("Event--eventschema-announcement", "ev-announcement"),
            ("Event--eventschema-jobcreated", "ev-job"),
            (
                "Event--eventschema-actioncreated-surveycreated",
                "ev-action",
            ),
        ] {
            let event = with_id(fixture(name), id, None);
            assert_eq!(store.store(&incoming(&event)).await.unwrap(), Stored::New);
        }
        let survey = json!({"eventId": "ev-survey", "eventType": "SurveyCreated",
            "objectId": GROUP, "objectType": "Group", "fromUserId": "u-asha",
            "data": {"actionId": "survey-1", "groupId": GROUP, "title": "Store visit",
                "isAnonymous": true,
                "questions": [{"title": "Pick", "type": "SingleOption",
                    "options": [{"title": "A"}, {"title": "B"}]}]}});
        let poll = json!({"eventId": "ev-poll", "eventType": "PollCreated",
            "objectId": GROUP, "objectType": "Group",
            "data": {"actionId": "poll-1", "groupId": GROUP, "title": "Lunch?"}});
        let meeting = json!({"eventId": "ev-meet", "eventType": "LetsMeetCreated",
            "objectId": GROUP, "objectType": "Group",
            "data": {"actionId": "meet-1", "groupId": GROUP, "title": "Review"}});
        let custom = json!({"eventId": "ev-custom", "eventType": "ActionCreated",
            "objectId": "com.example.Order", "objectType": "ActionPackage",
            "data": {"actionId": "order-1", "groupId": GROUP, "packageId": "com.example.Order",
                "title": "Order"}});
        for event in [&survey, &poll, &meeting, &custom] {
            store.store(&incoming(event)).await.unwrap();
        }

        let actions = projected(&sink, "SELECT * FROM actions ORDER BY action_id").await;
        let by_id = |id: &str| {
            actions
                .iter()
                .find(|a| a["action_id"] == id)
                .unwrap_or_else(|| panic!("{}: no action {id}: {actions:?}", db.kind))
        };
        assert_eq!(actions.len(), 7, "{}: {actions:?}", db.kind);
        // The announcement's event names no action: its event id stands in.
        let a = by_id("ev-announcement");
        assert_eq!(a["action_type"], "Announcement");
        assert_eq!(a["title"], "Sent by Robin Richard");
        assert_eq!(a["text"], "Caption :Testing.");
        let job = by_id("aeb012-31a0-477a-a131-8a1e2791b36e");
        assert_eq!(job["action_type"], "Job");
        assert_eq!(job["title"], "Test Job");
        // 2018-03-22T18:29:59Z
        assert_eq!(job["expires_at"], 1_521_743_399_000_i64);
        assert_eq!(job["group_id"], "8c291050-9be8-6-97f5-bb7013930027");
        let documented = by_id("920f9802-62dafb-9bc2-8d3ba5c43609");
        assert_eq!(documented["action_type"], Value::Null);
        // The sample carries answered questions: their shape is kept.
        let questions: Value =
            serde_json::from_str(documented["questions"].as_str().unwrap()).unwrap();
        assert_eq!(questions.as_array().unwrap().len(), 3);
        assert!(questions[0].get("answer").is_none());
        let s = by_id("survey-1");
        assert_eq!(s["action_type"], "Survey");
        assert_eq!(s["is_anonymous"], 1);
        assert_eq!(s["creator_id"], "u-asha");
        assert_eq!(by_id("poll-1")["action_type"], "Poll");
        assert_eq!(by_id("meet-1")["action_type"], "LetsMeet");
        let order = by_id("order-1");
        assert_eq!(order["action_type"], "Custom");
        assert_eq!(order["package_id"], "com.example.Order");
    }
}

#[tokio::test]
async fn responses_and_typed_answers() {
    for db in databases().await {
        let sink = db.connect().await;
        let store = sink.event_store();
        let survey = fixture("Event--eventschema-surveyresponse-actionresponse");
        store.store(&incoming(&survey)).await.unwrap();
        let order = fixture("Event--integratingkaizaladata-sample-event-response");
        store.store(&incoming(&order)).await.unwrap();
        let job = with_id(fixture("Event--eventschema-jobresponse"), "ev-job-r", None);
        store.store(&incoming(&job)).await.unwrap();
        let poll = json!({"eventId": "ev-poll-r", "eventType": "PollResponse",
            "objectId": GROUP, "objectType": "Group",
            "data": {"actionId": "poll-1", "groupId": GROUP, "responseId": "poll-r1",
                "responseDetails": {"responseWithQuestions": [{"title": "Lunch?",
                    "type": "SingleOption", "options": [{"title": "Yes"}, {"title": "No"}],
                    "answer": ["Yes"]}]}}});
        let meet = json!({"eventId": "ev-meet-r", "eventType": "LetsMeetResponse",
            "objectId": GROUP, "objectType": "Group",
            "data": {"actionId": "meet-1", "groupId": GROUP, "responseId": "meet-r1",
                "responseDetails": [{"title": "Coming?", "type": "SingleOption",
                    "answer": ["Maybe"]}]}});
        let phones = json!({"eventId": "ev-phone", "eventType": "ActionResponse",
            "objectId": "act-9", "objectType": "Action",
            "data": {"responseId": "phone-r1", "groupId": GROUP, "responseDetails": {
                "responseWithQuestions": [
                    {"title": "Mobile", "type": "Phone", "answer": {"cc": "+91", "pn": "9876543210"}},
                    {"title": "Fruits", "type": "MultiOption", "answer": ["Mango", "Guava"]},
                    {"title": "Skipped", "type": "Text"}]}}});
        for event in [&poll, &meet, &phones] {
            store.store(&incoming(event)).await.unwrap();
        }

        let responses = projected(&sink, "SELECT * FROM responses ORDER BY response_id").await;
        assert_eq!(responses.len(), 6, "{}: {responses:?}", db.kind);
        let response = |id: &str| {
            responses
                .iter()
                .find(|r| r["response_id"] == id)
                .unwrap_or_else(|| panic!("{}: no response {id}", db.kind))
                .clone()
        };
        let r = response("420e9ef0-2a6d-405-a2bf-2688648ce79a");
        assert_eq!(r["action_id"], "920f9802-62dafb-9bc2-8d3ba5c43609");
        assert_eq!(r["responder_name"], "Robin Richard");
        assert_eq!(r["is_update"], 0);
        // The hidden ResponseTime question dates the response.
        assert_eq!(r["responded_at"], 1_521_800_782_956_i64);
        assert_eq!(r["version_at"], 1_521_800_782_956_i64);
        let j = response("80a883ec-e6c7-4dc8-979d-d268bbeeee8b");
        assert_eq!(j["is_completed"], 1);
        assert_eq!(j["responder_name"], "Robin Richard");
        assert_eq!(
            response("75609730-f5d2-4f07-XXXX-ccca96dd9e76")["package_id"],
            "com.microsoft.kaizala.OrderFormDemo"
        );
        // An action subscription's objectId names the action.
        assert_eq!(response("phone-r1")["action_id"], "act-9");

        let answers = rows(
            &sink,
            "SELECT * FROM answers ORDER BY response_id, question_index",
        )
        .await;
        let answer = |response: &str, index: i64| {
            answers
                .iter()
                .find(|a| a["response_id"] == response && a["question_index"] == index)
                .unwrap_or_else(|| panic!("{}: no answer {response}/{index}", db.kind))
                .clone()
        };
        let survey_id = "420e9ef0-2a6d-405-a2bf-2688648ce79a";
        assert_eq!(answer(survey_id, 0)["text_value"], "1");
        assert_eq!(answer(survey_id, 0)["question_type"], "Text");
        let files: Value =
            serde_json::from_str(answer(survey_id, 1)["json_value"].as_str().unwrap()).unwrap();
        assert_eq!(files[0]["mediaFileName"], "IMG_18-03-23_155619990_1.jpg");
        assert_eq!(answer(survey_id, 2)["number_value"], 1_521_800_782_956.0);
        assert_eq!(answer(survey_id, 2)["is_invisible"], 1);

        let order_id = "75609730-f5d2-4f07-XXXX-ccca96dd9e76";
        // The sample's titles have narrow no-break spaces (U+202F), kept.
        assert_eq!(answer(order_id, 0)["text_value"], "ABC\u{202f}Traders");
        assert_eq!(
            answer(order_id, 0)["json_value"],
            "[\"ABC\u{202f}Traders\"]"
        );
        assert_eq!(answer(order_id, 1)["number_value"], 1.0);
        assert_eq!(answer(order_id, 3)["number_value"], 4.0);
        let place: Value =
            serde_json::from_str(answer(order_id, 4)["json_value"].as_str().unwrap()).unwrap();
        assert_eq!(place["lt"], 99.1234567);
        assert_eq!(answer(order_id, 4)["text_value"], "FooAddress");

        assert_eq!(answer("phone-r1", 0)["text_value"], "+919876543210");
        assert_eq!(answer("phone-r1", 1)["json_value"], r#"["Mango","Guava"]"#);
        assert_eq!(answer("phone-r1", 1)["text_value"], Value::Null);
        let skipped = answer("phone-r1", 2);
        assert_eq!(skipped["text_value"], Value::Null);
        assert_eq!(skipped["json_value"], Value::Null);
        assert_eq!(answer("meet-r1", 0)["text_value"], "Maybe");
        // A job response has no questions.
        assert_eq!(
            scalar(
                &sink,
                "SELECT COUNT(*) FROM answers WHERE response_id = '80a883ec-e6c7-4dc8-979d-d268bbeeee8b'"
            )
            .await,
            0
        );

        let distribution = rows(
            &sink,
            "SELECT * FROM answer_distribution ORDER BY action_id, question_index, option",
        )
        .await;
        let options: Vec<(String, String, i64)> = distribution
            .iter()
            .map(|d| {
                (
                    d["question_title"].as_str().unwrap().to_owned(),
                    d["option"].as_str().unwrap().to_owned(),
                    d["count"].as_i64().unwrap(),
                )
            })
            .collect();
        for expected in [
            ("Retailer\u{202f}Outlet", "ABC\u{202f}Traders", 1),
            ("Fruits", "Mango", 1),
            ("Fruits", "Guava", 1),
            ("Lunch?", "Yes", 1),
            ("Coming?", "Maybe", 1),
        ] {
            let expected = (expected.0.to_owned(), expected.1.to_owned(), expected.2);
            assert!(options.contains(&expected), "{}: {options:?}", db.kind);
        }
        let per_day = projected(&sink, "SELECT * FROM responses_per_day").await;
        let sample_day = per_day
            .iter()
            .find(|d| d["action_id"] == "920f9802-62dafb-9bc2-8d3ba5c43609")
            .unwrap();
        assert_eq!(sample_day["day"], "2018-03-23");
        assert_eq!(sample_day["day_start"], 1_521_763_200_000_i64);
        assert_eq!(sample_day["responses"], 1);
    }
}

#[tokio::test]
async fn members_join_and_leave() {
    for db in databases().await {
        let sink = db.connect().await;
        let store = sink.event_store();
        let sample = fixture("Event--eventschema-memberadded-memberremoved");
        let added = with_id(sample.clone(), "ev-added", Some("MemberAdded"));
        store.store(&incoming(&added)).await.unwrap();
        let mut with_ids = with_id(sample.clone(), "ev-added-2", Some("MemberAdded"));
        with_ids["data"]["memberId"] = json!("u-meera");
        with_ids["data"]["memberName"] = json!("Meera Iyer");
        store.store(&incoming(&with_ids)).await.unwrap();

        let members = projected(&sink, "SELECT * FROM members ORDER BY member_id").await;
        assert_eq!(members.len(), 2, "{}: {members:?}", db.kind);
        // Without a member id, the phone number keys the member.
        assert_eq!(members[0]["member_id"], "+91xxxxxxxx");
        assert_eq!(members[0]["group_id"], GROUP);
        assert_eq!(members[0]["name"], "Jan Decker");
        assert_eq!(members[0]["role"], "Member");
        assert!(members[0]["joined_at"].is_i64());
        assert_eq!(members[1]["member_id"], "u-meera");

        let removed = with_id(sample, "ev-removed", Some("MemberRemoved"));
        store.store(&incoming(&removed)).await.unwrap();
        let members = projected(&sink, "SELECT member_id FROM members").await;
        assert_eq!(members.len(), 1, "{}", db.kind);
        assert_eq!(members[0]["member_id"], "u-meera");
        let changes = projected(&sink, "SELECT * FROM member_changes ORDER BY event_id").await;
        let kinds: Vec<(&str, &str)> = changes
            .iter()
            .map(|c| {
                (
                    c["event_id"].as_str().unwrap(),
                    c["change_type"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            kinds,
            [
                ("ev-added", "added"),
                ("ev-added-2", "added"),
                ("ev-removed", "removed")
            ]
        );
        assert_eq!(changes[0]["by_user_name"], "Robin Richard");
    }
}

#[tokio::test]
async fn sub_groups_come_and_go() {
    for db in databases().await {
        let sink = db.connect().await;
        let store = sink.event_store();
        let added = json!({"eventId": "ev-g1", "eventType": "GroupAdded", "objectId": GROUP,
            "objectType": "Group", "data": {"groupId": "sub-1", "groupName": "North beat"}});
        store.store(&incoming(&added)).await.unwrap();
        let groups = projected(&sink, "SELECT * FROM groups").await;
        assert_eq!(groups.len(), 1, "{}", db.kind);
        assert_eq!(groups[0]["group_id"], "sub-1");
        assert_eq!(groups[0]["group_name"], "North beat");
        assert_eq!(groups[0]["parent_group_id"], GROUP);
        assert_eq!(groups[0]["removed_at"], Value::Null);

        let removed = json!({"eventId": "ev-g2", "eventType": "GroupRemoved", "objectId": GROUP,
            "objectType": "Group", "data": {"groupId": "sub-1"}});
        store.store(&incoming(&removed)).await.unwrap();
        let groups = projected(&sink, "SELECT * FROM groups").await;
        assert!(groups[0]["removed_at"].is_i64(), "{}", db.kind);
        assert_eq!(groups[0]["group_name"], "North beat", "kept");
    }
}

#[tokio::test]
async fn unknown_types_are_logged_and_indexed_only() {
    for db in databases().await {
        let sink = db.connect().await;
        let store = sink.event_store();
        let sticker = json!({"eventId": "ev-s", "eventType": "StickerSent", "objectId": GROUP,
            "objectType": "Group", "data": {"stickerId": 7}});
        assert_eq!(store.store(&incoming(&sticker)).await.unwrap(), Stored::New);
        sink.project().await.unwrap();
        let counts = sink.counts().await.unwrap();
        for (table, n) in &counts.0 {
            let expected = u64::from(matches!(table.name(), "events" | "event_index"));
            assert_eq!(*n, expected, "{}: {table}", db.kind);
        }
        let events = projected(&sink, "SELECT * FROM events").await;
        assert_eq!(events[0]["event_type"], "StickerSent");
        let payload: Value = serde_json::from_str(events[0]["payload"].as_str().unwrap()).unwrap();
        assert_eq!(payload, sticker, "kept as received");
        let index = projected(&sink, "SELECT * FROM event_index").await;
        assert_eq!(index[0]["event_id"], "ev-s");
        assert_eq!(index[0]["group_id"], GROUP);
        assert_eq!(index[0]["object_type"], "Group");
        assert_eq!(index[0]["position"], events[0]["position"]);
        assert_eq!(index[0]["received_at"], events[0]["received_at"]);
    }
}
