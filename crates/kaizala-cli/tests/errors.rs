//! Every failure of the `kaizala` command is a clear message with a hint on
//! standard error and a non-zero exit code — never a panic, never a
//! backtrace: a bad database URL, a directory that does not exist, a port
//! in use, a locked database, a platform that cannot be reached.

use std::net::TcpListener;
use std::process::{Command, Stdio};

use sqlx::Connection;

const KAIZALA: &str = env!("CARGO_BIN_EXE_kaizala");

/// Runs `kaizala args…` (with `env`), which must fail; its standard error.
fn fails(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut command = Command::new(KAIZALA);
    command
        .args(args)
        .stdin(Stdio::null())
        .env_remove("KAIZALA_DB")
        .env_remove("KAIZALA_PROFILE")
        .env("RUST_BACKTRACE", "1");
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
    assert!(
        !stderr.contains("panicked")
            && !stderr.contains("backtrace")
            && !stderr.contains("internal error"),
        "{args:?}: {stderr}"
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines.len() <= 2 && lines[0].starts_with("kaizala: "),
        "{args:?}: not one message (and a hint):\n{stderr}"
    );
    stderr
}

/// The advice, on a `hint:` line or in the message itself.
fn has_hint(stderr: &str, words: &str) {
    assert!(
        stderr.contains(words),
        "no hint with {words:?} in {stderr:?}"
    );
}

#[test]
fn a_database_url_of_an_unknown_kind() {
    let stderr = fails(
        &[
            "export",
            "--db",
            "mysql://db.example/kaizala",
            "--table",
            "events",
        ],
        &[],
    );
    assert!(stderr.contains("mysql"), "{stderr}");
    has_hint(&stderr, "postgres://");
}

#[test]
fn a_database_in_a_directory_that_does_not_exist() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("no-such-dir").join("kaizala.db");
    let stderr = fails(
        &["export", "--db", db.to_str().unwrap(), "--table", "events"],
        &[],
    );
    assert!(stderr.contains("no-such-dir"), "{stderr}");
    has_hint(&stderr, "mkdir");
}

#[test]
fn a_port_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let db = dir.path().join("kaizala.db");
    for args in [
        vec!["ingest", "--db", db.to_str().unwrap(), "--listen", &addr],
        vec!["dashboard", "--db", db.to_str().unwrap(), "--listen", &addr],
    ] {
        let stderr = fails(&args, &[("KAIZALA_CALLBACK_TOKEN", "t0ken")]);
        assert!(stderr.contains(&addr), "{stderr}");
        has_hint(&stderr, "--listen");
    }
}

#[test]
fn a_third_callback_token() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kaizala.db");
    let db = db.to_str().unwrap();
    let mut args = vec!["ingest", "--db", db, "--listen", "127.0.0.1:0"];
    for token in ["s3cret-one", "s3cret-two", "s3cret-three"] {
        args.extend(["--callback-token", token]);
    }
    let from_flags = fails(&args, &[]);
    let from_env = fails(
        &args[..5],
        &[(
            "KAIZALA_CALLBACK_TOKEN",
            "s3cret-one,s3cret-two,s3cret-three",
        )],
    );
    for stderr in [from_flags, from_env] {
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("at most two"), "{stderr}");
        assert!(!stderr.contains("s3cret"), "a token printed: {stderr}");
    }
    assert!(
        !dir.path().join("kaizala.db").exists(),
        "refused before the database"
    );
}

#[tokio::test]
async fn a_locked_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kaizala.db");
    // Another program holds the file's write lock (rollback journal: the
    // sink's switch to WAL has to wait for it).
    let mut holder =
        sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=rwc", path.display()))
            .await
            .unwrap();
    sqlx::raw_sql("CREATE TABLE other (x); BEGIN EXCLUSIVE; INSERT INTO other VALUES (1);")
        .execute(&mut holder)
        .await
        .unwrap();
    let url = format!("sqlite://{}?busy_timeout=200", path.display());
    let stderr = tokio::task::spawn_blocking(move || {
        fails(&["export", "--db", &url, "--table", "events"], &[])
    })
    .await
    .unwrap();
    assert!(stderr.contains("locked"), "{stderr}");
    has_hint(&stderr, "use PostgreSQL for several writers");
    holder.close().await.unwrap();
}

/// Credentials for a platform where nothing listens (a port just
/// released), and that port.
fn unreachable_platform() -> (u16, Vec<(&'static str, String)>) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let env = vec![
        (
            "KAIZALA_APPLICATION_ID",
            "3f1c1b4e-0000-4000-8000-000000000001".to_owned(),
        ),
        ("KAIZALA_APPLICATION_SECRET", "not-a-real-secret".to_owned()),
        (
            "KAIZALA_REFRESH_TOKEN",
            "not-a-real-refresh-token".to_owned(),
        ),
        ("KAIZALA_BASE_URL", format!("http://127.0.0.1:{port}")),
    ];
    (port, env)
}

/// `env` as `fails` takes it.
fn pairs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[test]
fn a_platform_that_cannot_be_reached() {
    let (port, env) = unreachable_platform();
    let stderr = fails(&["token"], &pairs(&env));
    assert!(stderr.contains(&port.to_string()), "{stderr}");
    assert!(
        !stderr.contains("not-a-real"),
        "a secret was printed: {stderr}"
    );
    has_hint(&stderr, "kaizala emulator");
}

/// `KAIZALA_CALLBACK_TOKEN=OLD,NEW` (set for `kaizala ingest` while
/// rotating) must not become a webhook's token, and the refusal does not
/// repeat it; nothing is sent to the platform.
#[test]
fn a_webhook_is_given_one_callback_token() {
    let (_, mut env) = unreachable_platform();
    env.push((
        "KAIZALA_CALLBACK_TOKEN",
        "old-token-17,new-token-42".to_owned(),
    ));
    for args in [
        vec![
            "webhook",
            "create",
            "--object-id",
            "g1",
            "--url",
            "https://x.example/",
        ],
        vec!["webhook", "update", "w1"],
    ] {
        let stderr = fails(&args, &pairs(&env));
        has_hint(&stderr, "a webhook has one callback token");
        assert!(
            !stderr.contains("token-17") && !stderr.contains("token-42"),
            "a token was printed: {stderr}"
        );
    }
}

#[test]
fn an_unknown_time_zone_or_a_pivot_view_name_it_cannot_have() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kaizala.db");
    let db = db.to_str().unwrap();
    let stderr = fails(&["sql", "set-timezone", "Asia/Kolkatta", "--db", db], &[]);
    has_hint(&stderr, "unknown time zone \"Asia/Kolkatta\"");
    has_hint(&stderr, "Asia/Kolkata");
    let stderr = fails(
        &["sql", "pivot", "a1", "--name", "kz_responses", "--db", db],
        &[],
    );
    has_hint(&stderr, "\"kz_responses\" cannot name a pivot view");
    let stderr = fails(&["sql", "pivot", "a1", "--db", db], &[]);
    has_hint(&stderr, "no answers to action \"a1\" yet");
}

/// Built without the `parquet` feature, `--format parquet` says so in one
/// line (`cargo test -p kaizala-cli --no-default-features --test errors`).
#[cfg(not(feature = "parquet"))]
#[test]
fn parquet_without_its_feature_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("none.db");
    let stderr = fails(
        &[
            "export",
            "--db",
            db.to_str().unwrap(),
            "--table",
            "kz_responses",
            "--format",
            "parquet",
        ],
        &[],
    );
    assert!(
        stderr.contains("built without the `parquet` feature"),
        "{stderr}"
    );
}
