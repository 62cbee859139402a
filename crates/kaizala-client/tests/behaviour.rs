//! The client performs what the core decides: token lifecycle, relocation,
//! throttling, retries and their limits, checked against a scripted server.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use kaizala_client::{Client, MemoryTokenStore, StoreError, TokenStore};
use kaizala_core::ErrorKind;
use kaizala_core::clock::ManualClock;
use kaizala_core::retry::{RetryBudget, RetryPolicy};
use kaizala_core::session::StoredTokens;
use kaizala_core::throttle::{Budget, ThrottleConfig};
use serde_json::json;
use support::{
    APP_ID, APP_SECRET, BodyMatch, Expect, MockServer, REFRESH, client, in_secs, token_call,
};

fn groups_answer() -> serde_json::Value {
    json!({"groups": [{"groupId": "g1", "groupName": "Field team"}]})
}

#[tokio::test]
async fn the_token_is_fetched_once_and_reused() {
    let server = MockServer::start().await;
    server.expect(token_call(&server, "tok-1"));
    server.expect(
        Expect::get("/v1/groups")
            .header("accessToken", "tok-1")
            .no_header("refreshToken")
            .no_header("applicationSecret")
            .respond(200, groups_answer())
            .times(2),
    );
    let client = client(&server).build().unwrap();
    assert_eq!(
        client.groups().list().await.unwrap()[0]
            .group_name
            .as_deref(),
        Some("Field team")
    );
    client.groups().list().await.unwrap();
    server.verify();
}

#[tokio::test]
async fn the_token_is_renewed_five_minutes_before_it_expires() {
    let server = MockServer::start().await;
    let clock = Arc::new(ManualClock::new(SystemTime::now()));
    let token = |name: &str, valid_for: u64| {
        Expect::get("/v1/accessToken").respond(
            200,
            json!({"accessToken": name, "endpointUrl": server.url(), "accessTokenExpiry": in_secs(valid_for)}),
        )
    };
    server.expect(token("short-lived", 400));
    server.expect(
        Expect::get("/v1/groups")
            .header("accessToken", "short-lived")
            .respond(200, groups_answer()),
    );
    let client = client(&server).clock(clock.clone()).build().unwrap();
    client.groups().list().await.unwrap();
    server.verify();

    // 299 s left: inside the 5-minute margin, so the next call renews first.
    clock.advance(Duration::from_secs(101));
    server.expect(token("renewed", 86_400));
    server.expect(
        Expect::get("/v1/groups")
            .header("accessToken", "renewed")
            .respond(200, groups_answer()),
    );
    client.groups().list().await.unwrap();
    server.verify();
    assert_eq!(server.count("GET", "/v1/accessToken"), 2);
}

#[tokio::test]
async fn fifty_concurrent_calls_share_one_refresh() {
    let server = MockServer::start().await;
    server.expect(token_call(&server, "shared").delay(Duration::from_millis(200)));
    server.expect(
        Expect::get("/v1/groups")
            .header("accessToken", "shared")
            .respond(200, groups_answer())
            .times(50),
    );
    let client = client(&server).build().unwrap();
    let calls: Vec<_> = (0..50)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.groups().list().await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert_eq!(
        server.count("GET", "/v1/accessToken"),
        1,
        "one refresh for all fifty"
    );
    server.verify();
}

#[tokio::test]
async fn a_401_refreshes_once_and_replays() {
    let server = MockServer::start().await;
    server.expect(token_call(&server, "revoked"));
    server.expect(
        Expect::get("/v1/groups")
            .header("accessToken", "revoked")
            .respond(
                401,
                json!({"message": "token revoked", "errorCode": "InvalidToken"}),
            ),
    );
    server.expect(token_call(&server, "fresh"));
    server.expect(
        Expect::get("/v1/groups")
            .header("accessToken", "fresh")
            .respond(200, groups_answer()),
    );
    let client = client(&server).build().unwrap();
    client.groups().list().await.unwrap();
    server.verify();

    // Refused again after the refresh: the credentials are bad, no loop.
    server.expect(Expect::get("/v1/groups").respond(401, json!({"message": "still no"})));
    server.expect(token_call(&server, "fresh-2"));
    server.expect(
        Expect::get("/v1/groups")
            .header("accessToken", "fresh-2")
            .respond(401, json!({"message": "still no"})),
    );
    let err = client.groups().list().await.unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::Unauthorized {
            message: Some("still no".into())
        }
    );
    server.verify();
}

/// A store that records every save, and can be told to fail.
#[derive(Debug, Default)]
struct RecordingStore {
    saves: Mutex<Vec<StoredTokens>>,
    fail: Mutex<bool>,
}

#[async_trait]
impl TokenStore for RecordingStore {
    async fn load(&self) -> Result<Option<StoredTokens>, StoreError> {
        Ok(self.saves.lock().unwrap().last().cloned())
    }
    async fn save(&self, tokens: &StoredTokens) -> Result<(), StoreError> {
        if *self.fail.lock().unwrap() {
            return Err(StoreError::new("disk full"));
        }
        self.saves.lock().unwrap().push(tokens.clone());
        Ok(())
    }
}

#[derive(Debug, Clone)]
struct Shared(Arc<RecordingStore>);

#[async_trait]
impl TokenStore for Shared {
    async fn load(&self) -> Result<Option<StoredTokens>, StoreError> {
        self.0.load().await
    }
    async fn save(&self, tokens: &StoredTokens) -> Result<(), StoreError> {
        self.0.save(tokens).await
    }
}

fn rotating_token_call(server: &MockServer) -> Expect {
    Expect::get("/v1/accessToken").header("refreshToken", REFRESH).respond(
        200,
        json!({"accessToken": "tok", "endpointUrl": server.url(), "accessTokenExpiry": in_secs(86_400), "refreshToken": "refresh-2"}),
    )
}

#[tokio::test]
async fn a_rotated_refresh_token_is_stored_before_it_is_used() {
    let server = MockServer::start().await;
    let store = Arc::new(RecordingStore::default());
    server.expect(rotating_token_call(&server));
    server.expect(
        Expect::get("/v1/groups")
            .header("accessToken", "tok")
            .respond(200, groups_answer()),
    );
    let client = client(&server)
        .token_store(Shared(store.clone()))
        .build()
        .unwrap();
    client.groups().list().await.unwrap();
    let saved = store.saves.lock().unwrap().last().cloned().expect("saved");
    assert_eq!(saved.refresh_token.expose(), "refresh-2");
    assert_eq!(
        saved.access_token.as_ref().map(|t| t.expose().to_owned()),
        Some("tok".into())
    );

    // The next token call uses the rotated token.
    server.expect(
        Expect::get("/v1/accessToken").header("refreshToken", "refresh-2").respond(
            200,
            json!({"accessToken": "tok-2", "endpointUrl": server.url(), "accessTokenExpiry": in_secs(86_400)}),
        ),
    );
    client.auth().refresh().await.unwrap();
    server.verify();

    // A restarted client starts from the stored rotated token.
    let restarted = support::client(&server)
        .token_store(Shared(store.clone()))
        .build()
        .unwrap();
    server.expect(
        Expect::get("/v1/accessToken").header("refreshToken", "refresh-2").respond(
            200,
            json!({"accessToken": "tok-3", "endpointUrl": server.url(), "accessTokenExpiry": in_secs(86_400)}),
        ),
    );
    restarted.auth().refresh().await.unwrap();
    server.verify();
}

#[tokio::test]
async fn a_rotated_token_that_cannot_be_stored_is_never_used() {
    let server = MockServer::start().await;
    let store = Arc::new(RecordingStore::default());
    *store.fail.lock().unwrap() = true;
    server.expect(rotating_token_call(&server));
    let client = client(&server)
        .token_store(Shared(store.clone()))
        .build()
        .unwrap();
    let err = client.groups().list().await.unwrap_err();
    assert!(
        err.to_string().contains("token store failed: disk full"),
        "{err}"
    );
    // verify() fails if the client sent GET /v1/groups with the new session.
    server.verify();
}

#[tokio::test]
async fn relocations_are_followed_persisted_and_limited() {
    let server = MockServer::start().await;
    let store = Arc::new(RecordingStore::default());
    server.expect(token_call(&server, "tok"));
    server.expect(
        Expect::get("/v1/groups")
            .respond(308, json!({}))
            .respond_header("Location", &format!("{}/moved-1/", server.url())),
    );
    server.expect(
        Expect::get("/moved-1/v1/groups")
            .respond(308, json!({}))
            .respond_header(
                "Location",
                &format!("{}/MOVED-2", server.url().to_uppercase()),
            ),
    );
    server.expect(
        Expect::get("/MOVED-2/v1/groups")
            .header("accessToken", "tok")
            .respond(200, groups_answer()),
    );
    let client = client(&server)
        .token_store(Shared(store.clone()))
        .build()
        .unwrap();
    client.groups().list().await.unwrap();
    server.verify();
    let endpoint = format!("{}/MOVED-2", server.url());
    assert_eq!(
        client.session().unwrap().endpoint_url,
        endpoint,
        "host lower-cased, path kept"
    );
    assert_eq!(
        store
            .saves
            .lock()
            .unwrap()
            .last()
            .unwrap()
            .endpoint_url
            .as_deref(),
        Some(endpoint.as_str())
    );

    // A chain longer than three hops is given up on.
    for hop in 0..4 {
        let from = if hop == 0 {
            "/MOVED-2".to_owned()
        } else {
            format!("/loop-{hop}")
        };
        server.expect(
            Expect::get(&format!("{from}/v1/groups"))
                .respond(308, json!({}))
                .respond_header("Location", &format!("{}/loop-{}", server.url(), hop + 1)),
        );
    }
    let err = client.groups().list().await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::TooManyRedirects { hops: 4 });
    server.verify();
}

#[tokio::test]
async fn a_429_is_waited_out_in_both_retry_after_forms() {
    let server = MockServer::start().await;
    server.expect(token_call(&server, "tok"));
    server.expect(
        Expect::post("/v1/groups/g1/messages")
            .json(json!({"message": "hi"}))
            .respond(429, json!({}))
            .respond_header("Retry-After", "1"),
    );
    // HTTP dates have whole seconds: 3 s ahead is at least 2 s ahead.
    let in_two_seconds = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(3));
    server.expect(
        Expect::post("/v1/groups/g1/messages")
            .json(json!({"message": "hi"}))
            .respond(429, json!({}))
            .respond_header("Retry-After", &in_two_seconds),
    );
    server.expect(
        Expect::post("/v1/groups/g1/messages")
            .json(json!({"message": "hi"}))
            .respond(200, json!({"referenceId": "r1"})),
    );
    let client = client(&server).build().unwrap();
    let started = Instant::now();
    let sent = client.group("g1").messages().send("hi").await.unwrap();
    assert_eq!(sent.reference_id, "r1");
    // Waited at least what the server asked: 1 s, then until the date (≥ 1 s more).
    assert!(
        started.elapsed() >= Duration::from_millis(1900),
        "{:?}",
        started.elapsed()
    );
    server.verify();
}

#[tokio::test]
async fn a_post_is_not_retried_after_a_server_error_but_a_get_is() {
    let server = MockServer::start().await;
    server.expect(token_call(&server, "tok"));
    server.expect(
        Expect::post("/v1/groups/g1/messages")
            .json(json!({"message": "hi"}))
            .respond(503, json!({"message": "busy"})),
    );
    let client = client(&server).build().unwrap();
    let err = client.group("g1").messages().send("hi").await.unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::Api {
            status: 503,
            message: Some("busy".into()),
            code: None
        }
    );
    assert!(err.is_retryable(), "the caller may decide to retry");
    server.verify();

    server.expect(Expect::get("/v1/groups").respond(502, json!({})).times(2));
    server.expect(Expect::get("/v1/groups").respond(200, groups_answer()));
    client.groups().list().await.unwrap();
    server.verify();

    // Opting in retries the POST too.
    server.expect(
        Expect::post("/v1/groups/g1/messages")
            .json(json!({"message": "hi"}))
            .respond(503, json!({})),
    );
    server.expect(
        Expect::post("/v1/groups/g1/messages")
            .json(json!({"message": "hi"}))
            .respond(200, json!({"referenceId": "r2"})),
    );
    client
        .retrying_unsafe(true)
        .group("g1")
        .messages()
        .send("hi")
        .await
        .unwrap();
    server.verify();
}

#[tokio::test]
async fn an_exhausted_retry_budget_fails_fast() {
    let server = MockServer::start().await;
    server.expect(token_call(&server, "tok"));
    // Budget for exactly one retry (cost 5).
    let client = client(&server)
        .retry_budget(RetryBudget::new(5))
        .build()
        .unwrap();
    server.expect(Expect::get("/v1/groups").respond(500, json!({})).times(3));
    let err = client.groups().list().await.unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert_eq!(
        server.count("GET", "/v1/groups"),
        2,
        "first attempt + the one retry the budget allowed"
    );
    let err = client.groups().list().await.unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert_eq!(server.count("GET", "/v1/groups"), 3, "no retry left");
    server.verify();
}

#[tokio::test]
async fn timeouts_and_refused_connections_are_typed() {
    let server = MockServer::start().await;
    server.expect(token_call(&server, "tok"));
    server.expect(
        Expect::post("/v1/groups/g1/messages")
            .json(json!({"message": "hi"}))
            .respond(200, json!({"referenceId": "late"}))
            .delay(Duration::from_millis(500)),
    );
    let client = client(&server)
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let err = client.group("g1").messages().send("hi").await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Timeout);
    assert_eq!(
        server.count("POST", "/v1/groups/g1/messages"),
        1,
        "a POST is not replayed after a timeout"
    );

    // Nothing listens on a port we just released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let nowhere = Client::builder()
        .credentials(kaizala_core::session::Credentials::new(
            APP_ID, APP_SECRET, REFRESH,
        ))
        .base_url(&format!("http://127.0.0.1:{port}/v1"))
        .retry_policy(RetryPolicy {
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
            ..Default::default()
        })
        .build()
        .unwrap();
    let err = nowhere.groups().list().await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Transport);
    assert!(
        err.to_string()
            .starts_with("could not reach the Kaizala API"),
        "{err}"
    );
}

#[tokio::test]
async fn a_403_names_the_scope_the_token_lacks() {
    let server = MockServer::start().await;
    server.expect(Expect::get("/v1/accessToken").respond(
        200,
        json!({"accessToken": "tok", "endpointUrl": server.url(), "accessTokenExpiry": in_secs(86_400), "scope": "groupinfo.read"}),
    ));
    server.expect(
        Expect::post("/v1/webhook")
            .body(BodyMatch::Any)
            .respond(403, json!({"message": "Forbidden"})),
    );
    let client = client(&server).build().unwrap();
    let request = kaizala_types::webhooks::CreateWebhookRequest::new(
        kaizala_types::event::ObjectType::Group,
        "g1",
        [kaizala_types::event::EventType::SurveyResponse],
        "https://example.com/hook",
    );
    let err = client.webhooks().create(request).await.unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::Forbidden {
            missing_scope: Some("webhook.write".into()),
            message: Some("Forbidden".into())
        }
    );
    server.verify();
}

#[tokio::test]
async fn the_clients_own_budget_paces_calls_without_a_429() {
    let server = MockServer::start().await;
    server.expect(token_call(&server, "tok"));
    server.expect(
        Expect::get("/v1/groups")
            .respond(200, groups_answer())
            .times(3),
    );
    let budget = Budget {
        calls: 2,
        per: Duration::from_millis(600),
    };
    let client = client(&server)
        .throttle(ThrottleConfig {
            connector: budget,
            tenant: Budget::per_minute(300),
        })
        .build()
        .unwrap();
    let started = Instant::now();
    for _ in 0..3 {
        client.groups().list().await.unwrap();
    }
    assert!(
        started.elapsed() >= Duration::from_millis(550),
        "the third call waited for the window: {:?}",
        started.elapsed()
    );
    server.verify();
}

#[tokio::test]
async fn a_remaining_header_of_zero_holds_the_next_call() {
    let server = MockServer::start().await;
    server.expect(token_call(&server, "tok"));
    let reset = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 2;
    server.expect(
        Expect::get("/v1/groups")
            .respond(200, groups_answer())
            .respond_header("X-RateLimit-Limit", "100")
            .respond_header("X-RateLimit-Remaining", "0")
            .respond_header("X-RateLimit-Reset", &reset.to_string()),
    );
    server.expect(Expect::get("/v1/groups").respond(200, groups_answer()));
    let client = client(&server).build().unwrap();
    client.groups().list().await.unwrap();
    let started = Instant::now();
    client.groups().list().await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "held until the reset: {:?}",
        started.elapsed()
    );
    server.verify();
}

#[tokio::test]
async fn secrets_never_show_in_debug_output() {
    let client = Client::builder()
        .credentials(kaizala_core::session::Credentials::new(
            APP_ID,
            "s3cr3t-value",
            "r3fr3sh-value",
        ))
        .token_store(MemoryTokenStore::new())
        .build()
        .unwrap();
    let shown = format!("{client:?}");
    assert!(
        !shown.contains("s3cr3t-value") && !shown.contains("r3fr3sh-value"),
        "{shown}"
    );
}
