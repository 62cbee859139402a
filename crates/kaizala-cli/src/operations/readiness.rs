//! `/readyz`: the database answers, and the projection is not too far
//! behind.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use kaizala_sink::{Lag, Sink};

/// How long the database may take to answer the readiness query.
pub const DATABASE_TIMEOUT: Duration = Duration::from_secs(2);

/// The most projection lag still ready (`--ready-max-lag`): a time the
/// oldest unprojected entry has waited, or a number of unprojected entries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MaxLag {
    /// The oldest entry not projected yet has waited at most this long.
    Time(Duration),
    /// At most this many log entries are not projected yet.
    Entries(u64),
}

impl FromStr for MaxLag {
    type Err = String;

    /// `500ms`, `30s`, `5m`, `1h` (a time), or a bare number (log entries).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let invalid = || {
            format!(
                "`{text}`: expected a time (500ms, 30s, 5m, 1h) or a number of log entries (1000)"
            )
        };
        if let Ok(entries) = text.parse::<u64>() {
            return Ok(MaxLag::Entries(entries));
        }
        let split = text
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .ok_or_else(invalid)?;
        let (number, unit) = text.split_at(split);
        let number: f64 = number.parse().map_err(|_| invalid())?;
        let seconds = match unit {
            "ms" => number / 1000.0,
            "s" => number,
            "m" => number * 60.0,
            "h" => number * 3600.0,
            _ => return Err(invalid()),
        };
        Duration::try_from_secs_f64(seconds)
            .map(MaxLag::Time)
            .map_err(|_| invalid())
    }
}

impl fmt::Display for MaxLag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MaxLag::Time(time) => write!(f, "{}s", time.as_secs_f64()),
            MaxLag::Entries(n) => f.write_str(&entries(*n)),
        }
    }
}

/// `1 log entry`, `2 log entries`.
fn entries(n: u64) -> String {
    format!("{n} log {}", if n == 1 { "entry" } else { "entries" })
}

impl MaxLag {
    /// Why `lag` is over it, if it is.
    fn exceeded_by(self, lag: Lag) -> Option<String> {
        match self {
            MaxLag::Time(max) if lag.seconds > max.as_secs_f64() => Some(format!(
                "projection lag {:.1}s is over --ready-max-lag {self}",
                lag.seconds
            )),
            MaxLag::Entries(max) if lag.entries > max => Some(format!(
                "projection lag {} is over --ready-max-lag {self}",
                entries(lag.entries)
            )),
            _ => None,
        }
    }
}

/// The projection lag, or one line saying why the database did not tell.
pub async fn lag(sink: &Sink) -> Result<Lag, String> {
    match tokio::time::timeout(DATABASE_TIMEOUT, sink.lag()).await {
        Ok(Ok(lag)) => Ok(lag),
        Ok(Err(err)) => Err(format!("database: {}", one_line(&err.to_string()))),
        Err(_) => Err(format!(
            "database: no answer within {}s",
            DATABASE_TIMEOUT.as_secs()
        )),
    }
}

/// Ready, or one line saying why not.
pub async fn check(sink: &Sink, max: MaxLag) -> Result<(), String> {
    let lag = lag(sink).await?;
    match max.exceeded_by(lag) {
        Some(reason) => Err(reason),
        None => Ok(()),
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_times_and_counts() {
        let time = |s: &str| MaxLag::Time(Duration::from_secs_f64(s.parse().unwrap()));
        assert_eq!("1000".parse(), Ok(MaxLag::Entries(1000)));
        assert_eq!("500ms".parse(), Ok(time("0.5")));
        assert_eq!("30s".parse(), Ok(time("30")));
        assert_eq!("1.5m".parse(), Ok(time("90")));
        assert_eq!("2h".parse(), Ok(time("7200")));
        for bad in ["", "s", "10 minutes", "-5s", "1e3s", "10d"] {
            let err = bad.parse::<MaxLag>().unwrap_err();
            assert!(err.contains("expected a time"), "{bad}: {err}");
        }
    }

    #[test]
    fn says_why_it_is_over() {
        let lag = Lag::new;
        let max = MaxLag::Entries(10);
        assert_eq!(max.exceeded_by(lag(10, 99.0)), None);
        assert_eq!(
            max.exceeded_by(lag(11, 0.0)).unwrap(),
            "projection lag 11 log entries is over --ready-max-lag 10 log entries"
        );
        assert_eq!(
            MaxLag::Entries(0).exceeded_by(lag(1, 0.0)).unwrap(),
            "projection lag 1 log entry is over --ready-max-lag 0 log entries"
        );
        let max = MaxLag::Time(Duration::from_secs(30));
        assert_eq!(max.exceeded_by(lag(1_000_000, 30.0)), None);
        assert_eq!(
            max.exceeded_by(lag(1, 31.3)).unwrap(),
            "projection lag 31.3s is over --ready-max-lag 30s"
        );
    }
}
