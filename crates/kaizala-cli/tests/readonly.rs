//! Read-only use, as a BI connection has it: `kaizala sql grant-readonly`
//! prepares a PostgreSQL role that reads every table and view and writes
//! nothing, and `export`, `status` and `dashboard` work as that role (they
//! open the database without migrating it). A reader given a database older
//! than the binary's schema names the command that upgrades it, and changes
//! nothing.

mod ingest_support;

use ingest_support::{Kaizala, TestDb, free_port, kaizala, text, try_sql, with_user};
use sqlx::{Connection, Row};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_select_only_role_reads_exports_and_serves_the_dashboard() {
    let Some(admin) = ingest_support::postgres_url() else {
        return;
    };
    sqlx::any::install_default_drivers();
    let db = TestDb::postgres(&admin).await;
    let sink = db.connect().await;
    ingest_support::store_samples(&sink, "ro", 30).await;
    sink.close().await;

    let role = ingest_support::fresh_role(&admin, "kz_reader").await;
    let reader = with_user(&db.url, &role);

    // --print changes nothing.
    let out = kaizala(&["sql", "grant-readonly", &role, "--db", &db.url, "--print"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    assert!(
        printed.contains(&format!(
            "GRANT SELECT ON ALL TABLES IN SCHEMA \"public\" TO \"{role}\";"
        )),
        "{printed}"
    );
    assert_eq!(printed.lines().count(), 4, "{printed}");
    let denied = try_sql(&reader, "SELECT COUNT(*) FROM responses").await;
    assert!(
        denied
            .as_ref()
            .is_err_and(|e| e.contains("permission denied")),
        "read before the grant: {denied:?}"
    );

    let out = kaizala(&["sql", "grant-readonly", &role, "--db", &db.url]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("granted"),
        "{}",
        text(&out.stderr)
    );

    // Every table and view reads; nothing writes.
    let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    let relations: Vec<String> = sqlx::query(
        "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
         WHERE table_schema = current_schema() ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap()
    .iter()
    .map(|row| row.try_get(0).unwrap())
    .collect();
    conn.close().await.unwrap();
    assert!(relations.len() > 15, "{relations:?}");
    for relation in &relations {
        try_sql(&reader, &format!("SELECT COUNT(*) FROM {relation}"))
            .await
            .unwrap_or_else(|e| panic!("{role} cannot read {relation}: {e}"));
    }
    for write in [
        "INSERT INTO sink_state (name, value) VALUES ('x', 1)",
        "UPDATE responses SET responder_name = 'x'",
        "DELETE FROM events",
        "CREATE TABLE mine (x INTEGER)",
        "DROP TABLE answers",
    ] {
        let result = try_sql(&reader, write).await;
        assert!(
            result
                .as_ref()
                .is_err_and(|e| e.contains("permission denied") || e.contains("must be owner")),
            "{role} could run {write}: {result:?}"
        );
    }

    // The readers work as that role.
    let out = kaizala(&["export", "--db", &reader, "--table", "responses"]);
    assert!(out.status.success(), "export: {}", text(&out.stderr));
    assert!(
        text(&out.stdout).lines().count() > 1,
        "no responses exported"
    );
    // A view of the contract, native types and all, exports too.
    let out = kaizala(&[
        "export",
        "--db",
        &reader,
        "--table",
        "kz_responses",
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "export: {}", text(&out.stderr));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        rows.len(),
        21,
        "survey responses exported from kz_responses"
    );
    let at = rows[0]["responded_at"].as_str().unwrap_or_default();
    assert!(
        at.len() == 23 && at.as_bytes()[10] == b' ' && at.as_bytes()[19] == b'.',
        "responded_at {at:?} is not YYYY-MM-DD HH:MM:SS.SSS"
    );
    // Flags export as 0 and 1 from either backend, as from the tables.
    assert!(rows[0]["is_update"] == 0, "{}", rows[0]);
    assert!(rows[0]["details"].is_string(), "{}", rows[0]);
    let out = kaizala(&["status", "--db", &reader]);
    assert!(out.status.success(), "status: {}", text(&out.stderr));
    let listen = format!("127.0.0.1:{}", free_port());
    let dashboard = Kaizala::spawn(
        &["dashboard", "--db", &reader, "--listen", &listen],
        db.dir.path(),
        "dashboard",
    );
    let data = ingest_support::dashboard_data(&listen).await;
    assert!(data.contains("\"responses\""), "{data}");
    let output = dashboard.kill();
    assert!(!output.contains("panicked"), "{output}");

    // A writing command as that role fails, in words.
    let out = kaizala(&["project", "--db", &reader, "--once"]);
    assert!(!out.status.success());
    let said = text(&out.stderr);
    assert!(said.contains("permission denied"), "{said}");
    assert!(!said.contains("panicked"), "{said}");

    drop(db);
    try_sql(&admin, &format!("DROP ROLE IF EXISTS {role}"))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_reader_names_the_upgrade_of_an_old_database_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../kaizala-sink/tests/fixtures/demo-0.1.db");
    let path = dir.path().join("old.db");
    std::fs::copy(&fixture, &path).unwrap();
    let before = std::fs::read(&path).unwrap();
    let db = path.to_str().unwrap();
    for args in [
        vec!["export", "--db", db, "--table", "responses"],
        vec!["status", "--db", db],
    ] {
        let out = kaizala(&args);
        assert!(!out.status.success(), "{args:?} read an old database");
        let said = text(&out.stderr);
        assert!(
            said.contains(
                "the database is at schema migration 1, and this kaizala reads migration "
            ) && said.contains(&format!("`kaizala project --db {db} --once`")),
            "{said}"
        );
        assert_eq!(said.trim_end().lines().count(), 1, "{said}");
    }
    assert!(
        std::fs::read(&path).unwrap() == before,
        "a reader changed the database file"
    );

    // A reader creates no file either.
    let missing = dir.path().join("none.db");
    let out = kaizala(&[
        "export",
        "--db",
        missing.to_str().unwrap(),
        "--table",
        "groups",
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no such database file"),
        "{}",
        text(&out.stderr)
    );
    assert!(!missing.exists(), "a reader made {}", missing.display());

    // The writer upgrades it, and then it reads.
    let out = kaizala(&["project", "--db", db, "--once"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = kaizala(&["export", "--db", db, "--table", "responses"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}
