//! The emulator's request parsing, on any body: the JSON body of every
//! endpoint operation that takes one, and the `multipart/form-data` of the
//! media upload, sent with a valid access token (so parsing, not
//! authentication, is what answers).
//!
//! The first byte picks the operation; the rest is the body. No request
//! panics the emulator or gets a 500: a body it cannot read is the
//! caller's mistake, a 4xx.

#![no_main]

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http_body_util::Full;
use kaizala_core::endpoint::{BodyKind, Endpoint, Operation, RequestContext, Server};
use kaizala_core::ops::auth::GetAccessToken;
use kaizala_core::session::Hosts;
use kaizala_core::throttle::{Budget, ThrottleConfig};
use kaizala_emulator::shared::Shared;
use kaizala_emulator::{Emulator, EmulatorConfig, RunningEmulator};
use libfuzzer_sys::fuzz_target;
use tokio::runtime::Runtime;

const BOUNDARY: &str = "kaizala-fuzz-boundary";
const PEER: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 1);

/// The emulator, its runtime, and what a request needs.
struct Setup {
    runtime: Runtime,
    _emulator: RunningEmulator,
    shared: Arc<Shared>,
    access_token: String,
    /// `{endpointUrl}/v1`.
    base: String,
    group_id: String,
    operations: Vec<Operation>,
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let config = EmulatorConfig {
            // Budgets no fuzzer exhausts: a 429 would answer before parsing.
            throttle: ThrottleConfig {
                connector: Budget::per_minute(u32::MAX),
                tenant: Budget::per_minute(u32::MAX),
            },
            ..EmulatorConfig::default()
        };
        let emulator = runtime.block_on(Emulator::start(config)).unwrap();
        let shared = Arc::clone(emulator.shared());
        let seeded = emulator
            .credentials()
            .expect("the demo seed has a connector");
        let credentials = seeded.to_credentials();
        let hosts = Hosts::with_api(&seeded.base_url);
        let request = GetAccessToken {}
            .build(&RequestContext {
                hosts: &hosts,
                session: None,
                credentials: Some(&credentials),
            })
            .unwrap();
        let response = runtime.block_on(kaizala_emulator::http::handle(
            Arc::clone(&shared),
            PEER,
            request.map(Full::new),
        ));
        let (parts, body) = response.into_parts();
        let body = runtime
            .block_on(http_body_util::BodyExt::collect(body))
            .unwrap()
            .to_bytes();
        let token = GetAccessToken::parse(http::Response::from_parts(parts, body)).unwrap();
        let group_id = emulator.state(|state| state.groups.keys().next().cloned().unwrap());
        let operations = Operation::ALL
            .iter()
            .copied()
            .filter(|op| {
                let meta = op.meta();
                // Creating a webhook validates its URL with a live request.
                meta.server == Server::Endpoint
                    && matches!(meta.body, BodyKind::Json | BodyKind::Multipart)
                    && *op != Operation::CreateWebhook
            })
            .collect();
        Setup {
            runtime,
            shared,
            access_token: token.access_token.expose().to_owned(),
            base: format!("{}/v1", token.endpoint_url.trim_end_matches('/')),
            group_id,
            operations,
            _emulator: emulator,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let setup = setup();
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let op = setup.operations[usize::from(first) % setup.operations.len()];
    let meta = op.meta();
    let path = fill(meta.path, &setup.group_id);
    let content_type = match meta.body {
        BodyKind::Multipart => format!("multipart/form-data; boundary={BOUNDARY}"),
        _ => "application/json".to_owned(),
    };
    let request = http::Request::builder()
        .method(meta.method.clone())
        .uri(format!("{}{path}", setup.base))
        .header("accessToken", &setup.access_token)
        .header("content-type", content_type)
        .body(Full::new(Bytes::copy_from_slice(body)))
        .unwrap();
    let response = setup.runtime.block_on(kaizala_emulator::http::handle(
        Arc::clone(&setup.shared),
        PEER,
        request,
    ));
    assert!(
        !response.status().is_server_error(),
        "{} {path}: {}",
        meta.id,
        response.status()
    );
});

/// `template` with the group's id for `{groupId}` and a made-up id for
/// any other placeholder.
fn fill(template: &str, group_id: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..]
            .find('}')
            .map_or(rest.len(), |at| open + at + 1);
        out.push_str(if &rest[open..close] == "{groupId}" {
            group_id
        } else {
            "fuzz-id"
        });
        rest = &rest[close..];
    }
    out.push_str(rest);
    out
}
