//! Each call has a span with its operation, attempt and status — and no
//! secret ever reaches the logs, whatever the level.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::json;
use support::{Expect, MockServer, REFRESH, client, token_call};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn spans_name_the_call_and_never_the_tokens() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = MockServer::start().await;
    server.expect(token_call(&server, "access-token-value-123"));
    server.expect(Expect::get("/v1/groups").respond(503, json!({})));
    server.expect(Expect::get("/v1/groups").respond(200, json!({"groups": []})));
    client(&server)
        .build()
        .unwrap()
        .groups()
        .list()
        .await
        .unwrap();
    server.verify();

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("attempt{number=1 status=503}: kaizala_client::client: retrying"),
        "{logs}"
    );
    assert!(
        logs.contains("kaizala.call{operation=\"listGroups\" attempts=2 status=200}"),
        "{logs}"
    );
    assert!(logs.contains("operation=\"getAccessToken\""), "{logs}");
    for secret in ["access-token-value-123", REFRESH, support::APP_SECRET] {
        assert!(
            !logs.contains(secret),
            "{secret} leaked into the logs:\n{logs}"
        );
    }
}
