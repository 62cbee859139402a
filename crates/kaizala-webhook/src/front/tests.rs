use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::*;

/// Answers `hello`, after holding the request `hold` long.
fn hello(hold: Duration) -> impl FrontService {
    service_fn(move |_request| async move {
        tokio::time::sleep(hold).await;
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from("hello"))))
    })
}

async fn start(config: FrontConfig, hold: Duration) -> Front {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    serve(listener, hello(hold), config)
}

/// One `GET /` with `Connection: close` on `stream`: the whole answer.
async fn get<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S) -> String {
    stream
        .write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    String::from_utf8_lossy(&answer).into_owned()
}

/// `n` slow requests on `front`, once they are all open: their answers.
async fn occupy(front: &Front, n: u64) -> Vec<tokio::task::JoinHandle<String>> {
    let addr = front.local_addr();
    let held = (0..n)
        .map(|_| tokio::spawn(async move { get(TcpStream::connect(addr).await.unwrap()).await }))
        .collect();
    let counters = Arc::clone(front.counters());
    wait_until("they are open", || counters.snapshot().open == n).await;
    held
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..500 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting until {what}");
}

#[tokio::test]
async fn over_the_cap_is_answered_503_and_counted() {
    let front = start(
        FrontConfig::new().max_connections(2),
        Duration::from_secs(2),
    )
    .await;
    let addr = front.local_addr();
    let counters = Arc::clone(front.counters());
    let held = occupy(&front, 2).await;

    let started = std::time::Instant::now();
    let refused = get(TcpStream::connect(addr).await.unwrap()).await;
    assert!(
        refused.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
        "{refused}"
    );
    let lower = refused.to_ascii_lowercase();
    assert!(lower.contains("\r\nretry-after: 1\r\n"), "{refused}");
    assert!(lower.contains("\r\nconnection: close\r\n"), "{refused}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "answered at once, not queued"
    );

    for answer in held {
        let answer = answer.await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    }
    wait_until("both are closed", || counters.snapshot().open == 0).await;
    let after = get(TcpStream::connect(addr).await.unwrap()).await;
    assert!(after.starts_with("HTTP/1.1 200 OK\r\n"), "{after}");
    let counted = counters.snapshot();
    assert_eq!((counted.accepted, counted.refused), (3, 1), "{counted:?}");
    front.shutdown().await;
}

#[tokio::test]
async fn a_refused_post_gets_its_answer() {
    let front = start(
        FrontConfig::new().max_connections(1),
        Duration::from_secs(2),
    )
    .await;
    let held = occupy(&front, 1).await;
    let mut stream = TcpStream::connect(front.local_addr()).await.unwrap();
    let body = "x".repeat(20_000);
    let request = format!(
        "POST / HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
    for answer in held {
        answer.await.unwrap();
    }
    front.shutdown().await;
}

/// A CA, and a server certificate for `localhost` and 127.0.0.1 that it
/// signed, as PEM files in `dir`; the CA's certificate.
fn certificates(dir: &std::path::Path) -> rcgen::Certificate {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    std::fs::write(dir.join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
    ca_cert
}

fn connector(ca: &rcgen::Certificate) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der().clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

#[tokio::test]
async fn serves_https_and_a_stalled_handshake_holds_up_no_one() {
    let dir = tempfile::tempdir().unwrap();
    let ca = certificates(dir.path());
    let tls = TlsConfig::from_pem_files(&dir.path().join("cert.pem"), &dir.path().join("key.pem"))
        .unwrap();
    let config = FrontConfig::new()
        .tls(tls)
        .handshake_timeout(Duration::from_millis(300));
    let front = start(config, Duration::ZERO).await;
    let addr = front.local_addr();
    assert_eq!(front.url("/x"), format!("https://{addr}/x"));

    // A client that connects and never says a word, and one that speaks
    // plain HTTP to the TLS port.
    let _silent = TcpStream::connect(addr).await.unwrap();
    let plain = get(TcpStream::connect(addr).await.unwrap()).await;
    assert!(!plain.contains("hello"), "{plain}");

    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let stream = TcpStream::connect(addr).await.unwrap();
    let stream = tokio::time::timeout(
        Duration::from_millis(200),
        connector(&ca).connect(name, stream),
    )
    .await
    .expect("served while another handshake stalls")
    .unwrap();
    let answer = get(stream).await;
    assert!(
        answer.starts_with("HTTP/1.1 200 OK\r\n") && answer.ends_with("hello"),
        "{answer}"
    );
    let counters = Arc::clone(front.counters());
    wait_until("both bad handshakes are counted", || {
        counters.snapshot().tls_failed == 2
    })
    .await;

    // A client trusting another CA gets no answer.
    let other = certificates(tempfile::tempdir().unwrap().path());
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let stream = TcpStream::connect(addr).await.unwrap();
    assert!(connector(&other).connect(name, stream).await.is_err());
    front.shutdown().await;
}

#[tokio::test]
async fn shutdown_lets_a_request_in_flight_finish() {
    let front = start(FrontConfig::new(), Duration::from_millis(300)).await;
    let addr = front.local_addr();
    let in_flight = tokio::spawn(async move { get(TcpStream::connect(addr).await.unwrap()).await });
    let counters = Arc::clone(front.counters());
    wait_until("it is open", || counters.snapshot().open == 1).await;
    // Into the service, not just connected.
    tokio::time::sleep(Duration::from_millis(100)).await;
    front.shutdown().await;
    let answer = in_flight.await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(TcpStream::connect(addr).await.is_err());
}
