//! Read-side helpers: row counts, the CLI demo's summary, and the data of
//! the dashboard page.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::db::{Db, now_millis};
use crate::error::SinkError;
use crate::table::Table;
use crate::write::query;

/// Rows per table (views are not counted).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Counts(pub BTreeMap<Table, u64>);

impl Counts {
    /// The rows of `table` (0 for views).
    pub fn get(&self, table: Table) -> u64 {
        self.0.get(&table).copied().unwrap_or(0)
    }
}

/// Events of one type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TypeCount {
    /// The event type's wire name.
    pub event_type: String,
    /// How many were stored.
    pub count: u64,
}

/// How often an option was chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OptionCount {
    /// The option's title.
    pub option: String,
    /// How many current answers chose it.
    pub count: u64,
}

/// The answer distribution of one option question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuestionDistribution {
    /// The id of the action the question belongs to.
    pub action_id: String,
    /// The action's title, when known.
    pub action_title: Option<String>,
    /// The question's position in the action.
    pub question_index: i64,
    /// The question's title, when known.
    pub question_title: Option<String>,
    /// Options chosen at least once, most chosen first.
    pub options: Vec<OptionCount>,
}

/// What the sink holds, in brief: what `kaizala demo` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Events stored.
    pub events: u64,
    /// Events stored, by type (most first).
    pub events_by_type: Vec<TypeCount>,
    /// Bodies in quarantine.
    pub quarantined: u64,
    /// Actions known.
    pub actions: u64,
    /// Responses stored.
    pub responses: u64,
    /// Answer distribution of every option question.
    pub questions: Vec<QuestionDistribution>,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} events, {} actions, {} responses, {} quarantined",
            self.events, self.actions, self.responses, self.quarantined
        )?;
        for t in &self.events_by_type {
            writeln!(f, "  {:<20} {:>8}", t.event_type, t.count)?;
        }
        for q in &self.questions {
            let total: u64 = q.options.iter().map(|o| o.count).sum();
            writeln!(
                f,
                "{} — {}",
                q.action_title.as_deref().unwrap_or(&q.action_id),
                q.question_title.as_deref().unwrap_or("(untitled question)")
            )?;
            for o in &q.options {
                let share = if total == 0 {
                    0.0
                } else {
                    o.count as f64 * 100.0 / total as f64
                };
                let bar = "#".repeat((share / 4.0).round() as usize);
                writeln!(f, "  {:<28} {:>7} {:>5.1}% {bar}", o.option, o.count, share)?;
            }
        }
        Ok(())
    }
}

/// Events of one type in one hour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HourlyEvents {
    /// The hour's start (epoch ms, UTC).
    pub hour_start: i64,
    /// The event type's wire name.
    pub event_type: String,
    /// Events received in that hour.
    pub count: u64,
}

/// Responses to one action on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DailyResponses {
    /// The id of the action responded to.
    pub action_id: String,
    /// Its title, when known.
    pub title: Option<String>,
    /// The day in the sink's time zone, `YYYY-MM-DD`.
    pub day: String,
    /// The day's midnight, counted as if it were UTC (epoch ms): label it
    /// in UTC to show the local day.
    pub day_start: i64,
    /// Responses first submitted that day.
    pub responses: u64,
}

/// A recent text message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LatestMessage {
    /// The group it was sent in, when known.
    pub group_id: Option<String>,
    /// Who sent it.
    pub sender_name: Option<String>,
    /// The message's text, when the event carried one.
    pub text: Option<String>,
    /// When it arrived (epoch ms).
    pub sent_at: i64,
}

/// Everything the dashboard page shows, as one JSON document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dashboard {
    /// When this was computed (epoch ms).
    pub generated_at: i64,
    /// The sink's time zone (an IANA name, `UTC` unless set), which days
    /// are counted in and times should be shown in.
    pub time_zone: String,
    /// Rows per table.
    pub counts: Counts,
    /// Events per hour by type, over the week before the newest event.
    pub events_per_hour: Vec<HourlyEvents>,
    /// Responses per action per day.
    pub responses_over_time: Vec<DailyResponses>,
    /// Answer distribution of every option question.
    pub answer_distribution: Vec<QuestionDistribution>,
    /// The 20 newest text messages, newest first.
    pub latest_messages: Vec<LatestMessage>,
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Runs `sql` and reads each row with `read`; `doing` names the work in
/// errors.
async fn read_rows<T>(
    db: &Db,
    doing: &'static str,
    sql: &str,
    read: impl Fn(&AnyRow) -> Result<T, sqlx::Error>,
) -> Result<Vec<T>, SinkError> {
    query(sql, vec![])
        .fetch_all(&db.pool)
        .await
        .map_err(|e| db.error(doing, e))?
        .iter()
        .map(read)
        .collect::<Result<_, _>>()
        .map_err(|e| db.error(doing, e))
}

pub(crate) async fn counts(db: &Db) -> Result<Counts, SinkError> {
    let tables: Vec<Table> = Table::ALL.into_iter().filter(|t| !t.is_view()).collect();
    let sql = tables
        .iter()
        .map(|t| format!("SELECT '{t}', COUNT(*) FROM {t}"))
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let rows = read_rows(db, "counting rows", &sql, |row| {
        Ok((row.try_get::<String, _>(0)?, row.try_get::<i64, _>(1)?))
    })
    .await?;
    Ok(Counts(
        rows.into_iter()
            .filter_map(|(name, n)| Some((name.parse::<Table>().ok()?, count(n))))
            .collect(),
    ))
}

async fn events_by_type(db: &Db) -> Result<Vec<TypeCount>, SinkError> {
    read_rows(
        db,
        "counting events by type",
        "SELECT event_type, COUNT(*) AS n FROM events GROUP BY event_type \
         ORDER BY n DESC, event_type",
        |row| {
            Ok(TypeCount {
                event_type: row.try_get(0)?,
                count: count(row.try_get(1)?),
            })
        },
    )
    .await
}

async fn distribution(db: &Db) -> Result<Vec<QuestionDistribution>, SinkError> {
    let rows = read_rows(
        db,
        "reading the answer distribution",
        "SELECT d.action_id, a.title, d.question_index, d.question_title, d.option, d.count \
         FROM answer_distribution d LEFT JOIN actions a ON a.action_id = d.action_id \
         ORDER BY d.action_id, d.question_index, d.count DESC, d.option",
        |row| {
            Ok((
                row.try_get::<String, _>(0)?,
                row.try_get::<Option<String>, _>(1)?,
                row.try_get::<i64, _>(2)?,
                row.try_get::<Option<String>, _>(3)?,
                row.try_get::<Option<String>, _>(4)?,
                row.try_get::<i64, _>(5)?,
            ))
        },
    )
    .await?;
    let mut out: Vec<QuestionDistribution> = Vec::new();
    for (action_id, action_title, question_index, question_title, option, n) in rows {
        let option = OptionCount {
            option: option.unwrap_or_default(),
            count: count(n),
        };
        match out.last_mut() {
            Some(last) if last.action_id == action_id && last.question_index == question_index => {
                last.options.push(option)
            }
            _ => out.push(QuestionDistribution {
                action_id,
                action_title,
                question_index,
                question_title,
                options: vec![option],
            }),
        }
    }
    Ok(out)
}

pub(crate) async fn summary(db: &Db) -> Result<Summary, SinkError> {
    let counts = counts(db).await?;
    Ok(Summary {
        events: counts.get(Table::Events),
        events_by_type: events_by_type(db).await?,
        quarantined: counts.get(Table::Quarantine),
        actions: counts.get(Table::Actions),
        responses: counts.get(Table::Responses),
        questions: distribution(db).await?,
    })
}

pub(crate) async fn dashboard(db: &Db) -> Result<Dashboard, SinkError> {
    const DOING: &str = "reading the dashboard";
    let hourly = read_rows(
        db,
        DOING,
        "SELECT (received_at / 3600000) * 3600000 AS hour_start, event_type, COUNT(*) \
         FROM event_index \
         WHERE received_at >= (SELECT MAX(received_at) FROM event_index) - 604800000 \
         GROUP BY hour_start, event_type ORDER BY hour_start, event_type",
        |row| {
            Ok(HourlyEvents {
                hour_start: row.try_get(0)?,
                event_type: row.try_get(1)?,
                count: count(row.try_get(2)?),
            })
        },
    )
    .await?;
    let daily = read_rows(
        db,
        DOING,
        "SELECT r.action_id, a.title, r.day, r.day_start, r.responses \
         FROM responses_per_day r LEFT JOIN actions a ON a.action_id = r.action_id \
         WHERE r.action_id IS NOT NULL ORDER BY r.day_start, r.action_id",
        |row| {
            Ok(DailyResponses {
                action_id: row.try_get(0)?,
                title: row.try_get(1)?,
                day: row.try_get(2)?,
                day_start: row.try_get(3)?,
                responses: count(row.try_get(4)?),
            })
        },
    )
    .await?;
    let messages = read_rows(
        db,
        DOING,
        "SELECT group_id, sender_name, text, sent_at FROM messages \
         ORDER BY sent_at DESC, event_id DESC LIMIT 20",
        |row| {
            Ok(LatestMessage {
                group_id: row.try_get(0)?,
                sender_name: row.try_get(1)?,
                text: row.try_get(2)?,
                sent_at: row.try_get(3)?,
            })
        },
    )
    .await?;
    Ok(Dashboard {
        generated_at: now_millis(),
        time_zone: crate::time_zone::get(db).await?,
        counts: counts(db).await?,
        events_per_hour: hourly,
        responses_over_time: daily,
        answer_distribution: distribution(db).await?,
        latest_messages: messages,
    })
}
