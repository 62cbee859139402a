//! End to end: a database filled by the real pipeline, `kaizala dashboard`
//! serving it (the binary, as a child process), and headless Chromium
//! loading the page: the numbers it shows must be the database's, the page
//! must log no error, and a screenshot is kept to look at
//! (`target/dashboard-screenshot.png`).
//!
//! Needs Chromium: `KAIZALA_TEST_CHROMIUM` (set by `cargo xtask test`);
//! skipped without it, unless `KAIZALA_TEST_REQUIRE_SERVICES=1`.

#[path = "support/chromium.rs"]
mod chromium;
mod ingest_support;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use kaizala_sink::{Counts, Dashboard, Sink, Table};
use kaizala_webhook::store::{EventStore, IncomingEvent, QuarantinedBody};
use scraper::{ElementRef, Html, Selector};
use serde_json::{Value, json};

use crate::chromium::BrowserLog;

const KAIZALA: &str = env!("CARGO_BIN_EXE_kaizala");

/// How the test database is filled: by `kaizala demo` (the emulator's
/// webhook deliveries through the receiver), or, while the demo cannot,
/// by storing events made from `kaizala-types`' fixtures.
const FILL: Fill = Fill::Demo;

/// Virtual time the page gets before its DOM is read: the first fetch,
/// then two refreshes (every 5 s).
const PAGE_TIME: Duration = Duration::from_secs(12);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(dead_code)]
enum Fill {
    Demo,
    Fixtures,
}

// ------------------------------------------------------------------- tests

#[test]
fn the_page_shows_what_the_database_holds() {
    let Some(browser) = chromium::chromium() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    match FILL {
        Fill::Demo => fill_with_demo(&db),
        Fill::Fixtures => fill_with_fixtures(&db),
    }
    // Data from outside is text, never markup.
    add_event(
        &db,
        &text_message(HOSTILE_TEXT, "Mallory", SystemTime::now()),
    );
    set_time_zone(&db, "Asia/Kolkata");
    let expected = Expected::read(&db);
    assert_eq!(expected.dashboard.time_zone, "Asia/Kolkata");
    assert!(
        expected.counts.get(Table::Responses) > 0,
        "no responses stored"
    );
    assert!(!expected.dashboard.answer_distribution.is_empty());

    let server = DashboardProcess::start(&db);
    let (dom, log) = browser.dump_dom(&server.url, PAGE_TIME);
    let page = Html::parse_document(&dom);
    assert_no_problems(&page, &log, &dom);
    assert_eq!(attr(&one(&page, "#status"), "data-state"), "ok");
    let refreshes: u32 = attr(&one(&page, "body"), "data-refreshes").parse().unwrap();
    assert!(
        refreshes >= 2,
        "the page fetched the data {refreshes} times, not every 5 s"
    );

    check_metrics(&page, &expected.counts);
    let exported_responses = export(&db, "responses");
    assert_eq!(
        metric(&page, "responses"),
        exported_responses.len() as u64,
        "the responses headline is not the number of rows `kaizala export` writes"
    );
    check_events_per_hour(&page, &expected.dashboard);
    check_responses_over_time(&page, &expected.dashboard);
    check_answers(&page, &export(&db, "answer_distribution"));
    check_messages(&page, &expected.dashboard);

    let screenshot = screenshot_path();
    let log = browser.screenshot(&server.url, &screenshot, (1280, 1600), PAGE_TIME);
    let console = log.console();
    assert!(
        console.is_empty(),
        "console messages while taking the screenshot: {console:#?}"
    );
    check_png(&screenshot, (1280, 1600));
    println!("screenshot: {}", screenshot.display());

    server.assert_no_failed_requests();
}

#[test]
fn an_empty_database_shows_zeros_and_empty_states() {
    let Some(browser) = chromium::chromium() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("empty.db");
    // A writer makes the empty sink (the dashboard only reads).
    runtime().block_on(async {
        Sink::connect(db.to_str().unwrap())
            .await
            .unwrap()
            .close()
            .await;
    });
    let server = DashboardProcess::start(&db);
    let (dom, log) = browser.dump_dom(&server.url, PAGE_TIME);
    let page = Html::parse_document(&dom);
    assert_no_problems(&page, &log, &dom);
    assert_eq!(attr(&one(&page, "#status"), "data-state"), "ok");
    for name in ["events", "responses", "actions", "messages", "quarantined"] {
        assert_eq!(metric(&page, name), 0, "{name}");
    }
    for panel in [
        "events-per-hour",
        "responses-over-time",
        "answer-distribution",
        "latest-messages",
    ] {
        let empty = one(&page, &format!("#empty-{panel}"));
        assert!(empty.attr("hidden").is_none(), "no empty state for {panel}");
        assert!(!text(&empty).is_empty());
    }
    assert_eq!(all(&page, "#chart-events-per-hour rect").len(), 0);
    assert_eq!(all(&page, "#latest-messages tbody tr").len(), 0);
    server.assert_no_failed_requests();
}

/// The checks above can fail: a page that throws, rejects a promise, breaks
/// the Content-Security-Policy and loads a missing image is caught both by
/// what the page records and by the browser's log.
#[test]
fn the_error_checks_catch_a_broken_page() {
    let Some(browser) = chromium::chromium() else {
        return;
    };
    let server = BrokenSite::start();
    let (dom, log) = browser.dump_dom(&server.url(), Duration::from_secs(3));
    let page = Html::parse_document(&dom);
    let recorded = text(&one(&page, "#page-errors"));
    for kind in [
        "error: Uncaught TypeError",
        "unhandledrejection: Error: rejected on purpose",
        "csp: style-src",
        "resource: img /missing.png did not load",
        "console.error: logged on purpose",
    ] {
        assert!(
            recorded.contains(kind),
            "the page did not record {kind:?}:\n{recorded}"
        );
    }
    let console = log.console().join("\n");
    for message in [
        "Uncaught TypeError",
        "Uncaught (in promise) Error: rejected on purpose",
        "violates the following Content Security Policy directive",
        "logged on purpose",
    ] {
        assert!(
            console.contains(message),
            "the log lacks {message:?}:\n{}",
            log.text
        );
    }
    assert!(!problems(&page, &log).is_empty());
}

// ------------------------------------------------------------ filling the db

/// `kaizala demo`: the emulator delivers webhook events to the receiver,
/// which stores them.
fn fill_with_demo(db: &Path) {
    let db = db.to_str().unwrap();
    kaizala(&["demo", "--no-serve", "--responses", "200", "--db", db]);
}

/// Runs `kaizala ARGS…`, which must succeed.
fn kaizala(args: &[&str]) {
    let output = ingest_support::kaizala(args);
    assert!(
        output.status.success(),
        "kaizala {} failed ({}):\n{}{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Events made from the fixtures, stored through the sink's event store
/// (what the webhook receiver calls): two actions with option questions,
/// their responses over four days, text messages, members, and two bodies
/// that were not events.
fn fill_with_fixtures(db: &Path) {
    let now = SystemTime::now();
    let minutes = |n: u64| now - Duration::from_secs(60 * n);
    let mut random = Lcg(7);
    let mut events = vec![
        action("a-store-visit", "Store visit", minutes(6000)),
        action("a-lunch-poll", "Team lunch", minutes(5000)),
    ];
    let outlets = [
        "ABC Traders",
        "BCD Distributors",
        "EFG Wholesale",
        "Sharma Kirana",
    ];
    let products = ["Rice 1KG", "Rice 5KG", "Fruit juice 250ml", "Biscuits"];
    let shelves = ["Well stocked", "Partly stocked", "Empty"];
    for i in 0..150u64 {
        let outlet = outlets[random.below(outlets.len())];
        let shelf = shelves[random.below(shelves.len())];
        let shown: Vec<&str> = products
            .iter()
            .copied()
            .filter(|_| random.below(3) > 0)
            .collect();
        let questions = json!([
            single("Retailer outlet", &outlets, outlet),
            single("Shelf condition", &shelves, shelf),
            {"title": "Products on display", "type": "MultiOption",
             "options": products.iter().map(|p| json!({"title": p})).collect::<Vec<_>>(),
             "answer": shown},
            {"title": "Rice 1KG cartons", "type": "Numeric", "answer": random.below(40)},
        ]);
        events.push(response(
            "a-store-visit",
            i,
            questions,
            minutes(5400 - i * 35),
        ));
    }
    let places = ["Dosa corner", "Biryani house", "Salad bar"];
    for i in 0..45u64 {
        let place = places[random.below(places.len())];
        let questions = json!([single("Where shall we go?", &places, place)]);
        events.push(response(
            "a-lunch-poll",
            i,
            questions,
            minutes(3000 - i * 50),
        ));
    }
    let people = ["Asha Rao", "Vikram Singh", "Meera Iyer", "Rahul Das"];
    let texts = [
        "Reached the outlet, stock looks fine.",
        "Shelf at BCD is empty again — please escalate.",
        "Uploaded the photos from today's visits.",
        "Can someone cover the Sharma Kirana visit tomorrow?",
        "Thanks all, great week!",
    ];
    for i in 0..30u64 {
        let sender = people[random.below(people.len())];
        let text = texts[random.below(texts.len())];
        events.push(text_message(text, sender, minutes(4000 - i * 130)));
    }
    for (i, name) in people.iter().enumerate() {
        let mut event = fixture("Event--eventschema-memberadded-memberremoved");
        event["eventType"] = json!("MemberAdded");
        event["eventId"] = json!(format!("member-added-{i}"));
        event["objectId"] = json!(GROUP);
        event["data"]["member"] = json!(format!("+9100000000{i}"));
        event["data"]["memberName"] = json!(name);
        events.push((event, minutes(6100 - i as u64)));
    }
    runtime().block_on(async {
        let sink = Sink::connect(db.to_str().unwrap()).await.unwrap();
        let store = sink.event_store();
        for (json, received_at) in &events {
            store.store(&incoming(json, *received_at)).await.unwrap();
        }
        for (i, body) in [&b"not json"[..], br#"{"hello": "world"}"#]
            .iter()
            .enumerate()
        {
            store
                .quarantine(&QuarantinedBody {
                    body: bytes::Bytes::copy_from_slice(body),
                    reason_code: "not_an_event",
                    reason: format!("test body {i}"),
                    received_at: minutes(100),
                })
                .await
                .unwrap();
        }
        sink.project().await.unwrap();
        sink.close().await;
    });
}

const GROUP: &str = "g-field-team";

/// A message whose text would do things if it were taken as markup.
const HOSTILE_TEXT: &str =
    r#"<img src="/x.png" onerror="alert(1)"> <b>not bold</b> & "quoted" </td>"#;

/// An event as JSON, and when it was received.
type Timed = (Value, SystemTime);

fn action(action_id: &str, title: &str, at: SystemTime) -> Timed {
    let mut event = fixture("Event--eventschema-jobcreated");
    event["eventId"] = json!(format!("created-{action_id}"));
    event["objectId"] = json!(GROUP);
    event["data"]["actionId"] = json!(action_id);
    event["data"]["groupId"] = json!(GROUP);
    event["data"]["title"] = json!(title);
    (event, at)
}

fn response(action_id: &str, n: u64, questions: Value, at: SystemTime) -> Timed {
    let mut event = fixture("Event--eventschema-surveyresponse-actionresponse");
    event["eventId"] = json!(format!("response-{action_id}-{n}"));
    event["objectId"] = json!(GROUP);
    event["data"]["actionId"] = json!(action_id);
    event["data"]["groupId"] = json!(GROUP);
    event["data"]["responseId"] = json!(format!("r-{action_id}-{n}"));
    event["data"]["responseDetails"] = json!({ "responseWithQuestions": questions });
    (event, at)
}

fn single(title: &str, options: &[&str], answer: &str) -> Value {
    json!({
        "title": title,
        "type": "SingleOption",
        "options": options.iter().map(|o| json!({"title": o})).collect::<Vec<_>>(),
        "answer": [answer],
    })
}

fn text_message(text: &str, sender: &str, at: SystemTime) -> Timed {
    let at_ms = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let mut event = fixture("Event--eventschema-textmessagecreated");
    event["eventId"] = json!(format!("message-{at_ms}"));
    event["objectId"] = json!(GROUP);
    event["data"]["text"] = json!(text);
    event["fromUserName"] = json!(sender);
    (event, at)
}

/// Stores one more event in the database at `db`.
fn add_event(db: &Path, (json, received_at): &Timed) {
    runtime().block_on(async {
        let sink = Sink::connect(db.to_str().unwrap()).await.unwrap();
        sink.event_store()
            .store(&incoming(json, *received_at))
            .await
            .unwrap();
        sink.project().await.unwrap();
        sink.close().await;
    });
}

fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../kaizala-types/tests/fixtures")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn incoming(json: &Value, received_at: SystemTime) -> IncomingEvent {
    let body = serde_json::to_vec(json).unwrap();
    IncomingEvent::new(body, received_at).unwrap()
}

/// A small deterministic random number generator.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

// --------------------------------------------------------- what to expect

/// What the database holds, read through the sink.
struct Expected {
    counts: Counts,
    dashboard: Dashboard,
}

impl Expected {
    fn read(db: &Path) -> Expected {
        runtime().block_on(async {
            let sink = Sink::connect(db.to_str().unwrap()).await.unwrap();
            let expected = Expected {
                counts: sink.counts().await.unwrap(),
                dashboard: sink.dashboard().await.unwrap(),
            };
            sink.close().await;
            expected
        })
    }
}

/// Asia/Kolkata's offset from UTC, fixed since 1945.
const KOLKATA_OFFSET_MS: i64 = 19_800_000;

/// `kaizala sql set-timezone ZONE`.
fn set_time_zone(db: &Path, zone: &str) {
    kaizala(&["sql", "set-timezone", zone, "--db", db.to_str().unwrap()]);
}

/// The rows of a table or view, as `kaizala export --format json` writes
/// them.
fn export(db: &Path, table: &str) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join(format!("{table}.json"));
    let (db, out_arg) = (db.to_str().unwrap(), out.to_str().unwrap());
    kaizala(&[
        "export", "--format", "json", "--table", table, "--db", db, "--out", out_arg,
    ]);
    let json: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    json.as_array().expect("an export is a JSON array").clone()
}

// ---------------------------------------------------------- checking the DOM

fn check_metrics(page: &Html, counts: &Counts) {
    let expected = [
        ("events", counts.get(Table::Events)),
        ("responses", counts.get(Table::Responses)),
        ("actions", counts.get(Table::Actions)),
        ("messages", counts.get(Table::Messages)),
        ("quarantined", counts.get(Table::Quarantine)),
    ];
    for (name, count) in expected {
        assert_eq!(metric(page, name), count, "the {name} headline");
    }
}

/// The number a headline shows (digits of its text; its `data-value` must
/// agree).
fn metric(page: &Html, name: &str) -> u64 {
    let node = one(page, &format!("[data-metric=\"{name}\"]"));
    let shown = number(&text(&node));
    assert_eq!(attr(&node, "data-value"), shown.to_string(), "{name}");
    shown
}

fn check_events_per_hour(page: &Html, dashboard: &Dashboard) {
    let mut by_type: BTreeMap<String, u64> = BTreeMap::new();
    for row in &dashboard.events_per_hour {
        *by_type.entry(row.event_type.clone()).or_default() += row.count;
    }
    check_time_chart(page, "events-per-hour", &by_type);
}

fn check_responses_over_time(page: &Html, dashboard: &Dashboard) {
    // The chart shows the 30 days up to the latest response.
    const DAY_MS: i64 = 86_400_000;
    let last = dashboard
        .responses_over_time
        .iter()
        .map(|r| r.day_start)
        .max();
    let mut by_action: BTreeMap<String, u64> = BTreeMap::new();
    for row in &dashboard.responses_over_time {
        if row.day_start > last.unwrap() - 30 * DAY_MS {
            *by_action.entry(row.action_id.clone()).or_default() += row.responses;
        }
    }
    check_time_chart(page, "responses-over-time", &by_action);
}

/// A stacked-bar chart: one legend entry per series with its total, bars
/// adding up to the same, no empty state.
fn check_time_chart(page: &Html, name: &str, totals: &BTreeMap<String, u64>) {
    assert!(!totals.is_empty(), "no data for {name}");
    assert!(
        one(page, &format!("#empty-{name}"))
            .attr("hidden")
            .is_some()
    );
    let legend: BTreeMap<String, u64> = all(page, &format!("#legend-{name} .legend-item"))
        .iter()
        .map(|item| {
            let total = number(&text(&child(item, ".legend-count")));
            assert_eq!(attr(item, "data-total"), total.to_string());
            (attr(item, "data-series").to_owned(), total)
        })
        .collect();
    assert_eq!(&legend, totals, "the legend of #chart-{name}");
    let mut bars: BTreeMap<String, u64> = BTreeMap::new();
    for rect in all(page, &format!("#chart-{name} rect")) {
        *bars
            .entry(attr(&rect, "data-series").to_owned())
            .or_default() += attr(&rect, "data-count").parse::<u64>().unwrap();
    }
    assert_eq!(&bars, totals, "the bars of #chart-{name}");
    let chart = one(page, &format!("#chart-{name}"));
    assert_eq!(
        attr(&chart, "data-total"),
        totals.values().sum::<u64>().to_string()
    );
}

/// A chart per option question, an entry per option with its count and
/// share: the `answer_distribution` view as `kaizala export` writes it.
fn check_answers(page: &Html, rows: &[Value]) {
    let mut questions: BTreeMap<(String, i64), Vec<(String, u64)>> = BTreeMap::new();
    for row in rows {
        let key = (
            row["action_id"].as_str().unwrap().to_owned(),
            row["question_index"].as_i64().unwrap(),
        );
        let option = row["option"].as_str().unwrap_or_default().to_owned();
        questions
            .entry(key)
            .or_default()
            .push((option, row["count"].as_u64().unwrap()));
    }
    assert!(!questions.is_empty(), "no option answers in the database");
    let cards = all(page, "#answer-distribution .question");
    assert_eq!(
        cards.len(),
        questions.len(),
        "one chart per option question"
    );
    for ((action_id, index), options) in &questions {
        let card = cards
            .iter()
            .find(|c| {
                attr(c, "data-action-id") == action_id
                    && attr(c, "data-question-index") == index.to_string()
            })
            .unwrap_or_else(|| panic!("no chart for question {index} of {action_id}"));
        let total: u64 = options.iter().map(|(_, n)| n).sum();
        assert_eq!(attr(card, "data-total"), total.to_string());
        let shown = all_in(card, ".option");
        assert_eq!(
            shown.len(),
            options.len(),
            "options of question {index} of {action_id}"
        );
        for (option, count) in options {
            let row = shown
                .iter()
                .find(|r| attr(r, "data-option") == option)
                .unwrap_or_else(|| panic!("no bar for {option:?}"));
            assert_eq!(text(&child(row, ".option-name")), *option);
            assert_eq!(
                number(&text(&child(row, ".option-count"))),
                *count,
                "{option}"
            );
            let share = text(&child(row, ".option-share"));
            let share: f64 = share.trim_end_matches('%').parse().unwrap();
            let exact = *count as f64 * 100.0 / total as f64;
            assert!(
                (share - exact).abs() < 0.051,
                "{option}: {share}% for {exact}%"
            );
        }
    }
}

fn check_messages(page: &Html, dashboard: &Dashboard) {
    let rows = all(page, "#latest-messages tbody tr");
    assert_eq!(rows.len(), dashboard.latest_messages.len());
    assert!(!rows.is_empty());
    for (row, message) in rows.iter().zip(&dashboard.latest_messages) {
        assert_eq!(attr(row, "data-sent-at"), message.sent_at.to_string());
        let expected = message.text.as_deref().unwrap_or_default();
        assert_eq!(text(&child(row, ".message-text")), expected);
        if let Some(sender) = &message.sender_name {
            assert_eq!(text(&child(row, ".message-sender")), *sender);
        }
    }
    // Times are the sink's zone's (UTC+05:30), whatever the browser's is.
    for (row, message) in rows.iter().zip(&dashboard.latest_messages) {
        let local = message.sent_at + KOLKATA_OFFSET_MS;
        let (hour, minute) = ((local / 3_600_000) % 24, (local / 60_000) % 60);
        let shown = text(&child(row, ".message-time"));
        let twelve = if hour % 12 == 0 { 12 } else { hour % 12 };
        assert!(
            shown.contains(&format!("{hour:02}:{minute:02}"))
                || shown.contains(&format!("{twelve:02}:{minute:02}")),
            "{shown:?} is not {hour:02}:{minute:02} in Asia/Kolkata"
        );
    }
    assert!(
        text(&one(page, "#generated-at")).ends_with("(Asia/Kolkata)"),
        "{}",
        text(&one(page, "#generated-at"))
    );
    // The hostile message is the newest: shown as text, not as markup.
    assert_eq!(text(&child(&rows[0], ".message-text")), HOSTILE_TEXT);
    assert!(all(page, "#latest-messages img, #latest-messages b").is_empty());
}

/// What went wrong on the page: what it recorded itself (errors.js), and
/// every console message (the page logs nothing when all is well).
fn problems(page: &Html, log: &BrowserLog) -> Vec<String> {
    let recorded = one(page, "#page-errors");
    let mut problems: Vec<String> = text(&recorded)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| format!("page: {l}"))
        .collect();
    if attr(&recorded, "data-count") != "0" && problems.is_empty() {
        problems.push(format!("page: {} errors", attr(&recorded, "data-count")));
    }
    problems.extend(log.console().into_iter().map(|l| format!("console: {l}")));
    problems
}

fn assert_no_problems(page: &Html, log: &BrowserLog, dom: &str) {
    let problems = problems(page, log);
    assert!(
        problems.is_empty(),
        "the page had errors: {problems:#?}\n\nits DOM:\n{dom}"
    );
}

fn selector(css: &str) -> Selector {
    Selector::parse(css).unwrap_or_else(|e| panic!("{css}: {e}"))
}

fn all<'a>(page: &'a Html, css: &str) -> Vec<ElementRef<'a>> {
    page.select(&selector(css)).collect()
}

fn all_in<'a>(element: &ElementRef<'a>, css: &str) -> Vec<ElementRef<'a>> {
    element.select(&selector(css)).collect()
}

fn one<'a>(page: &'a Html, css: &str) -> ElementRef<'a> {
    let found = all(page, css);
    assert_eq!(found.len(), 1, "{} elements match {css}", found.len());
    found[0]
}

fn child<'a>(element: &ElementRef<'a>, css: &str) -> ElementRef<'a> {
    let found = all_in(element, css);
    assert_eq!(found.len(), 1, "{} elements match {css}", found.len());
    found[0]
}

fn attr<'a>(element: &ElementRef<'a>, name: &str) -> &'a str {
    element
        .value()
        .attr(name)
        .unwrap_or_else(|| panic!("<{}> has no {name}", element.value().name()))
}

fn text(element: &ElementRef<'_>) -> String {
    element.text().collect::<String>().trim().to_owned()
}

/// The number in a formatted text (`1,234` → 1234).
fn number(text: &str) -> u64 {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("{text:?} is not a number"))
}

// ------------------------------------------------------------- screenshot

/// `target/dashboard-screenshot.png`.
fn screenshot_path() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).join("dashboard-screenshot.png")
}

/// A PNG of the size asked for, with a page on it: many colours, and
/// neither blank nor one flat colour.
fn check_png(path: &Path, (width, height): (u32, u32)) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!(
        (info.width, info.height),
        (width, height),
        "{}",
        path.display()
    );
    let channels = info.color_type.samples();
    let pixels = &pixels[..info.buffer_size()];
    let mut colours = std::collections::HashSet::new();
    let mut counts: BTreeMap<[u8; 3], usize> = BTreeMap::new();
    for pixel in pixels.chunks_exact(channels) {
        let rgb = [pixel[0], pixel[1 % channels], pixel[2 % channels]];
        colours.insert(rgb);
        *counts.entry(rgb).or_default() += 1;
    }
    let commonest = counts.values().max().copied().unwrap_or(0);
    let total = (width * height) as usize;
    assert!(
        colours.len() > 200,
        "only {} colours in {}",
        colours.len(),
        path.display()
    );
    assert!(
        commonest < total * 9 / 10,
        "{} is mostly one colour",
        path.display()
    );
}

// ------------------------------------------------------ the server process

/// `kaizala dashboard` running as a child process; killed when dropped,
/// even when the test fails.
struct DashboardProcess {
    child: Child,
    url: String,
    addr: SocketAddr,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl DashboardProcess {
    /// Starts it on a free port and waits until it answers.
    fn start(db: &Path) -> DashboardProcess {
        let mut attempts = 0;
        loop {
            let mut server = DashboardProcess::spawn(db, free_port());
            match server.wait_until_ready() {
                Ok(()) => return server,
                // Someone took the port in between: another one.
                Err(message) if message.contains("cannot listen") && attempts < 5 => attempts += 1,
                Err(message) => panic!("kaizala dashboard did not start: {message}"),
            }
        }
    }

    fn spawn(db: &Path, addr: SocketAddr) -> DashboardProcess {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("dashboard.log");
        let child = Command::new(KAIZALA)
            .arg("dashboard")
            .arg("--db")
            .arg(db)
            .arg("--listen")
            .arg(addr.to_string())
            // Every request logged, plainly.
            .env("RUST_LOG", "warn,kaizala::dashboard=debug")
            .env("NO_COLOR", "1")
            .env_remove("KAIZALA_DB")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        DashboardProcess {
            child,
            url: format!("http://{addr}/"),
            addr,
            log,
            _dir: dir,
        }
    }

    fn wait_until_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok((200, _)) = http_get(self.addr, "/api/dashboard") {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                return Err(format!("it exited ({status}):\n{}", self.log_text()));
            }
            if Instant::now() > deadline {
                return Err(format!("no answer after 60 s:\n{}", self.log_text()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log_text(&self) -> String {
        let raw = std::fs::read_to_string(&self.log).unwrap_or_default();
        strip_ansi(&raw)
    }

    /// Every request the browser made was answered with success (the
    /// server logs each: a 404 would be an asset the page misses).
    fn assert_no_failed_requests(&self) {
        let log = self.log_text();
        let statuses: Vec<(String, u16)> = log
            .lines()
            .filter(|l| l.contains(" request "))
            .filter_map(|l| {
                let path = field(l, "path")?;
                let status = field(l, "status")?.parse().ok()?;
                Some((path, status))
            })
            .collect();
        assert!(
            statuses.iter().any(|(p, s)| p == "/app.js" && *s == 200),
            "the server's log shows no request for /app.js:\n{log}"
        );
        let failed: Vec<_> = statuses.iter().filter(|(_, s)| *s >= 400).collect();
        assert!(failed.is_empty(), "requests that failed: {failed:?}\n{log}");
    }
}

impl Drop for DashboardProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `name=value` in a log line.
fn field(line: &str, name: &str) -> Option<String> {
    let start = line.find(&format!("{name}="))? + name.len() + 1;
    let value = line[start..].split_whitespace().next()?;
    Some(value.trim_matches('"').to_owned())
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ … final byte in @..~
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// A GET over a fresh connection: the status and the body.
fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let head_end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no end of headers"))?;
    let status_line = String::from_utf8_lossy(&response[..head_end]);
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status"))?;
    Ok((status, response[head_end + 4..].to_vec()))
}

// --------------------------------------------------------- a broken page

/// A server of the dashboard's page, with the real `errors.js`, an
/// `app.js` that does everything wrong, and the same security policy.
struct BrokenSite {
    addr: SocketAddr,
}

const BROKEN_APP_JS: &str = r##"
"use strict";
console.error("logged on purpose");
Promise.reject(new Error("rejected on purpose"));
const node = document.createElement("div");
node.setAttribute("style", "color: red");
document.body.append(node);
const image = document.createElement("img");
image.src = "/missing.png";
document.body.append(image);
setTimeout(() => document.querySelector("#no-such-element").append("x"), 100);
"##;

impl BrokenSite {
    fn start() -> BrokenSite {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                std::thread::spawn(move || serve_broken(stream));
            }
        });
        BrokenSite { addr }
    }

    fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }
}

fn serve_broken(mut stream: TcpStream) {
    let mut request = Vec::new();
    let mut buffer = [0; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buffer[..n]),
        }
    }
    let request = String::from_utf8_lossy(&request);
    let path = request.split_whitespace().nth(1).unwrap_or("/");
    let (status, content_type, body): (&str, &str, &[u8]) = match path {
        "/" => (
            "200 OK",
            "text/html",
            include_bytes!("../src/dashboard/assets/index.html"),
        ),
        "/errors.js" => (
            "200 OK",
            "text/javascript",
            include_bytes!("../src/dashboard/assets/errors.js"),
        ),
        "/style.css" => (
            "200 OK",
            "text/css",
            include_bytes!("../src/dashboard/assets/style.css"),
        ),
        "/favicon.svg" => (
            "200 OK",
            "image/svg+xml",
            include_bytes!("../src/dashboard/assets/favicon.svg"),
        ),
        "/app.js" => ("200 OK", "text/javascript", BROKEN_APP_JS.as_bytes()),
        _ => ("404 Not Found", "text/plain", b"not found"),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Content-Security-Policy: default-src 'self'; script-src 'self'; style-src 'self'\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
}
