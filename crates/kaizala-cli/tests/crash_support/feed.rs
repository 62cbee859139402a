//! What the platform would deliver to the crash campaign's receiver: a
//! seeded, endless stream of webhook events in the JSON shapes the
//! platform sends, and what each of them says (so the expected tables can
//! be worked out from whatever part of the stream reached the log).
//!
//! The mix is chosen so that the order of projection matters: survey
//! responses are updated later (with more or fewer questions, and other
//! answers, so stale answers would show), the same people join and leave
//! the group again and again, sub-groups come and go, and there are
//! messages, pictures, an event type nobody knows and a response whose
//! body does not fit the model (a projection error).

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use serde_json::{Value, json};

/// The group every event happens in.
pub const GROUP: &str = "crash-group";
/// People who join and leave.
const PEOPLE: u64 = 12;
/// Sub-groups added to and removed from the group.
const SUB_GROUPS: u64 = 4;
/// The app's `ResponseTime` of the first version of the first response
/// (epoch ms); later versions are later.
const T0: i64 = 1_795_000_000_000;

/// A fixed pseudo-random sequence (SplitMix64): the same seed gives the
/// same stream on every machine and with every version of `rand`.
#[derive(Debug, Clone)]
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.range(0, items.len() as u64 - 1) as usize]
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.range(0, i as u64) as usize;
            items.swap(i, j);
        }
    }
}

/// A question of a survey.
#[derive(Debug, Clone, Copy)]
enum Question {
    Single(&'static str, &'static [&'static str]),
    Multi(&'static str, &'static [&'static str]),
    Numeric(&'static str),
    Location(&'static str),
    Text(&'static str),
}

/// A survey: its questions in order; a response answers a prefix of at
/// least `min` of them.
#[derive(Debug)]
pub struct Survey {
    pub action_id: &'static str,
    title: &'static str,
    questions: &'static [Question],
    min: usize,
}

pub const SURVEYS: [Survey; 2] = [
    Survey {
        action_id: "crash-survey-visit",
        title: "Store visit",
        questions: &[
            Question::Single(
                "Retailer Outlet",
                &["ABC Traders", "BCD Distributors", "EFG wholesale"],
            ),
            Question::Multi("Products stocked", &["Rice", "Atta", "Oil"]),
            Question::Numeric("Rice 1KG"),
            Question::Location("Location"),
            Question::Text("Remarks"),
            Question::Single("Delivery slot", &["Morning", "Evening"]),
        ],
        min: 3,
    },
    Survey {
        action_id: "crash-survey-lunch",
        title: "Lunch",
        questions: &[
            Question::Single("Mood", &["Good", "Fine", "Bad"]),
            Question::Multi("Snacks", &["Tea", "Coffee", "Biscuits", "Fruit"]),
            Question::Numeric("Headcount"),
            Question::Text("Remarks"),
        ],
        min: 3,
    },
];

/// One answer as the `answers` table should hold it.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub title: String,
    pub question_type: &'static str,
    pub is_invisible: bool,
    pub text: Option<String>,
    pub number: Option<f64>,
    /// The titles chosen, for option questions.
    pub options: Option<Vec<String>>,
}

/// One version of a response.
#[derive(Debug, Clone)]
pub struct Version {
    pub is_update: bool,
    /// The hidden `ResponseTime` answer (epoch ms).
    pub response_time: i64,
    /// Every answer, in question order, `ResponseTime` last.
    pub answers: Vec<Answer>,
}

/// A response and every version of it the platform sent.
#[derive(Debug, Clone)]
pub struct Response {
    pub action_id: &'static str,
    pub responder: String,
    pub versions: Vec<Version>,
}

/// What an event says.
#[derive(Debug, Clone, PartialEq)]
pub enum What {
    SurveyCreated {
        action_id: &'static str,
    },
    /// Version `version` of `response_id` (0: the original).
    Response {
        response_id: String,
        version: usize,
    },
    Message,
    Attachment {
        files: usize,
    },
    MemberAdded {
        member_id: String,
    },
    MemberRemoved {
        member_id: String,
    },
    GroupAdded {
        group_id: String,
    },
    GroupRemoved {
        group_id: String,
    },
    /// An event type nobody knows: indexed only.
    Unknown,
    /// A response whose body does not fit the model: a projection error.
    Malformed,
}

/// One event of the stream.
#[derive(Debug, Clone)]
pub struct Event {
    pub id: String,
    pub event_type: &'static str,
    pub body: Bytes,
    pub what: What,
}

/// The stream: every event generated so far, and the responses they
/// carry.
#[derive(Debug)]
pub struct Feed {
    prefix: String,
    random: SplitMix,
    pub events: Vec<Event>,
    pub responses: BTreeMap<String, Response>,
    response_ids: Vec<String>,
    /// Who the platform thinks is in the group (the next event about a
    /// person adds those who are not, removes those who are).
    members: BTreeSet<u64>,
    sub_groups: BTreeSet<u64>,
}

impl Feed {
    /// A stream whose ids start with `prefix`, drawn from `seed`.
    pub fn new(prefix: &str, seed: u64) -> Feed {
        Feed {
            prefix: prefix.to_owned(),
            random: SplitMix(seed),
            events: Vec::new(),
            responses: BTreeMap::new(),
            response_ids: Vec::new(),
            members: BTreeSet::new(),
            sub_groups: BTreeSet::new(),
        }
    }

    /// Generates the next event; returns its index in [`Feed::events`].
    pub fn next(&mut self) -> usize {
        let n = self.events.len();
        let id = format!("{}-e{n:06}", self.prefix);
        let (event_type, data, what) = if n < SURVEYS.len() {
            self.survey_created(n)
        } else {
            let roll = self.random.range(0, 99);
            match roll {
                0..=41 => self.response(None),
                42..=55 if !self.response_ids.is_empty() => {
                    let i = self.random.range(0, self.response_ids.len() as u64 - 1) as usize;
                    let response_id = self.response_ids[i].clone();
                    self.response(Some(response_id))
                }
                42..=67 => self.message(n),
                68..=74 => self.attachment(n),
                75..=90 => self.member(),
                91..=94 => self.sub_group(),
                95..=97 => (
                    "StickerSent",
                    json!({"stickerId": n, "pack": "crash"}),
                    What::Unknown,
                ),
                _ => (
                    "SurveyResponse",
                    json!({"actionId": SURVEYS[0].action_id, "groupId": GROUP,
                        "responseId": format!("{}-bad{n}", self.prefix),
                        "responseDetails": {"responseWithQuestions": "not a list"}}),
                    What::Malformed,
                ),
            }
        };
        let user = self.random.range(0, PEOPLE - 1);
        let body = json!({"eventId": id, "eventType": event_type, "objectId": GROUP,
            "objectType": "Group", "fromUser": phone(user), "fromUserId": person(user),
            "fromUserName": name(user), "data": data});
        self.events.push(Event {
            id,
            event_type,
            body: serde_json::to_vec(&body).unwrap().into(),
            what,
        });
        n
    }

    fn survey_created(&mut self, n: usize) -> (&'static str, Value, What) {
        let survey = &SURVEYS[n];
        let questions: Vec<Value> = survey
            .questions
            .iter()
            .map(|q| match *q {
                Question::Single(title, options) => json!({"title": title,
                    "type": "SingleOption", "options": option_list(options)}),
                Question::Multi(title, options) => json!({"title": title,
                    "type": "MultiOption", "options": option_list(options)}),
                Question::Numeric(title) => json!({"title": title, "type": "Numeric"}),
                Question::Location(title) => json!({"title": title, "type": "Location"}),
                Question::Text(title) => json!({"title": title, "type": "Text"}),
            })
            .collect();
        (
            "SurveyCreated",
            json!({"actionId": survey.action_id, "groupId": GROUP, "title": survey.title,
                "isAnonymous": false, "questions": questions}),
            What::SurveyCreated {
                action_id: survey.action_id,
            },
        )
    }

    /// A new response (`None`), or the next version of `update`.
    fn response(&mut self, update: Option<String>) -> (&'static str, Value, What) {
        let (response_id, survey, responder) = match &update {
            Some(id) => {
                let r = &self.responses[id];
                let survey = SURVEYS.iter().position(|s| s.action_id == r.action_id);
                (id.clone(), survey.unwrap(), r.responder.clone())
            }
            None => {
                let id = format!("{}-r{}", self.prefix, self.response_ids.len());
                let survey = self.random.range(0, SURVEYS.len() as u64 - 1) as usize;
                let responder = person(self.random.range(0, PEOPLE - 1));
                (id, survey, responder)
            }
        };
        let survey = &SURVEYS[survey];
        let version = update
            .as_ref()
            .map_or(0, |id| self.responses[id].versions.len());
        // Every version later than any before it, so the latest wins.
        let response_time = T0 + self.events.len() as i64 * 1_000;
        let visible = self
            .random
            .range(survey.min as u64, survey.questions.len() as u64) as usize;
        let mut answers = Vec::new();
        let mut wire = Vec::new();
        for q in &survey.questions[..visible] {
            let (answer, value) = self.answer(q, version);
            wire.push(value);
            answers.push(answer);
        }
        answers.push(Answer {
            title: "ResponseTime".into(),
            question_type: "DateTime",
            is_invisible: true,
            text: None,
            number: Some(response_time as f64),
            options: None,
        });
        wire.push(
            json!({"title": "ResponseTime", "type": "DateTime", "isInvisible": true,
            "options": [], "answer": response_time}),
        );
        let is_update = update.is_some();
        let data = json!({"actionId": survey.action_id, "groupId": GROUP,
            "responseId": response_id, "isUpdateResponse": is_update,
            "responder": format!("+91{}", &responder[1..]), "responderId": responder,
            "responderName": format!("Responder {responder}"), "isAnonymous": false,
            "responseDetails": {"responseWithQuestions": wire}});
        let entry = self
            .responses
            .entry(response_id.clone())
            .or_insert_with(|| Response {
                action_id: survey.action_id,
                responder,
                versions: Vec::new(),
            });
        entry.versions.push(Version {
            is_update,
            response_time,
            answers,
        });
        if update.is_none() {
            self.response_ids.push(response_id.clone());
        }
        (
            "SurveyResponse",
            data,
            What::Response {
                response_id,
                version,
            },
        )
    }

    /// An answer to `q` in version `version` of a response: the numeric
    /// answer changes with every version, so no two versions are alike.
    fn answer(&mut self, q: &Question, version: usize) -> (Answer, Value) {
        let mut answer = Answer {
            title: String::new(),
            question_type: "",
            is_invisible: false,
            text: None,
            number: None,
            options: None,
        };
        let value = match *q {
            Question::Single(title, options) => {
                let chosen = (*self.random.pick(options)).to_owned();
                answer.title = title.into();
                answer.question_type = "SingleOption";
                answer.text = Some(chosen.clone());
                answer.options = Some(vec![chosen.clone()]);
                json!({"title": title, "type": "SingleOption",
                    "options": option_list(options), "answer": [chosen]})
            }
            Question::Multi(title, options) => {
                // Sometimes nothing at all is ticked.
                let chosen: Vec<String> = options
                    .iter()
                    .filter(|_| self.random.chance(0.5))
                    .map(|o| (*o).to_owned())
                    .collect();
                answer.title = title.into();
                answer.question_type = "MultiOption";
                answer.options = Some(chosen.clone());
                json!({"title": title, "type": "MultiOption",
                    "options": option_list(options), "answer": chosen})
            }
            Question::Numeric(title) => {
                let n = (version * 100) as f64 + self.random.range(0, 99) as f64 / 4.0;
                answer.title = title.into();
                answer.question_type = "Numeric";
                answer.number = Some(n);
                json!({"title": title, "type": "Numeric", "options": [], "answer": n})
            }
            Question::Location(title) => {
                let place = *self
                    .random
                    .pick(&["Koramangala", "Indiranagar", "Whitefield"]);
                answer.title = title.into();
                answer.question_type = "Location";
                answer.text = Some(place.to_owned());
                json!({"title": title, "type": "Location", "options": [],
                    "answer": {"lt": 12.97, "lg": 77.59, "n": place}})
            }
            Question::Text(title) => {
                let text = format!("version {version}: {}", self.random.range(0, 999));
                answer.title = title.into();
                answer.question_type = "Text";
                answer.text = Some(text.clone());
                json!({"title": title, "type": "Text", "options": [], "answer": text})
            }
        };
        (answer, value)
    }

    fn message(&mut self, n: usize) -> (&'static str, Value, What) {
        (
            "TextMessageCreated",
            json!({"text": format!("Reached outlet {n}; starting the stock audit.")}),
            What::Message,
        )
    }

    fn attachment(&mut self, n: usize) -> (&'static str, Value, What) {
        let files = self.random.range(1, 3) as usize;
        let media: Vec<Value> = (0..files)
            .map(|i| {
                json!({"mediaUrl": format!("https://example.com/{n}/{i}.jpg"),
                "mediaFileName": format!("IMG_{n}_{i}.jpg")})
            })
            .collect();
        (
            "AttachmentCreated",
            json!({"media": media, "actionType": "Image", "caption": format!("Shelf {n}")}),
            What::Attachment { files },
        )
    }

    fn member(&mut self) -> (&'static str, Value, What) {
        let p = self.random.range(0, PEOPLE - 1);
        let member_id = person(p);
        // A name that changes now and then: which one is kept depends on
        // the order the events are projected in.
        let data = json!({"member": phone(p), "memberId": member_id,
            "memberName": format!("{} ({})", name(p), self.random.range(1, 3)), "type": "Member"});
        if self.members.insert(p) {
            ("MemberAdded", data, What::MemberAdded { member_id })
        } else {
            self.members.remove(&p);
            ("MemberRemoved", data, What::MemberRemoved { member_id })
        }
    }

    fn sub_group(&mut self) -> (&'static str, Value, What) {
        let g = self.random.range(0, SUB_GROUPS - 1);
        let group_id = format!("{}-sub{g}", self.prefix);
        if self.sub_groups.insert(g) {
            (
                "GroupAdded",
                json!({"groupId": group_id, "groupName": format!("Beat {g}")}),
                What::GroupAdded { group_id },
            )
        } else {
            self.sub_groups.remove(&g);
            (
                "GroupRemoved",
                json!({"groupId": group_id}),
                What::GroupRemoved { group_id },
            )
        }
    }
}

fn option_list(options: &[&str]) -> Vec<Value> {
    options.iter().map(|o| json!({"title": o})).collect()
}

fn person(p: u64) -> String {
    format!("p{p:02}")
}

fn phone(p: u64) -> String {
    format!("+9199000000{p:02}")
}

fn name(p: u64) -> String {
    format!("Person {p}")
}
