//! The protocol's own cost per call, without any IO: [`Endpoint::build`] of
//! a representative request (the HTTP request with its URL, headers and
//! encoded body) plus [`Endpoint::parse`] of the documented answer (status
//! check and typed decode), for three calls:
//!
//! - `send_message`: `POST /groups/{groupId}/messages` with the messages.md
//!   sample body, answered with its `referenceId`;
//! - `create_action_survey`: `POST /groups/{groupId}/actions` with the
//!   actions_post.md survey (seven questions), answered with its ids;
//! - `list_actions`: `GET /groups/{groupId}/actions?actionType=Survey&fromDate=…&count=…`,
//!   answered with the actions_get.md survey list.
//!
//! One element is one call (build + parse). Run with `cargo xtask bench`,
//! which prints the table; or `cargo bench -p kaizala-core --bench build_parse`.

use std::hint::black_box;
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kaizala_core::endpoint::{Endpoint, RequestContext};
use kaizala_core::ops::actions::{CreateAction, ListActions};
use kaizala_core::ops::messages::SendMessage;
use kaizala_core::session::{Hosts, Session};
use kaizala_types::actions::{ActionType, CreateActionRequest};
use kaizala_types::messages::SendMessageRequest;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            "../../kaizala-types/tests/fixtures/",
            $name,
            ".json"
        ))
    };
}

const GROUP: &str = "853654b2-5874-462d-b709-0c4e43a7083f@1";

fn session() -> Session {
    Session {
        access_token: "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.access-token-of-a-realistic-length"
            .into(),
        expires_at: UNIX_EPOCH + Duration::from_secs(2_000_000_000),
        endpoint_url: "https://inc-000.kaizalamessaging.osi.office.net".into(),
        scope: Default::default(),
    }
}

/// A 200 answer carrying `body`, as a transport hands it over.
fn answer(body: &'static str) -> http::Response<Bytes> {
    http::Response::builder()
        .status(200)
        .header("content-type", "application/json; charset=utf-8")
        .body(Bytes::from_static(body.as_bytes()))
        .expect("a valid response")
}

/// Builds the request of `call`, then parses `body` as its answer.
fn round<E: Endpoint>(call: &E, context: &RequestContext<'_>, body: &'static str) -> E::Response {
    let request = call.build(context).expect("the request builds");
    black_box(request);
    E::parse(answer(body)).expect("the answer parses")
}

fn build_parse(c: &mut Criterion) {
    let hosts = Hosts::default();
    let session = session();
    let context = RequestContext {
        hosts: &hosts,
        session: Some(&session),
        credentials: None,
    };

    let send_message = SendMessage {
        group_id: GROUP.into(),
        request: kaizala_types::from_str::<SendMessageRequest>(fixture!(
            "SendMessageRequest--messages-post-request"
        ))
        .expect("the sample decodes"),
    };
    let create_survey = CreateAction {
        group_id: GROUP.into(),
        request: kaizala_types::from_str::<CreateActionRequest>(fixture!(
            "CreateActionRequest--actions-post-survey"
        ))
        .expect("the sample decodes"),
    };
    let list_actions = ListActions {
        group_id: GROUP.into(),
        action_type: ActionType::Survey,
        from_date: Some(1_480_931_759_000),
        count: Some(30),
    };
    let send_answer = fixture!("SendMessageResponse--messages-post-response");
    let create_answer = fixture!("CreateActionResponse--actions-post-response");
    let list_answer = fixture!("ActionList--actions-get-survey");

    // Each call does what the benchmark claims before it is timed.
    assert_eq!(
        round(&send_message, &context, send_answer).reference_id,
        "853654b2-5874-462d-b709-0c4e43a7083f"
    );
    assert!(
        round(&create_survey, &context, create_answer)
            .action_id
            .is_some()
    );
    assert_eq!(round(&list_actions, &context, list_answer).actions.len(), 1);

    let mut group = c.benchmark_group("build_parse");
    group.throughput(Throughput::Elements(1));
    group.bench_function("send_message", |b| {
        b.iter(|| round(black_box(&send_message), &context, send_answer))
    });
    group.bench_function("create_action_survey", |b| {
        b.iter(|| round(black_box(&create_survey), &context, create_answer))
    });
    group.bench_function("list_actions", |b| {
        b.iter(|| round(black_box(&list_actions), &context, list_answer))
    });
    group.finish();
}

criterion_group!(benches, build_parse);
criterion_main!(benches);
