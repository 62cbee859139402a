//! `POST /admin/simulate/reactions {groupId, referenceId, likes, comments}`:
//! members like and comment on an action or a message of the group (or of
//! one of its sub-groups). Each person likes once; when the group has too
//! few people who have not liked it yet, new virtual users join to like it
//! (`MemberAdded`). The platform has no webhook event for reactions: they
//! show in the reaction calls of the API.

use bytes::Bytes;
use kaizala_types::reactions::ReactionType;
use rand::seq::SliceRandom;
use serde_json::{Map, json};

use super::random::{self, pick};
use super::request::Body;
use super::users::{self, People};
use super::{Produced, corpus, finish};
use crate::http::{ApiError, Reply};
use crate::model::{Reaction, State};
use crate::shared::Shared;

/// Runs the simulation.
pub fn simulate(shared: &Shared, body: &Bytes) -> Result<Reply, ApiError> {
    let body = Body::parse(body, &["groupId", "referenceId", "likes", "comments"])?;
    let group_id = body.required_string("groupId")?;
    let reference = body.required_string("referenceId")?;
    let likes = body.count("likes")?.unwrap_or(0) as usize;
    let comments = body.count("comments")?.unwrap_or(0) as usize;
    if likes == 0 && comments == 0 {
        return Err(ApiError::bad_field(
            "likes",
            "ask for at least one like or comment",
        ));
    }
    let mut rng = random::for_call(shared);
    let now = shared.now_ms();
    let mut produced = Produced::default();

    let (reference_id, source, ids) = shared.store.write(|state| {
        produced.listen(state, &super::group(state, &group_id)?.tenant);
        let (reference_id, source) = target(state, &group_id, &reference)?;
        let liked: std::collections::HashSet<&str> = state
            .reactions
            .values()
            .filter(|r| {
                r.reference_id == reference_id
                    && ReactionType::from_wire(&r.reaction_type) == ReactionType::Like
            })
            .map(|r| r.user_id.as_str())
            .collect();
        let members = super::members(&state.groups[&source])?;
        let mut likers: Vec<String> = members
            .iter()
            .filter(|m| !liked.contains(m.as_str()))
            .cloned()
            .collect();
        likers.shuffle(&mut rng);
        likers.truncate(likes);
        let missing = likes - likers.len();
        let mut people = People::of(state);
        likers.extend(users::recruit(
            state,
            &mut people,
            &mut rng,
            &shared.base_url,
            &source,
            missing,
            &mut produced,
        ));

        let commenters = super::members(&state.groups[&source])?;
        let weights = random::activity(&commenters);
        let mut ids = Vec::with_capacity(likes + comments);
        let mut react = |state: &mut State,
                         rng: &mut rand::rngs::StdRng,
                         user: &str,
                         comment: Option<String>| {
            let id = random::guid(rng);
            let reaction_type = if comment.is_some() {
                ReactionType::Comment
            } else {
                ReactionType::Like
            };
            state.reactions.insert(
                id.clone(),
                Reaction {
                    id: id.clone(),
                    reference_id: reference_id.clone(),
                    group_id: group_id.clone(),
                    source_group_id: source.clone(),
                    user_id: user.to_owned(),
                    reaction_type: reaction_type.to_string(),
                    comment,
                    modified_ms: now,
                },
            );
            ids.push(id);
        };
        for user in &likers {
            react(state, &mut rng, user, None);
        }
        for _ in 0..comments {
            let user = &commenters[weights.draw(&mut rng)];
            let comment = pick(&mut rng, corpus::COMMENTS).to_string();
            react(state, &mut rng, user, Some(comment));
        }
        Ok::<_, ApiError>((reference_id, source, ids))
    })?;

    let mut summary = Map::new();
    summary.insert("groupId".into(), json!(group_id));
    summary.insert("referenceId".into(), json!(reference_id));
    summary.insert("sourceGroupId".into(), json!(source));
    summary.insert("likes".into(), json!(likes));
    summary.insert("comments".into(), json!(comments));
    summary.insert("reactionIds".into(), json!(ids));
    Ok(finish(shared, produced, summary))
}

/// The reference id of the action (by reference or action id) or message
/// `reference`, and the group it was sent in: `group_id` or below it.
fn target(state: &State, group_id: &str, reference: &str) -> Result<(String, String), ApiError> {
    let found = state
        .actions
        .values()
        .find(|a| a.reference_id == reference || a.id == reference)
        .map(|a| (a.reference_id.clone(), a.group_id.clone()))
        .or_else(|| {
            state
                .messages
                .iter()
                .find(|m| m.reference_id == reference)
                .map(|m| (m.reference_id.clone(), m.group_id.clone()))
        });
    match found {
        Some((reference_id, source)) if state.is_within(&source, group_id) => {
            Ok((reference_id, source))
        }
        _ => Err(ApiError::not_found(format!(
            "no action or message {reference} in the group {group_id}"
        ))),
    }
}
