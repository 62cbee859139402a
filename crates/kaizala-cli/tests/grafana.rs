//! `kaizala bi grafana`: the provisioning files it writes, and every SQL
//! query of its dashboards run against PostgreSQL — macros expanded as
//! Grafana expands them ([`grafana_support`]) — as the read-only role the
//! data source names, on a sink in the default schema and in a schema of
//! its own.

mod grafana_support;
mod ingest_support;

use std::path::Path;

use grafana_support::{Instant, TimeRange, interpolate};
use ingest_support::{TestDb, kaizala, text, try_sql, with_user};
use serde_json::Value;
use sqlx::postgres::PgConnection;
use sqlx::{Column, Connection, Row, TypeInfo};

/// The data source's uid, which every panel must name.
const DATASOURCE_UID: &str = "kaizala-postgres";

/// A YAML file, read as YAML.
fn yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}\n{text}", path.display()))
}

/// Every file under `dir`, with its text.
fn files(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push((
                path.display().to_string(),
                std::fs::read_to_string(&path).unwrap(),
            ));
        }
    }
    out.sort();
    out
}

/// The dashboards in `dir`: (file name, dashboard).
fn dashboards(dir: &Path) -> Vec<(String, Value)> {
    files(dir)
        .into_iter()
        .map(|(path, text)| {
            assert!(path.ends_with(".json"), "{path}");
            let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
            (path, json)
        })
        .collect()
}

/// One query of one panel.
struct Target {
    panel: String,
    format: String,
    sql: String,
}

/// Every query of every panel, checked to name the data source.
fn targets(dashboards: &[(String, Value)]) -> Vec<Target> {
    let mut out = Vec::new();
    for (path, dashboard) in dashboards {
        let panels = dashboard["panels"].as_array().unwrap();
        assert!(!panels.is_empty(), "{path}: no panels");
        for panel in panels {
            let title = panel["title"].as_str().unwrap().to_owned();
            assert_eq!(panel["datasource"]["uid"], DATASOURCE_UID, "{title}");
            let queries = panel["targets"].as_array().unwrap();
            assert!(!queries.is_empty(), "{title}: no query");
            for query in queries {
                assert_eq!(query["datasource"]["uid"], DATASOURCE_UID, "{title}");
                assert_eq!(query["rawQuery"], true, "{title}");
                out.push(Target {
                    panel: title.clone(),
                    format: query["format"].as_str().unwrap().to_owned(),
                    sql: query["rawSql"].as_str().unwrap().to_owned(),
                });
            }
        }
    }
    out
}

/// The earliest and latest time in the views the panels read.
async fn data_span(url: &str, schema: Option<&str>) -> (i64, i64) {
    let q = schema.map(|s| format!("{s}.")).unwrap_or_default();
    let mut conn = PgConnection::connect(url).await.unwrap();
    let row = sqlx::query(&format!(
        "SELECT CAST(EXTRACT(EPOCH FROM MIN(t)) AS BIGINT), CAST(EXTRACT(EPOCH FROM MAX(t)) AS BIGINT) \
         FROM (SELECT responded_at AS t FROM {q}kz_responses \
         UNION ALL SELECT changed_at FROM {q}kz_member_changes \
         UNION ALL SELECT sent_at FROM {q}kz_messages) AS x"
    ))
    .fetch_one(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    (row.get(0), row.get(1))
}

/// Makes a database (in `schema`, if given) with a mixed workload, a role
/// given `grant-readonly`, writes the Grafana files for it, and runs every
/// query of every panel as that role.
async fn dashboards_run_as_the_read_only_role(admin: &str, schema: Option<&str>) {
    let db = TestDb::postgres(admin).await;
    // The URL the sink is run with; `sslmode=disable`, as on this machine.
    let mut url = format!("{}?sslmode=disable", db.url);
    if let Some(schema) = schema {
        url.push_str(&format!("&schema={schema}"));
    }
    let sink = kaizala_sink::Sink::connect(&url).await.unwrap();
    ingest_support::store_samples(&sink, "gf", 40).await;
    sink.close().await;

    let role = ingest_support::fresh_role(admin, "kz_grafana").await;
    let out = kaizala(&["sql", "grant-readonly", &role, "--db", &url]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("grafana");
    let out = kaizala(&[
        "bi",
        "grafana",
        "--db",
        &url,
        "--role",
        &role,
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    // The data source: where the sink is, as the read-only role, TLS as
    // the URL says, the password from Grafana's environment only.
    let written = yaml(&out_dir.join("provisioning/datasources/kaizala.yaml"));
    assert_eq!(written["apiVersion"], 1);
    let source = &written["datasources"][0];
    assert_eq!(source["type"], "grafana-postgresql-datasource");
    assert_eq!(source["uid"], DATASOURCE_UID);
    let authority = db.url.split('@').nth(1).unwrap().split('/').next().unwrap();
    assert_eq!(source["url"], authority, "{source}");
    assert_eq!(source["user"], role.as_str());
    let database = db.url.rsplit('/').next().unwrap();
    assert_eq!(source["jsonData"]["database"], database);
    assert_eq!(source["jsonData"]["sslmode"], "disable");
    assert_eq!(
        source["secureJsonData"]["password"],
        "$KAIZALA_GRAFANA_PASSWORD"
    );
    let password = admin
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .and_then(|(credentials, _)| credentials.split_once(':'))
        .map(|(_, password)| password)
        .filter(|password| !password.is_empty());
    for (path, content) in files(&out_dir) {
        if let Some(password) = password {
            assert!(!content.contains(password), "{path} holds the password");
        }
    }
    let provider = yaml(&out_dir.join("provisioning/dashboards/kaizala.yaml"));
    assert_eq!(provider["providers"][0]["type"], "file");
    let dashboards_dir = out_dir.join("dashboards");
    assert_eq!(
        provider["providers"][0]["options"]["path"],
        std::path::absolute(&dashboards_dir)
            .unwrap()
            .to_str()
            .unwrap()
    );

    // The dashboards: the four subjects at least.
    let dashboards = dashboards(&dashboards_dir);
    assert!(dashboards.len() >= 3, "{} dashboards", dashboards.len());
    let targets = targets(&dashboards);
    for subject in [
        "Responses per day, per survey",
        "Answer distribution per question",
        "Members joining and leaving per day",
        "Latest messages",
    ] {
        assert!(
            targets.iter().any(|t| t.panel == subject),
            "no panel {subject:?}"
        );
    }

    // Every query, as Grafana sends it, as the role Grafana connects as:
    // rows over a range covering the data, none (when filtered by time)
    // over a range before it.
    let (first, last) = data_span(&db.url, schema).await;
    let covering = TimeRange {
        from: Instant {
            secs: first - 86_400,
            nanos: 250_000_000,
        },
        to: Instant::at(last + 86_400),
    };
    let before = TimeRange {
        from: Instant::at(first - 10 * 86_400),
        to: Instant::at(first - 5 * 86_400),
    };
    let mut reader = PgConnection::connect(&with_user(&db.url, &role))
        .await
        .unwrap();
    for target in &targets {
        if let Some(schema) = schema {
            assert!(
                target.sql.contains(&format!("FROM {schema}.kz_")),
                "{}: the views are not qualified with {schema}: {}",
                target.panel,
                target.sql
            );
        }
        let sql = interpolate(&target.sql, covering)
            .unwrap_or_else(|e| panic!("{}: {e}: {}", target.panel, target.sql));
        assert!(
            !sql.contains('$'),
            "{}: left unexpanded: {sql}",
            target.panel
        );
        let rows = sqlx::query(&sql)
            .fetch_all(&mut reader)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}\n{sql}", target.panel));
        assert!(!rows.is_empty(), "{}: no rows\n{sql}", target.panel);
        let columns: Vec<(String, String)> = rows[0]
            .columns()
            .iter()
            .map(|c| (c.name().to_owned(), c.type_info().name().to_owned()))
            .collect();
        if target.format == "time_series" {
            // Grafana's time series need a `time` column (a timestamp or
            // epoch seconds) and numbers beside `metric`.
            let time = columns.iter().find(|(name, _)| name == "time");
            assert!(
                time.is_some_and(|(_, ty)| {
                    ["TIMESTAMP", "TIMESTAMPTZ", "NUMERIC", "FLOAT8"].contains(&ty.as_str())
                }),
                "{}: no time column: {columns:?}",
                target.panel
            );
            for (name, ty) in &columns {
                if name != "time" && name != "metric" {
                    assert!(
                        ["INT8", "NUMERIC", "FLOAT8", "INT4"].contains(&ty.as_str()),
                        "{}: {name} is {ty}",
                        target.panel
                    );
                }
            }
        } else {
            assert_eq!(target.format, "table", "{}", target.panel);
        }
        if target.sql.contains("$__timeFilter") {
            let sql = interpolate(&target.sql, before).unwrap();
            let rows = sqlx::query(&sql).fetch_all(&mut reader).await.unwrap();
            assert!(
                rows.is_empty(),
                "{}: rows outside the time range\n{sql}",
                target.panel
            );
        }
    }
    reader.close().await.unwrap();

    drop(db);
    try_sql(admin, &format!("DROP ROLE IF EXISTS {role}"))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dashboard_query_runs_as_the_read_only_role() {
    let Some(admin) = ingest_support::postgres_url() else {
        return;
    };
    sqlx::any::install_default_drivers();
    dashboards_run_as_the_read_only_role(&admin, None).await;
    dashboards_run_as_the_read_only_role(&admin, Some("kaizala")).await;
}

/// `kaizala bi grafana` with `args`, in `dir`: the exit status and stderr.
fn grafana(dir: &Path, db: &str, args: &[&str]) -> (bool, String) {
    let out_dir = dir.join("out");
    let mut all = vec![
        "bi",
        "grafana",
        "--db",
        db,
        "--out",
        out_dir.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    let out = kaizala(&all);
    let said = text(&out.stderr);
    assert!(!said.contains("panicked"), "{said}");
    (out.status.success(), said)
}

#[test]
fn tls_settings_reruns_and_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, "a CA certificate").unwrap();
    let db = format!(
        "postgres://writer:s3cret-pw@db.example.org:6543/kz?sslmode=verify-full&sslrootcert={}",
        ca.display()
    );
    let (ok, said) = grafana(dir.path(), &db, &[]);
    assert!(ok, "{said}");
    let source = yaml(&dir.path().join("out/provisioning/datasources/kaizala.yaml"));
    let source = &source["datasources"][0];
    assert_eq!(source["url"], "db.example.org:6543");
    assert_eq!(source["user"], "writer");
    assert_eq!(source["jsonData"]["sslmode"], "verify-full");
    assert_eq!(source["jsonData"]["tlsConfigurationMethod"], "file-path");
    assert_eq!(source["jsonData"]["sslRootCertFile"], ca.to_str().unwrap());
    for (path, content) in files(&dir.path().join("out")) {
        assert!(!content.contains("s3cret-pw"), "{path} holds the password");
    }

    // A rerun replaces its own files; with --ca-file, Grafana's own path.
    let (ok, said) = grafana(
        dir.path(),
        &db,
        &[
            "--ca-file",
            "/etc/grafana/kaizala-ca.pem",
            "--role",
            "grafana",
        ],
    );
    assert!(ok, "{said}");
    let source = yaml(&dir.path().join("out/provisioning/datasources/kaizala.yaml"));
    let source = &source["datasources"][0];
    assert_eq!(
        source["jsonData"]["sslRootCertFile"],
        "/etc/grafana/kaizala-ca.pem"
    );
    assert_eq!(source["user"], "grafana");

    // Someone else's file in the way: one line, and nothing written.
    let foreign = dir.path().join("out/dashboards/kaizala-answers.json");
    std::fs::write(&foreign, "{\"uid\": \"theirs\"}").unwrap();
    let before = files(&dir.path().join("out"));
    let (ok, said) = grafana(dir.path(), &db, &["--role", "other"]);
    assert!(!ok);
    assert!(
        said.contains("was not written by `kaizala bi grafana`"),
        "{said}"
    );
    assert_eq!(said.trim_end().lines().count(), 1, "{said}");
    assert!(files(&dir.path().join("out")) == before, "files changed");
    let (ok, said) = grafana(dir.path(), &db, &["--force"]);
    assert!(ok, "{said}");

    // verify-full needs a CA file Grafana can read; SQLite has no Grafana
    // data source here. One line each.
    for (db, expected) in [
        (
            "postgres://u@db.example.org/kz?sslmode=verify-full".to_owned(),
            "add sslrootcert=FILE",
        ),
        (
            format!("sqlite://{}", dir.path().join("kz.db").display()),
            "needs the sink on PostgreSQL",
        ),
    ] {
        let (ok, said) = grafana(dir.path(), &db, &[]);
        assert!(!ok, "{db}");
        assert!(said.contains(expected), "{db}: {said}");
        assert_eq!(said.trim_end().lines().count(), 1, "{said}");
    }
}
