//! Reactions (`reactions.md`): likes and comments on what was sent in a
//! group — an action's or a message's reference id — and their summaries.
//!
//! Reactions are read in the order they were last changed; cursors are
//! .NET tick counts of that time (`ticks = epoch_ms × 10,000 +
//! 621,355,968,000,000,000`), and a page holds what changed after its
//! cursor. Each reaction gets a tick of its own (reactions changed in the
//! same millisecond are told apart in the sub-millisecond ticks), so a
//! page boundary never splits a tie.

use std::collections::BTreeMap;

use kaizala_types::reactions::{
    PostReactionRequest, PostReactionResponse, ReactionCounts, ReactionDetail,
    ReactionDetailsResponse, ReactionSummary, ReactionSummaryResponse, ReactionType,
};
use kaizala_types::{Cursor, Timestamp};

use super::Ctx;
use super::convert;
use crate::http::{ApiError, Reply, guard};
use crate::model::{Reaction, State};

/// Entries per page of the group summary and of reaction details.
pub const PAGE: usize = 50;

/// `POST /groups/{groupId}/reaction`: `{reactionId}`. A second like of the
/// same thing by the same user answers the first one's id.
pub fn post(ctx: &mut Ctx<'_>, state: &mut State) -> Result<Reply, ApiError> {
    let group_id = ctx.group(state, 0)?.id.clone();
    let request: PostReactionRequest = ctx.call.json()?;
    let source = request.source_group_id.as_str().to_owned();
    check_source(ctx, state, &group_id, &source, "sourceGroupId")?;
    let reference = request.reference_id.as_str().to_owned();
    check_reference(state, &source, &reference)?;
    let comment = match &request.reaction_type {
        ReactionType::Like => None,
        ReactionType::Comment => Some(
            request
                .comment
                .clone()
                .filter(|c| !c.trim().is_empty())
                .ok_or_else(|| ApiError::bad_field("comment", "a Comment needs its text"))?,
        ),
        other => {
            return Err(ApiError::bad_field(
                "reactionType",
                format!("{other} is not Like or Comment"),
            ));
        }
    };
    let actor = ctx.actor(state)?;
    if comment.is_none()
        && let Some(like) = state.reactions.values().find(|r| {
            r.reaction_type == "Like"
                && r.reference_id == reference
                && r.source_group_id == source
                && r.user_id == actor
        })
    {
        return Ok(Reply::ok(&PostReactionResponse {
            reaction_id: like.id.as_str().into(),
            extra: Default::default(),
        }));
    }
    // Later reactions sort after earlier ones, whatever the clock's resolution.
    let latest = state
        .reactions
        .values()
        .filter(|r| r.source_group_id == source)
        .map(|r| r.modified_ms)
        .max();
    let modified_ms = latest.map_or(ctx.now_ms, |latest| ctx.now_ms.max(latest + 1));
    let reaction = Reaction {
        id: ctx.shared.ids.guid(),
        reference_id: reference,
        group_id,
        source_group_id: source,
        user_id: actor,
        reaction_type: request.reaction_type.as_str().to_owned(),
        comment,
        modified_ms,
    };
    let answer = PostReactionResponse {
        reaction_id: reaction.id.as_str().into(),
        extra: Default::default(),
    };
    state.reactions.insert(reaction.id.clone(), reaction);
    Ok(Reply::ok(&answer))
}

/// `GET /groups/{groupId}/reaction/{referenceId}/summary?sourceGroupId=…`.
pub fn summary_for_action(ctx: &mut Ctx<'_>, state: &mut State) -> Result<Reply, ApiError> {
    let group_id = ctx.group(state, 0)?.id.clone();
    let source = ctx.call.required_query("sourceGroupId")?.to_owned();
    check_source(ctx, state, &group_id, &source, "sourceGroupId")?;
    let reference = ctx.call.param(1).to_owned();
    check_reference(state, &source, &reference)?;
    let timeline = timeline(state, &source);
    let summary = vec![summarize(
        &reference,
        timeline
            .iter()
            .map(|(r, _)| *r)
            .filter(|r| r.reference_id == reference),
    )];
    Ok(Reply::ok(&ReactionSummaryResponse {
        cursor: None,
        summary,
        extra: Default::default(),
    }))
}

/// `GET /groups/{groupId}/reaction/summary?sourceGroupId=…[&cursor=…]`:
/// the counts of the things whose reactions changed after `cursor`
/// (default 0), least recently changed first; the answer's `cursor` is the
/// last change it covers (the request's cursor when nothing changed).
pub fn summary_for_group(ctx: &mut Ctx<'_>, state: &mut State) -> Result<Reply, ApiError> {
    let group_id = ctx.group(state, 0)?.id.clone();
    let source = ctx.call.required_query("sourceGroupId")?.to_owned();
    check_source(ctx, state, &group_id, &source, "sourceGroupId")?;
    let after = cursor(ctx)?;
    let timeline = timeline(state, &source);
    let mut last_change: BTreeMap<&str, i64> = BTreeMap::new();
    for (reaction, tick) in &timeline {
        let entry = last_change
            .entry(reaction.reference_id.as_str())
            .or_insert(*tick);
        *entry = (*entry).max(*tick);
    }
    let mut changed: Vec<(&str, i64)> = last_change
        .into_iter()
        .filter(|(_, tick)| *tick > after)
        .collect();
    changed.sort_by_key(|(reference, tick)| (*tick, *reference));
    changed.truncate(PAGE);
    let summary = changed
        .iter()
        .map(|(reference, _)| {
            summarize(
                reference,
                timeline
                    .iter()
                    .map(|(r, _)| *r)
                    .filter(|r| r.reference_id == *reference),
            )
        })
        .collect();
    let next = changed.last().map_or(after, |(_, tick)| *tick);
    Ok(Reply::ok(&ReactionSummaryResponse {
        cursor: Some(tick_cursor(next)),
        summary,
        extra: Default::default(),
    }))
}

/// `GET /groups/{groupId}/reaction/{referenceId}?sourceGroupId=…&reactionType=…[&cursor=…]`:
/// the likes or the comments changed after `cursor`, oldest first.
pub fn details(ctx: &mut Ctx<'_>, state: &mut State) -> Result<Reply, ApiError> {
    let group_id = ctx.group(state, 0)?.id.clone();
    let source = ctx.call.required_query("sourceGroupId")?.to_owned();
    check_source(ctx, state, &group_id, &source, "sourceGroupId")?;
    let reference = ctx.call.param(1).to_owned();
    check_reference(state, &source, &reference)?;
    let wanted = match ReactionType::from_wire(ctx.call.required_query("reactionType")?) {
        ReactionType::Other(other) => {
            return Err(ApiError::bad_field(
                "reactionType",
                format!("{other} is not Like or Comment"),
            ));
        }
        known => known,
    };
    let after = cursor(ctx)?;
    let page: Vec<(&Reaction, i64)> = timeline(state, &source)
        .into_iter()
        .filter(|(r, tick)| {
            r.reference_id == reference
                && ReactionType::from_wire(&r.reaction_type) == wanted
                && *tick > after
        })
        .take(PAGE)
        .collect();
    let next = page.last().map_or(after, |(_, tick)| *tick);
    let reaction_details = page
        .into_iter()
        .map(|(r, _)| ReactionDetail {
            reaction_id: r.id.as_str().into(),
            user_id: Some(r.user_id.as_str().into()),
            last_modified_time: Some(Timestamp::from_unix_millis(r.modified_ms)),
            comment: r.comment.clone(),
            extra: Default::default(),
        })
        .collect();
    Ok(Reply::ok(&ReactionDetailsResponse {
        cursor: Some(tick_cursor(next)),
        reaction_details,
        extra: Default::default(),
    }))
}

/// The source group must be reachable (404/403) and be the path's group or
/// one of its sub-groups.
fn check_source(
    ctx: &Ctx<'_>,
    state: &State,
    group_id: &str,
    source: &str,
    field: &str,
) -> Result<(), ApiError> {
    guard::group(state, ctx.grant, source)?;
    if state.is_within(source, group_id) {
        Ok(())
    } else {
        Err(ApiError::bad_field(
            field,
            format!("{source} is neither {group_id} nor one of its sub-groups"),
        ))
    }
}

/// The reference id must be an action's or a message's sent in `source`.
fn check_reference(state: &State, source: &str, reference: &str) -> Result<(), ApiError> {
    let known = state
        .actions
        .values()
        .any(|a| a.reference_id == reference && a.group_id == source)
        || state
            .messages
            .iter()
            .any(|m| m.reference_id == reference && m.group_id == source);
    if known {
        Ok(())
    } else {
        Err(ApiError::not_found(format!(
            "nothing with reference id {reference} was sent in {source}"
        )))
    }
}

/// The request's `cursor` in ticks (0 when absent).
fn cursor(ctx: &Ctx<'_>) -> Result<i64, ApiError> {
    match ctx
        .call
        .query("cursor")
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        None => Ok(0),
        Some(value) => value
            .parse::<i64>()
            .ok()
            .filter(|c| *c >= 0)
            .ok_or_else(|| {
                ApiError::bad_field(
                    "cursor",
                    format!("{value:?} is not a cursor (a tick count) this endpoint handed out"),
                )
            }),
    }
}

fn tick_cursor(tick: i64) -> Cursor {
    Cursor::from(u64::try_from(tick).unwrap_or_default())
}

/// The source group's reactions, least recently changed first, each with
/// its own tick.
fn timeline<'s>(state: &'s State, source: &str) -> Vec<(&'s Reaction, i64)> {
    let mut reactions: Vec<&Reaction> = state
        .reactions
        .values()
        .filter(|r| r.source_group_id == source)
        .collect();
    reactions.sort_by(|a, b| (a.modified_ms, &a.id).cmp(&(b.modified_ms, &b.id)));
    let mut previous: Option<(i64, i64)> = None;
    reactions
        .into_iter()
        .map(|reaction| {
            let rank = match previous {
                Some((ms, rank)) if ms == reaction.modified_ms => {
                    (rank + 1).min(convert::TICKS_PER_MS - 1)
                }
                _ => 0,
            };
            previous = Some((reaction.modified_ms, rank));
            (reaction, convert::ticks(reaction.modified_ms) + rank)
        })
        .collect()
}

fn summarize<'r>(
    reference: &str,
    reactions: impl Iterator<Item = &'r Reaction>,
) -> ReactionSummary {
    let mut counts = ReactionCounts {
        like: Some(0),
        comment: Some(0),
        extra: Default::default(),
    };
    for reaction in reactions {
        match ReactionType::from_wire(&reaction.reaction_type) {
            ReactionType::Like => counts.like = counts.like.map(|n| n + 1),
            ReactionType::Comment => counts.comment = counts.comment.map(|n| n + 1),
            _ => {}
        }
    }
    ReactionSummary {
        reference_id: reference.into(),
        reactions_count_map: Some(counts),
        extra: Default::default(),
    }
}
