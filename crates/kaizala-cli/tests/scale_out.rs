//! Several `kaizala ingest` replicas sharing one database store each event
//! exactly once, however its deliveries are spread and raced across them.
//!
//! Two replicas of the real binary run as child processes on loopback
//! (different ports), against one fresh database, as they would behind a
//! load balancer (`docs/scaling.md`). A stream of distinct events (survey
//! responses with three to nine answers, messages, members joining — a few
//! people joining again and again, so concurrent transactions upsert the
//! same `members` rows) is delivered twice or three times over, in a
//! shuffled but fixed order: every event's first two copies go to both
//! replicas at the same moment, some events go to one replica twice at
//! once as well, and some get a third copy later. Every POST must be
//! answered 200. Then the replicas are stopped, and their summaries and
//! the tables are checked: each event in `events` once, with its body as
//! sent, each response, answer, message, member change and member once;
//! the replicas' `stored` counts add up to the number of events and both
//! stored some, so the database really was shared.
//!
//! PostgreSQL when `KAIZALA_TEST_POSTGRES_URL` is set (skipped otherwise,
//! see `docs/testing.md`); an SQLite file shared by two processes on one
//! machine too.

mod ingest_support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ingest_support::events::{Kind, SampleEvent, sample_event};
use ingest_support::{
    Ingest, Summary, TestDb, caught_up, free_port, http_client, post_event, postgres_url,
    projected, scalar, strings,
};

/// Distinct events in the stream.
const EVENTS: u64 = 600;
/// People the members joining are drawn from.
const MEMBERS: u64 = 7;
/// Volleys in flight at once (each two or three POSTs).
const SENDERS: usize = 24;
/// The longest any one POST may take.
const POST_TIMEOUT: Duration = Duration::from_secs(30);

/// The tests start two replicas each: one test at a time keeps the
/// machine's two cores from being shared by four of them.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How the replicas start on the new database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    /// At the same moment: both migrate the empty database at once (as
    /// replicas deployed together do).
    Together,
    /// One after the other.
    InTurn,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_replicas_store_each_event_once() {
    let Some(admin) = postgres_url() else { return };
    let _serial = SERIAL.lock().await;
    scale_out(TestDb::postgres(&admin).await, Start::Together).await;
}

/// SQLite is one machine's database, but two processes on that machine
/// may share its file: the write lock serialises their transactions.
/// sqlx takes no lock around SQLite migrations (on PostgreSQL it takes an
/// advisory lock), so the second replica starts once the first has
/// created the tables.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_replicas_on_one_file_store_each_event_once() {
    let _serial = SERIAL.lock().await;
    scale_out(TestDb::sqlite(), Start::InTurn).await;
}

/// POSTs of one event, sent at the same moment, to these replicas (in
/// this order).
#[derive(Debug, Clone)]
struct Volley {
    event: usize,
    to: Vec<usize>,
}

/// A fixed pseudo-random sequence (SplitMix64): the same plan every run.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Every event to both replicas at once (which one is asked first
/// alternates, so neither wins the races by being first); every eighth to
/// the first of them a second time in the same volley; every eighth
/// (another) again later, alone. Shuffled.
fn plan(events: usize) -> Vec<Volley> {
    let mut volleys = Vec::new();
    for event in 0..events {
        let first = event % 2;
        let other = 1 - first;
        match event % 8 {
            0 => volleys.push(Volley {
                event,
                to: vec![first, other, first],
            }),
            4 => {
                volleys.push(Volley {
                    event,
                    to: vec![first, other],
                });
                volleys.push(Volley {
                    event,
                    to: vec![(event / 8) % 2],
                });
            }
            _ => volleys.push(Volley {
                event,
                to: vec![first, other],
            }),
        }
    }
    let mut random = SplitMix(20_261_123);
    for i in (1..volleys.len()).rev() {
        let j = (random.next() % (i as u64 + 1)) as usize;
        volleys.swap(i, j);
    }
    volleys
}

/// Sends the plan with `SENDERS` volleys in flight; the POSTs not
/// answered 200, and how.
async fn deliver(urls: &[String], events: &[SampleEvent], plan: Vec<Volley>) -> Vec<String> {
    let client = http_client();
    let plan = Arc::new(plan);
    let next = Arc::new(AtomicUsize::new(0));
    let urls = Arc::new(urls.to_vec());
    let bodies: Arc<Vec<(String, bytes::Bytes)>> = Arc::new(
        events
            .iter()
            .map(|e| (e.id.clone(), e.body.clone()))
            .collect(),
    );
    let senders: Vec<_> = (0..SENDERS)
        .map(|_| {
            let (client, plan, next, urls, bodies) = (
                client.clone(),
                Arc::clone(&plan),
                Arc::clone(&next),
                Arc::clone(&urls),
                Arc::clone(&bodies),
            );
            tokio::spawn(async move {
                let mut failures = Vec::new();
                while let Some(volley) = plan.get(next.fetch_add(1, Ordering::Relaxed)) {
                    // The volley's POSTs all at once: tasks of their own,
                    // so they are on the wire together.
                    let mut posts = tokio::task::JoinSet::new();
                    for &replica in &volley.to {
                        let (client, url) = (client.clone(), urls[replica].clone());
                        let body = bodies[volley.event].1.clone();
                        posts.spawn(async move {
                            let outcome =
                                tokio::time::timeout(POST_TIMEOUT, post_event(&client, &url, body))
                                    .await;
                            (replica, outcome)
                        });
                    }
                    while let Some(joined) = posts.join_next().await {
                        let (replica, outcome) = joined.unwrap();
                        let outcome = match outcome {
                            Ok(Ok(200)) => continue,
                            Ok(Ok(status)) => format!("answered {status}"),
                            Ok(Err(err)) => format!("failed: {err}"),
                            Err(_) => format!("no answer within {POST_TIMEOUT:?}"),
                        };
                        failures.push(format!(
                            "{} to replica {replica}: {outcome}",
                            bodies[volley.event].0
                        ));
                    }
                }
                failures
            })
        })
        .collect();
    let mut failures = Vec::new();
    for sender in senders {
        failures.extend(sender.await.unwrap());
    }
    failures
}

/// `key:count` lines, as the checking queries below write them.
fn tally<'a>(keys: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for key in keys {
        *counts.entry(key).or_default() += 1;
    }
    counts.iter().map(|(k, n)| format!("{k}:{n}")).collect()
}

/// Two replicas on `db`, the raced and duplicated stream through both,
/// then the replicas' summaries and the tables checked.
async fn scale_out(db: TestDb, start: Start) {
    let started = Instant::now();
    let kind = db.kind;
    let events: Vec<SampleEvent> = (0..EVENTS)
        .map(|i| sample_event("scale", i, Some(MEMBERS)))
        .collect();
    let plan = plan(events.len());
    let mut posts = [0_u64; 2];
    for volley in &plan {
        for &replica in &volley.to {
            posts[replica] += 1;
        }
    }
    let total_posts = posts[0] + posts[1];

    let replicas = match start {
        Start::Together => {
            let a = Ingest::spawn(
                &db.url,
                ([127, 0, 0, 1], free_port()).into(),
                db.dir.path(),
                "replica-a",
            );
            let b = Ingest::spawn(
                &db.url,
                ([127, 0, 0, 1], free_port()).into(),
                db.dir.path(),
                "replica-b",
            );
            tokio::join!(a.wait_ready(), b.wait_ready());
            [a, b]
        }
        Start::InTurn => {
            let a = Ingest::start(&db.url, free_port(), db.dir.path(), "replica-a").await;
            let b = Ingest::start(&db.url, free_port(), db.dir.path(), "replica-b").await;
            [a, b]
        }
    };
    let urls: Vec<String> = replicas.iter().map(Ingest::url).collect();

    let sending = Instant::now();
    let failures = deliver(&urls, &events, plan).await;
    let sent_in = sending.elapsed();
    assert!(
        failures.is_empty(),
        "{kind}: {} of {total_posts} POSTs not answered 200, first ones: {:#?}\n\
         replica a:\n{}\nreplica b:\n{}",
        failures.len(),
        &failures[..failures.len().min(10)],
        replicas[0].stderr(),
        replicas[1].stderr()
    );

    // The replicas project what they stored, in the background.
    let sink = db.connect().await;
    caught_up(&sink, Duration::from_secs(60)).await;
    sink.close().await;

    let [a, b] = replicas;
    let (a, b) = tokio::join!(a.terminate(), b.terminate());
    let summaries = [Summary::parse(&a), Summary::parse(&b)];
    let projectors = [projected(&a), projected(&b)];
    eprintln!("{kind}: log entries projected by each replica: {projectors:?}");
    assert_eq!(
        projectors[0] + projectors[1],
        EVENTS,
        "{kind}: each event projected once: {projectors:?}"
    );
    if kind == "postgres" {
        assert!(
            projectors.contains(&0),
            "{kind}: exactly one replica projects: {projectors:?}"
        );
    }
    eprintln!(
        "{kind}: {total_posts} POSTs of {EVENTS} events answered 200 in {sent_in:.1?} \
         ({:.0}/s); replica a {:?}, replica b {:?}",
        total_posts as f64 / sent_in.as_secs_f64(),
        summaries[0],
        summaries[1]
    );
    for (replica, summary) in summaries.iter().enumerate() {
        assert_eq!(
            summary.received, posts[replica],
            "{kind}: replica {replica}: {summary:?}"
        );
        assert_eq!(
            summary.stored + summary.duplicates,
            summary.received,
            "{kind}: replica {replica}: every POST stored or a duplicate: {summary:?}"
        );
        assert_eq!(
            summary.quarantined, 0,
            "{kind}: replica {replica}: {summary:?}"
        );
        assert_eq!(summary.refused, 0, "{kind}: replica {replica}: {summary:?}");
        // Sharing, not one replica doing the work: each won some races.
        assert!(
            summary.stored > 0,
            "{kind}: replica {replica} stored nothing: {summary:?}"
        );
    }
    assert_eq!(
        summaries[0].stored + summaries[1].stored,
        EVENTS,
        "{kind}: each event reported new by exactly one replica: {summaries:?}"
    );

    let sink = db.connect().await;
    assert!(sink.status().await.unwrap().is_caught_up());
    assert_eq!(
        scalar(&sink, "SELECT COUNT(*) FROM events").await,
        EVENTS as i64,
        "{kind}: events"
    );
    assert_eq!(
        scalar(&sink, "SELECT COUNT(DISTINCT event_id) FROM events").await,
        EVENTS as i64,
        "{kind}: distinct event ids"
    );
    let mut sent: Vec<&SampleEvent> = events.iter().collect();
    sent.sort_by(|x, y| x.id.cmp(&y.id));
    let ids: Vec<String> = strings(&sink, "SELECT event_id FROM events ORDER BY event_id").await;
    let expected: Vec<&str> = sent.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, expected, "{kind}: the events stored");
    let payloads = strings(&sink, "SELECT payload FROM events ORDER BY event_id").await;
    for (payload, event) in payloads.iter().zip(&sent) {
        assert_eq!(
            payload.as_bytes(),
            &event.body[..],
            "{kind}: the body of {}",
            event.id
        );
    }
    assert_eq!(
        strings(
            &sink,
            "SELECT event_type || ':' || CAST(COUNT(*) AS TEXT) FROM events GROUP BY event_type"
        )
        .await
        .into_iter()
        .collect::<BTreeSet<_>>(),
        tally(events.iter().map(|e| e.kind.event_type())),
        "{kind}: events per type"
    );
    assert_eq!(
        scalar(&sink, "SELECT COUNT(*) FROM quarantine").await,
        0,
        "{kind}: quarantine"
    );

    // The typed tables: each event's rows once.
    let of = |k: Kind| events.iter().filter(move |e| e.kind == k);
    let responses: BTreeSet<String> = strings(&sink, "SELECT response_id FROM responses")
        .await
        .into_iter()
        .collect();
    let expected: BTreeSet<String> = of(Kind::SurveyResponse)
        .map(|e| e.response_id.clone().unwrap())
        .collect();
    assert_eq!(responses, expected, "{kind}: responses");
    assert_eq!(
        scalar(&sink, "SELECT COUNT(*) FROM responses").await as usize,
        of(Kind::SurveyResponse).count(),
        "{kind}: responses"
    );
    let answers: usize = of(Kind::SurveyResponse).map(|e| e.answers).sum();
    assert_eq!(
        scalar(&sink, "SELECT COUNT(*) FROM answers").await as usize,
        answers,
        "{kind}: answers"
    );
    let per_response: BTreeSet<String> = of(Kind::SurveyResponse)
        .map(|e| format!("{}:{}", e.response_id.as_deref().unwrap(), e.answers))
        .collect();
    assert_eq!(
        strings(
            &sink,
            "SELECT response_id || ':' || CAST(COUNT(*) AS TEXT) FROM answers GROUP BY response_id"
        )
        .await
        .into_iter()
        .collect::<BTreeSet<_>>(),
        per_response,
        "{kind}: answers per response"
    );
    let messages: BTreeSet<String> = strings(&sink, "SELECT event_id FROM messages")
        .await
        .into_iter()
        .collect();
    assert_eq!(
        messages,
        of(Kind::TextMessageCreated).map(|e| e.id.clone()).collect(),
        "{kind}: messages"
    );
    assert_eq!(
        scalar(&sink, "SELECT COUNT(*) FROM messages").await as usize,
        messages.len(),
        "{kind}: messages"
    );
    let changes: Vec<String> = strings(
        &sink,
        "SELECT event_id FROM member_changes ORDER BY event_id",
    )
    .await;
    let expected: Vec<String> = of(Kind::MemberAdded).map(|e| e.id.clone()).collect();
    assert_eq!(changes, expected, "{kind}: member changes");
    let members: BTreeSet<String> = strings(&sink, "SELECT member_id FROM members")
        .await
        .into_iter()
        .collect();
    let expected: BTreeSet<String> = of(Kind::MemberAdded)
        .map(|e| e.member_id.clone().unwrap())
        .collect();
    assert_eq!(
        expected.len() as u64,
        MEMBERS,
        "the stream has each person join"
    );
    assert_eq!(members, expected, "{kind}: members");
    assert_eq!(
        scalar(&sink, "SELECT COUNT(*) FROM members").await as usize,
        members.len(),
        "{kind}: members"
    );
    sink.close().await;
    eprintln!("{kind}: passed in {:.1?}", started.elapsed());
}
