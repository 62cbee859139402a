//! Rows of a database written before the pull log existed, kept by the
//! upgrade as `legacyRow` documents (`migrations/*/0002_event_log.sql`):
//! what earlier syncs brought, which no log entry holds. Each document is
//! one row as that release stored it (its column names, epoch ms, 0/1
//! flags), projected before every event with the usual merge rules.

use serde::Deserialize;

use super::Rows;
use super::action::ActionRow;
use super::group::GroupRow;
use super::member::{MemberOp, MemberRow};
use super::pulled::Unmapped;
use super::reaction::ReactionRow;
use super::response::{AnswerRow, LegacyTimes, ResponseRow};

/// A 0/1 flag as the earlier schema stored it.
fn flag(v: Option<i64>) -> Option<bool> {
    v.map(|v| v != 0)
}

fn decode<'a, T: Deserialize<'a>>(body: &'a str) -> Result<T, Unmapped> {
    serde_json::from_str(body).map_err(|e| Unmapped {
        path: None,
        message: format!("not a row of the earlier schema: {e}"),
    })
}

#[derive(Deserialize)]
struct Group {
    group_id: String,
    group_name: Option<String>,
    group_type: Option<String>,
    image_url: Option<String>,
    parent_group_id: Option<String>,
    welcome_message: Option<String>,
    member_count: Option<i64>,
    user_count: Option<i64>,
    removed_at: Option<i64>,
    first_seen_at: Option<i64>,
}

#[derive(Deserialize)]
struct Member {
    group_id: String,
    member_id: String,
    phone: Option<String>,
    name: Option<String>,
    role: Option<String>,
    is_provisioned: Option<i64>,
    profile_pic: Option<String>,
    joined_at: Option<i64>,
}

#[derive(Deserialize)]
struct Action {
    action_id: String,
    group_id: Option<String>,
    action_type: Option<String>,
    package_id: Option<String>,
    reference_id: Option<String>,
    title: Option<String>,
    text: Option<String>,
    creator_id: Option<String>,
    creator_phone: Option<String>,
    creator_name: Option<String>,
    created_at: Option<i64>,
    expires_at: Option<i64>,
    is_anonymous: Option<i64>,
    response_count: Option<i64>,
    questions: Option<String>,
    body: Option<String>,
    first_seen_at: Option<i64>,
}

#[derive(Deserialize)]
struct Response {
    response_id: String,
    action_id: Option<String>,
    group_id: Option<String>,
    package_id: Option<String>,
    responder_id: Option<String>,
    responder_phone: Option<String>,
    responder_name: Option<String>,
    is_anonymous: Option<i64>,
    is_completed: Option<i64>,
    is_update: i64,
    responded_at: i64,
    version_at: Option<i64>,
    first_seen_at: i64,
    updated_at: Option<i64>,
    fingerprint: String,
    details: String,
    #[serde(default)]
    answers: Vec<Answer>,
}

#[derive(Deserialize)]
struct Answer {
    question_index: i64,
    title: Option<String>,
    question_type: Option<String>,
    is_invisible: i64,
    text_value: Option<String>,
    number_value: Option<f64>,
    json_value: Option<String>,
}

#[derive(Deserialize)]
struct Reaction {
    reference_id: String,
    group_id: Option<String>,
    source_group_id: Option<String>,
    likes: i64,
    comments: i64,
    counts: Option<String>,
}

/// Adds the rows of one legacy row of `table`, seen at `seen_at`.
pub(crate) fn rows(table: &str, body: &str, seen_at: i64, rows: &mut Rows) -> Result<(), Unmapped> {
    match table {
        "groups" => {
            let g: Group = decode(body)?;
            rows.groups.push(GroupRow {
                group_id: g.group_id,
                group_name: g.group_name,
                group_type: g.group_type,
                image_url: g.image_url,
                parent_group_id: g.parent_group_id,
                welcome_message: g.welcome_message,
                member_count: g.member_count,
                user_count: g.user_count,
                removed_at: Some(g.removed_at),
                seen_at,
                first_seen: g.first_seen_at,
            });
        }
        "members" => {
            let m: Member = decode(body)?;
            rows.members.push(MemberOp::Upsert(MemberRow {
                group_id: m.group_id,
                member_id: m.member_id,
                phone: m.phone,
                name: m.name,
                role: m.role,
                is_provisioned: flag(m.is_provisioned),
                profile_pic: m.profile_pic,
                joined_at: m.joined_at,
                listed_at: None,
                seen_at,
            }));
        }
        "actions" => {
            let a: Action = decode(body)?;
            rows.actions.push(ActionRow {
                action_id: a.action_id,
                group_id: a.group_id,
                action_type: a.action_type,
                package_id: a.package_id,
                reference_id: a.reference_id,
                event_id: None,
                title: a.title,
                text: a.text,
                creator_id: a.creator_id,
                creator_phone: a.creator_phone,
                creator_name: a.creator_name,
                created_at: a.created_at,
                expires_at: a.expires_at,
                is_anonymous: flag(a.is_anonymous),
                response_count: a.response_count,
                questions: a.questions,
                body: a.body,
                seen_at,
                first_seen: a.first_seen_at,
            });
        }
        "responses" => {
            let r: Response = decode(body)?;
            rows.responses.push(ResponseRow {
                response_id: r.response_id,
                action_id: r.action_id,
                group_id: r.group_id,
                package_id: r.package_id,
                responder_id: r.responder_id,
                responder_phone: r.responder_phone,
                responder_name: r.responder_name,
                is_anonymous: flag(r.is_anonymous),
                is_completed: flag(r.is_completed),
                is_update: r.is_update != 0,
                version_at: r.version_at,
                seen_at,
                fingerprint: r.fingerprint,
                details: r.details,
                answers: r
                    .answers
                    .into_iter()
                    .map(|a| AnswerRow {
                        question_index: a.question_index,
                        title: a.title,
                        question_type: a.question_type,
                        is_invisible: a.is_invisible != 0,
                        text_value: a.text_value,
                        number_value: a.number_value,
                        json_value: a.json_value,
                    })
                    .collect(),
                legacy: Some(LegacyTimes {
                    responded_at: r.responded_at,
                    first_seen_at: r.first_seen_at,
                    updated_at: r.updated_at,
                }),
            });
        }
        "reactions" => {
            let x: Reaction = decode(body)?;
            rows.reactions.push(ReactionRow {
                reference_id: x.reference_id,
                group_id: x.group_id,
                source_group_id: x.source_group_id,
                likes: x.likes,
                comments: x.comments,
                counts: x.counts,
                synced_at: seen_at,
            });
        }
        other => {
            return Err(Unmapped {
                path: None,
                message: format!("no table {other:?} in the earlier schema"),
            });
        }
    }
    Ok(())
}
