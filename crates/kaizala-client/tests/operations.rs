//! Every operation of the API contract (`docs/api/openapi.yaml`) driven
//! through the client's resource API against the scripted server, which
//! checks each request exactly: method, path and query string (percent
//! encoding included), the headers that matter and the body. The answers are
//! the documentation's own samples (`kaizala-types/tests/fixtures/`), and
//! each test checks a few fields of what the client decoded from them.
//!
//! Covered, one test per operation:
//!
//! - auth: `generatePin`, `loginWithPinAndApplicationId` (the client then
//!   uses the new refresh token), `getAccessToken` (refresh headers, no
//!   `accessToken`), `oauthAuthorize` (the URL only: it is a browser page),
//!   `oauthToken` (form body; the session it returns is then used);
//! - groups: create, list (with `showDetail` / `fetchAllGroups`), get (a
//!   group id with a shard suffix `…@1`);
//! - sub-groups: list (`fetchAllGroups`), create, add, remove;
//! - members: list, add, remove (a member id that needs percent-encoding);
//! - subscribers: list (a stream over two pages by `cursor`), add, remove;
//! - messages: send (plain, and to chosen subscribers);
//! - media: upload from bytes and from a file (content type by extension,
//!   exact multipart body); an unsupported extension is refused before any
//!   request is made;
//! - actions: create (survey, announcement, media post, custom package),
//!   list (a stream following `hasMore` / `fromDate`; `count` via
//!   `execute`), get (`getDetails`), respond (job, survey);
//! - reactions: post, summary of one action (`sourceGroupId`), group
//!   summary and details (streams following `cursor`, `reactionType`);
//! - webhooks: create, list (`objectId` / `objectType`), update (fields, and
//!   re-activation), delete.
//!
//! Every API call must carry `accessToken` and none of the refresh headers;
//! the token call carries `applicationId` / `applicationSecret` /
//! `refreshToken` and no `accessToken`. Every test ends with
//! `server.verify()`, which fails on any unexpected or mismatched request.

mod support;

use std::time::{Duration, UNIX_EPOCH};

use futures_util::TryStreamExt;
use kaizala_client::{Client, ErrorKind};
use kaizala_core::multipart::Multipart;
use kaizala_core::ops::actions::ListActions;
use kaizala_core::ops::media::FILE_FIELD;
use kaizala_types::actions::{
    ActionType, AnnouncementBody, CreateActionRequest, CustomActionBody, DetailsBody, SummaryBody,
    SurveyBody,
};
use kaizala_types::event::{EventType, ObjectType};
use kaizala_types::groups::CreateGroupRequest;
use kaizala_types::media::{MediaKind, MediaResource};
use kaizala_types::messages::SendMessageRequest;
use kaizala_types::reactions::{PostReactionRequest, ReactionType};
use kaizala_types::responses::ActionResponseRequest;
use kaizala_types::subgroups::CreateSubGroupRequest;
use kaizala_types::webhooks::{CreateWebhookRequest, UpdateWebhookRequest};
use kaizala_types::{Flag, PhoneNumber};
use serde_json::{Value, json};
use support::{
    APP_ID, APP_SECRET, BodyMatch, Expect, MockServer, REFRESH, client, in_secs, token_call,
};

/// A documentation sample from `kaizala-types/tests/fixtures/`, as JSON.
macro_rules! fixture {
    ($name:literal) => {
        serde_json::from_str::<Value>(include_str!(concat!(
            "../../kaizala-types/tests/fixtures/",
            $name,
            ".json"
        )))
        .expect(concat!($name, " is JSON"))
    };
}

/// The access token the scripted token call hands out.
const TOKEN: &str = "tok";
/// A group id with a shard suffix: `@` travels as is in a path segment.
const GROUP: &str = "853654b2-5874-462d-b709-0c4e43a7083f@1";

/// A server expecting the first token call, and a client for it.
async fn start() -> (MockServer, Client) {
    let server = MockServer::start().await;
    server.expect(token_call(&server, TOKEN));
    let client = client(&server).build().unwrap();
    (server, client)
}

/// An API call: with the access token and none of the refresh headers.
fn api(method: &str, path: &str) -> Expect {
    Expect::new(method, path)
        .header("accessToken", TOKEN)
        .no_header("refreshToken")
        .no_header("applicationId")
        .no_header("applicationSecret")
}

/// An API call without a body (and so without a content type).
fn bodiless(method: &str, path: &str) -> Expect {
    api(method, path).no_header("content-type")
}

fn phone(number: &str) -> PhoneNumber {
    number.parse().unwrap()
}

/// A typed request decoded from a documentation sample.
macro_rules! decode {
    ($ty:ty, $value:expr) => {
        kaizala_types::from_value::<$ty>($value).expect(concat!("a ", stringify!($ty)))
    };
}

// ------------------------------------------------------------------ auth

#[tokio::test]
async fn generate_pin() {
    let server = MockServer::start().await;
    server.expect(
        Expect::post("/v1/generatePin")
            .no_header("accessToken")
            .no_header("refreshToken")
            .no_header("applicationId")
            .no_header("applicationSecret")
            .json(json!({"mobileNumber": "+919910870005", "applicationId": APP_ID}))
            .respond(
                200,
                fixture!("GeneratePinResponse--swagger-generatepin-response-200"),
            ),
    );
    let client = Client::builder()
        .application(APP_ID, APP_SECRET)
        .base_url(&format!("{}/v1", server.url()))
        .build()
        .unwrap();
    client
        .auth()
        .generate_pin(phone("+919910870005"))
        .await
        .unwrap();
    server.verify();
}

#[tokio::test]
async fn login_with_pin_and_application_id_then_uses_the_new_refresh_token() {
    let server = MockServer::start().await;
    server.expect(
        Expect::post("/v1/loginWithPinAndApplicationId")
            .no_header("accessToken")
            .no_header("refreshToken")
            .no_header("applicationId")
            .no_header("applicationSecret")
            .json(json!({"mobileNumber": "+919910870005", "applicationId": APP_ID, "pin": 8876}))
            .respond(
                200,
                fixture!("LoginWithPinResponse--swagger-getrefreshtoken-response-200"),
            ),
    );
    // The next call needs a token: it must be asked for with the refresh
    // token the login returned.
    server.expect(
        Expect::get("/v1/accessToken")
            .header("applicationId", APP_ID)
            .header("applicationSecret", APP_SECRET)
            .header("refreshToken", "adwawaw")
            .no_header("accessToken")
            .respond(
                200,
                json!({"accessToken": TOKEN, "endpointUrl": server.url(), "accessTokenExpiry": in_secs(86_400)}),
            ),
    );
    server.expect(
        bodiless("GET", "/v1/groups").respond(200, fixture!("GroupList--groups-get-response")),
    );
    let client = Client::builder()
        .application(APP_ID, APP_SECRET)
        .base_url(&format!("{}/v1", server.url()))
        .build()
        .unwrap();

    let login = client
        .auth()
        .login_with_pin(phone("+919910870005"), "8876")
        .await
        .unwrap();
    assert_eq!(login.refresh_token.expose(), "adwawaw");
    assert_eq!(
        login.refresh_token_expiry.unwrap().unix_millis(),
        1_537_016_388_242
    );
    assert!(login.granted_scope.is_some());
    assert!(
        client.session().is_none(),
        "a login starts without a session"
    );

    let groups = client.groups().list().await.unwrap();
    assert_eq!(groups[0].group_name.as_deref(), Some("Sample group name"));
    server.verify();
}

/// The token call with the harness's credentials, answered with `answer`.
fn token_call_answering(answer: Value) -> Expect {
    Expect::get("/v1/accessToken")
        .header("applicationId", APP_ID)
        .header("applicationSecret", APP_SECRET)
        .header("refreshToken", REFRESH)
        .no_header("accessToken")
        .no_header("content-type")
        .respond(200, answer)
}

#[tokio::test]
async fn get_access_token() {
    let server = MockServer::start().await;
    server.expect(token_call_answering(fixture!(
        "AccessTokenResponse--tokens-access-token-api-response"
    )));
    // The sample token expired in 2018, so asking again makes a second call.
    server.expect(token_call_answering(fixture!(
        "AccessTokenResponse--swagger-generateaccesstoken-response-200"
    )));
    let client = client(&server).build().unwrap();

    let session = client.auth().refresh().await.unwrap();
    assert!(
        session
            .access_token
            .expose()
            .starts_with("eyJhbGciOiJIUzI1NiIs")
    );
    assert_eq!(session.endpoint_url, "https://kms-alpha.kaiza.la");
    assert_eq!(session.endpoint_base(), "https://kms-alpha.kaiza.la/v1");
    assert_eq!(
        session.expires_at,
        UNIX_EPOCH + Duration::from_millis(1_518_481_686_294)
    );
    assert_eq!(client.session(), Some(session));

    let session = client.auth().refresh().await.unwrap();
    assert_eq!(session.access_token.expose(), "asdasadadaad");
    assert_eq!(
        session.endpoint_url,
        "https://inc-000.kaizalamessaging.osi.office.net"
    );
    server.verify();
}

#[test]
fn oauth_authorize_url() {
    let client = Client::builder()
        .application("2AB9B82044683484EE9D958E7", APP_SECRET)
        .build()
        .unwrap();
    assert_eq!(
        client
            .auth()
            .authorize_url("https://www.getpostman.com/oauth2/callback")
            .unwrap(),
        "https://ds.kaiza.la/api/Oauth/Authorize?client_id=2AB9B82044683484EE9D958E7&redirect_uri=https%3A%2F%2Fwww.getpostman.com%2Foauth2%2Fcallback"
    );
    let local = Client::builder()
        .application(APP_ID, APP_SECRET)
        .oauth_base_url("http://127.0.0.1:9/api/")
        .build()
        .unwrap();
    assert_eq!(
        local
            .auth()
            .authorize_url("http://localhost/cb?state=a b")
            .unwrap(),
        "http://127.0.0.1:9/api/Oauth/Authorize?client_id=test-connector&redirect_uri=http%3A%2F%2Flocalhost%2Fcb%3Fstate%3Da+b"
    );
}

#[tokio::test]
async fn oauth_token_exchanges_the_code_and_the_session_is_used() {
    let server = MockServer::start().await;
    let mut answer = fixture!("AccessTokenResponse--tokens-oauth-token-response");
    let access_token = answer["accessToken"].as_str().unwrap().to_owned();
    // The sample's endpoint and expiry, moved to this server and to tomorrow.
    answer["endpointUrl"] = json!(format!("{}/", server.url()));
    answer["accessTokenExpiry"] = json!(in_secs(86_400));
    server.expect(
        Expect::post("/api/oauth/token")
            .header("content-type", "application/x-www-form-urlencoded")
            .no_header("accessToken")
            .no_header("refreshToken")
            .no_header("applicationId")
            .no_header("applicationSecret")
            .body(BodyMatch::Exact(
                format!("client_id={APP_ID}&client_secret={APP_SECRET}&code=M.R3_BAY%2Fa%2Bb%3D")
                    .into_bytes(),
            ))
            .respond(200, answer),
    );
    server.expect(
        Expect::get("/v1/groups")
            .header("accessToken", &access_token)
            .no_header("refreshToken")
            .respond(200, fixture!("GroupList--groups-get-response")),
    );
    let client = Client::builder()
        .application(APP_ID, APP_SECRET)
        .base_url(&format!("{}/v1", server.url()))
        .oauth_base_url(&format!("{}/api", server.url()))
        .build()
        .unwrap();

    let session = client.auth().exchange_code("M.R3_BAY/a+b=").await.unwrap();
    assert_eq!(session.access_token.expose(), access_token);
    assert_eq!(session.endpoint_url, server.url());
    let groups = client.groups().list().await.unwrap();
    assert_eq!(groups.len(), 1);
    server.verify();
}

// ------------------------------------------------------------------ groups

#[tokio::test]
async fn create_group() {
    let (server, client) = start().await;
    let request = fixture!("CreateGroupRequest--groups-post-request");
    server.expect(
        api("POST", "/v1/groups")
            .json(request.clone())
            .respond(200, fixture!("CreateGroupResponse--groups-post-response")),
    );
    let created = client
        .groups()
        .create(decode!(CreateGroupRequest, request))
        .await
        .unwrap();
    assert_eq!(created.group_id, "853654b2-5874-462d-b709-0c4e43a7083f");
    assert_eq!(created.group_name.as_deref(), Some("Kaizala Test group"));
    assert_eq!(created.members_added, Some(Flag::TRUE));
    server.verify();
}

#[tokio::test]
async fn list_groups() {
    let (server, client) = start().await;
    server.expect(
        bodiless("GET", "/v1/groups").respond(200, fixture!("GroupList--groups-get-response")),
    );
    server.expect(
        bodiless("GET", "/v1/groups?showDetail=true&fetchAllGroups=true")
            .respond(200, fixture!("GroupList--groups-get-response")),
    );
    server.expect(
        bodiless("GET", "/v1/groups?showDetail=true&fetchAllGroups=false")
            .respond(200, fixture!("GroupList--groups-get-response")),
    );

    let groups = client.groups().list().await.unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].group_id, "853654b2-5874-462d-b709-0c4e43a7083f");
    let detailed = client.groups().list_detailed(true).await.unwrap();
    let group = &detailed.groups[0];
    assert_eq!(group.user_count, Some(2));
    assert_eq!(group.is_editable.map(Flag::get), Some(true));
    assert_eq!(
        group
            .caller_role
            .as_ref()
            .map(ToString::to_string)
            .as_deref(),
        Some("Admin")
    );
    client.groups().list_detailed(false).await.unwrap();
    server.verify();
}

#[tokio::test]
async fn get_group_with_a_shard_suffix() {
    let (server, client) = start().await;
    server.expect(
        bodiless("GET", &format!("/v1/groups/{GROUP}"))
            .respond(200, fixture!("GroupList--groups-get-by-id-response")),
    );
    let group = client.group(GROUP).get().await.unwrap();
    assert_eq!(group.group_name.as_deref(), Some("Sample group name"));
    assert_eq!(group.has_sub_groups.map(Flag::get), Some(true));
    assert_eq!(group.user_count, Some(200));
    assert_eq!(group.current_level_user_count, Some(10));
    server.verify();
}

// ------------------------------------------------------------------ sub-groups

#[tokio::test]
async fn list_sub_groups() {
    let (server, client) = start().await;
    server.expect(
        bodiless(
            "GET",
            &format!("/v1/groups/{GROUP}/subGroups?fetchAllGroups=true"),
        )
        .respond(200, fixture!("SubGroupList--subgroups-get-response")),
    );
    server.expect(
        bodiless(
            "GET",
            &format!("/v1/groups/{GROUP}/subGroups?fetchAllGroups=false"),
        )
        .respond(
            200,
            fixture!("SubGroupList--swagger-fetchsubgroup-response-200"),
        ),
    );

    let all = client.group(GROUP).sub_groups().list(true).await.unwrap();
    let parent = &all.groups()[0];
    assert_eq!(parent.group_name.as_deref(), Some("Sample group name"));
    let subs = parent.sub_groups.as_ref().unwrap();
    assert_eq!(subs[0].group_name.as_deref(), Some("Sample sub group name"));

    // The Swagger sample is the bare parent group, read as a one-group list.
    let direct = client.group(GROUP).sub_groups().list(false).await.unwrap();
    assert_eq!(direct.groups().len(), 1);
    assert_eq!(
        direct.groups()[0].sub_groups.as_ref().unwrap()[0].group_id,
        "d15fce78-d5c5-410f-845d-a747f02de912"
    );
    server.verify();
}

#[tokio::test]
async fn create_sub_group() {
    let (server, client) = start().await;
    let request = fixture!("CreateSubGroupRequest--subgroups-post-request");
    server.expect(
        api("POST", &format!("/v1/groups/{GROUP}/subGroups"))
            .json(request.clone())
            .respond(
                200,
                fixture!("CreateSubGroupResponse--subgroups-post-response"),
            ),
    );
    let created = client
        .group(GROUP)
        .sub_groups()
        .create(decode!(CreateSubGroupRequest, request))
        .await
        .unwrap();
    assert_eq!(created.group_id, "853654b2-5874-462d-b709-0c4e43a7083f");
    assert_eq!(created.group_name.as_deref(), Some("Test Group"));
    server.verify();
}

#[tokio::test]
async fn add_sub_groups() {
    let (server, client) = start().await;
    server.expect(
        api("PUT", &format!("/v1/groups/{GROUP}/subGroups"))
            .json(json!({"subGroups": ["5fe5b80a-52d1-4d8a-8086-cf8f34259de2", "d15fce78@2"]}))
            .respond(200, json!({"result": true})),
    );
    let result = client
        .group(GROUP)
        .sub_groups()
        .add([
            "5fe5b80a-52d1-4d8a-8086-cf8f34259de2".into(),
            "d15fce78@2".into(),
        ])
        .await
        .unwrap();
    assert_eq!(result.result, Some(Flag::TRUE));
    server.verify();
}

#[tokio::test]
async fn remove_sub_group() {
    let (server, client) = start().await;
    server.expect(
        bodiless(
            "DELETE",
            &format!("/v1/groups/{GROUP}/subGroups/d15fce78-d5c5-410f-845d-a747f02de912@2"),
        )
        .respond(200, json!({"result": true})),
    );
    let result = client
        .group(GROUP)
        .sub_groups()
        .remove("d15fce78-d5c5-410f-845d-a747f02de912@2")
        .await
        .unwrap();
    assert_eq!(result.result.map(Flag::get), Some(true));
    server.verify();
}

// ------------------------------------------------------------------ members

#[tokio::test]
async fn list_members() {
    let (server, client) = start().await;
    server.expect(
        bodiless("GET", &format!("/v1/groups/{GROUP}/members"))
            .respond(200, fixture!("MemberList--members-get-response")),
    );
    let members = client.group(GROUP).members().list().await.unwrap();
    assert_eq!(members.len(), 2);
    assert_eq!(members[0].id, "4deffa08-guid-4b87-8c2f-d944565f5f31");
    assert_eq!(members[0].mobile_number.as_deref(), Some("+919652000000"));
    assert_eq!(members[1].is_provisioned, Some(Flag::FALSE));
    server.verify();
}

#[tokio::test]
async fn add_members() {
    let (server, client) = start().await;
    server.expect(
        api("PUT", &format!("/v1/groups/{GROUP}/members"))
            .json(fixture!("AddMembersRequest--members-put-request"))
            .respond(200, fixture!("ResultResponse--members-put-response")),
    );
    let result = client
        .group(GROUP)
        .members()
        .add([phone("+91000000000"), phone("+91900000000")])
        .await
        .unwrap();
    // The sample says `"result": "true"`, a string.
    assert_eq!(result.result.map(Flag::get), Some(true));
    server.verify();
}

#[tokio::test]
async fn remove_member_with_an_id_that_needs_percent_encoding() {
    let (server, client) = start().await;
    server.expect(
        bodiless(
            "DELETE",
            &format!("/v1/groups/{GROUP}/members/2e20e9ac%2Fguid%20%2B47bd%3F%23"),
        )
        .respond(200, fixture!("ResultResponse--members-delete-response")),
    );
    let result = client
        .group(GROUP)
        .members()
        .remove("2e20e9ac/guid +47bd?#")
        .await
        .unwrap();
    assert_eq!(result.result.map(Flag::get), Some(true));
    server.verify();
}

// ------------------------------------------------------------------ subscribers

#[tokio::test]
async fn list_subscribers_over_two_pages() {
    let (server, client) = start().await;
    let path = format!("/v1/groups/{GROUP}/subscribers");
    server.expect(api("POST", &path).json(json!({"count": 50})).respond(
        200,
        json!({
            "subscribers": [
                {"id": "first-1", "mobileNumber": "+91109999990", "isProvisioned": true},
                {"id": "first-2", "mobileNumber": "+91109999991", "isProvisioned": "false"}
            ],
            "cursor": "c2/next+page"
        }),
    ));
    server.expect(
        api("POST", &path)
            .json(json!({"cursor": "c2/next+page", "count": 50}))
            .respond(200, fixture!("SubscriberList--subscribers-get-response")),
    );
    let subscribers: Vec<_> = client
        .group(GROUP)
        .subscribers()
        .list()
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<_> = subscribers
        .iter()
        .map(|s| s.id.as_ref().unwrap().as_str())
        .collect();
    assert_eq!(
        ids,
        ["first-1", "first-2", "e2238eb5-2f45-4783-8f4b-571549db86c0"]
    );
    assert_eq!(
        subscribers[2].mobile_number.as_deref(),
        Some("+91109999999")
    );
    assert_eq!(subscribers[1].is_provisioned.map(Flag::get), Some(false));
    server.verify();
}

#[tokio::test]
async fn add_subscribers() {
    let (server, client) = start().await;
    server.expect(
        api("PUT", &format!("/v1/groups/{GROUP}/subscribers/add"))
            .json(fixture!("SubscribersRequest--subscribers-add-request"))
            .respond(
                200,
                fixture!("SubscriberChangeResponse--subscribers-add-response"),
            ),
    );
    let change = client
        .group(GROUP)
        .subscribers()
        .add([phone("+911111111111"), phone("+911111111112")])
        .await
        .unwrap();
    assert_eq!(change.result.len(), 2);
    assert_eq!(change.result["+911111111111"].is_added, Some(Flag::TRUE));
    assert_eq!(change.result["+911111111112"].is_removed, None);
    server.verify();
}

#[tokio::test]
async fn remove_subscribers() {
    let (server, client) = start().await;
    server.expect(
        api("PUT", &format!("/v1/groups/{GROUP}/subscribers/remove"))
            .json(fixture!("SubscribersRequest--subscribers-remove-request"))
            .respond(
                200,
                fixture!("SubscriberChangeResponse--subscribers-remove-response"),
            ),
    );
    let change = client
        .group(GROUP)
        .subscribers()
        .remove([phone("+911111111111"), phone("+911111111112")])
        .await
        .unwrap();
    assert_eq!(change.result["+911111111112"].is_removed, Some(Flag::TRUE));
    server.verify();
}

// ------------------------------------------------------------------ messages

#[tokio::test]
async fn send_message() {
    let (server, client) = start().await;
    let path = format!("/v1/groups/{GROUP}/messages");
    server.expect(
        api("POST", &path)
            .json(fixture!(
                "SendMessageRequest--swagger-def-send-message-on-a-group"
            ))
            .respond(200, fixture!("SendMessageResponse--messages-post-response")),
    );
    // The vendor's sample spells it `Message`; the contract's key is `message`.
    server.expect(
        api("POST", &path)
            .json(json!({"message": "message to subscribers", "subscribers": ["+91109999999"], "sendToAllSubscribers": false}))
            .respond(200, fixture!("SendMessageResponse--messages-post-response")),
    );

    let sent = client
        .group(GROUP)
        .messages()
        .send("Test message via API")
        .await
        .unwrap();
    assert_eq!(sent.reference_id, "853654b2-5874-462d-b709-0c4e43a7083f");

    let mut request = SendMessageRequest::new("message to subscribers");
    request.subscribers = Some(vec![phone("+91109999999")]);
    request.send_to_all_subscribers = Some(Flag::FALSE);
    let sent = client
        .group(GROUP)
        .messages()
        .send_request(request)
        .await
        .unwrap();
    assert_eq!(sent.reference_id, "853654b2-5874-462d-b709-0c4e43a7083f");
    server.verify();
}

// ------------------------------------------------------------------ media

/// The multipart body an upload must produce, written out by hand around
/// the (content-derived) boundary the encoder picks.
fn multipart(file_name: &str, content_type: &str, data: &[u8]) -> (String, Vec<u8>) {
    let boundary = Multipart::file(FILE_FIELD, file_name, content_type, data.to_vec())
        .boundary()
        .to_owned();
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: {content_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// The media upload answer. The contract gives no sample (only the schema:
/// an opaque `mediaResource` string), so this one is made up.
const MEDIA_RESOURCE: &str = "eyJUaHVtYm5haWwiOiIvOWovNEFBUVNrWkpSZ0FCQVFFQVlBQmdBQUQvMndC";

#[tokio::test]
async fn upload_media_from_bytes() {
    let (server, client) = start().await;
    let data = b"\xff\xd8\xff\xe0 not really a JPEG \r\n--".to_vec();
    let (content_type, body) = multipart("photo.jpg", "image/jpeg", &data);
    server.expect(
        api("POST", "/v1/media")
            .header("content-type", &content_type)
            .body(BodyMatch::Exact(body))
            .respond(200, json!({"mediaResource": MEDIA_RESOURCE})),
    );
    let uploaded = client
        .media()
        .upload_bytes("photo.jpg", data)
        .await
        .unwrap();
    assert_eq!(uploaded.media_resource, MEDIA_RESOURCE);
    server.verify();
}

/// A directory of its own under the system's temporary directory.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let path =
            std::env::temp_dir().join(format!("kaizala-operations-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn upload_media_from_a_file() {
    let (server, client) = start().await;
    let dir = TempDir::new("upload");
    let path = dir.0.join("Quarterly Report.PDF");
    let data = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n".to_vec();
    std::fs::write(&path, &data).unwrap();
    // The extension table is case-insensitive: `.PDF` is application/pdf.
    let (content_type, body) = multipart("Quarterly Report.PDF", "application/pdf", &data);
    server.expect(
        api("POST", "/v1/media")
            .header("content-type", &content_type)
            .body(BodyMatch::Exact(body))
            .respond(200, json!({"mediaResource": MEDIA_RESOURCE})),
    );
    let uploaded = client.media().upload_path(&path).await.unwrap();
    assert_eq!(uploaded.media_resource, MEDIA_RESOURCE);
    server.verify();
}

#[tokio::test]
async fn upload_media_refuses_an_unsupported_extension_before_any_request() {
    let server = MockServer::start().await;
    let client = client(&server).build().unwrap();
    let dir = TempDir::new("refused");
    let path = dir.0.join("notes.txt");
    std::fs::write(&path, b"plain text").unwrap();

    let err = client
        .media()
        .upload_bytes("notes.txt", b"plain text".to_vec())
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::InvalidInput(message) if message.contains(".jpg")),
        "{err}"
    );
    let err = client.media().upload_path(&path).await.unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidInput(_)), "{err}");
    let err = client
        .media()
        .upload_bytes("no-extension", vec![1, 2, 3])
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidInput(_)), "{err}");

    assert!(
        server.received().is_empty(),
        "not even a token call: {:?}",
        server.received()
    );
    server.verify();
}

// ------------------------------------------------------------------ actions

#[tokio::test]
async fn create_action() {
    let (server, client) = start().await;
    let path = format!("/v1/groups/{GROUP}/actions");
    let survey = fixture!("CreateActionRequest--actions-post-survey");
    server.expect(
        api("POST", &path)
            .json(survey.clone())
            .respond(200, fixture!("CreateActionResponse--actions-post-response")),
    );
    // The docs' announcement says `Title` / `Message` / `MediaResources`;
    // the contract's keys are camelCase.
    let announcement = fixture!("CreateActionRequest--actions-post-announcement");
    let resources = announcement["actionBody"]["MediaResources"].clone();
    server.expect(
        api("POST", &path)
            .json(json!({
                "actionType": "Announcement",
                "actionBody": {
                    "title": "Title text",
                    "message": "Announcement from API Message text",
                    "mediaResources": resources
                }
            }))
            .respond(200, fixture!("CreateActionResponse--actions-post-response")),
    );
    server.expect(
        api("POST", &path)
            .json(fixture!("CreateActionRequest--media-post-actions-image"))
            .respond(
                200,
                fixture!("CreateActionResponse--media-post-actions-response"),
            ),
    );
    let custom =
        fixture!("CreateActionRequest--swagger-def-post-custom-action-to-a-group-with-properties");
    server.expect(
        api("POST", &path)
            .json(custom.clone())
            .respond(200, fixture!("CreateActionResponse--actions-post-response")),
    );
    let actions = client.group(GROUP).actions();

    let created = actions
        .create_survey(decode!(SurveyBody, survey["actionBody"].clone()))
        .await
        .unwrap();
    assert_eq!(created.reference_id, "79f43f77-d586-4e9a-b8b8-103e0ac5b782");
    assert_eq!(
        created.action_id.unwrap(),
        "232e7003-22a1-4a28-bb36-9176e704e10c"
    );

    let mut body = AnnouncementBody::new("Title text", "Announcement from API Message text");
    body.media_resources = Some(decode!(Vec<MediaResource>, resources));
    actions.create_announcement(body).await.unwrap();

    let posted = actions
        .post_media(
            MediaKind::Image,
            MediaResource::new("{{MediaResource return in response of /media api call}}"),
            Some("Sample test caption".into()),
        )
        .await
        .unwrap();
    assert_eq!(posted.reference_id, "6007fe3a-cb7c-4eef-bb88-934273aabc1e");
    assert_eq!(posted.action_id, None, "media posts have no action id");

    let request = CreateActionRequest::custom(
        "com.microsoft.kaizala.miniapps.BdayMessage.12",
        decode!(CustomActionBody, custom["actionBody"].clone()),
    );
    actions.create(request).await.unwrap();
    server.verify();
}

#[tokio::test]
async fn list_actions_follows_has_more_and_from_date() {
    let (server, client) = start().await;
    let path = format!("/v1/groups/{GROUP}/actions");
    let mut first = fixture!("ActionList--actions-get-survey");
    first["hasMore"] = json!(true);
    let repeated = first["actions"][0].clone();
    server.expect(bodiless("GET", &format!("{path}?actionType=Survey")).respond(200, first));
    // The next page starts at the last action's time (1480931759 s, sent as
    // milliseconds), inclusive: the last action comes again and is dropped.
    server.expect(bodiless("GET", &format!("{path}?actionType=Survey&fromDate=1480931759000")).respond(
        200,
        json!({
            "actions": [
                repeated,
                {
                    "referenceId": "second-survey",
                    "actionType": "Survey",
                    "sender": "+91960001",
                    "creationTime": 1480935359,
                    "actionBody": {"actionId": "a-2", "title": "Second Survey", "responseCount": 0}
                }
            ],
            "hasMore": false
        }),
    ));
    server.expect(
        bodiless(
            "GET",
            &format!("{path}?actionType=Job&fromDate=1500000000000"),
        )
        .respond(200, fixture!("ActionList--actions-get-job")),
    );
    server.expect(
        bodiless(
            "GET",
            &format!("{path}?actionType=Poll&fromDate=1513758831000&count=2"),
        )
        .respond(200, fixture!("ActionList--actions-get-poll")),
    );
    let actions = client.group(GROUP).actions();

    let surveys: Vec<_> = actions
        .list(ActionType::Survey)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(surveys.len(), 2);
    assert_eq!(
        surveys[0].reference_id.as_ref().unwrap(),
        "88a93ddd-0349d-4d18-86ee-c0f8484728db"
    );
    let Some(SummaryBody::Survey(survey)) = &surveys[0].action_body else {
        panic!("a survey body: {:?}", surveys[0].action_body)
    };
    assert_eq!(survey.title.as_deref(), Some("Sample Survey"));
    assert_eq!(survey.response_count, Some(1));
    assert_eq!(surveys[1].reference_id.as_ref().unwrap(), "second-survey");

    let jobs: Vec<_> = actions
        .list_since(ActionType::Job, Some(1_500_000_000_000))
        .try_collect()
        .await
        .unwrap();
    let Some(SummaryBody::Job(job)) = &jobs[0].action_body else {
        panic!("a job body")
    };
    assert_eq!(job.assignee_count, Some(1));
    assert_eq!(job.is_completed, Some(Flag::FALSE));

    // No resource method sets `count`: one page through `execute`.
    let page = client
        .execute(&ListActions {
            group_id: GROUP.into(),
            action_type: ActionType::Poll,
            from_date: Some(1_513_758_831_000),
            count: Some(2),
        })
        .await
        .unwrap();
    assert_eq!(
        page.actions[0].sent().unwrap().unix_seconds(),
        1_513_758_831
    );
    assert_eq!(page.has_more, None);
    server.verify();
}

/// getAction's answer as the contract's ActionDetails schema (the table of
/// actionDetails.md) describes it.
fn action_details_answer() -> Value {
    json!({
        "referenceId": "88a93ddd-0349d-4d18-86ee-c0f8484728db",
        "actionType": "Survey",
        "sender": "+91960000",
        "sentAt": "2016-12-05T09:55:59Z",
        "actionDetails": {
            "actionId": "8106b2bb-236c-4952-a554-2baadcbd49a0",
            "title": "Sample Survey",
            "responseCount": 1,
            "responses": []
        }
    })
}

#[tokio::test]
async fn get_action_with_details() {
    let (server, client) = start().await;
    let path = format!("/v1/groups/{GROUP}/actions/8106b2bb-236c-4952-a554-2baadcbd49a0");
    server.expect(
        bodiless("GET", &format!("{path}?getDetails=true")).respond(200, action_details_answer()),
    );
    server.expect(
        bodiless("GET", &format!("{path}?getDetails=false")).respond(
            200,
            fixture!("ActionDetails--actiondetails-get-survey-response"),
        ),
    );
    let actions = client.group(GROUP).actions();

    let details = actions
        .get("8106b2bb-236c-4952-a554-2baadcbd49a0", true)
        .await
        .unwrap();
    assert_eq!(
        details.reference_id.unwrap(),
        "88a93ddd-0349d-4d18-86ee-c0f8484728db"
    );
    assert_eq!(details.sent_at.unwrap().unix_seconds(), 1_480_931_759);
    let Some(DetailsBody::Survey(survey)) = &details.action_details else {
        panic!("survey details: {:?}", details.action_details)
    };
    assert_eq!(survey.title.as_deref(), Some("Sample Survey"));
    assert_eq!(survey.response_count, Some(1));
    assert_eq!(survey.responses.as_deref().map(<[_]>::len), Some(0));

    // actionDetails.md's own sample (the listActions shape) decodes too.
    actions
        .get("8106b2bb-236c-4952-a554-2baadcbd49a0", false)
        .await
        .unwrap();
    server.verify();
}

#[tokio::test]
async fn get_action_reads_the_documented_sample() {
    let (server, client) = start().await;
    server.expect(
        bodiless(
            "GET",
            &format!(
                "/v1/groups/{GROUP}/actions/8106b2bb-236c-4952-a554-2baadcbd49a0?getDetails=true"
            ),
        )
        .respond(
            200,
            fixture!("ActionDetails--actiondetails-get-survey-response"),
        ),
    );
    let details = client
        .group(GROUP)
        .actions()
        .get("8106b2bb-236c-4952-a554-2baadcbd49a0", true)
        .await
        .unwrap();
    server.verify();
    assert_eq!(
        details.reference_id.as_ref().map(|r| r.as_str()),
        Some("88a93ddd-0349d-4d18-86ee-c0f8484728db")
    );
    assert_eq!(details.action_type, Some(ActionType::Survey));
    assert_eq!(details.sender.as_deref(), Some("+91960000"));
}

#[tokio::test]
async fn post_action_response() {
    let (server, client) = start().await;
    let path = format!("/v1/groups/{GROUP}/actions/f260dc09-f1f3-4305-84f6-6edbedb82fb7/responses");
    server.expect(
        api("POST", &path)
            .json(fixture!("ActionResponseRequest--action-responses-post-job"))
            .respond(
                200,
                fixture!("ActionResponseResponse--action-responses-post-response"),
            ),
    );
    // The docs' survey response says `Answers`; the contract's key is `answers`.
    let mut survey = fixture!("ActionResponseRequest--action-responses-post-survey");
    let body = survey["actionBody"].as_object_mut().unwrap();
    let answers = body.remove("Answers").unwrap();
    body.insert("answers".into(), answers);
    server.expect(
        api("POST", &path)
            .json(json!({
                "actionType": "Survey",
                "actionBody": survey["actionBody"].clone(),
                "responseId": "bbcf469e-4027-40b7-a80b-a961a48619e7"
            }))
            .respond(
                200,
                fixture!("ActionResponseResponse--action-responses-post-response"),
            ),
    );
    let actions = client.group(GROUP).actions();

    let response = actions
        .respond(
            "f260dc09-f1f3-4305-84f6-6edbedb82fb7",
            ActionResponseRequest::job(true),
        )
        .await
        .unwrap();
    assert_eq!(response.response_id, "bbcf469e-4027-40b7-a80b-a961a48619e7");

    let request = decode!(
        ActionResponseRequest,
        fixture!("ActionResponseRequest--action-responses-post-survey")
    )
    .updating("bbcf469e-4027-40b7-a80b-a961a48619e7");
    let response = actions
        .respond("f260dc09-f1f3-4305-84f6-6edbedb82fb7", request)
        .await
        .unwrap();
    assert_eq!(response.response_id, "bbcf469e-4027-40b7-a80b-a961a48619e7");
    server.verify();
}

// ------------------------------------------------------------------ reactions

const REFERENCE: &str = "4a44e62f-5142-a980-c7a48e2d92a8";
/// The group the action was sent in: `@` is percent-encoded in a query.
const SOURCE_GROUP: &str = "fc6f2802-4431-b82f-60985a515b58@1";
const SOURCE_GROUP_QUERY: &str = "fc6f2802-4431-b82f-60985a515b58%401";

#[tokio::test]
async fn post_reaction() {
    let (server, client) = start().await;
    server.expect(
        api("POST", &format!("/v1/groups/{GROUP}/reaction"))
            .json(fixture!("PostReactionRequest--reactions-post-request"))
            .respond(
                200,
                fixture!("PostReactionResponse--reactions-post-response"),
            ),
    );
    server.expect(
        api("POST", &format!("/v1/groups/{GROUP}/reaction"))
            .json(json!({"referenceId": REFERENCE, "sourceGroupId": SOURCE_GROUP, "reactionType": "Like"}))
            .respond(200, fixture!("PostReactionResponse--reactions-post-response")),
    );
    let reactions = client.group(GROUP).reactions();
    let posted = reactions
        .post(PostReactionRequest::comment(
            REFERENCE,
            "fc6f2802-4431-b82f-60985a515b58",
            "Comment-3",
        ))
        .await
        .unwrap();
    assert_eq!(posted.reaction_id, "71df-d53a-43cc-9b73-80dcc22502ab");
    reactions
        .post(PostReactionRequest::like(REFERENCE, SOURCE_GROUP))
        .await
        .unwrap();
    server.verify();
}

#[tokio::test]
async fn get_reaction_summary_for_action() {
    let (server, client) = start().await;
    server.expect(
        bodiless(
            "GET",
            &format!(
                "/v1/groups/{GROUP}/reaction/{REFERENCE}/summary?sourceGroupId={SOURCE_GROUP_QUERY}"
            ),
        )
        .respond(
            200,
            fixture!("ReactionSummaryResponse--reactions-summary-action-level"),
        ),
    );
    let summary = client
        .group(GROUP)
        .reactions()
        .summary(REFERENCE, SOURCE_GROUP)
        .await
        .unwrap();
    assert_eq!(summary.len(), 1);
    assert_eq!(summary[0].reference_id, "4a44e62e-4b42-a980-c7a48e2d92a8");
    let counts = summary[0].reactions_count_map.as_ref().unwrap();
    assert_eq!((counts.like, counts.comment), (Some(1), Some(4)));
    server.verify();
}

#[tokio::test]
async fn get_reaction_summary_for_group_follows_the_cursor() {
    let (server, client) = start().await;
    let path = format!("/v1/groups/{GROUP}/reaction/summary?sourceGroupId={SOURCE_GROUP_QUERY}");
    server.expect(bodiless("GET", &path).respond(
        200,
        fixture!("ReactionSummaryResponse--reactions-summary-group-level"),
    ));
    // The tick cursor goes back verbatim (beyond f64 precision); a page whose
    // cursor did not move is the last.
    server.expect(bodiless("GET", &format!("{path}&cursor=636674054802000000")).respond(
        200,
        json!({
            "cursor": 636674054802000000_u64,
            "summary": [{"referenceId": "third", "reactionsCountMap": {"like": 0, "comment": 1}}]
        }),
    ));
    let summary: Vec<_> = client
        .group(GROUP)
        .reactions()
        .group_summary(SOURCE_GROUP)
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<_> = summary.iter().map(|s| s.reference_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "4a44-51be-4b42-a980-c7a48e2d92a8",
            "4a44-51be-4b420-c7a48e2d92a8",
            "third"
        ]
    );
    assert_eq!(
        summary[1].reactions_count_map.as_ref().unwrap().comment,
        Some(14)
    );
    server.verify();
}

#[tokio::test]
async fn get_reaction_details_follows_the_cursor() {
    let (server, client) = start().await;
    let path = format!(
        "/v1/groups/{GROUP}/reaction/{REFERENCE}?sourceGroupId={SOURCE_GROUP_QUERY}&reactionType=Like"
    );
    server.expect(bodiless("GET", &path).respond(
        200,
        fixture!("ReactionDetailsResponse--reactions-details-response"),
    ));
    server.expect(
        bodiless("GET", &format!("{path}&cursor=636674054802000000")).respond(
            200,
            json!({"cursor": 636674054803000000_u64, "reactionDetails": []}),
        ),
    );
    let details: Vec<_> = client
        .group(GROUP)
        .reactions()
        .details(REFERENCE, SOURCE_GROUP, ReactionType::Like)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(details.len(), 2);
    assert_eq!(
        details[0].reaction_id,
        "4b2fb78b-b529-4fa1-acda-f670b491ebca"
    );
    assert_eq!(
        details[0].user_id.as_ref().unwrap(),
        "72e29591-f391-4e7b-84eb-4e228406fb9b"
    );
    assert_eq!(
        details[1]
            .last_modified_time
            .as_ref()
            .unwrap()
            .unix_millis(),
        1_529_573_313_063
    );
    server.verify();
}

// ------------------------------------------------------------------ webhooks

#[tokio::test]
async fn create_webhook() {
    let (server, client) = start().await;
    let request = fixture!("CreateWebhookRequest--webhooks-post-group-level");
    // The contract documents `{webhookId}` in a table only, with no sample.
    server.expect(api("POST", "/v1/webhook").json(request.clone()).respond(
        200,
        json!({"webhookId": "dac6fccf-f2e9-4abc-94d7-793037e99da7"}),
    ));
    server.expect(
        api("POST", "/v1/webhook")
            .json(json!({
                "objectId": "25b39b30-0806-4d17-b6a7-a39f21fa52e9",
                "objectType": "ActionPackage",
                "eventTypes": ["ActionCreated", "ActionResponse"],
                "callBackUrl": "https://example.com/kaizala",
                "callBackToken": "tokenToBeVerifiedByCallback"
            }))
            .respond(200, json!({"webhookId": "w-2"})),
    );
    let created = client
        .webhooks()
        .create(decode!(CreateWebhookRequest, request))
        .await
        .unwrap();
    assert_eq!(created.webhook_id, "dac6fccf-f2e9-4abc-94d7-793037e99da7");

    let mut request = CreateWebhookRequest::new(
        ObjectType::ActionPackage,
        "25b39b30-0806-4d17-b6a7-a39f21fa52e9",
        [EventType::ActionCreated, EventType::ActionResponse],
        "https://example.com/kaizala",
    );
    request.callback_token = Some("tokenToBeVerifiedByCallback".into());
    assert_eq!(
        client.webhooks().create(request).await.unwrap().webhook_id,
        "w-2"
    );
    server.verify();
}

#[tokio::test]
async fn list_webhooks() {
    let (server, client) = start().await;
    server.expect(
        bodiless(
            "GET",
            &format!("/v1/webhook?objectId={SOURCE_GROUP_QUERY}&objectType=Group"),
        )
        .respond(200, fixture!("WebhookList--webhooks-get-response")),
    );
    let webhooks = client
        .webhooks()
        .list(ObjectType::Group, SOURCE_GROUP)
        .await
        .unwrap();
    assert_eq!(webhooks.len(), 1);
    let webhook = &webhooks[0];
    assert_eq!(webhook.id, "dac6fccf-f2e9-4abc-94d7-793037e99da7");
    assert_eq!(
        webhook.callback_url.as_deref(),
        Some("https://requestb.in/12786un1")
    );
    assert_eq!(webhook.events.as_ref().unwrap().len(), 13);
    assert_eq!(webhook.active, Some(Flag::TRUE));
    assert_eq!(
        webhook.validity.as_ref().unwrap().unix_millis(),
        1_568_605_416_677
    );
    server.verify();
}

#[tokio::test]
async fn update_webhook() {
    let (server, client) = start().await;
    let path = "/v1/webhook/dac6fccf-f2e9-4abc-94d7-793037e99da7";
    server.expect(
        api("PUT", path)
            .json(json!({
                "eventTypes": ["SurveyResponse", "JobResponse"],
                "callBackUrl": "https://requestb.in/123",
                "callBackToken": "tokenToBeVerifiedByCallback"
            }))
            .respond(200, json!({"result": true})),
    );
    // Re-enabling: the contract sends `"active": true`, a JSON boolean.
    server.expect(
        api("PUT", path)
            .json(json!({"active": true}))
            .respond(200, json!({"result": true})),
    );
    let update = UpdateWebhookRequest {
        event_types: Some(vec![EventType::SurveyResponse, EventType::JobResponse]),
        callback_url: Some("https://requestb.in/123".into()),
        callback_token: Some("tokenToBeVerifiedByCallback".into()),
        ..Default::default()
    };
    let result = client
        .webhooks()
        .update("dac6fccf-f2e9-4abc-94d7-793037e99da7", update)
        .await
        .unwrap();
    assert_eq!(result.result, Some(Flag::TRUE));
    client
        .webhooks()
        .reactivate("dac6fccf-f2e9-4abc-94d7-793037e99da7")
        .await
        .unwrap();
    server.verify();
}

#[tokio::test]
async fn delete_webhook() {
    let (server, client) = start().await;
    server.expect(
        bodiless("DELETE", "/v1/webhook/dac6fccf-f2e9-4abc-94d7-793037e99da7")
            .respond(200, json!({"result": true})),
    );
    let result = client
        .webhooks()
        .delete("dac6fccf-f2e9-4abc-94d7-793037e99da7")
        .await
        .unwrap();
    assert_eq!(result.result.map(Flag::get), Some(true));
    server.verify();
}
