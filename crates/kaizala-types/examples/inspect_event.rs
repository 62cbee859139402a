//! Decodes webhook callback bodies and shows what the typed model sees.
//!
//! ```text
//! cargo run -p kaizala-types --example inspect_event -- FILE...   # or a body on stdin
//! ```
//!
//! For each body: the event type and id, the typed payload (answers per
//! question for responses), then the canonical re-encoding. A body that does
//! not decode is reported with the JSON path at fault, and the exit code is 1.

use std::io::Read;
use std::process::ExitCode;

use kaizala_types::actions::Answer;
use kaizala_types::event::{Event, EventData};

fn main() -> ExitCode {
    let files: Vec<String> = std::env::args().skip(1).collect();
    let mut inputs = Vec::new();
    if files.is_empty() {
        let mut body = Vec::new();
        if let Err(err) = std::io::stdin().read_to_end(&mut body) {
            eprintln!("error: reading stdin: {err}");
            return ExitCode::FAILURE;
        }
        inputs.push(("<stdin>".to_owned(), body));
    }
    for file in files {
        match std::fs::read(&file) {
            Ok(body) => inputs.push((file, body)),
            Err(err) => {
                eprintln!("error: {file}: {err}");
                return ExitCode::FAILURE;
            }
        }
    }

    let mut failed = false;
    for (name, body) in inputs {
        match Event::from_slice(&body) {
            Ok(event) => print_event(&name, &event),
            Err(err) => {
                eprintln!("{name}: not a valid event: {err}");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn print_event(name: &str, event: &Event) {
    println!("{name}");
    println!("  event     {} ({})", event.event_type(), event.event_id());
    if let Some(object) = &event.object_id {
        let kind = event
            .object_type
            .as_ref()
            .map_or("?".to_owned(), ToString::to_string);
        println!("  object    {kind} {object}");
    }
    if let Some(sender) = event.from_user_name.as_ref().or(event.from_user.as_ref()) {
        println!("  from      {sender}");
    }
    match event.data() {
        Some(EventData::TextMessage(message)) => {
            println!("  text      {}", message.text.as_deref().unwrap_or(""))
        }
        Some(EventData::Action(action)) => {
            if let Some(responder) = action.responder_name.as_ref().or(action.responder.as_ref()) {
                let update = if action.is_update_response.is_some_and(|f| f.get()) {
                    " (update)"
                } else {
                    ""
                };
                println!("  responder {responder}{update}");
            }
            for question in action.questions() {
                let title = question.title.as_deref().unwrap_or("(untitled)");
                let kind = question
                    .question_type
                    .as_ref()
                    .map_or("?".to_owned(), ToString::to_string);
                println!(
                    "  - {title} [{kind}]: {}",
                    describe(question.answer.as_ref())
                );
            }
            if let Some(job) = action.response_details.as_ref().and_then(|d| d.job()) {
                let done = job.is_completed.is_some_and(|f| f.get());
                println!(
                    "  job       {} completed: {done}",
                    job.assignee_name.as_deref().unwrap_or("?")
                );
            }
        }
        Some(EventData::Member(member)) => {
            println!(
                "  member    {}",
                member
                    .member_name
                    .as_deref()
                    .or(member.member.as_deref())
                    .unwrap_or("?")
            )
        }
        Some(EventData::Unknown(_)) => {
            println!("  payload   kept verbatim (event type not known to this version)")
        }
        Some(_) => {}
        None => println!("  payload   none"),
    }
    println!("  canonical {}", String::from_utf8_lossy(&event.to_vec()));
}

fn describe(answer: Option<&Answer>) -> String {
    match answer {
        None => "(no answer)".to_owned(),
        Some(Answer::Text(text)) => format!("{text:?}"),
        Some(Answer::Options(options)) => options.join(", "),
        Some(Answer::Number(number)) => number.to_string(),
        Some(Answer::DateTime(ts)) => ts.to_rfc3339(),
        Some(Answer::Location(point)) => format!(
            "{}, {} {}",
            point.lt,
            point.lg,
            point.n.as_deref().unwrap_or("")
        ),
        Some(Answer::Attachments(files)) => format!("{} file(s)", files.len()),
        Some(Answer::Phone(phone)) => phone.to_international(),
        Some(other) => kaizala_types::to_string(other),
    }
}
