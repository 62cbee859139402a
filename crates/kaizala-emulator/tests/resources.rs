//! Every resource operation of the emulator, driven through
//! `kaizala_client::Client` against the demo platform (or a seed of its
//! own where a test needs other tokens): the answers, the state they
//! leave, the errors the documentation implies (400 naming the field, 403,
//! 404, 415), and the events each call records for webhooks — read from
//! the delivery queue of a webhook planted in the state, whose callback
//! refuses connections so that every event stays queued.

use std::collections::BTreeSet;
use std::time::Duration;

use futures_util::TryStreamExt;
use kaizala_client::Client;
use kaizala_core::ops::actions::ListActions;
use kaizala_core::ops::groups::CreateGroup;
use kaizala_core::ops::media::UploadMedia;
use kaizala_core::ops::messages::SendMessage;
use kaizala_core::ops::reactions::{GetReactionDetails, GetReactionSummaryForGroup, PostReaction};
use kaizala_core::ops::subscribers::ListSubscribers;
use kaizala_core::session::Credentials;
use kaizala_emulator::model::{Reaction, Webhook};
use kaizala_emulator::{Emulator, EmulatorConfig, RunningEmulator, Seed, SeededCredentials};
use kaizala_types::actions::{
    ActionType, AnnouncementBody, Answer, CustomActionBody, DetailsBody, GeoPoint, JobBody,
    LetsMeetBody, PollBody, Property, PropertyType, QuestionSpec, QuestionType, SummaryBody,
    SurveyBody,
};
use kaizala_types::common::{MemberRole, Place};
use kaizala_types::event::{Event, EventType};
use kaizala_types::groups::{CreateGroupRequest, GroupType};
use kaizala_types::media::{MediaKind, MediaResource};
use kaizala_types::messages::SendMessageRequest;
use kaizala_types::reactions::{PostReactionRequest, ReactionType};
use kaizala_types::responses::{ActionResponseRequest, SurveyResponseBody};
use kaizala_types::subgroups::CreateSubGroupRequest;
use kaizala_types::subscribers::ListSubscribersRequest;
use kaizala_types::{Cursor, GroupId, PhoneNumber, Timestamp};

const ASHA: &str = "+919910870005";
const ROBIN: &str = "+911199999999";
const JAN: &str = "+919652000001";
const MEERA: &str = "+919652000002";
const VIKRAM: &str = "+919652000003";

fn phone(number: &str) -> PhoneNumber {
    PhoneNumber::new(number).unwrap()
}

fn client(base_url: &str, app: &str, secret: &str, refresh_token: &str) -> Client {
    Client::builder()
        .credentials(Credentials::new(app, secret, refresh_token))
        .base_url(base_url)
        .build()
        .unwrap()
}

/// The demo platform, with a client holding the tenant admin's user token.
async fn demo() -> (RunningEmulator, Client, SeededCredentials) {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let seeded = emulator.credentials().unwrap();
    let client = client(
        &seeded.base_url,
        &seeded.application_id,
        &seeded.application_secret,
        &seeded.refresh_token,
    );
    (emulator, client, seeded)
}

fn group_named(emulator: &RunningEmulator, name: &str) -> String {
    emulator
        .state(|s| {
            s.groups
                .values()
                .find(|g| g.name == name)
                .map(|g| g.id.clone())
        })
        .unwrap()
}

fn user_with_phone(emulator: &RunningEmulator, number: &str) -> String {
    emulator
        .state(|s| s.user_by_phone(number).map(|u| u.id.clone()))
        .unwrap()
}

/// Plants a webhook on `group` for every event type, whose callback
/// refuses connections: its deliveries stay queued, retries minutes away.
fn watch(emulator: &RunningEmulator, group: &str) -> String {
    let id = format!("test-hook-{group}");
    emulator.shared().store.write(|s| {
        let tenant = s.groups[group].tenant.clone();
        let app_id = s.connectors.values().next().unwrap().app_id.clone();
        s.webhooks.insert(
            id.clone(),
            Webhook {
                id: id.clone(),
                tenant,
                app_id,
                object_id: group.to_owned(),
                object_type: "Group".to_owned(),
                events: EventType::KNOWN.iter().map(ToString::to_string).collect(),
                callback_url: "http://127.0.0.1:9/refused".to_owned(),
                callback_token: None,
                callback_context: Some("tests".to_owned()),
                validity_ms: i64::MAX / 2,
                active: true,
                created_ms: 0,
            },
        );
    });
    id
}

/// The events queued for a planted webhook, oldest first.
fn events(emulator: &RunningEmulator, hook: &str) -> Vec<Event> {
    emulator.state(|s| {
        s.deliveries
            .iter()
            .filter(|d| d.webhook_id == hook && !d.duplicate)
            .map(|d| Event::from_slice(&serde_json::to_vec(&d.payload).unwrap()).unwrap())
            .collect()
    })
}

fn of_type(events: &[Event], event_type: EventType) -> Vec<&Event> {
    events
        .iter()
        .filter(|e| *e.event_type() == event_type)
        .collect()
}

fn status(err: &kaizala_core::Error) -> u16 {
    err.status()
        .unwrap_or_else(|| panic!("no HTTP status: {err}"))
}

/// A 400 naming `field` (`invalid request body at {field}: …`).
fn assert_bad_field(err: &kaizala_core::Error, field: &str) {
    assert_eq!(status(err), 400, "{err}");
    assert!(
        err.to_string().contains(&format!("at {field}:")),
        "expected the field {field} in: {err}"
    );
}

// ------------------------------------------------------------------ groups

#[tokio::test]
async fn groups_are_created_listed_and_read() {
    let (emulator, client, seeded) = demo().await;
    let listed = client.groups().list().await.unwrap();
    let names: BTreeSet<&str> = listed
        .iter()
        .filter_map(|g| g.group_name.as_deref())
        .collect();
    assert_eq!(
        names,
        BTreeSet::from(["Field Team", "Store Managers", "Contoso Updates"])
    );
    assert!(
        listed.iter().all(|g| g.user_count.is_none()),
        "counts only with showDetail"
    );

    let mut request = CreateGroupRequest::new("Night Shift", "Welcome to nights");
    request.members = Some(vec![phone(JAN), phone("+15550001111")]);
    let created = client.groups().create(request).await.unwrap();
    assert_eq!(created.group_name.as_deref(), Some("Night Shift"));
    assert_eq!(created.members_added.map(|f| f.get()), Some(true));
    let group_id = created.group_id.to_string();
    let (asha, jan, newcomer) = (
        user_with_phone(&emulator, ASHA),
        user_with_phone(&emulator, JAN),
        user_with_phone(&emulator, "+15550001111"),
    );
    emulator.state(|s| {
        let group = &s.groups[&group_id];
        assert_eq!(group.welcome_message, "Welcome to nights");
        assert_eq!(group.members.len(), 3);
        assert_eq!(
            group.members[&asha],
            kaizala_emulator::model::Role::Admin,
            "the token's user administers it"
        );
        assert_eq!(group.members[&jan], kaizala_emulator::model::Role::Member);
        assert!(
            !s.users[&newcomer].provisioned,
            "unknown numbers become unprovisioned users"
        );
        assert!(!group.is_public());
    });

    let detailed = client.groups().list_detailed(false).await.unwrap();
    assert_eq!(detailed.groups.len(), 4);
    let night = detailed
        .groups
        .iter()
        .find(|g| g.group_id == group_id.as_str())
        .unwrap();
    assert_eq!(night.current_level_user_count, Some(3));
    assert_eq!(night.current_level_un_provisioned_user_count, Some(1));
    assert_eq!(night.caller_role, Some(MemberRole::Admin));
    assert_eq!(night.group_type, Some(GroupType::Group));
    assert_eq!(night.has_sub_groups.map(|f| f.get()), Some(false));
    assert_eq!(night.is_editable.map(|f| f.get()), Some(true));

    let field_team = client.group(seeded.group_id.as_str()).get().await.unwrap();
    assert_eq!(field_team.group_name.as_deref(), Some("Field Team"));
    assert_eq!(field_team.user_count, Some(5));
    assert_eq!(
        field_team.welcome_message.as_deref(),
        Some("Welcome to the field team")
    );

    let mut public = CreateGroupRequest::new("Contoso Deals", "Deals for subscribers");
    public.group_type = Some(GroupType::ConnectGroup);
    let public = client.groups().create(public).await.unwrap();
    assert!(emulator.state(|s| s.groups[public.group_id.as_str()].is_public()));

    let err = client
        .execute(&CreateGroup {
            request: CreateGroupRequest::new("  ", ""),
        })
        .await
        .unwrap_err();
    assert_bad_field(&err, "name");
    let err = client.group("no-such-group").get().await.unwrap_err();
    assert_eq!(status(&err), 404, "{err}");
    emulator.shutdown().await;
}

#[tokio::test]
async fn sub_groups_form_a_hierarchy_without_loops() {
    let (emulator, client, seeded) = demo().await;
    let field_team = seeded.group_id.clone();
    let store_managers = group_named(&emulator, "Store Managers");
    let hook = watch(&emulator, &field_team);
    let asha = user_with_phone(&emulator, ASHA);

    let mut north = CreateSubGroupRequest::new("North");
    north.members = Some(vec![phone(MEERA)]);
    north.add_user_to_group = Some(false.into());
    let north = client
        .group(field_team.as_str())
        .sub_groups()
        .create(north)
        .await
        .unwrap()
        .group_id
        .to_string();
    let north_east = client
        .group(north.as_str())
        .sub_groups()
        .create(CreateSubGroupRequest::new("North East"))
        .await
        .unwrap()
        .group_id
        .to_string();
    emulator.state(|s| {
        assert!(s.groups[&north].parents.contains(&field_team));
        assert!(s.groups[&field_team].children.contains(&north));
        assert!(
            !s.groups[&north].members.contains_key(&asha),
            "addUserToGroup false keeps the caller out"
        );
        assert_eq!(s.groups[&north].members.len(), 1);
        assert!(
            s.groups[&north_east].members.contains_key(&asha),
            "the caller joins by default"
        );
    });

    let added = client
        .group(field_team.as_str())
        .sub_groups()
        .add([GroupId::from(store_managers.as_str())])
        .await
        .unwrap();
    assert_eq!(added.result.map(|f| f.get()), Some(true));
    assert!(emulator.state(|s| s.groups[&store_managers].parents.contains(&field_team)));

    let shallow = client
        .group(field_team.as_str())
        .sub_groups()
        .list(false)
        .await
        .unwrap();
    let parent = &shallow.groups()[0];
    assert_eq!(parent.group_id, field_team.as_str());
    let subs = parent.sub_groups.as_ref().unwrap();
    let names: BTreeSet<&str> = subs
        .iter()
        .filter_map(|g| g.group_name.as_deref())
        .collect();
    assert_eq!(names, BTreeSet::from(["North", "Store Managers"]));
    assert!(subs.iter().all(|g| g.extra.is_empty()));
    let deep = client
        .group(field_team.as_str())
        .sub_groups()
        .list(true)
        .await
        .unwrap();
    let north_entry = deep.groups()[0]
        .sub_groups
        .as_ref()
        .unwrap()
        .iter()
        .find(|g| g.group_id == north.as_str())
        .unwrap();
    let nested = north_entry.extra["subGroups"].as_array().unwrap();
    assert_eq!(nested.len(), 1);
    assert_eq!(nested[0]["groupId"], north_east.as_str());
    assert_eq!(nested[0]["subGroups"], serde_json::json!([]));

    let top: BTreeSet<String> = client
        .groups()
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.group_id.to_string())
        .collect();
    assert!(
        top.contains(&field_team) && !top.contains(&north) && !top.contains(&store_managers),
        "top level only"
    );
    let all = client.groups().list_detailed(true).await.unwrap();
    assert_eq!(all.groups.len(), 5, "fetchAllGroups lists sub-groups too");

    let err = client
        .group(north_east.as_str())
        .sub_groups()
        .add([GroupId::from(field_team.as_str())])
        .await
        .unwrap_err();
    assert_bad_field(&err, "subGroups[0]");
    let err = client
        .group(north.as_str())
        .sub_groups()
        .add([GroupId::from(north.as_str())])
        .await
        .unwrap_err();
    assert_bad_field(&err, "subGroups[0]");
    let err = client
        .group(north.as_str())
        .sub_groups()
        .add([GroupId::from("no-such-group")])
        .await
        .unwrap_err();
    assert_eq!(status(&err), 404, "{err}");

    client
        .group(field_team.as_str())
        .sub_groups()
        .remove(store_managers.as_str())
        .await
        .unwrap();
    assert!(
        emulator.state(|s| s.groups[&store_managers].parents.is_empty()
            && s.groups.contains_key(&store_managers))
    );
    let err = client
        .group(field_team.as_str())
        .sub_groups()
        .remove(store_managers.as_str())
        .await
        .unwrap_err();
    assert_eq!(status(&err), 404, "{err}");

    let seen = events(&emulator, &hook);
    let changes: Vec<(EventType, String, String)> = seen
        .iter()
        .map(|e| {
            let data = e.group().unwrap();
            (
                e.event_type().clone(),
                data.group_id.as_ref().unwrap().to_string(),
                data.parent_group_id.as_ref().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        vec![
            (EventType::GroupAdded, north.clone(), field_team.clone()),
            (EventType::GroupAdded, north_east.clone(), north.clone()),
            (
                EventType::GroupAdded,
                store_managers.clone(),
                field_team.clone()
            ),
            (
                EventType::GroupRemoved,
                store_managers.clone(),
                field_team.clone()
            ),
        ]
    );
    assert_eq!(
        seen[0].group().unwrap().group_name.as_deref(),
        Some("North")
    );
    assert_eq!(seen[0].from_user.as_deref(), Some(ASHA));
    emulator.shutdown().await;
}

// ------------------------------------------------------------------ members

#[tokio::test]
async fn members_are_listed_added_and_removed() {
    let (emulator, client, _) = demo().await;
    let store_managers = group_named(&emulator, "Store Managers");
    let hook = watch(&emulator, &store_managers);
    let members = client.group(store_managers.as_str()).members();

    let listed = members.list().await.unwrap();
    let phones: Vec<&str> = listed
        .iter()
        .filter_map(|m| m.mobile_number.as_deref())
        .collect();
    assert_eq!(phones, vec![ASHA, JAN, VIKRAM], "admins first");
    assert_eq!(listed[0].role, Some(MemberRole::Admin));
    assert_eq!(listed[0].name.as_deref(), Some("Asha Rao"));
    assert_eq!(listed[1].is_provisioned.map(|f| f.get()), Some(true));
    assert_eq!(listed[1].id, user_with_phone(&emulator, JAN).as_str());

    let added = members
        .add([phone(MEERA), phone(JAN), phone("+15550002222")])
        .await
        .unwrap();
    assert_eq!(added.result.map(|f| f.get()), Some(true));
    let meera = user_with_phone(&emulator, MEERA);
    emulator.state(|s| assert_eq!(s.groups[&store_managers].members.len(), 5));
    let listed = members.list().await.unwrap();
    let newcomer = listed
        .iter()
        .find(|m| m.mobile_number.as_deref() == Some("+15550002222"))
        .unwrap();
    assert_eq!(newcomer.is_provisioned.map(|f| f.get()), Some(false));

    members.remove(meera.as_str()).await.unwrap();
    emulator.state(|s| assert!(!s.groups[&store_managers].members.contains_key(&meera)));
    let err = members.remove(meera.as_str()).await.unwrap_err();
    assert_eq!(status(&err), 404, "{err}");
    let err = client
        .group("no-such-group")
        .members()
        .list()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 404, "{err}");

    let seen = events(&emulator, &hook);
    let added: Vec<&str> = of_type(&seen, EventType::MemberAdded)
        .iter()
        .map(|e| e.member().unwrap().member.as_deref().unwrap())
        .collect();
    assert_eq!(
        added,
        vec![MEERA, "+15550002222"],
        "one event per new member, none for Jan"
    );
    let first = of_type(&seen, EventType::MemberAdded)[0];
    let data = first.member().unwrap();
    assert_eq!(data.member_id.as_ref().unwrap(), meera.as_str());
    assert_eq!(data.member_name.as_deref(), Some("Meera Iyer"));
    assert_eq!(data.role, Some(MemberRole::Member));
    assert_eq!(first.from_user.as_deref(), Some(ASHA));
    assert_eq!(first.from_user_name.as_deref(), Some("Asha Rao"));
    let removed = of_type(&seen, EventType::MemberRemoved);
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].member().unwrap().member.as_deref(), Some(MEERA));
    emulator.shutdown().await;
}

// ------------------------------------------------------------------ subscribers

#[tokio::test]
async fn subscribers_page_through_a_public_group() {
    let (emulator, client, seeded) = demo().await;
    let subscribers = client.group(seeded.public_group_id.as_str()).subscribers();
    let seeded_ones: Vec<_> = subscribers.list().try_collect().await.unwrap();
    assert_eq!(seeded_ones.len(), 3);
    assert!(
        seeded_ones
            .iter()
            .any(|s| s.mobile_number.as_deref() == Some("+91109999999"))
    );
    assert_eq!(seeded_ones[0].is_provisioned.map(|f| f.get()), Some(false));

    let numbers: Vec<PhoneNumber> = (0..120)
        .map(|i| phone(&format!("+1555100{i:04}")))
        .collect();
    let added = subscribers.add(numbers.clone()).await.unwrap();
    assert_eq!(added.result.len(), 120);
    assert!(
        added
            .result
            .values()
            .all(|o| o.is_added.map(|f| f.get()) == Some(true))
    );
    assert_eq!(
        added.result["+15551000007"].is_added.map(|f| f.get()),
        Some(true)
    );

    let everyone: Vec<_> = subscribers.list().try_collect().await.unwrap();
    let ids: BTreeSet<String> = everyone
        .iter()
        .map(|s| s.id.as_ref().unwrap().to_string())
        .collect();
    assert_eq!(
        (everyone.len(), ids.len()),
        (123, 123),
        "three pages, nothing repeated"
    );

    let first = subscribers
        .page(ListSubscribersRequest {
            count: Some(10),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(first.subscribers.len(), 10);
    let cursor = first.cursor.clone().expect("more follow");
    let second = subscribers
        .page(ListSubscribersRequest {
            count: Some(10),
            cursor: Some(cursor),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(second.subscribers.len(), 10);
    assert!(
        second
            .subscribers
            .iter()
            .all(|s| !first.subscribers.contains(s))
    );
    let large = subscribers
        .page(ListSubscribersRequest {
            count: Some(500),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(large.subscribers.len(), 50, "at most 50 a page");
    let mut pages = 0;
    let mut cursor = None;
    loop {
        let page = subscribers
            .page(ListSubscribersRequest {
                cursor: cursor.clone(),
                ..Default::default()
            })
            .await
            .unwrap();
        pages += 1;
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, 3, "the last page carries no cursor");

    let removed = subscribers
        .remove([numbers[0].clone(), phone(JAN)])
        .await
        .unwrap();
    assert_eq!(
        removed.result[numbers[0].as_str()]
            .is_removed
            .map(|f| f.get()),
        Some(true)
    );
    assert_eq!(removed.result[JAN].is_removed.map(|f| f.get()), Some(false));
    assert!(removed.result[JAN].reason.is_some());
    emulator.state(|s| assert_eq!(s.groups[&seeded.public_group_id].subscribers.len(), 122));

    let err = client
        .execute(&ListSubscribers {
            group_id: seeded.public_group_id.as_str().into(),
            request: ListSubscribersRequest {
                cursor: Some(Cursor::from("made-up")),
                ..Default::default()
            },
        })
        .await
        .unwrap_err();
    assert_bad_field(&err, "cursor");
    let err = client
        .group(seeded.group_id.as_str())
        .subscribers()
        .page(ListSubscribersRequest::default())
        .await
        .unwrap_err();
    assert_eq!(
        status(&err),
        400,
        "only public groups have subscribers: {err}"
    );
    let err = client
        .group(seeded.group_id.as_str())
        .subscribers()
        .add([phone(JAN)])
        .await
        .unwrap_err();
    assert_eq!(status(&err), 400, "{err}");
    emulator.shutdown().await;
}

// ------------------------------------------------------------------ messages

#[tokio::test]
async fn messages_are_sent_to_groups_and_subscribers() {
    let (emulator, client, seeded) = demo().await;
    let hook = watch(&emulator, &seeded.group_id);
    let asha = user_with_phone(&emulator, ASHA);
    let messages = client.group(seeded.group_id.as_str()).messages();

    let sent = messages.send("Shift starts at 9").await.unwrap();
    emulator.state(|s| {
        let message = s.messages.last().unwrap();
        assert_eq!(message.reference_id, sent.reference_id.as_str());
        assert_eq!(
            (
                message.text.as_str(),
                message.sender.as_str(),
                message.group_id.as_str()
            ),
            ("Shift starts at 9", asha.as_str(), seeded.group_id.as_str())
        );
        assert!(message.to.is_empty());
    });
    messages.send("x".repeat(4000)).await.unwrap();
    let err = client
        .execute(&SendMessage {
            group_id: seeded.group_id.as_str().into(),
            request: SendMessageRequest::new("x".repeat(4001)),
        })
        .await
        .unwrap_err();
    assert_bad_field(&err, "message");

    let public = client.group(seeded.public_group_id.as_str()).messages();
    let mut some = SendMessageRequest::new("Only for you");
    some.subscribers = Some(vec![phone("+911111111111")]);
    public.send_request(some).await.unwrap();
    let subscriber = user_with_phone(&emulator, "+911111111111");
    emulator.state(|s| assert_eq!(s.messages.last().unwrap().to, vec![subscriber.clone()]));
    let mut all = SendMessageRequest::new("For everyone");
    all.send_to_all_subscribers = Some(true.into());
    public.send_request(all).await.unwrap();
    emulator.state(|s| assert_eq!(s.messages.last().unwrap().to.len(), 3));

    let mut all = SendMessageRequest::new("Not a public group");
    all.send_to_all_subscribers = Some(true.into());
    assert_bad_field(
        &messages.send_request(all).await.unwrap_err(),
        "sendToAllSubscribers",
    );
    let mut stranger = SendMessageRequest::new("Who?");
    stranger.subscribers = Some(vec![phone(JAN)]);
    assert_bad_field(
        &public.send_request(stranger).await.unwrap_err(),
        "subscribers[0]",
    );

    let seen = events(&emulator, &hook);
    let texts: Vec<&str> = of_type(&seen, EventType::TextMessageCreated)
        .iter()
        .map(|e| e.text_message().unwrap().text.as_deref().unwrap())
        .collect();
    assert_eq!(texts.len(), 2);
    assert_eq!(texts[0], "Shift starts at 9");
    assert_eq!(seen[0].from_user_id.as_ref().unwrap(), asha.as_str());
    assert_eq!(seen[0].context.as_deref(), Some("tests"));
    emulator.shutdown().await;
}

// ------------------------------------------------------------------ media

#[tokio::test]
async fn media_is_uploaded_and_posted() {
    let (emulator, client, seeded) = demo().await;
    let hook = watch(&emulator, &seeded.group_id);
    let actions = client.group(seeded.group_id.as_str()).actions();

    let uploaded = client
        .media()
        .upload_bytes("site photo.png", b"\x89PNG\r\n\x1a\nfake".to_vec())
        .await
        .unwrap();
    let resource = uploaded.media_resource.clone();
    let file = emulator.state(|s| s.media[resource.as_str()].clone());
    assert_eq!(
        (
            file.file_name.as_str(),
            file.content_type.as_str(),
            file.size
        ),
        ("site photo.png", "image/png", 12)
    );
    assert_eq!(
        file.url,
        format!(
            "{}/media/{}/site%20photo.png",
            emulator.base_url(),
            resource.as_str()
        )
    );

    let pdf = client
        .media()
        .upload_bytes("Report.PDF", b"%PDF-1.4".to_vec())
        .await
        .unwrap();
    assert_eq!(
        emulator.state(|s| s.media[pdf.media_resource.as_str()].content_type.clone()),
        "application/pdf"
    );

    let text = UploadMedia {
        file_name: "notes.txt".into(),
        content_type: "text/plain".into(),
        data: b"hi".to_vec(),
    };
    assert_eq!(status(&client.execute(&text).await.unwrap_err()), 415);
    let disguised = UploadMedia {
        file_name: "notes.txt".into(),
        content_type: "image/png".into(),
        data: b"hi".to_vec(),
    };
    assert_eq!(
        status(&client.execute(&disguised).await.unwrap_err()),
        415,
        "the extension must be supported too"
    );
    let empty = UploadMedia {
        file_name: "blank.png".into(),
        content_type: "image/png".into(),
        data: Vec::new(),
    };
    assert_bad_field(&client.execute(&empty).await.unwrap_err(), "file");

    let posted = actions
        .post_media(
            MediaKind::Image,
            resource.clone(),
            Some("Store front".into()),
        )
        .await
        .unwrap();
    assert_eq!(
        posted.action_id, None,
        "media posts answer a reference id only"
    );
    emulator.state(|s| {
        let action = s
            .actions
            .values()
            .find(|a| a.reference_id == posted.reference_id.as_str())
            .unwrap();
        assert_eq!(action.action_type.as_deref(), Some("Image"));
    });
    let err = actions
        .post_media(MediaKind::Document, resource.clone(), None)
        .await
        .unwrap_err();
    assert_bad_field(&err, "actionBody.mediaResource");
    let err = actions
        .post_media(
            MediaKind::Image,
            MediaResource::from("never-uploaded"),
            None,
        )
        .await
        .unwrap_err();
    assert_bad_field(&err, "actionBody.mediaResource");
    actions
        .post_media(MediaKind::Document, pdf.media_resource.clone(), None)
        .await
        .unwrap();

    let mut announcement = AnnouncementBody::new("Store opening", "Doors open at 10");
    announcement.media_resources = Some(vec![resource.clone()]);
    actions.create_announcement(announcement).await.unwrap();

    let images: Vec<_> = actions.list(ActionType::Image).try_collect().await.unwrap();
    assert_eq!(images.len(), 1);
    let Some(SummaryBody::Image(image)) = &images[0].action_body else {
        panic!("{:?}", images[0])
    };
    assert_eq!(image.image_url.as_deref(), Some(file.url.as_str()));
    assert_eq!(image.caption.as_deref(), Some("Store front"));
    assert_eq!(images[0].sender.as_deref(), Some(ASHA));

    let seen = events(&emulator, &hook);
    let attachments = of_type(&seen, EventType::AttachmentCreated);
    assert_eq!(attachments.len(), 2);
    let data = attachments[0].attachment().unwrap();
    assert_eq!(data.action_type, Some(ActionType::Image));
    assert_eq!(data.caption.as_deref(), Some("Store front"));
    let media = data.media.as_ref().unwrap();
    assert_eq!(media[0].media_url.as_deref(), Some(file.url.as_str()));
    assert_eq!(media[0].media_file_name.as_deref(), Some("site photo.png"));
    let announced = of_type(&seen, EventType::Announcement);
    let data = announced[0].announcement().unwrap();
    assert_eq!(
        (data.title.as_deref(), data.text.as_deref()),
        (Some("Store opening"), Some("Doors open at 10"))
    );
    assert_eq!(
        data.media.as_ref().unwrap()[0].media_url.as_deref(),
        Some(file.url.as_str())
    );
    emulator.shutdown().await;
}

// ------------------------------------------------------------------ actions

fn store_visit() -> SurveyBody {
    SurveyBody::new(
        "Store visit",
        vec![
            QuestionSpec::new("Outlet", QuestionType::Text),
            QuestionSpec::with_options("Stock", QuestionType::SingleOption, ["Low", "OK", "High"]),
        ],
    )
}

#[tokio::test]
async fn actions_are_posted_listed_and_read() {
    let (emulator, client, seeded) = demo().await;
    let hook = watch(&emulator, &seeded.group_id);
    let actions = client.group(seeded.group_id.as_str()).actions();

    let survey = actions.create_survey(store_visit()).await.unwrap();
    let survey_id = survey.action_id.clone().unwrap().to_string();
    let stored = emulator.state(|s| s.actions[&survey_id].clone());
    assert_eq!(stored.reference_id, survey.reference_id.as_str());
    assert_eq!(stored.action_type.as_deref(), Some("Survey"));
    assert_eq!(stored.body["title"], "Store visit");
    assert_eq!(
        stored.expiry_ms,
        Some(stored.sent_ms + 24 * 3_600_000),
        "due in 24 hours by default"
    );

    let mut job = JobBody::new("Restock shelf 4", [phone(ASHA), phone(JAN)]);
    job.due_date = Some(10);
    let job = actions.create_job(job).await.unwrap();
    let job_id = job.action_id.clone().unwrap().to_string();
    let mut poll = PollBody::new("Lunch?", ["Pizza", "Salad"]);
    poll.expiry_in_hours = Some(2);
    actions.create_poll(poll).await.unwrap();
    let mut meeting = LetsMeetBody::new(
        "Weekly sync",
        Timestamp::parse("2030-01-01T09:00:00Z").unwrap(),
    );
    meeting.duration = Some(45);
    meeting.place = Some(Place::new(12.97, 77.59, "Office"));
    actions.create_lets_meet(meeting).await.unwrap();
    let mut order = CustomActionBody {
        title: Some("Order form".into()),
        ..Default::default()
    };
    order.properties = Some(vec![Property::new("sku", PropertyType::Text, "A-1")]);
    order.questions = Some(vec![QuestionSpec::new("Quantity", QuestionType::Numeric)]);
    let package = actions
        .create_custom("com.contoso.order", order)
        .await
        .unwrap();
    assert!(package.action_id.is_some());

    let seen = events(&emulator, &hook);
    let created = of_type(&seen, EventType::SurveyCreated);
    let data = created[0].action().unwrap();
    assert_eq!(data.action_id.as_ref().unwrap(), survey_id.as_str());
    assert_eq!(data.title.as_deref(), Some("Store visit"));
    assert_eq!(data.questions.as_ref().unwrap().len(), 2);
    assert_eq!(
        data.questions.as_ref().unwrap()[1]
            .options
            .as_ref()
            .unwrap()
            .len(),
        3
    );
    let job_created = of_type(&seen, EventType::JobCreated)[0]
        .job_created()
        .unwrap();
    assert_eq!(
        job_created.assigned_to.as_deref(),
        Some(&[ASHA.to_owned(), JAN.to_owned()][..])
    );
    let due = emulator.state(|s| s.actions[&job_id].expiry_ms.unwrap());
    assert_eq!(job_created.due_date.as_ref().unwrap().unix_millis(), due);
    assert_eq!(
        job_created.due_date.as_ref().unwrap().format(),
        kaizala_types::TimestampFormat::Iso8601
    );
    assert_eq!(
        job_created.group_id.as_ref().unwrap(),
        seeded.group_id.as_str()
    );
    assert_eq!(
        of_type(&seen, EventType::PollCreated)[0]
            .action()
            .unwrap()
            .title
            .as_deref(),
        Some("Lunch?")
    );
    assert_eq!(of_type(&seen, EventType::LetsMeetCreated).len(), 1);
    let package_created = of_type(&seen, EventType::ActionCreated)[0]
        .action()
        .unwrap();
    assert_eq!(
        package_created.package_id.as_ref().unwrap(),
        "com.contoso.order"
    );

    // Listing: oldest first, a page at a time.
    emulator.advance(Duration::from_secs(5));
    let second = actions
        .create_survey(SurveyBody::new(
            "Second",
            vec![QuestionSpec::new("Why", QuestionType::Text)],
        ))
        .await
        .unwrap();
    emulator.advance(Duration::from_secs(5));
    actions
        .create_survey(SurveyBody::new(
            "Third",
            vec![QuestionSpec::new("How", QuestionType::Text)],
        ))
        .await
        .unwrap();
    let surveys: Vec<_> = actions
        .list(ActionType::Survey)
        .try_collect()
        .await
        .unwrap();
    let titles: Vec<String> = surveys
        .iter()
        .map(|a| match &a.action_body {
            Some(SummaryBody::Survey(s)) => s.title.clone().unwrap(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(titles, vec!["Store visit", "Second", "Third"]);
    assert!(surveys[0].sent_at.is_some() && surveys[0].creation_time.is_some());
    assert_eq!(
        surveys[0].creation_time.as_ref().unwrap().unix_seconds(),
        stored.sent_ms / 1000
    );
    let group = seeded.group_id.as_str();
    let page = client
        .execute(&ListActions {
            group_id: group.into(),
            action_type: ActionType::Survey,
            from_date: None,
            count: Some(2),
        })
        .await
        .unwrap();
    assert_eq!(
        (page.actions.len(), page.has_more.map(|f| f.get())),
        (2, Some(true))
    );
    let second_sent = emulator.state(|s| {
        s.actions
            .values()
            .find(|a| a.reference_id == second.reference_id.as_str())
            .unwrap()
            .sent_ms
    });
    let from = client
        .execute(&ListActions {
            group_id: group.into(),
            action_type: ActionType::Survey,
            from_date: Some(second_sent),
            count: None,
        })
        .await
        .unwrap();
    assert_eq!(
        (from.actions.len(), from.has_more.map(|f| f.get())),
        (2, Some(false)),
        "fromDate is inclusive"
    );
    let in_seconds = client
        .execute(&ListActions {
            group_id: group.into(),
            action_type: ActionType::Survey,
            from_date: Some(second_sent / 1000 + 1),
            count: None,
        })
        .await
        .unwrap();
    assert_eq!(
        in_seconds.actions.len(),
        1,
        "values below 10^11 are seconds"
    );
    let err = client
        .execute(&ListActions {
            group_id: group.into(),
            action_type: ActionType::Other(String::new()),
            from_date: None,
            count: None,
        })
        .await
        .unwrap_err();
    assert_bad_field(&err, "actionType");

    let jobs: Vec<_> = actions.list(ActionType::Job).try_collect().await.unwrap();
    let Some(SummaryBody::Job(listed_job)) = &jobs[0].action_body else {
        panic!("{jobs:?}")
    };
    assert_eq!(
        (listed_job.assignee_count, listed_job.response_count),
        (Some(2), Some(0))
    );
    assert_eq!(listed_job.is_completed.map(|f| f.get()), Some(false));
    let polls: Vec<_> = actions.list(ActionType::Poll).try_collect().await.unwrap();
    let Some(SummaryBody::Poll(listed_poll)) = &polls[0].action_body else {
        panic!("{polls:?}")
    };
    assert_eq!(listed_poll.question.as_deref(), Some("Lunch?"));
    assert_eq!(listed_poll.choices.as_ref().unwrap().len(), 2);
    let meetings: Vec<_> = actions
        .list(ActionType::LetsMeet)
        .try_collect()
        .await
        .unwrap();
    let Some(SummaryBody::LetsMeet(listed_meeting)) = &meetings[0].action_body else {
        panic!("{meetings:?}")
    };
    assert_eq!(
        (
            listed_meeting.duration,
            listed_meeting
                .place
                .as_ref()
                .and_then(|p| p.name.as_deref())
        ),
        (Some(45), Some("Office"))
    );
    let orders: Vec<_> = actions
        .list(ActionType::Other("com.contoso.order".into()))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(orders.len(), 1, "an action package id lists its instances");

    let details = actions.get(survey_id.as_str(), false).await.unwrap();
    assert_eq!(details.action_type, Some(ActionType::Survey));
    assert_eq!(details.sender.as_deref(), Some(ASHA));
    assert_eq!(
        details.reference_id.as_ref().unwrap(),
        survey.reference_id.as_str()
    );
    let Some(DetailsBody::Survey(survey_details)) = details.action_details else {
        panic!()
    };
    assert_eq!(
        (
            survey_details.title.as_deref(),
            survey_details.response_count
        ),
        (Some("Store visit"), Some(0))
    );
    assert!(
        survey_details.responses.is_none(),
        "responses only with getDetails"
    );
    let err = actions.get("no-such-action", false).await.unwrap_err();
    assert_eq!(status(&err), 404, "{err}");

    let mut no_options = store_visit();
    no_options.questions[1].options = None;
    assert_bad_field(
        &actions.create_survey(no_options).await.unwrap_err(),
        "actionBody.questions[1].options",
    );
    let mut bad_type = store_visit();
    bad_type.questions[0].question_type = QuestionType::Other("Sketch".into());
    assert_bad_field(
        &actions.create_survey(bad_type).await.unwrap_err(),
        "actionBody.questions[0].type",
    );
    assert_bad_field(
        &actions
            .create_poll(PollBody::new("Only one?", ["Yes"]))
            .await
            .unwrap_err(),
        "actionBody.choices",
    );
    let mut to_all = kaizala_types::actions::CreateActionRequest::survey(store_visit());
    to_all.send_to_all_subscribers = Some(true.into());
    assert_bad_field(
        &actions.create(to_all).await.unwrap_err(),
        "sendToAllSubscribers",
    );
    emulator.shutdown().await;
}

// ------------------------------------------------------------------ responses

#[tokio::test]
async fn responses_are_checked_against_the_questions() {
    let (emulator, client, seeded) = demo().await;
    let hook = watch(&emulator, &seeded.group_id);
    let actions = client.group(seeded.group_id.as_str()).actions();
    let photo = client
        .media()
        .upload_bytes("shelf.jpg", b"\xff\xd8jpeg".to_vec())
        .await
        .unwrap()
        .media_resource;
    let photo_url = emulator.state(|s| s.media[photo.as_str()].url.clone());

    let mut survey = SurveyBody::new(
        "Audit",
        vec![
            QuestionSpec::new("Outlet", QuestionType::Text),
            QuestionSpec::with_options("Stock", QuestionType::SingleOption, ["Low", "OK"]),
            QuestionSpec::with_options("Brands", QuestionType::MultiOption, ["A", "B", "C"]),
            QuestionSpec::new("Facings", QuestionType::Numeric),
            QuestionSpec::new("Visited", QuestionType::DateTime),
            QuestionSpec::new("Where", QuestionType::Location),
            QuestionSpec::new("Shelf", QuestionType::Image),
        ],
    );
    survey.due_date = Some(1);
    let survey_id = actions
        .create_survey(survey)
        .await
        .unwrap()
        .action_id
        .unwrap();
    let answers = || {
        vec![
            Answer::Text("ABC Traders".into()),
            Answer::Text("OK".into()),
            Answer::Options(vec!["A".into(), "C".into()]),
            Answer::Number(12.into()),
            Answer::Number(1_500_377_471.into()),
            Answer::Location(GeoPoint::new(17.43, 78.34, "Hyderabad")),
            Answer::Text(photo.as_str().to_owned()),
        ]
    };
    let response = actions
        .respond(
            survey_id.clone(),
            ActionResponseRequest::survey(SurveyResponseBody::new(answers())),
        )
        .await
        .unwrap();

    let mut wrong = answers();
    wrong[0] = Answer::Number(7.into());
    let err = actions
        .respond(
            survey_id.clone(),
            ActionResponseRequest::survey(SurveyResponseBody::new(wrong)),
        )
        .await
        .unwrap_err();
    assert_bad_field(&err, "actionBody.answers[0]");
    let mut not_an_option = answers();
    not_an_option[1] = Answer::Text("Plenty".into());
    let err = actions
        .respond(
            survey_id.clone(),
            ActionResponseRequest::survey(SurveyResponseBody::new(not_an_option)),
        )
        .await
        .unwrap_err();
    assert_bad_field(&err, "actionBody.answers[1]");
    let mut unknown_photo = answers();
    unknown_photo[6] = Answer::Text("not-uploaded".into());
    let err = actions
        .respond(
            survey_id.clone(),
            ActionResponseRequest::survey(SurveyResponseBody::new(unknown_photo)),
        )
        .await
        .unwrap_err();
    assert_bad_field(&err, "actionBody.answers[6]");
    let mut too_many = answers();
    too_many.push(Answer::Text("extra".into()));
    let err = actions
        .respond(
            survey_id.clone(),
            ActionResponseRequest::survey(SurveyResponseBody::new(too_many)),
        )
        .await
        .unwrap_err();
    assert_bad_field(&err, "actionBody.answers[7]");
    let err = actions
        .respond(
            survey_id.clone(),
            ActionResponseRequest::survey(SurveyResponseBody::new(answers())),
        )
        .await
        .unwrap_err();
    assert_eq!(status(&err), 400, "one response per person: {err}");

    let mut changed = answers();
    changed[3] = Answer::Number(14.into());
    let updated = actions
        .respond(
            survey_id.clone(),
            ActionResponseRequest::survey(SurveyResponseBody::new(changed))
                .updating(response.response_id.clone()),
        )
        .await
        .unwrap();
    assert_eq!(updated.response_id, response.response_id);
    emulator.state(|s| {
        let stored = &s.actions[survey_id.as_str()].responses;
        assert_eq!(stored.len(), 1);
        assert!(stored[0].updated);
        assert_eq!(stored[0].body["answers"][3], 14);
    });
    let err = actions
        .respond(
            survey_id.clone(),
            ActionResponseRequest::survey(SurveyResponseBody::new(answers()))
                .updating("no-such-response"),
        )
        .await
        .unwrap_err();
    assert_eq!(status(&err), 404, "{err}");

    let seen = events(&emulator, &hook);
    let responses = of_type(&seen, EventType::SurveyResponse);
    assert_eq!(responses.len(), 2);
    let first = responses[0].action().unwrap();
    assert_eq!(first.response_id.as_ref(), Some(&response.response_id));
    assert_eq!(first.responder.as_deref(), Some(ASHA));
    assert_eq!(first.responder_name.as_deref(), Some("Asha Rao"));
    assert_eq!(first.is_update_response.map(|f| f.get()), Some(false));
    assert_eq!(first.is_anonymous.map(|f| f.get()), Some(false));
    let questions = first.questions();
    assert_eq!(questions.len(), 7);
    assert_eq!(questions[0].title.as_deref(), Some("Outlet"));
    assert_eq!(
        questions[0].answer.as_ref().and_then(Answer::as_text),
        Some("ABC Traders")
    );
    assert_eq!(
        questions[1].answer.as_ref().and_then(Answer::as_options),
        Some(&["OK".to_owned()][..]),
        "a single option becomes an array"
    );
    assert_eq!(
        questions[3].answer.as_ref().and_then(Answer::as_f64),
        Some(12.0)
    );
    assert_eq!(
        questions[4]
            .answer
            .as_ref()
            .and_then(Answer::as_timestamp)
            .map(Timestamp::unix_millis),
        Some(1_500_377_471_000)
    );
    let Some(Answer::Attachments(shelf)) = &questions[6].answer else {
        panic!("{:?}", questions[6])
    };
    assert_eq!(shelf[0].media_url.as_deref(), Some(photo_url.as_str()));
    let second = responses[1].action().unwrap();
    assert_eq!(second.is_update_response.map(|f| f.get()), Some(true));
    assert_eq!(
        second.questions()[3]
            .answer
            .as_ref()
            .and_then(Answer::as_f64),
        Some(14.0)
    );

    let details = actions.get(survey_id.clone(), true).await.unwrap();
    let Some(DetailsBody::Survey(details)) = details.action_details else {
        panic!()
    };
    assert_eq!(details.response_count, Some(1));
    let listed = details.responses.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].response_id.as_ref(), Some(&response.response_id));
    assert_eq!(
        listed[0].questions()[3]
            .answer
            .as_ref()
            .and_then(Answer::as_f64),
        Some(14.0)
    );

    // Jobs: assignees only.
    let job = actions
        .create_job(JobBody::new("Count stock", [phone(ASHA), phone(JAN)]))
        .await
        .unwrap()
        .action_id
        .unwrap();
    actions
        .respond(job.clone(), ActionResponseRequest::job(true))
        .await
        .unwrap();
    let not_mine = actions
        .create_job(JobBody::new("Jan's job", [phone(JAN)]))
        .await
        .unwrap()
        .action_id
        .unwrap();
    let err = actions
        .respond(not_mine, ActionResponseRequest::job(true))
        .await
        .unwrap_err();
    assert_eq!(status(&err), 403, "{err}");
    let details = actions.get(job.clone(), true).await.unwrap();
    let Some(DetailsBody::Job(job_details)) = details.action_details else {
        panic!()
    };
    assert_eq!(
        (job_details.response_count, job_details.assignee_count),
        (Some(1), Some(2))
    );
    assert_eq!(job_details.status.map(|f| f.get()), Some(false));
    let done = job_details.responses.unwrap()[0]
        .response_details
        .as_ref()
        .unwrap()
        .job()
        .unwrap()
        .clone();
    assert_eq!(done.assignee.as_deref(), Some(ASHA));
    assert_eq!(done.is_completed.map(|f| f.get()), Some(true));

    // Polls and meetings answer one option.
    let mut poll = PollBody::new("Lunch?", ["Pizza", "Salad"]);
    poll.expiry_in_hours = Some(1);
    let poll = actions.create_poll(poll).await.unwrap().action_id.unwrap();
    let vote = |choice: &str| {
        let mut request =
            ActionResponseRequest::survey(SurveyResponseBody::new(vec![Answer::Text(
                choice.into(),
            )]));
        request.action_type = Some(ActionType::Poll);
        request.action_body =
            kaizala_types::responses::ResponseBody::Other(serde_json::json!({"answers": [choice]}));
        request
    };
    assert_bad_field(
        &actions
            .respond(poll.clone(), vote("Soup"))
            .await
            .unwrap_err(),
        "actionBody.answers[0]",
    );
    actions.respond(poll.clone(), vote("Salad")).await.unwrap();
    let meeting = actions
        .create_lets_meet(LetsMeetBody::new(
            "Sync",
            Timestamp::parse("2030-01-01T09:00:00Z").unwrap(),
        ))
        .await
        .unwrap()
        .action_id
        .unwrap();
    let mut rsvp =
        ActionResponseRequest::survey(SurveyResponseBody::new(vec![Answer::Text("Maybe".into())]));
    rsvp.action_type = None;
    actions.respond(meeting, rsvp).await.unwrap();

    // Packages answer like surveys, as ActionResponse.
    let order = CustomActionBody {
        title: Some("Order".into()),
        questions: Some(vec![QuestionSpec::new("Quantity", QuestionType::Numeric)]),
        ..Default::default()
    };
    let order = actions
        .create_custom("com.contoso.order", order)
        .await
        .unwrap()
        .action_id
        .unwrap();
    let answer = ActionResponseRequest::custom(
        "com.contoso.order",
        SurveyResponseBody::new(vec![Answer::Number(3.into())]),
    );
    actions.respond(order.clone(), answer).await.unwrap();
    let wrong_package = ActionResponseRequest::custom(
        "com.contoso.other",
        SurveyResponseBody::new(vec![Answer::Number(3.into())]),
    );
    assert_bad_field(
        &actions.respond(order, wrong_package).await.unwrap_err(),
        "id",
    );

    // Anonymous surveys keep the responder out of the event.
    let mut anonymous = SurveyBody::new(
        "Mood",
        vec![QuestionSpec::new("How are you?", QuestionType::Text)],
    );
    anonymous.is_anonymous = Some(true.into());
    let anonymous = actions
        .create_survey(anonymous)
        .await
        .unwrap()
        .action_id
        .unwrap();
    actions
        .respond(
            anonymous,
            ActionResponseRequest::survey(SurveyResponseBody::new(vec![Answer::Text(
                "Fine".into(),
            )])),
        )
        .await
        .unwrap();

    let seen = events(&emulator, &hook);
    let job_response = of_type(&seen, EventType::JobResponse)[0].action().unwrap();
    let detail = job_response
        .response_details
        .as_ref()
        .unwrap()
        .job()
        .unwrap();
    assert_eq!(
        (detail.assignee.as_deref(), detail.assignee_name.as_deref()),
        (Some(ASHA), Some("Asha Rao"))
    );
    assert_eq!(detail.is_completed.map(|f| f.get()), Some(true));
    let poll_response = of_type(&seen, EventType::PollResponse)[0].action().unwrap();
    assert_eq!(
        poll_response.questions()[0]
            .answer
            .as_ref()
            .and_then(Answer::as_options),
        Some(&["Salad".to_owned()][..])
    );
    let rsvp = of_type(&seen, EventType::LetsMeetResponse)[0]
        .action()
        .unwrap();
    assert_eq!(
        rsvp.questions()[0]
            .answer
            .as_ref()
            .and_then(Answer::as_options),
        Some(&["Maybe".to_owned()][..])
    );
    let package_response = of_type(&seen, EventType::ActionResponse)[0]
        .action()
        .unwrap();
    assert_eq!(
        package_response.package_id.as_ref().unwrap(),
        "com.contoso.order"
    );
    let anonymous_event = of_type(&seen, EventType::SurveyResponse)
        .into_iter()
        .last()
        .unwrap();
    let data = anonymous_event.action().unwrap();
    assert_eq!(data.is_anonymous.map(|f| f.get()), Some(true));
    assert_eq!(
        (
            data.responder.as_deref(),
            anonymous_event.from_user.as_deref()
        ),
        (None, None)
    );

    // Closed surveys and polls take no more responses.
    emulator.advance(Duration::from_secs(2 * 3600));
    let late = actions
        .respond(
            survey_id,
            ActionResponseRequest::survey(SurveyResponseBody::new(answers()))
                .updating(response.response_id),
        )
        .await
        .unwrap_err();
    assert_eq!(status(&late), 400, "{late}");
    assert!(late.to_string().contains("closed"), "{late}");
    emulator.shutdown().await;
}

// ------------------------------------------------------------------ reactions

#[tokio::test]
async fn reactions_are_counted_and_paged() {
    let (emulator, client, seeded) = demo().await;
    let field_team = seeded.group_id.as_str();
    let group = client.group(field_team);
    let reactions = group.reactions();
    let survey = group
        .actions()
        .create_survey(store_visit())
        .await
        .unwrap()
        .reference_id
        .to_string();
    let message = group
        .messages()
        .send("Good work today")
        .await
        .unwrap()
        .reference_id
        .to_string();
    let asha = user_with_phone(&emulator, ASHA);

    let like = reactions
        .post(PostReactionRequest::like(survey.as_str(), field_team))
        .await
        .unwrap();
    let again = reactions
        .post(PostReactionRequest::like(survey.as_str(), field_team))
        .await
        .unwrap();
    assert_eq!(like.reaction_id, again.reaction_id, "one like per person");
    let comment = reactions
        .post(PostReactionRequest::comment(
            survey.as_str(),
            field_team,
            "Nice",
        ))
        .await
        .unwrap();
    reactions
        .post(PostReactionRequest::like(message.as_str(), field_team))
        .await
        .unwrap();
    emulator.state(|s| {
        assert_eq!(s.reactions.len(), 3);
        let stored = &s.reactions[comment.reaction_id.as_str()];
        assert_eq!(
            (stored.comment.as_deref(), stored.user_id.as_str()),
            (Some("Nice"), asha.as_str())
        );
    });

    let mut silent = PostReactionRequest::comment(survey.as_str(), field_team, "");
    silent.comment = None;
    assert_bad_field(&reactions.post(silent).await.unwrap_err(), "comment");
    let err = reactions
        .post(PostReactionRequest::like("no-such-reference", field_team))
        .await
        .unwrap_err();
    assert_eq!(status(&err), 404, "{err}");
    let store_managers = group_named(&emulator, "Store Managers");
    let elsewhere = client
        .group(store_managers.as_str())
        .messages()
        .send("Elsewhere")
        .await
        .unwrap()
        .reference_id;
    let err = reactions
        .post(PostReactionRequest::like(elsewhere.clone(), field_team))
        .await
        .unwrap_err();
    assert_eq!(status(&err), 404, "sent in another group: {err}");
    let err = reactions
        .post(PostReactionRequest::like(
            elsewhere,
            store_managers.as_str(),
        ))
        .await
        .unwrap_err();
    assert_bad_field(&err, "sourceGroupId");

    let summary = reactions
        .summary(survey.as_str(), field_team)
        .await
        .unwrap();
    assert_eq!(summary.len(), 1);
    let counts = summary[0].reactions_count_map.as_ref().unwrap();
    assert_eq!((counts.like, counts.comment), (Some(1), Some(1)));

    let everything: Vec<_> = reactions
        .group_summary(field_team)
        .try_collect()
        .await
        .unwrap();
    let referenced: Vec<&str> = everything.iter().map(|s| s.reference_id.as_str()).collect();
    assert_eq!(
        referenced,
        vec![survey.as_str(), message.as_str()],
        "least recently changed first"
    );
    let page = client
        .execute(&GetReactionSummaryForGroup {
            group_id: field_team.into(),
            source_group_id: field_team.into(),
            cursor: None,
        })
        .await
        .unwrap();
    let cursor = page.cursor.clone().unwrap();
    let Cursor::Number(ticks) = &cursor else {
        panic!("{cursor:?}")
    };
    let latest = emulator.state(|s| s.reactions.values().map(|r| r.modified_ms).max().unwrap());
    assert_eq!(
        ticks.as_i64(),
        Some(latest * 10_000 + 621_355_968_000_000_000),
        ".NET ticks of the last change"
    );
    let after = client
        .execute(&GetReactionSummaryForGroup {
            group_id: field_team.into(),
            source_group_id: field_team.into(),
            cursor: Some(cursor.clone()),
        })
        .await
        .unwrap();
    assert!(after.summary.is_empty());
    assert_eq!(after.cursor, Some(cursor));

    let comments: Vec<_> = reactions
        .details(survey.as_str(), field_team, ReactionType::Comment)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].reaction_id, comment.reaction_id);
    assert_eq!(comments[0].comment.as_deref(), Some("Nice"));
    assert_eq!(comments[0].user_id.as_ref().unwrap(), asha.as_str());
    assert!(comments[0].last_modified_time.is_some());

    // Many comments changed in the same millisecond still page cleanly.
    let at = emulator.clock().now_ms();
    emulator.shared().store.write(|s| {
        for i in 0..120 {
            let id = format!("bulk-{i:03}");
            s.reactions.insert(
                id.clone(),
                Reaction {
                    id,
                    reference_id: message.clone(),
                    group_id: field_team.to_owned(),
                    source_group_id: field_team.to_owned(),
                    user_id: asha.clone(),
                    reaction_type: "Comment".into(),
                    comment: Some(format!("comment {i}")),
                    modified_ms: at,
                },
            );
        }
    });
    let bulk: Vec<_> = reactions
        .details(message.as_str(), field_team, ReactionType::Comment)
        .try_collect()
        .await
        .unwrap();
    let distinct: BTreeSet<String> = bulk.iter().map(|d| d.reaction_id.to_string()).collect();
    assert_eq!((bulk.len(), distinct.len()), (120, 120));
    let first_page = client
        .execute(&GetReactionDetails {
            group_id: field_team.into(),
            reference_id: message.as_str().into(),
            source_group_id: field_team.into(),
            reaction_type: ReactionType::Comment,
            cursor: None,
        })
        .await
        .unwrap();
    assert_eq!(first_page.reaction_details.len(), 50);
    let likes: Vec<_> = reactions
        .details(message.as_str(), field_team, ReactionType::Like)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(likes.len(), 1);

    // Reactions on what was sent in a sub-group, through the parent.
    let mut sub = CreateSubGroupRequest::new("Depot");
    sub.members = Some(vec![phone(ROBIN)]);
    let depot = group.sub_groups().create(sub).await.unwrap().group_id;
    let depot_message = client
        .group(depot.clone())
        .messages()
        .send("Depot news")
        .await
        .unwrap()
        .reference_id;
    reactions
        .post(PostReactionRequest::like(
            depot_message.clone(),
            depot.clone(),
        ))
        .await
        .unwrap();
    let depot_summary = reactions.summary(depot_message, depot).await.unwrap();
    assert_eq!(
        depot_summary[0].reactions_count_map.as_ref().unwrap().like,
        Some(1)
    );

    let err = client
        .execute(&GetReactionDetails {
            group_id: field_team.into(),
            reference_id: survey.as_str().into(),
            source_group_id: field_team.into(),
            reaction_type: ReactionType::Comment,
            cursor: Some(Cursor::from("yesterday")),
        })
        .await
        .unwrap_err();
    assert_bad_field(&err, "cursor");
    let err = client
        .execute(&PostReaction {
            group_id: field_team.into(),
            request: PostReactionRequest {
                reaction_type: ReactionType::Other("Wow".into()),
                ..PostReactionRequest::like(survey.as_str(), field_team)
            },
        })
        .await
        .unwrap_err();
    assert_bad_field(&err, "reactionType");
    emulator.shutdown().await;
}

// ------------------------------------------------------------------ access

const ACCESS_SEED: &str = r#"
[[tenant]]
name = "Acme"
slug = "acme"

  [[tenant.user]]
  name = "Ada Admin"
  phone = "+15550000001"
  admin = true

  [[tenant.user]]
  name = "Mo Member"
  phone = "+15550000002"

  [[tenant.group]]
  name = "Ops"
  admins = ["+15550000001"]
  members = ["+15550000002"]

  [[tenant.group]]
  name = "Ops East"
  admins = ["+15550000001"]
  parent = "Ops"

  [[tenant.group]]
  name = "Board"
  admins = ["+15550000001"]

  [[tenant.connector]]
  id = "member-connector"
  secret = "member-secret"
  name = "Member connector"
  grant = "+15550000002"
  refresh_token = "rt-member"

  [[tenant.connector]]
  id = "group-connector"
  secret = "group-secret"
  name = "Group connector"
  grant = "group:Ops"
  refresh_token = "rt-group"

[[tenant]]
name = "Globex"
slug = "globex"

  [[tenant.user]]
  name = "Gil"
  phone = "+15550000009"
  admin = true

  [[tenant.group]]
  name = "Globex HQ"
  admins = ["+15550000009"]
"#;

#[tokio::test]
async fn tokens_reach_only_their_groups() {
    let seed = std::env::temp_dir().join(format!(
        "kaizala-resources-seed-{}.toml",
        std::process::id()
    ));
    std::fs::write(&seed, ACCESS_SEED).unwrap();
    let config = EmulatorConfig {
        seed: Seed::File(seed.clone()),
        ..EmulatorConfig::default()
    };
    let emulator = Emulator::start(config).await.unwrap();
    std::fs::remove_file(&seed).ok();
    let base_url = emulator.api_url();
    let (ops, ops_east, board, globex) = (
        group_named(&emulator, "Ops"),
        group_named(&emulator, "Ops East"),
        group_named(&emulator, "Board"),
        group_named(&emulator, "Globex HQ"),
    );

    let group_token = client(&base_url, "group-connector", "group-secret", "rt-group");
    let mut public = CreateGroupRequest::new("Ops News", "News");
    public.group_type = Some(GroupType::ConnectGroup);
    assert_eq!(
        status(&group_token.groups().create(public).await.unwrap_err()),
        403
    );
    assert_eq!(
        status(
            &group_token
                .groups()
                .create(CreateGroupRequest::new("Side", ""))
                .await
                .unwrap_err()
        ),
        403
    );
    let reached: Vec<String> = group_token
        .groups()
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.group_id.to_string())
        .collect();
    assert_eq!(
        reached,
        vec![ops.clone()],
        "its group, whose sub-groups are one level down"
    );
    assert_eq!(
        group_token
            .groups()
            .list_detailed(true)
            .await
            .unwrap()
            .groups
            .len(),
        2
    );
    group_token.group(ops_east.as_str()).get().await.unwrap();
    assert_eq!(
        status(&group_token.group(board.as_str()).get().await.unwrap_err()),
        403
    );
    let west = group_token
        .group(ops.as_str())
        .sub_groups()
        .create(CreateSubGroupRequest::new("Ops West"))
        .await
        .unwrap();
    let admin = user_with_phone(&emulator, "+15550000001");
    assert!(
        emulator.state(|s| s.groups[west.group_id.as_str()]
            .members
            .contains_key(&admin)),
        "a group token acts as the group's admin"
    );

    let member = client(&base_url, "member-connector", "member-secret", "rt-member");
    assert_eq!(
        status(&member.group(board.as_str()).get().await.unwrap_err()),
        403,
        "not granted"
    );
    assert_eq!(
        status(&member.group(globex.as_str()).get().await.unwrap_err()),
        404,
        "another tenant's group"
    );
    assert_eq!(
        status(&member.group("no-such-group").get().await.unwrap_err()),
        404
    );
    let ops_info = member.group(ops.as_str()).get().await.unwrap();
    assert_eq!(ops_info.caller_role, Some(MemberRole::Member));
    assert_eq!(ops_info.is_editable.map(|f| f.get()), Some(false));
    let mut public = CreateGroupRequest::new("Member News", "News");
    public.group_type = Some(GroupType::ConnectGroup);
    assert_eq!(
        status(&member.groups().create(public).await.unwrap_err()),
        403,
        "not a tenant admin"
    );
    let own = member
        .groups()
        .create(CreateGroupRequest::new("Mo's group", "hi"))
        .await
        .unwrap();
    let listed: Vec<String> = member
        .groups()
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.group_id.to_string())
        .collect();
    assert_eq!(listed.len(), 2);
    assert!(listed.contains(&ops) && listed.contains(&own.group_id.to_string()));
    let err = member
        .group(ops.as_str())
        .sub_groups()
        .add([GroupId::from(board.as_str())])
        .await
        .unwrap_err();
    assert_eq!(status(&err), 403, "both groups must be reachable: {err}");
    emulator.shutdown().await;
}
