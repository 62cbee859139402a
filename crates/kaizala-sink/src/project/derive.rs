//! Log entries → rows: pure, no database, no clock.

use kaizala_types::event::Event;

use crate::log::Entry;
use crate::normalise::event_index::EventIndexRow;
use crate::normalise::pulled::{self, Unmapped};
use crate::normalise::{self, ErrorRow, Rows};

/// What a run of entries projects into.
#[derive(Debug, Default)]
pub(crate) struct Derived {
    pub rows: Rows,
    /// Entries read.
    pub entries: u64,
    /// Entries that could not be mapped (each a `projection_errors` row).
    pub errors: u64,
    /// The last entry's position and when it was logged.
    pub last: Option<(i64, i64)>,
}

impl Derived {
    /// Appends what the entries right after these derived to.
    pub fn append(&mut self, next: Derived) {
        self.rows.append(next.rows);
        self.entries += next.entries;
        self.errors += next.errors;
        self.last = next.last.or(self.last);
    }
}

/// Derives the rows of `entries`, in order. An entry that does not map
/// becomes a `projection_errors` row instead, with the JSON path at fault;
/// no entry ever stops the others.
pub(crate) fn derive(entries: &[Entry]) -> Derived {
    let mut derived = Derived::default();
    for entry in entries {
        derived.entries += 1;
        derived.last = Some((entry.position(), entry.logged_at()));
        match entry {
            Entry::Event {
                position,
                event_id,
                event_type,
                received_at,
                payload,
            } => match Event::from_slice(payload.as_bytes()) {
                Ok(event) => {
                    normalise::event_rows(&event, *position, *received_at, &mut derived.rows)
                }
                Err(err) => {
                    derived.errors += 1;
                    // Indexed by its head all the same: every event is.
                    derived.rows.event_index.push(EventIndexRow {
                        event_id: event_id.clone(),
                        position: *position,
                        event_type: event_type.clone(),
                        object_id: None,
                        object_type: None,
                        group_id: None,
                        from_user_id: None,
                        received_at: *received_at,
                    });
                    derived.rows.errors.push(ErrorRow {
                        position: *position,
                        log: "events",
                        entry_id: event_id.clone(),
                        entry_type: event_type.clone(),
                        path: (!err.path().is_empty()).then(|| err.path().to_owned()),
                        message: err.to_string(),
                        logged_at: *received_at,
                    });
                }
            },
            Entry::Pulled {
                position,
                fetched_at,
                operation,
                request,
                body,
            } => {
                // All of a document's rows, or none.
                let mut rows = Rows::default();
                match pulled::document_rows(operation, request, body, *fetched_at, &mut rows) {
                    Ok(()) => derived.rows.append(rows),
                    Err(Unmapped { path, message }) => {
                        derived.errors += 1;
                        derived.rows.errors.push(ErrorRow {
                            position: *position,
                            log: "pull_log",
                            entry_id: format!("{operation} {request}"),
                            entry_type: operation.clone(),
                            path,
                            message,
                            logged_at: *fetched_at,
                        });
                    }
                }
            }
        }
    }
    derived
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(position: i64, payload: &str) -> Entry {
        Entry::Event {
            position,
            event_id: format!("e{position}"),
            event_type: "SurveyResponse".to_owned(),
            received_at: 1_000 + position,
            payload: payload.to_owned(),
        }
    }

    #[test]
    fn an_entry_that_does_not_fit_is_an_error_row_and_the_others_go_on() {
        let good =
            r#"{"eventId": "e1", "eventType": "TextMessageCreated", "data": {"text": "hi"}}"#;
        let bad = r#"{"eventId": "e2", "eventType": "SurveyResponse",
            "data": {"responseDetails": {"responseWithQuestions": "not a list"}}}"#;
        let derived = derive(&[event(1, good), event(2, bad), event(3, good)]);
        assert_eq!((derived.entries, derived.errors), (3, 1));
        assert_eq!(derived.last, Some((3, 1_003)));
        assert_eq!(derived.rows.messages.len(), 2);
        assert_eq!(derived.rows.event_index.len(), 3, "every event is indexed");
        let error = &derived.rows.errors[0];
        assert_eq!((error.position, error.log), (2, "events"));
        assert_eq!(
            error.path.as_deref(),
            Some("data.responseDetails.responseWithQuestions"),
            "{error:?}"
        );
    }

    #[test]
    fn the_same_entries_give_the_same_rows() {
        let payload = r#"{"eventId": "e1", "eventType": "MemberAdded", "objectId": "g1",
            "objectType": "Group", "data": {"memberId": "u1", "member": "+911", "memberName": "A"}}"#;
        let one = derive(&[event(7, payload)]);
        let two = derive(&[event(7, payload)]);
        assert_eq!(format!("{:?}", one.rows), format!("{:?}", two.rows));
    }
}
