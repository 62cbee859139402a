//! The receiver against what the network can send it: the validation
//! handshake's odd tokens, every way of presenting a wrong callback token,
//! bodies that are empty, at and over the limit, not UTF-8, absurdly deep,
//! framed with a false `Content-Length`, or sent a byte a second; duplicates
//! at once; stores that fail; and requests for anything else.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use kaizala_types::event::{EventData, EventType};
use kaizala_webhook::store::{IncomingEvent, QuarantinedBody, StoreError, Stored};
use kaizala_webhook::{EventStore, MemoryEventStore, Receiver};
use serde_json::json;
use support::{
    Conn, PATIENCE, Reply, TOKEN, chunked, config, event, get, post, post_event, request,
    roundtrip, start, start_with_store, text_event, within,
};

/// Nothing stored, nothing quarantined, nothing counted.
#[track_caller]
fn assert_untouched(receiver: &Receiver<MemoryEventStore>) {
    assert!(receiver.store().is_empty());
    assert!(receiver.store().quarantined().is_empty());
    let metrics = receiver.metrics().snapshot();
    assert_eq!(
        (
            metrics.received,
            metrics.auth_failed,
            metrics.stored,
            metrics.duplicate,
            metrics.quarantined,
            metrics.acks()
        ),
        (0, 0, 0, 0, 0, 0),
        "{metrics:?}"
    );
}

// ---------------------------------------------------------------------
// The validation handshake
// ---------------------------------------------------------------------

#[tokio::test]
async fn validation_echoes_the_form_decoded_token_as_plain_text() {
    let receiver = start(config()).await;
    for (query, token) in [
        ("plain-token", "plain-token"),
        // Form decoding: a bare `+` is a space, `%2B` a plus.
        ("a+b", "a b"),
        ("a%2Bb", "a+b"),
        ("a+%2B+b", "a + b"),
        ("with%20spaces%20", "with spaces "),
        (
            "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
            "<script>alert(1)</script>",
        ),
        ("%E2%9C%93", "✓"),
    ] {
        let reply = roundtrip(
            receiver.local_addr(),
            &get(&format!("/?validationToken={query}")),
        )
        .await;
        // Exactly the token, as text/plain with nosniff, so a browser never
        // renders an echoed `<script>`.
        reply.assert_text(200, token);
    }
    // No callback token is needed (the platform sends none with it), and
    // one that is sent, right or wrong, changes nothing.
    for token in [TOKEN, "wrong"] {
        let reply = roundtrip(
            receiver.local_addr(),
            &request(
                "GET",
                "/?validationToken=abc",
                &[("kz-callback-token", token)],
                b"",
            ),
        )
        .await;
        reply.assert_text(200, "abc");
    }
    assert_untouched(&receiver);
    receiver.shutdown().await;
}

#[tokio::test]
async fn validation_tokens_are_bounded_at_4096_decoded_bytes() {
    let receiver = start(config()).await;
    let addr = receiver.local_addr();

    let longest = "x".repeat(4096);
    let reply = roundtrip(addr, &get(&format!("/?validationToken={longest}"))).await;
    reply.assert_text(200, &longest);

    // The bound is on the decoded token: 4096 `%41`s are 4096 bytes.
    let encoded = "%41".repeat(4096);
    let reply = roundtrip(addr, &get(&format!("/?validationToken={encoded}"))).await;
    reply.assert_text(200, &"A".repeat(4096));

    let reply = roundtrip(addr, &get(&format!("/?validationToken={longest}x"))).await;
    reply.assert_text(
        400,
        "the validationToken parameter is 4097 bytes long (at most 4096)",
    );
    let reply = roundtrip(addr, &get(&format!("/?validationToken={encoded}%41"))).await;
    reply.assert_text(
        400,
        "the validationToken parameter is 4097 bytes long (at most 4096)",
    );
    assert_untouched(&receiver);
    receiver.shutdown().await;
}

#[tokio::test]
async fn validation_without_a_token_is_a_400() {
    let receiver = start(config()).await;
    let addr = receiver.local_addr();
    for (target, message) in [
        ("/", "the request has no validationToken parameter"),
        ("/?", "the request has no validationToken parameter"),
        ("/?token=x", "the request has no validationToken parameter"),
        (
            "/?validationToken=",
            "the validationToken parameter is empty",
        ),
        (
            "/?validationToken",
            "the validationToken parameter is empty",
        ),
        (
            "/?validationToken=a&validationToken=b",
            "the request has more than one validationToken parameter",
        ),
        (
            "/?validationToken=%FF",
            "the validationToken parameter does not decode to UTF-8 text",
        ),
    ] {
        let reply = roundtrip(addr, &get(target)).await;
        reply.assert_text(400, message);
    }
    assert_untouched(&receiver);
    receiver.shutdown().await;
}

// ---------------------------------------------------------------------
// Authentication
// ---------------------------------------------------------------------

#[tokio::test]
async fn every_wrong_callback_token_gets_the_same_401() {
    let receiver = start(config()).await;
    let addr = receiver.local_addr();
    let body = text_event("e-auth", "hello");

    let mut last_byte_changed = TOKEN.to_owned();
    last_byte_changed.pop();
    last_byte_changed.push('X');
    let one_shorter = &TOKEN[..TOKEN.len() - 1];
    let one_longer = format!("{TOKEN}n");
    // 64 KiB starting with the right token: under hyper's 400 KiB head
    // buffer, so it reaches the service.
    let very_long = format!("{TOKEN}{}", "n".repeat(64 * 1024 - TOKEN.len()));
    let other_case = TOKEN.to_uppercase();
    let cases = [
        ("missing", None),
        ("empty", Some("")),
        ("last byte changed", Some(last_byte_changed.as_str())),
        ("one byte shorter", Some(one_shorter)),
        ("one byte longer", Some(one_longer.as_str())),
        ("64 KiB", Some(very_long.as_str())),
        ("other case", Some(other_case.as_str())),
    ];
    let mut first: Option<Reply> = None;
    for (what, token) in cases {
        let reply = roundtrip(addr, &post(token, &body)).await;
        reply.assert_text(401, "unauthorized");
        match &first {
            None => first = Some(reply),
            Some(first) => {
                assert_eq!(
                    reply.headers_without_date(),
                    first.headers_without_date(),
                    "{what}"
                );
                assert_eq!(reply.body, first.body, "{what}");
            }
        }
    }
    let metrics = receiver.metrics().snapshot();
    assert_eq!(metrics.received, cases.len() as u64);
    assert_eq!(metrics.auth_failed, cases.len() as u64);
    assert_eq!((metrics.stored, metrics.quarantined), (0, 0));
    assert!(receiver.store().is_empty());
    assert!(receiver.store().quarantined().is_empty());

    // And the right one is let in.
    post_event(addr, &body).await.assert_ack();
    assert_eq!(receiver.store().len(), 1);
    assert_eq!(
        receiver.metrics().snapshot().auth_failed,
        cases.len() as u64
    );
    receiver.shutdown().await;
}

#[tokio::test]
async fn a_token_header_too_large_for_hyper_is_refused_and_the_server_goes_on() {
    let receiver = start(config()).await;
    let addr = receiver.local_addr();
    // 512 KiB: beyond hyper's 400 KiB head buffer, refused before the
    // service sees it.
    let huge = format!("{TOKEN}{}", "n".repeat(512 * 1024));
    let mut conn = Conn::open(addr).await;
    // The server may stop reading (and close) before all of it is sent.
    let _ = conn
        .try_send(&post(Some(&huge), &text_event("e-huge", "x")))
        .await;
    // An answer is a 431; closed or reset without one is not a 2xx either.
    if let Ok(Some(reply)) = conn.try_response().await {
        assert_eq!(reply.status, 431, "{reply:?}");
    }
    // Never reached the service, and the server is fine.
    assert_untouched(&receiver);
    post_event(addr, &text_event("e-after", "x"))
        .await
        .assert_ack();
    assert_eq!(receiver.store().len(), 1);
    receiver.shutdown().await;
}

#[tokio::test]
async fn both_tokens_are_accepted_during_a_rotation() {
    let config = config().next_callback_token("the-next-token").unwrap();
    let receiver = start(config).await;
    let addr = receiver.local_addr();
    roundtrip(addr, &post(Some(TOKEN), &text_event("e-old", "a")))
        .await
        .assert_ack();
    roundtrip(
        addr,
        &post(Some("the-next-token"), &text_event("e-new", "b")),
    )
    .await
    .assert_ack();
    for wrong in ["the-next-toke", "the-next-tokenn", "s3cret-callback-toke"] {
        roundtrip(addr, &post(Some(wrong), &text_event("e-wrong", "c")))
            .await
            .assert_text(401, "unauthorized");
    }
    let ids: Vec<String> = receiver
        .store()
        .events()
        .iter()
        .map(|e| e.event_id().to_owned())
        .collect();
    assert_eq!(ids, ["e-old", "e-new"]);
    let metrics = receiver.metrics().snapshot();
    assert_eq!((metrics.stored, metrics.auth_failed), (2, 3));
    receiver.shutdown().await;
}

#[tokio::test]
async fn a_wrong_context_gets_the_same_401_as_a_wrong_token() {
    let receiver = start(config().expect_context("tenant-42")).await;
    let addr = receiver.local_addr();
    let with_context = |id: &str, context: Option<&str>| {
        let mut body = json!({"eventId": id, "eventType": "MemberAdded", "data": {}});
        if let Some(context) = context {
            body["context"] = json!(context);
        }
        serde_json::to_vec(&body).unwrap()
    };

    let wrong_token = roundtrip(addr, &post(Some("nope"), &with_context("e0", None))).await;
    wrong_token.assert_text(401, "unauthorized");
    for (id, context) in [
        ("e1", Some("tenant-7")),
        ("e2", None),
        ("e3", Some("tenant-42 ")),
        ("e4", Some("")),
    ] {
        let reply = post_event(addr, &with_context(id, context)).await;
        reply.assert_text(401, "unauthorized");
        assert_eq!(
            reply.headers_without_date(),
            wrong_token.headers_without_date(),
            "{context:?}"
        );
    }
    post_event(addr, &with_context("e5", Some("tenant-42")))
        .await
        .assert_ack();

    let ids: Vec<String> = receiver
        .store()
        .events()
        .iter()
        .map(|e| e.event_id().to_owned())
        .collect();
    assert_eq!(ids, ["e5"]);
    assert!(receiver.store().quarantined().is_empty());
    let metrics = receiver.metrics().snapshot();
    assert_eq!(
        (metrics.received, metrics.auth_failed, metrics.stored),
        (6, 5, 1)
    );
    receiver.shutdown().await;
}

// ---------------------------------------------------------------------
// Bodies
// ---------------------------------------------------------------------

#[tokio::test]
async fn an_empty_body_is_quarantined_and_acknowledged() {
    let receiver = start(config()).await;
    post_event(receiver.local_addr(), b"").await.assert_ack();
    let quarantined = receiver.store().quarantined();
    assert_eq!(quarantined.len(), 1);
    assert_eq!(quarantined[0].body, b"".as_slice());
    assert_eq!(quarantined[0].reason_code, "empty");
    assert_eq!(quarantined[0].reason, "empty body");
    assert!(receiver.store().is_empty());
    let metrics = receiver.metrics().snapshot();
    assert_eq!((metrics.quarantined, metrics.stored), (1, 0));
    receiver.shutdown().await;
}

/// A valid event padded with (JSON) whitespace to exactly `len` bytes.
fn padded_event(event_id: &str, len: usize) -> Vec<u8> {
    let mut body = text_event(event_id, "padded");
    assert!(body.len() <= len);
    body.resize(len, b' ');
    body
}

const CAP: usize = 1024;

#[tokio::test]
async fn a_body_of_exactly_the_limit_is_accepted() {
    let receiver = start(config().body_limit(CAP)).await;
    let addr = receiver.local_addr();

    let body = padded_event("e-cap", CAP);
    post_event(addr, &body).await.assert_ack();

    // Chunked, in uneven pieces, it is the same body.
    let body2 = padded_event("e-cap-chunked", CAP);
    let framed = chunked(&[&body2[..100], &body2[100..1000], &body2[1000..]]);
    let reply = roundtrip(
        addr,
        &request(
            "POST",
            "/",
            &[
                ("kz-callback-token", TOKEN),
                ("transfer-encoding", "chunked"),
            ],
            &framed,
        ),
    )
    .await;
    reply.assert_ack();

    let stored = receiver.store().get("e-cap").unwrap();
    assert_eq!(stored.body, body);
    let stored = receiver.store().get("e-cap-chunked").unwrap();
    assert_eq!(stored.body, body2);
    assert_eq!(receiver.metrics().snapshot().stored, 2);
    receiver.shutdown().await;
}

#[tokio::test]
async fn a_declared_length_over_the_limit_is_refused_before_the_body_is_sent() {
    // A long read timeout: waiting for the body would show as a hang.
    let receiver = start(
        config()
            .body_limit(CAP)
            .read_timeout(Duration::from_secs(60)),
    )
    .await;
    let mut conn = Conn::open(receiver.local_addr()).await;
    // The head only: the 1025 bytes it announces never come.
    conn.send(&request(
        "POST",
        "/",
        &[
            ("kz-callback-token", TOKEN),
            ("content-length", &(CAP + 1).to_string()),
        ],
        b"",
    ))
    .await;
    let reply = conn.response().await;
    reply.assert_text(413, "the body is larger than 1024 bytes");
    assert_eq!(reply.header("connection"), Some("close"));
    // The server closes rather than read (or misread) the rest.
    assert_eq!(within("close", conn.until_closed()).await.unwrap(), b"");

    // Sent in full, it gets the same answer.
    let reply = post_event(receiver.local_addr(), &padded_event("e-big", CAP + 1)).await;
    reply.assert_text(413, "the body is larger than 1024 bytes");

    assert!(receiver.store().is_empty());
    assert!(receiver.store().quarantined().is_empty());
    let metrics = receiver.metrics().snapshot();
    assert_eq!(
        (metrics.received, metrics.stored, metrics.quarantined),
        (2, 0, 0)
    );
    receiver.shutdown().await;
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_refused() {
    let receiver = start(config().body_limit(CAP)).await;
    let addr = receiver.local_addr();
    let body = padded_event("e-big", CAP + 1);
    for framed in [
        chunked(&[&body]),
        chunked(&[&body[..CAP], &body[CAP..]]),
        chunked(&[&body[..300], &body[300..700], &body[700..]]),
    ] {
        let reply = roundtrip(
            addr,
            &request(
                "POST",
                "/",
                &[
                    ("kz-callback-token", TOKEN),
                    ("transfer-encoding", "chunked"),
                ],
                &framed,
            ),
        )
        .await;
        reply.assert_text(413, "the body is larger than 1024 bytes");
        assert_eq!(reply.header("connection"), Some("close"));
    }
    assert!(receiver.store().is_empty());
    assert!(receiver.store().quarantined().is_empty());
    receiver.shutdown().await;
}

#[tokio::test]
async fn bodies_that_are_not_utf8_are_quarantined_byte_for_byte() {
    let receiver = start(config()).await;
    let addr = receiver.local_addr();
    let bodies: [&[u8]; 3] = [
        b"{\"eventId\": \"e-\xff\", \"eventType\": \"TextMessageCreated\"}",
        b"\xff\xfe\x00\x80 binary \xc3\x28",
        b"{\"eventId\": \"e-1\", \"eventType\": \"X\", \"data\": {\"text\": \"\xed\xa0\x80\"}}",
    ];
    for body in bodies {
        post_event(addr, body).await.assert_ack();
    }
    let quarantined = receiver.store().quarantined();
    assert_eq!(quarantined.len(), bodies.len());
    for (kept, sent) in quarantined.iter().zip(bodies) {
        assert_eq!(kept.body, sent);
        assert_eq!(kept.reason_code, "not_json", "{}", kept.reason);
    }
    assert!(receiver.store().is_empty());
    let metrics = receiver.metrics().snapshot();
    assert_eq!((metrics.quarantined, metrics.stored), (3, 0));
    receiver.shutdown().await;
}

#[tokio::test]
async fn json_nested_10000_deep_is_quarantined_and_the_server_goes_on() {
    let receiver = start(config()).await;
    let addr = receiver.local_addr();

    let arrays = "[".repeat(10_000) + &"]".repeat(10_000);
    post_event(addr, arrays.as_bytes()).await.assert_ack();
    // Inside an otherwise valid event.
    let in_event = format!(
        r#"{{"eventId": "e-deep", "eventType": "TextMessageCreated", "data": {}1{}}}"#,
        r#"{"a": "#.repeat(10_000),
        "}".repeat(10_000)
    );
    post_event(addr, in_event.as_bytes()).await.assert_ack();

    let quarantined = receiver.store().quarantined();
    assert_eq!(quarantined.len(), 2);
    assert_eq!(quarantined[0].body, arrays.as_bytes());
    assert_eq!(quarantined[1].body, in_event.as_bytes());
    for kept in &quarantined {
        assert_eq!(kept.reason_code, "too_deep");
        assert_eq!(kept.reason, "JSON nested deeper than 64 levels");
    }
    assert!(receiver.store().get("e-deep").is_none());

    // Still serving.
    post_event(addr, &text_event("e-after", "fine"))
        .await
        .assert_ack();
    roundtrip(addr, &get("/?validationToken=ok"))
        .await
        .assert_text(200, "ok");
    assert!(receiver.store().get("e-after").is_some());
    receiver.shutdown().await;
}

#[tokio::test]
async fn a_body_shorter_than_declared_times_out_with_408() {
    let timeout = Duration::from_millis(300);
    let receiver = start(config().read_timeout(timeout)).await;
    let mut conn = Conn::open(receiver.local_addr()).await;
    let body = text_event("e-stall", "never finished");
    let started = Instant::now();
    conn.send(&request(
        "POST",
        "/",
        &[
            ("kz-callback-token", TOKEN),
            ("content-length", &(body.len() + 100).to_string()),
        ],
        &body,
    ))
    .await;
    // ...and then nothing.
    let reply = conn.response().await;
    let waited = started.elapsed();
    reply.assert_text(408, "the body did not arrive in time");
    assert_eq!(reply.header("connection"), Some("close"));
    assert!(waited >= timeout, "answered after {waited:?}");
    assert_eq!(within("close", conn.until_closed()).await.unwrap(), b"");

    assert!(receiver.store().is_empty());
    assert!(receiver.store().quarantined().is_empty());
    assert_eq!(receiver.metrics().snapshot().acks(), 0);
    receiver.shutdown().await;
}

#[tokio::test]
async fn a_body_cut_short_by_the_sender_closing_is_a_400() {
    let receiver = start(config().read_timeout(Duration::from_secs(60))).await;
    let mut conn = Conn::open(receiver.local_addr()).await;
    let body = text_event("e-cut", "cut short");
    conn.send(&request(
        "POST",
        "/",
        &[
            ("kz-callback-token", TOKEN),
            ("content-length", &(body.len() + 100).to_string()),
        ],
        &body,
    ))
    .await;
    conn.finish_sending().await;
    let reply = conn.response().await;
    reply.assert_text(400, "the body could not be read");
    assert_eq!(reply.header("connection"), Some("close"));

    assert!(receiver.store().is_empty());
    assert!(receiver.store().quarantined().is_empty());
    // Still serving.
    roundtrip(receiver.local_addr(), &get("/?validationToken=ok"))
        .await
        .assert_text(200, "ok");
    receiver.shutdown().await;
}

#[tokio::test]
async fn a_body_longer_than_declared_is_read_as_declared() {
    let receiver = start(config()).await;
    let addr = receiver.local_addr();
    let body = text_event("e-short", "exactly this");
    let mut bytes = request(
        "POST",
        "/",
        &[
            ("kz-callback-token", TOKEN),
            ("content-length", &body.len().to_string()),
        ],
        &body,
    );
    // What follows the declared length is the next request on the
    // connection, here not one at all.
    bytes.extend_from_slice(b"{\"more\": true}\r\n\r\n");
    let mut conn = Conn::open(addr).await;
    conn.send(&bytes).await;
    conn.response().await.assert_ack();
    let next = conn.response().await;
    assert_eq!(next.status, 400, "{next:?}");
    assert_eq!(within("close", conn.until_closed()).await.unwrap(), b"");

    let stored = receiver.store().get("e-short").unwrap();
    assert_eq!(stored.body, body);
    assert!(receiver.store().quarantined().is_empty());
    let metrics = receiver.metrics().snapshot();
    assert_eq!((metrics.received, metrics.stored), (1, 1));

    // Other connections are served as ever.
    post_event(addr, &text_event("e-next", "next"))
        .await
        .assert_ack();
    roundtrip(addr, &get("/?validationToken=ok"))
        .await
        .assert_text(200, "ok");
    assert_eq!(receiver.store().len(), 2);
    receiver.shutdown().await;
}

/// The slow-sender tests' read timeout, and their pace: a byte a second.
const SLOW_TIMEOUT: Duration = Duration::from_millis(1500);
const BYTE_INTERVAL: Duration = Duration::from_secs(1);

/// Requests on other connections, each answered while `slow` is still
/// waiting for its timeout.
async fn served_meanwhile(
    receiver: &Receiver<MemoryEventStore>,
    slow: &tokio::task::JoinHandle<()>,
) {
    let addr = receiver.local_addr();
    for n in 0..5 {
        roundtrip(addr, &get(&format!("/?validationToken=t{n}")))
            .await
            .assert_text(200, &format!("t{n}"));
    }
    post_event(addr, &text_event("e-meanwhile", "quick"))
        .await
        .assert_ack();
    assert!(
        !slow.is_finished(),
        "the slow request was settled before the quick ones were served"
    );
}

#[tokio::test]
async fn headers_sent_a_byte_a_second_are_cut_off_at_the_read_timeout() {
    let receiver = start(config().read_timeout(SLOW_TIMEOUT)).await;
    let request = post(Some(TOKEN), &text_event("e-slow-head", "slow"));
    let mut conn = Conn::open(receiver.local_addr()).await;
    let slow = tokio::spawn(async move {
        let started = Instant::now();
        let sent = conn.trickle(&request, BYTE_INTERVAL).await;
        let waited = started.elapsed();
        match sent {
            Ok(sent) => {
                assert!(sent < request.len(), "the whole request was trickled in");
                // Closed without an answer.
                assert_eq!(conn.until_closed().await.unwrap(), b"");
            }
            Err(err) => assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset),
        }
        assert!(waited >= SLOW_TIMEOUT, "cut off after {waited:?}");
        assert!(waited < SLOW_TIMEOUT + PATIENCE, "cut off after {waited:?}");
    });
    served_meanwhile(&receiver, &slow).await;
    within("the slow sender", slow).await.unwrap();

    assert!(receiver.store().get("e-slow-head").is_none());
    assert_eq!(receiver.store().len(), 1);
    receiver.shutdown().await;
}

#[tokio::test]
async fn a_body_sent_a_byte_a_second_gets_408_at_the_read_timeout() {
    let receiver = start(config().read_timeout(SLOW_TIMEOUT)).await;
    let body = text_event("e-slow-body", "slow");
    let mut conn = Conn::open(receiver.local_addr()).await;
    let slow = tokio::spawn(async move {
        conn.send(&request(
            "POST",
            "/",
            &[
                ("kz-callback-token", TOKEN),
                ("content-length", &body.len().to_string()),
            ],
            b"",
        ))
        .await;
        let started = Instant::now();
        let sent = conn.trickle(&body, BYTE_INTERVAL).await.unwrap();
        assert!(sent < body.len(), "the whole body was trickled in");
        let reply = conn.response().await;
        let waited = started.elapsed();
        reply.assert_text(408, "the body did not arrive in time");
        assert_eq!(reply.header("connection"), Some("close"));
        assert!(waited >= SLOW_TIMEOUT, "answered after {waited:?}");
    });
    served_meanwhile(&receiver, &slow).await;
    within("the slow sender", slow).await.unwrap();

    assert!(receiver.store().get("e-slow-body").is_none());
    assert_eq!(receiver.store().len(), 1);
    assert!(receiver.store().quarantined().is_empty());
    receiver.shutdown().await;
}

#[tokio::test]
async fn unknown_event_types_are_stored_as_they_came() {
    let receiver = start(config()).await;
    let body = event("e-sticker", "StickerSent", json!({"id": 7, "pack": "cats"}));
    post_event(receiver.local_addr(), &body).await.assert_ack();

    let stored = receiver.store().get("e-sticker").unwrap();
    assert_eq!(stored.body, body);
    assert_eq!(stored.event_type().to_string(), "StickerSent");
    assert_eq!(
        stored.event_type(),
        &EventType::Other("StickerSent".to_owned())
    );
    assert_eq!(
        stored.decode().unwrap().data(),
        Some(&EventData::Unknown(json!({"id": 7, "pack": "cats"})))
    );
    assert!(receiver.store().quarantined().is_empty());
    assert_eq!(receiver.metrics().snapshot().stored, 1);
    receiver.shutdown().await;
}

#[tokio::test]
async fn events_with_an_empty_event_id_are_quarantined_not_merged() {
    // The store dedupes on the id: two different events without one must
    // not become "duplicates", the second acknowledged and lost.
    let receiver = start(config()).await;
    let addr = receiver.local_addr();
    let bodies = [
        event("", "TextMessageCreated", json!({"text": "one"})),
        event("", "TextMessageCreated", json!({"text": "two"})),
    ];
    for body in &bodies {
        post_event(addr, body).await.assert_ack();
    }
    let quarantined = receiver.store().quarantined();
    assert_eq!(quarantined.len(), 2);
    for (kept, sent) in quarantined.iter().zip(&bodies) {
        assert_eq!(kept.body, sent.as_slice());
        assert_eq!(kept.reason_code, "not_an_event");
        assert_eq!(kept.reason, "not a webhook event: the eventId is empty");
    }
    assert!(receiver.store().is_empty());
    let metrics = receiver.metrics().snapshot();
    assert_eq!(
        (metrics.stored, metrics.duplicate, metrics.quarantined),
        (0, 0, 2)
    );
    receiver.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_simultaneous_duplicates_are_stored_once_and_all_acknowledged() {
    const COPIES: usize = 50;
    let receiver = start(config()).await;
    let addr = receiver.local_addr();
    let body = text_event("e-dup", "once");
    let request = post(Some(TOKEN), &body);
    // Connect all first, then send all at once.
    let barrier = Arc::new(tokio::sync::Barrier::new(COPIES));
    let mut tasks = Vec::new();
    for _ in 0..COPIES {
        let barrier = Arc::clone(&barrier);
        let request = request.clone();
        let mut conn = Conn::open(addr).await;
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            conn.send(&request).await;
            conn.response().await
        }));
    }
    for task in tasks {
        within("a duplicate's answer", task)
            .await
            .unwrap()
            .assert_ack();
    }
    assert_eq!(receiver.store().len(), 1);
    assert_eq!(receiver.store().get("e-dup").unwrap().body, body);
    let metrics = receiver.metrics().snapshot();
    assert_eq!(metrics.received, COPIES as u64);
    assert_eq!(metrics.stored, 1);
    assert_eq!(metrics.duplicate, COPIES as u64 - 1);
    assert_eq!(metrics.acks(), COPIES as u64);
    receiver.shutdown().await;
}

/// A store whose events, or quarantine, or both, cannot be written.
#[derive(Debug, Default)]
struct FailingStore {
    fail_events: bool,
    fail_quarantine: bool,
    inner: MemoryEventStore,
}

#[async_trait]
impl EventStore for FailingStore {
    async fn store(&self, event: &IncomingEvent) -> Result<Stored, StoreError> {
        if self.fail_events {
            return Err(StoreError::new("disk full"));
        }
        self.inner.store(event).await
    }

    async fn quarantine(&self, body: &QuarantinedBody) -> Result<(), StoreError> {
        if self.fail_quarantine {
            return Err(StoreError::caused_by(
                "quarantine",
                std::io::Error::other("read-only"),
            ));
        }
        self.inner.quarantine(body).await
    }
}

#[track_caller]
fn assert_unavailable(reply: &Reply) {
    reply.assert_text(503, "the event could not be stored");
    assert_eq!(reply.header("retry-after"), Some("60"));
}

#[tokio::test]
async fn a_failing_store_answers_503_never_2xx() {
    let store = Arc::new(FailingStore {
        fail_events: true,
        ..FailingStore::default()
    });
    let receiver = start_with_store(config(), Arc::clone(&store)).await;
    let addr = receiver.local_addr();
    // The platform retries; each retry fails the same way while the store
    // is down.
    for _ in 0..3 {
        assert_unavailable(&post_event(addr, &text_event("e-lost", "x")).await);
    }
    // Authentication still comes first.
    roundtrip(addr, &post(Some("wrong"), &text_event("e-lost", "x")))
        .await
        .assert_text(401, "unauthorized");
    // The quarantine works, so a non-event is still kept.
    post_event(addr, b"not json").await.assert_ack();

    assert!(store.inner.is_empty());
    assert_eq!(store.inner.quarantined().len(), 1);
    let metrics = receiver.metrics().snapshot();
    assert_eq!(
        (metrics.received, metrics.stored, metrics.duplicate),
        (5, 0, 0)
    );
    assert_eq!(metrics.acks(), 1, "only the quarantined body was acked");
    receiver.shutdown().await;
}

#[tokio::test]
async fn a_failing_quarantine_answers_503_never_2xx() {
    let store = Arc::new(FailingStore {
        fail_quarantine: true,
        ..FailingStore::default()
    });
    let receiver = start_with_store(config(), Arc::clone(&store)).await;
    let addr = receiver.local_addr();
    for body in [&b"not json"[..], b"", b"{}", b"\xff"] {
        assert_unavailable(&post_event(addr, body).await);
    }
    post_event(addr, &text_event("e-ok", "x"))
        .await
        .assert_ack();

    assert!(store.inner.quarantined().is_empty());
    assert_eq!(store.inner.len(), 1);
    let metrics = receiver.metrics().snapshot();
    assert_eq!((metrics.quarantined, metrics.stored), (0, 1));
    assert_eq!(metrics.acks(), 1);
    receiver.shutdown().await;
}

#[tokio::test]
async fn expect_100_continue_is_granted_only_to_a_request_that_can_succeed() {
    // .NET clients send `Expect: 100-continue` with every POST by default.
    let receiver = start(config().body_limit(CAP)).await;
    let addr = receiver.local_addr();
    let body = text_event("e-continue", "x");
    let head = |token: &str, len: usize| {
        request(
            "POST",
            "/",
            &[
                ("kz-callback-token", token),
                ("expect", "100-continue"),
                ("content-length", &len.to_string()),
            ],
            b"",
        )
    };

    let mut conn = Conn::open(addr).await;
    conn.send(&head(TOKEN, body.len())).await;
    let interim = conn.response().await;
    assert_eq!(interim.status, 100, "{interim:?}");
    conn.send(&body).await;
    conn.response().await.assert_ack();
    assert_eq!(receiver.store().get("e-continue").unwrap().body, body);

    // Refused at once, without asking for the body.
    let mut conn = Conn::open(addr).await;
    conn.send(&head(TOKEN, CAP + 1)).await;
    conn.response()
        .await
        .assert_text(413, "the body is larger than 1024 bytes");
    let mut conn = Conn::open(addr).await;
    conn.send(&head("wrong", body.len())).await;
    conn.response().await.assert_text(401, "unauthorized");

    assert_eq!(receiver.store().len(), 1);
    receiver.shutdown().await;
}

// ---------------------------------------------------------------------
// Anything else
// ---------------------------------------------------------------------

#[tokio::test]
async fn other_paths_are_404_and_touch_nothing() {
    let receiver = start(config().path("/kaizala/events")).await;
    let addr = receiver.local_addr();
    for request in [
        post(Some(TOKEN), &text_event("e-1", "x")),
        request(
            "POST",
            "/kaizala/events/",
            &[("kz-callback-token", TOKEN)],
            &text_event("e-2", "x"),
        ),
        get("/?validationToken=x"),
        get("/kaizala?validationToken=x"),
        get("/kaizala/events/extra?validationToken=x"),
    ] {
        roundtrip(addr, &request)
            .await
            .assert_text(404, "no webhook receiver here");
    }
    assert_untouched(&receiver);
    // The configured path works.
    roundtrip(addr, &get("/kaizala/events?validationToken=here"))
        .await
        .assert_text(200, "here");
    let reply = roundtrip(
        addr,
        &request(
            "POST",
            "/kaizala/events",
            &[("kz-callback-token", TOKEN)],
            &text_event("e-3", "x"),
        ),
    )
    .await;
    reply.assert_ack();
    assert_eq!(receiver.store().len(), 1);
    receiver.shutdown().await;
}

#[tokio::test]
async fn other_methods_are_405_with_allow() {
    let receiver = start(config()).await;
    let addr = receiver.local_addr();
    for method in ["PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"] {
        let body = if method == "PUT" || method == "PATCH" {
            text_event("e-put", "x")
        } else {
            Vec::new()
        };
        let mut conn = Conn::open(addr).await;
        conn.send(&request(
            method,
            "/",
            &[("kz-callback-token", TOKEN)],
            &body,
        ))
        .await;
        let reply = if method == "HEAD" {
            conn.head_response().await
        } else {
            conn.response().await
        };
        assert_eq!(reply.status, 405, "{method}: {reply:?}");
        assert_eq!(reply.header("allow"), Some("GET, POST"), "{method}");
        if method != "HEAD" {
            reply.assert_text(405, "use GET or POST");
        }
    }
    assert_untouched(&receiver);
    receiver.shutdown().await;
}

#[tokio::test]
async fn the_metrics_path_serves_prometheus_text() {
    let receiver = start(config().metrics_path("/metrics")).await;
    let addr = receiver.local_addr();
    post_event(addr, &text_event("e-1", "x")).await.assert_ack();
    post_event(addr, &text_event("e-1", "x")).await.assert_ack();
    post_event(addr, b"[]").await.assert_ack();
    roundtrip(addr, &post(None, &text_event("e-2", "x")))
        .await
        .assert_text(401, "unauthorized");

    let reply = roundtrip(addr, &get("/metrics")).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    let text = reply.text();
    for line in [
        "# TYPE kaizala_webhook_received_total counter",
        "kaizala_webhook_received_total 4",
        "kaizala_webhook_stored_total 1",
        "kaizala_webhook_duplicate_total 1",
        "kaizala_webhook_quarantined_total 1",
        "kaizala_webhook_auth_failed_total 1",
        "kaizala_webhook_handler_failed_total 0",
        "kaizala_webhook_dead_lettered_total 0",
        "# TYPE kaizala_webhook_ack_latency_seconds histogram",
        "kaizala_webhook_ack_latency_seconds_bucket{le=\"+Inf\"} 3",
        "kaizala_webhook_ack_latency_seconds_count 3",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in:\n{text}"
        );
    }
    // Every sample line is `name{labels} value` with a number for value.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (_, value) = line.rsplit_once(' ').unwrap();
        assert!(value.parse::<f64>().is_ok(), "{line}");
    }
    // Reading them is not an event POST.
    assert_eq!(receiver.metrics().snapshot().received, 4);
    // Only GET; and without the option there is no such page.
    roundtrip(addr, &request("POST", "/metrics", &[], b""))
        .await
        .assert_text(404, "no webhook receiver here");
    receiver.shutdown().await;

    let receiver = start(config()).await;
    roundtrip(receiver.local_addr(), &get("/metrics"))
        .await
        .assert_text(404, "no webhook receiver here");
    receiver.shutdown().await;
}

#[tokio::test]
async fn bytes_that_are_not_http_get_400_and_the_server_goes_on() {
    // Not HTTP at all: hyper answers 400 and the receiver stays up.
    let receiver = start(config()).await;
    let mut conn = Conn::open(receiver.local_addr()).await;
    conn.send(b"\x16\x03\x01\x02\x00 not http\r\n\r\n").await;
    let reply = conn.response().await;
    assert_eq!(reply.status, 400, "{reply:?}");
    roundtrip(receiver.local_addr(), &get("/?validationToken=ok"))
        .await
        .assert_text(200, "ok");
    assert_untouched(&receiver);
    receiver.shutdown().await;
}
