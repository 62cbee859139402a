//! Synthetic webhook events for the `kaizala ingest` scale-out test and
//! the ingest bench (`benches/ingest.rs` includes this file by path): a
//! realistic mix of 70% survey responses, 20% text messages and 10% members
//! joining, in the JSON shapes the platform sends (the same shapes as
//! `kaizala-sink`'s library-level bench) and with its keys in the platform's
//! order, with what each should leave in the typed tables.

use bytes::Bytes;
use serde_json::{Value, json};

/// The group every event happens in.
pub const GROUP: &str = "g1";
/// The survey every response answers.
pub const SURVEY: &str = "survey-1";

/// The questions a response draws from, in order (title, type, answer
/// for response `i`), one of each answer shape the wire format has.
fn question(q: usize, i: u64) -> Value {
    match q {
        0 => json!({"title": "Retailer Outlet", "type": "SingleOption",
            "options": [{"title": "ABC Traders"}, {"title": "BCD Distributors"}],
            "answer": [if i.is_multiple_of(3) { "ABC Traders" } else { "BCD Distributors" }]}),
        1 => json!({"title": "Products", "type": "MultiOption",
            "options": [{"title": "Rice"}, {"title": "Atta"}], "answer": ["Rice", "Atta"]}),
        2 => json!({"title": "Rice 1KG", "type": "Numeric", "answer": (i % 20) as f64}),
        3 => json!({"title": "Visit date", "type": "Date", "answer": 1_795_000_000_000_i64}),
        4 => json!({"title": "Location", "type": "Location",
            "answer": {"lt": 12.97, "lg": 77.59, "n": "Koramangala, Bengaluru"}}),
        5 => json!({"title": "Shelf photo", "type": "AttachmentList",
            "answer": [{"mediaUrl": "https://example.com/p.jpg", "mediaFileName": "p.jpg"}]}),
        6 => json!({"title": "Remarks", "type": "Text", "answer": "Stock delivered on time"}),
        _ => {
            json!({"title": "Owner", "type": "Phone", "answer": {"cc": "+91", "pn": "9812345678"}})
        }
    }
}

/// The kinds of event in the mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// A survey response: a `responses` row and its `answers`.
    SurveyResponse,
    /// A text message: a `messages` row.
    TextMessageCreated,
    /// Someone joining: a `member_changes` row, and the `members` row upserted.
    MemberAdded,
}

impl Kind {
    /// The `eventType` on the wire.
    pub fn event_type(self) -> &'static str {
        match self {
            Kind::SurveyResponse => "SurveyResponse",
            Kind::TextMessageCreated => "TextMessageCreated",
            Kind::MemberAdded => "MemberAdded",
        }
    }
}

/// One event: its body as sent, and the keys of the rows it should give.
#[derive(Debug, Clone)]
pub struct SampleEvent {
    /// The `eventId`.
    pub id: String,
    /// Its `eventType`.
    pub kind: Kind,
    /// The JSON body, as POSTed.
    pub body: Bytes,
    /// SurveyResponse: its `responseId`.
    pub response_id: Option<String>,
    /// SurveyResponse: how many answers (rows of `answers`) it carries.
    pub answers: usize,
    /// MemberAdded: the member who joined.
    pub member_id: Option<String>,
}

impl SampleEvent {
    /// The body parsed again (for building rows by hand).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// `body` with its keys in the order the platform sends them (the
/// documented order, which the typed model encodes): `eventType` before
/// `data`, a question's `type` before its `answer`. `json!` sorts keys,
/// which would make every decoder hold `data` and each `answer` aside
/// until the sibling that types it is read: a cost the platform's own
/// bodies never cause.
fn as_sent(body: &Value) -> Bytes {
    let event =
        kaizala_types::event::Event::from_slice(&serde_json::to_vec(body).unwrap()).unwrap();
    event.to_vec().into()
}

/// Event number `i` of a stream whose ids start with `prefix`.
///
/// Survey responses carry between three and nine answers (the eight
/// questions above, a varying number of them, plus the hidden
/// `ResponseTime`), so a count of answers checks more than a multiple of
/// the responses. With `members: Some(k)`, members joining are drawn from
/// `k` people, so several events upsert the same `members` row (contention
/// between writers); with `None` each is someone new.
pub fn sample_event(prefix: &str, i: u64, members: Option<u64>) -> SampleEvent {
    let id = format!("{prefix}-{i:08}");
    let user = format!("u{}", i % 997);
    match i % 10 {
        0..=6 => {
            let response_id = format!("{prefix}-r{i}");
            let visible = 2 + (i % 7) as usize;
            let mut questions: Vec<Value> = (0..visible).map(|q| question(q, i)).collect();
            questions.push(json!({"title": "ResponseTime", "type": "DateTime",
                "isInvisible": true, "answer": 1_795_000_000_000_i64 + i as i64}));
            let answers = questions.len();
            let body = json!({"eventId": id, "eventType": "SurveyResponse", "objectId": GROUP,
                "objectType": "Group", "fromUserId": user,
                "data": {"actionId": SURVEY, "groupId": GROUP, "responseId": response_id,
                    "isUpdateResponse": false, "responder": "+919900000000",
                    "responderId": user, "responderName": "Asha Rao", "isAnonymous": false,
                    "responseDetails": {"responseWithQuestions": questions}}});
            SampleEvent {
                id,
                kind: Kind::SurveyResponse,
                body: as_sent(&body),
                response_id: Some(response_id),
                answers,
                member_id: None,
            }
        }
        7 | 8 => {
            let body = json!({"eventId": id, "eventType": "TextMessageCreated",
                "objectId": GROUP, "objectType": "Group", "fromUserId": "u1",
                "fromUserName": "Asha Rao",
                "data": {"text": format!("Reached outlet {i}. Starting the stock audit now.")}});
            SampleEvent {
                id,
                kind: Kind::TextMessageCreated,
                body: as_sent(&body),
                response_id: None,
                answers: 0,
                member_id: None,
            }
        }
        _ => {
            let member_id = match members {
                Some(k) => format!("{prefix}-m{}", (i / 10) % k),
                None => format!("{prefix}-m{i}"),
            };
            let body = json!({"eventId": id, "eventType": "MemberAdded", "objectId": GROUP,
                "objectType": "Group", "fromUserId": "u1",
                "data": {"member": "+919900000001", "memberId": member_id,
                    "memberName": "Jan Decker", "type": "Member"}});
            SampleEvent {
                id,
                kind: Kind::MemberAdded,
                body: as_sent(&body),
                response_id: None,
                answers: 0,
                member_id: Some(member_id),
            }
        }
    }
}
