//! `kaizala token`: checks the credentials by obtaining an access token.

use std::time::SystemTime;

use crate::credentials::ConnectionArgs;
use crate::error::CliResult;

/// Obtains an access token and shows what it grants — never the token.
pub async fn run(connection: &ConnectionArgs) -> CliResult {
    let client = connection.client()?;
    let session = client.auth().refresh().await?;
    let left = session
        .expires_at
        .duration_since(SystemTime::now())
        .unwrap_or_default();
    println!("endpoint   {}", session.endpoint_url);
    println!(
        "expires in {}h {:02}m",
        left.as_secs() / 3600,
        left.as_secs() / 60 % 60
    );
    println!("scope      {}", session.scope.as_str());
    Ok(())
}
