//! Randomness of one simulation call: a generator seeded with one draw from
//! the emulator's random source (so a run with `random_seed` set repeats
//! itself, and the shared source is not held for the whole call), and the
//! few distributions realistic activity needs.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::corpus;
use crate::shared::Shared;

/// The generator of one call.
pub fn for_call(shared: &Shared) -> StdRng {
    StdRng::seed_from_u64(shared.ids.with(|rng| rng.random()))
}

/// A GUID-shaped id, like the platform's (and like [`crate::ids::Ids::guid`]).
pub fn guid(rng: &mut StdRng) -> String {
    let n: u128 = rng.random();
    let hex = format!("{n:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// `len` random lower-case hex digits.
pub fn hex(rng: &mut StdRng, len: usize) -> String {
    use std::fmt::Write as _;
    let mut text = String::with_capacity(len + 16);
    while text.len() < len {
        let _ = write!(text, "{:016x}", rng.random::<u64>());
    }
    text.truncate(len);
    text
}

/// One item of a non-empty slice.
pub fn pick<T: Copy>(rng: &mut StdRng, items: &[T]) -> T {
    items[rng.random_range(0..items.len())]
}

/// An index drawn with probability proportional to `weights` (not all zero).
pub fn weighted(rng: &mut StdRng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut target = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if target < *w {
            return i;
        }
        target -= w;
    }
    weights.len().saturating_sub(1)
}

/// A value in [0, 1] peaked in the middle (the mean of two uniforms).
pub fn triangular(rng: &mut StdRng) -> f64 {
    (rng.random::<f64>() + rng.random::<f64>()) / 2.0
}

/// A stable value in [0, 1) for `key` (FNV-1a): the same key always gets
/// the same value, across calls and runs.
pub fn stable(key: &str) -> f64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    // Mix the high bits down so short keys spread well.
    hash ^= hash >> 29;
    hash = hash.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    hash ^= hash >> 32;
    (hash >> 11) as f64 / (1u64 << 53) as f64
}

/// Draws indices by weight in O(log n), for drawing many times from many.
#[derive(Debug)]
pub struct Weighted {
    cumulative: Vec<f64>,
}

impl Weighted {
    /// A draw by `weights` (not all zero).
    pub fn new(weights: &[f64]) -> Weighted {
        let mut total = 0.0;
        let cumulative = weights
            .iter()
            .map(|w| {
                total += w;
                total
            })
            .collect();
        Weighted { cumulative }
    }

    /// An index, drawn with probability proportional to its weight.
    pub fn draw(&self, rng: &mut StdRng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or_default();
        let target = rng.random::<f64>() * total;
        self.cumulative
            .partition_point(|c| *c <= target)
            .min(self.cumulative.len().saturating_sub(1))
    }
}

/// How active each of `people` is: a Zipf-like weight by a stable rank, so
/// a few members talk a lot and most a little (the same ones every call).
pub fn activity(people: &[String]) -> Weighted {
    let weights: Vec<f64> = people
        .iter()
        .map(|id| 1.0 / (1.0 + 40.0 * stable(id)).powf(0.9))
        .collect();
    Weighted::new(&weights)
}

/// The city a user lives in: stable per user, weighted by city size.
pub fn city_of(user_id: &str) -> &'static corpus::City {
    let total: f64 = corpus::CITIES.iter().map(|c| c.weight).sum();
    let mut target = stable(&format!("city:{user_id}")) * total;
    for city in corpus::CITIES {
        if target < city.weight {
            return city;
        }
        target -= city.weight;
    }
    &corpus::CITIES[0]
}

/// Fills `{shop}`, `{place}`, `{city}`, `{n}`, `{amount}` and `{time}` in a template.
pub fn fill(rng: &mut StdRng, template: &str, city: &corpus::City) -> String {
    if !template.contains('{') {
        return template.to_owned();
    }
    let mut text = template.to_owned();
    if text.contains("{shop}") {
        text = text.replace("{shop}", pick(rng, corpus::SHOPS));
    }
    if text.contains("{place}") {
        text = text.replace("{place}", pick(rng, city.localities));
    }
    text = text.replace("{city}", city.name);
    if text.contains("{n}") {
        let n = 2 + (triangular(rng) * 30.0) as u32;
        text = text.replace("{n}", &n.to_string());
    }
    if text.contains("{amount}") {
        let amount = 500 + 50 * (triangular(rng).powf(1.8) * 600.0) as u32;
        text = text.replace("{amount}", &amount.to_string());
    }
    if text.contains("{time}") {
        let hour = rng.random_range(9..19);
        let minute = if rng.random_bool(0.7) { 0 } else { 30 };
        let (shown, half) = if hour > 12 {
            (hour - 12, "pm")
        } else if hour == 12 {
            (12, "pm")
        } else {
            (hour, "am")
        };
        let time = if minute == 0 {
            format!("{shown} {half}")
        } else {
            format!("{shown}:{minute:02} {half}")
        };
        text = text.replace("{time}", &time);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_values_spread_and_repeat() {
        let values: Vec<f64> = (0..1000).map(|i| stable(&format!("k{i}"))).collect();
        assert!(values.iter().all(|v| (0.0..1.0).contains(v)));
        let low = values.iter().filter(|v| **v < 0.5).count();
        assert!((400..600).contains(&low), "{low}");
        assert_eq!(stable("same"), stable("same"));
    }

    #[test]
    fn weighted_follows_the_weights() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut counts = [0; 3];
        for _ in 0..10_000 {
            counts[weighted(&mut rng, &[1.0, 0.0, 3.0])] += 1;
        }
        assert_eq!(counts[1], 0);
        assert!((2200..2800).contains(&counts[0]), "{counts:?}");
    }

    #[test]
    fn weighted_draws_agree() {
        let mut rng = StdRng::seed_from_u64(1);
        let draw = Weighted::new(&[1.0, 0.0, 3.0]);
        let mut counts = [0; 3];
        for _ in 0..10_000 {
            counts[draw.draw(&mut rng)] += 1;
        }
        assert_eq!(counts[1], 0);
        assert!((2200..2800).contains(&counts[0]), "{counts:?}");
    }

    #[test]
    fn templates_are_filled() {
        let mut rng = StdRng::seed_from_u64(2);
        for template in corpus::MESSAGES {
            let text = fill(&mut rng, template, &corpus::CITIES[0]);
            assert!(!text.contains('{'), "{text}");
        }
    }
}
