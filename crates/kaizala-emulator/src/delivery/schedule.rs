//! When failed deliveries are tried again: six retries, each four times
//! the wait of the one before, spanning two days (webHooks.md: "6 times in
//! an exponential way within a span of 2 Days"); then the webhook is
//! disabled.

/// Virtual milliseconds to wait before retry 1, 2, … 6:
/// 2 min, 8 min, 32 min, 2 h 8 min, 8 h 32 min, 34 h 8 min — 45 h 20 min in all.
pub const RETRY_DELAYS_MS: [i64; 6] = [
    120_000,
    480_000,
    1_920_000,
    7_680_000,
    30_720_000,
    122_880_000,
];

/// The wait before the next attempt after `attempts` failed attempts, or
/// `None` once the retries are spent.
pub fn next_delay(attempts: u32) -> Option<i64> {
    let retry = usize::try_from(attempts).ok()?.checked_sub(1)?;
    RETRY_DELAYS_MS.get(retry).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_growing_retries_within_two_days() {
        let delays: Vec<i64> = (1..=7).filter_map(next_delay).collect();
        assert_eq!(delays.len(), 6);
        assert!(delays.windows(2).all(|w| w[1] == 4 * w[0]));
        let total: i64 = delays.iter().sum();
        assert!(total < 48 * 3_600_000 && total > 40 * 3_600_000, "{total}");
        assert_eq!(next_delay(0), None);
        assert_eq!(next_delay(7), None);
    }
}
