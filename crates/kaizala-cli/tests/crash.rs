//! The crash campaign (issue 11): `kill -9` of `kaizala ingest` at more
//! than fifty random moments — while POSTs wait for their
//! acknowledgement, while the projector is behind the log, while a
//! `kaizala rebuild` runs (killed too, most of the time) — on SQLite and on
//! PostgreSQL (fsync on). After every kill, every event whose POST was
//! answered 200 must be in the log. At two checkpoints and at the end, the
//! projected tables must hold what the events in the log say (each event
//! once, each response once with exactly the answers of its latest
//! version, the answer distribution counting each answer once, members and
//! sub-groups as their last event in log order left them,
//! `crash_support::oracle`) and equal, row for row, what `kaizala rebuild`
//! then makes of the log.
//!
//! The test plays the platform: it POSTs a seeded stream of events
//! (`crash_support::feed`: survey responses and their later updates with
//! more or fewer questions, people joining and leaving again and again,
//! sub-groups, messages, pictures, an unknown event type, a body that does
//! not fit the model) with the callback token, several at once; it
//! delivers again what was not acknowledged (so updates often reach the
//! log before their originals), and now and then an event twice or one
//! already acknowledged. Before the campaign, `kaizala ingest` is killed
//! four times while it starts on the new database (migrating it). Then
//! each cycle starts the real binary, drives load and kills it at a moment
//! drawn from the seed:
//!
//! - `acks`: after a random number of acknowledgements, POSTs in flight;
//! - `burst`: just after a burst of POSTs was answered, the projector
//!   still working through it;
//! - `backlog`: `kaizala ingest --no-project` logs a burst (and is
//!   killed), then `kaizala ingest` is killed while projecting that
//!   backlog, at a moment drawn around how long catching up took before;
//! - `rebuild`: `kaizala rebuild` runs beside a receiver under steady load;
//!   the receiver is killed at a random moment of the rebuild's expected
//!   duration, and the rebuild is left to finish (4 cycles), killed at a
//!   random moment (8), or — on PostgreSQL — killed with the receiver the
//!   moment its swap transaction holds the live tables (4). A killed
//!   rebuild leaves its lease (the product gives it up after 120 s): the
//!   first time, the test checks a new rebuild is refused; each time, it
//!   dates the lease back by that much, as if the time had passed.
//!
//! Each kill is logged with what it hit (POSTs in flight, projection lag
//! after it, a rebuild running, a lease left behind, a swap), and the
//! campaign asserts each kind of moment was hit a good number of times.
//! The seed is printed; `KAIZALA_CRASH_SEED=<seed>` replays the same plan
//! and stream (the timing of processes is never quite the same).
//!
//! Besides the campaign, one kill mid-stream with the emulator delivering
//! (`crash_support::platform`): the platform's own payloads and retries.
//!
//! SQLite always; PostgreSQL when `KAIZALA_TEST_POSTGRES_URL` is set (a
//! failure when it is not and `KAIZALA_TEST_REQUIRE_SERVICES=1`; see
//! `docs/testing.md`).

mod crash_support;
mod ingest_support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use crash_support::feed::{Feed, SplitMix};
use crash_support::oracle;
use crash_support::snapshot::{self, Cell};
use ingest_support::{
    Ingest, Kaizala, Summary, TestDb, caught_up, free_port, http_client, post_event, postgres_url,
    projected, strings,
};
use kaizala_sink::Sink;

/// Kill cycles per backend (some cycles kill two processes).
const CYCLES: usize = 54;
/// The longest a POST may take before the receiver counts as stuck.
const POST_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest any one wait of the campaign may take.
const STUCK: Duration = Duration::from_secs(120);
/// How long the product lets a dead rebuild's lease stand
/// (`LEASE_STALE` in `kaizala-sink/src/project/rebuild.rs`), plus a
/// second.
const LEASE_STALE_MS: i64 = 121_000;

/// The two backends are not run at once: the machine (two cores in CI)
/// is the campaign's, so the moments it aims at are where it aims.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_kill_9_campaign() {
    let _serial = SERIAL.lock().await;
    Campaign::new(TestDb::sqlite(), seed()).await.run().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_kill_9_campaign() {
    let Some(admin) = postgres_url() else { return };
    let _serial = SERIAL.lock().await;
    Campaign::new(TestDb::postgres(&admin).await, seed())
        .await
        .run()
        .await;
}

/// One kill mid-stream with the emulator delivering: its payloads, its
/// retries (`crash_support::platform`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_ingest_survives_kill_9_mid_stream_from_the_emulator() {
    let _serial = SERIAL.lock().await;
    crash_support::platform::crash_and_recover(TestDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_ingest_survives_kill_9_mid_stream_from_the_emulator() {
    let Some(admin) = postgres_url() else { return };
    let _serial = SERIAL.lock().await;
    crash_support::platform::crash_and_recover(TestDb::postgres(&admin).await).await;
}

/// `KAIZALA_CRASH_SEED`, or a new one; the same for both backends of a run.
fn seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| match std::env::var("KAIZALA_CRASH_SEED") {
        Ok(s) => s
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("KAIZALA_CRASH_SEED={s:?}: not a number")),
        Err(_) => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64;
            SplitMix(nanos ^ u64::from(std::process::id())).next_u64() % 1_000_000_000
        }
    })
}

/// The moment a cycle aims at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Plan {
    Acks,
    Burst,
    Backlog,
    Rebuild,
    /// Starting on a database nobody has used yet (migrating it).
    Startup,
    /// Caught up and idle (the checkpoints).
    Idle,
}

/// What becomes of the rebuild of a `rebuild` cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// It runs to the end beside the receiver.
    Completes,
    /// Killed at a random moment of its expected duration.
    Killed,
    /// Killed, with the receiver, as soon as its swap transaction holds
    /// the live tables (seen in PostgreSQL's `pg_locks`; SQLite shows
    /// nothing of a transaction in progress, so there it is `Killed`).
    KilledInSwap,
}

/// One `kill -9`, and what it hit.
#[derive(Debug, Clone)]
struct Kill {
    plan: Plan,
    /// `ingest`, `ingest --no-project` or `rebuild`.
    process: &'static str,
    /// POSTs started and not answered when it died.
    in_flight: usize,
    /// Log entries not projected once it was dead.
    lag: u64,
    /// A `kaizala rebuild` was running when it died.
    rebuilding: bool,
    /// (a rebuild) It left its lease behind.
    lease_left: bool,
    /// (a rebuild) It was swapping its tables in.
    in_swap: bool,
}

impl Kill {
    fn ingest(&self) -> bool {
        self.process != "rebuild"
    }

    /// Killed while the receiver had POSTs to answer.
    fn hit_acks(&self) -> bool {
        self.ingest() && self.in_flight > 0
    }

    /// Killed with no POST in flight and entries left to project: the
    /// load had stopped, the projector not caught up.
    fn hit_projection(&self) -> bool {
        self.process == "ingest" && self.in_flight == 0 && self.lag > 0
    }

    fn hit_rebuild(&self) -> bool {
        self.ingest() && self.rebuilding
    }
}

/// What became of one POST: the event (its index in the feed), and the
/// status or why there was none.
type Outcome = (usize, Result<u16, String>);

/// POSTs of events to a receiver, several at once.
struct Delivery {
    stop: Arc<AtomicBool>,
    in_flight: Arc<AtomicUsize>,
    acks: Arc<AtomicUsize>,
    finished: Arc<AtomicUsize>,
    total: usize,
    results: Arc<Mutex<Vec<Outcome>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Delivery {
    /// `pace`: how long each sender waits between two POSTs (a rate, for
    /// load that lasts; zero for bursts).
    fn start(
        url: String,
        events: Vec<(usize, Bytes)>,
        concurrency: usize,
        pace: Duration,
    ) -> Delivery {
        let total = events.len();
        let queue = Arc::new(Mutex::new(std::collections::VecDeque::from(events)));
        let delivery = Delivery {
            stop: Arc::default(),
            in_flight: Arc::default(),
            acks: Arc::default(),
            finished: Arc::default(),
            total,
            results: Arc::default(),
            tasks: Vec::new(),
        };
        let client = http_client();
        let tasks = (0..concurrency.max(1))
            .map(|_| {
                let (queue, client, url) = (Arc::clone(&queue), client.clone(), url.clone());
                let stop = Arc::clone(&delivery.stop);
                let in_flight = Arc::clone(&delivery.in_flight);
                let acks = Arc::clone(&delivery.acks);
                let finished = Arc::clone(&delivery.finished);
                let results = Arc::clone(&delivery.results);
                tokio::spawn(async move {
                    loop {
                        if stop.load(Ordering::SeqCst) {
                            return;
                        }
                        let Some((i, body)) = queue.lock().unwrap().pop_front() else {
                            return;
                        };
                        in_flight.fetch_add(1, Ordering::SeqCst);
                        let result =
                            tokio::time::timeout(POST_TIMEOUT, post_event(&client, &url, body))
                                .await
                                .unwrap_or_else(|_| Err("timed out".into()));
                        if result == Ok(200) {
                            acks.fetch_add(1, Ordering::SeqCst);
                        }
                        results.lock().unwrap().push((i, result));
                        in_flight.fetch_sub(1, Ordering::SeqCst);
                        finished.fetch_add(1, Ordering::SeqCst);
                        if !pace.is_zero() {
                            tokio::time::sleep(pace).await;
                        }
                    }
                })
            })
            .collect();
        Delivery { tasks, ..delivery }
    }

    fn acks(&self) -> usize {
        self.acks.load(Ordering::SeqCst)
    }

    fn done(&self) -> bool {
        self.finished.load(Ordering::SeqCst) == self.total
    }

    /// Stops starting POSTs; how many are unanswered.
    fn halt(&self) -> usize {
        self.stop.store(true, Ordering::SeqCst);
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Every POST's outcome, once those in flight have ended.
    async fn finish(self) -> Vec<Outcome> {
        for task in self.tasks {
            task.await.unwrap();
        }
        std::mem::take(&mut *self.results.lock().unwrap())
    }
}

/// Polls `done` every 2 ms; fails with `what` after [`STUCK`].
async fn until(what: impl Fn() -> String, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + STUCK;
    while !done() {
        assert!(Instant::now() < deadline, "stuck: {}", what());
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn millis(d: Duration) -> u64 {
    d.as_millis() as u64
}

/// `kaizala ingest` killed while it starts on a new database (migrating
/// it, creating the projected tables), a few times over: whatever it got
/// to, the next start must work.
async fn startup_kills(db: &TestDb, random: &mut SplitMix) -> Vec<Kill> {
    let mut kills = Vec::new();
    for i in 0..4 {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], free_port()));
        let ingest = Ingest::spawn(&db.url, addr, db.dir.path(), &format!("startup-{i}"));
        let spawned = Instant::now();
        // A moment drawn from the seed, within the time it takes to start.
        tokio::time::sleep(Duration::from_millis(random.range(2, 400))).await;
        let after = spawned.elapsed();
        let stderr = ingest.kill();
        eprintln!(
            "{} startup: killed ingest after {} ms{}",
            db.kind,
            millis(after),
            if stderr.contains("receiving") {
                " (it had started)"
            } else {
                ""
            }
        );
        kills.push(Kill {
            plan: Plan::Startup,
            process: "ingest",
            in_flight: 0,
            lag: 0,
            rebuilding: false,
            lease_left: false,
            in_swap: false,
        });
    }
    kills
}

struct Campaign {
    kind: &'static str,
    db: TestDb,
    sink: Sink,
    seed: u64,
    random: SplitMix,
    feed: Feed,
    /// Events some POST of which was answered 200.
    acked: BTreeSet<usize>,
    /// Events posted and never acknowledged: the platform delivers them
    /// again.
    unacked: BTreeSet<usize>,
    /// POST outcomes other than 200 from a live receiver.
    statuses: BTreeMap<String, usize>,
    posts: usize,
    kills: Vec<Kill>,
    cycle: usize,
    plan: Plan,
    /// How long `kaizala ingest` took from its start to catch up with a
    /// backlog, and a whole `kaizala rebuild` under load (moving
    /// averages, to aim the kills at).
    catch_up: Duration,
    rebuild: Duration,
    rebuilds_completed: usize,
    /// The rebuild fates still to play, one per `rebuild` cycle.
    fates: Vec<Fate>,
    lease_refusal_seen: bool,
    /// Half-built tables killed rebuilds left behind, and how many of
    /// the kills left some.
    leftovers: BTreeSet<String>,
    leaving_leftovers: usize,
    started: Instant,
}

impl Campaign {
    async fn new(db: TestDb, seed: u64) -> Campaign {
        eprintln!(
            "{}: crash campaign, seed {seed} (replay with KAIZALA_CRASH_SEED={seed})",
            db.kind
        );
        let started = Instant::now();
        let mut random = SplitMix(seed);
        let kills = startup_kills(&db, &mut random).await;
        let sink = db.connect().await;
        Campaign {
            kind: db.kind,
            sink,
            seed,
            random,
            feed: Feed::new("crash", seed ^ 0x5eed),
            acked: BTreeSet::new(),
            unacked: BTreeSet::new(),
            statuses: BTreeMap::new(),
            posts: 0,
            kills,
            cycle: 0,
            plan: Plan::Idle,
            catch_up: Duration::from_millis(300),
            rebuild: Duration::from_millis(1500),
            rebuilds_completed: 0,
            fates: Vec::new(),
            lease_refusal_seen: false,
            leftovers: BTreeSet::new(),
            leaving_leftovers: 0,
            started,
            db,
        }
    }

    /// Where failure messages say the campaign was.
    fn at(&self) -> String {
        format!(
            "{} cycle {} ({:?}, seed {})",
            self.kind, self.cycle, self.plan, self.seed
        )
    }

    async fn run(mut self) {
        let mut plans = [
            [Plan::Acks; 14].as_slice(),
            &[Plan::Burst; 14],
            &[Plan::Backlog; 10],
            &[Plan::Rebuild; 16],
        ]
        .concat();
        assert_eq!(plans.len(), CYCLES);
        self.random.shuffle(&mut plans);
        let in_swap = if self.kind == "postgres" {
            Fate::KilledInSwap
        } else {
            Fate::Killed
        };
        self.fates = [
            [Fate::Completes; 4].as_slice(),
            &[in_swap; 4],
            &[Fate::Killed; 8],
        ]
        .concat();
        self.random.shuffle(&mut self.fates);
        for (i, plan) in plans.into_iter().enumerate() {
            if i == CYCLES / 3 || i == 2 * CYCLES / 3 {
                self.checkpoint().await;
            }
            self.cycle = i + 1;
            self.plan = plan;
            match plan {
                Plan::Acks => self.acks_cycle().await,
                Plan::Burst => self.burst_cycle().await,
                Plan::Backlog => self.backlog_cycle().await,
                Plan::Rebuild => self.rebuild_cycle().await,
                Plan::Idle | Plan::Startup => unreachable!(),
            }
        }
        let campaign = self.started.elapsed();
        self.finale().await;
        self.report(campaign);
    }

    /// The next `new` events of the stream, with what the platform sends
    /// again: most of what was not acknowledged (retries), a few events
    /// already acknowledged, and a few new ones twice.
    fn deliveries(&mut self, new: usize) -> Vec<(usize, Bytes)> {
        let mut extra = Vec::new();
        for &i in &self.unacked {
            if self.random.chance(0.6) {
                extra.push(i);
            }
        }
        let mut list: Vec<usize> = (0..new).map(|_| self.feed.next()).collect();
        // Until acknowledged, whether posted before the kill or not.
        self.unacked.extend(&list);
        let acked: Vec<usize> = self.acked.iter().copied().collect();
        for _ in 0..new / 25 {
            if !acked.is_empty() {
                extra.push(*self.random.pick(&acked));
            }
            let i = *self.random.pick(&list);
            extra.push(i);
        }
        for i in extra {
            let at = self.random.range(0, list.len() as u64) as usize;
            list.insert(at, i);
        }
        list.into_iter()
            .map(|i| (i, self.feed.events[i].body.clone()))
            .collect()
    }

    fn record(&mut self, results: Vec<Outcome>, live: bool) {
        for (i, result) in results {
            self.posts += 1;
            match result {
                Ok(200) => {
                    self.acked.insert(i);
                    self.unacked.remove(&i);
                }
                other => {
                    if !self.acked.contains(&i) {
                        self.unacked.insert(i);
                    }
                    if live || other.is_ok() {
                        let key = match other {
                            Ok(status) => status.to_string(),
                            Err(err) => err,
                        };
                        *self.statuses.entry(key).or_default() += 1;
                    }
                }
            }
        }
    }

    /// Every acknowledged event must be in the log, now that its receiver
    /// is dead.
    async fn check_acked(&self, stderr: &str) {
        let stored: BTreeSet<String> = strings(&self.sink, "SELECT event_id FROM events")
            .await
            .into_iter()
            .collect();
        let lost: Vec<&str> = self
            .acked
            .iter()
            .map(|&i| self.feed.events[i].id.as_str())
            .filter(|id| !stored.contains(*id))
            .collect();
        assert!(
            lost.is_empty(),
            "{}: {} acknowledged events are not in the log after kill -9 (of {} acknowledged): \
             {:?}\nthe receiver's stderr:\n{stderr}",
            self.at(),
            lost.len(),
            self.acked.len(),
            &lost[..lost.len().min(20)]
        );
    }

    /// Log entries not projected yet, cheaply (no status).
    async fn lag(&self) -> i64 {
        let row = snapshot::rows(
            &self.sink,
            "SELECT COUNT(*) FROM events WHERE position > \
             (SELECT value FROM sink_state WHERE name = 'watermark')",
        )
        .await;
        row[0][0].int().unwrap()
    }

    fn spawn_ingest(&self, label: &str, extra: &[&str]) -> (Ingest, Instant) {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], free_port()));
        let label = format!("c{:02}-{label}", self.cycle);
        let ingest = Ingest::spawn_with(&self.db.url, addr, self.db.dir.path(), &label, extra);
        (ingest, Instant::now())
    }

    async fn start_ingest(&self, label: &str, extra: &[&str]) -> (Ingest, Instant) {
        let (ingest, spawned) = self.spawn_ingest(label, extra);
        ingest.wait_ready().await;
        (ingest, spawned)
    }

    /// `kill -9` of a receiver (and the end of its delivery); checks the
    /// acknowledged events are in the log, and records what the kill hit.
    async fn kill_ingest(
        &mut self,
        ingest: Ingest,
        spawned: Instant,
        delivery: Option<Delivery>,
        process: &'static str,
        rebuilding: bool,
    ) {
        let in_flight = delivery.as_ref().map_or(0, Delivery::halt);
        let after = spawned.elapsed();
        let stderr = ingest.kill();
        if let Some(delivery) = delivery {
            let results = delivery.finish().await;
            self.record(results, false);
        }
        self.check_acked(&stderr).await;
        assert!(
            !stderr.contains("panicked") && !stderr.contains("internal error"),
            "{}: the receiver panicked:\n{stderr}",
            self.at()
        );
        let status = self.sink.status().await.unwrap();
        let kill = Kill {
            plan: self.plan,
            process,
            in_flight,
            lag: status.lag_entries,
            rebuilding,
            lease_left: false,
            in_swap: false,
        };
        eprintln!(
            "{} {:>5.1}s c{:02} {:?}: killed {process} after {} ms: {in_flight} POSTs in \
             flight, lag {} after{}; {} acknowledged of {} sent",
            self.kind,
            self.started.elapsed().as_secs_f64(),
            self.cycle,
            self.plan,
            millis(after),
            kill.lag,
            if rebuilding {
                ", a rebuild running"
            } else {
                ""
            },
            self.acked.len(),
            self.feed.events.len()
        );
        self.kills.push(kill);
    }

    /// Waits for `delivery` to get `acks` acknowledgements (or to end).
    async fn until_acks(&self, delivery: &Delivery, acks: usize, ingest: &Ingest) {
        let what = || {
            format!(
                "{}: {} of {} POSTs acknowledged, waiting for {acks}\n{}",
                self.at(),
                delivery.acks(),
                delivery.total,
                ingest.stderr()
            )
        };
        until(what, || delivery.acks() >= acks || delivery.done()).await;
    }

    /// Killed after a random number of acknowledgements, POSTs in flight.
    async fn acks_cycle(&mut self) {
        let n = self.random.range(20, 80) as usize;
        let concurrency = *self.random.pick(&[1, 2, 4, 8, 16]);
        let list = self.deliveries(n);
        let acks = self.random.range(1, (list.len() * 9 / 10) as u64) as usize;
        let (ingest, spawned) = self.start_ingest("acks", &[]).await;
        let delivery = Delivery::start(ingest.url(), list, concurrency, Duration::ZERO);
        self.until_acks(&delivery, acks, &ingest).await;
        self.kill_ingest(ingest, spawned, Some(delivery), "ingest", false)
            .await;
    }

    /// Killed just after a burst was acknowledged, while the projector
    /// works through it.
    async fn burst_cycle(&mut self) {
        let n = self.random.range(40, 120) as usize;
        let list = self.deliveries(n);
        let pause = if self.random.chance(0.7) {
            Duration::ZERO
        } else {
            Duration::from_millis(self.random.range(1, 15))
        };
        let (ingest, spawned) = self.start_ingest("burst", &[]).await;
        let delivery = Delivery::start(ingest.url(), list, 16, Duration::ZERO);
        self.until_acks(&delivery, usize::MAX, &ingest).await;
        // A moment drawn from the seed, not a wait for anything.
        tokio::time::sleep(pause).await;
        self.kill_ingest(ingest, spawned, Some(delivery), "ingest", false)
            .await;
    }

    /// A backlog logged without projecting; then the projecting receiver
    /// killed while it catches up.
    async fn backlog_cycle(&mut self) {
        let n = self.random.range(60, 160) as usize;
        let list = self.deliveries(n);
        let total = list.len();
        let acks = if self.random.chance(0.3) {
            self.random.range(1, total as u64) as usize
        } else {
            usize::MAX
        };
        let (ingest, spawned) = self.start_ingest("log", &["--no-project"]).await;
        let delivery = Delivery::start(ingest.url(), list, 16, Duration::ZERO);
        self.until_acks(&delivery, acks, &ingest).await;
        self.kill_ingest(
            ingest,
            spawned,
            Some(delivery),
            "ingest --no-project",
            false,
        )
        .await;

        // Events keep coming now and then while it catches up. The moment
        // is drawn around how long catching up took before, counted from
        // when the receiver answers (its projector starts with it).
        let more = if self.random.chance(0.3) {
            let n = self.random.range(20, 60) as usize;
            Some(self.deliveries(n))
        } else {
            None
        };
        let aim = self.catch_up.mul_f64(0.1 + 0.9 * self.random.unit());
        let (ingest, spawned) = self.start_ingest("catch-up", &[]).await;
        let ready = Instant::now();
        let delivery = more.map(|list| Delivery::start(ingest.url(), list, 4, Duration::ZERO));
        let mut caught_up = None;
        while ready.elapsed() < aim {
            if self.lag().await == 0 {
                caught_up = Some(ready.elapsed());
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        if let Some(took) = caught_up {
            self.catch_up = (self.catch_up + took) / 2;
        } else if aim > self.catch_up {
            self.catch_up = (self.catch_up + aim) / 2;
        }
        self.kill_ingest(ingest, spawned, delivery, "ingest", false)
            .await;
    }

    /// `kaizala rebuild` beside a receiver under steady load; the
    /// receiver is killed at a random moment of the rebuild, and the
    /// rebuild as its [`Fate`] says (never before the receiver: both at
    /// once then, as when the machine dies).
    async fn rebuild_cycle(&mut self) {
        /// How many times the expected duration a completed rebuild may
        /// take and still count towards it.
        const OUTLIER_FACTOR: u32 = 4;
        let n = self.random.range(100, 200) as usize;
        let list = self.deliveries(n);
        let pace = Duration::from_millis(self.random.range(5, 15));
        let head_start = Duration::from_millis(self.random.range(0, 100));
        let fate = self.fates.pop().expect("a fate per rebuild cycle");
        let kill_rebuild_at =
            (fate == Fate::Killed).then(|| self.rebuild.mul_f64(0.05 + 0.95 * self.random.unit()));
        let kill_ingest_at = if fate == Fate::KilledInSwap {
            Duration::MAX
        } else {
            self.rebuild
                .mul_f64(0.05 + 0.85 * self.random.unit())
                .min(kill_rebuild_at.unwrap_or(Duration::MAX))
        };

        let (ingest, spawned) = self.start_ingest("rebuild", &[]).await;
        let delivery = Delivery::start(ingest.url(), list, 2, pace);
        // A moment drawn from the seed, not a wait for anything.
        tokio::time::sleep(head_start).await;
        let mut rebuild = Some(self.spawn_rebuild("rebuild"));
        let begun = Instant::now();
        let mut receiver = Some((ingest, delivery));
        loop {
            let now = begun.elapsed();
            let swapping = fate == Fate::KilledInSwap && rebuild.is_some() && self.swapping().await;
            if let Some(r) = rebuild.as_mut()
                && let Some(status) = r.exited()
            {
                let output = r.output();
                assert!(
                    status.success(),
                    "{}: kaizala rebuild failed beside a live receiver ({status}):\n{output}",
                    self.at()
                );
                self.rebuilds_completed += 1;
                // A rebuild that first waited out the lease of a projector
                // killed while clearing a killed rebuild's leftovers (up to
                // the sink's 15 s `CLEARING_STALE`) says nothing about how
                // long rebuilding takes: counted, it aimed the next kills
                // seconds past the ends of the rebuilds they were meant to
                // hit (CI, 2026-12-05: 3 of 12 killed).
                if now <= self.rebuild * OUTLIER_FACTOR {
                    self.rebuild = (self.rebuild + now) / 2;
                }
                rebuild = None;
            }
            if swapping {
                // The rebuild first, at once: its transaction is open now.
                let r = rebuild.take().unwrap();
                let after = r.started.elapsed();
                let output = r.kill();
                self.rebuild = self.rebuild.max(now);
                if let Some((ingest, delivery)) = receiver.take() {
                    self.kill_ingest(ingest, spawned, Some(delivery), "ingest", true)
                        .await;
                }
                self.rebuild_killed(after, output, true).await;
            }
            if receiver.is_some()
                && (now >= kill_ingest_at || rebuild.is_none() && fate == Fate::KilledInSwap)
            {
                let (ingest, delivery) = receiver.take().unwrap();
                let rebuilding = rebuild.is_some();
                self.kill_ingest(ingest, spawned, Some(delivery), "ingest", rebuilding)
                    .await;
            }
            if rebuild.is_some() && kill_rebuild_at.is_some_and(|at| now >= at) {
                // Still running: it takes longer than thought.
                self.rebuild = self.rebuild.max(now);
                let r = rebuild.take().unwrap();
                let after = r.started.elapsed();
                let output = r.kill();
                self.rebuild_killed(after, output, false).await;
            }
            if receiver.is_none() && rebuild.is_none() {
                break;
            }
            assert!(
                now < STUCK,
                "{}: kaizala rebuild did not finish:\n{}",
                self.at(),
                rebuild.as_ref().map(Kaizala::output).unwrap_or_default()
            );
            if !swapping {
                tokio::time::sleep(Duration::from_millis(if fate == Fate::KilledInSwap {
                    1
                } else {
                    2
                }))
                .await;
            }
        }
    }

    /// Whether a rebuild's swap transaction holds a live projected table
    /// (it drops and renames them: an exclusive lock no other statement
    /// of the product takes on them). PostgreSQL only.
    async fn swapping(&self) -> bool {
        let held = snapshot::rows(
            &self.sink,
            "SELECT COUNT(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
             WHERE l.granted AND l.mode = 'AccessExclusiveLock' \
             AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
             AND c.relname IN ('event_index', 'groups', 'members', 'member_changes', 'messages', \
             'attachments', 'actions', 'responses', 'answers', 'reactions', 'projection_errors')",
        )
        .await;
        held[0][0].int().unwrap() > 0
    }

    fn spawn_rebuild(&self, label: &str) -> Kaizala {
        Kaizala::spawn(
            &["rebuild", "--db", &self.db.url],
            self.db.dir.path(),
            &format!("c{:02}-{label}", self.cycle),
        )
    }

    /// After the `kill -9` of a rebuild: what it left behind is checked
    /// and, if it left its lease, the lease is dated back past the
    /// product's 120 s.
    async fn rebuild_killed(&mut self, after: Duration, output: String, swapping: bool) {
        let status = self.sink.status().await.unwrap();
        let lease_left = status.rebuild.is_some();
        // Its swap rolled back, or had committed just before the kill.
        let in_swap = swapping && lease_left;
        eprintln!(
            "{} {:>5.1}s c{:02} {:?}: killed rebuild after {} ms{}{}",
            self.kind,
            self.started.elapsed().as_secs_f64(),
            self.cycle,
            self.plan,
            millis(after),
            match (swapping, lease_left) {
                (true, true) => " in its swap",
                (true, false) => " as its swap committed",
                _ => "",
            },
            if lease_left {
                format!(", its lease left: {:?}", status.rebuild)
            } else {
                String::new()
            }
        );
        self.kills.push(Kill {
            plan: self.plan,
            process: "rebuild",
            in_flight: 0,
            lag: status.lag_entries,
            rebuilding: true,
            lease_left,
            in_swap,
        });
        if !lease_left {
            return;
        }
        let left = self.building_tables().await;
        if !left.is_empty() {
            self.leaving_leftovers += 1;
            self.leftovers.extend(left);
        }
        if !self.lease_refusal_seen {
            // The dead holder's lease stands: a new rebuild is refused,
            // naming it.
            let (exit, refused) = self
                .spawn_rebuild("refused")
                .wait(Duration::from_secs(60))
                .await;
            assert!(
                !exit.success() && refused.contains("a rebuild is already running"),
                "{}: a rebuild started while a killed one's lease stood ({exit}):\n{refused}\n\
                 the killed one said:\n{output}",
                self.at()
            );
            self.lease_refusal_seen = true;
        }
        // As if LEASE_STALE had passed: waiting it out for real would make
        // the campaign last many minutes.
        sqlx::query(&format!(
            "UPDATE sink_state SET updated_at = updated_at - {LEASE_STALE_MS} \
             WHERE name = 'rebuild' AND detail IS NOT NULL"
        ))
        .execute(self.sink.pool())
        .await
        .unwrap();
    }

    /// Tables a rebuild was building (`{table}__new`).
    async fn building_tables(&self) -> Vec<String> {
        let sql = if self.kind == "sqlite" {
            "SELECT name FROM sqlite_master WHERE type = 'table'"
        } else {
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
             WHERE table_schema = current_schema()"
        };
        strings(&self.sink, sql)
            .await
            .into_iter()
            .filter(|t| t.ends_with("__new"))
            .collect()
    }

    /// Runs `kaizala rebuild` to the end; it must succeed.
    async fn rebuild_to_end(&self, label: &str) -> String {
        let (exit, output) = self.spawn_rebuild(label).wait(STUCK).await;
        assert!(
            exit.success(),
            "{}: kaizala rebuild failed ({exit}):\n{output}",
            self.at()
        );
        output
    }

    /// The tables as projected, then as rebuilt: they must be equal, and
    /// right.
    async fn compare_with_rebuild(&self, label: &str) {
        let wrong = oracle::check(&self.sink, &self.feed).await;
        assert!(
            wrong.is_empty(),
            "{}: the projected tables are not what the log says:\n{}",
            self.at(),
            wrong.join("\n")
        );
        let projected = snapshot::snapshot(&self.sink).await;
        let output = self.rebuild_to_end(label).await;
        let rebuilt = snapshot::snapshot(&self.sink).await;
        if let Some(diff) = snapshot::diff(&projected, &rebuilt, ("projected", "rebuilt")) {
            panic!(
                "{}: the projected tables differ from a rebuild:\n{diff}\nkaizala rebuild said: {output}",
                self.at()
            );
        }
        let rows: usize = rebuilt.values().map(|t| t.rows.len()).sum();
        eprintln!(
            "{}: {label}: {rows} rows in {} projected tables, equal to a rebuild ({})",
            self.kind,
            rebuilt.len(),
            output.trim()
        );
    }

    /// Caught up, killed while idle, compared with a rebuild.
    async fn checkpoint(&mut self) {
        self.plan = Plan::Idle;
        let (ingest, spawned) = self.start_ingest("checkpoint", &[]).await;
        caught_up(&self.sink, STUCK).await;
        self.kill_ingest(ingest, spawned, None, "ingest", false)
            .await;
        self.compare_with_rebuild(&format!("checkpoint after cycle {}", self.cycle))
            .await;
    }

    /// Whatever was never acknowledged, delivered to a last receiver;
    /// then everything checked.
    async fn finale(&mut self) {
        self.cycle += 1;
        self.plan = Plan::Idle;
        let mut list: Vec<usize> = self.unacked.iter().copied().collect();
        let acked: Vec<usize> = self.acked.iter().copied().collect();
        for _ in 0..10 {
            list.push(*self.random.pick(&acked));
        }
        self.random.shuffle(&mut list);
        let list: Vec<(usize, Bytes)> = list
            .into_iter()
            .map(|i| (i, self.feed.events[i].body.clone()))
            .collect();
        let posted = list.len() as u64;
        let logged = self.sink.status().await.unwrap().events.entries;
        let (ingest, _) = self.start_ingest("final", &[]).await;
        let delivery = Delivery::start(ingest.url(), list, 8, Duration::ZERO);
        self.until_acks(&delivery, usize::MAX, &ingest).await;
        let results = delivery.finish().await;
        let refused: Vec<_> = results.iter().filter(|(_, r)| *r != Ok(200)).collect();
        assert!(
            refused.is_empty(),
            "{}: a live receiver did not acknowledge: {refused:?}\n{}",
            self.at(),
            ingest.stderr()
        );
        self.record(results, true);
        assert_eq!(
            self.acked.len(),
            self.feed.events.len(),
            "{}: every event acknowledged in the end",
            self.at()
        );
        let status = caught_up(&self.sink, STUCK).await;
        let stderr = ingest.terminate().await;
        let summary = Summary::parse(&stderr);
        // What it stored is what the log grew by; the rest (committed
        // before a kill, never acknowledged) it found there.
        assert_eq!(
            summary,
            Summary {
                received: posted,
                stored: status.events.entries - logged,
                duplicates: posted - (status.events.entries - logged),
                quarantined: 0,
                refused: 0,
            },
            "{}: the last receiver's summary",
            self.at()
        );
        projected(&stderr);
        assert_eq!(
            status.events.entries,
            self.feed.events.len() as u64,
            "{}: events in the log, of {} sent",
            self.at(),
            self.feed.events.len()
        );
        self.compare_with_rebuild("the end").await;

        let status = self.sink.status().await.unwrap();
        assert!(status.is_caught_up(), "{}: {status}", self.at());
        assert!(
            status.rebuild.is_none(),
            "{}: a rebuild lease is left: {status}",
            self.at()
        );
        let left = self.building_tables().await;
        assert!(
            left.is_empty(),
            "{}: half-built tables left after the last rebuild: {left:?}",
            self.at()
        );
        assert_eq!(
            status.projection_errors as usize,
            self.feed
                .events
                .iter()
                .filter(|e| e.what == crash_support::feed::What::Malformed)
                .count(),
            "{}: projection errors",
            self.at()
        );
        // Each response once, with its answers once: the sum of the answer
        // rows is the sum of the latest versions' questions.
        let answers = snapshot::rows(&self.sink, "SELECT COUNT(*) FROM answers").await;
        let want: usize = self
            .feed
            .responses
            .values()
            .map(|r| r.versions.last().unwrap().answers.len())
            .sum();
        assert_eq!(
            answers[0][0],
            Cell::Int(want as i64),
            "{}: answers",
            self.at()
        );
    }

    fn report(&self, campaign: Duration) {
        let ingest: Vec<&Kill> = self.kills.iter().filter(|k| k.ingest()).collect();
        let count = |f: &dyn Fn(&Kill) -> bool| self.kills.iter().filter(|k| f(k)).count();
        let acks = count(&Kill::hit_acks);
        let projection = count(&Kill::hit_projection);
        let lagging = count(&|k| k.ingest() && k.lag > 0);
        let rebuilding = count(&Kill::hit_rebuild);
        let rebuilds_killed = count(&|k| !k.ingest());
        let leases = count(&|k| k.lease_left);
        let swaps = count(&|k| k.in_swap);
        let mut per_plan: BTreeMap<Plan, usize> = BTreeMap::new();
        for k in &ingest {
            *per_plan.entry(k.plan).or_default() += 1;
        }
        eprintln!(
            "{}: {} kills of kaizala ingest ({per_plan:?}) in {:.1?} (then {:.1?} to finish): \
             {acks} with POSTs in flight, {projection} with none in flight and the projection \
             behind ({lagging} behind in all), {rebuilding} while a rebuild ran; \
             {rebuilds_killed} rebuilds killed ({leases} leaving their lease, {swaps} in their swap), {} completed \
             beside the receiver (about {} ms each); {} events, {} POSTs, other outcomes from \
             live receivers {:?}; {} killed rebuilds left half-built tables: {:?}",
            self.kind,
            ingest.len(),
            campaign,
            self.started.elapsed() - campaign,
            self.rebuilds_completed,
            millis(self.rebuild),
            self.feed.events.len(),
            self.posts,
            self.statuses,
            self.leaving_leftovers,
            self.leftovers
        );
        let at = format!("{} (seed {})", self.kind, self.seed);
        assert!(ingest.len() >= 50, "{at}: {} kills", ingest.len());
        assert!(acks >= 15, "{at}: {acks} kills with POSTs in flight");
        assert!(
            projection >= 8,
            "{at}: {projection} kills with the projection behind"
        );
        assert!(
            rebuilding >= 8,
            "{at}: {rebuilding} kills while a rebuild ran"
        );
        assert!(
            rebuilds_killed >= 6 && leases >= 3,
            "{at}: {rebuilds_killed} rebuilds killed, {leases} leaving their lease"
        );
        if self.kind == "postgres" {
            assert!(swaps >= 1, "{at}: no rebuild killed in its swap");
        }
        assert!(
            self.rebuilds_completed >= 4,
            "{at}: only {} rebuilds completed beside a live receiver",
            self.rebuilds_completed
        );
    }
}
