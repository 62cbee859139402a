//! Questions of surveys and custom actions, and the answers responses carry.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use crate::common::MediaItem;
use crate::wire::{Tagged, Wire};
use crate::{Flag, Numeric, Timestamp, UserId};

wire_enum! {
    /// The type of a question, which decides the JSON type of its answer.
    pub enum QuestionType {
        /// Free text; answer: a string (sometimes JSON inside the string).
        Text = "Text",
        /// One choice; answer: an array holding the chosen option's title
        /// (a bare string in requests).
        SingleOption = "SingleOption",
        /// Several choices; answer: an array of option titles.
        MultiOption = "MultiOption",
        /// A number; answer: a number or a numeric string.
        Numeric = "Numeric",
        /// A date; answer: epoch milliseconds.
        Date = "Date",
        /// A date and time; answer: epoch milliseconds.
        DateTime = "DateTime",
        /// A location; answer: `{"lt", "lg", "n", "acc"?}`.
        Location = "Location",
        /// A picture; answer: a media resource string, or an attachment list.
        Image = "Image",
        /// Attachments; answer: `[{"mediaUrl", "mediaFileName"}]`.
        AttachmentList = "AttachmentList",
        /// A phone number; answer: `{"cc", "pn"}`.
        Phone = "Phone" | "PhoneNumber",
    }
}

wire_object! {
    /// One choice of a SingleOption/MultiOption question.
    pub struct QuestionOption {
        /// The option's text (answers refer to options by it).
        req title: String = "title",
    }
}

impl QuestionOption {
    /// An option.
    pub fn new(title: impl Into<String>) -> Self {
        QuestionOption {
            title: title.into(),
            extra: crate::Extra::new(),
        }
    }
}

wire_object! {
    /// A question of a survey being created.
    pub struct QuestionSpec {
        /// The question as members read it.
        req title: String = "title",
        /// How members answer it: text, a choice, a number, a date, a place, …
        req question_type: QuestionType = "type",
        /// Hidden from the form when true.
        opt is_invisible: Flag = "isInvisible",
        /// The choices (SingleOption and MultiOption only).
        opt options: Vec<QuestionOption> = "options",
    }
}

impl QuestionSpec {
    /// A question without options.
    pub fn new(title: impl Into<String>, question_type: QuestionType) -> Self {
        QuestionSpec {
            title: title.into(),
            question_type,
            is_invisible: None,
            options: None,
            extra: crate::Extra::new(),
        }
    }

    /// A SingleOption or MultiOption question.
    pub fn with_options<T: Into<String>>(
        title: impl Into<String>,
        question_type: QuestionType,
        options: impl IntoIterator<Item = T>,
    ) -> Self {
        let mut question = QuestionSpec::new(title, question_type);
        question.options = Some(options.into_iter().map(QuestionOption::new).collect());
        question
    }
}

wire_object! {
    @manual_arb
    /// An answered question, as responses report them
    /// (`responseWithQuestions`).
    pub struct QuestionAnswer {
        /// The question as members read it.
        opt title: String = "title",
        /// Its type, which types `answer`.
        opt question_type: QuestionType = "type",
        /// The choices offered (option questions only).
        opt options: Vec<QuestionOption> = "options",
        /// The answer; absent when the question was left unanswered.
        opt answer: Answer = "answer" => question_type,
        /// Hidden questions (such as the `ResponseTime` the app adds).
        opt is_invisible: Flag = "isInvisible",
    }
}

wire_object! {
    /// The answer to a Location question.
    pub struct GeoPoint {
        /// Latitude in degrees.
        req lt: Numeric = "lt",
        /// Longitude in degrees.
        req lg: Numeric = "lg",
        /// Place name.
        opt n: String = "n",
        /// Accuracy in metres.
        opt acc: Numeric = "acc",
    }
}

impl GeoPoint {
    /// A point with a place name.
    pub fn new(latitude: f64, longitude: f64, name: impl Into<String>) -> Self {
        GeoPoint {
            lt: latitude.into(),
            lg: longitude.into(),
            n: Some(name.into()),
            acc: None,
            extra: crate::Extra::new(),
        }
    }
}

wire_object! {
    /// The answer to a Phone question.
    pub struct PhoneAnswer {
        /// Country code (a string or a number, as sent).
        req cc: Value = "cc",
        /// Number within the country (a string or a number, as sent).
        req pn: Value = "pn",
    }
}

impl PhoneAnswer {
    /// `+<cc><pn>`, whichever JSON types the parts came as.
    pub fn to_international(&self) -> String {
        fn part(value: &Value) -> String {
            match value {
                Value::String(s) => s.trim_start_matches('+').to_owned(),
                other => other.to_string(),
            }
        }
        format!("+{}{}", part(&self.cc), part(&self.pn))
    }
}

/// An answer. Its JSON type follows the question type; decoded without one
/// (request bodies, unknown types) it is read by its shape.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Answer {
    /// Text, a single chosen option sent as a string, or a media resource.
    Text(String),
    /// Titles of the chosen options.
    Options(Vec<String>),
    /// A number (kept as sent, number or numeric string).
    Number(Numeric),
    /// A date or date-time.
    DateTime(Timestamp),
    /// A location.
    Location(GeoPoint),
    /// Attached files.
    Attachments(Vec<MediaItem>),
    /// A phone number.
    Phone(PhoneAnswer),
    /// Anything else, kept verbatim.
    Other(Value),
}

impl Answer {
    /// The text, for Text answers (and single options sent as a string).
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Answer::Text(text) => Some(text),
            _ => None,
        }
    }

    /// The chosen option titles, for option answers.
    pub fn as_options(&self) -> Option<&[String]> {
        match self {
            Answer::Options(options) => Some(options),
            _ => None,
        }
    }

    /// The number, for Numeric answers.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Answer::Number(number) => Some(number.as_f64()),
            _ => None,
        }
    }

    /// The point in time, for Date/DateTime answers.
    pub fn as_timestamp(&self) -> Option<&Timestamp> {
        match self {
            Answer::DateTime(ts) => Some(ts),
            _ => None,
        }
    }

    /// Reads an answer whose question has type `question_type` (or by its
    /// shape when `None` or unknown).
    pub fn from_value(
        question_type: Option<&QuestionType>,
        value: Value,
    ) -> Result<Answer, String> {
        match question_type.filter(|t| t.is_known()) {
            Some(question_type) => value
                .deserialize_any(TypedAnswer(question_type))
                .map_err(|e| e.to_string()),
            None => Ok(Answer::infer(value)),
        }
    }

    /// Reads an answer by its JSON shape alone. Never fails: a shape that
    /// does not decode is kept as `Other`.
    fn infer(value: Value) -> Answer {
        let mark = crate::wire::path::mark();
        let answer = Answer::infer_shape(value);
        // Failed attempts above were recovered from; forget their paths.
        crate::wire::path::rollback(mark);
        answer
    }

    fn infer_shape(value: Value) -> Answer {
        match value {
            Value::String(text) => Answer::Text(text),
            Value::Number(number) => Answer::Number(Numeric::Number(number)),
            Value::Array(items) if items.iter().all(Value::is_string) => match strings(items) {
                Ok(options) => Answer::Options(options),
                Err(items) => Answer::Other(Value::Array(items)),
            },
            Value::Array(items) if items.iter().all(Value::is_object) => {
                let value = Value::Array(items);
                Vec::<MediaItem>::decode(&value).map_or(Answer::Other(value), Answer::Attachments)
            }
            Value::Object(object) if has_keys(&object, &["lt", "lg"]) => {
                let value = Value::Object(object);
                GeoPoint::deserialize(&value).map_or(Answer::Other(value), Answer::Location)
            }
            Value::Object(object) if has_keys(&object, &["cc", "pn"]) => {
                let value = Value::Object(object);
                PhoneAnswer::deserialize(&value).map_or(Answer::Other(value), Answer::Phone)
            }
            other => Answer::Other(other),
        }
    }
}

fn has_keys(object: &serde_json::Map<String, Value>, keys: &[&str]) -> bool {
    keys.iter()
        .all(|key| object.keys().any(|k| k.eq_ignore_ascii_case(key)))
}

fn strings(items: Vec<Value>) -> Result<Vec<String>, Vec<Value>> {
    if !items.iter().all(Value::is_string) {
        return Err(items);
    }
    Ok(items
        .into_iter()
        .map(|item| match item {
            Value::String(s) => s,
            _ => unreachable!("checked above"),
        })
        .collect())
}

fn expected_shape(question_type: &QuestionType) -> &'static str {
    match question_type {
        QuestionType::Text => "a string",
        QuestionType::SingleOption | QuestionType::MultiOption => "an array of option titles",
        QuestionType::Numeric => "a number or a numeric string",
        QuestionType::Date | QuestionType::DateTime => "a timestamp",
        QuestionType::Location => "an object {lt, lg, n}",
        QuestionType::Image => "a media resource string or an attachment list",
        QuestionType::AttachmentList => "an array of {mediaUrl, mediaFileName}",
        QuestionType::Phone => "an object {cc, pn}",
        QuestionType::Other(_) => "any value",
    }
}

impl Serialize for Answer {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Answer::Text(text) => serializer.serialize_str(text),
            Answer::Options(options) => options.serialize(serializer),
            Answer::Number(number) => number.serialize(serializer),
            Answer::DateTime(ts) => ts.serialize(serializer),
            Answer::Location(point) => point.serialize(serializer),
            Answer::Attachments(items) => items.serialize(serializer),
            Answer::Phone(phone) => phone.serialize(serializer),
            Answer::Other(value) => value.serialize(serializer),
        }
    }
}

/// Without a question type (request bodies), an answer is read by shape.
impl<'de> Deserialize<'de> for Answer {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Value::deserialize(deserializer).map(Answer::infer)
    }
}

impl Wire for Answer {
    fn decode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Answer::deserialize(deserializer)
    }
}

impl Tagged for Answer {
    type Tag = QuestionType;
    fn decode_tagged<'de, D: Deserializer<'de>>(
        tag: Option<&QuestionType>,
        deserializer: D,
    ) -> Result<Self, D::Error> {
        match tag.filter(|t| t.is_known()) {
            // Straight from the input: the common case (`type` precedes
            // `answer`) never builds an intermediate `Value`.
            Some(question_type) => deserializer.deserialize_any(TypedAnswer(question_type)),
            None => Value::deserialize(deserializer).map(Answer::infer),
        }
    }
}

/// Reads an answer of a known question type, accepting the shapes listed on
/// [`QuestionType`] and naming the expected shape otherwise.
struct TypedAnswer<'t>(&'t QuestionType);

impl TypedAnswer<'_> {
    fn mismatch<E: de::Error>(&self, found: &str) -> E {
        E::custom(format_args!(
            "a {} answer must be {}, found {found}",
            self.0,
            expected_shape(self.0)
        ))
    }
}

impl<'de> Visitor<'de> for TypedAnswer<'_> {
    type Value = Answer;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a {} answer: {}", self.0, expected_shape(self.0))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Answer, E> {
        Err(self.mismatch("a boolean"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Answer, E> {
        Err(self.mismatch("null"))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Answer, E> {
        match self.0 {
            QuestionType::Numeric => Ok(Answer::Number(Numeric::Number(value.into()))),
            QuestionType::Date | QuestionType::DateTime => {
                Ok(Answer::DateTime(Timestamp::from_epoch(value)))
            }
            _ => Err(self.mismatch("a number")),
        }
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Answer, E> {
        match self.0 {
            QuestionType::Numeric => Ok(Answer::Number(Numeric::Number(value.into()))),
            QuestionType::Date | QuestionType::DateTime => {
                Timestamp::deserialize(de::value::U64Deserializer::<E>::new(value))
                    .map(Answer::DateTime)
            }
            _ => Err(self.mismatch("a number")),
        }
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Answer, E> {
        match self.0 {
            QuestionType::Numeric => {
                Numeric::deserialize(de::value::F64Deserializer::<E>::new(value))
                    .map(Answer::Number)
            }
            QuestionType::Date | QuestionType::DateTime => {
                Timestamp::deserialize(de::value::F64Deserializer::<E>::new(value))
                    .map(Answer::DateTime)
            }
            _ => Err(self.mismatch("a number")),
        }
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Answer, E> {
        self.visit_string(value.to_owned())
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Answer, E> {
        match self.0 {
            QuestionType::Text
            | QuestionType::SingleOption
            | QuestionType::MultiOption
            | QuestionType::Image => Ok(Answer::Text(value)),
            QuestionType::Numeric => Numeric::parse_text(&value)
                .map(Answer::Number)
                .ok_or_else(|| self.mismatch("a string that is not a number")),
            QuestionType::Date | QuestionType::DateTime => Timestamp::parse(&value)
                .map(Answer::DateTime)
                .map_err(E::custom),
            _ => Err(self.mismatch("a string")),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Answer, A::Error> {
        let items = de::value::SeqAccessDeserializer::new(seq);
        match self.0 {
            QuestionType::SingleOption | QuestionType::MultiOption => {
                Vec::<String>::decode(items).map(Answer::Options)
            }
            QuestionType::AttachmentList | QuestionType::Image => {
                Vec::<MediaItem>::decode(items).map(Answer::Attachments)
            }
            _ => Err(self.mismatch("an array")),
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Answer, A::Error> {
        let object = de::value::MapAccessDeserializer::new(map);
        match self.0 {
            QuestionType::Location => GeoPoint::deserialize(object).map(Answer::Location),
            QuestionType::Phone => PhoneAnswer::deserialize(object).map(Answer::Phone),
            _ => Err(self.mismatch("an object")),
        }
    }
}

wire_object! {
    /// `responseDetails` of a response in object form.
    #[derive(Default)]
    pub struct ResponseDetailsObject {
        /// Survey and custom-action responses: the answered questions.
        opt response_with_questions: Vec<QuestionAnswer> = "responseWithQuestions",
        /// Job responses: the assignee's update.
        opt response: JobResponseDetail = "response",
    }
}

wire_object! {
    /// A job assignee's response.
    #[derive(Default)]
    pub struct JobResponseDetail {
        /// Assignee's phone number (as sent).
        opt assignee: String = "assignee",
        /// Assignee's user id.
        opt assignee_id: UserId = "assigneeId",
        /// Assignee's name.
        opt assignee_name: String = "assigneeName",
        /// Assignee's picture URL.
        opt assignee_profile_pic: String = "assigneeProfilePic",
        /// Whether the job is done.
        opt is_completed: Flag = "isCompleted",
    }
}

/// `responseDetails` of a response: an object (`{"responseWithQuestions":
/// [...]}` or `{"response": {...}}`, as in every sample), or a bare array of
/// answered questions (as `EventSchema.md`'s table describes it). Re-encoded
/// in the form it came in.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ResponseDetails {
    /// The object form.
    Object(ResponseDetailsObject),
    /// The array form.
    Questions(Vec<QuestionAnswer>),
}

impl ResponseDetails {
    /// The answered questions, whichever the form.
    pub fn questions(&self) -> &[QuestionAnswer] {
        match self {
            ResponseDetails::Object(object) => object
                .response_with_questions
                .as_deref()
                .unwrap_or_default(),
            ResponseDetails::Questions(questions) => questions,
        }
    }

    /// A job response's detail.
    pub fn job(&self) -> Option<&JobResponseDetail> {
        match self {
            ResponseDetails::Object(object) => object.response.as_ref(),
            ResponseDetails::Questions(_) => None,
        }
    }
}

impl Serialize for ResponseDetails {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ResponseDetails::Object(object) => object.serialize(serializer),
            ResponseDetails::Questions(questions) => questions.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for ResponseDetails {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ShapeVisitor;
        impl<'de> Visitor<'de> for ShapeVisitor {
            type Value = ResponseDetails;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("responseDetails (an object or an array of answered questions)")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                ResponseDetailsObject::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(ResponseDetails::Object)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                Vec::<QuestionAnswer>::decode(de::value::SeqAccessDeserializer::new(seq))
                    .map(ResponseDetails::Questions)
            }
        }
        deserializer.deserialize_any(ShapeVisitor)
    }
}

impl Wire for ResponseDetails {
    fn decode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        ResponseDetails::deserialize(deserializer)
    }
}

#[cfg(test)]
pub(crate) mod arb_impls {
    use proptest::prelude::*;

    use super::*;
    use crate::arb::Arb;

    /// An answer the given question type reads back as itself.
    pub(crate) fn answer_for(question_type: &QuestionType) -> BoxedStrategy<Answer> {
        let options = prop::collection::vec("[A-Za-z0-9 ]{1,10}", 0..4);
        match question_type {
            QuestionType::Text => String::arb().prop_map(Answer::Text).boxed(),
            QuestionType::SingleOption | QuestionType::MultiOption => {
                options.prop_map(Answer::Options).boxed()
            }
            QuestionType::Numeric => Numeric::arb().prop_map(Answer::Number).boxed(),
            QuestionType::Date | QuestionType::DateTime => {
                Timestamp::arb().prop_map(Answer::DateTime).boxed()
            }
            QuestionType::Location => GeoPoint::arb().prop_map(Answer::Location).boxed(),
            QuestionType::Image | QuestionType::AttachmentList => Vec::<MediaItem>::arb()
                .prop_map(Answer::Attachments)
                .boxed(),
            QuestionType::Phone => PhoneAnswer::arb().prop_map(Answer::Phone).boxed(),
            QuestionType::Other(_) => inferred().boxed(),
        }
    }

    /// An answer its shape alone reads back as itself.
    pub(crate) fn inferred() -> BoxedStrategy<Answer> {
        prop_oneof![
            String::arb().prop_map(Answer::Text),
            prop::collection::vec("[a-z]{1,6}", 0..3).prop_map(Answer::Options),
            <serde_json::Number as Arb>::arb().prop_map(|n| Answer::Number(Numeric::Number(n))),
            GeoPoint::arb().prop_map(Answer::Location),
            prop::collection::vec(MediaItem::arb(), 1..3).prop_map(Answer::Attachments),
            PhoneAnswer::arb().prop_map(Answer::Phone),
            any::<bool>().prop_map(|b| Answer::Other(Value::Bool(b))),
        ]
        .boxed()
    }

    impl Arb for QuestionAnswer {
        fn arb() -> BoxedStrategy<Self> {
            let question_type = proptest::option::of(QuestionType::arb());
            (
                question_type,
                proptest::option::of(String::arb()),
                proptest::option::of(Vec::<QuestionOption>::arb()),
                any::<bool>(),
            )
                .prop_flat_map(|(question_type, title, options, answered)| {
                    let answer = match (&question_type, answered) {
                        (_, false) => Just(None).boxed(),
                        (Some(t), true) => answer_for(t).prop_map(Some).boxed(),
                        (None, true) => inferred().prop_map(Some).boxed(),
                    };
                    (
                        Just(question_type),
                        Just(title),
                        Just(options),
                        answer,
                        proptest::option::of(Flag::arb()),
                        crate::arb::extra(),
                    )
                })
                .prop_map(
                    |(question_type, title, options, answer, is_invisible, extra)| QuestionAnswer {
                        title,
                        question_type,
                        options,
                        answer,
                        is_invisible,
                        extra,
                    },
                )
                .boxed()
        }
    }

    impl Arb for ResponseDetails {
        fn arb() -> BoxedStrategy<Self> {
            prop_oneof![
                ResponseDetailsObject::arb().prop_map(ResponseDetails::Object),
                Vec::<QuestionAnswer>::arb().prop_map(ResponseDetails::Questions),
            ]
            .boxed()
        }
    }

    impl Arb for Answer {
        fn arb() -> BoxedStrategy<Self> {
            inferred()
        }
    }
}
