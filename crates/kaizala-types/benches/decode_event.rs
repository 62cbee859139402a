//! Decoding a 2 KB SurveyResponse webhook body: into the typed, tolerant,
//! lossless [`Event`], versus into a `serde_json::Value` (what a receiver
//! that does not use this crate would do), versus into a plain
//! `#[derive(Deserialize)]` mirror that tolerates nothing (the ceiling).
//!
//! Run with `cargo xtask bench`, which also prints the ratios.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kaizala_types::event::Event;
use serde::Deserialize;
use std::hint::black_box;

const BODY: &[u8] = include_bytes!("data/survey_response_2k.json");

/// The same payload as a plain derive sees it: exact key spelling only, no
/// typed answers, unknown fields dropped.
#[allow(dead_code)]
mod plain {
    use serde::Deserialize;

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Event {
        pub object_id: Option<String>,
        pub object_type: Option<String>,
        pub event_type: String,
        pub event_id: String,
        pub data: Option<Data>,
        pub context: Option<String>,
        pub from_user: Option<String>,
        pub from_user_id: Option<String>,
        pub from_user_name: Option<String>,
        pub from_user_profile_pic: Option<String>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Data {
        pub action_id: Option<String>,
        pub action_package_id: Option<String>,
        pub group_id: Option<String>,
        pub response_id: Option<String>,
        pub is_update_response: Option<bool>,
        pub responder: Option<String>,
        pub responder_name: Option<String>,
        pub responder_profile_pic: Option<String>,
        pub is_anonymous: Option<bool>,
        pub response_details: Option<Details>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Details {
        pub response_with_questions: Vec<Question>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Question {
        pub title: Option<String>,
        #[serde(rename = "type")]
        pub question_type: Option<String>,
        pub options: Option<Vec<Choice>>,
        pub answer: Option<serde_json::Value>,
        pub is_invisible: Option<bool>,
    }

    #[derive(Deserialize)]
    pub struct Choice {
        pub title: String,
    }
}

fn decode(c: &mut Criterion) {
    // Every variant must decode the body, or the comparison means nothing.
    Event::from_slice(BODY).expect("bench body is a valid event");
    serde_json::from_slice::<plain::Event>(BODY).expect("plain mirror decodes");

    let mut group = c.benchmark_group("decode_event_2k");
    group.throughput(Throughput::Elements(1));
    group.bench_function("typed_event", |b| {
        b.iter(|| Event::from_slice(black_box(BODY)).unwrap())
    });
    group.bench_function("serde_json_value", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(BODY)).unwrap())
    });
    group.bench_function("plain_derive", |b| {
        b.iter(|| {
            plain::Event::deserialize(&mut serde_json::Deserializer::from_slice(black_box(BODY)))
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
