//! A consumer of the released `kaizala-types` alone: decodes a webhook
//! callback body and prints what it saw. Written by `cargo xtask release
//! --dry-run`, which checks that nothing async (tokio, hyper) came with it.

use std::process::ExitCode;

use kaizala_types::event::{Event, EventData};

const BODY: &[u8] = include_bytes!("event.json");

fn main() -> ExitCode {
    let event = match Event::from_slice(BODY) {
        Ok(event) => event,
        Err(err) => {
            eprintln!("types-only: the callback body did not decode: {err}");
            return ExitCode::FAILURE;
        }
    };
    println!("decoded {} {}", event.event_type(), event.event_id());
    let Some(EventData::Action(response)) = event.data() else {
        eprintln!("types-only: a SurveyResponse without its action payload");
        return ExitCode::FAILURE;
    };
    let questions = response.questions();
    for question in questions {
        println!(
            "  {}: answered {}",
            question.title.as_deref().unwrap_or("(untitled)"),
            question.answer.is_some()
        );
    }
    if event.event_type().to_string() != "SurveyResponse" || questions.is_empty() {
        eprintln!("types-only: expected a SurveyResponse with questions");
        return ExitCode::FAILURE;
    }
    let again = Event::from_slice(&event.to_vec()).map(|e| e.to_vec());
    if again.as_deref().ok() != Some(&event.to_vec()[..]) {
        eprintln!("types-only: the canonical encoding did not decode to the same event");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
