//! How the projection's numbers read in what the commands print: `status`
//! and the reports of `ingest`, `project` and `rebuild` say them the same
//! way.

/// `n` things, the noun agreeing: `1 row`, `2,101 rows`.
pub(crate) fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// `no projection errors`, `1 projection error`, `2,101 projection errors`.
pub(crate) fn projection_errors(n: u64) -> String {
    match n {
        0 => "no projection errors".to_owned(),
        n => counted(n, "projection error", "projection errors"),
    }
}

/// `1234567` → `1,234,567`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(counted(1, "row", "rows"), "1 row");
        assert_eq!(counted(0, "row", "rows"), "0 rows");
        assert_eq!(counted(2_101, "row", "rows"), "2,101 rows");
        assert_eq!(projection_errors(0), "no projection errors");
        assert_eq!(projection_errors(1), "1 projection error");
    }

    /// What `ingest`, `project` and `rebuild` print: the nouns agree.
    #[test]
    fn the_reports_read_well() {
        let stats = crate::ProjectorStats {
            batches: 1,
            entries: 1,
            errors: 2_101,
            ..Default::default()
        };
        assert_eq!(
            stats.to_string(),
            "projected 1 log entry in 1 batch (2,101 projection errors)"
        );
        let report = crate::ProjectionReport {
            entries: 4_096,
            batches: 3,
            watermark: 4_100,
            ..Default::default()
        };
        assert_eq!(
            report.to_string(),
            "projected 4,096 log entries in 3 batches (no projection errors); watermark 4100"
        );
        let elsewhere = crate::ProjectionReport {
            projected_elsewhere: true,
            ..report
        };
        assert_eq!(
            elsewhere.to_string(),
            "another process projects this database; it has reached position 4100"
        );
        let rebuilt = crate::RebuildReport {
            tables: vec!["answers", "responses"],
            entries: 1,
            errors: 1,
            position: 7,
            seconds: 0.04,
        };
        assert_eq!(
            rebuilt.to_string(),
            "rebuilt answers, responses from 1 log entry in 0.0 s (1 projection error); \
             built to position 7"
        );
    }
}
