//! End to end: `kaizala serve` (the binary) over a database filled by the
//! sink's event store, read with pyodata from PyPI
//! (`tests/odata_feed/read_feed.py`): `$metadata` and every entity set
//! (the stable views and a survey pivot view), each read whole through
//! server-driven pages; filtered, ordered and paged queries; `$count` —
//! each equal to what SQL through the sink says. With a token, bound off
//! loopback; refused without one. SQLite over HTTPS (a CA made for the
//! test, which pyodata's `requests` trusts through `REQUESTS_CA_BUNDLE`),
//! and PostgreSQL, when configured, over plain HTTP.
//!
//! pyodata is Python's: `KAIZALA_TEST_PYTHON` names a Python that imports
//! it (`cargo xtask test` makes one in `target/test-venv`); without it the
//! test is skipped, unless `KAIZALA_TEST_REQUIRE_SERVICES=1`.

mod ingest_support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use ingest_support::events::SURVEY;
use ingest_support::tls::{Https, https_client, test_ca};
use ingest_support::{
    TestDb, free_port, get, http_client, output_with_input, postgres_url, send, test_python,
    wait_for,
};
use kaizala_sink::Sink;
use serde_json::{Value, json};
use sqlx::Row;

const TOKEN: &str = "odata-feed-test-token-5d1f";
/// Small, so that every set with rows spans several pages.
const PAGE_SIZE: u64 = 7;

#[tokio::test]
async fn pyodata_reads_the_feed_as_the_database_has_it() {
    let Some(python) = test_python("pyodata") else {
        return;
    };
    let mut dbs = vec![TestDb::sqlite()];
    if let Some(url) = postgres_url() {
        dbs.push(TestDb::postgres(&url).await);
    }
    for db in dbs {
        let sink = db.connect().await;
        ingest_support::store_samples(&sink, "odata", 40).await;
        let pivot = sink.keep_pivot_view(SURVEY, None).await.unwrap();
        let tls = db.kind == "sqlite";
        let server = Serve::start(&db.url, db.dir.path(), tls).await;
        let report = read_feed(
            &python,
            &server.url,
            TOKEN,
            &queries(&pivot),
            server.ca.as_deref(),
        );
        check_entity_sets(&sink, &report, &pivot, db.kind).await;
        check_queries(&sink, &report, &pivot, db.kind).await;

        // The same feed without the token: 401.
        let (status, body) = server.get("kz_responses").await.unwrap();
        assert_eq!(status, 401, "{}: {body}", db.kind);
        drop(server);
        sink.close().await;
    }
}

#[test]
fn off_loopback_it_refuses_to_start_without_a_credential() {
    let db = TestDb::sqlite();
    let listen = format!("0.0.0.0:{}", free_port());
    let output = Command::new(env!("CARGO_BIN_EXE_kaizala"))
        .args(["serve", "--db", &db.url, "--listen", &listen])
        .env_remove("KAIZALA_SERVE_TOKEN")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "refusing to serve {listen} off loopback without a credential"
        )),
        "{stderr}"
    );
}

/// `kaizala serve` on every address with [`TOKEN`] from the environment;
/// killed when dropped.
struct Serve {
    child: Child,
    /// The service root, `http://127.0.0.1:PORT/odata/` (or
    /// `https://localhost:PORT/odata/`).
    url: String,
    /// Over TLS: the test CA's certificate file, and a client trusting it.
    ca: Option<std::path::PathBuf>,
    https: Option<Https>,
}

impl Serve {
    /// Started with a certificate of a CA made for the test when `tls`.
    async fn start(db: &str, dir: &Path, tls: bool) -> Serve {
        let port = free_port();
        let log = std::fs::File::create(dir.join("serve.log")).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_kaizala"));
        command
            .args(["serve", "--db", db, "--listen", &format!("0.0.0.0:{port}")])
            .args(["--page-size", &PAGE_SIZE.to_string()])
            .env("KAIZALA_SERVE_TOKEN", TOKEN);
        let https = tls.then(|| {
            let ca = test_ca(dir);
            command
                .arg("--tls-cert")
                .arg(dir.join("cert.pem"))
                .arg("--tls-key")
                .arg(dir.join("key.pem"));
            https_client(&ca)
        });
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let server = Serve {
            child,
            url: if tls {
                format!("https://localhost:{port}/odata/")
            } else {
                format!("http://127.0.0.1:{port}/odata/")
            },
            ca: tls.then(|| dir.join("ca.pem")),
            https,
        };
        wait_for(
            "kaizala serve",
            Duration::from_secs(30),
            Duration::from_millis(50),
            // Answering at all (401 without the token) is up.
            || async { server.get("").await.map(|_| ()) },
        )
        .await;
        server
    }

    /// `GET` of `path` under the service root, without credentials.
    async fn get(&self, path: &str) -> Result<(u16, String), String> {
        let url = format!("{}{path}", self.url);
        match &self.https {
            Some(https) => {
                let request = http::Request::get(&url)
                    .body(Full::new(Bytes::new()))
                    .unwrap();
                send(https, request).await
            }
            None => get(&http_client(), &url).await,
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The queries the reader runs: (label, entity set, options).
fn queries(pivot: &str) -> Value {
    json!([
        ["responses", "kz_responses", {
            "select": "response_id,responded_at,is_anonymous",
            "filter": "is_anonymous eq false and responded_at gt 2020-01-01T00:00:00Z \
                       and not startswith(response_id,'odata-r1')",
            "orderby": "response_id desc",
            "top": 12, "skip": 2}],
        ["answers", "kz_answers", {
            // Not number_value itself: pyodata reads a null Edm.Double as 0.0.
            "select": "response_id,question_index,question_type",
            "filter": "(question_type eq 'Numeric' and number_value ge 5) or question_index eq 6",
            "orderby": "number_value desc,response_id"}],
        ["pivot", pivot, {
            "select": "response_id,rice_1kg",
            "filter": "rice_1kg lt 10.5 and retailer_outlet eq 'ABC Traders'",
            "orderby": "rice_1kg,response_id"}],
    ])
}

/// What the reader read at `url` with `token`, running `queries`, as JSON;
/// trusting the CA of the file `ca` (and no other) when given.
fn read_feed(python: &Path, url: &str, token: &str, queries: &Value, ca: Option<&Path>) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/odata_feed/read_feed.py");
    let mut command = Command::new(python);
    if let Some(ca) = ca {
        command.env("REQUESTS_CA_BUNDLE", ca);
    }
    let output = output_with_input(
        command.arg(&script).args([url, token]),
        queries.to_string().as_bytes(),
    );
    assert!(
        output.status.success(),
        "read_feed.py failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Each row of `sql` as JSON values (text, integers, doubles, nulls).
async fn rows(sink: &Sink, sql: &str) -> Vec<Vec<Value>> {
    use sqlx::ValueRef;
    let rows = sqlx::query(sql)
        .fetch_all(sink.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.iter()
        .map(|row| {
            (0..row.len())
                .map(|i| {
                    if row.try_get_raw(i).unwrap().is_null() {
                        Value::Null
                    } else if let Ok(n) = row.try_get::<i64, _>(i) {
                        json!(n)
                    } else if let Ok(x) = row.try_get::<f64, _>(i) {
                        json!(x)
                    } else {
                        json!(row.get::<String, _>(i))
                    }
                })
                .collect()
        })
        .collect()
}

/// Every entity set, read whole through its pages: its rows' keys and
/// `$count` are the view's.
async fn check_entity_sets(sink: &Sink, report: &Value, pivot: &str, kind: &str) {
    let model = sink.odata_model().await.unwrap();
    let read = report["entity_sets"].as_object().unwrap();
    let mut names: Vec<&str> = model.sets().iter().map(|set| set.name()).collect();
    let mut got: Vec<&str> = read.keys().map(String::as_str).collect();
    names.sort_unstable();
    got.sort_unstable();
    assert_eq!(got, names, "{kind}");
    assert!(names.contains(&pivot), "{kind}: {names:?}");
    let mut paged = 0;
    for set in model.sets() {
        let name = set.name();
        let entry = &read[name];
        let count = rows(sink, &format!("SELECT COUNT(*) FROM \"{name}\"")).await[0][0]
            .as_u64()
            .unwrap();
        assert_eq!(entry["count"], json!(count), "{kind}: {name} $count");
        assert_eq!(entry["rows"], json!(count), "{kind}: {name} rows");
        let pages = count.div_ceil(PAGE_SIZE).max(1);
        assert_eq!(entry["pages"], json!(pages), "{kind}: {name} pages");
        paged += u64::from(pages > 1);
        assert_eq!(entry["key"], json!(set.key()), "{kind}: {name} key");
        let columns: Vec<String> = set
            .key()
            .iter()
            .map(|k| format!("CAST(\"{k}\" AS TEXT)"))
            .collect();
        let sql = format!("SELECT {} FROM \"{name}\"", columns.join(", "));
        let mut keys: Vec<String> = rows(sink, &sql)
            .await
            .iter()
            .map(|row| {
                row.iter()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect();
        keys.sort();
        assert_eq!(entry["keys"], json!(keys), "{kind}: {name} keys");
    }
    assert!(paged >= 4, "{kind}: only {paged} sets spanned pages");
}

/// The filtered, ordered, paged queries: the rows of hand-written SQL.
async fn check_queries(sink: &Sink, report: &Value, pivot: &str, kind: &str) {
    let cases = [
        (
            "responses",
            "SELECT response_id, responded_at, is_anonymous FROM responses \
             WHERE is_anonymous = 0 AND responded_at > 1577836800000 \
             AND response_id NOT LIKE 'odata-r1%' ORDER BY response_id DESC",
            Some((12, 2)),
        ),
        (
            "answers",
            "SELECT response_id, question_index, question_type FROM kz_answers \
             WHERE (question_type = 'Numeric' AND number_value >= 5) OR question_index = 6 \
             ORDER BY number_value DESC, response_id, question_index",
            None,
        ),
        (
            "pivot",
            &format!(
                "SELECT response_id, rice_1kg FROM \"{pivot}\" \
                 WHERE rice_1kg < 10.5 AND retailer_outlet = 'ABC Traders' \
                 ORDER BY rice_1kg, response_id"
            ),
            None,
        ),
    ];
    for (label, sql, page) in cases {
        let got = &report["queries"][label];
        let all = rows(sink, sql).await;
        let want: Vec<Vec<Value>> = match page {
            Some((top, skip)) => all.iter().skip(skip).take(top).cloned().collect(),
            None => all.clone(),
        };
        assert!(want.len() >= 3, "{kind}: {label}: too few rows to tell");
        // Flags come back as booleans, the raw table's 0/1 as integers.
        let mut got_rows: Vec<Vec<Value>> = serde_json::from_value(got["rows"].clone()).unwrap();
        for row in &mut got_rows {
            for value in row.iter_mut() {
                if let Value::Bool(b) = value {
                    *value = json!(i64::from(*b));
                }
            }
        }
        let differs = got_rows.iter().zip(&want).position(|(g, w)| g != w);
        assert_eq!(
            got_rows,
            want,
            "{kind}: {label}: first difference at {differs:?}: {:?}",
            differs.map(|i| (&got_rows[i], &want[i]))
        );
        assert_eq!(
            got["total"],
            json!(all.len()),
            "{kind}: {label} @odata.count"
        );
        assert_eq!(got["count"], json!(all.len()), "{kind}: {label} $count");
        let pages = (want.len() as u64).div_ceil(PAGE_SIZE).max(1);
        assert_eq!(got["pages"], json!(pages), "{kind}: {label} pages");
    }
}
