//! A consumer of the released facade with every feature (client, webhook,
//! emulator, sink): starts the emulator, calls it through the client, syncs
//! it into a SQLite sink and reads the sink back, and builds a webhook
//! receiver's configuration. Written by `cargo xtask release --dry-run`.

use std::process::ExitCode;

use kaizala::emulator::{Emulator, EmulatorConfig};
use kaizala::prelude::*;
use kaizala::sink::{Sink, SyncOptions};

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

    let db = std::env::temp_dir().join(format!("kaizala-rehearsal-{}.db", std::process::id()));
    let sink = Sink::connect(db.to_str().ok_or("a temporary path that is not UTF-8")?).await?;
    let report = sink.sync(&client, SyncOptions::default(), |_| {}).await?;
    if report.groups != groups.len() as u64 {
        return Err(format!("synced {} groups of {}", report.groups, groups.len()).into());
    }
    println!("synced {} groups into {}", report.groups, sink.database());
    sink.close().await;
    // The database file and its log file, each with its -wal and -shm.
    for suffix in ["", "-wal", "-shm", "-log", "-log-wal", "-log-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }

    let config = ReceiverConfig::new().callback_token("rehearsal-callback-token")?;
    println!("a receiver would listen on {}", config.path_str());
    emulator.shutdown().await;
    Ok(())
}
