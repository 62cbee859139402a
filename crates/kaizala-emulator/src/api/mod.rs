//! The API operations, one module per resource. Every endpoint-host handler
//! has the same shape: it reads the [`Call`], changes the [`State`] (held
//! locked for the duration, so a handler is atomic), records what happened
//! for webhooks in [`Ctx::happenings`], and answers with the documented
//! model or an [`ApiError`].

pub mod actions;
pub mod auth;
pub mod convert;
pub mod groups;
pub mod media;
pub mod members;
pub mod messages;
pub mod reactions;
pub mod responses;
pub mod subgroups;
pub mod subscribers;
pub mod webhooks;

use kaizala_core::endpoint::Operation;

use crate::events::Happening;
use crate::http::{ApiError, Call, Reply};
use crate::model::{AccessGrant, Group, State};
use crate::shared::Shared;

/// What an endpoint-host handler works with.
#[derive(Debug)]
pub struct Ctx<'a> {
    /// What the running emulator shares between calls: state, clock, settings.
    pub shared: &'a Shared,
    /// The request, matched to its operation.
    pub call: &'a Call,
    /// The caller's access token.
    pub grant: &'a AccessGrant,
    /// Virtual epoch milliseconds at the start of the call.
    pub now_ms: i64,
    /// What happened, for webhooks (published once the state is unlocked).
    pub happenings: Vec<Happening>,
}

impl Ctx<'_> {
    /// The group of path value `index`, checked against the token (404/403).
    pub fn group<'s>(&self, state: &'s State, index: usize) -> Result<&'s Group, ApiError> {
        crate::http::guard::group(state, self.grant, self.call.param(index))
    }

    /// The user the token acts as.
    pub fn actor(&self, state: &State) -> Result<String, ApiError> {
        crate::http::guard::actor(state, self.grant)
            .ok_or_else(|| ApiError::forbidden("this token does not act as any user"))
    }

    /// Records what happened.
    pub fn happened(&mut self, happening: Happening) {
        self.happenings.push(happening);
    }
}

/// Runs an endpoint-host operation (all but webhook creation, which
/// validates its callback over the network first: see [`webhooks::create`]).
pub fn dispatch(ctx: &mut Ctx<'_>, state: &mut State) -> Result<Reply, ApiError> {
    use Operation as Op;
    match ctx.call.op {
        Op::CreateGroup => groups::create(ctx, state),
        Op::ListGroups => groups::list(ctx, state),
        Op::GetGroup => groups::get(ctx, state),
        Op::ListSubGroups => subgroups::list(ctx, state),
        Op::CreateSubGroup => subgroups::create(ctx, state),
        Op::AddSubGroups => subgroups::add(ctx, state),
        Op::RemoveSubGroup => subgroups::remove(ctx, state),
        Op::ListMembers => members::list(ctx, state),
        Op::AddMembers => members::add(ctx, state),
        Op::RemoveMember => members::remove(ctx, state),
        Op::ListSubscribers => subscribers::list(ctx, state),
        Op::AddSubscribers => subscribers::add(ctx, state),
        Op::RemoveSubscribers => subscribers::remove(ctx, state),
        Op::SendMessage => messages::send(ctx, state),
        Op::UploadMedia => media::upload(ctx, state),
        Op::CreateAction => actions::create(ctx, state),
        Op::ListActions => actions::list(ctx, state),
        Op::GetAction => actions::get(ctx, state),
        Op::PostActionResponse => responses::post(ctx, state),
        Op::PostReaction => reactions::post(ctx, state),
        Op::GetReactionSummaryForAction => reactions::summary_for_action(ctx, state),
        Op::GetReactionSummaryForGroup => reactions::summary_for_group(ctx, state),
        Op::GetReactionDetails => reactions::details(ctx, state),
        Op::ListWebhooks => webhooks::list(ctx, state),
        Op::UpdateWebhook => webhooks::update(ctx, state),
        Op::DeleteWebhook => webhooks::delete(ctx, state),
        other => Err(ApiError::not_found(format!(
            "{} is not served on a tenant endpoint",
            other.id()
        ))),
    }
}
