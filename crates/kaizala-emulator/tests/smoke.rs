//! The emulator answers the token call the way the platform documented it,
//! and endpoint calls go through relocation, auth and throttling.

use kaizala_client::Client;
use kaizala_core::session::Credentials;
use kaizala_emulator::{Emulator, EmulatorConfig};

#[tokio::test]
async fn a_client_gets_a_token_and_the_tenant_endpoint() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let seeded = emulator.credentials().unwrap();
    let client = Client::builder()
        .credentials(seeded.to_credentials())
        .base_url(&seeded.base_url)
        .build()
        .unwrap();
    let session = client.auth().refresh().await.unwrap();
    assert_eq!(
        session.endpoint_url,
        format!("{}/t/contoso", emulator.base_url())
    );
    assert!(
        session
            .scope
            .contains(&kaizala_types::scope::Scope::WebhookWrite)
    );

    let wrong = Client::builder()
        .credentials(Credentials::new(
            seeded.application_id.clone(),
            "wrong",
            seeded.refresh_token.clone(),
        ))
        .base_url(&seeded.base_url)
        .build()
        .unwrap();
    let err = wrong.auth().refresh().await.unwrap_err();
    assert_eq!(err.status(), Some(401), "{err}");
    emulator.shutdown().await;
}

#[tokio::test]
async fn debug_output_shows_no_secret() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let seeded = emulator.credentials().unwrap();
    let client = Client::builder()
        .credentials(seeded.to_credentials())
        .base_url(&seeded.base_url)
        .build()
        .unwrap();
    let access = client.auth().refresh().await.unwrap().access_token;
    let state = emulator.state(|s| format!("{s:?}"));
    let credentials = format!("{seeded:?}");
    for secret in [
        seeded.application_secret.as_str(),
        seeded.refresh_token.as_str(),
        access.expose(),
    ] {
        assert!(!state.contains(secret), "the state's Debug shows a secret");
        assert!(
            !credentials.contains(secret),
            "SeededCredentials' Debug shows a secret"
        );
    }
    assert!(
        state.contains(&seeded.application_id),
        "the Debug output is not empty"
    );
    emulator.shutdown().await;
}
