//! A webhook receiver that prints what it stores, one JSON line per body.
//!
//! ```text
//! cargo run -p kaizala-webhook --example echo_receiver -- \
//!     --listen 127.0.0.1:8080 [--token CALLBACK_TOKEN] [--path /kaizala/events]
//! ```
//!
//! Serves the receiver (validation GET, token check, limits, dedupe,
//! quarantine) with an in-memory store. On standard output, one line each:
//!
//! - every **newly** stored event, in its canonical JSON encoding
//!   (`Event::to_vec`) — a duplicate delivery (same `eventId`) is
//!   acknowledged but not printed again;
//! - every quarantined body (authentic, but not an event) as
//!   `{"quarantined":"<the body, base64 with padding>"}`.
//!
//! Each line is flushed as soon as it is written, so the output can be piped
//! into another program. Logs (the address listened on, the receiver's
//! warnings) go to standard error. Ctrl-C stops it gracefully: requests in
//! flight are answered first.
//!
//! Without `--token` any sender is accepted; give the `callBackToken` the
//! webhook was created with for anything reachable from outside.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use clap::Parser;
use kaizala_webhook::store::{IncomingEvent, QuarantinedBody, StoreError, Stored};
use kaizala_webhook::{EventStore, MemoryEventStore, ReceiverConfig, serve};

/// Serve a Kaizala webhook receiver that prints each stored event as a JSON line.
#[derive(Debug, Parser)]
struct Args {
    /// The address to listen on (port 0: any free port, printed on stderr).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The callback token the platform sends in `kz-callback-token`.
    #[arg(long)]
    token: Option<String>,
    /// The callback path.
    #[arg(long, default_value = "/")]
    path: String,
}

/// The memory store, printing what it newly keeps.
#[derive(Debug, Default)]
struct EchoStore {
    memory: MemoryEventStore,
}

/// Writes `line` and a newline to standard output, and flushes. A failure
/// (say, the reader went away) fails the store call, so the receiver answers
/// 503 rather than acknowledging an event nobody saw.
fn print_line(line: &[u8]) -> Result<(), StoreError> {
    let mut out = std::io::stdout().lock();
    out.write_all(line)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush())
        .map_err(|err| StoreError::caused_by("writing to standard output", err))
}

#[async_trait]
impl EventStore for EchoStore {
    async fn store(&self, event: &IncomingEvent) -> Result<Stored, StoreError> {
        // The canonical encoding needs the typed event; a body whose payload
        // does not fit its type's model goes to quarantine instead.
        let typed = match event.decode() {
            Ok(typed) => typed,
            Err(err) => {
                self.quarantine(&event.quarantined(&err)).await?;
                return Ok(Stored::Quarantined);
            }
        };
        let stored = self.memory.store(event).await?;
        if stored == Stored::New {
            print_line(&typed.to_vec())?;
        }
        Ok(stored)
    }

    async fn quarantine(&self, body: &QuarantinedBody) -> Result<(), StoreError> {
        self.memory.quarantine(body).await?;
        let line = serde_json::json!({ "quarantined": STANDARD.encode(&body.body) });
        print_line(line.to_string().as_bytes())
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    // The receiver's own log lines (info and above) on standard error, so
    // standard output holds nothing but the JSON lines.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .without_time()
        .with_max_level(tracing::Level::INFO)
        .init();
    let mut config = ReceiverConfig::new().path(args.path);
    match args.token {
        Some(token) => match config.callback_token(token) {
            Ok(with_token) => config = with_token,
            Err(err) => {
                eprintln!("echo_receiver: --token: {err}");
                return ExitCode::FAILURE;
            }
        },
        None => {
            eprintln!("echo_receiver: no --token given: any sender is accepted");
        }
    }
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("echo_receiver: cannot listen on {}: {err}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    let receiver = serve(listener, config, EchoStore::default());
    eprintln!("echo_receiver: listening on {}", receiver.url());

    if let Err(err) = tokio::signal::ctrl_c().await {
        eprintln!("echo_receiver: cannot wait for Ctrl-C ({err}); stopping");
    }
    eprintln!("echo_receiver: stopping");
    let store = std::sync::Arc::clone(receiver.store());
    receiver.shutdown().await;
    eprintln!(
        "echo_receiver: stopped ({} events, {} quarantined)",
        store.memory.len(),
        store.memory.quarantined().len()
    );
    ExitCode::SUCCESS
}
