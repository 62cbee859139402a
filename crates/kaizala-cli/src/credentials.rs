//! Where the commands that call the API get their connector credentials.

use std::path::{Path, PathBuf};

use clap::Args;
use kaizala_client::{Client, JsonFileTokenStore};
use kaizala_core::session::Credentials;
use serde::Deserialize;

use crate::error::{CliError, CliResult};

/// How to reach the platform as a connector.
#[derive(Debug, Clone, Args)]
pub struct ConnectionArgs {
    /// Credentials file: JSON with `applicationId`, `applicationSecret`,
    /// `refreshToken` and optionally `baseUrl`, as written by
    /// `kaizala emulator --credentials-out`. Without it, the environment
    /// variables KAIZALA_APPLICATION_ID, KAIZALA_APPLICATION_SECRET,
    /// KAIZALA_REFRESH_TOKEN and KAIZALA_BASE_URL are used.
    // Global: `kaizala webhook create --profile F` reads as naturally as
    // `kaizala webhook --profile F create`.
    #[arg(long, env = "KAIZALA_PROFILE", value_name = "FILE", global = true)]
    pub profile: Option<PathBuf>,
    /// Keep tokens in this file, so a refresh token the platform rotates
    /// (from day 328 of its life) is not lost.
    #[arg(long, value_name = "FILE", global = true)]
    pub token_store: Option<PathBuf>,
}

/// The credentials file.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Profile {
    application_id: String,
    application_secret: String,
    refresh_token: String,
    #[serde(default)]
    base_url: Option<String>,
}

impl ConnectionArgs {
    /// A client for these credentials.
    pub fn client(&self) -> CliResult<Client> {
        let mut builder = match &self.profile {
            Some(path) => {
                let profile = read_profile(path)?;
                let mut builder = Client::builder().credentials(Credentials::new(
                    profile.application_id,
                    profile.application_secret,
                    profile.refresh_token,
                ));
                if let Some(base) = &profile.base_url {
                    builder = builder.base_url(base);
                }
                builder
            }
            None => Client::builder_from_env().map_err(|err| {
                CliError::new(err.to_string()).hint(
                    "pass --profile FILE (e.g. from `kaizala emulator --credentials-out FILE`), \
                     or set KAIZALA_APPLICATION_ID, KAIZALA_APPLICATION_SECRET and \
                     KAIZALA_REFRESH_TOKEN",
                )
            })?,
        };
        if let Some(path) = &self.token_store {
            builder = builder.token_store(JsonFileTokenStore::new(path));
        }
        Ok(builder.build()?)
    }
}

fn read_profile(path: &Path) -> CliResult<Profile> {
    let text = std::fs::read(path).map_err(|err| {
        CliError::new(format!("cannot read the profile {}: {err}", path.display()))
    })?;
    serde_json::from_slice(&text).map_err(|err| {
        CliError::new(format!(
            "the profile {} is not valid: {err}",
            path.display()
        ))
        .hint(
            "it must be JSON with applicationId, applicationSecret, refreshToken and \
             optionally baseUrl",
        )
    })
}
