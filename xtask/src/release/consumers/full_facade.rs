//! A consumer of the released facade with its default features, and of the
//! released emulator: starts the emulator, calls it through the client,
//! and builds a webhook receiver's configuration. Written by
//! `cargo xtask release --dry-run`.

use std::process::ExitCode;

use kaizala::Client;
use kaizala::core::session::Credentials;
use kaizala::webhook::ReceiverConfig;
use kaizala_emulator::{Emulator, EmulatorConfig};

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("full-facade: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let emulator = Emulator::start(EmulatorConfig::default()).await?;
    let seeded = emulator
        .credentials()
        .ok_or("the emulator's demo seed has no connector")?;
    let client = Client::builder()
        .credentials(Credentials::new(
            seeded.application_id.clone(),
            seeded.application_secret.clone(),
            seeded.refresh_token.clone(),
        ))
        .base_url(seeded.base_url.as_str())
        .build()?;
    let groups = client.groups().list().await?;
    println!(
        "the emulator at {} shows {} groups",
        emulator.base_url(),
        groups.len()
    );
    let group = groups.first().ok_or("the emulator shows no group")?;
    let sent = client
        .group(group.group_id.clone())
        .messages()
        .send("hello from the release rehearsal")
        .await?;
    println!("sent a message: {}", sent.reference_id);
    let config = ReceiverConfig::new().callback_token("rehearsal-callback-token")?;
    println!("a receiver would listen on {}", config.path_str());
    emulator.shutdown().await;
    Ok(())
}
