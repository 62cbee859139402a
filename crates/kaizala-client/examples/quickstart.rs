//! Lists the groups a connector can see, then says hello to the first one.
//!
//! ```text
//! KAIZALA_APPLICATION_ID=… KAIZALA_APPLICATION_SECRET=… KAIZALA_REFRESH_TOKEN=… \
//!     [KAIZALA_BASE_URL=http://127.0.0.1:8080/v1] \
//!     cargo run -p kaizala-client --example quickstart
//! ```
//!
//! Prints every group's name, one per line, then the `referenceId` of the
//! message `hello from kaizala-rs` sent to the first group. Exits non-zero
//! with a one-line explanation on any error.

use std::process::ExitCode;

use kaizala_client::{Client, Error};

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("quickstart: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Error> {
    let client = Client::builder_from_env()?.build()?;
    let groups = client.groups().list().await?;
    for group in &groups {
        println!(
            "{}",
            group
                .group_name
                .as_deref()
                .unwrap_or(group.group_id.as_str())
        );
    }
    let first = groups
        .first()
        .ok_or_else(|| Error::invalid_input("the connector sees no group to send to"))?;
    let sent = client
        .group(first.group_id.clone())
        .messages()
        .send("hello from kaizala-rs")
        .await?;
    println!("{}", sent.reference_id);
    Ok(())
}
