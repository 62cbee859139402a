//! A consumer of the released facade with only its `webhook` feature:
//! serves a receiver on a free port, posts one event to it over a plain
//! TCP connection, and checks the receiver stored it. Written by
//! `cargo xtask release --dry-run`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::sync::Arc;

use kaizala::webhook::{MemoryEventStore, ReceiverConfig, Server};

const TOKEN: &str = "rehearsal-callback-token";
const BODY: &str = r#"{"eventId": "rehearsal-1", "eventType": "TextMessageCreated", "objectType": "Group", "objectId": "g1", "data": {"text": "hello"}}"#;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("webhook-only: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let config = ReceiverConfig::new().callback_token(TOKEN)?;
    let store = Arc::new(MemoryEventStore::new());
    let receiver =
        Server::with_shared_store(config, Arc::clone(&store)).serve_without_handlers(listener);
    let addr = receiver.local_addr();
    let status = tokio::task::spawn_blocking(move || post(addr)).await??;
    println!("posted one event to {addr}: {status}");
    receiver.shutdown().await;
    if !status.starts_with("HTTP/1.1 2") {
        return Err(format!("the receiver answered {status}").into());
    }
    let stored = store
        .get("rehearsal-1")
        .ok_or("the acknowledged event is not in the store")?;
    println!("stored {} ({} bytes)", stored.event_id(), stored.body.len());
    Ok(())
}

/// The status line of the answer to one POST of `BODY`.
fn post(addr: std::net::SocketAddr) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(addr)?;
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nkz-callback-token: {TOKEN}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{BODY}",
        BODY.len()
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    Ok(answer.lines().next().unwrap_or("").to_owned())
}
