//! Realistic answers, per question type and title: options chosen with
//! uneven (but stable) preferences, numbers in a plausible range for what
//! the title asks (an age, a price, a quantity of "Rice 1KG", a rating),
//! locations near the responder's city, dates near now (or ahead of it for
//! a "next visit", decades back for a birth date), text from a pool of
//! phrases, pictures named like a phone names them, phone numbers. Answers
//! take the JSON shapes real traffic had (see `docs/wire-format.md`).

use kaizala_types::actions::{
    Answer, GeoPoint, PhoneAnswer, QuestionAnswer, QuestionOption, QuestionSpec, QuestionType,
};
use kaizala_types::{Flag, Numeric, Timestamp};
use rand::Rng;
use rand::rngs::StdRng;
use serde_json::json;

use super::attachments::{media_item, picture};
use super::corpus;
use super::random::{self, pick, triangular};
use crate::model::User;

/// A day in milliseconds.
const DAY_MS: i64 = 86_400_000;
/// India Standard Time's offset, in milliseconds.
const IST_MS: i64 = 19_800_000;
/// How often an optional answer (text, pictures) is left out.
const SKIP_RATE: f64 = 0.04;

/// A question, ready to be answered many times.
#[derive(Debug, Clone)]
pub struct Asked {
    pub title: String,
    pub question_type: QuestionType,
    /// Its options' titles.
    pub options: Vec<String>,
    /// Hidden from the form.
    pub invisible: bool,
    how: How,
}

/// How a question gets answered.
#[derive(Debug, Clone)]
enum How {
    /// One option, by weight.
    Choice(Vec<f64>),
    /// Each option with its own probability; at least one.
    Choices(Vec<f64>),
    Number(Range),
    /// 1 to `max`, mostly good.
    Rating(u32),
    /// A date (`true`: the date alone, midnight IST) or a date and time.
    When(When, bool),
    /// Near the responder's city.
    Location,
    /// One to `max` pictures.
    Pictures(usize),
    /// A mobile number.
    Phone,
    /// Some text.
    Text(Words),
    /// Nothing to choose from.
    Nothing,
}

#[derive(Debug, Clone, Copy)]
struct Range {
    lo: f64,
    hi: f64,
    decimals: i32,
    /// Above 1: most values sit low in the range (quantities, prices).
    skew: f64,
}

const fn range(lo: f64, hi: f64, decimals: i32, skew: f64) -> Range {
    Range {
        lo,
        hi,
        decimals,
        skew,
    }
}

#[derive(Debug, Clone, Copy)]
enum When {
    Past,
    Future,
    Birth,
}

#[derive(Debug, Clone, Copy)]
enum Words {
    OwnName,
    PersonName,
    Shop,
    Address,
    Email,
    Phone,
    Remark,
}

/// The lower-case words of a title (letters and digits).
fn words(title: &str) -> Vec<String> {
    title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

fn has(words: &[String], any: &[&str]) -> bool {
    words.iter().any(|w| {
        any.iter().any(|k| match k.strip_suffix('*') {
            Some(stem) => w.starts_with(stem),
            None => w == k,
        })
    })
}

/// "1kg", "250ml", "5l": a product pack size, so the question is how many.
fn pack_size(words: &[String]) -> bool {
    words.iter().any(|w| {
        let unit = w.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
        unit.len() < w.len()
            && [
                "kg", "g", "gm", "gms", "ml", "l", "ltr", "litre", "pc", "pcs",
            ]
            .contains(&unit)
    })
}

fn number_kind(title: &str) -> How {
    let w = words(title);
    let rating = has(&w, &["rating", "ratings", "score", "stars", "satisf*"])
        || has(&w, &["rate"])
            && !has(
                &w,
                &["per", "price", "cost", "mrp", "rs", "inr", "interest", "kg"],
            );
    if rating {
        return How::Rating(if has(&w, &["10"]) { 10 } else { 5 });
    }
    let r = if has(&w, &["age"]) {
        range(18.0, 65.0, 0, 1.0)
    } else if title.contains('%') || has(&w, &["percent*", "share"]) {
        range(0.0, 100.0, 1, 1.0)
    } else if has(&w, &["temp", "temperature"]) {
        range(22.0, 42.0, 1, 1.0)
    } else if has(&w, &["salary", "income", "wage*"]) {
        range(8_000.0, 60_000.0, 0, 1.5)
    } else if pack_size(&w) {
        range(0.0, 24.0, 0, 1.8)
    } else if has(
        &w,
        &[
            "price*",
            "cost*",
            "amount",
            "mrp",
            "rs",
            "inr",
            "value",
            "sales",
            "revenue",
            "bill*",
            "spend*",
            "payment*",
            "collection*",
            "expense*",
            "budget",
        ],
    ) || title.contains('₹')
    {
        range(50.0, 5_000.0, 0, 1.8)
    } else if has(&w, &["km", "kms", "distance"]) {
        range(1.0, 60.0, 1, 1.5)
    } else if has(&w, &["hour*", "hrs", "duration"]) {
        range(1.0, 12.0, 1, 1.2)
    } else if has(&w, &["minute*", "mins"]) {
        range(5.0, 120.0, 0, 1.5)
    } else if has(
        &w,
        &[
            "visitor*",
            "customer*",
            "footfall",
            "people",
            "attendee*",
            "attendance",
            "student*",
            "patient*",
            "farmer*",
            "household*",
            "famil*",
            "participant*",
            "children",
            "beneficiar*",
            "employee*",
            "staff",
            "members",
        ],
    ) {
        range(5.0, 250.0, 0, 1.6)
    } else if has(&w, &["weight"]) {
        range(40.0, 95.0, 1, 1.0)
    } else if has(&w, &["height"]) {
        range(140.0, 190.0, 0, 1.0)
    } else if has(
        &w,
        &[
            "qty", "quantity", "units", "pieces", "boxes", "cartons", "packs", "packets", "bags",
            "bottles", "cases", "stock", "order*", "count", "number", "no", "nos", "how",
        ],
    ) {
        range(0.0, 50.0, 0, 1.8)
    } else {
        range(1.0, 100.0, 0, 1.4)
    };
    How::Number(r)
}

fn when_kind(title: &str) -> When {
    let w = words(title);
    if has(&w, &["birth*", "dob", "born", "birthday"]) {
        When::Birth
    } else if has(
        &w,
        &[
            "next",
            "due",
            "expected",
            "planned",
            "plan",
            "schedule*",
            "follow*",
            "delivery",
            "appointment",
            "deadline",
            "target",
            "upcoming",
        ],
    ) {
        When::Future
    } else {
        When::Past
    }
}

fn words_kind(title: &str) -> Words {
    let w = words(title);
    if has(&w, &["email", "mail"]) {
        Words::Email
    } else if has(&w, &["address"]) {
        Words::Address
    } else if has(&w, &["phone", "mobile", "contact"]) {
        Words::Phone
    } else if has(
        &w,
        &[
            "shop*",
            "outlet*",
            "store*",
            "retailer*",
            "dealer*",
            "distributor*",
            "business",
            "firm",
            "company",
        ],
    ) {
        Words::Shop
    } else if has(&w, &["your"]) && has(&w, &["name"]) || w == ["name"] {
        Words::OwnName
    } else if has(&w, &["name"]) {
        Words::PersonName
    } else {
        Words::Remark
    }
}

impl Asked {
    /// A question of this title, type and options.
    pub fn new(
        title: impl Into<String>,
        question_type: QuestionType,
        options: Vec<String>,
        invisible: bool,
    ) -> Asked {
        let title = title.into();
        let how = match &question_type {
            QuestionType::SingleOption | QuestionType::MultiOption if options.is_empty() => {
                How::Nothing
            }
            QuestionType::SingleOption => How::Choice(
                options
                    .iter()
                    .map(|o| (0.1 + 0.9 * random::stable(&format!("{title}\u{1f}{o}"))).powi(2))
                    .collect(),
            ),
            QuestionType::MultiOption => How::Choices(
                options
                    .iter()
                    .map(|o| 0.08 + 0.6 * random::stable(&format!("{title}\u{1f}{o}")))
                    .collect(),
            ),
            QuestionType::Numeric => number_kind(&title),
            QuestionType::Date => How::When(when_kind(&title), true),
            QuestionType::DateTime => How::When(when_kind(&title), false),
            QuestionType::Location => How::Location,
            QuestionType::Image => How::Pictures(1),
            QuestionType::AttachmentList => How::Pictures(3),
            QuestionType::Phone => How::Phone,
            _ => How::Text(words_kind(&title)),
        };
        Asked {
            title,
            question_type,
            options,
            invisible,
            how,
        }
    }

    /// A survey (or custom action) question.
    pub fn from_spec(spec: &QuestionSpec) -> Asked {
        let options = spec
            .options
            .iter()
            .flatten()
            .map(|o| o.title.clone())
            .collect();
        Asked::new(
            spec.title.clone(),
            spec.question_type.clone(),
            options,
            spec.is_invisible.is_some_and(Flag::get),
        )
    }

    /// An answer from `who`, `None` when they leave it out.
    pub fn answer(
        &self,
        rng: &mut StdRng,
        who: &User,
        now_ms: i64,
        base_url: &str,
    ) -> Option<Answer> {
        match &self.how {
            How::Nothing => None,
            How::Choice(weights) => Some(Answer::Options(vec![
                self.options[random::weighted(rng, weights)].clone(),
            ])),
            How::Choices(probabilities) => {
                let mut chosen: Vec<String> = self
                    .options
                    .iter()
                    .zip(probabilities)
                    .filter(|(_, p)| rng.random_bool(**p))
                    .map(|(o, _)| o.clone())
                    .collect();
                if chosen.is_empty() {
                    chosen.push(self.options[random::weighted(rng, probabilities)].clone());
                }
                Some(Answer::Options(chosen))
            }
            How::Number(r) => {
                let x = r.lo + (r.hi - r.lo) * triangular(rng).powf(r.skew);
                let scale = 10f64.powi(r.decimals);
                Some(Answer::Number(Numeric::from((x * scale).round() / scale)))
            }
            How::Rating(max) => {
                let weights: Vec<f64> = (1..=*max)
                    .map(|v| {
                        let share = f64::from(v) / f64::from(*max);
                        // Most people are happy; a few are not.
                        (-(share - 0.8).powi(2) / 0.05).exp() + 0.03
                    })
                    .collect();
                Some(Answer::Number(Numeric::from(
                    (random::weighted(rng, &weights) + 1) as f64,
                )))
            }
            How::When(when, date_only) => {
                let at = match when {
                    When::Past => {
                        now_ms - (triangular(rng).powf(2.0) * 14.0 * DAY_MS as f64) as i64
                    }
                    When::Future => {
                        now_ms + DAY_MS + (triangular(rng).powf(1.5) * 30.0 * DAY_MS as f64) as i64
                    }
                    // 1975 to 2004 (epoch milliseconds before 1973 would read
                    // back as seconds: the platform sent both).
                    When::Birth => rng.random_range(157_766_400_000..1_104_537_600_000),
                };
                let at = if *date_only {
                    (at + IST_MS).div_euclid(DAY_MS) * DAY_MS - IST_MS
                } else {
                    // People pick times on a five-minute dial.
                    at.div_euclid(300_000) * 300_000
                };
                Some(Answer::DateTime(Timestamp::from_unix_millis(at)))
            }
            How::Location => {
                let city = random::city_of(&who.id);
                let lat = city.lat + (triangular(rng) - 0.5) * 0.12;
                let lng = city.lng + (triangular(rng) - 0.5) * 0.12;
                let mut point = GeoPoint::new(
                    (lat * 1e7).round() / 1e7,
                    (lng * 1e7).round() / 1e7,
                    format!("{}, {}", pick(rng, city.localities), city.name),
                );
                point.acc = Some(Numeric::from(rng.random_range(5..65) as i64));
                Some(Answer::Location(point))
            }
            How::Pictures(max) => {
                if rng.random_bool(SKIP_RATE) && !self.invisible {
                    return None;
                }
                let n = match rng.random_range(0..10) {
                    0..7 => 1,
                    7..9 => 2,
                    _ => 3,
                }
                .min(*max);
                Some(Answer::Attachments(
                    (0..n)
                        .map(|_| media_item(&picture(rng, base_url, now_ms)))
                        .collect(),
                ))
            }
            How::Phone => {
                let number = format!(
                    "{}{:09}",
                    rng.random_range(6..10),
                    rng.random_range(0..1_000_000_000u64)
                );
                Some(Answer::Phone(PhoneAnswer {
                    cc: json!("+91"),
                    pn: json!(number),
                    extra: Default::default(),
                }))
            }
            How::Text(kind) => {
                if rng.random_bool(SKIP_RATE) && !self.invisible {
                    return None;
                }
                Some(Answer::Text(text(rng, *kind, who)))
            }
        }
    }

    /// The question as a response reports it, with `answer`.
    pub fn answered(&self, answer: Option<Answer>) -> QuestionAnswer {
        QuestionAnswer {
            title: Some(self.title.clone()),
            question_type: Some(self.question_type.clone()),
            options: Some(self.options.iter().map(QuestionOption::new).collect()),
            answer,
            is_invisible: self.invisible.then_some(Flag::TRUE),
            extra: Default::default(),
        }
    }
}

/// The hidden `ResponseTime` question the app adds to every response.
pub fn response_time(now_ms: i64) -> QuestionAnswer {
    Asked::new("ResponseTime", QuestionType::DateTime, Vec::new(), true)
        .answered(Some(Answer::DateTime(Timestamp::from_unix_millis(now_ms))))
}

fn person(rng: &mut StdRng) -> (String, String) {
    (
        pick(rng, corpus::FIRST_NAMES).to_string(),
        pick(rng, corpus::SURNAMES).to_string(),
    )
}

fn text(rng: &mut StdRng, kind: Words, who: &User) -> String {
    let city = random::city_of(&who.id);
    match kind {
        Words::OwnName => who.name.clone(),
        Words::PersonName => {
            let (first, last) = person(rng);
            format!("{}{first} {last}", pick(rng, corpus::HONORIFICS))
        }
        Words::Shop => match rng.random_range(0..3) {
            0 => format!(
                "{}, {}",
                pick(rng, corpus::SHOPS),
                pick(rng, city.localities)
            ),
            _ => pick(rng, corpus::SHOPS).to_string(),
        },
        Words::Address => format!(
            "{}, {}, {}, {} {}",
            rng.random_range(1..400),
            pick(rng, corpus::STREETS),
            pick(rng, city.localities),
            city.name,
            rng.random_range(110_001..800_000)
        ),
        Words::Email => {
            let (first, last) = person(rng);
            let domain = pick(
                rng,
                &["gmail.com", "yahoo.co.in", "outlook.com", "rediffmail.com"],
            );
            format!(
                "{}.{}{}@{domain}",
                first.to_lowercase(),
                last.to_lowercase().replace('\'', ""),
                rng.random_range(1..99)
            )
        }
        Words::Phone => format!(
            "+91{}{:09}",
            rng.random_range(6..10),
            rng.random_range(0..1_000_000_000u64)
        ),
        Words::Remark => {
            let first = pick(rng, corpus::REMARKS);
            if rng.random_bool(0.2) {
                let second = pick(rng, corpus::REMARKS);
                if second != first {
                    return format!("{first}. {second}");
                }
            }
            first.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    fn user() -> User {
        User {
            id: "u1".into(),
            tenant: None,
            phone: "+919000000001".into(),
            name: "Asha Rao".into(),
            profile_pic: String::new(),
            provisioned: true,
            tenant_admin: false,
        }
    }

    fn numbers(title: &str) -> Vec<f64> {
        let mut rng = StdRng::seed_from_u64(3);
        let asked = Asked::new(title, QuestionType::Numeric, Vec::new(), false);
        (0..500)
            .map(|_| {
                asked
                    .answer(&mut rng, &user(), 0, "http://e")
                    .unwrap()
                    .as_f64()
                    .unwrap()
            })
            .collect()
    }

    #[test]
    fn numbers_fit_their_titles() {
        assert!(numbers("Age").iter().all(|a| (18.0..=65.0).contains(a)));
        assert!(
            numbers("Rice 1KG")
                .iter()
                .all(|q| (0.0..=24.0).contains(q) && q.fract() == 0.0)
        );
        assert!(
            numbers("Rate the service (1-5)")
                .iter()
                .all(|r| (1.0..=5.0).contains(r))
        );
        let prices = numbers("Price (Rs)");
        assert!(prices.iter().all(|p| (50.0..=5000.0).contains(p)));
        let mean = prices.iter().sum::<f64>() / prices.len() as f64;
        assert!(mean < 2525.0, "prices lean low: {mean}");
    }

    #[test]
    fn every_type_answers_in_its_shape() {
        let mut rng = StdRng::seed_from_u64(4);
        for qt in [
            "Text",
            "SingleOption",
            "MultiOption",
            "Numeric",
            "Date",
            "DateTime",
            "Location",
            "Image",
            "AttachmentList",
            "Phone",
        ] {
            let qt = QuestionType::from_wire(qt);
            let asked = Asked::new(
                "Q",
                qt.clone(),
                vec!["A".into(), "B".into(), "C".into()],
                false,
            );
            for _ in 0..50 {
                let Some(answer) = asked.answer(&mut rng, &user(), 1_700_000_000_000, "http://e")
                else {
                    continue;
                };
                let value = serde_json::to_value(&answer).unwrap();
                let back = Answer::from_value(Some(&qt), value).unwrap();
                assert_eq!(back, answer, "{qt}");
            }
        }
    }

    #[test]
    fn options_are_uneven() {
        let mut rng = StdRng::seed_from_u64(5);
        let options: Vec<String> = [
            "ABC Traders",
            "BCD Distributors",
            "EFG wholesale",
            "XYZ Mart",
        ]
        .map(String::from)
        .to_vec();
        let asked = Asked::new(
            "Retailer Outlet",
            QuestionType::SingleOption,
            options.clone(),
            false,
        );
        let mut counts = [0u32; 4];
        for _ in 0..4000 {
            let answer = asked.answer(&mut rng, &user(), 0, "").unwrap();
            let chosen = &answer.as_options().unwrap()[0];
            counts[options.iter().position(|o| o == chosen).unwrap()] += 1;
        }
        let (min, max) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
        assert!(*max > 2 * *min, "{counts:?}");
    }
}
