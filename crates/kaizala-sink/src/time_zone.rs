//! The time zone of a sink (`kaizala sql set-timezone`): the daily views
//! bucket by it and `--excel` shows local times in it. Its name is kept in
//! `sink_state` and its UTC offsets in `time_zone_offsets`, which the views
//! read the same way on both backends (SQLite has no zone database; one
//! table keeps PostgreSQL's answers identical to SQLite's).

use sqlx::Row;

use crate::db::{Backend, Db, now_millis, placeholders};
use crate::error::SinkError;
use crate::schema::tables::TIME_ZONE_OFFSETS;
use crate::write::query;

/// The zone of a sink nobody set one for.
pub(crate) const UTC: &str = "UTC";

/// The `sink_state` row holding the zone's name.
const STATE: &str = "time_zone";

/// The offsets are stored from 1900 to 2200 (epoch seconds); a zone's rules
/// before and after are those at the ends.
const FROM_SECOND: i64 = -2_208_988_800;
const TO_SECOND: i64 = 7_258_118_400;

/// `zone`'s UTC offsets from 1900 to 2200: `(starts_at, offset)`, both in
/// milliseconds, the first starting before any time a sink holds.
fn offsets(zone: &jiff::tz::TimeZone) -> Vec<(i64, i64)> {
    let start = jiff::Timestamp::from_second(FROM_SECOND).expect("1900 is a timestamp");
    let end = jiff::Timestamp::from_second(TO_SECOND).expect("2200 is a timestamp");
    let mut rows = vec![(i64::MIN, i64::from(zone.to_offset(start).seconds()) * 1000)];
    for transition in zone.following(start) {
        if transition.timestamp() >= end {
            break;
        }
        let offset = i64::from(transition.offset().seconds()) * 1000;
        // A transition of the abbreviation or DST flag alone keeps the offset.
        if rows.last().map(|(_, last)| *last) != Some(offset) {
            rows.push((transition.timestamp().as_millisecond(), offset));
        }
    }
    rows
}

/// Stores `zone` (an IANA name, any letter case) as the sink's; returns
/// its canonical name.
pub(crate) async fn set(db: &Db, zone: &str) -> Result<String, SinkError> {
    let unknown = || SinkError::UnknownTimeZone {
        zone: zone.to_owned(),
    };
    if zone.trim().is_empty() {
        return Err(unknown());
    }
    let tz = jiff::tz::TimeZone::get(zone.trim()).map_err(|_| unknown())?;
    let name = tz.iana_name().unwrap_or(zone.trim()).to_owned();
    let rows = offsets(&tz);
    let doing = "storing the time zone";
    let mut tx = db.pool.begin().await.map_err(|e| db.error(doing, e))?;
    query("DELETE FROM time_zone_offsets", vec![])
        .execute(&mut *tx)
        .await
        .map_err(|e| db.error(doing, e))?;
    let sql = format!(
        "{} VALUES {}",
        TIME_ZONE_OFFSETS.insert_head("time_zone_offsets"),
        placeholders(
            db.backend == Backend::Sqlite,
            TIME_ZONE_OFFSETS.columns.len(),
            rows.len()
        )
    );
    let values = rows
        .iter()
        .flat_map(|(starts_at, offset)| [(*starts_at).into(), (*offset).into()])
        .collect();
    query(&sql, values)
        .execute(&mut *tx)
        .await
        .map_err(|e| db.error(doing, e))?;
    crate::project::note(&mut *tx, STATE, None, &name, now_millis())
        .await
        .map_err(|e| db.error(doing, e))?;
    tx.commit().await.map_err(|e| db.error(doing, e))?;
    Ok(name)
}

/// The sink's zone: the name stored, or [`UTC`].
pub(crate) async fn get(db: &Db) -> Result<String, SinkError> {
    let doing = "reading the time zone";
    let row = query(
        "SELECT detail FROM sink_state WHERE name = $1",
        vec![STATE.into()],
    )
    .fetch_optional(&db.pool)
    .await
    .map_err(|e| db.error(doing, e))?;
    let name = match row {
        Some(row) => row
            .try_get::<Option<String>, _>(0)
            .map_err(|e| db.error(doing, e))?,
        None => None,
    };
    Ok(name.unwrap_or_else(|| UTC.to_owned()))
}

/// The sink's zone, to convert times with.
pub(crate) async fn zone(db: &Db) -> Result<jiff::tz::TimeZone, SinkError> {
    let name = get(db).await?;
    jiff::tz::TimeZone::get(&name).map_err(|_| SinkError::UnknownTimeZone { zone: name })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_zone_has_one_offset_from_the_start() {
        let kolkata = jiff::tz::TimeZone::get("Asia/Kolkata").unwrap();
        let rows = offsets(&kolkata);
        // +05:30 since 1945; before, other offsets.
        let last = *rows.last().unwrap();
        assert_eq!(last.1, (5 * 60 + 30) * 60 * 1000);
        assert!(last.0 < 0, "{rows:?}");
        assert_eq!(rows[0].0, i64::MIN);
        assert_eq!(offsets(&jiff::tz::TimeZone::UTC), [(i64::MIN, 0)]);
    }

    #[test]
    fn a_zone_with_summer_time_changes_twice_a_year() {
        let london = jiff::tz::TimeZone::get("europe/london").unwrap();
        assert_eq!(london.iana_name(), Some("Europe/London"));
        let rows = offsets(&london);
        // 2026: BST from 29 March 01:00 UTC to 25 October 01:00 UTC.
        let at = |s: &str| s.parse::<jiff::Timestamp>().unwrap().as_millisecond();
        let offset_at = |ms: i64| rows.iter().rev().find(|(start, _)| *start <= ms).unwrap().1;
        assert_eq!(offset_at(at("2026-03-29T00:59:59Z")), 0);
        assert_eq!(offset_at(at("2026-03-29T01:00:00Z")), 3_600_000);
        assert_eq!(offset_at(at("2026-10-25T00:59:59Z")), 3_600_000);
        assert_eq!(offset_at(at("2026-10-25T01:00:00Z")), 0);
        // Rules carry on past the zone database's explicit transitions.
        assert_eq!(offset_at(at("2150-07-01T00:00:00Z")), 3_600_000);
        assert!(rows.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 != w[1].1));
    }
}
