//! Points in time, which the platform writes in three ways: epoch seconds
//! (`creationTime`), epoch milliseconds (`accessTokenExpiry`, `ts`,
//! `lastModifiedTime`) and ISO 8601 (`sentAt`, `dueDate` of JobCreated),
//! sometimes as strings of digits (`validity`).

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Epoch numbers at or above this are milliseconds: as seconds they would
/// be past the year 5000, as milliseconds they are after March 1973.
const MILLIS_THRESHOLD: i64 = 100_000_000_000;

/// How a [`Timestamp`] is written on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TimestampFormat {
    /// A JSON integer counting seconds since 1970-01-01T00:00:00Z.
    EpochSeconds,
    /// A JSON integer counting milliseconds since the epoch.
    EpochMillis,
    /// An ISO 8601 / RFC 3339 string such as `2018-03-22T18:29:59Z`.
    Iso8601,
    /// A string of digits (seconds or milliseconds, told apart by size).
    EpochText,
}

/// A point in time with millisecond precision that remembers its wire form.
///
/// ```
/// use kaizala_types::{Timestamp, TimestampFormat};
///
/// let seconds: Timestamp = serde_json::from_str("1481180806").unwrap();
/// let millis: Timestamp = serde_json::from_str("1481180806000").unwrap();
/// let iso: Timestamp = serde_json::from_str(r#""2016-12-08T07:06:46Z""#).unwrap();
/// assert_eq!(seconds.unix_millis(), millis.unix_millis());
/// assert_eq!(iso.unix_millis(), millis.unix_millis());
/// assert_eq!(iso.format(), TimestampFormat::Iso8601);
/// assert_eq!(serde_json::to_string(&seconds).unwrap(), "1481180806");
/// assert_eq!(millis.to_rfc3339(), "2016-12-08T07:06:46Z");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Timestamp {
    millis: i64,
    repr: Repr,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Repr {
    Seconds(i64),
    Millis,
    Text(Box<str>),
}

/// A string that is neither ISO 8601 nor an epoch number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidTimestamp {
    input: String,
}

impl fmt::Display for InvalidTimestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid timestamp {:?}: expected ISO 8601 (e.g. \"2018-03-22T18:29:59Z\") or epoch seconds/milliseconds",
            self.input
        )
    }
}

impl std::error::Error for InvalidTimestamp {}

impl Timestamp {
    /// Milliseconds since the epoch, encoded as a JSON integer of milliseconds.
    pub fn from_unix_millis(millis: i64) -> Self {
        Timestamp {
            millis,
            repr: Repr::Millis,
        }
    }

    /// Seconds since the epoch, encoded as a JSON integer of seconds.
    pub fn from_unix_seconds(seconds: i64) -> Self {
        Timestamp {
            millis: seconds.saturating_mul(1000),
            repr: Repr::Seconds(seconds),
        }
    }

    /// Milliseconds since the epoch, encoded as an ISO 8601 string in UTC.
    pub fn iso8601_from_unix_millis(millis: i64) -> Self {
        Timestamp {
            millis,
            repr: Repr::Text(format_rfc3339(millis).into()),
        }
    }

    /// Parses an ISO 8601 string or a string of epoch digits.
    pub fn parse(text: &str) -> Result<Self, InvalidTimestamp> {
        let millis = parse_text(text).ok_or_else(|| InvalidTimestamp {
            input: text.to_owned(),
        })?;
        Ok(Timestamp {
            millis,
            repr: Repr::Text(text.into()),
        })
    }

    /// The milliseconds since 1970-01-01T00:00:00Z that [`Timestamp::parse`]
    /// reads in `text`, without keeping the text (nothing is allocated
    /// unless it fails): for readers of many times, such as an export.
    pub fn parse_unix_millis(text: &str) -> Result<i64, InvalidTimestamp> {
        parse_text(text).ok_or_else(|| InvalidTimestamp {
            input: text.to_owned(),
        })
    }

    /// An epoch number of unknown unit: seconds or milliseconds by size.
    pub fn from_epoch(value: i64) -> Self {
        if value.unsigned_abs() >= MILLIS_THRESHOLD as u64 {
            Timestamp::from_unix_millis(value)
        } else {
            Timestamp::from_unix_seconds(value)
        }
    }

    /// Milliseconds since 1970-01-01T00:00:00Z.
    pub fn unix_millis(&self) -> i64 {
        self.millis
    }

    /// Whole seconds since the epoch (rounded down).
    pub fn unix_seconds(&self) -> i64 {
        self.millis.div_euclid(1000)
    }

    /// The wire form this timestamp has.
    pub fn format(&self) -> TimestampFormat {
        match &self.repr {
            Repr::Seconds(_) => TimestampFormat::EpochSeconds,
            Repr::Millis => TimestampFormat::EpochMillis,
            Repr::Text(text) if is_digits(text) => TimestampFormat::EpochText,
            Repr::Text(_) => TimestampFormat::Iso8601,
        }
    }

    /// RFC 3339 in UTC (`2018-03-22T18:29:59Z`, with `.mmm` when needed).
    pub fn to_rfc3339(&self) -> String {
        format_rfc3339(self.millis)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.repr {
            Repr::Seconds(seconds) => serializer.serialize_i64(*seconds),
            Repr::Millis => serializer.serialize_i64(self.millis),
            Repr::Text(text) => serializer.serialize_str(text),
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TimestampVisitor;
        impl Visitor<'_> for TimestampVisitor {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a timestamp (epoch seconds, epoch milliseconds or an ISO 8601 string)")
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Timestamp, E> {
                Ok(Timestamp::from_epoch(value))
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Timestamp, E> {
                i64::try_from(value)
                    .map(Timestamp::from_epoch)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(value), &self))
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Timestamp, E> {
                Timestamp::parse(value).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(TimestampVisitor)
    }
}

impl crate::wire::Wire for Timestamp {
    fn decode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Timestamp::deserialize(deserializer)
    }
}

fn is_digits(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn parse_text(text: &str) -> Option<i64> {
    let trimmed = text.trim();
    if is_digits(trimmed) {
        let value: i64 = trimmed.parse().ok()?;
        return Some(Timestamp::from_epoch(value).millis);
    }
    parse_iso8601(trimmed)
}

/// `YYYY-MM-DD`, optionally followed by `T` (or a space) and
/// `hh:mm[:ss[.fraction]]`, optionally followed by `Z` or `±hh[:]mm`.
/// A missing offset means UTC, which is what the platform meant.
fn parse_iso8601(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let mut cursor = Cursor { bytes, pos: 0 };
    let year = cursor.digits(4)?;
    cursor.expect(b'-')?;
    let month = cursor.digits(2)?;
    cursor.expect(b'-')?;
    let day = cursor.digits(2)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let mut millis_of_day = 0;
    let mut offset_minutes = 0;
    if cursor
        .peek()
        .is_some_and(|b| b == b'T' || b == b't' || b == b' ')
    {
        cursor.pos += 1;
        let hour = cursor.digits(2)?;
        cursor.expect(b':')?;
        let minute = cursor.digits(2)?;
        let mut second = 0;
        let mut fraction_millis = 0;
        if cursor.peek() == Some(b':') {
            cursor.pos += 1;
            second = cursor.digits(2)?;
            if cursor.peek().is_some_and(|b| b == b'.' || b == b',') {
                cursor.pos += 1;
                let start = cursor.pos;
                while cursor.peek().is_some_and(|b| b.is_ascii_digit()) {
                    cursor.pos += 1;
                }
                let fraction = &text[start..cursor.pos];
                if fraction.is_empty() {
                    return None;
                }
                let first_three: String = fraction.chars().chain("000".chars()).take(3).collect();
                fraction_millis = first_three.parse::<i64>().ok()?;
            }
        }
        // 60 admits a leap second; it lands on the next second, as in POSIX time.
        if hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        millis_of_day = ((hour * 60 + minute) * 60 + second) * 1000 + fraction_millis;
        match cursor.peek() {
            None => {}
            Some(b'Z' | b'z') => cursor.pos += 1,
            Some(sign @ (b'+' | b'-')) => {
                cursor.pos += 1;
                let hours = cursor.digits(2)?;
                if cursor.peek() == Some(b':') {
                    cursor.pos += 1;
                }
                let minutes = cursor.digits(2)?;
                if hours > 23 || minutes > 59 {
                    return None;
                }
                offset_minutes = (hours * 60 + minutes) * if sign == b'+' { 1 } else { -1 };
            }
            Some(_) => return None,
        }
    }
    if cursor.pos != bytes.len() {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * 86_400_000 + millis_of_day - offset_minutes * 60_000)
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.pos += 1)
    }

    fn digits(&mut self, count: usize) -> Option<i64> {
        let slice = self.bytes.get(self.pos..self.pos + count)?;
        if !slice.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.pos += count;
        Some(
            slice
                .iter()
                .fold(0, |acc, b| acc * 10 + i64::from(b - b'0')),
        )
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn format_rfc3339(millis: i64) -> String {
    let days = millis.div_euclid(86_400_000);
    let of_day = millis.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    let (hour, minute, second, ms) = (
        of_day / 3_600_000,
        of_day / 60_000 % 60,
        of_day / 1000 % 60,
        of_day % 1000,
    );
    if ms == 0 {
        format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
    } else {
        format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{ms:03}Z")
    }
}

#[cfg(test)]
impl crate::arb::Arb for Timestamp {
    fn arb() -> proptest::strategy::BoxedStrategy<Self> {
        use proptest::prelude::*;
        // Years 1970..=2400 keep every form in range of the others.
        let millis = 0i64..13_569_465_600_000;
        prop_oneof![
            (0i64..MILLIS_THRESHOLD).prop_map(Timestamp::from_unix_seconds),
            (MILLIS_THRESHOLD..13_569_465_600_000).prop_map(Timestamp::from_unix_millis),
            millis.clone().prop_map(Timestamp::iso8601_from_unix_millis),
            millis.prop_map(|m| Timestamp::parse(&m.to_string()).expect("digits parse")),
        ]
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_forms() {
        let cases = [
            ("2018-03-22T18:29:59Z", 1_521_743_399_000),
            ("2018-03-22T18:29:59.5Z", 1_521_743_399_500),
            ("2018-03-22T18:29:59.123456Z", 1_521_743_399_123),
            ("2018-03-22T23:59:59+05:30", 1_521_743_399_000),
            ("2018-03-22T13:29:59-0500", 1_521_743_399_000),
            ("2018-03-22 18:29:59", 1_521_743_399_000),
            ("2018-03-22T18:29", 1_521_743_340_000),
            ("2018-01-01", 1_514_764_800_000),
            ("2000-02-29T00:00:00Z", 951_782_400_000),
            ("1969-12-31T23:59:59Z", -1000),
        ];
        for (text, millis) in cases {
            let ts = Timestamp::parse(text).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(ts.unix_millis(), millis, "{text}");
            assert_eq!(ts.format(), TimestampFormat::Iso8601);
        }
    }

    #[test]
    fn rejects_nonsense_with_a_clear_message() {
        for text in [
            "",
            "yesterday",
            "2018-13-01",
            "2019-02-29",
            "2018-03-22T25:00:00Z",
            "2018-03-22T18:29:59Q",
            "2018-3-2",
        ] {
            let err = Timestamp::parse(text).unwrap_err();
            assert!(err.to_string().contains("ISO 8601"), "{text}: {err}");
        }
    }

    #[test]
    fn epoch_unit_is_told_by_size() {
        assert_eq!(
            Timestamp::from_epoch(1_481_180_806).format(),
            TimestampFormat::EpochSeconds
        );
        assert_eq!(
            Timestamp::from_epoch(1_518_481_686_294).format(),
            TimestampFormat::EpochMillis
        );
        let text = Timestamp::parse("1568605416677").unwrap();
        assert_eq!(text.format(), TimestampFormat::EpochText);
        assert_eq!(text.unix_millis(), 1_568_605_416_677);
    }

    #[test]
    fn formats_back() {
        for millis in [
            0,
            951_782_400_000,
            1_521_743_399_123,
            -1000,
            13_569_465_599_999,
        ] {
            let ts = Timestamp::from_unix_millis(millis);
            assert_eq!(
                Timestamp::parse(&ts.to_rfc3339()).unwrap().unix_millis(),
                millis
            );
        }
    }
}
