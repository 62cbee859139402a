//! `kaizala ingest` on the hardened HTTP front: HTTPS with a CA made for
//! the test, `/metrics` counters moving under load, the connection cap
//! refusing one connection too many while the accepted ones are still
//! acknowledged and stored, and `/readyz` following the database (cut
//! through a TCP proxy and restored) while `/healthz` stays up.
//!
//! The real binary runs as a child process.

mod ingest_support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use http_body_util::Full;
use ingest_support::events::sample_event;
use ingest_support::tls::{https_client, test_ca};
use ingest_support::{
    Ingest, PATH, TOKEN, TestDb, free_port, get, http_client, post_event, postgres_url, scalar,
    send, wait_for,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], free_port()))
}

/// The value of the sample `series` (a name and its labels, as written)
/// in a Prometheus text document.
fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.parse().ok())?
        })
}

/// `/metrics` from `base` (`http://ADDR`).
async fn scrape(base: &str) -> String {
    let (status, text) = get(&http_client(), &format!("{base}/metrics"))
        .await
        .unwrap();
    assert_eq!(status, 200, "{text}");
    text
}

#[tokio::test]
async fn https_with_a_test_ca() {
    let db = TestDb::sqlite();
    let ca = test_ca(db.dir.path());
    let (cert, key) = (
        db.dir.path().join("cert.pem"),
        db.dir.path().join("key.pem"),
    );
    let addr = loopback();
    let ingest = Ingest::spawn_with(
        &db.url,
        addr,
        db.dir.path(),
        "https",
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    let client = https_client(&ca);
    let base = format!("https://localhost:{}", addr.port());
    let validation = format!("{base}{PATH}?validationToken=tls-ok");
    wait_for(
        "the HTTPS validation echo",
        Duration::from_secs(30),
        Duration::from_millis(50),
        || {
            let request = http::Request::get(&validation)
                .body(Full::default())
                .unwrap();
            let client = &client;
            async move {
                match send(client, request).await? {
                    (200, body) if body == "tls-ok" => Ok(()),
                    other => Err(format!("{other:?}")),
                }
            }
        },
    )
    .await;
    assert!(
        ingest
            .stderr()
            .contains(&format!("events at https://{addr}{PATH} ")),
        "{}",
        ingest.stderr()
    );
    for i in 0..5 {
        let request = http::Request::post(format!("{base}{PATH}"))
            .header("content-type", "application/json")
            .header("kz-callback-token", TOKEN)
            .body(Full::new(sample_event("tls", i, None).body))
            .unwrap();
        assert_eq!(send(&client, request).await, Ok((200, String::new())));
    }
    let request = http::Request::get(format!("{base}/healthz"))
        .body(Full::default())
        .unwrap();
    assert_eq!(send(&client, request).await, Ok((200, "ok\n".into())));
    // Plain HTTP to the TLS port gets no answer.
    assert!(
        get(&http_client(), &format!("http://{addr}/healthz"))
            .await
            .is_err()
    );
    // Nor does a client that trusts another CA.
    let stranger = https_client(&test_ca(tempfile::tempdir().unwrap().path()));
    let request = http::Request::get(format!("{base}/healthz"))
        .body(Full::default())
        .unwrap();
    assert!(send(&stranger, request).await.is_err());
    ingest.terminate().await;
    let sink = db.connect().await;
    assert_eq!(scalar(&sink, "SELECT COUNT(*) FROM events").await, 5);
    sink.close().await;
}

/// Opens a connection to `addr` and waits for it to be taken in (it sends
/// nothing, so it holds a slot until the header read timeout).
async fn idle_connection(addr: SocketAddr) -> TcpStream {
    TcpStream::connect(addr).await.unwrap()
}

#[tokio::test]
async fn metrics_move_and_the_cap_refuses_one_too_many() {
    let db = TestDb::sqlite();
    let (addr, metrics_addr) = (loopback(), loopback());
    let ingest = Ingest::spawn_with(
        &db.url,
        addr,
        db.dir.path(),
        "cap",
        &[
            "--max-connections",
            "3",
            "--metrics-listen",
            &metrics_addr.to_string(),
        ],
    );
    ingest.wait_ready().await;
    let metrics_base = format!("http://{metrics_addr}");
    let before = scrape(&metrics_base).await;
    let received = |text: &str| metric(text, "kaizala_webhook_received_total").unwrap();
    assert_eq!(received(&before), 0.0, "{before}");

    // Load: 200 events over 3 connections at most.
    let client = http_client();
    let posting: Vec<_> = (0..3)
        .map(|worker| {
            let (client, url) = (client.clone(), ingest.url());
            tokio::spawn(async move {
                for i in 0..200 / 3 + 1 {
                    let event = sample_event(&format!("load{worker}"), i, None);
                    assert_eq!(post_event(&client, &url, event.body).await, Ok(200));
                }
            })
        })
        .collect();
    let mut during = Vec::new();
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        during.push(received(&scrape(&metrics_base).await));
    }
    for worker in posting {
        worker.await.unwrap();
    }
    let loaded = (200 / 3 + 1) * 3;
    let after = scrape(&metrics_base).await;
    assert_eq!(received(&after), loaded as f64, "{after}");
    assert_eq!(
        metric(&after, "kaizala_webhook_stored_total"),
        Some(loaded as f64)
    );
    // The event store's side of the same events: appended in group
    // commits of one or more, none failed.
    assert_eq!(
        metric(&after, "kaizala_store_events_total"),
        Some(loaded as f64),
        "{after}"
    );
    let commits = metric(&after, "kaizala_store_commits_total").unwrap();
    assert!((1.0..=loaded as f64).contains(&commits), "{after}");
    let largest = metric(&after, "kaizala_store_largest_commit_events").unwrap();
    assert!(
        largest >= 1.0 && largest * commits >= loaded as f64,
        "{after}"
    );
    assert_eq!(
        metric(&after, "kaizala_store_failed_commits_total"),
        Some(0.0),
        "{after}"
    );
    assert!(
        metric(&after, "kaizala_store_projection_waits_total").is_some(),
        "{after}"
    );
    assert!(
        during.windows(2).all(|w| w[0] <= w[1]),
        "counters only go up: {during:?}"
    );
    // The same routes on the main address, through the load's idle
    // connections (they fill the cap).
    let (status, main) = get(&client, &format!("http://{addr}/metrics"))
        .await
        .unwrap();
    assert_eq!(status, 200, "{main}");
    assert!(received(&main) >= loaded as f64, "{main}");
    drop(client);
    // The load's pooled connections close as the client goes, but the
    // server counts them until it sees them closed: the cap is 3, so wait.
    wait_for(
        "the load's connections closed",
        Duration::from_secs(10),
        Duration::from_millis(20),
        || async {
            let text = scrape(&metrics_base).await;
            match metric(&text, "kaizala_front_connections_open{front=\"ingest\"}") {
                Some(0.0) => Ok(()),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await;

    // A new client keeps one connection; two idle ones fill the cap.
    let client = http_client();
    let event = sample_event("capped", 0, None);
    assert_eq!(
        post_event(&client, &ingest.url(), event.body).await,
        Ok(200)
    );
    let held = [idle_connection(addr).await, idle_connection(addr).await];
    wait_for(
        "three open connections",
        Duration::from_secs(10),
        Duration::from_millis(20),
        || async {
            let text = scrape(&metrics_base).await;
            match metric(&text, "kaizala_front_connections_open{front=\"ingest\"}") {
                Some(3.0) => Ok(()),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await;
    let mut refused = TcpStream::connect(addr).await.unwrap();
    let body = sample_event("capped", 99, None).body;
    let request = format!(
        "POST {PATH} HTTP/1.1\r\nhost: x\r\nkz-callback-token: {TOKEN}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    refused.write_all(request.as_bytes()).await.unwrap();
    refused.write_all(&body).await.unwrap();
    let mut answer = String::new();
    refused.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
    let lower = answer.to_ascii_lowercase();
    assert!(lower.contains("\r\nretry-after: 1\r\n"), "{answer}");
    assert!(lower.contains("\r\nconnection: close\r\n"), "{answer}");
    // Meanwhile the accepted connection is still served.
    for i in 1..=5 {
        let event = sample_event("capped", i, None);
        assert_eq!(
            post_event(&client, &ingest.url(), event.body).await,
            Ok(200)
        );
    }
    let text = scrape(&metrics_base).await;
    assert_eq!(
        metric(
            &text,
            "kaizala_front_connections_refused_total{front=\"ingest\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        metric(
            &text,
            "kaizala_front_connections_refused_total{front=\"metrics\"}"
        ),
        Some(0.0),
        "{text}"
    );
    drop(held);
    ingest.terminate().await;
    let sink = db.connect().await;
    let stored = scalar(&sink, "SELECT COUNT(*) FROM events").await;
    assert_eq!(stored, loaded + 6, "the refused one was not stored");
    sink.close().await;
}

/// A TCP proxy to `target` that can be cut (every connection closed, new
/// ones closed at once) and restored.
struct Proxy {
    addr: SocketAddr,
    cut: Arc<AtomicBool>,
    generation: tokio::sync::watch::Sender<u64>,
}

impl Proxy {
    async fn start(target: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let (generation, _) = tokio::sync::watch::channel(0);
        let (flag, cuts) = (Arc::clone(&cut), generation.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if flag.load(Ordering::SeqCst) {
                    continue; // dropped: closed at once
                }
                let target = target.clone();
                let mut cuts = cuts.subscribe();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cuts.changed() => {}
                    }
                });
            }
        });
        Proxy {
            addr,
            cut,
            generation,
        }
    }

    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

/// `host:port` of a `postgres://user:password@host:port/db` URL.
fn authority(url: &str) -> (String, usize, usize) {
    let start = url
        .find('@')
        .map_or(url.find("://").unwrap() + 3, |at| at + 1);
    let end = url[start..]
        .find(['/', '?'])
        .map_or(url.len(), |i| start + i);
    (url[start..end].to_owned(), start, end)
}

async fn expect(client: &ingest_support::Http, url: &str, status: u16, what: &str) -> String {
    wait_for(
        what,
        Duration::from_secs(30),
        Duration::from_millis(100),
        || async move {
            match get(client, url).await {
                Ok((s, body)) if s == status => Ok(body),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await
}

#[tokio::test]
async fn readyz_follows_the_database() {
    let Some(admin) = postgres_url() else { return };
    let db = TestDb::postgres(&admin).await;
    let (target, start, end) = authority(&db.url);
    let proxy = Proxy::start(target).await;
    let proxied = format!("{}{}{}", &db.url[..start], proxy.addr, &db.url[end..]);
    let addr = loopback();
    let ingest = Ingest::spawn_with(&proxied, addr, db.dir.path(), "ready", &[]);
    ingest.wait_ready().await;
    let client = http_client();
    let (healthz, readyz) = (
        format!("http://{addr}/healthz"),
        format!("http://{addr}/readyz"),
    );
    expect(&client, &readyz, 200, "ready").await;

    proxy.cut();
    let why = expect(&client, &readyz, 503, "not ready while the database is cut").await;
    assert!(why.starts_with("not ready: database: "), "{why}");
    assert_eq!(why.trim_end().lines().count(), 1, "{why}");
    assert_eq!(get(&client, &healthz).await, Ok((200, "ok\n".into())));
    let metrics = scrape(&format!("http://{addr}")).await;
    assert_eq!(
        metric(&metrics, "kaizala_database_up"),
        Some(0.0),
        "{metrics}"
    );

    proxy.restore();
    expect(&client, &readyz, 200, "ready again once restored").await;
    let event = sample_event("ready", 0, None);
    assert_eq!(
        post_event(&client, &ingest.url(), event.body).await,
        Ok(200)
    );
    assert_eq!(get(&client, &healthz).await, Ok((200, "ok\n".into())));
    ingest.terminate().await;
}

#[tokio::test]
async fn readyz_says_when_the_projection_lags() {
    let db = TestDb::sqlite();
    let addr = loopback();
    let ingest = Ingest::spawn_with(
        &db.url,
        addr,
        db.dir.path(),
        "lag",
        &["--no-project", "--ready-max-lag", "2"],
    );
    ingest.wait_ready().await;
    let client = http_client();
    let readyz = format!("http://{addr}/readyz");
    expect(&client, &readyz, 200, "ready with nothing logged").await;
    for i in 0..3 {
        let event = sample_event("lag", i, None);
        assert_eq!(
            post_event(&client, &ingest.url(), event.body).await,
            Ok(200)
        );
    }
    let why = expect(&client, &readyz, 503, "not ready with 3 unprojected").await;
    assert_eq!(
        why,
        "not ready: projection lag 3 log entries is over --ready-max-lag 2 log entries\n"
    );
    ingest.terminate().await;
}
