//! Text messages (`messages.md`), announced as `TextMessageCreated`.

use kaizala_types::event::{EventData, EventType, TextMessageData};
use kaizala_types::messages::{SendMessageRequest, SendMessageResponse};

use super::Ctx;
use super::convert;
use crate::events::Happening;
use crate::http::{ApiError, Reply};
use crate::model::{Message, State};

/// `POST /groups/{groupId}/messages`: at most 4000 characters; in a
/// managed public group, to every subscriber (`sendToAllSubscribers`, group
/// admins only) or to listed subscribers.
pub fn send(ctx: &mut Ctx<'_>, state: &mut State) -> Result<Reply, ApiError> {
    let group = ctx.group(state, 0)?;
    let request: SendMessageRequest = ctx.call.json()?;
    let chars = request.message.chars().count();
    if chars > SendMessageRequest::MAX_CHARS {
        return Err(ApiError::bad_field(
            "message",
            format!(
                "a message holds at most {} characters; this one has {chars}",
                SendMessageRequest::MAX_CHARS
            ),
        ));
    }
    if request.message.trim().is_empty() {
        return Err(ApiError::bad_field("message", "the message is empty"));
    }
    let actor = ctx.actor(state)?;
    let to = convert::audience(
        state,
        group,
        &actor,
        request.send_to_all_subscribers,
        request.subscribers.as_deref(),
    )?;
    let message = Message {
        reference_id: ctx.shared.ids.guid(),
        group_id: group.id.clone(),
        sender: actor.clone(),
        text: request.message.clone(),
        to,
        sent_ms: ctx.now_ms,
    };
    let happening = Happening {
        tenant: group.tenant.clone(),
        group_id: group.id.clone(),
        event_type: EventType::TextMessageCreated,
        action_id: None,
        package_id: None,
        from_user: Some(actor),
        data: EventData::TextMessage(TextMessageData {
            text: Some(message.text.clone()),
            extra: Default::default(),
        }),
    };
    let answer = SendMessageResponse {
        reference_id: message.reference_id.as_str().into(),
        extra: Default::default(),
    };
    state.messages.push(message);
    ctx.happened(happening);
    Ok(Reply::ok(&answer))
}
