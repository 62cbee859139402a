//! What the projected tables must hold, worked out from what reached the
//! log (the rules of `docs/schema.md`, applied by hand to the events in
//! log order), and the check that they do.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use kaizala_sink::Sink;

use super::feed::{Feed, GROUP, What};
use super::snapshot::{Cell, rows};

/// The event log, in position order: (position, event id, event type,
/// payload).
pub async fn log(sink: &Sink) -> Vec<(i64, String, String, String)> {
    rows(
        sink,
        "SELECT position, event_id, event_type, payload FROM events ORDER BY position",
    )
    .await
    .into_iter()
    .map(|r| {
        (
            r[0].int().unwrap(),
            r[1].text().unwrap().to_owned(),
            r[2].text().unwrap().to_owned(),
            r[3].text().unwrap().to_owned(),
        )
    })
    .collect()
}

fn text(c: &Cell) -> Option<String> {
    c.text().map(str::to_owned)
}

/// Checks every projected table against the events in the log; returns
/// what is wrong, one line per finding (empty: all right).
pub async fn check(sink: &Sink, feed: &Feed) -> Vec<String> {
    let mut wrong = Vec::new();
    let mut expect = |what: &str, ok: bool, detail: String| {
        if !ok {
            wrong.push(format!("{what}: {detail}"));
        }
    };
    let by_id: HashMap<&str, usize> = feed
        .events
        .iter()
        .enumerate()
        .map(|(i, e)| (e.id.as_str(), i))
        .collect();

    // The log itself: each event once, as it was sent.
    let log = log(sink).await;
    let mut in_log = Vec::new();
    let mut seen = BTreeSet::new();
    for (position, id, event_type, payload) in &log {
        let Some(&i) = by_id.get(id.as_str()) else {
            expect("events", false, format!("{id} was never sent"));
            continue;
        };
        let event = &feed.events[i];
        expect(
            "events",
            seen.insert(i),
            format!("{id} stored twice (again at position {position})"),
        );
        expect(
            "events",
            event_type == event.event_type && payload.as_bytes() == &event.body[..],
            format!("{id} at {position} is not the body sent: {event_type} {payload}"),
        );
        in_log.push((*position, i));
    }
    let events: Vec<(i64, &super::feed::Event)> =
        in_log.iter().map(|(p, i)| (*p, &feed.events[*i])).collect();

    // event_index: every event, once.
    let index: BTreeSet<(String, i64, String)> = rows(
        sink,
        "SELECT event_id, position, event_type FROM event_index",
    )
    .await
    .iter()
    .map(|r| {
        (
            text(&r[0]).unwrap(),
            r[1].int().unwrap(),
            text(&r[2]).unwrap(),
        )
    })
    .collect();
    let want: BTreeSet<(String, i64, String)> = events
        .iter()
        .map(|(p, e)| (e.id.clone(), *p, e.event_type.to_owned()))
        .collect();
    expect(
        "event_index",
        index == want,
        set_diff(&want, &index, "missing", "extra"),
    );

    // Messages, pictures (a row per file), member changes, errors: one
    // per event.
    let ids_of = |f: &dyn Fn(&What) -> bool| -> BTreeSet<String> {
        events
            .iter()
            .filter(|(_, e)| f(&e.what))
            .map(|(_, e)| e.id.clone())
            .collect()
    };
    let messages: BTreeSet<String> = rows(sink, "SELECT event_id FROM messages")
        .await
        .iter()
        .map(|r| text(&r[0]).unwrap())
        .collect();
    let want = ids_of(&|w| *w == What::Message);
    expect(
        "messages",
        messages == want,
        set_diff(&want, &messages, "missing", "extra"),
    );

    let files: BTreeSet<(String, i64)> = rows(sink, "SELECT event_id, item_index FROM attachments")
        .await
        .iter()
        .map(|r| (text(&r[0]).unwrap(), r[1].int().unwrap()))
        .collect();
    let want: BTreeSet<(String, i64)> = events
        .iter()
        .flat_map(|(_, e)| match e.what {
            What::Attachment { files } => (0..files as i64).map(|i| (e.id.clone(), i)).collect(),
            _ => Vec::new(),
        })
        .collect();
    expect(
        "attachments",
        files == want,
        set_diff(&want, &files, "missing", "extra"),
    );

    let changes: BTreeSet<(String, String, String)> = rows(
        sink,
        "SELECT event_id, member_id, change_type FROM member_changes",
    )
    .await
    .iter()
    .map(|r| {
        (
            text(&r[0]).unwrap(),
            text(&r[1]).unwrap(),
            text(&r[2]).unwrap(),
        )
    })
    .collect();
    let want: BTreeSet<(String, String, String)> = events
        .iter()
        .filter_map(|(_, e)| match &e.what {
            What::MemberAdded { member_id } => Some((e.id.clone(), member_id.clone(), "added")),
            What::MemberRemoved { member_id } => Some((e.id.clone(), member_id.clone(), "removed")),
            _ => None,
        })
        .map(|(a, b, c)| (a, b, c.to_owned()))
        .collect();
    expect(
        "member_changes",
        changes == want,
        set_diff(&want, &changes, "missing", "extra"),
    );

    let errors: BTreeSet<(i64, String)> =
        rows(sink, "SELECT position, entry_id FROM projection_errors")
            .await
            .iter()
            .map(|r| (r[0].int().unwrap(), text(&r[1]).unwrap()))
            .collect();
    let want: BTreeSet<(i64, String)> = events
        .iter()
        .filter(|(_, e)| e.what == What::Malformed)
        .map(|(p, e)| (*p, e.id.clone()))
        .collect();
    expect(
        "projection_errors",
        errors == want,
        set_diff(&want, &errors, "missing", "extra"),
    );

    // Members: whoever's last event in log order is a join is in, under
    // the name that join gave.
    let mut members: BTreeMap<String, Option<String>> = BTreeMap::new();
    for (_, e) in &events {
        match &e.what {
            What::MemberAdded { member_id } => {
                let body: serde_json::Value = serde_json::from_slice(&e.body).unwrap();
                let name = body["data"]["memberName"].as_str().map(str::to_owned);
                members.insert(member_id.clone(), name);
            }
            What::MemberRemoved { member_id } => {
                members.remove(member_id);
            }
            _ => {}
        }
    }
    let stored: BTreeMap<String, Option<String>> =
        rows(sink, "SELECT group_id, member_id, name FROM members")
            .await
            .iter()
            .map(|r| {
                assert_eq!(text(&r[0]).as_deref(), Some(GROUP));
                (text(&r[1]).unwrap(), text(&r[2]))
            })
            .collect();
    expect(
        "members",
        stored == members,
        format!("want {members:?}\n  got {stored:?}"),
    );

    // Sub-groups: removed when their last event in log order says so.
    let mut groups: BTreeMap<String, bool> = BTreeMap::new();
    for (_, e) in &events {
        match &e.what {
            What::GroupAdded { group_id } => {
                groups.insert(group_id.clone(), false);
            }
            What::GroupRemoved { group_id } => {
                groups.insert(group_id.clone(), true);
            }
            _ => {}
        }
    }
    let stored: BTreeMap<String, bool> = rows(sink, "SELECT group_id, removed_at FROM groups")
        .await
        .iter()
        .map(|r| (text(&r[0]).unwrap(), !r[1].is_null()))
        .collect();
    expect(
        "groups",
        stored == groups,
        format!("want (id, removed) {groups:?}\n  got {stored:?}"),
    );

    // Actions: the surveys created.
    let actions: BTreeSet<String> = rows(sink, "SELECT action_id FROM actions")
        .await
        .iter()
        .map(|r| text(&r[0]).unwrap())
        .collect();
    let want: BTreeSet<String> = events
        .iter()
        .filter_map(|(_, e)| match e.what {
            What::SurveyCreated { action_id } => Some(action_id.to_owned()),
            _ => None,
        })
        .collect();
    expect(
        "actions",
        actions == want,
        set_diff(&want, &actions, "missing", "extra"),
    );

    // Responses: each once, as its latest version in the log (versions are
    // numbered in the order the platform sent them, each later than the
    // one before; an update is never replaced by the original).
    let mut latest: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, e) in &events {
        if let What::Response {
            response_id,
            version,
        } = &e.what
        {
            let v = latest.entry(response_id.as_str()).or_insert(*version);
            *v = (*v).max(*version);
        }
    }
    let stored: BTreeMap<String, (i64, Option<i64>, Option<String>)> = rows(
        sink,
        "SELECT response_id, is_update, version_at, action_id FROM responses",
    )
    .await
    .iter()
    .map(|r| {
        (
            text(&r[0]).unwrap(),
            (r[1].int().unwrap(), r[2].int(), text(&r[3])),
        )
    })
    .collect();
    let want: BTreeMap<String, (i64, Option<i64>, Option<String>)> = latest
        .iter()
        .map(|(id, v)| {
            let response = &feed.responses[*id];
            let version = &response.versions[*v];
            (
                (*id).to_owned(),
                (
                    i64::from(version.is_update),
                    Some(version.response_time),
                    Some(response.action_id.to_owned()),
                ),
            )
        })
        .collect();
    if stored != want {
        let keys: BTreeSet<&String> = stored.keys().chain(want.keys()).collect();
        let bad: Vec<String> = keys
            .into_iter()
            .filter(|k| stored.get(*k) != want.get(*k))
            .take(10)
            .map(|k| {
                format!(
                    "{k}: want (is_update, version_at, action) {:?}, got {:?}",
                    want.get(k),
                    stored.get(k)
                )
            })
            .collect();
        expect(
            "responses",
            false,
            format!(
                "{} stored, {} expected; {}",
                stored.len(),
                want.len(),
                bad.join("; ")
            ),
        );
    }

    // Answers: exactly the questions of each response's latest version.
    let mut stored: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in rows(
        sink,
        "SELECT response_id, question_index, title, question_type, is_invisible, text_value, \
         number_value FROM answers ORDER BY response_id, question_index",
    )
    .await
    {
        stored
            .entry(text(&r[0]).unwrap())
            .or_default()
            .push(format!(
                "{} {:?} {:?} {} {:?} {:?}",
                r[1].int().unwrap(),
                text(&r[2]),
                text(&r[3]),
                r[4].int().unwrap(),
                text(&r[5]),
                r[6].float()
            ));
    }
    let mut want: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut distribution: BTreeMap<(String, i64, String, String), i64> = BTreeMap::new();
    for (id, v) in &latest {
        let response = &feed.responses[*id];
        let rows = want.entry((*id).to_owned()).or_default();
        for (i, a) in response.versions[*v].answers.iter().enumerate() {
            rows.push(format!(
                "{i} {:?} {:?} {} {:?} {:?}",
                Some(&a.title),
                Some(a.question_type),
                i64::from(a.is_invisible),
                a.text,
                a.number
            ));
            for option in a.options.iter().flatten() {
                *distribution
                    .entry((
                        response.action_id.to_owned(),
                        i as i64,
                        a.title.clone(),
                        option.clone(),
                    ))
                    .or_default() += 1;
            }
        }
    }
    if stored != want {
        let keys: BTreeSet<&String> = stored.keys().chain(want.keys()).collect();
        let bad: Vec<String> = keys
            .into_iter()
            .filter(|k| stored.get(*k) != want.get(*k))
            .take(5)
            .map(|k| format!("{k}: want {:?}\n    got {:?}", want.get(k), stored.get(k)))
            .collect();
        expect(
            "answers",
            false,
            format!(
                "{} answers stored, {} expected:\n  {}",
                stored.values().map(Vec::len).sum::<usize>(),
                want.values().map(Vec::len).sum::<usize>(),
                bad.join("\n  ")
            ),
        );
    }

    // The dashboards' view: how often each option was chosen, each answer
    // counted once.
    let counted: BTreeMap<(String, i64, String, String), i64> = rows(
        sink,
        "SELECT action_id, question_index, question_title, option, count FROM answer_distribution",
    )
    .await
    .iter()
    .map(|r| {
        (
            (
                text(&r[0]).unwrap(),
                r[1].int().unwrap(),
                text(&r[2]).unwrap(),
                text(&r[3]).unwrap(),
            ),
            r[4].int().unwrap(),
        )
    })
    .collect();
    if counted != distribution {
        let keys: BTreeSet<_> = counted.keys().chain(distribution.keys()).collect();
        let bad: Vec<String> = keys
            .into_iter()
            .filter(|k| counted.get(*k) != distribution.get(*k))
            .take(10)
            .map(|k| {
                format!(
                    "{k:?}: sent {:?}, counted {:?}",
                    distribution.get(k),
                    counted.get(k)
                )
            })
            .collect();
        expect("answer_distribution", false, bad.join("; "));
    }

    let reactions = rows(sink, "SELECT COUNT(*) FROM reactions").await[0][0]
        .int()
        .unwrap();
    expect(
        "reactions",
        reactions == 0,
        format!("{reactions} rows from no reaction"),
    );
    wrong
}

fn set_diff<T: Ord + std::fmt::Debug>(
    want: &BTreeSet<T>,
    got: &BTreeSet<T>,
    missing: &str,
    extra: &str,
) -> String {
    let m: Vec<&T> = want.difference(got).take(10).collect();
    let e: Vec<&T> = got.difference(want).take(10).collect();
    format!(
        "{} {missing} {m:?}, {} {extra} {e:?}",
        want.difference(got).count(),
        got.difference(want).count()
    )
}
