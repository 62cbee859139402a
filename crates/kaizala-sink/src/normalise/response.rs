//! `ActionResponse`, `SurveyResponse`, `JobResponse`, `PollResponse`,
//! `LetsMeetResponse` → `responses` + `answers`. The pull sync reads the
//! responses of an action's details with the same function, so a response
//! pushed and the same response pulled make identical rows.

use kaizala_types::actions::{Answer, QuestionAnswer, QuestionType};
use kaizala_types::event::ActionEventData;

use super::json;
use crate::fnv::Fnv1a;
use crate::write::Arg;

/// The hidden question the Kaizala app adds to responses: when the
/// responder submitted (epoch ms).
const RESPONSE_TIME: &str = "ResponseTime";

/// What the payload may not say itself.
#[derive(Debug, Clone)]
pub(crate) struct Context {
    /// The group, when the payload names none.
    pub group_id: Option<String>,
    /// The action, when the payload names none.
    pub action_id: Option<String>,
    /// The id to key the response by when it has no `responseId`.
    pub fallback_id: String,
    /// When the sink received it (epoch ms).
    pub seen_at: i64,
}

/// A row of `responses` with its `answers`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ResponseRow {
    pub response_id: String,
    pub action_id: Option<String>,
    pub group_id: Option<String>,
    pub package_id: Option<String>,
    pub responder_id: Option<String>,
    pub responder_phone: Option<String>,
    pub responder_name: Option<String>,
    pub is_anonymous: Option<bool>,
    pub is_completed: Option<bool>,
    /// `isUpdateResponse`.
    pub is_update: bool,
    /// The `ResponseTime` answer, if any.
    pub version_at: Option<i64>,
    pub seen_at: i64,
    /// What the responder said, hashed: the visible answers (and a job's
    /// completion). A stored response is replaced only when this differs,
    /// so the same response pushed (with the app's hidden `ResponseTime`
    /// question) and pulled (without it) is one version, not two.
    pub fingerprint: String,
    /// `responseDetails` in canonical JSON.
    pub details: String,
    pub answers: Vec<AnswerRow>,
    /// A 0.1 database's row: its own times.
    pub legacy: Option<LegacyTimes>,
}

/// The times a 0.1 database stored for a response.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LegacyTimes {
    pub responded_at: i64,
    pub first_seen_at: i64,
    pub updated_at: Option<i64>,
}

impl ResponseRow {
    /// `responded_at` of a new row: the app's `ResponseTime`, else when the
    /// sink first saw it.
    pub fn responded_at(&self) -> i64 {
        self.version_at.unwrap_or(self.seen_at)
    }

    /// The values of `responses`' columns, in order (`updated_at` is set
    /// when a later version replaces it).
    pub fn args(&self) -> Vec<Arg> {
        vec![
            (&self.response_id).into(),
            (&self.action_id).into(),
            (&self.group_id).into(),
            (&self.package_id).into(),
            (&self.responder_id).into(),
            (&self.responder_phone).into(),
            (&self.responder_name).into(),
            self.is_anonymous.into(),
            self.is_completed.into(),
            self.is_update.into(),
            self.legacy
                .map_or_else(|| self.responded_at(), |l| l.responded_at)
                .into(),
            self.version_at.into(),
            self.legacy.map_or(self.seen_at, |l| l.first_seen_at).into(),
            self.legacy.and_then(|l| l.updated_at).into(),
            (&self.fingerprint).into(),
            (&self.details).into(),
        ]
    }

    /// The values of `answers`' columns, one row per answer.
    pub fn answer_args(&self) -> impl Iterator<Item = Vec<Arg>> + '_ {
        self.answers.iter().map(move |a| {
            vec![
                (&self.response_id).into(),
                a.question_index.into(),
                (&self.action_id).into(),
                (&a.title).into(),
                (&a.question_type).into(),
                a.is_invisible.into(),
                (&a.text_value).into(),
                a.number_value.into(),
                (&a.json_value).into(),
            ]
        })
    }
}

/// A row of `answers` (its response's id and action id come from the
/// [`ResponseRow`]).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AnswerRow {
    pub question_index: i64,
    pub title: Option<String>,
    pub question_type: Option<String>,
    pub is_invisible: bool,
    pub text_value: Option<String>,
    pub number_value: Option<f64>,
    pub json_value: Option<String>,
}

pub(crate) fn from_data(data: &ActionEventData, context: &Context) -> ResponseRow {
    let job = data.response_details.as_ref().and_then(|d| d.job());
    let questions = data.questions();
    let answers: Vec<AnswerRow> = questions
        .iter()
        .enumerate()
        .map(|(i, q)| answer_row(i, q))
        .collect();
    let is_completed = job.and_then(|j| j.is_completed).map(|f| f.get());
    ResponseRow {
        response_id: data
            .response_id
            .as_ref()
            .map_or_else(|| context.fallback_id.clone(), |r| r.to_string()),
        action_id: data
            .action_id
            .as_ref()
            .map(|a| a.to_string())
            .or_else(|| context.action_id.clone()),
        group_id: data
            .source_group_id
            .as_ref()
            .or(data.group_id.as_ref())
            .map(|g| g.to_string())
            .or_else(|| context.group_id.clone()),
        package_id: data
            .action_package_id
            .as_ref()
            .or(data.package_id.as_ref())
            .map(|p| p.to_string()),
        responder_id: data
            .responder_id
            .as_ref()
            .or(job.and_then(|j| j.assignee_id.as_ref()))
            .map(|u| u.to_string()),
        responder_phone: data
            .responder
            .clone()
            .or_else(|| job.and_then(|j| j.assignee.clone())),
        responder_name: data
            .responder_name
            .clone()
            .or_else(|| job.and_then(|j| j.assignee_name.clone())),
        is_anonymous: data.is_anonymous.map(|f| f.get()),
        is_completed,
        is_update: data.is_update_response.is_some_and(|f| f.get()),
        version_at: questions.iter().find_map(response_time),
        seen_at: context.seen_at,
        fingerprint: fingerprint(&answers, is_completed),
        details: data
            .response_details
            .as_ref()
            .map_or_else(|| "null".to_owned(), json),
        answers,
        legacy: None,
    }
}

/// FNV-1a (64 bits, hex) of the visible answers as typed columns. What is
/// hashed is the compact JSON `{"answers":[[title, question_type,
/// text_value, number_value, json_value], …],"completed":…}`, fed to the
/// hash as it is written rather than built first.
fn fingerprint(answers: &[AnswerRow], is_completed: Option<bool>) -> String {
    #[derive(serde::Serialize)]
    struct Hashed<'a> {
        answers: Visible<'a>,
        completed: Option<bool>,
    }
    struct Visible<'a>(&'a [AnswerRow]);
    impl serde::Serialize for Visible<'_> {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.collect_seq(self.0.iter().filter(|a| !a.is_invisible).map(|a| {
                (
                    &a.title,
                    &a.question_type,
                    &a.text_value,
                    a.number_value,
                    &a.json_value,
                )
            }))
        }
    }
    let mut hash = Fnv1a::new();
    let hashed = Hashed {
        answers: Visible(answers),
        completed: is_completed,
    };
    // Writing to a hash cannot fail, and nothing here is a map with keys
    // that are not strings.
    serde_json::to_writer(&mut hash, &hashed).expect("hashing never fails");
    hash.hex()
}

fn response_time(question: &QuestionAnswer) -> Option<i64> {
    if !question
        .title
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case(RESPONSE_TIME))
    {
        return None;
    }
    match question.answer.as_ref()? {
        Answer::DateTime(ts) => Some(ts.unix_millis()),
        Answer::Number(n) => Some(n.as_f64() as i64),
        _ => None,
    }
}

/// One answer, typed by its question: text in `text_value`, numbers, dates
/// and times (epoch ms) in `number_value`, options, locations, attachments
/// and phone numbers as JSON in `json_value` (plus the chosen title of a
/// single option, the place name of a location and `+<cc><pn>` of a phone
/// number in `text_value`).
fn answer_row(index: usize, question: &QuestionAnswer) -> AnswerRow {
    let mut row = AnswerRow {
        question_index: index as i64,
        title: question.title.clone(),
        question_type: question.question_type.as_ref().map(|t| t.to_string()),
        is_invisible: question.is_invisible.is_some_and(|f| f.get()),
        text_value: None,
        number_value: None,
        json_value: None,
    };
    match &question.answer {
        None => {}
        Some(Answer::Text(text)) => row.text_value = Some(text.clone()),
        Some(Answer::Options(options)) => {
            if options.len() == 1 && question.question_type != Some(QuestionType::MultiOption) {
                row.text_value = Some(options[0].clone());
            }
            row.json_value = Some(json(options));
        }
        Some(Answer::Number(n)) => row.number_value = Some(n.as_f64()),
        Some(Answer::DateTime(ts)) => row.number_value = Some(ts.unix_millis() as f64),
        Some(Answer::Location(point)) => {
            row.text_value = point.n.clone();
            row.json_value = Some(json(point));
        }
        Some(Answer::Attachments(items)) => row.json_value = Some(json(items)),
        Some(Answer::Phone(phone)) => {
            row.text_value = Some(phone.to_international());
            row.json_value = Some(json(phone));
        }
        Some(other) => row.json_value = Some(json(other)),
    }
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fingerprint as releases before this one computed it (through a
    /// `serde_json::Value`): stored fingerprints must keep matching, or
    /// every redelivered response would count as changed.
    fn fingerprint_through_a_value(answers: &[AnswerRow], is_completed: Option<bool>) -> String {
        let visible: Vec<serde_json::Value> = answers
            .iter()
            .filter(|a| !a.is_invisible)
            .map(|a| {
                serde_json::json!([
                    a.title,
                    a.question_type,
                    a.text_value,
                    a.number_value,
                    a.json_value
                ])
            })
            .collect();
        let text = json(&serde_json::json!({"answers": visible, "completed": is_completed}));
        crate::fnv::fnv1a(&text)
    }

    fn answer(i: i64, title: Option<&str>, number: Option<f64>, invisible: bool) -> AnswerRow {
        AnswerRow {
            question_index: i,
            title: title.map(str::to_owned),
            question_type: Some("Numeric".to_owned()),
            is_invisible: invisible,
            text_value: title.map(|t| format!("{t} \"quoted\"\n\u{1f600}\u{7}")),
            number_value: number,
            json_value: (i % 2 == 0).then(|| r#"{"a":[1,2.5,"x"]}"#.to_owned()),
        }
    }

    #[test]
    fn the_fingerprint_is_the_one_earlier_releases_stored() {
        let numbers = [
            None,
            Some(0.0),
            Some(-0.0),
            Some(1.0),
            Some(-2.5),
            Some(1e21),
            Some(123_456_789.123_456_79),
            Some(f64::NAN),
            Some(f64::INFINITY),
            Some(f64::MIN_POSITIVE),
        ];
        let titles = [None, Some(""), Some("Name"), Some("Ünïcödé \\ / \t")];
        let mut answers = Vec::new();
        for (i, number) in numbers.iter().enumerate() {
            let title = titles[i % titles.len()];
            answers.push(answer(i as i64, title, *number, i % 3 == 2));
        }
        for completed in [None, Some(true), Some(false)] {
            for n in 0..=answers.len() {
                assert_eq!(
                    fingerprint(&answers[..n], completed),
                    fingerprint_through_a_value(&answers[..n], completed),
                    "{n} answers, completed {completed:?}"
                );
            }
        }
        assert_ne!(
            fingerprint(&answers, Some(true)),
            fingerprint(&answers, Some(false))
        );
    }
}
