//! `POST /admin/simulate/messages {groupId, count, text?}`: members send
//! text messages (`TextMessageCreated`), a few chatty members more than the
//! rest; without `text`, varied messages of a field team's group chat.

use bytes::Bytes;
use kaizala_types::event::{EventData, EventType, TextMessageData};
use serde_json::{Map, json};

use super::random::{self, pick};
use super::request::Body;
use super::{Produced, corpus, finish};
use crate::events::Happening;
use crate::http::{ApiError, Reply};
use crate::model::Message;
use crate::shared::Shared;

/// Runs the simulation.
pub fn simulate(shared: &Shared, body: &Bytes) -> Result<Reply, ApiError> {
    let body = Body::parse(body, &["groupId", "count", "text"])?;
    let group_id = body.required_string("groupId")?;
    let count = body.positive_count("count")?;
    let text = body.string("text")?;
    if text.as_deref().is_some_and(|t| t.trim().is_empty()) {
        return Err(ApiError::bad_field(
            "text",
            "must not be empty (leave it out for varied texts)",
        ));
    }
    let mut rng = random::for_call(shared);
    let now = shared.now_ms();

    let (produced, reference_ids) = shared.store.write(|state| {
        let group = super::group(state, &group_id)?.clone();
        let senders = super::members(&group)?;
        let weights = random::activity(&senders);
        let mut produced = Produced::default();
        produced.listen(state, &group.tenant);
        let mut reference_ids = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let sender = &senders[weights.draw(&mut rng)];
            let text = match &text {
                Some(text) => text.clone(),
                None => {
                    let template = pick(&mut rng, corpus::MESSAGES);
                    random::fill(&mut rng, template, random::city_of(sender))
                }
            };
            let reference_id = random::guid(&mut rng);
            state.messages.push(Message {
                reference_id: reference_id.clone(),
                group_id: group.id.clone(),
                sender: sender.clone(),
                text: text.clone(),
                to: Vec::new(),
                sent_ms: now,
            });
            produced.push(Happening {
                tenant: group.tenant.clone(),
                group_id: group.id.clone(),
                event_type: EventType::TextMessageCreated,
                action_id: None,
                package_id: None,
                from_user: Some(sender.clone()),
                data: EventData::TextMessage(TextMessageData {
                    text: Some(text),
                    ..Default::default()
                }),
            });
            reference_ids.push(reference_id);
        }
        Ok::<_, ApiError>((produced, reference_ids))
    })?;

    let mut summary = Map::new();
    summary.insert("groupId".into(), json!(group_id));
    summary.insert("messages".into(), json!(reference_ids.len()));
    summary.insert("referenceIds".into(), json!(reference_ids));
    Ok(finish(shared, produced, summary))
}
