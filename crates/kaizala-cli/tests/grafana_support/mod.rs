//! Grafana's PostgreSQL macros, expanded as Grafana expands them (its
//! `pkg/tsdb/grafana-postgresql-datasource/macros.go`), so that
//! `tests/grafana.rs` runs the dashboards' SQL exactly as Grafana would
//! send it to the server.
//!
//! A macro is `$name(args)`: a name of letters, digits and `_`, and
//! arguments up to the first `)`, split at commas and trimmed of spaces.
//! An unknown name is an error, as in Grafana; so is any macro this file
//! does not know (the test then fails rather than running something else).

#![allow(dead_code)] // the unit tests below use more than tests/grafana.rs

/// A point in time: seconds since the Unix epoch, and nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Instant {
    pub secs: i64,
    pub nanos: u32,
}

impl Instant {
    /// Whole seconds since the epoch.
    pub fn at(secs: i64) -> Instant {
        Instant { secs, nanos: 0 }
    }

    /// Go's `t.UTC().Format(time.RFC3339Nano)`: the fraction without
    /// trailing zeros, and none at all when it is zero.
    pub fn rfc3339_nano(self) -> String {
        let whole = kaizala_types::Timestamp::from_unix_seconds(self.secs).to_rfc3339();
        let mut text = whole.trim_end_matches('Z').to_owned();
        if self.nanos > 0 {
            let fraction = format!("{:09}", self.nanos);
            text.push('.');
            text.push_str(fraction.trim_end_matches('0'));
        }
        text.push('Z');
        text
    }
}

/// The dashboard's time range.
#[derive(Debug, Clone, Copy)]
pub struct TimeRange {
    pub from: Instant,
    pub to: Instant,
}

/// `sql` with every macro expanded for `range`.
pub fn interpolate(sql: &str, range: TimeRange) -> Result<String, String> {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        let name_len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        let call = (name_len > 0 && after[name_len..].starts_with('('))
            .then(|| after[name_len + 1..].find(')'))
            .flatten();
        let Some(close) = call else {
            // Not a macro call: left as it is (Grafana does the same).
            out.push('$');
            rest = after;
            continue;
        };
        let mut name = &after[..name_len];
        let args_text = &after[name_len + 1..name_len + 1 + close];
        let whole = &rest[dollar..dollar + 1 + name_len + 1 + close + 1];
        // Grafana's pre-5.3 compatibility: `$__timeGroup(…)` directly
        // followed by a comma (at the first place the same call appears)
        // gets `AS "time"`.
        let followed_by_comma = sql
            .find(whole)
            .is_some_and(|at| sql[at + whole.len()..].starts_with(','));
        if name == "__timeGroup" && followed_by_comma {
            name = "__timeGroupAlias";
        }
        let args: Vec<&str> = args_text.split(',').map(|a| a.trim_matches(' ')).collect();
        out.push_str(&evaluate(name, &args, range)?);
        rest = &rest[dollar + whole.len()..];
    }
    out.push_str(rest);
    Ok(out)
}

fn evaluate(name: &str, args: &[&str], range: TimeRange) -> Result<String, String> {
    // Grafana splits "" into one empty argument: a column is always there,
    // if empty.
    let column = args[0];
    let (from, to) = (range.from.rfc3339_nano(), range.to.rfc3339_nano());
    Ok(match name {
        "__time" => format!("{column} AS \"time\""),
        "__timeEpoch" => format!("extract(epoch from {column}) as \"time\""),
        "__timeFilter" => format!("{column} BETWEEN '{from}' AND '{to}'"),
        "__timeFrom" => format!("'{from}'"),
        "__timeTo" => format!("'{to}'"),
        "__timeGroup" => {
            let seconds = group_seconds(name, args)?;
            format!("floor(extract(epoch from {})/{seconds})*{seconds}", args[0])
        }
        "__timeGroupAlias" => format!("{} AS \"time\"", evaluate("__timeGroup", args, range)?),
        "__unixEpochFilter" => {
            format!(
                "{column} >= {} AND {column} <= {}",
                range.from.secs, range.to.secs
            )
        }
        "__unixEpochGroup" => {
            let seconds = group_seconds(name, args)?;
            format!("floor(({})/{seconds})*{seconds}", args[0])
        }
        "__unixEpochGroupAlias" => {
            format!("{} AS \"time\"", evaluate("__unixEpochGroup", args, range)?)
        }
        other => return Err(format!("unknown macro {other:?}")),
    })
}

/// The interval of `$__timeGroup(column, interval[, fill])` in seconds, as
/// Go's `%v` prints a float64. The fill argument changes only how Grafana
/// fills gaps in the result, not the SQL; it is refused here because the
/// dashboards do not use it.
fn group_seconds(name: &str, args: &[&str]) -> Result<String, String> {
    if args.len() < 2 {
        return Err(format!(
            "macro {name} needs time column and interval and optional fill value"
        ));
    }
    if args.len() > 2 {
        return Err(format!("macro {name}: fill values are not expanded here"));
    }
    let interval = args[1].trim_matches('\'');
    let split = interval
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("error parsing interval {}", args[1]))?;
    let count: f64 = interval[..split]
        .parse()
        .map_err(|_| format!("error parsing interval {}", args[1]))?;
    let unit = match &interval[split..] {
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        "w" => 604_800.0,
        _ => return Err(format!("error parsing interval {}", args[1])),
    };
    Ok(go_float(count * unit))
}

/// Go's `%v` of a float64: the shortest digits, in exponent form when the
/// decimal exponent is below -4 or 6 and above (`1.0368e+06`).
fn go_float(value: f64) -> String {
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if (-4..6).contains(&exponent) {
        format!("{value}")
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.abs())
    }
}

// The expansions pinned against the forms in Grafana's own
// `macros_test.go` (a range from 2018-04-12 18:00 to 18:05 UTC, and the
// 1960 and half-second ranges).
#[cfg(test)]
mod pinned {
    use super::*;

    fn range(from: Instant, to: Instant) -> TimeRange {
        TimeRange { from, to }
    }

    const FROM_2018: i64 = 1_523_556_000;

    fn expand(sql: &str) -> String {
        let r = range(Instant::at(FROM_2018), Instant::at(FROM_2018 + 300));
        interpolate(sql, r).unwrap()
    }

    #[test]
    fn time_filter_from_and_to() {
        assert_eq!(
            expand("WHERE $__timeFilter(time_column)"),
            "WHERE time_column BETWEEN '2018-04-12T18:00:00Z' AND '2018-04-12T18:05:00Z'"
        );
        assert_eq!(
            expand("select $__timeFrom()"),
            "select '2018-04-12T18:00:00Z'"
        );
        assert_eq!(
            expand("select $__timeTo()"),
            "select '2018-04-12T18:05:00Z'"
        );
        assert_eq!(
            expand("select $__time(time_column)"),
            "select time_column AS \"time\""
        );
        assert_eq!(
            expand("select $__unixEpochFilter(time)"),
            format!("select time >= {FROM_2018} AND time <= {}", FROM_2018 + 300)
        );
    }

    #[test]
    fn time_group_and_its_alias() {
        assert_eq!(
            expand("SELECT $__timeGroup(time_column,'5m')"),
            "SELECT floor(extract(epoch from time_column)/300)*300"
        );
        assert_eq!(
            expand("SELECT $__timeGroupAlias(time_column,'5m')"),
            "SELECT floor(extract(epoch from time_column)/300)*300 AS \"time\""
        );
        assert_eq!(
            expand("$__timeGroup(time_column , '5m')"),
            "floor(extract(epoch from time_column)/300)*300"
        );
        // Followed by a comma, the old form gets its alias; with its own
        // alias it is left alone.
        assert_eq!(
            expand("SELECT $__timeGroup(time_column,'5m'), value"),
            "SELECT floor(extract(epoch from time_column)/300)*300 AS \"time\", value"
        );
        assert_eq!(
            expand("SELECT $__timeGroup(time_column,'5m') as time, value"),
            "SELECT floor(extract(epoch from time_column)/300)*300 as time, value"
        );
        assert_eq!(
            expand("SELECT $__timeGroupAlias(changed_at, '1d')"),
            "SELECT floor(extract(epoch from changed_at)/86400)*86400 AS \"time\""
        );
        assert_eq!(
            expand("SELECT $__unixEpochGroupAlias(time_column+time_adjustment,'5m')"),
            "SELECT floor((time_column+time_adjustment)/300)*300 AS \"time\""
        );
        assert_eq!(go_float(1_036_800.0), "1.0368e+06");
        assert_eq!(go_float(0.02), "0.02");
    }

    #[test]
    fn times_before_the_epoch_and_fractions() {
        // 1960-02-01 07:00:00.5 and 1980-02-03 08:00:00.5 UTC.
        let from = Instant {
            secs: -312_915_600,
            nanos: 500_000_000,
        };
        let to = Instant {
            secs: 318_412_800,
            nanos: 500_000_000,
        };
        assert_eq!(from.rfc3339_nano(), "1960-02-01T07:00:00.5Z");
        assert_eq!(to.rfc3339_nano(), "1980-02-03T08:00:00.5Z");
        assert_eq!(
            interpolate("WHERE $__timeFilter(time_column)", range(from, to)).unwrap(),
            "WHERE time_column BETWEEN '1960-02-01T07:00:00.5Z' AND '1980-02-03T08:00:00.5Z'"
        );
        let nanos = Instant {
            secs: 0,
            nanos: 123_450_000,
        };
        assert_eq!(nanos.rfc3339_nano(), "1970-01-01T00:00:00.12345Z");
    }

    #[test]
    fn unknown_macros_and_bad_arguments_fail() {
        let r = range(Instant::at(0), Instant::at(1));
        for sql in [
            "SELECT $__interval_ms(x)",
            "SELECT $foo(x)",
            "SELECT $__timeGroup(x)",
            "SELECT $__timeGroup(x, 'fortnight')",
        ] {
            assert!(interpolate(sql, r).is_err(), "{sql}");
        }
        // Not calls: untouched.
        assert_eq!(
            interpolate("SELECT $1, $$x$$", r).unwrap(),
            "SELECT $1, $$x$$"
        );
    }
}
